//! Looking inside a network for one chosen input: pure maths on a [`Graph`], no pictures
//! and no egui. `viz` turns these results into RGBA images; `ui` shows them and the CLI
//! saves them.
//!
//! Every function works for any graph the editor can build: nodes are picked by name and
//! geometry comes from the graph itself, never from a hard-coded architecture.
//!
//! - [`probe`]: forward + backward for one input: every node's activation and gradient,
//!   statistics, histograms, per-layer gradient norms.
//! - [`filters`]: the classical Gaussian / Sobel / Scharr / Laplacian kernels run through
//!   the engine's own convolution, and a conv node's learned kernels.
//! - [`routing`]: how max (min, average) pooling routes the gradient back: windows,
//!   winners, upstream gradient, scattered gradient, step by step; the lecture's 4×4 case.
//! - [`receptive`]: theoretical and effective receptive field of one output unit.
//! - [`covariance`]: translation covariance, per node, for a shifted input.
//! - [`saliency`]: input-gradient saliency and Grad-CAM.
//! - [`feature_vis`]: an input synthesised by gradient ascent to excite one channel.
//! - [`top_patches`]: the data set's images that excite one channel most, with the
//!   receptive field of the strongest unit (what a channel at any depth responds to).
//! - [`prediction`]: what the model says about one input, read by its task: class
//!   probabilities, classes per pixel, reconstruction error, values.
//! - [`diffusion`]: the reverse chain of a diffusion model, the forward process's pictures,
//!   and a classifier's judgement of samples.
//! - [`denoise`]: the classical blur and median baselines of a denoising task and PSNR.
//! - [`ssim`]: the structural similarity index (Wang et al. 2004).
//! - [`super_resolution`]: bilinear and bicubic baselines of a super-resolution task, and a
//!   trained fully convolutional net run on a whole image of any size.
//! - [`latent`]: a VAE's codes μ and log σ², per-image KL, images decoded from chosen codes
//!   (lattice, prior, interpolation).
//! - [`patches`]: a patch classifier (the centre pixel's class) run at every pixel of whole
//!   images: its segmentation, timed.
//! - [`conv_arithmetic`]: the convolution arithmetic sandbox (a kernel sliding over a small
//!   numeric input, step by step; output-size formulas).
//!
//! Imports `engine` only (and `data` types). Errors are returned, never panicked.
//!
//! [`Graph`]: crate::engine::Graph

pub mod anomaly;
pub mod conv_arithmetic;
pub mod covariance;
pub mod denoise;
pub mod diffusion;
pub mod feature_vis;
pub mod filters;
pub mod latent;
pub mod patches;
pub mod prediction;
pub mod probe;
pub mod receptive;
pub mod routing;
pub mod saliency;
pub mod ssim;
pub mod super_resolution;
pub mod top_patches;
pub mod unsupervised_segmentation;

mod util;

pub use anomaly::auroc_of;
pub use covariance::{Covariance, NodeCovariance, ShiftMode, covariance};
pub use filters::{ClassicalFilter, FilterResponse, apply_filter, classical_filters, filter_bank};
pub use probe::{ActStats, Histogram, NodeProbe, ParamProbe, Probe, probe};
pub use receptive::{ReceptiveFieldView, RfRect, receptive_field, rf_by_depth};
pub use routing::{LectureCase, PoolRouting, RoutingWindow, lecture_routing, pool_routing, route};
pub use saliency::{GradCam, Saliency, grad_cam, saliency};
pub use top_patches::{PatchHit, TopPatches, top_patches};

use crate::engine::GraphError;
use crate::engine::loss::LossError;

/// Why an inspection could not be computed. The messages print their cause, so the cause is
/// not also given as the error's source (a report of the chain would say it twice).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InspectError {
    #[error("model: {0}")]
    Graph(GraphError),
    #[error("loss: {0}")]
    Loss(LossError),
    #[error("the model has no node '{0}'")]
    NoNode(String),
    #[error("node '{node}' is {found}, this view needs {wanted}")]
    WrongKind {
        node: String,
        found: String,
        wanted: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

impl From<GraphError> for InspectError {
    fn from(e: GraphError) -> Self {
        InspectError::Graph(e)
    }
}

impl From<LossError> for InspectError {
    fn from(e: LossError) -> Self {
        InspectError::Loss(e)
    }
}

impl InspectError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        InspectError::Invalid(msg.into())
    }
}
