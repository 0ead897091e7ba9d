//! Dropout: in training, each unit is kept with probability 1 − p and scaled by 1/(1 − p);
//! in evaluation it passes through. The keep mask is kept for the backward and the views.

use serde::{Deserialize, Serialize};

use super::Layer;
use super::Memo;
use super::compute::{Backward, Compute, Forward};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs, OutputCount};
use crate::engine::error::GraphError;
use crate::engine::node_facts::NodeFacts;
use crate::engine::rng::Rng;
use crate::engine::tensor::{Scalar, Tensor};

/// The hyper-parameters of a dropout node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutConfig {
    #[serde(default = "half")]
    pub p: f64,
}

fn half() -> f64 {
    0.5
}

impl Default for DropoutConfig {
    fn default() -> Self {
        DropoutConfig { p: half() }
    }
}

const TIP_P: &str = "During training, each value is zeroed with this probability (and the rest scaled up), so the network cannot rely on single neurons. Off at evaluation.";

impl Kind for DropoutConfig {
    fn about(&self) -> &'static str {
        TIP_P
    }

    fn name_prefix(&self) -> &'static str {
        "drop"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::new(
            "drop probability",
            TIP_P,
            FieldValue::Real(&mut self.p, 0.0..=0.95, 0.01),
        )]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let p = self.p;
        if !(0.0..1.0).contains(&p) {
            return Err(at.error(format!("dropout p = {p} must be in [0, 1)")));
        }
        Ok(Inferred::plain(at.x(), at.field()))
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::Dropout(Dropout { p: self.p })
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Keeps
    }
}

/// A dropout node's computation.

#[derive(Clone, Debug)]
pub struct Dropout {
    pub p: f64,
}

impl Dropout {
    /// Returns the output and the mask that was applied (already scaled), if any.
    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        training: bool,
        rng: &mut Rng,
    ) -> (Tensor<T>, Option<Tensor<T>>) {
        if !training || self.p == 0.0 {
            return (x.clone(), None);
        }
        let scale = T::of(1.0 / (1.0 - self.p));
        let mask = x.mapv(|_| {
            if rng.bernoulli(self.p) {
                T::zero()
            } else {
                scale
            }
        });
        (x * &mask, Some(mask))
    }

    pub fn backward<T: Scalar>(&self, dy: &Tensor<T>, mask: Option<&Tensor<T>>) -> Tensor<T> {
        match mask {
            Some(m) => dy * m,
            None => dy.clone(),
        }
    }
}

impl Compute for Dropout {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let (y, mask) = self.forward(f.ins[0], f.training, f.rng);
        *f.memo = Memo::DropoutMask(mask);
        y
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let mask = match b.memo {
            Memo::DropoutMask(m) => m.as_ref(),
            _ => None,
        };
        vec![self.backward(b.dy, mask)]
    }
}
