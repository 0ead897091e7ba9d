//! Quality measures reported next to the loss: accuracy for classification, IoU for
//! binary segmentation, mean squared error for regression and reconstruction, PSNR for
//! denoising.

use serde::{Deserialize, Serialize};

use crate::engine::{LossKind, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Accuracy,
    Iou,
    Mse,
    /// Peak signal-to-noise ratio in dB, 10·log10(1 / MSE), of images in [0, 1].
    Psnr,
}

impl MetricKind {
    pub fn for_loss(loss: LossKind) -> MetricKind {
        match loss {
            LossKind::CrossEntropy => MetricKind::Accuracy,
            LossKind::BceWithLogits | LossKind::Dice => MetricKind::Iou,
            LossKind::Mse => MetricKind::Mse,
        }
    }

    /// The metric a run of `preset` reports: PSNR for a denoising or super-resolution task
    /// trained with MSE (its targets are clean images in [0, 1]), otherwise the loss's own
    /// metric, so presets without `[data.denoise]` or `[data.super_resolution]` keep theirs.
    pub fn for_preset(preset: &crate::spec::Preset) -> MetricKind {
        let loss = preset.training.loss;
        let image_task = preset.data.denoise.is_some() || preset.data.super_resolution.is_some();
        if loss == LossKind::Mse && image_task {
            MetricKind::Psnr
        } else {
            MetricKind::for_loss(loss)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Accuracy => "accuracy",
            MetricKind::Iou => "iou",
            MetricKind::Mse => "mse",
            MetricKind::Psnr => "psnr",
        }
    }

    pub fn higher_is_better(self) -> bool {
        self != MetricKind::Mse
    }
}

/// Running sums from which a metric is computed over many batches.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MetricSums {
    /// Correct predictions (accuracy), intersection (IoU) or squared error (MSE).
    pub hits: f64,
    /// Predictions (accuracy), union (IoU) or values (MSE).
    pub total: f64,
}

impl MetricSums {
    pub fn add(&mut self, other: MetricSums) {
        self.hits += other.hits;
        self.total += other.total;
    }

    pub fn value(&self, kind: MetricKind) -> f64 {
        match kind {
            // An empty union means both prediction and truth are empty: a perfect match.
            MetricKind::Iou if self.total == 0.0 => 1.0,
            _ if self.total == 0.0 => 0.0,
            // PSNR of the pooled squared error (not a mean of per-image PSNRs), as the
            // classical baselines are measured.
            MetricKind::Psnr => crate::data::noise::psnr(self.hits / self.total),
            _ => self.hits / self.total,
        }
    }
}

/// Predicted class per sample (or pixel): the channel with the largest logit.
pub fn argmax_channels(output: &Tensor<f32>) -> Vec<usize> {
    let [n, c, h, w] = [
        output.shape()[0],
        output.shape()[1],
        output.shape()[2],
        output.shape()[3],
    ];
    let mut out = Vec::with_capacity(n * h * w);
    for s in 0..n {
        for i in 0..h {
            for j in 0..w {
                let mut best = 0;
                for ch in 1..c {
                    if output[[s, ch, i, j]] > output[[s, best, i, j]] {
                        best = ch;
                    }
                }
                out.push(best);
            }
        }
    }
    out
}

pub fn accuracy_sums(output: &Tensor<f32>, labels: &[usize]) -> MetricSums {
    let predicted = argmax_channels(output);
    let hits = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    MetricSums {
        hits: hits as f64,
        total: labels.len() as f64,
    }
}

/// Foreground is a positive logit; the target's foreground is a value above ½.
pub fn iou_sums(logits: &Tensor<f32>, target: &Tensor<f32>) -> MetricSums {
    let (mut inter, mut union) = (0.0, 0.0);
    for (&l, &t) in logits.iter().zip(target.iter()) {
        let (p, t) = (l > 0.0, t > 0.5);
        inter += f64::from(u8::from(p && t));
        union += f64::from(u8::from(p || t));
    }
    MetricSums {
        hits: inter,
        total: union,
    }
}

pub fn mse_sums(output: &Tensor<f32>, target: &Tensor<f32>) -> MetricSums {
    let se: f64 = output
        .iter()
        .zip(target.iter())
        .map(|(&a, &b)| ((a - b) as f64).powi(2))
        .sum();
    MetricSums {
        hits: se,
        total: output.len() as f64,
    }
}
