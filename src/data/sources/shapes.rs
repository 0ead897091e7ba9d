//! Procedural shapes: circle, square, triangle, cross (`source = "shapes"`, see
//! [`crate::data::synthetic::shapes`]).

use serde::{Deserialize, Serialize};

use super::options::{OptionValue, SourceOption};
use super::{
    FolderChoice, InvalidOption, NOISE_TIP, SAMPLES_RANGE, SAMPLES_TIP, Source, check_noise,
    default_samples,
};
use crate::data::synthetic::shapes;
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shapes {
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Image side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    #[serde(default)]
    pub noise: f64,
}

fn default_size() -> usize {
    28
}

impl Source for Shapes {
    fn title() -> &'static str {
        "Shapes (generated)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Shapes {
            samples: 1000,
            size: 28,
            noise: 0.05,
        })
    }
    fn label(&self) -> String {
        "shapes".into()
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        shapes(self.samples, self.size, self.noise, seed)
    }
    fn options(&mut self) -> Vec<SourceOption<'_>> {
        vec![
            SourceOption::new(
                "samples",
                SAMPLES_TIP,
                OptionValue::Count(&mut self.samples, SAMPLES_RANGE),
            ),
            SourceOption::new(
                "size",
                "Image side in pixels",
                OptionValue::Count(&mut self.size, 8..=128),
            ),
            SourceOption::new(
                "noise",
                NOISE_TIP,
                OptionValue::Real(&mut self.noise, 0.0..=1.0, 0.01),
            ),
        ]
    }
}
