//! Which input pixels and which regions matter for a class: input-gradient saliency and
//! Grad-CAM (Selvaraju et al.) at a chosen node. Both work for classifiers (`[1, k, 1, 1]`
//! outputs) and for dense outputs such as segmentation (`[1, k, h, w]`), where the class
//! score is the sum of that class's output over all pixels.

use ndarray::{Array2, Axis, s};

use crate::engine::{Graph, Mode, Tensor};

use super::InspectError;
use super::util::{check_one, node_index, resize_bilinear};

/// Input-gradient saliency for one class.
#[derive(Clone, Debug, PartialEq)]
pub struct Saliency {
    pub class: usize,
    /// The class score (output channel `class`, summed over pixels for dense outputs).
    pub score: f32,
    /// `∂score/∂input`, `[1, c, h, w]`.
    pub input_grad: Tensor<f32>,
    /// `max_c |∂score/∂input[c]|`, `[h, w]` (Simonyan et al.).
    pub map: Array2<f32>,
}

/// Grad-CAM of one class at one node.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCam {
    pub node: String,
    pub class: usize,
    pub score: f32,
    /// Channel weights `α_k`: the spatial mean of `∂score/∂A_k`.
    pub weights: Vec<f32>,
    /// `ReLU(Σ_k α_k A_k)` at the node's resolution, `[h, w]`.
    pub cam: Array2<f32>,
    /// `cam` resized bilinearly to the input's size, for overlays.
    pub upsampled: Array2<f32>,
}

/// Forward `x`, then backward from the class score; returns the score.
fn class_backward(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    class: usize,
) -> Result<f32, InspectError> {
    check_one(graph, x)?;
    let y = graph.forward(x, Mode::Eval)?;
    let k = y.shape()[1];
    if class >= k {
        return Err(InspectError::invalid(format!(
            "class {class} does not exist: the output has {k} channels"
        )));
    }
    let score = y.slice(s![0, class, .., ..]).sum();
    let mut seed = Tensor::zeros(y.raw_dim());
    seed.slice_mut(s![0, class, .., ..]).fill(1.0);
    graph.backward(&seed, true)?;
    Ok(score)
}

/// Input-gradient saliency of `class` for input `x` (one sample). Leaves the graph's taps
/// at this forward/backward.
pub fn saliency(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    class: usize,
) -> Result<Saliency, InspectError> {
    let score = class_backward(graph, x, class)?;
    let input_grad = graph
        .input_grad()
        .cloned()
        .ok_or_else(|| InspectError::invalid("no input gradient was computed"))?;
    let map = input_grad
        .index_axis(Axis(0), 0)
        .map_axis(Axis(0), |v| v.iter().fold(0.0f32, |m, g| m.max(g.abs())));
    Ok(Saliency {
        class,
        score,
        input_grad,
        map,
    })
}

/// Grad-CAM of `class` at `node` for input `x` (one sample). Leaves the graph's taps at
/// this forward/backward.
pub fn grad_cam(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    class: usize,
    node: &str,
) -> Result<GradCam, InspectError> {
    node_index(graph, node)?;
    let score = class_backward(graph, x, class)?;
    let a = graph
        .output(node)
        .ok_or_else(|| InspectError::NoNode(node.to_string()))?;
    let (_, k, h, w) = a.dim();
    let g = graph.node_grad(node).ok_or_else(|| {
        InspectError::invalid(format!("no gradient reaches '{node}' from the output"))
    })?;
    let weights: Vec<f32> = (0..k)
        .map(|ch| g.slice(s![0, ch, .., ..]).mean().unwrap_or(0.0))
        .collect();
    let mut cam = Array2::<f32>::zeros((h, w));
    for (ch, &alpha) in weights.iter().enumerate() {
        cam.scaled_add(alpha, &a.slice(s![0, ch, .., ..]));
    }
    cam.mapv_inplace(|v| v.max(0.0));
    let [_, ih, iw] = graph.facts().input;
    let upsampled = resize_bilinear(cam.view(), ih, iw);
    Ok(GradCam {
        node: node.to_string(),
        class,
        score,
        weights,
        cam,
        upsampled,
    })
}

/// A sensible default node for Grad-CAM: the last node before the output whose maps are
/// still spatial (more than one cell), or None for purely dense models.
pub fn default_cam_node(graph: &Graph<f32>) -> Option<String> {
    let nodes = &graph.facts().nodes;
    let last = nodes.len().checked_sub(1)?;
    nodes[..last]
        .iter()
        .rev()
        .find(|n| n.output[1] * n.output[2] > 1)
        .map(|n| n.name.clone())
}
