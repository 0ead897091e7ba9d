//! The denoising task in the window: the data panel's noise editor changes the preset's
//! `[data.denoise]` and draws the validation noise anew, and the Denoising tab shows the
//! denoise-digits model beside the classical filters with its PSNR and SSIM as text.

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
