//! What each [`UiCommand`] the panels ask for does: train, open, save, export, load a
//! folder, probe, move through the walkthrough; with the opening and configuring they need.

use std::path::Path;

use eframe::egui;

use super::walkthrough::WalkState;
use super::{ConvLabApp, UiCommand};
use crate::data::DataSource;
use crate::data::pairs::MaskFormat;
use crate::data::sources::anomaly_folder::AnomalyFolder;
use crate::data::sources::class_folder::ClassFolder;
use crate::data::sources::points_csv::PointsCsv;
use crate::data::sources::segmentation_folder::SegmentationFolder;
use crate::spec::Preset;
use crate::train::messages::{RunSetup, StartWeights, TrainerCommand};
use crate::ui::background::{DialogJob, OpenJob};
use crate::ui::panels::model_editor::ModelEditor;
use crate::ui::presets;
use crate::ui::project::Project;
use crate::ui::session::RunView;

impl ConvLabApp {
    pub(super) fn handle_commands(&mut self, ctx: &egui::Context) {
        // A command may ask for another (entering a walkthrough step pauses the run): that
        // one is carried out in the same frame, like the panels' own.
        while !self.commands.is_empty() {
            self.handle_queued_commands(ctx);
        }
    }

    fn handle_queued_commands(&mut self, ctx: &egui::Context) {
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
                UiCommand::ExportPytorch(path) => {
                    if path.as_os_str().is_empty() {
                        self.error("type a folder for the PyTorch code first".into());
                        continue;
                    }
                    if self.needs_configure() && !self.configure(false) {
                        continue;
                    }
                    self.state.pytorch_path = path.display().to_string();
                    self.writes.pending_pytorch = Some(path);
                    self.info("exporting PyTorch code...".into());
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
                    // A new attempt even if the same folder failed before, and a new
                    // reading if it is loaded already.
                    self.data.failed = None;
                    self.data.reload = true;
                    self.data_panel.open_tools = None;
                    if let Some(job) = self.data.job.take() {
                        job.cancel();
                    }
                }
                UiCommand::LoadPointsCsv(path) => {
                    self.state.csv_path = path.display().to_string();
                    // Another file keeps the task and features chosen for the last one.
                    let csv = match &self.project.preset.data.source {
                        DataSource::PointsCsv(old) => PointsCsv {
                            path,
                            ..old.clone()
                        },
                        _ => PointsCsv::new(path),
                    };
                    self.project.preset.data.source = DataSource::PointsCsv(csv);
                    self.data.failed = None;
                    self.data.reload = true;
                    if let Some(job) = self.data.job.take() {
                        job.cancel();
                    }
                }
                UiCommand::LoadSegmentationFolder { images, masks } => {
                    self.state.segmentation_images_path = images.display().to_string();
                    self.state.segmentation_masks_path = masks.display().to_string();
                    // Another pair of folders keeps a mask format a preset named.
                    let mask_format = match &self.project.preset.data.source {
                        DataSource::SegmentationFolder(old) => old.mask_format.clone(),
                        _ => MaskFormat::Auto,
                    };
                    self.load_source(DataSource::SegmentationFolder(SegmentationFolder {
                        images,
                        masks,
                        size: self.state.folder_size,
                        grayscale: self.state.folder_grayscale,
                        mask_format,
                    }));
                }
                UiCommand::LoadAnomalyFolder {
                    normal,
                    test,
                    masks,
                } => {
                    let text = |p: &Option<std::path::PathBuf>| {
                        p.as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    };
                    self.state.anomaly_normal_path = normal.display().to_string();
                    self.state.anomaly_test_path = text(&test);
                    self.state.anomaly_masks_path = text(&masks);
                    self.load_source(DataSource::AnomalyFolder(AnomalyFolder {
                        normal,
                        test,
                        masks,
                        size: self.state.folder_size,
                        grayscale: self.state.folder_grayscale,
                    }));
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
                UiCommand::SetModelValue { name, index, value } => {
                    self.trainer
                        .worker
                        .send(TrainerCommand::SetParamValue { name, index, value });
                }
                UiCommand::Walk(walk) => self.walk_command(walk),
                UiCommand::Runs(command) => self.run_command(command),
                UiCommand::SaveFigure(path) => self.save_figure(path),
                UiCommand::CopyFigure => self.copy_figure(ctx),
            }
        }
    }

    /// Opens `preset` as the project; `file` is where it was read from (its runs are kept
    /// beside it when it is a checkpoint).
    pub(super) fn set_project(&mut self, preset: Preset, origin: String, file: Option<&Path>) {
        self.switch_runs(file, &preset);
        // The folder fields show the opened preset's folder, so "Load folder" reloads it.
        if let DataSource::Folder(folder) = &preset.data.source {
            self.state.folder_path = folder.path.display().to_string();
            self.state.folder_size = folder.size;
            self.state.folder_grayscale = folder.grayscale;
        }
        match &preset.data.source {
            DataSource::PointsCsv(csv) => self.state.csv_path = csv.path.display().to_string(),
            DataSource::SegmentationFolder(seg) => {
                self.state.segmentation_images_path = seg.images.display().to_string();
                self.state.segmentation_masks_path = seg.masks.display().to_string();
                self.state.folder_size = seg.size;
                self.state.folder_grayscale = seg.grayscale;
            }
            DataSource::AnomalyFolder(anomaly) => {
                let text = |p: &Option<std::path::PathBuf>| {
                    p.as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                };
                self.state.anomaly_normal_path = anomaly.normal.display().to_string();
                self.state.anomaly_test_path = text(&anomaly.test);
                self.state.anomaly_masks_path = text(&anomaly.masks);
                self.state.folder_size = anomaly.size;
                self.state.folder_grayscale = anomaly.grayscale;
            }
            _ => {}
        }
        self.walk = WalkState::for_preset(&preset);
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

    /// Switches the project to `source` and loads it afresh (in the background, see
    /// `poll_data`), even when the same folders failed or loaded before.
    fn load_source(&mut self, source: DataSource) {
        self.project.preset.data.source = source;
        self.data.reload = true;
        // The data panel shows the tools of the source now chosen.
        self.data_panel.open_tools = None;
        self.data.failed = None;
        if let Some(job) = self.data.job.take() {
            job.cancel();
        }
    }

    pub fn open_embedded(&mut self, name: &'static str) {
        if let Some(p) = presets::embedded(name) {
            self.open_job = None;
            self.set_project(p, format!("built-in {name}"), None);
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
                    self.set_project(p, path.display().to_string(), Some(path));
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
        if !matches!(weights, StartWeights::KeepMatching) {
            // The run that ends here stays in the runs table.
            self.end_current_run();
        }
        if matches!(weights, StartWeights::Fresh) {
            // The run that ends here stays on the curves as the previous one ("compare the
            // curves" in a walkthrough step that changes the model); a start without epochs
            // keeps the run before it.
            if !self.run.history.is_empty() {
                self.run.previous = std::mem::take(&mut self.run.history);
            }
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
