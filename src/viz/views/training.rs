//! The training view as a picture: the loss and the metric of a run, per epoch, for the
//! training and the validation set — what the window's curves show live, drawn from the
//! history a checkpoint keeps.
//!
//! `viz` knows nothing of training (the layering rules it out), so the caller hands the
//! history over as plain numbers ([`RunCurves`]).

use crate::viz::charts::{LineOptions, Series, line_chart};
use crate::viz::draw::{BACKGROUND, INK, hstack, padded, vstack};
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

/// The window's colours for the training and the validation curves.
const TRAIN: [u8; 3] = [80, 160, 255];
const VAL: [u8; 3] = [255, 150, 60];
const TS: usize = 2;

/// One finished epoch of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochPoint {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub train_metric: f64,
    pub val_metric: f64,
    /// A VAE's loss terms: train reconstruction, train KL, validation reconstruction,
    /// validation KL.
    pub elbo: Option<[f64; 4]>,
}

/// A run's history: its epochs in order, and the name of its metric (accuracy, IoU…).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunCurves {
    pub metric: String,
    pub epochs: Vec<EpochPoint>,
}

/// The loss (log scale) and the metric over the epochs, side by side; an error when the
/// run has no finished epoch.
pub fn render(curves: &RunCurves) -> Result<Rgba, VizError> {
    let Some(last) = curves.epochs.last() else {
        return Err(VizError::NoHistory);
    };
    let series = |name: &str, value: fn(&EpochPoint) -> f64, color| Series {
        name: name.to_string(),
        points: curves
            .epochs
            .iter()
            .map(|e| [e.epoch as f64, value(e)])
            .collect(),
        color,
    };
    let loss = line_chart(
        &[
            series("training loss", |e| e.train_loss, TRAIN),
            series("validation loss", |e| e.val_loss, VAL),
        ],
        &LineOptions {
            title: "loss (log scale)".into(),
            x_label: "epoch".into(),
            log: true,
            ..LineOptions::default()
        },
    );
    let metric = &curves.metric;
    let metric_chart = line_chart(
        &[
            series(&format!("training {metric}"), |e| e.train_metric, TRAIN),
            series(&format!("validation {metric}"), |e| e.val_metric, VAL),
        ],
        &LineOptions {
            title: metric.clone(),
            x_label: "epoch".into(),
            ..LineOptions::default()
        },
    );
    let title = text_image(
        &format!(
            "TRAINING — {} epochs · validation loss {:.4} · validation {metric} {:.4}",
            last.epoch, last.val_loss, last.val_metric
        ),
        TS,
        INK,
        BACKGROUND,
        0,
    );
    let charts = hstack(&[loss, metric_chart], 24, BACKGROUND);
    let mut rows = vec![title, charts];
    if curves.epochs.iter().any(|e| e.elbo.is_some()) {
        let term = |name: &str, k: usize, color| Series {
            name: name.to_string(),
            points: curves
                .epochs
                .iter()
                .filter_map(|e| e.elbo.map(|t| [e.epoch as f64, t[k]]))
                .collect(),
            color,
        };
        let recon = line_chart(
            &[
                term("training reconstruction", 0, TRAIN),
                term("validation reconstruction", 2, VAL),
            ],
            &LineOptions {
                title: "ELBO term: reconstruction loss".into(),
                x_label: "epoch".into(),
                ..LineOptions::default()
            },
        );
        let kl = line_chart(
            &[term("training KL", 1, TRAIN), term("validation KL", 3, VAL)],
            &LineOptions {
                title: "ELBO term: KL to N(0, I), before beta (log scale)".into(),
                x_label: "epoch".into(),
                log: true,
                ..LineOptions::default()
            },
        );
        rows.push(hstack(&[recon, kl], 24, BACKGROUND));
    }
    Ok(padded(&vstack(&rows, 12, BACKGROUND), 8, BACKGROUND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_are_drawn_in_their_colours_and_no_history_is_an_error() {
        assert!(matches!(
            render(&RunCurves::default()),
            Err(VizError::NoHistory)
        ));
        let epochs = (1..=4)
            .map(|k| EpochPoint {
                epoch: k,
                train_loss: 1.0 / k as f64,
                val_loss: 1.2 / k as f64,
                train_metric: 0.5 + 0.1 * k as f64,
                val_metric: 0.45 + 0.1 * k as f64,
                elbo: None,
            })
            .collect();
        let img = render(&RunCurves {
            metric: "accuracy".into(),
            epochs,
        })
        .unwrap();
        assert!(
            img.width > 800 && img.height > 200,
            "{}×{}",
            img.width,
            img.height
        );
        let has = |[r, g, b]: [u8; 3]| img.pixels.chunks(4).any(|p| p == [r, g, b, 255]);
        assert!(has(TRAIN) && has(VAL));
    }
}
