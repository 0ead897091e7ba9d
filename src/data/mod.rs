//! Data sets: seeded synthetic generators, bundled real data, and the user's own folders.

pub mod augment;
pub mod bundled;
pub mod dataset;
pub mod folder;
pub mod load;
pub mod pairs;
pub mod photos;
pub mod segmentation;
pub mod synthetic;
pub mod textures;

pub use dataset::{Dataset, Targets};

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
