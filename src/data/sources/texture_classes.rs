//! Crops of the four bundled materials (brick, grass, gravel, woven fabric) labelled by
//! material (`source = "texture_classes"`, see [`crate::data::textures::texture_classes`]):
//! the lecture's contrast of handcrafted, evolved and learned features on one data set.

use serde::{Deserialize, Serialize};

use super::options::{OptionValue, SourceOption};
use super::{FolderChoice, InvalidOption, NOISE_TIP, Source, check_noise};
use crate::data::textures::{MAX_CROP, MIN_CROP, texture_classes};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextureClasses {
    /// Crops of each material.
    #[serde(default = "default_per_class")]
    pub per_class: usize,
    /// Crop side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Random contrast (× 1 ± jitter) and brightness (± jitter/2) of each crop.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
    #[serde(default)]
    pub noise: f64,
}

fn default_per_class() -> usize {
    200
}

fn default_size() -> usize {
    32
}

fn default_jitter() -> f64 {
    0.3
}

const JITTER_TIP: &str = "Each crop gets a random contrast (×1 ± jitter) and brightness (± jitter/2), so a material must be recognised by its texture, not by how bright it is.";

impl Source for TextureClasses {
    fn title() -> &'static str {
        "Textures (four materials, classes)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(TextureClasses {
            per_class: default_per_class(),
            size: default_size(),
            jitter: default_jitter(),
            noise: 0.0,
        })
    }
    fn label(&self) -> String {
        "texture classes".into()
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        if !(self.jitter.is_finite() && (0.0..=0.9).contains(&self.jitter)) {
            return Err(InvalidOption {
                key: "jitter",
                reason: format!("must be a number from 0 to 0.9, got {}", self.jitter),
            });
        }
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        texture_classes(self.per_class, self.size, self.jitter, self.noise, seed)
    }
    fn options(&mut self) -> Vec<SourceOption<'_>> {
        vec![
            SourceOption::new(
                "per class",
                "Crops of each of the four materials",
                OptionValue::Count(&mut self.per_class, 1..=5000),
            ),
            SourceOption::new(
                "size",
                "Crop side in pixels",
                OptionValue::Count(&mut self.size, MIN_CROP..=MAX_CROP),
            ),
            SourceOption::new(
                "jitter",
                JITTER_TIP,
                OptionValue::Real(&mut self.jitter, 0.0..=0.9, 0.01),
            ),
            SourceOption::new(
                "noise",
                NOISE_TIP,
                OptionValue::Real(&mut self.noise, 0.0..=1.0, 0.01),
            ),
        ]
    }
}
