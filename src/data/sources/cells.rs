//! Cell-like blobs with pixel masks (`source = "cells"`, see
//! [`crate::data::segmentation`]).

use serde::{Deserialize, Serialize};

use super::{FolderChoice, InvalidOption, Source, check_noise};
use crate::data::segmentation::{SegClasses, cells};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cells {
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

impl Source for Cells {
    fn title() -> &'static str {
        "Cells (segmentation)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Cells {
            samples: default_samples(),
            size: default_size(),
            classes: SegClasses::Binary,
            noise: 0.0,
        })
    }
    fn label(&self) -> String {
        "cells".into()
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        cells(self.samples, self.size, self.classes, self.noise, seed)
    }
}
