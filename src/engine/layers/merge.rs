//! Nodes that join branches: element-wise `Add` (ResNet's F(x) + x) and channel `Concat`
//! (Inception's parallel branches, U-Net's skip connections).

use ndarray::{Axis, Slice, concatenate};

use super::Layer;
use super::compute::{Backward, Compute, Forward};
use super::kind::{Inferred, Kind, NodeInputs};
use crate::engine::error::GraphError;
use crate::engine::node_facts::{NodeFacts, ReceptiveField, shape_str};
use crate::engine::tensor::{Scalar, Tensor};

/// Element-wise sum of two or more inputs of one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Add;

impl Kind for Add {
    fn about(&self) -> &'static str {
        "Add: sums its inputs element-wise (ResNet's residual connection F(x) + x)."
    }

    fn name_prefix(&self) -> &'static str {
        "add"
    }

    fn arity(&self) -> Option<usize> {
        None
    }

    fn inputs_tip(&self) -> &'static str {
        "Adds its inputs element-wise (a residual connection): they must have the same shape."
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let x = at.x();
        if let Some(other) = at.shapes.iter().find(|s| **s != x) {
            return Err(at.error(format!(
                "add needs equal shapes, got {} and {}",
                shape_str(x),
                shape_str(*other)
            )));
        }
        Ok(Inferred::plain(x, ReceptiveField::union(at.fields)))
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::Add(Add)
    }
}

/// Stacks two or more inputs of one height and width along the channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concat;

impl Kind for Concat {
    fn about(&self) -> &'static str {
        "Concat: stacks its inputs' channels (Inception's parallel branches, U-Net's skip connections)."
    }

    fn name_prefix(&self) -> &'static str {
        "concat"
    }

    fn arity(&self) -> Option<usize> {
        None
    }

    fn inputs_tip(&self) -> &'static str {
        "Stacks its inputs along the channel axis (Inception, U-Net skips): heights and widths must match."
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let x = at.x();
        if let Some(other) = at.shapes.iter().find(|s| s[1] != x[1] || s[2] != x[2]) {
            return Err(at.error(format!(
                "concat needs equal height and width, got {} and {}",
                shape_str(x),
                shape_str(*other)
            )));
        }
        let c = at.shapes.iter().map(|s| s[0]).sum();
        Ok(Inferred::plain(
            [c, x[1], x[2]],
            ReceptiveField::union(at.fields),
        ))
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::Concat(Concat)
    }
}

pub fn add_forward<T: Scalar>(inputs: &[&Tensor<T>]) -> Tensor<T> {
    let mut y = inputs[0].clone();
    for x in &inputs[1..] {
        y += *x;
    }
    y
}

/// Every input of an addition receives the whole upstream gradient.
pub fn add_backward<T: Scalar>(count: usize, dy: &Tensor<T>) -> Vec<Tensor<T>> {
    vec![dy.clone(); count]
}

pub fn concat_forward<T: Scalar>(inputs: &[&Tensor<T>]) -> Tensor<T> {
    let views: Vec<_> = inputs.iter().map(|t| t.view()).collect();
    concatenate(Axis(1), &views).expect("facts.rs checked equal n, h, w")
}

/// Splits the upstream gradient back into each input's channels.
pub fn concat_backward<T: Scalar>(channels: &[usize], dy: &Tensor<T>) -> Vec<Tensor<T>> {
    let mut start = 0;
    channels
        .iter()
        .map(|&c| {
            let part = dy
                .slice_axis(Axis(1), Slice::from(start..start + c))
                .to_owned();
            start += c;
            part
        })
        .collect()
}

impl Compute for Add {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        add_forward(f.ins)
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        add_backward(b.ins.len(), b.dy)
    }
}

impl Compute for Concat {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        concat_forward(f.ins)
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let channels: Vec<usize> = b.ins.iter().map(|t| t.shape()[1]).collect();
        concat_backward(&channels, b.dy)
    }
}
