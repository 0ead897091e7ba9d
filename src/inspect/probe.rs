//! One input through the network and back: every node's activation and loss gradient,
//! activation statistics (with the share of inactive ReLU units), histograms of weights,
//! activations and gradients, and per-layer gradient norms — the data behind the
//! activations and gradients views.

use crate::engine::layers::Layer;
use crate::engine::layers::activation::Activation;
use crate::engine::loss::{LossKind, Target, loss};
use crate::engine::{Graph, Mode, Tensor};

use super::InspectError;
use super::util::{check_one, l2};

/// Bins of every histogram a probe computes.
pub const HISTOGRAM_BINS: usize = 48;

/// Counts of values in equal-width bins between `lo` and `hi`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
    /// NaN or infinite values (not in any bin).
    pub non_finite: u32,
}

impl Histogram {
    /// The histogram of `values` over their own range, in `bins` bins (at least 1).
    pub fn of<'a>(values: impl IntoIterator<Item = &'a f32> + Clone, bins: usize) -> Histogram {
        let bins = bins.max(1);
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        let mut non_finite = 0u32;
        for &v in values.clone() {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            } else {
                non_finite += 1;
            }
        }
        if lo > hi {
            return Histogram {
                lo: 0.0,
                hi: 0.0,
                counts: vec![0; bins],
                non_finite,
            };
        }
        let mut counts = vec![0u32; bins];
        let width = (hi - lo) as f64;
        for &v in values {
            if v.is_finite() {
                let k = if width > 0.0 {
                    (((v - lo) as f64 / width) * bins as f64) as usize
                } else {
                    0
                };
                counts[k.min(bins - 1)] += 1;
            }
        }
        Histogram {
            lo,
            hi,
            counts,
            non_finite,
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| c as u64).sum()
    }

    /// The value range `[start, end)` of bin `k`.
    pub fn bin_range(&self, k: usize) -> (f32, f32) {
        let w = (self.hi - self.lo) / self.counts.len() as f32;
        (self.lo + w * k as f32, self.lo + w * (k + 1) as f32)
    }
}

/// Summary of one tensor's values.
#[derive(Clone, Debug, PartialEq)]
pub struct ActStats {
    pub min: f32,
    pub max: f32,
    pub mean: f64,
    pub std: f64,
    pub count: usize,
    /// For ReLU nodes: the share of units that output exactly 0 for this input.
    pub dead_share: Option<f64>,
}

impl ActStats {
    pub fn of(values: &[f32], relu: bool) -> ActStats {
        let count = values.len();
        let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
        let (mut sum, mut sq) = (0.0f64, 0.0f64);
        let mut zeros = 0usize;
        for &v in values {
            min = min.min(v);
            max = max.max(v);
            sum += v as f64;
            sq += (v as f64) * (v as f64);
            zeros += usize::from(v == 0.0);
        }
        let n = count.max(1) as f64;
        let mean = sum / n;
        ActStats {
            min: if count == 0 { 0.0 } else { min },
            max: if count == 0 { 0.0 } else { max },
            mean,
            std: (sq / n - mean * mean).max(0.0).sqrt(),
            count,
            dead_share: relu.then(|| zeros as f64 / n),
        }
    }
}

/// What one node did for the probed input.
#[derive(Clone, Debug)]
pub struct NodeProbe {
    pub name: String,
    /// The node kind's text-format name, e.g. `conv2d`.
    pub kind: &'static str,
    /// Output `[1, c, h, w]`.
    pub activation: Tensor<f32>,
    /// Loss gradient w.r.t. the output, `[1, c, h, w]` (None where no gradient flows).
    pub grad: Option<Tensor<f32>>,
    pub stats: ActStats,
    pub histogram: Histogram,
    pub grad_histogram: Option<Histogram>,
    /// ‖∂loss/∂output‖₂.
    pub grad_norm: Option<f64>,
}

/// One trainable parameter tensor with its gradient for the probed input.
#[derive(Clone, Debug)]
pub struct ParamProbe {
    /// `<node>.<role>`, e.g. `conv1.weight`.
    pub name: String,
    pub node: String,
    pub norm: f64,
    pub grad_norm: f64,
    pub histogram: Histogram,
    pub grad_histogram: Histogram,
}

/// Forward and backward for one input: everything the activations and gradients views need.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The probed input `[1, c, h, w]`.
    pub input: Tensor<f32>,
    /// ∂loss/∂input, `[1, c, h, w]`.
    pub input_grad: Tensor<f32>,
    pub loss: f64,
    /// Every node, in graph order.
    pub nodes: Vec<NodeProbe>,
    /// Every trainable parameter, in graph order.
    pub params: Vec<ParamProbe>,
}

impl Probe {
    pub fn node(&self, name: &str) -> Option<&NodeProbe> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Per parameterised node, in graph order: `(node, ‖∂loss/∂weight‖₂)` — the
    /// gradient-norm chart (vanishing gradients show as a slope over depth).
    pub fn weight_grad_norms(&self) -> Vec<(String, f64)> {
        self.params
            .iter()
            .filter(|p| p.name.ends_with(".weight"))
            .map(|p| (p.node.clone(), p.grad_norm))
            .collect()
    }

    /// Per parameterised node: ‖∂loss/∂θ‖₂ over all of its trainable tensors.
    pub fn node_grad_norms(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = Vec::new();
        for p in &self.params {
            match out.last_mut() {
                Some((n, sq)) if *n == p.node => *sq += p.grad_norm * p.grad_norm,
                _ => out.push((p.node.clone(), p.grad_norm * p.grad_norm)),
            }
        }
        out.into_iter().map(|(n, sq)| (n, sq.sqrt())).collect()
    }
}

/// Runs `x` (one sample) forward in eval mode, computes `loss_kind` against `target`, and
/// back-propagates, keeping every gradient. Overwrites the graph's taps and parameter
/// gradients (the next training step recomputes both), never its weights.
pub fn probe(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    target: Target<'_, f32>,
    loss_kind: LossKind,
) -> Result<Probe, InspectError> {
    check_one(graph, x)?;
    let output = graph.forward(x, Mode::Eval)?.clone();
    let (value, grad) = loss(loss_kind, &output, target)?;
    graph.backward(&grad, true)?;
    let input = graph
        .input()
        .cloned()
        .ok_or_else(|| InspectError::invalid("the forward kept no input"))?;
    let input_grad = graph
        .input_grad()
        .cloned()
        .unwrap_or_else(|| Tensor::zeros(input.raw_dim()));
    let facts = graph.facts();
    let mut nodes = Vec::with_capacity(facts.nodes.len());
    for (nf, activation) in facts.nodes.iter().zip(graph.outputs()) {
        let relu = matches!(
            graph.layer(&nf.name),
            Some(Layer::Activation(Activation::Relu))
        );
        let values = activation
            .as_slice()
            .map(|s| s.to_vec())
            .unwrap_or_else(|| activation.iter().copied().collect());
        let grad = graph.node_grad(&nf.name).cloned();
        nodes.push(NodeProbe {
            name: nf.name.clone(),
            kind: nf.kind,
            stats: ActStats::of(&values, relu),
            histogram: Histogram::of(&values, HISTOGRAM_BINS),
            grad_histogram: grad
                .as_ref()
                .map(|g| Histogram::of(g.iter(), HISTOGRAM_BINS)),
            grad_norm: grad.as_ref().map(|g| l2(g.iter())),
            activation: activation.clone(),
            grad,
        });
    }
    let params = graph
        .params()
        .iter()
        .filter(|p| p.trainable())
        .map(|p| ParamProbe {
            name: p.name.clone(),
            node: facts.nodes[p.node].name.clone(),
            norm: l2(p.value.iter()),
            grad_norm: l2(p.grad.iter()),
            histogram: Histogram::of(p.value.iter(), HISTOGRAM_BINS),
            grad_histogram: Histogram::of(p.grad.iter(), HISTOGRAM_BINS),
        })
        .collect();
    Ok(Probe {
        input,
        input_grad,
        loss: value as f64,
        nodes,
        params,
    })
}

/// The share of each ReLU node's channels that output 0 for every sample of `xs`
/// (`[n, c, h, w]`, evaluated in eval mode): truly dead filters rather than units that are
/// merely off for one input. Returns `(node, dead channels / channels)` per ReLU node.
pub fn dead_channels(
    graph: &mut Graph<f32>,
    xs: &Tensor<f32>,
) -> Result<Vec<(String, f64)>, InspectError> {
    graph.check_input(xs)?;
    graph.forward(xs, Mode::Eval)?;
    let mut out = Vec::new();
    for (nf, y) in graph.facts().nodes.iter().zip(graph.outputs()) {
        if !matches!(
            graph.layer(&nf.name),
            Some(Layer::Activation(Activation::Relu))
        ) {
            continue;
        }
        let c = y.shape()[1];
        let dead = (0..c)
            .filter(|&ch| y.index_axis(ndarray::Axis(1), ch).iter().all(|&v| v == 0.0))
            .count();
        out.push((nf.name.clone(), dead as f64 / c.max(1) as f64));
    }
    Ok(out)
}
