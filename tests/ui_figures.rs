//! "Save PNG…" in the window, driven by labels: train briefly, open the export window with
//! the button, type a path, save — the PNG exists and decodes; the curves as CSV have one
//! row per epoch; a view's picture at 2× is twice the size; Ctrl+Shift+S opens the window
//! (before Ctrl+S, which would also match it, saves a checkpoint); Copy does not fail where
//! the clipboard takes no images (headless).

mod common;

use common::ui::{App, app, idle, ready, shown, step_until};

use convlab::spec::view::ViewId;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

fn pick_preset(h: &mut App, name: &str) {
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(2);
    h.get_by_label(name).click();
    h.run_steps(2);
}

fn save_and_wait(h: &mut App) {
    h.state_mut().message = Default::default();
    h.get_by_role_and_label(Role::Button, "Save figure").click();
    step_until(h, 30, "the figure to be written", |a| {
        a.message.text.starts_with("wrote") || a.message.is_error
    });
    assert!(!h.state().message.is_error, "{}", h.state().message.text);
}

#[test]
fn save_png_from_the_window() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-figures-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = app();
    pick_preset(&mut h, "xor-mlp");
    step_until(&mut h, 30, "the run to be configured", ready);
    h.get_by_label("Train").click();
    step_until(&mut h, 60, "two epochs", |a| a.run.history.len() >= 2);
    h.get_by_label("Pause").click();
    step_until(&mut h, 30, "the run to pause", idle);

    // The button opens the window; nothing saved before a path is typed.
    h.get_by_label("Save PNG…").click();
    h.run_steps(2);
    assert!(h.state().figures.open);
    h.get_by_role_and_label(Role::Button, "Save figure").click();
    h.run_steps(2);
    assert!(h.state().message.is_error, "an empty path is refused");

    // The curves (the Training tab's picture) to a typed path.
    let png = dir.join("curves.png");
    let field = h.get_by_role_and_label(Role::TextInput, "Figure path");
    field.focus();
    field.type_text(&png.display().to_string());
    h.run_steps(2);
    save_and_wait(&mut h);
    let img = image::open(&png).expect("the PNG decodes");
    assert!(img.width() > 400 && img.height() > 100);

    // The curves as CSV: the extension follows, one row per epoch.
    h.get_by_label("curves as CSV").click();
    h.run_steps(1);
    save_and_wait(&mut h);
    let csv = std::fs::read_to_string(dir.join("curves.csv")).unwrap();
    let epochs = h.state().run.history.len();
    assert_eq!(csv.lines().count(), epochs + 1, "{csv}");
    assert!(csv.starts_with("epoch,train_loss,val_loss,"));

    // The confusion matrix, drawn for the figure.
    h.get_by_label("confusion matrix").click();
    h.state_mut().figures.path = dir.join("confusion.png").display().to_string();
    h.run_steps(1);
    save_and_wait(&mut h);
    image::open(dir.join("confusion.png")).expect("the confusion matrix decodes");

    // A view's picture at 2×.
    h.get_by_label("Decision regions").click();
    step_until(&mut h, 30, "the decision view", |a| {
        shown(a) && a.views.settings.tab == ViewId::Decision
    });
    let (w, hgt) = {
        let r = h.state().views.result.clone().unwrap();
        let img = r.image.as_ref().expect("a picture");
        (img.width, img.height)
    };
    h.get_by_label("this view (decision)").click();
    h.get_by_label("2×").click();
    h.state_mut().figures.path = dir.join("decision.png").display().to_string();
    h.run_steps(1);
    save_and_wait(&mut h);
    let img = image::open(dir.join("decision.png")).unwrap();
    assert_eq!(
        (img.width() as usize, img.height() as usize),
        (2 * w, 2 * hgt)
    );

    // The conv arithmetic sandbox (drawn by the window itself) saves its picture too.
    h.get_by_label("Conv arithmetic").click();
    h.run_steps(3);
    h.get_by_label("this view (conv-arithmetic)").click();
    h.get_by_label("1×").click();
    h.state_mut().figures.path = dir.join("arith.png").display().to_string();
    h.run_steps(1);
    save_and_wait(&mut h);
    image::open(dir.join("arith.png")).expect("the sandbox's picture decodes");

    // Copy: headless there may be no clipboard for images; it must not fail.
    h.get_by_role_and_label(Role::Button, "Copy").click();
    h.run_steps(2);
    assert!(
        h.state().message.text.starts_with("copied"),
        "{}",
        h.state().message.text
    );

    // Closed, then Ctrl+Shift+S opens it again — and does not save a checkpoint.
    h.state_mut().figures.open = false;
    h.run_steps(1);
    h.state_mut().message = Default::default();
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::S,
    );
    h.run_steps(5);
    assert!(h.state().figures.open);
    let message = &h.state().message.text;
    assert!(!message.contains("sav"), "no checkpoint save: {message}");
    // CONVLAB_KEEP_FIGURES=1 keeps the files to look at.
    if std::env::var_os("CONVLAB_KEEP_FIGURES").is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// The Segmentation tab, composed in the window from its sliders, saves as shown: its
/// three pictures side by side.
#[test]
fn the_segmentation_tab_saves_its_pictures_as_shown() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-seg-fig-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let mut h = common::ui::app_with_options(convlab::ui::LaunchOptions {
        file: Some(std::path::PathBuf::from("presets/cells-unet.toml")),
        ..Default::default()
    });
    step_until(&mut h, 60, "the run to be configured", ready);
    h.get_by_label("Segmentation").click();
    h.run_steps(2);
    step_until(&mut h, 60, "the segmentation view", |a| {
        shown(a) && a.views.composed.is_some()
    });
    let (tab, pictures) = h.state().views.composed.clone().unwrap();
    assert_eq!(tab, ViewId::Segmentation);
    assert_eq!(pictures.len(), 3);
    h.get_by_label("Save PNG…").click();
    h.run_steps(2);
    let png = dir.join("segmentation.png");
    h.state_mut().figures.path = png.display().to_string();
    h.run_steps(1);
    save_and_wait(&mut h);
    let img = image::open(&png).expect("the PNG decodes");
    let widths: u32 = pictures.iter().map(|(_, p)| p.width as u32).sum();
    assert!(img.width() >= widths, "{} < {widths}", img.width());
}
