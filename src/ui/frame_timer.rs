//! Frame times for the debug overlay: time between frames and CPU time of the UI code.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Frames remembered.
pub const FRAMES: usize = 120;

#[derive(Default)]
pub struct FrameTimer {
    last_start: Option<Instant>,
    /// Seconds between consecutive frame starts.
    pub intervals: VecDeque<f32>,
    /// Seconds spent in the UI code per frame.
    pub ui_times: VecDeque<f32>,
}

fn push(q: &mut VecDeque<f32>, v: f32) {
    if q.len() == FRAMES {
        q.pop_front();
    }
    q.push_back(v);
}

fn mean(q: &VecDeque<f32>) -> f32 {
    if q.is_empty() {
        0.0
    } else {
        q.iter().sum::<f32>() / q.len() as f32
    }
}

impl FrameTimer {
    pub fn on_frame_start(&mut self) {
        let now = Instant::now();
        if let Some(last) = self.last_start {
            // Gaps longer than a second are idle time, not slow frames.
            let dt = (now - last).as_secs_f32();
            if dt < 1.0 {
                push(&mut self.intervals, dt);
            }
        }
        self.last_start = Some(now);
    }

    pub fn on_ui_done(&mut self, cpu: Duration) {
        push(&mut self.ui_times, cpu.as_secs_f32());
    }

    /// Mean interval between frames, in seconds.
    pub fn mean_interval(&self) -> f32 {
        mean(&self.intervals)
    }

    pub fn max_interval(&self) -> f32 {
        self.intervals.iter().copied().fold(0.0, f32::max)
    }

    pub fn mean_ui_time(&self) -> f32 {
        mean(&self.ui_times)
    }

    pub fn fps(&self) -> f32 {
        let m = self.mean_interval();
        if m > 0.0 { 1.0 / m } else { 0.0 }
    }
}
