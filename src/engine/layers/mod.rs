//! One module per node kind. A kind's module holds everything ConvLab knows about it: its
//! hyper-parameters (the text format's keys, with defaults), the editor's fields with the
//! lecture's tooltips, shape / parameter / FLOP / receptive-field inference ([`Kind`]), and
//! the computation with its forward and backward ([`Compute`]). Its ONNX mapping lives in
//! `onnx/mapping.rs`, which matches over [`NodeKind`] exhaustively.
//!
//! A new kind is its module here, one line in [`node_kinds!`] below, one line in `layers!`
//! if it computes something new (its [`Compute`] type, and what it remembers between
//! forward and backward), and its ONNX mapping; the compiler points at each of them.

pub mod activation;
pub mod batch_norm2d;
pub mod compute;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dense;
pub mod dropout;
pub mod kind;
pub mod layer_norm;
pub mod local_response_norm;
pub mod merge;
pub mod param;
pub mod pool2d;
pub mod reshape;
pub mod sample;
pub mod time_embedding;
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
use local_response_norm::LocalResponseNorm;
use pool2d::{Pool2d, Winners};
use upsample2d::Upsample2d;

pub use activation::LeakyReluConfig;
pub use batch_norm2d::BatchNorm2dConfig;
pub use compute::{Backward, Compute, Forward};
pub use conv_transpose2d::ConvTranspose2dConfig;
pub use conv2d::Conv2dConfig;
pub use dense::DenseConfig;
pub use dropout::DropoutConfig;
pub use kind::Kind;
pub use param::{Param, ParamRole};
pub use pool2d::Pool2dConfig;
pub use time_embedding::TimeEmbeddingConfig;
pub use upsample2d::UpsampleConfig;

use super::tensor::{Scalar, Tensor};

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
    /// A VAE's reparameterised draw: μ + σ·ε from the μ and log σ² halves of its input.
    Sample = sample::Sample => "sample",
    TimeEmbedding(time_embedding::TimeEmbeddingConfig) => "time_embedding",
    BatchNorm2d(batch_norm2d::BatchNorm2dConfig) => "batch_norm2d",
    LayerNorm(layer_norm::LayerNormConfig) => "layer_norm",
    /// AlexNet's local response normalisation across channels.
    LocalResponseNorm(local_response_norm::LocalResponseNormConfig) => "local_response_norm",
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

/// Generates [`Layer`] (one variant per computation, wrapping the type that implements
/// [`Compute`]) and [`Memo`] (what a computation keeps from its forward for its backward and
/// the views: `Variant(Type) remembers MemoVariant(MemoType)`), and the [`Layer`] methods
/// that hand each call to the variant's [`Compute`] through a `match`, statically dispatched.
macro_rules! layers {
    ($( $(#[$doc:meta])* $variant:ident($layer:ty) $(remembers $memo:ident($memo_ty:ty))?, )*) => {
        /// A node's computation with its resolved geometry.
        #[derive(Clone, Debug)]
        pub enum Layer {
            $( $(#[$doc])* $variant($layer), )*
        }

        /// Per-node memory of the last forward that its backward (and the views) need.
        #[derive(Clone, Debug)]
        pub enum Memo<T> {
            None,
            $( $( $memo($memo_ty), )? )*
        }

        impl Layer {
            /// The parameter tensors this layer owns, in a fixed order, with their shapes.
            pub fn param_shapes(&self) -> Vec<ParamShape> {
                match self {
                    $( Layer::$variant(l) => Compute::param_shapes(l), )*
                }
            }

            /// Fan-in and fan-out of the weight, as PyTorch computes them for
            /// initialisation; `None` for layers whose weight is not drawn at random.
            pub fn fans(&self) -> Option<(usize, usize)> {
                match self {
                    $( Layer::$variant(l) => Compute::fans(l), )*
                }
            }

            /// The node's output for its inputs.
            pub fn forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
                match self {
                    $( Layer::$variant(l) => l.run_forward(f), )*
                }
            }

            /// Adds the parameter gradients; returns the gradient of each input when
            /// `want_dx` (or always, for layers whose input gradient costs nothing extra),
            /// else none.
            pub fn backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
                match self {
                    $( Layer::$variant(l) => l.run_backward(b), )*
                }
            }
        }
    };
}

layers! {
    Conv(Conv2d),
    ConvTranspose(ConvTranspose2d),
    Pool(Pool2d) remembers Winners(Winners),
    GlobalAvgPool(reshape::GlobalAvgPool),
    Flatten(reshape::Flatten),
    Dense(Dense),
    Dropout(Dropout) remembers DropoutMask(Option<Tensor<T>>),
    Sample(sample::Sample) remembers Noise(Option<Tensor<T>>),
    TimeEmbedding(time_embedding::TimeEmbedding),
    BatchNorm(BatchNorm2d) remembers BatchNorm(BatchNormCache<T>),
    LayerNorm(LayerNorm) remembers LayerNorm(LayerNormCache<T>),
    LocalResponseNorm(LocalResponseNorm),
    Upsample(Upsample2d),
    Add(merge::Add),
    Concat(merge::Concat),
    /// The element-wise activations but softmax.
    Activation(Activation),
    Softmax(activation::Softmax),
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

/// A parameter tensor of `shape` filled with its starting value.
pub fn param_start<T: Scalar>(p: &ParamShape) -> ArrayD<T> {
    match p.init {
        ParamInit::Zero => ArrayD::zeros(p.shape.clone()),
        ParamInit::One => ArrayD::from_elem(p.shape.clone(), T::one()),
    }
}
