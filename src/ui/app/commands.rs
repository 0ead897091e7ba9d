//! What the panels ask for ([`UiCommand`]) and what each does: train, open, save, export,
//! load a folder, probe; with the opening and configuring they need.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use super::{ConvLabApp, RunView};
use crate::data::DataSource;
use crate::data::sources::class_folder::ClassFolder;
use crate::spec::Preset;
use crate::spec::view::ViewId;
use crate::train::messages::{RunSetup, StartWeights, TrainerCommand};
use crate::ui::background::{DialogJob, DialogPurpose, OpenJob};
use crate::ui::panels;
use crate::ui::panels::model_editor::ModelEditor;
use crate::ui::presets;
use crate::ui::project::Project;

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

impl ConvLabApp {
    pub(super) fn handle_commands(&mut self, ctx: &egui::Context) {
        for command in std::mem::take(&mut self.commands) {
            match command {
                UiCommand::Start => {
                    if !self.needs_configure() || self.configure(false) {
                        self.run.error = None;
                        self.trainer.worker.send(TrainerCommand::Start);
                    }
                }
                UiCommand::Pause => self.trainer.worker.send(TrainerCommand::Pause),
                UiCommand::Step => {
                    if !self.needs_configure() || self.configure(false) {
                        self.trainer.worker.send(TrainerCommand::Step);
                    }
                }
                UiCommand::Reset => {
                    self.trainer.pending_weights = None;
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
                    self.writes.pending_save = Some(path);
                    self.trainer.worker.send(TrainerCommand::ExportWeights);
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
                    self.writes.pending_onnx = Some(path);
                    self.info("exporting ONNX…".into());
                    self.trainer.worker.send(TrainerCommand::ExportWeights);
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
                    self.trainer.worker.send(TrainerCommand::Probe(index));
                }
            }
        }
    }

    pub(super) fn set_project(&mut self, preset: Preset, origin: String) {
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
        self.recovery.trained_since_save = false;
        self.last_model = self.project.preset.model.clone();
        self.editor = ModelEditor::default();
        self.trainer.config = None;
        self.run = RunView::default();
        self.gallery = Default::default();
        self.trainer.worker.send(TrainerCommand::Pause);
    }

    pub fn open_embedded(&mut self, name: &'static str) {
        if let Some(p) = presets::embedded(name) {
            self.open_job = None;
            self.set_project(p, format!("built-in {name}"));
            self.trainer.pending_weights = None;
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
                    self.trainer.pending_weights = None;
                    self.after_open(path);
                    self.info(format!("opened {}", path.display()));
                }
                Err(e) => self.error(e.to_string()),
            }
        }
    }

    pub(super) fn after_open(&mut self, path: &Path) {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.state.remember(abs.clone());
        self.state.last_file = Some(abs);
    }

    /// Installs (or removes) the views' inspector on the trainer thread.
    pub fn send_inspect(&mut self, job: Option<crate::train::messages::InspectJob>) {
        self.trainer.worker.send(TrainerCommand::Inspect(job));
    }

    /// Sets one value of a parameter of the trainer's model (the single-unit view's edits).
    pub fn set_model_value(&mut self, name: String, index: Vec<usize>, value: f32) {
        self.trainer
            .worker
            .send(TrainerCommand::SetParamValue { name, index, value });
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

    /// Configures the worker like the project; `fresh` forces new weights.
    pub(super) fn configure(&mut self, fresh: bool) -> bool {
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
        let weights = if let Some(w) = self.trainer.pending_weights.take() {
            w
        } else {
            match &self.trainer.config {
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
        self.trainer
            .worker
            .send(TrainerCommand::Configure(Box::new(RunSetup {
                preset: self.project.preset.clone(),
                train,
                val,
                weights,
            })));
        self.trainer.config = Some((self.project.preset.clone(), self.data.version));
        true
    }

    /// Configures the trainer for the walkthrough (`fresh`: new weights from the seed).
    pub fn walk_configure(&mut self, fresh: bool) -> bool {
        if self.data_ready().is_none() || self.project.facts().full.is_none() {
            return false;
        }
        self.trainer.pending_weights = None;
        self.configure(fresh)
    }

    /// Trains until the history holds `target` epochs.
    pub fn start_training_to(&mut self, target: usize) {
        self.project.preset.training.epochs = target;
        self.sync_live_settings();
        self.run.error = None;
        self.trainer.worker.send(TrainerCommand::Start);
    }
}
