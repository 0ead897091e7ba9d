//! `convlab predict CKPT IMAGE...`: what a trained model says about image files — the top
//! classes with their probabilities and names, a segmenter's share of each class, an
//! autoencoder's anomaly score — the same reading as the window's Prediction panel.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use crate::checkpoint::Checkpoint;
use crate::data::folder::{ImageOptions, load_image};
use crate::engine::Tensor;
use crate::inspect::prediction::{Prediction, predict, ranked};

/// The flags of `convlab predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// A trained checkpoint (.safetensors) or a preset (.toml, freshly initialised).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Image files (any format the image crate reads), resized to the model's input.
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<PathBuf>,
    /// How many classes to list, most likely first.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// One JSON object per image on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `convlab predict`. Every image is tried; an image that cannot be read is reported
/// and the command fails at the end, after the others were predicted.
pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let (checkpoint, trained) = Checkpoint::open(&args.model, None)?;
    let mut graph = checkpoint
        .graph()
        .with_context(|| format!("{}: weights do not match the model", args.model.display()))?;
    let [c, h, w] = checkpoint.preset.model.input;
    if c != 1 && c != 3 {
        bail!(
            "{}: the model takes {c} input channels; an image gives 1 (grey) or 3 (RGB)",
            args.model.display()
        );
    }
    if !trained {
        eprintln!(
            "note: {} is a preset: its weights are freshly initialised, not trained",
            args.model.display()
        );
    }
    let loss = checkpoint.preset.training.loss;
    let options = ImageOptions {
        size: [h, w],
        grayscale: c == 1,
    };
    let mut failed = 0;
    for path in &args.images {
        let x = match load_image(path, options) {
            Ok(v) => Tensor::from_shape_vec((1, c, h, w), v)?,
            Err(e) => {
                failed += 1;
                if args.json {
                    println!("{}", json!({ "image": path, "error": e.to_string() }));
                } else {
                    eprintln!("{}: {e}", path.display());
                }
                continue;
            }
        };
        let prediction = predict(&mut graph, &x, loss)
            .with_context(|| format!("{}: the model could not run", path.display()))?;
        if args.json {
            let mut line = prediction_json(&prediction, &checkpoint, args.top);
            line["image"] = json!(path);
            println!("{line}");
        } else {
            println!(
                "{}: {}",
                path.display(),
                prediction_text(&prediction, &checkpoint, args.top)
            );
        }
    }
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} images could not be read",
            args.images.len()
        ));
    }
    Ok(())
}

/// The prediction as one JSON object: `classes` (name, index, probability; top first),
/// `segmentation` (share per class), `anomaly_score`, or `values`.
pub fn prediction_json(p: &Prediction, ck: &Checkpoint, top: usize) -> Value {
    match p {
        Prediction::Classes { probabilities } => {
            let classes: Vec<Value> = ranked(probabilities)
                .into_iter()
                .take(top.max(1))
                .map(|k| {
                    json!({ "class": k, "name": ck.class_name(k), "probability": probabilities[k] })
                })
                .collect();
            json!({ "classes": classes })
        }
        Prediction::Segmentation { shares, .. } => {
            let classes: Vec<Value> = shares
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let mut class =
                        json!({ "class": k, "name": ck.class_name(k), "pixel_share": s });
                    // The class's colour in the user's masks, when they were colour-coded.
                    if let Some(c) = ck.palette.as_ref().and_then(|p| p.get(k)) {
                        class["colour"] = json!(c);
                    }
                    class
                })
                .collect();
            json!({ "segmentation": classes })
        }
        Prediction::Reconstruction { score, .. } => json!({ "anomaly_score": score }),
        Prediction::Values(v) => json!({ "values": v }),
    }
}

/// The prediction on one line, e.g. `cats 92.1 % · dogs 7.9 %`.
pub fn prediction_text(p: &Prediction, ck: &Checkpoint, top: usize) -> String {
    match p {
        Prediction::Classes { probabilities } => ranked(probabilities)
            .into_iter()
            .take(top.max(1))
            .map(|k| format!("{} {:.1} %", ck.class_name(k), 100.0 * probabilities[k]))
            .collect::<Vec<_>>()
            .join(" · "),
        Prediction::Segmentation { shares, .. } => shares
            .iter()
            .enumerate()
            .map(|(k, s)| format!("{} {:.1} % of pixels", ck.class_name(k), 100.0 * s))
            .collect::<Vec<_>>()
            .join(" · "),
        Prediction::Reconstruction { score, .. } => {
            format!("anomaly score {score:.5} (mean squared reconstruction error)")
        }
        Prediction::Values(v) => v
            .iter()
            .map(|x| format!("{x:.4}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
