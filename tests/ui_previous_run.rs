//! "Compare the curves": after a fresh start (a walkthrough step that changes the model,
//! or Reset) the previous run's curves stay on the plots beside the new run's.

mod common;

use common::ui::{app, ready, step_until};
use convlab::train::messages::RunState;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

#[test]
fn after_a_fresh_start_the_previous_runs_curves_stay_beside_the_new_ones() {
    let mut h = app();
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(2);
    h.get_by_label("xor-mlp").click();
    h.run_steps(2);
    step_until(&mut h, 30, "the run to be configured", ready);
    // No previous run yet: nothing dashed.
    assert!(h.query_all_by_label("previous run: train").next().is_none());

    h.get_by_label("Train").click();
    step_until(&mut h, 60, "the first run to finish", |a| {
        a.run.state == RunState::Finished
    });
    let first = h.state().run.history.clone();
    assert!(!first.is_empty());

    // A fresh start: the first run becomes the previous one, the new one starts empty.
    h.get_by_label("Reset").click();
    step_until(&mut h, 30, "the fresh run to be configured", |a| {
        ready(a) && a.run.history.is_empty()
    });
    assert_eq!(h.state().run.previous, first);
    h.get_by_label("Train").click();
    step_until(&mut h, 60, "the second run's first epochs", |a| {
        a.run.history.len() >= 2
    });
    assert_eq!(
        h.state().run.previous,
        first,
        "the previous run stays while training"
    );

    // Both plots (loss and metric) have the previous run's two curves in their legends,
    // beside the current run's.
    for name in [
        "previous run: train",
        "previous run: validation",
        "train",
        "validation",
    ] {
        let entries = h.query_all_by_role_and_label(Role::CheckBox, name).count();
        assert_eq!(entries, 2, "{name}: one legend entry per plot");
    }
    h.get_by_label_contains(&format!("previous run: epoch {}", first.len()));
}
