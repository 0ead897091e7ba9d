//! The lab window: owns the project, the loaded data, the trainer thread and the panels.
//!
//! `logic` drains the trainer's events within a time budget, polls background jobs and
//! keeps the trainer configured like the editor; `ui` lays out the panels, which only
//! push [`UiCommand`]s or edit the project.
//!
//! One file per concern: [`state`] (what the window holds), [`logic`] (the per-frame work
//! before the UI: trainer events, background loads, dialogs, saves), [`commands`] (what
//! each [`UiCommand`] does), [`launch`] (launch options, screenshot and soak runs, the
//! recovery file at close). This file builds the app and lays out the panels.

mod commands;
mod launch;
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
pub use state::{DataView, MAX_STEP_POINTS, Message, RunView, SplitData};

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
