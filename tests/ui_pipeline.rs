//! The handcrafted pipeline in the window: added to a preset that has none, edited in its
//! panel, and shown by the Handcrafted pipeline tab, which follows the edits.

mod common;

use common::ui::{App, app_with_options, idle, shown, step_until};

use std::path::PathBuf;

use convlab::classical::{FeatureGroup, Operator};
use convlab::spec::view::ViewId;
use convlab::ui::LaunchOptions;
use egui_kittest::kittest::Queryable;

fn app_with(file: &str) -> App {
    app_with_options(LaunchOptions {
        file: Some(PathBuf::from(file)),
        ..LaunchOptions::default()
    })
}

#[test]
fn a_pipeline_added_and_edited_in_the_panel_is_what_the_tab_shows() {
    let mut h = app_with("presets/shapes-cnn.toml");
    step_until(&mut h, 120, "the run to be configured", idle);
    h.get_by_label("Pipeline").click();
    h.run_steps(2);
    h.get_by_label("Add a handcrafted pipeline").click();
    h.run_steps(2);
    assert_eq!(
        h.state().project.preset.pipeline.as_ref().unwrap().stages,
        [Operator::Median { radius: 1 }]
    );
    h.get_by_label(ViewId::Pipeline.title()).click_accesskit();
    h.run_steps(2);
    step_until(&mut h, 120, "the pipeline view", |a| {
        shown(a)
            && a.views
                .result
                .as_ref()
                .is_some_and(|r| r.info.contains("validation accuracy"))
    });
    let first = h.state().views.result.as_ref().unwrap().info.clone();
    assert!(first.starts_with("16 features"), "{first}");
    // Threshold at Otsu's level and measure the blobs' shapes too.
    h.get_by_label("+ stage").click();
    h.run_steps(2);
    h.get_by_label("otsu").click();
    h.run_steps(2);
    // The panel is at the bottom of the scrolled right column.
    h.get_by_label("blobs").scroll_to_me();
    h.run_steps(2);
    h.get_by_label("blobs").click_accesskit();
    h.run_steps(2);
    let spec = h.state().project.preset.pipeline.clone().unwrap();
    assert_eq!(
        spec.stages,
        [Operator::Median { radius: 1 }, Operator::Otsu]
    );
    assert!(spec.features.contains(&FeatureGroup::Blobs));
    step_until(&mut h, 120, "the view of the edited pipeline", |a| {
        shown(a)
            && a.views
                .result
                .as_ref()
                .is_some_and(|r| r.info.starts_with("22 features"))
    });
    let r = h.state().views.result.clone().unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_ne!(r.info, first);
}

/// The Evolved features tab evolves in the background: generations arrive while the window
/// stays responsive, Pause holds the run between generations, Stop ends it early.
#[test]
fn an_evolution_runs_in_the_background_and_pauses_and_stops() {
    let mut h = app_with("presets/handcrafted-vs-evolved-vs-cnn.toml");
    step_until(&mut h, 120, "the run to be configured", idle);
    h.get_by_label(ViewId::Evolution.title()).click();
    h.run_steps(2);
    h.get_by_label("Evolve").click();
    step_until(&mut h, 600, "the first generations", |a| {
        a.views
            .evolution
            .as_ref()
            .is_some_and(|r| r.history.len() >= 2)
    });
    h.get_by_label("Pause evolution").click();
    h.run_steps(2);
    assert!(h.state().views.evolution.as_ref().unwrap().is_paused());
    // While paused at most the generation in progress arrives.
    let before = h.state().views.evolution.as_ref().unwrap().history.len();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    h.run_steps(3);
    let during = h.state().views.evolution.as_ref().unwrap().history.len();
    assert!(during <= before + 1, "{before} -> {during} while paused");
    h.get_by_label("Resume evolution").click();
    h.run_steps(2);
    h.get_by_label("Stop evolution").click();
    step_until(&mut h, 600, "the run to stop", |a| {
        a.views.evolution.as_ref().is_some_and(|r| r.finished)
    });
    let run = h.state().views.evolution.as_ref().unwrap();
    assert!(run.error.is_none(), "{:?}", run.error);
    let n = run.history.len();
    assert!((2..=11).contains(&n), "{n} generations");
    assert!(
        run.history
            .windows(2)
            .all(|w| w[1].best_fitness >= w[0].best_fitness)
    );
    let label = format!("generation {} of 10", run.history.last().unwrap().index);
    h.run_steps(2);
    assert!(
        h.query_by_label_contains(&label).is_some(),
        "the status line names {label}"
    );
}
