//! The data panel's source options, drawn from each source's own description: editing one
//! changes the preset's data, and the points' input features carry the model's input along.

mod common;

use common::ui::{app, ready, step_until};
use convlab::data::DataSource;
use convlab::data::features::InputFeature;
use convlab::ui::ConvLabApp;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

fn open_xor(h: &mut common::ui::App) {
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(2);
    h.get_by_label("xor-mlp").click();
    h.run_steps(2);
    assert_eq!(h.state().project.preset.name, "xor-mlp");
}

fn features(a: &ConvLabApp) -> Vec<InputFeature> {
    match &a.project.preset.data.source {
        DataSource::Points(p) => p.features.clone(),
        other => panic!("not points: {other:?}"),
    }
}

#[test]
fn one_click_on_x_times_y_adds_the_feature_and_the_model_input_follows() {
    let mut h = app();
    open_xor(&mut h);
    step_until(&mut h, 30, "xor to be ready", ready);

    h.get_by_label("x·y").click();
    h.run_steps(2);
    assert_eq!(features(h.state()), [InputFeature::XTimesY]);
    assert_eq!(h.state().project.preset.model.input, [3, 1, 1]);
    // The new points load with the extra channel and the trainer takes them: no mismatch.
    step_until(&mut h, 30, "the points with x·y to be ready", |a| {
        ready(a)
            && a.data
                .loaded
                .as_ref()
                .is_some_and(|l| l.dataset.sample_shape() == [3, 1, 1])
    });
    assert!(h.state().run.error.is_none(), "{:?}", h.state().run.error);

    // Off again: back to x and y, and Ctrl+Z-able like any model edit.
    h.get_by_label("x·y").click();
    h.run_steps(2);
    assert!(features(h.state()).is_empty());
    assert_eq!(h.state().project.preset.model.input, [2, 1, 1]);
}

#[test]
fn the_generic_editors_edit_the_source_options() {
    let mut h = app();
    open_xor(&mut h);
    h.get_by_label("spirals").click();
    h.run_steps(1);
    h.get_by_label("samples").set_value_accesskit(123.0);
    h.run_steps(2);
    match &h.state().project.preset.data.source {
        DataSource::Points(p) => {
            assert_eq!(p.pattern.name(), "spirals");
            assert_eq!(p.samples, 123);
        }
        other => panic!("not points: {other:?}"),
    }
}
