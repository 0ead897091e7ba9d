//! The bundled 5,000 MNIST digits (`source = "digits"`).

use serde::{Deserialize, Serialize};

use super::{FolderChoice, Source, limited};
use crate::data::{DataError, Dataset, bundled};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digits {
    /// Use only `limit` samples, spread over the classes (all when absent).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl Source for Digits {
    fn title() -> &'static str {
        "Digits (MNIST, 5 000)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Digits { limit: None })
    }
    fn label(&self) -> String {
        "digits (MNIST 5k)".into()
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        Ok(limited(bundled::mnist_digits()?, self.limit, seed))
    }
    fn seed_changes_samples(&self) -> bool {
        false
    }
}
