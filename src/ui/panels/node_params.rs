//! The parameter editor of one node, drawn from its kind's fields (see
//! `engine::layers::kind`): every kind brings its own labels, ranges, choices and the
//! lecture's tooltips, so a new kind needs nothing here.

use eframe::egui::{self, DragValue, Ui};

use crate::engine::layers::kind::{Choice, ChoiceStyle, Field, FieldValue};
use crate::engine::model_spec::{Padding, PaddingName};
use crate::engine::{NodeSpec, Pair};
use crate::ui::project::padding_label;

/// A labelled number field; the label is the field's accessible name.
fn number(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    value: &mut usize,
    range: std::ops::RangeInclusive<usize>,
) {
    let l = ui.label(label).on_hover_text(tip);
    ui.add(DragValue::new(value).range(range).speed(0.05))
        .labelled_by(l.id)
        .on_hover_text(tip);
}

fn pair(ui: &mut Ui, label: &str, tip: &str, p: &mut Pair, min: usize) {
    ui.horizontal(|ui| {
        let l = ui.label(label).on_hover_text(tip);
        ui.add(DragValue::new(&mut p.h).range(min..=255).speed(0.05))
            .labelled_by(l.id)
            .on_hover_text(format!("{tip}\n(height)"));
        let x = ui.label("×");
        ui.add(DragValue::new(&mut p.w).range(min..=255).speed(0.05))
            .labelled_by(x.id)
            .on_hover_text(format!("{tip}\n(width)"));
    });
}

fn float(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    v: &mut f64,
    range: std::ops::RangeInclusive<f64>,
    speed: f64,
) {
    ui.horizontal(|ui| {
        let l = ui.label(label).on_hover_text(tip);
        ui.add(DragValue::new(v).range(range).speed(speed).max_decimals(5))
            .labelled_by(l.id)
            .on_hover_text(tip);
    });
}

fn checkbox(ui: &mut Ui, v: &mut bool, label: &str, tip: &str) {
    ui.checkbox(v, label).on_hover_text(tip);
}

fn padding_ui(ui: &mut Ui, id: egui::Id, tip: &str, padding: &mut Padding) {
    ui.horizontal(|ui| {
        let l = ui.label("padding").on_hover_text(tip);
        egui::ComboBox::from_id_salt(id.with("padding"))
            .selected_text(padding_label(padding))
            .show_ui(ui, |ui| {
                let current = *padding;
                let amount = match current {
                    Padding::Uniform(p) => p,
                    Padding::Symmetric([v, _]) => v,
                    Padding::Explicit([t, ..]) => t,
                    Padding::Named(_) => 1,
                };
                for choice in [
                    Padding::Named(PaddingName::Valid),
                    Padding::Named(PaddingName::Same),
                    Padding::Uniform(amount),
                    Padding::Symmetric([amount, amount]),
                    Padding::Explicit([amount; 4]),
                ] {
                    let same_variant = std::mem::discriminant(&choice) == std::mem::discriminant(&current)
                        && !matches!((choice, current), (Padding::Named(a), Padding::Named(b)) if a != b);
                    if ui.selectable_label(same_variant, padding_label(&choice)).clicked() && !same_variant {
                        *padding = choice;
                    }
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text(tip);
    });
    ui.horizontal(|ui| match padding {
        Padding::Uniform(p) => number(ui, "pad", tip, p, 0..=255),
        Padding::Symmetric([v, h]) => {
            number(ui, "pad v", tip, v, 0..=255);
            number(ui, "h", tip, h, 0..=255);
        }
        Padding::Explicit([t, b, l, r]) => {
            number(ui, "top", tip, t, 0..=255);
            number(ui, "bottom", tip, b, 0..=255);
            number(ui, "left", tip, l, 0..=255);
            number(ui, "right", tip, r, 0..=255);
        }
        Padding::Named(_) => {}
    });
}

/// A choice as a drop-down menu (`Menu`) or side-by-side buttons (`Buttons`).
fn choice_ui(
    ui: &mut Ui,
    id: egui::Id,
    label: &str,
    tip: &str,
    value: &mut dyn Choice,
    style: ChoiceStyle,
) {
    let options = value.options();
    let selected = value.selected();
    ui.horizontal(|ui| {
        let l = ui.label(label).on_hover_text(tip);
        match style {
            ChoiceStyle::Menu => {
                egui::ComboBox::from_id_salt(id.with(label))
                    .selected_text(options[selected])
                    .show_ui(ui, |ui| {
                        for (k, option) in options.iter().enumerate() {
                            if ui.selectable_label(k == selected, *option).clicked() {
                                value.select(k);
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id)
                    .on_hover_text(tip);
            }
            ChoiceStyle::Buttons => {
                for (k, option) in options.iter().enumerate() {
                    let button = ui.selectable_label(k == selected, *option);
                    let button = if k == 0 {
                        button.labelled_by(l.id)
                    } else {
                        button
                    };
                    if button.clicked() {
                        value.select(k);
                    }
                }
            }
        }
    });
}

/// A pair that follows `fallback` until its switch is on.
fn optional_pair_ui(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    value: &mut Option<Pair>,
    switch: &str,
    fallback: Pair,
) {
    let mut own = value.is_some();
    if ui.checkbox(&mut own, switch).on_hover_text(tip).changed() {
        *value = own.then_some(fallback);
    }
    if let Some(p) = value {
        pair(ui, label, tip, p, 1);
    }
}

/// One hyper-parameter, drawn by its type.
fn field_ui(ui: &mut Ui, id: egui::Id, field: Field<'_>) {
    let Field { label, tip, value } = field;
    match value {
        FieldValue::Count(v, range) => {
            ui.horizontal(|ui| number(ui, label, tip, v, range));
        }
        FieldValue::Pair(p, min) => pair(ui, label, tip, p, min),
        FieldValue::OptionalPair {
            value,
            switch,
            fallback,
        } => optional_pair_ui(ui, label, tip, value, switch, fallback),
        FieldValue::Real(v, range, speed) => float(ui, label, tip, v, range, speed),
        FieldValue::Flag(v) => checkbox(ui, v, label, tip),
        FieldValue::Padding(p) => padding_ui(ui, id, tip, p),
        FieldValue::Choice(v, style) => choice_ui(ui, id, label, tip, v, style),
    }
}

/// Edits the hyper-parameters of `node` in place; `choices` are the names its inputs may
/// take (for Add and Concat).
pub fn node_params_ui(ui: &mut Ui, node: &mut NodeSpec, choices: &[String]) {
    let id = ui.scope_id().with(("node_params", &node.name));
    let single_input = node.kind.arity().is_some();
    let fields = node
        .kind
        .as_kind_mut()
        .map(|k| k.fields())
        .unwrap_or_default();
    if fields.is_empty() && single_input {
        ui.weak("no parameters");
    }
    for field in fields {
        field_ui(ui, id, field);
    }
    if node.kind.arity().is_none() {
        inputs_ui(ui, id, node, choices);
    }
}

/// Drop-downs choosing which earlier nodes a merge node reads.
fn inputs_ui(ui: &mut Ui, id: egui::Id, node: &mut NodeSpec, choices: &[String]) {
    let tip = node.kind.as_kind().inputs_tip();
    ui.label("inputs").on_hover_text(tip);
    let mut remove = None;
    let count = node.inputs.len();
    for (k, input) in node.inputs.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            let l = ui.label(format!("input {}", k + 1));
            // "x" before the choice, and the choice truncated last in the row: a long node
            // name must not widen the panel or move the button.
            if count > 2
                && ui
                    .small_button("x")
                    .on_hover_text("Remove this input")
                    .clicked()
            {
                remove = Some(k);
            }
            egui::ComboBox::from_id_salt(id.with(("input", k)))
                .selected_text(input.as_str())
                .truncate()
                .show_ui(ui, |ui| {
                    for c in choices {
                        ui.selectable_value(input, c.clone(), c.as_str());
                    }
                })
                .response
                .labelled_by(l.id)
                .on_hover_text(tip);
        });
    }
    if let Some(k) = remove {
        node.inputs.remove(k);
    }
    if ui
        .small_button("+ input")
        .on_hover_text("Read one more earlier node")
        .clicked()
    {
        let next = choices.last().cloned().unwrap_or_default();
        node.inputs.push(next);
    }
}
