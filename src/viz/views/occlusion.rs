//! The occlusion view (Zeiler and Fergus 2014): a grey square slides over the input and the
//! model's probability of one class is measured at every position. Where covering the image
//! lowers that probability, the model was looking; where it raises it, the covered part
//! spoke against the class. Unlike saliency it needs no gradient, only forward passes, so
//! it shows what the model does when a part of the image is really gone.

use ndarray::{Array2, Array4, Axis, s};

use crate::engine::{Graph, Mode, Tensor};
use crate::inspect::prediction::softmax;
use crate::viz::draw::{BACKGROUND, INK, captioned, hstack, padded, vstack};
use crate::viz::maps::heat_tile;
use crate::viz::overlay::{auto_zoom, dimmed, heatmap_overlay, input_image};
use crate::viz::scale::{Palette, ValueScale, fmt_value, legend};
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

/// Occluded copies run through the model at once.
const BATCH: usize = 64;
const TS: usize = 2;

/// What sliding the square measured.
#[derive(Clone, Debug)]
pub struct Occlusion {
    pub class: usize,
    /// The class's probability on the whole image (its score for a one-output model).
    pub probability: f32,
    /// Per input pixel `[h, w]`: the drop in probability, averaged over every position of
    /// the square that covered the pixel.
    pub drop: Array2<f32>,
    /// The square's side and step in input pixels.
    pub side: usize,
    pub stride: usize,
    /// The grey it is filled with: the image's own mean value.
    pub fill: f32,
}

/// The square's side for an `h × w` input: a quarter of the shorter side, at least 2
/// pixels; it moves by half its side.
pub fn default_square(h: usize, w: usize) -> (usize, usize) {
    let side = (h.min(w) / 4).max(2).min(h.min(w).max(1));
    (side, (side / 2).max(1))
}

/// The top-left corners along one axis of length `n`: every `stride`, and the last one
/// flush with the border so the whole image is covered.
fn starts(n: usize, side: usize, stride: usize) -> Vec<usize> {
    let last = n.saturating_sub(side);
    let mut v: Vec<usize> = (0..=last).step_by(stride.max(1)).collect();
    if v.last() != Some(&last) {
        v.push(last);
    }
    v
}

/// The probability of `class` for every sample of `x` (softmax over the output channels,
/// spatial outputs summed first); a one-output model gives its score as it is.
fn class_probabilities(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    class: usize,
) -> Result<Vec<f32>, VizError> {
    let y = graph.forward(x, Mode::Eval)?;
    let scores = y.sum_axis(Axis(3)).sum_axis(Axis(2));
    let k = scores.shape()[1];
    if class >= k {
        return Err(VizError::BadOption(format!(
            "class {class} does not exist: the model has {k} outputs"
        )));
    }
    Ok(scores
        .outer_iter()
        .map(|row| {
            if k == 1 {
                row[0]
            } else {
                softmax(&row.to_vec())[class]
            }
        })
        .collect())
}

/// Slides a `side × side` square of the image's mean value over `x` (`[1, c, h, w]`) in
/// steps of `stride` and measures the drop in `class`'s probability.
pub fn compute(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    class: usize,
    side: usize,
    stride: usize,
) -> Result<Occlusion, VizError> {
    let (n, c, h, w) = x.dim();
    if n != 1 || h == 0 || w == 0 {
        return Err(VizError::BadOption(format!(
            "occlusion takes one image, got input {:?}",
            x.shape()
        )));
    }
    let side = side.clamp(1, h.min(w));
    let whole = class_probabilities(graph, x, class)?[0];
    let fill = x.mean().unwrap_or(0.0);
    let corners: Vec<(usize, usize)> = starts(h, side, stride)
        .into_iter()
        .flat_map(|i| starts(w, side, stride).into_iter().map(move |j| (i, j)))
        .collect();
    let mut sum = Array2::<f32>::zeros((h, w));
    let mut count = Array2::<f32>::zeros((h, w));
    for chunk in corners.chunks(BATCH) {
        let mut batch = Array4::<f32>::zeros((chunk.len(), c, h, w));
        for (b, &(i, j)) in chunk.iter().enumerate() {
            let mut copy = batch.index_axis_mut(Axis(0), b);
            copy.assign(&x.index_axis(Axis(0), 0));
            copy.slice_mut(s![.., i..i + side, j..j + side]).fill(fill);
        }
        let probabilities = class_probabilities(graph, &batch, class)?;
        for (&(i, j), p) in chunk.iter().zip(probabilities) {
            let mut covered = sum.slice_mut(s![i..i + side, j..j + side]);
            covered += whole - p;
            count
                .slice_mut(s![i..i + side, j..j + side])
                .map_inplace(|k| *k += 1.0);
        }
    }
    let drop = ndarray::Zip::from(&sum)
        .and(&count)
        .map_collect(|&s, &k| if k > 0.0 { s / k } else { 0.0 });
    Ok(Occlusion {
        class,
        probability: whole,
        drop,
        side,
        stride,
        fill,
    })
}

/// Input, the drop over it and the drop alone (red: covering lowered the class's
/// probability; blue: raised it).
pub fn picture(x: &Tensor<f32>, occ: &Occlusion, class_name: &str, opacity: f32) -> Rgba {
    let (_, _, h, w) = x.dim();
    let zoom = auto_zoom(h, w, 256);
    let base = input_image(x, zoom);
    let scale = ValueScale::fit(occ.drop.iter(), Palette::Diverging);
    let over = heatmap_overlay(&dimmed(&base, 0.55), &occ.drop, &scale, opacity);
    let alone = heat_tile(occ.drop.view(), &scale, zoom);
    let class = if class_name == occ.class.to_string() {
        class_name.to_string()
    } else {
        format!("{} ({class_name})", occ.class)
    };
    let title = format!(
        "OCCLUSION for class {class}, probability {} on the whole image\n\
         a {side}×{side} square of the image's mean ({}) slides in steps of {}; each pixel: \
         the mean drop\nin probability while it was covered (red: the model needs it, blue: \
         it spoke against the class)",
        fmt_value(occ.probability, 3),
        fmt_value(occ.fill, 2),
        occ.stride,
        side = occ.side,
    );
    let row = hstack(
        &[
            captioned(&base, "input", TS, BACKGROUND),
            captioned(&over, "overlay", TS, BACKGROUND),
            captioned(&alone, "map", TS, BACKGROUND),
        ],
        8 * TS,
        BACKGROUND,
    );
    let body = vstack(
        &[
            text_image(&title, TS, INK, BACKGROUND, 0),
            row,
            legend(&scale, 260, 14, TS, "probability drop"),
        ],
        4 * TS,
        BACKGROUND,
    );
    padded(&body, 4 * TS, BACKGROUND)
}
