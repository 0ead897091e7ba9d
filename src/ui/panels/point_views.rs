//! The window's side of the views of point data: the decision view's "discretise" toggle,
//! the single unit's activation picker and its w and b edited by number (the edits change
//! the trainer's model), and the neuron diagram's hover (a unit's map enlarged) and click
//! (the unit large with its weights and bias, drawn by the view).

use eframe::egui::{self, Response, TextureHandle, Ui};

use crate::engine::ModelSpec;
use crate::spec::view::ViewId;
use crate::ui::command::UiCommand;
use crate::ui::inspector::{ViewResult, ViewSettings};
use crate::viz::views::neurons::{NeuronsPicture, UnitBox};
use crate::viz::views::unit::Surface;

/// What the controls read and change (borrowed from the views panel).
pub struct PointControls<'a> {
    pub settings: &'a mut ViewSettings,
    /// The newest result (the single unit's w and b come from it).
    pub result: Option<&'a ViewResult>,
    pub model: &'a ModelSpec,
    pub commands: &'a mut Vec<UiCommand>,
}

/// The controls above the picture of `tab` (nothing for other views).
pub fn controls(p: &mut PointControls<'_>, ui: &mut Ui, tab: ViewId) {
    match tab {
        ViewId::Decision => {
            ui.checkbox(&mut p.settings.discrete, "discretise output")
                .on_hover_text(
                    "Colour each point of the plane by the class the model picks (or the sign \
                     of its output) only, without how sure it is: the borders stand out.",
                );
        }
        ViewId::Neurons => {
            let s = &mut p.settings;
            match &s.pick {
                Some((node, unit)) => {
                    ui.label(format!("unit {unit} of {node} shown large"));
                    if ui.button("close").clicked() {
                        s.pick = None;
                        s.node = None;
                    }
                }
                None => {
                    ui.weak("hover a unit to enlarge its map; click it for its weights and bias");
                }
            }
        }
        ViewId::Unit => unit_controls(p, ui),
        _ => {}
    }
}

fn unit_controls(p: &mut PointControls<'_>, ui: &mut Ui) {
    let units = p.result.and_then(|r| r.unit.as_ref()).and_then(|f| {
        p.model
            .nodes
            .iter()
            .find(|n| n.name == f.node)
            .and_then(|n| match &n.kind {
                crate::engine::NodeKind::Dense(c) => Some(c.out_features),
                _ => None,
            })
    });
    let s = &mut p.settings;
    let l = ui.label("unit");
    ui.add(egui::DragValue::new(&mut s.channel).range(0..=units.unwrap_or(64).saturating_sub(1)))
        .labelled_by(l.id)
        .on_hover_text("Which unit of the layer.");
    egui::ComboBox::from_label("activation")
        .selected_text(s.surface.name())
        .show_ui(ui, |ui| {
            for a in Surface::ALL {
                ui.selectable_value(&mut s.surface, a, a.name());
            }
        })
        .response
        .on_hover_text(
            "What the colours show: the model's own activation of z, or another to compare \
             (steep sigmoid: σ(10 z), almost a threshold). Only the picture changes.",
        );
    // w and b of the unit shown, edited by number: the model's own parameters change.
    let Some(facts) = p
        .result
        .filter(|r| r.settings.tab == ViewId::Unit)
        .and_then(|r| r.unit.clone())
    else {
        return;
    };
    let mut edits = Vec::new();
    let fields = [
        (
            "w1",
            format!("{}.weight", facts.node),
            vec![facts.unit, 0],
            facts.w[0],
        ),
        (
            "w2",
            format!("{}.weight", facts.node),
            vec![facts.unit, 1],
            facts.w[1],
        ),
        (
            "b",
            format!("{}.bias", facts.node),
            vec![facts.unit],
            facts.b,
        ),
    ];
    for (label, name, index, value) in fields {
        let mut v = value;
        let l = ui.label(label);
        if ui
            .add(egui::DragValue::new(&mut v).speed(0.02).max_decimals(3))
            .labelled_by(l.id)
            .on_hover_text(format!(
                "{name} {index:?}: drag or type; the model's parameter changes"
            ))
            .changed()
        {
            edits.push((name, index, v));
        }
    }
    for (name, index, value) in edits {
        p.commands
            .push(UiCommand::SetModelValue { name, index, value });
    }
}

/// Hover and click on the neuron diagram's picture: `to_px` maps a screen position to a
/// picture pixel.
pub fn neurons_pointer(
    settings: &mut ViewSettings,
    response: &Response,
    texture: &TextureHandle,
    boxes: &[UnitBox],
    to_px: impl Fn(egui::Pos2) -> (usize, usize),
) {
    let [w, h] = texture.size();
    if let Some(pos) = response.hover_pos() {
        let (x, y) = to_px(pos);
        if let Some(b) = NeuronsPicture::locate(boxes, x, y) {
            // The unit's own map, cut from the picture and shown four times as large.
            let uv = egui::Rect::from_min_max(
                egui::pos2(b.x as f32 / w as f32, b.y as f32 / h as f32),
                egui::pos2(
                    (b.x + b.side) as f32 / w as f32,
                    (b.y + b.side) as f32 / h as f32,
                ),
            );
            let side = 4.0 * b.side as f32;
            let title = if b.node == "input" {
                format!("input x{}", b.unit + 1)
            } else {
                format!("unit {} of {} (click: weights and bias)", b.unit, b.node)
            };
            response.clone().on_hover_ui_at_pointer(|ui| {
                ui.label(title);
                ui.add(egui::Image::new((texture.id(), egui::vec2(side, side))).uv(uv));
            });
        }
    }
    if response.clicked()
        && let Some(pos) = response.interact_pointer_pos()
    {
        let (x, y) = to_px(pos);
        let s = settings;
        if let Some(b) = NeuronsPicture::locate(boxes, x, y) {
            let pick = (b.node.clone(), b.unit);
            s.pick = if s.pick.as_ref() == Some(&pick) {
                None
            } else {
                Some(pick)
            };
            s.node = None;
        }
    }
}
