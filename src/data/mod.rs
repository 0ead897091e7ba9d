//! Data sets: seeded synthetic generators, bundled real data, and the user's own folders.
//!
//! A preset's `[data]` section is a [`DataSpec`]: one of the [`sources`] (each a module with
//! its options, label, checks and loader) and the train/validation split. The modules beside
//! `sources` do the work: generators, decoders, augmentation, batching.

pub mod augment;
pub mod bundled;
pub mod dataset;
pub mod diffusion;
pub mod features;
pub mod folder;
pub mod load;
pub mod noise;
pub mod pairs;
pub mod patches;
pub mod photos;
pub mod segmentation;
pub mod sources;
pub mod super_resolution;
pub mod synthetic;
pub mod textures;

pub use dataset::{Dataset, Targets};
pub use sources::{DataSource, DataSpec, Source, SourceKind};

/// Why a data set could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("bundled asset {name} is damaged: {reason}")]
    Asset { name: &'static str, reason: String },
    #[error("{0}")]
    Invalid(String),
}
