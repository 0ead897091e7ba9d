//! Losses with PyTorch's definitions and mean reduction.

use serde::{Deserialize, Serialize};

use super::layers::activation::sigmoid;
use super::tensor::{Scalar, Tensor, dims};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Mean squared error, without a ½ factor.
    Mse,
    /// Softmax cross-entropy on logits over channels; labels per sample or per pixel.
    CrossEntropy,
    /// Binary cross-entropy on logits, element-wise.
    BceWithLogits,
    /// Soft Dice on sigmoid probabilities: mean over samples and channels of
    /// `1 − (2·Σpt + 1) / (Σp + Σt + 1)`.
    Dice,
}

impl LossKind {
    /// PyTorch's name, as used in dumps and manifests.
    pub fn torch_name(self) -> &'static str {
        match self {
            LossKind::Mse => "mse",
            LossKind::CrossEntropy => "cross_entropy",
            LossKind::BceWithLogits => "bce_with_logits",
            LossKind::Dice => "dice",
        }
    }

    /// Whether the loss wants class labels rather than a dense target.
    pub fn wants_labels(self) -> bool {
        self == LossKind::CrossEntropy
    }
}

/// The target a loss compares the output with.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a, T> {
    /// One class index per sample, or per pixel (`n·h·w`, row-major) for dense outputs.
    Labels(&'a [usize]),
    Dense(&'a Tensor<T>),
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LossError {
    #[error("{loss} needs {expected}, got {got}")]
    Mismatch {
        loss: &'static str,
        expected: String,
        got: String,
    },
}

fn mismatch(kind: LossKind, expected: String, got: String) -> LossError {
    LossError::Mismatch {
        loss: kind.torch_name(),
        expected,
        got,
    }
}

/// Returns the loss value and its gradient w.r.t. `output`.
pub fn loss<T: Scalar>(
    kind: LossKind,
    output: &Tensor<T>,
    target: Target<'_, T>,
) -> Result<(T, Tensor<T>), LossError> {
    let [n, c, h, w] = dims(output);
    match (kind, target) {
        (LossKind::CrossEntropy, Target::Labels(labels)) => {
            if labels.len() != n * h * w {
                return Err(mismatch(
                    kind,
                    format!("{} labels", n * h * w),
                    format!("{}", labels.len()),
                ));
            }
            if let Some(&bad) = labels.iter().find(|&&l| l >= c) {
                return Err(mismatch(
                    kind,
                    format!("labels below {c}"),
                    format!("label {bad}"),
                ));
            }
            let hw = h * w;
            let count = T::of((n * hw) as f64);
            let x = output.as_standard_layout();
            let xs = x.as_slice().expect("standard layout");
            let mut grad = Tensor::<T>::zeros((n, c, h, w));
            let gs = grad.as_slice_mut().expect("fresh array");
            let mut total = 0.0f64;
            for s in 0..n {
                for p in 0..hw {
                    let at = |ch: usize| s * c * hw + ch * hw + p;
                    let max = (0..c).map(|ch| xs[at(ch)]).fold(T::neg_infinity(), T::max);
                    let sum: T = (0..c).map(|ch| (xs[at(ch)] - max).exp()).sum();
                    let label = labels[s * hw + p];
                    total += (sum.ln() + max - xs[at(label)]).as_f64();
                    for ch in 0..c {
                        let prob = (xs[at(ch)] - max).exp() / sum;
                        let onehot = if ch == label { T::one() } else { T::zero() };
                        gs[at(ch)] = (prob - onehot) / count;
                    }
                }
            }
            Ok((T::of(total / (n * hw) as f64), grad))
        }
        (LossKind::CrossEntropy, Target::Dense(_)) => Err(mismatch(
            kind,
            "class labels".into(),
            "a dense target".into(),
        )),
        (_, Target::Labels(_)) => Err(mismatch(
            kind,
            "a dense target".into(),
            "class labels".into(),
        )),
        (_, Target::Dense(t)) if t.shape() != output.shape() => Err(mismatch(
            kind,
            format!("a target of shape {:?}", output.shape()),
            format!("{:?}", t.shape()),
        )),
        (LossKind::Mse, Target::Dense(t)) => {
            let count = T::of(output.len() as f64);
            let diff = output - t;
            let value = diff.iter().map(|d| (*d * *d).as_f64()).sum::<f64>() / output.len() as f64;
            Ok((T::of(value), diff.mapv(|d| T::of(2.0) * d / count)))
        }
        (LossKind::BceWithLogits, Target::Dense(t)) => {
            let count = T::of(output.len() as f64);
            let mut total = 0.0f64;
            let mut grad = output.as_standard_layout().into_owned();
            ndarray::Zip::from(&mut grad).and(t).for_each(|g, &y| {
                let x = *g;
                // max(x,0) − x·y + log(1 + e^−|x|): stable for large |x|.
                total += (x.max(T::zero()) - x * y + (-x.abs()).exp().ln_1p()).as_f64();
                *g = (sigmoid(x) - y) / count;
            });
            Ok((T::of(total / output.len() as f64), grad))
        }
        (LossKind::Dice, Target::Dense(t)) => {
            let hw = h * w;
            let x = output.as_standard_layout();
            let xs = x.as_slice().expect("standard layout");
            let t = t.as_standard_layout();
            let ts = t.as_slice().expect("standard layout");
            let mut grad = Tensor::<T>::zeros((n, c, h, w));
            let gs = grad.as_slice_mut().expect("fresh array");
            let planes = (n * c) as f64;
            let mut total = 0.0f64;
            for plane in 0..n * c {
                let r = plane * hw..(plane + 1) * hw;
                let p: Vec<T> = xs[r.clone()].iter().map(|&v| sigmoid(v)).collect();
                let inter: T = p.iter().zip(&ts[r.clone()]).map(|(&a, &b)| a * b).sum();
                let sp: T = p.iter().copied().sum();
                let st: T = ts[r.clone()].iter().copied().sum();
                let num = T::of(2.0) * inter + T::one();
                let den = sp + st + T::one();
                total += 1.0 - (num / den).as_f64();
                for (k, idx) in r.enumerate() {
                    // d(1 − num/den)/dp = −(2t·den − num) / den²; then through the sigmoid.
                    let dp = -(T::of(2.0) * ts[idx] * den - num) / (den * den);
                    gs[idx] = dp * p[k] * (T::one() - p[k]) / T::of(planes);
                }
            }
            Ok((T::of(total / planes), grad))
        }
    }
}
