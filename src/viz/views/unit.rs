//! The single-unit view: one unit of a dense layer reading 2-D points, z = w·x + b, over
//! the input plane. The colours show the unit's output — its activation of z, from the
//! model's own activation node or one picked to compare — on the diverging map centred on
//! the output at z = 0, so its zero line z = 0 (drawn black) is where the colours turn. The
//! weight vector w is an arrow from that line, pointing uphill, perpendicular to it; grey
//! level lines of z are parallel to it. The plane's two axes share one scale, so right
//! angles look right.

use ndarray::{Array4, Axis};

use super::decision::{DecisionPicture, PlotFrame, TS, axes, canvas, point_color, points, span};
use super::dense_net::{NOT_DENSE, activations, stages};
use crate::data::Dataset;
use crate::engine::layers::activation::sigmoid;
use crate::engine::{Graph, Mode, NodeKind};
use crate::viz::draw::{BACKGROUND, INK, MUTED, disc, fill_rect, line};
use crate::viz::scale::{Palette, ValueScale};
use crate::viz::text::{draw_text, text_height, text_image, text_width};
use crate::viz::{Rgba, VizError};

/// The functions the surface can be drawn with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Surface {
    /// The model's own: the activation nodes after the layer (identity if none).
    #[default]
    Model,
    Identity,
    Sigmoid,
    Tanh,
    Relu,
    /// σ(10 z): nearly a step, the perceptron's threshold made differentiable.
    SteepSigmoid,
}

impl Surface {
    pub const ALL: [Surface; 6] = [
        Surface::Model,
        Surface::Identity,
        Surface::Sigmoid,
        Surface::Tanh,
        Surface::Relu,
        Surface::SteepSigmoid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Surface::Model => "the model's",
            Surface::Identity => "identity",
            Surface::Sigmoid => "sigmoid",
            Surface::Tanh => "tanh",
            Surface::Relu => "relu",
            Surface::SteepSigmoid => "steep-sigmoid",
        }
    }

    /// The function of z (for [`Surface::Model`], z itself: the model's output is read
    /// from its activation node instead).
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Surface::Model | Surface::Identity => z,
            Surface::Sigmoid => sigmoid(z),
            Surface::Tanh => z.tanh(),
            Surface::Relu => z.max(0.0),
            Surface::SteepSigmoid => sigmoid(10.0 * z),
        }
    }
}

impl std::str::FromStr for Surface {
    type Err = VizError;
    fn from_str(s: &str) -> Result<Surface, VizError> {
        Surface::ALL
            .into_iter()
            .find(|a| a.name() == s || (s == "model" && *a == Surface::Model))
            .ok_or_else(|| {
                VizError::BadOption(format!(
                    "unknown activation '{s}'; model, identity, sigmoid, tanh, relu, steep-sigmoid"
                ))
            })
    }
}

/// How the picture is laid out and drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitOptions {
    /// Side of the plane in pixels.
    pub side: usize,
    pub surface: Surface,
}

impl Default for UnitOptions {
    fn default() -> Self {
        UnitOptions {
            side: 320,
            surface: Surface::Model,
        }
    }
}

/// Which unit: its dense node, index, weights, bias, and what the surface shows.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitFacts {
    pub node: String,
    pub unit: usize,
    pub w: [f32; 2],
    pub b: f32,
    /// What the colours show, e.g. "sigmoid(z)".
    pub surface: String,
}

/// The unit's picture with its plot's geometry and its numbers.
#[derive(Clone, Debug)]
pub struct UnitPicture {
    pub picture: DecisionPicture,
    pub facts: UnitFacts,
}

/// The dense node of the first layer that `node` names (the dense node itself or an
/// activation after it; `None`: the first layer), and the node whose output the model's
/// surface is.
pub fn find_unit(graph: &Graph<f32>, node: Option<&str>) -> Result<(String, String), VizError> {
    let spec = graph.spec();
    if spec.input != [2, 1, 1] {
        return Err(VizError::UnsuitedModel(format!(
            "the single-unit view draws a unit over the plane of 2-D points (input [2, 1, 1]); \
             this model takes {:?}",
            spec.input
        )));
    }
    let stages = stages(spec)?;
    let stage = match node {
        None => &stages[0],
        Some(n) => {
            let (k, s) = stages
                .iter()
                .enumerate()
                .find(|(_, s)| s.members.iter().any(|m| m == n))
                .ok_or_else(|| {
                    VizError::BadOption(format!("the model has no dense layer or activation '{n}'"))
                })?;
            if k > 0 {
                return Err(VizError::UnsuitedModel(format!(
                    "'{n}' belongs to {}, whose units read hidden units, not the plane: the \
                     single-unit view draws units of the first layer ({}); see the neurons \
                     view for deeper ones",
                    s.dense, stages[0].dense
                )));
            }
            s
        }
    };
    Ok((stage.dense.clone(), stage.output.clone()))
}

/// Where the line w·x + b = 0 crosses the plot, in picture coordinates.
fn zero_line(f: &PlotFrame, w: [f32; 2], b: f32) -> Option<((f64, f64), (f64, f64))> {
    let (w1, w2, b) = (w[0] as f64, w[1] as f64, b as f64);
    let mut hits: Vec<(f64, f64)> = Vec::new();
    if w2.abs() > 1e-12 {
        for x in [f.x.0, f.x.1] {
            let y = -(w1 * x + b) / w2;
            if y >= f.y.0 && y <= f.y.1 {
                hits.push((x, y));
            }
        }
    }
    if w1.abs() > 1e-12 {
        for y in [f.y.0, f.y.1] {
            let x = -(w2 * y + b) / w1;
            if x >= f.x.0 && x <= f.x.1 {
                hits.push((x, y));
            }
        }
    }
    let a = *hits.first()?;
    let far = hits
        .iter()
        .copied()
        .max_by(|p, q| {
            let d = |r: &(f64, f64)| (r.0 - a.0).hypot(r.1 - a.1);
            d(p).total_cmp(&d(q))
        })
        .filter(|p| (p.0 - a.0).hypot(p.1 - a.1) > 0.0)?;
    Some((f.position_of(a.0, a.1), f.position_of(far.0, far.1)))
}

/// Renders unit `unit` of the first dense layer (or the layer `node` names).
pub fn render(
    graph: &mut Graph<f32>,
    train: &Dataset,
    val: &Dataset,
    node: Option<&str>,
    unit: usize,
    opts: &UnitOptions,
) -> Result<UnitPicture, VizError> {
    let (dense, after) = find_unit(graph, node)?;
    let units = graph
        .param(&format!("{dense}.weight"))
        .map(|p| p.value.shape()[0])
        .unwrap_or(0);
    if unit >= units {
        return Err(VizError::BadOption(format!(
            "'{dense}' has {units} units (0 to {}); there is no unit {unit}",
            units.saturating_sub(1)
        )));
    }
    let weight = &graph
        .param(&format!("{dense}.weight"))
        .ok_or_else(|| VizError::UnsuitedModel(format!("'{dense}' has no weight")))?
        .value;
    let w = [weight[[unit, 0]], weight[[unit, 1]]];
    let b = graph
        .param(&format!("{dense}.bias"))
        .map_or(0.0, |p| p.value[[unit]]);
    let side = opts.side.max(16);
    // One scale on both axes: the larger data span, centred on each axis's own middle.
    let (sx, sy) = (span(&[train, val], 0), span(&[train, val], 1));
    let half = ((sx.1 - sx.0).max(sy.1 - sy.0)) / 2.0;
    let (cx, cy) = ((sx.0 + sx.1) / 2.0, (sy.0 + sy.1) / 2.0);
    let mut frame = PlotFrame {
        left: 0,
        top: 0,
        width: side,
        height: side,
        x: (cx - half, cx + half),
        y: (cy - half, cy + half),
    };
    let x = Array4::from_shape_fn((side * side, 2, 1, 1), |(i, c, _, _)| {
        let (vx, vy) = frame.value_at(i % side, i / side);
        if c == 0 { vx as f32 } else { vy as f32 }
    });
    graph.forward(&x, Mode::Eval)?;
    let z: Vec<f32> = graph
        .output(&dense)
        .ok_or_else(|| VizError::UnknownNode(dense.clone()))?
        .index_axis(Axis(1), unit)
        .iter()
        .copied()
        .collect();
    let spec = graph.spec().clone();
    let stage = stages(&spec)?
        .into_iter()
        .next()
        .ok_or_else(|| VizError::UnsuitedModel(NOT_DENSE.into()))?;
    let model_kinds: Vec<String> = activations(&spec, &stage)
        .iter()
        .filter(|k| !matches!(k, NodeKind::Dropout(_) | NodeKind::Identity))
        .map(|k| k.tag().to_string())
        .collect();
    // The model's own surface mixes units only through a softmax: then show z alone.
    let softmax = model_kinds.iter().any(|k| k == "softmax");
    let (values, surface): (Vec<f32>, String) = match opts.surface {
        Surface::Model if !softmax && !model_kinds.is_empty() => (
            graph
                .output(&after)
                .ok_or_else(|| VizError::UnknownNode(dense.clone()))?
                .index_axis(Axis(1), unit)
                .iter()
                .copied()
                .collect(),
            format!("{}(z)", model_kinds.join("∘")),
        ),
        Surface::Model => (z.clone(), "z".into()),
        s => (
            z.iter().map(|&v| s.apply(v)).collect(),
            format!("{}(z)", s.name()),
        ),
    };
    // The output at z = 0 is white, the colour turns across the zero line.
    let centre = match opts.surface {
        Surface::Model if !softmax => model_kinds.iter().fold(0.0f32, |v, k| match k.as_str() {
            "sigmoid" => sigmoid(v),
            "tanh" => v.tanh(),
            "relu" | "leaky_relu" if v < 0.0 => v.max(0.0),
            _ => v,
        }),
        s => s.apply(0.0),
    };
    let reach = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max((v - centre).abs()));
    let scale = ValueScale::new(Palette::Diverging, -reach, reach);
    let mut plot = Rgba::new(side, side, BACKGROUND);
    for (i, v) in values.iter().enumerate() {
        let o = 4 * i;
        plot.pixels[o..o + 4].copy_from_slice(&scale.color(v - centre));
    }
    // Level lines of z: parallel to the zero line, evenly spaced.
    let zmax = z.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let step = nice_step(zmax as f64 / 4.0) as f32;
    if step > 0.0 {
        for py in 0..side {
            for px in 0..side.saturating_sub(1) {
                let (a, c) = (z[py * side + px], z[py * side + px + 1]);
                let d = if py + 1 < side {
                    z[(py + 1) * side + px]
                } else {
                    a
                };
                let band = |v: f32| (v / step).floor() as i64;
                if band(a) != band(c) || band(a) != band(d) {
                    let o = 4 * (py * side + px);
                    plot.pixels[o..o + 4].copy_from_slice(&[150, 150, 150, 255]);
                }
            }
        }
    }
    let title = text_image(
        &format!(
            "UNIT {unit} OF {dense}: z = w1·x1 + w2·x2 + b = {}·x1 {} {}·x2 {} {}\ncolour: {surface} \
             (white where z = 0) · black: the zero line z = 0 · arrow: w",
            fmt(w[0]),
            sign(w[1]),
            fmt(w[1].abs()),
            sign(b),
            fmt(b.abs()),
        ),
        TS,
        INK,
        BACKGROUND,
        0,
    );
    let legend = text_image(
        &format!(
            "blue: below the value at z = 0 · red: above (by up to {}) · grey lines: z in steps of {}\nz > 0 on the side w points to, z < 0 on the other: two half-planes",
            crate::viz::scale::fmt_value(reach, 3),
            crate::viz::scale::fmt_value(step, 2)
        ),
        TS,
        MUTED,
        BACKGROUND,
        0,
    );
    let (mut img, at) = canvas(&title, &legend, side, side);
    frame.left = at.left;
    frame.top = at.top;
    crate::viz::draw::blit(&mut img, &plot, frame.left as i64, frame.top as i64);
    axes(&mut img, &frame, "x1 (input 0)", "x2 (input 1)");
    let pts = points(train, val, 2);
    for (i, p) in pts.xs.iter().enumerate() {
        let (px, py) = frame.position_of(p[0] as f64, p[1] as f64);
        let color = pts.labels[i].map_or(MUTED, point_color);
        disc(&mut img, px, py, 2.5, [255, 255, 255, 255]);
        disc(&mut img, px, py, 1.8, color);
    }
    let zero = zero_line(&frame, w, b);
    if let Some((a, c)) = zero {
        line(
            &mut img,
            (a.0.round() as i64, a.1.round() as i64),
            (c.0.round() as i64, c.1.round() as i64),
            2,
            INK,
        );
    }
    // The arrow: from the zero line's point nearest the plane's centre (the centre itself
    // when the line misses the plane), along w, a quarter of the plane long.
    let norm = (w[0] as f64).hypot(w[1] as f64);
    if norm > 1e-12 {
        let (ux, uy) = (w[0] as f64 / norm, w[1] as f64 / norm);
        let along = (w[0] as f64 * cx + w[1] as f64 * cy + b as f64) / norm;
        let (fx, fy) = (cx - along * ux, cy - along * uy);
        let inside = fx >= frame.x.0 && fx <= frame.x.1 && fy >= frame.y.0 && fy <= frame.y.1;
        let (sx0, sy0) = if inside {
            frame.position_of(fx, fy)
        } else {
            frame.position_of(cx, cy)
        };
        let len = side as f64 / 4.0;
        // Up in the plane is up in the picture: y flips.
        let (ex, ey) = (sx0 + ux * len, sy0 - uy * len);
        let start = (sx0.round() as i64, sy0.round() as i64);
        let end = (ex.round() as i64, ey.round() as i64);
        line(&mut img, start, end, 3, [255, 255, 255, 255]);
        line(&mut img, start, end, 2, INK);
        for turn in [2.6f64, -2.6] {
            let (c, s) = (turn.cos(), turn.sin());
            let (hx, hy) = (ux * c - uy * s, ux * s + uy * c);
            let tip = (
                (ex + hx * 12.0).round() as i64,
                (ey - hy * 12.0).round() as i64,
            );
            line(&mut img, end, tip, 2, INK);
        }
        fill_rect(&mut img, start.0 - 2, start.1 - 2, 5, 5, INK);
        // The label just past the tip, centred on the arrow's line, clear of the head, on a
        // white patch so the data points under it do not hide it.
        let (lw, lh) = (text_width("w", TS), text_height("w", TS));
        let (lx, ly) = (
            ex + ux * (8.0 + lw as f64 / 2.0),
            ey - uy * (8.0 + lh as f64 / 2.0),
        );
        let (tx, ty) = (
            (lx - lw as f64 / 2.0).round() as i64,
            (ly - lh as f64 / 2.0).round() as i64,
        );
        fill_rect(
            &mut img,
            tx - 2,
            ty - 1,
            lw + 4,
            lh + 2,
            [255, 255, 255, 255],
        );
        draw_text(&mut img, tx, ty, "w", TS, INK);
    }
    Ok(UnitPicture {
        picture: DecisionPicture {
            image: crate::viz::draw::padded(&img, 8, BACKGROUND),
            frame: PlotFrame {
                left: frame.left + 8,
                top: frame.top + 8,
                ..frame
            },
        },
        facts: UnitFacts {
            node: dense,
            unit,
            w,
            b,
            surface,
        },
    })
}

fn fmt(v: f32) -> String {
    format!("{v:.2}")
}

fn sign(v: f32) -> char {
    if v < 0.0 { '−' } else { '+' }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw > 0.0 && raw.is_finite()) {
        return 0.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}
