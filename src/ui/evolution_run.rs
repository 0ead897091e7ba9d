//! An evolution of handcrafted pipelines running in the background of the window, like
//! training: generations stream in as they finish (chart, best pipeline, ETA), and the user
//! can pause, resume or stop it. The evolution itself is [`crate::classical::evolve`]; this
//! is only its thread and its controls.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Duration;

use crate::classical::{EvolutionSpec, Generation, evolve};
use crate::data::Dataset;

/// What the thread reports.
enum Report {
    Generation(Generation),
    Failed(String),
    Finished,
}

/// A running (or finished) evolution and what has arrived of it.
pub struct EvolutionRun {
    pub spec: EvolutionSpec,
    pub history: Vec<Generation>,
    pub error: Option<String>,
    pub finished: bool,
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    reports: Receiver<Report>,
}

impl EvolutionRun {
    /// Starts evolving on `train` (the held-out `val` scores each generation's best).
    pub fn start(
        spec: EvolutionSpec,
        train: Arc<Dataset>,
        val: Arc<Dataset>,
        threads: usize,
    ) -> EvolutionRun {
        let (tx, rx) = channel();
        let paused = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s, run_spec) = (Arc::clone(&paused), Arc::clone(&stop), spec.clone());
        std::thread::Builder::new()
            .name("evolution".into())
            .spawn(move || {
                let result = evolve(&run_spec, &train, &val, threads, |g| {
                    if tx.send(Report::Generation(g.clone())).is_err() {
                        return ControlFlow::Break(());
                    }
                    // Pausing waits here, between generations.
                    while p.load(Ordering::Relaxed) && !s.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    if s.load(Ordering::Relaxed) {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                let last = match result {
                    Ok(_) => Report::Finished,
                    Err(e) => Report::Failed(e.to_string()),
                };
                tx.send(last).ok();
            })
            .ok();
        EvolutionRun {
            spec,
            history: Vec::new(),
            error: None,
            finished: false,
            paused,
            stop,
            reports: rx,
        }
    }

    /// Takes what arrived; true when something did.
    pub fn poll(&mut self) -> bool {
        let mut any = false;
        loop {
            match self.reports.try_recv() {
                Ok(Report::Generation(g)) => self.history.push(g),
                Ok(Report::Failed(e)) => {
                    self.error = Some(e);
                    self.finished = true;
                }
                Ok(Report::Finished) => self.finished = true,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.finished = true;
                    break;
                }
            }
            any = true;
        }
        any
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Ends the run after the generation in progress.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Seconds left at the pace so far (`None` before the first generation).
    pub fn eta_seconds(&self) -> Option<f64> {
        let last = self.history.last()?;
        let done = last.index.max(1) as f64;
        let left = self.spec.generations.saturating_sub(last.index) as f64;
        Some(last.seconds / done * left)
    }
}

impl Drop for EvolutionRun {
    /// A run the window lets go of (another preset, another run) stops.
    fn drop(&mut self) {
        self.stop();
    }
}
