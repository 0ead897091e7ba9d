//! Learned against classical upscaling: bilinear and bicubic interpolation of the same
//! low-resolution images, PSNR and SSIM against the originals, and a trained fully
//! convolutional network run on a whole image of any size (its weights copied into a graph
//! built for that size: the parameter count does not change with the size).
//!
//! PSNR pools the squared error over all pixels of all images (as the training metric and
//! [`super::denoise`] do); SSIM is the mean over images ([`super::ssim`]).

use ndarray::{Array4, Axis, s};

use super::InspectError;
use super::denoise::mse;
use super::ssim::ssim_images;
use crate::data::noise::psnr;
use crate::data::super_resolution::{Interpolation, SuperResolution};
use crate::engine::{Graph, Mode, ModelSpec, Tensor};

/// PSNR (dB) and SSIM of one way of making the full-size images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub psnr: f64,
    pub ssim: f64,
}

/// `out` measured against `clean`.
pub fn score(out: &Tensor<f32>, clean: &Tensor<f32>) -> Result<Score, InspectError> {
    if out.shape() != clean.shape() || out.is_empty() {
        return Err(InspectError::Invalid(format!(
            "images {:?} and originals {:?} must have the same, non-empty shape",
            out.shape(),
            clean.shape()
        )));
    }
    Ok(Score {
        psnr: psnr(mse(out, clean)),
        ssim: ssim_images(out, clean)?,
    })
}

/// The classical upscalings of a super-resolution task's validation images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SrBaselines {
    pub bilinear: Score,
    pub bicubic: Score,
}

/// Bilinear and bicubic enlargement of `clean` shrunk by the task's factor, scored against
/// `clean`. (The network's input is the bicubic picture, so `bicubic` is also the score of
/// the input itself.)
pub fn baselines(clean: &Tensor<f32>, sr: &SuperResolution) -> Result<SrBaselines, InspectError> {
    let (_, _, h, w) = clean.dim();
    sr.check_size(h, w)
        .map_err(|e| InspectError::Invalid(e.to_string()))?;
    let low = sr.shrink(clean);
    Ok(SrBaselines {
        bilinear: score(&sr.enlarge(&low, Interpolation::Bilinear), clean)?,
        bicubic: score(&sr.enlarge(&low, Interpolation::Bicubic), clean)?,
    })
}

/// A graph of `graph`'s model for inputs of `[c, h, w]`, holding `graph`'s weights. Works for
/// any model whose parameters do not depend on the input size (fully convolutional).
pub fn resized(graph: &Graph<f32>, input: [usize; 3]) -> Result<Graph<f32>, InspectError> {
    let spec = ModelSpec {
        input,
        ..graph.spec().clone()
    };
    let params = graph
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()));
    Graph::with_params(&spec, params).map_err(|e| {
        InspectError::Invalid(format!(
            "the model cannot run on a {}×{} image: {e}",
            input[1], input[2]
        ))
    })
}

/// A trained super-resolution net run on one whole image.
#[derive(Clone, Debug)]
pub struct WholeImage {
    /// `[1, c, h, w]` each, `h` and `w` the image's cut down to multiples of the factor;
    /// `low` is `[1, c, h / factor, w / factor]`.
    pub original: Array4<f32>,
    pub low: Array4<f32>,
    pub bilinear: Array4<f32>,
    pub bicubic: Array4<f32>,
    pub network: Array4<f32>,
    pub scores: WholeScores,
    /// Parameters of the model as trained (on its preset's input size) and of the graph
    /// built for this image: the same number.
    pub params_trained: usize,
    pub params_here: usize,
    /// The input size the model was trained on, `[c, h, w]`.
    pub trained_input: [usize; 3],
}

/// PSNR and SSIM of the three enlargements of a [`WholeImage`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WholeScores {
    pub bilinear: Score,
    pub bicubic: Score,
    pub network: Score,
}

/// Shrinks `image` (`[c, h, w]`, values in [0, 1]) by the task's factor, enlarges it by
/// bilinear and bicubic interpolation and by `graph` (fed the bicubic picture, as in
/// training), and scores all three against the image. The image's sides are cut to
/// multiples of the factor first.
pub fn super_resolve(
    graph: &Graph<f32>,
    sr: &SuperResolution,
    image: &ndarray::Array3<f32>,
) -> Result<WholeImage, InspectError> {
    let (c, h, w) = image.dim();
    let f = sr.factor;
    let (h, w) = (h / f * f, w / f * f);
    sr.check_size(h, w)
        .map_err(|e| InspectError::Invalid(e.to_string()))?;
    let trained_input = graph.facts().input;
    if c != trained_input[0] {
        return Err(InspectError::Invalid(format!(
            "the image has {c} channels, the model takes {}",
            trained_input[0]
        )));
    }
    let original = image
        .slice(s![.., 0..h, 0..w])
        .to_owned()
        .insert_axis(Axis(0));
    let low = sr.shrink(&original);
    let bilinear = sr.enlarge(&low, Interpolation::Bilinear);
    let bicubic = sr.enlarge(&low, Interpolation::Bicubic);
    let mut here = resized(graph, [c, h, w])?;
    let network = here.forward(&bicubic, Mode::Eval)?.clone();
    if network.shape() != original.shape() {
        return Err(InspectError::Invalid(format!(
            "the model's output {:?} is not the image's shape {:?}",
            &network.shape()[1..],
            &original.shape()[1..]
        )));
    }
    Ok(WholeImage {
        scores: WholeScores {
            bilinear: score(&bilinear, &original)?,
            bicubic: score(&bicubic, &original)?,
            network: score(&network, &original)?,
        },
        params_trained: graph.facts().total_params(),
        params_here: here.facts().total_params(),
        trained_input,
        original,
        low,
        bilinear,
        bicubic,
        network,
    })
}

/// "One image = thousands of examples": a fully convolutional net's output pixels on an
/// `h × w` image, each computed from its own window of the input (the receptive field of
/// the output, `rf × rf`), and how many of those windows lie wholly inside the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExamplesPerImage {
    pub outputs: usize,
    pub receptive_field: usize,
    pub inside: usize,
}

/// [`ExamplesPerImage`] of `graph` (its receptive field from the engine's facts) on an
/// image of `h × w`.
pub fn examples_per_image(graph: &Graph<f32>, h: usize, w: usize) -> ExamplesPerImage {
    let rf = graph.facts().nodes.last().map_or(1.0, |n| {
        n.receptive_field.size[0].max(n.receptive_field.size[1])
    });
    let rf = rf.round().max(1.0) as usize;
    ExamplesPerImage {
        outputs: h * w,
        receptive_field: rf,
        inside: (h + 1).saturating_sub(rf) * (w + 1).saturating_sub(rf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smooth(n: usize, h: usize, w: usize) -> Tensor<f32> {
        Tensor::from_shape_fn((n, 1, h, w), |(k, _, y, x)| {
            0.5 + 0.4 * ((x as f32 * 0.3 + k as f32).sin() * (y as f32 * 0.2).cos())
        })
    }

    #[test]
    fn bicubic_beats_bilinear_on_smooth_images() {
        let clean = smooth(3, 32, 32);
        let b = baselines(&clean, &SuperResolution::default()).unwrap();
        assert!(b.bicubic.psnr > b.bilinear.psnr, "{b:?}");
        assert!(b.bicubic.psnr > 30.0, "{b:?}");
        assert!(b.bicubic.ssim > 0.9 && b.bicubic.ssim <= 1.0, "{b:?}");
        assert!(baselines(&smooth(1, 31, 32), &SuperResolution::default()).is_err());
    }

    #[test]
    fn an_identity_net_runs_on_any_size_with_the_same_parameters() {
        let spec: ModelSpec = toml::from_str(
            "input = [1, 16, 16]\n[[nodes]]\nname = \"c\"\nkind = \"conv2d\"\nout_channels = 1\nkernel = 3\npadding = \"same\"",
        )
        .unwrap();
        let mut g = Graph::<f32>::new(&spec).unwrap();
        // The centre tap 1, the rest 0: the output is the input, i.e. the bicubic picture.
        let mut w = g.param("c.weight").unwrap().value.clone();
        w.fill(0.0);
        w[ndarray::IxDyn(&[0, 0, 1, 1])] = 1.0;
        g.set_param("c.weight", w).unwrap();
        let image = smooth(1, 40, 58).index_axis(Axis(0), 0).to_owned();
        let sr = SuperResolution::default();
        let whole = super_resolve(&g, &sr, &image).unwrap();
        assert_eq!(whole.original.shape(), [1, 1, 40, 58]);
        assert_eq!(whole.low.shape(), [1, 1, 20, 29]);
        assert_eq!(whole.params_trained, whole.params_here);
        assert_eq!(whole.params_here, 10);
        assert_eq!(whole.scores.network, whole.scores.bicubic);
        let ex = examples_per_image(&g, 40, 58);
        assert_eq!(ex.receptive_field, 3);
        assert_eq!(ex.outputs, 40 * 58);
        assert_eq!(ex.inside, 38 * 56);
        // An odd-sized image is cut to even sides; a wrong channel count is refused.
        let odd = smooth(1, 41, 59).index_axis(Axis(0), 0).to_owned();
        assert_eq!(
            super_resolve(&g, &sr, &odd).unwrap().original.shape(),
            [1, 1, 40, 58]
        );
        let rgb = ndarray::Array3::zeros((3, 20, 20));
        assert!(super_resolve(&g, &sr, &rgb).is_err());
    }
}
