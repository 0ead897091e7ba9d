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
        })
    }
    fn label(&self) -> String {
        "photos (camera, astronaut, cat)".into()
    }
    fn load(&self, _seed: u64) -> Result<Dataset, DataError> {
        crate::data::photos::photos(self.size, self.grayscale)
    }
}
