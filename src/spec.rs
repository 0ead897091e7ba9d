//! The preset text format: model + data + training settings in one human-editable TOML file.
//!
//! Unknown keys and bad values are errors that name the key path (`model.nodes[2].kernel`),
//! so a typo in a preset never silently falls back to a default.

pub mod view;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::pairs::MaskFormat;
use crate::data::segmentation::SegClasses;
use crate::data::synthetic::PointPattern;
use crate::data::textures::TextureKind;
use crate::engine::{GraphError, Init, LossKind, ModelSpec, OptimizerKind};

/// The format version this build writes and reads.
pub const PRESET_VERSION: u32 = 1;
/// Presets larger than this are refused before parsing (a preset is a few kilobytes).
pub const MAX_PRESET_BYTES: u64 = 4 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub model: ModelSpec,
    pub data: DataSpec,
    pub training: TrainingSpec,
    /// What a finished run should reach, checked by the tests and shown to the lecturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSpec>,
    /// Lecture steps, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub walkthrough: Vec<crate::walkthrough::Step>,
}

/// The validation metric a preset promises after its epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// `accuracy`, `iou` or `mse`.
    pub metric: String,
    /// Reached or exceeded (accuracy, IoU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// Reached or undercut (MSE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
}

/// Where the samples come from and how they are split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    #[serde(flatten)]
    pub source: DataSource,
    /// Share of the samples held out for validation.
    #[serde(default = "default_val_fraction")]
    pub val_fraction: f64,
    /// Seed of the generator (synthetic sets) and of the train/validation split.
    #[serde(default)]
    pub seed: u64,
}

fn default_val_fraction() -> f64 {
    0.2
}
fn default_samples() -> usize {
    1000
}
fn default_size() -> usize {
    28
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// 2-D point sets: xor, circles, spirals, blobs.
    Points {
        pattern: PointPattern,
        #[serde(default = "default_samples")]
        samples: usize,
        #[serde(default)]
        noise: f64,
    },
    /// Procedural shapes: circle, square, triangle, cross.
    Shapes {
        #[serde(default = "default_samples")]
        samples: usize,
        #[serde(default = "default_size")]
        size: usize,
        #[serde(default)]
        noise: f64,
    },
    /// 1-D regression of a function: sine, step, abs, gauss.
    Function {
        function: String,
        #[serde(default = "default_samples")]
        samples: usize,
        #[serde(default)]
        noise: f64,
    },
    /// The bundled 5,000 MNIST digits.
    Digits {
        /// Use only the first `limit` samples (all when absent).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// The bundled 2,000 Fashion-MNIST images.
    Fashion {
        #[serde(default)]
        limit: Option<usize>,
    },
    /// The bundled real photos (camera, astronaut, cat), one class each, as square crops
    /// resized to `size` (see `data::photos`).
    Photos {
        #[serde(default = "default_photo_size")]
        size: usize,
        #[serde(default)]
        grayscale: bool,
    },
    /// A folder with one subfolder of images per class.
    Folder {
        path: PathBuf,
        /// Images are resized to `[height, width]`.
        size: [usize; 2],
        #[serde(default)]
        grayscale: bool,
    },
    /// Texture crops for anomaly detection: normal crops to train on, test crops with
    /// synthetic defects and their masks (see `data::textures`).
    Textures {
        texture: TextureKind,
        #[serde(default = "default_texture_size")]
        size: usize,
        #[serde(default = "default_texture_samples")]
        samples: usize,
        #[serde(default = "default_texture_samples")]
        test_samples: usize,
        #[serde(default)]
        color: bool,
        #[serde(default)]
        noise: f64,
    },
    /// Cell-like blobs with pixel masks (see `data::segmentation`).
    Cells {
        #[serde(default = "default_seg_samples")]
        samples: usize,
        #[serde(default = "default_seg_size")]
        size: usize,
        #[serde(default)]
        classes: SegClasses,
        #[serde(default)]
        noise: f64,
    },
    /// Thin curvy vessel-like lines with pixel masks (see `data::segmentation`).
    Vessels {
        #[serde(default = "default_seg_samples")]
        samples: usize,
        #[serde(default = "default_seg_size")]
        size: usize,
        #[serde(default)]
        classes: SegClasses,
        #[serde(default)]
        noise: f64,
    },
    /// The user's anomaly data: a folder of normal images, optionally a folder of test
    /// images (subfolders `good`/`normal`/`ok` are normal, others anomalous) and of masks.
    AnomalyFolder {
        normal: PathBuf,
        #[serde(default)]
        test: Option<PathBuf>,
        #[serde(default)]
        masks: Option<PathBuf>,
        size: [usize; 2],
        #[serde(default)]
        grayscale: bool,
    },
    /// The user's segmentation data: images and masks paired by file stem.
    SegmentationFolder {
        images: PathBuf,
        masks: PathBuf,
        size: [usize; 2],
        #[serde(default)]
        grayscale: bool,
        #[serde(default)]
        mask_format: MaskFormat,
    },
}

fn default_photo_size() -> usize {
    64
}
fn default_texture_size() -> usize {
    32
}
fn default_texture_samples() -> usize {
    400
}
fn default_seg_samples() -> usize {
    300
}
fn default_seg_size() -> usize {
    64
}

impl DataSource {
    /// A short name for messages and the data panel.
    pub fn label(&self) -> String {
        match self {
            DataSource::Points { pattern, .. } => format!("points ({})", pattern.name()),
            DataSource::Shapes { .. } => "shapes".into(),
            DataSource::Function { function, .. } => format!("function ({function})"),
            DataSource::Digits { .. } => "digits (MNIST 5k)".into(),
            DataSource::Fashion { .. } => "fashion (Fashion-MNIST 2k)".into(),
            DataSource::Photos { .. } => "photos (camera, astronaut, cat)".into(),
            DataSource::Folder { path, .. } => format!("folder {}", path.display()),
            DataSource::Textures { texture, .. } => format!("textures ({})", texture.name()),
            DataSource::Cells { .. } => "cells".into(),
            DataSource::Vessels { .. } => "vessels".into(),
            DataSource::AnomalyFolder { normal, .. } => {
                format!("anomaly folder {}", normal.display())
            }
            DataSource::SegmentationFolder { images, .. } => {
                format!("segmentation folder {}", images.display())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    pub loss: LossKind,
    #[serde(default)]
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    pub epochs: usize,
    #[serde(default)]
    pub init: Init,
    #[serde(default)]
    pub seed: u64,
    /// Flips, shifts and noise applied to training batches (`[training.augment]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment: Option<crate::data::augment::Augment>,
}

fn default_batch() -> usize {
    32
}

/// Why a preset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{origin}: {reason}")]
    Syntax { origin: String, reason: String },
    #[error("{origin}: key '{key}': {reason}")]
    Key {
        origin: String,
        key: String,
        reason: String,
    },
    #[error("{origin}: model: {source}")]
    Model { origin: String, source: GraphError },
}

impl Preset {
    /// Parses and validates preset text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Preset, SpecError> {
        let value: toml::Table = toml::from_str(text).map_err(|e| SpecError::Syntax {
            origin: origin.to_string(),
            reason: e.message().trim().to_string() + &line_hint(text, e.span()),
        })?;
        let preset: Preset =
            serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
                let key = e.path().to_string();
                SpecError::Key {
                    origin: origin.to_string(),
                    key,
                    reason: e.into_inner().message().trim().to_string(),
                }
            })?;
        preset.validate(origin)?;
        Ok(preset)
    }

    pub fn load(path: &Path) -> Result<Preset, SpecError> {
        let io = |reason: String| SpecError::Io {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
        if meta.len() > MAX_PRESET_BYTES {
            return Err(io(format!(
                "{} bytes is too large for a preset (limit {MAX_PRESET_BYTES})",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| io("not UTF-8 text".into()))?;
        let mut preset = Preset::parse(&text, &path.display().to_string())?;
        crate::walkthrough::validate(&preset).map_err(|reason| SpecError::Key {
            origin: path.display().to_string(),
            key: "walkthrough".into(),
            reason,
        })?;
        // Folder paths are relative to the preset file.
        if let DataSource::Folder { path: data, .. } = &mut preset.data.source
            && data.is_relative()
            && let Some(dir) = path.parent()
        {
            *data = dir.join(&*data);
        }
        if let Some(dir) = path.parent() {
            let resolve = |p: &mut PathBuf| {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            };
            match &mut preset.data.source {
                DataSource::AnomalyFolder {
                    normal,
                    test,
                    masks,
                    ..
                } => {
                    resolve(normal);
                    test.iter_mut().chain(masks.iter_mut()).for_each(resolve);
                }
                DataSource::SegmentationFolder { images, masks, .. } => {
                    resolve(images);
                    resolve(masks);
                }
                _ => {}
            }
        }
        Ok(preset)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("presets always serialise")
    }

    fn validate(&self, origin: &str) -> Result<(), SpecError> {
        let key = |key: &str, reason: String| SpecError::Key {
            origin: origin.to_string(),
            key: key.to_string(),
            reason,
        };
        if self.version != PRESET_VERSION {
            return Err(key(
                "version",
                format!(
                    "this build reads version {PRESET_VERSION}, not {}",
                    self.version
                ),
            ));
        }
        crate::engine::facts::infer(&self.model).map_err(|source| SpecError::Model {
            origin: origin.to_string(),
            source,
        })?;
        let t = &self.training;
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite() && t.learning_rate <= 100.0) {
            return Err(key(
                "training.learning_rate",
                "must be a positive number up to 100".into(),
            ));
        }
        if t.batch_size == 0 || t.batch_size > 65_536 {
            return Err(key(
                "training.batch_size",
                "must be between 1 and 65536".into(),
            ));
        }
        if t.epochs > 100_000 {
            return Err(key("training.epochs", "must be at most 100000".into()));
        }
        if let Some(a) = &t.augment {
            a.validate()
                .map_err(|reason| key("training.augment", reason))?;
        }
        if let Init::Uniform { a } = t.init
            && !(a > 0.0 && a.is_finite())
        {
            return Err(key("training.init.a", "must be a positive number".into()));
        }
        // Checked here, not only when the data is made, so `info` and the editor refuse a
        // preset whose data would be NaN before anything trains on it.
        let noise = match &self.data.source {
            DataSource::Points { noise, .. }
            | DataSource::Shapes { noise, .. }
            | DataSource::Function { noise, .. }
            | DataSource::Textures { noise, .. }
            | DataSource::Cells { noise, .. }
            | DataSource::Vessels { noise, .. } => Some(*noise),
            _ => None,
        };
        let max_noise = crate::data::synthetic::MAX_NOISE;
        if let Some(noise) = noise
            && !(noise.is_finite() && (0.0..=max_noise).contains(&noise))
        {
            return Err(key(
                "data.noise",
                format!("must be a number from 0 to {max_noise}, got {noise}"),
            ));
        }
        if !(0.0..1.0).contains(&self.data.val_fraction) {
            return Err(key("data.val_fraction", "must be in [0, 1)".into()));
        }
        Ok(())
    }
}

/// " (line N)" for a byte span into `text`.
fn line_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        format!(
            " (line {})",
            text[..s.start.min(text.len())].lines().count().max(1)
        )
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const XOR: &str = r#"
version = 1
name = "xor"
[model]
input = [2, 1, 1]
[[model.nodes]]
name = "hidden"
kind = "dense"
out_features = 4
[[model.nodes]]
name = "act"
kind = "tanh"
[[model.nodes]]
name = "out"
kind = "dense"
out_features = 2
[data]
source = "points"
pattern = "xor"
[training]
loss = "cross_entropy"
learning_rate = 0.1
epochs = 10
"#;

    #[test]
    fn parses_and_round_trips() {
        let p = Preset::parse(XOR, "xor.toml").unwrap();
        assert_eq!(p.model.nodes.len(), 3);
        assert_eq!(p.training.batch_size, 32);
        let again = Preset::parse(&p.to_toml(), "again").unwrap();
        assert_eq!(p, again);
    }

    #[test]
    fn unknown_keys_name_their_path() {
        let bad = XOR.replace("out_features = 4", "out_features = 4\nkernal = 3");
        let e = Preset::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(
            e.contains("x.toml") && e.contains("model.nodes") && e.contains("kernal"),
            "{e}"
        );
        let bad = XOR.replace("pattern = \"xor\"", "pattern = \"xor\"\nsamplez = 3");
        let e = Preset::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("samplez"), "{e}");
        let bad = XOR.replace("epochs = 10", "epochs = 10\nlr = 3");
        let e = Preset::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("training") && e.contains("lr"), "{e}");
    }

    #[test]
    fn bad_values_and_kinds_are_errors() {
        let e = Preset::parse(
            &XOR.replace("kind = \"tanh\"", "kind = \"swish\""),
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("swish"), "{e}");
        let e = Preset::parse(
            &XOR.replace("out_features = 4", "out_features = -4"),
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("model.nodes"), "{e}");
        let e = Preset::parse(
            &XOR.replace("learning_rate = 0.1", "learning_rate = -1"),
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("training.learning_rate"), "{e}");
        let e = Preset::parse("version = 1\nname = ", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:") && e.contains("line"), "{e}");
    }

    #[test]
    fn model_errors_name_the_node() {
        let bad = XOR.replace("kind = \"tanh\"", "kind = \"tanh\"\ninputs = [\"nowhere\"]");
        let e = Preset::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("'act'") && e.contains("nowhere"), "{e}");
    }
}
