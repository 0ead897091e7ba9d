//! The neuron diagram of a dense net (after TensorFlow Playground): the inputs, then one
//! column per dense layer, each unit drawn as a small map of its output (after its
//! activations) over the input plane (2-D inputs) or along the input (1-D), and the
//! weights as lines between units: orange positive, blue negative, thicker and stronger
//! the larger. A picked unit is drawn large beside the diagram with its weights and bias.
//! Every map is real forward passes over a grid.

use ndarray::{Array2, Array4, Axis};

use super::decision::{TS, point_color, points, span};
use super::dense_net::{activations, stages};
use crate::data::Dataset;
use crate::engine::{Graph, Mode};
use crate::viz::draw::{BACKGROUND, INK, MUTED, blit, disc, fill_rect, line, stroke_rect};
use crate::viz::scale::{Palette, ValueScale};
use crate::viz::text::{draw_text, text_height, text_image, text_width};
use crate::viz::{Rgba, VizError};

/// Side of one unit's map, in pixels (one forward pass per pixel).
pub const MAP: usize = 48;
/// Units drawn per column; the others are counted under it.
pub const MAX_SHOWN: usize = 16;
/// Side of the picked unit's large map.
const LARGE: usize = 240;
/// Room between columns, for the weights' lines.
const GAP_X: usize = 120;
const GAP_Y: usize = 12;
/// Positive and negative weights.
pub const POSITIVE: [u8; 3] = [230, 120, 0];
pub const NEGATIVE: [u8; 3] = [0, 114, 178];

/// Where one unit's map lies in the picture (for hover and clicks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitBox {
    /// The dense node (`input` for the input column).
    pub node: String,
    pub unit: usize,
    pub x: usize,
    pub y: usize,
    pub side: usize,
}

/// The diagram with where its units lie.
#[derive(Clone, Debug)]
pub struct NeuronsPicture {
    pub image: Rgba,
    pub boxes: Vec<UnitBox>,
}

impl NeuronsPicture {
    /// The unit under picture position `(x, y)`.
    pub fn locate(boxes: &[UnitBox], x: usize, y: usize) -> Option<&UnitBox> {
        boxes
            .iter()
            .find(|b| x >= b.x && y >= b.y && x < b.x + b.side && y < b.y + b.side)
    }
}

/// One column: its title, and the units' values over the grid `[pixels, units]`.
struct Column {
    node: String,
    title: String,
    values: Array2<f32>,
}

/// A grid of `side`×`side` inputs over the plane (2-D) or `side` inputs along x (1-D),
/// with the values it spans.
fn grid(features: usize, side: usize, x: (f64, f64), y: (f64, f64)) -> Array4<f32> {
    let at = |p: usize, n: usize, r: (f64, f64)| {
        (r.0 + (p as f64 + 0.5) / n as f64 * (r.1 - r.0)) as f32
    };
    if features == 2 {
        Array4::from_shape_fn((side * side, 2, 1, 1), |(i, c, _, _)| {
            if c == 0 {
                at(i % side, side, x)
            } else {
                // Top row first: y falls downwards.
                at(side - 1 - i / side, side, y)
            }
        })
    } else {
        Array4::from_shape_fn((side, 1, 1, 1), |(i, _, _, _)| at(i, side, x))
    }
}

/// The columns' values at the inputs `x`: the inputs themselves, then each layer.
fn columns(graph: &mut Graph<f32>, x: &Array4<f32>) -> Result<Vec<Column>, VizError> {
    let spec = graph.spec().clone();
    let stages = stages(&spec)?;
    graph.forward(x, Mode::Eval)?;
    let n = x.shape()[0];
    let features = x.shape()[1];
    let mut cols = vec![Column {
        node: "input".into(),
        title: "input".into(),
        values: Array2::from_shape_fn((n, features), |(i, c)| x[[i, c, 0, 0]]),
    }];
    for s in &stages {
        let y = graph
            .output(&s.output)
            .ok_or_else(|| VizError::UnsuitedModel(format!("no output of '{}'", s.output)))?;
        let kinds: Vec<&str> = activations(&spec, s).iter().map(|k| k.tag()).collect();
        cols.push(Column {
            node: s.dense.clone(),
            title: if kinds.is_empty() {
                s.dense.clone()
            } else {
                format!("{}\n{}", s.dense, kinds.join(", "))
            },
            values: y.index_axis(Axis(3), 0).index_axis(Axis(2), 0).to_owned(),
        });
    }
    Ok(cols)
}

/// One unit's map: a heatmap over the plane, or its curve along x.
fn unit_map(
    values: ndarray::ArrayView1<f32>,
    features: usize,
    side: usize,
    scale: &ValueScale,
) -> Rgba {
    let mut img = Rgba::new(side, side, BACKGROUND);
    if features == 2 {
        for (i, v) in values.iter().enumerate() {
            let o = 4 * i;
            img.pixels[o..o + 4].copy_from_slice(&scale.color(*v));
        }
    } else {
        let row = |v: f32| {
            let t = scale.t(v) as f64;
            ((1.0 - t) * (side - 1) as f64).round() as i64
        };
        fill_rect(&mut img, 0, row(0.0), side, 1, [200, 200, 200, 255]);
        let mut last = None;
        for (px, v) in values.iter().enumerate() {
            let here = (px as i64, row(*v));
            if let Some(from) = last {
                line(&mut img, from, here, 2, INK);
            }
            last = Some(here);
        }
    }
    img
}

/// Renders the neuron diagram of `graph` (a dense net of 2-D points or one number), with
/// `pick` (dense node, unit) drawn large beside it.
pub fn render(
    graph: &mut Graph<f32>,
    train: &Dataset,
    val: &Dataset,
    pick: Option<(&str, usize)>,
) -> Result<NeuronsPicture, VizError> {
    let input = graph.spec().input;
    let features = match input {
        [2, 1, 1] => 2,
        [1, 1, 1] => 1,
        other => {
            return Err(VizError::UnsuitedModel(format!(
                "the neuron diagram draws dense nets of 2-D points or of one number (input \
                 [2, 1, 1] or [1, 1, 1]); this model takes {other:?}; for images see the \
                 activations view"
            )));
        }
    };
    let x_span = span(&[train, val], 0);
    let y_span = if features == 2 {
        span(&[train, val], 1)
    } else {
        (0.0, 1.0)
    };
    let cols = columns(graph, &grid(features, MAP, x_span, y_span))?;
    // Layout: columns side by side, each centred vertically.
    let title_h = 2 * text_height("A", TS) + 6;
    let header = text_image(
        "NEURONS: each unit's output over the input (after its activation)\nmaps: blue negative, white 0, red positive · lines (weights): orange positive,\nblue negative, thicker and stronger the larger",
        TS,
        INK,
        BACKGROUND,
        0,
    );
    let top = header.height + 16 + title_h;
    let shown = |c: &Column| c.values.shape()[1].min(MAX_SHOWN);
    let tallest = cols.iter().map(shown).max().unwrap_or(1);
    let column_h = |k: usize| k * MAP + k.saturating_sub(1) * GAP_Y;
    let body_h = column_h(tallest) + text_height("A", TS) + 8;
    let col_x = |c: usize| 40 + c * (MAP + GAP_X);
    let diagram_w = col_x(cols.len() - 1) + MAP + 16;
    let mut boxes = Vec::new();
    for (c, col) in cols.iter().enumerate() {
        let k = shown(col);
        let y0 = top + (column_h(tallest) - column_h(k)) / 2;
        for u in 0..k {
            boxes.push(UnitBox {
                node: col.node.clone(),
                unit: u,
                x: col_x(c),
                y: y0 + u * (MAP + GAP_Y),
                side: MAP,
            });
        }
    }
    let boxes_of =
        |node: &str| -> Vec<&UnitBox> { boxes.iter().filter(|b| b.node == node).collect() };
    // The picked unit's panel, to the right.
    let picked = match pick {
        Some((node, unit)) => {
            let col = cols
                .iter()
                .position(|c| c.node == node)
                .filter(|&c| unit < cols[c].values.shape()[1]);
            col.map(|c| (c, unit))
        }
        None => None,
    };
    let panel = match picked {
        Some((c, unit)) => Some(large_panel(
            graph, train, val, &cols, c, unit, features, x_span, y_span,
        )?),
        None => None,
    };
    let width = diagram_w.max(header.width) + panel.as_ref().map_or(0, |p| p.width + 24);
    let height =
        (top + body_h).max(panel.as_ref().map_or(0, |p| p.height + header.height + 16)) + 8;
    let mut img = Rgba::new(width, height, BACKGROUND);
    blit(&mut img, &header, 0, 0);
    // Weights first, maps on top.
    for c in 1..cols.len() {
        let node = &cols[c].node;
        let Some(w) = graph.param(&format!("{node}.weight")) else {
            continue;
        };
        let w = &w.value;
        let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        let from = boxes_of(&cols[c - 1].node);
        for to in boxes_of(node) {
            for src in &from {
                let v = w[[to.unit, src.unit]];
                let s = (v.abs() / max).clamp(0.0, 1.0);
                let [r, g, b] = if v >= 0.0 { POSITIVE } else { NEGATIVE };
                let alpha = (40.0 + 215.0 * s) as u8;
                line(
                    &mut img,
                    ((src.x + src.side) as i64, (src.y + src.side / 2) as i64),
                    (to.x as i64, (to.y + to.side / 2) as i64),
                    1 + (3.0 * s).round() as usize,
                    [r, g, b, alpha],
                );
            }
        }
    }
    for (c, col) in cols.iter().enumerate() {
        let scale = ValueScale::fit(col.values.iter(), Palette::Diverging);
        let title = text_image(&col.title, TS, MUTED, BACKGROUND, 0);
        let k = shown(col);
        let y0 = top + (column_h(tallest) - column_h(k)) / 2;
        blit(
            &mut img,
            &title,
            col_x(c) as i64 + MAP as i64 / 2 - title.width as i64 / 2,
            (y0 - title_h) as i64,
        );
        for b in boxes.iter().filter(|b| b.node == col.node) {
            let map = unit_map(col.values.column(b.unit), features, MAP, &scale);
            blit(&mut img, &map, b.x as i64, b.y as i64);
            if c == 0 {
                let name = format!("x{}", b.unit + 1);
                let th = text_height(&name, TS) as i64;
                draw_text(
                    &mut img,
                    b.x as i64 - 8 - text_width(&name, TS) as i64,
                    (b.y + b.side / 2) as i64 - th / 2,
                    &name,
                    TS,
                    INK,
                );
            }
            let on = picked == Some((c, b.unit));
            stroke_rect(
                &mut img,
                b.x as i64 - 1,
                b.y as i64 - 1,
                MAP + 2,
                MAP + 2,
                if on { 3 } else { 1 },
                if on { INK } else { MUTED },
            );
        }
        let more = col.values.shape()[1].saturating_sub(k);
        if more > 0 {
            let label = format!("+{more} more");
            draw_text(
                &mut img,
                col_x(c) as i64 + MAP as i64 / 2 - text_width(&label, TS) as i64 / 2,
                (y0 + column_h(k) + 6) as i64,
                &label,
                TS,
                MUTED,
            );
        }
    }
    if let Some(p) = &panel {
        blit(
            &mut img,
            p,
            (diagram_w.max(header.width) + 24) as i64,
            (header.height + 16) as i64,
        );
    }
    let pad = 8;
    let image = crate::viz::draw::padded(&img, pad, BACKGROUND);
    for b in &mut boxes {
        b.x += pad;
        b.y += pad;
    }
    Ok(NeuronsPicture { image, boxes })
}

/// The picked unit large, with the data on it, and its bias and incoming weights.
#[expect(
    clippy::too_many_arguments,
    reason = "the diagram's own parts, passed on once"
)]
fn large_panel(
    graph: &mut Graph<f32>,
    train: &Dataset,
    val: &Dataset,
    cols: &[Column],
    c: usize,
    unit: usize,
    features: usize,
    x_span: (f64, f64),
    y_span: (f64, f64),
) -> Result<Rgba, VizError> {
    let node = cols[c].node.clone();
    let x = grid(features, LARGE, x_span, y_span);
    let values = columns(graph, &x)?;
    let scale = ValueScale::fit(values[c].values.iter(), Palette::Diverging);
    let mut map = unit_map(values[c].values.column(unit), features, LARGE, &scale);
    if features == 2 {
        let pts = points(train, val, 2);
        for (i, p) in pts.xs.iter().enumerate() {
            let px = (p[0] as f64 - x_span.0) / (x_span.1 - x_span.0) * LARGE as f64;
            let py = (y_span.1 - p[1] as f64) / (y_span.1 - y_span.0) * LARGE as f64;
            disc(&mut map, px, py, 2.5, [255, 255, 255, 255]);
            disc(
                &mut map,
                px,
                py,
                1.8,
                pts.labels[i].map_or(MUTED, point_color),
            );
        }
    }
    let mut text = if c == 0 {
        format!("input x{}: the plane's coordinate itself", unit + 1)
    } else {
        let weight = &graph
            .param(&format!("{node}.weight"))
            .ok_or_else(|| VizError::UnsuitedModel(format!("'{node}' has no weight")))?
            .value;
        let bias = graph
            .param(&format!("{node}.bias"))
            .map_or(0.0, |b| b.value[[unit]]);
        let from = if c == 1 {
            "x".to_string()
        } else {
            format!("{} unit ", cols[c - 1].node)
        };
        let mut t = format!("unit {unit} of {node}\nbias {bias:.3}\nweights:");
        let n = weight.shape()[1];
        for j in 0..n.min(16) {
            let name = if c == 1 {
                format!("{from}{}", j + 1)
            } else {
                format!("{from}{j}")
            };
            t.push_str(&format!("\n  {name}: {:.3}", weight[[unit, j]]));
        }
        if n > 16 {
            t.push_str(&format!("\n  ... {} more", n - 16));
        }
        t
    };
    text.push_str(&format!(
        "\nrange {} to {}",
        crate::viz::scale::fmt_value(scale.lo, 3),
        crate::viz::scale::fmt_value(scale.hi, 3)
    ));
    let label = text_image(&text, TS, INK, BACKGROUND, 0);
    let mut framed = Rgba::new(LARGE + 2, LARGE + 2, MUTED);
    blit(&mut framed, &map, 1, 1);
    Ok(crate::viz::draw::vstack(&[framed, label], 8, BACKGROUND))
}
