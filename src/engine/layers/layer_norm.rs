//! Layer normalisation: each sample is normalised over all its values (channels × height ×
//! width) to mean 0 and variance 1, then scaled and shifted by a learned weight and bias of
//! the sample's shape `[c, h, w]`. PyTorch's `nn.LayerNorm([c, h, w])` (elementwise affine)
//! or `F.layer_norm(x, x.shape[1:], weight, bias, eps)`; ONNX `LayerNormalization` with
//! axis 1. Unlike batch norm it needs no batch statistics, so training and evaluation
//! compute the same.

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use super::Memo;
use super::batch_norm2d::TIP_EPS;
use super::compute::{Backward, Compute, Forward};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs};
use super::{Layer, ParamInit, ParamRole, ParamShape};
use crate::engine::error::GraphError;
use crate::engine::kernels;
use crate::engine::node_facts::NodeFacts;
use crate::engine::tensor::{Scalar, Tensor};

/// The hyper-parameters of a layer-norm node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerNormConfig {
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_eps() -> f64 {
    1e-5
}

impl Default for LayerNormConfig {
    fn default() -> Self {
        LayerNormConfig { eps: default_eps() }
    }
}

impl Kind for LayerNormConfig {
    fn about(&self) -> &'static str {
        "Layer normalisation: each sample is shifted and scaled to mean 0, variance 1 over all its values (channels × height × width), then by a learned scale and shift per value. It does not depend on the batch, so training and evaluation behave the same."
    }

    fn name_prefix(&self) -> &'static str {
        "ln"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::new(
            "eps",
            TIP_EPS,
            FieldValue::Real(&mut self.eps, 1e-8..=1e-1, 1e-6),
        )]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(at.error("eps must be positive"));
        }
        let x = at.x();
        Ok(Inferred {
            params: 2 * x[0] * x[1] * x[2],
            param_formula: format!("2·{}·{}·{}", x[0], x[1], x[2]),
            ..Inferred::plain(x, at.field())
        })
    }

    fn layer(&self, facts: &NodeFacts) -> Layer {
        Layer::LayerNorm(LayerNorm {
            shape: facts.input_shapes[0],
            eps: self.eps,
        })
    }
}

/// A layer-norm node's computation.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    /// The per-sample shape `[c, h, w]`, which the weight and bias have too.
    pub shape: [usize; 3],
    pub eps: f64,
}

/// What the backward needs from the forward.
#[derive(Clone, Debug, Default)]
pub struct LayerNormCache<T> {
    /// Normalised input `x̂`.
    pub x_hat: Vec<T>,
    /// `1 / sqrt(var + eps)` per sample.
    pub inv_std: Vec<T>,
}

impl LayerNorm {
    /// `y = weight · (x − mean) / sqrt(var + eps) + bias`, with the biased variance of each
    /// sample (as PyTorch).
    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: &ArrayD<T>,
        cache: &mut LayerNormCache<T>,
    ) -> Tensor<T> {
        let n = x.shape()[0];
        let d: usize = self.shape.iter().product();
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let gamma = weight.as_standard_layout();
        let gamma = gamma.as_slice().expect("standard layout");
        let beta = bias.as_standard_layout();
        let beta = beta.as_slice().expect("standard layout");
        let mut y = Tensor::<T>::zeros(x.raw_dim());
        let ys = y.as_slice_mut().expect("fresh array");
        cache.x_hat.resize(xs.len(), T::zero());
        cache.inv_std.resize(n, T::zero());
        for s in 0..n {
            let o = s * d;
            let sample = &xs[o..o + d];
            // Statistics in f64, as batch norm: a sample may hold many values.
            let mean = sample.iter().map(|v| v.as_f64()).sum::<f64>() / d as f64;
            let var = sample
                .iter()
                .map(|v| (v.as_f64() - mean).powi(2))
                .sum::<f64>()
                / d as f64;
            let inv_std = T::one() / (T::of(var) + T::of(self.eps)).sqrt();
            cache.inv_std[s] = inv_std;
            let mean = T::of(mean);
            for k in 0..d {
                let xh = (sample[k] - mean) * inv_std;
                cache.x_hat[o + k] = xh;
                ys[o + k] = gamma[k] * xh + beta[k];
            }
        }
        y
    }

    /// Adds the scale and shift gradients; returns the input gradient.
    pub fn backward<T: Scalar>(
        &self,
        dy: &Tensor<T>,
        weight: &ArrayD<T>,
        cache: &LayerNormCache<T>,
        dweight: &mut ArrayD<T>,
        dbias: &mut ArrayD<T>,
    ) -> Tensor<T> {
        let n = dy.shape()[0];
        let d: usize = self.shape.iter().product();
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        let gamma = weight.as_standard_layout();
        let gamma = gamma.as_slice().expect("standard layout");
        let mut dx = Tensor::<T>::zeros(dy.raw_dim());
        let dxs = dx.as_slice_mut().expect("fresh array");
        let dw = dweight
            .as_slice_mut()
            .expect("parameters are standard layout");
        let db = dbias
            .as_slice_mut()
            .expect("parameters are standard layout");
        let count = T::of(d as f64);
        let mut g = vec![T::zero(); d];
        for s in 0..n {
            let o = s * d;
            let (dys, x_hat) = (&dys[o..o + d], &cache.x_hat[o..o + d]);
            for k in 0..d {
                dw[k] += dys[k] * x_hat[k];
                db[k] += dys[k];
                // The gradient w.r.t. x̂.
                g[k] = dys[k] * gamma[k];
            }
            let sum_g = kernels::sum(&g);
            let sum_g_xh = kernels::dot(&g, x_hat);
            let inv_std = cache.inv_std[s];
            for k in 0..d {
                dxs[o + k] = inv_std * (g[k] - sum_g / count - x_hat[k] * sum_g_xh / count);
            }
        }
        dx
    }
}

impl Compute for LayerNorm {
    /// Scale (starting at 1) and shift (starting at 0), both `[c, h, w]`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let s = self.shape.to_vec();
        vec![
            ParamShape::new(ParamRole::Weight, s.clone(), ParamInit::One),
            ParamShape::new(ParamRole::Bias, s, ParamInit::Zero),
        ]
    }

    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let Forward {
            ins,
            params: ps,
            memo,
            ..
        } = f;
        let mut cache = match std::mem::replace(memo, Memo::None) {
            Memo::LayerNorm(c) => c,
            _ => LayerNormCache::default(),
        };
        let y = self.forward(ins[0], &ps[0].value, &ps[1].value, &mut cache);
        *memo = Memo::LayerNorm(cache);
        y
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let Memo::LayerNorm(cache) = b.memo else {
            unreachable!("forward stored the cache")
        };
        let (w, rest) = b.params.split_at_mut(1);
        vec![self.backward(b.dy, &w[0].value, cache, &mut w[0].grad, &mut rest[0].grad)]
    }
}
