//! The latent space of a variational autoencoder (a model with a sampling node): the codes μ
//! and log σ² of a set of images, each image's KL divergence to N(0, I), and images decoded
//! from chosen codes — a regular lattice over the latent plane (the manifold figure), draws
//! from the prior, the straight line between two images' codes, any one point. The decoder
//! is the part of the model after the sampling node ([`Graph::forward_from`]).

use ndarray::{Array2, Array4, Axis, s};

use super::InspectError;
use crate::engine::rng::Rng;
use crate::engine::{Graph, Mode};

/// Images are pushed through the model this many at a time.
const CHUNK: usize = 64;

/// The codes of `n` images: μ and log σ² as rows of `d` latent values each (the sampling
/// node's output `[k, h, w]` laid out flat).
#[derive(Clone, Debug, PartialEq)]
pub struct Codes {
    /// The sampling node.
    pub node: String,
    /// `[n, d]`.
    pub mu: Array2<f32>,
    /// `[n, d]`.
    pub log_var: Array2<f32>,
}

impl Codes {
    /// Latent values per image.
    pub fn dim(&self) -> usize {
        self.mu.shape()[1]
    }

    /// Each image's KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), summed over its
    /// latent values (the per-image term whose batch mean the training adds with weight β).
    pub fn kl_per_image(&self) -> Vec<f64> {
        self.mu
            .outer_iter()
            .zip(self.log_var.outer_iter())
            .map(|(m, lv)| {
                -0.5 * m
                    .iter()
                    .zip(lv.iter())
                    .map(|(&m, &lv)| {
                        let (m, lv) = (m as f64, lv as f64);
                        1.0 + lv - m * m - lv.exp()
                    })
                    .sum::<f64>()
            })
            .collect()
    }
}

/// The model's first sampling node, or an error saying the view needs one.
pub fn sampling_node(graph: &Graph<f32>) -> Result<String, InspectError> {
    graph.first_sampling_node().map(str::to_string).ok_or_else(|| {
        InspectError::invalid(
            "the model has no sampling node: a variational autoencoder has one (e.g. presets/vae-digits.toml)",
        )
    })
}

/// The codes of every image of `x` (`[n, c, h, w]`), in evaluation mode.
pub fn codes(graph: &mut Graph<f32>, x: &Array4<f32>) -> Result<Codes, InspectError> {
    let node = sampling_node(graph)?;
    let n = x.shape()[0];
    let (mut mus, mut lvs) = (Vec::new(), Vec::new());
    for start in (0..n).step_by(CHUNK) {
        let chunk = x
            .slice(s![start..(start + CHUNK).min(n), .., .., ..])
            .to_owned();
        graph.forward(&chunk, Mode::Eval)?;
        let input = graph
            .sampling_input(&node)
            .ok_or_else(|| InspectError::NoNode(node.clone()))?;
        let rows = input.shape()[0];
        let k = input.shape()[1] / 2;
        let flat = |t: ndarray::ArrayView4<f32>| {
            t.as_standard_layout()
                .into_owned()
                .into_shape_with_order((rows, t.len() / rows.max(1)))
                .expect("a standard-layout array reshapes")
        };
        mus.push(flat(input.slice(s![.., ..k, .., ..])));
        lvs.push(flat(input.slice(s![.., k.., .., ..])));
    }
    let cat = |parts: &[Array2<f32>]| -> Result<Array2<f32>, InspectError> {
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views).map_err(|e| InspectError::invalid(e.to_string()))
    };
    if n == 0 {
        return Err(InspectError::invalid("no images to encode"));
    }
    Ok(Codes {
        mu: cat(&mus)?,
        log_var: cat(&lvs)?,
        node,
    })
}

/// Decodes the codes `z` (`[n, d]`, `d` the sampling node's output size) with the part of
/// the model after the sampling node: `[n, c, h, w]` images.
pub fn decode(graph: &mut Graph<f32>, z: &Array2<f32>) -> Result<Array4<f32>, InspectError> {
    let node = sampling_node(graph)?;
    let i = graph
        .index_of(&node)
        .ok_or_else(|| InspectError::NoNode(node.clone()))?;
    let [k, h, w] = graph.facts().nodes[i].output;
    let (n, d) = z.dim();
    if d != k * h * w {
        return Err(InspectError::invalid(format!(
            "codes have {d} values, the sampling node '{node}' outputs {}",
            k * h * w
        )));
    }
    let mut parts = Vec::new();
    for start in (0..n).step_by(CHUNK) {
        let rows = z
            .slice(s![start..(start + CHUNK).min(n), ..])
            .to_owned()
            .into_shape_with_order(((start + CHUNK).min(n) - start, k, h, w))
            .map_err(|e| InspectError::invalid(e.to_string()))?;
        parts.push(graph.forward_from(&node, &rows)?);
    }
    if parts.is_empty() {
        return Err(InspectError::invalid("no codes to decode"));
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(0), &views).map_err(|e| InspectError::invalid(e.to_string()))
}

/// The lattice of the manifold figure: `k × k` points evenly spaced over
/// [−extent, extent]² in the plane of the first two latent values, row by row from the
/// top (largest second value) to the bottom, left (smallest first value) to right, so
/// point `r·k + c` is drawn in row `r`, column `c`. Further latent values stay 0 (the
/// prior's mean).
pub fn lattice(k: usize, extent: f32, dim: usize) -> Array2<f32> {
    let k = k.max(1);
    let at = |i: usize| {
        if k == 1 {
            0.0
        } else {
            -extent + 2.0 * extent * i as f32 / (k - 1) as f32
        }
    };
    let mut z = Array2::zeros((k * k, dim.max(2)));
    for r in 0..k {
        for c in 0..k {
            z[[r * k + c, 0]] = at(c);
            z[[r * k + c, 1]] = at(k - 1 - r);
        }
    }
    if dim < 2 {
        z.slice_move(s![.., ..dim])
    } else {
        z
    }
}

/// `n` codes drawn from the prior N(0, I) with `seed` (the same seed, the same codes).
pub fn prior_codes(n: usize, dim: usize, seed: u64) -> Array2<f32> {
    let mut rng = Rng::derive(seed, 0x9_1207);
    Array2::from_shape_fn((n, dim), |_| rng.normal() as f32)
}

/// `steps` codes on the straight line from `a` to `b`, both ends included.
pub fn interpolation(a: &[f32], b: &[f32], steps: usize) -> Array2<f32> {
    let steps = steps.max(2);
    let d = a.len().min(b.len());
    Array2::from_shape_fn((steps, d), |(i, j)| {
        let t = i as f32 / (steps - 1) as f32;
        (1.0 - t) * a[j] + t * b[j]
    })
}

/// Each image's reconstruction error: the mean squared difference between `input` and
/// `reconstruction` over its values (the MSE loss of that one image).
pub fn reconstruction_errors(input: &Array4<f32>, reconstruction: &Array4<f32>) -> Vec<f64> {
    input
        .outer_iter()
        .zip(reconstruction.outer_iter())
        .map(|(a, b)| {
            let n = a.len().max(1) as f64;
            a.iter()
                .zip(b.iter())
                .map(|(&a, &b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                / n
        })
        .collect()
}

/// The negative ELBO of each image as the VAE was trained on it: its reconstruction MSE
/// plus β times its KL divergence (the training loss of that one image, μ decoded).
pub fn negative_elbo(recon_mse: &[f64], kl: &[f64], beta: f64) -> Vec<f64> {
    recon_mse
        .iter()
        .zip(kl)
        .map(|(r, k)| r + beta * k)
        .collect()
}

/// The image-level AUROC of one anomaly score; `key` names it in `convlab eval --json`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreAuroc {
    pub key: &'static str,
    pub label: &'static str,
    pub auroc: f64,
}

/// The AUROCs of the image scores a reconstruction model offers beside its error-map score:
/// the plain per-image MSE and, for a VAE (a sampling node and a KL weight β > 0), the KL of
/// each image's code and the two together as trained (MSE + β·KL, the negative ELBO). Scores
/// whose labels hold only one class have no AUROC and are left out.
pub fn score_aurocs(
    graph: &mut Graph<f32>,
    inputs: &Array4<f32>,
    reconstruction: &Array4<f32>,
    labels: &[Option<bool>],
    kl_weight: f64,
) -> Result<Vec<ScoreAuroc>, InspectError> {
    let mse = reconstruction_errors(inputs, reconstruction);
    let mut scores = Vec::new();
    if kl_weight > 0.0 && graph.has_sampling() {
        let kl = codes(graph, inputs)?.kl_per_image();
        let elbo = negative_elbo(&mse, &kl, kl_weight);
        scores.push(("auroc_kl", "KL of the code", kl));
        scores.push(("auroc_neg_elbo", "negative ELBO", elbo));
    }
    scores.insert(0, ("auroc_mse", "image MSE", mse));
    Ok(scores
        .into_iter()
        .filter_map(|(key, label, s)| {
            super::auroc_of(&s, labels).map(|auroc| ScoreAuroc { key, label, auroc })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_runs_row_by_row_from_the_top_left() {
        let z = lattice(3, 2.0, 2);
        assert_eq!(z.row(0).to_vec(), vec![-2.0, 2.0]);
        assert_eq!(z.row(2).to_vec(), vec![2.0, 2.0]);
        assert_eq!(z.row(4).to_vec(), vec![0.0, 0.0]);
        assert_eq!(z.row(6).to_vec(), vec![-2.0, -2.0]);
        assert_eq!(z.row(8).to_vec(), vec![2.0, -2.0]);
        let z4 = lattice(2, 1.0, 4);
        assert_eq!(z4.row(1).to_vec(), vec![1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn kl_is_zero_for_the_prior_and_matches_the_closed_form() {
        let codes = Codes {
            node: "z".into(),
            mu: ndarray::arr2(&[[0.0, 0.0], [1.0, -2.0]]),
            log_var: ndarray::arr2(&[[0.0, 0.0], [0.5, -1.0]]),
        };
        let kl = codes.kl_per_image();
        assert_eq!(kl[0], 0.0);
        let want = -0.5 * ((1.0 + 0.5 - 1.0 - 0.5f64.exp()) + (1.0 - 1.0 - 4.0 - (-1.0f64).exp()));
        assert!((kl[1] - want).abs() < 1e-6, "{} vs {want}", kl[1]);
    }

    #[test]
    fn interpolation_ends_at_both_codes() {
        let z = interpolation(&[0.0, 1.0], &[2.0, -1.0], 5);
        assert_eq!(z.row(0).to_vec(), vec![0.0, 1.0]);
        assert_eq!(z.row(2).to_vec(), vec![1.0, 0.0]);
        assert_eq!(z.row(4).to_vec(), vec![2.0, -1.0]);
    }
}
