//! One file per node kind; [`Layer`] dispatches over them.

pub mod activation;
pub mod batch_norm2d;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dense;
pub mod dropout;
pub mod merge;
pub mod pool2d;
pub mod reshape;
pub mod upsample2d;
pub mod window;

use activation::Activation;
use batch_norm2d::BatchNorm2d;
use conv_transpose2d::ConvTranspose2d;
use conv2d::Conv2d;
use dense::Dense;
use dropout::Dropout;
use pool2d::{Pool2d, PoolKind};
use upsample2d::Upsample2d;

use super::facts::NodeFacts;
use super::model_spec::NodeKind;

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
    Upsample(Upsample2d),
    Add,
    Concat,
    Activation(Activation),
    Softmax,
}

/// What a parameter tensor is for; its name is `<node>.<role>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamRole {
    Weight,
    Bias,
    RunningMean,
    RunningVar,
}

impl ParamRole {
    pub fn suffix(self) -> &'static str {
        match self {
            ParamRole::Weight => "weight",
            ParamRole::Bias => "bias",
            ParamRole::RunningMean => "running_mean",
            ParamRole::RunningVar => "running_var",
        }
    }

    /// Running statistics are updated by the forward pass, not by the optimiser.
    pub fn trainable(self) -> bool {
        matches!(self, ParamRole::Weight | ParamRole::Bias)
    }
}

impl Layer {
    /// Builds the layer from a validated node (see `facts::infer`).
    pub fn new(kind: &NodeKind, facts: &NodeFacts) -> Layer {
        let x = facts.input_shapes[0];
        match kind {
            NodeKind::Conv2d {
                padding_mode, bias, ..
            } => Layer::Conv(Conv2d {
                geom: facts.window.expect("conv has a window"),
                padding_mode: *padding_mode,
                has_bias: *bias,
            }),
            NodeKind::ConvTranspose2d { bias, .. } => Layer::ConvTranspose(ConvTranspose2d {
                geom: facts.window.expect("conv has a window"),
                has_bias: *bias,
            }),
            NodeKind::MaxPool2d { .. } => Layer::Pool(Pool2d {
                kind: PoolKind::Max,
                geom: facts.window.expect("pool"),
            }),
            NodeKind::MinPool2d { .. } => Layer::Pool(Pool2d {
                kind: PoolKind::Min,
                geom: facts.window.expect("pool"),
            }),
            NodeKind::AvgPool2d { .. } => Layer::Pool(Pool2d {
                kind: PoolKind::Avg,
                geom: facts.window.expect("pool"),
            }),
            NodeKind::GlobalAvgPool => Layer::GlobalAvgPool,
            NodeKind::Flatten => Layer::Flatten,
            NodeKind::Dense { out_features, bias } => Layer::Dense(Dense {
                in_features: x.iter().product(),
                out_features: *out_features,
                has_bias: *bias,
            }),
            NodeKind::Dropout { p } => Layer::Dropout(Dropout { p: *p }),
            NodeKind::BatchNorm2d { eps, momentum } => Layer::BatchNorm(BatchNorm2d {
                channels: x[0],
                eps: *eps,
                momentum: *momentum,
            }),
            NodeKind::Upsample { scale, mode } => Layer::Upsample(Upsample2d {
                scale: *scale,
                mode: *mode,
            }),
            NodeKind::Add => Layer::Add,
            NodeKind::Concat => Layer::Concat,
            NodeKind::Identity => Layer::Activation(Activation::Identity),
            NodeKind::Relu => Layer::Activation(Activation::Relu),
            NodeKind::LeakyRelu { slope } => Layer::Activation(Activation::LeakyRelu(*slope)),
            NodeKind::Sigmoid => Layer::Activation(Activation::Sigmoid),
            NodeKind::Tanh => Layer::Activation(Activation::Tanh),
            NodeKind::Softmax => Layer::Softmax,
        }
    }

    /// The parameter tensors this layer owns, in a fixed order, with their shapes.
    pub fn param_shapes(&self) -> Vec<(ParamRole, Vec<usize>)> {
        let with_bias = |w: Vec<usize>, bias: bool, n: usize| {
            let mut v = vec![(ParamRole::Weight, w)];
            if bias {
                v.push((ParamRole::Bias, vec![n]));
            }
            v
        };
        match self {
            Layer::Conv(c) => with_bias(c.weight_shape(), c.has_bias, c.geom.out_channels),
            Layer::ConvTranspose(c) => with_bias(c.weight_shape(), c.has_bias, c.geom.out_channels),
            Layer::Dense(d) => with_bias(d.weight_shape(), d.has_bias, d.out_features),
            Layer::BatchNorm(b) => vec![
                (ParamRole::Weight, vec![b.channels]),
                (ParamRole::Bias, vec![b.channels]),
                (ParamRole::RunningMean, vec![b.channels]),
                (ParamRole::RunningVar, vec![b.channels]),
            ],
            _ => Vec::new(),
        }
    }

    /// Fan-in and fan-out of the weight, as PyTorch computes them for initialisation.
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
            _ => None,
        }
    }
}
