//! Batch normalisation over `n, h, w` per channel, with a learned scale (`weight`) and
//! shift (`bias`). Training uses the batch's statistics and updates the running ones
//! (unbiased variance, PyTorch's momentum convention); evaluation uses the running ones.

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use super::Memo;
use super::compute::{Backward, Compute, Forward};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs};
use super::{Layer, ParamInit, ParamRole, ParamShape};
use crate::engine::error::GraphError;
use crate::engine::kernels;
use crate::engine::node_facts::NodeFacts;
use crate::engine::tensor::{Scalar, Tensor};

/// The hyper-parameters of a batch-norm node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm2dConfig {
    #[serde(default = "default_eps")]
    pub eps: f64,
    #[serde(default = "default_momentum")]
    pub momentum: f64,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_momentum() -> f64 {
    0.1
}

impl Default for BatchNorm2dConfig {
    fn default() -> Self {
        BatchNorm2dConfig {
            eps: default_eps(),
            momentum: default_momentum(),
        }
    }
}

/// Shared with the other normalisation layers.
pub(crate) const TIP_EPS: &str = "Small number added to the variance so we never divide by zero.";
const TIP_MOMENTUM: &str =
    "How fast the running mean/variance (used at evaluation) follow the batch statistics.";

impl Kind for BatchNorm2dConfig {
    fn about(&self) -> &'static str {
        "Batch normalisation: each channel is shifted and scaled to mean 0, variance 1 over the batch, then by a learned scale and shift."
    }

    fn name_prefix(&self) -> &'static str {
        "bn"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "eps",
                TIP_EPS,
                FieldValue::Real(&mut self.eps, 1e-8..=1e-1, 1e-6),
            ),
            Field::new(
                "momentum",
                TIP_MOMENTUM,
                FieldValue::Real(&mut self.momentum, 0.0..=1.0, 0.01),
            ),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let BatchNorm2dConfig { eps, momentum } = self;
        if !(*eps > 0.0 && eps.is_finite() && (0.0..=1.0).contains(momentum)) {
            return Err(at.error("eps must be positive and momentum in [0, 1]"));
        }
        let x = at.x();
        Ok(Inferred {
            params: 2 * x[0],
            param_formula: format!("2·{}", x[0]),
            ..Inferred::plain(x, at.field())
        })
    }

    fn layer(&self, facts: &NodeFacts) -> Layer {
        Layer::BatchNorm(BatchNorm2d {
            channels: facts.input_shapes[0][0],
            eps: self.eps,
            momentum: self.momentum,
        })
    }
}

/// A batch-norm node's computation.

#[derive(Clone, Debug)]
pub struct BatchNorm2d {
    pub channels: usize,
    pub eps: f64,
    pub momentum: f64,
}

/// What the backward needs from a training-mode forward.
#[derive(Clone, Debug, Default)]
pub struct BatchNormCache<T> {
    /// Normalised input `x̂`.
    pub x_hat: Vec<T>,
    /// `1 / sqrt(var + eps)` per channel.
    pub inv_std: Vec<T>,
    pub training: bool,
}

impl BatchNorm2d {
    #[expect(
        clippy::too_many_arguments,
        reason = "the running statistics are separate parameters the forward updates in place"
    )]
    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: &ArrayD<T>,
        running_mean: &mut ArrayD<T>,
        running_var: &mut ArrayD<T>,
        training: bool,
        cache: &mut BatchNormCache<T>,
    ) -> Tensor<T> {
        let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
        let hw = h * w;
        let count = n * hw;
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let mut y = Tensor::<T>::zeros((n, c, h, w));
        let ys = y.as_slice_mut().expect("fresh array");
        cache.x_hat.resize(xs.len(), T::zero());
        cache.inv_std.resize(c, T::zero());
        cache.training = training;
        let eps = T::of(self.eps);
        for ch in 0..c {
            let (mean, var) = if training {
                let mut sum = 0.0f64;
                for s in 0..n {
                    sum += xs[(s * c + ch) * hw..][..hw]
                        .iter()
                        .map(|v| v.as_f64())
                        .sum::<f64>();
                }
                let mean = sum / count as f64;
                let mut sq = 0.0f64;
                for s in 0..n {
                    sq += xs[(s * c + ch) * hw..][..hw]
                        .iter()
                        .map(|v| (v.as_f64() - mean).powi(2))
                        .sum::<f64>();
                }
                let var = sq / count as f64;
                let unbiased = if count > 1 {
                    sq / (count - 1) as f64
                } else {
                    var
                };
                let m = T::of(self.momentum);
                running_mean[ch] = (T::one() - m) * running_mean[ch] + m * T::of(mean);
                running_var[ch] = (T::one() - m) * running_var[ch] + m * T::of(unbiased);
                (T::of(mean), T::of(var))
            } else {
                (running_mean[ch], running_var[ch])
            };
            let inv_std = T::one() / (var + eps).sqrt();
            cache.inv_std[ch] = inv_std;
            let (gamma, beta) = (weight[ch], bias[ch]);
            for s in 0..n {
                let o = (s * c + ch) * hw;
                for k in o..o + hw {
                    let xh = (xs[k] - mean) * inv_std;
                    cache.x_hat[k] = xh;
                    ys[k] = gamma * xh + beta;
                }
            }
        }
        y
    }

    /// Adds the scale and shift gradients; returns the input gradient.
    pub fn backward<T: Scalar>(
        &self,
        dy: &Tensor<T>,
        weight: &ArrayD<T>,
        cache: &BatchNormCache<T>,
        dweight: &mut ArrayD<T>,
        dbias: &mut ArrayD<T>,
    ) -> Tensor<T> {
        let [n, c, h, w] = [dy.shape()[0], dy.shape()[1], dy.shape()[2], dy.shape()[3]];
        let hw = h * w;
        let count = T::of((n * hw) as f64);
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        let mut dx = Tensor::<T>::zeros((n, c, h, w));
        let dxs = dx.as_slice_mut().expect("fresh array");
        for ch in 0..c {
            let (mut sum_dy, mut sum_dy_xh) = (T::zero(), T::zero());
            for s in 0..n {
                let o = (s * c + ch) * hw;
                sum_dy += kernels::sum(&dys[o..o + hw]);
                sum_dy_xh += kernels::dot(&dys[o..o + hw], &cache.x_hat[o..o + hw]);
            }
            dweight[ch] += sum_dy_xh;
            dbias[ch] += sum_dy;
            let scale = weight[ch] * cache.inv_std[ch];
            for s in 0..n {
                let o = (s * c + ch) * hw;
                for k in o..o + hw {
                    dxs[k] = if cache.training {
                        scale * (dys[k] - sum_dy / count - cache.x_hat[k] * sum_dy_xh / count)
                    } else {
                        scale * dys[k]
                    };
                }
            }
        }
        dx
    }
}

impl Compute for BatchNorm2d {
    /// Scale (starting at 1), shift, running mean and running variance (starting at 1).
    fn param_shapes(&self) -> Vec<ParamShape> {
        let c = vec![self.channels];
        vec![
            ParamShape::new(ParamRole::Weight, c.clone(), ParamInit::One),
            ParamShape::new(ParamRole::Bias, c.clone(), ParamInit::Zero),
            ParamShape::new(ParamRole::RunningMean, c.clone(), ParamInit::Zero),
            ParamShape::new(ParamRole::RunningVar, c, ParamInit::One),
        ]
    }

    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let Forward {
            ins,
            params: ps,
            memo,
            training,
            ..
        } = f;
        let mut cache = match std::mem::replace(memo, Memo::None) {
            Memo::BatchNorm(c) => c,
            _ => BatchNormCache::default(),
        };
        let (w, rest) = ps.split_at_mut(1);
        let (bias, rest) = rest.split_at_mut(1);
        let (rm, rv) = rest.split_at_mut(1);
        let y = self.forward(
            ins[0],
            &w[0].value,
            &bias[0].value,
            &mut rm[0].value,
            &mut rv[0].value,
            training,
            &mut cache,
        );
        *memo = Memo::BatchNorm(cache);
        y
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let Memo::BatchNorm(cache) = b.memo else {
            unreachable!("forward stored the cache")
        };
        let (w, rest) = b.params.split_at_mut(1);
        vec![self.backward(b.dy, &w[0].value, cache, &mut w[0].grad, &mut rest[0].grad)]
    }
}
