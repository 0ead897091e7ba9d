//! The runs table: every run of the session is kept, ticked runs are overlaid on the
//! plots, a run's settings come back with one click, and runs survive a save, an open and a
//! restart (a run whose weight file was deleted opens marked missing).

mod common;

use std::path::PathBuf;

use common::ui::{App, ready, step_until};
use convlab::train::messages::RunState;
use convlab::ui::command::UiCommand;
use convlab::ui::runs::{RunCommand, RunWeights};
use convlab::ui::{ConvLabApp, LaunchOptions};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn pick_xor(h: &mut App) {
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(2);
    h.get_by_label("xor-mlp").click();
    h.run_steps(2);
    step_until(h, 30, "the run to be configured", ready);
}

fn train_to_the_end(h: &mut App) {
    h.get_by_label("Train").click();
    step_until(h, 60, "the run to finish", |a| {
        a.run.state == RunState::Finished
    });
}

fn fresh_start(h: &mut App) {
    h.get_by_label("Reset").click();
    step_until(h, 30, "the fresh run", |a| {
        ready(a) && a.run.history.is_empty()
    });
}

fn weights_kept(a: &ConvLabApp) -> bool {
    a.runs.list.iter().all(|r| r.has_weights())
}

#[test]
fn two_learning_rates_are_overlaid_and_the_first_runs_settings_come_back() {
    let mut h = start(None, None, None);
    pick_xor(&mut h);
    let first_lr = h.state().project.preset.training.learning_rate;
    train_to_the_end(&mut h);
    assert_eq!(h.state().runs.list.len(), 1, "a finished run is kept");
    assert_eq!(h.state().current_run(), Some(h.state().runs.list[0].id));

    h.state_mut().project.preset.training.learning_rate = first_lr * 5.0;
    fresh_start(&mut h);
    train_to_the_end(&mut h);
    // Reset once more: neither run is the trainer's now, so both are drawn as runs.
    fresh_start(&mut h);
    step_until(&mut h, 30, "both runs' weights", weights_kept);
    let runs = &h.state().runs.list;
    assert_eq!(runs.len(), 2, "each run once");
    assert_eq!(runs[1].preset.training.learning_rate, first_lr * 5.0);

    // The table says what changed: exactly the learning rate.
    let changes = convlab::spec::preset_diff::preset_diff(&runs[0].preset, &runs[1].preset);
    assert_eq!(changes.len(), 1, "{changes:?}");
    h.get_by_label_contains(&format!("learning rate {first_lr} → {}", first_lr * 5.0));
    assert!(
        h.query_all_by_role_and_label(Role::CheckBox, "run 1: validation")
            .next()
            .is_none(),
        "nothing overlaid before ticking"
    );
    h.get_by_role_and_label(Role::CheckBox, "run 1").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::CheckBox, "run 2").click();
    h.run_steps(3);
    assert!(h.state().runs.list.iter().all(|r| r.shown));
    for name in [
        "run 1: train",
        "run 1: validation",
        "run 2: train",
        "run 2: validation",
    ] {
        let entries = h.query_all_by_role_and_label(Role::CheckBox, name).count();
        assert_eq!(entries, 2, "{name}: one legend entry on each plot");
    }
    // Ticked runs replace the dashed previous run.
    assert!(
        h.query_all_by_role_and_label(Role::CheckBox, "previous run: train")
            .next()
            .is_none()
    );

    // Back to the first run's settings from its row's menu.
    h.query_all_by_label("actions").next().unwrap().click();
    h.run_steps(2);
    h.get_by_label("settings").click();
    h.run_steps(3);
    assert_eq!(h.state().project.preset.training.learning_rate, first_lr);
}

/// eframe's key-value store, in memory.
#[derive(Clone, Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// The window, with eframe's storage and the recovery file's folder (where runs of
/// projects in no file are kept) when given. The settings diff's arrows are not in egui's
/// own font: the window falls back to the system's fonts as the real one does.
fn start(recovery: Option<PathBuf>, storage: Option<MemoryStorage>, file: Option<PathBuf>) -> App {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 950.0))
        .build_eframe(move |cc| {
            cc.egui_ctx.add_font_provider(std::sync::Arc::new(
                egui_system_font_provider::SystemFontProvider::new(),
            ));
            ConvLabApp::new(
                &cc.egui_ctx,
                storage.as_ref().map(|s| s as &dyn eframe::Storage),
                LaunchOptions {
                    recovery_file: recovery.clone(),
                    file: file.clone(),
                    recovery_wait: Some(std::time::Duration::from_secs(10)),
                    ..LaunchOptions::default()
                },
            )
        })
}

#[test]
fn runs_survive_a_restart_a_save_and_an_open_and_deleted_weights_are_missing() {
    use eframe::App as _;
    let dir = std::env::temp_dir().join(format!("convlab-ui-runs-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let recovery = dir.join("storage").join("unsaved-model.safetensors");
    let mut storage = MemoryStorage::default();

    let mut h = start(Some(recovery.clone()), None, None);
    pick_xor(&mut h);
    train_to_the_end(&mut h);
    fresh_start(&mut h);
    step_until(&mut h, 30, "the run's weights", weights_kept);
    let id = h.state().runs.list[0].id;
    h.state_mut()
        .commands
        .push(UiCommand::Runs(RunCommand::Rename(id, "baseline".into())));
    h.run_steps(2);
    let epochs = h.state().runs.list[0].history.len();
    let session = dir.join("storage").join("runs").join("xor-mlp");
    assert!(session.join("run-0001.json").is_file());
    assert!(session.join("run-0001.safetensors").is_file());
    h.state_mut().save(&mut storage);
    drop(h);

    // A restart reopens the preset with its runs.
    let mut h = start(Some(recovery.clone()), Some(storage.clone()), None);
    step_until(&mut h, 30, "the runs to come back", |a| {
        a.open_job.is_none() && a.project.preset.name == "xor-mlp" && !a.runs.list.is_empty()
    });
    let run = &h.state().runs.list[0];
    assert_eq!(run.name, "baseline");
    assert_eq!(run.history.len(), epochs);
    assert!(matches!(run.weights, RunWeights::Disk));
    step_until(&mut h, 30, "the run to be configured", ready);

    // Saved with the project: the runs go beside the checkpoint.
    let saved = dir.join("mine.safetensors");
    h.state_mut().state.save_path = saved.display().to_string();
    h.get_by_label("Save").click();
    step_until(&mut h, 30, "the save", |a| {
        a.message.text.starts_with("saved") || a.message.is_error
    });
    let beside = dir.join("mine.runs");
    assert!(beside.join("run-0001.json").is_file());
    assert!(beside.join("run-0001.safetensors").is_file());

    // Its weight file deleted, the run opens missing, with its curves.
    drop(h);
    std::fs::remove_file(beside.join("run-0001.safetensors")).unwrap();
    let mut h = start(Some(recovery.clone()), None, Some(saved.clone()));
    step_until(&mut h, 30, "the checkpoint to open", |a| {
        a.open_job.is_none() && a.project.origin == saved.display().to_string()
    });
    let run = &h.state().runs.list[0];
    assert_eq!(run.name, "baseline");
    assert_eq!(run.history.len(), epochs, "the curves stay");
    assert!(matches!(run.weights, RunWeights::Missing));
    h.run_steps(2);
    h.get_by_label("missing");
    drop(h);
    std::fs::remove_dir_all(&dir).ok();
}
