//! The headless commands: train, info, eval, predict (and bench). Errors here carry context for
//! the person at the terminal: which file, which key, what to do.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::checkpoint::Checkpoint;
use crate::engine::facts::{ModelFacts, ReceptiveField};
use crate::resident_memory::{mib, peak_resident_bytes, resident_bytes};
use crate::spec::Preset;
use crate::train::snapshots::{Snapshot, Snapshots};
use crate::train::{EpochRecord, Trainer};

pub mod export_pytorch_command;
pub mod onnx_commands;
pub mod pipeline_command;
pub mod predict_command;
pub mod sample_command;

#[derive(Parser, Debug)]
#[command(
    name = "convlab",
    version,
    about = "Build, train and look inside convolutional networks."
)]
#[command(
    after_help = "Without a command, `convlab [FILE]` opens the lab window (a preset .toml or a checkpoint .safetensors)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A preset or checkpoint to open in the window.
    pub file: Option<PathBuf>,
    /// Open the window, render a few frames, save a screenshot to this PNG and exit.
    #[arg(long, value_name = "OUT.png")]
    pub screenshot: Option<PathBuf>,
}

/// The flags of `convlab train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    preset: PathBuf,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads for training (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Checkpoint to write (default: <preset name>.safetensors in the current folder).
    #[arg(long, value_name = "FILE.safetensors")]
    out: Option<PathBuf>,
    /// One JSON object per epoch on stdout instead of a progress bar.
    #[arg(long)]
    json: bool,
    /// Stop after this many minibatch steps, running past the preset's epochs if needed
    /// (soak runs); the resident memory is reported at start and end.
    #[arg(long)]
    steps: Option<u64>,
    /// Keep snapshots of the weights at steps 0, 1, 2, 4, … and every epoch end (up to 64,
    /// 256 MiB) in the checkpoint, for `convlab render --at-step/--animate` and the
    /// window's timeline.
    #[arg(long)]
    snapshots: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a preset and write a checkpoint.
    Train(TrainArgs),
    /// Per-node table: shapes, parameters, FLOPs, receptive fields.
    Info {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write a checkpoint or preset as an ONNX model (opset 17, eval mode).
    ExportOnnx(onnx_commands::ExportArgs),
    /// Read an ONNX model into a checkpoint that opens in the window.
    ImportOnnx(onnx_commands::ImportArgs),
    /// Write a preset or checkpoint as a PyTorch project: model.py, train.py, README.md,
    /// the weights (.safetensors) and the data.
    ExportPytorch(export_pytorch_command::ExportPytorchArgs),
    /// One forward and backward pass written as NumPy .npy files with a manifest.json.
    Dump(crate::dump::DumpArgs),
    /// One view of a model for one input or its data set, as a PNG.
    #[command(about = crate::render::about())]
    Render(Box<crate::render::RenderArgs>),
    /// Time the four reference models of ../shared/perf/baseline.md and single conv ops.
    Bench {
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: bool,
        /// Fewer repetitions (a smoke test, not a measurement).
        #[arg(long)]
        quick: bool,
        /// Paired runs against PyTorch: the path of torch_baseline.py
        /// (../shared/perf/torch_baseline.py), run right after each ConvLab run; prints
        /// the ratios with their spread over the pairs.
        #[arg(long, value_name = "TORCH_BASELINE.PY")]
        vs_torch: Option<std::path::PathBuf>,
        /// Pairs to run with --vs-torch.
        #[arg(long, default_value_t = 3)]
        pairs: usize,
    },
    /// What a model says about image files: top classes with names, a segmenter's class
    /// shares, an autoencoder's anomaly score.
    Predict(predict_command::PredictArgs),
    /// Draw images from a trained diffusion model: a grid, the reverse chain as a strip,
    /// and a classifier's verdict on them.
    Sample(sample_command::SampleArgs),
    /// A handcrafted image pipeline (classical operators, features, a simple classifier),
    /// its evolution, and both beside the preset's network.
    Pipeline(pipeline_command::PipelineArgs),
    /// The validation metric of a checkpoint (plus AUROC or IoU where they apply).
    Eval {
        checkpoint: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// A preset file, or the preset inside a checkpoint.
fn load_preset_or_checkpoint(path: &Path) -> anyhow::Result<(Preset, Option<Checkpoint>)> {
    let is_checkpoint = path.extension().is_some_and(|e| e == "safetensors");
    if is_checkpoint {
        let ck = Checkpoint::load(path)?;
        Ok((ck.preset.clone(), Some(ck)))
    } else {
        Ok((Preset::load(path)?, None))
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Train(args)) => train(&args),
        Some(Command::Info { file, json }) => info(&file, json),
        Some(Command::Eval { checkpoint, json }) => eval(&checkpoint, json),
        Some(Command::Bench {
            threads,
            json,
            quick,
            vs_torch,
            pairs,
        }) => {
            if threads == 0 {
                bail!("--threads must be at least 1");
            }
            match vs_torch {
                Some(script) => crate::bench::vs_torch::run(&script, threads, pairs, quick),
                None => crate::bench::run(threads, json, quick),
            }
        }
        Some(Command::ExportOnnx(args)) => onnx_commands::export_onnx(&args),
        Some(Command::ImportOnnx(args)) => onnx_commands::import_onnx(&args),
        Some(Command::ExportPytorch(args)) => export_pytorch_command::run(&args),
        Some(Command::Dump(args)) => crate::dump::run_dump(&args),
        Some(Command::Render(args)) => crate::render::run(&args),
        Some(Command::Predict(args)) => predict_command::run(&args),
        Some(Command::Sample(args)) => sample_command::run(&args),
        Some(Command::Pipeline(args)) => pipeline_command::run(&args),
        None => bail!("no command"),
    }
}

/// The text shown for an error at the terminal: each context, then its cause, joined by
/// ": " (anyhow's `{:#}`). A library error prints its cause in its own message or gives it
/// as its source, never both, so no cause is repeated.
pub fn report(error: &anyhow::Error) -> String {
    format!("{error:#}")
}

fn fmt_duration(s: f64) -> String {
    if !s.is_finite() {
        return "?".into();
    }
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Files of a class folder that could not be read: left out of the data, and said so.
fn warn_skipped(skipped: &[crate::data::folder::Skipped]) {
    for s in skipped {
        eprintln!("warning: skipped {}: {}", s.path.display(), s.reason);
    }
}

fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let TrainArgs {
        preset: ref path,
        epochs,
        seed,
        threads,
        ref out,
        json,
        steps,
        snapshots: keep_snapshots,
    } = *args;
    let mut preset = Preset::load(path)?;
    if let Some(e) = epochs {
        preset.training.epochs = e;
    }
    if let Some(s) = seed {
        preset.training.seed = s;
    }
    if threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    if steps == Some(0) {
        bail!("--steps must be at least 1");
    }
    let out = out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.safetensors", preset.name)));
    let (train_set, val_set, skipped) = crate::data::load::load_reporting_skipped(&preset.data)
        .with_context(|| path.display().to_string())?;
    warn_skipped(&skipped);
    let mut trainer = Trainer::with_data(&preset, train_set, val_set)
        .with_context(|| path.display().to_string())?;
    if let Some(t) = threads {
        trainer.set_threads(t);
    }
    let steps_per_epoch = trainer.steps_per_epoch().max(1) as u64;
    let planned_steps = steps.unwrap_or(preset.training.epochs as u64 * steps_per_epoch);
    let total_epochs = planned_steps.div_ceil(steps_per_epoch);
    let tty = !json && std::io::stderr().is_terminal();
    let memory_at_start = resident_bytes();
    if !json {
        let facts = trainer.graph().facts();
        eprintln!(
            "training {} on {} ({} train / {} validation samples), {} parameters, {} epochs ({} steps)",
            preset.name,
            preset.data.source.label(),
            trainer.train.len(),
            trainer.val.len(),
            facts.total_params(),
            total_epochs,
            planned_steps
        );
    }
    let mut snapshots = keep_snapshots.then(Snapshots::default);
    let position = |step: u64| step as f64 / steps_per_epoch as f64;
    if let Some(s) = &mut snapshots {
        s.keep(Snapshot::of(trainer.graph(), 0, 0.0));
    }
    let started = Instant::now();
    let mut seen = 0usize;
    let mut memory_after_first_epoch = None;
    for done in 1..=planned_steps {
        let r = trainer.step().with_context(|| path.display().to_string())?;
        seen += r.batch_size;
        if let Some(s) = &mut snapshots
            && s.wants(done, r.finished_epoch.is_some())
        {
            s.keep(Snapshot::of(trainer.graph(), done, position(done)));
        }
        if tty && (r.step.is_multiple_of(5) || r.step == r.steps_per_epoch) {
            let elapsed = started.elapsed().as_secs_f64();
            let rate = seen as f64 / elapsed.max(1e-9);
            let eta = elapsed / done as f64 * (planned_steps - done) as f64;
            let width = 24;
            let filled = (width as u64 * done / planned_steps) as usize;
            eprint!(
                "\r[{}{}] epoch {}/{total_epochs} step {}/{} loss {:.4} {:.0} img/s ETA {}   ",
                "#".repeat(filled),
                "-".repeat(width - filled),
                r.epoch,
                r.step,
                r.steps_per_epoch,
                r.loss,
                rate,
                fmt_duration(eta)
            );
        }
        let Some(record) = r.finished_epoch else {
            continue;
        };
        let resident = resident_bytes();
        memory_after_first_epoch = memory_after_first_epoch.or(resident);
        if json {
            let mut line = epoch_json(&record);
            line["resident_mib"] = json!(resident.map(mib));
            println!("{line}");
        } else {
            if tty {
                eprint!("\r{:100}\r", "");
            }
            eprintln!(
                "epoch {:>3}/{total_epochs}: train loss {:.4}  val loss {:.4}  train {} {:.4}  val {} {:.4}  {:.0} img/s",
                record.epoch,
                record.train_loss,
                record.val_loss,
                record.metric,
                record.train_metric,
                record.metric,
                record.val_metric,
                record.images_per_s
            );
            if let Some(e) = record.elbo {
                eprintln!(
                    "           ELBO terms: train reconstruction {:.5}  KL {:.3}   val reconstruction {:.5}  KL {:.3}",
                    e.train_recon, e.train_kl, e.val_recon, e.val_kl
                );
            }
        }
    }
    // A segmentation folder's colour-coded masks: their colours travel with the names.
    let palette = match &trainer.preset.data.source {
        crate::data::DataSource::SegmentationFolder(folder) => folder
            .palette()
            .with_context(|| format!("{}: the masks' colours", path.display()))?,
        _ => None,
    };
    let mut ck = Checkpoint::from_graph(&trainer.preset, trainer.graph(), &trainer.history)
        .with_class_names(&trainer.train.class_names)
        .with_palette(palette);
    if let Some(mut s) = snapshots {
        // The last moment is the checkpoint's own weights.
        s.keep(Snapshot::of(
            trainer.graph(),
            planned_steps,
            position(planned_steps),
        ));
        eprintln!(
            "kept {} snapshots ({:.1} MiB)",
            s.len(),
            mib(s.bytes() as u64)
        );
        ck = ck.with_snapshots(s.entries().to_vec());
    }
    ck.save(&out)?;
    if !json {
        if tty {
            eprint!("\r{:100}\r", "");
        }
        let last = trainer.history.epochs.last();
        eprintln!(
            "done in {:.1} s ({planned_steps} steps); final validation {} {}; checkpoint written to {}",
            started.elapsed().as_secs_f64(),
            last.map_or("-".into(), |r| r.metric.clone()),
            last.map_or("-".into(), |r| format!("{:.4}", r.val_metric)),
            out.display()
        );
    }
    // On stderr in both modes: a soak run reads it next to the JSON lines.
    let show = |b: Option<u64>| b.map_or("unknown".into(), |b| format!("{:.1} MiB", mib(b)));
    eprintln!(
        "resident memory: {} before training, {} after the first epoch, {} at the end, {} peak",
        show(memory_at_start),
        show(memory_after_first_epoch),
        show(resident_bytes()),
        show(peak_resident_bytes())
    );
    Ok(())
}

fn epoch_json(r: &EpochRecord) -> serde_json::Value {
    json!({
        "epoch": r.epoch,
        "train_loss": r.train_loss,
        "val_loss": r.val_loss,
        "train_metric": r.train_metric,
        "val_metric": r.val_metric,
        "metric": r.metric,
        "images_per_s": r.images_per_s,
        "seconds": r.seconds,
        "learning_rate": r.learning_rate,
        "train_recon": r.elbo.map(|e| e.train_recon),
        "train_kl": r.elbo.map(|e| e.train_kl),
        "val_recon": r.elbo.map(|e| e.val_recon),
        "val_kl": r.elbo.map(|e| e.val_kl),
    })
}

fn rf_json(rf: &ReceptiveField) -> serde_json::Value {
    json!({ "size": rf.size, "jump": rf.jump, "offset": rf.offset })
}

fn fmt_rf(rf: &ReceptiveField) -> String {
    let f = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v}")
        } else {
            format!("{v:.2}")
        }
    };
    if rf.size[0] == rf.size[1] {
        f(rf.size[0])
    } else {
        format!("{}×{}", f(rf.size[0]), f(rf.size[1]))
    }
}

fn info_json(facts: &ModelFacts) -> serde_json::Value {
    json!({
        "input_shape": facts.input,
        "nodes": facts.nodes.iter().map(|n| json!({
            "name": n.name,
            "kind": n.kind,
            "inputs": n.inputs,
            "output_shape": n.output,
            "params": n.params,
            "param_formula": n.param_formula,
            "flops": n.flops,
            "receptive_field": rf_json(&n.receptive_field),
        })).collect::<Vec<_>>(),
        "total_params": facts.total_params(),
        "total_flops": facts.total_flops(),
    })
}

fn info(path: &Path, json: bool) -> anyhow::Result<()> {
    let (preset, _) = load_preset_or_checkpoint(path)?;
    let facts =
        crate::engine::facts::infer(&preset.model).with_context(|| path.display().to_string())?;
    if json {
        println!("{}", info_json(&facts));
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} — input {}×{}×{}",
        preset.name, facts.input[0], facts.input[1], facts.input[2]
    );
    let _ = writeln!(
        out,
        "{:<12} {:<16} {:<14} {:>14} {:>10} {:<22} {:>12} {:>6}",
        "node", "kind", "inputs", "output", "params", "formula", "FLOPs", "RF"
    );
    for n in &facts.nodes {
        let shape = format!("{}×{}×{}", n.output[0], n.output[1], n.output[2]);
        let _ = writeln!(
            out,
            "{:<12} {:<16} {:<14} {:>14} {:>10} {:<22} {:>12} {:>6}",
            n.name,
            n.kind,
            n.inputs.join(","),
            shape,
            n.params,
            n.param_formula,
            n.flops,
            fmt_rf(&n.receptive_field)
        );
    }
    let _ = writeln!(
        out,
        "total: {} parameters, {} FLOPs per sample (forward)",
        facts.total_params(),
        facts.total_flops()
    );
    Ok(())
}

fn eval(path: &Path, json: bool) -> anyhow::Result<()> {
    let ck = Checkpoint::load(path)?;
    let mut trainer = Trainer::new(&ck.preset).with_context(|| path.display().to_string())?;
    for (name, value) in &ck.params {
        trainer.graph_mut().set_param(name, value.clone())?;
    }
    let val = trainer.val.clone();
    let data = if val.is_empty() {
        trainer.train.clone()
    } else {
        val
    };
    let terms = trainer
        .evaluate_terms(&data)
        .with_context(|| path.display().to_string())?;
    let (loss, value) = (terms.loss, terms.metric);
    let vae = trainer.is_vae();
    let metric = trainer.metric().name();
    let names = if ck.class_names.is_empty() {
        data.class_names.clone()
    } else {
        ck.class_names.clone()
    };
    let classes =
        per_class(&mut trainer, &data, &names).with_context(|| path.display().to_string())?;
    if json {
        let mut obj =
            json!({ "metric": metric, "value": value, "loss": loss, "samples": data.len() });
        obj[metric] = json!(value);
        if vae {
            obj["recon"] = json!(terms.recon);
            obj["kl"] = json!(terms.kl);
        }
        for (key, v) in
            extra_scores(&mut trainer, &data).with_context(|| path.display().to_string())?
        {
            obj[key] = json!(v);
        }
        if let Some(classes) = &classes {
            obj["classes"] = classes
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "samples": c.samples,
                        "accuracy": c.correct as f64 / c.samples as f64,
                    })
                })
                .collect();
        }
        println!("{obj}");
    } else {
        println!(
            "{metric} {value:.4} (loss {loss:.4}) on {} validation samples",
            data.len()
        );
        if vae {
            println!(
                "ELBO terms: reconstruction {:.5}, KL {:.4} (β = {})",
                terms.recon, terms.kl, trainer.preset.training.kl_weight
            );
        }
        for (key, v) in
            extra_scores(&mut trainer, &data).with_context(|| path.display().to_string())?
        {
            println!("{key} {v:.4}");
        }
        for c in classes.iter().flatten() {
            println!(
                "  {}: {}/{} right ({:.1} %)",
                c.name,
                c.correct,
                c.samples,
                100.0 * c.correct as f64 / c.samples as f64
            );
        }
    }
    Ok(())
}

/// The model's outputs for every sample of `x`, 64 at a time.
fn infer(
    trainer: &mut Trainer,
    x: &crate::engine::Tensor<f32>,
) -> anyhow::Result<crate::engine::Tensor<f32>> {
    let mut parts = Vec::new();
    for start in (0..x.shape()[0]).step_by(64) {
        let end = (start + 64).min(x.shape()[0]);
        let chunk = x.slice(ndarray::s![start..end, .., .., ..]).to_owned();
        parts.push(
            trainer
                .graph_mut()
                .forward(&chunk, crate::engine::Mode::Eval)?
                .clone(),
        );
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    Ok(ndarray::concatenate(ndarray::Axis(0), &views)?)
}

/// One class's share of correct answers.
struct ClassScore {
    name: String,
    samples: usize,
    correct: usize,
}

/// Accuracy per class, by name, for a classifier (one score per class and sample); `None`
/// for other models.
fn per_class(
    trainer: &mut Trainer,
    data: &crate::data::Dataset,
    names: &[String],
) -> anyhow::Result<Option<Vec<ClassScore>>> {
    let crate::data::Targets::Labels(labels) = &data.targets else {
        return Ok(None);
    };
    let y = infer(trainer, &data.inputs)?;
    let (_, k, h, w) = y.dim();
    if h * w != 1 || k < 2 {
        return Ok(None);
    }
    let mut scores: Vec<ClassScore> = (0..k)
        .map(|c| ClassScore {
            name: names.get(c).cloned().unwrap_or_else(|| c.to_string()),
            samples: 0,
            correct: 0,
        })
        .collect();
    let predicted = crate::train::metrics::argmax_channels(&y);
    for (&predicted, &label) in predicted.iter().zip(labels) {
        if let Some(s) = scores.get_mut(label) {
            s.samples += 1;
            s.correct += usize::from(predicted == label);
        }
    }
    scores.retain(|s| s.samples > 0);
    Ok(Some(scores))
}

/// Task-specific scores beside the main metric: AUROC for an autoencoder trained on normal
/// images, mean IoU and Dice for segmentation, the classical baselines' PSNR and every SSIM
/// for denoising and super-resolution, and for an autoencoder on images with masks the mean
/// IoU of its unsupervised segmentation (and of k-means on the raw pixels).
fn extra_scores(
    trainer: &mut Trainer,
    data: &crate::data::Dataset,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    use crate::inspect::anomaly::{ScoreOptions, anomaly_report, segmentation_scores};
    let mut out = Vec::new();
    if let Some(patches) = trainer.preset.data.patches
        && let Some((train, val)) = crate::data::load::whole_images(&trainer.preset.data)?
    {
        // A patch classifier: besides its patch accuracy, the whole validation images it
        // segments by classifying the patch around every pixel (the first
        // MAX_PATCH_IMAGES of them, as the segmentation view does, since every pixel is a
        // forward pass), their IoU against the masks and the seconds each image took: the
        // numbers the vessels-unet walkthrough compares with the U-Net's.
        use crate::viz::views::segmentation::compute_patches;
        let images = if val.is_empty() { &train } else { &val };
        let scores = compute_patches(trainer.graph_mut(), images, patches.size, 0.5, 1024)?;
        out.push(("whole_image_iou", scores.total.mean_iou));
        out.push(("whole_image_dice", scores.total.mean_dice));
        // 0/1 masks (vessels): the foreground's own IoU, the number the walkthroughs quote.
        if let (2, Some(foreground)) = (scores.total.iou.len(), scores.total.foreground_iou) {
            out.push(("whole_image_foreground_iou", foreground));
        }
        out.push(("seconds_per_image", scores.seconds_per_image));
        out.push(("whole_images", scores.len() as f64));
    } else if let Some(load) = crate::data::textures::anomaly_set(&trainer.preset.data)? {
        let test = &load.set.test;
        if !test.is_empty()
            && trainer.graph().facts().output()
                == [
                    test.inputs.shape()[1],
                    test.inputs.shape()[2],
                    test.inputs.shape()[3],
                ]
        {
            let recon = infer(trainer, &test.inputs)?;
            let report = anomaly_report(
                &test.inputs,
                &recon,
                &test.anomalous,
                &test.masks,
                &test.has_mask,
                ScoreOptions::default(),
            );
            if let Some(a) = report.auroc {
                out.push(("auroc", a));
            }
            if let Some(a) = report.pixel_auroc {
                out.push(("pixel_auroc", a));
            }
            // The plain per-image MSE as a score too, and for a VAE the code's KL and the
            // negative ELBO.
            let kl_weight = trainer.preset.training.kl_weight;
            let others = crate::inspect::latent::score_aurocs(
                trainer.graph_mut(),
                &test.inputs,
                &recon,
                &test.anomalous,
                kl_weight,
            )?;
            out.extend(others.into_iter().map(|s| (s.key, s.auroc)));
        }
    } else if matches!(
        trainer.preset.training.loss,
        crate::engine::LossKind::BceWithLogits | crate::engine::LossKind::Dice
    ) && let crate::data::Targets::Dense(targets) = &data.targets
    {
        let logits = infer(trainer, &data.inputs)?;
        let (all, _) = segmentation_scores(&logits, targets, 0.5);
        out.push(("mean_iou", all.mean_iou));
        out.push(("dice", all.mean_dice));
    } else if trainer.preset.data.denoise.is_some()
        && let crate::data::Targets::Dense(clean) = &data.targets
    {
        // The classical filters on the same noisy validation images, beside the model's PSNR.
        let b = crate::inspect::denoise::baselines(&data.inputs, clean)?;
        out.push(("psnr_noisy", b.noisy));
        out.push(("psnr_blur", b.blur.psnr));
        out.push(("psnr_median", b.median.psnr));
        let denoised = infer(trainer, &data.inputs)?;
        let ssims = [
            (
                "ssim",
                crate::inspect::denoise::ssim_if_fits(&denoised, clean),
            ),
            ("ssim_noisy", b.noisy_ssim),
            ("ssim_blur", b.blur.ssim),
            ("ssim_median", b.median.ssim),
        ];
        out.extend(ssims.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    } else if trainer.preset.data.reconstruct
        && let Some(truth) = crate::data::load::pixel_classes(&trainer.preset.data)?
        && truth.classes.shape()[0] == data.len()
    {
        // Unsupervised segmentation: k-means on the encoder's features of the first
        // validation images, as the unsupervised-segmentation view computes it, and on the
        // raw pixels; segments matched to the masks.
        use crate::viz::views::unsupervised_segmentation::{UnsupOptions, compute};
        let opts = UnsupOptions {
            k: None,
            window: None,
            truth: Some(truth),
            seed: trainer.preset.training.seed,
            nodes: trainer.preset.unsupervised_nodes(),
        };
        let r = compute(trainer.graph_mut(), data, None, &opts)?;
        if let (Some(f), Some(raw)) = (&r.features.scores, &r.raw.scores) {
            out.push(("mean_iou", f.mean_iou));
            out.push(("pixel_accuracy", f.pixel_accuracy));
            out.push(("mean_iou_raw_pixels", raw.mean_iou));
            out.push(("pixel_accuracy_raw_pixels", raw.pixel_accuracy));
            out.push(("segmented_images", r.inputs.shape()[0] as f64));
        }
    } else if let Some(sr) = trainer.preset.data.super_resolution
        && let crate::data::Targets::Dense(clean) = &data.targets
    {
        // Bilinear and bicubic enlargement of the same low-resolution validation images.
        use crate::inspect::super_resolution::{baselines, score};
        let b = baselines(clean, &sr)?;
        let upscaled = infer(trainer, &data.inputs)?;
        let model = score(&upscaled, clean)?;
        out.push(("ssim", model.ssim));
        out.push(("psnr_bilinear", b.bilinear.psnr));
        out.push(("ssim_bilinear", b.bilinear.ssim));
        out.push(("psnr_bicubic", b.bicubic.psnr));
        out.push(("ssim_bicubic", b.bicubic.ssim));
    }
    Ok(out)
}
