//! What a model says about one input, in the terms of its task: a classifier's class
//! probabilities, a segmenter's class per pixel, an autoencoder's reconstruction and its
//! error, a regressor's values. The window's Prediction panel and `convlab predict` both
//! read this, so they always agree.

use ndarray::{Array2, Array3, Axis};

use crate::engine::{Graph, GraphError, LossKind, Mode, Tensor};

/// The model's answer for one input.
#[derive(Clone, Debug)]
pub enum Prediction {
    /// One probability per class (softmax over the outputs; a single logit trained with
    /// binary cross-entropy gives the two classes "0" and "1"). They sum to 1.
    Classes { probabilities: Vec<f32> },
    /// The most likely class of every pixel `[h, w]`, and each class's share of the
    /// image's pixels.
    Segmentation {
        classes: Array2<usize>,
        shares: Vec<f32>,
    },
    /// An output the size of the input: the reconstruction `[c, h, w]`, the squared error
    /// per pixel `[h, w]` (mean over channels) and its mean, the anomaly score.
    Reconstruction {
        output: Array3<f32>,
        error: Array2<f32>,
        score: f32,
    },
    /// Any other output, as it is (regression).
    Values(Vec<f32>),
}

/// Probabilities from logits, shifted by the maximum for stability.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter()
        .map(|e| e / sum.max(f32::MIN_POSITIVE))
        .collect()
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// Runs `x` (`[1, c, h, w]`) through the model in eval mode and reads the output as the
/// model's loss says it was trained.
pub fn predict(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    loss: LossKind,
) -> Result<Prediction, GraphError> {
    let y = graph.forward(x, Mode::Eval)?;
    let out = y.index_axis(Axis(0), 0);
    let (k, h, w) = out.dim();
    let input = x.index_axis(Axis(0), 0);
    if h * w == 1 {
        let scores: Vec<f32> = out.iter().copied().collect();
        return Ok(match (loss, k) {
            (LossKind::CrossEntropy, _) if k >= 2 => Prediction::Classes {
                probabilities: softmax(&scores),
            },
            (LossKind::BceWithLogits | LossKind::Dice, 1) => {
                let p = sigmoid(scores[0]);
                Prediction::Classes {
                    probabilities: vec![1.0 - p, p],
                }
            }
            _ => Prediction::Values(scores),
        });
    }
    if loss == LossKind::Mse && out.dim() == input.dim() {
        let diff = &out - &input;
        let error = diff.mapv(|d| d * d).mean_axis(Axis(0)).expect("channels");
        let score = error.mean().unwrap_or(0.0);
        return Ok(Prediction::Reconstruction {
            output: out.to_owned(),
            error,
            score,
        });
    }
    if loss == LossKind::Mse {
        return Ok(Prediction::Values(out.iter().copied().collect()));
    }
    // Per-pixel classes: one logit is foreground against background, several compete.
    let classes = Array2::from_shape_fn((h, w), |(i, j)| {
        if k == 1 {
            usize::from(out[[0, i, j]] > 0.0)
        } else {
            (0..k).fold(0, |best, c| {
                if out[[c, i, j]] > out[[best, i, j]] {
                    c
                } else {
                    best
                }
            })
        }
    });
    let mut shares = vec![0.0f32; k.max(2)];
    for &c in &classes {
        shares[c] += 1.0;
    }
    let pixels = (h * w) as f32;
    shares.iter_mut().for_each(|s| *s /= pixels);
    Ok(Prediction::Segmentation { classes, shares })
}

/// The classes ranked by probability, most likely first (ties by index).
pub fn ranked(probabilities: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| {
        probabilities[b]
            .total_cmp(&probabilities[a])
            .then(a.cmp(&b))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ModelSpec, NodeKind, NodeSpec};
    use ndarray::{Array4, ArrayD, IxDyn};

    fn dense(outputs: usize, weights: &[f32]) -> Graph<f32> {
        let spec = ModelSpec {
            input: [1, 1, 2],
            nodes: vec![
                NodeSpec::new("flat", NodeKind::Flatten),
                NodeSpec::new("out", NodeKind::dense(outputs)),
            ],
        };
        let mut g = Graph::new(&spec).unwrap();
        g.set_param(
            "out.weight",
            ArrayD::from_shape_vec(IxDyn(&[outputs, 2]), weights.to_vec()).unwrap(),
        )
        .unwrap();
        g.set_param("out.bias", ArrayD::zeros(IxDyn(&[outputs])))
            .unwrap();
        g
    }

    #[test]
    fn a_classifier_gives_probabilities_that_sum_to_one() {
        let mut g = dense(3, &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        let x = Array4::from_shape_vec((1, 1, 1, 2), vec![2.0, 1.0]).unwrap();
        let Prediction::Classes { probabilities } =
            predict(&mut g, &x, LossKind::CrossEntropy).unwrap()
        else {
            panic!("not classes")
        };
        let sum: f32 = probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
        assert_eq!(ranked(&probabilities), [0, 1, 2]);
        let expected = softmax(&[2.0, 1.0, 0.0]);
        assert_eq!(probabilities, expected);
    }

    #[test]
    fn one_logit_is_two_classes_and_mse_is_a_value() {
        let mut g = dense(1, &[1.0, -1.0]);
        let x = Array4::from_shape_vec((1, 1, 1, 2), vec![3.0, 1.0]).unwrap();
        let Prediction::Classes { probabilities } =
            predict(&mut g, &x, LossKind::BceWithLogits).unwrap()
        else {
            panic!("not classes")
        };
        assert!((probabilities[1] - sigmoid(2.0)).abs() < 1e-6);
        let Prediction::Values(v) = predict(&mut g, &x, LossKind::Mse).unwrap() else {
            panic!("not values")
        };
        assert_eq!(v, [2.0]);
    }

    #[test]
    fn an_identity_autoencoder_reconstructs_with_zero_error() {
        let spec = ModelSpec {
            input: [1, 3, 3],
            nodes: vec![NodeSpec::new("id", NodeKind::Identity)],
        };
        let mut g = Graph::new(&spec).unwrap();
        let x = Array4::from_shape_fn((1, 1, 3, 3), |(_, _, i, j)| (i * 3 + j) as f32);
        let Prediction::Reconstruction { score, error, .. } =
            predict(&mut g, &x, LossKind::Mse).unwrap()
        else {
            panic!("not a reconstruction")
        };
        assert_eq!(score, 0.0);
        assert_eq!(error.dim(), (3, 3));
        // The same output read as per-pixel logits: positive pixels are foreground.
        let Prediction::Segmentation { classes, shares } =
            predict(&mut g, &x, LossKind::BceWithLogits).unwrap()
        else {
            panic!("not a segmentation")
        };
        assert_eq!(classes[[0, 0]], 0);
        assert_eq!(classes[[2, 2]], 1);
        assert_eq!(shares, [1.0 / 9.0, 8.0 / 9.0]);
    }
}
