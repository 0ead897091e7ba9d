//! Every preset in `presets/` parses, builds, names only views, nodes and settings that
//! exist, and trains headless — following its walkthrough's actions exactly as a lecturer
//! would click through them — to the target its file states.
//!
//! How actions are replayed (the same rules the window's walkthrough mode follows, see
//! `presets/README.md`):
//! * `train { epochs }` continues the current run for that many epochs;
//! * `reset` starts a fresh run from the current settings and seed;
//! * `set { key, value }` edits the current settings (`walkthrough::set_key`). A change to
//!   the model or the data rebuilds the run (fresh weights) at the step's next `train` or
//!   `reset`, or at its end, so one step may change both; a new learning rate applies to
//!   the running optimiser at once; other training settings (seed, init, optimiser) take
//!   effect at the next `reset`.
//!
//! The target is checked on the last run that trained the preset's own settings (as
//! written in the file, all `set`s undone) from a fresh start for at least the file's
//! `training.epochs` — the same run `convlab train` makes. A walkthrough that never trains
//! them is followed by such a run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use convlab::data::DataSpec;
use convlab::data::Dataset;
use convlab::engine::Graph;
use convlab::spec::Preset;
use convlab::spec::view::{Overlay, ViewId};
use convlab::spec::walkthrough::{self, Action, Step};
use convlab::train::{TrainError, Trainer};

/// Training threads of every replayed run (as `convlab train --threads 2`).
const THREADS: usize = 2;

fn presets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("presets")
}

fn preset_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(presets_dir())
        .expect("presets/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The lecture's topics, in order, and the preset file that teaches each.
const TOPICS: [&str; 23] = [
    "handcrafted-vs-evolved-vs-cnn",
    "01-tensors-and-filters",
    "02-single-unit",
    "03-xor-linear-vs-hidden",
    "04-universal-approximation",
    "05-training-dynamics",
    "06-conv-parameters",
    "07-receptive-field",
    "08-max-pooling-gradient",
    "09-translation-covariance",
    "10-relu-tanh-dropout",
    "alexnet-photos",
    "11-vgg-stacks",
    "12-inception",
    "13-resnet-vs-plain",
    "14-overfitting",
    "textures-autoencoder",
    "cells-unet",
    "vessels-unet",
    "vae-digits",
    "super-resolution-photos",
    "unsupervised-segmentation",
    "17-explainability",
];

fn load(path: &Path) -> Preset {
    Preset::load(path).unwrap_or_else(|e| panic!("{e}"))
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_lecture_topic_has_a_preset_with_a_walkthrough_and_a_target() {
    for topic in TOPICS {
        let path = presets_dir().join(format!("{topic}.toml"));
        assert!(
            path.exists(),
            "missing preset for topic: {}",
            path.display()
        );
        let p = load(&path);
        assert!(
            (4..=8).contains(&p.walkthrough.len()),
            "{topic}: {} walkthrough steps, want 4–8",
            p.walkthrough.len()
        );
        assert!(p.target.is_some(), "{topic}: no target");
        assert!(!p.description.trim().is_empty(), "{topic}: no description");
    }
}

#[test]
fn every_preset_parses_builds_and_references_only_what_exists() {
    let files = preset_files();
    assert!(files.len() >= TOPICS.len(), "{files:?}");
    for path in &files {
        let p = load(path);
        let here = path.display().to_string();
        assert_eq!(
            p.name,
            stem(path),
            "{here}: name differs from the file name"
        );
        Graph::<f32>::new(&p.model).unwrap_or_else(|e| panic!("{here}: {e}"));
        walkthrough::validate(&p).unwrap_or_else(|e| panic!("{here}: {e}"));
        if let Some(t) = &p.target {
            let want = match t.metric.as_str() {
                "accuracy" | "iou" | "psnr" => t.at_least.is_some() && t.at_most.is_none(),
                "mse" => t.at_most.is_some() && t.at_least.is_none(),
                other => panic!("{here}: unknown target metric '{other}'"),
            };
            assert!(
                want,
                "{here}: accuracy/iou/psnr need at_least, mse needs at_most"
            );
            assert_eq!(
                t.metric,
                convlab::train::MetricKind::for_preset(&p).name(),
                "{here}: the target's metric is not the one this loss reports"
            );
        }
        // Settings each step names must exist in the model as it is at that step.
        let mut current = p.clone();
        for (i, step) in p.walkthrough.iter().enumerate() {
            let at = format!("{here}: step {} ('{}')", i + 1, step.title);
            assert!(
                !step.title.trim().is_empty() && !step.text.trim().is_empty(),
                "{at}: empty"
            );
            for a in &step.actions {
                if let Action::Set { key, value } = a {
                    current = walkthrough::set_key(&current, key, value).unwrap();
                }
            }
            check_step_settings(&current, step, &at);
        }
    }
}

#[test]
fn a_bad_view_or_overlay_is_a_load_error_naming_the_step() {
    let base = std::fs::read_to_string(presets_dir().join("xor-mlp.toml")).unwrap();
    let dir = std::env::temp_dir().join(format!("convlab-overlay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let load_with = |view: &str, overlay: &str| {
        let text = format!(
            "{base}\n[[walkthrough]]\ntitle = \"look\"\ntext = \"x\"\nview = \"{view}\"\n\
             overlay = \"{overlay}\"\n"
        );
        let path = dir.join("step.toml");
        std::fs::write(&path, text).unwrap();
        Preset::load(&path).map(|p| p.walkthrough[0].clone())
    };
    let e = load_with("activations", "glow").unwrap_err().to_string();
    assert!(
        e.contains("walkthrough[0].overlay") && e.contains("'glow'"),
        "{e}"
    );
    let e = load_with("activations", "norms").unwrap_err().to_string();
    assert!(
        e.contains("step 1 ('look')") && e.contains("gradients"),
        "{e}"
    );
    let e = load_with("pooling", "shared").unwrap_err().to_string();
    assert!(
        e.contains("walkthrough[0].view") && e.contains("'pooling'"),
        "{e}"
    );
    // The older names still mean their views.
    let step = load_with("routing", "lecture-2x2s1").unwrap();
    assert_eq!(step.view, ViewId::Routing);
    assert_eq!(
        step.overlay,
        Some("lecture-2x2s1".parse::<Overlay>().unwrap())
    );
    let step = load_with("receptive_field", "shared");
    assert!(step.is_err(), "shared belongs to the activations view");
    std::fs::remove_dir_all(&dir).ok();
}

/// `channel` exists in the node shown (or the input for the data view). (An `overlay` of
/// another view is a load error: `walkthrough::validate`.)
fn check_step_settings(current: &Preset, step: &Step, at: &str) {
    let facts = convlab::engine::facts::infer(&current.model).unwrap();
    if let Some(c) = step.channel {
        // The saliency view's channel is the class it explains; elsewhere, a channel of the
        // node shown (or of the input).
        let channels = match &step.node {
            _ if step.view == ViewId::Saliency => facts.output()[0],
            Some(node) => {
                let i = facts.index_of(node).expect("validate checked the node");
                facts.nodes[i].output[0]
            }
            None => facts.input[0],
        };
        assert!(c < channels, "{at}: channel {c} of {channels}");
    }
}

/// What a replayed walkthrough did.
struct Outcome {
    name: String,
    seconds: f64,
    epochs_trained: usize,
    /// Validation metric of the last run of the file's own settings.
    result: f64,
    metric: String,
    reached: bool,
    target: String,
}

/// Keeps the last data set loaded, so resets of the same settings do not reload it.
struct DataCache {
    spec: Option<DataSpec>,
    sets: Option<(Dataset, Dataset)>,
}

impl DataCache {
    fn trainer(&mut self, preset: &Preset) -> Result<Trainer, TrainError> {
        if self.spec.as_ref() != Some(&preset.data) {
            self.sets = Some(convlab::data::load::load(&preset.data)?);
            self.spec = Some(preset.data.clone());
        }
        let (train, val) = self.sets.clone().expect("just loaded");
        let mut trainer = Trainer::with_data(preset, train, val)?;
        // A fixed thread count: the numbers then do not depend on the machine's cores.
        trainer.set_threads(THREADS);
        Ok(trainer)
    }
}

fn same_settings(a: &Preset, b: &Preset) -> bool {
    a.model == b.model && a.data == b.data && a.training == b.training
}

fn replay(path: &Path) -> Result<Outcome, String> {
    let started = Instant::now();
    let original = load(path);
    let name = original.name.clone();
    let fail = |e: &dyn std::fmt::Display| format!("{name}: {e}");
    let mut cache = DataCache {
        spec: None,
        sets: None,
    };
    let mut current = original.clone();
    let mut trainer = cache.trainer(&current).map_err(|e| fail(&e))?;
    if std::env::var_os("CONVLAB_PRESET_VERBOSE").is_some()
        && let convlab::data::Targets::Labels(l) = &trainer.val.targets
    {
        eprintln!("{name}: validation labels {:?}", &l[..l.len().min(12)]);
    }
    // Whether the run has used the file's own settings from its start.
    let mut pure = true;
    let mut result: Option<f64> = None;
    let mut epochs_trained = 0;
    for (i, step) in original.walkthrough.iter().enumerate() {
        let at =
            |e: &dyn std::fmt::Display| format!("{name}: step {} ('{}'): {e}", i + 1, step.title);
        // A model or data change takes effect at the next train or reset, or at the end of
        // the step, as in the window: a step may change both (new input features and the
        // model's input) through settings that do not fit each other one at a time.
        let mut rebuild = false;
        for action in &step.actions {
            match action {
                Action::Train { epochs } => {
                    if std::mem::take(&mut rebuild) {
                        trainer = cache.trainer(&current).map_err(|e| at(&e))?;
                        pure = same_settings(&current, &original);
                    }
                    for _ in 0..*epochs {
                        trainer.run_epoch(|_| {}).map_err(|e| at(&e))?;
                    }
                    epochs_trained += epochs;
                    if std::env::var_os("CONVLAB_PRESET_VERBOSE").is_some()
                        && let Some(r) = trainer.history.epochs.last()
                    {
                        eprintln!(
                            "{name} step {} ({}): epoch {}: train loss {:.4} val loss {:.4} train {} {:.4} val {:.4}",
                            i + 1,
                            step.title,
                            r.epoch,
                            r.train_loss,
                            r.val_loss,
                            r.metric,
                            r.train_metric,
                            r.val_metric
                        );
                    }
                    if pure && trainer.epochs_done() >= original.training.epochs {
                        result = trainer.history.epochs.last().map(|r| r.val_metric);
                    }
                }
                // Runs are the window's; the replay's training does not change.
                Action::PinRun { .. } => {}
                Action::Reset => {
                    rebuild = false;
                    trainer = cache.trainer(&current).map_err(|e| at(&e))?;
                    pure = same_settings(&current, &original);
                }
                Action::Set { key, value } => {
                    let next = walkthrough::set_key(&current, key, value).map_err(|e| at(&e))?;
                    if next.model != current.model || next.data != current.data {
                        rebuild = true;
                    } else {
                        if next.training.learning_rate != current.training.learning_rate {
                            trainer.set_learning_rate(next.training.learning_rate);
                        }
                        trainer.preset = next.clone();
                        pure &= same_settings(&next, &original);
                    }
                    current = next;
                }
            }
        }
        if rebuild {
            trainer = cache.trainer(&current).map_err(|e| at(&e))?;
            pure = same_settings(&current, &original);
        }
        if std::env::var_os("CONVLAB_PRESET_VERBOSE").is_some() {
            show_evidence(&mut trainer, step);
        }
        if let Some(input) = step.input {
            assert!(
                input < trainer.val.len(),
                "{name}: step {}: input {input} but only {} validation samples",
                i + 1,
                trainer.val.len()
            );
        }
    }
    if result.is_none() {
        let mut fresh = cache.trainer(&original).map_err(|e| fail(&e))?;
        for _ in 0..original.training.epochs {
            fresh.run_epoch(|_| {}).map_err(|e| fail(&e))?;
        }
        epochs_trained += original.training.epochs;
        result = fresh.history.epochs.last().map(|r| r.val_metric);
    }
    let result = result.ok_or_else(|| fail(&"no epoch was trained"))?;
    let target = original.target.clone().expect("checked by the caller");
    let reached = match (target.at_least, target.at_most) {
        (Some(lo), _) => result >= lo,
        (None, Some(hi)) => result <= hi,
        (None, None) => false,
    };
    Ok(Outcome {
        name,
        seconds: started.elapsed().as_secs_f64(),
        epochs_trained,
        result,
        metric: target.metric.clone(),
        reached,
        target: match (target.at_least, target.at_most) {
            (Some(lo), _) => format!(">= {lo}"),
            (_, Some(hi)) => format!("<= {hi}"),
            _ => "?".into(),
        },
    })
}

/// Replays every preset that states a target, one after the other (each run already uses
/// both cores). `CONVLAB_PRESET=part` replays only the presets whose file name contains
/// `part`; `CONVLAB_PRESET_VERBOSE=1` prints every trained step and the numbers behind the
/// gradient, covariance and anomaly steps, for checking the walkthrough texts.
#[test]
fn every_walkthrough_trains_to_the_target_its_file_states() {
    let only = std::env::var("CONVLAB_PRESET").ok();
    let files: Vec<PathBuf> = preset_files()
        .into_iter()
        .filter(|p| load(p).target.is_some())
        .filter(|p| only.as_ref().is_none_or(|o| stem(p).contains(o.as_str())))
        .collect();
    let mut outcomes: Vec<Result<Outcome, String>> = files.iter().map(|p| replay(p)).collect();
    outcomes.sort_by_key(|o| match o {
        Ok(o) => o.name.clone(),
        Err(e) => e.clone(),
    });
    let mut failures = Vec::new();
    for o in &outcomes {
        match o {
            Ok(o) => {
                eprintln!(
                    "{:<30} {:>6.2} s {:>4} epochs  {} {:.4} (target {})",
                    o.name, o.seconds, o.epochs_trained, o.metric, o.result, o.target
                );
                if !o.reached {
                    failures.push(format!(
                        "{}: {} {:.4}, target {}",
                        o.name, o.metric, o.result, o.target
                    ));
                }
            }
            Err(e) => failures.push(e.clone()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Topic 5 promises the same numbers for the same seed: two runs agree bit for bit.
#[test]
fn the_same_seed_gives_the_same_run() {
    let p = load(&presets_dir().join("05-training-dynamics.toml"));
    let run = || {
        let mut t = Trainer::new(&p).unwrap();
        t.set_threads(THREADS);
        for _ in 0..3 {
            t.run_epoch(|_| {}).unwrap();
        }
        t.history
            .epochs
            .iter()
            .map(|r| {
                (
                    r.train_loss.to_bits(),
                    r.val_loss.to_bits(),
                    r.val_metric.to_bits(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

/// For checking the walkthrough texts by hand (`CONVLAB_PRESET_VERBOSE=1`): the numbers
/// behind gradient and covariance steps.
fn show_evidence(trainer: &mut Trainer, step: &Step) {
    let i = step
        .input
        .unwrap_or(0)
        .min(trainer.val.len().saturating_sub(1));
    let (x, t) = convlab::train::run::gather(&trainer.val, &[i]);
    let loss = trainer.preset.training.loss;
    match step.view {
        ViewId::Gradients => {
            if let Ok(p) = convlab::inspect::probe(trainer.graph_mut(), &x, t.as_target(), loss) {
                let norms: Vec<String> = p
                    .weight_grad_norms()
                    .iter()
                    .map(|(n, g)| format!("{n} {g:.2e}"))
                    .collect();
                eprintln!("  gradient norms: {}", norms.join(", "));
            }
        }
        ViewId::Covariance => {
            let shift = match step.overlay {
                Some(Overlay::Shift(n)) => n,
                _ => 1,
            };
            if let Ok(c) = convlab::inspect::covariance(
                trainer.graph_mut(),
                &x,
                (0, shift),
                convlab::inspect::ShiftMode::Circular,
            ) {
                let errs: Vec<String> = c
                    .errors()
                    .iter()
                    .map(|(n, e)| format!("{n} {e:.3}"))
                    .collect();
                eprintln!("  covariance errors (shift {shift}): {}", errs.join(", "));
            }
        }
        ViewId::Saliency => {
            // How much the map looks like the input's edges (Pearson correlation with the
            // Sobel gradient magnitude): high for a map that mostly shows the image itself.
            let plane = convlab::inspect::filters::grayscale(&x).unwrap();
            let sobel = convlab::inspect::classical_filters();
            let gx = convlab::inspect::apply_filter(&plane, &sobel[1].kernel).unwrap();
            let gy = convlab::inspect::apply_filter(&plane, &sobel[2].kernel).unwrap();
            let edges: Vec<f32> = gx.iter().zip(&gy).map(|(a, b)| a.hypot(*b)).collect();
            let label = match &trainer.val.targets {
                convlab::data::Targets::Labels(l) => l[i],
                convlab::data::Targets::Dense(_) => 0,
            };
            let class = step.channel.unwrap_or(label);
            let graph = trainer.graph_mut();
            let map: Vec<f32> = match &step.node {
                Some(node) if step.overlay == Some(Overlay::GradCam) => {
                    convlab::inspect::grad_cam(graph, &x, class, node)
                        .map(|c| c.upsampled.iter().copied().collect())
                        .unwrap_or_default()
                }
                _ => convlab::inspect::saliency(graph, &x, class)
                    .map(|s| s.map.iter().copied().collect())
                    .unwrap_or_default(),
            };
            eprintln!(
                "  {:?} map vs edges: r = {:.3}",
                step.overlay,
                pearson(&map, &edges)
            );
        }
        ViewId::Anomaly => {
            let Ok(Some(load)) = convlab::data::textures::anomaly_set(&trainer.preset.data) else {
                return;
            };
            let test = &load.set.test;
            let Ok(y) = trainer
                .graph_mut()
                .forward(&test.inputs, convlab::engine::Mode::Eval)
                .cloned()
            else {
                return;
            };
            let r = convlab::inspect::anomaly::anomaly_report(
                &test.inputs,
                &y,
                &test.anomalous,
                &test.masks,
                &test.has_mask,
                Default::default(),
            );
            eprintln!(
                "  anomaly: image AUROC {:?}, pixel AUROC {:?}",
                r.auroc, r.pixel_auroc
            );
        }
        _ => {}
    }
}

fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt().max(1e-12)
}
