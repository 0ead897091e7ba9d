//! `convlab sample CKPT`: draws images from a trained diffusion model (a checkpoint of a
//! preset with `[data.diffusion]`) by running the reverse chain, writes them as a grid, the
//! chain as a strip or an animation, and with `--judge` lets a digit classifier say how many
//! samples it recognises with confidence.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;

use crate::checkpoint::Checkpoint;
use crate::engine::parallel::DataParallel;
use crate::inspect::diffusion::{frames_for_display, judge, kept_steps, reverse_chain};
use crate::viz::views::diffusion::{chain_strip, sample_grid};

/// Moments of the chain a strip shows.
const STRIP_FRAMES: usize = 11;
/// Moments of the chain an animation shows.
const ANIMATION_FRAMES: usize = 50;

/// The flags of `convlab sample`.
#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// A trained diffusion checkpoint (.safetensors).
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoint: PathBuf,
    /// How many images to draw.
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    /// Seed of the chain's noise: the same seed draws the same images.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Visit only this many evenly spaced steps of the chain (default: all T); fewer is
    /// faster.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The samples as a grid (PNG).
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
    /// The reverse chain of the first samples as a strip from noise to image (PNG).
    #[arg(long, value_name = "FILE.png")]
    pub strip: Option<PathBuf>,
    /// The reverse chain as an animated GIF: the samples' grid at 50 moments from pure
    /// noise to the end, then the final grid held.
    #[arg(long, value_name = "FILE.gif")]
    pub animate: Option<PathBuf>,
    /// How long each frame of `--animate` shows, in milliseconds.
    #[arg(long, default_value_t = 80)]
    pub frame_ms: u32,
    /// A classifier checkpoint (e.g. a digits LeNet) that judges the samples.
    #[arg(long, value_name = "CLASSIFIER.safetensors")]
    pub judge: Option<PathBuf>,
    /// The confidence at which the classifier counts a sample as recognised.
    #[arg(long, default_value_t = 0.9)]
    pub confidence: f32,
    /// The result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `convlab sample`.
pub fn run(args: &SampleArgs) -> anyhow::Result<()> {
    let checkpoint = Checkpoint::load(&args.checkpoint)?;
    let Some(diffusion) = checkpoint.preset.data.diffusion else {
        bail!(
            "{}: not a diffusion model (its preset has no [data.diffusion])",
            args.checkpoint.display()
        );
    };
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let graph = checkpoint.graph().with_context(|| {
        format!(
            "{}: weights do not match the model",
            args.checkpoint.display()
        )
    })?;
    let [c, h, w] = checkpoint.preset.model.input;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut model = DataParallel::from_graph(graph, threads);
    let frames = if args.animate.is_some() {
        ANIMATION_FRAMES
    } else if args.strip.is_some() {
        STRIP_FRAMES
    } else {
        0
    };
    let keep = if frames > 0 {
        kept_steps(diffusion.steps, frames)
    } else {
        Vec::new()
    };
    let started = Instant::now();
    let visits = args
        .steps
        .unwrap_or(diffusion.steps)
        .clamp(1, diffusion.steps);
    let chain = reverse_chain(
        &diffusion,
        [c - 1, h, w],
        args.count,
        args.seed,
        &keep,
        Some(visits),
        |x| model.infer(x).cloned(),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let mut out = json!({
        "samples": args.count,
        "steps": diffusion.steps,
        "visited_steps": visits,
        "seed": args.seed,
        "seconds": seconds,
    });
    if let Some(path) = &args.out {
        crate::viz::draw::save_png(&sample_grid(&chain.samples), path)?;
        out["grid"] = json!(path);
    }
    if let Some(path) = &args.strip {
        // With --animate too the chain kept 50 moments; the strip shows 11 of them.
        crate::viz::draw::save_png(&chain_strip(&chain.thinned(STRIP_FRAMES), 4), path)?;
        out["strip"] = json!(path);
    }
    if let Some(path) = &args.animate {
        let mut pictures: Vec<crate::viz::Rgba> = frames_for_display(&chain)
            .iter()
            .zip(&chain.steps)
            .map(|(f, t)| {
                crate::viz::animation::captioned_frame(&sample_grid(f), &format!("t = {t}"))
            })
            .collect();
        // Hold the finished samples for a moment before the loop starts again.
        if let Some(last) = pictures.last().cloned() {
            pictures.extend(std::iter::repeat_n(last, 12));
        }
        let bytes = crate::viz::animation::gif_bytes(&pictures, args.frame_ms)?;
        crate::atomic_file::write_atomically(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        out["animation"] = json!(path);
    }
    if let Some(path) = &args.judge {
        let classifier = Checkpoint::load(path)?;
        let mut graph = classifier
            .graph()
            .with_context(|| format!("{}: weights do not match the model", path.display()))?;
        let j = judge(&chain.samples, &mut graph, args.confidence)
            .with_context(|| format!("{}: cannot classify the samples", path.display()))?;
        let names = &classifier.class_names;
        let per_class: serde_json::Map<String, serde_json::Value> = j
            .confident_per_class
            .iter()
            .enumerate()
            .map(|(k, n)| {
                (
                    names.get(k).cloned().unwrap_or_else(|| k.to_string()),
                    json!(n),
                )
            })
            .collect();
        out["confidence"] = json!(args.confidence);
        out["confident_share"] = json!(j.confident_share());
        out["distinct_classes"] = json!(j.distinct_classes());
        out["confident_per_class"] = json!(per_class);
    }
    if args.json {
        println!("{out}");
    } else {
        println!(
            "{} samples, {visits} of the chain's {} steps each, in {seconds:.1} s",
            args.count, diffusion.steps
        );
        if let Some(share) = out.get("confident_share").and_then(|v| v.as_f64()) {
            println!(
                "the classifier recognises {:.0} % of them with confidence >= {}; {} distinct classes: {}",
                share * 100.0,
                args.confidence,
                out["distinct_classes"],
                out["confident_per_class"]
            );
        }
    }
    Ok(())
}
