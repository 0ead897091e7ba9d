//! Writing ONNX nodes: attribute helpers, the graph builder that names values and keeps
//! initialisers, and one ConvLab node's export context. The per-kind mapping
//! ([`super::mapping`]) and the model export ([`super::export`]) both write through these.

use std::collections::HashSet;

use super::proto::{AttrValue, Attribute, Node, TensorProto};
use crate::engine::facts::{ModelFacts, NodeFacts};
use crate::engine::model_spec::INPUT_NODE;

pub(super) fn ints(name: &str, v: &[usize]) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Ints(v.iter().map(|&x| x as i64).collect()),
    }
}
pub(super) fn int(name: &str, v: i64) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Int(v),
    }
}
pub(super) fn float(name: &str, v: f32) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Float(v),
    }
}
pub(super) fn string(name: &str, v: &str) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::String(v.as_bytes().to_vec()),
    }
}

/// The ONNX graph being written.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) nodes: Vec<Node>,
    pub(super) initializers: Vec<TensorProto>,
}

impl Builder {
    pub(super) fn node(
        &mut self,
        op: &str,
        output: &str,
        inputs: Vec<String>,
        attributes: Vec<Attribute>,
    ) {
        self.nodes.push(Node {
            inputs,
            outputs: vec![output.to_string()],
            name: output.to_string(),
            op_type: op.to_string(),
            domain: String::new(),
            attributes,
        });
    }

    pub(super) fn constant(&mut self, output: &str, t: TensorProto) {
        let t = TensorProto {
            name: String::new(),
            ..t
        };
        self.node(
            "Constant",
            output,
            vec![],
            vec![Attribute {
                name: "value".into(),
                value: AttrValue::Tensor(t),
            }],
        );
    }
}

/// One ConvLab node as the mapping sees it while it writes the node's ONNX form.
pub(super) struct NodeExport<'a> {
    pub name: &'a str,
    pub facts: &'a NodeFacts,
    /// The ONNX rank of this node's output (see [`output_ranks`]).
    pub rank: usize,
    pub(super) ranks: &'a [usize],
    pub(super) all_facts: &'a ModelFacts,
    pub(super) param_names: &'a HashSet<&'a str>,
    pub(super) axes_made: bool,
}

impl NodeExport<'_> {
    /// The ONNX rank of a node's (or the input's) output.
    pub fn rank_of(&self, name: &str) -> usize {
        if name == INPUT_NODE {
            4
        } else {
            self.all_facts.index_of(name).map_or(4, |i| self.ranks[i])
        }
    }

    /// The name of this node's parameter `role` (`<node>.<role>`).
    pub fn param(&self, role: &str) -> String {
        format!("{}.{role}", self.name)
    }

    fn has(&self, role: &str) -> bool {
        self.param_names.contains(self.param(role).as_str())
    }

    /// The weight and, when the node has one, the bias.
    pub fn weight_bias(&self) -> Vec<String> {
        let mut v = vec![self.param("weight")];
        if self.has("bias") {
            v.push(self.param("bias"));
        }
        v
    }

    /// Input `k` (named `input`), lifted from `[N, F]` to `[N, F, 1, 1]` by a helper
    /// `Unsqueeze` when it is 2-D and the node needs NCHW.
    pub fn lift(&mut self, b: &mut Builder, k: usize, input: &str) -> String {
        if self.rank_of(input) == 4 {
            return input.to_string();
        }
        let name = self.name;
        let axes = format!("{name}/axes");
        if !self.axes_made {
            b.constant(&axes, TensorProto::int64("", &[2], &[2, 3]));
            self.axes_made = true;
        }
        let out = if self.facts.inputs.len() == 1 {
            format!("{name}/unsqueeze")
        } else {
            format!("{name}/unsqueeze{k}")
        };
        b.node("Unsqueeze", &out, vec![input.to_string(), axes], vec![]);
        out
    }
}
