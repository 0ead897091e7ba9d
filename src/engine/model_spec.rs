//! The model description shared by the editor, the trainer, the CLI and every export.
//!
//! A model is a list of named nodes. A node reads the previous node's output unless it names
//! its inputs, which is how residual additions, parallel branches and skip concatenations are
//! written. The list order is the execution order, so every input must be an earlier node
//! (or the implicit `input`).

use serde::{Deserialize, Serialize};

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

/// Zero-padding amounts on each side of a feature map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pads {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
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
            Padding::Uniform(p) => Pads {
                top: p,
                bottom: p,
                left: p,
                right: p,
            },
            Padding::Symmetric([ph, pw]) => Pads {
                top: ph,
                bottom: ph,
                left: pw,
                right: pw,
            },
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

fn one() -> Pair {
    Pair::square(1)
}
fn yes() -> bool {
    true
}
fn one_usize() -> usize {
    1
}
fn bn_eps() -> f64 {
    1e-5
}
fn bn_momentum() -> f64 {
    0.1
}
fn leaky_slope() -> f64 {
    0.01
}
fn half() -> f64 {
    0.5
}
fn two() -> usize {
    2
}

/// Every kind of node with its hyper-parameters. Field names are the text format's keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeKind {
    Conv2d {
        out_channels: usize,
        kernel: Pair,
        #[serde(default = "one")]
        stride: Pair,
        #[serde(default)]
        padding: Padding,
        #[serde(default)]
        padding_mode: PaddingMode,
        #[serde(default = "one")]
        dilation: Pair,
        #[serde(default = "one_usize")]
        groups: usize,
        #[serde(default = "yes")]
        bias: bool,
    },
    ConvTranspose2d {
        out_channels: usize,
        kernel: Pair,
        #[serde(default = "one")]
        stride: Pair,
        /// Rows/columns cropped from each side of the full transposed output.
        #[serde(default)]
        padding: Pair0,
        #[serde(default)]
        output_padding: Pair0,
        #[serde(default = "yes")]
        bias: bool,
    },
    MaxPool2d {
        kernel: Pair,
        /// Defaults to the kernel size, as in PyTorch.
        #[serde(default)]
        stride: Option<Pair>,
        #[serde(default)]
        padding: Pair0,
    },
    MinPool2d {
        kernel: Pair,
        #[serde(default)]
        stride: Option<Pair>,
        #[serde(default)]
        padding: Pair0,
    },
    /// Zero padding counts in the average (PyTorch's `count_include_pad = True`).
    AvgPool2d {
        kernel: Pair,
        #[serde(default)]
        stride: Option<Pair>,
        #[serde(default)]
        padding: Pair0,
    },
    GlobalAvgPool,
    Flatten,
    /// Fully connected; a spatial input is flattened first.
    Dense {
        out_features: usize,
        #[serde(default = "yes")]
        bias: bool,
    },
    Dropout {
        #[serde(default = "half")]
        p: f64,
    },
    BatchNorm2d {
        #[serde(default = "bn_eps")]
        eps: f64,
        #[serde(default = "bn_momentum")]
        momentum: f64,
    },
    Upsample {
        #[serde(default = "two")]
        scale: usize,
        #[serde(default)]
        mode: UpsampleMode,
    },
    Add,
    Concat,
    Identity,
    Relu,
    LeakyRelu {
        #[serde(default = "leaky_slope")]
        slope: f64,
    },
    Sigmoid,
    Tanh,
    /// Softmax over channels.
    Softmax,
}

/// A [`Pair`] that defaults to zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pair0(pub Pair);

impl Default for Pair0 {
    fn default() -> Self {
        Pair0(Pair::square(0))
    }
}

impl NodeKind {
    /// The text format's name of this kind, e.g. `conv2d`.
    pub fn tag(&self) -> &'static str {
        match self {
            NodeKind::Conv2d { .. } => "conv2d",
            NodeKind::ConvTranspose2d { .. } => "conv_transpose2d",
            NodeKind::MaxPool2d { .. } => "max_pool2d",
            NodeKind::MinPool2d { .. } => "min_pool2d",
            NodeKind::AvgPool2d { .. } => "avg_pool2d",
            NodeKind::GlobalAvgPool => "global_avg_pool",
            NodeKind::Flatten => "flatten",
            NodeKind::Dense { .. } => "dense",
            NodeKind::Dropout { .. } => "dropout",
            NodeKind::BatchNorm2d { .. } => "batch_norm2d",
            NodeKind::Upsample { .. } => "upsample",
            NodeKind::Add => "add",
            NodeKind::Concat => "concat",
            NodeKind::Identity => "identity",
            NodeKind::Relu => "relu",
            NodeKind::LeakyRelu { .. } => "leaky_relu",
            NodeKind::Sigmoid => "sigmoid",
            NodeKind::Tanh => "tanh",
            NodeKind::Softmax => "softmax",
        }
    }

    /// How many inputs the node takes: `None` means two or more.
    pub fn arity(&self) -> Option<usize> {
        match self {
            NodeKind::Add | NodeKind::Concat => None,
            _ => Some(1),
        }
    }

    /// A 3×3 conv with the usual defaults.
    pub fn conv(out_channels: usize, kernel: usize, padding: usize) -> Self {
        NodeKind::Conv2d {
            out_channels,
            kernel: Pair::square(kernel),
            stride: Pair::square(1),
            padding: Padding::Uniform(padding),
            padding_mode: PaddingMode::Zeros,
            dilation: Pair::square(1),
            groups: 1,
            bias: true,
        }
    }

    pub fn max_pool(kernel: usize) -> Self {
        NodeKind::MaxPool2d {
            kernel: Pair::square(kernel),
            stride: None,
            padding: Pair0::default(),
        }
    }

    pub fn dense(out_features: usize) -> Self {
        NodeKind::Dense {
            out_features,
            bias: true,
        }
    }
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
            match &node.kind {
                NodeKind::Dense { out_features, .. } => return Some((i, *out_features)),
                NodeKind::Conv2d {
                    out_channels,
                    groups: 1,
                    ..
                } => return Some((i, *out_channels)),
                NodeKind::Relu
                | NodeKind::LeakyRelu { .. }
                | NodeKind::Sigmoid
                | NodeKind::Tanh
                | NodeKind::Softmax
                | NodeKind::Dropout { .. }
                | NodeKind::Identity
                | NodeKind::Flatten
                | NodeKind::GlobalAvgPool
                | NodeKind::MaxPool2d { .. }
                | NodeKind::MinPool2d { .. }
                | NodeKind::AvgPool2d { .. } => {
                    i = match node.inputs.as_slice() {
                        [] => i.checked_sub(1)?,
                        [name] => self.nodes[..i].iter().position(|n| &n.name == name)?,
                        _ => return None,
                    };
                }
                _ => return None,
            }
        }
    }

    /// Sets the output count of the layer [`Self::output_layer`] found; `false` when there
    /// is none.
    pub fn set_outputs(&mut self, outputs: usize) -> bool {
        let Some((i, _)) = self.output_layer() else {
            return false;
        };
        match &mut self.nodes[i].kind {
            NodeKind::Dense { out_features, .. } => *out_features = outputs,
            NodeKind::Conv2d { out_channels, .. } => *out_channels = outputs,
            _ => return false,
        }
        true
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
            NodeSpec::new("drop", NodeKind::Dropout { p: 0.5 }),
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
        if let NodeKind::Conv2d { groups, .. } = &mut grouped {
            *groups = 2;
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
