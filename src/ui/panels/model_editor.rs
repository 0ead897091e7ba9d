//! The model editor: the node list with live shapes, parameter counts (with formula),
//! FLOPs and receptive fields; palette, templates, reordering, undo/redo. An error marks
//! its node while everything stays editable.

use eframe::egui::{self, RichText, Ui};

use super::node_params::node_params_ui;
use crate::engine::facts::NodeFacts;
use crate::ui::project::{
    Project, RenameError, duplicate_node, input_choices, insert_node, move_node, palette,
    remove_node, rename_node,
};
use crate::ui::templates::{self, TEMPLATES};

/// Editor state that is not part of the model.
#[derive(Default)]
pub struct ModelEditor {
    pub selected: Option<usize>,
    rename: String,
    rename_error: Option<RenameError>,
}

/// `1234567` → `1.23 M`.
pub fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

pub fn shape_text(s: [usize; 3]) -> String {
    format!("{}×{}×{}", s[0], s[1], s[2])
}

fn facts_line(f: &NodeFacts) -> String {
    let params = if f.params > 0 {
        format!("{} params = {}", f.params, f.param_formula)
    } else {
        "0 params".to_string()
    };
    let rf = f.receptive_field.size;
    format!(
        "{params} · {}FLOPs · RF {}×{}",
        si(f.flops as f64),
        rf[0] as i64,
        rf[1] as i64
    )
}

impl ModelEditor {
    /// `data_shape` and `classes` describe the loaded data (for "fit input" and templates).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        project: &mut Project,
        data_shape: Option<[usize; 3]>,
        classes: usize,
    ) {
        let before = project.preset.model.clone();
        let revision = project.revision();
        ui.horizontal(|ui| {
            ui.heading("Model");
            ui.menu_button("+ Add node", |ui| {
                for kind in palette() {
                    if ui
                        .button(kind.tag())
                        .on_hover_text(kind.as_kind().about())
                        .clicked()
                    {
                        let after = self.selected;
                        let mut new_index = 0;
                        project.apply(|m| new_index = insert_node(m, after, kind.clone()));
                        self.selected = Some(new_index);
                        ui.close();
                    }
                }
            })
            .response
            .on_hover_text("Insert a node after the selected one (or at the end)");
            ui.menu_button("Templates", |ui| {
                for name in TEMPLATES {
                    if ui
                        .button(name)
                        .on_hover_text(templates::describe(name))
                        .clicked()
                    {
                        let input = data_shape.unwrap_or(project.preset.model.input);
                        if let Some(spec) = templates::build(name, input, classes) {
                            project.apply(|m| *m = spec);
                            self.selected = None;
                        }
                        ui.close();
                    }
                }
            });
            if ui
                .add_enabled(project.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Ctrl+Z")
                .clicked()
            {
                project.undo();
            }
            if ui
                .add_enabled(project.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Ctrl+Shift+Z")
                .clicked()
            {
                project.redo();
            }
        });

        // Input shape.
        ui.horizontal(|ui| {
            let [c, h, w] = &mut project.preset.model.input;
            let l = ui
                .label("input")
                .on_hover_text("Shape of one sample: channels × height × width");
            ui.add(egui::DragValue::new(c).range(1..=64).speed(0.05))
                .labelled_by(l.id);
            let x = ui.label("×");
            ui.add(egui::DragValue::new(h).range(1..=512).speed(0.1))
                .labelled_by(x.id);
            let x2 = ui.label("×");
            ui.add(egui::DragValue::new(w).range(1..=512).speed(0.1))
                .labelled_by(x2.id);
            if let Some(shape) = data_shape
                && shape != project.preset.model.input
                && ui
                    .button("fit data")
                    .on_hover_text(format!("The data's samples are {}", shape_text(shape)))
                    .clicked()
            {
                project.preset.model.input = shape;
            }
        });

        let facts = project.refresh_facts().clone();
        match &facts.full {
            Some(full) => {
                ui.label(format!(
                    "total {} params · {}FLOPs per sample · output {}",
                    full.total_params(),
                    si(full.total_flops() as f64),
                    shape_text(full.output())
                ));
            }
            None => {
                if facts.error_node.is_none()
                    && let Some(e) = &facts.error
                {
                    ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                }
            }
        }
        ui.separator();

        let mut action: Option<(usize, &str)> = None;
        let n = project.preset.model.nodes.len();
        egui::ScrollArea::vertical()
            .id_salt("model_nodes")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for i in 0..n {
                    let is_error = facts.error_node == Some(i);
                    let selected = self.selected == Some(i);
                    let stroke = if is_error {
                        egui::Stroke::new(1.5, ui.visuals().error_fg_color)
                    } else if selected {
                        ui.visuals().selection.stroke
                    } else {
                        egui::Stroke::new(0.5, ui.visuals().widgets.noninteractive.bg_stroke.color)
                    };
                    egui::Frame::group(ui.style())
                        .stroke(stroke)
                        .show(ui, |ui| {
                            ui.set_width(ui.available_width());
                            let node = &project.preset.model.nodes[i];
                            // The buttons first, then name, kind and shape in what is left,
                            // truncated: a long node name must neither widen the panel nor
                            // push the buttons around.
                            egui::Sides::new().shrink_left().truncate().show(
                                ui,
                                |ui| {
                                    let name = RichText::new(&node.name).strong();
                                    if ui
                                        .selectable_label(selected, name)
                                        .on_hover_text("Select to edit")
                                        .clicked()
                                    {
                                        self.selected = if selected { None } else { Some(i) };
                                        self.rename = project.preset.model.nodes[i].name.clone();
                                        self.rename_error = None;
                                    }
                                    ui.weak(node.kind.tag());
                                },
                                |ui| {
                                    if ui
                                        .small_button("del")
                                        .on_hover_text("Remove this node")
                                        .clicked()
                                    {
                                        action = Some((i, "remove"));
                                    }
                                    if ui
                                        .small_button("dup")
                                        .on_hover_text("Duplicate this node")
                                        .clicked()
                                    {
                                        action = Some((i, "duplicate"));
                                    }
                                    if ui.small_button("down").on_hover_text("Move down").clicked()
                                    {
                                        action = Some((i, "down"));
                                    }
                                    if ui.small_button("up").on_hover_text("Move up").clicked() {
                                        action = Some((i, "up"));
                                    }
                                },
                            );
                            if let Some(f) = &facts.nodes[i] {
                                let inputs = if project.preset.model.nodes[i].inputs.is_empty() {
                                    String::new()
                                } else {
                                    format!(" · reads {}", f.inputs.join(", "))
                                };
                                // The output shape on its own line beside the facts, where
                                // it has room (beside the buttons it was cut short).
                                ui.horizontal_wrapped(|ui| {
                                    ui.label(format!("out {}", shape_text(f.output)));
                                    ui.small(format!("{}{inputs}", facts_line(f)));
                                });
                            }
                            if is_error && let Some(e) = &facts.error {
                                ui.colored_label(
                                    ui.visuals().error_fg_color,
                                    format!("Error: {e}"),
                                );
                            }
                            if selected {
                                ui.separator();
                                ui.horizontal(|ui| {
                                    let l = ui.label("name");
                                    let r = ui
                                        .add(
                                            egui::TextEdit::singleline(&mut self.rename)
                                                .desired_width(100.0),
                                        )
                                        .labelled_by(l.id);
                                    if r.lost_focus()
                                        && self.rename != project.preset.model.nodes[i].name
                                    {
                                        let mut spec = project.preset.model.clone();
                                        match rename_node(&mut spec, i, &self.rename) {
                                            Ok(()) => {
                                                project.apply(|m| *m = spec);
                                                self.rename_error = None;
                                            }
                                            Err(e) => self.rename_error = Some(e),
                                        }
                                    }
                                });
                                if let Some(e) = &self.rename_error {
                                    ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                                }
                                let choices = input_choices(&project.preset.model, i);
                                node_params_ui(ui, &mut project.preset.model.nodes[i], &choices);
                            }
                        });
                }
                if n == 0 {
                    ui.weak("No nodes yet: add one from + Add node or pick a template.");
                }
            });

        if let Some((i, what)) = action {
            project.apply(|m| match what {
                "remove" => remove_node(m, i),
                "duplicate" => {
                    duplicate_node(m, i);
                }
                "up" => {
                    move_node(m, i, true);
                }
                _ => {
                    move_node(m, i, false);
                }
            });
            self.selected = match what {
                "remove" => None,
                "duplicate" => Some(i + 1),
                "up" => Some(i.saturating_sub(1)),
                _ => Some((i + 1).min(project.preset.model.nodes.len().saturating_sub(1))),
            };
        }
        // Direct edits of fields (drags, typing) become grouped undo steps.
        if project.preset.model != before && project.revision() == revision {
            project.record_edit(before);
        }
    }
}
