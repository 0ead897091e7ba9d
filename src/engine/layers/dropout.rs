//! Dropout: in training, each unit is kept with probability 1 − p and scaled by 1/(1 − p);
//! in evaluation it passes through. The keep mask is kept for the backward and the views.

use crate::engine::rng::Rng;
use crate::engine::tensor::{Scalar, Tensor};

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
