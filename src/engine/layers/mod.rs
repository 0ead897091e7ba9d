//! One module per node kind. A kind's module holds everything ConvLab knows about it: its
//! hyper-parameters (the text format's keys, with defaults), the editor's fields with the
//! lecture's tooltips, shape / parameter / FLOP / receptive-field inference ([`Kind`]), and
//! the computation with its forward and backward ([`Layer`]). Its ONNX mapping lives in
//! `onnx/mapping.rs`, which matches over [`NodeKind`] exhaustively.
//!
//! A new kind is its module here, one line in [`node_kinds!`] below, a [`Layer`] variant
//! with its forward and backward arms in this file if it computes something new, and its
//! ONNX mapping; the compiler points at each of them.

pub mod activation;
pub mod batch_norm2d;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dense;
pub mod dropout;
pub mod kind;
pub mod layer_norm;
pub mod merge;
pub mod param;
pub mod pool2d;
pub mod reshape;
pub mod upsample2d;
pub mod window;

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use activation::Activation;
use batch_norm2d::{BatchNorm2d, BatchNormCache};
use conv_transpose2d::ConvTranspose2d;
use conv2d::Conv2d;
use dense::Dense;
use dropout::Dropout;
use layer_norm::{LayerNorm, LayerNormCache};
use pool2d::{Pool2d, PoolKind, Winners};
use upsample2d::Upsample2d;

pub use activation::LeakyReluConfig;
pub use batch_norm2d::BatchNorm2dConfig;
pub use conv_transpose2d::ConvTranspose2dConfig;
pub use conv2d::Conv2dConfig;
pub use dense::DenseConfig;
pub use dropout::DropoutConfig;
pub use kind::Kind;
pub use param::{Param, ParamRole};
pub use pool2d::Pool2dConfig;
pub use upsample2d::UpsampleConfig;

use super::rng::Rng;
use super::tensor::{Scalar, Tensor, dims};

/// Generates [`NodeKind`] from the registration list: one variant per kind, wrapping the
/// kind's hyper-parameters (`Variant(Config) => "tag"`), or a parameter-free kind's unit
/// value (`Variant = value => "tag"`); the list's order is the palette's.
macro_rules! node_kinds {
    (@bind $k:ident $config:ty) => { $k };
    (@get $k:ident [$config:ty] []) => { $k };
    (@get $k:ident [] [$unit:expr]) => { &$unit };
    (@get_mut $k:ident [$config:ty]) => { Some($k) };
    (@get_mut $k:ident []) => { None };
    ($( $(#[$doc:meta])* $variant:ident $(($config:ty))? $(= $unit:expr)? => $tag:literal, )*) => {
        /// Every kind of node with its hyper-parameters. The tag `kind = "…"` names the
        /// kind, the other keys are the fields of its configuration.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", deny_unknown_fields)]
        pub enum NodeKind {
            $( $(#[$doc])* #[serde(rename = $tag)] $variant $(($config))?, )*
        }

        impl NodeKind {
            /// The text format's name of this kind, e.g. `conv2d`.
            pub fn tag(&self) -> &'static str {
                match self {
                    $( NodeKind::$variant { .. } => $tag, )*
                }
            }

            /// What the kind knows about itself.
            pub fn as_kind(&self) -> &dyn Kind {
                match self {
                    $( NodeKind::$variant $((node_kinds!(@bind k $config)))? =>
                        node_kinds!(@get k [$($config)?] [$($unit)?]), )*
                }
            }

            /// The kind's editable hyper-parameters; `None` for parameter-free kinds.
            pub fn as_kind_mut(&mut self) -> Option<&mut dyn Kind> {
                match self {
                    $( NodeKind::$variant $((node_kinds!(@bind k $config)))? =>
                        node_kinds!(@get_mut k [$($config)?]), )*
                }
            }

            /// Every kind with the palette's fresh configuration, in the palette's order.
            pub fn palette() -> Vec<NodeKind> {
                vec![ $( NodeKind::$variant $((<$config>::default()))?, )* ]
            }
        }
    };
}

node_kinds! {
    Conv2d(conv2d::Conv2dConfig) => "conv2d",
    ConvTranspose2d(conv_transpose2d::ConvTranspose2dConfig) => "conv_transpose2d",
    MaxPool2d(pool2d::MaxPool2dConfig) => "max_pool2d",
    MinPool2d(pool2d::MinPool2dConfig) => "min_pool2d",
    AvgPool2d(pool2d::AvgPool2dConfig) => "avg_pool2d",
    GlobalAvgPool = reshape::GlobalAvgPool => "global_avg_pool",
    Flatten = reshape::Flatten => "flatten",
    /// Fully connected; a spatial input is flattened first.
    Dense(dense::DenseConfig) => "dense",
    Dropout(dropout::DropoutConfig) => "dropout",
    BatchNorm2d(batch_norm2d::BatchNorm2dConfig) => "batch_norm2d",
    LayerNorm(layer_norm::LayerNormConfig) => "layer_norm",
    Upsample(upsample2d::UpsampleConfig) => "upsample",
    Add = merge::Add => "add",
    Concat = merge::Concat => "concat",
    Identity = activation::Identity => "identity",
    Relu = activation::Relu => "relu",
    LeakyRelu(activation::LeakyReluConfig) => "leaky_relu",
    Sigmoid = activation::Sigmoid => "sigmoid",
    Tanh = activation::Tanh => "tanh",
    /// Softmax over channels.
    Softmax = activation::Softmax => "softmax",
}

impl NodeKind {
    /// How many inputs the node takes: `None` means two or more.
    pub fn arity(&self) -> Option<usize> {
        self.as_kind().arity()
    }

    /// A conv with a square kernel, stride 1, uniform zero padding and a bias.
    pub fn conv(out_channels: usize, kernel: usize, padding: usize) -> Self {
        NodeKind::Conv2d(conv2d::Conv2dConfig::square(out_channels, kernel, padding))
    }

    /// Max pooling over square windows that do not overlap.
    pub fn max_pool(kernel: usize) -> Self {
        NodeKind::MaxPool2d(pool2d::Pool2dConfig::square(kernel))
    }

    /// A dense layer with a bias.
    pub fn dense(out_features: usize) -> Self {
        NodeKind::Dense(dense::DenseConfig::new(out_features))
    }
}

/// A node's computation with its resolved geometry.
#[derive(Clone, Debug)]
pub enum Layer {
    Conv(Conv2d),
    ConvTranspose(ConvTranspose2d),
    Pool(Pool2d),
    GlobalAvgPool,
    Flatten,
    Dense(Dense),
    Dropout(Dropout),
    BatchNorm(BatchNorm2d),
    LayerNorm(LayerNorm),
    Upsample(Upsample2d),
    Add,
    Concat,
    Activation(Activation),
    Softmax,
}

/// The value a parameter starts from before initialisation (see `init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamInit {
    Zero,
    /// Scales and variances: the identity transformation.
    One,
}

/// One parameter tensor of a layer.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamShape {
    pub role: ParamRole,
    pub shape: Vec<usize>,
    pub init: ParamInit,
}

impl ParamShape {
    pub fn new(role: ParamRole, shape: Vec<usize>, init: ParamInit) -> Self {
        ParamShape { role, shape, init }
    }

    /// A weight of `shape` and, with `bias`, a bias of `outputs` values; both start at zero.
    pub fn weight_and_bias(shape: Vec<usize>, bias: bool, outputs: usize) -> Vec<ParamShape> {
        let mut v = vec![ParamShape::new(ParamRole::Weight, shape, ParamInit::Zero)];
        if bias {
            v.push(ParamShape::new(
                ParamRole::Bias,
                vec![outputs],
                ParamInit::Zero,
            ));
        }
        v
    }
}

/// Per-node memory of the last forward that its backward (and the views) need.
#[derive(Clone, Debug)]
pub enum Memo<T> {
    None,
    Winners(Winners),
    BatchNorm(BatchNormCache<T>),
    LayerNorm(LayerNormCache<T>),
    DropoutMask(Option<Tensor<T>>),
}

/// What a layer's forward reads, and the buffers it may reuse.
pub struct Forward<'a, T: Scalar> {
    pub ins: &'a [&'a Tensor<T>],
    /// The node's parameters, in [`Layer::param_shapes`] order.
    pub params: &'a mut [Param<T>],
    pub memo: &'a mut Memo<T>,
    pub training: bool,
    /// Dropout's random source.
    pub rng: &'a mut Rng,
    /// The output's `(n, c, h, w)`.
    pub out_dim: (usize, usize, usize, usize),
    /// The last forward's output of this node, reused when its shape repeats.
    pub old_output: Option<&'a mut Tensor<T>>,
}

/// Last pass's output buffer when the shape repeats, otherwise zeros; layers that use it
/// write every element.
fn output_buffer<T: Scalar>(
    old: Option<&mut Tensor<T>>,
    dim: (usize, usize, usize, usize),
) -> Tensor<T> {
    match old.map(std::mem::take) {
        Some(t) if t.dim() == dim => t,
        _ => Tensor::<T>::zeros(dim),
    }
}

/// What a layer's backward reads.
pub struct Backward<'a, T: Scalar> {
    pub ins: &'a [&'a Tensor<T>],
    /// The node's output of the last forward.
    pub output: &'a Tensor<T>,
    /// The loss gradient w.r.t. the output.
    pub dy: &'a Tensor<T>,
    pub params: &'a mut [Param<T>],
    pub memo: &'a Memo<T>,
    /// Whether the inputs' gradients are wanted (parameter gradients always are).
    pub want_dx: bool,
    /// A buffer of the first input's shape for its gradient (possibly last pass's).
    pub dx_buffer: &'a mut dyn FnMut() -> Tensor<T>,
}

impl Layer {
    /// The parameter tensors this layer owns, in a fixed order, with their shapes.
    pub fn param_shapes(&self) -> Vec<ParamShape> {
        match self {
            Layer::Conv(c) => {
                ParamShape::weight_and_bias(c.weight_shape(), c.has_bias, c.geom.out_channels)
            }
            Layer::ConvTranspose(c) => {
                ParamShape::weight_and_bias(c.weight_shape(), c.has_bias, c.geom.out_channels)
            }
            Layer::Dense(d) => {
                ParamShape::weight_and_bias(d.weight_shape(), d.has_bias, d.out_features)
            }
            Layer::BatchNorm(b) => b.param_shapes(),
            Layer::LayerNorm(l) => l.param_shapes(),
            Layer::Pool(_)
            | Layer::GlobalAvgPool
            | Layer::Flatten
            | Layer::Dropout(_)
            | Layer::Upsample(_)
            | Layer::Add
            | Layer::Concat
            | Layer::Activation(_)
            | Layer::Softmax => Vec::new(),
        }
    }

    /// Fan-in and fan-out of the weight, as PyTorch computes them for initialisation;
    /// `None` for layers whose weight is not drawn at random.
    pub fn fans(&self) -> Option<(usize, usize)> {
        match self {
            Layer::Conv(c) => {
                let k = c.geom.kernel.h * c.geom.kernel.w;
                Some((
                    c.geom.in_channels / c.geom.groups * k,
                    c.geom.out_channels / c.geom.groups * k,
                ))
            }
            Layer::ConvTranspose(c) => {
                let k = c.geom.kernel.h * c.geom.kernel.w;
                // PyTorch's weight is [in, out, kh, kw], so its "fan in" is out·k.
                Some((c.geom.out_channels * k, c.geom.in_channels * k))
            }
            Layer::Dense(d) => Some((d.in_features, d.out_features)),
            Layer::Pool(_)
            | Layer::GlobalAvgPool
            | Layer::Flatten
            | Layer::Dropout(_)
            | Layer::BatchNorm(_)
            | Layer::LayerNorm(_)
            | Layer::Upsample(_)
            | Layer::Add
            | Layer::Concat
            | Layer::Activation(_)
            | Layer::Softmax => None,
        }
    }

    /// The node's output for its inputs.
    pub fn forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let Forward {
            ins,
            params: ps,
            memo,
            training,
            rng,
            out_dim,
            old_output,
        } = f;
        let x0 = ins[0];
        match self {
            Layer::Conv(c) => {
                let mut y = output_buffer(old_output, out_dim);
                c.forward_into(x0, &ps[0].value, ps.get(1).map(|p| &p.value), &mut y);
                y
            }
            Layer::ConvTranspose(c) => c.forward(x0, &ps[0].value, ps.get(1).map(|p| &p.value)),
            Layer::Dense(d) => d.forward(x0, &ps[0].value, ps.get(1).map(|p| &p.value)),
            Layer::Pool(p) => {
                let mut y = output_buffer(old_output, out_dim);
                let mut winners = match std::mem::replace(memo, Memo::None) {
                    Memo::Winners(wn) if wn.dim() == out_dim => Some(wn),
                    _ => None,
                };
                if p.kind != PoolKind::Avg && winners.is_none() {
                    winners = Some(Winners::zeros(out_dim));
                }
                p.forward_into(x0, &mut y, winners.as_mut());
                *memo = winners.map_or(Memo::None, Memo::Winners);
                y
            }
            Layer::GlobalAvgPool => reshape::global_avg_forward(x0),
            Layer::Flatten => reshape::flatten_forward(x0),
            Layer::Dropout(d) => {
                let (y, mask) = d.forward(x0, training, rng);
                *memo = Memo::DropoutMask(mask);
                y
            }
            Layer::BatchNorm(b) => {
                let mut cache = match std::mem::replace(memo, Memo::None) {
                    Memo::BatchNorm(c) => c,
                    _ => BatchNormCache::default(),
                };
                let (w, rest) = ps.split_at_mut(1);
                let (bias, rest) = rest.split_at_mut(1);
                let (rm, rv) = rest.split_at_mut(1);
                let y = b.forward(
                    x0,
                    &w[0].value,
                    &bias[0].value,
                    &mut rm[0].value,
                    &mut rv[0].value,
                    training,
                    &mut cache,
                );
                *memo = Memo::BatchNorm(cache);
                y
            }
            Layer::LayerNorm(l) => {
                let mut cache = match std::mem::replace(memo, Memo::None) {
                    Memo::LayerNorm(c) => c,
                    _ => LayerNormCache::default(),
                };
                let y = l.forward(x0, &ps[0].value, &ps[1].value, &mut cache);
                *memo = Memo::LayerNorm(cache);
                y
            }
            Layer::Upsample(u) => u.forward(x0),
            Layer::Add => merge::add_forward(ins),
            Layer::Concat => merge::concat_forward(ins),
            Layer::Activation(Activation::Relu) => {
                let mut y = output_buffer(old_output, out_dim);
                Activation::Relu.forward_into(x0, &mut y);
                y
            }
            Layer::Activation(a) => a.forward(x0),
            Layer::Softmax => activation::softmax_forward(x0),
        }
    }

    /// Adds the parameter gradients; returns the gradient of each input when `want_dx`
    /// (or always, for layers whose input gradient costs nothing extra), else none.
    pub fn backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let Backward {
            ins,
            output,
            dy,
            params: ps,
            memo,
            want_dx,
            dx_buffer,
        } = b;
        let x0 = ins[0];
        match self {
            Layer::Conv(c) => {
                let (w, bias) = ps.split_at_mut(1);
                let mut dx = want_dx.then(dx_buffer);
                c.backward_into(
                    x0,
                    &w[0].value,
                    dy,
                    &mut w[0].grad,
                    bias.first_mut().map(|p| &mut p.grad),
                    dx.as_mut(),
                );
                dx.into_iter().collect()
            }
            Layer::ConvTranspose(c) => {
                let (w, bias) = ps.split_at_mut(1);
                c.backward(
                    x0,
                    &w[0].value,
                    dy,
                    &mut w[0].grad,
                    bias.first_mut().map(|p| &mut p.grad),
                    want_dx,
                )
                .into_iter()
                .collect()
            }
            Layer::Dense(d) => {
                let (w, bias) = ps.split_at_mut(1);
                let dx = d.backward(
                    x0,
                    &w[0].value,
                    dy,
                    &mut w[0].grad,
                    bias.first_mut().map(|p| &mut p.grad),
                    want_dx,
                );
                dx.map(|g| g.into_shape_with_order(x0.raw_dim()).expect("same count"))
                    .into_iter()
                    .collect()
            }
            Layer::Pool(p) => {
                let winners = match memo {
                    Memo::Winners(w) => Some(w),
                    _ => None,
                };
                vec![p.backward(dims(x0), dy, winners)]
            }
            Layer::GlobalAvgPool => vec![reshape::global_avg_backward(dims(x0), dy)],
            Layer::Flatten => vec![reshape::flatten_backward(dims(x0), dy)],
            Layer::Dropout(d) => {
                let mask = match memo {
                    Memo::DropoutMask(m) => m.as_ref(),
                    _ => None,
                };
                vec![d.backward(dy, mask)]
            }
            Layer::BatchNorm(bn) => {
                let Memo::BatchNorm(cache) = memo else {
                    unreachable!("forward stored the cache")
                };
                let (w, rest) = ps.split_at_mut(1);
                vec![bn.backward(dy, &w[0].value, cache, &mut w[0].grad, &mut rest[0].grad)]
            }
            Layer::LayerNorm(l) => {
                let Memo::LayerNorm(cache) = memo else {
                    unreachable!("forward stored the cache")
                };
                let (w, rest) = ps.split_at_mut(1);
                vec![l.backward(dy, &w[0].value, cache, &mut w[0].grad, &mut rest[0].grad)]
            }
            Layer::Upsample(u) => vec![u.backward(dims(x0), dy)],
            Layer::Add => merge::add_backward(ins.len(), dy),
            Layer::Concat => {
                let channels: Vec<usize> = ins.iter().map(|t| t.shape()[1]).collect();
                merge::concat_backward(&channels, dy)
            }
            Layer::Activation(Activation::Relu) => {
                let mut dx = dx_buffer();
                Activation::Relu.backward_into(x0, dy, &mut dx);
                vec![dx]
            }
            Layer::Activation(a) => vec![a.backward(x0, output, dy)],
            Layer::Softmax => vec![activation::softmax_backward(output, dy)],
        }
    }
}

/// A parameter tensor of `shape` filled with its starting value.
pub fn param_start<T: Scalar>(p: &ParamShape) -> ArrayD<T> {
    match p.init {
        ParamInit::Zero => ArrayD::zeros(p.shape.clone()),
        ParamInit::One => ArrayD::from_elem(p.shape.clone(), T::one()),
    }
}
