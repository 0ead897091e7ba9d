//! The handcrafted pipeline in the window: added to a preset that has none, edited in its
//! panel, and shown by the Handcrafted pipeline tab, which follows the edits; its accuracy
//! and confusion matrix in the Training panel; the Evolved features tab's evolution beside
//! the network's learned filters.

mod common;

use common::ui::{App, app_with_options, idle, shown, step_until};

use std::path::PathBuf;

use convlab::classical::{FeatureGroup, Operator, evaluate};
use convlab::data::Dataset;
use convlab::spec::Preset;
use convlab::spec::view::ViewId;
use convlab::train::Trainer;
use convlab::ui::LaunchOptions;
use convlab::viz::views::pipeline::first_conv_filters;
use egui_kittest::kittest::Queryable;

/// Presses Evolve (the Evolved features tab is open) and waits for `generations` entries
/// of the evolution's history.
fn evolve_until(h: &mut App, generations: usize) {
    h.get_by_label("Evolve").click();
    step_until(h, 600, "the first generations", |a| {
        a.views
            .evolution
            .as_ref()
            .is_some_and(|r| r.history.len() >= generations)
    });
}

/// Presses Stop evolution and waits until the run has finished.
fn stop_evolution(h: &mut App) {
    h.get_by_label("Stop evolution").click();
    step_until(h, 600, "the run to stop", |a| {
        a.views.evolution.as_ref().is_some_and(|r| r.finished)
    });
}

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
    // Threshold at Otsu's level and measure the blobs' shapes too. The panel is below the
    // Training panel, which now shows the pipeline's accuracy too: scrolled into view first.
    h.get_by_label("+ stage").scroll_to_me();
    h.run_steps(2);
    h.get_by_label("+ stage").click_accesskit();
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
    evolve_until(&mut h, 2);
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
    stop_evolution(&mut h);
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

fn preset_and_split(file: &str) -> (Preset, Dataset, Dataset) {
    let preset = Preset::load(std::path::Path::new(file)).unwrap();
    let (train, val) = convlab::data::load::load(&preset.data).unwrap();
    (preset, train, val)
}

/// The Training panel shows the preset's handcrafted pipeline beside the network, without
/// opening its tab: the library's validation accuracy on the same split and its confusion
/// matrix in the network's widget with the class names; an evolution run in the window
/// adds its best.
#[test]
fn the_training_panel_shows_the_pipeline_and_the_evolution_beside_the_network() {
    let file = "presets/handcrafted-vs-evolved-vs-cnn.toml";
    let mut h = app_with(file);
    step_until(&mut h, 120, "the run to be configured", idle);
    step_until(&mut h, 120, "the pipeline's evaluation", |a| {
        let cache = a.views.classical_cache().lock().unwrap();
        cache.evaluation.is_some()
    });
    h.run_steps(2);
    let (preset, train, val) = preset_and_split(file);
    let e = evaluate(preset.pipeline.as_ref().unwrap(), &train, &val, 2).unwrap();
    assert_eq!(
        h.state()
            .views
            .classical_cache()
            .lock()
            .unwrap()
            .evaluation
            .as_ref()
            .unwrap()
            .1
            .confusion,
        e.confusion,
        "the window's pipeline saw the same split"
    );
    h.get_by_label(&format!(
        "Handcrafted pipeline: validation accuracy {:.3} (training {:.3})",
        e.val_accuracy, e.train_accuracy
    ));
    h.get_by_label("Pipeline confusion matrix");
    let correct: usize = (0..e.confusion.len()).map(|i| e.confusion[i][i]).sum();
    h.get_by_label_contains(&format!(
        "{correct} of {} validation images classified right by the pipeline",
        val.len()
    ));
    assert_eq!(e.class_names.len(), 4);
    assert!(
        h.query_all_by_label(&format!("Classes: {}", e.class_names.join(", ")))
            .next()
            .is_some(),
        "the class names under the matrix"
    );
    // An evolution started in its tab: its best shows here too.
    h.get_by_label(ViewId::Evolution.title()).click_accesskit();
    h.run_steps(2);
    evolve_until(&mut h, 1);
    stop_evolution(&mut h);
    h.run_steps(2);
    let run = h.state().views.evolution.as_ref().unwrap();
    let g = run.history.last().unwrap().clone();
    h.get_by_label(&format!(
        "Evolved pipeline: best fitness {:.3}, held-out accuracy {:.3} after {} of 10 generations",
        g.best_fitness, g.best_test_accuracy, g.index
    ));
}

/// The Evolved features tab shows the network's first conv layer's learned filters and
/// their maps of the picked image beside the evolution: the same picture the library draws
/// for the trainer's weights and the same validation image.
#[test]
fn the_evolved_features_tab_shows_the_networks_filters_beside_the_evolution() {
    let file = "presets/handcrafted-vs-evolved-vs-cnn.toml";
    let mut h = app_with(file);
    step_until(&mut h, 120, "the run to be configured", idle);
    h.get_by_label(ViewId::Evolution.title()).click_accesskit();
    h.run_steps(2);
    step_until(&mut h, 120, "the learned filters", |a| {
        shown(a)
            && a.views
                .result
                .as_ref()
                .is_some_and(|r| r.image.is_some() || r.error.is_some())
    });
    let r = h.state().views.result.clone().unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    h.get_by_label_contains("learned filters of conv1, the network's first conv layer");
    // The library's picture of the same weights (the preset's seed) and image.
    let (preset, train, val) = preset_and_split(file);
    let mut trainer = Trainer::with_data(&preset, train, val.clone()).unwrap();
    let x = val.inputs.slice(ndarray::s![0..1, .., .., ..]).to_owned();
    let (node, picture) = first_conv_filters(trainer.graph_mut(), Some(&x)).unwrap();
    assert_eq!(node, "conv1");
    assert!(
        r.image.as_ref() == Some(&picture),
        "the window's filters are the library's"
    );
    // With an evolution running, both side by side.
    evolve_until(&mut h, 1);
    h.run_steps(2);
    h.get_by_label_contains("learned filters of conv1, the network's first conv layer");
    stop_evolution(&mut h);
}
