//! The playback timeline: a slider over the moments of the run whose weights the trainer
//! keeps (see [`crate::train::snapshots`]) and a play button. Moving it shows every view of
//! the model as it was at that moment; at its right end ("now") the views follow training.

use std::time::{Duration, Instant};

use eframe::egui::{self, Ui};

use crate::train::snapshots::Moment;

/// Playback speeds offered, in moments per second.
const SPEEDS: [f32; 4] = [1.0, 2.0, 4.0, 8.0];

/// The timeline's own state: whether it plays, how fast, and when it last advanced.
pub struct TimelineUi {
    pub playing: bool,
    /// Moments per second while playing.
    pub speed: f32,
    last_advance: Option<Instant>,
}

impl Default for TimelineUi {
    fn default() -> Self {
        TimelineUi {
            playing: false,
            speed: 4.0,
            last_advance: None,
        }
    }
}

/// The position on the timeline of `at_step`: the index of the moment shown, or
/// `moments.len()` for "now".
fn position(at_step: Option<u64>, moments: &[Moment]) -> usize {
    match at_step {
        None => moments.len(),
        Some(step) => moments.iter().rposition(|m| m.step <= step).unwrap_or(0),
    }
}

/// The step the views show at timeline position `k` (`None`: now).
fn step_at(k: usize, moments: &[Moment]) -> Option<u64> {
    moments.get(k).map(|m| m.step)
}

/// The timeline row; edits `at_step` (the views' moment, `None` for now).
pub fn timeline_ui(
    at_step: &mut Option<u64>,
    moments: &[Moment],
    state: &mut TimelineUi,
    ui: &mut Ui,
) {
    // A moment that is no longer kept (a new run, or thinned) falls back to the nearest
    // earlier one; with no moments at all the views show now.
    if moments.is_empty() {
        *at_step = None;
        state.playing = false;
    }
    let mut k = position(*at_step, moments);
    let last = moments.len();
    ui.horizontal(|ui| {
        let l = ui.label("Timeline").on_hover_text(
            "Every view as it was earlier in training: the trainer keeps the weights at steps \
             0, 1, 2, 4, 8, … and at every epoch end (up to 64 moments, 256 MiB); drag to a \
             moment, or play",
        );
        let play_label = if state.playing {
            "Pause playback"
        } else {
            "Play"
        };
        if ui
            .add_enabled(!moments.is_empty(), egui::Button::new(play_label))
            .on_hover_text("Play the run's moments in order (from the start when at now)")
            .clicked()
        {
            state.playing = !state.playing;
            if state.playing && k >= last {
                k = 0;
            }
            state.last_advance = Some(Instant::now());
        }
        let slider = egui::Slider::new(&mut k, 0..=last).show_value(false);
        let r = ui
            .add_enabled(!moments.is_empty(), slider)
            .labelled_by(l.id)
            .on_hover_text("Left: the first weights; right end: now (views follow training)");
        if r.dragged() || r.changed() {
            state.playing = false;
        }
        ui.label(match moments.get(k) {
            Some(m) => format!("step {} · epoch {:.2}", m.step, m.epoch),
            None => "the weights now".to_string(),
        });
        if ui
            .add_enabled(k < last, egui::Button::new("now"))
            .on_hover_text("Back to the current weights: the views follow training again")
            .clicked()
        {
            k = last;
            state.playing = false;
        }
        let l = ui.label("speed");
        egui::ComboBox::from_id_salt("timeline_speed")
            .selected_text(format!("{}/s", state.speed))
            .width(60.0)
            .show_ui(ui, |ui| {
                for s in SPEEDS {
                    ui.selectable_value(&mut state.speed, s, format!("{s}/s"));
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text("Moments shown per second while playing");
    });
    if state.playing {
        let interval = Duration::from_secs_f32(1.0 / state.speed.max(0.1));
        let due = state.last_advance.is_none_or(|t| t.elapsed() >= interval);
        if due {
            state.last_advance = Some(Instant::now());
            if k + 1 >= last {
                // The last kept moment reached: stay on it.
                state.playing = false;
                k = last.saturating_sub(1);
            } else {
                k += 1;
            }
        }
        ui.ctx().request_repaint_after(interval);
    }
    *at_step = step_at(k, moments);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(steps: &[u64]) -> Vec<Moment> {
        steps
            .iter()
            .map(|&step| Moment {
                step,
                epoch: step as f64 / 4.0,
            })
            .collect()
    }

    #[test]
    fn positions_map_to_steps_and_now() {
        let m = moments(&[0, 1, 2, 4, 8]);
        assert_eq!(position(None, &m), 5);
        assert_eq!(step_at(5, &m), None);
        assert_eq!(position(Some(4), &m), 3);
        // A step no longer kept shows the moment before it.
        assert_eq!(position(Some(6), &m), 3);
        assert_eq!(step_at(3, &m), Some(4));
        assert_eq!(position(Some(3), &[]), 0);
    }
}
