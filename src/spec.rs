//! The preset text format: model + data + training settings in one human-editable TOML file.
//!
//! Unknown keys and bad values are errors that name the key path (`model.nodes[2].kernel`),
//! so a typo in a preset never silently falls back to a default.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::DataSpec;
use crate::engine::{GraphError, Init, LossKind, ModelSpec, OptimizerKind};

pub mod own_images;
pub mod preset_diff;
pub mod unsupervised;
pub mod view;
pub mod walkthrough;

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
    /// A handcrafted pipeline on the same data (classical operators, features, a simple
    /// classifier), compared with the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<crate::classical::PipelineSpec>,
    /// An evolution of pipelines on the same data (evolved features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evolution: Option<crate::classical::EvolutionSpec>,
    /// The encoder nodes an unsupervised segmentation clusters by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupervised_segmentation: Option<unsupervised::UnsupervisedSpec>,
    /// Lecture steps, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub walkthrough: Vec<walkthrough::Step>,
}

/// The validation metric a preset promises after its epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// `accuracy`, `iou`, `mse` or `psnr`.
    pub metric: String,
    /// Reached or exceeded (accuracy, IoU, PSNR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// Reached or undercut (MSE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
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
    /// β: the weight of the sampling nodes' KL divergence to N(0, I) added to the loss (a
    /// variational autoencoder's ELBO); 0 leaves the loss as it is.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kl_weight: f64,
    /// β grows linearly from 0 to `kl_weight` over this many epochs (KL warm-up, so the
    /// decoder learns to use the code before the prior pulls it in); 0: full β at once.
    #[serde(default, skip_serializing_if = "is_zero_count")]
    pub kl_warmup_epochs: usize,
    /// How the learning rate moves over the run: constant, or down to zero along a
    /// half cosine (`"cosine"`), which settles the weights at the end of a long run.
    #[serde(default, skip_serializing_if = "LrSchedule::is_constant")]
    pub lr_schedule: LrSchedule,
}

/// The learning rate over a run (`[training] lr_schedule`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    #[default]
    Constant,
    /// lr·½(1 + cos(π·p)) after a share p of the run's steps (Loshchilov and Hutter 2017,
    /// without restarts).
    Cosine,
}

impl LrSchedule {
    fn is_constant(&self) -> bool {
        *self == LrSchedule::Constant
    }

    /// The factor on the base learning rate after `done` of `total` steps.
    pub fn factor(self, done: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let p = (done as f64 / total.max(1) as f64).min(1.0);
                0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
        }
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn is_zero_count(v: &usize) -> bool {
    *v == 0
}

impl TrainingSpec {
    /// β for the epoch `epoch` (1-based): `kl_weight` scaled by (epoch − 1) / warm-up
    /// epochs while warming up, so the first epoch trains on reconstruction alone.
    pub fn kl_weight_at(&self, epoch: usize) -> f64 {
        if self.kl_warmup_epochs == 0 {
            return self.kl_weight;
        }
        let ramp = (epoch.saturating_sub(1) as f64 / self.kl_warmup_epochs as f64).min(1.0);
        self.kl_weight * ramp
    }
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
    #[error("{origin}: model: {error}")]
    Model { origin: String, error: GraphError },
}

impl Preset {
    /// The nodes an unsupervised segmentation clusters (`[unsupervised_segmentation]
    /// nodes`); empty for the automatic choice.
    pub fn unsupervised_nodes(&self) -> Vec<String> {
        self.unsupervised_segmentation
            .as_ref()
            .map(|u| u.nodes.clone())
            .unwrap_or_default()
    }

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
        walkthrough::validate(&preset).map_err(|e| SpecError::Key {
            origin: path.display().to_string(),
            key: "walkthrough".into(),
            reason: e.to_string(),
        })?;
        // Folder paths are relative to the preset file.
        if let Some(dir) = path.parent() {
            for p in preset.data.source.source_mut().paths_mut() {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
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
        crate::engine::facts::infer(&self.model).map_err(|error| SpecError::Model {
            origin: origin.to_string(),
            error,
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
        if !(t.kl_weight >= 0.0 && t.kl_weight.is_finite()) {
            return Err(key(
                "training.kl_weight",
                "must be a finite number ≥ 0".into(),
            ));
        }
        if t.kl_warmup_epochs > 100_000 {
            return Err(key(
                "training.kl_warmup_epochs",
                "must be at most 100000".into(),
            ));
        }
        if t.epochs > 100_000 {
            return Err(key("training.epochs", "must be at most 100000".into()));
        }
        if let Some(a) = &t.augment {
            a.validate()
                .map_err(|e| key("training.augment", e.to_string()))?;
        }
        if let Some(p) = &self.pipeline {
            p.validate().map_err(|e| key("pipeline", e.to_string()))?;
        }
        if let Some(e) = &self.evolution {
            e.validate().map_err(|e| key("evolution", e.to_string()))?;
        }
        if let Some(u) = &self.unsupervised_segmentation {
            u.validate(&self.model)
                .map_err(|e| key("unsupervised_segmentation.nodes", e))?;
        }
        if let Init::Uniform { a } = t.init
            && !(a > 0.0 && a.is_finite())
        {
            return Err(key("training.init.a", "must be a positive number".into()));
        }
        self.data
            .validate()
            .map_err(|e| key(&format!("data.{}", e.key), e.reason))?;
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
    fn kl_weight_defaults_to_off_is_checked_and_warms_up_linearly() {
        let p = Preset::parse(XOR, "xor.toml").unwrap();
        assert_eq!(
            (p.training.kl_weight, p.training.kl_warmup_epochs),
            (0.0, 0)
        );
        assert!(
            !p.to_toml().contains("kl_"),
            "off stays out of saved presets"
        );
        let bad = XOR.replace("epochs = 10", "epochs = 10\nkl_weight = -0.5");
        let e = Preset::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("training.kl_weight") && e.contains("≥ 0"), "{e}");
        let on = XOR.replace(
            "epochs = 10",
            "epochs = 10\nkl_weight = 0.4\nkl_warmup_epochs = 4",
        );
        let p = Preset::parse(&on, "x.toml").unwrap();
        let betas: Vec<f64> = (1..=6).map(|e| p.training.kl_weight_at(e)).collect();
        assert_eq!(betas, [0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.4]);
        assert_eq!(Preset::parse(&p.to_toml(), "again").unwrap(), p);
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
