//! `convlab dump`: one forward and backward pass written as NumPy `.npy` files, plus a
//! `manifest.json` that says what each file is.
//!
//! Arrays are C-order, little-endian float32 (labels: int64), with the ranks of the ONNX
//! export (see [`crate::onnx::output_ranks`]): NCHW, or `[N, F]` after `flatten`/`dense`.
//! The folder is written beside its final place and renamed into it, so an error leaves
//! nothing half-written; an earlier dump in the same folder is replaced.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ndarray::{Array4, ArrayD};
use serde_json::{Value, json};

use crate::checkpoint::Checkpoint;
use crate::data::folder::{ImageError, ImageOptions, load_image};
use crate::data::{DataError, Targets};
use crate::engine::loss::LossError;
use crate::engine::{Graph, GraphError, Mode, Target, Tensor, initialize, loss};
use crate::npy::{Npy, NpyError, load_npy, npy_f32, npy_i64};
use crate::onnx::{OnnxError, export_model, output_ranks};
use crate::spec::Preset;

pub const DUMP_FORMAT: &str = "convlab-dump";

/// Why a dump was not written (nothing is, then).
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("weights do not match the model: {0}")]
    Weights(GraphError),
    #[error(transparent)]
    Model(GraphError),
    #[error("data: {0}")]
    Data(DataError),
    #[error(
        "--sample {sample} is out of range: the {set} set has {len} samples (0..={})",
        .len.saturating_sub(1)
    )]
    SampleOutOfRange {
        sample: usize,
        set: &'static str,
        len: usize,
    },
    #[error("the data's samples are {data:?} but the model's input is {model:?}")]
    DataShape { data: [usize; 3], model: [usize; 3] },
    #[error(
        "the model takes {0} channels; an image gives 1 (grey) or 3 (RGB); use --input FILE.npy"
    )]
    ImageChannels(usize),
    #[error("{}: {error}", .path.display())]
    ImageHeader {
        path: PathBuf,
        error: image::ImageError,
    },
    #[error("{}: {error}", .path.display())]
    Image { path: PathBuf, error: ImageError },
    #[error(transparent)]
    Npy(NpyError),
    #[error("{what}: {error}")]
    Labels { what: String, error: NpyError },
    #[error("{what} has shape {shape:?}; the model needs {}", sample_shapes(*.sample))]
    SampleShape {
        what: String,
        shape: Vec<usize>,
        sample: [usize; 3],
    },
    #[error("{what} holds no samples")]
    NoSamples { what: String },
    #[error("{what} holds NaN or infinite values")]
    NotFinite { what: String },
    #[error("label {label} is out of range: the model outputs {classes} classes (0..={})", .classes - 1)]
    LabelOutOfRange { label: i64, classes: usize },
    #[error(
        "--label needs a model trained with cross_entropy; this one uses {0}: give --target FILE.npy"
    )]
    LabelNeedsCrossEntropy(&'static str),
    #[error(
        "{what} has shape {shape:?}; cross_entropy needs one class index per sample{} ({n} samples)",
        label_shapes(*.pixels)
    )]
    LabelShape {
        what: String,
        shape: Vec<usize>,
        n: usize,
        pixels: [usize; 2],
    },
    #[error("{what} has {got} samples but the input has {n}")]
    SampleCount { what: String, got: usize, n: usize },
    #[error("the loss {0} needs a target: give --target FILE.npy")]
    NeedsTarget(&'static str),
    #[error("loss: {0}")]
    Loss(LossError),
    #[error("two arrays would both be written to '{0}'; rename the node that clashes")]
    NameClash(String),
    #[error(transparent)]
    Export(OnnxError),
    #[error("{}: {problem}", .path.display())]
    Folder {
        path: PathBuf,
        problem: FolderProblem,
    },
}

/// Why the dump folder cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum FolderProblem {
    #[error("not a folder name")]
    NotAName,
    #[error("exists and is not a folder")]
    NotAFolder,
    #[error("exists and is not an earlier dump; choose a new or empty folder")]
    NotAnEarlierDump,
    #[error(transparent)]
    Io(std::io::Error),
}

/// The shapes an npy array of samples `[c, h, w]` may have, for messages.
fn sample_shapes([c, h, w]: [usize; 3]) -> String {
    let flat = if h * w == 1 {
        format!(" or [n, {c}]")
    } else {
        String::new()
    };
    format!("[n, {c}, {h}, {w}] or [{c}, {h}, {w}]{flat}")
}

/// What an npy array of class indices must look like for outputs of `[oh, ow]` pixels.
fn label_shapes([oh, ow]: [usize; 2]) -> String {
    if oh * ow > 1 {
        format!(" and pixel: [n, {oh}, {ow}]")
    } else {
        ": [n]".into()
    }
}
// ---------------------------------------------------------------------------------------
// The dump

/// Where the input comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum InputSource {
    /// Sample `k` of the preset's validation set (the training set when there is none).
    Sample(usize),
    /// An image, resized to the model's input (as folder data sets are).
    Image(PathBuf),
    /// An array: `[n, c, h, w]`, `[c, h, w]`, or `[n, f]` / `[f]` for `[f, 1, 1]` inputs.
    Npy(PathBuf),
}

#[derive(Clone, Debug, PartialEq)]
pub enum TargetSource {
    /// The sample's own target (dataset input), or the predicted class (file input).
    Default,
    Label(usize),
    Npy(PathBuf),
}

#[derive(Clone, Debug)]
pub struct DumpOptions {
    pub input: InputSource,
    pub target: TargetSource,
    pub mode: Mode,
    /// Dropout seed (train mode) and, for presets, the weight-initialisation seed;
    /// defaults to the preset's training seed.
    pub seed: Option<u64>,
    /// Also write `model.onnx`.
    pub model_onnx: bool,
}

/// `convlab dump` arguments.
#[derive(clap::Args, Debug)]
pub struct DumpArgs {
    /// A checkpoint (.safetensors), or a preset (.toml) with freshly initialised weights.
    pub model: PathBuf,
    /// The folder to write (created; an earlier dump there is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Input: an image (resized to the model's input, grey or RGB by its channels) or an
    /// array [n, c, h, w] / [c, h, w]. Default: a sample of the preset's data.
    #[arg(long, value_name = "FILE.png|FILE.npy", conflicts_with = "sample")]
    pub input: Option<PathBuf>,
    /// Which validation sample to use (default 0).
    #[arg(long, value_name = "K")]
    pub sample: Option<usize>,
    /// Target array: class indices for cross_entropy, else the output's shape.
    #[arg(long, value_name = "FILE.npy", conflicts_with = "label")]
    pub target: Option<PathBuf>,
    /// Class index used as the target of every sample (cross_entropy models).
    #[arg(long, value_name = "K")]
    pub label: Option<usize>,
    #[arg(long, value_enum, default_value = "eval")]
    pub mode: DumpMode,
    /// Dropout seed (and initialisation seed for a preset); default: the preset's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write the model as model.onnx.
    #[arg(long)]
    pub model_onnx: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpMode {
    Eval,
    Train,
}

/// Runs `convlab dump`.
pub fn run_dump(args: &DumpArgs) -> anyhow::Result<()> {
    let (checkpoint, trained) = Checkpoint::open(&args.model, args.seed)?;
    let preset = &checkpoint.preset;
    let input = match &args.input {
        Some(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy")) => {
            InputSource::Npy(p.clone())
        }
        Some(p) => InputSource::Image(p.clone()),
        None => InputSource::Sample(args.sample.unwrap_or(0)),
    };
    let target = match (&args.target, args.label) {
        (Some(p), _) => TargetSource::Npy(p.clone()),
        (None, Some(k)) => TargetSource::Label(k),
        (None, None) => TargetSource::Default,
    };
    let opts = DumpOptions {
        input,
        target,
        mode: match args.mode {
            DumpMode::Eval => Mode::Eval,
            DumpMode::Train => Mode::Train,
        },
        seed: args.seed,
        model_onnx: args.model_onnx,
    };
    let summary = dump(preset, trained.then_some(&checkpoint), &opts, &args.out)?;
    let m = &summary.manifest;
    if m["input"]["resized"] == json!(true) {
        eprintln!(
            "note: the image was resized from {} to {} (height, width)",
            m["input"]["original_size"], m["input"]["resized_to"]
        );
    }
    if m["target"]["source"] == "predicted" {
        eprintln!("note: no target given; the predicted class is the target (use --label K)");
    }
    eprintln!(
        "wrote {} files to {} ({} loss {:.6})",
        summary.files.len(),
        args.out.display(),
        m["loss_name"].as_str().unwrap_or(""),
        summary.loss
    );
    Ok(())
}

/// What was written.
#[derive(Clone, Debug)]
pub struct DumpSummary {
    pub files: Vec<String>,
    pub loss: f64,
    pub manifest: Value,
}

enum DumpTarget {
    Labels(Vec<usize>),
    Dense(Tensor<f32>),
}

fn as_4d(v: Vec<f32>, shape: [usize; 4]) -> Tensor<f32> {
    Array4::from_shape_vec(shape, v).expect("size checked")
}

/// An npy array as `n` samples of `sample` = `[c, h, w]`, or an error naming `what`.
fn npy_as_samples(npy: &Npy, sample: [usize; 3], what: &str) -> Result<Tensor<f32>, DumpError> {
    let [c, h, w] = sample;
    let s = npy.shape.as_slice();
    let n = match s {
        [n, a, b, d] if [*a, *b, *d] == sample => *n,
        [a, b, d] if [*a, *b, *d] == sample => 1,
        [n, f] if *f == c && h * w == 1 => *n,
        [f] if *f == c && h * w == 1 => 1,
        _ => {
            return Err(DumpError::SampleShape {
                what: what.to_string(),
                shape: s.to_vec(),
                sample,
            });
        }
    };
    if n == 0 {
        return Err(DumpError::NoSamples { what: what.into() });
    }
    let v = npy.to_f32();
    if v.iter().any(|x| !x.is_finite()) {
        return Err(DumpError::NotFinite { what: what.into() });
    }
    Ok(as_4d(v, [n, c, h, w]))
}

/// Writes `files` into a fresh folder beside `out`, then moves it into place. An existing
/// `out` must be empty or an earlier dump (which is replaced).
fn write_folder(out: &Path, files: &[(String, Vec<u8>)]) -> Result<(), DumpError> {
    let at = |problem| DumpError::Folder {
        path: out.to_path_buf(),
        problem,
    };
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = out
        .file_name()
        .ok_or_else(|| at(FolderProblem::NotAName))?
        .to_string_lossy()
        .into_owned();
    if out.exists() {
        if !out.is_dir() {
            return Err(at(FolderProblem::NotAFolder));
        }
        let empty = std::fs::read_dir(out)
            .map_err(|e| at(FolderProblem::Io(e)))?
            .next()
            .is_none();
        let earlier_dump = std::fs::read_to_string(out.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|m| m["format"] == DUMP_FORMAT);
        if !empty && !earlier_dump {
            return Err(at(FolderProblem::NotAnEarlierDump));
        }
    }
    let pid = std::process::id();
    let staging = parent.join(format!(".{base}.tmp-{pid}"));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&staging)?;
        for (name, bytes) in files {
            std::fs::write(staging.join(name), bytes)?;
        }
        if out.exists() {
            let old = parent.join(format!(".{base}.old-{pid}"));
            std::fs::rename(out, &old)?;
            if let Err(e) = std::fs::rename(&staging, out) {
                let _ = std::fs::rename(&old, out);
                return Err(e);
            }
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&staging, out)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(at(FolderProblem::Io(e)));
    }
    Ok(())
}

/// Runs one forward and backward pass of `preset` (with the weights of `trained`, a
/// checkpoint of this preset, or freshly initialised ones) and writes the dump folder `out`.
pub fn dump(
    preset: &Preset,
    trained: Option<&Checkpoint>,
    opts: &DumpOptions,
    out: &Path,
) -> Result<DumpSummary, DumpError> {
    let spec = &preset.model;
    let seed = opts.seed.unwrap_or(preset.training.seed);
    let mut graph = match trained {
        Some(ck) => ck.graph().map_err(DumpError::Weights)?,
        None => {
            let mut graph = Graph::<f32>::new(spec).map_err(DumpError::Model)?;
            initialize(&mut graph, preset.training.init, seed);
            graph
        }
    };
    graph.set_dropout_seed(seed);
    let lossk = preset.training.loss;
    let sample = spec.input;
    let out_shape = graph.facts().output();

    // Input (and the dataset's target when the input is a sample).
    let mut dataset_target = None;
    let (x, input_info) = match &opts.input {
        InputSource::Sample(k) => {
            let (train, val) = crate::data::load::load(&preset.data).map_err(DumpError::Data)?;
            let (set, set_name) = if val.is_empty() {
                (train, "training")
            } else {
                (val, "validation")
            };
            if *k >= set.len() {
                return Err(DumpError::SampleOutOfRange {
                    sample: *k,
                    set: set_name,
                    len: set.len(),
                });
            }
            if set.sample_shape() != sample {
                return Err(DumpError::DataShape {
                    data: set.sample_shape(),
                    model: sample,
                });
            }
            let (x, t) = crate::train::run::gather(&set, &[*k]);
            dataset_target = Some(match t {
                crate::train::run::BatchTarget::Labels(l) => DumpTarget::Labels(l),
                crate::train::run::BatchTarget::Dense(d) => DumpTarget::Dense(d),
            });
            let class = match &set.targets {
                Targets::Labels(l) => set.class_names.get(l[*k]).cloned(),
                Targets::Dense(_) => None,
            };
            (
                x,
                json!({ "source": "dataset", "set": set_name, "sample": k, "class_name": class }),
            )
        }
        InputSource::Image(path) => {
            let [c, h, w] = sample;
            if c != 1 && c != 3 {
                return Err(DumpError::ImageChannels(c));
            }
            let (iw, ih) =
                image::image_dimensions(path).map_err(|error| DumpError::ImageHeader {
                    path: path.clone(),
                    error,
                })?;
            let v = load_image(
                path,
                ImageOptions {
                    size: [h, w],
                    grayscale: c == 1,
                },
            )
            .map_err(|error| DumpError::Image {
                path: path.clone(),
                error,
            })?;
            let resized = (ih as usize, iw as usize) != (h, w);
            (
                as_4d(v, [1, c, h, w]),
                json!({
                    "source": "image",
                    "path": path.display().to_string(),
                    "original_size": [ih, iw],
                    "resized_to": [h, w],
                    "resized": resized,
                    "scale": "pixels / 255",
                }),
            )
        }
        InputSource::Npy(path) => {
            let npy = load_npy(path).map_err(DumpError::Npy)?;
            let x = npy_as_samples(&npy, sample, &path.display().to_string())?;
            (
                x,
                json!({ "source": "npy", "path": path.display().to_string() }),
            )
        }
    };
    let n = x.shape()[0];
    let y = graph
        .forward(&x, opts.mode)
        .map_err(DumpError::Model)?
        .clone();
    let [oc, oh, ow] = out_shape;

    // Target.
    let label_range = |l: i64| -> Result<usize, DumpError> {
        if l < 0 || l as usize >= oc {
            Err(DumpError::LabelOutOfRange {
                label: l,
                classes: oc,
            })
        } else {
            Ok(l as usize)
        }
    };
    let (target, target_source) = match &opts.target {
        TargetSource::Label(k) => {
            if !lossk.wants_labels() {
                return Err(DumpError::LabelNeedsCrossEntropy(lossk.torch_name()));
            }
            let k = label_range(*k as i64)?;
            (DumpTarget::Labels(vec![k; n * oh * ow]), "label")
        }
        TargetSource::Npy(path) => {
            let npy = load_npy(path).map_err(DumpError::Npy)?;
            let what = path.display().to_string();
            if lossk.wants_labels() {
                let ok = match npy.shape.as_slice() {
                    [] | [_] => oh * ow == 1 && npy.len() == n.max(1) && (npy.len() == n || n == 1),
                    [a, b] => n == 1 && [*a, *b] == [oh, ow],
                    [m, a, b] => *m == n && [*a, *b] == [oh, ow],
                    _ => false,
                };
                if !ok {
                    return Err(DumpError::LabelShape {
                        what,
                        shape: npy.shape.clone(),
                        n,
                        pixels: [oh, ow],
                    });
                }
                let labels = npy
                    .to_labels()
                    .map_err(|error| DumpError::Labels {
                        what: what.clone(),
                        error,
                    })?
                    .into_iter()
                    .map(label_range)
                    .collect::<Result<Vec<_>, _>>()?;
                (DumpTarget::Labels(labels), "file")
            } else {
                let t = npy_as_samples(&npy, out_shape, &what)?;
                if t.shape()[0] != n {
                    return Err(DumpError::SampleCount {
                        what,
                        got: t.shape()[0],
                        n,
                    });
                }
                (DumpTarget::Dense(t), "file")
            }
        }
        TargetSource::Default => match dataset_target {
            Some(t) => (t, "dataset"),
            None if lossk.wants_labels() => {
                // The predicted class of every sample (and pixel).
                let mut labels = Vec::with_capacity(n * oh * ow);
                for s in 0..n {
                    for i in 0..oh {
                        for j in 0..ow {
                            let mut best = 0;
                            for ch in 1..oc {
                                if y[[s, ch, i, j]] > y[[s, best, i, j]] {
                                    best = ch;
                                }
                            }
                            labels.push(best);
                        }
                    }
                }
                (DumpTarget::Labels(labels), "predicted")
            }
            None => {
                return Err(DumpError::NeedsTarget(lossk.torch_name()));
            }
        },
    };
    let (value, grad) = match &target {
        DumpTarget::Labels(l) => loss(lossk, &y, Target::Labels(l)),
        DumpTarget::Dense(t) => loss(lossk, &y, Target::Dense(t)),
    }
    .map_err(DumpError::Loss)?;
    // A VAE's loss adds β·KL of its sampling nodes (the full β, as validation counts it).
    let beta = preset.training.kl_weight;
    let kl = graph.kl_divergence();
    let value = value + beta as f32 * kl;
    graph
        .backward_with_kl(&grad, true, beta as f32)
        .map_err(DumpError::Model)?;

    // Files.
    let facts = graph.facts().clone();
    let ranks = output_ranks(spec, &facts);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names = HashSet::new();
    let mut add = |files: &mut Vec<(String, Vec<u8>)>, name: String, bytes: Vec<u8>| {
        if !names.insert(name.clone()) {
            return Err(DumpError::NameClash(name));
        }
        files.push((name.clone(), bytes));
        Ok::<String, DumpError>(name)
    };
    let tensor_shape = |t: &Tensor<f32>, rank: usize| -> Vec<usize> {
        let s = t.shape();
        if rank == 2 {
            vec![s[0], s[1] * s[2] * s[3]]
        } else {
            s.to_vec()
        }
    };
    let tensor_npy = |t: &Tensor<f32>, rank: usize| -> (Vec<usize>, Vec<u8>) {
        let shape = tensor_shape(t, rank);
        let t = t.as_standard_layout();
        (
            shape.clone(),
            npy_f32(&shape, t.as_slice().expect("standard layout")),
        )
    };
    let mut outputs = Vec::new();
    let mut node_grads = Vec::new();
    let mut masks = Vec::new();
    let mut noise = Vec::new();
    let (shape, bytes) = tensor_npy(&x, 4);
    let input_file = add(&mut files, "input.npy".into(), bytes)?;
    let input_entry = {
        let mut v = input_info;
        v["file"] = json!(input_file);
        v["shape"] = json!(shape);
        v
    };
    let target_entry = match &target {
        DumpTarget::Labels(l) => {
            let shape = if oh * ow == 1 {
                vec![n]
            } else {
                vec![n, oh, ow]
            };
            let v: Vec<i64> = l.iter().map(|&x| x as i64).collect();
            let f = add(&mut files, "target.npy".into(), npy_i64(&shape, &v))?;
            json!({ "file": f, "shape": shape, "dtype": "int64", "kind": "class_indices", "source": target_source })
        }
        DumpTarget::Dense(t) => {
            let (shape, bytes) = tensor_npy(t, *ranks.last().expect("nodes"));
            let f = add(&mut files, "target.npy".into(), bytes)?;
            json!({ "file": f, "shape": shape, "dtype": "float32", "kind": "dense", "source": target_source })
        }
    };
    for (i, nf) in facts.nodes.iter().enumerate() {
        let out_t = &graph.outputs()[i];
        let (shape, bytes) = tensor_npy(out_t, ranks[i]);
        let f = add(&mut files, format!("{}.npy", nf.name), bytes)?;
        outputs.push(json!({ "node": nf.name, "kind": nf.kind, "file": f, "shape": shape }));
        if let Some(g) = graph.node_grad(&nf.name) {
            let (shape, bytes) = tensor_npy(g, ranks[i]);
            let f = add(&mut files, format!("{}.grad.npy", nf.name), bytes)?;
            node_grads.push(json!({ "node": nf.name, "file": f, "shape": shape }));
        }
        if let Some(m) = graph.dropout_mask(&nf.name) {
            let keep = m.mapv(|v| if v != 0.0 { 1.0 } else { 0.0 });
            let (shape, bytes) = tensor_npy(&keep, ranks[i]);
            let f = add(&mut files, format!("{}.mask.npy", nf.name), bytes)?;
            let p = match &spec.nodes[i].kind {
                crate::engine::NodeKind::Dropout(d) => d.p,
                _ => 0.0,
            };
            masks.push(json!({ "node": nf.name, "file": f, "shape": shape, "p": p, "scale": 1.0 / (1.0 - p) }));
        }
        // A sampling node in training: the ε it drew, so z = μ + exp(½ log σ²)·ε can be
        // recomputed.
        if let Some(eps) = graph.sampling_noise(&nf.name) {
            let (shape, bytes) = tensor_npy(eps, ranks[i]);
            let f = add(&mut files, format!("{}.eps.npy", nf.name), bytes)?;
            noise.push(json!({ "node": nf.name, "file": f, "shape": shape }));
        }
    }
    let mut param_grads = Vec::new();
    for p in graph.params().iter().filter(|p| p.trainable()) {
        let g = p.grad.as_standard_layout();
        let f = add(
            &mut files,
            format!("{}.grad.npy", p.name),
            npy_f32(g.shape(), g.as_slice().expect("standard layout")),
        )?;
        param_grads.push(json!({ "param": p.name, "file": f, "shape": g.shape() }));
    }
    let input_grad = match graph.input_grad() {
        Some(g) => {
            let (shape, bytes) = tensor_npy(g, 4);
            let f = add(&mut files, "input.grad.npy".into(), bytes)?;
            json!({ "file": f, "shape": shape })
        }
        None => Value::Null,
    };
    let mut model_file = Value::Null;
    if opts.model_onnx {
        let params: Vec<(String, ArrayD<f32>)> = graph
            .params()
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        let bytes = export_model(spec, &params, Some(preset)).map_err(DumpError::Export)?;
        model_file = json!(add(&mut files, "model.onnx".into(), bytes)?);
    }
    let listed: Vec<String> = files
        .iter()
        .map(|f| f.0.clone())
        .chain(std::iter::once("manifest.json".to_string()))
        .collect();
    let manifest = json!({
        "format": DUMP_FORMAT,
        "format_version": 1,
        "preset": preset.name,
        "mode": if opts.mode == Mode::Train { "train" } else { "eval" },
        "seed": seed,
        "weights": if trained.is_some() { "checkpoint" } else { "initialised from the preset" },
        "loss_name": lossk.torch_name(),
        "reduction": "mean",
        "loss": value as f64,
        "dtype": "float32",
        "layout": "C order; NCHW, or [N, F] after flatten/dense (as in the ONNX export)",
        "input": input_entry,
        "target": target_entry,
        "outputs": outputs,
        "node_grads": node_grads,
        "param_grads": param_grads,
        "input_grad": input_grad,
        "masks": masks,
        "noise": noise,
        "kl_weight": beta,
        "kl": kl as f64,
        "model": model_file,
        "files": listed,
    });
    let text = serde_json::to_string_pretty(&manifest).expect("json") + "\n";
    files.push(("manifest.json".into(), text.into_bytes()));
    write_folder(out, &files)?;
    Ok(DumpSummary {
        files: listed,
        loss: value as f64,
        manifest,
    })
}
