//! ONNX interchange: export a model to ONNX (opset 17), import ONNX graphs made of node kinds
//! ConvLab has.
//!
//! # The mapping
//! Every ConvLab node becomes one ONNX node whose output is named exactly after it; helper
//! nodes (a `Pad` before a reflect-padded conv, the `Neg`s around min pooling, constants)
//! get names `<node>/<what>`, which no ConvLab name can take ('/' is not allowed in node
//! names). Parameters are initializers named `<node>.weight`, `<node>.bias`,
//! `<node>.running_mean`, `<node>.running_var` in PyTorch's layouts — the same names the
//! checkpoint uses, so `safetensors.torch.load_file` gives a state dict whose keys match.
//!
//! Each kind's ONNX form is in [`mapping`], with its table.
//!
//! # Ranks
//! ConvLab keeps every activation 4-D (`[n, f, 1, 1]` after a dense layer). In ONNX, as in
//! PyTorch, `flatten` and `dense` produce `[N, F]`, and element-wise nodes keep their input's
//! rank; a spatial node reading an `[N, F]` value gets a helper `Unsqueeze` to `[N, F, 1, 1]`.
//! [`output_ranks`] says which nodes are 2-D; `convlab dump` writes arrays with the same ranks.

pub mod export;
pub mod import;
pub mod mapping;
pub mod proto;
mod reader;
mod writer;

pub use export::export_model;
pub use import::{Imported, import_model};
pub use mapping::output_ranks;

/// Largest ONNX file `import` reads.
pub const MAX_ONNX_BYTES: u64 = (1 << 30) + (64 << 20);

/// Why an export or import failed.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file is not a (complete) ONNX model.
    #[error("{0}")]
    Invalid(String),
    /// The graph uses something ConvLab has no node kind for.
    #[error("node '{node}': unsupported operator '{op}': {reason}")]
    Unsupported {
        op: String,
        node: String,
        reason: String,
    },
    /// The model cannot be exported, or its weights do not match it.
    #[error("{0}")]
    Model(String),
}
