//! The model description shared by the editor, the trainer, the CLI and every export.
//!
//! A model is a list of named nodes. A node reads the previous node's output unless it names
//! its inputs, which is how residual additions, parallel branches and skip concatenations are
//! written. The list order is the execution order, so every input must be an earlier node
//! (or the implicit `input`).

use serde::{Deserialize, Serialize};

pub use super::geometry::{
    Padding, PaddingMode, PaddingName, Pads, Pair, UpsampleMode, pair_one, pair_zero, usize_one,
    yes,
};
pub use super::layers::NodeKind;
use super::layers::kind::OutputCount;

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
