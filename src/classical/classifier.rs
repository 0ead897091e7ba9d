//! The simple classifiers a handcrafted pipeline's features feed: multinomial logistic
//! regression (a single dense layer with softmax, fitted by full-batch gradient descent)
//! and the nearest class centroid. Features are standardised with the training set's mean
//! and spread first, so no feature wins by its units. Deterministic: no random start.

use serde::{Deserialize, Serialize};

/// Which classifier a pipeline trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierKind {
    /// Softmax regression with a little L2, fitted by gradient descent.
    #[default]
    Logistic,
    /// The class whose mean feature vector is nearest (Euclidean, standardised features).
    NearestCentroid,
}

impl ClassifierKind {
    pub const ALL: [ClassifierKind; 2] =
        [ClassifierKind::Logistic, ClassifierKind::NearestCentroid];

    pub fn name(self) -> &'static str {
        match self {
            ClassifierKind::Logistic => "logistic regression",
            ClassifierKind::NearestCentroid => "nearest centroid",
        }
    }

    pub fn about(self) -> &'static str {
        match self {
            ClassifierKind::Logistic => {
                "Logistic (softmax) regression: one weight per feature and class, fitted by gradient descent on the cross-entropy — a one-layer network on the handcrafted features."
            }
            ClassifierKind::NearestCentroid => {
                "Nearest centroid: each class is the mean of its training feature vectors; an image gets the class whose mean is nearest."
            }
        }
    }
}

/// Gradient-descent steps of the logistic regression.
const STEPS: usize = 300;
const LEARNING_RATE: f64 = 0.5;
const L2: f64 = 1e-3;

/// A fitted classifier with its standardisation.
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    mean: Vec<f64>,
    scale: Vec<f64>,
    model: Model,
}

#[derive(Clone, Debug, PartialEq)]
enum Model {
    /// `[classes][features + 1]`, the bias last.
    Logistic(Vec<Vec<f64>>),
    /// `[classes][features]`; `None` for a class without training samples.
    Centroids(Vec<Option<Vec<f64>>>),
}

impl Classifier {
    /// Fits `kind` to rows `x` (one feature vector each) with labels below `classes`.
    pub fn fit(
        kind: ClassifierKind,
        x: &[Vec<f64>],
        labels: &[usize],
        classes: usize,
    ) -> Classifier {
        let d = x.first().map_or(0, Vec::len);
        let n = x.len().max(1) as f64;
        let mean: Vec<f64> = (0..d)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let scale: Vec<f64> = (0..d)
            .map(|j| {
                let var = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
                // A constant feature carries nothing; dividing by 1 leaves it at 0.
                if var > 1e-18 { var.sqrt() } else { 1.0 }
            })
            .collect();
        let z: Vec<Vec<f64>> = x.iter().map(|r| standardise(r, &mean, &scale)).collect();
        let model = match kind {
            ClassifierKind::Logistic => Model::Logistic(fit_logistic(&z, labels, classes)),
            ClassifierKind::NearestCentroid => Model::Centroids(
                (0..classes)
                    .map(|c| {
                        let rows: Vec<&Vec<f64>> = z
                            .iter()
                            .zip(labels)
                            .filter(|(_, l)| **l == c)
                            .map(|(r, _)| r)
                            .collect();
                        (!rows.is_empty()).then(|| {
                            (0..d)
                                .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / rows.len() as f64)
                                .collect()
                        })
                    })
                    .collect(),
            ),
        };
        Classifier { mean, scale, model }
    }

    /// The predicted class of one feature vector.
    pub fn predict(&self, x: &[f64]) -> usize {
        let z = standardise(x, &self.mean, &self.scale);
        match &self.model {
            Model::Logistic(w) => argmax(&scores(w, &z)),
            Model::Centroids(c) => {
                let dist: Vec<f64> = c
                    .iter()
                    .map(|m| {
                        m.as_ref().map_or(f64::INFINITY, |m| {
                            m.iter().zip(&z).map(|(a, b)| (a - b).powi(2)).sum()
                        })
                    })
                    .collect();
                let neg: Vec<f64> = dist.iter().map(|d| -d).collect();
                argmax(&neg)
            }
        }
    }
}

fn standardise(x: &[f64], mean: &[f64], scale: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(mean.iter().zip(scale))
        .map(|(v, (m, s))| {
            let z = (v - m) / s;
            if z.is_finite() { z } else { 0.0 }
        })
        .collect()
}

fn scores(w: &[Vec<f64>], z: &[f64]) -> Vec<f64> {
    w.iter()
        .map(|row| {
            row[..z.len()]
                .iter()
                .zip(z)
                .map(|(a, b)| a * b)
                .sum::<f64>()
                + row[z.len()]
        })
        .collect()
}

/// The first index of the largest value (ties go to the lower class).
fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn fit_logistic(z: &[Vec<f64>], labels: &[usize], classes: usize) -> Vec<Vec<f64>> {
    let d = z.first().map_or(0, Vec::len);
    let n = z.len().max(1) as f64;
    let mut w = vec![vec![0.0; d + 1]; classes];
    for _ in 0..STEPS {
        let mut grad = vec![vec![0.0; d + 1]; classes];
        for (row, &label) in z.iter().zip(labels) {
            let s = scores(&w, row);
            let top = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = s.iter().map(|v| (v - top).exp()).collect();
            let sum: f64 = e.iter().sum();
            for (c, g) in grad.iter_mut().enumerate() {
                let delta = e[c] / sum - if c == label { 1.0 } else { 0.0 };
                for (gj, xj) in g.iter_mut().zip(row) {
                    *gj += delta * xj;
                }
                g[d] += delta;
            }
        }
        for (wc, gc) in w.iter_mut().zip(&grad) {
            for (j, (wj, gj)) in wc.iter_mut().zip(gc).enumerate() {
                let decay = if j < d { L2 * *wj } else { 0.0 };
                *wj -= LEARNING_RATE * (gj / n + decay);
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features, three classes, separated along different features (one with large
    /// units, so standardisation matters).
    fn toy() -> (Vec<Vec<f64>>, Vec<usize>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            let j = f64::from(i % 5) * 0.01;
            x.push(vec![0.0 + j, 1000.0]);
            y.push(0);
            x.push(vec![1.0 + j, 1000.0]);
            y.push(1);
            x.push(vec![0.5 + j, 3000.0]);
            y.push(2);
        }
        (x, y)
    }

    #[test]
    fn both_classifiers_separate_separable_classes() {
        let (x, y) = toy();
        for kind in ClassifierKind::ALL {
            let c = Classifier::fit(kind, &x, &y, 3);
            let right = x
                .iter()
                .zip(&y)
                .filter(|(r, l)| c.predict(r) == **l)
                .count();
            assert_eq!(right, x.len(), "{}", kind.name());
        }
    }

    #[test]
    fn a_class_without_samples_is_never_the_nearest_centroid_and_fits_are_repeatable() {
        let (x, y) = toy();
        let c = Classifier::fit(ClassifierKind::NearestCentroid, &x, &y, 4);
        assert!(x.iter().all(|r| c.predict(r) < 3));
        let a = Classifier::fit(ClassifierKind::Logistic, &x, &y, 3);
        let b = Classifier::fit(ClassifierKind::Logistic, &x, &y, 3);
        assert_eq!(a, b);
        // No rows at all: a classifier that still answers.
        let empty = Classifier::fit(ClassifierKind::Logistic, &[], &[], 2);
        assert_eq!(empty.predict(&[]), 0);
    }
}
