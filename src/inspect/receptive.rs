//! Receptive fields of one output unit: the theoretical window on the input (from the
//! graph's geometry: kernels, strides, padding, dilation) and the effective one, the
//! gradient of that unit with respect to every input pixel.

use ndarray::{Array2, Axis};

use crate::engine::facts::ReceptiveField;
use crate::engine::{Graph, Mode, Tensor};

use super::InspectError;
use super::util::{check_one, node_index, truncated};

/// A rectangle on the input in pixel-edge coordinates: pixel `(i, j)` covers
/// `[i, i+1) × [j, j+1)`. May reach outside the image (padding).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RfRect {
    pub top: f64,
    pub left: f64,
    pub height: f64,
    pub width: f64,
}

impl RfRect {
    /// The window of output unit `(row, col)` of a node with receptive field `rf`.
    pub fn of_unit(rf: &ReceptiveField, row: usize, col: usize) -> RfRect {
        let centre = [
            rf.offset[0] + row as f64 * rf.jump[0],
            rf.offset[1] + col as f64 * rf.jump[1],
        ];
        RfRect {
            top: centre[0] - (rf.size[0] - 1.0) / 2.0,
            left: centre[1] - (rf.size[1] - 1.0) / 2.0,
            height: rf.size[0],
            width: rf.size[1],
        }
    }

    /// Pixel rows and columns `[start, end)` inside an `h × w` image, or None when the
    /// rectangle lies outside it.
    pub fn clipped(&self, h: usize, w: usize) -> Option<((usize, usize), (usize, usize))> {
        let r0 = self.top.floor().max(0.0);
        let r1 = (self.top + self.height).ceil().min(h as f64);
        let c0 = self.left.floor().max(0.0);
        let c1 = (self.left + self.width).ceil().min(w as f64);
        (r0 < r1 && c0 < c1).then_some(((r0 as usize, r1 as usize), (c0 as usize, c1 as usize)))
    }

    /// Whether pixel `(i, j)` lies inside.
    pub fn contains(&self, i: usize, j: usize) -> bool {
        let (y, x) = (i as f64 + 0.5, j as f64 + 0.5);
        y > self.top && y < self.top + self.height && x > self.left && x < self.left + self.width
    }
}

/// The receptive field of one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceptiveFieldView {
    pub node: String,
    /// `(channel, row, column)` of the unit in the node's output.
    pub unit: (usize, usize, usize),
    /// The unit's activation for this input.
    pub value: f32,
    /// Theoretical receptive field (from `facts()`).
    pub theoretical: RfRect,
    /// Effective receptive field: `Σ_c |∂unit/∂input[c]|`, `[h, w]`.
    pub effective: Array2<f32>,
    /// Signed `∂unit/∂input`, `[1, c, h, w]`.
    pub input_grad: Tensor<f32>,
    /// Rows and columns `[start, end)` of the pixels with non-zero gradient (None when the
    /// gradient is zero everywhere, e.g. a ReLU unit that is off).
    pub effective_bounds: Option<((usize, usize), (usize, usize))>,
}

/// The theoretical and effective receptive field of unit `(channel, row, col)` of `node`
/// for input `x` (one sample). Builds the graph cut after `node` (same weights), so the
/// caller's graph is untouched.
pub fn receptive_field(
    graph: &Graph<f32>,
    x: &Tensor<f32>,
    node: &str,
    unit: (usize, usize, usize),
) -> Result<ReceptiveFieldView, InspectError> {
    check_one(graph, x)?;
    let index = node_index(graph, node)?;
    let facts = &graph.facts().nodes[index];
    let [c, h, w] = facts.output;
    let (ch, row, col) = unit;
    if ch >= c || row >= h || col >= w {
        return Err(InspectError::invalid(format!(
            "unit ({ch}, {row}, {col}) is outside '{node}' ({c}×{h}×{w})"
        )));
    }
    let mut cut = truncated(graph, node)?;
    let y = cut.forward(x, Mode::Eval)?;
    let value = y[[0, ch, row, col]];
    let mut seed = Tensor::zeros(y.raw_dim());
    seed[[0, ch, row, col]] = 1.0;
    cut.backward(&seed, true)?;
    let input_grad = cut
        .input_grad()
        .cloned()
        .ok_or_else(|| InspectError::invalid("no input gradient was computed"))?;
    let effective = input_grad
        .index_axis(Axis(0), 0)
        .map_axis(Axis(0), |v| v.iter().map(|g| g.abs()).sum::<f32>());
    let mut bounds: Option<((usize, usize), (usize, usize))> = None;
    for ((i, j), &v) in effective.indexed_iter() {
        if v != 0.0 {
            let b = bounds.get_or_insert(((i, i + 1), (j, j + 1)));
            b.0 = (b.0.0.min(i), b.0.1.max(i + 1));
            b.1 = (b.1.0.min(j), b.1.1.max(j + 1));
        }
    }
    Ok(ReceptiveFieldView {
        node: node.to_string(),
        unit,
        value,
        theoretical: RfRect::of_unit(&facts.receptive_field, row, col),
        effective,
        input_grad,
        effective_bounds: bounds,
    })
}

/// Receptive-field growth by depth, for the chart: one entry per node.
#[derive(Clone, Debug, PartialEq)]
pub struct RfGrowth {
    pub node: String,
    pub kind: &'static str,
    /// `[vertical, horizontal]` size in input pixels.
    pub size: [f64; 2],
    /// Distance between neighbouring units' fields, in input pixels.
    pub jump: [f64; 2],
}

pub fn rf_by_depth(graph: &Graph<f32>) -> Vec<RfGrowth> {
    graph
        .facts()
        .nodes
        .iter()
        .map(|n| RfGrowth {
            node: n.name.clone(),
            kind: n.kind,
            size: n.receptive_field.size,
            jump: n.receptive_field.jump,
        })
        .collect()
}
