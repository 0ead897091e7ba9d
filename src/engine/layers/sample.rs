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
        let (mu, _, _) = halves(x);
        if !training {
            return (mu.to_owned(), None);
        }
        let eps = mu.mapv(|_| T::of(rng.normal()));
        (self.forward_with_noise(x, &eps), Some(eps))
    }

    /// z = μ + exp(½ log σ²)·ε for a given noise ε (shaped like z): the training forward
    /// without the draw, so a reference with its own ε can be replayed.
    pub fn forward_with_noise<T: Scalar>(&self, x: &Tensor<T>, eps: &Tensor<T>) -> Tensor<T> {
        let (mu, log_var, _) = halves(x);
        let half = T::of(0.5);
        let mut z = mu.to_owned();
        ndarray::Zip::from(&mut z)
            .and(&log_var)
            .and(eps)
            .for_each(|z, &lv, &e| *z += (half * lv).exp() * e);
        z
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::facts::infer;
    use crate::engine::rng::Rng;
    use crate::engine::{Graph, Mode, ModelSpec, NodeKind, NodeSpec};

    /// μ = [0.5, −1], log σ² = [0.2, −0.7] for sample 0; μ = [0, 2], log σ² = [0, 1] for
    /// sample 1 (k = 2 latent values, 1×1 maps).
    fn input() -> Tensor<f64> {
        let v = [0.5, -1.0, 0.2, -0.7, 0.0, 2.0, 0.0, 1.0];
        Tensor::from_shape_vec((2, 4, 1, 1), v.to_vec()).unwrap()
    }

    fn graph() -> Graph<f64> {
        let spec = ModelSpec {
            input: [4, 1, 1],
            nodes: vec![NodeSpec::new("z", NodeKind::Sample)],
        };
        Graph::new(&spec).unwrap()
    }

    #[test]
    fn kl_matches_the_closed_form_by_hand() {
        // −½ Σ (1 + lv − μ² − e^lv) per sample, then the mean of the two samples.
        let per = |m: [f64; 2], lv: [f64; 2]| -> f64 {
            -0.5 * (0..2)
                .map(|i| 1.0 + lv[i] - m[i] * m[i] - lv[i].exp())
                .sum::<f64>()
        };
        let want = (per([0.5, -1.0], [0.2, -0.7]) + per([0.0, 2.0], [0.0, 1.0])) / 2.0;
        assert!((kl_divergence(&input()) - want).abs() < 1e-12);
        // Zero exactly at the prior.
        assert_eq!(kl_divergence(&Tensor::<f64>::zeros((3, 6, 2, 2))), 0.0);
        let mut g = graph();
        g.forward(&input(), Mode::Eval).unwrap();
        assert!((g.kl_divergence() - want).abs() < 1e-12);
    }

    #[test]
    fn train_draw_is_mu_plus_sigma_eps_from_the_seed_and_eval_is_mu() {
        let mut g = graph();
        g.set_dropout_seed(7);
        let z = g.forward(&input(), Mode::Train).unwrap().clone();
        // The same stream the graph seeds from, drawn in z's order.
        let mut rng = Rng::derive(7, 0xD20);
        let x = input();
        for s in 0..2 {
            for c in 0..2 {
                let (m, lv) = (x[[s, c, 0, 0]], x[[s, c + 2, 0, 0]]);
                let want = m + (0.5 * lv).exp() * rng.normal();
                assert!((z[[s, c, 0, 0]] - want).abs() < 1e-12);
            }
        }
        assert_eq!(g.sampling_noise("z").unwrap().dim(), (2, 2, 1, 1));
        g.set_dropout_seed(7);
        assert_eq!(g.forward(&input(), Mode::Train).unwrap(), &z);
        let mu = g.forward(&input(), Mode::Eval).unwrap().clone();
        assert_eq!(mu.as_slice().unwrap(), &[0.5, -1.0, 0.0, 2.0]);
        assert!(g.sampling_noise("z").is_none());
    }

    #[test]
    fn an_odd_channel_count_is_a_clear_error_and_facts_halve_the_channels() {
        let spec = |c| ModelSpec {
            input: [c, 3, 3],
            nodes: vec![NodeSpec::new("z", NodeKind::Sample)],
        };
        let e = infer(&spec(3)).unwrap_err().to_string();
        assert!(e.contains("even channel count") && e.contains('3'), "{e}");
        let f = infer(&spec(4)).unwrap();
        let n = &f.nodes[0];
        assert_eq!(n.output, [2, 3, 3]);
        assert_eq!(n.params, 0);
        assert_eq!(n.flops, 4 * 2 * 9);
    }
}
