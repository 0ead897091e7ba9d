//! The trainer thread of the lab window: a named thread that owns the [`Trainer`], obeys
//! [`TrainerCommand`]s and reports [`TrainerEvent`]s.
//!
//! - Commands are handled between minibatches, so Pause and a new learning rate act within
//!   one step.
//! - Progress events are coalesced (at most one per [`PROGRESS_INTERVAL`]) and every event
//!   calls the `wake` callback, which the window uses to request a repaint.
//! - Predictions over the validation set go to [`TrainerWorker::evaluation`] (a latest-value
//!   slot) after every epoch, on pause and after a single step.
//! - A panic inside the trainer is caught and reported as [`TrainerEvent::Error`]; the thread
//!   and the last good weights stay, so the model can still be saved.
//! - Training uses one core (the engine's kernels are single-threaded), and the thread
//!   yields between steps, so the window keeps the other core on a two-core machine.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ndarray::ArrayD;

use super::messages::{
    Evaluation, InspectContext, InspectJob, Latest, ProbeResult, RunInfo, RunSetup, RunState,
    StartWeights, StepProgress, TrainerCommand, TrainerError, TrainerEvent,
};
use super::metrics::argmax_channels;
use super::run::{Trainer, gather};
use super::snapshots::{Snapshot, Snapshots};
use crate::data::Targets;
use crate::engine::Graph;
use crate::engine::Mode;
use crate::train::History;

/// Shortest time between two progress events (each wakes the window to repaint; see
/// `TRAINING_REPAINT`).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// Shortest time between two runs of the window's inspector while training (views update
/// live but throttled; when not training they update at once). A view that takes longer
/// than a tenth of this waits ten times its own duration instead, so that training keeps
/// at least nine tenths of the thread.
pub const INSPECT_INTERVAL: Duration = Duration::from_millis(400);
/// Longest wait for the trainer thread when the window closes (see [`TrainerWorker`]'s
/// `Drop`).
pub const QUIT_WAIT: Duration = Duration::from_millis(500);
/// Validation samples evaluated for the gallery and the confusion matrix at most.
pub const MAX_EVAL_SAMPLES: usize = 2_000;

/// The window's handle on the trainer thread. Dropping it stops and joins the thread.
pub struct TrainerWorker {
    commands: Sender<TrainerCommand>,
    events: Receiver<TrainerEvent>,
    pub evaluation: Latest<Evaluation>,
    pub probe: Latest<ProbeResult>,
    handle: Option<JoinHandle<()>>,
}

impl TrainerWorker {
    /// Starts the thread; `wake` is called after every event (e.g. to request a repaint).
    pub fn spawn(wake: impl Fn() + Send + 'static) -> std::io::Result<TrainerWorker> {
        let (commands, command_rx) = channel();
        let (event_tx, events) = channel();
        let evaluation = Latest::default();
        let probe = Latest::default();
        let mut state = WorkerState {
            commands: command_rx,
            events: event_tx,
            wake: Box::new(wake),
            evaluation: evaluation.clone(),
            probe: probe.clone(),
            run: None,
            state: RunState::Empty,
            pending: Pending::default(),
            inspector: None,
            inspect_due: false,
            last_inspect: None,
            last_inspect_took: Duration::ZERO,
            playback: None,
        };
        let handle = std::thread::Builder::new()
            .name("trainer".into())
            .spawn(move || state.main_loop())?;
        Ok(TrainerWorker {
            commands,
            events,
            evaluation,
            probe,
            handle: Some(handle),
        })
    }

    /// Sends a command; a stopped thread is ignored (its error was already reported).
    pub fn send(&self, command: TrainerCommand) {
        self.commands.send(command).ok();
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<TrainerEvent> {
        self.events.try_recv().ok()
    }

    /// Waits up to `timeout` for the next event (tests and headless use).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<TrainerEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for TrainerWorker {
    /// Asks the thread to stop and waits at most [`QUIT_WAIT`] for it: the thread sees the
    /// request only between minibatches, and one minibatch of a big model can take seconds,
    /// longer than anyone should wait for a window to close. A thread still busy after that
    /// is left to finish its minibatch and stop on its own (or end with the process); it
    /// holds nothing the user could lose, since saves run on their own threads.
    fn drop(&mut self) {
        self.commands.send(TrainerCommand::Shutdown).ok();
        if let Some(h) = self.handle.take() {
            let deadline = Instant::now() + QUIT_WAIT;
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if h.is_finished() {
                h.join().ok();
            }
        }
    }
}

// ----------------------------------------------------------------------------

/// A configured run: the trainer plus what the window needs on top of it.
struct Run {
    trainer: Trainer,
    /// The configuration it was built from (Reset rebuilds from it).
    setup: RunSetup,
    /// Epochs of a loaded checkpoint or of the run before an edit.
    epoch_offset: usize,
    history: History,
    total_steps: u64,
    target_epochs: usize,
    /// Steps the weights had been trained before this run (a checkpoint's, or the run's
    /// before an edit), so snapshot steps count from initialisation.
    step_offset: u64,
    snapshots: Snapshots,
}

impl Run {
    fn epochs_done(&self) -> usize {
        self.epoch_offset + self.trainer.epochs_done()
    }

    /// Steps since the weights were initialised.
    fn global_step(&self) -> u64 {
        self.step_offset + self.total_steps
    }

    /// Where in training the weights are now: epochs done plus the share of the current one.
    fn epoch_position(&self) -> f64 {
        let per_epoch = self.trainer.steps_per_epoch().max(1) as f64;
        self.epoch_offset as f64 + self.total_steps as f64 / per_epoch
    }

    /// Keeps a snapshot of the weights now if the policy wants one; says whether it did.
    fn snapshot_if_due(&mut self, epoch_ended: bool) -> bool {
        let step = self.global_step();
        if !self.snapshots.wants(step, epoch_ended) {
            return false;
        }
        let snapshot = Snapshot::of(self.trainer.graph(), step, self.epoch_position());
        self.snapshots.keep(snapshot);
        true
    }

    /// The snapshots with the weights now as the last one (for saving).
    fn snapshots_to_now(&self) -> Vec<Snapshot> {
        let mut all = self.snapshots.clone();
        all.keep(Snapshot::of(
            self.trainer.graph(),
            self.global_step(),
            self.epoch_position(),
        ));
        all.entries().to_vec()
    }
}

/// Step results not yet sent.
#[derive(Default)]
struct Pending {
    loss_sum: f64,
    steps: usize,
    images: usize,
    busy_s: f64,
    last: Option<StepProgress>,
    last_sent: Option<Instant>,
}

struct WorkerState {
    commands: Receiver<TrainerCommand>,
    events: Sender<TrainerEvent>,
    wake: Box<dyn Fn() + Send>,
    evaluation: Latest<Evaluation>,
    probe: Latest<ProbeResult>,
    run: Option<Run>,
    state: RunState,
    pending: Pending,
    inspector: Option<InspectJob>,
    /// The model or the inspector changed since the inspector last ran.
    inspect_due: bool,
    last_inspect: Option<Instant>,
    /// How long the last inspection took.
    last_inspect_took: Duration,
    /// The model at the snapshot the views last played back (step, weights), kept so that
    /// views at the same moment need no copy.
    playback: Option<(u64, Graph<f32>)>,
}

/// Threads the window's trainer runs on: all cores, as `convlab train`. (Leaving one core
/// to the window lost more than it gained: on 2 cores drawn in software, 139 img/s with one
/// trainer thread against 199 with two, cells-unet; the window paces its repaints instead,
/// see `TRAINING_REPAINT`.) `CONVLAB_WINDOW_THREADS=N` sets it (for measuring; read once).
pub fn window_training_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("CONVLAB_WINDOW_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(crate::train::run::default_threads)
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

impl WorkerState {
    fn emit(&self, event: TrainerEvent) {
        self.events.send(event).ok();
        (self.wake)();
    }

    /// Tells the window what went wrong.
    fn fail(&self, error: TrainerError) {
        self.emit(TrainerEvent::Error(std::sync::Arc::new(error)));
    }

    fn set_state(&mut self, state: RunState) {
        if self.state != state {
            self.state = state;
            self.emit(TrainerEvent::State(state));
        }
    }

    fn main_loop(&mut self) {
        loop {
            let command = if self.state == RunState::Running {
                match self.commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                self.flush_progress();
                if self.inspect_due {
                    self.run_inspector();
                }
                match self.commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            };
            match command {
                Some(TrainerCommand::Shutdown) => return,
                Some(command) => {
                    self.guarded(|w| w.handle(command));
                    self.inspect_due = true;
                }
                None => {
                    self.guarded(|w| w.train_one_step(false));
                    // Finished, paused on divergence or failed: the views must show the
                    // weights the run ended with, not the last throttled inspection.
                    if self.state != RunState::Running {
                        self.inspect_due = true;
                    }
                    let interval = INSPECT_INTERVAL.max(10 * self.last_inspect_took);
                    if self.last_inspect.is_none_or(|t| t.elapsed() >= interval) {
                        self.inspect_due = true;
                        self.run_inspector();
                    }
                    // Leave the core to the window for a moment between minibatches.
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Runs `f`, turning a panic into an error event and a failed (but living) run.
    fn guarded(&mut self, f: impl FnOnce(&mut WorkerState)) {
        let result = catch_unwind(AssertUnwindSafe(|| f(self)));
        if let Err(payload) = result {
            let message = panic_message(payload.as_ref());
            self.fail(TrainerError::Crashed(message));
            let state = if self.run.is_some() {
                RunState::Failed
            } else {
                RunState::Empty
            };
            self.set_state(state);
        }
    }

    fn handle(&mut self, command: TrainerCommand) {
        match command {
            TrainerCommand::Configure(setup) => self.configure(*setup),
            TrainerCommand::Start => {
                if let Some(run) = &self.run {
                    if run.epochs_done() >= run.target_epochs {
                        self.fail(TrainerError::AlreadyTrained {
                            done: run.epochs_done(),
                            target: run.target_epochs,
                        });
                        self.set_state(RunState::Finished);
                    } else {
                        self.set_state(RunState::Running);
                    }
                }
            }
            TrainerCommand::Pause => {
                if self.state == RunState::Running {
                    self.flush_progress();
                    self.set_state(RunState::Paused);
                    self.evaluate();
                }
            }
            TrainerCommand::Step => {
                if self.run.is_some() {
                    self.train_one_step(true);
                    if self.state != RunState::Failed {
                        self.set_state(RunState::Paused);
                        self.evaluate();
                    }
                }
            }
            TrainerCommand::Reset => {
                if let Some(run) = self.run.take() {
                    let mut setup = run.setup;
                    setup.weights = StartWeights::Fresh;
                    self.configure(setup);
                }
            }
            TrainerCommand::SetLearningRate(lr) => {
                if let Some(run) = &mut self.run {
                    run.trainer.set_learning_rate(lr);
                    run.setup.preset.training.learning_rate = lr;
                }
            }
            TrainerCommand::SetAugment(augment) => {
                if let Some(run) = &mut self.run {
                    run.trainer.preset.training.augment = augment;
                    run.setup.preset.training.augment = augment;
                }
            }
            TrainerCommand::SetEpochs(epochs) => {
                if let Some(run) = &mut self.run {
                    run.target_epochs = epochs;
                    run.setup.preset.training.epochs = epochs;
                    run.trainer.preset.training.epochs = epochs;
                    if self.state == RunState::Finished && run.epochs_done() < epochs {
                        self.set_state(RunState::Paused);
                    }
                }
            }
            TrainerCommand::Probe(index) => self.probe(index),
            TrainerCommand::SetParamValue { name, index, value } => {
                if let Some(run) = &mut self.run {
                    let slot = run
                        .trainer
                        .graph_mut()
                        .params_mut()
                        .iter_mut()
                        .find(|p| p.name == name)
                        .and_then(|p| p.value.get_mut(ndarray::IxDyn(&index)));
                    match slot {
                        Some(v) => *v = value,
                        None => self.fail(TrainerError::NoParameter { name, index }),
                    }
                }
            }
            TrainerCommand::Inspect(job) => self.inspector = job,
            TrainerCommand::ExportWeights => {
                if let Some(run) = &self.run {
                    let params = run
                        .trainer
                        .graph()
                        .params()
                        .iter()
                        .map(|p| (p.name.clone(), p.value.clone()))
                        .collect();
                    self.emit(TrainerEvent::Weights {
                        preset: Box::new(run.trainer.preset.clone()),
                        params,
                        history: run.history.clone(),
                        class_names: run.setup.train.class_names.clone(),
                        snapshots: run.snapshots_to_now(),
                    });
                } else {
                    self.fail(TrainerError::NothingToSave);
                }
            }
            TrainerCommand::Shutdown => {}
        }
    }

    fn configure(&mut self, setup: RunSetup) {
        self.pending = Pending::default();
        let previous = self.run.take();
        let built = Trainer::with_data(&setup.preset, (*setup.train).clone(), (*setup.val).clone());
        let mut trainer = match built {
            Ok(mut t) => {
                t.set_threads(window_training_threads());
                t
            }
            Err(e) => {
                self.fail(e.into());
                self.state = RunState::Ready; // force the event below
                self.set_state(RunState::Empty);
                return;
            }
        };
        let mut snapshots = Snapshots::default();
        let mut step_offset = 0;
        let (history, epoch_offset) = match &setup.weights {
            StartWeights::Fresh => (History::default(), 0),
            StartWeights::KeepMatching => match &previous {
                Some(old) => {
                    let values: HashMap<&str, &ArrayD<f32>> = old
                        .trainer
                        .graph()
                        .params()
                        .iter()
                        .map(|p| (p.name.as_str(), &p.value))
                        .collect();
                    let names: Vec<String> = trainer
                        .graph()
                        .params()
                        .iter()
                        .map(|p| p.name.clone())
                        .collect();
                    for name in names {
                        if let Some(v) = values.get(name.as_str()) {
                            // A shape change is refused by set_param: that node starts fresh.
                            trainer.graph_mut().set_param(&name, (*v).clone()).ok();
                        }
                    }
                    // The same model trains on (new settings): its moments go on; another
                    // model's snapshots would not fit it.
                    step_offset = old.global_step();
                    if old.setup.preset.model == setup.preset.model {
                        snapshots = old.snapshots.clone();
                    }
                    (old.history.clone(), old.epochs_done())
                }
                None => (History::default(), 0),
            },
            StartWeights::Checkpoint {
                params,
                history,
                snapshots: saved,
            } => {
                for (name, value) in params {
                    if let Err(e) = trainer.graph_mut().set_param(name, value.clone()) {
                        self.fail(TrainerError::CheckpointMismatch(e));
                    }
                }
                // The checkpoint's last snapshot is its weights: training goes on from
                // its step.
                snapshots = Snapshots::from_entries(saved.clone());
                step_offset = snapshots.entries().last().map_or(0, |s| s.step);
                (history.clone(), history.epochs.len())
            }
        };
        let info = RunInfo {
            train_len: trainer.train.len(),
            val_len: trainer.val.len(),
            steps_per_epoch: trainer.steps_per_epoch(),
            params: trainer
                .graph()
                .params()
                .iter()
                .filter(|p| p.trainable())
                .map(|p| p.value.len())
                .sum(),
            history: history.clone(),
        };
        let target_epochs = setup.preset.training.epochs;
        let mut setup = setup;
        // After the first configure the weights are the run's own.
        if matches!(setup.weights, StartWeights::Checkpoint { .. }) {
            setup.weights = StartWeights::KeepMatching;
        }
        self.run = Some(Run {
            trainer,
            setup,
            epoch_offset,
            history,
            total_steps: 0,
            target_epochs,
            step_offset,
            snapshots,
        });
        self.playback = None;
        if let Some(run) = &mut self.run {
            run.snapshot_if_due(false);
        }
        self.emit(TrainerEvent::Configured(info));
        self.emit_moments();
        self.state = RunState::Empty; // force the event below
        self.set_state(RunState::Ready);
        self.evaluate();
    }

    fn train_one_step(&mut self, single: bool) {
        let Some(run) = &mut self.run else {
            self.set_state(RunState::Empty);
            return;
        };
        let started = Instant::now();
        match run.trainer.step() {
            Ok(report) => {
                run.total_steps += 1;
                let busy = started.elapsed().as_secs_f64();
                let p = &mut self.pending;
                p.loss_sum += report.loss;
                p.steps += 1;
                p.images += report.batch_size;
                p.busy_s += busy;
                let epoch = run.epoch_offset + report.epoch;
                p.last = Some(StepProgress {
                    epoch,
                    step: report.step,
                    steps_per_epoch: report.steps_per_epoch,
                    total_steps: run.total_steps,
                    mean_loss: 0.0,
                    images_per_s: 0.0,
                    learning_rate: run.trainer.learning_rate(),
                    epoch_position: (epoch - 1) as f64
                        + report.step as f64 / report.steps_per_epoch.max(1) as f64,
                });
                let finished = report.finished_epoch.map(|mut record| {
                    record.epoch += run.epoch_offset;
                    run.history.epochs.push(record.clone());
                    record
                });
                let snapped = run.snapshot_if_due(finished.is_some());
                let done = run.epochs_done() >= run.target_epochs;
                let due = self
                    .pending
                    .last_sent
                    .is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL);
                if single || due || finished.is_some() {
                    self.flush_progress();
                }
                if let Some(record) = finished {
                    self.emit(TrainerEvent::Epoch(record));
                    self.evaluate();
                }
                if snapped {
                    self.emit_moments();
                }
                if done && !single {
                    self.set_state(RunState::Finished);
                }
            }
            Err(e) => {
                self.flush_progress();
                self.fail(e.into());
                self.set_state(RunState::Failed);
            }
        }
    }

    fn flush_progress(&mut self) {
        let p = &mut self.pending;
        if p.steps == 0 {
            return;
        }
        if let Some(mut progress) = p.last.take() {
            progress.mean_loss = p.loss_sum / p.steps as f64;
            progress.images_per_s = p.images as f64 / p.busy_s.max(1e-9);
            p.loss_sum = 0.0;
            p.steps = 0;
            p.images = 0;
            p.busy_s = 0.0;
            p.last_sent = Some(Instant::now());
            self.emit(TrainerEvent::Progress(progress));
        }
    }

    /// Tells the window which moments of the run can be played back.
    fn emit_moments(&self) {
        if let Some(run) = &self.run {
            self.emit(TrainerEvent::Snapshots(std::sync::Arc::new(
                run.snapshots.moments(),
            )));
        }
    }

    /// Runs the window's inspector on the current model, or on the snapshot it asks for
    /// (a panic in it is reported and removes it; the run is not affected).
    fn run_inspector(&mut self) {
        self.inspect_due = false;
        let (Some(job), Some(run)) = (&mut self.inspector, &mut self.run) else {
            return;
        };
        let started = Instant::now();
        let mut epochs_done = run.epochs_done();
        let mut total_steps = run.total_steps;
        let preset = run.trainer.preset.clone();
        let (train, val) = (
            std::sync::Arc::clone(&run.setup.train),
            std::sync::Arc::clone(&run.setup.val),
        );
        let moment = job
            .0
            .at_step()
            .and_then(|step| run.snapshots.at(step))
            .filter(|s| s.step != run.step_offset + run.total_steps);
        let graph = match moment {
            Some(snapshot) => {
                if self
                    .playback
                    .as_ref()
                    .is_none_or(|(step, _)| *step != snapshot.step)
                {
                    let mut g = run.trainer.graph().clone();
                    if let Err(e) = snapshot.restore(&mut g) {
                        // Snapshots are of this model (others are dropped on an edit), so
                        // this is a bug; say so rather than show the wrong weights.
                        let error = TrainerError::CheckpointMismatch(e);
                        self.events
                            .send(TrainerEvent::Error(std::sync::Arc::new(error)))
                            .ok();
                        return;
                    }
                    self.playback = Some((snapshot.step, g));
                }
                epochs_done = snapshot.epoch.floor() as usize;
                total_steps = snapshot.step.saturating_sub(run.step_offset);
                &mut self.playback.as_mut().expect("just set").1
            }
            None => run.trainer.graph_mut(),
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            job.0.inspect(InspectContext {
                graph,
                preset: &preset,
                train: &train,
                val: &val,
                epochs_done,
                total_steps,
            });
        }));
        // Measured from the end, so the next one waits for the interval after this one.
        self.last_inspect = Some(Instant::now());
        self.last_inspect_took = started.elapsed();
        if let Err(payload) = result {
            self.inspector = None;
            let message = panic_message(payload.as_ref());
            self.fail(TrainerError::ViewCrashed(message));
        }
        (self.wake)();
    }

    /// Predictions on (the start of) the validation set, into the evaluation slot.
    fn evaluate(&mut self) {
        let Some(run) = &mut self.run else { return };
        let val = std::sync::Arc::clone(&run.setup.val);
        let n = val.len().min(MAX_EVAL_SAMPLES);
        let mut evaluation = Evaluation {
            epochs_done: run.epochs_done(),
            total_steps: run.total_steps,
            ..Evaluation::default()
        };
        if let Targets::Labels(labels) = &val.targets {
            let classes = val
                .class_names
                .len()
                .max(labels.iter().map(|l| l + 1).max().unwrap_or(0));
            let idx: Vec<usize> = (0..n).collect();
            for chunk in idx.chunks(128) {
                let (x, _) = gather(&val, chunk);
                let Ok(y) = run.trainer.graph_mut().forward(&x, Mode::Eval) else {
                    return;
                };
                if y.shape()[2] * y.shape()[3] != 1 {
                    return; // per-pixel outputs: not a classification gallery
                }
                let predicted = argmax_channels(y);
                for (row, &p) in predicted.iter().enumerate() {
                    let logits: Vec<f32> = (0..y.shape()[1]).map(|c| y[[row, c, 0, 0]]).collect();
                    evaluation.confidence.push(softmax(&logits)[p]);
                }
                evaluation.predicted.extend(predicted);
            }
            let width = classes.max(
                evaluation
                    .predicted
                    .iter()
                    .map(|p| p + 1)
                    .max()
                    .unwrap_or(0),
            );
            let mut confusion = vec![vec![0; width]; classes];
            for (&t, &p) in labels.iter().zip(&evaluation.predicted) {
                if t < classes {
                    confusion[t][p] += 1;
                }
            }
            evaluation.confusion = confusion;
        }
        self.evaluation.put(evaluation);
        (self.wake)();
    }

    fn probe(&mut self, index: usize) {
        let Some(run) = &mut self.run else { return };
        let val = std::sync::Arc::clone(&run.setup.val);
        if index >= val.len() {
            return;
        }
        let (x, _) = gather(&val, &[index]);
        let Ok(y) = run.trainer.graph_mut().forward(&x, Mode::Eval) else {
            return;
        };
        let raw: Vec<f32> = y.iter().copied().collect();
        let classification = matches!(val.targets, Targets::Labels(_)) && y.shape()[2] == 1;
        let result = if classification {
            let probabilities = softmax(&raw);
            let predicted = argmax_channels(y).first().copied();
            ProbeResult {
                index,
                outputs: probabilities,
                predicted,
            }
        } else {
            ProbeResult {
                index,
                outputs: raw,
                predicted: None,
            }
        };
        self.probe.put(result);
        (self.wake)();
    }
}

/// Probabilities from logits, shifted by the maximum for stability.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter()
        .map(|e| e / sum.max(f32::MIN_POSITIVE))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::load::load;
    use crate::spec::Preset;

    fn xor_setup() -> RunSetup {
        let text = include_str!("../../presets/xor-mlp.toml");
        let preset = Preset::parse(text, "xor-mlp.toml").unwrap();
        let (train, val) = load(&preset.data).unwrap();
        RunSetup {
            preset,
            train: Arc::new(train),
            val: Arc::new(val),
            weights: StartWeights::Fresh,
        }
    }

    fn wait_for(
        w: &TrainerWorker,
        mut pred: impl FnMut(&TrainerEvent) -> bool,
    ) -> Option<TrainerEvent> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(e) = w.recv_timeout(Duration::from_millis(50))
                && pred(&e)
            {
                return Some(e);
            }
        }
        None
    }

    #[test]
    fn configure_start_and_finish() {
        let w = TrainerWorker::spawn(|| {}).unwrap();
        w.send(TrainerCommand::Configure(Box::new(xor_setup())));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Configured(_))).is_some());
        w.send(TrainerCommand::Start);
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::State(RunState::Finished))).is_some());
        assert!(w.evaluation.get().is_some_and(|e| !e.confusion.is_empty()));
    }

    #[test]
    fn pause_stops_step_events() {
        let w = TrainerWorker::spawn(|| {}).unwrap();
        let mut setup = xor_setup();
        setup.preset.training.epochs = 1_000_000;
        w.send(TrainerCommand::Configure(Box::new(setup)));
        w.send(TrainerCommand::Start);
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Progress(_))).is_some());
        w.send(TrainerCommand::Pause);
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::State(RunState::Paused))).is_some());
        std::thread::sleep(Duration::from_millis(200));
        while let Some(e) = w.try_recv() {
            assert!(
                !matches!(e, TrainerEvent::Progress(_)),
                "progress after pause"
            );
        }
    }

    #[test]
    fn a_bad_configuration_is_an_error_event_not_a_crash() {
        let w = TrainerWorker::spawn(|| {}).unwrap();
        let mut setup = xor_setup();
        setup.preset.model.input = [3, 8, 8];
        w.send(TrainerCommand::Configure(Box::new(setup)));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Error(_))).is_some());
        // The thread lives on.
        w.send(TrainerCommand::Configure(Box::new(xor_setup())));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Configured(_))).is_some());
    }

    /// A run whose every minibatch takes seconds: 64 images of 3×128×128 through two
    /// 64-channel 3×3 convolutions (about 0.2 TFLOP per step).
    fn slow_setup() -> RunSetup {
        let text = r#"
            version = 1
            name = "slow"
            [model]
            input = [3, 128, 128]
            [[model.nodes]]
            name = "conv1"
            kind = "conv2d"
            out_channels = 64
            kernel = 3
            padding = "same"
            [[model.nodes]]
            name = "conv2"
            kind = "conv2d"
            out_channels = 64
            kernel = 3
            padding = "same"
            [[model.nodes]]
            name = "gap"
            kind = "global_avg_pool"
            [[model.nodes]]
            name = "flat"
            kind = "flatten"
            [[model.nodes]]
            name = "fc"
            kind = "dense"
            out_features = 2
            [data]
            source = "digits"
            [training]
            loss = "cross_entropy"
            learning_rate = 0.01
            batch_size = 64
            epochs = 100
        "#;
        let preset = Preset::parse(text, "slow.toml").unwrap();
        let data = |n: usize| crate::data::Dataset {
            name: "zeros".into(),
            inputs: ndarray::Array4::zeros((n, 3, 128, 128)),
            targets: Targets::Labels((0..n).map(|i| i % 2).collect()),
            class_names: vec!["a".into(), "b".into()],
        };
        RunSetup {
            preset,
            train: Arc::new(data(256)),
            val: Arc::new(data(2)),
            weights: StartWeights::Fresh,
        }
    }

    #[test]
    fn quitting_in_the_middle_of_a_long_minibatch_takes_under_a_second() {
        let w = TrainerWorker::spawn(|| {}).unwrap();
        w.send(TrainerCommand::Configure(Box::new(slow_setup())));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Configured(_))).is_some());
        w.send(TrainerCommand::Start);
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::State(RunState::Running))).is_some());
        // Now inside the first minibatch, which takes seconds.
        std::thread::sleep(Duration::from_millis(100));
        let quitting = Instant::now();
        drop(w);
        let took = quitting.elapsed();
        assert!(took < Duration::from_secs(1), "quitting took {took:?}");
    }

    #[test]
    fn quitting_an_idle_trainer_joins_its_thread() {
        let w = TrainerWorker::spawn(|| {}).unwrap();
        w.send(TrainerCommand::Configure(Box::new(xor_setup())));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::State(RunState::Ready))).is_some());
        let quitting = Instant::now();
        drop(w);
        assert!(
            quitting.elapsed() < QUIT_WAIT,
            "an idle thread stops at once"
        );
    }

    /// A view with a bug that breaks the model it looks at: the first weight tensor gets
    /// the wrong shape, so the next training step panics inside the engine.
    struct BreaksTheModel;

    impl crate::train::messages::Inspector for BreaksTheModel {
        fn inspect(&mut self, ctx: crate::train::messages::InspectContext<'_>) {
            ctx.graph.params_mut()[0].value = ArrayD::zeros(ndarray::IxDyn(&[1]));
        }
    }

    #[test]
    fn a_panic_in_training_is_reported_and_the_thread_lives_on() {
        let w = TrainerWorker::spawn(|| {}).unwrap();
        w.send(TrainerCommand::Configure(Box::new(xor_setup())));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Configured(_))).is_some());
        w.send(TrainerCommand::Inspect(Some(
            crate::train::messages::InspectJob(Box::new(BreaksTheModel)),
        )));
        w.send(TrainerCommand::Inspect(None));
        w.send(TrainerCommand::Start);
        let Some(TrainerEvent::Error(message)) =
            wait_for(&w, |e| matches!(e, TrainerEvent::Error(_)))
        else {
            panic!("no error event");
        };
        assert!(matches!(*message, TrainerError::Crashed(_)), "{message}");
        assert!(
            message.to_string().contains("the trainer crashed"),
            "{message}"
        );
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::State(RunState::Failed))).is_some());
        // The model can still be exported (saved) ...
        w.send(TrainerCommand::ExportWeights);
        let Some(TrainerEvent::Weights { params, .. }) =
            wait_for(&w, |e| matches!(e, TrainerEvent::Weights { .. }))
        else {
            panic!("no weights after the crash");
        };
        assert!(!params.is_empty());
        // ... and a new run starts and finishes on the same thread.
        w.send(TrainerCommand::Configure(Box::new(xor_setup())));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Configured(_))).is_some());
        w.send(TrainerCommand::Start);
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::State(RunState::Finished))).is_some());
    }

    /// Records the epochs done at every inspection.
    struct Records(Arc<std::sync::Mutex<Vec<usize>>>);

    impl crate::train::messages::Inspector for Records {
        fn inspect(&mut self, ctx: crate::train::messages::InspectContext<'_>) {
            self.0.lock().unwrap().push(ctx.epochs_done);
        }
    }

    #[test]
    fn the_views_see_the_weights_a_run_finished_with() {
        const EPOCHS: usize = 3_000;
        let w = TrainerWorker::spawn(|| {}).unwrap();
        // Long enough (about a second) for throttled inspections during the run.
        let mut setup = xor_setup();
        setup.preset.training.epochs = EPOCHS;
        w.send(TrainerCommand::Configure(Box::new(setup)));
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::Configured(_))).is_some());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        w.send(TrainerCommand::Inspect(Some(
            crate::train::messages::InspectJob(Box::new(Records(Arc::clone(&seen)))),
        )));
        w.send(TrainerCommand::Start);
        assert!(wait_for(&w, |e| matches!(e, TrainerEvent::State(RunState::Finished))).is_some());
        // Without an inspection at the end, the view would stay at the epoch of the last
        // throttled one (every 0.4 s).
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.lock().unwrap().last() != Some(&EPOCHS) {
            assert!(
                Instant::now() < deadline,
                "inspections at epochs {:?}",
                seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn step_trains_exactly_one_minibatch() {
        let w = TrainerWorker::spawn(|| {}).unwrap();
        w.send(TrainerCommand::Configure(Box::new(xor_setup())));
        w.send(TrainerCommand::Step);
        let Some(TrainerEvent::Progress(p)) =
            wait_for(&w, |e| matches!(e, TrainerEvent::Progress(_)))
        else {
            panic!("no progress");
        };
        assert_eq!(p.total_steps, 1);
    }
}
