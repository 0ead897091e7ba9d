//! `convlab export-pytorch`: a model and its training as a small PyTorch project that runs
//! and reproduces ConvLab's numbers.
//!
//! The export is a folder of five kinds of files, each written by its own module:
//! * `model.py` ([`model_py`]): an `nn.Module` whose submodules carry the ConvLab node names,
//!   so the state dict in `model.safetensors` loads with `strict=True`;
//! * `model.safetensors` ([`model_py::state_dict`]): the checkpoint's weights, or a preset's
//!   seeded initial weights, in PyTorch's layouts under the state dict's keys;
//! * `train.py` ([`train_py`]): data, loss, optimiser, learning rate and its schedule, batch
//!   size, epochs, initialisation and seed, with `--device`;
//! * the data ([`data`]): a built-in set's generated train/validation arrays as `.npy`
//!   files, or the description of the user's folders (read with torchvision's
//!   `ImageFolder` or small `Dataset` classes);
//! * `README.md` ([`readme`]): what was exported, the versions it was tested with, and what
//!   differs from ConvLab.
//!
//! Nothing here imports the checkpoint module: the caller hands over the preset and its
//! weights ([`export`]), so the module sits beside `onnx` and `checkpoint`.

use std::path::{Path, PathBuf};

use ndarray::ArrayD;

use crate::data::DataError;
use crate::engine::{Graph, GraphError, initialize};
use crate::spec::Preset;

pub mod data;
pub mod model_py;
pub mod readme;
pub mod train_py;

/// The versions the exported code was checked with (`tests/pytorch_export.rs`).
pub const TESTED_VERSIONS: &str = "Python 3.11, torch 2.15.0 (CPU), numpy 2.4, safetensors 0.8";

/// Why nothing was exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Model(GraphError),
    #[error("the weights do not fit the model: {0}")]
    Weights(String),
    #[error("data: {0}")]
    Data(DataError),
    /// A setting the exported code cannot reproduce; nothing is written rather than code
    /// that trains something else.
    #[error("cannot export {what} to PyTorch: {why}")]
    Unsupported { what: String, why: String },
    #[error("{}: {problem}", .path.display())]
    Folder { path: PathBuf, problem: String },
}

/// One file of the export: its name in the folder and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl ExportFile {
    fn text(name: &str, text: String) -> Self {
        ExportFile {
            name: name.to_string(),
            bytes: text.into_bytes(),
        }
    }
}

/// Where the weights came from, for the README and the command's report.
#[derive(Clone, Debug, PartialEq)]
pub enum WeightsOrigin {
    /// Trained weights, and where they come from (e.g. a checkpoint's file name in
    /// backticks), for the README: "the trained weights of …".
    Checkpoint(String),
    /// A preset's weights drawn with its initialisation and this seed.
    Initial { seed: u64 },
}

/// Everything an export writes, in memory: `model.py`, `train.py`, `README.md`,
/// `model.safetensors` and the data files.
pub fn export(
    preset: &Preset,
    params: &[(String, ArrayD<f32>)],
    origin: &WeightsOrigin,
) -> Result<Vec<ExportFile>, ExportError> {
    let model = model_py::ModelCode::new(preset)?;
    let weights = model.state_dict(params)?;
    let initial = model.state_dict(&initial_params(preset)?)?;
    let data = data::export_data(preset)?;
    let train = train_py::write(preset, &model, &data)?;
    let mut files = vec![
        ExportFile::text("model.py", model.python()),
        ExportFile::text("train.py", train),
        ExportFile::text("README.md", readme::write(preset, &model, &data, origin)),
        ExportFile {
            name: "model.safetensors".into(),
            bytes: weights,
        },
        ExportFile {
            name: "initial.safetensors".into(),
            bytes: initial,
        },
    ];
    files.extend(data.files);
    Ok(files)
}

/// ConvLab's initial weights of `preset`: its initialisation drawn with its training seed,
/// where `train.py` starts by default.
pub fn initial_params(preset: &Preset) -> Result<Vec<(String, ArrayD<f32>)>, ExportError> {
    let mut graph = Graph::<f32>::new(&preset.model).map_err(ExportError::Model)?;
    initialize(&mut graph, preset.training.init, preset.training.seed);
    Ok(graph
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect())
}

/// Writes the files into `out` (created when missing). A folder that holds files other
/// than an earlier export's is refused, so nothing of the user's is overwritten.
pub fn write_folder(out: &Path, files: &[ExportFile]) -> Result<(), ExportError> {
    let at = |problem: String| ExportError::Folder {
        path: out.to_path_buf(),
        problem,
    };
    if out.exists() && !out.is_dir() {
        return Err(at("exists and is not a folder".into()));
    }
    if out.is_dir() {
        let ours: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let entries = std::fs::read_dir(out).map_err(|e| at(e.to_string()))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let harmless = ours.contains(&name.as_str())
                || name == "__pycache__"
                || name.ends_with(".pt")
                || name.ends_with(".safetensors");
            if !harmless {
                return Err(at(format!(
                    "holds '{name}', which is not part of an export; choose a new or empty folder"
                )));
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| at(e.to_string()))?;
    for f in files {
        crate::atomic_file::write_atomically(&out.join(&f.name), &f.bytes).map_err(|e| {
            ExportError::Folder {
                path: out.join(&f.name),
                problem: e.to_string(),
            }
        })?;
    }
    Ok(())
}

/// Python's reserved words, and the names the generated code uses itself.
const RESERVED: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "self",
    "x",
    "model_input",
    "torch",
    "nn",
    "F",
];

/// Attributes every `nn.Module` has: a submodule of that name would hide them.
const MODULE_ATTRIBUTES: &[&str] = &[
    "T_destination",
    "add_module",
    "apply",
    "bfloat16",
    "buffers",
    "call_super_init",
    "children",
    "compile",
    "cpu",
    "cuda",
    "double",
    "dump_patches",
    "eval",
    "extra_repr",
    "float",
    "forward",
    "get_buffer",
    "get_extra_state",
    "get_parameter",
    "get_submodule",
    "half",
    "ipu",
    "load_state_dict",
    "modules",
    "mtia",
    "named_buffers",
    "named_children",
    "named_modules",
    "named_parameters",
    "parameters",
    "register_backward_hook",
    "register_buffer",
    "register_forward_hook",
    "register_forward_pre_hook",
    "register_full_backward_hook",
    "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook",
    "register_module",
    "register_parameter",
    "register_state_dict_post_hook",
    "register_state_dict_pre_hook",
    "requires_grad_",
    "set_extra_state",
    "set_submodule",
    "share_memory",
    "state_dict",
    "to",
    "to_empty",
    "train",
    "training",
    "type",
    "xpu",
    "zero_grad",
];

/// A ConvLab node name as a Python identifier: unchanged where Python allows it; other
/// characters become `_`, a leading digit gets `n` before it, and a reserved word or an
/// `nn.Module` attribute gets `_` after it.
pub fn python_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'n');
    }
    if RESERVED.contains(&s.as_str())
        || MODULE_ATTRIBUTES.contains(&s.as_str())
        || s.starts_with("__")
    {
        s.push('_');
    }
    s
}

/// `1e-5` → `1e-05`-free Python literal: the shortest text that reads back as `v`.
pub(crate) fn py_float(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_python_identifiers() {
        assert_eq!(python_name("conv1"), "conv1");
        assert_eq!(python_name("block-1.conv"), "block_1_conv");
        assert_eq!(python_name("1x1"), "n1x1");
        assert_eq!(python_name("train"), "train_");
        assert_eq!(python_name("lambda"), "lambda_");
        assert_eq!(python_name("x"), "x_");
        assert_eq!(py_float(0.02), "0.02");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(1e-5), "1e-5");
    }
}
