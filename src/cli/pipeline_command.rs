//! `convlab pipeline PRESET`: the preset's handcrafted pipeline (`[pipeline]`) on its data
//! — each stage's image, the features, the classifier's validation accuracy and confusion
//! matrix — and with `--evolve` an evolution of pipelines (`[evolution]`), with `--compare`
//! both beside the preset's network trained on the same split: the lecture's argument
//! (hand-made, evolved, learned features) as one table with times.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;

use crate::classical::pipeline::grey_image;
use crate::classical::{EvolutionSpec, Generation, evaluate, evolve};
use crate::spec::Preset;
use crate::train::Trainer;
use crate::viz::classical::{ComparisonRow, comparison_picture, evolution_picture, stages_picture};

/// The flags of `convlab pipeline`.
#[derive(clap::Args, Debug)]
pub struct PipelineArgs {
    /// A preset with a `[pipeline]` (and for --evolve optionally an `[evolution]`) section.
    #[arg(value_name = "PRESET")]
    pub preset: PathBuf,
    /// Evolve pipelines on the training split (the preset's `[evolution]`, else defaults).
    #[arg(long)]
    pub evolve: bool,
    /// Handcrafted, evolved and the preset's network side by side (trains the network for
    /// the preset's epochs).
    #[arg(long)]
    pub compare: bool,
    /// Generations of the evolution (overrides the preset).
    #[arg(long)]
    pub generations: Option<usize>,
    /// Seed of the evolution (overrides the preset).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The validation image whose stages the pictures show.
    #[arg(long, default_value_t = 0)]
    pub sample: usize,
    /// The handcrafted pipeline's stages for one image, with its features (PNG).
    #[arg(long, value_name = "FILE.png")]
    pub stages: Option<PathBuf>,
    /// The evolution's chart and best pipeline (PNG).
    #[arg(long, value_name = "FILE.png")]
    pub chart: Option<PathBuf>,
    /// The comparison table with the evolved pipeline beside the network's first learned
    /// filters (PNG; with --compare).
    #[arg(long, value_name = "FILE.png")]
    pub table: Option<PathBuf>,
    /// The result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &PipelineArgs) -> anyhow::Result<()> {
    let preset = Preset::load(&args.preset)?;
    let origin = args.preset.display().to_string();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    if preset.pipeline.is_none() && !(args.evolve || args.compare) {
        bail!(
            "{origin} has no [pipeline] section: add one (see presets/handcrafted-textures.toml) \
             or pass --evolve"
        );
    }
    let (train, val, skipped) =
        crate::data::load::load_reporting_skipped(&preset.data).with_context(|| origin.clone())?;
    super::warn_skipped(&skipped);
    let sample = args.sample.min(val.len().saturating_sub(1));
    let picture_set = if val.is_empty() { &train } else { &val };
    let mut out = json!({ "preset": preset.name, "train": train.len(), "validation": val.len() });
    if !skipped.is_empty() {
        out["skipped"] = skipped
            .iter()
            .map(|s| json!({ "path": s.path, "reason": s.reason }))
            .collect();
    }
    let mut rows = Vec::new();
    let mut evolved_best = None;
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };

    if let Some(spec) = &preset.pipeline {
        let e = evaluate(spec, &train, &val, threads).with_context(|| origin.clone())?;
        let seconds = e.feature_seconds + e.fit_seconds;
        say(format!("handcrafted: {}", spec.describe()));
        say(format!(
            "  {} features; train accuracy {:.3}, validation accuracy {:.3}; features {:.2} s, fit {:.2} s",
            e.feature_names.len(),
            e.train_accuracy,
            e.val_accuracy,
            e.feature_seconds,
            e.fit_seconds
        ));
        say(format!(
            "  confusion (rows truth, columns predicted; {}):",
            e.class_names.join(", ")
        ));
        for row in &e.confusion {
            say(format!("    {row:?}"));
        }
        out["handcrafted"] = json!({
            "pipeline": spec.describe(),
            "features": e.feature_names,
            "train_accuracy": e.train_accuracy,
            "val_accuracy": e.val_accuracy,
            "confusion": e.confusion,
            "seconds": seconds,
        });
        rows.push(ComparisonRow {
            method: "handcrafted pipeline".into(),
            effort: format!(
                "{} stages, {} features",
                spec.stages.len(),
                e.feature_names.len()
            ),
            accuracy: e.val_accuracy,
            seconds,
        });
        if let Some(path) = &args.stages {
            let img = grey_image(&picture_set.inputs, sample);
            crate::viz::draw::save_png(&stages_picture(spec, &img), path)?;
            out["stages"] = json!(path);
        }
    }

    if args.evolve || args.compare {
        let mut spec: EvolutionSpec = preset.evolution.clone().unwrap_or_default();
        if let Some(g) = args.generations {
            spec.generations = g;
        }
        if let Some(s) = args.seed {
            spec.seed = s;
        }
        let history = evolve(&spec, &train, &val, threads, |g: &Generation| {
            say(format!(
                "generation {:>3}: best fitness {:.3}, mean {:.3}, best on held-out set {:.3} ({:.1} s)",
                g.index, g.best_fitness, g.mean_fitness, g.best_test_accuracy, g.seconds
            ));
            ControlFlow::Continue(())
        })
        .with_context(|| origin.clone())?;
        let last = history.last().context("the evolution ran no generation")?;
        say(format!("evolved: {}", last.best.describe()));
        evolved_best = Some(last.best.clone());
        out["evolved"] = json!({
            "pipeline": last.best.describe(),
            "generations": last.index,
            "best_fitness": last.best_fitness,
            "val_accuracy": last.best_test_accuracy,
            "seconds": last.seconds,
            "history": history.iter().map(|g| json!({
                "generation": g.index,
                "best_fitness": g.best_fitness,
                "mean_fitness": g.mean_fitness,
                "best_val_accuracy": g.best_test_accuracy,
            })).collect::<Vec<_>>(),
        });
        rows.push(ComparisonRow {
            method: "evolved pipeline".into(),
            effort: format!(
                "{} generations of {}+{}",
                last.index, spec.parents, spec.offspring
            ),
            accuracy: last.best_test_accuracy,
            seconds: last.seconds,
        });
        if let Some(path) = &args.chart {
            let img = grey_image(&picture_set.inputs, sample);
            crate::viz::draw::save_png(&evolution_picture(&history, &img), path)?;
            out["chart"] = json!(path);
        }
    }

    if args.compare {
        // The same split the pipelines saw.
        let mut trainer = Trainer::with_data(&preset, train.clone(), val.clone())
            .with_context(|| origin.clone())?;
        trainer.set_threads(threads);
        let started = Instant::now();
        let mut last = None;
        while trainer.epochs_done() < preset.training.epochs {
            let r = trainer.step().with_context(|| origin.clone())?;
            if let Some(record) = r.finished_epoch {
                say(format!(
                    "network epoch {}: validation {} {:.3}",
                    record.epoch, record.metric, record.val_metric
                ));
                last = Some(record);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let record = last.context("the network trained no epoch")?;
        out["network"] = json!({
            "epochs": record.epoch,
            "val_accuracy": record.val_metric,
            "seconds": seconds,
            "parameters": trainer.graph().facts().total_params(),
        });
        rows.push(ComparisonRow {
            method: "convnet (learned filters)".into(),
            effort: format!(
                "{} epochs, {} weights",
                record.epoch,
                trainer.graph().facts().total_params()
            ),
            accuracy: record.val_metric,
            seconds,
        });
        if let Some(path) = &args.table {
            // The kernels and their maps of the image whose evolved stages are shown.
            let x = (sample < picture_set.len()).then(|| {
                picture_set
                    .inputs
                    .slice(ndarray::s![sample..sample + 1, .., .., ..])
                    .to_owned()
            });
            let filters =
                crate::viz::views::pipeline::first_conv_filters(trainer.graph_mut(), x.as_ref())
                    .ok()
                    .map(|(_, picture)| picture);
            let evolved_stages = evolved_best
                .as_ref()
                .map(|best| stages_picture(best, &grey_image(&picture_set.inputs, sample)));
            crate::viz::draw::save_png(&comparison_picture(&rows, evolved_stages, filters), path)?;
            out["table"] = json!(path);
        }
        say(String::new());
        for r in &rows {
            say(format!(
                "{:<28} {:<30} accuracy {:.3}  {:.1} s",
                r.method, r.effort, r.accuracy, r.seconds
            ));
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
