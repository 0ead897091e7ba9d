//! Diffusion (issue 17): the diffusion-digits task's data follow the forward process's
//! closed form, a few training steps lower the noise error, sampling repeats for a seed, and
//! the diffusion view draws. The bundled checkpoint's quality is measured by the ignored
//! soak test below (it samples 100 digits).

use std::path::{Path, PathBuf};

use convlab::checkpoint::Checkpoint;
use convlab::data::Targets;
use convlab::engine::parallel::DataParallel;
use convlab::inspect::diffusion::{judge, reverse_chain};
use convlab::spec::Preset;
use convlab::spec::view::ViewId;
use convlab::train::Trainer;
use convlab::viz::views::{ViewInput, ViewRequest, render_view};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// diffusion-digits on 1280 of the digits: quick to train a few dozen steps.
fn small_preset() -> Preset {
    let mut p = Preset::load(&root().join("presets/diffusion-digits.toml")).unwrap();
    p.data.source = toml::from_str::<convlab::data::DataSpec>(
        "source = \"digits\"\nlimit = 1280\nval_fraction = 0.1\nseed = 1",
    )
    .unwrap()
    .source;
    p.training.epochs = 3;
    p
}

#[test]
fn validation_inputs_are_the_forward_process_of_their_noise() {
    let p = small_preset();
    let d = p.data.diffusion.expect("a diffusion task");
    let sched = d.schedule();
    let t = Trainer::new(&p).unwrap();
    let Targets::Dense(noise) = &t.val.targets else {
        panic!("the targets are the noise")
    };
    // The clean images of the same samples, before noising.
    let all = convlab::data::load::load_source(&p.data).unwrap();
    let (_, clean_val) = convlab::data::load::split(&all, p.data.val_fraction, p.data.seed);
    let (n, c, h, w) = noise.dim();
    assert_eq!(t.val.inputs.dim(), (n, c + 1, h, w));
    let mut steps = std::collections::BTreeSet::new();
    for i in 0..n {
        let frac = f64::from(t.val.inputs[[i, c, 0, 0]]);
        let step = (frac * d.steps as f64).round() as usize;
        assert!((1..=d.steps).contains(&step));
        steps.insert(step);
        let ab = sched.alpha_bar(step);
        for (y, x) in [(0, 0), (13, 14), (27, 5)] {
            let x0 = f64::from(clean_val.inputs[[i, 0, y, x]]);
            let want = ab.sqrt() * x0 + (1.0 - ab).sqrt() * f64::from(noise[[i, 0, y, x]]);
            let got = f64::from(t.val.inputs[[i, 0, y, x]]);
            assert!(
                (got - want).abs() < 1e-5,
                "sample {i} ({y}, {x}): {got} vs {want}"
            );
        }
    }
    assert!(
        steps.len() > n / 2,
        "t is drawn per image: {} distinct of {n}",
        steps.len()
    );
    // The noise is standard normal.
    let m = noise.mean().unwrap();
    let var = noise.mapv(|v| (v - m) * (v - m)).mean().unwrap();
    assert!(
        m.abs() < 0.01 && (var - 1.0).abs() < 0.02,
        "mean {m}, variance {var}"
    );
}

#[test]
fn a_few_steps_lower_the_noise_error_and_sampling_repeats_for_a_seed() {
    let p = small_preset();
    let mut t = Trainer::new(&p).unwrap();
    let mut losses = Vec::new();
    for _ in 0..p.training.epochs {
        losses.push(t.run_epoch(|_| {}).unwrap().val_loss);
    }
    eprintln!("validation noise MSE by epoch: {losses:?}");
    // Predicting no noise at all scores 1; a few steps already do much better.
    let last = losses[losses.len() - 1];
    assert!(last < 0.8 && last < losses[0], "{losses:?}");
    let d = p.data.diffusion.unwrap();
    let mut model = DataParallel::from_graph(t.graph().clone(), 1);
    let mut draw = |seed| {
        reverse_chain(&d, [1, 28, 28], 2, seed, &[], Some(20), |x| {
            model.infer(x).cloned()
        })
        .unwrap()
        .samples
    };
    let a = draw(7);
    assert_eq!(a, draw(7));
    assert_ne!(a, draw(8));
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn the_diffusion_view_draws_a_fresh_model() {
    let p = small_preset();
    let mut t = Trainer::new(&p).unwrap();
    let (train, val) = (t.train.clone(), t.val.clone());
    let req = ViewRequest {
        diffusion: p.data.diffusion,
        timestep: Some(100),
        seed: 3,
        ..ViewRequest::default()
    };
    let input = ViewInput::DataSet {
        train: &train,
        val: &val,
    };
    let img = render_view(ViewId::Diffusion, t.graph_mut(), &input, &req).unwrap();
    assert!(
        img.width > 600 && img.height > 400,
        "{}×{}",
        img.width,
        img.height
    );
    // Without the schedule the view says what it needs.
    let plain = ViewRequest::default();
    let err = render_view(ViewId::Diffusion, t.graph_mut(), &input, &plain).unwrap_err();
    assert!(err.to_string().contains("[data.diffusion]"), "{err}");
}

/// The bundled checkpoint's sample quality, as the README of assets/checkpoints reports it:
/// 100 samples judged by the bundled digits LeNet. Slow (about a minute on 2 cores).
#[test]
#[ignore]
fn bundled_diffusion_checkpoint_draws_digits_the_lenet_recognises() {
    let dir = root().join("assets/checkpoints");
    let ck = Checkpoint::load(&dir.join("diffusion-digits.safetensors")).unwrap();
    let d = ck.preset.data.diffusion.unwrap();
    let mut model = DataParallel::from_graph(ck.graph().unwrap(), 2);
    let chain = reverse_chain(&d, [1, 28, 28], 100, 1, &[], None, |x| {
        model.infer(x).cloned()
    })
    .unwrap();
    let lenet = Checkpoint::load(&dir.join("digits-lenet.safetensors")).unwrap();
    let j = judge(&chain.samples, &mut lenet.graph().unwrap(), 0.9).unwrap();
    eprintln!(
        "confident {:.2}, distinct {}, per class {:?}",
        j.confident_share(),
        j.distinct_classes(),
        j.confident_per_class
    );
    assert!(j.confident_share() >= 0.6);
    assert_eq!(j.distinct_classes(), 10);
}
