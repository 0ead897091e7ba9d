//! The handcrafted-pipeline and evolution views: the preset's `[pipeline]` run on its data
//! (each stage's image for the chosen validation image, its features, the classifier's
//! validation accuracy and confusion matrix), and an evolution of pipelines (`[evolution]`,
//! defaults otherwise) with its chart and best pipeline. Neither uses the network: they are
//! what the lecture compares it with.

use super::super::classical::{evolution_picture, stages_picture};
use super::super::confusion::confusion_image;
use super::super::draw::{BACKGROUND, INK, padded, vstack};
use super::super::maps::{GridOptions, KernelOptions, kernel_grid, map_view, stack_views};
use super::super::text::text_image;
use super::super::{Rgba, VizError};
use crate::classical::pipeline::grey_image;
use crate::classical::{EvolutionSpec, PipelineEvaluation, PipelineSpec, evaluate, evolve};
use crate::data::Dataset;
use crate::engine::{Graph, Mode, Tensor};
use crate::inspect::filters::{conv_kernels, conv_nodes};

/// Threads the views' pipelines run on (they share the machine with training).
const THREADS: usize = 2;

fn missing_pipeline() -> VizError {
    VizError::UnsuitedData(
        "this preset has no [pipeline] section: open presets/handcrafted-textures.toml".into(),
    )
}

fn classical(e: crate::classical::ClassicalError) -> VizError {
    VizError::UnsuitedData(e.to_string())
}

/// The picture and a one-line summary of the handcrafted pipeline.
pub fn render_pipeline(
    spec: Option<&PipelineSpec>,
    train: &Dataset,
    val: &Dataset,
    sample: usize,
) -> Result<(Rgba, String), VizError> {
    let spec = spec.ok_or_else(missing_pipeline)?;
    let e = evaluate_pipeline(spec, train, val)?;
    pipeline_picture(spec, &e, train, val, sample)
}

/// The pipeline's evaluation (features of every image, the classifier fitted and scored),
/// which [`pipeline_picture`] draws and the window's Training panel shows.
pub fn evaluate_pipeline(
    spec: &PipelineSpec,
    train: &Dataset,
    val: &Dataset,
) -> Result<PipelineEvaluation, VizError> {
    evaluate(spec, train, val, THREADS).map_err(classical)
}

/// [`render_pipeline`] from an evaluation already made (of `spec` on `train` and `val`).
pub fn pipeline_picture(
    spec: &PipelineSpec,
    e: &PipelineEvaluation,
    train: &Dataset,
    val: &Dataset,
    sample: usize,
) -> Result<(Rgba, String), VizError> {
    let set = if val.is_empty() { train } else { val };
    if set.is_empty() {
        return Err(VizError::UnsuitedData("the data set is empty".into()));
    }
    let k = sample.min(set.len() - 1);
    let stages = stages_picture(spec, &grey_image(&set.inputs, k));
    let summary = format!(
        "{} features: validation accuracy {:.3} (training {:.3}); features {:.2} s, classifier {:.2} s",
        e.feature_names.len(),
        e.val_accuracy,
        e.train_accuracy,
        e.feature_seconds,
        e.fit_seconds
    );
    let confusion = confusion_image(&e.confusion, &e.class_names);
    let title = text_image(&summary, 2, INK, BACKGROUND, 4);
    let picture = padded(
        &vstack(&[title, stages, confusion], 8, BACKGROUND),
        8,
        BACKGROUND,
    );
    Ok((picture, summary))
}

/// The picture and a one-line summary of an evolution run.
pub fn render_evolution(
    spec: Option<&EvolutionSpec>,
    train: &Dataset,
    val: &Dataset,
    sample: usize,
) -> Result<(Rgba, String), VizError> {
    let spec = spec.cloned().unwrap_or_default();
    let history = evolve(&spec, train, val, THREADS, |_| {
        std::ops::ControlFlow::Continue(())
    })
    .map_err(classical)?;
    let last = history
        .last()
        .ok_or_else(|| VizError::UnsuitedData("the evolution ran no generation".into()))?;
    let set = if val.is_empty() { train } else { val };
    let k = sample.min(set.len().saturating_sub(1));
    let summary = format!(
        "{} generations of {}+{} (seed {}): best fitness {:.3}, held-out accuracy {:.3}, {:.1} s",
        last.index,
        spec.parents,
        spec.offspring,
        spec.seed,
        last.best_fitness,
        last.best_test_accuracy,
        last.seconds
    );
    Ok((
        evolution_picture(&history, &grey_image(&set.inputs, k)),
        summary,
    ))
}

/// The first conv layer's learned kernels and, for one image `x` (`[1, c, h, w]`), the maps
/// they make of it: what the network learned from the data, set beside an evolved
/// pipeline's stages by the Evolved features tab and `convlab pipeline --compare --table`.
/// Returns the conv node's name with the picture.
pub fn first_conv_filters(
    graph: &mut Graph<f32>,
    x: Option<&Tensor<f32>>,
) -> Result<(String, Rgba), VizError> {
    let node = conv_nodes(graph).into_iter().next().ok_or_else(|| {
        VizError::UnsuitedModel("the model has no conv layer whose filters to show".into())
    })?;
    let w = conv_kernels(graph, &node)?;
    let kernels = kernel_grid(
        &w,
        &format!("learned kernels of {node}"),
        &KernelOptions::default(),
    )?;
    let mut parts = vec![kernels.image];
    if let Some(x) = x {
        graph.forward(x, Mode::Eval)?;
        if let Some(maps) = graph.output(&node) {
            let opts = GridOptions {
                tile: 64,
                columns: 4,
                legend: false,
                ..GridOptions::default()
            };
            let maps = maps.clone();
            parts.push(map_view(&maps, &format!("{node} on this image"), &opts, None).image);
        }
    }
    Ok((node, stack_views(parts)))
}
