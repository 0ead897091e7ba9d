//! The first lecture hour in the window: walkthroughs 02–05 stepped through with Next, every
//! picture step showing its view without error; the single unit's w edited by number
//! changes the model; a click on a unit of the neuron diagram (where the picture shows it)
//! shows it large. Headless, through egui_kittest; the trainer runs on its real thread.

mod common;

use common::ui::{App, idle, shown, step_until};

use std::path::PathBuf;
use std::sync::Arc;

use convlab::spec::view::ViewId;
use convlab::spec::walkthrough::{Action, set_key};
use convlab::ui::{ConvLabApp, LaunchOptions};
use eframe::egui;
use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The window with `file` open. The walkthrough texts use mathematical signs (∇, ≈, ·) that
/// egui's own font lacks: the window falls back to the system's fonts as the real one does.
fn app_with(file: &str) -> App {
    let options = LaunchOptions {
        file: Some(PathBuf::from(file)),
        ..LaunchOptions::default()
    };
    Harness::builder()
        .with_size(egui::vec2(1400.0, 950.0))
        .build_eframe(move |cc| {
            cc.egui_ctx.add_font_provider(Arc::new(
                egui_system_font_provider::SystemFontProvider::new(),
            ));
            ConvLabApp::new(&cc.egui_ctx, None, options.clone())
        })
}

/// Steps through every step of `file` with Next; returns the views the steps showed.
fn walk(h: &mut App, file: &str) -> Vec<ViewId> {
    step_until(h, 60, "the run to be configured", idle);
    let steps = h.state().project.preset.walkthrough.len();
    assert!(h.state().walk.active, "{file}");
    h.state_mut().walk_enter(0, true);
    let mut views = Vec::new();
    for k in 0..steps {
        if k > 0 {
            h.get_by_label("Next >").click();
        }
        h.run_steps(2);
        step_until(h, 120, "the step's actions", |a| !a.walk.busy());
        let app = h.state();
        assert_eq!(app.walk.step, k, "{file}");
        assert!(
            app.walk.error.is_none(),
            "{file} step {k}: {:?}",
            app.walk.error
        );
        assert!(
            app.run.error.is_none(),
            "{file} step {k}: {:?}",
            app.run.error
        );
        // What the step set is what the run used: no editor field clamped it on the way.
        for action in &app.project.preset.walkthrough[k].actions {
            if let Action::Set { key, value } = action {
                let again = set_key(&app.project.preset, key, value).unwrap();
                assert!(
                    again == app.project.preset,
                    "{file} step {k}: {key} changed"
                );
            }
        }
        assert!(!app.needs_configure(), "{file} step {k}");
        let tab = app.views.settings.tab;
        views.push(tab);
        if tab.uses_model() {
            step_until(h, 60, "the step's view", shown);
            let r = h.state().views.result.clone().unwrap();
            assert!(r.error.is_none(), "{file} step {k} ({tab}): {:?}", r.error);
            let img = r.image.as_ref().expect("a picture");
            assert!(img.width > 200 && img.height > 200, "{file} step {k}");
        }
    }
    views
}

#[test]
fn walkthroughs_02_to_05_step_through_their_pictures() {
    for (file, wanted) in [
        ("presets/02-single-unit.toml", ViewId::Unit),
        ("presets/03-xor-linear-vs-hidden.toml", ViewId::Decision),
        ("presets/04-universal-approximation.toml", ViewId::Function),
        ("presets/05-training-dynamics.toml", ViewId::Decision),
    ] {
        let mut h = app_with(file);
        let views = walk(&mut h, file);
        assert!(views.contains(&wanted), "{file}: {views:?}");
    }
}

#[test]
fn editing_a_units_weight_by_number_changes_the_model() {
    let file = "presets/02-single-unit.toml";
    let mut h = app_with(file);
    step_until(&mut h, 60, "the run to be configured", idle);
    let k = h
        .state()
        .project
        .preset
        .walkthrough
        .iter()
        .position(|s| s.view == ViewId::Unit)
        .unwrap();
    h.state_mut().walk_enter(k, false);
    h.run_steps(2);
    step_until(&mut h, 60, "the unit view", shown);
    let before = h.state().views.result.clone().unwrap();
    let facts = before.unit.clone().expect("the unit's numbers");
    assert_eq!(facts.node, "unit");
    let target = facts.w[0] + 0.75;
    h.get_by_role_and_label(Role::SpinButton, "w1")
        .set_value_accesskit(target as f64);
    h.run_steps(2);
    // The trainer's model changed: the next picture is computed with the new weight.
    step_until(&mut h, 30, "a picture with the new w1", |a| {
        a.views
            .result
            .as_ref()
            .and_then(|r| r.unit.as_ref())
            .is_some_and(|f| (f.w[0] - target).abs() < 1e-3)
    });
    let after = h
        .state()
        .views
        .result
        .clone()
        .unwrap()
        .unit
        .clone()
        .unwrap();
    assert_eq!(after.w[1], facts.w[1]);
    assert_eq!(after.b, facts.b);
}

#[test]
fn clicking_a_unit_in_the_neuron_diagram_shows_it_large() {
    let mut h = app_with("presets/03-xor-linear-vs-hidden.toml");
    step_until(&mut h, 60, "the run to be configured", idle);
    h.get_by_label("Neurons").click();
    h.run_steps(2);
    step_until(&mut h, 60, "the neuron diagram", shown);
    let r = h.state().views.result.clone().unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    let boxes = r.neurons.clone().expect("the units' places");
    // 2 inputs, 8 + 8 hidden units, 2 outputs.
    assert_eq!(boxes.len(), 20);
    let narrow = r.image.as_ref().unwrap().width;
    // A click on hidden1's unit 3 where the picture shows it (the picture is scaled to the
    // panel: find its place on screen by its width).
    let unit = boxes
        .iter()
        .find(|b| b.node == "hidden1" && b.unit == 3)
        .unwrap();
    let shown_at = h
        .get_all_by_role(Role::Image)
        .map(|n| n.rect())
        .find(|r| r.width() > 300.0)
        .expect("the diagram on screen");
    let scale = shown_at.width() / narrow as f32;
    let at = shown_at.min
        + egui::vec2(
            (unit.x + unit.side / 2) as f32 * scale,
            (unit.y + unit.side / 2) as f32 * scale,
        );
    h.hover_at(at);
    h.run_steps(1);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.run_steps(1);
    }
    assert_eq!(
        h.state().views.settings.pick,
        Some(("hidden1".to_string(), 3))
    );
    step_until(&mut h, 60, "the unit shown large", shown);
    let r = h.state().views.result.clone().unwrap();
    assert!(r.image.as_ref().unwrap().width > narrow + 200);
    h.get_by_label("unit 3 of hidden1 shown large");
    h.get_by_label("close").click();
    h.run_steps(2);
    assert_eq!(h.state().views.settings.pick, None);
}
