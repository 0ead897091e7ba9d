//! The model description shared by the editor, the trainer, the CLI and every export.
//!
//! A model is a list of named nodes. A node reads the previous node's output unless it names
//! its inputs, which is how residual additions, parallel branches and skip concatenations are
//! written. The list order is the execution order, so every input must be an earlier node
//! (or the implicit `input`).

use serde::{Deserialize, Serialize};

pub use super::layers::NodeKind;
use super::layers::kind::{Choice, OutputCount};

/// Name of the implicit node that holds the network's input.
pub const INPUT_NODE: &str = "input";

/// A whole model: the shape of one input sample and the nodes in execution order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Input sample shape as `[channels, height, width]`; 2-D points are `[2, 1, 1]`.
    pub input: [usize; 3],
    pub nodes: Vec<NodeSpec>,
}

/// One named node of the graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    /// Names of the nodes this one reads; empty means "the previous node".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    #[serde(flatten)]
    pub kind: NodeKind,
}

/// A pair of sizes `[height, width]`, written as one number when both are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PairRepr", into = "PairRepr")]
pub struct Pair {
    pub h: usize,
    pub w: usize,
}

impl Pair {
    pub const fn square(n: usize) -> Self {
        Pair { h: n, w: n }
    }
    pub const fn new(h: usize, w: usize) -> Self {
        Pair { h, w }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum PairRepr {
    One(usize),
    Two([usize; 2]),
}

impl From<PairRepr> for Pair {
    fn from(r: PairRepr) -> Self {
        match r {
            PairRepr::One(n) => Pair::square(n),
            PairRepr::Two([h, w]) => Pair::new(h, w),
        }
    }
}

impl From<Pair> for PairRepr {
    fn from(p: Pair) -> Self {
        if p.h == p.w {
            PairRepr::One(p.h)
        } else {
            PairRepr::Two([p.h, p.w])
        }
    }
}

/// Padding amounts on each side of a feature map, resolved: the one padding type from the
/// preset's [`Padding`] (or a pooling / transposed conv's symmetric pair) to ONNX's `pads`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pads {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

impl Pads {
    /// `p.h` rows above and below, `p.w` columns left and right.
    pub const fn symmetric(p: Pair) -> Self {
        Pads {
            top: p.h,
            bottom: p.h,
            left: p.w,
            right: p.w,
        }
    }

    /// The same amount on all four sides.
    pub const fn uniform(p: usize) -> Self {
        Pads::symmetric(Pair::square(p))
    }

    /// ONNX's order of the 2-D `pads` attribute: `[top, left, bottom, right]`.
    pub const fn onnx(&self) -> [usize; 4] {
        [self.top, self.left, self.bottom, self.right]
    }

    /// From ONNX's `[top, left, bottom, right]`.
    pub const fn from_onnx([top, left, bottom, right]: [usize; 4]) -> Self {
        Pads {
            top,
            bottom,
            left,
            right,
        }
    }

    /// The amounts as `[vertical, horizontal]` when both sides of each axis agree.
    pub fn as_symmetric(&self) -> Option<Pair> {
        (self.top == self.bottom && self.left == self.right)
            .then_some(Pair::new(self.top, self.left))
    }

    pub fn is_zero(&self) -> bool {
        *self == Pads::default()
    }
}

/// How much border a convolution or pooling window sees around its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Padding {
    /// `"valid"` (no padding) or `"same"` (output size = input size / stride, rounded up).
    Named(PaddingName),
    /// The same amount on all four sides.
    Uniform(usize),
    /// `[vertical, horizontal]`, as PyTorch's `padding=(ph, pw)`.
    Symmetric([usize; 2]),
    /// `[top, bottom, left, right]`.
    Explicit([usize; 4]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingName {
    Valid,
    Same,
}

impl Padding {
    /// The simplest way to write `pads` in the text format.
    pub fn from_pads(pads: Pads) -> Padding {
        match pads.as_symmetric() {
            Some(p) if p.h == p.w => Padding::Uniform(p.h),
            Some(p) => Padding::Symmetric([p.h, p.w]),
            None => Padding::Explicit([pads.top, pads.bottom, pads.left, pads.right]),
        }
    }
}

impl Default for Padding {
    fn default() -> Self {
        Padding::Uniform(0)
    }
}

impl Padding {
    /// Resolves to explicit amounts for a window of `effective` extent (dilation included)
    /// and `stride` on an input of `input` rows/columns. "same" follows TensorFlow's rule
    /// (extra pixel at the bottom/right), which PyTorch matches for stride 1.
    pub fn resolve(&self, input: Pair, effective: Pair, stride: Pair) -> Pads {
        match *self {
            Padding::Named(PaddingName::Valid) => Pads::default(),
            Padding::Named(PaddingName::Same) => {
                let total = |n: usize, k: usize, s: usize| {
                    let out = n.div_ceil(s.max(1));
                    ((out.saturating_sub(1)) * s + k).saturating_sub(n)
                };
                let th = total(input.h, effective.h, stride.h);
                let tw = total(input.w, effective.w, stride.w);
                Pads {
                    top: th / 2,
                    bottom: th - th / 2,
                    left: tw / 2,
                    right: tw - tw / 2,
                }
            }
            Padding::Uniform(p) => Pads::uniform(p),
            Padding::Symmetric([ph, pw]) => Pads::symmetric(Pair::new(ph, pw)),
            Padding::Explicit([t, b, l, r]) => Pads {
                top: t,
                bottom: b,
                left: l,
                right: r,
            },
        }
    }
}

/// What a conv layer reads outside the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingMode {
    /// Zeros around the border.
    #[default]
    Zeros,
    /// Mirror without repeating the edge pixel (PyTorch `reflect`).
    Reflect,
    /// Repeat the edge pixel.
    Replicate,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsampleMode {
    #[default]
    Nearest,
    /// Bilinear with `align_corners = false`, as PyTorch's default.
    Bilinear,
}

impl Choice for PaddingMode {
    fn options(&self) -> &'static [&'static str] {
        &["zeros", "reflect", "replicate"]
    }
    fn selected(&self) -> usize {
        *self as usize
    }
    fn select(&mut self, index: usize) {
        *self = match index {
            0 => PaddingMode::Zeros,
            1 => PaddingMode::Reflect,
            _ => PaddingMode::Replicate,
        };
    }
}

impl Choice for UpsampleMode {
    fn options(&self) -> &'static [&'static str] {
        &["nearest", "bilinear"]
    }
    fn selected(&self) -> usize {
        *self as usize
    }
    fn select(&mut self, index: usize) {
        *self = match index {
            0 => UpsampleMode::Nearest,
            _ => UpsampleMode::Bilinear,
        };
    }
}

// Defaults of the text format's keys, shared by the kinds' configurations.
pub fn pair_one() -> Pair {
    Pair::square(1)
}
pub fn pair_zero() -> Pair {
    Pair::square(0)
}
pub fn usize_one() -> usize {
    1
}
pub fn yes() -> bool {
    true
}

impl ModelSpec {
    /// The layer that decides how many values the model outputs, and that number: the last
    /// dense layer or (ungrouped) convolution, reached from the output through nodes that
    /// keep the channel count (activations, dropout, softmax, pooling, flatten). `None`
    /// when the output comes from anything else (a concat, an add, a grouped convolution).
    /// A classifier needs one output per class: this is the node to change.
    pub fn output_layer(&self) -> Option<(usize, usize)> {
        let mut i = self.nodes.len().checked_sub(1)?;
        // Each step moves to an earlier node, so this ends.
        loop {
            let node = &self.nodes[i];
            match node.kind.as_kind().output_count() {
                OutputCount::Decides(outputs) => return Some((i, outputs)),
                OutputCount::Keeps => {
                    i = match node.inputs.as_slice() {
                        [] => i.checked_sub(1)?,
                        [name] => self.nodes[..i].iter().position(|n| &n.name == name)?,
                        _ => return None,
                    };
                }
                OutputCount::Other => return None,
            }
        }
    }

    /// Sets the output count of the layer [`Self::output_layer`] found; `false` when there
    /// is none.
    pub fn set_outputs(&mut self, outputs: usize) -> bool {
        let Some((i, _)) = self.output_layer() else {
            return false;
        };
        self.nodes[i]
            .kind
            .as_kind_mut()
            .is_some_and(|k| k.set_output_count(outputs))
    }
}

impl NodeSpec {
    pub fn new(name: impl Into<String>, kind: NodeKind) -> Self {
        NodeSpec {
            name: name.into(),
            inputs: Vec::new(),
            kind,
        }
    }
    pub fn with_inputs(mut self, inputs: &[&str]) -> Self {
        self.inputs = inputs.iter().map(|s| s.to_string()).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::layers::dropout::DropoutConfig;

    fn model(nodes: Vec<NodeSpec>) -> ModelSpec {
        ModelSpec {
            input: [1, 8, 8],
            nodes,
        }
    }

    #[test]
    fn the_output_layer_is_found_through_shape_keeping_nodes() {
        let mut m = model(vec![
            NodeSpec::new("conv", NodeKind::conv(4, 3, 1)),
            NodeSpec::new("relu", NodeKind::Relu),
            NodeSpec::new("fc", NodeKind::dense(10)),
            NodeSpec::new("drop", NodeKind::Dropout(DropoutConfig { p: 0.5 })),
            NodeSpec::new("soft", NodeKind::Softmax).with_inputs(&["drop"]),
        ]);
        assert_eq!(m.output_layer(), Some((2, 10)));
        assert!(m.set_outputs(40));
        assert_eq!(m.output_layer(), Some((2, 40)));
        // A fully convolutional net: the 1×1 conv before global pooling.
        let fcn = model(vec![
            NodeSpec::new("conv", NodeKind::conv(4, 3, 1)),
            NodeSpec::new("head", NodeKind::conv(3, 1, 0)),
            NodeSpec::new("gap", NodeKind::GlobalAvgPool),
            NodeSpec::new("flat", NodeKind::Flatten),
        ]);
        assert_eq!(fcn.output_layer(), Some((1, 3)));
    }

    #[test]
    fn no_output_layer_behind_a_merge_or_a_grouped_conv() {
        let mut concat = model(vec![
            NodeSpec::new("a", NodeKind::conv(2, 1, 0)),
            NodeSpec::new("b", NodeKind::conv(2, 1, 0)).with_inputs(&["a"]),
            NodeSpec::new("cat", NodeKind::Concat).with_inputs(&["a", "b"]),
        ]);
        assert_eq!(concat.output_layer(), None);
        assert!(!concat.set_outputs(5));
        let mut grouped = NodeKind::conv(4, 3, 1);
        if let NodeKind::Conv2d(conv) = &mut grouped {
            conv.groups = 2;
        }
        let m = model(vec![
            NodeSpec::new("g", grouped),
            NodeSpec::new("relu", NodeKind::Relu),
        ]);
        assert_eq!(m.output_layer(), None);
        assert_eq!(model(vec![]).output_layer(), None);
        // A named input that does not exist (the graph check reports it) is not followed.
        let dangling = model(vec![
            NodeSpec::new("fc", NodeKind::dense(3)),
            NodeSpec::new("relu", NodeKind::Relu).with_inputs(&["nowhere"]),
        ]);
        assert_eq!(dangling.output_layer(), None);
    }
}
