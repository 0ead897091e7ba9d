//! Nodes that change the layout, not the values' meaning: `Flatten` and `GlobalAvgPool`.

use super::Layer;
use super::compute::{Backward, Compute, Forward};
use super::kind::{Inferred, Kind, NodeInputs, OutputCount};
use crate::engine::error::GraphError;
use crate::engine::node_facts::NodeFacts;
use crate::engine::tensor::{Scalar, Tensor, dims};

/// `[c, h, w]` → `[c, 1, 1]`: the mean of each channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalAvgPool;

impl Kind for GlobalAvgPool {
    fn about(&self) -> &'static str {
        "Global average pooling: one number per channel, its mean over the whole map (a classifier head without a big dense layer)."
    }

    fn name_prefix(&self) -> &'static str {
        "gap"
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let x = at.x();
        Ok(Inferred::plain([x[0], 1, 1], at.field().global(x)))
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::GlobalAvgPool(GlobalAvgPool)
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Keeps
    }
}

/// `[c, h, w]` → `[c·h·w, 1, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten;

impl Kind for Flatten {
    fn about(&self) -> &'static str {
        "Flatten: lays the feature maps out as one long vector (for dense layers)."
    }

    fn name_prefix(&self) -> &'static str {
        "flatten"
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let x = at.x();
        Ok(Inferred::plain(
            [x[0] * x[1] * x[2], 1, 1],
            at.field().global(x),
        ))
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::Flatten(Flatten)
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Keeps
    }
}

/// `[n, c, h, w]` → `[n, c·h·w, 1, 1]`, in C order (as `torch.flatten(x, 1)`).
pub fn flatten_forward<T: Scalar>(x: &Tensor<T>) -> Tensor<T> {
    let n = x.shape()[0];
    let f = x.len() / n.max(1);
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order((n, f, 1, 1))
        .expect("same element count")
}

pub fn flatten_backward<T: Scalar>(input_dims: [usize; 4], dy: &Tensor<T>) -> Tensor<T> {
    dy.as_standard_layout()
        .into_owned()
        .into_shape_with_order(input_dims)
        .expect("same element count")
}

/// Mean of each channel: `[n, c, h, w]` → `[n, c, 1, 1]`.
pub fn global_avg_forward<T: Scalar>(x: &Tensor<T>) -> Tensor<T> {
    let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let area = T::of((h * w) as f64);
    let mut y = Tensor::<T>::zeros((n, c, 1, 1));
    for s in 0..n {
        for ch in 0..c {
            y[[s, ch, 0, 0]] = x.slice(ndarray::s![s, ch, .., ..]).sum() / area;
        }
    }
    y
}

pub fn global_avg_backward<T: Scalar>(input_dims: [usize; 4], dy: &Tensor<T>) -> Tensor<T> {
    let [n, c, h, w] = input_dims;
    let area = T::of((h * w) as f64);
    let mut dx = Tensor::<T>::zeros((n, c, h, w));
    for s in 0..n {
        for ch in 0..c {
            let g = dy[[s, ch, 0, 0]] / area;
            dx.slice_mut(ndarray::s![s, ch, .., ..]).fill(g);
        }
    }
    dx
}

impl Compute for GlobalAvgPool {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        global_avg_forward(f.ins[0])
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        vec![global_avg_backward(dims(b.ins[0]), b.dy)]
    }
}

impl Compute for Flatten {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        flatten_forward(f.ins[0])
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        vec![flatten_backward(dims(b.ins[0]), b.dy)]
    }
}
