//! The lab window: owns the project, the loaded data, the trainer thread and the panels.
//!
//! `logic` drains the trainer's events within a time budget, polls background jobs and
//! keeps the trainer configured like the editor; `ui` lays out the panels, which only
//! push [`UiCommand`]s or edit the project.
//!
//! One file per concern: [`state`] (the app's machinery: trainer link, files being
//! written), [`logic`] (the per-frame work before the UI: trainer events, background loads,
//! dialogs, saves, the views' inspector), [`commands`] (what each [`UiCommand`] does),
//! [`walkthrough`] (entering steps and running their actions), [`launch`] (launch options,
//! screenshot and soak runs, the recovery file at close), [`layout`] (which panel goes where
//! and what each is given). This file holds the app's fields, builds it and implements
//! `eframe::App`.
//!
//! Panels never get the whole app, and never import it: each takes a small context of what
//! it shows (borrowed), what it edits in place (its own state, the project, the persisted
//! UI settings) and the command list. What app and panels share (the data and run shown,
//! the commands) lives beside both, in [`crate::ui::session`] and [`crate::ui::command`].
mod commands;
mod figures;
mod launch;
mod layout;
mod logic;
mod runs;
mod state;
mod walkthrough;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eframe::egui;

use super::app_state::AppState;
use super::background::{DialogJob, OpenJob};
use super::frame_timer::FrameTimer;
use super::panels;
use super::panels::model_editor::ModelEditor;
use super::presets::{self, DEFAULT_PRESET, PresetEntry};
use super::project::Project;
use super::session::{DataView, Message, RunView};
use crate::spec::Preset;
use crate::train::worker::TrainerWorker;

use super::command::UiCommand;
use launch::{Harness, Recovery, ScreenshotPlan};
pub use launch::{LaunchOptions, RECOVERY_FILE, RECOVERY_WAIT};
pub use logic::{EVENT_BUDGET, SOFTWARE_TRAINING_REPAINT, TRAINING_REPAINT};
use state::{FileWrites, TrainerLink};
pub use walkthrough::WalkState;

/// The window. The public fields are what the panels show and edit (and what tests
/// look at); the private ones are the machinery behind them, grouped by what owns them.
pub struct ConvLabApp {
    pub state: AppState,
    pub project: Project,
    pub data: DataView,
    pub run: RunView,
    pub editor: ModelEditor,
    pub frames: FrameTimer,
    pub message: Message,
    pub presets: Vec<PresetEntry>,
    /// What the panels asked for this frame, carried out at the next `logic`.
    pub commands: Vec<UiCommand>,
    pub gallery: panels::gallery::GalleryState,
    pub data_panel: panels::data_panel::DataPanelState,
    /// The central area's tabs and inspection views.
    pub views: panels::views::ViewsUi,
    /// The figure export window ("Save PNG…").
    pub figures: panels::figures::FigureUi,
    figure_write: figures::FigureWrite,
    pub walk: WalkState,
    /// Every run of the session (the runs table), kept in the project's runs folder.
    pub runs: super::runs::Runs,
    pub runs_panel: panels::runs_panel::RunsPanelState,
    pub dialog: Option<DialogJob>,
    /// A dialog returned nothing within 50 ms once: probably none is available here.
    pub dialog_unavailable: bool,
    /// A checkpoint being read in the background.
    pub open_job: Option<OpenJob>,
    trainer: TrainerLink,
    runs_link: runs::RunsLink,
    writes: FileWrites,
    /// The model as last seen, and when it last changed: edits reach the trainer after a
    /// short pause.
    last_model_edit: Instant,
    last_model: crate::engine::ModelSpec,
    egui_ctx: egui::Context,
    presenter_applied: Option<bool>,
    harness: Harness,
    recovery: Recovery,
    /// Milliseconds between repaints while training, shared with the trainer's wake-up
    /// callback ([`TRAINING_REPAINT`], or [`SOFTWARE_TRAINING_REPAINT`] on a CPU renderer).
    training_repaint_ms: Arc<AtomicU64>,
}

impl ConvLabApp {
    /// Repaints while training at [`SOFTWARE_TRAINING_REPAINT`] instead of
    /// [`TRAINING_REPAINT`]: for a window drawn by a CPU rasteriser, which would otherwise
    /// take a core from the trainer.
    pub fn pace_for_software_renderer(&mut self) {
        self.training_repaint_ms.store(
            SOFTWARE_TRAINING_REPAINT.as_millis() as u64,
            Ordering::Relaxed,
        );
    }

    /// The repaint interval while training.
    pub fn training_repaint(&self) -> Duration {
        Duration::from_millis(self.training_repaint_ms.load(Ordering::Relaxed))
    }

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
        let training_repaint_ms = Arc::new(AtomicU64::new(TRAINING_REPAINT.as_millis() as u64));
        let wake_ms = Arc::clone(&training_repaint_ms);
        // A trainer event repaints within one repaint interval, not at once: progress
        // arrives every 50 ms and must not drive a software renderer at 20 fps.
        let worker = TrainerWorker::spawn(move || {
            wake_ctx.request_repaint_after(Duration::from_millis(wake_ms.load(Ordering::Relaxed)))
        })
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
            trainer: TrainerLink {
                worker,
                config: None,
                pending_weights: None,
            },
            writes: FileWrites::default(),
            open_job: None,
            last_model_edit: Instant::now(),
            harness: Harness {
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
                view: options.view.clone(),
                step: options.walkthrough_step,
                walk_launched: false,
                soak: options
                    .soak
                    .map(|(duration, log)| super::soak::Soak::new(log, duration)),
            },
            egui_ctx: ctx.clone(),
            views: panels::views::ViewsUi::new(),
            figures: Default::default(),
            figure_write: Default::default(),
            walk: Default::default(),
            runs: Default::default(),
            runs_panel: Default::default(),
            runs_link: Default::default(),
            presenter_applied: None,
            recovery: Recovery {
                file: options.recovery_file.clone(),
                wait: options.recovery_wait.unwrap_or(RECOVERY_WAIT),
                trained_since_save: false,
                restoring: false,
            },
            training_repaint_ms,
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
            .recovery
            .file
            .clone()
            .filter(|f| options.file.is_none() && !app.measuring() && f.exists());
        if let Some(file) = options.file {
            app.open(&file);
        } else if let Some(file) = recovered {
            // Read in the background like any checkpoint; `poll_open` marks it unsaved.
            app.open_job = Some(OpenJob::spawn(file, &app.egui_ctx));
            app.recovery.restoring = true;
            app.info("restoring the model you trained last time…".into());
        } else if let Some(text) = unsaved {
            match Preset::parse(&text, "the last session") {
                Ok(p) => {
                    let name = p.name.clone();
                    app.set_project(p, "unsaved model from the last session".into(), None);
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
        for writer in self.writes.writers.drain(..) {
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
