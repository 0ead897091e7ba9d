//! Element-wise activations and the channel softmax, with their derivatives.

use serde::{Deserialize, Serialize};

use super::Layer;
use super::compute::{Backward, Compute, Forward, output_buffer};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs, OutputCount};
use crate::engine::error::GraphError;
use crate::engine::kernels;
use crate::engine::node_facts::NodeFacts;
use crate::engine::tensor::{Scalar, Tensor};

/// Declares a parameter-free element-wise kind: a unit struct whose node keeps the shape.
macro_rules! plain_activation {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $about:literal, $layer:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name;

        impl Kind for $name {
            fn about(&self) -> &'static str {
                $about
            }

            fn name_prefix(&self) -> &'static str {
                $prefix
            }

            fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
                Ok(Inferred::plain(at.x(), at.field()))
            }

            fn layer(&self, _facts: &NodeFacts) -> Layer {
                $layer
            }

            fn output_count(&self) -> OutputCount {
                OutputCount::Keeps
            }
        }
    };
}

plain_activation!(
    /// Passes its input through (a named tap, or a placeholder while editing).
    Identity,
    "id",
    "Identity: passes its input through unchanged (a named point to look at).",
    Layer::Activation(Activation::Identity)
);
plain_activation!(
    Relu,
    "relu",
    "ReLU: max(0, x). Keeps positive values, zeroes the rest; its gradient is 1 or 0.",
    Layer::Activation(Activation::Relu)
);
plain_activation!(
    Sigmoid,
    "sigmoid",
    "Sigmoid: squashes any value into (0, 1); saturates (tiny gradient) far from 0.",
    Layer::Activation(Activation::Sigmoid)
);
plain_activation!(
    Tanh,
    "tanh",
    "Tanh: squashes any value into (−1, 1), centred at 0; saturates far from 0.",
    Layer::Activation(Activation::Tanh)
);
plain_activation!(
    /// Softmax over channels.
    Softmax,
    "softmax",
    "Softmax over channels: turns scores into probabilities that sum to 1.",
    Layer::Softmax(Softmax)
);

/// The hyper-parameters of a leaky ReLU node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakyReluConfig {
    #[serde(default = "default_slope")]
    pub slope: f64,
}

fn default_slope() -> f64 {
    0.01
}

impl Default for LeakyReluConfig {
    fn default() -> Self {
        LeakyReluConfig {
            slope: default_slope(),
        }
    }
}

const TIP_SLOPE: &str = "Slope for negative inputs: leaky ReLU lets a little gradient through where ReLU would be dead.";

impl Kind for LeakyReluConfig {
    fn about(&self) -> &'static str {
        "Leaky ReLU: like ReLU, but negative values keep a small slope, so no unit dies."
    }

    fn name_prefix(&self) -> &'static str {
        "lrelu"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::new(
            "negative slope",
            TIP_SLOPE,
            FieldValue::Real(&mut self.slope, 0.0..=1.0, 0.005),
        )]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        if !self.slope.is_finite() {
            return Err(at.error("slope must be a finite number"));
        }
        Ok(Inferred::plain(at.x(), at.field()))
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::Activation(Activation::LeakyRelu(self.slope))
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Keeps
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Identity,
    Relu,
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
}

#[inline]
pub fn sigmoid<T: Scalar>(x: T) -> T {
    // Split by sign so exp never overflows.
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl Activation {
    pub fn forward<T: Scalar>(&self, x: &Tensor<T>) -> Tensor<T> {
        match *self {
            Activation::Identity => x.clone(),
            Activation::Relu => {
                let x = x.as_standard_layout();
                let mut y = Tensor::<T>::zeros(x.raw_dim());
                kernels::relu(
                    x.as_slice().expect("standard layout"),
                    y.as_slice_mut().expect("fresh array"),
                );
                y
            }
            Activation::LeakyRelu(s) => {
                let s = T::of(s);
                x.mapv(|v| if v > T::zero() { v } else { v * s })
            }
            Activation::Sigmoid => x.mapv(sigmoid),
            Activation::Tanh => x.mapv(|v| v.tanh()),
        }
    }

    /// ReLU into a preallocated `y` of `x`'s shape (every element written); other kinds
    /// fall back to [`Self::forward`].
    pub fn forward_into<T: Scalar>(&self, x: &Tensor<T>, y: &mut Tensor<T>) {
        if *self != Activation::Relu {
            *y = self.forward(x);
            return;
        }
        let x = x.as_standard_layout();
        kernels::relu(
            x.as_slice().expect("standard layout"),
            y.as_slice_mut().expect("standard layout"),
        );
    }

    /// ReLU's input gradient into a preallocated `dx` (every element written).
    pub fn backward_into<T: Scalar>(&self, x: &Tensor<T>, dy: &Tensor<T>, dx: &mut Tensor<T>) {
        assert_eq!(*self, Activation::Relu, "backward_into is ReLU's");
        let (x, dy) = (x.as_standard_layout(), dy.as_standard_layout());
        kernels::relu_backward(
            x.as_slice().expect("standard layout"),
            dy.as_slice().expect("standard layout"),
            dx.as_slice_mut().expect("standard layout"),
        );
    }

    /// Input gradient from the forward's input `x`, output `y` and the upstream `dy`.
    pub fn backward<T: Scalar>(&self, x: &Tensor<T>, y: &Tensor<T>, dy: &Tensor<T>) -> Tensor<T> {
        if *self == Activation::Relu {
            let (x, dy) = (x.as_standard_layout(), dy.as_standard_layout());
            let mut dx = Tensor::<T>::zeros(x.raw_dim());
            kernels::relu_backward(
                x.as_slice().expect("standard layout"),
                dy.as_slice().expect("standard layout"),
                dx.as_slice_mut().expect("fresh array"),
            );
            return dx;
        }
        let mut dx = dy.clone();
        match *self {
            Activation::Identity => {}
            Activation::Relu => ndarray::Zip::from(&mut dx).and(x).for_each(|d, &v| {
                if v <= T::zero() {
                    *d = T::zero();
                }
            }),
            Activation::LeakyRelu(s) => {
                let s = T::of(s);
                ndarray::Zip::from(&mut dx).and(x).for_each(|d, &v| {
                    if v <= T::zero() {
                        *d *= s;
                    }
                })
            }
            Activation::Sigmoid => ndarray::Zip::from(&mut dx)
                .and(y)
                .for_each(|d, &v| *d *= v * (T::one() - v)),
            Activation::Tanh => ndarray::Zip::from(&mut dx)
                .and(y)
                .for_each(|d, &v| *d *= T::one() - v * v),
        }
        dx
    }
}

/// Softmax over the channel axis at every pixel.
pub fn softmax_forward<T: Scalar>(x: &Tensor<T>) -> Tensor<T> {
    let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let mut y = x.as_standard_layout().into_owned();
    let ys = y.as_slice_mut().expect("standard layout");
    let hw = h * w;
    for s in 0..n {
        let base = s * c * hw;
        for p in 0..hw {
            let mut max = T::neg_infinity();
            for ch in 0..c {
                max = max.max(ys[base + ch * hw + p]);
            }
            let mut sum = T::zero();
            for ch in 0..c {
                let e = (ys[base + ch * hw + p] - max).exp();
                ys[base + ch * hw + p] = e;
                sum += e;
            }
            for ch in 0..c {
                ys[base + ch * hw + p] /= sum;
            }
        }
    }
    y
}

/// `dx = y ⊙ (dy − Σ_c dy·y)` per pixel.
pub fn softmax_backward<T: Scalar>(y: &Tensor<T>, dy: &Tensor<T>) -> Tensor<T> {
    let [n, c, h, w] = [y.shape()[0], y.shape()[1], y.shape()[2], y.shape()[3]];
    let hw = h * w;
    let y = y.as_standard_layout();
    let ys = y.as_slice().expect("standard layout");
    let mut dx = dy.as_standard_layout().into_owned();
    let dxs = dx.as_slice_mut().expect("standard layout");
    for s in 0..n {
        let base = s * c * hw;
        for p in 0..hw {
            let dot: T = (0..c)
                .map(|ch| dxs[base + ch * hw + p] * ys[base + ch * hw + p])
                .sum();
            for ch in 0..c {
                let k = base + ch * hw + p;
                dxs[k] = ys[k] * (dxs[k] - dot);
            }
        }
    }
    dx
}

impl Compute for Activation {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        match self {
            // ReLU reuses last pass's buffers (the most common activation in the hot loop).
            Activation::Relu => {
                let mut y = output_buffer(f.old_output, f.out_dim);
                Activation::Relu.forward_into(f.ins[0], &mut y);
                y
            }
            a => a.forward(f.ins[0]),
        }
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        match self {
            Activation::Relu => {
                let mut dx = (b.dx_buffer)();
                Activation::Relu.backward_into(b.ins[0], b.dy, &mut dx);
                vec![dx]
            }
            a => vec![a.backward(b.ins[0], b.output, b.dy)],
        }
    }
}

impl Compute for Softmax {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        softmax_forward(f.ins[0])
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        vec![softmax_backward(b.output, b.dy)]
    }
}
