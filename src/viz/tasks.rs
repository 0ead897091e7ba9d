//! Pictures for the two dense tasks: anomaly maps of an autoencoder (input, reconstruction,
//! error heatmap, error over the input with the true defect outlined, the score) and
//! segmentation overlays (ground truth, prediction, and the error overlay with true
//! positives, false positives and false negatives in distinct colours, with IoU and Dice).
//! Scores come from [`crate::inspect::anomaly`]; this module only draws.

use ndarray::{Array2, Array4, Axis, s};

use super::draw::{
    BACKGROUND, INK, MUTED, blend, captioned, enlarge, fill_rect, hstack, padded, stroke_rect,
    vstack,
};
use super::overlay::{auto_zoom, heatmap_overlay};
use super::scale::{Palette, ValueScale, legend};
use super::text::{draw_text, text_image};
use super::{Colormap, Rgba, sample_rgba};
use crate::inspect::anomaly::{AnomalyReport, PixelOutcome, SegmentationScores};

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
/// Outline of the true defect on anomaly maps.
pub const MASK_OUTLINE: [u8; 4] = [255, 40, 40, 255];

const TS: usize = 2;

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

/// Outlines the region where `mask > 0.5` on `img` (the map is scaled to the picture):
/// every picture pixel inside the region whose neighbour is outside it.
pub fn outline_mask(img: &mut Rgba, mask: &Array2<f32>, color: [u8; 4]) {
    let (h, w) = mask.dim();
    if h == 0 || w == 0 || img.width == 0 || img.height == 0 {
        return;
    }
    let (iw, ih) = (img.width, img.height);
    let inside = |x: i64, y: i64| -> bool {
        if x < 0 || y < 0 || x as usize >= iw || y as usize >= ih {
            return false;
        }
        let i = (y as usize * h / ih).min(h - 1);
        let j = (x as usize * w / iw).min(w - 1);
        mask[[i, j]] > 0.5
    };
    let mut edge = Vec::new();
    for y in 0..ih as i64 {
        for x in 0..iw as i64 {
            if inside(x, y)
                && [(-1, 0), (1, 0), (0, -1), (0, 1)]
                    .iter()
                    .any(|(dx, dy)| !inside(x + dx, y + dy))
            {
                edge.push((x, y));
            }
        }
    }
    for (x, y) in edge {
        blend(img, x, y, color);
    }
}

/// A row of colour swatches with labels.
fn swatches(items: &[([u8; 3], &str)]) -> Rgba {
    let parts: Vec<Rgba> = items
        .iter()
        .map(|([r, g, b], label)| {
            let t = text_image(label, TS, INK, BACKGROUND, 0);
            let mut sw = Rgba::new(t.height, t.height, [*r, *g, *b, 255]);
            stroke_rect(&mut sw, 0, 0, t.height, t.height, 1, MUTED);
            hstack(&[sw, t], 6, BACKGROUND)
        })
        .collect();
    hstack(&parts, 24, BACKGROUND)
}

fn sample_picture(x: &Array4<f32>, k: usize, zoom: usize) -> Rgba {
    enlarge(&sample_rgba(x, k, Colormap::Gray), zoom)
}

/// What the anomaly picture shows.
#[derive(Clone, Debug)]
pub struct AnomalyPicture<'a> {
    /// Test images `[n, c, h, w]` in [0, 1] and their reconstructions.
    pub inputs: &'a Array4<f32>,
    pub reconstructions: &'a Array4<f32>,
    /// Per image: true masks `[n, 1, h, w]` and whether each is known.
    pub masks: &'a Array4<f32>,
    pub has_mask: &'a [bool],
    pub labels: &'a [Option<bool>],
    pub kinds: &'a [String],
    pub names: &'a [String],
    pub report: &'a AnomalyReport,
    /// The images to show, one row each.
    pub picks: &'a [usize],
    /// The score from which an image is flagged; None = not stated.
    pub threshold: Option<f64>,
    pub opacity: f32,
}

/// A score histogram of normal (blue) and anomalous (orange) images with the threshold.
fn score_histogram(scores: &[f64], labels: &[Option<bool>], threshold: Option<f64>) -> Rgba {
    const BINS: usize = 30;
    let (w, h) = (BINS * 12, 110);
    let finite: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut img = Rgba::new(w, h + 26, BACKGROUND);
    if !(lo.is_finite() && hi.is_finite()) {
        return img;
    }
    let span = (hi - lo).max(1e-12);
    let bin = |s: f64| {
        (((s - lo) / span) * BINS as f64)
            .floor()
            .clamp(0.0, BINS as f64 - 1.0) as usize
    };
    let mut counts = [[0usize; BINS]; 2];
    for (s, l) in scores.iter().zip(labels) {
        if let (true, Some(l)) = (s.is_finite(), l) {
            counts[usize::from(*l)][bin(*s)] += 1;
        }
    }
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    let colors = [[86, 180, 233, 170], [230, 159, 0, 170]];
    for (c, row) in counts.iter().enumerate() {
        for (b, &n) in row.iter().enumerate() {
            let len = n * h / max;
            fill_rect(
                &mut img,
                (b * 12) as i64,
                (h - len) as i64,
                11,
                len,
                colors[c],
            );
        }
    }
    fill_rect(&mut img, 0, h as i64, w, 1, MUTED);
    if let Some(t) = threshold.filter(|t| t.is_finite()) {
        let x = (((t - lo) / span) * w as f64)
            .round()
            .clamp(0.0, w as f64 - 2.0) as i64;
        fill_rect(&mut img, x, 0, 2, h, [200, 40, 40, 255]);
    }
    draw_text(&mut img, 0, h as i64 + 6, &format!("{lo:.4}"), TS, MUTED);
    let hi_s = format!("{hi:.4}");
    draw_text(
        &mut img,
        (w - super::text::text_width(&hi_s, TS)) as i64,
        h as i64 + 6,
        &hi_s,
        TS,
        MUTED,
    );
    img
}

/// Input, reconstruction, error heatmap and error over the input (true defect outlined in
/// red) for each picked test image, with its score; the set's AUROCs, a score histogram
/// and the error colour scale.
pub fn anomaly_image(p: &AnomalyPicture<'_>) -> Result<Rgba, String> {
    let n = p.inputs.shape()[0];
    if n == 0 || p.reconstructions.shape() != p.inputs.shape() {
        return Err("the anomaly view needs test images and their reconstructions".into());
    }
    if p.report.maps.shape()[0] != n || p.report.scores.len() != n {
        return Err("the anomaly report does not match the test images".into());
    }
    let (h, w) = (p.inputs.shape()[2], p.inputs.shape()[3]);
    let zoom = auto_zoom(h, w, 160);
    // Colour range: up to the 99.5th percentile of all error values, so one extreme pixel
    // does not leave every other map dark (brighter values saturate at the top colour).
    let mut all: Vec<f32> = p
        .report
        .maps
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    all.sort_by(f32::total_cmp);
    let map_max = all
        .get((all.len() * 995 / 1000).min(all.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);
    let scale = ValueScale::new(
        Palette::Sequential(Colormap::Viridis),
        0.0,
        map_max.max(1e-12),
    );
    let recon = p.reconstructions.mapv(|v| v.clamp(0.0, 1.0));
    let fmt = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.3}"));
    let mut rows = vec![text_image(
        &format!(
            "ANOMALY DETECTION — autoencoder trained on normal images only\n{} test images · image AUROC {} · pixel AUROC {}{}",
            n,
            fmt(p.report.auroc),
            fmt(p.report.pixel_auroc),
            p.threshold
                .map_or(String::new(), |t| format!(" · threshold {t:.4}"))
        ),
        TS,
        INK,
        BACKGROUND,
        0,
    )];
    for &k in p.picks.iter().filter(|&&k| k < n) {
        let input = sample_picture(p.inputs, k, zoom);
        let rec = sample_picture(&recon, k, zoom);
        let map = p.report.maps.index_axis(Axis(0), k).to_owned();
        let blank = Rgba::new(input.width, input.height, [0, 0, 0, 255]);
        let heat = heatmap_overlay(&blank, &map, &scale, 1.0);
        let mut over = heatmap_overlay(&input, &map, &scale, p.opacity);
        let has_mask = p.has_mask.get(k).copied().unwrap_or(false);
        let mask = p.masks.slice(s![k, 0, .., ..]).to_owned();
        if has_mask {
            outline_mask(&mut over, &mask, MASK_OUTLINE);
        }
        let score = p.report.scores[k];
        let truth = match p.labels.get(k).copied().flatten() {
            Some(true) => format!("anomalous ({})", p.kinds.get(k).map_or("?", |s| s.as_str())),
            Some(false) => "normal".to_string(),
            None => "unlabelled".to_string(),
        };
        let verdict = p.threshold.map_or(String::new(), |t| {
            if score >= t {
                " → flagged".to_string()
            } else {
                " → passed".to_string()
            }
        });
        let name = p
            .names
            .get(k)
            .cloned()
            .unwrap_or_else(|| format!("test {k}"));
        let outlined = if has_mask && mask.iter().any(|&v| v > 0.5) {
            " (red outline: true defect)"
        } else {
            ""
        };
        let caption = format!("{name}: {truth} · anomaly score {score:.4}{verdict}{outlined}");
        let panels = [
            captioned(&input, "input", TS, BACKGROUND),
            captioned(&rec, "reconstruction", TS, BACKGROUND),
            captioned(&heat, "error map", TS, BACKGROUND),
            captioned(&over, "error over input", TS, BACKGROUND),
        ];
        rows.push(vstack(
            &[
                text_image(&caption, TS, INK, BACKGROUND, 0),
                hstack(&panels, 16, BACKGROUND),
            ],
            6,
            BACKGROUND,
        ));
    }
    let hist = vstack(
        &[
            text_image("anomaly scores of all test images", TS, INK, BACKGROUND, 0),
            score_histogram(&p.report.scores, p.labels, p.threshold),
            swatches(&[
                ([86, 180, 233], "normal"),
                ([230, 159, 0], "anomalous"),
                ([200, 40, 40], "threshold"),
            ]),
        ],
        6,
        BACKGROUND,
    );
    let leg = legend(
        &scale,
        240,
        14,
        TS,
        "squared reconstruction error (blurred);\nbrighter values show as the top colour",
    );
    rows.push(hstack(&[hist, leg], 40, BACKGROUND));
    Ok(padded(&vstack(&rows, 22, BACKGROUND), 12, BACKGROUND))
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
) -> Result<Rgba, String> {
    if rows.is_empty() {
        return Err("no images to show".into());
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
    for r in rows {
        let (h, w) = (r.input.shape()[2], r.input.shape()[3]);
        let zoom = auto_zoom(h, w, 200);
        let base = sample_picture(&r.input, 0, zoom);
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
    parts.push(swatches(&[
        (TP_COLOR, "true positive"),
        (FP_COLOR, "false positive"),
        (FN_COLOR, "false negative"),
    ]));
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

    #[test]
    fn mask_outline_is_the_border_of_the_region() {
        let mut mask = Array2::<f32>::zeros((4, 4));
        mask.slice_mut(s![1..3, 1..3]).fill(1.0);
        // Zoom 2: the region is pixels 2..6; its border ring is outlined, the inside not.
        let mut img = gray(8, 8);
        outline_mask(&mut img, &mask, MASK_OUTLINE);
        assert_eq!(pixel(&img, 2, 2), Some(MASK_OUTLINE));
        assert_eq!(pixel(&img, 5, 3), Some(MASK_OUTLINE));
        assert_eq!(pixel(&img, 3, 3), Some([100, 100, 100, 255]));
        assert_eq!(pixel(&img, 1, 1), Some([100, 100, 100, 255]));
    }

    #[test]
    fn anomaly_picture_shows_heat_where_the_error_is() {
        let inputs = Array4::<f32>::zeros((2, 1, 8, 8));
        let mut recon = inputs.clone();
        recon[[1, 0, 4, 4]] = 1.0;
        let mut masks = Array4::<f32>::zeros((2, 1, 8, 8));
        masks[[1, 0, 4, 4]] = 1.0;
        let report = crate::inspect::anomaly::anomaly_report(
            &inputs,
            &recon,
            &[Some(false), Some(true)],
            &masks,
            &[true, true],
            crate::inspect::anomaly::ScoreOptions {
                top_fraction: 1.0 / 64.0,
                smooth: 0,
            },
        );
        assert_eq!(report.auroc, Some(1.0));
        let kinds = vec!["normal".to_string(), "spot".to_string()];
        let names = vec!["a".to_string(), "b".to_string()];
        let pic = AnomalyPicture {
            inputs: &inputs,
            reconstructions: &recon,
            masks: &masks,
            has_mask: &[true, true],
            labels: &[Some(false), Some(true)],
            kinds: &kinds,
            names: &names,
            report: &report,
            picks: &[0, 1],
            threshold: Some(0.5),
            opacity: 0.6,
        };
        let img = anomaly_image(&pic).unwrap();
        assert!(img.width > 400 && img.height > 300);
        // Bad input is an error, not a panic.
        let short = Array4::<f32>::zeros((1, 1, 8, 8));
        let bad = AnomalyPicture {
            reconstructions: &short,
            ..pic
        };
        assert!(anomaly_image(&bad).is_err());
    }
}
