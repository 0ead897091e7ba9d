//! The super-resolution view: for a super-resolution task (`[data.super_resolution]`), the
//! low-resolution image, its bilinear and bicubic enlargements beside the network's and the
//! original, the network's difference from the original, with PSNR and SSIM of each — on
//! validation crops and on a whole photo (by default the bundled 256×256 camera) that the
//! net, trained on small crops, runs on unchanged: the same weights slide over any size.

use ndarray::{Array3, Array4, Axis, s};

use super::denoising::{difference_in, picture};
use crate::data::super_resolution::{Interpolation, SuperResolution};
use crate::data::{Dataset, Targets};
use crate::engine::{Graph, Mode};
use crate::inspect::super_resolution::{Score, WholeImage, score, super_resolve};
use crate::viz::draw::{BACKGROUND, INK, MUTED, enlarge, hstack, padded, vstack};
use crate::viz::overlay::auto_zoom;
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

/// The view scores the first this many validation images (`convlab eval` scores them all).
pub const MAX_IMAGES: usize = 200;
const TS: usize = 2;
/// The difference's colours span ± this much (super-resolution errors are small).
const DIFF_RANGE: f32 = 0.2;

/// A picture with caption lines under it.
fn cell(img: &Rgba, lines: &[&str]) -> Rgba {
    let mut parts = vec![img.clone()];
    parts.extend(lines.iter().map(|l| text_image(l, TS, INK, BACKGROUND, 0)));
    vstack(&parts, 2, BACKGROUND)
}

/// The network and the classical enlargements on the first validation images.
#[derive(Clone, Debug)]
pub struct SrScores {
    /// `[n, c, h / factor, w / factor]`.
    pub low: Array4<f32>,
    /// `[n, c, h, w]` each.
    pub bicubic: Array4<f32>,
    pub network: Array4<f32>,
    pub original: Array4<f32>,
    pub scores: Scores,
}

/// PSNR and SSIM of each way to the full size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    pub bilinear: Score,
    pub bicubic: Score,
    pub network: Score,
}

fn task(sr: Option<SuperResolution>) -> Result<SuperResolution, VizError> {
    sr.ok_or_else(|| {
        VizError::UnsuitedData(
            "the super-resolution view needs a super-resolution task: a preset with \
             [data.super_resolution], e.g. presets/super-resolution-photos.toml"
                .into(),
        )
    })
}

/// Runs `graph` over the first [`MAX_IMAGES`] images of `set` (a super-resolution task with
/// settings `sr`) and measures it and bilinear and bicubic interpolation on the originals.
pub fn compute(
    graph: &mut Graph<f32>,
    set: &Dataset,
    sr: Option<SuperResolution>,
) -> Result<SrScores, VizError> {
    let sr = task(sr)?;
    let Targets::Dense(targets) = &set.targets else {
        return Err(task(None).unwrap_err());
    };
    let n = set.len().min(MAX_IMAGES);
    if n == 0 {
        return Err(VizError::UnsuitedData("the validation set is empty".into()));
    }
    let input = set.inputs.slice(s![0..n, .., .., ..]).to_owned();
    let original = targets.slice(s![0..n, .., .., ..]).to_owned();
    let mut parts = Vec::new();
    for start in (0..n).step_by(32) {
        let x = input
            .slice(s![start..(start + 32).min(n), .., .., ..])
            .to_owned();
        parts.push(graph.forward(&x, Mode::Eval)?.clone());
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let network = ndarray::concatenate(Axis(0), &views)?;
    if network.shape() != original.shape() {
        return Err(VizError::UnsuitedModel(format!(
            "the model's output {:?} is not the shape of the original images {:?}",
            &network.shape()[1..],
            &original.shape()[1..]
        )));
    }
    let low = sr.shrink(&original);
    let bicubic = sr.enlarge(&low, Interpolation::Bicubic);
    let bilinear = sr.enlarge(&low, Interpolation::Bilinear);
    Ok(SrScores {
        scores: Scores {
            bilinear: score(&bilinear, &original)?,
            bicubic: score(&bicubic, &original)?,
            network: score(&network, &original)?,
        },
        low,
        bicubic,
        network,
        original,
    })
}

/// A bundled photo at its stored size as `[c, h, w]` (grey when `channels` is 1): the
/// whole image the view super-resolves when none is given.
pub fn bundled_photo(index: usize, channels: usize) -> Result<Array3<f32>, VizError> {
    let img = crate::data::photos::photo(index)?;
    image_chw(&img, channels)
}

/// An image at its own size as `[c, h, w]` in [0, 1], grey for one channel, RGB else.
pub fn image_chw(img: &image::DynamicImage, channels: usize) -> Result<Array3<f32>, VizError> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let grey = channels == 1;
    let values = crate::data::folder::image_to_chw(
        img,
        crate::data::folder::ImageOptions {
            size: [h, w],
            grayscale: grey,
        },
    );
    let c = if grey { 1 } else { 3 };
    Ok(Array3::from_shape_vec((c, h, w), values)?)
}

fn line(s: &Score) -> String {
    format!("{:.2} dB, SSIM {:.3}", s.psnr, s.ssim)
}

/// The title line: PSNR and SSIM of each enlargement on the validation crops.
pub fn title(scores: &SrScores, factor: usize) -> String {
    let s = &scores.scores;
    format!(
        "{factor}x super-resolution, {} validation images: network {} · bicubic {} · bilinear {}",
        scores.original.shape()[0],
        line(&s.network),
        line(&s.bicubic),
        line(&s.bilinear)
    )
}

/// One row: low-res (its pixels enlarged), bicubic, network, original, network − original;
/// `images` are `[low, bicubic, network, original]`.
fn row(
    images: [&Array4<f32>; 4],
    k: usize,
    zoom: usize,
    factor: usize,
    label: &str,
) -> Result<Rgba, VizError> {
    let [low, bicubic, network, original] = images;
    let one = |t: &Array4<f32>| {
        score(
            &t.slice(s![k..k + 1, .., .., ..]).to_owned(),
            &original.slice(s![k..k + 1, .., .., ..]).to_owned(),
        )
    };
    let (lh, lw) = (low.shape()[2], low.shape()[3]);
    let (bicubic_score, network_score) = (one(bicubic)?, one(network)?);
    let cells = [
        cell(
            &enlarge(&picture(low, k, 1), zoom * factor),
            &["low-res", &format!("{lw}x{lh} pixels")],
        ),
        cell(
            &picture(bicubic, k, zoom),
            &["bicubic", &line(&bicubic_score)],
        ),
        cell(
            &picture(network, k, zoom),
            &["network", &line(&network_score)],
        ),
        cell(&picture(original, k, zoom), &["original", label]),
        cell(
            &difference_in(network, original, k, zoom, DIFF_RANGE),
            &[
                "network - original",
                &format!("(colours span ±{DIFF_RANGE})"),
            ],
        ),
    ];
    Ok(hstack(&cells, 12, BACKGROUND))
}

/// The whole-image part: `whole` drawn at its size, with the parameter counts.
pub fn whole_part(whole: &WholeImage, factor: usize, name: &str) -> Result<Vec<Rgba>, VizError> {
    let [c, th, tw] = whole.trained_input;
    let (h, w) = (whole.original.shape()[2], whole.original.shape()[3]);
    let s = &whole.scores;
    let heading = format!("Whole image: {name}, {w}x{h}, by the net trained on {tw}x{th} crops");
    let scores_line = format!(
        "network {} · bicubic {} · bilinear {}",
        line(&s.network),
        line(&s.bicubic),
        line(&s.bilinear)
    );
    let zoom = auto_zoom(h, w, 256).max(1);
    let picture_row = row(
        [&whole.low, &whole.bicubic, &whole.network, &whole.original],
        0,
        zoom,
        factor,
        &format!("{w}x{h} pixels"),
    )?;
    let params = format!(
        "Parameters: {} for a {c}x{th}x{tw} input, {} for this {c}x{h}x{w} image - the same \
         weights slide over any size (the net is fully convolutional)",
        whole.params_trained, whole.params_here
    );
    Ok(vec![
        text_image(&heading, TS, INK, BACKGROUND, 0),
        text_image(&scores_line, TS, INK, BACKGROUND, 0),
        picture_row,
        text_image(&params, TS, INK, BACKGROUND, 0),
    ])
}

/// The view as `convlab render` draws it: validation image `sample` (or the first two),
/// then `image` (or the bundled camera photo) super-resolved whole.
pub fn render(
    graph: &mut Graph<f32>,
    set: &Dataset,
    sr: Option<SuperResolution>,
    sample: Option<usize>,
    image: Option<&Array3<f32>>,
) -> Result<Rgba, VizError> {
    let scores = compute(graph, set, sr)?;
    render_scores(graph, &scores, sr, sample, image)
}

/// The picture of computed `scores`, the whole image run through `graph` (the window shows
/// [`title`] beside it as text).
pub fn render_scores(
    graph: &Graph<f32>,
    scores: &SrScores,
    sr: Option<SuperResolution>,
    sample: Option<usize>,
    image: Option<&Array3<f32>>,
) -> Result<Rgba, VizError> {
    let sr = task(sr)?;
    let n = scores.original.shape()[0];
    let picks: Vec<usize> = match sample {
        Some(k) if k >= n => {
            return Err(VizError::BadOption(format!(
                "--sample {k} is out of range: the view looks at the first {n} images"
            )));
        }
        Some(k) => vec![k],
        None => (0..n.min(2)).collect(),
    };
    let (h, w) = (scores.original.shape()[2], scores.original.shape()[3]);
    let zoom = auto_zoom(h, w, 160);
    let mut rows = vec![text_image(
        &title(scores, sr.factor),
        TS,
        INK,
        BACKGROUND,
        0,
    )];
    for &k in &picks {
        rows.push(row(
            [
                &scores.low,
                &scores.bicubic,
                &scores.network,
                &scores.original,
            ],
            k,
            zoom,
            sr.factor,
            &format!("validation image {k}"),
        )?);
    }
    let channels = graph.facts().input[0];
    let (whole_image, name) = match image {
        Some(img) => (img.clone(), "the given image"),
        None => (bundled_photo(0, channels)?, "the bundled camera photo"),
    };
    let whole = super_resolve(graph, &sr, &whole_image)?;
    rows.extend(whole_part(&whole, sr.factor, name)?);
    for note in [
        "Low-res: the original shrunk by averaging blocks of pixels. The network's input is its \
         bicubic enlargement;",
        "the network adds what bicubic misses. Difference: blue where the network is darker \
         than the original, red where brighter.",
    ] {
        rows.push(text_image(note, TS, MUTED, BACKGROUND, 0));
    }
    Ok(padded(&vstack(&rows, 10, BACKGROUND), 8, BACKGROUND))
}
