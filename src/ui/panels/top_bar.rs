//! The top bar: preset picker, open/save (typed path, dialog, recent files), view toggles.

use std::path::PathBuf;

use eframe::egui::{self, Ui};

use crate::ui::app::{ConvLabApp, UiCommand};
use crate::ui::background::DialogPurpose;
use crate::ui::presets::PresetEntry;

/// Wide enough for the stock preset names ("13-resnet-vs-plain").
const PRESET_PICKER_WIDTH: f32 = 170.0;
/// Recent files are full paths; longer ones are truncated (whole on hover).
const RECENT_MENU_WIDTH: f32 = 420.0;

pub fn top_bar_ui(app: &mut ConvLabApp, ui: &mut Ui) {
    egui::Panel::top("top_bar").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong("ConvLab");
            ui.separator();
            let current = app.project.preset.name.clone();
            let l = ui.label("Preset");
            // A fixed width, the name truncated: a long preset name must not move the
            // buttons to its right or wrap the bar (which would shift every panel down).
            ui.scope(|ui| {
                ui.set_max_width(PRESET_PICKER_WIDTH);
                egui::ComboBox::from_id_salt("preset_picker")
                    .selected_text(current.as_str())
                    .width(PRESET_PICKER_WIDTH)
                    .truncate()
                    .show_ui(ui, |ui| {
                        for entry in app.presets.clone() {
                            let label = entry.label();
                            if ui.selectable_label(label == current, label.as_str()).clicked() {
                                app.commands.push(match entry {
                                    PresetEntry::Embedded(name) => UiCommand::OpenEmbedded(name),
                                    PresetEntry::File(p) => UiCommand::Open(p),
                                });
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id)
                    .on_hover_text(format!("{current}: ready-made lecture set-ups, each a model, its data and training settings"));
            });
            ui.separator();
            file_menu_ui(app, ui);
            ui.separator();

            let l = ui.label("Open path");
            ui.add(
                egui::TextEdit::singleline(&mut app.state.open_path)
                    .hint_text("path to .toml or .safetensors")
                    .desired_width(200.0),
            )
            .labelled_by(l.id)
            .on_hover_text("Type a path to a preset or checkpoint, then press Open");
            if ui.button("Open").clicked() && !app.state.open_path.trim().is_empty() {
                app.commands.push(UiCommand::Open(PathBuf::from(app.state.open_path.trim())));
            }
            if ui
                .add_enabled(!app.dialog_unavailable && app.dialog.is_none(), egui::Button::new("Browse…"))
                .on_disabled_hover_text("No file dialog is available here: type a path")
                .clicked()
            {
                app.commands.push(UiCommand::Dialog(DialogPurpose::Open));
            }
            ui.menu_button("Recent", |ui| {
                if app.state.recent.is_empty() {
                    ui.weak("nothing yet");
                }
                ui.set_max_width(RECENT_MENU_WIDTH);
                for path in app.state.recent.clone() {
                    let full = path.display().to_string();
                    if ui
                        .add(egui::Button::new(full.as_str()).truncate())
                        .on_hover_text(full.as_str())
                        .clicked()
                    {
                        app.commands.push(UiCommand::Open(path));
                        ui.close();
                    }
                }
            });
            ui.separator();
            let l = ui.label("Save to");
            ui.add(egui::TextEdit::singleline(&mut app.state.save_path).desired_width(160.0))
                .labelled_by(l.id)
                .on_hover_text("Checkpoint file (.safetensors): weights, model, data choice, settings and history");
            if ui.button("Save").on_hover_text("Ctrl+S. Written atomically (temporary file, then rename)").clicked() {
                let p = PathBuf::from(app.state.save_path.trim());
                app.commands.push(UiCommand::Save(p));
            }
            if ui
                .add_enabled(!app.dialog_unavailable && app.dialog.is_none(), egui::Button::new("Save as…"))
                .clicked()
            {
                app.commands.push(UiCommand::Dialog(DialogPurpose::Save));
            }
            ui.separator();
            if !app.project.preset.walkthrough.is_empty() {
                ui.checkbox(&mut app.walk.active, "Walkthrough")
                    .on_hover_text("The lecture steps of this preset in a side panel; Next/Previous with the arrow keys or PageUp/PageDown.");
            }
            ui.checkbox(&mut app.state.presenter, "Presenter")
                .on_hover_text("Presenter theme: larger fonts, high contrast, colour-blind-safe colour maps.");
            ui.checkbox(&mut app.state.show_frame_overlay, "frame times")
                .on_hover_text("Debug overlay: time between frames and UI time");
        });
        let origin = format!("project: {}", app.project.origin);
        ui.add(egui::Label::new(egui::RichText::new(origin).small()).truncate());
        if app.project.has_unsaved_changes() {
            ui.small("(unsaved changes)").on_hover_text(
                "Kept for the next start if you close the window; File > Save writes them to a file",
            );
        }
    });
}

/// The File menu: export the current model (weights included) as ONNX to a typed path.
fn file_menu_ui(app: &mut ConvLabApp, ui: &mut Ui) {
    ui.menu_button("File", |ui| {
        ui.strong("Export ONNX");
        ui.horizontal(|ui| {
            let l = ui.label("ONNX path");
            ui.add(egui::TextEdit::singleline(&mut app.state.onnx_path).desired_width(220.0))
                .labelled_by(l.id)
                .on_hover_text(
                    "Where to write the .onnx file (opset 17): the current model with its \
                     current weights, for PyTorch, onnxruntime or Netron",
                );
        });
        if ui
            .button("Export ONNX")
            .on_hover_text("Written in the background, atomically (temporary file, then rename)")
            .clicked()
        {
            let p = PathBuf::from(app.state.onnx_path.trim());
            app.commands.push(UiCommand::ExportOnnx(p));
            ui.close();
        }
    });
}
