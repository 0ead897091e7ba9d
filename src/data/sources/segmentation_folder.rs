//! The user's segmentation data (`source = "segmentation_folder"`): images and masks paired
//! by file stem (see [`crate::data::pairs`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{FolderChoice, Source};
use crate::data::folder::ImageOptions;
use crate::data::pairs::{MaskFormat, SegmentationFolders, load_segmentation_pairs};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentationFolder {
    pub images: PathBuf,
    pub masks: PathBuf,
    /// Images are resized to `[height, width]`.
    pub size: [usize; 2],
    #[serde(default)]
    pub grayscale: bool,
    #[serde(default)]
    pub mask_format: MaskFormat,
}

impl Source for SegmentationFolder {
    fn title() -> &'static str {
        "My segmentation images (images + masks)"
    }
    /// The image and mask folders come from the data panel's tools or a preset.
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        None
    }
    fn label(&self) -> String {
        format!("segmentation folder {}", self.images.display())
    }
    fn load(&self, _seed: u64) -> Result<Dataset, DataError> {
        let opts = ImageOptions {
            size: self.size,
            grayscale: self.grayscale,
        };
        let pairs = SegmentationFolders {
            images: self.images.clone(),
            masks: self.masks.clone(),
            format: self.mask_format.clone(),
        };
        Ok(load_segmentation_pairs(&pairs, opts, None, |_, _| {})?.dataset)
    }
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.images, &mut self.masks]
    }
}
