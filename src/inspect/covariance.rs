//! Translation covariance: shift the input by `(dy, dx)` pixels and compare every node's
//! maps `f(Tx)` with its shifted maps `T′f(x)`, where `T′` shifts by `(dy, dx)` divided by
//! the node's stride product (its receptive-field jump). Where that shift is a whole number
//! of cells, convolution, pointwise layers and aligned pooling are exactly covariant away
//! from the borders, and the error is zero up to rounding; where stride or pooling make it
//! fractional, covariance breaks and the error shows where. Nodes without spatial extent
//! (after global pooling or dense layers) are compared without a shift: invariance.

use std::ops::Range;

use crate::engine::facts::ReceptiveField;
use crate::engine::{Graph, Mode, Tensor};

use super::InspectError;
use super::util::check_one;

/// How the input is shifted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShiftMode {
    /// Pixels leaving one side come back on the other (a roll).
    #[default]
    Circular,
    /// Pixels leaving are lost; zeros come in.
    Zeros,
}

/// How a node's maps were compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// Spatial maps: `f(Tx)` against `T′f(x)` on the cells whose receptive fields stay
    /// inside the image before and after the shift.
    Covariance,
    /// A 1×1 output: `f(Tx)` against `f(x)`.
    Invariance,
}

/// One node's comparison.
#[derive(Clone, Debug)]
pub struct NodeCovariance {
    pub node: String,
    pub kind: &'static str,
    pub comparison: Comparison,
    /// The input shift in this node's cells (shift ÷ jump), `(rows, columns)`.
    pub cell_shift: (f64, f64),
    /// `cell_shift` rounded: the shift `T′` applied to `f(x)`.
    pub applied_shift: (isize, isize),
    /// Whether `cell_shift` is a whole number of cells.
    pub whole_cells: bool,
    /// Rows and columns `[start, end)` of this node's output that were compared.
    pub region: (Range<usize>, Range<usize>),
    /// Relative error `‖f(Tx) − T′f(x)‖ / max(‖f(Tx)‖, ‖T′f(x)‖)` over `region` and all
    /// channels (0 when both are zero); None when `region` is empty.
    pub error: Option<f64>,
    /// `f(Tx)`, `[1, c, h, w]`.
    pub of_shifted: Tensor<f32>,
    /// `T′f(x)`, `[1, c, h, w]` (zero where `f(x)` has no source cell).
    pub shifted_of: Tensor<f32>,
}

/// Per-node translation covariance for one input and one shift.
#[derive(Clone, Debug)]
pub struct Covariance {
    pub shift: (isize, isize),
    pub mode: ShiftMode,
    /// The shifted input `Tx`.
    pub shifted_input: Tensor<f32>,
    pub nodes: Vec<NodeCovariance>,
}

impl Covariance {
    /// `(node, error)` in graph order, for the error-by-depth chart (nodes with nothing to
    /// compare are left out).
    pub fn errors(&self) -> Vec<(String, f64)> {
        self.nodes
            .iter()
            .filter_map(|n| n.error.map(|e| (n.node.clone(), e)))
            .collect()
    }
}

/// Shifts every plane of `x` down by `dy` and right by `dx` pixels (negative: up/left).
pub fn shift_tensor(x: &Tensor<f32>, dy: isize, dx: isize, mode: ShiftMode) -> Tensor<f32> {
    let (n, c, h, w) = x.dim();
    let mut out = Tensor::zeros((n, c, h, w));
    if h == 0 || w == 0 {
        return out;
    }
    let (hi, wi) = (h as isize, w as isize);
    for i in 0..hi {
        let si = i - dy;
        let si = match mode {
            ShiftMode::Circular => si.rem_euclid(hi),
            ShiftMode::Zeros if (0..hi).contains(&si) => si,
            ShiftMode::Zeros => continue,
        };
        for j in 0..wi {
            let sj = j - dx;
            let sj = match mode {
                ShiftMode::Circular => sj.rem_euclid(wi),
                ShiftMode::Zeros if (0..wi).contains(&sj) => sj,
                ShiftMode::Zeros => continue,
            };
            for s in 0..n {
                for ch in 0..c {
                    out[[s, ch, i as usize, j as usize]] = x[[s, ch, si as usize, sj as usize]];
                }
            }
        }
    }
    out
}

/// Output cells `p` along one axis whose receptive field lies inside `[0, extent)` both
/// before and after shifting by `shift` pixels, and whose source cell `p − cells` exists.
fn valid_cells(
    rf: &ReceptiveField,
    axis: usize,
    n: usize,
    extent: usize,
    shift: isize,
    cells: isize,
) -> Range<usize> {
    let eps = 1e-9;
    let ok = |p: usize| {
        let top = rf.offset[axis] + p as f64 * rf.jump[axis] - (rf.size[axis] - 1.0) / 2.0;
        let bottom = top + rf.size[axis];
        let s = shift as f64;
        let src = p as isize - cells;
        top >= -eps
            && bottom <= extent as f64 + eps
            && top - s >= -eps
            && bottom - s <= extent as f64 + eps
            && (0..n as isize).contains(&src)
    };
    let start = (0..n).find(|&p| ok(p));
    match start {
        None => 0..0,
        Some(a) => {
            let b = (a..n).take_while(|&p| ok(p)).last().unwrap_or(a);
            a..b + 1
        }
    }
}

/// Runs `x` (one sample) and `x` shifted by `(dy, dx)` through the graph (eval mode) and
/// compares every node. Leaves the graph's taps at the shifted input's forward.
pub fn covariance(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    shift: (isize, isize),
    mode: ShiftMode,
) -> Result<Covariance, InspectError> {
    check_one(graph, x)?;
    let (_, _, h, w) = x.dim();
    if shift.0.unsigned_abs() >= h.max(1) || shift.1.unsigned_abs() >= w.max(1) {
        return Err(InspectError::invalid(format!(
            "a shift of ({}, {}) does not fit a {h}×{w} input",
            shift.0, shift.1
        )));
    }
    graph.forward(x, Mode::Eval)?;
    let plain: Vec<Tensor<f32>> = graph.outputs().to_vec();
    let shifted_input = shift_tensor(x, shift.0, shift.1, mode);
    graph.forward(&shifted_input, Mode::Eval)?;
    let facts = graph.facts();
    let mut nodes = Vec::with_capacity(plain.len());
    for ((nf, fx), ftx) in facts.nodes.iter().zip(&plain).zip(graph.outputs()) {
        let (_, c, oh, ow) = fx.dim();
        let rf = &nf.receptive_field;
        let spatial = oh * ow > 1;
        let cell_shift = if spatial {
            (shift.0 as f64 / rf.jump[0], shift.1 as f64 / rf.jump[1])
        } else {
            (0.0, 0.0)
        };
        let applied = (cell_shift.0.round() as isize, cell_shift.1.round() as isize);
        let whole = (cell_shift.0 - applied.0 as f64).abs() < 1e-9
            && (cell_shift.1 - applied.1 as f64).abs() < 1e-9;
        let region = if spatial {
            (
                valid_cells(rf, 0, oh, h, shift.0, applied.0),
                valid_cells(rf, 1, ow, w, shift.1, applied.1),
            )
        } else {
            (0..oh, 0..ow)
        };
        let shifted_of = shift_tensor(fx, applied.0, applied.1, ShiftMode::Zeros);
        let (mut d2, mut a2, mut b2) = (0.0f64, 0.0f64, 0.0f64);
        for ch in 0..c {
            for i in region.0.clone() {
                for j in region.1.clone() {
                    let a = ftx[[0, ch, i, j]] as f64;
                    let b = shifted_of[[0, ch, i, j]] as f64;
                    d2 += (a - b) * (a - b);
                    a2 += a * a;
                    b2 += b * b;
                }
            }
        }
        let empty = region.0.is_empty() || region.1.is_empty();
        let denom = a2.sqrt().max(b2.sqrt());
        let error = (!empty).then(|| if denom > 0.0 { d2.sqrt() / denom } else { 0.0 });
        nodes.push(NodeCovariance {
            node: nf.name.clone(),
            kind: nf.kind,
            comparison: if spatial {
                Comparison::Covariance
            } else {
                Comparison::Invariance
            },
            cell_shift,
            applied_shift: applied,
            whole_cells: whole,
            region,
            error,
            of_shifted: ftx.clone(),
            shifted_of,
        });
    }
    Ok(Covariance {
        shift,
        mode,
        shifted_input,
        nodes,
    })
}

/// A copy of the graph (same weights) whose padded convolutions all read their border with
/// `mode` — to compare zero with reflect padding in the covariance view. Fails when a
/// padding is too large for `mode` (reflect needs padding smaller than the map).
pub fn with_padding_mode(
    graph: &Graph<f32>,
    mode: crate::engine::model_spec::PaddingMode,
) -> Result<Graph<f32>, InspectError> {
    let mut spec = graph.spec().clone();
    for node in &mut spec.nodes {
        if let crate::engine::NodeKind::Conv2d(conv) = &mut node.kind {
            conv.padding_mode = mode;
        }
    }
    Ok(Graph::with_params(
        &spec,
        graph.params().iter().map(|p| (&p.name, p.value.clone())),
    )?)
}
