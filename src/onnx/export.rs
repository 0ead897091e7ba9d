//! ConvLab model → ONNX `ModelProto` bytes (opset 17, eval mode). See the module docs of
//! [`crate::onnx`] for the mapping.

use std::collections::HashSet;

use ndarray::ArrayD;

use super::OnnxError;
use super::mapping::{self, output_ranks};
use super::proto::{AttrValue, Attribute, Dim, Graph, Model, Node, TensorProto, ValueInfo, dtype};
use crate::engine::facts::{ModelFacts, NodeFacts, infer};
use crate::engine::model_spec::INPUT_NODE;
use crate::engine::{Graph as EngineGraph, ModelSpec};
use crate::spec::Preset;

pub const OPSET: i64 = 17;
/// IR version 8 goes with opsets up to 18.
pub const IR_VERSION: i64 = 8;
/// Metadata key holding the preset (TOML) the model came from.
pub const PRESET_KEY: &str = "convlab.preset";
pub const PRODUCER: &str = "convlab";

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
    nodes: Vec<Node>,
    initializers: Vec<TensorProto>,
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
    ranks: &'a [usize],
    all_facts: &'a ModelFacts,
    param_names: &'a HashSet<&'a str>,
    axes_made: bool,
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

/// Checks `params` against the model (every parameter present, shapes equal, nothing else)
/// and returns a graph holding them.
fn graph_with(
    spec: &ModelSpec,
    params: &[(String, ArrayD<f32>)],
) -> Result<EngineGraph<f32>, OnnxError> {
    let mut g = EngineGraph::<f32>::new(spec).map_err(|e| OnnxError::Model(e.to_string()))?;
    let mut seen = HashSet::new();
    for (name, value) in params {
        g.set_param(name, value.clone())
            .map_err(|e| OnnxError::Model(format!("weights do not match the model: {e}")))?;
        seen.insert(name.as_str());
    }
    if let Some(missing) = g.params().iter().find(|p| !seen.contains(p.name.as_str())) {
        return Err(OnnxError::Model(format!(
            "weights do not match the model: tensor '{}' is missing",
            missing.name
        )));
    }
    Ok(g)
}

/// A model with its weights as ONNX bytes. With `preset`, the graph is named after it and
/// the preset's TOML is stored under the metadata key [`PRESET_KEY`], so importing gives
/// back the data and training settings too.
pub fn export_model(
    spec: &ModelSpec,
    params: &[(String, ArrayD<f32>)],
    preset: Option<&Preset>,
) -> Result<Vec<u8>, OnnxError> {
    let graph = graph_with(spec, params)?;
    let facts = graph.facts();
    let ranks = output_ranks(spec, facts);
    let mut b = Builder::default();
    for p in graph.params() {
        let v = p.value.as_standard_layout();
        b.initializers.push(TensorProto::float(
            &p.name,
            v.shape(),
            v.as_slice().expect("standard layout"),
        ));
    }
    // Value names must be unique: a node may not take a parameter's name.
    let param_names: HashSet<&str> = graph.params().iter().map(|p| p.name.as_str()).collect();
    if let Some(n) = spec
        .nodes
        .iter()
        .find(|n| param_names.contains(n.name.as_str()))
    {
        return Err(OnnxError::Model(format!(
            "node '{}' has the name of a parameter; rename it to export",
            n.name
        )));
    }

    for (i, (node, nf)) in spec.nodes.iter().zip(&facts.nodes).enumerate() {
        let mut at = NodeExport {
            name: &node.name,
            facts: nf,
            rank: ranks[i],
            ranks: &ranks,
            all_facts: facts,
            param_names: &param_names,
            axes_made: false,
        };
        mapping::export_node(&mut b, &mut at, &node.kind);
    }

    let [c, h, w] = facts.input;
    let batch = || Dim::Param("N".into());
    let last = facts.nodes.last().expect("a model has nodes");
    let out_shape = if *ranks.last().expect("nodes") == 2 {
        vec![batch(), Dim::Value(last.output[0] as i64)]
    } else {
        std::iter::once(batch())
            .chain(last.output.iter().map(|&d| Dim::Value(d as i64)))
            .collect()
    };
    let model = Model {
        ir_version: IR_VERSION,
        producer_name: PRODUCER.into(),
        producer_version: String::new(),
        doc_string: String::new(),
        graph: Graph {
            name: preset.map_or_else(|| "convlab".to_string(), |p| p.name.clone()),
            nodes: b.nodes,
            initializers: b.initializers,
            inputs: vec![ValueInfo {
                name: INPUT_NODE.into(),
                elem_type: dtype::FLOAT,
                shape: Some(vec![
                    batch(),
                    Dim::Value(c as i64),
                    Dim::Value(h as i64),
                    Dim::Value(w as i64),
                ]),
            }],
            outputs: vec![ValueInfo {
                name: last.name.clone(),
                elem_type: dtype::FLOAT,
                shape: Some(out_shape),
            }],
        },
        opset_import: vec![(String::new(), OPSET)],
        metadata_props: preset
            .map(|p| vec![(PRESET_KEY.to_string(), p.to_toml())])
            .unwrap_or_default(),
    };
    Ok(super::proto::encode(&model))
}

/// `infer`, for callers that only have a spec.
pub fn ranks_of(spec: &ModelSpec) -> Result<Vec<usize>, OnnxError> {
    let facts = infer(spec).map_err(|e| OnnxError::Model(e.to_string()))?;
    Ok(output_ranks(spec, &facts))
}
