//! The `[unsupervised_segmentation]` section of a preset: which encoder nodes' features the
//! unsupervised-segmentation view and `convlab eval` cluster by default, for a preset where
//! the automatic choice (two encoder depths, see
//! `inspect::unsupervised_segmentation::default_nodes`) is measured to do worse.
//!
//! ```toml
//! [unsupervised_segmentation]
//! nodes = ["relu1"]
//! ```

use serde::{Deserialize, Serialize};

use crate::engine::ModelSpec;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsupervisedSpec {
    /// The nodes whose per-pixel features are clustered (their maps upsampled to the input
    /// and joined); empty: the automatic choice.
    #[serde(default)]
    pub nodes: Vec<String>,
}

impl UnsupervisedSpec {
    /// Every node must be one of the model's.
    pub fn validate(&self, model: &ModelSpec) -> Result<(), String> {
        for n in &self.nodes {
            if !model.nodes.iter().any(|m| &m.name == n) {
                return Err(format!("'{n}' is not a node of the model"));
            }
        }
        Ok(())
    }
}
