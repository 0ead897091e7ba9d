//! The session's runs in the app: a run is recorded when the trainer's run is replaced by a
//! fresh start (Reset, a model change, a walkthrough reset, opening another project) or
//! finishes, its final weights asked of the trainer (they come back as a `Weights` event,
//! like a save's); the runs table's commands; and which folder keeps the project's runs.

use std::path::{Path, PathBuf};

use super::ConvLabApp;
use crate::checkpoint::Checkpoint;
use crate::spec::Preset;
use crate::train::messages::{StartWeights, TrainerCommand};
use crate::ui::runs::{RunCommand, Runs};

/// The folder of runs in the window's storage, one per preset, for projects that are in
/// no file of the user's (built-in and file presets, unsaved models).
const SESSION_RUNS: &str = "runs";

/// Which run of the table the trainer is on, and the runs of a project closed while its
/// last run's weights were still on their way.
#[derive(Default)]
pub(super) struct RunsLink {
    /// The trainer's run, once recorded (finished, or pinned by a walkthrough); training
    /// it further updates the same row.
    pub(super) current: Option<u64>,
    pub(super) retired: Option<Runs>,
}

impl ConvLabApp {
    /// The run the trainer is on, if it is in the table.
    pub fn current_run(&self) -> Option<u64> {
        self.runs_link.current
    }

    /// Records the trainer's run (if it trained at least one epoch) in the table, or
    /// updates its row, and asks the trainer for its weights. Returns its id.
    pub(super) fn record_current_run(&mut self) -> Option<u64> {
        if self.run.history.is_empty() {
            return None;
        }
        // What the trainer trained (live learning-rate changes included), else the editor's.
        let preset = self
            .trainer
            .config
            .as_ref()
            .map_or(&self.project.preset, |(p, _)| p)
            .clone();
        let (id, written) = self
            .runs
            .record(self.runs_link.current, &preset, &self.run.history);
        self.runs_link.current = Some(id);
        if let Err(e) = written {
            self.error(format!("could not keep the run: {e}"));
        }
        if self.runs.get(id).is_some_and(|r| !r.has_weights()) && self.trainer.config.is_some() {
            self.trainer.worker.send(TrainerCommand::ExportWeights);
        }
        Some(id)
    }

    /// The trainer's run is being replaced by a fresh start: it stays in the table.
    pub(super) fn end_current_run(&mut self) {
        self.record_current_run();
        self.runs_link.current = None;
    }

    /// The trainer's weights arrived: the run waiting for them keeps them.
    pub(super) fn take_run_weights(&mut self, ck: &Checkpoint) {
        let result = match self.runs.attach_weights(ck) {
            Some((_, result)) => Some(result),
            None => self
                .runs_link
                .retired
                .as_mut()
                .and_then(|r| r.attach_weights(ck))
                .map(|(_, result)| result),
        };
        if self
            .runs_link
            .retired
            .as_ref()
            .is_some_and(|r| !r.awaiting_weights())
        {
            self.runs_link.retired = None;
        }
        if let Some(Err(e)) = result {
            self.error(format!("could not keep the run's weights: {e}"));
        }
    }

    /// Where the runs of a project opened from `file` (or of `preset` when it is in no
    /// file) are kept: beside a checkpoint as `<name>.runs/`, else in the window's storage;
    /// nowhere on disk for screenshots and soak runs, or without storage.
    fn runs_dir(&self, file: Option<&Path>, preset: &Preset) -> Option<PathBuf> {
        if self.measuring() {
            return None;
        }
        if let Some(file) = file.filter(|f| f.extension().is_some_and(|e| e == "safetensors")) {
            return Some(file.with_extension("runs"));
        }
        let storage = self.recovery.file.as_ref()?.parent()?;
        let name: String = preset
            .name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Some(storage.join(SESSION_RUNS).join(name))
    }

    /// Another project: the trainer's run stays with the old project's runs, and the new
    /// project's runs are read from its folder.
    pub(super) fn switch_runs(&mut self, file: Option<&Path>, preset: &Preset) {
        self.end_current_run();
        let dir = self.runs_dir(file, preset);
        if dir.as_deref() == self.runs.dir() && dir.is_some() {
            return;
        }
        let (runs, errors) = match &dir {
            Some(dir) => Runs::open(dir),
            None => (Runs::new(None), Vec::new()),
        };
        let old = std::mem::replace(&mut self.runs, runs);
        if old.awaiting_weights() {
            self.runs_link.retired = Some(old);
        }
        if let Some(e) = errors.first() {
            self.error(format!(
                "{} run file(s) could not be read: {e}",
                errors.len()
            ));
        }
    }

    /// The project was saved to `checkpoint`: its runs go to the folder beside it.
    pub(super) fn runs_saved_with(&mut self, checkpoint: &Path) {
        if self.measuring() {
            return;
        }
        if let Err(e) = self.runs.move_to(checkpoint.with_extension("runs")) {
            self.error(format!(
                "saved, but the runs could not be kept beside it: {e}"
            ));
        }
    }

    /// A walkthrough's `pin_run`: the trainer's run is kept under `name` with its curves
    /// shown beside the runs after it.
    pub(super) fn pin_current_run(&mut self, name: &str) {
        let Some(id) = self.record_current_run() else {
            return;
        };
        if let Err(e) = self.runs.pin(id, name) {
            self.error(format!("could not keep the run: {e}"));
        }
    }

    pub(super) fn run_command(&mut self, command: RunCommand) {
        let result = match command {
            RunCommand::Rename(id, name) => self.runs.rename(id, &name),
            RunCommand::Show(id, shown) => self.runs.set_shown(id, shown),
            RunCommand::Delete(id) => {
                if self.runs_link.current == Some(id) {
                    self.runs_link.current = None;
                }
                self.runs.delete(id)
            }
            RunCommand::RestoreSettings(id) => {
                if let Some(run) = self.runs.get(id) {
                    let (preset, name) = (run.preset.clone(), run.name.clone());
                    self.restore_settings(&preset);
                    self.info(format!("restored the settings of {name}"));
                }
                Ok(())
            }
            RunCommand::RestoreWeights(id) => self.runs.weights(id).map(|ck| {
                // The run being replaced stays in the table.
                self.trainer.worker.send(TrainerCommand::Pause);
                self.end_current_run();
                self.run.history.clear();
                self.run.step_losses.clear();
                self.restore_settings(&ck.preset);
                self.trainer.pending_weights = Some(StartWeights::Checkpoint {
                    params: ck.params.clone(),
                    history: ck.history.clone(),
                    // The run's moments come back with it: its training can be played back.
                    snapshots: ck.snapshots.clone(),
                });
                // Configured with these weights at the next frame, even where the settings
                // equal the trainer's.
                self.trainer.config = None;
                let name = self
                    .runs
                    .get(id)
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                self.info(format!("restored the weights of {name}"));
            }),
        };
        if let Err(e) = result {
            self.error(e.to_string());
        }
    }

    /// The run's settings become the project's: the model as one undo step, the data and
    /// training settings with it; the walkthrough stays the project's.
    fn restore_settings(&mut self, preset: &Preset) {
        let model = preset.model.clone();
        self.project.apply(|m| *m = model);
        self.project.preset.data = preset.data.clone();
        self.project.preset.training = preset.training.clone();
    }
}
