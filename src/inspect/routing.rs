//! How pooling routes the gradient back: each window, its winner (max/min pooling), the
//! upstream gradient of its output, and the gradient scattered onto the input — non-zero
//! only at winners, summed where overlapping windows share a winner — next to average
//! pooling, which spreads every window's gradient evenly. The engine's own pooling layer
//! computes all of it, so the picture is the backward pass that trains the network.

use ndarray::{Array2, Axis};

use crate::engine::facts::WindowGeometry;
use crate::engine::layers::Layer;
use crate::engine::layers::pool2d::{Pool2d, PoolKind};
use crate::engine::model_spec::{Pads, Pair};
use crate::engine::{Graph, Tensor};

use super::InspectError;
use super::util::{first_input, node_index, plane};

/// The lecture's 4×4 input.
pub const LECTURE_INPUT: [[f32; 4]; 4] = [
    [3.0, 2.0, 8.0, 0.0],
    [4.0, 1.0, 3.0, 1.0],
    [5.0, 0.0, 9.0, 1.0],
    [1.0, 2.0, 1.0, 1.0],
];

/// The lecture's three max-pooling settings on [`LECTURE_INPUT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LectureCase {
    /// 2×2 windows, stride 2: no overlap.
    K2S2,
    /// 3×3 windows, stride 1: every window holds the 9.
    K3S1,
    /// 2×2 windows, stride 1: overlapping windows share winners.
    K2S1,
}

impl LectureCase {
    pub const ALL: [LectureCase; 3] = [LectureCase::K2S2, LectureCase::K3S1, LectureCase::K2S1];

    /// `(kernel, stride)`.
    pub fn geometry(self) -> (usize, usize) {
        match self {
            LectureCase::K2S2 => (2, 2),
            LectureCase::K3S1 => (3, 1),
            LectureCase::K2S1 => (2, 1),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LectureCase::K2S2 => "2×2 / stride 2",
            LectureCase::K3S1 => "3×3 / stride 1",
            LectureCase::K2S1 => "2×2 / stride 1",
        }
    }
}

/// One pooling window and where its gradient goes.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingWindow {
    /// Output cell `(row, column)`.
    pub out: (usize, usize),
    /// Window rows and columns on the input, `[start, end)`, including padding (may be
    /// negative or reach past the input).
    pub rows: (isize, isize),
    pub cols: (isize, isize),
    /// The same, clipped to the input.
    pub rows_clipped: (usize, usize),
    pub cols_clipped: (usize, usize),
    /// Input cell that won (max/min pooling); None for average pooling.
    pub winner: Option<(usize, usize)>,
    /// The pooled value.
    pub value: f32,
    /// The upstream gradient arriving at this output.
    pub upstream: f32,
}

impl RoutingWindow {
    pub fn contains(&self, row: usize, col: usize) -> bool {
        (self.rows_clipped.0..self.rows_clipped.1).contains(&row)
            && (self.cols_clipped.0..self.cols_clipped.1).contains(&col)
    }
}

/// The routing of one channel of one pooling node (or of the lecture example).
#[derive(Clone, Debug, PartialEq)]
pub struct PoolRouting {
    /// The pooling node, or None for a free-standing example.
    pub node: Option<String>,
    pub channel: usize,
    pub kind: PoolKind,
    pub kernel: Pair,
    pub stride: Pair,
    pub pads: Pads,
    /// The pooling input `[h, w]`.
    pub input: Array2<f32>,
    /// The pooled output `[oh, ow]`.
    pub output: Array2<f32>,
    /// One per output cell, row-major: also the order of the step-by-step mode.
    pub windows: Vec<RoutingWindow>,
    /// Gradient arriving at the output `[oh, ow]`.
    pub upstream: Array2<f32>,
    /// True when no backward had run and the upstream gradient is all ones.
    pub upstream_is_ones: bool,
    /// Gradient scattered onto the input `[h, w]` (the engine's backward).
    pub scattered: Array2<f32>,
    /// For max/min pooling: the same input and upstream gradient through average pooling
    /// of the same geometry, for comparison.
    pub average: Option<Box<PoolRouting>>,
}

impl PoolRouting {
    /// The window of output cell `(row, col)`.
    pub fn window_at(&self, row: usize, col: usize) -> Option<&RoutingWindow> {
        self.windows.iter().find(|w| w.out == (row, col))
    }

    /// Output cells whose windows contain input cell `(row, col)`.
    pub fn windows_containing(&self, row: usize, col: usize) -> Vec<&RoutingWindow> {
        self.windows
            .iter()
            .filter(|w| w.contains(row, col))
            .collect()
    }

    /// Share of input cells that receive a non-zero gradient.
    pub fn receiving_share(&self) -> f64 {
        let n = self.scattered.len().max(1);
        self.scattered.iter().filter(|v| **v != 0.0).count() as f64 / n as f64
    }

    /// The scattered gradient after the first `steps` windows (row-major) have sent
    /// theirs: the step-by-step mode. `steps ≥ windows.len()` gives [`Self::scattered`]
    /// up to summation order.
    pub fn scattered_after(&self, steps: usize) -> Array2<f32> {
        let mut out = Array2::zeros(self.input.raw_dim());
        let divisor = (self.kernel.h * self.kernel.w) as f32;
        for w in self.windows.iter().take(steps) {
            match w.winner {
                Some((i, j)) => out[[i, j]] += w.upstream,
                None => {
                    for i in w.rows_clipped.0..w.rows_clipped.1 {
                        for j in w.cols_clipped.0..w.cols_clipped.1 {
                            out[[i, j]] += w.upstream / divisor;
                        }
                    }
                }
            }
        }
        out
    }

    /// The same input, geometry and upstream gradient routed through pooling of `kind`.
    pub fn with_kind(&self, kind: PoolKind) -> Result<PoolRouting, InspectError> {
        let mut r = route(
            kind,
            self.kernel,
            self.stride,
            Pair::new(self.pads.top, self.pads.left),
            &self.input,
            Some(&self.upstream),
        )?;
        r.node = self.node.clone();
        r.channel = self.channel;
        r.upstream_is_ones = self.upstream_is_ones;
        Ok(r)
    }
}

/// Routes `upstream` (`[oh, ow]`; all ones when None) back through pooling of `kind` over
/// `input` (`[h, w]`) with symmetric `padding`, using the engine's pooling layer. For max
/// and min pooling, [`PoolRouting::average`] holds the average-pooling comparison.
pub fn route(
    kind: PoolKind,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    input: &Array2<f32>,
    upstream: Option<&Array2<f32>>,
) -> Result<PoolRouting, InspectError> {
    let (h, w) = input.dim();
    for (what, v) in [
        ("kernel", kernel.h),
        ("kernel", kernel.w),
        ("stride", stride.h),
        ("stride", stride.w),
    ] {
        if v == 0 || v > 255 {
            return Err(InspectError::invalid(format!("{what} must be in 1..=255")));
        }
    }
    if h == 0 || w == 0 {
        return Err(InspectError::invalid("the input map is empty"));
    }
    if 2 * padding.h > kernel.h || 2 * padding.w > kernel.w {
        return Err(InspectError::invalid(
            "padding must be at most half the kernel",
        ));
    }
    let (ph, pw) = (h + 2 * padding.h, w + 2 * padding.w);
    if kernel.h > ph || kernel.w > pw {
        return Err(InspectError::invalid(format!(
            "a {}×{} window does not fit a {h}×{w} input",
            kernel.h, kernel.w
        )));
    }
    let out = Pair::new(
        (ph - kernel.h) / stride.h + 1,
        (pw - kernel.w) / stride.w + 1,
    );
    let upstream = match upstream {
        Some(u) if u.dim() != (out.h, out.w) => {
            return Err(InspectError::invalid(format!(
                "the upstream gradient is {:?}, the output {}×{}",
                u.dim(),
                out.h,
                out.w
            )));
        }
        Some(u) => u.clone(),
        None => Array2::ones((out.h, out.w)),
    };
    let pads = Pads {
        top: padding.h,
        bottom: padding.h,
        left: padding.w,
        right: padding.w,
    };
    let pool = Pool2d {
        kind,
        geom: WindowGeometry {
            in_channels: 1,
            out_channels: 1,
            kernel,
            stride,
            dilation: Pair::square(1),
            pads,
            groups: 1,
            in_size: Pair::new(h, w),
            out_size: out,
        },
    };
    let x: Tensor<f32> = input.clone().insert_axis(Axis(0)).insert_axis(Axis(0));
    let (y, winners) = pool.forward(&x);
    let dy: Tensor<f32> = upstream.clone().insert_axis(Axis(0)).insert_axis(Axis(0));
    let dx = pool.backward([1, 1, h, w], &dy, winners.as_ref());
    let mut windows = Vec::with_capacity(out.h * out.w);
    for oi in 0..out.h {
        for oj in 0..out.w {
            let r0 = (oi * stride.h) as isize - padding.h as isize;
            let c0 = (oj * stride.w) as isize - padding.w as isize;
            let rows = (r0, r0 + kernel.h as isize);
            let cols = (c0, c0 + kernel.w as isize);
            let clip =
                |(a, b): (isize, isize), n: usize| (a.max(0) as usize, (b.max(0) as usize).min(n));
            let winner = winners.as_ref().map(|win| {
                let flat = win[[0, 0, oi, oj]] as usize;
                (flat / w, flat % w)
            });
            windows.push(RoutingWindow {
                out: (oi, oj),
                rows,
                cols,
                rows_clipped: clip(rows, h),
                cols_clipped: clip(cols, w),
                winner,
                value: y[[0, 0, oi, oj]],
                upstream: upstream[[oi, oj]],
            });
        }
    }
    let mut routing = PoolRouting {
        node: None,
        channel: 0,
        kind,
        kernel,
        stride,
        pads,
        input: input.clone(),
        output: y.index_axis_move(Axis(0), 0).index_axis_move(Axis(0), 0),
        windows,
        upstream,
        upstream_is_ones: false,
        scattered: dx.index_axis_move(Axis(0), 0).index_axis_move(Axis(0), 0),
        average: None,
    };
    if kind != PoolKind::Avg {
        routing.average = Some(Box::new(routing.with_kind(PoolKind::Avg)?));
    }
    Ok(routing)
}

/// The lecture's 4×4 example through max pooling of `case`, with an all-ones upstream
/// gradient (as in `tests/fixtures/max_pool_lecture.json`).
pub fn lecture_routing(case: LectureCase) -> PoolRouting {
    let input = Array2::from_shape_fn((4, 4), |(i, j)| LECTURE_INPUT[i][j]);
    let (k, s) = case.geometry();
    let mut r = route(
        PoolKind::Max,
        Pair::square(k),
        Pair::square(s),
        Pair::square(0),
        &input,
        None,
    )
    .expect("the lecture geometry fits its 4×4 input");
    r.upstream_is_ones = true;
    if let Some(a) = r.average.as_mut() {
        a.upstream_is_ones = true;
    }
    r
}

/// The routing of `channel` of pooling node `node` for the graph's last forward (sample
/// 0), with the upstream gradient of its last backward (all ones when there was none, see
/// [`PoolRouting::upstream_is_ones`]).
pub fn pool_routing(
    graph: &Graph<f32>,
    node: &str,
    channel: usize,
) -> Result<PoolRouting, InspectError> {
    let index = node_index(graph, node)?;
    let Some(Layer::Pool(pool)) = graph.layer(node) else {
        return Err(InspectError::WrongKind {
            node: node.to_string(),
            found: graph.facts().nodes[index].kind.to_string(),
            wanted: "a pooling node (max, min or average)",
        });
    };
    let input = plane(first_input(graph, index)?, channel)?;
    let upstream = graph
        .node_grad(node)
        .map(|g| plane(g, channel))
        .transpose()?;
    let g = pool.geom;
    let mut r = route(
        pool.kind,
        g.kernel,
        g.stride,
        Pair::new(g.pads.top, g.pads.left),
        &input,
        upstream.as_ref(),
    )?;
    let ones = upstream.is_none();
    r.node = Some(node.to_string());
    r.channel = channel;
    r.upstream_is_ones = ones;
    if let Some(a) = r.average.as_mut() {
        a.node = Some(node.to_string());
        a.channel = channel;
        a.upstream_is_ones = ones;
    }
    Ok(r)
}

/// The pooling nodes of the graph, in order (for the routing view's picker).
pub fn pool_nodes(graph: &Graph<f32>) -> Vec<String> {
    graph
        .node_names()
        .filter(|n| matches!(graph.layer(n), Some(Layer::Pool(_))))
        .map(str::to_string)
        .collect()
}

/// For each max/min pooling node after a forward: the share of its input cells (all
/// channels, sample 0) that win at least one window — the only cells its backward can send
/// gradient to.
pub fn receiving_shares(graph: &Graph<f32>) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for nf in &graph.facts().nodes {
        let (Some(win), Some(Layer::Pool(pool))) = (graph.winners(&nf.name), graph.layer(&nf.name))
        else {
            continue;
        };
        let (h, w) = (pool.geom.in_size.h, pool.geom.in_size.w);
        let c = win.shape()[1];
        let mut hit = vec![false; c * h * w];
        for ch in 0..c {
            for &flat in win.index_axis(Axis(0), 0).index_axis(Axis(0), ch).iter() {
                if let Some(slot) = hit.get_mut(ch * h * w + flat as usize) {
                    *slot = true;
                }
            }
        }
        let share = hit.iter().filter(|b| **b).count() as f64 / hit.len().max(1) as f64;
        out.push((nf.name.clone(), share));
    }
    out
}
