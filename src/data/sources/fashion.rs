//! The bundled 2,000 Fashion-MNIST images (`source = "fashion"`).

use serde::{Deserialize, Serialize};

use super::{FolderChoice, Source, limited};
use crate::data::{DataError, Dataset, bundled};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fashion {
    /// Use only `limit` samples, spread over the classes (all when absent).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl Source for Fashion {
    fn title() -> &'static str {
        "Fashion-MNIST (2 000)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Fashion { limit: None })
    }
    fn label(&self) -> String {
        "fashion (Fashion-MNIST 2k)".into()
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        Ok(limited(bundled::fashion_mnist()?, self.limit, seed))
    }
    fn seed_changes_samples(&self) -> bool {
        false
    }
}
