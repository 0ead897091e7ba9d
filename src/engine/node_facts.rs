//! What the editor shows about one node — output shape, parameter count with its formula,
//! FLOPs, receptive field, window geometry — and the size limits and checks the node kinds
//! use to derive it. Below the kinds: nothing here knows which kinds exist.

use super::error::GraphError;
use super::geometry::{Pads, Pair};

/// Largest channel count, kernel side, stride, dilation or spatial side we accept; far
/// beyond any lecture model, small enough that a typo cannot exhaust memory.
pub const MAX_CHANNELS: usize = 16_384;
pub const MAX_KERNEL: usize = 255;
pub const MAX_SIDE: usize = 8_192;
/// Largest number of values in one node's output for one sample.
pub const MAX_ACTIVATION: usize = 64 << 20;
/// Largest parameter count of a whole model.
pub const MAX_PARAMS: usize = 256 << 20;

/// Per-sample shape `[c, h, w]`.
pub type SampleShape = [usize; 3];

/// What one output unit of a node sees of the network input, in input pixels, per axis
/// `[vertical, horizontal]`: the window size, the distance between neighbouring outputs'
/// windows (jump), and the centre of the first output's window (offset; may be negative
/// when padding reaches outside the image).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReceptiveField {
    pub size: [f64; 2],
    pub jump: [f64; 2],
    pub offset: [f64; 2],
}

impl ReceptiveField {
    pub fn of_input() -> Self {
        ReceptiveField {
            size: [1.0; 2],
            jump: [1.0; 2],
            offset: [0.0; 2],
        }
    }

    /// After a window of `kernel` (already dilated) with `stride`, starting `pad_before`
    /// pixels before the input's first pixel.
    pub(crate) fn through_window(
        &self,
        kernel: Pair,
        stride: Pair,
        pad_before: [usize; 2],
    ) -> Self {
        let k = [kernel.h as f64, kernel.w as f64];
        let s = [stride.h as f64, stride.w as f64];
        let p = [pad_before[0] as f64, pad_before[1] as f64];
        let mut out = *self;
        for a in 0..2 {
            out.size[a] = self.size[a] + (k[a] - 1.0) * self.jump[a];
            out.offset[a] = self.offset[a] + ((k[a] - 1.0) / 2.0 - p[a]) * self.jump[a];
            out.jump[a] = self.jump[a] * s[a];
        }
        out
    }

    /// Every output sees everything its input saw (global pooling, dense layers).
    pub(crate) fn global(&self, input: SampleShape) -> Self {
        let mut out = *self;
        let extent = [input[1] as f64, input[2] as f64];
        for (a, extent) in extent.into_iter().enumerate() {
            out.size[a] = self.size[a] + (extent - 1.0) * self.jump[a];
            out.offset[a] = self.offset[a] + (extent - 1.0) / 2.0 * self.jump[a];
            out.jump[a] = out.size[a];
        }
        out
    }

    pub(crate) fn union(fields: &[ReceptiveField]) -> Self {
        let mut out = fields[0];
        for f in &fields[1..] {
            for a in 0..2 {
                if f.size[a] > out.size[a] {
                    out.size[a] = f.size[a];
                    out.offset[a] = f.offset[a];
                }
                out.jump[a] = out.jump[a].max(f.jump[a]);
            }
        }
        out
    }
}

/// Resolved geometry of a sliding-window node (conv or pooling).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowGeometry {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: Pair,
    pub stride: Pair,
    pub dilation: Pair,
    pub pads: Pads,
    pub groups: usize,
    pub in_size: Pair,
    pub out_size: Pair,
}

impl WindowGeometry {
    /// The kernel's extent including dilation gaps.
    pub fn effective_kernel(&self) -> Pair {
        Pair::new(
            self.dilation.h * (self.kernel.h - 1) + 1,
            self.dilation.w * (self.kernel.w - 1) + 1,
        )
    }
}

/// Everything the editor shows about one node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeFacts {
    pub name: String,
    pub kind: &'static str,
    /// Resolved input names (the previous node filled in).
    pub inputs: Vec<String>,
    pub input_shapes: Vec<SampleShape>,
    pub output: SampleShape,
    pub params: usize,
    /// How `params` is computed, e.g. `(3·3·16+1)·32`; empty for parameter-free nodes.
    pub param_formula: String,
    /// Multiply-adds ×2 of conv and dense layers per sample; other nodes count 0, as in
    /// the PyTorch baseline's convention.
    pub flops: u64,
    pub receptive_field: ReceptiveField,
    /// Window geometry for conv, transposed conv and pooling nodes.
    pub window: Option<WindowGeometry>,
}

pub(crate) fn check_size(
    node: &str,
    what: &str,
    value: usize,
    max: usize,
) -> Result<(), GraphError> {
    if value == 0 {
        return Err(GraphError::node(node, format!("{what} must be at least 1")));
    }
    if value > max {
        return Err(GraphError::node(
            node,
            format!("{what} {value} is larger than the limit {max}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_pair(node: &str, what: &str, p: Pair, max: usize) -> Result<(), GraphError> {
    check_size(node, what, p.h, max)?;
    check_size(node, what, p.w, max)
}

pub(crate) fn shape_str(s: SampleShape) -> String {
    format!("{}×{}×{}", s[0], s[1], s[2])
}

/// Output side of a sliding window, or an error when the window does not fit.
pub(crate) fn window_out(
    node: &str,
    input: SampleShape,
    padded: [usize; 2],
    effective: Pair,
    stride: Pair,
) -> Result<Pair, GraphError> {
    if effective.h > padded[0] || effective.w > padded[1] {
        return Err(GraphError::node(
            node,
            format!(
                "kernel {}×{} (with dilation) is larger than its padded input {}×{} (input {})",
                effective.h,
                effective.w,
                padded[0],
                padded[1],
                shape_str(input)
            ),
        ));
    }
    Ok(Pair::new(
        (padded[0] - effective.h) / stride.h + 1,
        (padded[1] - effective.w) / stride.w + 1,
    ))
}
