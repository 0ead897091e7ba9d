//! The window's File menu exports the current model and its training as PyTorch code, off
//! the UI thread; a folder that cannot be written is a message, not a crash. Needs
//! `WGPU_BACKEND=vulkan` like the other window tests.

mod common;

use common::ui::{app, ready, step_until};
use convlab::ui::ConvLabApp;
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
fn file_menu_exports_pytorch_code_into_a_folder() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-pytorch-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = app();
    pick_preset(&mut h, "xor-mlp");
    step_until(&mut h, 30, "the run to be configured", ready);

    let out = dir.join("xor-pytorch");
    h.get_by_label("File").click();
    h.run_steps(2);
    // The dialog's button is there (disabled where no dialog is available); the typed
    // folder does the same without one.
    h.get_by_role_and_label(Role::Button, "Export as PyTorch code...");
    h.get_by_role_and_label(Role::TextInput, "PyTorch folder");
    h.state_mut().state.pytorch_path = out.display().to_string();
    h.run_steps(1);
    h.get_by_role_and_label(Role::Button, "Export PyTorch code")
        .click();
    step_until(&mut h, 60, "the PyTorch export", |a| {
        a.message.text.starts_with("exported PyTorch") || a.message.is_error
    });
    assert!(!h.state().message.is_error, "{}", h.state().message.text);
    for f in [
        "model.py",
        "train.py",
        "README.md",
        "model.safetensors",
        "train_x.npy",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let model = std::fs::read_to_string(out.join("model.py")).unwrap();
    assert!(model.contains("class XorMlp(nn.Module)"), "{model}");

    // A folder holding someone's files is refused with a message.
    let foreign = dir.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.tex"), "mine").unwrap();
    h.state_mut().state.pytorch_path = foreign.display().to_string();
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Export PyTorch code")
        .click();
    step_until(&mut h, 60, "the refused export", |a| a.message.is_error);
    assert!(
        h.state()
            .message
            .text
            .contains("could not export PyTorch code")
            && h.state().message.text.contains("thesis.tex"),
        "{}",
        h.state().message.text
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("thesis.tex")).unwrap(),
        "mine"
    );
    std::fs::remove_dir_all(&dir).ok();
}
