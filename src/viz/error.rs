//! Why a view could not be drawn: what the model, the data or the request lacks, or which
//! lower layer failed (the engine running the model, an inspection, the data loader).

use crate::data::DataError;
use crate::engine::GraphError;
use crate::inspect::InspectError;
use crate::spec::view::ViewId;

/// Why a view or a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VizError {
    /// The request names a node the model does not have.
    #[error("the model has no node '{0}'")]
    UnknownNode(String),
    /// The model failed to run (its forward pass, or its shapes).
    #[error(transparent)]
    Model(#[from] GraphError),
    /// What the view computes failed (a probe, a routing, a receptive field…).
    #[error(transparent)]
    Inspect(#[from] InspectError),
    /// The data behind the view could not be made (an anomaly test set).
    #[error(transparent)]
    Data(#[from] DataError),
    /// Arrays of the wrong shape met (outputs of several batches joined).
    #[error(transparent)]
    Shape(#[from] ndarray::ShapeError),
    /// The view looks at the data set and was given one input.
    #[error("the {0} view looks at the data set")]
    NeedsDataSet(ViewId),
    /// The view looks at one input and was given the data set.
    #[error("the {0} view looks at one input")]
    NeedsInput(ViewId),
    /// The anomaly view was given no anomaly test set.
    #[error(
        "the anomaly view needs an anomaly data set (textures or anomaly folders), e.g. \
         presets/textures-autoencoder.toml"
    )]
    NeedsAnomalySet,
    /// The view draws a run's history and was given a model's input or data.
    #[error("the {0} view draws the history of a run")]
    NeedsRun(ViewId),
    /// The run history is empty: a preset, or a checkpoint saved before any epoch ended.
    #[error(
        "no run history: a checkpoint that `convlab train` (or the window) saved after at \
         least one epoch holds its curves; a preset or an untrained model has none"
    )]
    NoHistory,
    /// The view draws a model, and was asked to draw from its settings alone.
    #[error("the {0} view draws a model: it needs one")]
    NeedsModel(ViewId),
    /// The gradient views got no target to differentiate against.
    #[error("no target")]
    NoTarget,
    /// The model has not what the view needs (a conv node, an autoencoder's output…).
    #[error("{0}")]
    UnsuitedModel(String),
    /// The data has not what the view needs (masks, any images at all…).
    #[error("{0}")]
    UnsuitedData(String),
    /// An option of the request is out of range or contradicts another.
    #[error("{0}")]
    BadOption(String),
    /// The parts handed to a picture do not fit together, or the picture is empty.
    #[error("{0}")]
    Picture(String),
    /// Writing a picture failed.
    #[error("{path}: {source}")]
    Write {
        path: String,
        source: image::ImageError,
    },
}

impl VizError {
    /// Whether the message says `text` (callers that look for a word, such as tests
    /// checking that an error names the shape or the node it is about).
    pub fn contains(&self, text: &str) -> bool {
        self.to_string().contains(text)
    }
}
