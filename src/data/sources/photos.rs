//! The bundled real photos (camera, astronaut, cat), one class each, as square crops
//! resized to `size` (`source = "photos"`, see [`crate::data::photos`]).

use serde::{Deserialize, Serialize};

use super::{FolderChoice, Source};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Photos {
    #[serde(default = "default_size")]
    pub size: usize,
    #[serde(default)]
    pub grayscale: bool,
    /// Instead of the eight views per photo: this many random `size`-pixel crops at the
    /// photos' stored resolution (a denoising or super-resolution training set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crops: Option<usize>,
    /// With `crops`: also crop the bundled real textures (brick, grass, gravel).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub textures: bool,
}

fn default_size() -> usize {
    64
}

impl Source for Photos {
    fn title() -> &'static str {
        "Photos (camera, astronaut, cat)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Photos {
            size: default_size(),
            grayscale: false,
            crops: None,
            textures: false,
        })
    }
    fn label(&self) -> String {
        if self.crops.is_some() && self.textures {
            "photos (camera, astronaut, cat) and textures (brick, grass, gravel)".into()
        } else {
            "photos (camera, astronaut, cat)".into()
        }
    }
    fn validate(&self) -> Result<(), super::InvalidOption> {
        match self.crops {
            Some(n) if !(1..=crate::data::photos::MAX_CROPS).contains(&n) => {
                Err(super::InvalidOption {
                    key: "crops",
                    reason: format!(
                        "{n} crops; between 1 and {}",
                        crate::data::photos::MAX_CROPS
                    ),
                })
            }
            Some(_) if !(4..=crate::data::photos::MAX_CROP_SIZE).contains(&self.size) => {
                Err(super::InvalidOption {
                    key: "size",
                    reason: format!(
                        "crops of {} pixels; between 4 and {} (the smallest photo's height)",
                        self.size,
                        crate::data::photos::MAX_CROP_SIZE
                    ),
                })
            }
            None if self.textures => Err(super::InvalidOption {
                key: "textures",
                reason: "textures are cropped only with the crops option".into(),
            }),
            _ => Ok(()),
        }
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        match self.crops {
            Some(n) => {
                crate::data::photos::photo_crops(self.size, self.grayscale, n, seed, self.textures)
            }
            None => crate::data::photos::photos(self.size, self.grayscale),
        }
    }
    fn seed_changes_samples(&self) -> bool {
        self.crops.is_some()
    }
}
