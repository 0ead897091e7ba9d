//! The playback timeline in the window, driven by keys as a person would: after training,
//! moving the timeline back shows the views of the weights then; "now" follows training
//! again; a checkpoint that keeps snapshots opens with its timeline.

mod common;

use common::ui::{app_with_options, idle, shown, step_until};

use std::path::PathBuf;

use convlab::train::messages::RunState;
use convlab::ui::LaunchOptions;
use eframe::egui;
use eframe::egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

#[test]
fn the_timeline_shows_the_views_of_earlier_weights_and_returns_to_now() {
    let mut h = app_with_options(LaunchOptions {
        file: Some(PathBuf::from("presets/xor-mlp.toml")),
        ..LaunchOptions::default()
    });
    step_until(&mut h, 60, "the run to be configured", idle);
    // A fresh run keeps its initial weights: one moment before any training.
    assert_eq!(h.state().run.moments.len(), 1);
    h.get_by_label("Train").click();
    step_until(&mut h, 120, "the run to finish", |a| {
        a.run.state == RunState::Finished
    });
    let moments = h.state().run.moments.clone();
    let steps: Vec<u64> = moments.iter().map(|m| m.step).collect();
    assert!(steps.len() > 5 && steps[0] == 0, "{steps:?}");
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");

    h.get_by_label("Decision regions").click();
    h.run_steps(2);
    step_until(&mut h, 60, "the decision regions now", shown);
    let now = h.state().views.result.clone().unwrap();
    assert_eq!(h.state().views.settings.at_step, None);

    // To the very first moment: the slider goes left one moment per key press.
    for _ in 0..moments.len() {
        h.get_by_role_and_label(Role::Slider, "Timeline").focus();
        h.run_steps(1);
        h.key_press(egui::Key::ArrowLeft);
        h.run_steps(1);
    }
    assert_eq!(h.state().views.settings.at_step, Some(0));
    step_until(&mut h, 60, "the decision regions at step 0", shown);
    let then = h.state().views.result.clone().unwrap();
    assert!(then.error.is_none(), "{:?}", then.error);
    assert_eq!((then.total_steps, then.epochs_done), (0, 0));
    assert_ne!(
        then.image.as_ref().unwrap().pixels,
        now.image.as_ref().unwrap().pixels,
        "untrained and trained regions look the same"
    );

    h.get_by_label("now").click();
    h.run_steps(2);
    assert_eq!(h.state().views.settings.at_step, None);
    step_until(&mut h, 60, "the decision regions now again", shown);
    let again = h.state().views.result.clone().unwrap();
    assert_eq!(
        again.image.as_ref().unwrap().pixels,
        now.image.as_ref().unwrap().pixels
    );
}

#[test]
fn a_checkpoint_with_snapshots_opens_with_its_timeline() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-playback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("xor.safetensors");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convlab"))
        .args([
            "train",
            "presets/xor-mlp.toml",
            "--epochs",
            "3",
            "--snapshots",
            "--out",
        ])
        .arg(&ck)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = convlab::checkpoint::Checkpoint::load(&ck).unwrap();
    let mut h = app_with_options(LaunchOptions {
        file: Some(ck.clone()),
        ..LaunchOptions::default()
    });
    step_until(&mut h, 60, "the checkpoint to open", |a| {
        idle(a) && !a.run.moments.is_empty()
    });
    let steps: Vec<u64> = h.state().run.moments.iter().map(|m| m.step).collect();
    let expected: Vec<u64> = saved.snapshots.iter().map(|s| s.step).collect();
    assert_eq!(steps, expected);
}
