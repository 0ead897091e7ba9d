//! Before and beside deep learning: handcrafted image pipelines (a chain of classical
//! operators, feature extractors and a simple classifier, as in the lecture's Grizzly system)
//! and their evolution (Krawiec and Bhanu's evolutionary feature synthesis), run on the same
//! data sets as the convnets so the three kinds of features compare on equal terms.
//!
//! - [`ops`]: the operators (smoothing, edges, thresholds, morphology), via `imageproc`.
//! - [`features`]: intensity, edge, local-binary-pattern, co-occurrence and blob features.
//! - [`classifier`]: logistic regression and nearest centroid on standardised features.
//! - [`pipeline`]: a pipeline's description, its stages' images and its evaluation.
//! - [`evolve`]: a seeded (μ+λ) evolution strategy over pipelines.
//!
//! Imports `data` and the engine's seeded generator only; knows nothing of networks,
//! drawing or the window.

pub mod classifier;
pub mod evolve;
pub mod features;
pub mod ops;
pub mod pipeline;

pub use classifier::{Classifier, ClassifierKind};
pub use evolve::{EvolutionSpec, Generation, evolve};
pub use features::FeatureGroup;
pub use ops::Operator;
pub use pipeline::{PipelineEvaluation, PipelineSpec, evaluate};

/// What can go wrong with a pipeline or its data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClassicalError {
    #[error("{0}")]
    Invalid(String),
    #[error("handcrafted pipelines classify images; this data set has no class labels")]
    NotClassification,
    #[error("the {0} set is empty")]
    Empty(&'static str),
}
