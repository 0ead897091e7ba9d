//! The lab window: owns the project, the loaded data, the trainer thread and the panels.
//!
//! `logic` drains the trainer's events within a time budget, polls background jobs and
//! keeps the trainer configured like the editor; `ui` lays out the panels, which only
//! push [`UiCommand`]s or edit the project.
//!
//! One file per concern: [`state`] (what the window holds), [`logic`] (the per-frame work
//! before the UI: trainer events, background loads, dialogs, saves), [`commands`] (what
//! each [`UiCommand`] does), [`launch`] (launch options, screenshot and soak runs, the
//! recovery file at close), [`layout`] (which panel goes where and what each is given).
//! This file holds the app's fields, builds it and implements `eframe::App`.
//!
//! Panels never get the whole app: each takes a small context of what it shows
//! (borrowed), what it edits in place (its own state, the project, the persisted UI
//! settings) and the command list. The views and the walkthrough still take the app (they
//! drive the trainer's inspector and run actions).
mod commands;
mod launch;
mod layout;
mod logic;
mod state;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui;

use super::app_state::AppState;
use super::background::{DialogJob, OpenJob};
use super::frame_timer::FrameTimer;
use super::panels;
use super::panels::model_editor::ModelEditor;
use super::presets::{self, DEFAULT_PRESET, PresetEntry};
use super::project::Project;
use crate::spec::Preset;
use crate::train::messages::StartWeights;
use crate::train::worker::TrainerWorker;

pub use commands::UiCommand;
use launch::ScreenshotPlan;
pub use launch::{LaunchOptions, RECOVERY_FILE, RECOVERY_WAIT};
pub use logic::{EVENT_BUDGET, TRAINING_REPAINT};
pub use state::{DataView, MAX_STEP_POINTS, Message, RunView, SplitData, needs_configure};

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
    pub data_panel: panels::data_panel::DataPanelState,
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
            data_panel: Default::default(),
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
