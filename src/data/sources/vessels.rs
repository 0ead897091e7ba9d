//! Thin curvy vessel-like lines with pixel masks (`source = "vessels"`, see
//! [`crate::data::segmentation`]).

use serde::{Deserialize, Serialize};

use super::{FolderChoice, InvalidOption, Source, check_noise};
use crate::data::segmentation::{SegClasses, vessels};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vessels {
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Image side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    #[serde(default)]
    pub classes: SegClasses,
    #[serde(default)]
    pub noise: f64,
}

fn default_samples() -> usize {
    300
}
fn default_size() -> usize {
    64
}

impl Source for Vessels {
    fn title() -> &'static str {
        "Vessels (segmentation)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Vessels {
            samples: default_samples(),
            size: default_size(),
            classes: SegClasses::Binary,
            noise: 0.0,
        })
    }
    fn label(&self) -> String {
        "vessels".into()
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        vessels(self.samples, self.size, self.classes, self.noise, seed)
    }
}
