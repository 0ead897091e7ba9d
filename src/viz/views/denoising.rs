//! The denoising view: for a denoising task (`[data.denoise]`), the noisy validation input,
//! the classical Gaussian blur and median filter at their best settings
//! ([`crate::inspect::denoise`]), the model's output, the clean image and the model's
//! difference from it, each with its PSNR and SSIM, under a title with the same scores over
//! the first validation images.

use ndarray::{Array4, Axis, s};

use crate::data::noise::psnr;
use crate::data::{Dataset, Targets};
use crate::engine::{Graph, Mode};
use crate::inspect::denoise::{Baselines, baselines, mse, ssim_if_fits};
use crate::viz::draw::{BACKGROUND, INK, MUTED, enlarge, hstack, padded, vstack};
use crate::viz::overlay::auto_zoom;
use crate::viz::scale::diverging_rgb;
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

/// The view scores the first this many validation images, so it stays quick on big sets
/// (`convlab eval` scores them all).
pub const MAX_IMAGES: usize = 200;
/// The difference's colours span ± this much.
const DIFF_RANGE: f32 = 0.5;
const TS: usize = 2;

/// The model and the baselines on the first validation images of a denoising task.
#[derive(Clone, Debug)]
pub struct DenoiseScores {
    /// `[n, c, h, w]` each.
    pub noisy: Array4<f32>,
    pub denoised: Array4<f32>,
    pub clean: Array4<f32>,
    pub model_psnr: f64,
    /// The model's SSIM, when the images are at least 11×11.
    pub model_ssim: Option<f64>,
    pub baselines: Baselines,
}

/// Runs `graph` over the first [`MAX_IMAGES`] images of `set` and measures it and the
/// classical filters against the clean targets.
pub fn compute(graph: &mut Graph<f32>, set: &Dataset) -> Result<DenoiseScores, VizError> {
    let Targets::Dense(targets) = &set.targets else {
        return Err(VizError::UnsuitedData(
            "the denoising view needs clean images as targets: a preset with [data.denoise], \
             e.g. presets/denoise-digits.toml"
                .into(),
        ));
    };
    let n = set.len().min(MAX_IMAGES);
    if n == 0 {
        return Err(VizError::UnsuitedData("the validation set is empty".into()));
    }
    let noisy = set.inputs.slice(s![0..n, .., .., ..]).to_owned();
    let clean = targets.slice(s![0..n, .., .., ..]).to_owned();
    let mut parts = Vec::new();
    for start in (0..n).step_by(32) {
        let x = noisy
            .slice(s![start..(start + 32).min(n), .., .., ..])
            .to_owned();
        parts.push(graph.forward(&x, Mode::Eval)?.clone());
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let denoised = ndarray::concatenate(Axis(0), &views)?;
    if denoised.shape() != clean.shape() {
        return Err(VizError::UnsuitedModel(format!(
            "the model's output {:?} is not the shape of the clean images {:?}",
            &denoised.shape()[1..],
            &clean.shape()[1..]
        )));
    }
    Ok(DenoiseScores {
        model_psnr: psnr(mse(&denoised, &clean)),
        model_ssim: ssim_if_fits(&denoised, &clean),
        baselines: baselines(&noisy, &clean)?,
        noisy,
        denoised,
        clean,
    })
}

/// Image `k` of `t` clamped to [0, 1]: RGB for three channels, grey from the first
/// otherwise.
pub fn picture(t: &Array4<f32>, k: usize, zoom: usize) -> Rgba {
    let (_, c, h, w) = t.dim();
    let mut out = Rgba::new(w, h, [0, 0, 0, 255]);
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    for y in 0..h {
        for x in 0..w {
            let v = |ch: usize| byte(t[[k, ch.min(c - 1), y, x]]);
            let rgb = if c == 3 {
                [v(0), v(1), v(2)]
            } else {
                [v(0); 3]
            };
            out.put(x, y, [rgb[0], rgb[1], rgb[2], 255]);
        }
    }
    enlarge(&out, zoom.max(1))
}

/// Output minus clean of image `k`, averaged over channels, on the diverging palette
/// (±[`DIFF_RANGE`]).
pub fn difference(a: &Array4<f32>, b: &Array4<f32>, k: usize, zoom: usize) -> Rgba {
    difference_in(a, b, k, zoom, DIFF_RANGE)
}

/// [`difference`] with its colours spanning ± `range`.
pub fn difference_in(a: &Array4<f32>, b: &Array4<f32>, k: usize, zoom: usize, range: f32) -> Rgba {
    let (_, c, h, w) = a.dim();
    let mut out = Rgba::new(w, h, [0, 0, 0, 255]);
    for y in 0..h {
        for x in 0..w {
            let d: f32 = (0..c)
                .map(|ch| a[[k, ch, y, x]] - b[[k, ch, y, x]])
                .sum::<f32>()
                / c.max(1) as f32;
            let [r, g, bl] = diverging_rgb(0.5 + d / (2.0 * range));
            out.put(x, y, [r, g, bl, 255]);
        }
    }
    enlarge(&out, zoom)
}

/// " · SSIM 0.812" when the images were big enough for SSIM.
fn ssim_text(ssim: Option<f64>) -> String {
    ssim.map_or_else(String::new, |v| format!(", SSIM {v:.3}"))
}

/// The title in two lines, to fit the pictures' width: the model and the noisy input, then
/// the classical filters.
pub fn title_lines(scores: &DenoiseScores) -> [String; 2] {
    let b = &scores.baselines;
    [
        format!(
            "PSNR on {} validation images: network {:.2} dB{} · noisy input {:.2} dB{}",
            scores.noisy.shape()[0],
            scores.model_psnr,
            ssim_text(scores.model_ssim),
            b.noisy,
            ssim_text(b.noisy_ssim),
        ),
        format!(
            "classical filters at their best setting: {} {:.2} dB{} · {} {:.2} dB{}",
            b.blur.name,
            b.blur.psnr,
            ssim_text(b.blur.ssim),
            b.median.name,
            b.median.psnr,
            ssim_text(b.median.ssim),
        ),
    ]
}

/// The title line: every PSNR (and SSIM) of the view.
pub fn title(scores: &DenoiseScores) -> String {
    let b = &scores.baselines;
    format!(
        "PSNR on {} validation images: model {:.2} dB{} · {} {:.2} dB{} · {} {:.2} dB{} · noisy input {:.2} dB{}",
        scores.noisy.shape()[0],
        scores.model_psnr,
        ssim_text(scores.model_ssim),
        b.blur.name,
        b.blur.psnr,
        ssim_text(b.blur.ssim),
        b.median.name,
        b.median.psnr,
        ssim_text(b.median.ssim),
        b.noisy,
        ssim_text(b.noisy_ssim),
    )
}

/// The view as `convlab render` draws it: validation image `sample`, or the first three.
pub fn render(
    graph: &mut Graph<f32>,
    set: &Dataset,
    sample: Option<usize>,
) -> Result<Rgba, VizError> {
    render_scores(&compute(graph, set)?, sample)
}

/// The picture of computed `scores` (the window shows [`title`] beside it as text).
pub fn render_scores(scores: &DenoiseScores, sample: Option<usize>) -> Result<Rgba, VizError> {
    let n = scores.noisy.shape()[0];
    let picks: Vec<usize> = match sample {
        Some(k) if k >= n => {
            return Err(VizError::BadOption(format!(
                "--sample {k} is out of range: the view looks at the first {n} images"
            )));
        }
        Some(k) => vec![k],
        None => (0..n.min(3)).collect(),
    };
    let (h, w) = (scores.noisy.shape()[2], scores.noisy.shape()[3]);
    let zoom = auto_zoom(h, w, 140);
    let mut rows: Vec<Rgba> = title_lines(scores)
        .iter()
        .map(|l| text_image(l, TS, INK, BACKGROUND, 0))
        .collect();
    let cell = |img: &Rgba, lines: [&str; 2]| {
        vstack(
            &[
                img.clone(),
                text_image(lines[0], TS, INK, BACKGROUND, 0),
                text_image(lines[1], TS, INK, BACKGROUND, 0),
            ],
            2,
            BACKGROUND,
        )
    };
    let b = &scores.baselines;
    for &k in &picks {
        let one = |t: &Array4<f32>| {
            let (a, b) = (
                t.slice(s![k..k + 1, .., .., ..]).to_owned(),
                scores.clean.slice(s![k..k + 1, .., .., ..]).to_owned(),
            );
            format!(
                "{:.1} dB{}",
                psnr(mse(&a, &b)),
                ssim_text(ssim_if_fits(&a, &b))
            )
        };
        let cells = [
            cell(
                &picture(&scores.noisy, k, zoom),
                ["noisy input", &one(&scores.noisy)],
            ),
            cell(
                &picture(&b.blur.filtered, k, zoom),
                [&b.blur.name, &one(&b.blur.filtered)],
            ),
            cell(
                &picture(&b.median.filtered, k, zoom),
                [&b.median.name, &one(&b.median.filtered)],
            ),
            cell(
                &picture(&scores.denoised, k, zoom),
                ["network", &one(&scores.denoised)],
            ),
            cell(
                &picture(&scores.clean, k, zoom),
                ["clean", &format!("validation image {k}")],
            ),
            cell(
                &difference(&scores.denoised, &scores.clean, k, zoom),
                ["network - clean", &format!("(colours span ±{DIFF_RANGE})")],
            ),
        ];
        rows.push(hstack(&cells, 12, BACKGROUND));
    }
    rows.push(text_image(
        "difference: blue where the network is darker than the clean image, red where brighter",
        TS,
        MUTED,
        BACKGROUND,
        0,
    ));
    Ok(padded(&vstack(&rows, 10, BACKGROUND), 8, BACKGROUND))
}
