//! ConvLab: build a convolutional network by pointing and clicking, train it, and see what
//! it computes and learns.
//!
//! # Layers of the crate
//! From the bottom; each imports only what stands above it in this list (never a module of
//! its own layer), and `tests/architecture.rs` fails on any other import, on a module
//! missing here, on an import circle between files, and on a window panel importing the
//! window's app.
//! 1. Utilities, importing nothing of ours: [`atomic_file`] (write-then-rename),
//!    [`resident_memory`] (the process's memory, for the soak and `train` reports), [`npy`]
//!    (NumPy `.npy` files).
//! 2. [`engine`]: pure compute (tensors, node kinds, graph, losses, optimisers, kernels).
//! 3. [`data`]: data sets. A preset's `[data]` section is a [`data::DataSpec`]; each data
//!    source is one module under [`data::sources`] (options, label, checks, loader), listed
//!    once in its registry — a new source goes there.
//! 4. [`classical`]: handcrafted image pipelines (classical operators, features, a simple
//!    classifier) and their evolution, on the same data sets as the networks.
//! 5. [`spec`]: the preset text format (model + data + training + [`spec::walkthrough`]) and
//!    its validation.
//! 6. [`inspect`] (what a network computes for one input: activations, gradients, routing,
//!    receptive fields, saliency, anomaly and segmentation scores …) and [`train`] (the
//!    training loop, the trainer thread and its messages).
//! 7. [`viz`]: tensors → RGBA pictures, without egui; draws what `inspect` computes (never
//!    imports `train`).
//! 8. [`onnx`] (export and import of graphs, nothing else), [`checkpoint`] (trained
//!    weights + preset + history in one `.safetensors`; [`checkpoint::Checkpoint::open`]
//!    and [`checkpoint::Checkpoint::graph`] are the one way the commands load a model) and
//!    [`export_pytorch`] (a model and its training as PyTorch code, from a preset and its
//!    weights).
//! 9. Commands the CLI runs: [`bench`], [`dump`], [`render`].
//! 10. [`ui`] (the window, the only user of egui/eframe/rfd) and [`cli`] (argument parsing
//!     and the remaining commands, among them `export-onnx`/`import-onnx`).
//!
//! `engine` and `train` never import egui; `unsafe` lives only in `engine::kernels`.

pub mod atomic_file;
pub mod bench;
pub mod checkpoint;
pub mod classical;
pub mod cli;
pub mod data;
pub mod dump;
pub mod engine;
pub mod export_pytorch;
pub mod inspect;
pub mod npy;
pub mod onnx;
pub mod render;
pub mod resident_memory;
pub mod spec;
pub mod train;
pub mod ui;
pub mod viz;
