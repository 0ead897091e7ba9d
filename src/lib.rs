//! ConvLab: build a convolutional network by pointing and clicking, train it, and see what
//! it computes and learns.
//!
//! # Layers of the crate
//! - [`engine`]: pure compute (tensors, layers, graph, losses, optimisers). Imports nothing
//!   of ours.
//! - [`data`]: data sets; imports `engine`.
//! - `spec`, `checkpoint`: the preset text format and trained checkpoints; import `engine`
//!   and `data`.
//! - `train`: the training loop; imports the above.
//! - [`inspect`]: what a network computes for one input (activations, gradients, pooling
//!   routing, receptive fields, covariance, saliency); imports `engine` only.
//! - `cli` (and later `viz`, `ui`) sit on top.
//!
//! `engine` and `train` never import egui; `tests/architecture.rs` checks these rules.

pub mod atomic_file;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod dump;
pub mod engine;
pub mod inspect;
pub mod onnx;
pub mod render;
pub mod resident_memory;
pub mod spec;
pub mod train;
pub mod ui;
pub mod viz;
pub mod walkthrough;
