//! The model as a small DAG of named nodes. Forward keeps every node's output and backward
//! every node's gradient, so the views can show any of them ("taps").

use ndarray::ArrayD;

use super::error::GraphError;
use super::facts::{ModelFacts, infer};
pub use super::layers::param::Param;
use super::layers::pool2d::Winners;
use super::layers::{Backward, Forward, Layer, Memo, param_start, sample};
use super::model_spec::{INPUT_NODE, ModelSpec};
use super::rng::Rng;
use super::tensor::{ParamTensor, Scalar, Tensor, dims};

/// Train or eval: dropout and batch norm behave differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

/// Where a node reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Input,
    Node(usize),
}

#[derive(Clone, Debug)]
struct Node<T> {
    layer: Layer,
    sources: Vec<Source>,
    params: std::ops::Range<usize>,
    memo: Memo<T>,
}

#[derive(Clone, Debug)]
pub struct Graph<T: Scalar = f32> {
    spec: ModelSpec,
    facts: ModelFacts,
    nodes: Vec<Node<T>>,
    params: Vec<Param<T>>,
    input: Option<Tensor<T>>,
    outputs: Vec<Tensor<T>>,
    grads: Vec<Option<Tensor<T>>>,
    /// The gradient buffers of a backward whose forward has been replaced: no longer
    /// readable, kept so the next backward writes into them instead of faulting in fresh
    /// pages (at batch 64 a step's gradients are tens of MB).
    spare_grads: Vec<Option<Tensor<T>>>,
    input_grad: Option<Tensor<T>>,
    rng: Rng,
}

/// Puts `value` in place of the parameter's value when the shapes agree.
fn replace_value<T>(p: &mut Param<T>, value: ParamTensor<T>) -> Result<(), GraphError> {
    if p.value.shape() != value.shape() {
        return Err(GraphError::Param {
            name: p.name.clone(),
            reason: format!(
                "shape {:?} does not match the model's {:?}",
                value.shape(),
                p.value.shape()
            ),
        });
    }
    p.value = value;
    Ok(())
}

impl<T: Scalar> Graph<T> {
    /// Validates `spec` and builds the graph with zeroed weights (see `init`), unit batch-norm
    /// scales and running variances.
    pub fn new(spec: &ModelSpec) -> Result<Self, GraphError> {
        let facts = infer(spec)?;
        let mut nodes = Vec::with_capacity(spec.nodes.len());
        let mut params = Vec::new();
        for (i, (node, nf)) in spec.nodes.iter().zip(&facts.nodes).enumerate() {
            let layer = node.kind.as_kind().layer(nf);
            let start = params.len();
            for p in layer.param_shapes() {
                params.push(Param {
                    name: format!("{}.{}", node.name, p.role.suffix()),
                    node: i,
                    role: p.role,
                    value: param_start(&p),
                    grad: ArrayD::zeros(p.shape),
                });
            }
            let sources = nf
                .inputs
                .iter()
                .map(|name| {
                    if name == INPUT_NODE {
                        Source::Input
                    } else {
                        Source::Node(facts.index_of(name).expect("facts resolved the input"))
                    }
                })
                .collect();
            nodes.push(Node {
                layer,
                sources,
                params: start..params.len(),
                memo: Memo::None,
            });
        }
        Ok(Graph {
            spec: spec.clone(),
            facts,
            nodes,
            params,
            input: None,
            outputs: Vec::new(),
            grads: Vec::new(),
            spare_grads: Vec::new(),
            input_grad: None,
            rng: Rng::new(0),
        })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn facts(&self) -> &ModelFacts {
        &self.facts
    }

    pub fn params(&self) -> &[Param<T>] {
        &self.params
    }

    pub fn params_mut(&mut self) -> &mut [Param<T>] {
        &mut self.params
    }

    pub fn param(&self, name: &str) -> Option<&Param<T>> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Replaces a parameter's value; the shape must match.
    pub fn set_param(&mut self, name: &str, value: ParamTensor<T>) -> Result<(), GraphError> {
        let i = self.param_index(name)?;
        replace_value(&mut self.params[i], value)
    }

    fn param_index(&self, name: &str) -> Result<usize, GraphError> {
        self.params
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| GraphError::Param {
                name: name.to_string(),
                reason: "the model has no such parameter".into(),
            })
    }

    /// A graph of `spec` holding the given weights: each of the model's parameters must be
    /// given with its shape, and no name the model lacks. Where stored weights (a checkpoint,
    /// an ONNX file, an export) meet their model.
    pub fn with_params<N: AsRef<str>>(
        spec: &ModelSpec,
        params: impl IntoIterator<Item = (N, ParamTensor<T>)>,
    ) -> Result<Self, GraphError> {
        let mut graph = Self::new(spec)?;
        let mut given = vec![false; graph.params.len()];
        for (name, value) in params {
            let i = graph.param_index(name.as_ref())?;
            replace_value(&mut graph.params[i], value)?;
            given[i] = true;
        }
        if let Some(i) = given.iter().position(|&g| !g) {
            return Err(GraphError::MissingParam {
                name: graph.params[i].name.clone(),
            });
        }
        Ok(graph)
    }

    /// Seeds the generator that dropout draws its masks from.
    pub fn set_dropout_seed(&mut self, seed: u64) {
        self.rng = Rng::derive(seed, 0xD20);
    }

    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.spec.nodes.iter().map(|n| n.name.as_str())
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.facts.index_of(name)
    }

    /// Checks that `x` is `[n, c, h, w]` with the model's sample shape and n ≥ 1.
    pub fn check_input(&self, x: &Tensor<T>) -> Result<(), GraphError> {
        let d = dims(x);
        if d[0] == 0 || d[1..] != self.facts.input {
            return Err(GraphError::Input {
                shape: d.to_vec(),
                reason: format!(
                    "the model expects [n, {}, {}, {}] with n ≥ 1",
                    self.facts.input[0], self.facts.input[1], self.facts.input[2]
                ),
            });
        }
        Ok(())
    }

    fn source<'a>(input: &'a Tensor<T>, outputs: &'a [Tensor<T>], s: Source) -> &'a Tensor<T> {
        match s {
            Source::Input => input,
            Source::Node(i) => &outputs[i],
        }
    }

    /// Runs every node; returns the last node's output.
    pub fn forward(&mut self, x: &Tensor<T>, mode: Mode) -> Result<&Tensor<T>, GraphError> {
        self.check_input(x)?;
        // Buffers of the last pass are reused when the shapes repeat (no allocation per
        // step once warm); layers with an `_into` form write every element.
        let input = match self.input.take() {
            Some(mut old) if old.dim() == x.dim() => {
                old.assign(x);
                old
            }
            _ => x.as_standard_layout().into_owned(),
        };
        let n = x.shape()[0];
        let training = mode == Mode::Train;
        let mut old_outputs = std::mem::take(&mut self.outputs);
        let mut outputs: Vec<Tensor<T>> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter_mut().enumerate() {
            let [c, h, w] = self.facts.nodes[i].output;
            let ins: Vec<&Tensor<T>> = node
                .sources
                .iter()
                .map(|&s| Self::source(&input, &outputs, s))
                .collect();
            let y = node.layer.forward(Forward {
                ins: &ins,
                params: &mut self.params[node.params.clone()],
                memo: &mut node.memo,
                training,
                rng: &mut self.rng,
                out_dim: (n, c, h, w),
                old_output: old_outputs.get_mut(i),
            });
            outputs.push(y);
        }
        self.input = Some(input);
        self.outputs = outputs;
        if !self.grads.is_empty() {
            self.spare_grads = std::mem::take(&mut self.grads);
        }
        self.input_grad = None;
        Ok(self.outputs.last().expect("a graph has nodes"))
    }

    /// Runs only the nodes after `name`, with `z` (`[n, …]` of that node's output shape) in
    /// place of that node's output, in evaluation mode: the decoder of an autoencoder or VAE
    /// fed with codes of one's choosing. Errors when a later node reads from the input or
    /// from a node before `name` (the part after it is then not a decoder of `z` alone).
    /// The last forward's outputs are left as they were.
    pub fn forward_from(&mut self, name: &str, z: &Tensor<T>) -> Result<Tensor<T>, GraphError> {
        let start = self
            .index_of(name)
            .ok_or_else(|| GraphError::node(name, "no node of that name"))?;
        let d = dims(z);
        if d[0] == 0 || d[1..] != self.facts.nodes[start].output {
            return Err(GraphError::Input {
                shape: d.to_vec(),
                reason: format!(
                    "node '{name}' outputs {:?} per sample",
                    self.facts.nodes[start].output
                ),
            });
        }
        let n = d[0];
        let empty = Tensor::<T>::zeros((0, 0, 0, 0));
        let mut outputs: Vec<Tensor<T>> = Vec::with_capacity(self.nodes.len());
        outputs.resize(start, empty.clone());
        outputs.push(z.as_standard_layout().into_owned());
        for i in start + 1..self.nodes.len() {
            let node = &mut self.nodes[i];
            if let Some(s) = node.sources.iter().find(|s| match s {
                Source::Input => true,
                Source::Node(j) => *j < start,
            }) {
                let from = match s {
                    Source::Input => "the input".to_string(),
                    Source::Node(j) => format!("'{}'", self.facts.nodes[*j].name),
                };
                return Err(GraphError::node(
                    &self.facts.nodes[i].name,
                    format!(
                        "reads {from}, which comes before '{name}': it is not a decoder of '{name}' alone"
                    ),
                ));
            }
            let [c, h, w] = self.facts.nodes[i].output;
            let ins: Vec<&Tensor<T>> = node
                .sources
                .iter()
                .map(|&s| Self::source(&empty, &outputs, s))
                .collect();
            let y = node.layer.forward(Forward {
                ins: &ins,
                params: &mut self.params[node.params.clone()],
                memo: &mut node.memo,
                training: false,
                rng: &mut self.rng,
                out_dim: (n, c, h, w),
                old_output: None,
            });
            outputs.push(y);
        }
        Ok(outputs.pop().expect("a graph has nodes"))
    }

    /// Back-propagates `grad_output` (the loss gradient w.r.t. the last node's output) through
    /// the last forward. Parameter gradients are overwritten, not accumulated across calls.
    /// With `input_grad`, the gradient w.r.t. the network input is kept too.
    pub fn backward(
        &mut self,
        grad_output: &Tensor<T>,
        input_grad: bool,
    ) -> Result<(), GraphError> {
        self.backward_with_kl(grad_output, input_grad, T::zero())
    }

    /// The KL divergence to N(0, I) of every sampling node's (μ, log σ²) in the last forward,
    /// summed over the nodes (each a batch mean of per-sample sums, see
    /// `layers::sample::kl_divergence`); zero without sampling nodes.
    pub fn kl_divergence(&self) -> T {
        let Some(input) = self.input.as_ref() else {
            return T::zero();
        };
        let mut total = T::zero();
        for node in &self.nodes {
            if let Layer::Sample(_) = node.layer {
                total += sample::kl_divergence(Self::source(input, &self.outputs, node.sources[0]));
            }
        }
        total
    }

    /// Whether the model has a sampling node, so a KL term applies.
    pub fn has_sampling(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(n.layer, Layer::Sample(_)))
    }

    /// [`Graph::backward`] for the loss `L + kl_weight · KL`: each sampling node adds
    /// `kl_weight` × the KL gradient to its input's gradient. With `kl_weight` zero it is
    /// exactly [`Graph::backward`]. A sampling node the output does not depend on gets no
    /// KL gradient (nothing downstream of it is trained through it anyway).
    pub fn backward_with_kl(
        &mut self,
        grad_output: &Tensor<T>,
        input_grad: bool,
        kl_weight: T,
    ) -> Result<(), GraphError> {
        let Some(input) = self.input.as_ref() else {
            return Err(GraphError::Input {
                shape: vec![],
                reason: "backward needs a forward pass first".into(),
            });
        };
        let last = self.outputs.len() - 1;
        if grad_output.shape() != self.outputs[last].shape() {
            return Err(GraphError::Input {
                shape: grad_output.shape().to_vec(),
                reason: format!(
                    "the output gradient must have the output's shape {:?}",
                    self.outputs[last].shape()
                ),
            });
        }
        for p in self.params.iter_mut() {
            p.grad.fill(T::zero());
        }
        // A node's output needs a gradient when something trainable (or the input, when
        // asked for) lies upstream of it.
        let mut needs_grad = vec![false; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            needs_grad[i] = self.params[node.params.clone()]
                .iter()
                .any(|p| p.trainable())
                || node.sources.iter().any(|s| match s {
                    Source::Input => input_grad,
                    Source::Node(j) => needs_grad[*j],
                });
        }
        let mut old_grads = std::mem::take(&mut self.grads);
        if old_grads.is_empty() {
            old_grads = std::mem::take(&mut self.spare_grads);
        }
        old_grads.resize(self.nodes.len(), None);
        let mut grads: Vec<Option<Tensor<T>>> = vec![None; self.nodes.len()];
        grads[last] = Some(match old_grads[last].take() {
            Some(mut g) if g.dim() == grad_output.dim() => {
                g.assign(grad_output);
                g
            }
            _ => grad_output.as_standard_layout().into_owned(),
        });
        let mut in_grad: Option<Tensor<T>> = None;
        for i in (0..self.nodes.len()).rev() {
            let Some(dy) = grads[i].take() else { continue };
            let node = &self.nodes[i];
            let ins: Vec<&Tensor<T>> = node
                .sources
                .iter()
                .map(|&s| Self::source(input, &self.outputs, s))
                .collect();
            let want_dx = node.sources.iter().any(|s| match s {
                Source::Input => input_grad,
                Source::Node(j) => needs_grad[*j],
            });
            let x0 = ins[0];
            // A buffer for the first input's gradient: last pass's, when the shape repeats
            // and nothing else has written that slot yet.
            let mut dx_buf = || {
                let slot = match node.sources[0] {
                    Source::Input => None,
                    Source::Node(j) if grads[j].is_none() => old_grads[j].take(),
                    Source::Node(_) => None,
                };
                match slot {
                    Some(t) if t.dim() == x0.dim() => t,
                    _ => Tensor::<T>::zeros(x0.raw_dim()),
                }
            };
            let mut dxs = node.layer.backward(Backward {
                ins: &ins,
                output: &self.outputs[i],
                dy: &dy,
                params: &mut self.params[node.params.clone()],
                memo: &node.memo,
                want_dx,
                dx_buffer: &mut dx_buf,
            });
            if want_dx {
                if kl_weight != T::zero()
                    && let Layer::Sample(_) = node.layer
                {
                    sample::add_kl_grad(ins[0], kl_weight, &mut dxs[0]);
                }
                for (src, dx) in node.sources.clone().into_iter().zip(dxs) {
                    let slot = match src {
                        Source::Input => &mut in_grad,
                        Source::Node(j) => &mut grads[j],
                    };
                    match slot {
                        Some(acc) => *acc += &dx,
                        None => *slot = Some(dx),
                    }
                }
            }
            grads[i] = Some(dy);
        }
        self.grads = grads;
        self.input_grad = if input_grad { in_grad } else { None };
        Ok(())
    }

    /// The last forward's input (standard layout).
    pub fn input(&self) -> Option<&Tensor<T>> {
        self.input.as_ref()
    }

    /// Every node's output from the last forward, in node order.
    pub fn outputs(&self) -> &[Tensor<T>] {
        &self.outputs
    }

    pub fn output(&self, name: &str) -> Option<&Tensor<T>> {
        self.index_of(name).and_then(|i| self.outputs.get(i))
    }

    /// The loss gradient w.r.t. a node's output from the last backward (None where no
    /// gradient flows, e.g. a branch the loss does not depend on).
    pub fn node_grad(&self, name: &str) -> Option<&Tensor<T>> {
        self.index_of(name)
            .and_then(|i| self.grads.get(i))
            .and_then(|g| g.as_ref())
    }

    pub fn input_grad(&self) -> Option<&Tensor<T>> {
        self.input_grad.as_ref()
    }

    /// The winning input positions of a max/min pooling node from the last forward.
    pub fn winners(&self, name: &str) -> Option<&Winners> {
        let i = self.index_of(name)?;
        match &self.nodes[i].memo {
            Memo::Winners(w) => Some(w),
            _ => None,
        }
    }

    /// The keep mask (scaled) of a dropout node from the last training forward.
    pub fn dropout_mask(&self, name: &str) -> Option<&Tensor<T>> {
        let i = self.index_of(name)?;
        match &self.nodes[i].memo {
            Memo::DropoutMask(m) => m.as_ref(),
            _ => None,
        }
    }

    /// The noise ε a sampling node drew in the last training forward (None in eval).
    pub fn sampling_noise(&self, name: &str) -> Option<&Tensor<T>> {
        let i = self.index_of(name)?;
        match &self.nodes[i].memo {
            Memo::Noise(e) => e.as_ref(),
            _ => None,
        }
    }

    /// What a sampling node read in the last forward: μ and log σ² as the two halves of its
    /// channels (None for other nodes or before a forward).
    pub fn sampling_input(&self, name: &str) -> Option<&Tensor<T>> {
        let i = self.index_of(name)?;
        let node = &self.nodes[i];
        if !matches!(node.layer, Layer::Sample(_)) {
            return None;
        }
        let input = self.input.as_ref()?;
        if self.outputs.len() != self.nodes.len() {
            return None;
        }
        Some(Self::source(input, &self.outputs, node.sources[0]))
    }

    /// The first sampling node's name, if the model has one.
    pub fn first_sampling_node(&self) -> Option<&str> {
        self.nodes
            .iter()
            .position(|n| matches!(n.layer, Layer::Sample(_)))
            .map(|i| self.facts.nodes[i].name.as_str())
    }

    /// The layer of a node, for views that need its geometry.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.index_of(name).map(|i| &self.nodes[i].layer)
    }
}
