//! A handcrafted pipeline: the preset's `[pipeline]` section (operators in order, feature
//! groups, classifier), the images of its stages for one input, and its evaluation on a
//! training and a validation set — accuracy and confusion matrix in the same terms as a
//! convnet's, with the time each part took.

use std::time::Instant;

use image::GrayImage;
use ndarray::{Array4, Axis};
use serde::{Deserialize, Serialize};

use super::ClassicalError;
use super::classifier::{Classifier, ClassifierKind};
use super::features::FeatureGroup;
use super::ops::Operator;
use crate::data::{Dataset, Targets};

/// The most stages a pipeline may have.
pub const MAX_STAGES: usize = 12;

/// A pipeline as a preset writes it:
///
/// ```toml
/// [pipeline]
/// stages = [{ op = "median", radius = 1 }, { op = "sobel" }]
/// features = ["intensity", "lbp"]
/// classifier = "logistic"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    #[serde(default)]
    pub stages: Vec<Operator>,
    pub features: Vec<FeatureGroup>,
    #[serde(default)]
    pub classifier: ClassifierKind,
}

impl PipelineSpec {
    /// Checks every stage's setting and that there is something to classify with.
    pub fn validate(&self) -> Result<(), ClassicalError> {
        if self.stages.len() > MAX_STAGES {
            return Err(ClassicalError::Invalid(format!(
                "a pipeline has at most {MAX_STAGES} stages, got {}",
                self.stages.len()
            )));
        }
        if self.features.is_empty() {
            return Err(ClassicalError::Invalid(
                "a pipeline needs at least one feature group".into(),
            ));
        }
        self.stages.iter().try_for_each(Operator::validate)
    }

    /// The image after each stage, the input first.
    pub fn stage_images(&self, input: &GrayImage) -> Vec<GrayImage> {
        let mut out = vec![input.clone()];
        for op in &self.stages {
            let next = op.apply(out.last().expect("the input is first"));
            out.push(next);
        }
        out
    }

    /// The feature vector of one image (measured on the last stage's output).
    pub fn features_of(&self, input: &GrayImage) -> Vec<f64> {
        let last = self.stage_images(input).pop().expect("the input is first");
        self.features
            .iter()
            .flat_map(|g| g.measure(&last))
            .collect()
    }

    /// The names of the feature vector's values.
    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().flat_map(|g| g.names()).collect()
    }

    /// The chain as one line, e.g. `median r=1 → sobel → [lbp, edges] → logistic regression`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.stages.iter().map(Operator::label).collect();
        if parts.is_empty() {
            parts.push("image".into());
        }
        let groups: Vec<&str> = self.features.iter().map(|g| g.name()).collect();
        parts.push(format!("[{}]", groups.join(", ")));
        parts.push(self.classifier.name().into());
        parts.join(" -> ")
    }

    /// Stages plus feature groups: the size of the pipeline (ties in the evolution go to
    /// the smaller one).
    pub fn size(&self) -> usize {
        self.stages.len() + self.features.len()
    }
}

/// Sample `k` of `inputs` as an 8-bit grey image (the mean of its channels).
pub fn grey_image(inputs: &Array4<f32>, k: usize) -> GrayImage {
    let s = inputs.index_axis(Axis(0), k);
    let (c, h, w) = s.dim();
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let mean = (0..c)
            .map(|ch| s[[ch, y as usize, x as usize]])
            .sum::<f32>()
            / c.max(1) as f32;
        image::Luma([(mean.clamp(0.0, 1.0) * 255.0).round() as u8])
    })
}

/// The labels of a classification set.
pub fn labels_of(data: &Dataset) -> Result<&[usize], ClassicalError> {
    match &data.targets {
        Targets::Labels(l) => Ok(l),
        Targets::Dense(_) => Err(ClassicalError::NotClassification),
    }
}

/// How many classes a classifier needs: the set's class names, or more where a label
/// goes beyond them.
pub(super) fn class_count<'a>(
    data: &Dataset,
    labels: impl IntoIterator<Item = &'a usize>,
) -> usize {
    let named = data.class_names.len();
    labels
        .into_iter()
        .max()
        .map_or(named, |&m| named.max(m + 1))
}

/// The feature vectors of all images of `data`, computed on `threads` threads (in image
/// order whatever the thread count).
pub fn feature_matrix(spec: &PipelineSpec, inputs: &Array4<f32>, threads: usize) -> Vec<Vec<f64>> {
    let n = inputs.shape()[0];
    let threads = threads.clamp(1, n.max(1));
    let chunk = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(|k| spec.features_of(&grey_image(inputs, k)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// A pipeline's result on a training and a validation set.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineEvaluation {
    pub feature_names: Vec<String>,
    pub train_accuracy: f64,
    pub val_accuracy: f64,
    /// `[truth][predicted]` counts on the validation set.
    pub confusion: Vec<Vec<usize>>,
    pub class_names: Vec<String>,
    /// Seconds spent measuring the features of both sets.
    pub feature_seconds: f64,
    /// Seconds spent fitting the classifier.
    pub fit_seconds: f64,
    /// The validation set's feature vectors (the feature table of the window).
    pub val_features: Vec<Vec<f64>>,
    pub val_predictions: Vec<usize>,
}

/// The share of rows `x` that `c` labels as `y` says (0 for no rows).
pub(super) fn accuracy(c: &Classifier, x: &[Vec<f64>], y: &[usize]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().zip(y).filter(|(r, l)| c.predict(r) == **l).count() as f64 / x.len() as f64
}

/// Runs `spec` on every image, fits its classifier on `train` and scores it on `val`.
pub fn evaluate(
    spec: &PipelineSpec,
    train: &Dataset,
    val: &Dataset,
    threads: usize,
) -> Result<PipelineEvaluation, ClassicalError> {
    spec.validate()?;
    let train_labels = labels_of(train)?;
    let val_labels = labels_of(val)?;
    if train.is_empty() {
        return Err(ClassicalError::Empty("training"));
    }
    let classes = class_count(train, train_labels.iter().chain(val_labels));
    let started = Instant::now();
    let xt = feature_matrix(spec, &train.inputs, threads);
    let xv = feature_matrix(spec, &val.inputs, threads);
    let feature_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let classifier = Classifier::fit(spec.classifier, &xt, train_labels, classes);
    let fit_seconds = started.elapsed().as_secs_f64();
    let predictions: Vec<usize> = xv.iter().map(|r| classifier.predict(r)).collect();
    let mut confusion = vec![vec![0; classes]; classes];
    for (&t, &p) in val_labels.iter().zip(&predictions) {
        confusion[t][p] += 1;
    }
    Ok(PipelineEvaluation {
        feature_names: spec.feature_names(),
        train_accuracy: accuracy(&classifier, &xt, train_labels),
        val_accuracy: accuracy(&classifier, &xv, val_labels),
        confusion,
        class_names: train.class_names.clone(),
        feature_seconds,
        fit_seconds,
        val_features: xv,
        val_predictions: predictions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preset_format_reads_and_checks_a_pipeline() {
        let spec: PipelineSpec = toml::from_str(
            r#"
            stages = [{ op = "median", radius = 1 }, { op = "otsu" }, { op = "open", radius = 2 }]
            features = ["blobs", "intensity"]
            classifier = "nearest_centroid"
            "#,
        )
        .unwrap();
        assert_eq!(spec.stages.len(), 3);
        assert!(spec.validate().is_ok());
        assert_eq!(
            spec.describe(),
            "median r=1 -> otsu -> open r=2 -> [blobs, intensity] -> nearest centroid"
        );
        assert_eq!(spec.feature_names().len(), 10);
        let bad: PipelineSpec =
            toml::from_str("stages = [{ op = \"gaussian\", sigma = -1 }]\nfeatures = [\"lbp\"]")
                .unwrap();
        assert!(bad.validate().is_err());
        assert!(
            toml::from_str::<PipelineSpec>("stages = [{ op = \"fft\" }]\nfeatures = []").is_err()
        );
    }

    #[test]
    fn grey_images_average_the_channels() {
        let mut x = Array4::<f32>::zeros((1, 3, 1, 2));
        x[[0, 0, 0, 0]] = 1.0;
        x[[0, 1, 0, 0]] = 0.5;
        x[[0, 2, 0, 1]] = 3.0;
        let g = grey_image(&x, 0);
        assert_eq!(g.get_pixel(0, 0)[0], 128);
        assert_eq!(g.get_pixel(1, 0)[0], 255, "clamped to white");
    }
}
