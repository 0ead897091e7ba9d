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

impl SegmentationFolder {
    fn folders(&self) -> SegmentationFolders {
        SegmentationFolders {
            images: self.images.clone(),
            masks: self.masks.clone(),
            format: self.mask_format.clone(),
        }
    }

    fn image_options(&self) -> ImageOptions {
        ImageOptions {
            size: self.size,
            grayscale: self.grayscale,
        }
    }

    /// The colour of each class when the masks are colour-coded: the preset's palette, or
    /// the one read from the masks (which loads them once more); `None` for grey masks.
    pub fn palette(&self) -> Result<Option<Vec<[u8; 3]>>, DataError> {
        match &self.mask_format {
            MaskFormat::Palette(p) => Ok(Some(p.clone())),
            MaskFormat::Binary | MaskFormat::Indices(_) => Ok(None),
            MaskFormat::Auto => Ok(load_segmentation_pairs(
                &self.folders(),
                self.image_options(),
                None,
                |_, _| {},
            )?
            .palette),
        }
    }
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
        Ok(
            load_segmentation_pairs(&self.folders(), self.image_options(), None, |_, _| {})?
                .dataset,
        )
    }
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.images, &mut self.masks]
    }
}
