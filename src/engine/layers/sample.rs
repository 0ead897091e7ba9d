//! The sampling node of a variational autoencoder (the reparameterisation trick): its input's
//! first half of channels is μ, the second half log σ²; in training it outputs
//! z = μ + exp(½ log σ²)·ε with ε ~ N(0, 1) drawn from the run's seeded generator (the one
//! dropout draws from, so the same seed gives the same ε), in evaluation z = μ. The noise is
//! an input of the computation rather than part of it, so the gradient reaches μ and σ.
//!
//! The KL divergence of N(μ, σ²) to N(0, I) that a VAE adds to its loss is computed here too
//! ([`kl_divergence`], [`add_kl_grad`]); the graph sums it over its sampling nodes.

use ndarray::s;

use super::Layer;
use super::Memo;
use super::compute::{Backward, Compute, Forward};
use super::kind::{Inferred, Kind, NodeInputs, OutputCount};
use crate::engine::error::GraphError;
use crate::engine::node_facts::NodeFacts;
use crate::engine::tensor::{Scalar, Tensor};

/// `[2k, h, w]` (μ then log σ²) → `[k, h, w]`: z = μ + σ·ε.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample;

impl Kind for Sample {
    fn about(&self) -> &'static str {
        "Sampling (reparameterisation): the first half of the input channels is the mean μ, the second half log σ². In training it outputs μ + σ·ε with random ε ~ N(0, 1), so the gradient still reaches μ and σ; at evaluation it outputs μ. With a KL weight β in the training settings, the loss adds β times the KL divergence of N(μ, σ²) to N(0, 1)."
    }

    fn name_prefix(&self) -> &'static str {
        "sample"
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let [c, h, w] = at.x();
        if c == 0 || c % 2 != 0 {
            return Err(at.error(format!(
                "sampling needs an even channel count (μ and log σ² halves), got {c}"
            )));
        }
        let k = c / 2;
        let mut inferred = Inferred::plain([k, h, w], at.field());
        // Per output value: exp(½ log σ²), ·ε, +μ, and the halving.
        inferred.flops = 4 * (k * h * w) as u64;
        Ok(inferred)
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::Sample(Sample)
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Other
    }
}

/// The μ half and the log σ² half of a sampling node's input.
fn halves<T: Scalar>(
    x: &Tensor<T>,
) -> (
    ndarray::ArrayView4<'_, T>,
    ndarray::ArrayView4<'_, T>,
    usize,
) {
    let k = x.shape()[1] / 2;
    (
        x.slice(s![.., ..k, .., ..]),
        x.slice(s![.., k.., .., ..]),
        k,
    )
}

impl Sample {
    /// Returns z and, in training, the noise ε that was drawn (in z's standard order).
    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        training: bool,
        rng: &mut crate::engine::rng::Rng,
    ) -> (Tensor<T>, Option<Tensor<T>>) {
        let (mu, log_var, _) = halves(x);
        if !training {
            return (mu.to_owned(), None);
        }
        let eps = mu.mapv(|_| T::of(rng.normal()));
        let half = T::of(0.5);
        let mut z = mu.to_owned();
        ndarray::Zip::from(&mut z)
            .and(&log_var)
            .and(&eps)
            .for_each(|z, &lv, &e| *z += (half * lv).exp() * e);
        (z, Some(eps))
    }

    /// ∂z/∂μ = 1, ∂z/∂log σ² = ½ σ ε (zero in evaluation, where z = μ).
    pub fn backward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        dy: &Tensor<T>,
        eps: Option<&Tensor<T>>,
    ) -> Tensor<T> {
        let (_, log_var, k) = halves(x);
        let mut dx = Tensor::<T>::zeros(x.raw_dim());
        dx.slice_mut(s![.., ..k, .., ..]).assign(dy);
        if let Some(eps) = eps {
            let half = T::of(0.5);
            ndarray::Zip::from(dx.slice_mut(s![.., k.., .., ..]))
                .and(&log_var)
                .and(dy)
                .and(eps)
                .for_each(|d, &lv, &g, &e| *d = g * half * (half * lv).exp() * e);
        }
        dx
    }
}

impl Compute for Sample {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let (z, eps) = self.forward(f.ins[0], f.training, f.rng);
        *f.memo = Memo::Noise(eps);
        z
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let eps = match b.memo {
            Memo::Noise(e) => e.as_ref(),
            _ => None,
        };
        vec![self.backward(b.ins[0], b.dy, eps)]
    }
}

/// KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), summed over a sample's latent
/// values and averaged over the batch (as the PyTorch VAE examples state it, so that β
/// weighs it against a mean-reduced reconstruction loss the way they do).
pub fn kl_divergence<T: Scalar>(x: &Tensor<T>) -> T {
    let n = x.shape()[0].max(1);
    let (mu, log_var, _) = halves(x);
    let mut sum = T::zero();
    ndarray::Zip::from(&mu)
        .and(&log_var)
        .for_each(|&m, &lv| sum += T::one() + lv - m * m - lv.exp());
    T::of(-0.5) * sum / T::of(n as f64)
}

/// Adds `weight` × the gradient of [`kl_divergence`] w.r.t. the node's input `x` to `dx`:
/// ∂/∂μ = μ / n, ∂/∂log σ² = ½ (σ² − 1) / n.
pub fn add_kl_grad<T: Scalar>(x: &Tensor<T>, weight: T, dx: &mut Tensor<T>) {
    let n = x.shape()[0].max(1);
    let (mu, log_var, k) = halves(x);
    let w = weight / T::of(n as f64);
    let half = T::of(0.5);
    ndarray::Zip::from(dx.slice_mut(s![.., ..k, .., ..]))
        .and(&mu)
        .for_each(|d, &m| *d += w * m);
    ndarray::Zip::from(dx.slice_mut(s![.., k.., .., ..]))
        .and(&log_var)
        .for_each(|d, &lv| *d += w * half * (lv.exp() - T::one()));
}
