//! What the lab window and the trainer thread say to each other.
//!
//! Commands go to the worker ([`TrainerCommand`]), small events come back
//! ([`TrainerEvent`]), and heavy results (predictions over the validation set, a probed
//! sample) travel through a [`Latest`] slot that only ever holds the newest value, so memory
//! stays bounded and the window never renders a backlog.
//!
//! No egui here: the worker wakes the window through a plain callback.

use std::sync::{Arc, Mutex};

use ndarray::ArrayD;

use crate::data::Dataset;
use crate::engine::Graph;
use crate::spec::Preset;
use crate::train::snapshots::{Moment, Snapshot};
use crate::train::{EpochRecord, History};

/// Which weights a newly configured run starts from.
#[derive(Clone, Debug)]
pub enum StartWeights {
    /// Freshly initialised from the preset's `init` and `seed`; history cleared.
    Fresh,
    /// Fresh, then every parameter of the previous run whose name and shape still match is
    /// copied over, and the history continues. This is how editing a paused model keeps
    /// what it learned.
    KeepMatching,
    /// Weights and history from a checkpoint, with the snapshots of its training it
    /// carries (for playback).
    Checkpoint {
        params: Vec<(String, ArrayD<f32>)>,
        history: History,
        snapshots: Vec<Snapshot>,
    },
}

/// Everything a run needs: settings, data already split, and where the weights come from.
#[derive(Clone, Debug)]
pub struct RunSetup {
    pub preset: Preset,
    pub train: Arc<Dataset>,
    pub val: Arc<Dataset>,
    pub weights: StartWeights,
}

/// From the window to the trainer thread.
#[derive(Debug)]
pub enum TrainerCommand {
    /// Builds a new run (stops the current one first).
    Configure(Box<RunSetup>),
    /// Trains until the preset's epoch count is reached or `Pause` arrives.
    Start,
    Pause,
    /// Exactly one minibatch, then paused.
    Step,
    /// The same run from fresh weights.
    Reset,
    /// Takes effect at the next minibatch.
    SetLearningRate(f64),
    /// Total epochs to train for (the run stops when it gets there).
    SetEpochs(usize),
    /// Training-batch augmentation (applies from the next step).
    SetAugment(Option<crate::data::augment::Augment>),
    /// Predictions for one validation sample (index into the validation set).
    Probe(usize),
    /// Asks for the current weights, answered by [`TrainerEvent::Weights`].
    ExportWeights,
    /// Sets one value of a parameter tensor of the model, e.g. `unit.weight` at `[0, 1]`
    /// (the single-unit view's edits of w and b); takes effect at once, for the views and
    /// the next step.
    SetParamValue {
        name: String,
        index: Vec<usize>,
        value: f32,
    },
    /// Installs the code behind the window's inspection views (None removes it). The worker
    /// runs it on the current model at once when not training, and at most every
    /// [`crate::train::worker::INSPECT_INTERVAL`] while training.
    Inspect(Option<InspectJob>),
    Shutdown,
}

/// What the trainer is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunState {
    /// No run configured yet (or the last configuration failed).
    #[default]
    Empty,
    /// Configured, waiting for Start or Step.
    Ready,
    Running,
    Paused,
    /// Reached the epoch count.
    Finished,
    /// Stopped by an error or a panic; the weights of the last good step are kept.
    Failed,
}

impl RunState {
    pub fn label(self) -> &'static str {
        match self {
            RunState::Empty => "no run",
            RunState::Ready => "ready",
            RunState::Running => "training",
            RunState::Paused => "paused",
            RunState::Finished => "finished",
            RunState::Failed => "failed",
        }
    }
}

/// Training progress since the previous progress event (events are coalesced so that a
/// tiny model doing 100 000 steps per second does not flood the window).
#[derive(Clone, Debug, PartialEq)]
pub struct StepProgress {
    /// 1-based epoch of the latest step (counting epochs of a loaded checkpoint).
    pub epoch: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    pub steps_per_epoch: usize,
    /// Steps since the run was configured.
    pub total_steps: u64,
    /// Mean training loss of the steps since the previous event.
    pub mean_loss: f64,
    /// Training images per second over those steps (busy time only).
    pub images_per_s: f64,
    pub learning_rate: f64,
    /// Epoch position as a real number (`epoch − 1 + step / steps_per_epoch`), for curves.
    pub epoch_position: f64,
}

/// Facts about a freshly configured run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    pub train_len: usize,
    pub val_len: usize,
    pub steps_per_epoch: usize,
    pub params: usize,
    pub history: History,
}

/// Why the trainer thread could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    /// A panic while training or configuring; the thread lives on.
    #[error("the trainer crashed: {0} (the weights of the last good step are kept)")]
    Crashed(String),
    /// A panic inside a view's computation.
    #[error("a view crashed: {0} (the model is unaffected)")]
    ViewCrashed(String),
    #[error("already trained {done} of {target} epochs: raise Epochs to train on")]
    AlreadyTrained { done: usize, target: usize },
    #[error("the model has no parameter {name} at {index:?}")]
    NoParameter { name: String, index: Vec<usize> },
    #[error("there is no model to save yet: fix the model or the data first")]
    NothingToSave,
    /// The run could not be set up, or a step failed.
    #[error(transparent)]
    Run(#[from] crate::train::run::TrainError),
    /// A checkpoint's weights do not fit the model.
    #[error("checkpoint weights do not fit: {0}")]
    CheckpointMismatch(crate::engine::GraphError),
}

/// From the trainer thread to the window.
#[derive(Clone, Debug)]
pub enum TrainerEvent {
    Configured(RunInfo),
    Progress(StepProgress),
    Epoch(EpochRecord),
    State(RunState),
    /// The current weights with the preset and history they belong to (for saving).
    Weights {
        preset: Box<Preset>,
        params: Vec<(String, ArrayD<f32>)>,
        history: History,
        /// The names of the classes of the data the run trains on.
        class_names: Vec<String>,
        /// The run's snapshots, the last one being these weights.
        snapshots: Vec<Snapshot>,
    },
    /// The moments of the run whose weights are kept for playback (after each new one).
    Snapshots(Arc<Vec<Moment>>),
    /// A configuration error, a training error or a caught panic (shared: events are
    /// cloned).
    Error(Arc<TrainerError>),
}

/// Predictions of the current weights on the validation set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Epochs trained when this was computed.
    pub epochs_done: usize,
    /// Steps since configuration when this was computed.
    pub total_steps: u64,
    /// Predicted class per validation sample (empty when the task is not classification).
    pub predicted: Vec<usize>,
    /// Softmax probability of the predicted class.
    pub confidence: Vec<f32>,
    /// `confusion[true][predicted]` counts (classification only).
    pub confusion: Vec<Vec<usize>>,
}

/// The network's answer for one validation sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeResult {
    pub index: usize,
    /// Softmax over the output channels (classification), else the raw outputs.
    pub outputs: Vec<f32>,
    pub predicted: Option<usize>,
}

/// What an [`Inspector`] may look at: the run's model (whose taps and gradients it may
/// overwrite, never its weights), its settings and its data.
pub struct InspectContext<'a> {
    pub graph: &'a mut Graph<f32>,
    pub preset: &'a Preset,
    pub train: &'a Dataset,
    pub val: &'a Dataset,
    pub epochs_done: usize,
    pub total_steps: u64,
}

/// Code the window hands to the trainer thread to compute its views on the model the thread
/// owns (the window cannot touch the model). It reports through its own channel or slot.
/// `train` defines the hook and never imports what implements it (`ui` does).
pub trait Inspector: Send {
    fn inspect(&mut self, ctx: InspectContext<'_>);

    /// The training step whose snapshot the views should show (playback), or `None` for
    /// the weights now.
    fn at_step(&self) -> Option<u64> {
        None
    }
}

/// A boxed [`Inspector`] that can travel in a [`TrainerCommand`].
pub struct InspectJob(pub Box<dyn Inspector>);

impl std::fmt::Debug for InspectJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InspectJob")
    }
}

/// A one-value mailbox: writers replace, readers see only the newest value, each version once.
#[derive(Debug)]
pub struct Latest<T> {
    inner: Arc<Mutex<(u64, Option<Arc<T>>)>>,
}

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        Latest {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Latest {
            inner: Arc::new(Mutex::new((0, None))),
        }
    }
}

impl<T> Latest<T> {
    pub fn put(&self, value: T) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.0 += 1;
        guard.1 = Some(Arc::new(value));
    }

    /// The value if it is newer than `seen`, which is updated.
    pub fn take_newer(&self, seen: &mut u64) -> Option<Arc<T>> {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if guard.0 > *seen {
            *seen = guard.0;
            guard.1.clone()
        } else {
            None
        }
    }

    /// The newest value regardless of what was seen.
    pub fn get(&self) -> Option<Arc<T>> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_slot_keeps_only_the_newest_value() {
        let slot = Latest::default();
        let mut seen = 0;
        assert!(slot.take_newer(&mut seen).is_none());
        slot.put(1);
        slot.put(2);
        assert_eq!(*slot.take_newer(&mut seen).unwrap(), 2);
        assert!(slot.take_newer(&mut seen).is_none());
        assert_eq!(*slot.get().unwrap(), 2);
    }
}
