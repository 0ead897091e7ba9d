//! Image-to-image tasks in the window: the data panel's noise editor changes the preset's
//! `[data.denoise]` and draws the validation noise anew, the Denoising tab shows the
//! denoise-digits model beside the classical filters with its PSNR and SSIM as text, and the
//! Super-resolution tab shows super-resolution-photos on crops and on a whole photo.

mod common;

use std::path::PathBuf;

use common::ui::{App, app_with_options, idle, shown, step_until};
use convlab::data::Targets;
use convlab::spec::view::ViewId;
use convlab::train::messages::RunState;
use convlab::ui::LaunchOptions;
use eframe::egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

fn open(file: &str) -> App {
    app_with_options(LaunchOptions {
        file: Some(PathBuf::from(file)),
        ..LaunchOptions::default()
    })
}

/// The noise of the current validation split: noisy inputs minus clean targets.
fn validation_noise(h: &App) -> f64 {
    let split = h.state().data.split.as_ref().expect("a split");
    let Targets::Dense(clean) = &split.val.targets else {
        panic!("a denoising task has clean targets");
    };
    let d: Vec<f64> = split
        .val
        .inputs
        .iter()
        .zip(clean.iter())
        .map(|(&x, &c)| f64::from(x - c))
        .collect();
    (d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64).sqrt()
}

#[test]
fn the_noise_editor_and_the_denoising_tab_work_on_denoise_digits() {
    let mut h = open("presets/denoise-digits.toml");
    step_until(&mut h, 60, "the run to be configured", idle);
    assert_eq!(
        h.state().project.preset.data.denoise.map(|d| d.gaussian),
        Some(0.3)
    );
    let before = validation_noise(&h);
    assert!((before - 0.3).abs() < 0.02, "validation noise {before}");

    // Stronger Gaussian noise: the preset changes, the validation inputs get new noise.
    h.get_by_role_and_label(Role::Slider, "Gaussian noise sigma")
        .set_value_accesskit(0.5);
    h.run_steps(2);
    assert_eq!(
        h.state().project.preset.data.denoise.map(|d| d.gaussian),
        Some(0.5)
    );
    step_until(
        &mut h,
        60,
        "the new noise to be split and configured",
        |a| {
            idle(a)
                && a.data
                    .split
                    .as_ref()
                    .is_some_and(|s| s.denoise.is_some_and(|d| d.gaussian == 0.5))
        },
    );
    let after = validation_noise(&h);
    assert!((after - 0.5).abs() < 0.03, "validation noise {after}");
    h.get_by_role_and_label(Role::Slider, "salt and pepper share")
        .set_value_accesskit(0.1);
    h.run_steps(2);
    assert_eq!(
        h.state().project.preset.data.denoise.map(|d| d.salt_pepper),
        Some(0.1)
    );
    step_until(&mut h, 60, "salt and pepper to be configured", idle);

    // Train briefly, then the Denoising tab: a picture and the PSNR line.
    h.get_by_label("Step").click();
    step_until(&mut h, 60, "one training step", |a| {
        a.run.progress.is_some() && a.run.state != RunState::Running
    });
    h.get_by_label(ViewId::Denoising.title()).click();
    h.run_steps(2);
    step_until(&mut h, 60, "the denoising view", shown);
    let r = h.state().views.result.clone().unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    let img = r.image.as_ref().expect("a picture");
    assert!(
        img.width > 300 && img.height > 200,
        "{}x{}",
        img.width,
        img.height
    );
    assert!(
        r.info.contains("PSNR on") && r.info.contains("median") && r.info.contains("SSIM"),
        "{}",
        r.info
    );
    h.run_steps(2);
    h.get_by_label_contains("PSNR on");
}

#[test]
fn the_super_resolution_tab_shows_crops_and_a_whole_photo_with_their_scores() {
    let mut h = open("presets/super-resolution-photos.toml");
    step_until(&mut h, 60, "the run to be configured", idle);
    // The split holds the shrunk-and-enlarged inputs beside the originals.
    let split = h.state().data.split.as_ref().expect("a split");
    assert_eq!(
        split.super_resolution.map(|s| s.factor),
        Some(2),
        "the split knows its task"
    );
    assert!(matches!(split.val.targets, Targets::Dense(_)));
    assert_ne!(
        Some(&split.val.inputs),
        match &split.val.targets {
            Targets::Dense(t) => Some(t),
            Targets::Labels(_) => None,
        }
    );
    h.get_by_label("Step").click();
    step_until(&mut h, 60, "one training step", |a| {
        a.run.progress.is_some() && a.run.state != RunState::Running
    });
    h.get_by_label(ViewId::SuperResolution.title()).click();
    h.run_steps(2);
    step_until(&mut h, 60, "the super-resolution view", shown);
    let r = h.state().views.result.clone().unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    let img = r.image.as_ref().expect("a picture");
    // The whole 256×256 camera photo is drawn five times side by side.
    assert!(
        img.width > 5 * 256 && img.height > 256,
        "{}x{}",
        img.width,
        img.height
    );
    assert!(
        r.info.contains("bicubic") && r.info.contains("bilinear") && r.info.contains("SSIM"),
        "{}",
        r.info
    );
    let camera_height = img.height;

    // An image file is enlarged whole, at its own size: the cat photo, 225×150.
    let cat = format!("{}/assets/photos/chelsea.png", env!("CARGO_MANIFEST_DIR"));
    let field = h.get_by_role_and_label(Role::TextInput, "or image");
    field.focus();
    field.type_text(&cat);
    h.run_steps(1);
    h.get_by_label("Use image").click();
    h.run_steps(2);
    step_until(&mut h, 60, "the view of the cat photo", |a| {
        shown(a)
            && a.views
                .result
                .as_ref()
                .and_then(|r| r.image.as_ref())
                .is_some_and(|i| i.height != camera_height)
    });
    let r = h.state().views.result.clone().unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    // 150 pixels high instead of 256: a shorter picture, still five images wide.
    let img = r.image.as_ref().expect("a picture");
    assert!(
        img.height < camera_height,
        "{} vs {camera_height}",
        img.height
    );
    assert!(img.width > 5 * 224, "{}", img.width);
}
