//! What the window knows about this session's data and run, shown by the panels and kept
//! up to date by the app: the loaded data set and its split, the run's progress and
//! results, the status line; and whether the trainer must be configured again.
//!
//! It sits beside the app and the panels (both import it, it imports neither), so a panel
//! can read the run without reaching into the app.

use std::sync::Arc;

use crate::data::{DataSource, DataSpec, Dataset};
use crate::spec::Preset;
use crate::train::EpochRecord;
use crate::train::messages::{
    Evaluation, ProbeResult, RunInfo, RunState, StepProgress, TrainerError,
};
use crate::ui::background::{DataJob, LoadError, LoadedData};

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
    pub failed: Option<(DataSource, u64, LoadError)>,
    pub split: Option<SplitData>,
    /// The patch settings a split failed for (reported once, not retried until they or the
    /// data change).
    pub split_failed: Option<Option<crate::data::patches::Patches>>,
    /// The user pressed Load for the data already loaded: read the files again (they may
    /// have changed on disk), showing the old data until the new has loaded.
    pub reload: bool,
}

impl DataView {
    /// The loaded set if it is the one `spec` asks for (not the previous one still shown
    /// while the next loads).
    pub fn dataset_for(&self, spec: &DataSpec) -> Option<&Arc<Dataset>> {
        self.loaded
            .as_ref()
            .filter(|l| data_matches(spec, &l.source, l.seed, &l.task))
            .map(|l| &l.dataset)
    }
}

/// Whether data loaded from `loaded_source` with `seed` for `task` is what `spec` asks for.
pub fn data_matches(
    spec: &DataSpec,
    loaded_source: &DataSource,
    seed: u64,
    task: &crate::ui::background::TaskKey,
) -> bool {
    let seed_matters = spec.source.source().seed_changes_samples();
    *loaded_source == spec.source
        && (!seed_matters || seed == spec.seed)
        && *task == crate::ui::background::TaskKey::of(spec)
}

pub struct SplitData {
    pub val_fraction: f64,
    pub seed: u64,
    /// The noise the validation inputs got (a denoising task): a new setting splits anew.
    pub denoise: Option<crate::data::noise::Denoise>,
    /// The scale of a super-resolution task's inputs: a new setting splits anew.
    pub super_resolution: Option<crate::data::super_resolution::SuperResolution>,
    /// How a patch classification task cuts its patches: a new setting splits anew.
    pub patches: Option<crate::data::patches::Patches>,
    pub train: Arc<Dataset>,
    pub val: Arc<Dataset>,
}

impl SplitData {
    /// Whether this split is the one `spec` asks for (same split, noise, scale and patches).
    pub fn fits(&self, spec: &DataSpec) -> bool {
        self.val_fraction == spec.val_fraction
            && self.seed == spec.seed
            && self.denoise == spec.denoise
            && self.super_resolution == spec.super_resolution
            && self.patches == spec.patches
    }
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
    pub error: Option<Arc<TrainerError>>,
    pub evaluation: Option<Arc<Evaluation>>,
    /// The version of the trainer's latest evaluation already taken (by the app).
    pub(in crate::ui) eval_seen: u64,
    pub probe: Option<Arc<ProbeResult>>,
    /// The version of the trainer's latest probe already taken (by the app).
    pub(in crate::ui) probe_seen: u64,
    /// The moments of the run whose weights the trainer keeps (the playback timeline).
    pub moments: Arc<Vec<crate::train::snapshots::Moment>>,
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
