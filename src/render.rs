//! `convlab render`: one inspection view of a model for one input, saved as a PNG — the
//! same pictures the window shows (see [`crate::viz::views`]).

use anyhow::{Context, anyhow};
use std::path::PathBuf;

use crate::checkpoint::Checkpoint;
use crate::data::Targets;
use crate::data::folder::{ImageOptions, load_image};
use crate::engine::Tensor;
use crate::engine::model_spec::PaddingMode;
use crate::inspect::covariance::ShiftMode;
use crate::inspect::routing::LectureCase;
use crate::spec::Preset;
use crate::spec::view::{ViewId, ViewSource};
use crate::train::EpochRecord;
use crate::viz::draw::save_png;
use crate::viz::maps::Norm;
use crate::viz::views::conv_arithmetic::ArithOptions;
use crate::viz::views::top_patches::node_or_default;
use crate::viz::views::training::{EpochPoint, RunCurves};
use crate::viz::views::{ViewInput, ViewRequest, ViewTarget, render_from_settings, render_view};
use crate::viz::{Rgba, VizError};

#[derive(clap::Args, Debug, Clone)]
pub struct RenderArgs {
    /// A checkpoint (.safetensors), or a preset (.toml) with freshly initialised weights.
    pub model: PathBuf,
    /// The view (its help lists them all; conv-arithmetic does not read MODEL).
    #[arg(long, value_parser = parse_view, help = view_help())]
    pub view: ViewId,
    #[arg(long, value_name = "FILE.png", required_unless_present = "animate")]
    pub out: Option<PathBuf>,
    /// Show the model as it was at this training step: the checkpoint's last snapshot at
    /// or before it (checkpoints keep snapshots with `convlab train --snapshots`).
    #[arg(long, value_name = "N", conflicts_with = "animate")]
    pub at_step: Option<u64>,
    /// The view at every snapshot of the checkpoint, in step order, as an animated GIF.
    #[arg(long, value_name = "OUT.gif")]
    pub animate: Option<PathBuf>,
    /// --animate: how long each frame shows, in milliseconds.
    #[arg(long, default_value_t = 400, value_name = "MS")]
    pub frame_ms: u32,
    /// An image file as input (resized to the model's input; grey or RGB by its channels).
    /// Super-resolution: the whole image to enlarge, at its own size.
    #[arg(long, value_name = "IMAGE", conflicts_with = "sample")]
    pub input: Option<PathBuf>,
    /// Which validation sample to use (default 0).
    #[arg(long, value_name = "K")]
    pub sample: Option<usize>,
    /// The node to show (default: chosen per view).
    #[arg(long)]
    pub node: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub channel: usize,
    /// Receptive field: the unit as CHANNEL,ROW,COL (default: the centre of --channel).
    #[arg(long, value_name = "C,ROW,COL")]
    pub unit: Option<String>,
    /// Covariance: the input shift in pixels as ROWS,COLS (default 2,2).
    #[arg(long, value_name = "DY,DX", allow_hyphen_values = true)]
    pub shift: Option<String>,
    /// Covariance: shift in zeros instead of rolling the image around.
    #[arg(long)]
    pub zero_shift: bool,
    /// Saliency / Grad-CAM class (default: the sample's label, else the prediction).
    #[arg(long)]
    pub class: Option<usize>,
    /// Pool routing: the lecture's 4×4 example: 2x2s2, 3x3s1 or 2x2s1.
    #[arg(long)]
    pub lecture: Option<String>,
    /// Pool routing: outline the window of output cell ROW,COL.
    #[arg(long, value_name = "ROW,COL")]
    pub select: Option<String>,
    /// Pool routing: step-by-step mode after this many windows. Conv arithmetic: the step
    /// shown, from 1 (default: half-way). Diffusion: the step t whose prediction is shown
    /// (default T/2).
    #[arg(long)]
    pub step: Option<usize>,
    /// Diffusion: the seed of the samples the reverse chain draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Conv arithmetic options (boxed: they would make every CLI command larger).
    #[command(flatten)]
    pub arith: Box<ArithArgs>,
    /// One colour scale for all maps of a node instead of one per map.
    #[arg(long)]
    pub shared: bool,
    /// Decision: only the class (or sign), without the model's sureness.
    #[arg(long)]
    pub discrete: bool,
    /// Unsupervised segmentation: the number of k-means segments (default: the masks'
    /// classes, else 3).
    #[arg(long, value_name = "K")]
    pub segments: Option<usize>,
    /// Unsupervised segmentation: the side of the window features are averaged over (and
    /// the raw pixels' local mean and standard deviation taken in); default 9.
    #[arg(long, value_name = "PIXELS")]
    pub window: Option<usize>,
    /// Single unit: draw the surface with this activation instead of the model's: identity,
    /// sigmoid, tanh, relu or steep-sigmoid.
    #[arg(long, default_value = "model")]
    pub activation: crate::viz::views::unit::Surface,
}

/// The convolution arithmetic sandbox's settings.
#[derive(clap::Args, Debug, Clone)]
pub struct ArithArgs {
    /// Conv arithmetic: the input side (default 5, transposed 3).
    #[arg(long)]
    pub size: Option<usize>,
    /// Conv arithmetic: the kernel side.
    #[arg(long, default_value_t = 3)]
    pub kernel: usize,
    /// Conv arithmetic: padding on each side (default 1; transposed: cropping, default 0).
    #[arg(long)]
    pub padding: Option<usize>,
    /// Conv arithmetic: zeros, reflect or replicate.
    #[arg(long, default_value = "zeros")]
    pub padding_mode: String,
    /// Conv arithmetic: the stride.
    #[arg(long, default_value_t = 2)]
    pub stride: usize,
    /// Conv arithmetic: the dilation.
    #[arg(long, default_value_t = 1)]
    pub dilation: usize,
    /// Conv arithmetic: transposed convolution (each input cell stamps the kernel).
    #[arg(long)]
    pub transposed: bool,
}

/// `convlab render`'s line in the command list: what it does and every view it draws.
pub fn about() -> String {
    format!(
        "One view ({}) of a model for one input, its data set or its run, as a PNG",
        ViewId::list(ViewId::renderable())
    )
}

/// `--view`'s help: every view `convlab render` draws, by name.
fn view_help() -> String {
    format!(
        "The view: {} (training: the loss and metric curves a checkpoint keeps; top-patches: \
         the nine validation images that excite --channel of --node most; conv-arithmetic \
         does not read MODEL)",
        ViewId::list(ViewId::renderable())
    )
}

/// A view by name or alias.
fn parse_view(s: &str) -> anyhow::Result<ViewId> {
    s.parse::<ViewId>().map_err(|e| {
        anyhow!(
            "unknown view '{}'; views: {}",
            e.0,
            ViewId::list(ViewId::renderable())
        )
    })
}

fn numbers<T: std::str::FromStr>(s: &str, n: usize, what: &str) -> anyhow::Result<Vec<T>> {
    let v: Result<Vec<T>, _> = s.split(',').map(|p| p.trim().parse::<T>()).collect();
    match v {
        Ok(v) if v.len() == n => Ok(v),
        _ => Err(anyhow!(
            "--{what} takes {n} comma-separated numbers, got '{s}'"
        )),
    }
}

/// The sandbox's settings from the command line (the padding mode by name).
fn arithmetic(args: &RenderArgs) -> anyhow::Result<ArithOptions> {
    let a = &args.arith;
    let padding_mode = match a.padding_mode.as_str() {
        "zeros" => PaddingMode::Zeros,
        "reflect" => PaddingMode::Reflect,
        "replicate" => PaddingMode::Replicate,
        o => {
            return Err(anyhow!(
                "--padding-mode takes zeros, reflect or replicate, got '{o}'"
            ));
        }
    };
    Ok(ArithOptions {
        size: a.size,
        kernel: a.kernel,
        padding: a.padding,
        padding_mode,
        stride: a.stride,
        dilation: a.dilation,
        transposed: a.transposed,
        step: args.step,
    })
}

/// A run's epochs (the history a checkpoint keeps, or the window's run), as the training
/// view draws them: the window's figure export calls this too, so both draw the same.
pub fn run_curves(epochs: &[EpochRecord]) -> RunCurves {
    RunCurves {
        metric: epochs.last().map_or_else(String::new, |e| e.metric.clone()),
        epochs: epochs
            .iter()
            .map(|e| EpochPoint {
                epoch: e.epoch,
                train_loss: e.train_loss,
                val_loss: e.val_loss,
                train_metric: e.train_metric,
                val_metric: e.val_metric,
                elbo: e
                    .elbo
                    .map(|t| [t.train_recon, t.train_kl, t.val_recon, t.val_kl]),
            })
            .collect(),
    }
}

/// The request of the command line's options (class names are the data's, set later).
fn request(args: &RenderArgs) -> anyhow::Result<ViewRequest> {
    let lecture = match args.lecture.as_deref() {
        None => None,
        Some("2x2s2") => Some(LectureCase::K2S2),
        Some("3x3s1") => Some(LectureCase::K3S1),
        Some("2x2s1") => Some(LectureCase::K2S1),
        Some(o) => return Err(anyhow!("--lecture takes 2x2s2, 3x3s1 or 2x2s1, got '{o}'")),
    };
    Ok(ViewRequest {
        node: args.node.clone(),
        channel: args.channel,
        unit: args
            .unit
            .as_deref()
            .map(|s| numbers::<usize>(s, 3, "unit").map(|v| (v[0], v[1], v[2])))
            .transpose()?,
        shift: args
            .shift
            .as_deref()
            .map(|s| numbers::<isize>(s, 2, "shift").map(|v| (v[0], v[1])))
            .transpose()?,
        shift_mode: if args.zero_shift {
            ShiftMode::Zeros
        } else {
            ShiftMode::Circular
        },
        class: args.class,
        lecture,
        selected: args
            .select
            .as_deref()
            .map(|s| numbers::<usize>(s, 2, "select").map(|v| (v[0], v[1])))
            .transpose()?,
        steps: args.step,
        opacity: None,
        norm: if args.shared {
            Norm::Shared
        } else {
            Norm::PerChannel
        },
        class_names: Vec::new(),
        sample: args.sample,
        arithmetic: ArithOptions::default(),
        points: crate::viz::views::point_options::PointOptions {
            discrete: args.discrete,
            surface: args.activation,
            pick: None,
            // The data's, once the model's preset is read.
            features: Vec::new(),
        },
        super_resolution: None,
        whole_image: None,
        patch_images: None,
        latent: Default::default(),
        kl_weight: 0.0,
        // The preset's, once it is read.
        diffusion: None,
        timestep: args.step,
        seed: args.seed,
        pipeline: None,
        evolution: None,
        unsupervised: crate::viz::views::unsupervised_segmentation::UnsupOptions {
            k: args.segments,
            window: args.window,
            // The masks and the seed: the preset's, once it is read.
            truth: None,
            seed: 0,
            nodes: Vec::new(),
        },
    })
}

fn write(img: &Rgba, args: &RenderArgs, what: &str) -> anyhow::Result<()> {
    let out = args.out.as_ref().ok_or_else(|| {
        anyhow!("--out FILE.png is needed: --animate plays back a model's training, not this view")
    })?;
    save_png(img, out)?;
    eprintln!(
        "wrote {} ({}×{}, view {what})",
        out.display(),
        img.width,
        img.height
    );
    Ok(())
}

/// Runs `convlab render`.
pub fn run(args: &RenderArgs) -> anyhow::Result<()> {
    let view = args.view;
    let mut req = request(args)?;
    if view.source() == ViewSource::Nothing {
        // Drawn from its settings alone: MODEL is not read.
        req.arithmetic = arithmetic(args)?;
        let img = render_from_settings(view, &req).with_context(|| format!("the {view} view"))?;
        return write(&img, args, view.name());
    }
    let (checkpoint, trained) = Checkpoint::open(&args.model, None)?;
    let mut graph = checkpoint
        .graph()
        .context("weights do not match the model")?;
    let preset = &checkpoint.preset;
    // The class names the model was trained with; the data's when the file has none.
    let names = |data: &[String]| {
        if checkpoint.class_names.is_empty() {
            data.to_vec()
        } else {
            checkpoint.class_names.clone()
        }
    };
    req.class_names = names(&[]);
    req.kl_weight = preset.training.kl_weight;
    req.diffusion = preset.data.diffusion;
    req.pipeline = preset.pipeline.clone();
    req.evolution = preset.evolution.clone();
    // The plane's points are fed as the data's are: x, y and its hand-made features.
    req.points.features = preset.data.source.source().input_features().to_vec();
    // What the view looks at, read once: every moment of an animation shows the same
    // input.
    let loaded = match view.source() {
        ViewSource::Nothing => unreachable!("drawn above"),
        ViewSource::Run => Loaded::Run(run_curves(&checkpoint.history.epochs)),
        ViewSource::DataSet if view == ViewId::Anomaly => Loaded::Anomaly(
            crate::data::textures::anomaly_set(&preset.data)
                .context("data")?
                .ok_or(VizError::NeedsAnomalySet)?
                .set
                .test,
        ),
        ViewSource::DataSet => {
            req.super_resolution = preset.data.super_resolution;
            if view == ViewId::SuperResolution
                && let Some(path) = &args.input
            {
                // The whole image to enlarge, at its own size.
                let img = image::open(path).with_context(|| path.display().to_string())?;
                let channels = checkpoint.preset.model.input[0];
                req.whole_image = Some(
                    crate::viz::views::super_resolution::image_chw(&img, channels)
                        .with_context(|| path.display().to_string())?,
                );
            }
            if view == ViewId::Segmentation
                && let (Some(p), Some((_, whole_val))) = (
                    preset.data.patches,
                    crate::data::load::whole_images(&preset.data).context("data")?,
                )
            {
                req.patch_images = Some((p.size, whole_val));
            }
            let (train, val) = crate::data::load::load(&preset.data).context("data")?;
            req.class_names = names(&if val.is_empty() { &train } else { &val }.class_names);
            if view == ViewId::UnsupervisedSegmentation {
                // A reconstruction task's targets are the images: the masks come from the
                // source. k-means is seeded by the training seed, as `convlab eval` is.
                req.unsupervised.truth = crate::data::load::pixel_classes(&preset.data)
                    .context("data")?
                    .filter(|t| t.classes.shape()[0] == val.len());
                req.unsupervised.seed = preset.training.seed;
                req.unsupervised.nodes = preset.unsupervised_nodes();
            }
            if view == ViewId::Latent
                && !val.is_empty()
                && let Some((labels, class_names)) =
                    crate::data::load::class_labels(&preset.data).context("data")?
            {
                // A reconstruction task's targets are images: the labels come from the
                // source, for the scatter's colours.
                req.latent.labels = labels;
                if req.class_names.is_empty() {
                    req.class_names = class_names;
                }
            }
            Loaded::DataSet(train, val)
        }
        ViewSource::Input => {
            let (x, target) = one_input(args, preset, &mut req)?;
            Loaded::Input(x, target)
        }
    };
    let draw = |graph: &mut crate::engine::Graph<f32>| -> anyhow::Result<Rgba> {
        let input = match &loaded {
            Loaded::Run(curves) => ViewInput::Run(curves),
            Loaded::Anomaly(test) => ViewInput::AnomalyTest(test),
            Loaded::DataSet(train, val) => ViewInput::DataSet { train, val },
            Loaded::Input(x, target) => ViewInput::Sample {
                x,
                target,
                loss: preset.training.loss,
            },
        };
        render_view(view, graph, &input, &req)
            .with_context(|| format!("the {view} view of {}", args.model.display()))
    };
    if let Some(gif) = &args.animate {
        return animate(&checkpoint, &mut graph, draw, gif, args);
    }
    let mut when = String::new();
    if let Some(step) = args.at_step {
        let snapshot = moment(&checkpoint, step, args)?;
        snapshot
            .restore(&mut graph)
            .context("the snapshot does not fit the model")?;
        when = format!(" at step {} (epoch {:.2})", snapshot.step, snapshot.epoch);
    }
    let img = draw(&mut graph)?;
    let what = match view {
        ViewId::TopPatches => format!(
            "{view} of {} channel {}",
            node_or_default(&graph, args.node.as_deref()).unwrap_or_default(),
            args.channel
        ),
        _ => view.to_string(),
    };
    let note = if trained {
        ""
    } else {
        ", freshly initialised weights"
    };
    write(&img, args, &format!("{what}{when}{note}"))
}

/// What a view of a model looks at besides the model, read once per command.
enum Loaded {
    Run(RunCurves),
    Anomaly(crate::data::textures::AnomalyTest),
    DataSet(crate::data::Dataset, crate::data::Dataset),
    Input(Tensor<f32>, ViewTarget),
}

/// The snapshot `--at-step` asks for: the last one at or before the step.
fn moment<'a>(
    checkpoint: &'a Checkpoint,
    step: u64,
    args: &RenderArgs,
) -> anyhow::Result<&'a crate::train::snapshots::Snapshot> {
    if checkpoint.snapshots.is_empty() {
        return Err(anyhow!(
            "{} keeps no snapshots of its training: train it with `convlab train --snapshots` \
             (or save it from the window)",
            args.model.display()
        ));
    }
    checkpoint.at_step(step).ok_or_else(|| {
        anyhow!(
            "{} has no snapshot at or before step {step} (the first is at step {})",
            args.model.display(),
            checkpoint.snapshots[0].step
        )
    })
}

/// `--animate`: the view at every snapshot of the checkpoint, in step order, as a GIF.
fn animate(
    checkpoint: &Checkpoint,
    graph: &mut crate::engine::Graph<f32>,
    draw: impl Fn(&mut crate::engine::Graph<f32>) -> anyhow::Result<Rgba>,
    out: &std::path::Path,
    args: &RenderArgs,
) -> anyhow::Result<()> {
    if checkpoint.snapshots.is_empty() {
        // The same message as --at-step's.
        moment(checkpoint, 0, args)?;
    }
    let mut frames = Vec::with_capacity(checkpoint.snapshots.len());
    for snapshot in &checkpoint.snapshots {
        snapshot
            .restore(graph)
            .context("the snapshot does not fit the model")?;
        let caption = format!("step {} · epoch {:.2}", snapshot.step, snapshot.epoch);
        frames.push(crate::viz::animation::captioned_frame(
            &draw(graph)?,
            &caption,
        ));
    }
    let bytes = crate::viz::animation::gif_bytes(&frames, args.frame_ms)?;
    crate::atomic_file::write_atomically(out, &bytes).with_context(|| out.display().to_string())?;
    eprintln!(
        "wrote {} ({} frames, {} ms each, view {})",
        out.display(),
        frames.len(),
        args.frame_ms,
        args.view
    );
    Ok(())
}

/// The input of a one-input view: the image file of `--input`, or validation sample
/// `--sample` (default 0) with its target; sets the class names from the data when the
/// checkpoint has none.
fn one_input(
    args: &RenderArgs,
    preset: &Preset,
    req: &mut ViewRequest,
) -> anyhow::Result<(Tensor<f32>, ViewTarget)> {
    let [c, h, w] = preset.model.input;
    match &args.input {
        Some(path) => {
            if c != 1 && c != 3 {
                return Err(anyhow!(
                    "the model takes {c} channels; an image gives 1 or 3"
                ));
            }
            let v = load_image(
                path,
                ImageOptions {
                    size: [h, w],
                    grayscale: c == 1,
                },
            )
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            let x = Tensor::from_shape_vec((1, c, h, w), v)?;
            Ok((x, ViewTarget::Predicted))
        }
        None => {
            let (train, val) = crate::data::load::load(&preset.data).context("data")?;
            let set = if val.is_empty() { train } else { val };
            let k = args.sample.unwrap_or(0);
            if k >= set.len() {
                return Err(anyhow!(
                    "--sample {k} is out of range: the set has {} samples",
                    set.len()
                ));
            }
            if set.sample_shape() != preset.model.input {
                return Err(anyhow!(
                    "the data's samples are {:?} but the model's input is {:?}",
                    set.sample_shape(),
                    preset.model.input
                ));
            }
            if req.class_names.is_empty() {
                req.class_names = set.class_names.clone();
            }
            let (x, t) = crate::train::run::gather(&set, &[k]);
            let target = match (&set.targets, t) {
                (Targets::Labels(l), _) => ViewTarget::Label(l[k]),
                (_, crate::train::run::BatchTarget::Dense(d)) => ViewTarget::Dense(d),
                (_, crate::train::run::BatchTarget::Labels(l)) => ViewTarget::Label(l[0]),
            };
            Ok((x, target))
        }
    }
}
