//! Tensors → RGBA pictures, without egui: colour maps, sample thumbnails, image grids.
//!
//! The window uploads these as textures; the CLI and tests can write or check the same
//! pixels. Imports `engine` and `data` types only.

pub mod animation;
pub mod charts;
pub mod classical;
pub mod colormap;
pub mod confusion;
pub mod curves;
pub mod draw;
pub mod error;
pub mod grid;
pub mod maps;
pub mod mask_overlay;
pub mod overlay;
pub mod routing;
pub mod sample;
pub mod scale;
pub mod text;
pub mod views;

pub use colormap::Colormap;
pub use error::VizError;
pub use grid::tile;
pub use sample::{Rgba, sample_rgba};
