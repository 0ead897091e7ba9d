//! Nodes that join branches: element-wise `Add` (ResNet's F(x) + x) and channel `Concat`
//! (Inception's parallel branches, U-Net's skip connections).

use ndarray::{Axis, Slice, concatenate};

use crate::engine::tensor::{Scalar, Tensor};

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
