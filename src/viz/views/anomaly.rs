//! The anomaly view: an autoencoder trained on normal images only reconstructs them well
//! and fails on defects. [`compute`] runs the model over the anomaly test set and scores
//! every image by its reconstruction error (the maths is [`crate::inspect::anomaly`]);
//! [`anomaly_image`] draws input, reconstruction, error heatmap and error over the input
//! (true defect outlined) for a few images, with the set's AUROCs and a score histogram.

use ndarray::{Array2, Array4, Axis, s};

use crate::data::textures::AnomalyTest;
use crate::engine::{Graph, Mode};
use crate::inspect::anomaly::{AnomalyReport, ScoreOptions, anomaly_report};
use crate::viz::draw::{
    BACKGROUND, INK, MUTED, blend, captioned, enlarge, fill_rect, hstack, padded, swatches, vstack,
};
use crate::viz::overlay::{auto_zoom, heatmap_overlay};
use crate::viz::scale::{Palette, ValueScale, legend};
use crate::viz::text::{draw_text, text_image, text_width};
use crate::viz::{Colormap, Rgba, VizError, sample_rgba};

/// Outline of the true defect on anomaly maps.
pub const MASK_OUTLINE: [u8; 4] = [255, 40, 40, 255];

const TS: usize = 2;
/// Test images per forward pass.
const BATCH: usize = 32;

/// The model's reconstructions of the test images and the scores made from them.
#[derive(Clone, Debug)]
pub struct Reconstruction {
    /// `[n, c, h, w]`, the shape of the test images.
    pub images: Array4<f32>,
    pub report: AnomalyReport,
}

/// Runs `graph` over every image of `test` and scores each by its reconstruction error.
pub fn compute(graph: &mut Graph<f32>, test: &AnomalyTest) -> Result<Reconstruction, VizError> {
    if test.is_empty() {
        return Err(VizError::UnsuitedData(
            "the anomaly test set is empty".into(),
        ));
    }
    let n = test.len();
    let mut parts: Vec<Array4<f32>> = Vec::new();
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let x = test.inputs.slice(s![start..end, .., .., ..]).to_owned();
        let y = graph.forward(&x, Mode::Eval)?;
        if y.shape() != x.shape() {
            return Err(VizError::UnsuitedModel(format!(
                "the model's output {:?} is not the shape of its input {:?}: the anomaly view needs an autoencoder",
                &y.shape()[1..],
                &x.shape()[1..]
            )));
        }
        parts.push(y.clone());
    }
    let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
    let images = ndarray::concatenate(Axis(0), &views)?;
    let report = anomaly_report(
        &test.inputs,
        &images,
        &test.anomalous,
        &test.masks,
        &test.has_mask,
        ScoreOptions::default(),
    );
    Ok(Reconstruction { images, report })
}

/// The view as `convlab render` draws it: test image `sample`, or one image of each
/// defect kind (up to three) and a normal one, flagged at the ROC corner with the best
/// Youden J (TPR − FPR).
pub fn render(
    graph: &mut Graph<f32>,
    test: &AnomalyTest,
    sample: Option<usize>,
    opacity: f32,
    kl_weight: f64,
) -> Result<Rgba, VizError> {
    let recon = compute(graph, test)?;
    let report = &recon.report;
    let threshold = report
        .roc
        .iter()
        .filter(|p| p.threshold.is_finite())
        .max_by(|a, b| (a.tpr - a.fpr).total_cmp(&(b.tpr - b.fpr)))
        .map(|p| p.threshold);
    let n = test.len();
    let picks: Vec<usize> = match sample {
        Some(k) if k >= n => {
            return Err(VizError::BadOption(format!(
                "--sample {k} is out of range: the test set has {n} images"
            )));
        }
        Some(k) => vec![k],
        None => {
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
    let picture = anomaly_image(&AnomalyPicture {
        inputs: &test.inputs,
        reconstructions: &recon.images,
        masks: &test.masks,
        has_mask: &test.has_mask,
        labels: &test.anomalous,
        kinds: &test.kinds,
        names: &test.names,
        report,
        picks: &picks,
        threshold,
        opacity,
    })?;
    if !graph.has_sampling() {
        return Ok(picture);
    }
    // A VAE: the image AUROC by each of its scores, beside the one the picture uses.
    use crate::inspect::auroc_of;
    use crate::inspect::latent::{codes, negative_elbo, reconstruction_errors};
    let mse = reconstruction_errors(&test.inputs, &recon.images);
    let kl = codes(graph, &test.inputs)?.kl_per_image();
    let show = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{a:.3}"));
    let mut line = format!(
        "VAE scores, image AUROC: largest errors {} · per-image MSE {} · KL of the code {}",
        show(report.auroc),
        show(auroc_of(&mse, &test.anomalous)),
        show(auroc_of(&kl, &test.anomalous)),
    );
    if kl_weight > 0.0 {
        let elbo = negative_elbo(&mse, &kl, kl_weight);
        line.push_str(&format!(
            " · negative ELBO (MSE + {kl_weight}·KL) {}",
            show(auroc_of(&elbo, &test.anomalous))
        ));
    }
    let text = crate::viz::text::text_image(
        &line,
        2,
        crate::viz::draw::INK,
        crate::viz::draw::BACKGROUND,
        0,
    );
    let text = crate::viz::draw::padded(&text, 8, crate::viz::draw::BACKGROUND);
    Ok(crate::viz::draw::vstack(
        &[picture, text],
        0,
        crate::viz::draw::BACKGROUND,
    ))
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
        (w - text_width(&hi_s, TS)) as i64,
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
pub fn anomaly_image(p: &AnomalyPicture<'_>) -> Result<Rgba, VizError> {
    let n = p.inputs.shape()[0];
    if n == 0 || p.reconstructions.shape() != p.inputs.shape() {
        return Err(VizError::Picture(
            "the anomaly view needs test images and their reconstructions".into(),
        ));
    }
    if p.report.maps.shape()[0] != n || p.report.scores.len() != n {
        return Err(VizError::Picture(
            "the anomaly report does not match the test images".into(),
        ));
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
            swatches(
                &[
                    ([86, 180, 233], "normal"),
                    ([230, 159, 0], "anomalous"),
                    ([200, 40, 40], "threshold"),
                ],
                TS,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::draw::pixel;

    fn gray(w: usize, h: usize) -> Rgba {
        Rgba::new(w, h, [100, 100, 100, 255])
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
