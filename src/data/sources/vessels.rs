//! Thin curvy vessel-like lines with pixel masks (`source = "vessels"`, see
//! [`crate::data::segmentation`]); its options and loading are
//! [`super::generated_masks`]'s.

use super::generated_masks::{Generate, GeneratedMasks, MaskGenerator};
use crate::data::segmentation::vessels;

pub type Vessels = GeneratedMasks<VesselTree>;

/// Names the vessels generator in the type of [`Vessels`].
#[derive(Clone, Debug, PartialEq)]
pub struct VesselTree;

impl MaskGenerator for VesselTree {
    const TITLE: &'static str = "Vessels (segmentation)";
    const LABEL: &'static str = "vessels";
    const GENERATE: Generate = vessels;
}
