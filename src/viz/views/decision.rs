//! The decision view: what the model does with every point of its input space, computed
//! by real forward passes over a grid.
//!
//! - 2-D inputs (point sets such as xor, circles, spirals, blobs; input `[2, 1, 1]`): every
//!   pixel of the plane is one forward pass. A classifier's pixel takes the colour of the
//!   class it picks, paler the less sure it is (softmax probability); a single output is
//!   drawn on the diverging map (blue below zero, white at zero, red above). The training
//!   points lie on top as filled dots, the validation points as hollow ones, and a black
//!   ring marks every point the model gets wrong. When the data appends hand-made features
//!   (x², x·y, …; input `[2 + k, 1, 1]`), every pixel's point gets them too.
//! - 1-D inputs (a function to fit; input `[1, 1, 1]`): the model's curve over the data.
//!
//! Axes carry the input's values.

use ndarray::{Array4, Axis, s};

use crate::data::features::{InputFeature, in_channel_order, point_inputs};
use crate::data::{Dataset, Targets};
use crate::engine::{Graph, Mode};
use crate::viz::draw::{BACKGROUND, INK, MUTED, blit, disc, fill_rect, line, ring};
use crate::viz::scale::{Palette, ValueScale};
use crate::viz::text::{draw_text, text_height, text_image, text_width};
use crate::viz::{Rgba, VizError};

/// Okabe–Ito colours, one per class (repeating after eight classes).
pub const CLASS_COLORS: [[u8; 3]; 8] = [
    [0, 114, 178],
    [230, 159, 0],
    [0, 158, 115],
    [204, 121, 167],
    [213, 94, 0],
    [86, 180, 233],
    [240, 228, 66],
    [90, 90, 90],
];
/// Ring around a point the model gets wrong.
pub const WRONG: [u8; 4] = [0, 0, 0, 255];
/// The model's curve in the 1-D picture.
pub const CURVE: [u8; 4] = [213, 94, 0, 255];

/// Text scale of the picture.
pub(super) const TS: usize = 2;
/// Forward passes per batch.
const CHUNK: usize = 4096;

/// How the picture is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionOptions {
    /// Side of the plane in pixels (one forward pass per pixel); width of the 1-D plot.
    pub side: usize,
    /// Only which class (or which sign) the model gives, without its sureness.
    pub discrete: bool,
    /// The hand-made inputs the data appends after x and y: each point of the plane is fed
    /// to the model with them, as the data's points are.
    pub features: Vec<InputFeature>,
}

impl Default for DecisionOptions {
    fn default() -> Self {
        DecisionOptions {
            side: 320,
            discrete: false,
            features: Vec::new(),
        }
    }
}

/// Where the plot lies in the picture and which input values it spans.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotFrame {
    /// Top-left pixel of the plot area and its size.
    pub left: usize,
    pub top: usize,
    pub width: usize,
    pub height: usize,
    /// The values at the left and right edges, and at the bottom and top edges.
    pub x: (f64, f64),
    pub y: (f64, f64),
}

impl PlotFrame {
    /// The input value at the centre of plot pixel `(px, py)` (relative to the plot area).
    pub fn value_at(&self, px: usize, py: usize) -> (f64, f64) {
        let fx = (px as f64 + 0.5) / self.width as f64;
        let fy = (py as f64 + 0.5) / self.height as f64;
        (
            self.x.0 + fx * (self.x.1 - self.x.0),
            self.y.1 - fy * (self.y.1 - self.y.0),
        )
    }

    /// The picture position of value `(x, y)` (sub-pixel, in picture coordinates).
    pub fn position_of(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.left as f64 + (x - self.x.0) / (self.x.1 - self.x.0) * self.width as f64,
            self.top as f64 + (self.y.1 - y) / (self.y.1 - self.y.0) * self.height as f64,
        )
    }
}

/// The picture with its plot's geometry (tests and hover read values back).
#[derive(Clone, Debug)]
pub struct DecisionPicture {
    pub image: Rgba,
    pub frame: PlotFrame,
}

/// The colour of a region where the model picks `class` with `sureness` in [0, 1]
/// (0: no better than chance, 1: certain): the class colour over white.
pub fn region_color(class: usize, sureness: f32) -> [u8; 4] {
    let c = CLASS_COLORS[class % CLASS_COLORS.len()];
    let a = 0.15 + 0.6 * sureness.clamp(0.0, 1.0);
    let mix = |k: usize| (255.0 + (c[k] as f32 - 255.0) * a).round() as u8;
    [mix(0), mix(1), mix(2), 255]
}

/// The darker class colour of a data point.
pub(super) fn point_color(class: usize) -> [u8; 4] {
    let c = CLASS_COLORS[class % CLASS_COLORS.len()];
    [
        (c[0] as f32 * 0.7) as u8,
        (c[1] as f32 * 0.7) as u8,
        (c[2] as f32 * 0.7) as u8,
        255,
    ]
}

/// The model's outputs `[n, k]` for inputs `[n, c, 1, 1]`, in batches.
pub(super) fn outputs(
    graph: &mut Graph<f32>,
    x: &Array4<f32>,
) -> Result<ndarray::Array2<f32>, VizError> {
    let n = x.shape()[0];
    let mut parts = Vec::new();
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let chunk = x.slice(s![start..end, .., .., ..]).to_owned();
        let y = graph.forward(&chunk, Mode::Eval)?;
        if y.shape()[2] != 1 || y.shape()[3] != 1 {
            return Err(VizError::UnsuitedModel(format!(
                "the model's output is a map ({:?}); the decision view draws one value per class",
                &y.shape()[1..]
            )));
        }
        parts.push(y.index_axis(Axis(3), 0).index_axis(Axis(2), 0).to_owned());
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    Ok(ndarray::concatenate(Axis(0), &views)?)
}

/// Class and softmax probability of one row of scores.
pub(super) fn pick(scores: ndarray::ArrayView1<f32>) -> (usize, f32) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = scores.iter().map(|v| (v - max).exp()).sum();
    let (best, _) =
        scores.iter().enumerate().fold(
            (0, f32::NEG_INFINITY),
            |b, (k, &v)| if v > b.1 { (k, v) } else { b },
        );
    (best, 1.0 / sum)
}

/// The range of the data along one feature, widened by a tenth on each side.
pub(super) fn span(sets: &[&Dataset], feature: usize) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for set in sets {
        for &v in set.inputs.index_axis(Axis(1), feature).iter() {
            if v.is_finite() {
                lo = lo.min(v as f64);
                hi = hi.max(v as f64);
            }
        }
    }
    if lo > hi {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(0.1);
    (lo - pad, hi + pad)
}

/// Round tick values inside `(lo, hi)`: steps of 1, 2 or 5 times a power of ten.
fn ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let raw = (hi - lo) / 4.0;
    if raw.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !raw.is_finite() {
        return (vec![lo], 0);
    }
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    ((first..=last).map(|i| i as f64 * step).collect(), decimals)
}

/// Frame, tick marks and tick values around the plot area.
pub(super) fn axes(img: &mut Rgba, f: &PlotFrame, x_name: &str, y_name: &str) {
    let (l, t, w, h) = (f.left as i64, f.top as i64, f.width, f.height);
    fill_rect(img, l - 1, t - 1, w + 2, 1, MUTED);
    fill_rect(img, l - 1, t + h as i64, w + 2, 1, MUTED);
    fill_rect(img, l - 1, t - 1, 1, h + 2, MUTED);
    fill_rect(img, l + w as i64, t - 1, 1, h + 2, MUTED);
    let (xs, xd) = ticks(f.x.0, f.x.1);
    for v in xs {
        let (px, _) = f.position_of(v, f.y.0);
        let px = px.round() as i64;
        fill_rect(img, px, t + h as i64, 1, 6, MUTED);
        let label = format!("{v:.xd$}");
        let lw = text_width(&label, TS) as i64;
        draw_text(img, px - lw / 2, t + h as i64 + 9, &label, TS, INK);
    }
    let (ys, yd) = ticks(f.y.0, f.y.1);
    for v in ys {
        let (_, py) = f.position_of(f.x.0, v);
        let py = py.round() as i64;
        fill_rect(img, l - 6, py, 6, 1, MUTED);
        let label = format!("{v:.yd$}");
        let lw = text_width(&label, TS) as i64;
        let lh = text_height(&label, TS) as i64;
        draw_text(img, l - 9 - lw, py - lh / 2, &label, TS, INK);
    }
    let below = t + h as i64 + 12 + text_height("0", TS) as i64;
    let nw = text_width(x_name, TS) as i64;
    draw_text(img, l + w as i64 / 2 - nw / 2, below, x_name, TS, MUTED);
    draw_text(
        img,
        0,
        t - 6 - text_height(y_name, TS) as i64,
        y_name,
        TS,
        MUTED,
    );
}

/// A canvas with room for the title above, the axes' values around the plot and `below`
/// under it; returns the canvas and the plot's frame (values not yet set).
pub(super) fn canvas(title: &Rgba, below: &Rgba, width: usize, height: usize) -> (Rgba, PlotFrame) {
    let label_w = text_width("-0.00", TS) + 12;
    let top = title.height + 14 + text_height("y", TS) + 8;
    let plot_bottom = top + height + 12 + 2 * text_height("0", TS) + 8;
    let w = (label_w + width + 24).max(title.width).max(below.width);
    let mut img = Rgba::new(w, plot_bottom + 10 + below.height, BACKGROUND);
    blit(&mut img, title, 0, 0);
    blit(&mut img, below, 0, (plot_bottom + 10) as i64);
    let frame = PlotFrame {
        left: label_w,
        top,
        width,
        height,
        x: (0.0, 1.0),
        y: (0.0, 1.0),
    };
    (img, frame)
}

/// The data sets' points, each `(x, y, class or target value, validation?)`.
pub(super) struct Points {
    pub(super) xs: Vec<[f32; 2]>,
    pub(super) labels: Vec<Option<usize>>,
    pub(super) values: Vec<Option<f32>>,
    pub(super) validation: Vec<bool>,
}

pub(super) fn points(train: &Dataset, val: &Dataset, features: usize) -> Points {
    let mut p = Points {
        xs: Vec::new(),
        labels: Vec::new(),
        values: Vec::new(),
        validation: Vec::new(),
    };
    for (set, is_val) in [(train, false), (val, true)] {
        for k in 0..set.len() {
            let x = set.inputs[[k, 0, 0, 0]];
            let y = if features > 1 {
                set.inputs[[k, 1, 0, 0]]
            } else {
                0.0
            };
            p.xs.push([x, y]);
            match &set.targets {
                Targets::Labels(l) => {
                    p.labels.push(l.get(k).copied());
                    p.values.push(None);
                }
                Targets::Dense(t) => {
                    p.labels.push(None);
                    p.values.push(t.get([k, 0, 0, 0]).copied());
                }
            }
            p.validation.push(is_val);
        }
    }
    p
}

/// The model's inputs at the points `xs` of the plane: x, y and the hand-made features.
fn plane_inputs(xs: &[[f32; 2]], features: &[InputFeature]) -> Array4<f32> {
    let channels = 2 + in_channel_order(features).len();
    let mut inputs = Array4::zeros((xs.len(), channels, 1, 1));
    for (i, &[x, y]) in xs.iter().enumerate() {
        for (c, v) in point_inputs(x, y, features).into_iter().enumerate() {
            inputs[[i, c, 0, 0]] = v;
        }
    }
    inputs
}

pub(super) fn as_inputs(xs: &[[f32; 2]], features: usize) -> Array4<f32> {
    Array4::from_shape_fn((xs.len(), features, 1, 1), |(i, c, _, _)| xs[i][c])
}

/// Renders the decision view of `graph` over `train` and `val`.
pub fn render(
    graph: &mut Graph<f32>,
    train: &Dataset,
    val: &Dataset,
    opts: &DecisionOptions,
) -> Result<DecisionPicture, VizError> {
    let input = graph.spec().input;
    let plane_channels = 2 + in_channel_order(&opts.features).len();
    match input {
        [c, 1, 1] if c == plane_channels => plane(graph, train, val, opts),
        [1, 1, 1] => curve(graph, train, val, opts),
        [c, 1, 1] if c > 2 => Err(VizError::UnsuitedModel(format!(
            "this model takes {c} inputs; the data gives x, y and {} hand-made features \
             (the decision view feeds the plane's points as the data's are)",
            plane_channels - 2
        ))),
        other => Err(VizError::UnsuitedModel(format!(
            "the decision view draws models of 2-D points or of one number (input [2, 1, 1] \
             or [1, 1, 1]); this model takes {other:?}"
        ))),
    }
}

fn plane(
    graph: &mut Graph<f32>,
    train: &Dataset,
    val: &Dataset,
    opts: &DecisionOptions,
) -> Result<DecisionPicture, VizError> {
    let side = opts.side.max(16);
    let x = span(&[train, val], 0);
    let y = span(&[train, val], 1);
    let pts = points(train, val, 2);
    // The model at every pixel centre of the plane, row by row from the top.
    let mut frame = PlotFrame {
        left: 0,
        top: 0,
        width: side,
        height: side,
        x,
        y,
    };
    let grid: Vec<[f32; 2]> = (0..side * side)
        .map(|i| {
            let (vx, vy) = frame.value_at(i % side, i / side);
            [vx as f32, vy as f32]
        })
        .collect();
    let out = outputs(graph, &plane_inputs(&grid, &opts.features))?;
    let classes = out.shape()[1];
    let at_points = outputs(graph, &plane_inputs(&pts.xs, &opts.features))?;
    let regression = classes == 1;
    let scale = ValueScale::fit(out.iter(), Palette::Diverging);
    let mut plot = Rgba::new(side, side, BACKGROUND);
    for (i, row) in out.outer_iter().enumerate() {
        let color = match (regression, opts.discrete) {
            (true, false) => scale.color(row[0]),
            (true, true) => scale.color(if row[0] >= 0.0 { scale.hi } else { scale.lo } * 0.6),
            (false, discrete) => {
                let (class, p) = pick(row);
                let chance = 1.0 / classes as f32;
                let sureness = if discrete {
                    1.0
                } else {
                    (p - chance) / (1.0 - chance)
                };
                region_color(class, sureness)
            }
        };
        let o = 4 * i;
        plot.pixels[o..o + 4].copy_from_slice(&color);
    }
    // Who the model gets wrong, and the validation accuracy for the title.
    let predicted: Vec<usize> = at_points.outer_iter().map(|r| pick(r).0).collect();
    let wrong: Vec<bool> = pts
        .labels
        .iter()
        .zip(&predicted)
        .map(|(l, p)| !regression && l.is_some_and(|l| l != *p))
        .collect();
    let names = if val.class_names.is_empty() {
        &train.class_names
    } else {
        &val.class_names
    };
    let summary = match (regression, val.is_empty()) {
        (false, false) => {
            let n_val = pts.validation.iter().filter(|v| **v).count().max(1);
            let right = (0..pts.xs.len())
                .filter(|&i| pts.validation[i] && !wrong[i])
                .count();
            format!(
                " · validation accuracy {:.1}%",
                100.0 * right as f64 / n_val as f64
            )
        }
        _ => String::new(),
    };
    let title = text_image(
        &format!(
            "DECISION REGIONS{summary}\n{} at every point of its input plane{}",
            if regression {
                "the model's output"
            } else {
                "the class the model picks"
            },
            if opts.discrete {
                " (discretised: sureness not shown)"
            } else {
                ""
            }
        ),
        TS,
        INK,
        BACKGROUND,
        0,
    );
    let legend = if regression {
        text_image(
            &format!(
                "blue: output below 0 · white: 0 · red: above (±{})\nfilled: training points · hollow: validation points",
                crate::viz::scale::fmt_value(scale.hi, 3)
            ),
            TS,
            MUTED,
            BACKGROUND,
            0,
        )
    } else {
        class_legend(classes, names)
    };
    let (mut img, at) = canvas(&title, &legend, side, side);
    frame.left = at.left;
    frame.top = at.top;
    blit(&mut img, &plot, frame.left as i64, frame.top as i64);
    axes(&mut img, &frame, "x (input 0)", "y (input 1)");
    for (i, &is_wrong) in wrong.iter().enumerate() {
        let (px, py) = frame.position_of(pts.xs[i][0] as f64, pts.xs[i][1] as f64);
        let color = match (pts.labels[i], pts.values[i]) {
            (Some(l), _) => point_color(l),
            (None, Some(v)) => scale.color(v),
            (None, None) => INK,
        };
        if pts.validation[i] {
            ring(&mut img, px, py, 4.5, 1.8, color);
        } else {
            disc(&mut img, px, py, 4.0, [255, 255, 255, 255]);
            disc(&mut img, px, py, 3.0, color);
        }
        if is_wrong {
            ring(&mut img, px, py, 7.5, 1.5, WRONG);
        }
    }
    Ok(DecisionPicture {
        image: crate::viz::draw::padded(&img, 8, BACKGROUND),
        frame: PlotFrame {
            left: frame.left + 8,
            top: frame.top + 8,
            ..frame
        },
    })
}

/// One swatch per class with its name, and what the point marks mean.
fn class_legend(classes: usize, names: &[String]) -> Rgba {
    let h = text_height("A", TS);
    let mut parts = Vec::new();
    for k in 0..classes {
        let name = names
            .get(k)
            .cloned()
            .unwrap_or_else(|| format!("class {k}"));
        let label = text_image(&name, TS, INK, BACKGROUND, 0);
        let mut sw = Rgba::new(h + 8 + label.width + 18, h, BACKGROUND);
        fill_rect(&mut sw, 0, 0, h, h, region_color(k, 1.0));
        blit(&mut sw, &label, (h + 8) as i64, 0);
        parts.push(sw);
    }
    let row = crate::viz::draw::hstack(&parts, 0, BACKGROUND);
    let note = text_image(
        "paler: less sure · black ring: misclassified\nfilled: training points · hollow: validation points",
        TS,
        MUTED,
        BACKGROUND,
        0,
    );
    crate::viz::draw::vstack(&[row, note], 8, BACKGROUND)
}

fn curve(
    graph: &mut Graph<f32>,
    train: &Dataset,
    val: &Dataset,
    opts: &DecisionOptions,
) -> Result<DecisionPicture, VizError> {
    let width = opts.side.max(16) * 3 / 2;
    let height = opts.side.max(16);
    let x = span(&[train, val], 0);
    let pts = points(train, val, 1);
    let xs: Vec<[f32; 2]> = (0..width)
        .map(|px| {
            let f = (px as f64 + 0.5) / width as f64;
            [(x.0 + f * (x.1 - x.0)) as f32, 0.0]
        })
        .collect();
    let out = outputs(graph, &as_inputs(&xs, 1))?;
    // The value range of the curves and the targets, widened a little.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in out
        .iter()
        .copied()
        .chain(pts.values.iter().flatten().copied())
    {
        if v.is_finite() {
            lo = lo.min(v as f64);
            hi = hi.max(v as f64);
        }
    }
    if lo > hi {
        (lo, hi) = (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(0.05);
    let title = text_image(
        "FUNCTION\nthe model's output over its input (line) and the data (points)",
        TS,
        INK,
        BACKGROUND,
        0,
    );
    let legend = text_image(
        "line: the model\nfilled: training points · hollow: validation points",
        TS,
        MUTED,
        BACKGROUND,
        0,
    );
    let (mut img, at) = canvas(&title, &legend, width, height);
    let frame = PlotFrame {
        x,
        y: (lo - pad, hi + pad),
        ..at
    };
    axes(&mut img, &frame, "x (input)", "model output");
    for i in 0..pts.xs.len() {
        let Some(v) = pts.values[i] else { continue };
        let (px, py) = frame.position_of(pts.xs[i][0] as f64, v as f64);
        if pts.validation[i] {
            ring(&mut img, px, py, 3.5, 1.4, MUTED);
        } else {
            disc(&mut img, px, py, 2.5, [86, 180, 233, 255]);
        }
    }
    for (k, output) in out.axis_iter(Axis(1)).enumerate() {
        let color = if k == 0 { CURVE } else { point_color(k) };
        let mut last: Option<(i64, i64)> = None;
        for (px, &v) in output.iter().enumerate() {
            if !v.is_finite() {
                last = None;
                continue;
            }
            let (_, py) = frame.position_of(frame.x.0, v as f64);
            let here = ((frame.left + px) as i64, py.round() as i64);
            if let Some(from) = last {
                line(&mut img, from, here, 2, color);
            }
            last = Some(here);
        }
    }
    Ok(DecisionPicture {
        image: crate::viz::draw::padded(&img, 8, BACKGROUND),
        frame: PlotFrame {
            left: frame.left + 8,
            top: frame.top + 8,
            ..frame
        },
    })
}
