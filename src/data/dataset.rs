//! An in-memory data set: inputs as one NCHW tensor and their targets.

use ndarray::{Array4, Axis};

/// What a model is asked to predict for each sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample (classification).
    Labels(Vec<usize>),
    /// A tensor per sample, `[n, c, h, w]`: regression values, images to reconstruct,
    /// or segmentation masks.
    Dense(Array4<f32>),
}

/// Samples with their targets; `inputs` is `[n, c, h, w]` with values roughly in [0, 1]
/// for images and in a few units for 2-D points (`[n, 2, 1, 1]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub inputs: Array4<f32>,
    pub targets: Targets,
    /// Class names for classification (index = label); empty otherwise.
    pub class_names: Vec<String>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one sample: `[c, h, w]`.
    pub fn sample_shape(&self) -> [usize; 3] {
        let s = self.inputs.shape();
        [s[1], s[2], s[3]]
    }

    /// Number of samples of each class (empty when the targets are not labels).
    pub fn class_counts(&self) -> Vec<usize> {
        match &self.targets {
            Targets::Labels(labels) => {
                let mut counts = vec![
                    0;
                    self.class_names
                        .len()
                        .max(labels.iter().map(|l| l + 1).max().unwrap_or(0))
                ];
                for &l in labels {
                    counts[l] += 1;
                }
                counts
            }
            Targets::Dense(_) => Vec::new(),
        }
    }

    /// A new data set made of the samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let inputs = self.inputs.select(Axis(0), indices);
        let targets = match &self.targets {
            Targets::Labels(l) => Targets::Labels(indices.iter().map(|&i| l[i]).collect()),
            Targets::Dense(t) => Targets::Dense(t.select(Axis(0), indices)),
        };
        Dataset {
            name: self.name.clone(),
            inputs,
            targets,
            class_names: self.class_names.clone(),
        }
    }
}
