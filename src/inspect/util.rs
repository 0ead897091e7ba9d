//! Small helpers shared by the inspections.

use ndarray::{Array2, ArrayView2, s};

use super::InspectError;
use crate::engine::model_spec::{INPUT_NODE, ModelSpec};
use crate::engine::{Graph, Tensor};

/// The index of `node`, or an error naming it.
pub fn node_index(graph: &Graph<f32>, node: &str) -> Result<usize, InspectError> {
    graph
        .index_of(node)
        .ok_or_else(|| InspectError::NoNode(node.to_string()))
}

/// The index of `node` after checking that it has channels (not a Flatten, which only
/// reshapes) and that `channel` is one of them.
pub fn channel_of(graph: &Graph<f32>, node: &str, channel: usize) -> Result<usize, InspectError> {
    let index = node_index(graph, node)?;
    let facts = &graph.facts().nodes[index];
    if facts.kind == "flatten" {
        return Err(InspectError::invalid(format!(
            "'{node}' only reshapes its input: pick a node with channels"
        )));
    }
    let [channels, _, _] = facts.output;
    if channel >= channels {
        return Err(InspectError::invalid(format!(
            "'{node}' has {channels} channels; there is no channel {channel}"
        )));
    }
    Ok(index)
}

/// Checks that `x` holds exactly one sample the model accepts.
pub fn check_one(graph: &Graph<f32>, x: &Tensor<f32>) -> Result<(), InspectError> {
    graph.check_input(x)?;
    if x.shape()[0] != 1 {
        return Err(InspectError::invalid(format!(
            "one input sample is inspected at a time, got a batch of {}",
            x.shape()[0]
        )));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(InspectError::invalid(
            "the input contains NaN or infinite values",
        ));
    }
    Ok(())
}

/// The tensor node `index` read as its first input during the last forward.
pub fn first_input(graph: &Graph<f32>, index: usize) -> Result<&Tensor<f32>, InspectError> {
    let facts = &graph.facts().nodes[index];
    let name = facts
        .inputs
        .first()
        .ok_or_else(|| InspectError::invalid(format!("node '{}' has no input", facts.name)))?;
    let t = if name == INPUT_NODE {
        graph.input()
    } else {
        graph.output(name)
    };
    t.ok_or_else(|| InspectError::invalid("run a forward pass first"))
}

/// The graph cut after `node`: the same nodes up to and including it, with the same
/// parameters, so that `node` is its output (backward can then start from any unit).
pub fn truncated(graph: &Graph<f32>, node: &str) -> Result<Graph<f32>, InspectError> {
    let index = node_index(graph, node)?;
    let spec = ModelSpec {
        input: graph.spec().input,
        nodes: graph.spec().nodes[..=index].to_vec(),
    };
    let kept = graph.params().iter().filter(|p| p.node <= index);
    Ok(Graph::with_params(
        &spec,
        kept.map(|p| (&p.name, p.value.clone())),
    )?)
}

/// L2 norm of a sequence of values, in f64.
pub fn l2<'a>(values: impl IntoIterator<Item = &'a f32>) -> f64 {
    values
        .into_iter()
        .map(|&v| (v as f64) * (v as f64))
        .sum::<f64>()
        .sqrt()
}

/// One channel plane of sample 0 as an owned `[h, w]` array.
pub fn plane(t: &Tensor<f32>, channel: usize) -> Result<Array2<f32>, InspectError> {
    if t.shape()[0] == 0 || channel >= t.shape()[1] {
        return Err(InspectError::invalid(format!(
            "channel {channel} does not exist (the map has {})",
            t.shape()[1]
        )));
    }
    Ok(t.slice(s![0, channel, .., ..]).to_owned())
}

/// Bilinear resize with `align_corners = false` (as PyTorch's default).
pub fn resize_bilinear(a: ArrayView2<f32>, h: usize, w: usize) -> Array2<f32> {
    let (sh, sw) = a.dim();
    if sh == 0 || sw == 0 {
        return Array2::zeros((h, w));
    }
    let taps = |out: usize, src: usize| -> Vec<(usize, usize, f32)> {
        (0..out)
            .map(|o| {
                let s = ((o as f64 + 0.5) * src as f64 / out as f64 - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(src - 1);
                let i1 = (i0 + 1).min(src - 1);
                (i0, i1, (s - i0 as f64) as f32)
            })
            .collect()
    };
    let (ty, tx) = (taps(h, sh), taps(w, sw));
    Array2::from_shape_fn((h, w), |(i, j)| {
        let (y0, y1, fy) = ty[i];
        let (x0, x1, fx) = tx[j];
        let top = a[[y0, x0]] * (1.0 - fx) + a[[y0, x1]] * fx;
        let bottom = a[[y1, x0]] * (1.0 - fx) + a[[y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}
