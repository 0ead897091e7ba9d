//! Local response normalisation across channels (AlexNet, Krizhevsky, Sutskever and Hinton
//! 2012): each value is divided by a power of the summed squares of the values at the same
//! pixel in neighbouring channels, `y_c = x_c / (k + α/size · Σ_{c' ∈ W(c)} x_{c'}²)^β`,
//! so a strongly responding channel damps its neighbours ("lateral inhibition"). The window
//! `W(c)` runs from `c − ⌊size/2⌋` to `c + ⌊(size−1)/2⌋`, cut at the first and last channel:
//! exactly PyTorch's `nn.LocalResponseNorm(size, alpha, beta, k)` (which divides α by the
//! window size, counting the channels outside as zeros). ONNX `LRN` has the same formula but
//! centres even windows the other way, so only odd sizes map to it. No parameters.

use serde::{Deserialize, Serialize};

use super::Layer;
use super::compute::{Backward, Compute, Forward, output_buffer};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs, OutputCount};
use crate::engine::error::GraphError;
use crate::engine::node_facts::NodeFacts;
use crate::engine::tensor::{Scalar, Tensor};

/// The hyper-parameters of a local-response-norm node (the text format's keys, with
/// PyTorch's defaults except `size`, which PyTorch requires: 5 as in AlexNet).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalResponseNormConfig {
    #[serde(default = "default_size")]
    pub size: usize,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default = "default_beta")]
    pub beta: f64,
    #[serde(default = "default_k")]
    pub k: f64,
}

fn default_size() -> usize {
    5
}

fn default_alpha() -> f64 {
    1e-4
}

fn default_beta() -> f64 {
    0.75
}

fn default_k() -> f64 {
    1.0
}

impl Default for LocalResponseNormConfig {
    fn default() -> Self {
        LocalResponseNormConfig {
            size: default_size(),
            alpha: default_alpha(),
            beta: default_beta(),
            k: default_k(),
        }
    }
}

const ABOUT: &str = "Local response normalisation (AlexNet): each value is divided by (k + alpha/size * sum of squares of the values at the same pixel in `size` neighbouring channels)^beta, so a channel that responds strongly damps its neighbours, like lateral inhibition in real neurons. No parameters to learn; later nets replaced it with batch normalisation.";
const TIP_SIZE: &str =
    "How many neighbouring channels (this one included) share the sum of squares. AlexNet: 5.";
const TIP_ALPHA: &str = "Strength of the damping: the sum of squares is multiplied by alpha / size, as in PyTorch (default 1e-4). The AlexNet paper multiplies by its alpha = 1e-4 without dividing, which is alpha = 5e-4 here with size 5.";
const TIP_BETA: &str = "The power of the divisor. AlexNet and PyTorch: 0.75.";
const TIP_K: &str = "Added to the divisor before the power, so small responses pass unchanged. PyTorch: 1; AlexNet: 2.";

impl Kind for LocalResponseNormConfig {
    fn about(&self) -> &'static str {
        ABOUT
    }

    fn name_prefix(&self) -> &'static str {
        "lrn"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new("size", TIP_SIZE, FieldValue::Count(&mut self.size, 1..=64)),
            Field::new(
                "alpha",
                TIP_ALPHA,
                FieldValue::Real(&mut self.alpha, 0.0..=10.0, 1e-4),
            ),
            Field::new(
                "beta",
                TIP_BETA,
                FieldValue::Real(&mut self.beta, 0.0..=4.0, 0.01),
            ),
            Field::new("k", TIP_K, FieldValue::Real(&mut self.k, 1e-3..=10.0, 0.01)),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        if self.size == 0 {
            return Err(at.error("local response norm size must be at least 1"));
        }
        for (what, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(at.error(format!("{what} = {v} must be finite and not negative")));
            }
        }
        if !(self.k > 0.0 && self.k.is_finite()) {
            return Err(at.error(format!("k = {} must be positive", self.k)));
        }
        let x = at.x();
        let values = (x[0] * x[1] * x[2]) as u64;
        Ok(Inferred {
            // Per value: a square, a window sum, a power and a product.
            flops: values * (self.size as u64 + 4),
            ..Inferred::plain(x, at.field())
        })
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::LocalResponseNorm(LocalResponseNorm {
            size: self.size,
            alpha: self.alpha,
            beta: self.beta,
            k: self.k,
        })
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Keeps
    }
}

/// A local-response-norm node's computation.
#[derive(Clone, Debug)]
pub struct LocalResponseNorm {
    pub size: usize,
    pub alpha: f64,
    pub beta: f64,
    pub k: f64,
}

impl LocalResponseNorm {
    /// The channels in the window of channel `c` (of `channels`): `c − ⌊size/2⌋ ..= c +
    /// ⌊(size−1)/2⌋`, cut to the existing ones.
    fn window(&self, c: usize, channels: usize) -> std::ops::Range<usize> {
        let lo = c.saturating_sub(self.size / 2);
        let hi = (c + (self.size - 1) / 2 + 1).min(channels);
        lo..hi
    }

    /// The divisor base `s = k + α/size · Σ x²` of every value of one sample (`[c, h·w]`
    /// flat).
    fn base<T: Scalar>(&self, x: &[T], channels: usize, plane: usize, s: &mut Vec<T>) {
        s.clear();
        s.resize(x.len(), T::zero());
        let scale = T::of(self.alpha / self.size as f64);
        let k = T::of(self.k);
        for c in 0..channels {
            let out = &mut s[c * plane..(c + 1) * plane];
            for c2 in self.window(c, channels) {
                let xs = &x[c2 * plane..(c2 + 1) * plane];
                for (o, &v) in out.iter_mut().zip(xs) {
                    *o += v * v;
                }
            }
            for o in out.iter_mut() {
                *o = k + scale * *o;
            }
        }
    }

    /// `y = x · s^(−β)`.
    pub fn forward<T: Scalar>(&self, x: &Tensor<T>, mut y: Tensor<T>) -> Tensor<T> {
        let (n, c, h, w) = x.dim();
        let plane = h * w;
        let d = c * plane;
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ys = y
            .as_slice_mut()
            .expect("output buffers are standard layout");
        let beta = T::of(self.beta);
        let mut s = Vec::new();
        for i in 0..n {
            let xi = &xs[i * d..(i + 1) * d];
            self.base(xi, c, plane, &mut s);
            for ((o, &v), &b) in ys[i * d..(i + 1) * d].iter_mut().zip(xi).zip(&s) {
                *o = v * b.powf(-beta);
            }
        }
        y
    }

    /// The input gradient: `dx_j = dy_j · s_j^(−β) − 2αβ/size · x_j · Σ_{c: j ∈ W(c)} dy_c ·
    /// x_c · s_c^(−β−1)`, the sum over the channels whose window holds `j`.
    pub fn backward<T: Scalar>(&self, x: &Tensor<T>, dy: &Tensor<T>) -> Tensor<T> {
        let (n, c, h, w) = x.dim();
        let plane = h * w;
        let d = c * plane;
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        let mut dx = Tensor::<T>::zeros(x.raw_dim());
        let dxs = dx.as_slice_mut().expect("fresh array");
        let beta = T::of(self.beta);
        let coef = T::of(2.0 * self.alpha * self.beta / self.size as f64);
        let mut s = Vec::new();
        // g_c = dy_c · x_c · s_c^(−β−1), per value.
        let mut g = vec![T::zero(); d];
        for i in 0..n {
            let xi = &xs[i * d..(i + 1) * d];
            let dyi = &dys[i * d..(i + 1) * d];
            let dxi = &mut dxs[i * d..(i + 1) * d];
            self.base(xi, c, plane, &mut s);
            for m in 0..d {
                let p = s[m].powf(-beta);
                dxi[m] = dyi[m] * p;
                g[m] = dyi[m] * xi[m] * p / s[m];
            }
            for cc in 0..c {
                // j's window-holders: the channels c with j ∈ W(c), i.e. j − ⌊(size−1)/2⌋ ≤
                // c ≤ j + ⌊size/2⌋.
                let lo = cc.saturating_sub((self.size - 1) / 2);
                let hi = (cc + self.size / 2 + 1).min(c);
                let (xj, dxj) = (
                    &xi[cc * plane..(cc + 1) * plane],
                    &mut dxi[cc * plane..(cc + 1) * plane],
                );
                for c2 in lo..hi {
                    let gs = &g[c2 * plane..(c2 + 1) * plane];
                    for ((o, &xv), &gv) in dxj.iter_mut().zip(xj).zip(gs) {
                        *o -= coef * xv * gv;
                    }
                }
            }
        }
        dx
    }
}

impl Compute for LocalResponseNorm {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let y = output_buffer(f.old_output, f.out_dim);
        self.forward(f.ins[0], y)
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        // The input gradient is the only one; skipping it would leave nothing to do.
        vec![self.backward(b.ins[0], b.dy)]
    }
}
