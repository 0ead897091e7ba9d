//! The user's anomaly data (`source = "anomaly_folder"`): a folder of normal images,
//! optionally a folder of test images (subfolders `good`/`normal`/`ok` are normal, others
//! anomalous) and of masks (see [`crate::data::pairs`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{FolderChoice, Source};
use crate::data::folder::ImageOptions;
use crate::data::pairs::{AnomalyFolders, load_anomaly_folders};
use crate::data::textures::AnomalyLoad;
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyFolder {
    pub normal: PathBuf,
    #[serde(default)]
    pub test: Option<PathBuf>,
    #[serde(default)]
    pub masks: Option<PathBuf>,
    /// Images are resized to `[height, width]`.
    pub size: [usize; 2],
    #[serde(default)]
    pub grayscale: bool,
}

impl AnomalyFolder {
    fn image_options(&self) -> ImageOptions {
        ImageOptions {
            size: self.size,
            grayscale: self.grayscale,
        }
    }
}

impl Source for AnomalyFolder {
    fn title() -> &'static str {
        "My anomaly images (normal images)"
    }
    /// Normal, test and mask folders come from the data panel's tools or a preset.
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        None
    }
    fn label(&self) -> String {
        format!("anomaly folder {}", self.normal.display())
    }
    /// The normal images only; [`Source::anomaly_set`] loads the rest.
    fn load(&self, _seed: u64) -> Result<Dataset, DataError> {
        let folders = AnomalyFolders {
            normal: self.normal.clone(),
            test: None,
            masks: None,
        };
        Ok(
            load_anomaly_folders(&folders, self.image_options(), None, |_, _| {})?
                .set
                .normal,
        )
    }
    fn anomaly_set(&self, _seed: u64) -> Result<Option<AnomalyLoad>, DataError> {
        let folders = AnomalyFolders {
            normal: self.normal.clone(),
            test: self.test.clone(),
            masks: self.masks.clone(),
        };
        load_anomaly_folders(&folders, self.image_options(), None, |_, _| {}).map(Some)
    }
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = vec![&mut self.normal];
        paths.extend(self.test.iter_mut().chain(self.masks.iter_mut()));
        paths
    }
}
