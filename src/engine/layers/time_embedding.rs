//! Timestep conditioning for a diffusion model (Ho, Jain and Abbeel 2020): the diffusion
//! step t is turned into a sinusoidal embedding (the Transformer's position code), projected
//! by a learned matrix to one value per channel and added to every pixel of that channel, so
//! the same convolutions can tell a slightly noisy image from pure noise.
//!
//! The node has two inputs: the feature maps it adds to, and a tensor whose last channel
//! holds the fraction t / T of the diffusion chain (the diffusion data puts it in the
//! model input's last channel, see `data::diffusion`); its value at pixel (0, 0) is read.
//! The embedding of position p = `time_scale` · t/T is
//! `[sin(p·ω₀) … sin(p·ω_{k−1}), cos(p·ω₀) … cos(p·ω_{k−1})]` with ω_i = 10000^(−i/k),
//! k = dim/2; the output is x + (W·emb + b) broadcast over height and width. The backward
//! gives the second input the exact gradient of its one value read (zeros elsewhere), so
//! finite differences and saliency see the function the forward computes.

use serde::{Deserialize, Serialize};

use super::compute::{Backward, Compute, Forward};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs};
use super::{Layer, ParamShape};
use crate::engine::error::GraphError;
use crate::engine::model_spec::INPUT_NODE;
use crate::engine::node_facts::NodeFacts;
use crate::engine::tensor::{Scalar, Tensor};

/// The base of the embedding's geometric frequency ladder (as in the Transformer).
pub const MAX_PERIOD: f64 = 10_000.0;

/// The hyper-parameters of a time-embedding node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeEmbeddingConfig {
    /// Length of the sinusoidal embedding (even).
    #[serde(default = "default_dim")]
    pub dim: usize,
    /// What the fraction t/T is multiplied by to give the embedding's position.
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
}

fn default_dim() -> usize {
    32
}

fn default_time_scale() -> f64 {
    1000.0
}

impl Default for TimeEmbeddingConfig {
    fn default() -> Self {
        TimeEmbeddingConfig {
            dim: default_dim(),
            time_scale: default_time_scale(),
        }
    }
}

const TIP_DIM: &str = "Length of the sinusoidal code of the timestep: sines and cosines of t at geometrically spaced frequencies (half each), as the Transformer codes positions. A learned matrix maps it to one value per channel.";
const TIP_SCALE: &str = "The model input carries t/T (0 = clean, 1 = pure noise); the code uses position time_scale·t/T, so 1000 makes the position the step number of a 1000-step chain.";

impl Kind for TimeEmbeddingConfig {
    fn about(&self) -> &'static str {
        "Timestep conditioning (diffusion): codes the diffusion step t, read from the model input's last channel, as sines and cosines, maps the code by a learned matrix to one value per channel, and adds it to the feature maps. One network then denoises at every noise level."
    }

    fn name_prefix(&self) -> &'static str {
        "time"
    }

    fn arity(&self) -> Option<usize> {
        Some(2)
    }

    fn default_extra_inputs(&self) -> &'static [&'static str] {
        &[INPUT_NODE]
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new("dim", TIP_DIM, FieldValue::Count(&mut self.dim, 2..=1024)),
            Field::new(
                "time scale",
                TIP_SCALE,
                FieldValue::Real(&mut self.time_scale, 1.0..=100_000.0, 1.0),
            ),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let [c, h, w] = at.x();
        if self.dim < 2 || !self.dim.is_multiple_of(2) {
            return Err(at.error(format!(
                "the time embedding's dim must be even and at least 2, got {}",
                self.dim
            )));
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(at.error(format!(
                "time_scale must be a positive number, got {}",
                self.time_scale
            )));
        }
        if at.shapes.len() != 2 || at.shapes[1][0] == 0 {
            return Err(at.error(
                "takes the feature maps and a tensor whose last channel holds t/T (the model input)",
            ));
        }
        let params = (self.dim + 1) * c;
        let mut inferred = Inferred::plain([c, h, w], at.field());
        inferred.params = params;
        inferred.param_formula = format!("({}+1)·{c}", self.dim);
        inferred.flops = (2 * self.dim * c + c * h * w) as u64;
        Ok(inferred)
    }

    fn layer(&self, facts: &NodeFacts) -> Layer {
        Layer::TimeEmbedding(TimeEmbedding {
            channels: facts.input_shapes[0][0],
            dim: self.dim,
            time_scale: self.time_scale,
        })
    }
}

/// A time-embedding node's computation.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeEmbedding {
    pub channels: usize,
    pub dim: usize,
    pub time_scale: f64,
}

/// The embedding's angular frequencies ω_i = 10000^(−i/k), k = dim/2.
pub fn frequencies(dim: usize) -> Vec<f64> {
    let half = dim / 2;
    (0..half)
        .map(|i| MAX_PERIOD.powf(-(i as f64) / half as f64))
        .collect()
}

/// The sinusoidal code of one position: sines then cosines.
pub fn sinusoidal(position: f64, dim: usize) -> Vec<f64> {
    let freqs = frequencies(dim);
    let mut e: Vec<f64> = freqs.iter().map(|w| (position * w).sin()).collect();
    e.extend(freqs.iter().map(|w| (position * w).cos()));
    e
}

impl TimeEmbedding {
    /// The fraction t/T of each sample, from the last channel of `t_source` at (0, 0).
    pub fn fractions<T: Scalar>(t_source: &Tensor<T>) -> Vec<f64> {
        let last = t_source.shape()[1] - 1;
        (0..t_source.shape()[0])
            .map(|n| t_source[[n, last, 0, 0]].to_f64().unwrap_or(0.0))
            .collect()
    }

    /// Each sample's embedding, `[n][dim]`.
    fn codes<T: Scalar>(&self, t_source: &Tensor<T>) -> Vec<Vec<f64>> {
        Self::fractions(t_source)
            .into_iter()
            .map(|f| sinusoidal(self.time_scale * f, self.dim))
            .collect()
    }

    /// The per-channel shift W·emb + b of each sample, `[n][channels]`.
    pub fn shifts<T: Scalar>(
        &self,
        t_source: &Tensor<T>,
        weight: &ndarray::ArrayD<T>,
        bias: &ndarray::ArrayD<T>,
    ) -> Vec<Vec<T>> {
        let w = weight.as_slice().expect("contiguous weight");
        let b = bias.as_slice().expect("contiguous bias");
        self.codes(t_source)
            .iter()
            .map(|code| {
                (0..self.channels)
                    .map(|c| {
                        let row = &w[c * self.dim..(c + 1) * self.dim];
                        let dot: f64 = row
                            .iter()
                            .zip(code)
                            .map(|(wi, e)| wi.to_f64().unwrap_or(0.0) * e)
                            .sum();
                        b[c] + T::from(dot).expect("finite")
                    })
                    .collect()
            })
            .collect()
    }
}

impl Compute for TimeEmbedding {
    fn param_shapes(&self) -> Vec<ParamShape> {
        ParamShape::weight_and_bias(vec![self.channels, self.dim], true, self.channels)
    }

    fn fans(&self) -> Option<(usize, usize)> {
        Some((self.dim, self.channels))
    }

    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let shifts = self.shifts(f.ins[1], &f.params[0].value, &f.params[1].value);
        let mut y = f.ins[0].as_standard_layout().into_owned();
        for (n, shift) in shifts.iter().enumerate() {
            for (c, &s) in shift.iter().enumerate() {
                y.slice_mut(ndarray::s![n, c, .., ..])
                    .mapv_inplace(|v| v + s);
            }
        }
        y
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let fractions = Self::fractions(b.ins[1]);
        let freqs = frequencies(self.dim);
        let half = self.dim / 2;
        let (w, bias) = b.params.split_at_mut(1);
        let wv = w[0].value.as_slice().expect("contiguous weight").to_vec();
        let dw = w[0].grad.as_slice_mut().expect("contiguous weight grad");
        let db = bias[0].grad.as_slice_mut().expect("contiguous bias grad");
        let t_source = b.ins[1];
        let last = t_source.shape()[1] - 1;
        let mut dt = Tensor::<T>::zeros(t_source.raw_dim());
        for (n, &f) in fractions.iter().enumerate() {
            let p = self.time_scale * f;
            let code = sinusoidal(p, self.dim);
            // d code / d (t/T): s·ω·cos for the sines, −s·ω·sin for the cosines.
            let dcode: Vec<f64> = (0..self.dim)
                .map(|i| {
                    let wi = freqs[i % half];
                    let ds = self.time_scale * wi;
                    if i < half {
                        ds * (p * wi).cos()
                    } else {
                        -ds * (p * wi).sin()
                    }
                })
                .collect();
            let mut dfraction = 0.0;
            for (c, dbc) in db.iter_mut().enumerate() {
                // d loss / d shift[n, c] is the gradient summed over the channel's pixels.
                let g = b.dy.slice(ndarray::s![n, c, .., ..]).sum();
                *dbc += g;
                let row = c * self.dim..(c + 1) * self.dim;
                for (d, e) in dw[row.clone()].iter_mut().zip(&code) {
                    *d += g * T::from(*e).expect("finite");
                }
                let g = g.to_f64().unwrap_or(0.0);
                dfraction += g * wv[row]
                    .iter()
                    .zip(&dcode)
                    .map(|(wi, d)| wi.to_f64().unwrap_or(0.0) * d)
                    .sum::<f64>();
            }
            dt[[n, last, 0, 0]] = T::from(dfraction).expect("finite");
        }
        // The feature maps pass through unchanged; t/T reaches the shifts through the code.
        vec![b.dy.to_owned(), dt]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_sines_then_cosines_of_geometric_frequencies() {
        let e = sinusoidal(3.0, 4);
        // ω = [1, 10000^(-1/2) = 0.01]
        let want = [3f64.sin(), 0.03f64.sin(), 3f64.cos(), 0.03f64.cos()];
        for (a, b) in e.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{e:?}");
        }
    }
}
