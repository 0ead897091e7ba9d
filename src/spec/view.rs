//! The views of ConvLab by name: one list used by the window's tabs, `convlab render
//! --view`, walkthrough steps (`view = "…"`) and the CLI help.
//!
//! This module only names and describes views (it sits at the preset level, so walkthrough
//! steps can store a view); what each view computes and draws is
//! `viz::views::render_view` (the layer above, which draws), an exhaustive match over [`ViewId`].
//!
//! Adding a view: a variant here with its arms below (name, title, tooltip, what it needs),
//! and its arm in `viz::views` with its module `viz/views/<view>.rs`. The window lists it as
//! a tab and shows its picture, the CLI renders it, walkthroughs can name it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One view, by its stable name. Presets store it by [`ViewId::preset_name`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum ViewId {
    /// Loss and metric curves, validation predictions and the confusion matrix.
    #[default]
    Training,
    /// What the model says about the current input: class bars, classes per pixel, or a
    /// reconstruction and its error.
    Prediction,
    Activations,
    Filters,
    Gradients,
    Routing,
    ReceptiveField,
    Covariance,
    Saliency,
    /// The drop in a class's probability as a grey square covers each part of the input.
    Occlusion,
    TopPatches,
    Anomaly,
    Segmentation,
    /// A denoising task: noisy / denoised / clean / difference, PSNR of the model and of
    /// the classical blur and median filter.
    Denoising,
    /// A VAE's latent space: codes by class, the decoded lattice (manifold), prior samples,
    /// interpolation.
    Latent,
    /// A diffusion model: the forward noising of an image, what the network predicts at a
    /// step, and the reverse chain from noise to samples.
    Diffusion,
    /// A super-resolution task: low-res / bicubic / network / original / difference, PSNR
    /// and SSIM of each, on validation crops and on a whole photo.
    SuperResolution,
    /// A handcrafted pipeline (classical operators, features, a simple classifier): each
    /// stage's image, the features, validation accuracy and confusion matrix.
    Pipeline,
    /// An evolution of handcrafted pipelines: fitness per generation, the best pipeline.
    Evolution,
    ConvArithmetic,
    /// The model over its input plane (2-D points) or along its input (1-D functions).
    Decision,
    /// A 1-D fit: the model's curve over the data and each hidden unit's share of it.
    Function,
    /// The network diagram of a dense net: every unit's output over the input plane.
    Neurons,
    /// One unit of a dense layer: w·x + b over the plane, its zero line and weight vector.
    Unit,
}

/// What a view is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewSource {
    /// The window's own record of the run (curves); not a picture of the model.
    Run,
    /// Nothing but its own settings: no model, no data.
    Nothing,
    /// The model and one input (a sample or an image file).
    Input,
    /// The model and the data set.
    DataSet,
}

impl ViewId {
    /// Every view, in the order of the window's tabs.
    pub const ALL: [ViewId; 24] = [
        ViewId::Training,
        ViewId::Prediction,
        ViewId::Activations,
        ViewId::Filters,
        ViewId::Gradients,
        ViewId::Routing,
        ViewId::ReceptiveField,
        ViewId::Covariance,
        ViewId::Saliency,
        ViewId::Occlusion,
        ViewId::TopPatches,
        ViewId::Anomaly,
        ViewId::Segmentation,
        ViewId::Denoising,
        ViewId::Latent,
        ViewId::Diffusion,
        ViewId::SuperResolution,
        ViewId::Pipeline,
        ViewId::Evolution,
        ViewId::ConvArithmetic,
        ViewId::Decision,
        ViewId::Function,
        ViewId::Neurons,
        ViewId::Unit,
    ];

    /// The stable name: `convlab render --view NAME`, `convlab --view NAME`, and what a
    /// preset writes.
    pub fn name(self) -> &'static str {
        match self {
            ViewId::Training => "training",
            ViewId::Activations => "activations",
            ViewId::Filters => "filters",
            ViewId::Gradients => "gradients",
            ViewId::Routing => "pool-routing",
            ViewId::ReceptiveField => "receptive-field",
            ViewId::Covariance => "covariance",
            ViewId::Saliency => "saliency",
            ViewId::Occlusion => "occlusion",
            ViewId::Prediction => "prediction",
            ViewId::TopPatches => "top-patches",
            ViewId::Anomaly => "anomaly",
            ViewId::Segmentation => "segmentation",
            ViewId::Denoising => "denoising",
            ViewId::Latent => "latent",
            ViewId::Diffusion => "diffusion",
            ViewId::SuperResolution => "super-resolution",
            ViewId::Pipeline => "pipeline",
            ViewId::Evolution => "evolution",
            ViewId::ConvArithmetic => "conv-arithmetic",
            ViewId::Decision => "decision",
            ViewId::Function => "function",
            ViewId::Neurons => "neurons",
            ViewId::Unit => "unit",
        }
    }

    /// The name a preset's walkthrough step writes (`view = "…"`): the walkthrough's own
    /// words, kept as they were so presets and checkpoints stay readable by earlier
    /// builds. `model`, `data`, `curves` and `predictions` all show the training tab (the
    /// editor and the data panel are beside it); it is written as `curves`.
    pub fn preset_name(self) -> &'static str {
        match self {
            ViewId::Training => "curves",
            ViewId::Activations => "activations",
            ViewId::Filters => "filters",
            ViewId::Gradients => "gradients",
            ViewId::Routing => "routing",
            ViewId::ReceptiveField => "receptive_field",
            ViewId::Covariance => "covariance",
            ViewId::Saliency => "saliency",
            ViewId::Occlusion => "occlusion",
            ViewId::Prediction => "prediction",
            ViewId::TopPatches => "top_patches",
            ViewId::Anomaly => "anomaly",
            ViewId::Segmentation => "segmentation",
            ViewId::Denoising => "denoising",
            ViewId::Latent => "latent",
            ViewId::Diffusion => "diffusion",
            ViewId::SuperResolution => "super_resolution",
            ViewId::Pipeline => "pipeline",
            ViewId::Evolution => "evolution",
            ViewId::ConvArithmetic => "conv_arithmetic",
            ViewId::Decision => "decision",
            ViewId::Function => "function",
            ViewId::Neurons => "neurons",
            ViewId::Unit => "unit",
        }
    }

    /// Other names that mean this view: the walkthrough's other words for the training
    /// tab, and tab titles typed as names (`max-pool-routing`).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            ViewId::Training => &["model", "data", "predictions"],
            ViewId::Routing => &["max-pool-routing"],
            ViewId::Activations
            | ViewId::Filters
            | ViewId::Gradients
            | ViewId::ReceptiveField
            | ViewId::Covariance
            | ViewId::Saliency
            | ViewId::Occlusion
            | ViewId::Prediction
            | ViewId::TopPatches
            | ViewId::Anomaly
            | ViewId::Segmentation
            | ViewId::Denoising
            | ViewId::Latent
            | ViewId::Diffusion
            | ViewId::SuperResolution
            | ViewId::Pipeline
            | ViewId::Evolution
            | ViewId::ConvArithmetic
            | ViewId::Decision
            | ViewId::Function
            | ViewId::Neurons
            | ViewId::Unit => &[],
        }
    }

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            ViewId::Training => "Training",
            ViewId::Activations => "Activations",
            ViewId::Filters => "Filters",
            ViewId::Gradients => "Gradients",
            ViewId::Routing => "Max-pool routing",
            ViewId::ReceptiveField => "Receptive field",
            ViewId::Covariance => "Covariance",
            ViewId::Saliency => "Saliency",
            ViewId::Occlusion => "Occlusion",
            ViewId::Prediction => "Prediction",
            ViewId::TopPatches => "Top patches",
            ViewId::Anomaly => "Anomaly",
            ViewId::Segmentation => "Segmentation",
            ViewId::Denoising => "Denoising",
            ViewId::Latent => "Latent",
            ViewId::Diffusion => "Diffusion",
            ViewId::SuperResolution => "Super-resolution",
            ViewId::Pipeline => "Handcrafted pipeline",
            ViewId::Evolution => "Evolved features",
            ViewId::ConvArithmetic => "Conv arithmetic",
            ViewId::Decision => "Decision regions",
            ViewId::Function => "Function",
            ViewId::Neurons => "Neurons",
            ViewId::Unit => "Single unit",
        }
    }

    /// What the view shows and how to read it (the tab's tooltip).
    pub fn tooltip(self) -> &'static str {
        match self {
            ViewId::Training => {
                "Loss and metric curves, validation predictions and the confusion matrix."
            }
            ViewId::Activations => {
                "The output of one node for the chosen input: one heatmap per channel (feature map). \
                 Hover a map for the value at a position; click it to enlarge that channel. Dense \
                 layers are drawn as bars."
            }
            ViewId::Filters => {
                "The learned kernels of a conv node (one row per output channel, one column per input \
                 channel; blue negative, red positive), and beside them the classical hand-made \
                 filters (Gaussian, Sobel, Scharr, Laplacian) applied to the same input."
            }
            ViewId::Gradients => {
                "Back-propagation for the chosen input and its target: the loss gradient with respect \
                 to a node's output, the gradient norm of every layer's weights (a slope over depth \
                 means vanishing gradients), and histograms of weights and their gradients."
            }
            ViewId::Routing => {
                "Max pooling passes each window's largest value on; in the backward pass the whole \
                 gradient of that output goes back to the winner, every other input gets 0 \
                 (overlapping windows add up). Average pooling spreads it evenly instead. Click an \
                 output cell to highlight its window and winner."
            }
            ViewId::ReceptiveField => {
                "The input pixels one unit can see. The rectangle is the whole region the unit \
                 depends on (padding, stride and dilation accounted for): the lecture's effective \
                 receptive field (ERF), which Luo et al. call the theoretical one. The heatmap is \
                 the input gradient of that unit, how much each pixel actually moves it: what Luo \
                 et al. call the effective receptive field."
            }
            ViewId::Covariance => {
                "Translation covariance: shifting the input should shift every feature map. Compares \
                 f(shifted x) with shifted f(x) per node; stride and pooling break exact covariance."
            }
            ViewId::Saliency => {
                "Which input pixels the class score depends on: the input gradient (saliency) and \
                 Grad-CAM (gradient-weighted feature maps of a spatial node), over the input."
            }
            ViewId::Occlusion => {
                "Which parts of the input the prediction needs (Zeiler and Fergus): a square of \
                 the image's mean value slides over it and the class's probability is measured \
                 at every position; red where covering a part lowers it, blue where it raises \
                 it. Only forward passes, no gradients."
            }
            ViewId::Prediction => {
                "What the model says about the current input (a sample, an image file or a \
                 drawing): the most likely classes with their probabilities; for a segmenter \
                 its classes over the image, for an autoencoder its reconstruction and error. \
                 Drag on the input to cover a part of it with a grey square and watch the \
                 answer change."
            }
            ViewId::TopPatches => {
                "What one channel responds to, at any depth: the nine images of the data set that \
                 excite it most, each with the patch its strongest unit sees (the unit's receptive \
                 field, outlined on the image; dashed where it reaches into the padding). Above \
                 them, an input synthesised for the channel: starting from grey, gradient ascent \
                 on the activation of one central unit of the channel draws the pattern it \
                 answers to. Early channels pick edges and blobs; deeper ones larger parts of \
                 shapes. Pick the node and the channel."
            }
            ViewId::Anomaly => {
                "An autoencoder trained on normal images only reconstructs them well and fails on \
                 defects: the per-pixel reconstruction error is the anomaly map, its top values give \
                 the image's anomaly score."
            }
            ViewId::Segmentation => {
                "Per-pixel classification: the prediction over the input beside the true mask, \
                 errors coloured (true positive, false positive, false negative), and IoU = overlap / \
                 union of prediction and truth."
            }
            ViewId::Denoising => {
                "A denoising task (a preset with [data.denoise]): the noisy input, the model's \
                 denoised output, the clean image and the difference between output and clean \
                 (blue where the output is darker, red where brighter). The title gives the \
                 PSNR (10·log10(1/MSE), in dB, higher is better) over the validation set of the \
                 noisy input, the model, and the classical Gaussian blur and median filter, each \
                 at the setting that scores best on the same images. SSIM (structural \
                 similarity, 1 = identical) is given beside each PSNR."
            }
            ViewId::SuperResolution => {
                "A super-resolution task (a preset with [data.super_resolution]): the image \
                 shrunk by averaging blocks of pixels (low-res), enlarged again by bicubic \
                 interpolation (the network's input), the network's output, the original, and \
                 the difference between network and original. PSNR (dB, higher is better) and \
                 SSIM (1 = identical) of each against the original, for bilinear and bicubic \
                 interpolation too. Below, a whole bundled photo enlarged by the same weights, \
                 though the net was trained on small crops: its parameter count does not depend \
                 on the image size."
            }
            ViewId::Latent => {
                "A variational autoencoder's latent space (a model with a sampling node): the \
                 validation images' codes μ over the first two latent values, coloured by class; \
                 the images the decoder (the nodes after the sampling node) draws from a regular \
                 lattice over the plane; images decoded from draws of the prior N(0, I); and the \
                 straight line between the current image's code and another's, decoded. Click \
                 the scatter to decode that point."
            }
            ViewId::Diffusion => {
                "A denoising diffusion model (a preset with [data.diffusion]; Ho, Jain and Abbeel \
                 2020). Top: the forward process adds Gaussian noise to a training image step by \
                 step until only noise is left, with the noise schedule (alpha-bar = share of the \
                 image left). Middle: at one step t the network gets x_t and t and predicts the \
                 noise; subtracting it gives its guess of the clean image. Bottom: sampling runs \
                 the chain backwards from pure noise, one predicted-noise step at a time."
            }
            ViewId::Pipeline => {
                "A handcrafted pipeline (the preset's [pipeline]; as in the lecture's Grizzly \
                 system): classical operators in a chain (smoothing, edges, thresholds, \
                 morphology), each stage's image for the chosen validation image, the features \
                 measured on the last stage (intensity, edges, local binary patterns, \
                 co-occurrence, blobs) and a simple classifier fitted on them: its validation \
                 accuracy and confusion matrix, for comparison with the network. No network is \
                 involved."
            }
            ViewId::Evolution => {
                "Evolutionary feature synthesis (after Krawiec and Bhanu): a seeded (mu+lambda) \
                 evolution of handcrafted pipelines. Fitness is the accuracy of each pipeline's \
                 classifier inside the training split (fitted on two thirds, scored on the \
                 rest); the validation set stays held out and only scores each generation's \
                 best. The chart shows best and mean fitness and the best pipeline's held-out \
                 accuracy per generation; below, the best pipeline's stages. Settings: the \
                 preset's [evolution]."
            }
            ViewId::ConvArithmetic => {
                "How a convolution slides over its input, one output at a time, on small numbers \
                 (after Dumoulin & Visin's conv arithmetic guide; no model needed). Each output is \
                 the sum of input × weight over one window. Output size per side: \
                 ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 for input n, kernel k, padding p, stride s and \
                 dilation d (⌊(n + 2p − k)/s⌋ + 1 when d = 1). Padding modes fill the border with \
                 zeros, a mirror image of the input (reflect) or copies of the edge (replicate). A \
                 transposed convolution goes the other way: every input cell stamps value × kernel \
                 onto the output, s cells apart, and p cells are cropped from each side, so it \
                 upsamples to (n − 1)·s − 2p + d(k − 1) + 1."
            }
            ViewId::Decision => {
                "What the model does with every point of its input plane (2-D point data): each \
                 position coloured by the class the model picks there, paler where it is less \
                 sure (a single regression output: blue below zero, red above). The training \
                 points lie on top as filled dots, the validation points as hollow ones; a \
                 black ring marks a point the model gets wrong. For 1-D inputs: the model's \
                 curve over the data points. \"Discretise\" drops the paleness: only which class \
                 (or which sign) remains."
            }
            ViewId::Function => {
                "A model of one number (input x, output y): the data as points and the model's \
                 curve through them. For one hidden layer and a linear output (dense → \
                 activation → dense with one output), every hidden unit's share of the fit \
                 — its output weight times its output — is drawn as a thin curve; these \
                 curves plus the output bias add up to the fit. Universal approximation made \
                 visible: each sigmoid unit is one soft step, two of them a bump."
            }
            ViewId::Neurons => {
                "The network as a diagram (after TensorFlow Playground): every unit drawn as a \
                 small map of its output over the input plane (2-D inputs) or along the input \
                 (1-D), after its activation; the lines between units are the weights, orange \
                 positive and blue negative, thicker the larger. Hover a unit to enlarge it, \
                 click it to see it large with its weights and bias. For dense nets; for \
                 convolutions see the activations view."
            }
            ViewId::Unit => {
                "One unit of a dense layer on 2-D inputs: z = w·x + b over the whole plane \
                 (a tilted plane, a ramp), its zero line z = 0 (black) splitting the plane into \
                 two half-planes, and the weight vector w (arrow) pointing uphill, \
                 perpendicular to that line. The colours show the activation of z (the node \
                 after the layer, or the one picked: identity, sigmoid, tanh, ReLU, steep \
                 sigmoid). Pick the unit with the node and channel; edit w and b by number and \
                 the model's own parameters change."
            }
        }
    }

    /// What the view is computed from.
    pub fn source(self) -> ViewSource {
        match self {
            ViewId::Training => ViewSource::Run,
            ViewId::ConvArithmetic => ViewSource::Nothing,
            ViewId::Activations
            | ViewId::Filters
            | ViewId::Gradients
            | ViewId::Routing
            | ViewId::ReceptiveField
            | ViewId::Covariance
            | ViewId::Saliency
            | ViewId::Occlusion
            | ViewId::Prediction => ViewSource::Input,
            ViewId::TopPatches
            | ViewId::Anomaly
            | ViewId::Segmentation
            | ViewId::Denoising
            | ViewId::Latent
            | ViewId::Diffusion
            | ViewId::SuperResolution
            | ViewId::Pipeline
            | ViewId::Evolution
            | ViewId::Decision
            | ViewId::Function
            | ViewId::Neurons
            | ViewId::Unit => ViewSource::DataSet,
        }
    }

    /// The view looks at one node the user can pick (otherwise it chooses or needs none).
    pub fn picks_node(self) -> bool {
        matches!(
            self,
            ViewId::Activations
                | ViewId::Filters
                | ViewId::Gradients
                | ViewId::Routing
                | ViewId::ReceptiveField
                | ViewId::Covariance
                | ViewId::Saliency
                | ViewId::TopPatches
                | ViewId::Unit
        )
    }

    /// Whether the view can draw a model whose input is `input` (`[c, h, w]`): the views of
    /// point data need 2-D points or one number, the others any input. A walkthrough step
    /// naming a view that cannot draw its model is a load error.
    pub fn draws_input(self, input: [usize; 3]) -> bool {
        match self {
            // Points may carry up to five hand-made features after x and y.
            ViewId::Decision => matches!(input, [1..=7, 1, 1]),
            ViewId::Neurons => matches!(input, [1 | 2, 1, 1]),
            ViewId::Function => input == [1, 1, 1],
            ViewId::Unit => input == [2, 1, 1],
            _ => true,
        }
    }

    /// The view shows one chosen sample (or image file) of the data.
    pub fn picks_input(self) -> bool {
        self.source() == ViewSource::Input
            || matches!(
                self,
                ViewId::Anomaly
                    | ViewId::Segmentation
                    | ViewId::Denoising
                    | ViewId::Latent
                    | ViewId::Diffusion
                    | ViewId::SuperResolution
                    | ViewId::Pipeline
                    | ViewId::Evolution
            )
    }

    /// Computed from the model (by the trainer's inspector in the window).
    pub fn uses_model(self) -> bool {
        matches!(self.source(), ViewSource::Input | ViewSource::DataSet)
    }

    /// The names `convlab render --view` takes: every view (the training view draws the
    /// curves a checkpoint keeps).
    pub fn renderable() -> impl Iterator<Item = ViewId> {
        ViewId::ALL.into_iter()
    }

    /// The canonical names of `views`, comma-separated (help texts and errors).
    pub fn list(views: impl Iterator<Item = ViewId>) -> String {
        views.map(ViewId::name).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for ViewId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no view.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown view '{0}'; views: {list}", list = ViewId::list(ViewId::ALL.into_iter()))]
pub struct UnknownView(pub String);

impl FromStr for ViewId {
    type Err = UnknownView;
    fn from_str(s: &str) -> Result<ViewId, UnknownView> {
        ViewId::ALL
            .into_iter()
            .find(|v| v.name() == s || v.preset_name() == s || v.aliases().contains(&s))
            .ok_or_else(|| UnknownView(s.to_string()))
    }
}

impl TryFrom<String> for ViewId {
    type Error = UnknownView;
    fn try_from(s: String) -> Result<ViewId, UnknownView> {
        s.parse()
    }
}

impl From<ViewId> for &'static str {
    fn from(v: ViewId) -> &'static str {
        v.preset_name()
    }
}

/// The routing view's lecture examples: the lecture's 4×4 input pooled with this window
/// and stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LectureWindow {
    K2S2,
    K3S1,
    K2S1,
}

/// A view setting a walkthrough step can choose (`overlay = "…"` in a preset). Each belongs
/// to one view ([`Overlay::view`]); a step naming one of another view is a load error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Overlay {
    /// Activations: one colour scale for all channels (`shared`).
    SharedScale,
    /// Filters: the classical kernels and their responses (`classical`).
    Classical,
    /// Filters: the learned kernels of the step's node (`learned`).
    Learned,
    /// Routing: the lecture's 4×4 example (`lecture-2x2s2`, `lecture-3x3s1`,
    /// `lecture-2x2s1`).
    Lecture(LectureWindow),
    /// Routing: average pooling beside max pooling (`average`).
    Average,
    /// Covariance: shift the input by this many pixels (`shift=N`, |N| ≤ [`MAX_SHIFT`]).
    Shift(isize),
    /// Saliency: the input-gradient map (`saliency`).
    SaliencyMap,
    /// Saliency: Grad-CAM at the step's node (`gradcam`).
    GradCam,
    /// Gradients: the per-layer gradient-norm chart (`norms`).
    Norms,
    /// Anomaly: error maps, score histogram, ROC curve (`error`, `histogram`, `roc`).
    ErrorMaps,
    Histogram,
    Roc,
    /// Segmentation: the predicted mask over the image (`overlay`).
    MaskOverlay,
    /// Segmentation: false positives and negatives coloured (`errors`).
    ErrorColours,
}

/// The largest covariance shift a step may name (the window's slider's range).
pub const MAX_SHIFT: isize = 8;

impl Overlay {
    /// The view this setting belongs to.
    pub fn view(self) -> ViewId {
        match self {
            Overlay::SharedScale => ViewId::Activations,
            Overlay::Classical | Overlay::Learned => ViewId::Filters,
            Overlay::Lecture(_) | Overlay::Average => ViewId::Routing,
            Overlay::Shift(_) => ViewId::Covariance,
            Overlay::SaliencyMap | Overlay::GradCam => ViewId::Saliency,
            Overlay::Norms => ViewId::Gradients,
            Overlay::ErrorMaps | Overlay::Histogram | Overlay::Roc => ViewId::Anomaly,
            Overlay::MaskOverlay | Overlay::ErrorColours => ViewId::Segmentation,
        }
    }
}

impl fmt::Display for Overlay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Overlay::SharedScale => f.write_str("shared"),
            Overlay::Classical => f.write_str("classical"),
            Overlay::Learned => f.write_str("learned"),
            Overlay::Lecture(LectureWindow::K2S2) => f.write_str("lecture-2x2s2"),
            Overlay::Lecture(LectureWindow::K3S1) => f.write_str("lecture-3x3s1"),
            Overlay::Lecture(LectureWindow::K2S1) => f.write_str("lecture-2x2s1"),
            Overlay::Average => f.write_str("average"),
            Overlay::Shift(n) => write!(f, "shift={n}"),
            Overlay::SaliencyMap => f.write_str("saliency"),
            Overlay::GradCam => f.write_str("gradcam"),
            Overlay::Norms => f.write_str("norms"),
            Overlay::ErrorMaps => f.write_str("error"),
            Overlay::Histogram => f.write_str("histogram"),
            Overlay::Roc => f.write_str("roc"),
            Overlay::MaskOverlay => f.write_str("overlay"),
            Overlay::ErrorColours => f.write_str("errors"),
        }
    }
}

/// An `overlay` text that is no setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown overlay '{0}'; overlays: shared, classical, learned, lecture-2x2s2, \
     lecture-3x3s1, lecture-2x2s1, average, shift=N (|N| ≤ {MAX_SHIFT}), saliency, gradcam, \
     norms, error, histogram, roc, overlay, errors"
)]
pub struct UnknownOverlay(pub String);

impl FromStr for Overlay {
    type Err = UnknownOverlay;
    fn from_str(s: &str) -> Result<Overlay, UnknownOverlay> {
        Ok(match s {
            "shared" => Overlay::SharedScale,
            "classical" => Overlay::Classical,
            "learned" => Overlay::Learned,
            "lecture-2x2s2" => Overlay::Lecture(LectureWindow::K2S2),
            "lecture-3x3s1" => Overlay::Lecture(LectureWindow::K3S1),
            "lecture-2x2s1" => Overlay::Lecture(LectureWindow::K2S1),
            "average" => Overlay::Average,
            "saliency" => Overlay::SaliencyMap,
            "gradcam" => Overlay::GradCam,
            "norms" => Overlay::Norms,
            "error" => Overlay::ErrorMaps,
            "histogram" => Overlay::Histogram,
            "roc" => Overlay::Roc,
            "overlay" => Overlay::MaskOverlay,
            "errors" => Overlay::ErrorColours,
            other => {
                let shift = other
                    .strip_prefix("shift=")
                    .and_then(|n| n.parse::<isize>().ok())
                    .filter(|n| n.abs() <= MAX_SHIFT);
                match shift {
                    Some(n) => Overlay::Shift(n),
                    None => return Err(UnknownOverlay(other.to_string())),
                }
            }
        })
    }
}

impl TryFrom<String> for Overlay {
    type Error = UnknownOverlay;
    fn try_from(s: String) -> Result<Overlay, UnknownOverlay> {
        s.parse()
    }
}

impl From<Overlay> for String {
    fn from(o: Overlay) -> String {
        o.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_alias_parses_to_its_view_and_names_are_unique() {
        let mut owner = std::collections::HashMap::new();
        for v in ViewId::ALL {
            let mut names = vec![v.name(), v.preset_name()];
            names.extend(v.aliases());
            for n in names {
                assert_eq!(n.parse::<ViewId>(), Ok(v));
                assert_eq!(*owner.entry(n).or_insert(v), v, "{n} names two views");
            }
        }
        // Presets write the walkthrough's words, which earlier builds read.
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Step {
            view: ViewId,
        }
        let text = toml::to_string(&Step {
            view: ViewId::ReceptiveField,
        })
        .unwrap();
        assert_eq!(text.trim(), "view = \"receptive_field\"");
        assert_eq!(
            toml::from_str::<Step>("view = \"model\"").unwrap().view,
            ViewId::Training
        );
        let e = "pooling".parse::<ViewId>().unwrap_err().to_string();
        assert!(e.contains("'pooling'") && e.contains("pool-routing"), "{e}");
    }

    #[test]
    fn overlays_round_trip_through_their_text() {
        for text in [
            "shared",
            "classical",
            "learned",
            "lecture-2x2s2",
            "lecture-3x3s1",
            "lecture-2x2s1",
            "average",
            "shift=-3",
            "saliency",
            "gradcam",
            "norms",
            "error",
            "histogram",
            "roc",
            "overlay",
            "errors",
        ] {
            let o: Overlay = text.parse().unwrap();
            assert_eq!(o.to_string(), text);
        }
        for bad in ["shift=9", "shift=x", "gradCAM", ""] {
            assert!(bad.parse::<Overlay>().is_err(), "{bad}");
        }
    }
}
