//! 2-D point sets: xor, circles, spirals, blobs (`source = "points"`, see
//! [`crate::data::synthetic::points`]).

use serde::{Deserialize, Serialize};

use super::{FolderChoice, InvalidOption, Source, check_noise, default_samples};
use crate::data::synthetic::{PointPattern, points};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Points {
    pub pattern: PointPattern,
    #[serde(default = "default_samples")]
    pub samples: usize,
    #[serde(default)]
    pub noise: f64,
}

impl Source for Points {
    fn title() -> &'static str {
        "2-D points (generated)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Points {
            pattern: PointPattern::Xor,
            samples: 400,
            noise: 0.1,
        })
    }
    fn label(&self) -> String {
        format!("points ({})", self.pattern.name())
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        points(self.pattern, self.samples, self.noise, seed)
    }
}
