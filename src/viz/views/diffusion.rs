//! The diffusion view's pictures: the forward process of one image (x_t at several t, one
//! noise draw), the noise schedule (β_t and ᾱ_t over t), samples drawn by the reverse chain
//! as a grid, and the chain itself as a strip from pure noise to image.

use ndarray::{Array4, s};

use crate::data::Dataset;
use crate::data::diffusion::{Diffusion, noised};
use crate::engine::rng::Rng;
use crate::engine::{Graph, Mode, Tensor};
use crate::inspect::diffusion::{
    Chain, forward_strip, frames_for_display, implied_clean, kept_steps, model_input, reverse_chain,
};
use crate::viz::Rgba;
use crate::viz::VizError;
use crate::viz::charts::{LineOptions, Series, line_chart};
use crate::viz::colormap::Colormap;
use crate::viz::draw::{BACKGROUND, INK, MUTED, captioned, enlarge, hstack, padded, vstack};
use crate::viz::grid::tile;
use crate::viz::sample::sample_rgba;
use crate::viz::text::text_image;

const TS: usize = 2;
/// Pixels per image pixel in the view's pictures.
const ZOOM: usize = 3;

fn picture(images: &Array4<f32>, i: usize) -> Rgba {
    enlarge(&sample_rgba(images, i, Colormap::Gray), ZOOM)
}

/// The samples in a near-square grid.
pub fn sample_grid(samples: &Array4<f32>) -> Rgba {
    let n = samples.shape()[0];
    let cols = (n as f64).sqrt().ceil().max(1.0) as usize;
    let pics: Vec<Rgba> = (0..n).map(|i| picture(samples, i)).collect();
    padded(&tile(&pics, cols, 2, BACKGROUND), 4, BACKGROUND)
}

/// The reverse chain of the first `rows` samples: one row per sample, one column per kept
/// step (t written above), from pure noise on the left to the sample on the right.
pub fn chain_strip(chain: &Chain, rows: usize) -> Rgba {
    let frames = frames_for_display(chain);
    let rows = rows.min(chain.samples.shape()[0]).max(1);
    let columns: Vec<Rgba> = frames
        .iter()
        .zip(&chain.steps)
        .map(|(f, t)| {
            let pics: Vec<Rgba> = (0..rows).map(|i| picture(f, i)).collect();
            captioned(
                &vstack(&pics, 2, BACKGROUND),
                &format!("t={t}"),
                TS,
                BACKGROUND,
            )
        })
        .collect();
    padded(&hstack(&columns, 4, BACKGROUND), 4, BACKGROUND)
}

/// The forward process of one image: x_t for each of `steps` (pictures from
/// [`crate::inspect::diffusion::forward_strip`]), t written above.
pub fn forward_strip_picture(pictures: &[Array4<f32>], steps: &[usize]) -> Rgba {
    let columns: Vec<Rgba> = pictures
        .iter()
        .zip(steps)
        .map(|(p, t)| captioned(&picture(p, 0), &format!("t={t}"), TS, BACKGROUND))
        .collect();
    padded(&hstack(&columns, 4, BACKGROUND), 4, BACKGROUND)
}

/// β_t and ᾱ_t over t (β scaled to its maximum so both fit one axis).
pub fn schedule_chart(diffusion: &Diffusion) -> Rgba {
    let s = diffusion.schedule();
    let every = (s.steps() / 200).max(1);
    let pick = |v: &[f64], scale: f64| -> Vec<[f64; 2]> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0 || *i + 1 == v.len())
            .map(|(i, b)| [(i + 1) as f64, b * scale])
            .collect()
    };
    let beta_max = s
        .betas
        .last()
        .copied()
        .unwrap_or(1.0)
        .max(f64::MIN_POSITIVE);
    line_chart(
        &[
            Series {
                name: "alpha-bar (share of the image left)".into(),
                points: pick(&s.alpha_bars, 1.0),
                color: [0, 114, 178],
            },
            Series {
                name: format!("beta / {beta_max:.3} (noise added per step)"),
                points: pick(&s.betas, 1.0 / beta_max),
                color: [213, 94, 0],
            },
        ],
        &LineOptions {
            title: "noise schedule".into(),
            x_label: "t".into(),
            width: 360,
            height: 160,
            ..LineOptions::default()
        },
    )
}

/// How many samples the view draws (the CLI's `convlab sample` draws any number).
pub const VIEW_SAMPLES: usize = 8;
/// How many steps of the chain the view's sampler visits (respaced), so the view stays
/// quick while training runs; `convlab sample` visits all T by default.
pub const VIEW_VISITS: usize = 100;
/// How many columns the forward and reverse strips have.
const STRIP_STEPS: usize = 9;

/// What the network sees and says at one step of one training image: x_t, the noise ε
/// that made it, the predicted ε̂, and the clean image x̂_0 it implies, all `[1, c, h, w]`.
pub struct OneStep {
    pub t: usize,
    pub alpha_bar: f64,
    pub noisy: Tensor<f32>,
    pub noise: Tensor<f32>,
    pub predicted: Tensor<f32>,
    pub estimate: Tensor<f32>,
    /// Mean squared error of ε̂ against ε.
    pub mse: f64,
}

/// The clean image `index` of a diffusion task's training set, `[1, c, h, w]` in [0, 1]
/// (the set keeps it in [−1, 1] before its t/T channel).
pub fn clean_image(train: &Dataset, index: usize) -> Result<Tensor<f32>, VizError> {
    let (n, c1, _, _) = train.inputs.dim();
    if n == 0 || c1 < 2 {
        return Err(VizError::UnsuitedData(
            "the diffusion view needs a diffusion task's images (a preset with [data.diffusion], e.g. presets/diffusion-digits.toml)".into(),
        ));
    }
    let i = index.min(n - 1);
    Ok(train
        .inputs
        .slice(s![i..=i, ..c1 - 1, .., ..])
        .mapv(|v| (v + 1.0) / 2.0))
}

/// Noises training image `index` to step `t` (noise drawn from `seed`) and asks `graph`.
pub fn one_step(
    graph: &mut Graph<f32>,
    d: &Diffusion,
    train: &Dataset,
    index: usize,
    t: usize,
    seed: u64,
) -> Result<OneStep, VizError> {
    let sched = d.schedule();
    let t = t.clamp(1, sched.steps());
    let x0 = clean_image(train, index)?.mapv(|v| 2.0 * v - 1.0);
    let mut rng = Rng::derive(seed, 0xD1FF_0E5E);
    let noise = Tensor::<f32>::from_shape_fn(x0.raw_dim(), |_| rng.normal() as f32);
    let noisy = noised(&sched, &x0, &noise, t);
    let predicted = graph
        .forward(&model_input(&noisy, t, sched.steps()), Mode::Eval)?
        .clone();
    if predicted.dim() != noisy.dim() {
        return Err(VizError::UnsuitedModel(format!(
            "a diffusion model outputs the noise, shaped like its image {:?}; this one gives {:?}",
            noisy.shape(),
            predicted.shape()
        )));
    }
    let ab = sched.alpha_bar(t);
    let estimate = implied_clean(ab, &noisy, &predicted);
    let mse = (&predicted - &noise)
        .mapv(|v| f64::from(v * v))
        .mean()
        .unwrap_or(0.0);
    Ok(OneStep {
        t,
        alpha_bar: ab,
        noisy,
        noise,
        predicted,
        estimate,
        mse,
    })
}

/// A `[1, c, h, w]` picture of values in [lo, hi].
fn scaled(x: &Tensor<f32>, lo: f32, hi: f32) -> Rgba {
    picture(&x.mapv(|v| (v - lo) / (hi - lo)), 0)
}

fn label(text: &str) -> Rgba {
    text_image(text, TS, INK, BACKGROUND, 0)
}

/// The diffusion view: the forward process of training image `index` with the schedule,
/// what the network predicts at step `timestep` (default T/2), and the reverse chain of
/// [`VIEW_SAMPLES`] samples from `seed` as a strip and a grid.
pub fn render(
    graph: &mut Graph<f32>,
    d: &Diffusion,
    train: &Dataset,
    index: usize,
    timestep: Option<usize>,
    seed: u64,
) -> Result<Rgba, VizError> {
    let big_t = d.steps;
    let clean = clean_image(train, index)?;
    let steps = kept_steps(big_t, STRIP_STEPS);
    let forward_steps: Vec<usize> = steps.iter().rev().copied().collect();
    let pictures = forward_strip(d, &clean, &forward_steps, seed);
    let forward = vstack(
        &[
            label("forward process: x_t = sqrt(alpha-bar_t) x_0 + sqrt(1 - alpha-bar_t) noise"),
            hstack(
                &[
                    forward_strip_picture(&pictures, &forward_steps),
                    schedule_chart(d),
                ],
                12,
                BACKGROUND,
            ),
        ],
        4,
        BACKGROUND,
    );
    let t = timestep.unwrap_or(big_t / 2).clamp(1, big_t);
    let step = one_step(graph, d, train, index, t, seed)?;
    let cells = [
        ("x_t (input)", scaled(&step.noisy, -1.0, 1.0)),
        ("noise", scaled(&step.noise, -3.0, 3.0)),
        ("predicted noise", scaled(&step.predicted, -3.0, 3.0)),
        ("implied x_0", scaled(&step.estimate, -1.0, 1.0)),
        ("x_0", picture(&clean, 0)),
    ];
    let cells: Vec<Rgba> = cells
        .iter()
        .map(|(name, p)| captioned(p, name, TS, BACKGROUND))
        .collect();
    let what = vstack(
        &[
            label(&format!(
                "what the network predicts at t={} (alpha-bar {:.3}): noise MSE {:.3}",
                step.t, step.alpha_bar, step.mse
            )),
            hstack(&cells, 8, BACKGROUND),
        ],
        4,
        BACKGROUND,
    );
    let [_, h, w] = graph.spec().input;
    let c = clean.shape()[1];
    let visits = VIEW_VISITS.min(big_t);
    let chain = reverse_chain(
        d,
        [c, h, w],
        VIEW_SAMPLES,
        seed,
        &steps,
        Some(visits),
        |x| graph.forward(x, Mode::Eval).cloned(),
    )?;
    let reverse = vstack(
        &[
            label(&format!(
                "reverse chain from pure noise: {visits} of the {big_t} steps, evenly spaced (seed {seed})"
            )),
            hstack(
                &[chain_strip(&chain, 4), sample_grid(&chain.samples)],
                12,
                BACKGROUND,
            ),
            text_image(
                "each step: the net predicts the noise, the step removes part of it and adds a little fresh noise",
                TS,
                MUTED,
                BACKGROUND,
                0,
            ),
        ],
        4,
        BACKGROUND,
    );
    Ok(padded(
        &vstack(&[forward, what, reverse], 16, BACKGROUND),
        8,
        BACKGROUND,
    ))
}
