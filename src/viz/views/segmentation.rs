//! The segmentation view: per-pixel classification of the validation images. [`compute`]
//! runs the model over them and scores its masks (IoU and Dice, from
//! [`crate::inspect::anomaly`]); [`segmentation_image`] draws input, ground truth,
//! prediction and the error overlay (true positives, false positives and false negatives
//! in distinct colours) for a few images, with the set's mean IoU.

use ndarray::{Array2, Array4, Axis, s};

use crate::data::{Dataset, Targets};
use crate::engine::{Graph, Mode};
use crate::inspect::anomaly::{
    PixelOutcome, SegmentationScores, predicted_classes, segmentation_scores, target_classes,
};
use crate::viz::draw::{
    BACKGROUND, INK, MUTED, blend, captioned, hstack, padded, swatches, vstack,
};
use crate::viz::overlay::{auto_zoom, input_image};
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

/// Okabe–Ito bluish green: true positive.
pub const TP_COLOR: [u8; 3] = [0, 158, 115];
/// Okabe–Ito vermillion: false positive.
pub const FP_COLOR: [u8; 3] = [213, 94, 0];
/// Okabe–Ito blue: false negative.
pub const FN_COLOR: [u8; 3] = [0, 114, 178];
/// Class colours for masks (class 0, background, is never painted).
pub const CLASS_COLORS: [[u8; 3]; 6] = [
    [0, 0, 0],
    [230, 159, 0],
    [86, 180, 233],
    [0, 158, 115],
    [240, 228, 66],
    [204, 121, 167],
];

const TS: usize = 2;
/// The view looks at the first this many validation images.
pub const MAX_IMAGES: usize = 64;

/// The model's output for the first validation images and how well it matches the masks.
#[derive(Clone, Debug)]
pub struct MaskScores {
    /// The images looked at, `[n, c, h, w]`, their logits and their true masks.
    pub inputs: Array4<f32>,
    pub logits: Array4<f32>,
    pub targets: Array4<f32>,
    /// Over all `n` images, and per image.
    pub total: SegmentationScores,
    pub per_image: Vec<SegmentationScores>,
    /// Seconds the model took per image (forward passes only).
    pub seconds_per_image: f64,
    /// How the masks were made: `None` for a segmentation net (one pass per batch of
    /// images), the patch side for a patch classifier run at every pixel.
    pub patch: Option<usize>,
}

impl MaskScores {
    pub fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `graph` over the first [`MAX_IMAGES`] images of `set` (`batch` per forward pass)
/// and scores its masks, a pixel being foreground when its probability reaches
/// `threshold`.
pub fn compute(
    graph: &mut Graph<f32>,
    set: &Dataset,
    threshold: f64,
    batch: usize,
) -> Result<MaskScores, VizError> {
    let Targets::Dense(targets) = &set.targets else {
        return Err(VizError::UnsuitedData(
            "the segmentation view needs masks as targets, e.g. presets/cells-unet.toml".into(),
        ));
    };
    let n = set.len().min(MAX_IMAGES);
    if n == 0 {
        return Err(VizError::UnsuitedData("the validation set is empty".into()));
    }
    let inputs: Array4<f32> = set.inputs.slice(s![0..n, .., .., ..]).to_owned();
    let mut parts: Vec<Array4<f32>> = Vec::new();
    let start_time = std::time::Instant::now();
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(n);
        let x = inputs.slice(s![start..end, .., .., ..]).to_owned();
        parts.push(graph.forward(&x, Mode::Eval)?.clone());
    }
    let seconds_per_image = start_time.elapsed().as_secs_f64() / n as f64;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let logits = ndarray::concatenate(Axis(0), &views)?;
    let t = targets.slice(s![0..n, .., .., ..]).to_owned();
    if logits.shape()[0] != t.shape()[0] || logits.shape()[2..] != t.shape()[2..] {
        return Err(VizError::UnsuitedModel(format!(
            "the model's output {:?} does not match the masks {:?}",
            &logits.shape()[1..],
            &t.shape()[1..]
        )));
    }
    let (total, per_image) = segmentation_scores(&logits, &t, threshold);
    Ok(MaskScores {
        inputs,
        logits,
        targets: t,
        total,
        per_image,
        seconds_per_image,
        patch: None,
    })
}

/// The view looks at the first this many validation images when a patch classifier
/// segments them (a forward pass per pixel).
pub const MAX_PATCH_IMAGES: usize = 8;

/// [`compute`] for a patch classifier (a `[data.patches]` preset): `graph` classifies the
/// `patch × patch` patch around every pixel of the first [`MAX_PATCH_IMAGES`] whole
/// validation images `set` (images with masks), `batch` patches per forward pass.
pub fn compute_patches(
    graph: &mut Graph<f32>,
    set: &Dataset,
    patch: usize,
    threshold: f64,
    batch: usize,
) -> Result<MaskScores, VizError> {
    let Targets::Dense(targets) = &set.targets else {
        return Err(VizError::UnsuitedData(
            "patch segmentation needs the whole images with their masks".into(),
        ));
    };
    let n = set.len().min(MAX_PATCH_IMAGES);
    if n == 0 {
        return Err(VizError::UnsuitedData("the validation set is empty".into()));
    }
    let inputs: Array4<f32> = set.inputs.slice(s![0..n, .., .., ..]).to_owned();
    let t = targets.slice(s![0..n, .., .., ..]).to_owned();
    let (logits, seconds) =
        crate::inspect::patches::segment(graph, &inputs, patch, t.shape()[1], batch)?;
    let (total, per_image) = segmentation_scores(&logits, &t, threshold);
    Ok(MaskScores {
        inputs,
        logits,
        targets: t,
        total,
        per_image,
        seconds_per_image: seconds.iter().sum::<f64>() / n as f64,
        patch: Some(patch),
    })
}

/// One line on how the masks were made and what it cost per image.
pub fn method_line(scores: &MaskScores) -> String {
    let [h, w] = [scores.inputs.shape()[2], scores.inputs.shape()[3]];
    match scores.patch {
        Some(p) => format!(
            "patch classifier: the {p}×{p} patch around each of the {} pixels classified, {:.3} s per image",
            h * w,
            scores.seconds_per_image
        ),
        None => format!(
            "fully convolutional: all {} pixels in one forward pass, {:.4} s per image",
            h * w,
            scores.seconds_per_image
        ),
    }
}

/// The view as `convlab render` draws it: validation image `sample`, or the first three,
/// at threshold 0.5.
/// With `patch` (a patch classifier's patch side), `set` holds the whole validation images
/// and every pixel's patch is classified.
pub fn render(
    graph: &mut Graph<f32>,
    set: &Dataset,
    sample: Option<usize>,
    patch: Option<usize>,
) -> Result<Rgba, VizError> {
    let scores = match patch {
        Some(p) => compute_patches(graph, set, p, 0.5, 1024)?,
        None => compute(graph, set, 0.5, 32)?,
    };
    let n = scores.len();
    let picks: Vec<usize> = match sample {
        Some(k) if k >= n => {
            return Err(VizError::BadOption(format!(
                "--sample {k} is out of range: the view looks at the first {n} images"
            )));
        }
        Some(k) => vec![k],
        None => (0..n.min(3)).collect(),
    };
    let pred = predicted_classes(&scores.logits, 0.5);
    let truth = target_classes(&scores.targets);
    let rows: Vec<SegmentationRow> = picks
        .iter()
        .map(|&k| SegmentationRow {
            input: scores.inputs.slice(s![k..k + 1, .., .., ..]).to_owned(),
            truth: truth.index_axis(Axis(0), k).to_owned(),
            predicted: pred.index_axis(Axis(0), k).to_owned(),
            scores: scores.per_image[k].clone(),
            name: format!("validation image {k}"),
        })
        .collect();
    segmentation_image(&rows, &scores.total, n, 0.5, &method_line(&scores))
}

/// The error outcome of one pixel for any number of classes: foreground predicted and
/// right → TP, foreground predicted but wrong (background or another class) → FP, missed
/// foreground → FN, background right → TN.
pub fn pixel_outcome(predicted: u8, truth: u8) -> PixelOutcome {
    match (predicted > 0, truth > 0) {
        (true, true) if predicted == truth => PixelOutcome::TruePositive,
        (true, _) => PixelOutcome::FalsePositive,
        (false, true) => PixelOutcome::FalseNegative,
        (false, false) => PixelOutcome::TrueNegative,
    }
}

fn outcome_color(o: PixelOutcome) -> Option<[u8; 3]> {
    match o {
        PixelOutcome::TruePositive => Some(TP_COLOR),
        PixelOutcome::FalsePositive => Some(FP_COLOR),
        PixelOutcome::FalseNegative => Some(FN_COLOR),
        PixelOutcome::TrueNegative => None,
    }
}

fn alpha(opacity: f32) -> u8 {
    let o = if opacity.is_finite() {
        opacity.clamp(0.0, 1.0)
    } else {
        0.5
    };
    (o * 255.0).round() as u8
}

/// `map` (any size) painted over `base` by nearest neighbour: `paint(value)` gives the
/// colour of a cell or None to leave the base.
fn paint_over<T: Copy>(
    base: &Rgba,
    map: &Array2<T>,
    opacity: f32,
    paint: impl Fn(T) -> Option<[u8; 3]>,
) -> Rgba {
    let mut out = base.clone();
    let (h, w) = map.dim();
    if h == 0 || w == 0 {
        return out;
    }
    let a = alpha(opacity);
    for y in 0..out.height {
        let i = (y * h / out.height.max(1)).min(h - 1);
        for x in 0..out.width {
            let j = (x * w / out.width.max(1)).min(w - 1);
            if let Some([r, g, b]) = paint(map[[i, j]]) {
                blend(&mut out, x as i64, y as i64, [r, g, b, a]);
            }
        }
    }
    out
}

/// Class colours over `base` (background left as is).
pub fn class_overlay(base: &Rgba, classes: &Array2<u8>, opacity: f32) -> Rgba {
    paint_over(base, classes, opacity, |c| {
        (c > 0).then(|| CLASS_COLORS[c as usize % CLASS_COLORS.len()])
    })
}

/// The error overlay: TP, FP and FN in [`TP_COLOR`], [`FP_COLOR`], [`FN_COLOR`] over
/// `base`; true negatives left as is.
pub fn error_overlay(
    base: &Rgba,
    predicted: &Array2<u8>,
    truth: &Array2<u8>,
    opacity: f32,
) -> Rgba {
    if predicted.dim() != truth.dim() {
        return base.clone();
    }
    let outcomes = ndarray::Zip::from(predicted)
        .and(truth)
        .map_collect(|&p, &t| pixel_outcome(p, t));
    paint_over(base, &outcomes, opacity, outcome_color)
}

/// One image of the segmentation picture.
#[derive(Clone, Debug)]
pub struct SegmentationRow {
    /// `[1, c, h, w]` input in [0, 1].
    pub input: Array4<f32>,
    pub truth: Array2<u8>,
    pub predicted: Array2<u8>,
    pub scores: SegmentationScores,
    pub name: String,
}

/// Input, ground truth, prediction and the TP/FP/FN error overlay for each row, with the
/// per-image IoU and Dice and the set's mean IoU.
pub fn segmentation_image(
    rows: &[SegmentationRow],
    total: &SegmentationScores,
    set_size: usize,
    opacity: f32,
    method: &str,
) -> Result<Rgba, VizError> {
    if rows.is_empty() {
        return Err(VizError::Picture("no images to show".into()));
    }
    let fmt = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.3}"));
    let per_class: Vec<String> = total.iou.iter().map(|v| fmt(*v)).collect();
    let mut parts = vec![text_image(
        &format!(
            "SEGMENTATION — {set_size} validation images: mean IoU {:.3} · mean Dice {:.3} · per-class IoU [{}]",
            total.mean_iou,
            total.mean_dice,
            per_class.join(", ")
        ),
        TS,
        INK,
        BACKGROUND,
        0,
    )];
    if !method.is_empty() {
        parts.push(text_image(method, TS, MUTED, BACKGROUND, 0));
    }
    for r in rows {
        let (h, w) = (r.input.shape()[2], r.input.shape()[3]);
        let zoom = auto_zoom(h, w, 200);
        let base = input_image(&r.input, zoom);
        let truth = class_overlay(&base, &r.truth, opacity);
        let pred = class_overlay(&base, &r.predicted, opacity);
        let err = error_overlay(&base, &r.predicted, &r.truth, opacity.max(0.75));
        let fg = r.scores.iou.get(1).copied().flatten();
        let caption = format!(
            "{}: IoU {} · Dice {} · mean IoU over classes {:.3}",
            r.name,
            fmt(fg),
            fmt(r.scores.dice.get(1).copied().flatten()),
            r.scores.mean_iou
        );
        let panels = [
            captioned(&base, "input", TS, BACKGROUND),
            captioned(&truth, "ground truth", TS, BACKGROUND),
            captioned(&pred, "prediction", TS, BACKGROUND),
            captioned(&err, "prediction vs mask", TS, BACKGROUND),
        ];
        parts.push(vstack(
            &[
                text_image(&caption, TS, INK, BACKGROUND, 0),
                hstack(&panels, 16, BACKGROUND),
            ],
            6,
            BACKGROUND,
        ));
    }
    parts.push(swatches(
        &[
            (TP_COLOR, "true positive"),
            (FP_COLOR, "false positive"),
            (FN_COLOR, "false negative"),
        ],
        TS,
    ));
    parts.push(text_image(
        "IoU = TP / (TP + FP + FN)    Dice = 2·TP / (2·TP + FP + FN)",
        TS,
        MUTED,
        BACKGROUND,
        0,
    ));
    Ok(padded(&vstack(&parts, 22, BACKGROUND), 12, BACKGROUND))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::draw::pixel;

    fn gray(w: usize, h: usize) -> Rgba {
        Rgba::new(w, h, [100, 100, 100, 255])
    }

    #[test]
    fn error_overlay_colours_each_outcome() {
        // pred: 1 1 0 0, truth: 1 0 1 0 → TP FP FN TN.
        let pred = Array2::from_shape_vec((1, 4), vec![1u8, 1, 0, 0]).unwrap();
        let truth = Array2::from_shape_vec((1, 4), vec![1u8, 0, 1, 0]).unwrap();
        let out = error_overlay(&gray(8, 2), &pred, &truth, 1.0);
        assert_eq!(pixel(&out, 0, 0), Some([0, 158, 115, 255]));
        assert_eq!(pixel(&out, 3, 1), Some([213, 94, 0, 255]));
        assert_eq!(pixel(&out, 4, 0), Some([0, 114, 178, 255]));
        assert_eq!(pixel(&out, 7, 1), Some([100, 100, 100, 255]));
        // Half opacity: halfway between gray and the colour.
        let half = error_overlay(&gray(4, 1), &pred, &truth, 0.5);
        let p = pixel(&half, 0, 0).unwrap();
        assert!(
            (p[0] as i32 - 50).abs() <= 1 && (p[1] as i32 - 129).abs() <= 1,
            "{p:?}"
        );
        // Mismatched shapes leave the base.
        let other = Array2::<u8>::zeros((2, 2));
        assert_eq!(error_overlay(&gray(4, 1), &pred, &other, 1.0), gray(4, 1));
    }

    #[test]
    fn multiclass_outcomes_and_class_overlay() {
        assert_eq!(pixel_outcome(2, 2), PixelOutcome::TruePositive);
        assert_eq!(pixel_outcome(2, 1), PixelOutcome::FalsePositive);
        assert_eq!(pixel_outcome(0, 1), PixelOutcome::FalseNegative);
        assert_eq!(pixel_outcome(1, 0), PixelOutcome::FalsePositive);
        assert_eq!(pixel_outcome(0, 0), PixelOutcome::TrueNegative);
        let classes = Array2::from_shape_vec((1, 3), vec![0u8, 1, 2]).unwrap();
        let out = class_overlay(&gray(3, 1), &classes, 1.0);
        assert_eq!(pixel(&out, 0, 0), Some([100, 100, 100, 255]));
        assert_eq!(pixel(&out, 1, 0), Some([230, 159, 0, 255]));
        assert_eq!(pixel(&out, 2, 0), Some([86, 180, 233, 255]));
    }
}
