//! The registry of views: every view of [`ViewId`] drawn as one picture, computed on the
//! real model for one input or over the data set — what `convlab render` saves and what the
//! window shows whole. Each view picks a sensible node when none is given, so it works for
//! any graph.
//!
//! [`render_view`] is one exhaustive match: a new view is an arm here and its module under
//! `views/` (compute + picture), and nothing else — the window lists it as a tab and shows
//! its picture, `convlab render --view` renders it, walkthrough steps can name it. The
//! window's own panels for some views (the live curves, the conv arithmetic sandbox, the
//! anomaly and segmentation sliders) call the same modules' compute functions.

pub mod anomaly;
pub mod conv_arithmetic;
pub mod decision;
pub mod denoising;
pub mod dense_net;
pub mod diffusion;
pub mod function;
pub mod latent;
pub mod neurons;
pub mod occlusion;
pub mod pipeline;
pub mod point_options;
pub mod prediction;
pub mod segmentation;
pub mod super_resolution;
pub mod top_patches;
pub mod training;
pub mod unit;
pub mod unsupervised_segmentation;

use ndarray::Axis;

use super::charts::{BarOptions, bar_chart, histogram_chart};
use super::draw::{BACKGROUND, INK, hstack, padded, vstack};
use super::maps::{
    GridOptions, KernelOptions, Norm, activation_view, filter_bank_view, gradient_view,
    kernel_grid, stack_views,
};
use super::overlay::{
    covariance_image, grad_cam_image, input_image, receptive_field_image, saliency_image,
};
use super::routing::{RoutingOptions, routing_image, routing_sheet};
use super::text::text_image;
use super::{Rgba, VizError};
use crate::data::Dataset;
use crate::data::textures::AnomalyTest;
use crate::engine::layers::Layer;
use crate::engine::loss::{LossKind, Target};
use crate::engine::{Graph, Mode, Tensor};
use crate::inspect::covariance::{ShiftMode, covariance};
use crate::inspect::filters::{conv_kernels, conv_nodes, filter_bank};
use crate::inspect::probe::probe;
use crate::inspect::receptive::receptive_field;
use crate::inspect::routing::{LectureCase, lecture_routing, pool_nodes, pool_routing};
use crate::inspect::saliency::{default_cam_node, grad_cam, saliency};
use crate::spec::view::ViewId;
use conv_arithmetic::ArithOptions;
use training::RunCurves;

/// What to show: the node, channel, unit, shift, class… Everything is optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewRequest {
    pub node: Option<String>,
    pub channel: usize,
    /// Receptive field: `(channel, row, col)`; default the centre of `channel`.
    pub unit: Option<(usize, usize, usize)>,
    /// Covariance: input shift `(rows, cols)`; default (2, 2).
    pub shift: Option<(isize, isize)>,
    pub shift_mode: ShiftMode,
    /// Saliency / Grad-CAM class; default the target label, else the prediction.
    pub class: Option<usize>,
    /// Pool routing: the lecture's 4×4 example instead of the model.
    pub lecture: Option<LectureCase>,
    /// Pool routing: the output cell to outline; step-by-step count.
    pub selected: Option<(usize, usize)>,
    pub steps: Option<usize>,
    /// Overlay opacity in [0, 1]; default 0.6.
    pub opacity: Option<f32>,
    pub norm: Norm,
    pub class_names: Vec<String>,
    /// Anomaly / segmentation: the one image to show (default: a few chosen ones).
    pub sample: Option<usize>,
    /// Conv arithmetic: the sandbox's geometry.
    pub arithmetic: ArithOptions,
    /// Decision, function, neurons and single unit: their settings.
    pub points: point_options::PointOptions,
    /// The training's KL weight β (a VAE's anomaly view scores by MSE + β·KL too).
    pub kl_weight: f64,
    /// Latent view: class labels, interpolation partner, picked point.
    pub latent: latent::LatentOptions,
    /// Diffusion: the task's noise schedule, the step shown, and the sampler's seed.
    pub diffusion: Option<crate::data::diffusion::Diffusion>,
    pub timestep: Option<usize>,
    pub seed: u64,
    /// Super-resolution: the task's settings (the preset's `[data.super_resolution]`).
    pub super_resolution: Option<crate::data::super_resolution::SuperResolution>,
    /// Super-resolution: the whole image `[c, h, w]` to enlarge (default: a bundled photo).
    pub whole_image: Option<ndarray::Array3<f32>>,
    /// Handcrafted pipeline and evolution views: the preset's `[pipeline]` and `[evolution]`.
    pub pipeline: Option<crate::classical::PipelineSpec>,
    pub evolution: Option<crate::classical::EvolutionSpec>,
    /// Unsupervised segmentation: k, the masks of the validation set, the seed.
    pub unsupervised: unsupervised_segmentation::UnsupOptions,
    /// Segmentation by a patch classifier (`[data.patches]`): the patch side and the whole
    /// validation images with their masks, whose every pixel is classified.
    pub patch_images: Option<(usize, crate::data::Dataset)>,
}

/// The target the gradient views use.
#[derive(Clone, Debug, PartialEq)]
pub enum ViewTarget {
    Label(usize),
    Dense(Tensor<f32>),
    /// Use the model's own prediction (argmax over output channels) as the label.
    Predicted,
}

fn predicted(graph: &mut Graph<f32>, x: &Tensor<f32>) -> Result<usize, VizError> {
    let y = graph.forward(x, Mode::Eval)?;
    let scores = y.index_axis(Axis(0), 0).sum_axis(Axis(1)).sum_axis(Axis(1));
    Ok(scores
        .iter()
        .enumerate()
        .fold((0usize, f32::NEG_INFINITY), |best, (k, &v)| {
            if v > best.1 { (k, v) } else { best }
        })
        .0)
}

fn class_name(names: &[String], k: usize) -> String {
    names.get(k).cloned().unwrap_or_else(|| k.to_string())
}

/// The most active unit of `channel` of `node` for `x` (of any channel when `channel` is
/// all zero), so the receptive-field view starts on a unit that sees something.
fn strongest_unit(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    node: &str,
    channel: usize,
) -> Result<Option<(usize, usize, usize)>, VizError> {
    graph.forward(x, Mode::Eval)?;
    let Some(y) = graph.output(node) else {
        return Err(VizError::UnknownNode(node.to_string()));
    };
    let best = |only: Option<usize>| {
        y.index_axis(Axis(0), 0)
            .indexed_iter()
            .filter(|((c, _, _), v)| only.is_none_or(|o| o == *c) && v.is_finite())
            .fold(
                None,
                |b: Option<((usize, usize, usize), f32)>, (i, &v)| match b {
                    Some((_, bv)) if bv >= v => b,
                    _ => Some((i, v)),
                },
            )
    };
    Ok(match best(Some(channel)) {
        Some((u, v)) if v > 0.0 => Some(u),
        _ => best(None).filter(|(_, v)| *v > 0.0).map(|(u, _)| u),
    })
}

fn spatial_node(graph: &Graph<f32>, node: &Option<String>) -> Result<String, VizError> {
    match node {
        Some(n) => Ok(n.clone()),
        None => default_cam_node(graph).ok_or_else(|| {
            VizError::UnsuitedModel("the model has no spatial node; pick one with --node".into())
        }),
    }
}

/// What a view is computed from: one input, or the data set (as [`ViewId::source`] says).
#[derive(Clone, Copy, Debug)]
pub enum ViewInput<'a> {
    /// One input `[1, c, h, w]` with its target; `loss` drives the gradient views
    /// (cross-entropy against the prediction when the target is [`ViewTarget::Predicted`]).
    Sample {
        x: &'a Tensor<f32>,
        target: &'a ViewTarget,
        loss: LossKind,
    },
    /// The training and validation sets.
    DataSet {
        train: &'a Dataset,
        val: &'a Dataset,
    },
    /// The anomaly view's test set: normal and defective images, with defect masks.
    AnomalyTest(&'a AnomalyTest),
    /// A run's history (the training view).
    Run(&'a RunCurves),
    /// Nothing: the view is drawn from the request alone (conv arithmetic).
    Nothing,
}

impl<'a> ViewInput<'a> {
    fn data_set(&self, view: ViewId) -> Result<(&'a Dataset, &'a Dataset), VizError> {
        match *self {
            ViewInput::DataSet { train, val } => Ok((train, val)),
            _ => Err(VizError::NeedsDataSet(view)),
        }
    }

    fn sample(
        &self,
        view: ViewId,
    ) -> Result<(&'a Tensor<f32>, &'a ViewTarget, LossKind), VizError> {
        match *self {
            ViewInput::Sample { x, target, loss } => Ok((x, target, loss)),
            _ => Err(VizError::NeedsInput(view)),
        }
    }
}

/// Renders `view` of `graph` for `input`.
pub fn render_view(
    view: ViewId,
    graph: &mut Graph<f32>,
    input: &ViewInput<'_>,
    req: &ViewRequest,
) -> Result<Rgba, VizError> {
    let opacity = req.opacity.unwrap_or(0.6);
    let names = &req.class_names;
    match view {
        ViewId::Training => match *input {
            ViewInput::Run(curves) => training::render(curves),
            _ => Err(VizError::NeedsRun(view)),
        },
        ViewId::ConvArithmetic => render_from_settings(view, req),
        ViewId::TopPatches => {
            let (train, val) = input.data_set(view)?;
            let set = if val.is_empty() { train } else { val };
            let node =
                top_patches::node_or_default(graph, req.node.as_deref()).ok_or_else(|| {
                    VizError::UnsuitedModel(
                        "the model has no conv node: choose one with --node".into(),
                    )
                })?;
            let response = top_patches::compute(graph, set, &node, req.channel)?;
            Ok(top_patches::picture(&response, set, 96))
        }
        ViewId::Anomaly => match *input {
            ViewInput::AnomalyTest(test) => {
                anomaly::render(graph, test, req.sample, opacity, req.kl_weight)
            }
            _ => Err(VizError::NeedsAnomalySet),
        },
        ViewId::Segmentation => {
            let (train, val) = input.data_set(view)?;
            let set = if val.is_empty() { train } else { val };
            match &req.patch_images {
                Some((patch, whole)) => {
                    segmentation::render(graph, whole, req.sample, Some(*patch))
                }
                None => segmentation::render(graph, set, req.sample, None),
            }
        }
        ViewId::UnsupervisedSegmentation => {
            let (train, val) = input.data_set(view)?;
            // The masks belong to the validation set; without one the training set has none.
            let (set, opts) = if val.is_empty() {
                let mut o = req.unsupervised.clone();
                o.truth = None;
                (train, o)
            } else {
                (val, req.unsupervised.clone())
            };
            unsupervised_segmentation::render(graph, set, req.node.as_deref(), &opts, req.sample)
        }
        ViewId::Denoising => {
            let (train, val) = input.data_set(view)?;
            let set = if val.is_empty() { train } else { val };
            denoising::render(graph, set, req.sample)
        }
        ViewId::Latent => {
            let (train, val) = input.data_set(view)?;
            let set = if val.is_empty() { train } else { val };
            latent::render(graph, set, req.sample, &req.latent, names)
        }
        ViewId::Diffusion => {
            let (train, _) = input.data_set(view)?;
            let d = req.diffusion.as_ref().ok_or_else(|| {
                VizError::UnsuitedData(
                    "the diffusion view needs a preset with [data.diffusion], e.g. presets/diffusion-digits.toml".into(),
                )
            })?;
            diffusion::render(
                graph,
                d,
                train,
                req.sample.unwrap_or(0),
                req.timestep,
                req.seed,
            )
        }
        ViewId::SuperResolution => {
            let (train, val) = input.data_set(view)?;
            let set = if val.is_empty() { train } else { val };
            super_resolution::render(
                graph,
                set,
                req.super_resolution,
                req.sample,
                req.whole_image.as_ref(),
            )
        }
        ViewId::Pipeline => {
            let (train, val) = input.data_set(view)?;
            let sample = req.sample.unwrap_or(0);
            pipeline::render_pipeline(req.pipeline.as_ref(), train, val, sample).map(|p| p.0)
        }
        ViewId::Evolution => {
            let (train, val) = input.data_set(view)?;
            let sample = req.sample.unwrap_or(0);
            pipeline::render_evolution(req.evolution.as_ref(), train, val, sample).map(|p| p.0)
        }
        ViewId::Decision => {
            let (train, val) = input.data_set(view)?;
            let opts = decision::DecisionOptions {
                discrete: req.points.discrete,
                features: req.points.features.clone(),
                ..decision::DecisionOptions::default()
            };
            decision::render(graph, train, val, &opts).map(|d| d.image)
        }
        ViewId::Function => {
            let (train, val) = input.data_set(view)?;
            function::render(graph, train, val, &function::FunctionOptions::default())
                .map(|d| d.image)
        }
        ViewId::Neurons => {
            let (train, val) = input.data_set(view)?;
            // The unit drawn large: the one picked, or the node and channel asked for.
            let pick = match (&req.points.pick, &req.node) {
                (Some((n, u)), _) => Some((n.as_str(), *u)),
                (None, Some(n)) => Some((n.as_str(), req.channel)),
                (None, None) => None,
            };
            neurons::render(graph, train, val, pick).map(|d| d.image)
        }
        ViewId::Unit => {
            let (train, val) = input.data_set(view)?;
            let opts = unit::UnitOptions {
                surface: req.points.surface,
                ..unit::UnitOptions::default()
            };
            unit::render(graph, train, val, req.node.as_deref(), req.channel, &opts)
                .map(|d| d.picture.image)
        }
        ViewId::Activations | ViewId::Gradients => {
            let (x, target, loss) = input.sample(view)?;
            let (labels, loss) = match target {
                ViewTarget::Label(l) => (Some(vec![*l]), loss),
                ViewTarget::Predicted => (Some(vec![predicted(graph, x)?]), LossKind::CrossEntropy),
                ViewTarget::Dense(_) => (None, loss),
            };
            let t = match (&labels, target) {
                (Some(l), _) => Target::Labels(l),
                (None, ViewTarget::Dense(d)) => Target::Dense(d),
                (None, _) => return Err(VizError::NoTarget),
            };
            let p = probe(graph, x, t, loss)?;
            let opts = GridOptions {
                norm: req.norm,
                max_channels: if req.node.is_some() { 64 } else { 16 },
                ..GridOptions::default()
            };
            let last = p.nodes.len().saturating_sub(1);
            let chosen: Vec<usize> = match &req.node {
                Some(n) => vec![
                    p.nodes
                        .iter()
                        .position(|q| &q.name == n)
                        .ok_or_else(|| VizError::UnknownNode(n.clone()))?,
                ],
                None => (0..p.nodes.len()).collect(),
            };
            let mut views = Vec::new();
            if view == ViewId::Activations {
                let zoom = super::overlay::auto_zoom(x.shape()[2], x.shape()[3], 112);
                views.push(super::draw::captioned(
                    &input_image(x, zoom),
                    &format!("input {}×{}×{}", x.shape()[1], x.shape()[2], x.shape()[3]),
                    2,
                    BACKGROUND,
                ));
                for k in chosen {
                    let cn = (k == last && !names.is_empty()).then_some(names.as_slice());
                    views.push(activation_view(&p.nodes[k], &opts, cn).image);
                }
            } else {
                let mut head = format!("loss {:.4} for ", p.loss);
                head.push_str(&match target {
                    ViewTarget::Label(l) => format!("target class {}", class_name(names, *l)),
                    ViewTarget::Predicted => format!(
                        "the predicted class {}",
                        class_name(names, labels.as_ref().map_or(0, |l| l[0]))
                    ),
                    ViewTarget::Dense(_) => "the target map".into(),
                });
                views.push(text_image(&head, 2, INK, BACKGROUND, 0));
                let norms: Vec<(String, f64)> = p.weight_grad_norms();
                views.push(bar_chart(
                    &norms,
                    &BarOptions {
                        title: "‖∂L/∂W‖ per layer (log scale): vanishing gradients show as a slope"
                            .into(),
                        log: true,
                        ..BarOptions::default()
                    },
                ));
                let hist: Vec<Rgba> = p
                    .params
                    .iter()
                    .filter(|q| q.name.ends_with(".weight"))
                    .take(6)
                    .map(|q| {
                        hstack(
                            &[
                                histogram_chart(
                                    &q.histogram,
                                    &format!("{} values", q.name),
                                    240,
                                    70,
                                ),
                                histogram_chart(
                                    &q.grad_histogram,
                                    &format!("{} gradients", q.name),
                                    240,
                                    70,
                                ),
                            ],
                            24,
                            BACKGROUND,
                        )
                    })
                    .collect();
                views.extend(hist);
                for k in chosen {
                    let n = &p.nodes[k];
                    let spatial = n.activation.shape()[2] * n.activation.shape()[3] > 1;
                    let wanted = req.node.is_some()
                        || (spatial
                            && matches!(
                                graph.layer(&n.name),
                                Some(Layer::Conv(_)) | Some(Layer::Pool(_))
                            ));
                    if wanted
                        && let Some(g) = gradient_view(
                            n,
                            &GridOptions {
                                norm: Norm::Shared,
                                ..opts
                            },
                        )
                    {
                        views.push(g.image);
                    }
                }
            }
            Ok(stack_views(views))
        }
        ViewId::Filters => {
            let (x, _, _) = input.sample(view)?;
            let node = match &req.node {
                Some(n) => n.clone(),
                None => conv_nodes(graph)
                    .into_iter()
                    .next()
                    .ok_or_else(|| VizError::UnsuitedModel("the model has no conv node".into()))?,
            };
            let w = conv_kernels(graph, &node)?;
            let grid = kernel_grid(
                &w,
                &format!("learned kernels of {node}"),
                &KernelOptions::default(),
            )?;
            let zoom = 1;
            let bank = filter_bank(x)?;
            let bank_img = filter_bank_view(&input_image(x, zoom), &bank);
            Ok(stack_views(vec![grid.image, bank_img]))
        }
        ViewId::Routing => {
            let (x, target, loss) = input.sample(view)?;
            let opts = RoutingOptions {
                selected: req.selected,
                steps: req.steps,
                average: true,
                ..RoutingOptions::default()
            };
            if let Some(case) = req.lecture {
                let r = lecture_routing(case);
                return Ok(padded(&routing_image(&r, &opts).image, 8, BACKGROUND));
            }
            let node = match &req.node {
                Some(n) => n.clone(),
                None => match pool_nodes(graph).into_iter().next() {
                    Some(n) => n,
                    None => {
                        let sheet: Vec<(String, _)> = LectureCase::ALL
                            .iter()
                            .map(|c| {
                                (
                                    format!("lecture example, max pool {}", c.label()),
                                    lecture_routing(*c),
                                )
                            })
                            .collect();
                        return Ok(routing_sheet(&sheet, &opts));
                    }
                },
            };
            // Forward and backward for this input so the upstream gradient is the real one.
            let labels = match target {
                ViewTarget::Label(l) => Some(vec![*l]),
                ViewTarget::Predicted => Some(vec![predicted(graph, x)?]),
                ViewTarget::Dense(_) => None,
            };
            let t = match (&labels, target) {
                (Some(l), _) => Target::Labels(l),
                (None, ViewTarget::Dense(d)) => Target::Dense(d),
                (None, _) => return Err(VizError::NoTarget),
            };
            let loss = if labels.is_some() && matches!(target, ViewTarget::Predicted) {
                LossKind::CrossEntropy
            } else {
                loss
            };
            probe(graph, x, t, loss)?;
            let r = pool_routing(graph, &node, req.channel)?;
            Ok(padded(&routing_image(&r, &opts).image, 8, BACKGROUND))
        }
        ViewId::ReceptiveField => {
            let (x, _, _) = input.sample(view)?;
            let node = spatial_node(graph, &req.node)?;
            let i = graph
                .index_of(&node)
                .ok_or_else(|| VizError::UnknownNode(node.clone()))?;
            let [_, h, w] = graph.facts().nodes[i].output;
            let unit = match req.unit {
                Some(u) => u,
                None => strongest_unit(graph, x, &node, req.channel)?.unwrap_or((
                    req.channel,
                    h / 2,
                    w / 2,
                )),
            };
            let rf = receptive_field(graph, x, &node, unit)?;
            let mut parts = vec![receptive_field_image(x, &rf, opacity)];
            let growth: Vec<(String, f64)> = graph
                .facts()
                .nodes
                .iter()
                .map(|n| {
                    (
                        n.name.clone(),
                        n.receptive_field.size[0].max(n.receptive_field.size[1]),
                    )
                })
                .collect();
            parts.push(bar_chart(
                &growth,
                &BarOptions {
                    title: "theoretical receptive-field size by depth (pixels)".into(),
                    ..BarOptions::default()
                },
            ));
            Ok(padded(&vstack(&parts, 16, BACKGROUND), 4, BACKGROUND))
        }
        ViewId::Covariance => {
            let (x, _, _) = input.sample(view)?;
            let node = spatial_node(graph, &req.node)?;
            let cov = covariance(graph, x, req.shift.unwrap_or((2, 2)), req.shift_mode)?;
            covariance_image(x, &cov, &node, req.channel)
        }
        ViewId::Saliency => {
            let (x, target, _) = input.sample(view)?;
            let class = match (req.class, target) {
                (Some(c), _) => c,
                (None, ViewTarget::Label(l)) => *l,
                _ => predicted(graph, x)?,
            };
            let sal = saliency(graph, x, class)?;
            let mut parts = vec![saliency_image(x, &sal, &class_name(names, class), opacity)];
            if let Ok(node) = spatial_node(graph, &req.node) {
                let cam = grad_cam(graph, x, class, &node)?;
                parts.push(grad_cam_image(x, &cam, &class_name(names, class), opacity));
            }
            Ok(vstack(&parts, 8, BACKGROUND))
        }
        ViewId::Prediction => {
            let (x, _, loss) = input.sample(view)?;
            let p = crate::inspect::prediction::predict(graph, x, loss)?;
            Ok(prediction::picture(x, &p, names, "input").image)
        }
        ViewId::Occlusion => {
            let (x, target, _) = input.sample(view)?;
            let class = match (req.class, target) {
                (Some(c), _) => c,
                (None, ViewTarget::Label(l)) => *l,
                _ => predicted(graph, x)?,
            };
            let (_, _, h, w) = x.dim();
            let (side, stride) = occlusion::default_square(h, w);
            let occ = occlusion::compute(graph, x, class, side, stride)?;
            Ok(occlusion::picture(
                x,
                &occ,
                &class_name(names, class),
                opacity,
            ))
        }
    }
}

/// Draws a view that needs no model (its [`ViewId::source`] is `Nothing`) from the request
/// alone: what `convlab render` calls for them, without reading a model.
pub fn render_from_settings(view: ViewId, req: &ViewRequest) -> Result<Rgba, VizError> {
    match view {
        ViewId::ConvArithmetic => conv_arithmetic::render(&req.arithmetic),
        _ => Err(VizError::NeedsModel(view)),
    }
}
