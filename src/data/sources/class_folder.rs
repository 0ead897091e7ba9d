//! The user's images, one subfolder per class (`source = "folder"`, see
//! [`crate::data::folder`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{FolderChoice, Source};
use crate::data::folder::{ImageOptions, load_class_folder};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassFolder {
    pub path: PathBuf,
    /// Images are resized to `[height, width]`.
    pub size: [usize; 2],
    #[serde(default)]
    pub grayscale: bool,
}

impl ClassFolder {
    pub fn image_options(&self) -> ImageOptions {
        ImageOptions {
            size: self.size,
            grayscale: self.grayscale,
        }
    }
}

impl Source for ClassFolder {
    fn title() -> &'static str {
        "My images (class folder)"
    }
    /// The folder the panel's folder tools hold, once one is given.
    fn starting_options(folder: &FolderChoice) -> Option<Self> {
        (!folder.path.as_os_str().is_empty()).then(|| ClassFolder {
            path: folder.path.clone(),
            size: folder.size,
            grayscale: folder.grayscale,
        })
    }
    fn label(&self) -> String {
        format!("folder {}", self.path.display())
    }
    fn load(&self, _seed: u64) -> Result<Dataset, DataError> {
        Ok(load_class_folder(&self.path, self.image_options(), None, |_, _| {})?.dataset)
    }
    fn seed_changes_samples(&self) -> bool {
        false
    }
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.path]
    }
}
