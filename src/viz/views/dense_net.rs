//! The structure the views of point data read from a dense net: a chain of dense layers,
//! each followed by its activations (TensorFlow Playground's picture of a network). Conv
//! nets and graphs with skips or merges have no such structure; the views say so.

use crate::engine::{ModelSpec, NodeKind};
use crate::viz::VizError;

/// One dense layer and the nodes after it up to the next dense layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// The dense node.
    pub dense: String,
    /// Its number of units.
    pub units: usize,
    /// The last node of the stage: the units' outputs after their activations.
    pub output: String,
    /// Every node of the stage, the dense one first.
    pub members: Vec<String>,
}

/// Nodes that act on each unit alone (or leave the values as they are).
fn per_unit(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Identity
            | NodeKind::Relu
            | NodeKind::LeakyRelu(_)
            | NodeKind::Sigmoid
            | NodeKind::Tanh
            | NodeKind::Dropout(_)
            | NodeKind::Softmax
    )
}

/// Why a model is not a dense net, for the views' messages.
pub const NOT_DENSE: &str = "this picture is for dense nets (a chain of dense layers and \
    activations); for convolutions and other layers see the activations view";

/// The stages of `spec`, or why it is not a chain of dense layers and activations.
pub fn stages(spec: &ModelSpec) -> Result<Vec<Stage>, VizError> {
    let mut out: Vec<Stage> = Vec::new();
    for (i, node) in spec.nodes.iter().enumerate() {
        let sequential = node.inputs.is_empty()
            || (i > 0 && node.inputs.len() == 1 && node.inputs[0] == spec.nodes[i - 1].name);
        if !sequential {
            return Err(VizError::UnsuitedModel(format!(
                "'{}' does not read the node before it; {NOT_DENSE}",
                node.name
            )));
        }
        match (&node.kind, out.last_mut()) {
            (NodeKind::Dense(c), _) => out.push(Stage {
                dense: node.name.clone(),
                units: c.out_features,
                output: node.name.clone(),
                members: vec![node.name.clone()],
            }),
            (kind, Some(stage)) if per_unit(kind) => {
                stage.output = node.name.clone();
                stage.members.push(node.name.clone());
            }
            (kind, _) => {
                return Err(VizError::UnsuitedModel(format!(
                    "'{}' is {}; {NOT_DENSE}",
                    node.name,
                    kind.tag()
                )));
            }
        }
    }
    if out.is_empty() {
        return Err(VizError::UnsuitedModel(format!(
            "the model has no dense layer; {NOT_DENSE}"
        )));
    }
    Ok(out)
}

/// The per-unit nodes after `dense` in its stage, by kind.
pub fn activations<'a>(spec: &'a ModelSpec, stage: &Stage) -> Vec<&'a NodeKind> {
    spec.nodes
        .iter()
        .filter(|n| stage.members[1..].contains(&n.name))
        .map(|n| &n.kind)
        .collect()
}
