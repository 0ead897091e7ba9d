//! What the generated segmentation sources (`cells`, `vessels`) share: the same options
//! (`samples`, `size`, `classes`, `noise`) with the same defaults and checks, loaded through
//! one of the generators of [`crate::data::segmentation`]. Each source module names its
//! generator, title and label in a [`MaskGenerator`]; everything else is written here once.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::{FolderChoice, InvalidOption, Source, check_noise};
use crate::data::segmentation::SegClasses;
use crate::data::{DataError, Dataset};

/// A generator of [`crate::data::segmentation`]: `samples` images of `size`×`size` with their
/// masks, drawn from the data seed.
pub type Generate = fn(usize, usize, SegClasses, f64, u64) -> Result<Dataset, DataError>;

/// One generated segmentation set: what its source module tells about it.
pub trait MaskGenerator {
    /// Its name in the data panel's source picker.
    const TITLE: &'static str;
    /// Its short name in messages and the data panel.
    const LABEL: &'static str;
    const GENERATE: Generate;
}

/// The options of a generated segmentation source (the keys of its `[data]` section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedMasks<G> {
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Image side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    #[serde(default)]
    pub classes: SegClasses,
    #[serde(default)]
    pub noise: f64,
    /// Which generator: part of the type, not of the preset.
    #[serde(skip)]
    generator: PhantomData<fn() -> G>,
}

fn default_samples() -> usize {
    300
}
fn default_size() -> usize {
    64
}

impl<G> Default for GeneratedMasks<G> {
    fn default() -> Self {
        GeneratedMasks {
            samples: default_samples(),
            size: default_size(),
            classes: SegClasses::Binary,
            noise: 0.0,
            generator: PhantomData,
        }
    }
}

impl<G: MaskGenerator> Source for GeneratedMasks<G> {
    fn title() -> &'static str {
        G::TITLE
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Self::default())
    }
    fn label(&self) -> String {
        G::LABEL.into()
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        (G::GENERATE)(self.samples, self.size, self.classes, self.noise, seed)
    }
}
