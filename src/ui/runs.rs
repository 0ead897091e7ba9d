//! Every run of the session, kept for comparison: its name, settings (the preset, with its
//! seed), curves (the epoch records), final weights, and whether its curves are shown.
//! No egui here; the table is `ui::panels::runs_panel`, and the app records a run when the
//! trainer's run is replaced by a fresh start or finishes (`ui::app::runs`).
//!
//! # On disk
//!
//! A folder of runs (`<checkpoint>.runs/` beside a saved project, else a folder per preset
//! in the window's storage) holds one `run-NNNN.json` per run (name, preset, curves) and
//! its weights as `run-NNNN.safetensors` (a checkpoint). Every file is written atomically,
//! so a full disk or a crash loses no earlier run. A run whose weight file is gone opens
//! marked missing: its curves and settings stay.
//!
//! # Memory
//!
//! Weights stay in memory up to [`WEIGHTS_MEMORY_BUDGET`] in total; beyond it the oldest
//! runs' weights, already on disk, are dropped from memory and read back when restored.
//! Without a folder (screenshots, tests, no storage) nothing is dropped: nothing the user
//! made is lost, it only is not kept past the session.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::spec::Preset;
use crate::train::EpochRecord;

/// Weights kept in memory across all runs (bytes of f32 parameters): 256 MB, a hundred
/// LeNets or a few U-Nets; the rest is read back from the runs folder on demand.
pub const WEIGHTS_MEMORY_BUDGET: usize = 256 << 20;
/// The run file format this build writes and reads.
pub const RUN_FILE_VERSION: u32 = 1;
/// A run file is a preset and its curves, a few hundred kilobytes at most.
const MAX_RUN_FILE_BYTES: u64 = 16 << 20;

/// Why runs could not be read or written. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path}: not a ConvLab run file: {reason}")]
    Format { path: String, reason: String },
    #[error(transparent)]
    Weights(#[from] CheckpointError),
    #[error("the weights of run '{name}' {why}")]
    NoWeights { name: String, why: &'static str },
    #[error("no run with id {0}")]
    NoSuchRun(u64),
}

/// Where a run's final weights are.
#[derive(Clone, Debug)]
pub enum RunWeights {
    /// Asked of the trainer; they arrive with its next `Weights` event.
    Pending,
    /// In memory (and in the runs folder too when `Run::weights_on_disk`).
    Memory(Arc<Checkpoint>),
    /// Only in the runs folder, read back on demand.
    Disk,
    /// The run file names a weight file that is gone (deleted outside ConvLab).
    Missing,
    /// Never received (the trainer failed before handing them over).
    Unavailable,
}

/// One run of the session.
#[derive(Clone, Debug)]
pub struct Run {
    /// Unique within its folder; also its file names.
    pub id: u64,
    /// "run 3" until the student (or a walkthrough) names it.
    pub name: String,
    /// The settings it trained with (at its end: a learning rate changed while training
    /// is the last one used).
    pub preset: Preset,
    pub history: Vec<EpochRecord>,
    pub weights: RunWeights,
    /// The weights are in the runs folder.
    pub weights_on_disk: bool,
    /// Its curves are drawn on the plots (ticked in the table).
    pub shown: bool,
    /// Named by a walkthrough's `pin_run`: replaying the walkthrough replaces it.
    pub pinned: bool,
}

impl Run {
    pub fn seed(&self) -> u64 {
        self.preset.training.seed
    }

    /// Seconds spent training (the epochs' own times, not pauses).
    pub fn duration_s(&self) -> f64 {
        self.history.iter().map(|r| r.seconds).sum()
    }

    /// The last epoch's record: the final metrics.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.history.last()
    }

    pub fn has_weights(&self) -> bool {
        matches!(self.weights, RunWeights::Memory(_) | RunWeights::Disk)
    }

    fn memory_bytes(&self) -> usize {
        match &self.weights {
            // Its snapshots (the run's playback) count too.
            RunWeights::Memory(ck) => {
                ck.params.iter().map(|(_, a)| a.len() * 4).sum::<usize>()
                    + ck.snapshots.iter().map(|s| s.bytes()).sum::<usize>()
            }
            _ => 0,
        }
    }
}

/// What the runs table asks for; the app carries it out.
#[derive(Clone, Debug, PartialEq)]
pub enum RunCommand {
    Rename(u64, String),
    /// Shows or hides the run's curves on the plots.
    Show(u64, bool),
    /// The run's settings become the project's (the model as one undo step).
    RestoreSettings(u64),
    /// The run's settings and final weights, as when opening a checkpoint.
    RestoreWeights(u64),
    Delete(u64),
}

/// The runs of one project, and the folder they are kept in.
#[derive(Debug, Default)]
pub struct Runs {
    pub list: Vec<Run>,
    dir: Option<PathBuf>,
    next_id: u64,
}

impl Runs {
    /// No runs yet, kept in `dir` (memory only without one).
    pub fn new(dir: Option<PathBuf>) -> Runs {
        Runs {
            list: Vec::new(),
            dir,
            next_id: 1,
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The runs kept in `dir` (none if it does not exist), and the files that could not be
    /// read (the others open). Weights are read when first needed.
    pub fn open(dir: &Path) -> (Runs, Vec<RunsError>) {
        let mut runs = Runs::new(Some(dir.to_path_buf()));
        let mut errors = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return (runs, errors);
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("run-"))
            })
            .collect();
        files.sort();
        for file in files {
            match read_run(dir, &file) {
                Ok(run) => {
                    runs.next_id = runs.next_id.max(run.id + 1);
                    runs.list.push(run);
                }
                Err(e) => errors.push(e),
            }
        }
        runs.list.sort_by_key(|r| r.id);
        (runs, errors)
    }

    pub fn get(&self, id: u64) -> Option<&Run> {
        self.list.iter().find(|r| r.id == id)
    }

    fn get_mut(&mut self, id: u64) -> Result<&mut Run, RunsError> {
        self.list
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(RunsError::NoSuchRun(id))
    }

    /// The run before `id` in the table (what its settings are compared with).
    pub fn previous(&self, id: u64) -> Option<&Run> {
        let k = self.list.iter().position(|r| r.id == id)?;
        k.checked_sub(1).map(|k| &self.list[k])
    }

    /// Records a run that ended (or updates run `id`, the same run trained further), its
    /// weights still to come. Returns its id; the error is about writing its file (the run
    /// is kept in memory all the same).
    pub fn record(
        &mut self,
        id: Option<u64>,
        preset: &Preset,
        history: &[EpochRecord],
    ) -> (u64, Result<(), RunsError>) {
        let id = match id.filter(|id| self.get(*id).is_some()) {
            Some(id) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.list.push(Run {
                    id,
                    name: format!("run {id}"),
                    preset: preset.clone(),
                    history: Vec::new(),
                    weights: RunWeights::Pending,
                    weights_on_disk: false,
                    shown: false,
                    pinned: false,
                });
                id
            }
        };
        let run = self.get_mut(id).expect("added or found above");
        // Recorded again without training further (a finished run replaced by a fresh
        // start): the settings it trained with stand, whatever was changed since.
        if run.history.is_empty() || !same_history(&run.history, history) {
            run.weights = RunWeights::Pending;
            run.weights_on_disk = false;
            run.preset = preset.clone();
            run.history = history.to_vec();
        }
        (id, self.write(id))
    }

    /// Whether a run waits for the trainer's weights.
    pub fn awaiting_weights(&self) -> bool {
        self.list
            .iter()
            .any(|r| matches!(r.weights, RunWeights::Pending))
    }

    /// Gives the trainer's weights to the run waiting for them (the one whose curves they
    /// carry), writes them to the folder and keeps memory within the budget. Returns the
    /// run's id, or `None` when no run waits for these weights.
    pub fn attach_weights(&mut self, ck: &Checkpoint) -> Option<(u64, Result<(), RunsError>)> {
        let run = self.list.iter_mut().rev().find(|r| {
            matches!(r.weights, RunWeights::Pending) && same_history(&r.history, &ck.history.epochs)
        })?;
        let mut ck = ck.clone();
        // The checkpoint carries the run's settings, not the trainer's at the time.
        ck.preset = run.preset.clone();
        run.weights = RunWeights::Memory(Arc::new(ck));
        let id = run.id;
        let result = self.write(id);
        self.keep_within(WEIGHTS_MEMORY_BUDGET);
        Some((id, result))
    }

    /// Marks every run still waiting for weights as never getting them.
    pub fn weights_unavailable(&mut self) {
        for run in &mut self.list {
            if matches!(run.weights, RunWeights::Pending) {
                run.weights = RunWeights::Unavailable;
            }
        }
    }

    /// Bytes of weights held in memory.
    pub fn memory_bytes(&self) -> usize {
        self.list.iter().map(Run::memory_bytes).sum()
    }

    /// Drops the oldest runs' weights from memory (those already on disk) until at most
    /// `budget` bytes stay.
    pub fn keep_within(&mut self, budget: usize) {
        let mut total = self.memory_bytes();
        for run in &mut self.list {
            if total <= budget {
                break;
            }
            if run.weights_on_disk && matches!(run.weights, RunWeights::Memory(_)) {
                total -= run.memory_bytes();
                run.weights = RunWeights::Disk;
            }
        }
    }

    pub fn rename(&mut self, id: u64, name: &str) -> Result<(), RunsError> {
        let name = name.trim();
        let run = self.get_mut(id)?;
        if name.is_empty() || run.name == name {
            return Ok(());
        }
        run.name = name.to_string();
        self.write(id)
    }

    pub fn set_shown(&mut self, id: u64, shown: bool) -> Result<(), RunsError> {
        self.get_mut(id)?.shown = shown;
        self.write(id)
    }

    /// Names run `id` for a walkthrough and shows its curves; an earlier pinned run of the
    /// same name (the walkthrough replayed) makes way.
    pub fn pin(&mut self, id: u64, name: &str) -> Result<(), RunsError> {
        let older: Vec<u64> = self
            .list
            .iter()
            .filter(|r| r.pinned && r.name == name && r.id != id)
            .map(|r| r.id)
            .collect();
        for old in older {
            self.delete(old)?;
        }
        let run = self.get_mut(id)?;
        run.name = name.to_string();
        run.pinned = true;
        run.shown = true;
        self.write(id)
    }

    /// Removes a run and its files.
    pub fn delete(&mut self, id: u64) -> Result<(), RunsError> {
        let k = self
            .list
            .iter()
            .position(|r| r.id == id)
            .ok_or(RunsError::NoSuchRun(id))?;
        self.list.remove(k);
        if let Some(dir) = &self.dir {
            for path in [json_path(dir, id), weights_path(dir, id)] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path, e)),
                }
            }
        }
        Ok(())
    }

    /// The run's final weights (as a checkpoint with its settings), from memory or read
    /// back from the folder.
    pub fn weights(&self, id: u64) -> Result<Arc<Checkpoint>, RunsError> {
        let run = self.get(id).ok_or(RunsError::NoSuchRun(id))?;
        let none = |why| RunsError::NoWeights {
            name: run.name.clone(),
            why,
        };
        match &run.weights {
            RunWeights::Memory(ck) => Ok(Arc::clone(ck)),
            RunWeights::Disk => {
                let dir = self.dir.as_ref().ok_or(none("are not kept anywhere"))?;
                let mut ck = Checkpoint::load(&weights_path(dir, id))?;
                ck.preset = run.preset.clone();
                ck.history.epochs = run.history.clone();
                Ok(Arc::new(ck))
            }
            RunWeights::Pending => Err(none("have not arrived from the trainer yet")),
            RunWeights::Missing => Err(none("are missing: their file was deleted")),
            RunWeights::Unavailable => Err(none("were never received from the trainer")),
        }
    }

    /// Keeps every run in `dir` from now on (the project was saved there): writes each
    /// run's file and weights, reading weights dropped from memory back from the old folder.
    pub fn move_to(&mut self, dir: PathBuf) -> Result<(), RunsError> {
        if self.dir.as_ref() == Some(&dir) {
            return Ok(());
        }
        let loaded: Vec<(u64, Option<Arc<Checkpoint>>)> = self
            .list
            .iter()
            .map(|r| (r.id, self.weights(r.id).ok()))
            .collect();
        self.dir = Some(dir);
        for (id, weights) in loaded {
            let run = self.get_mut(id)?;
            run.weights_on_disk = false;
            if let Some(ck) = weights {
                run.weights = RunWeights::Memory(ck);
            }
            self.write(id)?;
        }
        self.keep_within(WEIGHTS_MEMORY_BUDGET);
        Ok(())
    }

    /// Writes run `id`'s file, and its weights when they are in memory but not on disk.
    fn write(&mut self, id: u64) -> Result<(), RunsError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        let run = self.get_mut(id)?;
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        if let (RunWeights::Memory(ck), false) = (&run.weights, run.weights_on_disk) {
            // The curves are kept in the run file; a checkpoint's history cannot hold the
            // NaN of a run without validation data (its JSON has no NaN).
            let mut stored = Checkpoint::clone(ck);
            stored.history = Default::default();
            stored.save(&weights_path(&dir, id))?;
            run.weights_on_disk = true;
        }
        let file = RunFile {
            version: RUN_FILE_VERSION,
            id,
            name: run.name.clone(),
            preset: run.preset.to_toml(),
            history: run.history.iter().map(RecordFile::from).collect(),
            shown: run.shown,
            pinned: run.pinned,
            weights: run
                .weights_on_disk
                .then(|| format!("run-{id:04}.safetensors")),
        };
        let text = serde_json::to_string_pretty(&file).expect("run files serialise");
        let path = json_path(&dir, id);
        crate::atomic_file::write_atomically(&path, text.as_bytes()).map_err(|e| io(&path, e))
    }
}

/// The same epochs (compared bit for bit: a NaN validation loss equals itself here).
fn same_history(a: &[EpochRecord], b: &[EpochRecord]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.epoch == y.epoch && x.train_loss.to_bits() == y.train_loss.to_bits())
}

fn json_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("run-{id:04}.json"))
}

fn weights_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("run-{id:04}.safetensors"))
}

fn io(path: &Path, e: std::io::Error) -> RunsError {
    RunsError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn read_run(dir: &Path, path: &Path) -> Result<Run, RunsError> {
    let format = |reason: String| RunsError::Format {
        path: path.display().to_string(),
        reason,
    };
    let size = std::fs::metadata(path).map_err(|e| io(path, e))?.len();
    if size > MAX_RUN_FILE_BYTES {
        return Err(format(format!("{size} bytes is larger than any run file")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let file: RunFile = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
    if file.version != RUN_FILE_VERSION {
        return Err(format(format!(
            "this build reads version {RUN_FILE_VERSION}, not {}",
            file.version
        )));
    }
    let preset = Preset::parse(&file.preset, &path.display().to_string())
        .map_err(|e| format(e.to_string()))?;
    let (weights, on_disk) = match &file.weights {
        Some(_) if weights_path(dir, file.id).is_file() => (RunWeights::Disk, true),
        Some(_) => (RunWeights::Missing, false),
        None => (RunWeights::Unavailable, false),
    };
    Ok(Run {
        id: file.id,
        name: file.name,
        preset,
        history: file.history.into_iter().map(EpochRecord::from).collect(),
        weights,
        weights_on_disk: on_disk,
        shown: file.shown,
        pinned: file.pinned,
    })
}

/// A run as stored in its JSON file.
#[derive(Serialize, Deserialize)]
struct RunFile {
    version: u32,
    id: u64,
    name: String,
    /// The preset as TOML, the format presets are read in (and checked by).
    preset: String,
    history: Vec<RecordFile>,
    shown: bool,
    pinned: bool,
    /// The weight file's name, when the weights were written.
    weights: Option<String>,
}

/// An epoch record as JSON: a NaN (no validation set) is written as null, which JSON has
/// and NaN it has not.
#[derive(Serialize, Deserialize)]
struct RecordFile {
    epoch: usize,
    train_loss: Option<f64>,
    val_loss: Option<f64>,
    train_metric: Option<f64>,
    val_metric: Option<f64>,
    metric: String,
    images_per_s: Option<f64>,
    seconds: Option<f64>,
    learning_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    elbo: Option<crate::train::ElboTerms>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl From<&EpochRecord> for RecordFile {
    fn from(r: &EpochRecord) -> RecordFile {
        RecordFile {
            epoch: r.epoch,
            train_loss: finite(r.train_loss),
            val_loss: finite(r.val_loss),
            train_metric: finite(r.train_metric),
            val_metric: finite(r.val_metric),
            metric: r.metric.clone(),
            images_per_s: finite(r.images_per_s),
            seconds: finite(r.seconds),
            learning_rate: finite(r.learning_rate),
            // JSON has no NaN (no validation set): such terms are not written.
            elbo: r.elbo.filter(|e| {
                [e.train_recon, e.train_kl, e.val_recon, e.val_kl]
                    .iter()
                    .all(|v| v.is_finite())
            }),
        }
    }
}

impl From<RecordFile> for EpochRecord {
    fn from(r: RecordFile) -> EpochRecord {
        let v = |x: Option<f64>| x.unwrap_or(f64::NAN);
        EpochRecord {
            epoch: r.epoch,
            train_loss: v(r.train_loss),
            val_loss: v(r.val_loss),
            train_metric: v(r.train_metric),
            val_metric: v(r.val_metric),
            metric: r.metric,
            images_per_s: v(r.images_per_s),
            seconds: r.seconds.unwrap_or(0.0),
            learning_rate: v(r.learning_rate),
            elbo: r.elbo,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::History;
    use crate::ui::presets::embedded;

    fn record(epoch: usize, loss: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: loss,
            val_loss: f64::NAN,
            train_metric: 0.5,
            val_metric: 0.4,
            metric: "accuracy".into(),
            images_per_s: 1000.0,
            seconds: 1.5,
            learning_rate: 0.02,
            elbo: None,
        }
    }

    fn weights(preset: &Preset, history: &[EpochRecord]) -> Checkpoint {
        let mut g = crate::engine::Graph::<f32>::new(&preset.model).unwrap();
        crate::engine::initialize(&mut g, preset.training.init, 0);
        Checkpoint::from_graph(
            preset,
            &g,
            &History {
                epochs: history.to_vec(),
            },
        )
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("convlab-runs-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn runs_round_trip_through_their_folder_and_a_deleted_weight_file_is_missing() {
        let dir = temp("roundtrip");
        let p = embedded("digits-lenet").unwrap();
        let mut runs = Runs::new(Some(dir.clone()));
        let h1 = vec![record(1, 2.0), record(2, 1.0)];
        let (a, w) = runs.record(None, &p, &h1);
        w.unwrap();
        assert!(runs.awaiting_weights());
        let (got, w) = runs.attach_weights(&weights(&p, &h1)).unwrap();
        w.unwrap();
        assert_eq!(got, a);
        let mut q = p.clone();
        q.training.learning_rate = 0.2;
        let h2 = vec![record(1, 3.0)];
        let (b, _) = runs.record(None, &q, &h2);
        runs.attach_weights(&weights(&q, &h2)).unwrap().1.unwrap();
        runs.rename(b, "fast").unwrap();
        runs.set_shown(a, true).unwrap();

        let (back, errors) = Runs::open(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(back.list.len(), 2);
        assert_eq!(back.list[0].history.len(), 2);
        assert!(back.list[0].history[0].val_loss.is_nan());
        assert_eq!(back.list[0].history[1].train_loss, 1.0);
        assert!(back.list[0].shown && !back.list[1].shown);
        assert_eq!(back.list[1].name, "fast");
        assert_eq!(back.list[1].preset.training.learning_rate, 0.2);
        assert!(matches!(back.list[1].weights, RunWeights::Disk));
        let ck = back.weights(b).unwrap();
        assert_eq!(ck.params.len(), weights(&q, &h2).params.len());
        assert_eq!(ck.preset, q);

        // A new run after reopening gets a fresh id.
        let mut back = back;
        let (c, _) = back.record(None, &p, &h1);
        assert!(c > b);

        std::fs::remove_file(dir.join(format!("run-{a:04}.safetensors"))).unwrap();
        let (again, errors) = Runs::open(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        let first = again.get(a).unwrap();
        assert!(matches!(first.weights, RunWeights::Missing));
        assert_eq!(first.history.len(), 2, "the curves stay");
        let e = again.weights(a).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn weights_beyond_the_budget_leave_memory_and_come_back_from_disk() {
        let dir = temp("budget");
        let p = embedded("digits-lenet").unwrap();
        let mut runs = Runs::new(Some(dir.clone()));
        for k in 0..3 {
            let h = vec![record(1, k as f64)];
            runs.record(None, &p, &h).1.unwrap();
            runs.attach_weights(&weights(&p, &h)).unwrap().1.unwrap();
        }
        let one = runs.list[0].memory_bytes();
        assert!(one > 0);
        runs.keep_within(one);
        assert!(matches!(runs.list[0].weights, RunWeights::Disk));
        assert!(matches!(runs.list[1].weights, RunWeights::Disk));
        assert!(matches!(runs.list[2].weights, RunWeights::Memory(_)));
        assert_eq!(runs.memory_bytes(), one);
        assert_eq!(runs.weights(runs.list[0].id).unwrap().params.len(), 10);
        // Without a folder nothing leaves memory: it would be lost.
        let mut memory_only = Runs::new(None);
        let h = vec![record(1, 1.0)];
        memory_only.record(None, &p, &h).1.unwrap();
        memory_only
            .attach_weights(&weights(&p, &h))
            .unwrap()
            .1
            .unwrap();
        memory_only.keep_within(0);
        assert!(memory_only.list[0].has_weights());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn pinning_a_name_again_replaces_the_older_run_and_delete_removes_files() {
        let dir = temp("pin");
        let p = embedded("digits-lenet").unwrap();
        let mut runs = Runs::new(Some(dir.clone()));
        let (a, _) = runs.record(None, &p, &[record(1, 1.0)]);
        runs.pin(a, "plain").unwrap();
        let (b, _) = runs.record(None, &p, &[record(1, 2.0)]);
        runs.pin(b, "plain").unwrap();
        assert_eq!(runs.list.len(), 1);
        assert!(runs.list[0].shown && runs.list[0].pinned);
        assert!(!dir.join(format!("run-{a:04}.json")).exists());
        // Recording the same run again (trained further) updates it.
        let (b2, _) = runs.record(Some(b), &p, &[record(1, 2.0), record(2, 1.5)]);
        assert_eq!(b2, b);
        assert_eq!(runs.list[0].history.len(), 2);
        runs.delete(b).unwrap();
        assert!(runs.list.is_empty());
        assert!(!dir.join(format!("run-{b:04}.json")).exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
