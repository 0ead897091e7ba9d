//! The lab window driven by labels through AccessKit (egui_kittest), headless: no display,
//! no GPU. The trainer runs on its real thread, so tests step the harness until what they
//! wait for has happened (with a timeout).

mod common;

use common::ui::{
    app, app_with_options, load_folder_by_typed_path, ready, step_until, wait_for_folder,
};
use convlab::engine::layers::DenseConfig;

use std::path::{Path, PathBuf};
use std::time::Duration;

use convlab::train::messages::RunState;
use convlab::ui::{ConvLabApp, LaunchOptions};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn pick_preset(h: &mut Harness<'static, ConvLabApp>, name: &str) {
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(2);
    h.get_by_label(name).click();
    h.run_steps(2);
    assert_eq!(h.state().project.preset.name, name);
}

#[test]
fn open_a_preset_train_and_the_loss_goes_down() {
    let mut h = app();
    pick_preset(&mut h, "xor-mlp");
    step_until(&mut h, 30, "the run to be configured", ready);
    h.get_by_label("Train").click();
    step_until(&mut h, 60, "two epochs", |a| {
        a.run.history.len() >= 2 && !a.run.step_losses.is_empty()
    });
    step_until(&mut h, 60, "the run to finish", |a| {
        a.run.state == RunState::Finished
    });
    let app = h.state();
    let first = app.run.step_losses[0][1];
    let last = app.run.history.last().unwrap().train_loss;
    assert!(last < first, "loss went from {first} to {last}");
    // The curves and the confusion matrix are on screen.
    h.get_by_label_contains("validation images right");
}

#[test]
fn adding_a_conv_node_changes_shapes_and_parameter_counts() {
    let mut h = app();
    h.run_steps(3);
    h.get_by_label("conv1").click();
    h.run_steps(2);
    h.get_by_label("+ Add node").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "conv2d").click();
    h.run_steps(3);
    let nodes: Vec<String> = h
        .state()
        .project
        .preset
        .model
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    assert_eq!(&nodes[..3], ["conv1", "conv3", "relu1"]);
    // conv3: 8 filters of 3×3 over conv1's 6 channels, padding 1.
    h.get_by_label_contains("440 params = (3·3·6+1)·8");
    // Both conv3 and the ReLU after it give 8×28×28.
    assert_eq!(h.get_all_by_label("out 8×28×28").count(), 2);
    // conv2 now reads 8 channels instead of 6.
    h.get_by_label_contains("3216 params = (5·5·8+1)·16");
    // Undo removes it again.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(3);
    assert_eq!(h.state().project.preset.model.nodes.len(), nodes.len() - 1);
}

#[test]
fn an_impossible_kernel_marks_its_node_and_the_rest_stays_editable() {
    let mut h = app();
    h.run_steps(3);
    h.get_by_label("conv2").click();
    h.run_steps(2);
    h.get_by_label("kernel").set_value_accesskit(30.0);
    h.run_steps(3);
    h.get_by_label_contains("Error: node 'conv2': kernel 30×5");
    // Earlier nodes keep their facts; later ones can still be selected and edited.
    h.get_by_label("out 6×14×14");
    h.get_by_label("fc1").click();
    h.run_steps(2);
    h.get_by_label("out features").set_value_accesskit(100.0);
    h.run_steps(2);
    let fc1 = &h.state().project.preset.model.nodes[7];
    assert!(matches!(
        fc1.kind,
        convlab::engine::NodeKind::Dense(DenseConfig {
            out_features: 100,
            ..
        })
    ));
}

#[test]
fn pause_stops_step_events() {
    let mut h = app();
    pick_preset(&mut h, "xor-mlp");
    step_until(&mut h, 30, "the run to be configured", ready);
    h.get_by_label("epochs").set_value_accesskit(100_000.0);
    h.run_steps(2);
    h.get_by_label("Train").click();
    step_until(&mut h, 30, "progress events", |a| a.run.progress_events > 2);
    h.get_by_label("Pause").click();
    step_until(&mut h, 30, "the paused state", |a| {
        a.run.state == RunState::Paused
    });
    let count = h.state().run.progress_events;
    for _ in 0..30 {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.state().run.progress_events, count);
    assert_eq!(h.state().run.state, RunState::Paused);
}

fn write_class_folder(root: &Path) {
    for (class, value) in [("dark", 30u8), ("light", 220u8)] {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..6u8 {
            let img = image::GrayImage::from_fn(12, 10, |x, _| {
                image::Luma([value.wrapping_add(i).wrapping_add(x as u8)])
            });
            img.save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
    std::fs::write(
        root.join("dark").join("corrupt.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    std::fs::write(root.join("light").join("empty.jpg"), b"").unwrap();
}

#[test]
fn a_class_folder_loads_through_the_typed_path() {
    let root = std::env::temp_dir().join(format!("convlab-ui-folder-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    write_class_folder(&root);
    let mut h = app();
    load_folder_by_typed_path(&mut h, &root);
    wait_for_folder(&mut h);
    let loaded = h.state().data.loaded.as_ref().unwrap();
    assert_eq!(loaded.dataset.len(), 12);
    assert_eq!(loaded.skipped.len(), 2);
    h.get_by_label_contains("2 classes · dark: 6 · light: 6");
    h.get_by_label("2 files skipped");
    h.get_by_label_contains("corrupt.png:");
    // Resized to the chosen 28×28 gray, so LeNet's input fits.
    assert_eq!(loaded.dataset.sample_shape(), [1, 28, 28]);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn export_onnx_save_and_reopen_a_checkpoint_off_the_ui_thread() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-files-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = app();
    pick_preset(&mut h, "xor-mlp");
    step_until(&mut h, 30, "the run to be configured", ready);

    // File → Export ONNX to a typed path.
    let onnx = dir.join("xor.onnx");
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, "ONNX path");
    h.state_mut().state.onnx_path = onnx.display().to_string();
    h.run_steps(1);
    h.get_by_role_and_label(Role::Button, "Export ONNX").click();
    step_until(&mut h, 30, "the ONNX export", |a| {
        a.message.text.starts_with("exported ONNX") || a.message.is_error
    });
    assert!(!h.state().message.is_error, "{}", h.state().message.text);
    let bytes = std::fs::read(&onnx).unwrap();
    let imported = convlab::onnx::import_model(&bytes, "xor.onnx").unwrap();
    assert!(!imported.preset.model.nodes.is_empty());

    // A bad path is a message, not a crash.
    h.state_mut().state.onnx_path = dir.join("missing/dir/x.onnx").display().to_string();
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Export ONNX").click();
    step_until(&mut h, 30, "the failed export", |a| a.message.is_error);
    assert!(h.state().message.text.contains("could not export ONNX"));

    // Save a checkpoint, then open it: read on a background thread.
    let ck = dir.join("xor.safetensors");
    h.state_mut().message = Default::default();
    h.state_mut().state.save_path = ck.display().to_string();
    h.get_by_label("Save").click();
    step_until(&mut h, 30, "the save", |a| {
        a.message.text.starts_with("saved") || a.message.is_error
    });
    assert!(ck.exists(), "{}", h.state().message.text);
    pick_preset(&mut h, "digits-lenet");
    h.state_mut().state.open_path = ck.display().to_string();
    h.get_by_label("Open").click();
    h.run_steps(2);
    assert!(
        h.state().open_job.is_some() || h.state().project.preset.name == "xor-mlp",
        "the checkpoint is opening"
    );
    step_until(&mut h, 30, "the checkpoint to open", |a| {
        a.open_job.is_none() && a.project.preset.name == "xor-mlp"
    });
    // Later status lines (e.g. the data loading) may replace "opened checkpoint …".
    assert!(!h.state().message.is_error, "{}", h.state().message.text);
    step_until(&mut h, 30, "the opened run to be configured", ready);

    // A broken checkpoint is an error message; the current project stays.
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    h.state_mut().message = Default::default();
    h.state_mut().state.open_path = bad.display().to_string();
    h.get_by_label("Open").click();
    step_until(&mut h, 30, "the bad checkpoint to fail", |a| {
        a.open_job.is_none() && a.message.is_error
    });
    assert_eq!(h.state().project.preset.name, "xor-mlp");
    std::fs::remove_dir_all(&dir).ok();
}

/// eframe's key-value store, in memory.
#[derive(Default)]
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

#[test]
fn an_unsaved_model_comes_back_after_a_restart() {
    use eframe::App;
    let ctx = egui::Context::default();
    let mut storage = MemoryStorage::default();
    let mut first = ConvLabApp::new(&ctx, None, LaunchOptions::default());
    assert!(
        !first.project.has_unsaved_changes(),
        "a fresh preset has nothing unsaved"
    );
    first
        .project
        .apply(|m| m.nodes[0].name = "my_first_conv".into());
    first.project.preset.training.learning_rate = 0.0123;
    assert!(first.project.has_unsaved_changes());
    first.save(&mut storage);
    drop(first);

    let second = ConvLabApp::new(&ctx, Some(&storage), LaunchOptions::default());
    assert_eq!(second.project.preset.model.nodes[0].name, "my_first_conv");
    assert_eq!(second.project.preset.training.learning_rate, 0.0123);
    assert!(second.project.has_unsaved_changes(), "still not in a file");
    assert!(
        second.message.text.contains("restored"),
        "{}",
        second.message.text
    );
    drop(second);

    // Once nothing is unsaved, the next start opens the last file as usual.
    let mut third = ConvLabApp::new(&ctx, None, LaunchOptions::default());
    third.save(&mut storage);
    drop(third);
    let fourth = ConvLabApp::new(&ctx, Some(&storage), LaunchOptions::default());
    assert!(!fourth.project.has_unsaved_changes());
    assert_ne!(fourth.project.preset.model.nodes[0].name, "my_first_conv");
}

#[test]
fn a_trained_model_that_was_never_saved_is_reopened_with_its_weights() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-recovery-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let recovery = dir.join("storage").join("unsaved-model.safetensors");
    let start = |recovery: PathBuf| {
        app_with_options(LaunchOptions {
            recovery_file: Some(recovery),
            // The finished trainer answers at once, unless the machine is busy.
            recovery_wait: Some(Duration::from_secs(10)),
            ..LaunchOptions::default()
        })
    };

    // Train, then close without saving: the weights are kept.
    let mut h = start(recovery.clone());
    pick_preset(&mut h, "xor-mlp");
    step_until(&mut h, 30, "the run to be configured", ready);
    h.get_by_label("Train").click();
    step_until(&mut h, 60, "the run to finish", |a| {
        a.run.state == RunState::Finished
    });
    let epochs = h.state().run.history.len();
    let final_loss = h.state().run.history.last().unwrap().train_loss;
    drop(h);
    let kept = convlab::checkpoint::Checkpoint::load(&recovery).expect("kept at close");
    assert_eq!(kept.preset.name, "xor-mlp");
    assert_eq!(kept.history.epochs.len(), epochs);

    // The next start reopens it, weights and history, marked as not saved.
    let mut h = start(recovery.clone());
    step_until(&mut h, 30, "the model to be restored", |a| {
        a.open_job.is_none() && a.project.preset.name == "xor-mlp"
    });
    assert!(h.state().project.has_unsaved_changes());
    // (The status line soon moves on to the data loading; the origin stays.)
    assert_eq!(
        h.state().project.origin,
        "unsaved model from the last session"
    );
    step_until(&mut h, 30, "the restored run to be configured", |a| {
        ready(a) && a.run.history.len() == epochs
    });
    assert_eq!(h.state().run.history.last().unwrap().train_loss, final_loss);

    // Saved to a file of the user's: the recovery file is not needed any more.
    let saved = dir.join("mine.safetensors");
    h.state_mut().state.save_path = saved.display().to_string();
    h.get_by_label("Save").click();
    step_until(&mut h, 30, "the save", |a| {
        a.message.text.starts_with("saved") || a.message.is_error
    });
    assert!(saved.exists(), "{}", h.state().message.text);
    assert!(!h.state().project.has_unsaved_changes());
    drop(h);
    assert!(
        !recovery.exists(),
        "removed once the model is in the user's file"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_broken_preset_is_an_error_naming_the_file_and_key_and_the_project_stays() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-bad-preset-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("typo.toml");
    let text = include_str!("../presets/xor-mlp.toml").replace("out_features", "out_featurez");
    std::fs::write(&bad, text).unwrap();
    let mut h = app();
    pick_preset(&mut h, "shapes-cnn");
    // Settled first: a data load finishing later would replace the message with "loaded …".
    step_until(&mut h, 60, "the run to be configured", ready);
    h.state_mut().state.open_path = bad.display().to_string();
    h.get_by_label("Open").click();
    h.run_steps(3);
    let message = h.state().message.clone();
    assert!(message.is_error, "{}", message.text);
    assert!(
        message.text.contains("typo.toml") && message.text.contains("out_featurez"),
        "{}",
        message.text
    );
    assert_eq!(h.state().project.preset.name, "shapes-cnn");
    // Shown in the window, one line.
    h.get_by_label_contains("out_featurez");
    assert!(!message.text.contains('\n'), "{}", message.text);
    std::fs::remove_dir_all(&dir).ok();
}
