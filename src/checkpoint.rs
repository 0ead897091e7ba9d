//! A trained model as one `.safetensors` file: every parameter under its `<node>.<role>`
//! name (readable by Python's `safetensors`), and in the metadata the preset (model, data,
//! training settings), the metric history and the names of the classes the model tells
//! apart, so a model trained on a folder of cats and dogs says "cats" wherever it goes.
//!
//! Saving is atomic: a temporary file in the same folder, flushed, then renamed over the
//! target, so a crash never leaves a half-written checkpoint behind.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use safetensors::tensor::{Dtype, TensorView};

use crate::engine::{Graph, GraphError, initialize};
use crate::spec::{Preset, SpecError};
use crate::train::History;
use crate::train::snapshots::Snapshot;

pub const FORMAT: &str = "convlab-checkpoint";
pub const FORMAT_VERSION: &str = "1";
/// Checkpoints larger than this are refused before reading (the largest model the engine
/// accepts is 1 GiB of f32 parameters).
pub const MAX_CHECKPOINT_BYTES: u64 = (1 << 30) + (64 << 20);

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CheckpointError {
    pub path: String,
    pub reason: String,
}

/// Why [`Checkpoint::open`] could not open a model file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Preset(#[from] SpecError),
    /// The preset parsed but its model does not build.
    #[error("{path}: {error}")]
    Model { path: String, error: GraphError },
}

/// A loaded checkpoint: the preset it was trained from, its weights and its history.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub preset: Preset,
    pub params: Vec<(String, ArrayD<f32>)>,
    pub history: History,
    /// The names of the classes of the data it was trained on (index = output channel);
    /// empty when the data has none (regression, autoencoders) or they are unknown.
    pub class_names: Vec<String>,
    /// Copies of the weights along the training that made them (for playback), in step
    /// order, the last being these weights; empty unless kept (`convlab train
    /// --snapshots`, the window's save). Stored as tensors `snapshots/<step>/<param>`.
    pub snapshots: Vec<Snapshot>,
    /// For a segmentation model trained on colour-coded masks: the colour of each class
    /// (index = class), as the user's masks paint them.
    pub palette: Option<Vec<[u8; 3]>>,
}

/// The prefix of the snapshot tensors' names.
const SNAPSHOT_PREFIX: &str = "snapshots/";

/// Longest class list and class name a checkpoint may carry: a damaged file must not make
/// the window draw a million labels.
const MAX_CLASS_NAMES: usize = 100_000;
const MAX_CLASS_NAME_CHARS: usize = 1_000;

impl Checkpoint {
    pub fn from_graph(preset: &Preset, graph: &Graph<f32>, history: &History) -> Checkpoint {
        Checkpoint {
            preset: preset.clone(),
            params: graph
                .params()
                .iter()
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect(),
            history: history.clone(),
            class_names: Vec::new(),
            snapshots: Vec::new(),
            palette: None,
        }
    }

    /// The same checkpoint with its masks' class colours.
    pub fn with_palette(mut self, palette: Option<Vec<[u8; 3]>>) -> Checkpoint {
        self.palette = palette;
        self
    }

    /// The same checkpoint with the snapshots of its training.
    pub fn with_snapshots(mut self, snapshots: Vec<Snapshot>) -> Checkpoint {
        self.snapshots = snapshots;
        self
    }

    /// The weights at training step `step`: the last snapshot at or before it.
    pub fn at_step(&self, step: u64) -> Option<&Snapshot> {
        self.snapshots.iter().rev().find(|s| s.step <= step)
    }

    /// The same checkpoint, naming the classes of the data it was trained on.
    pub fn with_class_names(mut self, names: &[String]) -> Checkpoint {
        self.class_names = names.to_vec();
        self
    }

    /// The name of class `k`: its name when the checkpoint has one, else the index.
    pub fn class_name(&self, k: usize) -> String {
        self.class_names
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    }

    /// Opens a model file for the commands: a checkpoint (`.safetensors`) with its trained
    /// weights, or a preset (`.toml`) whose weights are initialised with `seed` (default: the
    /// preset's training seed). The flag says whether the weights came from a checkpoint.
    pub fn open(path: &Path, seed: Option<u64>) -> Result<(Checkpoint, bool), OpenError> {
        if path.extension().is_some_and(|e| e == "safetensors") {
            return Ok((Checkpoint::load(path)?, true));
        }
        let preset = Preset::load(path)?;
        let mut g = Graph::<f32>::new(&preset.model).map_err(|error| OpenError::Model {
            path: path.display().to_string(),
            error,
        })?;
        initialize(
            &mut g,
            preset.training.init,
            seed.unwrap_or(preset.training.seed),
        );
        Ok((
            Checkpoint::from_graph(&preset, &g, &History::default()),
            false,
        ))
    }

    /// A graph with this checkpoint's weights.
    pub fn graph(&self) -> Result<Graph<f32>, GraphError> {
        Graph::with_params(
            &self.preset.model,
            self.params
                .iter()
                .map(|(name, value)| (name, value.clone())),
        )
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut metadata = HashMap::new();
        metadata.insert("format".to_string(), FORMAT.to_string());
        metadata.insert("format_version".to_string(), FORMAT_VERSION.to_string());
        metadata.insert("preset".to_string(), self.preset.to_toml());
        metadata.insert(
            "history".to_string(),
            serde_json::to_string(&self.history).expect("history serialises"),
        );
        if !self.class_names.is_empty() {
            metadata.insert(
                "class_names".to_string(),
                serde_json::to_string(&self.class_names).expect("names serialise"),
            );
        }
        if let Some(palette) = &self.palette {
            metadata.insert(
                "palette".to_string(),
                serde_json::to_string(palette).expect("colours serialise"),
            );
        }
        if !self.snapshots.is_empty() {
            let moments: Vec<serde_json::Value> = self
                .snapshots
                .iter()
                .map(|s| serde_json::json!({ "step": s.step, "epoch": s.epoch }))
                .collect();
            metadata.insert(
                "snapshots".to_string(),
                serde_json::Value::Array(moments).to_string(),
            );
        }
        let snapshot_params = self.snapshots.iter().flat_map(|s| {
            s.params
                .iter()
                .map(move |(name, v)| (format!("{SNAPSHOT_PREFIX}{}/{name}", s.step), v))
        });
        let raw: Vec<(String, Vec<u8>, Vec<usize>)> = self
            .params
            .iter()
            .map(|(name, v)| (name.clone(), v))
            .chain(snapshot_params)
            .map(|(name, v)| {
                let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                (name, bytes, v.shape().to_vec())
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = raw
            .iter()
            .map(|(name, bytes, shape)| {
                (
                    name.clone(),
                    TensorView::new(Dtype::F32, shape.clone(), bytes).expect("sizes match"),
                )
            })
            .collect();
        safetensors::serialize(views, Some(metadata)).expect("in-memory serialisation")
    }

    /// Parses and validates: the preset must build, and the tensors must be exactly the
    /// model's parameters, f32, with matching shapes and finite values.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Checkpoint, CheckpointError> {
        let err = |reason: String| CheckpointError {
            path: origin.to_string(),
            reason,
        };
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| err(format!("not a safetensors file: {e}")))?;
        let md = meta.metadata().clone().unwrap_or_default();
        if md.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(err(
                "not a ConvLab checkpoint (metadata 'format' is missing)".into(),
            ));
        }
        let preset_text = md
            .get("preset")
            .ok_or_else(|| err("metadata has no 'preset'".into()))?;
        let preset = Preset::parse(preset_text, &format!("{origin} (embedded preset)"))
            .map_err(|e| err(e.to_string()))?;
        let history: History = match md.get("history") {
            Some(h) => {
                serde_json::from_str(h).map_err(|e| err(format!("metadata 'history': {e}")))?
            }
            None => History::default(),
        };
        let class_names: Vec<String> = match md.get("class_names") {
            Some(names) => serde_json::from_str(names)
                .map_err(|e| err(format!("metadata 'class_names': {e}")))?,
            None => Vec::new(),
        };
        if class_names.len() > MAX_CLASS_NAMES
            || class_names
                .iter()
                .any(|n| n.chars().count() > MAX_CLASS_NAME_CHARS)
        {
            return Err(err(format!(
                "metadata 'class_names': more than {MAX_CLASS_NAMES} names or a name longer \
                 than {MAX_CLASS_NAME_CHARS} characters"
            )));
        }
        let palette: Option<Vec<[u8; 3]>> = match md.get("palette") {
            Some(text) => Some(
                serde_json::from_str(text).map_err(|e| err(format!("metadata 'palette': {e}")))?,
            ),
            None => None,
        };
        if palette.as_ref().is_some_and(|p| p.len() > MAX_CLASS_NAMES) {
            return Err(err(format!(
                "metadata 'palette': more than {MAX_CLASS_NAMES} colours"
            )));
        }
        let moments: Vec<(u64, f64)> = match md.get("snapshots") {
            Some(text) => {
                let v: Vec<serde_json::Value> = serde_json::from_str(text)
                    .map_err(|e| err(format!("metadata 'snapshots': {e}")))?;
                v.iter()
                    .map(|m| match (m["step"].as_u64(), m["epoch"].as_f64()) {
                        (Some(step), Some(epoch)) if epoch.is_finite() => Ok((step, epoch)),
                        _ => Err(err(format!("metadata 'snapshots': bad entry {m}"))),
                    })
                    .collect::<Result<_, _>>()?
            }
            None => Vec::new(),
        };
        let tensors = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| err(format!("damaged tensors: {e}")))?;
        // Every tensor in the file is read as f32 with finite values; the graph then checks
        // that they are exactly the model's parameters with its shapes. By name, so that a
        // file with several faults always reports the same one.
        let mut in_file = tensors.tensors();
        in_file.sort_by(|a, b| a.0.cmp(&b.0));
        let mut stored = Vec::with_capacity(in_file.len());
        let mut snapshot_tensors: HashMap<u64, Vec<(String, ArrayD<f32>)>> = HashMap::new();
        for (name, t) in in_file {
            if t.dtype() != Dtype::F32 {
                return Err(err(format!(
                    "tensor '{name}' is {:?}, expected F32",
                    t.dtype()
                )));
            }
            let values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(err(format!("tensor '{name}' holds NaN or infinite values")));
            }
            let value = ArrayD::from_shape_vec(IxDyn(t.shape()), values)
                .map_err(|e| err(format!("tensor '{name}': {e}")))?;
            if let Some(rest) = name.strip_prefix(SNAPSHOT_PREFIX) {
                let (step, param) = rest
                    .split_once('/')
                    .and_then(|(step, param)| Some((step.parse::<u64>().ok()?, param)))
                    .ok_or_else(|| {
                        err(format!("tensor '{name}' is not snapshots/<step>/<name>"))
                    })?;
                snapshot_tensors
                    .entry(step)
                    .or_default()
                    .push((param.to_string(), value));
            } else {
                stored.push((name, value));
            }
        }
        let mut graph =
            Graph::<f32>::with_params(&preset.model, stored).map_err(|e| err(e.to_string()))?;
        // In the model's order; the graph is not needed further.
        let params: Vec<(String, ArrayD<f32>)> = graph
            .params_mut()
            .iter_mut()
            .map(|p| (p.name.clone(), std::mem::take(&mut p.value)))
            .collect();
        let snapshots = snapshots_of(&params, moments, snapshot_tensors).map_err(err)?;
        Ok(Checkpoint {
            preset,
            params,
            history,
            class_names,
            snapshots,
            palette,
        })
    }

    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let origin = path.display().to_string();
        let err = |reason: String| CheckpointError {
            path: origin.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_CHECKPOINT_BYTES {
            return Err(err(format!(
                "{} bytes is larger than any model ConvLab makes",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        Checkpoint::from_bytes(&bytes, &origin)
    }

    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        write_atomically(path, &self.to_bytes())
    }
}

/// The snapshots named in the metadata, each holding exactly the model's parameters with
/// their shapes (a snapshot of another model is refused with the reason).
fn snapshots_of(
    params: &[(String, ArrayD<f32>)],
    moments: Vec<(u64, f64)>,
    mut tensors: HashMap<u64, Vec<(String, ArrayD<f32>)>>,
) -> Result<Vec<Snapshot>, String> {
    let mut snapshots = Vec::with_capacity(moments.len());
    for (step, epoch) in moments {
        let mut values: HashMap<String, ArrayD<f32>> = tensors
            .remove(&step)
            .ok_or_else(|| format!("snapshot at step {step} has no tensors"))?
            .into_iter()
            .collect();
        let mut ordered = Vec::with_capacity(params.len());
        for (name, model_value) in params {
            let value = values.remove(name).ok_or_else(|| {
                format!("snapshot at step {step} lacks '{name}': another model's")
            })?;
            if value.shape() != model_value.shape() {
                return Err(format!(
                    "snapshot at step {step}: '{name}' is {:?}, the model's is {:?}",
                    value.shape(),
                    model_value.shape()
                ));
            }
            ordered.push((name.clone(), value));
        }
        if let Some(extra) = values.keys().next() {
            return Err(format!(
                "snapshot at step {step} has '{extra}', which the model lacks"
            ));
        }
        snapshots.push(Snapshot {
            step,
            epoch,
            params: std::sync::Arc::new(ordered),
        });
    }
    if let Some(step) = tensors.keys().next() {
        return Err(format!(
            "tensors of a snapshot at step {step} that the metadata does not list"
        ));
    }
    snapshots.sort_by_key(|s| s.step);
    Ok(snapshots)
}

/// Writes `bytes` to `path` atomically ([`crate::atomic_file`]), naming the file in errors.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    crate::atomic_file::write_atomically(path, bytes).map_err(|e| CheckpointError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}
