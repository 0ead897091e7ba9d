//! The Prediction tab, the drawing canvas and the grey square, driven as a person would:
//! the bars are probabilities that sum to 1, a stroke drawn with the mouse is the input
//! tensor every view sees, and a press on the input covers that part of it.

mod common;

use common::ui::{App, app_with_options, idle, shown, step_until};

use std::path::PathBuf;

use convlab::inspect::prediction::Prediction;
use convlab::ui::LaunchOptions;
use convlab::ui::inspector::InputChoice;
use convlab::ui::panels::drawing::Drawing;
use eframe::egui;
use eframe::egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

fn digits_app() -> App {
    app_with_options(LaunchOptions {
        file: Some(PathBuf::from("presets/digits-lenet.toml")),
        ..LaunchOptions::default()
    })
}

fn press(h: &mut App, at: egui::Pos2, pressed: bool) {
    h.event(egui::Event::PointerButton {
        pos: at,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    });
}

fn probabilities(h: &App) -> Vec<f32> {
    let r = h.state().views.result.clone().expect("a result");
    assert!(r.error.is_none(), "{:?}", r.error);
    match &r.prediction.as_ref().expect("a prediction").prediction {
        Prediction::Classes { probabilities } => probabilities.clone(),
        other => panic!("a digit model classifies, got {other:?}"),
    }
}

#[test]
fn a_drawn_stroke_is_the_input_and_the_bars_sum_to_one() {
    let mut h = digits_app();
    step_until(&mut h, 60, "the run to be configured", idle);
    h.get_by_label("Prediction").click();
    h.run_steps(2);
    step_until(&mut h, 60, "the prediction of sample 0", shown);
    let p = probabilities(&h);
    assert_eq!(p.len(), 10);
    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);

    h.get_by_label("Draw…").click();
    h.run_steps(3);
    assert!(matches!(
        h.state().views.settings.input,
        InputChoice::Drawing(_)
    ));
    // A horizontal stroke across the middle of the 28 × 28 canvas.
    let canvas = h.get_by_label("drawing canvas").rect();
    let cell = canvas.width() / 28.0;
    let at = |row: f32, col: f32| canvas.min + egui::vec2(col * cell, row * cell);
    h.hover_at(at(14.5, 5.5));
    h.run_steps(1);
    press(&mut h, at(14.5, 5.5), true);
    h.run_steps(1);
    for col in [9.5, 14.5, 19.5, 22.5] {
        h.hover_at(at(14.5, col));
        h.run_steps(1);
    }
    press(&mut h, at(14.5, 22.5), false);
    h.run_steps(2);

    let InputChoice::Drawing(drawn) = h.state().views.settings.input.clone() else {
        panic!("the drawing is the input");
    };
    let mut expected = Drawing::new(28, 28);
    expected.stroke((14.5, 5.5), (14.5, 22.5));
    let expected = expected.tensor(1);
    assert_eq!(drawn.shape(), [1, 1, 28, 28]);
    let worst = drawn
        .iter()
        .zip(expected.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 0.1, "the drawn tensor differs by up to {worst}");
    assert_eq!(drawn[[0, 0, 14, 12]], 1.0);
    assert_eq!(drawn[[0, 0, 3, 12]], 0.0);

    // The Prediction view answers for the drawing.
    step_until(&mut h, 60, "the prediction of the drawing", shown);
    let p = probabilities(&h);
    assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    h.get_by_label("Clear").click();
    h.run_steps(2);
    let InputChoice::Drawing(cleared) = h.state().views.settings.input.clone() else {
        panic!("still the drawing");
    };
    assert!(cleared.iter().all(|&v| v == 0.0));
}

#[test]
fn a_press_on_the_input_covers_it_with_a_square_until_uncovered() {
    let mut h = digits_app();
    step_until(&mut h, 60, "the run to be configured", idle);
    h.get_by_label("Prediction").click();
    h.run_steps(2);
    step_until(&mut h, 60, "the prediction", shown);
    let r = h.state().views.result.clone().unwrap();
    let pred = r.prediction.clone().unwrap();
    let picture_width = r.image.as_ref().unwrap().width as f32;
    let on_screen = h
        .get_all_by_role(Role::Image)
        .map(|n| n.rect())
        .find(|r| r.width() > 200.0)
        .expect("the prediction picture on screen");
    let scale = on_screen.width() / picture_width;
    // The middle of the input image.
    let (h_in, w_in) = pred.input_size;
    let mid = on_screen.min
        + egui::vec2(
            (pred.input_at.0 + w_in * pred.zoom / 2) as f32 * scale,
            (pred.input_at.1 + h_in * pred.zoom / 2) as f32 * scale,
        );
    h.hover_at(mid);
    h.run_steps(1);
    press(&mut h, mid, true);
    h.run_steps(1);
    press(&mut h, mid, false);
    h.run_steps(2);
    let square = pred.square;
    let corner = h.state().views.settings.occluder.expect("a square placed");
    // Centred under the pointer, within a pixel.
    let centre = (corner.0 + square / 2, corner.1 + square / 2);
    assert!(
        centre.0.abs_diff(14) <= 1 && centre.1.abs_diff(14) <= 1,
        "{corner:?}"
    );
    step_until(&mut h, 60, "the covered prediction", shown);
    assert!((probabilities(&h).iter().sum::<f32>() - 1.0).abs() < 1e-5);
    h.get_by_label("uncover").click();
    h.run_steps(2);
    assert_eq!(h.state().views.settings.occluder, None);
}

/// The bars of an image file in the window are the numbers `convlab predict` prints for the
/// same file and the same (seeded, freshly initialised) weights.
#[test]
fn the_windows_bars_match_convlab_predict() {
    let dir = std::env::temp_dir().join(format!("convlab-ui-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("seven.png");
    image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([
            if (y == 7 && (7..21).contains(&x)) || (x + y / 2 == 24 && y > 7) {
                255
            } else {
                0
            },
        ])
    })
    .save(&file)
    .unwrap();
    let mut h = digits_app();
    step_until(&mut h, 60, "the run to be configured", idle);
    h.get_by_label("Prediction").click();
    h.run_steps(2);
    let field = h.get_by_role_and_label(Role::TextInput, "or image");
    field.focus();
    field.type_text(&file.display().to_string());
    h.run_steps(1);
    h.get_by_label("Use image").click();
    h.run_steps(2);
    assert!(matches!(
        h.state().views.settings.input,
        InputChoice::Image { .. }
    ));
    step_until(&mut h, 60, "the prediction of the file", shown);
    let window = probabilities(&h);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convlab"))
        .args([
            "predict",
            "presets/digits-lenet.toml",
            "--top",
            "10",
            "--json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let classes = line["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 10);
    for c in classes {
        let k = c["class"].as_u64().unwrap() as usize;
        let p = c["probability"].as_f64().unwrap();
        assert!(
            (p - f64::from(window[k])).abs() < 1e-6,
            "class {k}: window {} vs command {p}",
            window[k]
        );
    }
}
