//! The central views and the walkthrough mode, driven by labels through egui_kittest,
//! headless. The views are computed on the real trainer thread, so tests step the harness
//! until the result they wait for has arrived (with a timeout).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use convlab::train::messages::RunState;
use convlab::ui::inspector::Tab;
use convlab::ui::{ConvLabApp, LaunchOptions};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn app_with(file: &str) -> Harness<'static, ConvLabApp> {
    let file = PathBuf::from(file);
    Harness::builder()
        .with_size(egui::vec2(1400.0, 950.0))
        .build_eframe(move |cc| {
            ConvLabApp::new(
                &cc.egui_ctx,
                None,
                LaunchOptions {
                    file: Some(file.clone()),
                    ..LaunchOptions::default()
                },
            )
        })
}

fn step_until(
    h: &mut Harness<'static, ConvLabApp>,
    secs: u64,
    what: &str,
    mut done: impl FnMut(&ConvLabApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
}

fn ready(app: &ConvLabApp) -> bool {
    app.worker_configured()
        && matches!(
            app.run.state,
            RunState::Ready | RunState::Finished | RunState::Paused
        )
}

/// The view's result for the current settings has arrived.
fn shown(app: &ConvLabApp) -> bool {
    app.views
        .result
        .as_ref()
        .is_some_and(|r| r.settings == app.views.settings)
}

#[test]
fn every_view_tab_renders_on_a_trained_model() {
    let mut h = app_with("presets/shapes-cnn.toml");
    step_until(&mut h, 60, "the run to be configured", ready);
    h.get_by_label("Step").click();
    step_until(&mut h, 60, "one training step", |a| {
        a.run.progress.is_some() && a.run.state != RunState::Running
    });
    for tab in Tab::ALL {
        if matches!(tab, Tab::Training | Tab::Anomaly | Tab::Segmentation) {
            continue;
        }
        h.get_by_label(tab.label()).click();
        h.run_steps(2);
        step_until(&mut h, 60, tab.label(), shown);
        let r = h.state().views.result.clone().unwrap();
        assert!(r.error.is_none(), "{}: {:?}", tab.label(), r.error);
        let img = r.image.as_ref().expect("a picture");
        assert!(
            img.width > 50 && img.height > 50,
            "{}: {}×{}",
            tab.label(),
            img.width,
            img.height
        );
        // Every view explains itself in a tooltip next to its heading.
        h.get_by_label("(?)");
    }
    // A click on an activation map enlarges that channel.
    h.get_by_label("Activations").click();
    h.run_steps(2);
    step_until(&mut h, 60, "activations", shown);
    let r = h.state().views.result.clone().unwrap();
    assert!(
        r.grid.is_some(),
        "{:?} {:?} {}",
        r.settings.tab,
        r.error,
        r.info
    );
}

#[test]
fn the_routing_view_shows_the_lecture_example() {
    let mut h = app_with("presets/shapes-cnn.toml");
    step_until(&mut h, 60, "the run to be configured", ready);
    h.get_by_label("Max-pool routing").click();
    h.run_steps(2);
    h.get_by_label("Lecture 4×4 example 2×2 / stride 2").click();
    step_until(&mut h, 60, "the lecture example", |a| {
        shown(a) && a.views.settings.lecture.is_some()
    });
    let r = h.state().views.result.clone().unwrap();
    assert!(r.info.contains("4×4 example"), "{}", r.info);
    // Four 2×2 windows, one winner each: 4 of 16 inputs get gradient.
    assert!(r.info.contains("4 windows"), "{}", r.info);
    assert!(r.routing.as_ref().is_some_and(|p| !p.is_empty()));
    h.get_by_label_contains("The lecture's 4×4 example");
    // Step by step.
    h.get_by_label("step by step").click();
    h.run_steps(2);
    h.get_by_label("Next window").click();
    step_until(&mut h, 30, "step 2", |a| {
        shown(a) && a.views.settings.steps == Some(2)
    });
}

#[test]
fn next_through_every_walkthrough_step() {
    let mut h = app_with("presets/08-max-pooling-gradient.toml");
    step_until(&mut h, 60, "the run to be configured", ready);
    let steps = h.state().project.preset.walkthrough.len();
    assert!(steps >= 3);
    assert!(h.state().walk.active);
    // Enter step 1 (the list), then Next through the rest: buttons and keys.
    h.get_all_by_label_contains("1. The 4×4")
        .last()
        .unwrap()
        .click();
    h.run_steps(2);
    for k in 1..steps {
        if k % 2 == 0 {
            h.key_press(egui::Key::PageDown);
        } else {
            h.get_by_label("Next >").click();
        }
        h.run_steps(2);
        step_until(&mut h, 120, "the step's actions", |a| !a.walk.busy());
        let app = h.state();
        assert_eq!(app.walk.step, k);
        assert!(app.walk.error.is_none(), "step {k}: {:?}", app.walk.error);
        assert!(app.run.error.is_none(), "step {k}: {:?}", app.run.error);
        if app.views.settings.tab.inspects() {
            step_until(&mut h, 60, "the step's view", shown);
            let r = h.state().views.result.clone().unwrap();
            assert!(r.error.is_none(), "step {k}: {:?}", r.error);
        }
    }
    // Back with the arrow key.
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(2);
    assert_eq!(h.state().walk.step, steps - 2);
}
