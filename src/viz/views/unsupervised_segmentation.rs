//! The unsupervised-segmentation view (autoassociation, after Gliszczyński 2018): an
//! autoencoder's encoder features of every pixel, clustered by k-means into k segments,
//! over the image; beside them the same k-means on the raw pixels (intensity, local mean
//! and local standard deviation), the baseline without the network. Where the data has
//! masks, segments are matched to classes (Hungarian matching) and coloured by their class,
//! with per-class and mean IoU. The maths is [`crate::inspect::unsupervised_segmentation`].

use ndarray::{Array3, Array4, Axis, s};

use crate::data::Dataset;
use crate::data::load::PixelClasses;
use crate::engine::Graph;
use crate::inspect::unsupervised_segmentation::{
    DEFAULT_WINDOW, MAX_K, MAX_WINDOW, Segmentation, default_nodes, encoder_features, raw_features,
    segment,
};
use crate::viz::draw::{
    BACKGROUND, INK, MUTED, blend, captioned, hstack, padded, swatches, vstack,
};
use crate::viz::overlay::{auto_zoom, input_image};
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

const TS: usize = 2;
/// The view segments the first this many validation images together (one k-means and one
/// matching for all of them).
pub const MAX_IMAGES: usize = 32;
/// k when neither the request nor the masks tell it.
pub const DEFAULT_K: usize = 3;
/// Segment and class colours (Okabe–Ito, then a few more).
pub const COLORS: [[u8; 3]; MAX_K] = [
    [230, 159, 0],
    [86, 180, 233],
    [0, 158, 115],
    [204, 121, 167],
    [240, 228, 66],
    [0, 114, 178],
    [213, 94, 0],
    [120, 120, 120],
    [150, 90, 40],
    [130, 60, 200],
    [40, 200, 200],
    [20, 20, 20],
];

/// What the view needs beyond the model and the images.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnsupOptions {
    /// The number of segments (default: the masks' classes, else [`DEFAULT_K`]).
    pub k: Option<usize>,
    /// The true class of every pixel of the validation set, when the data has masks
    /// ([`crate::data::load::pixel_classes`]).
    pub truth: Option<PixelClasses>,
    /// The seed of k-means' initialisation and pixel subsample.
    pub seed: u64,
    /// The side of the window the features are averaged over and the raw pixels' local
    /// statistics are taken in (default [`DEFAULT_WINDOW`]).
    pub window: Option<usize>,
    /// The preset's feature nodes (`[unsupervised_segmentation] nodes`), used when no node
    /// is picked; those the model no longer has are left out, and with none left the
    /// automatic choice ([`default_nodes`]) is used.
    pub nodes: Vec<String>,
}

/// Both segmentations of the first validation images.
#[derive(Clone, Debug)]
pub struct UnsupResult {
    pub inputs: Array4<f32>,
    /// The nodes whose features were clustered.
    pub nodes: Vec<String>,
    pub k: usize,
    pub window: usize,
    /// On the autoencoder's features, and on the raw pixels.
    pub features: Segmentation,
    pub raw: Segmentation,
    pub truth: Option<Array3<u8>>,
    pub names: Vec<String>,
}

/// Segments the first [`MAX_IMAGES`] images of `set` with the features of `node` (default:
/// the preset's `opts.nodes`, else [`default_nodes`], two depths of the encoder) and with
/// the raw pixels.
pub fn compute(
    graph: &mut Graph<f32>,
    set: &Dataset,
    node: Option<&str>,
    opts: &UnsupOptions,
) -> Result<UnsupResult, VizError> {
    let n = set.len().min(MAX_IMAGES);
    if n == 0 {
        return Err(VizError::UnsuitedData("the validation set is empty".into()));
    }
    let inputs = set.inputs.slice(s![0..n, .., .., ..]).to_owned();
    let (h, w) = (inputs.shape()[2], inputs.shape()[3]);
    let chosen: Vec<String> = opts
        .nodes
        .iter()
        .filter(|n| graph.index_of(n).is_some())
        .cloned()
        .collect();
    let nodes = match node {
        Some(name) => vec![name.to_string()],
        None if !chosen.is_empty() => chosen,
        None => default_nodes(graph),
    };
    if nodes.is_empty() {
        return Err(VizError::UnsuitedModel(
            "the model has no spatial encoder node to take features from: pick one".into(),
        ));
    }
    // The masks, when they are of these images.
    let (truth, names) = match &opts.truth {
        Some(t) if t.classes.shape()[0] >= n && t.classes.shape()[1..] == [h, w] => (
            Some(t.classes.slice(s![0..n, .., ..]).to_owned()),
            t.names.clone(),
        ),
        _ => (None, Vec::new()),
    };
    let classes = names.len();
    let k = opts
        .k
        .unwrap_or(if classes >= 2 { classes } else { DEFAULT_K })
        .clamp(2, MAX_K);
    let with_truth = truth.as_ref().map(|t| (t, classes));
    let window = opts.window.unwrap_or(DEFAULT_WINDOW).clamp(1, MAX_WINDOW);
    let feats = encoder_features(graph, &inputs, &nodes)?.smoothed(window);
    let features = segment(feats, k, opts.seed, with_truth)?;
    let raw = segment(raw_features(&inputs, window), k, opts.seed, with_truth)?;
    Ok(UnsupResult {
        inputs,
        nodes,
        k,
        window,
        features,
        raw,
        truth,
        names,
    })
}

/// The colour of each segment: its matched class's colour, else one no class uses.
fn segment_colors(seg: &Segmentation, k: usize, classes: usize) -> Vec<[u8; 3]> {
    match &seg.scores {
        Some(sc) => {
            let mut spare = classes;
            (0..k)
                .map(|sg| match sc.class_of_segment.get(sg).copied().flatten() {
                    Some(c) => COLORS[c % MAX_K],
                    None => {
                        spare += 1;
                        COLORS[(spare - 1) % MAX_K]
                    }
                })
                .collect()
        }
        None => (0..k).map(|sg| COLORS[sg % MAX_K]).collect(),
    }
}

/// `labels` (`h×w`) painted over `base` in `colors` at `opacity`.
fn paint(
    base: &Rgba,
    labels: ndarray::ArrayView2<'_, u8>,
    colors: &[[u8; 3]],
    opacity: f32,
) -> Rgba {
    let mut out = base.clone();
    let (h, w) = labels.dim();
    if h == 0 || w == 0 {
        return out;
    }
    let a = (opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
    for y in 0..out.height {
        let i = (y * h / out.height.max(1)).min(h - 1);
        for x in 0..out.width {
            let j = (x * w / out.width.max(1)).min(w - 1);
            let [r, g, b] = colors[labels[[i, j]] as usize % colors.len()];
            blend(&mut out, x as i64, y as i64, [r, g, b, a]);
        }
    }
    out
}

fn iou_line(what: &str, seg: &Segmentation, names: &[String]) -> String {
    match &seg.scores {
        Some(sc) => {
            let per: Vec<String> = sc
                .iou
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    let name = names.get(c).map_or("?", String::as_str);
                    v.map_or(format!("{name} n/a"), |v| format!("{name} {v:.3}"))
                })
                .collect();
            format!(
                "{what}: mean IoU {:.3} · pixel accuracy {:.3} · {}",
                sc.mean_iou,
                sc.pixel_accuracy,
                per.join(" · ")
            )
        }
        None => format!(
            "{what}: {} k-means iterations (no masks: no IoU)",
            seg.kmeans.iterations
        ),
    }
}

/// The picture: the scores, then for image `sample` (or the first three) the input, the
/// truth, the autoencoder's segments and the raw-pixel segments over it.
pub fn picture(r: &UnsupResult, sample: Option<usize>) -> Result<Rgba, VizError> {
    let n = r.inputs.shape()[0];
    let picks: Vec<usize> = match sample {
        Some(k) if k >= n => {
            return Err(VizError::BadOption(format!(
                "sample {k} is out of range: the view segments the first {n} images"
            )));
        }
        Some(k) => vec![k],
        None => (0..n.min(3)).collect(),
    };
    let classes = r.names.len();
    let feat_colors = segment_colors(&r.features, r.k, classes);
    let raw_colors = segment_colors(&r.raw, r.k, classes);
    let class_colors: Vec<[u8; 3]> = (0..classes.max(1)).map(|c| COLORS[c % MAX_K]).collect();
    let mut parts = vec![
        text_image(
            &format!(
                "UNSUPERVISED SEGMENTATION: k-means, k = {}, over {n} validation images (one clustering for all); features averaged over {w}x{w} pixels",
                r.k,
                w = r.window
            ),
            TS,
            INK,
            BACKGROUND,
            0,
        ),
        text_image(
            &iou_line(
                &format!(
                    "autoencoder features ({}, {w}x{w} mean)",
                    r.nodes.join(" + "),
                    w = r.window
                ),
                &r.features,
                &r.names,
            ),
            TS,
            INK,
            BACKGROUND,
            0,
        ),
        text_image(
            &iou_line(
                &format!("raw pixels (intensity, {w}x{w} mean and std)", w = r.window),
                &r.raw,
                &r.names,
            ),
            TS,
            INK,
            BACKGROUND,
            0,
        ),
    ];
    for &k in &picks {
        let x = r.inputs.slice(s![k..k + 1, .., .., ..]).to_owned();
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let zoom = auto_zoom(h, w, 200);
        let base = input_image(&x, zoom);
        let mut panels = vec![captioned(&base, &format!("image {k}"), TS, BACKGROUND)];
        if let Some(t) = &r.truth {
            panels.push(captioned(
                &paint(&base, t.index_axis(Axis(0), k), &class_colors, 0.6),
                "ground truth",
                TS,
                BACKGROUND,
            ));
        }
        panels.push(captioned(
            &paint(
                &base,
                r.features.segments.index_axis(Axis(0), k),
                &feat_colors,
                0.6,
            ),
            "autoencoder segments",
            TS,
            BACKGROUND,
        ));
        panels.push(captioned(
            &paint(
                &base,
                r.raw.segments.index_axis(Axis(0), k),
                &raw_colors,
                0.6,
            ),
            "raw-pixel segments",
            TS,
            BACKGROUND,
        ));
        parts.push(hstack(&panels, 16, BACKGROUND));
    }
    if classes > 0 {
        let items: Vec<([u8; 3], &str)> = r
            .names
            .iter()
            .enumerate()
            .map(|(c, name)| (COLORS[c % MAX_K], name.as_str()))
            .collect();
        parts.push(swatches(&items, TS));
        parts.push(text_image(
            "Segments are matched to classes by the Hungarian algorithm (most pixels in common), \
             IoU = overlap / union",
            TS,
            MUTED,
            BACKGROUND,
            0,
        ));
    } else {
        parts.push(text_image(
            "No masks: segments are coloured by their k-means index",
            TS,
            MUTED,
            BACKGROUND,
            0,
        ));
    }
    Ok(padded(&vstack(&parts, 18, BACKGROUND), 12, BACKGROUND))
}

/// The view as `convlab render` draws it.
pub fn render(
    graph: &mut Graph<f32>,
    set: &Dataset,
    node: Option<&str>,
    opts: &UnsupOptions,
    sample: Option<usize>,
) -> Result<Rgba, VizError> {
    let r = compute(graph, set, node, opts)?;
    picture(&r, sample)
}
