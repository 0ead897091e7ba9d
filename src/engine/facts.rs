//! Shape inference and the facts the editor shows for every node: output shape, parameter
//! count (with its formula), forward FLOPs and receptive field.
//!
//! This is also where a model description is validated: every error names its node.

use super::error::GraphError;
use super::layers::kind::NodeInputs;
use super::model_spec::{INPUT_NODE, ModelSpec};
use super::node_facts::shape_str;
pub use super::node_facts::{
    MAX_ACTIVATION, MAX_CHANNELS, MAX_KERNEL, MAX_PARAMS, MAX_SIDE, NodeFacts, ReceptiveField,
    SampleShape, WindowGeometry,
};

/// Facts of a whole model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFacts {
    pub input: SampleShape,
    pub nodes: Vec<NodeFacts>,
}

impl ModelFacts {
    pub fn total_params(&self) -> usize {
        self.nodes.iter().map(|n| n.params).sum()
    }
    pub fn total_flops(&self) -> u64 {
        self.nodes.iter().map(|n| n.flops).sum()
    }
    pub fn output(&self) -> SampleShape {
        self.nodes.last().map(|n| n.output).unwrap_or(self.input)
    }
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }
}

/// Infers every node's facts, or returns the first error, naming its node.
pub fn infer(spec: &ModelSpec) -> Result<ModelFacts, GraphError> {
    let [ic, ih, iw] = spec.input;
    if ic == 0 || ih == 0 || iw == 0 || ic > MAX_CHANNELS || ih > MAX_SIDE || iw > MAX_SIDE {
        return Err(GraphError::Input {
            shape: spec.input.to_vec(),
            reason: format!(
                "each of channels, height, width must be in 1..={MAX_CHANNELS}/{MAX_SIDE}"
            ),
        });
    }
    if spec.nodes.is_empty() {
        return Err(GraphError::Empty);
    }
    let mut nodes: Vec<NodeFacts> = Vec::with_capacity(spec.nodes.len());
    let mut total_params = 0usize;
    for (index, node) in spec.nodes.iter().enumerate() {
        let name = node.name.as_str();
        if name.is_empty() || name == INPUT_NODE {
            return Err(GraphError::node(
                name,
                format!("a node needs a name other than '' and '{INPUT_NODE}'"),
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(GraphError::node(
                name,
                "names may use letters, digits, '_', '-' and '.' only",
            ));
        }
        if nodes.iter().any(|n| n.name == name) {
            return Err(GraphError::node(name, "another node has the same name"));
        }
        let input_names: Vec<String> = if node.inputs.is_empty() {
            let previous = nodes
                .last()
                .map(|n| n.name.clone())
                .unwrap_or_else(|| INPUT_NODE.to_string());
            std::iter::once(previous)
                .chain(
                    node.kind
                        .as_kind()
                        .default_extra_inputs()
                        .iter()
                        .map(|s| s.to_string()),
                )
                .collect()
        } else {
            node.inputs.clone()
        };
        match node.kind.arity() {
            Some(k) if input_names.len() != k => {
                return Err(GraphError::node(
                    name,
                    match k {
                        1 => format!("takes one input, got {}", input_names.len()),
                        _ => format!("takes {k} inputs, got {}", input_names.len()),
                    },
                ));
            }
            None if input_names.len() < 2 => {
                return Err(GraphError::node(
                    name,
                    "takes two or more inputs (set 'inputs')",
                ));
            }
            _ => {}
        }
        let mut input_shapes = Vec::new();
        let mut input_fields = Vec::new();
        for input in &input_names {
            if input == INPUT_NODE {
                input_shapes.push(spec.input);
                input_fields.push(ReceptiveField::of_input());
            } else if let Some(prev) = nodes.iter().find(|n| &n.name == input) {
                input_shapes.push(prev.output);
                input_fields.push(prev.receptive_field);
            } else if spec.nodes[index..].iter().any(|n| &n.name == input) {
                return Err(GraphError::node(
                    name,
                    format!(
                        "input '{input}' comes later in the list; inputs must be earlier nodes (no cycles)"
                    ),
                ));
            } else {
                return Err(GraphError::node(
                    name,
                    format!("input '{input}' does not exist"),
                ));
            }
        }
        let inferred = node.kind.as_kind().infer(&NodeInputs {
            name,
            shapes: &input_shapes,
            fields: &input_fields,
        })?;
        let output = inferred.output;
        let params = inferred.params;
        if output.contains(&0) {
            return Err(GraphError::node(
                name,
                format!("output shape {} is empty", shape_str(output)),
            ));
        }
        if output.iter().product::<usize>() > MAX_ACTIVATION {
            return Err(GraphError::node(
                name,
                format!(
                    "output {} has more than {MAX_ACTIVATION} values per sample",
                    shape_str(output)
                ),
            ));
        }
        total_params += params;
        if total_params > MAX_PARAMS {
            return Err(GraphError::node(
                name,
                format!("the model exceeds {MAX_PARAMS} parameters"),
            ));
        }
        nodes.push(NodeFacts {
            name: name.to_string(),
            kind: node.kind.tag(),
            inputs: input_names,
            input_shapes,
            output,
            params,
            param_formula: inferred.param_formula,
            flops: inferred.flops,
            receptive_field: inferred.receptive_field,
            window: inferred.window,
        });
    }
    Ok(ModelFacts {
        input: spec.input,
        nodes,
    })
}
