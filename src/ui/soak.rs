//! A long unattended run of the window, for measuring that it stays smooth and does not
//! grow: it keeps training, writes one JSON line per interval (frame times, the UI code's
//! time, resident memory, progress) and closes the window when the time is up.
//!
//! Started from the environment by the binary: `CONVLAB_SOAK_MINUTES=30` (and optionally
//! `CONVLAB_SOAK_LOG=file.jsonl`, default `convlab-soak.jsonl`).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::resident_memory::{mib, resident_bytes};
use crate::train::messages::RunState;

/// Time between two report lines.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);
/// Epochs a soak run is set to, so it never finishes on its own.
pub const SOAK_EPOCHS: usize = 10_000;

/// What the soak asks the window to do this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SoakAction {
    Nothing,
    StartTraining,
    Close,
}

/// The window's state the soak looks at each frame.
pub struct SoakSample {
    pub state: RunState,
    pub ready: bool,
    pub epochs: usize,
    pub total_steps: u64,
    /// Images per training step (the batch size), to turn steps into images per second.
    pub batch_size: usize,
    /// Threads the trainer runs on.
    pub threads: usize,
    /// Seconds the UI code took in the last frame.
    pub ui_seconds: f32,
}

pub struct Soak {
    log: PathBuf,
    duration: Duration,
    started: Instant,
    last_frame: Option<Instant>,
    last_report: Instant,
    /// Seconds between frames since the last report.
    intervals: Vec<f32>,
    ui_seconds: Vec<f32>,
    training_started: bool,
    /// Training steps at the last report, for the wall-clock throughput between reports.
    steps_at_report: u64,
}

impl Soak {
    pub fn new(log: PathBuf, duration: Duration) -> Soak {
        let now = Instant::now();
        Soak {
            log,
            duration,
            started: now,
            last_frame: None,
            last_report: now,
            intervals: Vec::new(),
            ui_seconds: Vec::new(),
            training_started: false,
            steps_at_report: 0,
        }
    }

    /// Called once per frame.
    pub fn tick(&mut self, sample: &SoakSample) -> SoakAction {
        let now = Instant::now();
        if let Some(last) = self.last_frame {
            self.intervals.push((now - last).as_secs_f32());
        }
        self.last_frame = Some(now);
        self.ui_seconds.push(sample.ui_seconds);
        if now - self.last_report >= REPORT_EVERY {
            self.report(sample);
            self.last_report = now;
        }
        if now - self.started >= self.duration {
            return SoakAction::Close;
        }
        let idle = matches!(sample.state, RunState::Ready | RunState::Paused);
        if sample.ready && idle && !self.training_started {
            self.training_started = true;
            return SoakAction::StartTraining;
        }
        SoakAction::Nothing
    }

    fn report(&mut self, sample: &SoakSample) {
        let mut sorted = std::mem::take(&mut self.intervals);
        sorted.sort_by(f32::total_cmp);
        let at = |q: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
                .map_or(0.0, |v| v * 1000.0)
        };
        let mean_ui = self.ui_seconds.iter().sum::<f32>() / self.ui_seconds.len().max(1) as f32;
        self.ui_seconds.clear();
        // Wall-clock training throughput since the last report: what the window achieves
        // with its views open, to set beside `convlab train`'s images/s.
        let steps = sample.total_steps.saturating_sub(self.steps_at_report);
        self.steps_at_report = sample.total_steps;
        let since = self.last_report.elapsed().as_secs_f64().max(1e-9);
        let images_per_s = (steps as f64 * sample.batch_size as f64) / since;
        let line = json!({
            "minutes": self.started.elapsed().as_secs_f64() / 60.0,
            "frames": sorted.len(),
            "frame_ms_p50": at(0.5),
            "frame_ms_p95": at(0.95),
            "frame_ms_max": at(1.0),
            "ui_ms_mean": mean_ui * 1000.0,
            "resident_mib": resident_bytes().map(mib),
            "state": format!("{:?}", sample.state),
            "epochs": sample.epochs,
            "total_steps": sample.total_steps,
            "images_per_s": images_per_s,
            "threads": sample.threads,
        });
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!("soak log {}: {e}", self.log.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(state: RunState) -> SoakSample {
        SoakSample {
            state,
            ready: true,
            epochs: 0,
            total_steps: 0,
            batch_size: 32,
            threads: 1,
            ui_seconds: 0.001,
        }
    }

    #[test]
    fn starts_training_once_and_closes_when_the_time_is_up() {
        let log = std::env::temp_dir().join(format!("convlab-soak-{}.jsonl", std::process::id()));
        let mut soak = Soak::new(log.clone(), Duration::from_millis(1000));
        assert_eq!(
            soak.tick(&sample(RunState::Ready)),
            SoakAction::StartTraining
        );
        assert_eq!(soak.tick(&sample(RunState::Running)), SoakAction::Nothing);
        assert_eq!(soak.tick(&sample(RunState::Paused)), SoakAction::Nothing);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(soak.tick(&sample(RunState::Running)), SoakAction::Close);
        soak.report(&sample(RunState::Running));
        let text = std::fs::read_to_string(&log).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(line["frames"], 3);
        assert!(line["frame_ms_max"].as_f64().unwrap() >= 1000.0, "{line}");
        let _ = std::fs::remove_file(&log);
    }
}
