//! Scores for anomaly detection and segmentation: pure maths on arrays, no drawing.
//!
//! **Anomaly detection** with an autoencoder trained on normal images only:
//! * [`error_maps`]: the per-pixel reconstruction error, squared and averaged over channels.
//! * [`image_scores`]: one anomaly score per image = the mean of the top `top_fraction` of its
//!   error map's pixels, after an optional box blur of radius `smooth`. Why not the plain
//!   mean? A small defect covers 1–5 % of an image, so the mean drowns it in the texture's
//!   normal reconstruction error. Why not the maximum? One noisy pixel decides it. The top 2 %
//!   (the default, [`ScoreOptions::default`]) is about the size of a small defect, and the
//!   blur (radius 1) rewards errors that form a blob over isolated bright pixels.
//! * [`confusion_at`]: precision, recall and the false-positive rate at a threshold
//!   (an image is flagged when its score is ≥ the threshold).
//! * [`roc_curve`] and [`auroc`]: the ROC curve's corner points and the area under it.
//!   Tied scores are one step of the curve (a diagonal), so a tie between a normal and an
//!   anomalous image counts ½ — the Mann–Whitney statistic, as scikit-learn's `roc_auc_score`.
//! * [`pixel_auroc`]: the same over all pixels of the images with a known mask.
//!
//! **Segmentation**: [`predicted_classes`] (threshold or argmax), [`confusion_matrix`],
//! and from it per-class IoU and Dice, their means, and pixel accuracy.

use std::cmp::Ordering;

use ndarray::{Array3, Array4, ArrayView2, Axis};

use crate::data::segmentation::class_map;

/// How an error map becomes one image score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreOptions {
    /// Share of the pixels with the largest errors that are averaged, in (0, 1].
    pub top_fraction: f64,
    /// Radius of the box blur applied to the map first (0 = none).
    pub smooth: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            top_fraction: 0.02,
            smooth: 1,
        }
    }
}

/// Per-pixel squared reconstruction error averaged over channels: `[n, h, w]`.
/// `input` and `reconstruction` must have the same shape (`[n, c, h, w]`); if they do not,
/// the common part is used.
pub fn error_maps(input: &Array4<f32>, reconstruction: &Array4<f32>) -> Array3<f32> {
    let s = input.shape();
    let r = reconstruction.shape();
    let [n, c, h, w] = [
        s[0].min(r[0]),
        s[1].min(r[1]),
        s[2].min(r[2]),
        s[3].min(r[3]),
    ];
    Array3::from_shape_fn((n, h, w), |(i, y, x)| {
        let mut sum = 0.0f32;
        for ch in 0..c {
            let d = input[[i, ch, y, x]] - reconstruction[[i, ch, y, x]];
            sum += d * d;
        }
        sum / c.max(1) as f32
    })
}

/// Box blur with radius `r`, averaging only the pixels inside the image (no dark border).
pub fn box_blur(map: ArrayView2<f32>, r: usize) -> ndarray::Array2<f32> {
    let (h, w) = map.dim();
    if r == 0 || h == 0 || w == 0 {
        return map.to_owned();
    }
    // Separable: rows, then columns, each with a running window.
    let mut tmp = ndarray::Array2::<f32>::zeros((h, w));
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            let s: f32 = (a..=b).map(|k| map[[y, k]]).sum();
            tmp[[y, x]] = s / (b - a + 1) as f32;
        }
    }
    let mut out = ndarray::Array2::<f32>::zeros((h, w));
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for x in 0..w {
            let s: f32 = (a..=b).map(|k| tmp[[k, x]]).sum();
            out[[y, x]] = s / (b - a + 1) as f32;
        }
    }
    out
}

/// The error maps after the blur of `opts` (what the heatmap should show, so that the
/// pixel-level scores and the picture agree).
pub fn smoothed_maps(maps: &Array3<f32>, opts: ScoreOptions) -> Array3<f32> {
    let mut out = maps.clone();
    for (mut dst, src) in out.outer_iter_mut().zip(maps.outer_iter()) {
        dst.assign(&box_blur(src, opts.smooth));
    }
    out
}

/// The mean of the largest `ceil(top_fraction · len)` values (at least one). NaN counts as
/// the largest value, so a broken reconstruction is never mistaken for a good one.
pub fn top_mean(values: &[f32], top_fraction: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let frac = if top_fraction.is_finite() {
        top_fraction.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let k = ((values.len() as f64 * frac).ceil() as usize).clamp(1, values.len());
    let mut v: Vec<f32> = values.to_vec();
    let desc = |a: &f32, b: &f32| b.total_cmp(a);
    v.select_nth_unstable_by(k - 1, desc);
    v[..k].iter().map(|&x| x as f64).sum::<f64>() / k as f64
}

/// One anomaly score per image (see the module docs).
pub fn image_scores(maps: &Array3<f32>, opts: ScoreOptions) -> Vec<f64> {
    smoothed_maps(maps, opts)
        .outer_iter()
        .map(|m| {
            let v: Vec<f32> = m.iter().copied().collect();
            top_mean(&v, opts.top_fraction)
        })
        .collect()
}

/// Counts and rates at one threshold; an image is flagged anomalous when `score ≥ threshold`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
}

impl Confusion {
    /// Of the flagged images, the share that is anomalous (1 when nothing is flagged).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp, 1.0)
    }
    /// Of the anomalous images, the share flagged (true-positive rate; 0 without anomalies).
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_, 0.0)
    }
    /// Of the normal images, the share flagged.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn, 0.0)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    pub fn accuracy(&self) -> f64 {
        ratio(
            self.tp + self.tn,
            self.tp + self.tn + self.fp + self.fn_,
            0.0,
        )
    }
}

fn ratio(a: usize, b: usize, empty: f64) -> f64 {
    if b == 0 { empty } else { a as f64 / b as f64 }
}

/// Precision/recall counts at `threshold` (`labels[i]` = image `i` is anomalous).
pub fn confusion_at(scores: &[f64], labels: &[bool], threshold: f64) -> Confusion {
    let mut c = Confusion::default();
    for (&s, &l) in scores.iter().zip(labels) {
        match (s >= threshold, l) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    c
}

/// One corner of the ROC curve: flagging every score ≥ `threshold` gives these rates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RocPoint {
    pub threshold: f64,
    pub fpr: f64,
    pub tpr: f64,
}

/// Scores sorted from high to low with NaN treated as +∞ (flagged first).
fn order_desc(scores: &[f64]) -> Vec<usize> {
    let key = |s: f64| if s.is_nan() { f64::INFINITY } else { s };
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| {
        key(scores[b])
            .partial_cmp(&key(scores[a]))
            .unwrap_or(Ordering::Equal)
    });
    idx
}

/// The ROC curve from (0, 0) (threshold +∞) to (1, 1): one point per distinct score, from
/// the highest to the lowest. Empty when either class is missing.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<RocPoint> {
    let n = scores.len().min(labels.len());
    let (scores, labels) = (&scores[..n], &labels[..n]);
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = n - pos;
    if pos == 0 || neg == 0 {
        return Vec::new();
    }
    let idx = order_desc(scores);
    let key = |s: f64| if s.is_nan() { f64::INFINITY } else { s };
    let mut out = vec![RocPoint {
        threshold: f64::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < n {
        let s = key(scores[idx[i]]);
        while i < n && key(scores[idx[i]]) == s {
            if labels[idx[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        out.push(RocPoint {
            threshold: s,
            fpr: fp as f64 / neg as f64,
            tpr: tp as f64 / pos as f64,
        });
    }
    out
}

/// Area under the ROC curve: the probability that a random anomalous image scores higher
/// than a random normal one, ties counting ½. `None` when either class is missing.
pub fn auroc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let roc = roc_curve(scores, labels);
    if roc.is_empty() {
        return None;
    }
    // Trapezoids between corners = Mann–Whitney U with ties as ½.
    let area = roc
        .windows(2)
        .map(|p| (p[1].fpr - p[0].fpr) * (p[1].tpr + p[0].tpr) / 2.0)
        .sum::<f64>();
    Some(area.clamp(0.0, 1.0))
}

/// AUROC over the pixels of the images with `has_mask[i]`: `maps` `[n, h, w]` (usually
/// [`smoothed_maps`]) against `masks` `[n, 1, h, w]` (> ½ = defect). `None` when no usable
/// image has both defect and normal pixels.
pub fn pixel_auroc(maps: &Array3<f32>, masks: &Array4<f32>, has_mask: &[bool]) -> Option<f64> {
    let n = maps.shape()[0].min(masks.shape()[0]).min(has_mask.len());
    if maps.shape()[1..] != masks.shape()[2..] {
        return None;
    }
    let mut scores = Vec::new();
    let mut labels = Vec::new();
    for i in (0..n).filter(|&i| has_mask[i]) {
        scores.extend(maps.index_axis(Axis(0), i).iter().map(|&v| v as f64));
        labels.extend(masks.index_axis(Axis(0), i).iter().map(|&m| m > 0.5));
    }
    auroc(&scores, &labels)
}

/// Everything the anomaly view shows, in one call.
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyReport {
    /// `[n, h, w]` smoothed error maps (the heatmaps).
    pub maps: Array3<f32>,
    pub scores: Vec<f64>,
    /// Image-level AUROC over the labelled images.
    pub auroc: Option<f64>,
    /// Pixel-level AUROC over the images with masks.
    pub pixel_auroc: Option<f64>,
    pub roc: Vec<RocPoint>,
}

/// The AUROC of `scores` over the images whose label is known (`labels[i]`: `None` =
/// unknown, `Some(true)` = anomalous).
pub fn auroc_of(scores: &[f64], labels: &[Option<bool>]) -> Option<f64> {
    let (s, l): (Vec<f64>, Vec<bool>) = scores
        .iter()
        .zip(labels)
        .filter_map(|(&s, l)| l.map(|l| (s, l)))
        .unzip();
    auroc(&s, &l)
}

/// Error maps, scores, ROC and both AUROCs for test images, their reconstructions and
/// what is known about them (`labels[i]`: `None` = unknown; `has_mask[i]`: mask `i` is known).
pub fn anomaly_report(
    input: &Array4<f32>,
    reconstruction: &Array4<f32>,
    labels: &[Option<bool>],
    masks: &Array4<f32>,
    has_mask: &[bool],
    opts: ScoreOptions,
) -> AnomalyReport {
    let maps = smoothed_maps(&error_maps(input, reconstruction), opts);
    let scores: Vec<f64> = maps
        .outer_iter()
        .map(|m| top_mean(&m.iter().copied().collect::<Vec<_>>(), opts.top_fraction))
        .collect();
    let (s, l): (Vec<f64>, Vec<bool>) = scores
        .iter()
        .zip(labels)
        .filter_map(|(&s, l)| l.map(|l| (s, l)))
        .unzip();
    AnomalyReport {
        auroc: auroc(&s, &l),
        roc: roc_curve(&s, &l),
        pixel_auroc: pixel_auroc(&maps, masks, has_mask),
        maps,
        scores,
    }
}

// ---------------------------------------------------------------------------------------
// Segmentation

/// Class index per pixel `[n, h, w]` of a model's output: one channel → 1 where
/// `sigmoid(logit) ≥ threshold` (0.5 = a positive logit); several → the largest channel.
pub fn predicted_classes(logits: &Array4<f32>, threshold: f64) -> Array3<u8> {
    if logits.shape()[1] == 1 {
        let t = threshold.clamp(1e-7, 1.0 - 1e-7);
        let cut = (t / (1.0 - t)).ln() as f32;
        logits.index_axis(Axis(1), 0).mapv(|l| u8::from(l > cut))
    } else {
        class_map(logits)
    }
}

/// Class index per pixel of dense targets (0/1 masks or one-hot); see
/// [`crate::data::segmentation::class_map`].
pub fn target_classes(targets: &Array4<f32>) -> Array3<u8> {
    class_map(targets)
}

/// Pixel counts `counts[truth][predicted]` over `k` classes.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionMatrix {
    pub k: usize,
    pub counts: Vec<u64>,
}

impl ConfusionMatrix {
    pub fn new(k: usize) -> Self {
        ConfusionMatrix {
            k,
            counts: vec![0; k * k],
        }
    }

    /// Adds pixels; class indices ≥ k are ignored.
    pub fn add(&mut self, predicted: &[u8], truth: &[u8]) {
        for (&p, &t) in predicted.iter().zip(truth) {
            let (p, t) = (p as usize, t as usize);
            if p < self.k && t < self.k {
                self.counts[t * self.k + p] += 1;
            }
        }
    }

    pub fn get(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.k + predicted]
    }

    /// (true positives, false positives, false negatives) of class `c`.
    pub fn class_counts(&self, c: usize) -> (u64, u64, u64) {
        let tp = self.get(c, c);
        let predicted: u64 = (0..self.k).map(|t| self.get(t, c)).sum();
        let actual: u64 = (0..self.k).map(|p| self.get(c, p)).sum();
        (tp, predicted - tp, actual - tp)
    }

    /// IoU = TP / (TP + FP + FN) per class; `None` for a class absent from both prediction
    /// and truth (it has no union, and is left out of the mean).
    pub fn iou(&self) -> Vec<Option<f64>> {
        (0..self.k)
            .map(|c| {
                let (tp, fp, fn_) = self.class_counts(c);
                let union = tp + fp + fn_;
                (union > 0).then(|| tp as f64 / union as f64)
            })
            .collect()
    }

    /// Dice = 2·TP / (2·TP + FP + FN) per class; `None` as for [`Self::iou`].
    pub fn dice(&self) -> Vec<Option<f64>> {
        (0..self.k)
            .map(|c| {
                let (tp, fp, fn_) = self.class_counts(c);
                let den = 2 * tp + fp + fn_;
                (den > 0).then(|| 2.0 * tp as f64 / den as f64)
            })
            .collect()
    }

    /// Mean IoU over the classes present in prediction or truth (background included).
    pub fn mean_iou(&self) -> f64 {
        mean_present(&self.iou())
    }

    pub fn mean_dice(&self) -> f64 {
        mean_present(&self.dice())
    }

    pub fn pixel_accuracy(&self) -> f64 {
        let total: u64 = self.counts.iter().sum();
        let right: u64 = (0..self.k).map(|c| self.get(c, c)).sum();
        if total == 0 {
            1.0
        } else {
            right as f64 / total as f64
        }
    }
}

/// Mean of the present values; 1 when none is present (nothing to get wrong).
fn mean_present(v: &[Option<f64>]) -> f64 {
    let present: Vec<f64> = v.iter().flatten().copied().collect();
    if present.is_empty() {
        1.0
    } else {
        present.iter().sum::<f64>() / present.len() as f64
    }
}

/// The confusion matrix of predicted and true class maps (`[n, h, w]` each) over `k` classes.
pub fn confusion_matrix(predicted: &Array3<u8>, truth: &Array3<u8>, k: usize) -> ConfusionMatrix {
    let mut m = ConfusionMatrix::new(k);
    let p: Vec<u8> = predicted.iter().copied().collect();
    let t: Vec<u8> = truth.iter().copied().collect();
    m.add(&p, &t);
    m
}

/// Scores of one set (or one image) for the segmentation view.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentationScores {
    pub iou: Vec<Option<f64>>,
    pub dice: Vec<Option<f64>>,
    pub mean_iou: f64,
    pub mean_dice: f64,
    /// IoU of class 1 (the foreground of a binary mask); what the trainer reports as `iou`.
    pub foreground_iou: Option<f64>,
    pub pixel_accuracy: f64,
}

impl SegmentationScores {
    pub fn from_matrix(m: &ConfusionMatrix) -> Self {
        let iou = m.iou();
        SegmentationScores {
            foreground_iou: iou.get(1).copied().flatten(),
            dice: m.dice(),
            mean_iou: m.mean_iou(),
            mean_dice: m.mean_dice(),
            pixel_accuracy: m.pixel_accuracy(),
            iou,
        }
    }
}

/// Scores of a model's `logits` against dense `targets` over the whole set, and per image.
/// `k` is the number of classes (2 for a one-channel binary output); `threshold` is the
/// probability cut for binary outputs.
pub fn segmentation_scores(
    logits: &Array4<f32>,
    targets: &Array4<f32>,
    threshold: f64,
) -> (SegmentationScores, Vec<SegmentationScores>) {
    let k = logits.shape()[1].max(2);
    let pred = predicted_classes(logits, threshold);
    let truth = target_classes(targets);
    let mut total = ConfusionMatrix::new(k);
    let mut per_image = Vec::new();
    for (p, t) in pred.outer_iter().zip(truth.outer_iter()) {
        let mut m = ConfusionMatrix::new(k);
        let pv: Vec<u8> = p.iter().copied().collect();
        let tv: Vec<u8> = t.iter().copied().collect();
        m.add(&pv, &tv);
        total.add(&pv, &tv);
        per_image.push(SegmentationScores::from_matrix(&m));
    }
    (SegmentationScores::from_matrix(&total), per_image)
}

/// What a pixel of a binary prediction is, for the error overlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelOutcome {
    TrueNegative,
    TruePositive,
    FalsePositive,
    FalseNegative,
}

/// Per-pixel outcome for class `c` (one-vs-rest): `[n, h, w]`.
pub fn outcomes(
    predicted: &Array3<u8>,
    truth: &Array3<u8>,
    c: u8,
) -> ndarray::Array3<PixelOutcome> {
    ndarray::Zip::from(predicted)
        .and(truth)
        .map_collect(|&p, &t| match (p == c, t == c) {
            (true, true) => PixelOutcome::TruePositive,
            (true, false) => PixelOutcome::FalsePositive,
            (false, true) => PixelOutcome::FalseNegative,
            (false, false) => PixelOutcome::TrueNegative,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn auroc_of_known_rankings() {
        // Perfect, inverted, and one swap out of 2×2 pairs.
        assert_eq!(
            auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        // Positives at 0.3, 0.9; negatives at 0.1, 0.5: pairs (0.3>0.1 yes, 0.3>0.5 no,
        // 0.9>0.1 yes, 0.9>0.5 yes) = 3/4.
        assert!(close(
            auroc(&[0.1, 0.3, 0.5, 0.9], &[false, true, false, true]).unwrap(),
            0.75
        ));
        // All tied: every pair counts ½.
        assert!(close(
            auroc(&[1.0; 4], &[false, true, false, true]).unwrap(),
            0.5
        ));
        // One tie: positives {2, 1}, negatives {1, 0}: pairs 2>1, 2>0, 1=1 (½), 1>0 → 3.5/4.
        assert!(close(
            auroc(&[2.0, 1.0, 1.0, 0.0], &[true, true, false, false]).unwrap(),
            0.875
        ));
        // A single class has no AUROC.
        assert_eq!(auroc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auroc(&[], &[]), None);
        // 3 positives, 2 negatives, scikit-learn: roc_auc_score([0,1,1,0,1],[.2,.6,.4,.5,.9]) = 5/6.
        assert!(close(
            auroc(
                &[0.2, 0.6, 0.4, 0.5, 0.9],
                &[false, true, true, false, true]
            )
            .unwrap(),
            5.0 / 6.0
        ));
    }

    #[test]
    fn roc_curve_corners_and_ties() {
        let roc = roc_curve(&[2.0, 1.0, 1.0, 0.0], &[true, true, false, false]);
        let pts: Vec<(f64, f64)> = roc.iter().map(|p| (p.fpr, p.tpr)).collect();
        assert_eq!(pts, [(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        assert_eq!(roc[0].threshold, f64::INFINITY);
        assert_eq!(roc[2].threshold, 1.0);
        // NaN scores are flagged first (as +∞).
        let roc = roc_curve(&[f64::NAN, 0.5], &[false, true]);
        assert_eq!(roc[1].fpr, 1.0);
        assert_eq!(auroc(&[f64::NAN, 0.5], &[false, true]), Some(0.0));
    }

    #[test]
    fn precision_recall_at_a_threshold() {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.7];
        let labels = [false, false, true, true, false];
        let c = confusion_at(&scores, &labels, 0.4);
        assert_eq!((c.tp, c.fp, c.tn, c.fn_), (1, 2, 1, 1));
        assert!(close(c.precision(), 1.0 / 3.0));
        assert!(close(c.recall(), 0.5));
        assert!(close(c.false_positive_rate(), 2.0 / 3.0));
        assert!(close(c.f1(), 0.4));
        let none = confusion_at(&scores, &labels, 10.0);
        assert_eq!(none.precision(), 1.0);
        assert_eq!(none.recall(), 0.0);
    }

    #[test]
    fn error_maps_scores_and_pixel_auroc() {
        let input = Array4::<f32>::zeros((2, 2, 4, 4));
        let mut recon = Array4::<f32>::zeros((2, 2, 4, 4));
        // Image 1: one pixel off by 1 in one channel of two → error 0.5 there.
        recon[[1, 0, 2, 3]] = 1.0;
        let maps = error_maps(&input, &recon);
        assert_eq!(maps.shape(), &[2, 4, 4]);
        assert_eq!(maps[[1, 2, 3]], 0.5);
        assert_eq!(maps.sum(), 0.5);
        // No smoothing, top 1/16 = the single worst pixel.
        let opts = ScoreOptions {
            top_fraction: 1.0 / 16.0,
            smooth: 0,
        };
        assert_eq!(image_scores(&maps, opts), vec![0.0, 0.5]);
        // Top 2 pixels: (0.5 + 0) / 2.
        let opts2 = ScoreOptions {
            top_fraction: 2.0 / 16.0,
            smooth: 0,
        };
        assert_eq!(image_scores(&maps, opts2), vec![0.0, 0.25]);
        // Box blur radius 1 at a corner-adjacent pixel: (2,3) sees a 3×2 window → 0.5/6.
        let blurred = box_blur(maps.index_axis(Axis(0), 1), 1);
        assert!((blurred[[2, 3]] - 0.5 / 6.0).abs() < 1e-7);
        // Pixel AUROC: the mask marks the bad pixel → perfect; image 0 masked empty.
        let mut masks = Array4::<f32>::zeros((2, 1, 4, 4));
        masks[[1, 0, 2, 3]] = 1.0;
        assert_eq!(pixel_auroc(&maps, &masks, &[true, true]), Some(1.0));
        // Mask the wrong pixel: the defect pixel scores 0 like 30 others; the flagged
        // pixel (normal) is above all: 0 wins, 30 ties → 15/31... check by hand:
        masks[[1, 0, 2, 3]] = 0.0;
        masks[[1, 0, 0, 0]] = 1.0;
        let a = pixel_auroc(&maps, &masks, &[true, true]).unwrap();
        assert!(close(a, 15.0 / 31.0), "{a}");
        assert_eq!(pixel_auroc(&maps, &masks, &[true, false]), None);
    }

    #[test]
    fn report_uses_only_labelled_images() {
        let input = Array4::<f32>::zeros((3, 1, 2, 2));
        let mut recon = Array4::<f32>::zeros((3, 1, 2, 2));
        recon[[1, 0, 0, 0]] = 1.0;
        recon[[2, 0, 0, 0]] = 2.0;
        let masks = Array4::<f32>::zeros((3, 1, 2, 2));
        let opts = ScoreOptions {
            top_fraction: 0.25,
            smooth: 0,
        };
        let r = anomaly_report(
            &input,
            &recon,
            &[Some(false), Some(true), None],
            &masks,
            &[true, false, false],
            opts,
        );
        assert_eq!(r.scores, vec![0.0, 1.0, 4.0]);
        assert_eq!(r.auroc, Some(1.0));
        assert_eq!(r.pixel_auroc, None);
    }

    #[test]
    fn iou_dice_by_hand() {
        // truth: 0 0 1 1 | 2 2 2 0   pred: 0 1 1 1 | 2 2 0 0
        let truth = Array3::from_shape_vec((1, 2, 4), vec![0, 0, 1, 1, 2, 2, 2, 0]).unwrap();
        let pred = Array3::from_shape_vec((1, 2, 4), vec![0, 1, 1, 1, 2, 2, 0, 0]).unwrap();
        let m = confusion_matrix(&pred, &truth, 4);
        // class 0: tp 2 (pix 0, 7), fp 1 (pix 6), fn 1 (pix 1) → 2/4; dice 4/6.
        // class 1: tp 2, fp 1, fn 0 → 2/3; dice 4/5.  class 2: tp 2, fn 1 → 2/3; dice 4/5.
        // class 3: absent → None.
        let iou = m.iou();
        assert_eq!(iou[0], Some(0.5));
        assert!(close(iou[1].unwrap(), 2.0 / 3.0));
        assert!(close(iou[2].unwrap(), 2.0 / 3.0));
        assert_eq!(iou[3], None);
        assert!(close(m.mean_iou(), (0.5 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0));
        let dice = m.dice();
        assert!(close(dice[0].unwrap(), 4.0 / 6.0));
        assert!(close(dice[1].unwrap(), 0.8));
        assert!(close(m.pixel_accuracy(), 6.0 / 8.0));
    }

    #[test]
    fn binary_logits_thresholds_and_set_scores() {
        let logits = Array4::from_shape_vec((1, 1, 1, 4), vec![-2.0f32, -0.1, 0.1, 3.0]).unwrap();
        let p = predicted_classes(&logits, 0.5);
        assert_eq!(p.iter().copied().collect::<Vec<_>>(), [0, 0, 1, 1]);
        // sigmoid(0.1) ≈ 0.525 < 0.6; sigmoid(3) ≈ 0.95.
        let p = predicted_classes(&logits, 0.6);
        assert_eq!(p.iter().copied().collect::<Vec<_>>(), [0, 0, 0, 1]);
        let targets = Array4::from_shape_vec((1, 1, 1, 4), vec![0.0f32, 1.0, 1.0, 1.0]).unwrap();
        let (all, per) = segmentation_scores(&logits, &targets, 0.5);
        // fg: tp 2, fn 1 → 2/3; bg: tp 1, fp 1 → 1/2.
        assert!(close(all.foreground_iou.unwrap(), 2.0 / 3.0));
        assert!(close(all.mean_iou, (2.0 / 3.0 + 0.5) / 2.0));
        assert_eq!(per.len(), 1);
        let o = outcomes(
            &predicted_classes(&logits, 0.5),
            &target_classes(&targets),
            1,
        );
        assert_eq!(o[[0, 0, 1]], PixelOutcome::FalseNegative);
        assert_eq!(o[[0, 0, 0]], PixelOutcome::TrueNegative);
        assert_eq!(o[[0, 0, 3]], PixelOutcome::TruePositive);
    }
}
