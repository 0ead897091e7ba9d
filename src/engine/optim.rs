//! Optimisers with PyTorch's update rules: SGD with momentum and (L2) weight decay, Adam.

use serde::{Deserialize, Serialize};

use super::graph::Param;
use super::tensor::{ParamTensor, Scalar};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerKind {
    Sgd {
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        weight_decay: f64,
    },
    Adam {
        #[serde(default = "beta1")]
        beta1: f64,
        #[serde(default = "beta2")]
        beta2: f64,
        #[serde(default = "adam_eps")]
        eps: f64,
        #[serde(default)]
        weight_decay: f64,
    },
}

fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}
fn adam_eps() -> f64 {
    1e-8
}

impl Default for OptimizerKind {
    fn default() -> Self {
        OptimizerKind::Sgd {
            momentum: 0.9,
            weight_decay: 0.0,
        }
    }
}

/// An optimiser and its per-parameter state (momentum buffers, Adam moments).
#[derive(Clone, Debug)]
pub struct Optimizer<T: Scalar> {
    pub kind: OptimizerKind,
    /// May change between steps (the training panel lets the user change it live).
    pub lr: f64,
    steps: u64,
    first: Vec<Option<ParamTensor<T>>>,
    second: Vec<Option<ParamTensor<T>>>,
}

fn weight_decay_of(kind: OptimizerKind) -> f64 {
    match kind {
        OptimizerKind::Sgd { weight_decay, .. } | OptimizerKind::Adam { weight_decay, .. } => {
            weight_decay
        }
    }
}

impl<T: Scalar> Optimizer<T> {
    pub fn new(kind: OptimizerKind, lr: f64) -> Self {
        Optimizer {
            kind,
            lr,
            steps: 0,
            first: Vec::new(),
            second: Vec::new(),
        }
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Forgets the state of parameters (e.g. after the model was edited).
    pub fn reset_state(&mut self) {
        self.steps = 0;
        self.first.clear();
        self.second.clear();
    }

    /// Updates every trainable parameter from its gradient.
    pub fn step(&mut self, params: &mut [Param<T>]) {
        self.steps += 1;
        self.first.resize(params.len(), None);
        self.second.resize(params.len(), None);
        let lr = T::of(self.lr);
        for (i, p) in params.iter_mut().enumerate() {
            if !p.trainable() {
                continue;
            }
            // Fused element-wise updates in place (no gradient copy), with the same
            // operations in the same order as PyTorch's: d = g + wd·w; buf = m·buf + d
            // (buf = d on the first step); w += −lr·buf.
            let wd = T::of(weight_decay_of(self.kind));
            match self.kind {
                OptimizerKind::Sgd { momentum, .. } => {
                    let grad = |g: T, w: T| if wd != T::zero() { g + w * wd } else { g };
                    if momentum != 0.0 {
                        let m = T::of(momentum);
                        match self.first[i].as_mut() {
                            // PyTorch starts the buffer with the first gradient.
                            None => {
                                let mut buf = p.grad.clone();
                                ndarray::Zip::from(&mut buf)
                                    .and(&mut p.value)
                                    .for_each(|b, w| {
                                        *b = grad(*b, *w);
                                        *w += *b * -lr;
                                    });
                                self.first[i] = Some(buf);
                            }
                            Some(buf) => {
                                ndarray::Zip::from(buf)
                                    .and(&mut p.value)
                                    .and(&p.grad)
                                    .for_each(|b, w, &g| {
                                        *b = *b * m + grad(g, *w);
                                        *w += *b * -lr;
                                    });
                            }
                        }
                    } else {
                        ndarray::Zip::from(&mut p.value)
                            .and(&p.grad)
                            .for_each(|w, &g| *w += grad(g, *w) * -lr);
                    }
                }
                OptimizerKind::Adam {
                    beta1, beta2, eps, ..
                } => {
                    let (b1, b2) = (T::of(beta1), T::of(beta2));
                    let t = self.steps as i32;
                    let bc1 = T::one() - b1.powi(t);
                    let bc2 = T::one() - b2.powi(t);
                    let (step, bc2s, eps) = (lr / bc1, bc2.sqrt(), T::of(eps));
                    let m =
                        self.first[i].get_or_insert_with(|| ParamTensor::zeros(p.grad.raw_dim()));
                    let v =
                        self.second[i].get_or_insert_with(|| ParamTensor::zeros(p.grad.raw_dim()));
                    ndarray::Zip::from(&mut p.value)
                        .and(&p.grad)
                        .and(m)
                        .and(v)
                        .for_each(|w, &g, m, v| {
                            let g = if wd != T::zero() { g + *w * wd } else { g };
                            *m = b1 * *m + (T::one() - b1) * g;
                            *v = b2 * *v + (T::one() - b2) * g * g;
                            *w -= step * *m / ((v.sqrt() / bc2s) + eps);
                        });
                }
            }
        }
    }
}
