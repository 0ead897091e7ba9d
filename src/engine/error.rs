//! Typed errors of the engine.

/// Why a model description cannot become a graph, or a graph cannot take an input.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GraphError {
    #[error("node '{node}': {reason}")]
    Node { node: String, reason: String },
    #[error("the model has no nodes")]
    Empty,
    #[error("input shape {shape:?}: {reason}")]
    Input { shape: Vec<usize>, reason: String },
    #[error("parameter '{name}': {reason}")]
    Param { name: String, reason: String },
    /// Stored weights lack one of the model's parameters.
    #[error("tensor '{name}' is missing")]
    MissingParam { name: String },
}

impl GraphError {
    pub fn node(node: &str, reason: impl Into<String>) -> Self {
        GraphError::Node {
            node: node.to_string(),
            reason: reason.into(),
        }
    }

    /// The node the error is about, for the editor to mark it.
    pub fn node_name(&self) -> Option<&str> {
        match self {
            GraphError::Node { node, .. } => Some(node),
            _ => None,
        }
    }
}
