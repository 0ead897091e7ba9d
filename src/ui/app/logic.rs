//! The per-frame work before the UI (`eframe::App::logic`): the trainer's events within a
//! time budget, background loads, dialogs and saves, dropped files and shortcuts, and
//! keeping the trainer configured like the editor.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use super::{ConvLabApp, UiCommand};
use crate::checkpoint::Checkpoint;
use crate::data::SourceKind;
use crate::data::load::split_spec;
use crate::data::sources::points_csv::is_csv;
use crate::train::messages::{RunState, StartWeights, TrainerCommand, TrainerEvent};
use crate::ui::background::{
    DataJob, DialogPurpose, FolderField, export_onnx, export_pytorch, save_checkpoint,
};
use crate::ui::panels;
use crate::ui::panels::views::InspectorUpdate;
use crate::ui::session::{MAX_STEP_POINTS, SplitData};

/// How long `logic` may spend draining trainer events per frame.
pub const EVENT_BUDGET: Duration = Duration::from_millis(8);
/// Repaint interval while training (20 fps): curves and views move smoothly at that rate,
/// input still repaints at once, and a window drawn in software (no GPU, e.g. lavapipe)
/// leaves the trainer most of the CPU instead of spending a core on 60 fps.
pub const TRAINING_REPAINT: Duration = Duration::from_millis(50);
/// Repaint interval while training when the window is drawn by a CPU rasteriser
/// (llvmpipe/lavapipe, no GPU): there one frame of this window costs the CPU about as much
/// as 150 ms of training, so 2 fps keeps the curves moving while the trainer keeps the
/// cores (measured on cells-unet, 2 threads: 855–871 img/s at 4 fps, 989–999 at 2 fps,
/// against 1,049–1,103 wall-clock for `convlab train`). Input still repaints at once.
pub const SOFTWARE_TRAINING_REPAINT: Duration = Duration::from_millis(500);

impl ConvLabApp {
    /// Work that must happen every frame, before the UI (also usable from tests).
    pub fn tick(&mut self, ctx: &egui::Context) {
        self.frames.on_frame_start();
        self.drain_events();
        self.poll_data(ctx);
        self.poll_dialog();
        self.poll_open();
        self.poll_save();
        self.poll_figure();
        self.writes.writers.retain(|w| !w.is_finished());
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
        self.walk_keys(ctx);
        self.walk_logic();
        self.sync_views(ctx);
        if self.presenter_applied != Some(self.state.presenter) {
            panels::walkthrough::apply_presenter(ctx, self.state.presenter);
            if self.state.presenter {
                self.state.colormap = crate::viz::Colormap::Viridis;
            }
            self.presenter_applied = Some(self.state.presenter);
        }
        self.screenshot_logic();
        if self.run.state == RunState::Running {
            ctx.request_repaint_after(self.training_repaint());
        }
        if self.data.job.is_some() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    /// Keeps the trainer's inspector in step with the views' settings and takes its newest
    /// result.
    fn sync_views(&mut self, ctx: &egui::Context) {
        // The plane's points are fed to the model with the data's hand-made features.
        let features = self.project.preset.data.source.source().input_features();
        if self.views.settings.features != features {
            self.views.settings.features = features.to_vec();
        }
        if let Some(update) = self.views.inspector_update() {
            let job = match update {
                InspectorUpdate::Install(job) => Some(job),
                InspectorUpdate::Remove => None,
            };
            self.trainer.worker.send(TrainerCommand::Inspect(job));
        }
        self.views.take_result(ctx);
    }

    /// The class colours of the loaded masks when `source` is the loaded data and its
    /// masks were colour-coded (a checkpoint keeps them beside the class names).
    pub(super) fn masks_palette(&self, source: &crate::data::DataSource) -> Option<Vec<[u8; 3]>> {
        let loaded = self.data.loaded.as_ref().filter(|l| &l.source == source)?;
        match &loaded.details {
            crate::ui::background::LoadDetails::Masks { palette, .. } => palette.clone(),
            _ => None,
        }
    }

    pub(super) fn drain_events(&mut self) {
        let started = Instant::now();
        while started.elapsed() < EVENT_BUDGET {
            let Some(event) = self.trainer.worker.try_recv() else {
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
                    self.recovery.trained_since_save = true;
                    self.run.step_losses.push([p.epoch_position, p.mean_loss]);
                    if self.run.step_losses.len() > MAX_STEP_POINTS {
                        // Keep every other point: bounded memory, the curve's shape stays.
                        let thinned = self.run.step_losses.iter().copied().step_by(2).collect();
                        self.run.step_losses = thinned;
                    }
                    self.run.progress = Some(p);
                }
                TrainerEvent::Epoch(record) => self.run.history.push(record),
                TrainerEvent::Snapshots(moments) => self.run.moments = moments,
                TrainerEvent::State(s) => {
                    self.run.state = s;
                    if s == RunState::Finished {
                        self.info(format!("finished {} epochs", self.run.history.len()));
                        self.record_current_run();
                    }
                }
                TrainerEvent::Weights {
                    preset,
                    params,
                    history,
                    class_names,
                    snapshots,
                } => {
                    let palette = self.masks_palette(&preset.data.source);
                    let ck = Checkpoint {
                        preset: *preset,
                        params,
                        history,
                        class_names,
                        snapshots,
                        palette,
                    };
                    self.take_run_weights(&ck);
                    if let Some(path) = self.writes.pending_onnx.take() {
                        self.info(format!("exporting ONNX to {}…", path.display()));
                        self.writes.writers.extend(export_onnx(
                            ck.clone(),
                            path,
                            Arc::clone(&self.writes.onnx_result),
                            &self.egui_ctx,
                        ));
                    }
                    if let Some(dir) = self.writes.pending_pytorch.take() {
                        self.info(format!("exporting PyTorch code to {}...", dir.display()));
                        self.writes.writers.extend(export_pytorch(
                            ck.clone(),
                            dir,
                            Arc::clone(&self.writes.pytorch_result),
                            &self.egui_ctx,
                        ));
                    }
                    if let Some(path) = self.writes.pending_save.take() {
                        self.writes.saving = Some(ck.preset.clone());
                        self.writes.writers.extend(save_checkpoint(
                            ck,
                            path,
                            Arc::clone(&self.writes.save_result),
                            &self.egui_ctx,
                        ));
                        self.info("saving…".into());
                    }
                }
                TrainerEvent::Error(e) => {
                    self.writes.pending_save = None;
                    self.writes.pending_onnx = None;
                    self.writes.pending_pytorch = None;
                    self.error(e.to_string());
                    self.run.error = Some(e);
                }
            }
        }
        if started.elapsed() >= EVENT_BUDGET {
            self.egui_ctx.request_repaint();
        }
        let mut seen = self.run.eval_seen;
        if let Some(e) = self.trainer.worker.evaluation.take_newer(&mut seen) {
            self.run.evaluation = Some(e);
        }
        self.run.eval_seen = seen;
        let mut seen = self.run.probe_seen;
        if let Some(p) = self.trainer.worker.probe.take_newer(&mut seen) {
            self.run.probe = Some(p);
        }
        self.run.probe_seen = seen;
    }

    pub(super) fn poll_data(&mut self, ctx: &egui::Context) {
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
                            format!(
                                ", {}",
                                panels::data_panel::skipped_text(&loaded.source, skipped)
                            )
                        } else {
                            String::new()
                        },
                        loaded.seconds
                    ));
                    self.data.loaded = Some(loaded);
                    self.data.split = None;
                    self.data.split_failed = None;
                    self.data.failed = None;
                    self.data.version += 1;
                }
                Err(e) => {
                    // Cancel is the user's choice, not a failure: say it plainly.
                    if e.is_cancelled() {
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
            .is_some_and(|l| self.data_matches(&l.source, l.seed, &l.task));
        let loading = self
            .data
            .job
            .as_ref()
            .is_some_and(|j| self.data_matches(&j.source, j.seed, &j.task));
        let failed = self.data.failed.as_ref().is_some_and(|(s, seed, _)| {
            self.data_matches(s, *seed, &crate::ui::background::TaskKey::of(wanted))
        });
        let reload = std::mem::take(&mut self.data.reload);
        if (!have || reload) && !failed && (!loading || reload) {
            if let Some(job) = &self.data.job {
                job.cancel();
            }
            self.data.job = Some(DataJob::spawn(wanted, ctx));
        }
        // Split when the data or the split settings changed.
        if have {
            let (vf, seed, denoise) = (wanted.val_fraction, wanted.seed, wanted.denoise);
            let super_resolution = wanted.super_resolution;
            let patches = wanted.patches;
            let stale = self.data.split.as_ref().is_none_or(|s| !s.fits(wanted));
            let retry = self.data.split_failed != Some(patches);
            if stale
                && retry
                && let Some(loaded) = &self.data.loaded
            {
                match split_spec(&loaded.dataset, wanted) {
                    Ok((train, val)) => {
                        self.data.split_failed = None;
                        self.data.split = Some(SplitData {
                            val_fraction: vf,
                            seed,
                            denoise,
                            super_resolution,
                            patches,
                            train: Arc::new(train),
                            val: Arc::new(val),
                        });
                        self.data.version += 1;
                        self.gallery = Default::default();
                    }
                    Err(e) => {
                        // Reported once; tried again when the patch settings or the data
                        // change.
                        self.data.split = None;
                        self.data.split_failed = Some(patches);
                        self.data.version += 1;
                        self.error(format!("could not split the data: {e}"));
                    }
                }
            }
        }
    }

    /// Installs a checkpoint once its background read is done.
    pub(super) fn poll_open(&mut self) {
        let Some(job) = &self.open_job else { return };
        let Some(result) = job.poll() else { return };
        let path = self.open_job.take().expect("checked above").path;
        match result {
            Ok(ck) => {
                let epochs = ck.history.epochs.len();
                let restoring = std::mem::take(&mut self.recovery.restoring);
                let origin = if restoring {
                    "unsaved model from the last session".to_string()
                } else {
                    path.display().to_string()
                };
                let name = ck.preset.name.clone();
                let file = (!restoring).then_some(path.as_path());
                self.set_project(ck.preset, origin, file);
                self.trainer.pending_weights = Some(StartWeights::Checkpoint {
                    params: ck.params,
                    history: ck.history,
                    snapshots: ck.snapshots,
                });
                if restoring {
                    // Still not in a file of the user's: keep it marked, and kept at exit.
                    self.project.saved = None;
                    self.recovery.trained_since_save = true;
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
            Err(e) if std::mem::take(&mut self.recovery.restoring) => {
                self.error(format!("could not restore the last session's model: {e}"));
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    pub(super) fn poll_dialog(&mut self) {
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
                DialogPurpose::PointsCsv => self.commands.push(UiCommand::LoadPointsCsv(path)),
                DialogPurpose::FolderField(field) => {
                    *self.folder_field(field) = path.display().to_string();
                }
                DialogPurpose::Figure => self.commands.push(UiCommand::SaveFigure(path)),
                DialogPurpose::ExportPytorch => {
                    self.commands.push(UiCommand::ExportPytorch(path));
                }
            },
        }
    }

    pub(super) fn poll_save(&mut self) {
        let outcome = self
            .writes
            .save_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match outcome {
            Some(Ok(path)) => {
                self.info(format!("saved {}", path.display()));
                if let Some(preset) = self.writes.saving.take() {
                    self.project.saved = Some(preset);
                }
                self.recovery.trained_since_save = false;
                self.runs_saved_with(&path);
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                self.state.remember(abs);
            }
            Some(Err(e)) => self.error(format!("could not save: {e}")),
            None => {}
        }
        let outcome = self
            .writes
            .onnx_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match outcome {
            Some(Ok(path)) => self.info(format!("exported ONNX to {}", path.display())),
            Some(Err(e)) => self.error(format!("could not export ONNX: {e}")),
            None => {}
        }
        let outcome = self
            .writes
            .pytorch_result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match outcome {
            Some(Ok(dir)) => self.info(format!(
                "exported PyTorch code to {}: model.py, train.py, README.md, weights and data",
                dir.display()
            )),
            Some(Err(e)) => self.error(format!("could not export PyTorch code: {e}")),
            None => {}
        }
    }

    pub(super) fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        for file in dropped {
            let path = file.path().to_path_buf();
            if path.is_dir() {
                self.dropped_folder(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "toml" || e == "safetensors")
            {
                self.commands.push(UiCommand::Open(path));
            } else if is_csv(&path) {
                self.commands.push(UiCommand::LoadPointsCsv(path));
            } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "png" | "jpg" | "jpeg" | "bmp" | "gif" | "tif" | "tiff" | "webp"
                )
            }) {
                self.views.use_image(&path, self.project.preset.model.input);
            } else {
                self.error(format!(
                    "{}: drop a class folder, a CSV file of 2-D points, a preset (.toml) or a \
                     checkpoint (.safetensors)",
                    path.display()
                ));
            }
        }
    }

    /// The text of one of the data panel's folder fields.
    fn folder_field(&mut self, field: FolderField) -> &mut String {
        let s = &mut self.state;
        match field {
            FolderField::SegmentationImages => &mut s.segmentation_images_path,
            FolderField::SegmentationMasks => &mut s.segmentation_masks_path,
            FolderField::AnomalyNormal => &mut s.anomaly_normal_path,
            FolderField::AnomalyTest => &mut s.anomaly_test_path,
            FolderField::AnomalyMasks => &mut s.anomaly_masks_path,
        }
    }

    /// A folder dropped on the window goes where the data panel's open tools want one: a
    /// class folder loads at once; with the segmentation tools it fills the images field,
    /// then the masks field (and loads once both are there); with the anomaly tools it
    /// fills the normal, then the test, then the masks field, loading each time (the normal
    /// images alone are a complete set).
    fn dropped_folder(&mut self, path: PathBuf) {
        let kind = self
            .data_panel
            .open_tools
            .unwrap_or_else(|| self.project.preset.data.source.kind());
        let text = path.display().to_string();
        let filled = |s: &String| !s.trim().is_empty();
        match kind {
            SourceKind::SegmentationFolder => {
                if !filled(&self.state.segmentation_images_path) {
                    self.state.segmentation_images_path = text;
                    self.info("images folder set: now drop or type the masks folder".into());
                } else {
                    self.commands.push(UiCommand::LoadSegmentationFolder {
                        images: PathBuf::from(self.state.segmentation_images_path.trim()),
                        masks: path,
                    });
                }
            }
            SourceKind::AnomalyFolder => {
                let s = &self.state;
                let optional = |t: &String| filled(t).then(|| PathBuf::from(t.trim()));
                let (normal, test, masks) = if !filled(&s.anomaly_normal_path) {
                    (path, None, None)
                } else if !filled(&s.anomaly_test_path) {
                    let normal = PathBuf::from(s.anomaly_normal_path.trim());
                    (normal, Some(path), optional(&s.anomaly_masks_path))
                } else {
                    let normal = PathBuf::from(s.anomaly_normal_path.trim());
                    (normal, optional(&s.anomaly_test_path), Some(path))
                };
                self.commands.push(UiCommand::LoadAnomalyFolder {
                    normal,
                    test,
                    masks,
                });
            }
            _ => self.commands.push(UiCommand::LoadFolder(path)),
        }
    }

    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        let redo = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
        let redo_y = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
        let undo = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
        let save = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
        let figure = KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
        let (do_redo, do_undo, do_save) = ctx.input_mut(|i| {
            // Before Ctrl+S, which would also match Ctrl+Shift+S (egui ignores extra Shift).
            if i.consume_shortcut(&figure) {
                self.figures.open = true;
            }
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

    pub(super) fn sync_live_settings(&mut self) {
        let Some((p, _)) = &mut self.trainer.config else {
            return;
        };
        let t = &self.project.preset.training;
        if p.training.learning_rate != t.learning_rate {
            p.training.learning_rate = t.learning_rate;
            self.trainer
                .worker
                .send(TrainerCommand::SetLearningRate(t.learning_rate));
        }
        if p.training.augment != t.augment {
            p.training.augment = t.augment;
            self.trainer
                .worker
                .send(TrainerCommand::SetAugment(t.augment));
        }
        if p.training.epochs != t.epochs {
            p.training.epochs = t.epochs;
            self.trainer
                .worker
                .send(TrainerCommand::SetEpochs(t.epochs));
        }
    }
}
