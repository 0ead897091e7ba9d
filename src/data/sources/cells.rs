//! Cell-like blobs with pixel masks (`source = "cells"`, see
//! [`crate::data::segmentation`]); its options and loading are
//! [`super::generated_masks`]'s.

use super::generated_masks::{Generate, GeneratedMasks, MaskGenerator};
use crate::data::segmentation::cells;

pub type Cells = GeneratedMasks<CellBlobs>;

/// Names the cells generator in the type of [`Cells`].
#[derive(Clone, Debug, PartialEq)]
pub struct CellBlobs;

impl MaskGenerator for CellBlobs {
    const TITLE: &'static str = "Cells (segmentation)";
    const LABEL: &'static str = "cells";
    const GENERATE: Generate = cells;
}
