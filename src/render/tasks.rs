//! The views of `convlab render` that are not about one input of any model: the
//! convolution arithmetic sandbox (no model at all), the top patches of a channel over the
//! data set, and the two dense-task views, anomaly maps of an autoencoder and segmentation
//! overlays, which look at a whole test set.

use anyhow::{Context, anyhow, bail};
use ndarray::{Array4, Axis, s};

use super::RenderArgs;
use crate::checkpoint::Checkpoint;
use crate::data::Targets;
use crate::engine::model_spec::PaddingMode;
use crate::engine::{Graph, Mode, Tensor};
use crate::inspect::anomaly::{
    ScoreOptions, anomaly_report, predicted_classes, segmentation_scores, target_classes,
};
use crate::inspect::conv_arithmetic::{ArithSpec, conv_arithmetic};
use crate::spec::view::ViewId;
use crate::viz::Rgba;
use crate::viz::conv_arithmetic::conv_arithmetic_image;
use crate::viz::tasks::{AnomalyPicture, SegmentationRow, anomaly_image, segmentation_image};

/// Renders the views drawn here (conv arithmetic, top patches, anomaly, segmentation), or
/// None for a view of the registry ([`crate::viz::views::render_view`]).
pub fn render(args: &RenderArgs) -> Option<anyhow::Result<(Rgba, String)>> {
    match args.view {
        ViewId::ConvArithmetic => Some(arithmetic(args).map(|i| (i, args.view.to_string()))),
        ViewId::TopPatches => Some(top_patches(args)),
        ViewId::Anomaly => Some(anomaly(args)),
        ViewId::Segmentation => Some(segmentation(args)),
        _ => None,
    }
}

fn arithmetic(args: &RenderArgs) -> anyhow::Result<Rgba> {
    let step = args.step;
    let args = &args.arith;
    let mode = match args.padding_mode.as_str() {
        "zeros" => PaddingMode::Zeros,
        "reflect" => PaddingMode::Reflect,
        "replicate" => PaddingMode::Replicate,
        o => {
            return Err(anyhow!(
                "--padding-mode takes zeros, reflect or replicate, got '{o}'"
            ));
        }
    };
    // Transposed convs default to no cropping; plain ones to padding 1.
    let padding = args.padding.unwrap_or(if args.transposed { 0 } else { 1 });
    let size = args.size.unwrap_or(if args.transposed { 3 } else { 5 });
    if size == 0 || args.kernel == 0 {
        bail!("--size and --kernel must be at least 1");
    }
    let mut spec = ArithSpec::example(
        size.min(64),
        args.kernel.min(64),
        padding,
        args.stride,
        args.dilation,
    );
    spec.padding_mode = mode;
    spec.transposed = args.transposed;
    let sb = conv_arithmetic(&spec)?;
    // Default step: the middle of the run, so the picture shows a half-filled output.
    let step = match step {
        Some(0) => bail!("--step counts from 1"),
        Some(k) => k - 1,
        None => sb.steps() / 2,
    };
    Ok(conv_arithmetic_image(&sb, step).image)
}

fn load(args: &RenderArgs) -> anyhow::Result<(crate::spec::Preset, Graph<f32>, bool)> {
    let (checkpoint, trained) = Checkpoint::open(&args.model, None)?;
    let graph = checkpoint
        .graph()
        .context("weights do not match the model")?;
    Ok((checkpoint.preset, graph, trained))
}

fn infer(graph: &mut Graph<f32>, x: &Array4<f32>) -> anyhow::Result<Array4<f32>> {
    let mut parts = Vec::new();
    for start in (0..x.shape()[0]).step_by(32) {
        let end = (start + 32).min(x.shape()[0]);
        let chunk = x.slice(s![start..end, .., .., ..]).to_owned();
        parts.push(graph.forward(&chunk, Mode::Eval)?.clone());
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    Ok(ndarray::concatenate(Axis(0), &views)?)
}

fn note(trained: bool) -> String {
    if trained {
        String::new()
    } else {
        ", freshly initialised weights".into()
    }
}

/// The nine validation images (the training images when there is no validation set) that
/// excite `--channel` of `--node` (default: the last conv node) most, beside an input
/// synthesised by gradient ascent to excite it.
fn top_patches(args: &RenderArgs) -> anyhow::Result<(Rgba, String)> {
    let (preset, graph, trained) = load(args)?;
    let node = args
        .node
        .clone()
        .or_else(|| crate::inspect::top_patches::default_node(&graph.spec().nodes))
        .context("the model has no conv node: choose one with --node")?;
    let (train, val) = crate::data::load::load(&preset.data).context("data")?;
    let set = if val.is_empty() { train } else { val };
    let (_, img) = crate::viz::patches::top_patches_view(&graph, &set, &node, args.channel, 96)
        .map_err(anyhow::Error::msg)?;
    Ok((
        img,
        format!(
            "top-patches of {node} channel {}{}",
            args.channel,
            note(trained)
        ),
    ))
}

fn anomaly(args: &RenderArgs) -> anyhow::Result<(Rgba, String)> {
    let (preset, mut graph, trained) = load(args)?;
    let test = crate::data::textures::anomaly_set(&preset.data)
        .context("data")?
        .context("the anomaly view needs an anomaly data set (textures or anomaly folders), e.g. presets/textures-autoencoder.toml")?
        .set
        .test;
    if test.is_empty() {
        bail!("the anomaly test set is empty");
    }
    let recon = infer(&mut graph, &test.inputs)?;
    if recon.shape() != test.inputs.shape() {
        return Err(anyhow!(
            "the model's output {:?} is not the shape of its input {:?}: the anomaly view needs an autoencoder",
            &recon.shape()[1..],
            &test.inputs.shape()[1..]
        ));
    }
    let report = anomaly_report(
        &test.inputs,
        &recon,
        &test.anomalous,
        &test.masks,
        &test.has_mask,
        ScoreOptions::default(),
    );
    // Threshold: the ROC corner with the best Youden J (TPR − FPR).
    let threshold = report
        .roc
        .iter()
        .filter(|p| p.threshold.is_finite())
        .max_by(|a, b| (a.tpr - a.fpr).total_cmp(&(b.tpr - b.fpr)))
        .map(|p| p.threshold);
    let n = test.len();
    let picks: Vec<usize> = match args.sample {
        Some(k) if k >= n => {
            return Err(anyhow!(
                "--sample {k} is out of range: the test set has {n} images"
            ));
        }
        Some(k) => vec![k],
        None => {
            // One image of each defect kind (up to three), then a normal one.
            let mut picks = Vec::new();
            let mut seen: Vec<&str> = Vec::new();
            for k in 0..n {
                if test.anomalous[k] == Some(true)
                    && !seen.contains(&test.kinds[k].as_str())
                    && picks.len() < 3
                {
                    seen.push(&test.kinds[k]);
                    picks.push(k);
                }
            }
            if let Some(k) = (0..n).find(|&k| test.anomalous[k] == Some(false)) {
                picks.push(k);
            }
            if picks.is_empty() {
                picks.push(0);
            }
            picks
        }
    };
    let img = anomaly_image(&AnomalyPicture {
        inputs: &test.inputs,
        reconstructions: &recon,
        masks: &test.masks,
        has_mask: &test.has_mask,
        labels: &test.anomalous,
        kinds: &test.kinds,
        names: &test.names,
        report: &report,
        picks: &picks,
        threshold,
        opacity: 0.6,
    })
    .map_err(anyhow::Error::msg)?;
    let auroc = report
        .auroc
        .map_or(String::new(), |a| format!(", image AUROC {a:.3}"));
    Ok((img, format!("anomaly{auroc}{}", note(trained))))
}

fn segmentation(args: &RenderArgs) -> anyhow::Result<(Rgba, String)> {
    let (preset, mut graph, trained) = load(args)?;
    let (train, val) = crate::data::load::load(&preset.data).context("data")?;
    let set = if val.is_empty() { train } else { val };
    let Targets::Dense(targets) = &set.targets else {
        return Err(anyhow!(
            "the segmentation view needs masks as targets, e.g. presets/cells-unet.toml"
        ));
    };
    let n = set.len().min(64);
    if n == 0 {
        bail!("the validation set is empty");
    }
    let x: Tensor<f32> = set.inputs.slice(s![0..n, .., .., ..]).to_owned();
    let logits = infer(&mut graph, &x)?;
    let t = targets.slice(s![0..n, .., .., ..]).to_owned();
    if logits.shape()[0] != t.shape()[0] || logits.shape()[2..] != t.shape()[2..] {
        return Err(anyhow!(
            "the model's output {:?} does not match the masks {:?}",
            &logits.shape()[1..],
            &t.shape()[1..]
        ));
    }
    let (total, per_image) = segmentation_scores(&logits, &t, 0.5);
    let picks: Vec<usize> = match args.sample {
        Some(k) if k >= n => {
            return Err(anyhow!(
                "--sample {k} is out of range: the view looks at the first {n} images"
            ));
        }
        Some(k) => vec![k],
        None => (0..n.min(3)).collect(),
    };
    let pred = predicted_classes(&logits, 0.5);
    let truth = target_classes(&t);
    let rows: Vec<SegmentationRow> = picks
        .iter()
        .map(|&k| SegmentationRow {
            input: x.slice(s![k..k + 1, .., .., ..]).to_owned(),
            truth: truth.index_axis(Axis(0), k).to_owned(),
            predicted: pred.index_axis(Axis(0), k).to_owned(),
            scores: per_image[k].clone(),
            name: format!("validation image {k}"),
        })
        .collect();
    let img = segmentation_image(&rows, &total, n, 0.5).map_err(anyhow::Error::msg)?;
    Ok((
        img,
        format!(
            "segmentation, mean IoU {:.3}{}",
            total.mean_iou,
            note(trained)
        ),
    ))
}
