//! The lab window: owns the project, the loaded data, the trainer thread and the panels.
//!
//! `logic` drains the trainer's events within a time budget, polls background jobs and
//! keeps the trainer configured like the editor; `ui` lays out the panels, which only
//! push [`UiCommand`]s or edit the project.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use super::app_state::AppState;
use super::background::{
    DataJob, DialogJob, DialogPurpose, LoadedData, OpenJob, export_onnx, save_checkpoint,
};
use super::frame_timer::FrameTimer;
use super::panels;
use super::panels::model_editor::ModelEditor;
use super::presets::{self, DEFAULT_PRESET, PresetEntry};
use super::project::Project;
use crate::checkpoint::Checkpoint;
use crate::data::load::split;
use crate::data::sources::class_folder::ClassFolder;
use crate::data::{DataSource, Dataset};
use crate::spec::Preset;
use crate::spec::view::ViewId;
use crate::train::EpochRecord;
use crate::train::messages::{
    Evaluation, ProbeResult, RunInfo, RunSetup, RunState, StartWeights, StepProgress,
    TrainerCommand, TrainerEvent,
};
use crate::train::worker::TrainerWorker;

/// How long `logic` may spend draining trainer events per frame.
pub const EVENT_BUDGET: Duration = Duration::from_millis(8);
/// Repaint interval while training (about 60 fps).
pub const TRAINING_REPAINT: Duration = Duration::from_millis(16);
/// Step losses kept for the live curve (older ones are thinned).
pub const MAX_STEP_POINTS: usize = 4_000;

/// How the window was launched.
#[derive(Clone, Debug, Default)]
pub struct LaunchOptions {
    /// A preset (.toml) or checkpoint (.safetensors) to open.
    pub file: Option<PathBuf>,
    /// Start training, wait for a few epochs, save a screenshot here and exit.
    pub screenshot: Option<PathBuf>,
    /// Epochs to wait for before the screenshot.
    pub screenshot_epochs: usize,
    /// Train before the screenshot (otherwise wait five seconds idle: compare frame times).
    pub screenshot_train: bool,
    /// The central tab to show at start (a view name such as `activations`, `pool-routing`).
    pub view: Option<String>,
    /// Enter this walkthrough step (1-based) at start, running the actions of the steps up
    /// to it.
    pub walkthrough_step: Option<usize>,
    /// Start in the presenter theme.
    pub presenter: bool,
    /// Keep training for this long, log frame times and memory, then close (see
    /// [`super::soak`]).
    pub soak: Option<(Duration, PathBuf)>,
    /// Where a trained model that was never saved is written when the window closes, and
    /// reopened from at the next start (see [`RECOVERY_FILE`]).
    pub recovery_file: Option<PathBuf>,
    /// How long closing waits for the weights to keep; `None` is [`RECOVERY_WAIT`]. (Tests
    /// on a busy machine wait longer; the window must close within a second.)
    pub recovery_wait: Option<Duration>,
}

/// The name of the recovery checkpoint in eframe's storage folder.
pub const RECOVERY_FILE: &str = "unsaved-model.safetensors";
/// How long closing waits for the trainer to hand over the weights to keep.
pub const RECOVERY_WAIT: Duration = Duration::from_millis(300);

/// Things the panels ask for, carried out after the frame's UI.
#[derive(Clone, Debug, PartialEq)]
pub enum UiCommand {
    Start,
    Pause,
    Step,
    Reset,
    Open(PathBuf),
    OpenEmbedded(&'static str),
    Save(PathBuf),
    /// Exports the current model and weights as ONNX to this path.
    ExportOnnx(PathBuf),
    Dialog(DialogPurpose),
    /// Loads the class folder typed into the data panel.
    LoadFolder(PathBuf),
    CancelLoad,
    Probe(usize),
}

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
    pub thumbnails: Option<egui::TextureHandle>,
    pub thumbnails_version: u64,
    /// The user chose "My images" but has not loaded a folder yet.
    pub folder_tools_open: bool,
    /// The augmentation preview's texture.
    pub augment_preview: panels::augment_panel::AugmentPreview,
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
    /// `[epoch position, mean loss]` of coalesced steps.
    pub step_losses: Vec<[f64; 2]>,
    pub progress: Option<StepProgress>,
    pub progress_events: u64,
    pub error: Option<String>,
    pub evaluation: Option<Arc<Evaluation>>,
    eval_seen: u64,
    pub probe: Option<Arc<ProbeResult>>,
    probe_seen: u64,
}

/// A line in the status bar.
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub text: String,
    pub is_error: bool,
}

struct ScreenshotPlan {
    path: PathBuf,
    train: bool,
    epochs: usize,
    started: Instant,
    training_started: bool,
    requested: bool,
    done: Arc<AtomicBool>,
    saved: Arc<Mutex<Option<Result<(), String>>>>,
}

pub struct ConvLabApp {
    pub state: AppState,
    pub project: Project,
    pub data: DataView,
    pub run: RunView,
    pub editor: ModelEditor,
    pub frames: FrameTimer,
    pub message: Message,
    pub presets: Vec<PresetEntry>,
    pub commands: Vec<UiCommand>,
    pub gallery: panels::gallery::GalleryState,
    pub dialog: Option<DialogJob>,
    /// A dialog returned nothing within 50 ms once: probably none is available here.
    pub dialog_unavailable: bool,
    worker: TrainerWorker,
    /// The preset and data version the worker was last configured with.
    worker_config: Option<(Preset, u64)>,
    /// Weights to start the next configuration from (an opened checkpoint).
    pending_weights: Option<StartWeights>,
    pending_save: Option<PathBuf>,
    save_result: Arc<Mutex<Option<Result<PathBuf, String>>>>,
    /// Threads writing the user's files (saves, ONNX exports), joined before the window
    /// closes.
    writers: Vec<std::thread::JoinHandle<()>>,
    /// The preset of the checkpoint being saved (it becomes the project's saved state).
    saving: Option<Preset>,
    /// Where the next weights from the trainer are exported as ONNX.
    pending_onnx: Option<PathBuf>,
    onnx_result: Arc<Mutex<Option<Result<PathBuf, String>>>>,
    /// A checkpoint being read in the background.
    pub open_job: Option<OpenJob>,
    last_model_edit: Instant,
    last_model: crate::engine::ModelSpec,
    screenshot: Option<ScreenshotPlan>,
    egui_ctx: egui::Context,
    /// The central area's tabs and inspection views.
    pub views: panels::views::ViewsUi,
    pub walk: panels::walkthrough::WalkState,
    presenter_applied: Option<bool>,
    /// Screenshot of a view or a walkthrough step (set by the launch options).
    launch_view: Option<String>,
    launch_step: Option<usize>,
    walk_launched: bool,
    soak: Option<super::soak::Soak>,
    recovery_file: Option<PathBuf>,
    recovery_wait: Duration,
    /// Training happened since the model was opened or last saved.
    trained_since_save: bool,
    /// The checkpoint being opened is the last session's unsaved model.
    restoring: bool,
}

fn preset_differs_structurally(a: &Preset, b: &Preset) -> bool {
    let mut a = a.clone();
    a.training.learning_rate = b.training.learning_rate;
    a.training.epochs = b.training.epochs;
    a.training.augment = b.training.augment;
    a != *b
}

impl ConvLabApp {
    /// Builds the app; `storage` restores the persisted UI state (ignored for screenshots).
    pub fn new(
        ctx: &egui::Context,
        storage: Option<&dyn eframe::Storage>,
        options: LaunchOptions,
    ) -> ConvLabApp {
        let mut state: AppState = match (&options.screenshot, storage) {
            (None, Some(s)) => eframe::get_value(s, eframe::APP_KEY).unwrap_or_default(),
            _ => AppState::default(),
        };
        if options.screenshot.is_some()
            && options.view.is_none()
            && options.walkthrough_step.is_none()
        {
            state.show_frame_overlay = true;
        }
        let wake_ctx = ctx.clone();
        let worker = TrainerWorker::spawn(move || wake_ctx.request_repaint())
            .expect("the trainer thread could not be started");
        let default = presets::embedded(DEFAULT_PRESET).expect("the built-in preset parses");
        let mut app = ConvLabApp {
            last_model: default.model.clone(),
            project: Project::new(default, format!("built-in {DEFAULT_PRESET}")),
            state,
            data: DataView::default(),
            run: RunView::default(),
            editor: ModelEditor::default(),
            frames: FrameTimer::default(),
            message: Message::default(),
            presets: presets::list(),
            commands: Vec::new(),
            gallery: Default::default(),
            dialog: None,
            dialog_unavailable: false,
            worker,
            worker_config: None,
            pending_weights: None,
            pending_save: None,
            save_result: Arc::default(),
            writers: Vec::new(),
            saving: None,
            pending_onnx: None,
            onnx_result: Arc::default(),
            open_job: None,
            last_model_edit: Instant::now(),
            screenshot: options.screenshot.map(|path| ScreenshotPlan {
                path,
                train: options.screenshot_train,
                epochs: options.screenshot_epochs.max(1),
                started: Instant::now(),
                training_started: false,
                requested: false,
                done: Arc::default(),
                saved: Arc::default(),
            }),
            egui_ctx: ctx.clone(),
            views: panels::views::ViewsUi::new(),
            walk: Default::default(),
            presenter_applied: None,
            launch_view: options.view.clone(),
            launch_step: options.walkthrough_step,
            walk_launched: false,
            soak: options
                .soak
                .map(|(duration, log)| super::soak::Soak::new(log, duration)),
            recovery_file: options.recovery_file.clone(),
            recovery_wait: options.recovery_wait.unwrap_or(RECOVERY_WAIT),
            trained_since_save: false,
            restoring: false,
        };
        if options.presenter {
            app.state.presenter = true;
        }
        // What to open: the command line, else the unsaved model of the last session, else
        // the last file, else the last built-in preset.
        let unsaved = app
            .state
            .unsaved_session
            .take()
            .filter(|_| options.file.is_none() && !app.measuring());
        let recovered = app
            .recovery_file
            .clone()
            .filter(|f| options.file.is_none() && !app.measuring() && f.exists());
        if let Some(file) = options.file {
            app.open(&file);
        } else if let Some(file) = recovered {
            // Read in the background like any checkpoint; `poll_open` marks it unsaved.
            app.open_job = Some(OpenJob::spawn(file, &app.egui_ctx));
            app.restoring = true;
            app.info("restoring the model you trained last time…".into());
        } else if let Some(text) = unsaved {
            match Preset::parse(&text, "the last session") {
                Ok(p) => {
                    let name = p.name.clone();
                    app.set_project(p, "unsaved model from the last session".into());
                    app.project.saved = None;
                    app.info(format!(
                        "restored {name} as you left it (not saved to a file yet: File > Save)"
                    ));
                }
                Err(e) => app.error(format!("could not restore the last session's model: {e}")),
            }
        } else if let Some(file) = app.state.last_file.clone().filter(|f| f.exists()) {
            app.open(&file);
        } else if let Some((name, _)) = presets::EMBEDDED
            .iter()
            .find(|(n, _)| *n == app.state.last_preset)
        {
            app.open_embedded(name);
        }
        app
    }

    // ------------------------------------------------------------------------
    // Opening and saving

    fn set_project(&mut self, preset: Preset, origin: String) {
        // The folder fields show the opened preset's folder, so "Load folder" reloads it.
        if let DataSource::Folder(folder) = &preset.data.source {
            self.state.folder_path = folder.path.display().to_string();
            self.state.folder_size = folder.size;
            self.state.folder_grayscale = folder.grayscale;
        }
        self.walk = panels::walkthrough::WalkState::for_preset(&preset);
        self.views.result = None;
        self.views.iou_history.clear();
        self.views.score_threshold = None;
        self.project = Project::new(preset, origin);
        self.trained_since_save = false;
        self.last_model = self.project.preset.model.clone();
        self.editor = ModelEditor::default();
        self.worker_config = None;
        self.run = RunView::default();
        self.gallery = Default::default();
        self.worker.send(TrainerCommand::Pause);
    }

    pub fn open_embedded(&mut self, name: &'static str) {
        if let Some(p) = presets::embedded(name) {
            self.open_job = None;
            self.set_project(p, format!("built-in {name}"));
            self.pending_weights = None;
            self.state.last_file = None;
            self.state.last_preset = name.to_string();
            self.info(format!("opened the built-in preset {name}"));
        }
    }

    pub fn open(&mut self, path: &Path) {
        let is_checkpoint = path.extension().is_some_and(|e| e == "safetensors");
        // A newer choice replaces a checkpoint still being read.
        self.open_job = None;
        if is_checkpoint {
            // Read and checked on a background thread; `poll_open` installs it.
            self.open_job = Some(OpenJob::spawn(path.to_path_buf(), &self.egui_ctx));
            self.info(format!("opening checkpoint {}…", path.display()));
        } else {
            match Preset::load(path) {
                Ok(p) => {
                    self.set_project(p, path.display().to_string());
                    self.pending_weights = None;
                    self.after_open(path);
                    self.info(format!("opened {}", path.display()));
                }
                Err(e) => self.error(e.to_string()),
            }
        }
    }

    /// Installs a checkpoint once its background read is done.
    fn poll_open(&mut self) {
        let Some(job) = &self.open_job else { return };
        let Some(result) = job.poll() else { return };
        let path = self.open_job.take().expect("checked above").path;
        match result {
            Ok(ck) => {
                let epochs = ck.history.epochs.len();
                let restoring = std::mem::take(&mut self.restoring);
                let origin = if restoring {
                    "unsaved model from the last session".to_string()
                } else {
                    path.display().to_string()
                };
                let name = ck.preset.name.clone();
                self.set_project(ck.preset, origin);
                self.pending_weights = Some(StartWeights::Checkpoint {
                    params: ck.params,
                    history: ck.history,
                });
                if restoring {
                    // Still not in a file of the user's: keep it marked, and kept at exit.
                    self.project.saved = None;
                    self.trained_since_save = true;
                    self.info(format!(
                        "restored {name} with its trained weights ({epochs} epochs) as you left \
                         it; not saved to a file yet: File > Save"
                    ));
                } else {
                    self.after_open(&path);
                    self.info(format!(
                        "opened checkpoint {} ({epochs} epochs trained)",
                        path.display()
                    ));
                }
            }
            Err(e) if std::mem::take(&mut self.restoring) => {
                self.error(format!("could not restore the last session's model: {e}"));
            }
            Err(e) => self.error(e),
        }
    }

    fn after_open(&mut self, path: &Path) {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.state.remember(abs.clone());
        self.state.last_file = Some(abs);
    }

    /// Installs (or removes) the views' inspector on the trainer thread.
    pub fn send_inspect(&mut self, job: Option<crate::train::messages::InspectJob>) {
        self.worker.send(TrainerCommand::Inspect(job));
    }

    /// Makes an image file the input of every view (resized to the model's input).
    pub fn use_image_input(&mut self, path: &Path) {
        let [c, h, w] = self.project.preset.model.input;
        self.views.image_error = None;
        if c != 1 && c != 3 {
            self.views.image_error = Some(format!(
                "the model takes {c} channels; an image gives 1 or 3"
            ));
            return;
        }
        let opts = crate::data::folder::ImageOptions {
            size: [h, w],
            grayscale: c == 1,
        };
        match crate::data::folder::load_image(path, opts).and_then(|v| {
            crate::engine::Tensor::from_shape_vec((1, c, h, w), v).map_err(|e| e.to_string())
        }) {
            Ok(t) => {
                self.views.image_path = path.display().to_string();
                self.views.settings.input = crate::ui::inspector::InputChoice::Image {
                    path: path.display().to_string(),
                    pixels: Arc::new(t),
                };
                if !self.views.settings.tab.uses_model() {
                    self.views.settings.tab = ViewId::Activations;
                }
            }
            Err(e) => self.views.image_error = Some(format!("{}: {e}", path.display())),
        }
    }

    fn info(&mut self, text: String) {
        self.message = Message {
            text,
            is_error: false,
        };
    }

    fn error(&mut self, text: String) {
        self.message = Message {
            text,
            is_error: true,
        };
    }

    // ------------------------------------------------------------------------
    // Data

    fn data_matches(&self, loaded_source: &DataSource, seed: u64) -> bool {
        let spec = &self.project.preset.data;
        let seed_matters = spec.source.source().seed_changes_samples();
        *loaded_source == spec.source && (!seed_matters || seed == spec.seed)
    }

    fn poll_data(&mut self, ctx: &egui::Context) {
        if let Some(job) = &self.data.job
            && let Some(result) = job.poll()
        {
            let job = self.data.job.take().expect("checked above");
            match result {
                Ok(loaded) => {
                    let skipped = loaded.skipped.len();
                    let n = loaded.dataset.len();
                    self.info(format!(
                        "loaded {} ({n} samples{}) in {:.1} s",
                        loaded.source.label(),
                        if skipped > 0 {
                            format!(", {skipped} files skipped")
                        } else {
                            String::new()
                        },
                        loaded.seconds
                    ));
                    self.data.loaded = Some(loaded);
                    self.data.split = None;
                    self.data.failed = None;
                    self.data.version += 1;
                }
                Err(e) => {
                    // Cancel is the user's choice, not a failure: say it plainly.
                    if e.ends_with(crate::data::folder::CANCELLED) {
                        self.info(format!("stopped loading {}", job.source.label()));
                    } else {
                        self.error(format!("could not load {}: {e}", job.source.label()));
                    }
                    self.data.failed = Some((job.source, job.seed, e));
                }
            }
        }
        // Start loading when the project wants other data.
        let wanted = &self.project.preset.data;
        let have = self
            .data
            .loaded
            .as_ref()
            .is_some_and(|l| self.data_matches(&l.source, l.seed));
        let loading = self
            .data
            .job
            .as_ref()
            .is_some_and(|j| self.data_matches(&j.source, j.seed));
        let failed = self
            .data
            .failed
            .as_ref()
            .is_some_and(|(s, seed, _)| self.data_matches(s, *seed));
        if !have && !loading && !failed {
            if let Some(job) = &self.data.job {
                job.cancel();
            }
            self.data.job = Some(DataJob::spawn(wanted, ctx));
        }
        // Split when the data or the split settings changed.
        if have {
            let (vf, seed) = (wanted.val_fraction, wanted.seed);
            let stale = self
                .data
                .split
                .as_ref()
                .is_none_or(|s| s.val_fraction != vf || s.seed != seed);
            if stale && let Some(loaded) = &self.data.loaded {
                let (train, val) = split(&loaded.dataset, vf, seed);
                self.data.split = Some(SplitData {
                    val_fraction: vf,
                    seed,
                    train: Arc::new(train),
                    val: Arc::new(val),
                });
                self.data.version += 1;
                self.gallery = Default::default();
            }
        }
    }

    /// The data set the project uses, if it is loaded.
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.data
            .loaded
            .as_ref()
            .filter(|l| self.data_matches(&l.source, l.seed))
            .map(|l| &l.dataset)
    }

    // ------------------------------------------------------------------------
    // Trainer

    fn data_ready(&self) -> Option<(Arc<Dataset>, Arc<Dataset>)> {
        self.dataset()?;
        let s = self.data.split.as_ref()?;
        Some((Arc::clone(&s.train), Arc::clone(&s.val)))
    }

    /// Whether the worker's run differs from the editor's project (beyond live settings).
    pub fn needs_configure(&self) -> bool {
        match &self.worker_config {
            None => true,
            Some((p, version)) => {
                *version != self.data.version
                    || preset_differs_structurally(&self.project.preset, p)
            }
        }
    }

    /// Configures the worker like the project; `fresh` forces new weights.
    fn configure(&mut self, fresh: bool) -> bool {
        if let Some(job) = &self.open_job {
            let text = format!("still opening {}…", job.path.display());
            self.info(text);
            return false;
        }
        if self.project.facts().full.is_none() {
            self.error("fix the model first (the node marked in red)".into());
            return false;
        }
        let Some((train, val)) = self.data_ready() else {
            self.info("waiting for the data to load…".into());
            return false;
        };
        let weights = if let Some(w) = self.pending_weights.take() {
            w
        } else {
            match &self.worker_config {
                Some((p, _))
                    if !fresh
                        && p.training.init == self.project.preset.training.init
                        && p.training.seed == self.project.preset.training.seed =>
                {
                    StartWeights::KeepMatching
                }
                _ => StartWeights::Fresh,
            }
        };
        self.run.error = None;
        if matches!(weights, StartWeights::Fresh) {
            self.run.history.clear();
            self.run.step_losses.clear();
            self.run.progress = None;
        }
        self.worker
            .send(TrainerCommand::Configure(Box::new(RunSetup {
                preset: self.project.preset.clone(),
                train,
                val,
                weights,
            })));
        self.worker_config = Some((self.project.preset.clone(), self.data.version));
        true
    }

    /// Configures the trainer for the walkthrough (`fresh`: new weights from the seed).
    pub fn walk_configure(&mut self, fresh: bool) -> bool {
        if self.data_ready().is_none() || self.project.facts().full.is_none() {
            return false;
        }
        self.pending_weights = None;
        self.configure(fresh)
    }

    /// Trains until the history holds `target` epochs.
    pub fn start_training_to(&mut self, target: usize) {
        self.project.preset.training.epochs = target;
        self.sync_live_settings();
        self.run.error = None;
        self.worker.send(TrainerCommand::Start);
    }

    fn sync_live_settings(&mut self) {
        let Some((p, _)) = &mut self.worker_config else {
            return;
        };
        let t = &self.project.preset.training;
        if p.training.learning_rate != t.learning_rate {
            p.training.learning_rate = t.learning_rate;
            self.worker
                .send(TrainerCommand::SetLearningRate(t.learning_rate));
        }
        if p.training.augment != t.augment {
            p.training.augment = t.augment;
            self.worker.send(TrainerCommand::SetAugment(t.augment));
        }
        if p.training.epochs != t.epochs {
            p.training.epochs = t.epochs;
            self.worker.send(TrainerCommand::SetEpochs(t.epochs));
        }
    }

    fn drain_events(&mut self) {
        let started = Instant::now();
        while started.elapsed() < EVENT_BUDGET {
            let Some(event) = self.worker.try_recv() else {
                break;
            };
            match event {
                TrainerEvent::Configured(info) => {
                    self.run.history = info.history.epochs.clone();
                    if self.run.history.is_empty() {
                        self.run.step_losses.clear();
                    }
                    self.run.info = Some(info);
                }
                TrainerEvent::Progress(p) => {
                    self.run.progress_events += 1;
                    self.trained_since_save = true;
                    self.run.step_losses.push([p.epoch_position, p.mean_loss]);
                    if self.run.step_losses.len() > MAX_STEP_POINTS {
                        // Keep every other point: bounded memory, the curve's shape stays.
                        let thinned = self.run.step_losses.iter().copied().step_by(2).collect();
                        self.run.step_losses = thinned;
                    }
                    self.run.progress = Some(p);
                }
                TrainerEvent::Epoch(record) => self.run.history.push(record),
                TrainerEvent::State(s) => {
                    self.run.state = s;
                    if s == RunState::Finished {
                        self.info(format!("finished {} epochs", self.run.history.len()));
                    }
                }
                TrainerEvent::Weights {
                    preset,
                    params,
                    history,
                } => {
                    let ck = Checkpoint {
                        preset: *preset,
                        params,
                        history,
                    };
                    if let Some(path) = self.pending_onnx.take() {
                        self.info(format!("exporting ONNX to {}…", path.display()));
                        self.writers.extend(export_onnx(
                            ck.clone(),
                            path,
                            Arc::clone(&self.onnx_result),
                            &self.egui_ctx,
                        ));
                    }
                    if let Some(path) = self.pending_save.take() {
                        self.saving = Some(ck.preset.clone());
                        self.writers.extend(save_checkpoint(
                            ck,
                            path,
                            Arc::clone(&self.save_result),
                            &self.egui_ctx,
                        ));
                        self.info("saving…".into());
                    }
                }
                TrainerEvent::Error(e) => {
                    self.pending_save = None;
                    self.pending_onnx = None;
                    self.run.error = Some(e.clone());
                    self.error(e);
                }
            }
        }
        if started.elapsed() >= EVENT_BUDGET {
            self.egui_ctx.request_repaint();
        }
        let mut seen = self.run.eval_seen;
        if let Some(e) = self.worker.evaluation.take_newer(&mut seen) {
            self.run.evaluation = Some(e);
        }
        self.run.eval_seen = seen;
        let mut seen = self.run.probe_seen;
        if let Some(p) = self.worker.probe.take_newer(&mut seen) {
            self.run.probe = Some(p);
        }
        self.run.probe_seen = seen;
    }

    fn handle_commands(&mut self, ctx: &egui::Context) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                UiCommand::Start => {
                    if !self.needs_configure() || self.configure(false) {
                        self.run.error = None;
                        self.worker.send(TrainerCommand::Start);
                    }
                }
                UiCommand::Pause => self.worker.send(TrainerCommand::Pause),
                UiCommand::Step => {
                    if !self.needs_configure() || self.configure(false) {
                        self.worker.send(TrainerCommand::Step);
                    }
                }
                UiCommand::Reset => {
                    self.pending_weights = None;
                    if self.configure(true) {
                        self.info("reset: fresh weights".into());
                    }
                }
                UiCommand::Open(path) => self.open(&path),
                UiCommand::OpenEmbedded(name) => self.open_embedded(name),
                UiCommand::Save(path) => {
                    if self.needs_configure() && !self.configure(false) {
                        continue;
                    }
                    self.state.save_path = path.display().to_string();
                    self.pending_save = Some(path);
                    self.worker.send(TrainerCommand::ExportWeights);
                }
                UiCommand::ExportOnnx(path) => {
                    if path.as_os_str().is_empty() {
                        self.error("type a path for the ONNX file first".into());
                        continue;
                    }
                    if self.needs_configure() && !self.configure(false) {
                        continue;
                    }
                    self.state.onnx_path = path.display().to_string();
                    self.pending_onnx = Some(path);
                    self.info("exporting ONNX…".into());
                    self.worker.send(TrainerCommand::ExportWeights);
                }
                UiCommand::Dialog(purpose) => {
                    if self.dialog.is_none() {
                        self.dialog = DialogJob::spawn(purpose, ctx);
                    }
                }
                UiCommand::LoadFolder(path) => {
                    self.state.folder_path = path.display().to_string();
                    self.project.preset.data.source = DataSource::Folder(ClassFolder {
                        path,
                        size: self.state.folder_size,
                        grayscale: self.state.folder_grayscale,
                    });
                    // A new attempt even if the same folder failed before.
                    self.data.failed = None;
                    if let Some(job) = self.data.job.take() {
                        job.cancel();
                    }
                }
                UiCommand::CancelLoad => {
                    if let Some(job) = &self.data.job {
                        job.cancel();
                    }
                }
                UiCommand::Probe(index) => {
                    self.gallery.probed = Some(index);
                    self.worker.send(TrainerCommand::Probe(index));
                }
            }
        }
    }

    fn poll_dialog(&mut self) {
        let Some(job) = &self.dialog else { return };
        let Some(answer) = job.poll() else { return };
        let job = self.dialog.take().expect("checked above");
        match answer {
            None => {
                if job.started.elapsed() < Duration::from_millis(50) {
                    self.dialog_unavailable = true;
                    self.info("no file dialog is available here: type a path instead".into());
                }
            }
            Some(path) => match job.purpose {
                DialogPurpose::Open => self.commands.push(UiCommand::Open(path)),
                DialogPurpose::Save => self.commands.push(UiCommand::Save(path)),
                DialogPurpose::ClassFolder => self.commands.push(UiCommand::LoadFolder(path)),
            },
        }
    }

    fn poll_save(&mut self) {
        let outcome = self
            .save_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match outcome {
            Some(Ok(path)) => {
                self.info(format!("saved {}", path.display()));
                if let Some(preset) = self.saving.take() {
                    self.project.saved = Some(preset);
                }
                self.trained_since_save = false;
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                self.state.remember(abs);
            }
            Some(Err(e)) => self.error(format!("could not save: {e}")),
            None => {}
        }
        let outcome = self
            .onnx_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match outcome {
            Some(Ok(path)) => self.info(format!("exported ONNX to {}", path.display())),
            Some(Err(e)) => self.error(format!("could not export ONNX: {e}")),
            None => {}
        }
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        for file in dropped {
            let path = file.path().to_path_buf();
            if path.is_dir() {
                self.commands.push(UiCommand::LoadFolder(path));
            } else if path
                .extension()
                .is_some_and(|e| e == "toml" || e == "safetensors")
            {
                self.commands.push(UiCommand::Open(path));
            } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "png" | "jpg" | "jpeg" | "bmp" | "gif" | "tif" | "tiff" | "webp"
                )
            }) {
                self.use_image_input(&path);
            } else {
                self.error(format!(
                    "{}: drop a class folder, a preset (.toml) or a checkpoint (.safetensors)",
                    path.display()
                ));
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let redo = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        let redo_y = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
        let undo = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
        let save = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        let (do_redo, do_undo, do_save) = ctx.input_mut(|i| {
            let r = i.consume_shortcut(&redo) || i.consume_shortcut(&redo_y);
            let u = i.consume_shortcut(&undo);
            (r, u, i.consume_shortcut(&save))
        });
        if do_redo {
            self.project.redo();
        } else if do_undo {
            self.project.undo();
        }
        if do_save {
            self.commands
                .push(UiCommand::Save(PathBuf::from(&self.state.save_path)));
        }
    }

    /// Applies `--view` / the walkthrough step of the launch options once the run is ready.
    fn launch_logic(&mut self) {
        if let Some(view) = self.launch_view.take() {
            if view == "lecture" || view == "pool-routing-lecture" {
                self.views.settings.tab = ViewId::Routing;
                self.views.settings.lecture = Some(crate::inspect::routing::LectureCase::K2S1);
            } else {
                match view.parse::<ViewId>() {
                    Ok(v) => self.views.settings.tab = v,
                    Err(e) => self.error(e.to_string()),
                }
            }
        }
        if let Some(step) = self.launch_step
            && self.worker_config.is_some()
        {
            self.launch_step = None;
            self.walk_launched = true;
            self.walk.active = true;
            let k = step
                .saturating_sub(1)
                .min(self.project.preset.walkthrough.len().saturating_sub(1));
            self.walk_rerun(k);
        }
    }

    fn screenshot_logic(&mut self) {
        let ready = self.worker_config.is_some()
            && self.open_job.is_none()
            && self.run.state != RunState::Empty;
        let Some(plan) = &mut self.screenshot else {
            return;
        };
        if plan.train
            && !plan.training_started
            && ready
            && !self.walk_launched
            && self.launch_step.is_none()
        {
            plan.training_started = true;
            self.commands.push(UiCommand::Start);
        }
        if let Some(result) = plan.saved.lock().unwrap_or_else(|e| e.into_inner()).take() {
            match result {
                Ok(()) => eprintln!(
                    "screenshot saved to {} (frames while training: mean {:.1} ms, max {:.1} ms, {:.0} fps; ui code {:.2} ms per frame)",
                    plan.path.display(),
                    self.frames.mean_interval() * 1000.0,
                    self.frames.max_interval() * 1000.0,
                    self.frames.fps(),
                    self.frames.mean_ui_time() * 1000.0
                ),
                Err(e) => eprintln!("screenshot failed: {e}"),
            }
        }
    }

    fn screenshot_ui(&mut self, ctx: &egui::Context) {
        let epochs = self.run.history.len();
        let state = self.run.state;
        // While training, any trained view will do; once stopped, the view of the final
        // weights (the trainer inspects once more when a run stops).
        let wanted = if state == RunState::Running {
            epochs.min(1)
        } else {
            epochs
        };
        let view_ready = !self.views.settings.tab.uses_model()
            || self
                .views
                .result
                .as_ref()
                .is_some_and(|r| r.settings == self.views.settings && r.epochs_done >= wanted);
        let walk_done = self.walk_launched && !self.walk.busy() && state != RunState::Running;
        let walking = self.walk_launched || self.launch_step.is_some();
        let Some(plan) = &mut self.screenshot else {
            return;
        };
        ctx.request_repaint();
        if plan.done.load(Ordering::SeqCst) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        let timed_out = plan.started.elapsed() > Duration::from_secs(120);
        let enough = if walking {
            walk_done
        } else {
            epochs >= plan.epochs || matches!(state, RunState::Finished | RunState::Failed)
        } && view_ready;
        if !plan.requested && (enough || timed_out) && self.run.evaluation.is_some() {
            plan.requested = true;
            let (path, done, saved) = (
                plan.path.clone(),
                Arc::clone(&plan.done),
                Arc::clone(&plan.saved),
            );
            ctx.request_screenshot(move |img| {
                let (w, h) = (img.size[0] as u32, img.size[1] as u32);
                let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
                let result =
                    image::save_buffer(&path, &bytes, w, h, image::ExtendedColorType::Rgba8)
                        .map_err(|e| e.to_string());
                *saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                done.store(true, Ordering::SeqCst);
            });
        }
    }

    /// Work that must happen every frame, before the UI (also usable from tests).
    pub fn tick(&mut self, ctx: &egui::Context) {
        self.frames.on_frame_start();
        self.drain_events();
        self.poll_data(ctx);
        self.poll_dialog();
        self.poll_open();
        self.poll_save();
        self.writers.retain(|w| !w.is_finished());
        self.handle_dropped_files(ctx);
        self.shortcuts(ctx);
        self.handle_commands(ctx);
        self.sync_live_settings();
        // Keep the trainer configured like the editor while it is not running, so the
        // views show the current model; edits are applied after a short pause.
        if self.project.preset.model != self.last_model {
            self.last_model = self.project.preset.model.clone();
            self.last_model_edit = Instant::now();
        }
        self.project.refresh_facts();
        let settled = self.last_model_edit.elapsed() > Duration::from_millis(300);
        if self.run.state != RunState::Running
            && self.open_job.is_none()
            && self.needs_configure()
            && settled
            && self.project.facts().full.is_some()
            && self.data_ready().is_some()
        {
            self.configure(false);
        } else if !settled {
            ctx.request_repaint_after(Duration::from_millis(320));
        }
        self.launch_logic();
        panels::walkthrough::walk_keys(self, ctx);
        self.walk_logic();
        panels::views::sync_views(self, ctx);
        if self.presenter_applied != Some(self.state.presenter) {
            panels::walkthrough::apply_presenter(ctx, self.state.presenter);
            if self.state.presenter {
                self.state.colormap = crate::viz::Colormap::Viridis;
            }
            self.presenter_applied = Some(self.state.presenter);
        }
        self.screenshot_logic();
        if self.run.state == RunState::Running {
            ctx.request_repaint_after(TRAINING_REPAINT);
        }
        if self.data.job.is_some() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    /// The whole window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let cpu_start = Instant::now();
        panels::top_bar::top_bar_ui(self, ui);
        panels::status_bar::status_bar_ui(self, ui);
        let walking = self.walk.active && !self.project.preset.walkthrough.is_empty();
        egui::Panel::left("model_editor")
            .resizable(true)
            .default_size(400.0)
            .min_size(300.0)
            .show(ui, |ui| {
                if walking {
                    panels::walkthrough::walkthrough_ui(self, ui);
                    ui.separator();
                }
                let shape = self.dataset().map(|d| d.sample_shape());
                let classes = self.dataset().map_or(10, |d| d.class_names.len().max(1));
                if walking {
                    egui::CollapsingHeader::new("Model")
                        .default_open(false)
                        .show(ui, |ui| {
                            self.editor.ui(ui, &mut self.project, shape, classes);
                        });
                } else {
                    self.editor.ui(ui, &mut self.project, shape, classes);
                }
            });
        egui::Panel::right("data_and_training")
            .resizable(true)
            .default_size(340.0)
            .min_size(280.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("right_scroll")
                    .show(ui, |ui| {
                        egui::CollapsingHeader::new("Data")
                            .default_open(true)
                            .show(ui, |ui| {
                                panels::data_panel::data_panel_ui(self, ui);
                            });
                        egui::CollapsingHeader::new("Training")
                            .default_open(true)
                            .show(ui, |ui| {
                                panels::training_panel::training_panel_ui(self, ui);
                            });
                    });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            panels::views::central_ui(self, ui);
        });
        if self.state.show_frame_overlay {
            panels::status_bar::frame_overlay_ui(self, &ctx);
        }
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            panels::status_bar::drop_hint_ui(&ctx);
        }
        self.screenshot_ui(&ctx);
        self.frames.on_ui_done(cpu_start.elapsed());
        self.soak_ui(&ctx);
    }

    fn soak_ui(&mut self, ctx: &egui::Context) {
        let Some(soak) = &mut self.soak else { return };
        // A report is due every few seconds even when nothing else repaints.
        ctx.request_repaint_after(Duration::from_millis(500));
        if self.project.preset.training.epochs < super::soak::SOAK_EPOCHS {
            self.project.preset.training.epochs = super::soak::SOAK_EPOCHS;
        }
        let sample = super::soak::SoakSample {
            state: self.run.state,
            ready: self.worker_config.is_some() && self.open_job.is_none(),
            epochs: self.run.history.len(),
            total_steps: self.run.progress.as_ref().map_or(0, |p| p.total_steps),
            ui_seconds: self.frames.ui_times.back().copied().unwrap_or(0.0),
        };
        match soak.tick(&sample) {
            super::soak::SoakAction::Nothing => {}
            super::soak::SoakAction::StartTraining => self.commands.push(UiCommand::Start),
            super::soak::SoakAction::Close => {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// At close: writes a trained model that is in no file of the user's to the recovery
    /// file (reopened at the next start), or removes a recovery file that is no longer
    /// needed. The trainer is asked for the weights and waited for at most
    /// `recovery_wait` ([`RECOVERY_WAIT`]); in the middle of a long minibatch it cannot answer, and the
    /// preset text kept by `save` is what survives.
    fn keep_unsaved_model(&mut self) {
        let Some(file) = self.recovery_file.clone().filter(|_| !self.measuring()) else {
            return;
        };
        if self.restoring {
            return; // closed before the recovery file was even read: keep it
        }
        if !self.trained_since_save {
            // Saved since, or the user moved on to another model.
            std::fs::remove_file(&file).ok();
            return;
        }
        self.worker.send(TrainerCommand::ExportWeights);
        let deadline = Instant::now() + self.recovery_wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(event) = self.worker.recv_timeout(left) else {
                break;
            };
            if let TrainerEvent::Weights {
                preset,
                params,
                history,
            } = event
            {
                let ck = Checkpoint {
                    preset: *preset,
                    params,
                    history,
                };
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).ok();
                }
                if let Err(e) = ck.save(&file) {
                    eprintln!("could not keep the unsaved model: {e}");
                }
                return;
            }
        }
    }

    /// A screenshot or soak run: it neither restores nor stores the user's session.
    fn measuring(&self) -> bool {
        self.screenshot.is_some() || self.soak.is_some()
    }

    /// Drops the project's trainer (tests).
    pub fn worker_configured(&self) -> bool {
        self.worker_config.is_some()
    }
}

impl Drop for ConvLabApp {
    /// Closing waits for files being written (they are the user's work) but not for the
    /// trainer's minibatch (see the trainer worker's `Drop`, which runs after this).
    fn drop(&mut self) {
        for writer in self.writers.drain(..) {
            writer.join().ok();
        }
        self.keep_unsaved_model();
    }
}

impl eframe::App for ConvLabApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.tick(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    /// Called by eframe every 30 s and when the window closes.
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if !self.measuring() {
            self.state.unsaved_session = self
                .project
                .has_unsaved_changes()
                .then(|| self.project.preset.to_toml());
            eframe::set_value(storage, eframe::APP_KEY, &self.state);
        }
    }
}
