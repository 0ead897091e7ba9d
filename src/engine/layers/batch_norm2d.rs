//! Batch normalisation over `n, h, w` per channel, with a learned scale (`weight`) and
//! shift (`bias`). Training uses the batch's statistics and updates the running ones
//! (unbiased variance, PyTorch's momentum convention); evaluation uses the running ones.

use ndarray::ArrayD;

use crate::engine::kernels;
use crate::engine::tensor::{Scalar, Tensor};

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
