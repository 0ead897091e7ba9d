//! The top bar: preset picker, open/save (typed path, dialog, recent files), view toggles.

use std::path::PathBuf;

use eframe::egui::{self, Ui};

use crate::ui::app_state::AppState;
use crate::ui::background::DialogPurpose;
use crate::ui::command::UiCommand;
use crate::ui::presets::PresetEntry;
use crate::ui::project::Project;

/// Wide enough for the stock preset names ("13-resnet-vs-plain").
const PRESET_PICKER_WIDTH: f32 = 170.0;
/// Recent files are full paths; longer ones are truncated (whole on hover).
const RECENT_MENU_WIDTH: f32 = 420.0;

/// What the top bar shows and edits: it opens and saves through commands, and edits the
/// typed paths and view toggles of the window's persisted state in place.
pub struct TopBar<'a> {
    pub project: &'a Project,
    pub presets: &'a [PresetEntry],
    /// A file dialog can be opened (one is available here and none is open).
    pub dialog_ready: bool,
    pub state: &'a mut AppState,
    /// Show the walkthrough panel.
    pub walk_active: &'a mut bool,
    pub commands: &'a mut Vec<UiCommand>,
}

pub fn top_bar_ui(bar: TopBar<'_>, ui: &mut Ui) {
    egui::Panel::top("top_bar").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong("ConvLab");
            ui.separator();
            let current = bar.project.preset.name.clone();
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
                        for entry in bar.presets.iter().cloned() {
                            let label = entry.label();
                            if ui.selectable_label(label == current, label.as_str()).clicked() {
                                bar.commands.push(match entry {
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
            file_menu_ui(bar.state, bar.commands, bar.dialog_ready, ui);
            ui.separator();

            let l = ui.label("Open path");
            ui.add(
                egui::TextEdit::singleline(&mut bar.state.open_path)
                    .hint_text("path to .toml or .safetensors")
                    .desired_width(200.0),
            )
            .labelled_by(l.id)
            .on_hover_text("Type a path to a preset or checkpoint, then press Open");
            if ui.button("Open").clicked() && !bar.state.open_path.trim().is_empty() {
                bar.commands.push(UiCommand::Open(PathBuf::from(bar.state.open_path.trim())));
            }
            if ui
                .add_enabled(bar.dialog_ready, egui::Button::new("Browse…"))
                .on_disabled_hover_text("No file dialog is available here: type a path")
                .clicked()
            {
                bar.commands.push(UiCommand::Dialog(DialogPurpose::Open));
            }
            ui.menu_button("Recent", |ui| {
                if bar.state.recent.is_empty() {
                    ui.weak("nothing yet");
                }
                ui.set_max_width(RECENT_MENU_WIDTH);
                for path in bar.state.recent.clone() {
                    let full = path.display().to_string();
                    if ui
                        .add(egui::Button::new(full.as_str()).truncate())
                        .on_hover_text(full.as_str())
                        .clicked()
                    {
                        bar.commands.push(UiCommand::Open(path));
                        ui.close();
                    }
                }
            });
            ui.separator();
            let l = ui.label("Save to");
            ui.add(egui::TextEdit::singleline(&mut bar.state.save_path).desired_width(160.0))
                .labelled_by(l.id)
                .on_hover_text("Checkpoint file (.safetensors): weights, model, data choice, settings and history");
            if ui.button("Save").on_hover_text("Ctrl+S. Written atomically (temporary file, then rename)").clicked() {
                let p = PathBuf::from(bar.state.save_path.trim());
                bar.commands.push(UiCommand::Save(p));
            }
            if ui
                .add_enabled(bar.dialog_ready, egui::Button::new("Save as…"))
                .clicked()
            {
                bar.commands.push(UiCommand::Dialog(DialogPurpose::Save));
            }
            ui.separator();
            if !bar.project.preset.walkthrough.is_empty() {
                ui.checkbox(bar.walk_active, "Walkthrough")
                    .on_hover_text("The lecture steps of this preset in a side panel; Next/Previous with the arrow keys or PageUp/PageDown.");
            }
            ui.checkbox(&mut bar.state.presenter, "Presenter")
                .on_hover_text("Presenter theme: larger fonts, high contrast, colour-blind-safe colour maps.");
            ui.checkbox(&mut bar.state.show_frame_overlay, "frame times")
                .on_hover_text("Debug overlay: time between frames and UI time");
        });
        let origin = format!("project: {}", bar.project.origin);
        ui.add(egui::Label::new(egui::RichText::new(origin).small()).truncate());
        if bar.project.has_unsaved_changes() {
            ui.small("(unsaved changes)").on_hover_text(
                "Kept for the next start if you close the window; File > Save writes them to a file",
            );
        }
    });
}

/// The File menu: export the current model (weights included) as ONNX to a typed path, or
/// as PyTorch code (model, weights, training script, data) to a folder.
fn file_menu_ui(
    state: &mut AppState,
    commands: &mut Vec<UiCommand>,
    dialog_ready: bool,
    ui: &mut Ui,
) {
    ui.menu_button("File", |ui| {
        ui.strong("Export ONNX");
        ui.horizontal(|ui| {
            let l = ui.label("ONNX path");
            ui.add(egui::TextEdit::singleline(&mut state.onnx_path).desired_width(220.0))
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
            let p = PathBuf::from(state.onnx_path.trim());
            commands.push(UiCommand::ExportOnnx(p));
            ui.close();
        }
        ui.separator();
        ui.strong("Export PyTorch code");
        const PYTORCH_TIP: &str = "A folder with model.py (an nn.Module with the node names), \
            model.safetensors (the current weights), train.py (the data, loss, optimiser, \
            learning rate, batch size, epochs, initialisation and seed of these settings) and \
            a README: the way on to a GPU or a cluster";
        if ui
            .add_enabled(dialog_ready, egui::Button::new("Export as PyTorch code..."))
            .on_hover_text(PYTORCH_TIP)
            .clicked()
        {
            commands.push(UiCommand::Dialog(DialogPurpose::ExportPytorch));
            ui.close();
        }
        ui.horizontal(|ui| {
            let l = ui.label("PyTorch folder");
            ui.add(egui::TextEdit::singleline(&mut state.pytorch_path).desired_width(220.0))
                .labelled_by(l.id)
                .on_hover_text(
                    "The folder to write (created; a folder with other files is refused)",
                );
        });
        if ui
            .button("Export PyTorch code")
            .on_hover_text(PYTORCH_TIP)
            .clicked()
        {
            let p = PathBuf::from(state.pytorch_path.trim());
            commands.push(UiCommand::ExportPytorch(p));
            ui.close();
        }
    });
}
