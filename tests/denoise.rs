//! Denoising (issue 17): denoise-digits, trained briefly, beats the classical Gaussian blur
//! and median filter on the validation set's noisy images, measured by PSNR.

use std::path::Path;

use convlab::data::Targets;
use convlab::inspect::denoise::baselines;
use convlab::spec::Preset;
use convlab::train::{MetricKind, Trainer};

#[test]
fn denoise_digits_beats_blur_and_median() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/denoise-digits.toml");
    let mut p = Preset::load(&path).unwrap();
    // A short run is enough to pass the hand-made filters; the preset trains longer.
    p.training.epochs = 2;
    let mut t = Trainer::new(&p).unwrap();
    assert_eq!(t.metric(), MetricKind::Psnr);
    let mut last = None;
    for _ in 0..p.training.epochs {
        last = Some(t.run_epoch(|_| {}).unwrap());
    }
    let record = last.unwrap();
    assert_eq!(record.metric, "psnr");
    let Targets::Dense(clean) = &t.val.targets else {
        panic!("a denoising task has clean images as targets");
    };
    let b = baselines(&t.val.inputs, clean).unwrap();
    eprintln!(
        "model {:.2} dB, {} {:.2} dB, {} {:.2} dB, noisy {:.2} dB",
        record.val_metric, b.blur.name, b.blur.psnr, b.median.name, b.median.psnr, b.noisy
    );
    assert!(record.val_metric > b.blur.psnr, "{record:?} {b:?}");
    assert!(record.val_metric > b.median.psnr, "{record:?} {b:?}");
    // The same seed trains the same weights: the noise is drawn from it, not from the clock.
    let mut again = Trainer::new(&p).unwrap();
    let first = again.run_epoch(|_| {}).unwrap();
    assert_eq!(first.val_metric, t.history.epochs[0].val_metric);
}
