//! The window's inspection views, computed on the trainer thread: the window sends a
//! [`ViewInspector`] (its settings and the chosen input) with
//! [`TrainerCommand::Inspect`](crate::train::messages::TrainerCommand::Inspect); the trainer
//! runs it on the model it owns at once when not training and throttled while training;
//! the result lands in a latest-value slot, and the window uploads a texture only when a
//! new result arrives.
//!
//! The maths is `inspect`'s, the pictures are `viz`'s; this file only chooses what to call.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use ndarray::{Array2, Array3, Array4, Axis, s};

use crate::data::DataSpec;
use crate::data::Targets;
use crate::data::textures::{AnomalyTest, anomaly_set};
use crate::engine::{Graph, GraphError, Mode, Tensor};
use crate::inspect::anomaly::{RocPoint, predicted_classes, target_classes};
use crate::inspect::prediction::{Prediction, predict};
use crate::inspect::routing::{LectureCase, lecture_routing, pool_routing};
use crate::inspect::{Probe, probe};
use crate::spec::view::{ViewId, ViewSource};
use crate::train::messages::{InspectContext, Inspector, Latest};
use crate::train::run::{BatchTarget, gather};
use crate::viz::maps::{GridLayout, GridOptions, Norm, activation_view, map_view};
use crate::viz::routing::{Panel, RoutingOptions, routing_image};
use crate::viz::scale::{Palette, ValueScale};
use crate::viz::views::prediction as prediction_view;
use crate::viz::views::{
    ViewInput, ViewRequest, ViewTarget, anomaly, occlusion, render_view, segmentation, top_patches,
};
use crate::viz::{Rgba, VizError};

/// The input all views look at.
#[derive(Clone, Debug, PartialEq)]
pub enum InputChoice {
    /// Validation sample `k` (the training set when there is no validation set); for the
    /// anomaly view, test image `k`.
    Sample(usize),
    /// An image file, already resized to the model's input.
    Image {
        path: String,
        pixels: Arc<Tensor<f32>>,
    },
    /// The drawing canvas, at the model's input size.
    Drawing(Arc<Tensor<f32>>),
}

impl Default for InputChoice {
    fn default() -> Self {
        InputChoice::Sample(0)
    }
}

/// Everything that decides a view's picture.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSettings {
    /// The view shown (the central area's tab).
    pub tab: ViewId,
    pub node: Option<String>,
    pub channel: usize,
    /// Activations: one channel enlarged.
    pub enlarge: Option<usize>,
    pub shared: bool,
    pub lecture: Option<LectureCase>,
    pub selected: Option<(usize, usize)>,
    pub steps: Option<usize>,
    pub unit: Option<(usize, usize, usize)>,
    pub shift: (isize, isize),
    pub zero_shift: bool,
    pub opacity: f32,
    pub input: InputChoice,
    /// Decision: class or sign only.
    pub discrete: bool,
    /// Single unit: the activation the surface is drawn with.
    pub surface: crate::viz::views::unit::Surface,
    /// Neurons: the unit shown large (dense node, unit).
    pub pick: Option<(String, usize)>,
    /// Decision: the hand-made inputs the project's data appends after x and y (the app
    /// keeps this in step with the data source).
    pub features: Vec<crate::data::features::InputFeature>,
    /// The top-left corner (row, column) of a grey square that covers part of the input
    /// for every view of one input (dragged on the Prediction view); its side is
    /// [`occlusion::default_square`]'s.
    pub occluder: Option<(usize, usize)>,
    /// Latent: the point of the latent plane clicked, decoded beside the view.
    pub latent_point: Option<[f32; 2]>,
    /// The training step whose snapshot every view shows (the timeline), `None` for the
    /// weights now.
    pub at_step: Option<u64>,
    /// Diffusion: the step t whose prediction is shown (default T/2), and the seed of the
    /// samples drawn.
    pub timestep: Option<usize>,
    pub sample_seed: u64,
    /// Unsupervised segmentation: the number of segments (default: the masks' classes).
    pub segments: Option<usize>,
    /// Unsupervised segmentation: the window features are averaged over.
    pub segment_window: usize,
}

impl Default for ViewSettings {
    fn default() -> Self {
        ViewSettings {
            tab: ViewId::Training,
            node: None,
            channel: 0,
            enlarge: None,
            shared: false,
            lecture: None,
            selected: None,
            steps: None,
            unit: None,
            shift: (2, 2),
            zero_shift: false,
            opacity: 0.6,
            input: InputChoice::Sample(0),
            discrete: false,
            surface: crate::viz::views::unit::Surface::Model,
            pick: None,
            features: Vec::new(),
            occluder: None,
            latent_point: None,
            at_step: None,
            timestep: None,
            sample_seed: 1,
            segments: None,
            segment_window: crate::inspect::unsupervised_segmentation::DEFAULT_WINDOW,
        }
    }
}

/// What the anomaly view shows (pictures composed in the window, so the opacity and
/// threshold sliders act without a round trip).
#[derive(Clone, Debug)]
pub struct AnomalyData {
    pub index: usize,
    pub len: usize,
    pub input: Rgba,
    pub reconstruction: Rgba,
    /// Error map of the chosen image `[h, w]`.
    pub map: Array2<f32>,
    /// The largest error over all test maps (a shared scale).
    pub map_max: f32,
    pub mask: Option<Array2<f32>>,
    pub scores: Vec<f64>,
    pub labels: Vec<Option<bool>>,
    pub kinds: Vec<String>,
    pub roc: Vec<RocPoint>,
    pub auroc: Option<f64>,
    pub pixel_auroc: Option<f64>,
    /// The image-level AUROCs of the other scores (image MSE; a VAE's KL and negative ELBO).
    pub score_aurocs: Vec<crate::inspect::latent::ScoreAuroc>,
}

/// What the segmentation view shows.
#[derive(Clone, Debug)]
pub struct SegmentationData {
    pub index: usize,
    pub len: usize,
    pub input: Rgba,
    pub truth: Array2<u8>,
    pub predicted: Array2<u8>,
    pub classes: usize,
    pub image_iou: Vec<Option<f64>>,
    pub image_dice: Vec<Option<f64>>,
    pub mean_iou: f64,
    pub mean_dice: f64,
    pub set_iou: Vec<Option<f64>>,
    /// How the masks were made (network or patch classifier) and the seconds per image.
    pub method: String,
}

/// One computed view.
#[derive(Clone, Debug)]
pub struct ViewResult {
    pub settings: ViewSettings,
    pub image: Option<Rgba>,
    /// Why the view cannot be shown (shared: results are cloned to the window).
    pub error: Option<Arc<VizError>>,
    /// A line of facts (statistics, loss) under the picture.
    pub info: String,
    pub grid: Option<(GridLayout, Vec<ValueScale>)>,
    /// The tensor behind the grid (hover values).
    pub values: Option<Tensor<f32>>,
    pub routing: Option<Vec<Panel>>,
    pub anomaly: Option<AnomalyData>,
    pub segmentation: Option<SegmentationData>,
    /// Neurons: where each unit's map lies in the picture.
    pub neurons: Option<Vec<crate::viz::views::neurons::UnitBox>>,
    /// Single unit: the unit shown, its weights and bias.
    pub unit: Option<crate::viz::views::unit::UnitFacts>,
    /// Prediction: the model's answer and where the input lies in the picture.
    pub prediction: Option<PredictionResult>,
    /// Latent: where the scatter lies in the picture (its top-left pixel) and what it spans.
    pub latent: Option<((usize, usize), crate::viz::views::latent::ScatterFrame)>,
    pub epochs_done: usize,
    pub total_steps: u64,
    pub millis: f64,
}

/// The Prediction view's answer, with what the window needs to map a drag on the input
/// picture to input pixels.
#[derive(Clone, Debug)]
pub struct PredictionResult {
    pub prediction: Prediction,
    /// Top-left of the input image in the picture, and picture pixels per input pixel.
    pub input_at: (usize, usize),
    pub zoom: usize,
    /// The input's `[h, w]` and the occluding square's side.
    pub input_size: (usize, usize),
    pub square: usize,
}

/// The anomaly test set of a data spec, generated once.
pub type AnomalyCache = Arc<Mutex<Option<(DataSpec, Arc<AnomalyTest>)>>>;

pub use crate::ui::classical_cache::ClassicalCache;

/// The window's inspector: settings in, [`ViewResult`] out.
pub struct ViewInspector {
    pub settings: ViewSettings,
    pub out: Latest<ViewResult>,
    pub anomaly_cache: AnomalyCache,
    pub seg_threshold: f64,
    pub classical_cache: ClassicalCache,
}

impl Inspector for ViewInspector {
    fn inspect(&mut self, ctx: InspectContext<'_>) {
        if !self.settings.tab.uses_model() {
            return;
        }
        let started = Instant::now();
        let mut result = ViewResult {
            settings: self.settings.clone(),
            image: None,
            error: None,
            info: String::new(),
            grid: None,
            values: None,
            routing: None,
            anomaly: None,
            segmentation: None,
            neurons: None,
            unit: None,
            prediction: None,
            latent: None,
            epochs_done: ctx.epochs_done,
            total_steps: ctx.total_steps,
            millis: 0.0,
        };
        if let Err(e) = self.compute(ctx, &mut result) {
            result.error = Some(Arc::new(e));
        }
        result.millis = started.elapsed().as_secs_f64() * 1000.0;
        self.out.put(result);
    }

    fn at_step(&self) -> Option<u64> {
        self.settings.at_step
    }
}

fn rgba_of(x: &Tensor<f32>, zoom: usize) -> Rgba {
    crate::viz::overlay::input_image(x, zoom)
}

impl ViewInspector {
    /// The input every view of one input looks at, with the occluding square painted in
    /// when one is placed.
    fn input(
        &self,
        ctx: &InspectContext<'_>,
    ) -> Result<(Tensor<f32>, ViewTarget, Vec<String>), VizError> {
        let (mut x, target, names) = self.chosen_input(ctx)?;
        // The occlusion map slides its own square over the uncovered input.
        if let Some((i, j)) = self.settings.occluder
            && self.settings.tab != ViewId::Occlusion
        {
            let (_, _, h, w) = x.dim();
            let (side, _) = occlusion::default_square(h, w);
            let fill = x.mean().unwrap_or(0.0);
            let (i, j) = (i.min(h.saturating_sub(side)), j.min(w.saturating_sub(side)));
            x.slice_mut(s![.., .., i..i + side, j..j + side]).fill(fill);
        }
        Ok((x, target, names))
    }

    fn chosen_input(
        &self,
        ctx: &InspectContext<'_>,
    ) -> Result<(Tensor<f32>, ViewTarget, Vec<String>), VizError> {
        let [c, h, w] = ctx.preset.model.input;
        match &self.settings.input {
            InputChoice::Drawing(pixels) => {
                if pixels.shape() != [1, c, h, w] {
                    return Err(VizError::BadOption(format!(
                        "the drawing is {:?} but the model takes [1, {c}, {h}, {w}]: clear it",
                        pixels.shape()
                    )));
                }
                Ok((
                    (**pixels).clone(),
                    ViewTarget::Predicted,
                    ctx.val.class_names.clone(),
                ))
            }
            InputChoice::Image { pixels, path } => {
                if pixels.shape() != [1, c, h, w] {
                    return Err(VizError::BadOption(format!(
                        "{path} was loaded as {:?} but the model takes [1, {c}, {h}, {w}]: pick it again",
                        pixels.shape()
                    )));
                }
                let names = ctx.val.class_names.clone();
                Ok(((**pixels).clone(), ViewTarget::Predicted, names))
            }
            InputChoice::Sample(k) => {
                let set = if ctx.val.is_empty() {
                    ctx.train
                } else {
                    ctx.val
                };
                if set.is_empty() {
                    return Err(VizError::UnsuitedData("the data set is empty".into()));
                }
                let k = (*k).min(set.len() - 1);
                if set.sample_shape() != [c, h, w] {
                    return Err(VizError::UnsuitedData(format!(
                        "the data's samples are {:?} but the model's input is {:?}",
                        set.sample_shape(),
                        [c, h, w]
                    )));
                }
                let (x, t) = gather(set, &[k]);
                let target = match (&set.targets, t) {
                    (Targets::Labels(l), _) => ViewTarget::Label(l[k]),
                    (_, BatchTarget::Dense(d)) => ViewTarget::Dense(d),
                    (_, BatchTarget::Labels(l)) => ViewTarget::Label(l[0]),
                };
                Ok((x, target, set.class_names.clone()))
            }
        }
    }

    fn probe_for(
        graph: &mut Graph<f32>,
        x: &Tensor<f32>,
        target: &ViewTarget,
        loss: crate::engine::LossKind,
    ) -> Result<Probe, VizError> {
        use crate::engine::loss::{LossKind, Target};
        let (labels, loss) = match target {
            ViewTarget::Label(l) => (Some(vec![*l]), loss),
            ViewTarget::Predicted => {
                let y = graph.forward(x, Mode::Eval)?;
                let scores = y.index_axis(Axis(0), 0).sum_axis(Axis(1)).sum_axis(Axis(1));
                let best = scores
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |b, (k, &v)| if v > b.1 { (k, v) } else { b },
                    )
                    .0;
                (Some(vec![best]), LossKind::CrossEntropy)
            }
            ViewTarget::Dense(_) => (None, loss),
        };
        let t = match (&labels, target) {
            (Some(l), _) => Target::Labels(l),
            (None, ViewTarget::Dense(d)) => Target::Dense(d),
            (None, _) => return Err(VizError::NoTarget),
        };
        Ok(probe(graph, x, t, loss)?)
    }

    fn compute(&mut self, ctx: InspectContext<'_>, r: &mut ViewResult) -> Result<(), VizError> {
        let st = self.settings.clone();
        match st.tab {
            ViewId::Training | ViewId::ConvArithmetic => Ok(()),
            ViewId::Anomaly => self.anomaly(ctx, r),
            ViewId::TopPatches => Self::top_patches(&st, ctx, r),
            ViewId::Evolution => self.learned_filters(ctx, r),
            ViewId::Segmentation => self.segmentation(ctx, r),
            ViewId::Routing if st.lecture.is_some() => {
                let case = st.lecture.unwrap_or(LectureCase::K2S2);
                let routing = lecture_routing(case);
                let img = routing_image(
                    &routing,
                    &RoutingOptions {
                        selected: st.selected,
                        steps: st.steps,
                        average: true,
                        ..RoutingOptions::default()
                    },
                );
                r.info = format!(
                    "The lecture's 4×4 example, max pooling {}: {} windows; {:.0}% of the inputs receive gradient.",
                    case.label(),
                    routing.windows.len(),
                    routing.receiving_share() * 100.0
                );
                r.routing = Some(img.panels);
                r.image = Some(img.image);
                Ok(())
            }
            // The neuron diagram and the single unit: the registry's pictures with what the
            // window needs to hit-test and edit them.
            ViewId::Neurons | ViewId::Unit => {
                use crate::viz::views::{neurons, unit};
                let req = Self::request(&st, Vec::new());
                if st.tab == ViewId::Neurons {
                    // The unit drawn large: the one clicked, or the step's node and channel.
                    let pick = match (&req.points.pick, &st.node) {
                        (Some((n, u)), _) => Some((n.as_str(), *u)),
                        (None, Some(n)) => Some((n.as_str(), st.channel)),
                        (None, None) => None,
                    };
                    let p = neurons::render(ctx.graph, ctx.train, ctx.val, pick)?;
                    r.image = Some(p.image);
                    r.neurons = Some(p.boxes);
                } else {
                    let opts = unit::UnitOptions {
                        surface: st.surface,
                        ..unit::UnitOptions::default()
                    };
                    let node = st.node.as_deref();
                    let p = unit::render(ctx.graph, ctx.train, ctx.val, node, st.channel, &opts)?;
                    r.image = Some(p.picture.image);
                    r.unit = Some(p.facts);
                }
                Ok(())
            }
            // The latent view: the registry's picture, with where its scatter lies for clicks.
            ViewId::Latent => {
                use crate::viz::views::latent;
                let set = if ctx.val.is_empty() {
                    ctx.train
                } else {
                    ctx.val
                };
                let mut names = set.class_names.clone();
                let mut opts = latent::LatentOptions {
                    point: st.latent_point,
                    seed: ctx.preset.training.seed,
                    ..latent::LatentOptions::default()
                };
                // A reconstruction task's targets are images: the labels come from the source.
                if !matches!(set.targets, crate::data::Targets::Labels(_))
                    && !ctx.val.is_empty()
                    && let Ok(Some((labels, class_names))) =
                        crate::data::load::class_labels(&ctx.preset.data)
                    && labels.len() == ctx.val.len()
                {
                    opts.labels = labels;
                    names = class_names;
                }
                let n = set.len().min(latent::MAX_POINTS);
                let sample = match self.settings.input {
                    InputChoice::Sample(k) => Some(k.min(n.saturating_sub(1))),
                    _ => None,
                };
                let data = latent::compute(ctx.graph, set, sample, &opts)?;
                let (img, origin) = latent::picture_with_origin(&data, &names);
                r.image = Some(img);
                r.latent = Some((origin, data.frame));
                Ok(())
            }
            // Every other view over the data set: the registry's picture.
            view if view.source() == ViewSource::DataSet => {
                let set = if ctx.val.is_empty() {
                    ctx.train
                } else {
                    ctx.val
                };
                let mut req = Self::request(&st, set.class_names.clone());
                req.diffusion = ctx.preset.data.diffusion;
                // The diffusion view noises the picked training image.
                if view == ViewId::Diffusion
                    && let InputChoice::Sample(k) = self.settings.input
                {
                    req.sample = Some(k.min(ctx.train.len().saturating_sub(1)));
                }
                // The denoising and super-resolution views show the picked validation image.
                if matches!(view, ViewId::Denoising | ViewId::SuperResolution)
                    && let InputChoice::Sample(k) = self.settings.input
                {
                    let n = set.len().min(crate::viz::views::denoising::MAX_IMAGES);
                    req.sample = Some(k.min(n.saturating_sub(1)));
                }
                req.super_resolution = ctx.preset.data.super_resolution;
                req.pipeline = ctx.preset.pipeline.clone();
                // Unsupervised segmentation: k, the masks of the validation set (read from
                // the source: a reconstruction task's targets are the images), the picked
                // image.
                if view == ViewId::UnsupervisedSegmentation {
                    use crate::viz::views::unsupervised_segmentation as us;
                    req.unsupervised = us::UnsupOptions {
                        k: st.segments,
                        window: Some(st.segment_window),
                        truth: crate::data::load::pixel_classes(&ctx.preset.data)
                            .ok()
                            .flatten()
                            .filter(|t| t.classes.shape()[0] == ctx.val.len()),
                        seed: ctx.preset.training.seed,
                        nodes: ctx.preset.unsupervised_nodes(),
                    };
                    if let InputChoice::Sample(k) = self.settings.input {
                        let n = set.len().min(us::MAX_IMAGES);
                        req.sample = Some(k.min(n.saturating_sub(1)));
                    }
                }
                // Denoising and super-resolution: their scores as text beside the picture.
                match view {
                    // The pipeline sees the data only, not the network: computed once for a
                    // data set, a pipeline and an image, not at every training step. (The
                    // Evolved features tab runs its evolution in its own background job.)
                    ViewId::Pipeline => {
                        use crate::ui::classical_cache as cc;
                        use crate::viz::views::pipeline::{
                            evaluate_pipeline, pipeline_picture, render_pipeline,
                        };
                        let sample = match self.settings.input {
                            InputChoice::Sample(k) => k,
                            _ => 0,
                        };
                        let Some(spec) = req.pipeline.as_ref() else {
                            // Says why there is nothing to show.
                            render_pipeline(None, ctx.train, ctx.val, sample)?;
                            return Ok(());
                        };
                        // The evaluation is shared with the Training panel; the picture
                        // is kept per image.
                        let key = cc::evaluation_key(&ctx.preset.data, spec);
                        let picture_key = format!("{key} {sample}");
                        if let Some((picture, info)) =
                            cc::cached_picture(&self.classical_cache, &picture_key)
                        {
                            r.image = Some(picture);
                            r.info = info;
                            return Ok(());
                        }
                        let e = match cc::cached_evaluation(&self.classical_cache, &key) {
                            Some(e) => e,
                            None => {
                                let e = Arc::new(evaluate_pipeline(spec, ctx.train, ctx.val)?);
                                cc::store_evaluation(&self.classical_cache, key, Arc::clone(&e));
                                e
                            }
                        };
                        let (picture, info) =
                            pipeline_picture(spec, &e, ctx.train, ctx.val, sample)?;
                        cc::store_picture(
                            &self.classical_cache,
                            picture_key,
                            picture.clone(),
                            info.clone(),
                        );
                        r.image = Some(picture);
                        r.info = info;
                        return Ok(());
                    }
                    ViewId::Denoising => {
                        use crate::viz::views::denoising;
                        let scores = denoising::compute(ctx.graph, set)?;
                        r.info = denoising::title(&scores);
                        r.image = Some(denoising::render_scores(&scores, req.sample)?);
                        return Ok(());
                    }
                    ViewId::SuperResolution => {
                        use crate::viz::views::super_resolution as sr;
                        let task = req.super_resolution;
                        let scores = sr::compute(ctx.graph, set, task)?;
                        r.info = sr::title(&scores, task.map_or(2, |t| t.factor));
                        // A chosen image file is enlarged whole, at its own size.
                        let whole = match &self.settings.input {
                            InputChoice::Image { path, .. } => {
                                let img = image::open(path)
                                    .map_err(|e| VizError::BadOption(format!("{path}: {e}")))?;
                                Some(sr::image_chw(&img, ctx.graph.facts().input[0])?)
                            }
                            _ => None,
                        };
                        // With an image file, one validation crop above it.
                        let sample = req.sample.or(whole.as_ref().map(|_| 0));
                        r.image = Some(sr::render_scores(
                            ctx.graph,
                            &scores,
                            task,
                            sample,
                            whole.as_ref(),
                        )?);
                        return Ok(());
                    }
                    _ => {}
                }
                let input = ViewInput::DataSet {
                    train: ctx.train,
                    val: ctx.val,
                };
                r.image = Some(render_view(view, ctx.graph, &input, &req)?);
                Ok(())
            }
            _ => {
                let (x, target, names) = self.input(&ctx)?;
                let graph = ctx.graph;
                let loss = ctx.preset.training.loss;
                match st.tab {
                    ViewId::Activations => {
                        let p = Self::probe_for(graph, &x, &target, loss)?;
                        let node = match &st.node {
                            Some(n) => p.node(n).ok_or_else(|| VizError::UnknownNode(n.clone()))?,
                            None => p.nodes.first().ok_or(VizError::Model(GraphError::Empty))?,
                        };
                        let last = p.nodes.last().is_some_and(|l| l.name == node.name);
                        let opts = GridOptions {
                            norm: if st.shared {
                                Norm::Shared
                            } else {
                                Norm::PerChannel
                            },
                            ..GridOptions::default()
                        };
                        let stats = &node.stats;
                        r.info = format!(
                            "{} ({}) · min {:.4} · max {:.4} · mean {:.4} · std {:.4}{}",
                            node.name,
                            node.kind,
                            stats.min,
                            stats.max,
                            stats.mean,
                            stats.std,
                            stats
                                .dead_share
                                .map(|d| format!(" · inactive ReLU units {:.0}%", d * 100.0))
                                .unwrap_or_default()
                        );
                        let (_, c, _, _) = node.activation.dim();
                        let grid = match st.enlarge.filter(|&e| e < c) {
                            Some(ch) => {
                                let one =
                                    node.activation.slice(s![.., ch..ch + 1, .., ..]).to_owned();
                                let g = map_view(
                                    &one,
                                    &format!("{} · channel {ch} (click to go back)", node.name),
                                    &GridOptions {
                                        tile: 420,
                                        labels: false,
                                        ..opts
                                    },
                                    None,
                                );
                                // The tiles of a one-channel tensor are channel 0: name it.
                                let mut layout = g.layout.clone();
                                for cell in &mut layout.cells {
                                    cell.channel = ch;
                                }
                                r.values = Some(node.activation.clone());
                                crate::viz::maps::GridImage { layout, ..g }
                            }
                            None => {
                                let cn = (last && !names.is_empty()).then_some(names.as_slice());
                                r.values = Some(node.activation.clone());
                                activation_view(node, &opts, cn)
                            }
                        };
                        r.grid = Some((grid.layout, grid.scales));
                        r.image = Some(grid.image);
                        Ok(())
                    }
                    ViewId::Routing => {
                        let node = match &st.node {
                            Some(n) => n.clone(),
                            None => crate::inspect::routing::pool_nodes(graph)
                                .into_iter()
                                .next()
                                .ok_or_else(|| {
                                    VizError::UnsuitedModel(
                                        "this model has no pooling node: press \"Lecture 4×4 example\""
                                            .into(),
                                    )
                                })?,
                        };
                        Self::probe_for(graph, &x, &target, loss)?;
                        let routing = pool_routing(graph, &node, st.channel)?;
                        let img = routing_image(
                            &routing,
                            &RoutingOptions {
                                selected: st.selected,
                                steps: st.steps,
                                average: true,
                                ..RoutingOptions::default()
                            },
                        );
                        r.info = format!(
                            "{node}, channel {}: {} windows; {:.0}% of the input positions receive gradient.",
                            st.channel,
                            routing.windows.len(),
                            routing.receiving_share() * 100.0
                        );
                        r.routing = Some(img.panels);
                        r.image = Some(img.image);
                        Ok(())
                    }
                    ViewId::Prediction => {
                        let prediction = predict(graph, &x, loss)?;
                        let what = match (&st.input, st.occluder) {
                            // Short enough to stay within the input's width, so the picture keeps its
                            // size (and the input its place under the pointer) while dragging.
                            (_, Some(_)) => "input, covered",
                            (InputChoice::Drawing(_), None) => "your drawing",
                            (InputChoice::Image { .. }, None) => "image file",
                            (InputChoice::Sample(_), None) => "input",
                        };
                        let picture = prediction_view::picture(&x, &prediction, &names, what);
                        let (_, _, h, w) = x.dim();
                        r.image = Some(picture.image);
                        r.prediction = Some(PredictionResult {
                            prediction,
                            input_at: picture.input_at,
                            zoom: picture.zoom,
                            input_size: (h, w),
                            square: occlusion::default_square(h, w).0,
                        });
                        Ok(())
                    }
                    // Every other view of one input: the registry's picture.
                    view => {
                        let req = Self::request(&st, names);
                        let input = ViewInput::Sample {
                            x: &x,
                            target: &target,
                            loss,
                        };
                        r.image = Some(render_view(view, graph, &input, &req)?);
                        Ok(())
                    }
                }
            }
        }
    }

    /// The registry's request for the window's settings.
    fn request(st: &ViewSettings, class_names: Vec<String>) -> ViewRequest {
        ViewRequest {
            node: st.node.clone(),
            channel: st.channel,
            unit: st.unit,
            shift: Some(st.shift),
            shift_mode: if st.zero_shift {
                crate::inspect::ShiftMode::Zeros
            } else {
                crate::inspect::ShiftMode::Circular
            },
            class: None,
            lecture: None,
            selected: None,
            steps: None,
            opacity: Some(st.opacity),
            norm: if st.shared {
                Norm::Shared
            } else {
                Norm::PerChannel
            },
            class_names,
            sample: None,
            arithmetic: Default::default(),
            points: crate::viz::views::point_options::PointOptions {
                discrete: st.discrete,
                surface: st.surface,
                pick: st.pick.clone(),
                features: st.features.clone(),
            },
            latent: Default::default(),
            kl_weight: 0.0,
            diffusion: None,
            timestep: st.timestep,
            seed: st.sample_seed,
            pipeline: None,
            evolution: None,
            super_resolution: None,
            whole_image: None,
            unsupervised: Default::default(),
            patch_images: None,
        }
    }

    fn top_patches(
        st: &ViewSettings,
        ctx: InspectContext<'_>,
        r: &mut ViewResult,
    ) -> Result<(), VizError> {
        let node =
            top_patches::node_or_default(ctx.graph, st.node.as_deref()).ok_or_else(|| {
                VizError::UnsuitedModel("this model has no conv node: pick a node".into())
            })?;
        let set = if ctx.val.is_empty() {
            ctx.train
        } else {
            ctx.val
        };
        let response = top_patches::compute(ctx.graph, set, &node, st.channel)?;
        let image = top_patches::picture(&response, set, 120);
        let tp = &response.top;
        let rf = tp.hits.first().map_or(String::new(), |h| {
            format!(" · receptive field {}×{}", h.window.height, h.window.width)
        });
        r.info = format!(
            "{node}, channel {}: the {} strongest of {} images{rf}. Typical best response {:.3}, \
             these {:.3}–{:.3}.",
            st.channel,
            tp.hits.len(),
            tp.searched,
            tp.mean_best,
            tp.hits.last().map_or(0.0, |h| h.value),
            tp.hits.first().map_or(0.0, |h| h.value),
        );
        r.image = Some(image);
        Ok(())
    }

    fn anomaly(&mut self, ctx: InspectContext<'_>, r: &mut ViewResult) -> Result<(), VizError> {
        let test = {
            let mut cache = self.anomaly_cache.lock().unwrap_or_else(|e| e.into_inner());
            match cache.as_ref() {
                Some((spec, t)) if *spec == ctx.preset.data => Arc::clone(t),
                _ => {
                    let loaded = anomaly_set(&ctx.preset.data)?.ok_or_else(|| {
                        VizError::UnsuitedData(
                            "this preset's data has no anomaly test set: open textures-autoencoder"
                                .into(),
                        )
                    })?;
                    let t = Arc::new(loaded.set.test);
                    *cache = Some((ctx.preset.data.clone(), Arc::clone(&t)));
                    t
                }
            }
        };
        let n = test.len();
        let anomaly::Reconstruction {
            images: recon,
            report,
        } = anomaly::compute(ctx.graph, &test)?;
        let k = match self.settings.input {
            InputChoice::Sample(k) => k.min(n - 1),
            InputChoice::Image { .. } | InputChoice::Drawing(_) => 0,
        };
        let [_, _, h, w] = [n, 0, test.inputs.shape()[2], test.inputs.shape()[3]];
        let zoom = crate::viz::overlay::auto_zoom(h, w, 256);
        let one = |a: &Array4<f32>| a.slice(s![k..k + 1, .., .., ..]).to_owned();
        let map_max = report.maps.iter().copied().fold(0.0f32, f32::max);
        let score_aurocs = crate::inspect::latent::score_aurocs(
            ctx.graph,
            &test.inputs,
            &recon,
            &test.anomalous,
            ctx.preset.training.kl_weight,
        )?;
        r.anomaly = Some(AnomalyData {
            index: k,
            len: n,
            input: rgba_of(&one(&test.inputs), zoom),
            reconstruction: rgba_of(&one(&recon.mapv(|v| v.clamp(0.0, 1.0))), zoom),
            map: report.maps.index_axis(Axis(0), k).to_owned(),
            map_max,
            mask: test
                .has_mask
                .get(k)
                .copied()
                .unwrap_or(false)
                .then(|| test.masks.slice(s![k, 0, .., ..]).to_owned()),
            scores: report.scores.clone(),
            labels: test.anomalous.clone(),
            kinds: test.kinds.clone(),
            roc: report.roc.clone(),
            auroc: report.auroc,
            pixel_auroc: report.pixel_auroc,
            score_aurocs,
        });
        Ok(())
    }

    /// The Evolved features tab's network half (the evolution runs in the window's own
    /// job): the model's first conv layer's learned kernels and their maps of the picked
    /// image, the one whose evolved stages the tab shows.
    fn learned_filters(&self, ctx: InspectContext<'_>, r: &mut ViewResult) -> Result<(), VizError> {
        // Without a usable input (a drawing of another size) the kernels alone.
        let x = self.input(&ctx).ok().map(|(x, _, _)| x);
        let (node, picture) =
            crate::viz::views::pipeline::first_conv_filters(ctx.graph, x.as_ref())?;
        r.info = format!(
            "learned filters of {node}, the network's first conv layer, after {} epochs",
            ctx.epochs_done
        );
        r.image = Some(picture);
        Ok(())
    }

    fn segmentation(
        &mut self,
        ctx: InspectContext<'_>,
        r: &mut ViewResult,
    ) -> Result<(), VizError> {
        // A patch classifier segments the whole validation images its patches came from.
        let whole = match ctx.preset.data.patches {
            Some(p) => crate::data::load::whole_images(&ctx.preset.data)
                .map_err(|e| VizError::UnsuitedData(e.to_string()))?
                .map(|(train, val)| (p.size, if val.is_empty() { train } else { val })),
            None => None,
        };
        let set = match &whole {
            Some((_, images)) => images,
            None if ctx.val.is_empty() => ctx.train,
            None => ctx.val,
        };
        if !matches!(set.targets, Targets::Dense(_)) {
            return Err(VizError::UnsuitedData(
                "this preset's targets are labels, not masks: open cells-unet".into(),
            ));
        }
        let scores = match &whole {
            Some((patch, images)) => {
                segmentation::compute_patches(ctx.graph, images, *patch, self.seg_threshold, 1024)?
            }
            None => segmentation::compute(ctx.graph, set, self.seg_threshold, 16)?,
        };
        let method = segmentation::method_line(&scores);
        let (n, logits, t) = (scores.len(), &scores.logits, &scores.targets);
        let (total, per_image) = (&scores.total, &scores.per_image);
        let k = match self.settings.input {
            InputChoice::Sample(k) => k.min(n - 1),
            InputChoice::Image { .. } | InputChoice::Drawing(_) => 0,
        };
        let pred: Array3<u8> = predicted_classes(
            &logits.slice(s![k..k + 1, .., .., ..]).to_owned(),
            self.seg_threshold,
        );
        let truth: Array3<u8> = target_classes(&t.slice(s![k..k + 1, .., .., ..]).to_owned());
        let (x, _) = gather(set, &[k]);
        let [h, w] = [x.shape()[2], x.shape()[3]];
        let img = &per_image[k];
        r.segmentation = Some(SegmentationData {
            index: k,
            len: n,
            input: rgba_of(&x, crate::viz::overlay::auto_zoom(h, w, 256)),
            truth: truth.index_axis(Axis(0), 0).to_owned(),
            predicted: pred.index_axis(Axis(0), 0).to_owned(),
            classes: logits.shape()[1].max(2),
            image_iou: img.iou.clone(),
            image_dice: img.dice.clone(),
            mean_iou: total.mean_iou,
            mean_dice: total.mean_dice,
            set_iou: total.iou.clone(),
            method,
        });
        Ok(())
    }
}

/// A scale for error maps from 0 to `max`.
pub fn error_scale(max: f32) -> ValueScale {
    ValueScale::new(
        Palette::Sequential(crate::viz::Colormap::Viridis),
        0.0,
        max.max(1e-12),
    )
}
