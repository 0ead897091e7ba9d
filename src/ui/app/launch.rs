//! How the window was launched and the runs that measure it: `--view` and walkthrough
//! steps at start, screenshots after a few epochs, soak runs; and, at close, the recovery
//! file that keeps a trained model nobody saved.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui;

use super::{ConvLabApp, UiCommand};
use crate::checkpoint::Checkpoint;
use crate::spec::view::ViewId;
use crate::train::messages::{RunState, TrainerCommand, TrainerEvent};

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
    /// [`crate::ui::soak`]).
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

/// The launch options still to apply, and the measuring runs (screenshot, soak).
pub(super) struct Harness {
    pub(super) screenshot: Option<ScreenshotPlan>,
    /// Screenshot of a view or a walkthrough step (set by the launch options).
    pub(super) view: Option<String>,
    pub(super) step: Option<usize>,
    pub(super) walk_launched: bool,
    pub(super) soak: Option<crate::ui::soak::Soak>,
}

/// The recovery file: a trained model nobody saved is kept there at close.
pub(super) struct Recovery {
    pub(super) file: Option<PathBuf>,
    pub(super) wait: Duration,
    /// Training happened since the model was opened or last saved.
    pub(super) trained_since_save: bool,
    /// The checkpoint being opened is the last session's unsaved model.
    pub(super) restoring: bool,
}

pub(super) struct ScreenshotPlan {
    pub(super) path: PathBuf,
    pub(super) train: bool,
    pub(super) epochs: usize,
    pub(super) started: Instant,
    pub(super) training_started: bool,
    pub(super) requested: bool,
    pub(super) done: Arc<AtomicBool>,
    pub(super) saved: Arc<Mutex<Option<Result<(), image::ImageError>>>>,
}

impl ConvLabApp {
    /// Applies `--view` / the walkthrough step of the launch options once the run is ready.
    pub(super) fn launch_logic(&mut self) {
        if let Some(view) = self.harness.view.take() {
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
        if let Some(step) = self.harness.step
            && self.trainer.config.is_some()
        {
            self.harness.step = None;
            self.harness.walk_launched = true;
            self.walk.active = true;
            let k = step
                .saturating_sub(1)
                .min(self.project.preset.walkthrough.len().saturating_sub(1));
            self.walk_rerun(k);
        }
    }

    pub(super) fn screenshot_logic(&mut self) {
        let ready = self.trainer.config.is_some()
            && self.open_job.is_none()
            && self.run.state != RunState::Empty;
        let Some(plan) = &mut self.harness.screenshot else {
            return;
        };
        if plan.train
            && !plan.training_started
            && ready
            && !self.harness.walk_launched
            && self.harness.step.is_none()
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

    pub(super) fn screenshot_ui(&mut self, ctx: &egui::Context) {
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
        let walk_done =
            self.harness.walk_launched && !self.walk.busy() && state != RunState::Running;
        let walking = self.harness.walk_launched || self.harness.step.is_some();
        let Some(plan) = &mut self.harness.screenshot else {
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
                    image::save_buffer(&path, &bytes, w, h, image::ExtendedColorType::Rgba8);
                *saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                done.store(true, Ordering::SeqCst);
            });
        }
    }

    pub(super) fn soak_ui(&mut self, ctx: &egui::Context) {
        let Some(soak) = &mut self.harness.soak else {
            return;
        };
        // A report is due every few seconds even when nothing else repaints.
        ctx.request_repaint_after(Duration::from_millis(500));
        if self.project.preset.training.epochs < crate::ui::soak::SOAK_EPOCHS {
            self.project.preset.training.epochs = crate::ui::soak::SOAK_EPOCHS;
        }
        let sample = crate::ui::soak::SoakSample {
            state: self.run.state,
            ready: self.trainer.config.is_some() && self.open_job.is_none(),
            epochs: self.run.history.len(),
            total_steps: self.run.progress.as_ref().map_or(0, |p| p.total_steps),
            batch_size: self.project.preset.training.batch_size,
            threads: crate::train::worker::window_training_threads(),
            ui_seconds: self.frames.ui_times.back().copied().unwrap_or(0.0),
        };
        match soak.tick(&sample) {
            crate::ui::soak::SoakAction::Nothing => {}
            crate::ui::soak::SoakAction::StartTraining => self.commands.push(UiCommand::Start),
            crate::ui::soak::SoakAction::Close => {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// At close: writes a trained model that is in no file of the user's to the recovery
    /// file (reopened at the next start), or removes a recovery file that is no longer
    /// needed. The trainer is asked for the weights and waited for at most
    /// `recovery_wait` ([`RECOVERY_WAIT`]); in the middle of a long minibatch it cannot answer, and the
    /// preset text kept by `save` is what survives.
    pub(super) fn keep_unsaved_model(&mut self) {
        let Some(file) = self.recovery.file.clone().filter(|_| !self.measuring()) else {
            return;
        };
        if self.recovery.restoring {
            return; // closed before the recovery file was even read: keep it
        }
        if !self.recovery.trained_since_save {
            // Saved since, or the user moved on to another model.
            std::fs::remove_file(&file).ok();
            return;
        }
        self.trainer.worker.send(TrainerCommand::ExportWeights);
        let deadline = Instant::now() + self.recovery.wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(event) = self.trainer.worker.recv_timeout(left) else {
                break;
            };
            if let TrainerEvent::Weights {
                preset,
                params,
                history,
                class_names,
                snapshots,
            } = event
            {
                let palette = self.masks_palette(&preset.data.source);
                let ck = Checkpoint {
                    preset: *preset,
                    params,
                    history,
                    class_names,
                    snapshots,
                    palette,
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
    pub(super) fn measuring(&self) -> bool {
        self.harness.screenshot.is_some() || self.harness.soak.is_some()
    }
}
