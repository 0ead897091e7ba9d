//! Texture crops for anomaly detection: normal crops to train on, test crops with synthetic
//! defects and their masks (`source = "textures"`, see [`crate::data::textures`]).

use serde::{Deserialize, Serialize};

use super::{FolderChoice, InvalidOption, Source, check_noise};
use crate::data::textures::{AnomalyLoad, TextureKind, TextureOptions, texture_normals, textures};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Textures {
    pub texture: TextureKind,
    /// Crop side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Normal crops for training (and validation, after the split).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Test crops; half are defective.
    #[serde(default = "default_samples")]
    pub test_samples: usize,
    #[serde(default)]
    pub color: bool,
    #[serde(default)]
    pub noise: f64,
}

fn default_size() -> usize {
    32
}
fn default_samples() -> usize {
    400
}

impl Textures {
    fn options(&self, test_samples: usize, seed: u64) -> TextureOptions {
        TextureOptions {
            texture: self.texture,
            size: self.size,
            samples: self.samples,
            test_samples,
            color: self.color,
            noise: self.noise,
            seed,
        }
    }
}

impl Source for Textures {
    fn title() -> &'static str {
        "Textures (anomaly detection)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Textures {
            texture: TextureKind::Brick,
            size: default_size(),
            samples: default_samples(),
            test_samples: default_samples(),
            color: false,
            noise: 0.0,
        })
    }
    fn label(&self) -> String {
        format!("textures ({})", self.texture.name())
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    /// The normal crops only; [`Source::anomaly_set`] makes the test crops.
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        texture_normals(self.options(0, seed))
    }
    fn anomaly_set(&self, seed: u64) -> Result<Option<AnomalyLoad>, DataError> {
        let set = textures(self.options(self.test_samples, seed))?;
        Ok(Some(AnomalyLoad {
            set,
            skipped: Vec::new(),
        }))
    }
}
