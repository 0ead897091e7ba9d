//! ConvLab model → ONNX `ModelProto` bytes (opset 17, eval mode). See the module docs of
//! [`crate::onnx`] for the mapping.

use std::collections::HashSet;

use ndarray::ArrayD;

use super::OnnxError;
use super::mapping::{self, output_ranks};
use super::proto::{Dim, Graph, Model, TensorProto, ValueInfo, dtype};
use super::writer::{Builder, NodeExport};
use crate::engine::facts::infer;
use crate::engine::model_spec::{INPUT_NODE, NodeKind};
use crate::engine::{Graph as EngineGraph, GraphError, ModelSpec};
use crate::spec::Preset;

pub const OPSET: i64 = 17;
/// IR version 8 goes with opsets up to 18.
pub const IR_VERSION: i64 = 8;
/// Metadata key holding the preset (TOML) the model came from.
pub const PRESET_KEY: &str = "convlab.preset";
pub const PRODUCER: &str = "convlab";

/// Checks `params` against the model (every parameter present, shapes equal, nothing else)
/// and returns a graph holding them.
fn graph_with(
    spec: &ModelSpec,
    params: &[(String, ArrayD<f32>)],
) -> Result<EngineGraph<f32>, OnnxError> {
    EngineGraph::with_params(spec, params.iter().map(|(n, v)| (n.as_str(), v.clone()))).map_err(
        |e| match e {
            GraphError::Param { .. } | GraphError::MissingParam { .. } => {
                OnnxError::Model(format!("weights do not match the model: {e}"))
            }
            e => OnnxError::Model(e.to_string()),
        },
    )
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

    // ONNX's LRN window for an even size is centred one channel later than PyTorch's.
    if let Some(n) = spec
        .nodes
        .iter()
        .find(|n| matches!(&n.kind, NodeKind::LocalResponseNorm(c) if c.size % 2 == 0))
    {
        return Err(OnnxError::Model(format!(
            "node '{}': ONNX's LRN centres an even window differently from PyTorch; use an odd size to export",
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
