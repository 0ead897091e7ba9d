//! The handcrafted pipeline's editor (the preset's `[pipeline]`): operators in order with
//! their settings, the feature groups and the classifier. The Handcrafted pipeline tab
//! shows what the edited pipeline does; the Evolved features tab searches for one.

use eframe::egui::{self, Ui};

use crate::classical::ops::{MAX_RADIUS, MAX_SIGMA};
use crate::classical::{ClassifierKind, FeatureGroup, Operator, PipelineSpec};

/// The pipeline a preset without one starts from: smoothing and three feature groups.
fn starting_pipeline() -> PipelineSpec {
    PipelineSpec {
        stages: vec![Operator::Median { radius: 1 }],
        features: vec![
            FeatureGroup::Intensity,
            FeatureGroup::Edges,
            FeatureGroup::Lbp,
        ],
        classifier: ClassifierKind::Logistic,
    }
}

/// Edits `pipeline` in place.
pub fn pipeline_panel_ui(pipeline: &mut Option<PipelineSpec>, ui: &mut Ui) {
    let Some(spec) = pipeline else {
        ui.weak("No handcrafted pipeline: the classical way to classify these images.");
        if ui
            .button("Add a handcrafted pipeline")
            .on_hover_text(
                "Operators (smoothing, edges, thresholds, morphology), features measured on the \
                 result and a simple classifier, compared with the network on the same data in \
                 the Handcrafted pipeline tab.",
            )
            .clicked()
        {
            *pipeline = Some(starting_pipeline());
        }
        return;
    };
    let mut remove_stage = None;
    let mut swap = None;
    let n = spec.stages.len();
    for (i, op) in spec.stages.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!("{}.", i + 1));
            egui::ComboBox::from_id_salt(("pipeline_op", i))
                .selected_text(op.name())
                .show_ui(ui, |ui| {
                    for choice in Operator::PALETTE {
                        if ui
                            .selectable_label(op.name() == choice.name(), choice.name())
                            .on_hover_text(choice.about())
                            .clicked()
                        {
                            *op = choice;
                        }
                    }
                })
                .response
                .on_hover_text(op.about());
            setting_ui(op, ui);
            if ui.add_enabled(i > 0, egui::Button::new("up")).clicked() {
                swap = Some((i - 1, i));
            }
            if ui
                .add_enabled(i + 1 < n, egui::Button::new("down"))
                .clicked()
            {
                swap = Some((i, i + 1));
            }
            if ui
                .button("del")
                .on_hover_text("Remove this stage")
                .clicked()
            {
                remove_stage = Some(i);
            }
        });
    }
    if let Some((a, b)) = swap {
        spec.stages.swap(a, b);
    }
    if let Some(i) = remove_stage {
        spec.stages.remove(i);
    }
    if spec.stages.len() < crate::classical::pipeline::MAX_STAGES {
        ui.menu_button("+ stage", |ui| {
            for choice in Operator::PALETTE {
                if ui
                    .button(choice.label())
                    .on_hover_text(choice.about())
                    .clicked()
                {
                    spec.stages.push(choice);
                    ui.close();
                }
            }
        });
    }
    ui.label("features of the last stage");
    ui.horizontal_wrapped(|ui| {
        for g in FeatureGroup::ALL {
            let mut on = spec.features.contains(&g);
            let last = on && spec.features.len() == 1;
            let r = ui
                .add_enabled(!last, egui::Checkbox::new(&mut on, g.name()))
                .on_hover_text(g.about());
            if r.changed() {
                if on {
                    spec.features.push(g);
                    spec.features.sort();
                } else {
                    spec.features.retain(|&f| f != g);
                }
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label("classifier");
        for kind in ClassifierKind::ALL {
            ui.selectable_value(&mut spec.classifier, kind, kind.name())
                .on_hover_text(kind.about());
        }
    });
    if ui
        .button("Remove the pipeline")
        .on_hover_text("The preset keeps only its network.")
        .clicked()
    {
        *pipeline = None;
    }
}

/// The operator's one setting, if it has one.
fn setting_ui(op: &mut Operator, ui: &mut Ui) {
    match op {
        Operator::Gaussian { sigma } => {
            ui.add(
                egui::DragValue::new(sigma)
                    .range(0.1..=MAX_SIGMA)
                    .speed(0.05)
                    .prefix("σ "),
            );
        }
        Operator::Median { radius } => {
            ui.add(
                egui::DragValue::new(radius)
                    .range(1..=u32::from(MAX_RADIUS))
                    .prefix("r "),
            );
        }
        Operator::Threshold { level } => {
            ui.add(egui::DragValue::new(level).range(0..=255).prefix("level "));
        }
        Operator::Erode { radius }
        | Operator::Dilate { radius }
        | Operator::Open { radius }
        | Operator::Close { radius } => {
            ui.add(
                egui::DragValue::new(radius)
                    .range(1..=MAX_RADIUS)
                    .prefix("r "),
            );
        }
        Operator::Sobel | Operator::Laplacian | Operator::Otsu => {}
    }
}
