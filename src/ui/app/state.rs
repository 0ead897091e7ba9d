//! What the window holds besides the project: the data panel's loaded set and split, what
//! it knows about the run, the status line; and the questions asked of that state.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::ConvLabApp;
use crate::data::{DataSource, DataSpec, Dataset};
use crate::spec::Preset;
use crate::train::EpochRecord;
use crate::train::messages::{
    Evaluation, ProbeResult, RunInfo, RunState, StartWeights, StepProgress,
};
use crate::train::worker::TrainerWorker;
use crate::ui::background::{DataJob, LoadedData};

/// Step losses kept for the live curve (older ones are thinned).
pub const MAX_STEP_POINTS: usize = 4_000;

/// The data panel's state: the loaded set, its split, the job loading the next one.
#[derive(Default)]
pub struct DataView {
    pub loaded: Option<LoadedData>,
    /// Bumped whenever `loaded` or the split changes.
    pub version: u64,
    pub job: Option<DataJob>,
    /// A source that failed to load (not retried until it changes), and why.
    pub failed: Option<(DataSource, u64, String)>,
    pub split: Option<SplitData>,
}

impl DataView {
    /// The loaded set if it is the one `spec` asks for (not the previous one still shown
    /// while the next loads).
    pub fn dataset_for(&self, spec: &DataSpec) -> Option<&Arc<Dataset>> {
        self.loaded
            .as_ref()
            .filter(|l| data_matches(spec, &l.source, l.seed))
            .map(|l| &l.dataset)
    }
}

/// Whether data loaded from `loaded_source` with `seed` is what `spec` asks for.
fn data_matches(spec: &DataSpec, loaded_source: &DataSource, seed: u64) -> bool {
    let seed_matters = spec.source.source().seed_changes_samples();
    *loaded_source == spec.source && (!seed_matters || seed == spec.seed)
}

pub struct SplitData {
    pub val_fraction: f64,
    pub seed: u64,
    pub train: Arc<Dataset>,
    pub val: Arc<Dataset>,
}

/// What the window knows about the run.
#[derive(Default)]
pub struct RunView {
    pub state: RunState,
    pub info: Option<RunInfo>,
    pub history: Vec<EpochRecord>,
    /// The epochs of the run before the last fresh start (a model change in a walkthrough,
    /// Reset): the curves keep it beside the current run so the two can be compared.
    pub previous: Vec<EpochRecord>,
    /// `[epoch position, mean loss]` of coalesced steps.
    pub step_losses: Vec<[f64; 2]>,
    pub progress: Option<StepProgress>,
    pub progress_events: u64,
    pub error: Option<String>,
    pub evaluation: Option<Arc<Evaluation>>,
    pub(super) eval_seen: u64,
    pub probe: Option<Arc<ProbeResult>>,
    pub(super) probe_seen: u64,
}

/// The trainer thread and what it was last told.
pub(super) struct TrainerLink {
    pub(super) worker: TrainerWorker,
    /// The preset and data version the worker was last configured with.
    pub(super) config: Option<(Preset, u64)>,
    /// Weights to start the next configuration from (an opened checkpoint).
    pub(super) pending_weights: Option<StartWeights>,
}

/// The user's files being written (checkpoints, ONNX exports): what waits for the
/// trainer's weights, the threads writing, and their outcomes.
#[derive(Default)]
pub(super) struct FileWrites {
    /// Where the next weights from the trainer are saved as a checkpoint.
    pub(super) pending_save: Option<PathBuf>,
    pub(super) save_result: Arc<Mutex<Option<Result<PathBuf, String>>>>,
    /// Threads writing the user's files (saves, ONNX exports), joined before the window
    /// closes.
    pub(super) writers: Vec<std::thread::JoinHandle<()>>,
    /// The preset of the checkpoint being saved (it becomes the project's saved state).
    pub(super) saving: Option<Preset>,
    /// Where the next weights from the trainer are exported as ONNX.
    pub(super) pending_onnx: Option<PathBuf>,
    pub(super) onnx_result: Arc<Mutex<Option<Result<PathBuf, String>>>>,
}

/// A line in the status bar.
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub text: String,
    pub is_error: bool,
}

/// Whether a trainer configured with `configured` (a preset and the data version) must be
/// configured again to run `preset` (changes beyond the live settings).
pub fn needs_configure(
    configured: Option<&(Preset, u64)>,
    preset: &Preset,
    data_version: u64,
) -> bool {
    match configured {
        None => true,
        Some((p, version)) => *version != data_version || preset_differs_structurally(preset, p),
    }
}

fn preset_differs_structurally(a: &Preset, b: &Preset) -> bool {
    let mut a = a.clone();
    a.training.learning_rate = b.training.learning_rate;
    a.training.epochs = b.training.epochs;
    a.training.augment = b.training.augment;
    a != *b
}

impl ConvLabApp {
    pub(super) fn info(&mut self, text: String) {
        self.message = Message {
            text,
            is_error: false,
        };
    }

    pub(super) fn error(&mut self, text: String) {
        self.message = Message {
            text,
            is_error: true,
        };
    }

    pub(super) fn data_matches(&self, loaded_source: &DataSource, seed: u64) -> bool {
        data_matches(&self.project.preset.data, loaded_source, seed)
    }

    /// The data set the project uses, if it is loaded.
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.data.dataset_for(&self.project.preset.data)
    }

    pub(super) fn data_ready(&self) -> Option<(Arc<Dataset>, Arc<Dataset>)> {
        self.dataset()?;
        let s = self.data.split.as_ref()?;
        Some((Arc::clone(&s.train), Arc::clone(&s.val)))
    }

    /// Whether the worker's run differs from the editor's project (beyond live settings).
    pub fn needs_configure(&self) -> bool {
        needs_configure(
            self.trainer.config.as_ref(),
            &self.project.preset,
            self.data.version,
        )
    }

    /// A file dialog can be opened: one is available here and none is open.
    pub(super) fn dialog_ready(&self) -> bool {
        !self.dialog_unavailable && self.dialog.is_none()
    }

    /// Drops the project's trainer (tests).
    pub fn worker_configured(&self) -> bool {
        self.trainer.config.is_some()
    }
}
