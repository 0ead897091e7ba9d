//! A node's parameter tensors: what each is for (its role) and its value with its gradient.

use crate::engine::tensor::ParamTensor;

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

/// A parameter or running statistic, named `<node>.<role>`.
#[derive(Clone, Debug)]
pub struct Param<T> {
    pub name: String,
    pub node: usize,
    pub role: ParamRole,
    pub value: ParamTensor<T>,
    pub grad: ParamTensor<T>,
}

impl<T> Param<T> {
    pub fn trainable(&self) -> bool {
        self.role.trainable()
    }
}
