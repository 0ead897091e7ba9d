//! The status bar (run state, position, speed, last message, frame time) and the small
//! overlays: frame times and the drop hint.

use eframe::egui::{self, Ui};

use crate::ui::frame_timer::FrameTimer;
use crate::ui::session::{Message, RunView};

/// The bar shows the run, the last message and the frame times; it changes nothing.
pub fn status_bar_ui(ui: &mut Ui, run: &RunView, message: &Message, frames: &FrameTimer) {
    egui::Panel::bottom("status_bar").show(ui, |ui| {
        // Frame times first on the right, then the rest in what is left, truncated: a long
        // message (a path, an error) must not push the frame times off the window.
        egui::Sides::new().shrink_left().truncate().show(
            ui,
            |ui| {
                ui.label(format!("• {}", run.state.label()));
                if let Some(p) = &run.progress {
                    ui.separator();
                    ui.label(format!(
                        "epoch {} step {}/{} · {:.0} img/s",
                        p.epoch, p.step, p.steps_per_epoch, p.images_per_s
                    ));
                }
                ui.separator();
                let color = if message.is_error {
                    ui.visuals().error_fg_color
                } else {
                    ui.visuals().text_color()
                };
                ui.colored_label(color, &message.text);
            },
            |ui| {
                ui.weak(format!(
                    "frame {:.1} ms ({:.0} fps) · ui {:.1} ms",
                    frames.mean_interval() * 1000.0,
                    frames.fps(),
                    frames.mean_ui_time() * 1000.0
                ));
            },
        );
    });
}

/// Frame statistics in a corner of the window.
pub fn frame_overlay_ui(frames: &FrameTimer, ctx: &egui::Context) {
    egui::Area::new(egui::Id::unique("frame_overlay"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-360.0, -40.0))
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                let f = frames;
                ui.monospace(format!(
                    "frame  {:5.1} ms mean  {:5.1} ms max\nfps    {:5.0}\nui cpu {:5.2} ms   ({} frames)",
                    f.mean_interval() * 1000.0,
                    f.max_interval() * 1000.0,
                    f.fps(),
                    f.mean_ui_time() * 1000.0,
                    f.intervals.len()
                ));
            });
        });
}

pub fn drop_hint_ui(ctx: &egui::Context) {
    egui::Area::new(egui::Id::unique("drop_hint"))
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.heading("Drop a class folder, a preset (.toml) or a checkpoint (.safetensors)");
            });
        });
}
