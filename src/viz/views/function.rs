//! The function view: a model of one number (input `[1, 1, 1]`) drawn as its curve over
//! the data, and — when its last layer is a dense layer with one output reading a hidden
//! layer — every hidden unit's share of the fit: output weight × the unit's output, a thin
//! curve each. These shares and the output bias add up to the fit (universal approximation
//! made visible: one sigmoid unit is one soft step, two make a bump).

use ndarray::{Array4, Axis};

use super::decision::{CURVE, DecisionPicture, PlotFrame, TS, axes, canvas, outputs, points, span};
use super::dense_net::stages;
use crate::data::Dataset;
use crate::engine::{Graph, Mode};
use crate::viz::draw::{BACKGROUND, INK, MUTED, disc, fill_rect, line, ring};
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

/// How the picture is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionOptions {
    /// The plot's width in pixels (one forward pass per column) and its height.
    pub width: usize,
    pub height: usize,
}

impl Default for FunctionOptions {
    fn default() -> Self {
        FunctionOptions {
            width: 480,
            height: 320,
        }
    }
}

/// The fit split into the hidden units' shares, at the inputs `xs`.
#[derive(Clone, Debug, PartialEq)]
pub struct Contributions {
    /// The hidden node whose units are summed (after their activation).
    pub hidden: String,
    /// The model's output at each x.
    pub fit: Vec<f32>,
    /// `units[j][i]`: output weight j × unit j's output at x i.
    pub units: Vec<Vec<f32>>,
    /// The output layer's bias (0 without one).
    pub bias: f32,
}

/// The thin curves' colour: one hue per unit, light enough to leave the fit in front.
fn unit_color(j: usize) -> [u8; 4] {
    const HUES: [[u8; 3]; 6] = [
        [0, 114, 178],
        [0, 158, 115],
        [204, 121, 167],
        [86, 180, 233],
        [230, 159, 0],
        [120, 120, 120],
    ];
    let [r, g, b] = HUES[j % HUES.len()];
    [r, g, b, 200]
}

/// The model's output at `xs` (one number in, one or more out: the first output), and,
/// for a last dense layer with one output reading a hidden layer, the units' shares.
pub fn contributions(
    graph: &mut Graph<f32>,
    xs: &[f32],
) -> Result<Option<Contributions>, VizError> {
    let spec = graph.spec().clone();
    let Ok(stages) = stages(&spec) else {
        return Ok(None);
    };
    let [.., hidden, last] = stages.as_slice() else {
        return Ok(None);
    };
    if last.units != 1 || last.members.len() != 1 {
        return Ok(None);
    }
    let x = Array4::from_shape_fn((xs.len(), 1, 1, 1), |(i, _, _, _)| xs[i]);
    let y = graph.forward(&x, Mode::Eval)?;
    let fit: Vec<f32> = y.iter().copied().collect();
    let h = graph
        .output(&hidden.output)
        .ok_or_else(|| VizError::UnsuitedModel(format!("no output of '{}'", hidden.output)))?;
    let w = graph
        .param(&format!("{}.weight", last.dense))
        .ok_or_else(|| VizError::UnsuitedModel(format!("'{}' has no weight", last.dense)))?
        .value
        .clone();
    let bias = graph
        .param(&format!("{}.bias", last.dense))
        .map_or(0.0, |b| b.value.iter().copied().next().unwrap_or(0.0));
    let units = (0..hidden.units)
        .map(|j| {
            let wj = w[[0, j]];
            h.index_axis(Axis(1), j).iter().map(|a| wj * a).collect()
        })
        .collect();
    Ok(Some(Contributions {
        hidden: hidden.output.clone(),
        fit,
        units,
        bias,
    }))
}

/// A curve of `values` (one per plot column), cut where it leaves the plot.
fn curve(img: &mut Rgba, f: &PlotFrame, values: &[f32], t: usize, color: [u8; 4]) {
    let mut last: Option<(i64, i64)> = None;
    for (px, &v) in values.iter().enumerate() {
        let v = v as f64;
        if !v.is_finite() || v < f.y.0 || v > f.y.1 {
            last = None;
            continue;
        }
        let (_, py) = f.position_of(f.x.0, v);
        let here = (
            (f.left + px) as i64,
            (py.round() as i64).min((f.top + f.height) as i64 - 1),
        );
        if let Some(from) = last {
            line(img, from, here, t, color);
        }
        last = Some(here);
    }
}

/// Renders the function view of `graph` (input `[1, 1, 1]`) over `train` and `val`.
pub fn render(
    graph: &mut Graph<f32>,
    train: &Dataset,
    val: &Dataset,
    opts: &FunctionOptions,
) -> Result<DecisionPicture, VizError> {
    let input = graph.spec().input;
    if input != [1, 1, 1] {
        return Err(VizError::UnsuitedModel(format!(
            "the function view draws models of one number (input [1, 1, 1]); this model \
             takes {input:?} (2-D points: see the decision view)"
        )));
    }
    let (width, height) = (opts.width.max(16), opts.height.max(16));
    let x = span(&[train, val], 0);
    let pts = points(train, val, 1);
    let xs: Vec<f32> = (0..width)
        .map(|px| (x.0 + (px as f64 + 0.5) / width as f64 * (x.1 - x.0)) as f32)
        .collect();
    let shares = contributions(graph, &xs)?;
    let fit: Vec<f32> = match &shares {
        Some(c) => c.fit.clone(),
        None => {
            let input = Array4::from_shape_fn((xs.len(), 1, 1, 1), |(i, _, _, _)| xs[i]);
            outputs(graph, &input)?
                .index_axis(Axis(1), 0)
                .iter()
                .copied()
                .collect()
        }
    };
    // The value range of the fit and the targets, widened to show the shares but never
    // more than three times as tall (larger shares leave the frame, cut).
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in fit.iter().chain(pts.values.iter().flatten()) {
        if v.is_finite() {
            lo = lo.min(*v as f64);
            hi = hi.max(*v as f64);
        }
    }
    if lo > hi {
        (lo, hi) = (-1.0, 1.0);
    }
    let (mid, half) = ((lo + hi) / 2.0, ((hi - lo) / 2.0).max(0.05));
    if let Some(c) = &shares {
        for v in c.units.iter().flatten().chain([&c.bias]) {
            if v.is_finite() {
                lo = lo.min((*v as f64).max(mid - 3.0 * half));
                hi = hi.max((*v as f64).min(mid + 3.0 * half));
            }
        }
    }
    let pad = ((hi - lo) * 0.08).max(0.05);
    let title = match &shares {
        Some(c) => format!(
            "FUNCTION: {} hidden unit{} ({})\nthe fit (thick) = output bias (dashed) + the sum \
             of the units' shares\n(thin: output weight × unit output)",
            c.units.len(),
            if c.units.len() == 1 { "" } else { "s" },
            c.hidden
        ),
        None => "FUNCTION\nthe model's output over its input (line) and the data (points)".into(),
    };
    let title = text_image(&title, TS, INK, BACKGROUND, 0);
    let legend = text_image(
        "thick: the model · thin: one hidden unit's share each\nfilled: training points · hollow: validation points",
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
    // Zero, for reading the shares' signs.
    let (_, zero) = frame.position_of(frame.x.0, 0.0);
    if zero > frame.top as f64 && zero < (frame.top + frame.height) as f64 {
        fill_rect(
            &mut img,
            frame.left as i64,
            zero.round() as i64,
            frame.width,
            1,
            [200, 200, 200, 255],
        );
    }
    for i in 0..pts.xs.len() {
        let Some(v) = pts.values[i] else { continue };
        let (px, py) = frame.position_of(pts.xs[i][0] as f64, v as f64);
        if pts.validation[i] {
            ring(&mut img, px, py, 3.5, 1.4, MUTED);
        } else {
            disc(&mut img, px, py, 2.5, [150, 150, 150, 255]);
        }
    }
    if let Some(c) = &shares {
        let (_, by) = frame.position_of(frame.x.0, c.bias as f64);
        if by >= frame.top as f64 && by < (frame.top + frame.height) as f64 {
            for px in (0..frame.width).step_by(8) {
                fill_rect(
                    &mut img,
                    (frame.left + px) as i64,
                    by.round() as i64,
                    4,
                    1,
                    INK,
                );
            }
        }
        for (j, share) in c.units.iter().enumerate() {
            curve(&mut img, &frame, share, 1, unit_color(j));
        }
    }
    curve(&mut img, &frame, &fit, 3, CURVE);
    Ok(DecisionPicture {
        image: crate::viz::draw::padded(&img, 8, BACKGROUND),
        frame: PlotFrame {
            left: frame.left + 8,
            top: frame.top + 8,
            ..frame
        },
    })
}
