//! Denoising diffusion tasks made on the fly (`[data.diffusion]` in a preset), after Ho, Jain
//! and Abbeel (2020): the forward process adds Gaussian noise in T small steps with variances
//! β_1 … β_T, so that x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε with ᾱ_t = Π_{s≤t}(1 − β_s) and
//! ε ~ N(0, I); the network learns to predict ε from x_t and t (mean squared error).
//!
//! The loader keeps the clean images, scaled to [−1, 1], in the input's first channels and
//! leaves one more channel for t/T ([`Diffusion::to_task`]); training draws a fresh t and ε
//! for every image of every batch ([`Diffusion::apply`], seeded from the run's seed, epoch
//! and step), and the validation inputs get theirs once, from the data seed, so validation
//! losses of different epochs compare. The model's input is `[c + 1, h, w]`, its output
//! `[c, h, w]` (the predicted noise); a `time_embedding` node reads t/T from the last
//! channel. Sampling (the reverse chain) is in `inspect::diffusion`.

use ndarray::{Axis, s};
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, Targets};
use crate::engine::Tensor;
use crate::engine::rng::Rng;

/// The stream label of the training draws (see [`Rng::derive`]).
const TRAIN_STREAM: u64 = 0xD1FF_0001;
/// The stream label of the validation draws.
const VAL_STREAM: u64 = 0xD1FF_0002;
/// Most steps a chain may have.
pub const MAX_STEPS: usize = 10_000;

/// The noise schedule of a diffusion task: T steps with β rising linearly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Diffusion {
    /// T, the number of noising steps.
    pub steps: usize,
    /// β_1, the variance of the first step's noise.
    pub beta_start: f64,
    /// β_T, the variance of the last step's noise.
    pub beta_end: f64,
}

impl Default for Diffusion {
    /// The DDPM paper's schedule: T = 1000, β from 10⁻⁴ to 0.02.
    fn default() -> Self {
        Diffusion {
            steps: 1000,
            beta_start: 1e-4,
            beta_end: 0.02,
        }
    }
}

/// A `[data.diffusion]` setting out of its range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DiffusionError {
    #[error("diffusion.steps is {0}; it must be between 1 and {MAX_STEPS}")]
    Steps(usize),
    #[error(
        "diffusion.beta_start ({0}) and beta_end ({1}) must satisfy 0 < beta_start <= beta_end < 1"
    )]
    Betas(f64, f64),
}

/// β_t, α_t = 1 − β_t and ᾱ_t for t = 1 … T (index t − 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub betas: Vec<f64>,
    pub alphas: Vec<f64>,
    pub alpha_bars: Vec<f64>,
}

impl Schedule {
    pub fn steps(&self) -> usize {
        self.betas.len()
    }

    /// ᾱ_t for t = 1 … T; ᾱ_0 = 1 (the clean image).
    pub fn alpha_bar(&self, t: usize) -> f64 {
        if t == 0 { 1.0 } else { self.alpha_bars[t - 1] }
    }
}

/// The random stream of one training step's draws: the same seed, epoch and step give the
/// same timesteps and noise.
pub fn step_rng(seed: u64, epoch: usize, step: usize) -> Rng {
    let mut per_epoch = Rng::derive(seed, TRAIN_STREAM ^ (epoch as u64).rotate_left(20));
    Rng::derive(per_epoch.next_u64(), step as u64)
}

impl Diffusion {
    /// Checks the settings (from a preset file).
    pub fn validate(&self) -> Result<(), DiffusionError> {
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return Err(DiffusionError::Steps(self.steps));
        }
        let (a, b) = (self.beta_start, self.beta_end);
        if !(a.is_finite() && b.is_finite() && a > 0.0 && a <= b && b < 1.0) {
            return Err(DiffusionError::Betas(a, b));
        }
        Ok(())
    }

    /// The linear schedule of the DDPM paper.
    pub fn schedule(&self) -> Schedule {
        let t = self.steps;
        let betas: Vec<f64> = (0..t)
            .map(|i| {
                let f = if t == 1 {
                    0.0
                } else {
                    i as f64 / (t - 1) as f64
                };
                self.beta_start + f * (self.beta_end - self.beta_start)
            })
            .collect();
        let alphas: Vec<f64> = betas.iter().map(|b| 1.0 - b).collect();
        let mut alpha_bars = Vec::with_capacity(t);
        let mut prod = 1.0;
        for a in &alphas {
            prod *= a;
            alpha_bars.push(prod);
        }
        Schedule {
            betas,
            alphas,
            alpha_bars,
        }
    }

    /// Clean images in [0, 1] become the task's inputs (scaled to [−1, 1], one more channel
    /// for t/T, 0 until a step is drawn) and dense targets (the noise, 0 until drawn).
    pub fn to_task(&self, data: Dataset) -> Dataset {
        let (n, c, h, w) = data.inputs.dim();
        let mut inputs = Tensor::<f32>::zeros((n, c + 1, h, w));
        inputs
            .slice_mut(s![.., ..c, .., ..])
            .assign(&data.inputs.mapv(|v| 2.0 * v - 1.0));
        Dataset {
            name: data.name,
            inputs,
            targets: Targets::Dense(Tensor::<f32>::zeros((n, c, h, w))),
            class_names: Vec::new(),
        }
    }

    /// Replaces each clean image x_0 in `x` (first channels) by x_t for a t drawn uniformly
    /// from 1 … T, writes t/T into the last channel and the noise ε into `target`.
    pub fn apply(
        &self,
        schedule: &Schedule,
        x: &mut Tensor<f32>,
        target: &mut Tensor<f32>,
        rng: &mut Rng,
    ) {
        let c = target.shape()[1];
        for (mut xi, mut ei) in x.axis_iter_mut(Axis(0)).zip(target.axis_iter_mut(Axis(0))) {
            let t = 1 + rng.below(schedule.steps());
            let ab = schedule.alpha_bar(t);
            let (keep, add) = (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32);
            for e in ei.iter_mut() {
                *e = rng.normal() as f32;
            }
            let mut image = xi.slice_mut(s![..c, .., ..]);
            image.zip_mut_with(&ei, |v, &e| *v = keep * *v + add * e);
            xi.slice_mut(s![c, .., ..])
                .fill((t as f64 / schedule.steps() as f64) as f32);
        }
    }

    /// The validation set with its timesteps and noise drawn once, from the data `seed`.
    pub fn noisy_validation(&self, mut val: Dataset, seed: u64) -> Dataset {
        let mut rng = Rng::derive(seed, VAL_STREAM);
        if let Targets::Dense(target) = &mut val.targets {
            self.apply(&self.schedule(), &mut val.inputs, target, &mut rng);
        }
        val
    }
}

/// x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε for one image (the forward process in closed form).
pub fn noised(schedule: &Schedule, x0: &Tensor<f32>, eps: &Tensor<f32>, t: usize) -> Tensor<f32> {
    let ab = schedule.alpha_bar(t);
    let (keep, add) = (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32);
    let mut out = x0.clone();
    out.zip_mut_with(eps, |v, &e| *v = keep * *v + add * e);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(n: usize, value: f32) -> Dataset {
        Dataset {
            name: "g".into(),
            inputs: Tensor::from_elem((n, 1, 8, 8), value),
            targets: Targets::Labels(vec![0; n]),
            class_names: vec!["a".into()],
        }
    }

    #[test]
    fn linear_schedule_matches_the_closed_form() {
        let s = Diffusion::default().schedule();
        assert_eq!(s.steps(), 1000);
        assert!((s.betas[0] - 1e-4).abs() < 1e-15);
        assert!((s.betas[999] - 0.02).abs() < 1e-15);
        let prod: f64 = s.betas[..10].iter().map(|b| 1.0 - b).product();
        assert!((s.alpha_bar(10) - prod).abs() < 1e-15);
        // The chain ends close to pure noise: ᾱ_T ≈ 4·10⁻⁵.
        assert!(s.alpha_bar(1000) < 1e-4, "{}", s.alpha_bar(1000));
        assert_eq!(s.alpha_bar(0), 1.0);
    }

    #[test]
    fn forward_process_has_the_closed_form_mean_and_variance() {
        // Every pixel of x_0 is 1 (0.5 before scaling) ... after to_task the clean value is
        // 2·0.75 − 1 = 0.5; at a fixed t, x_t has mean √ᾱ_t·0.5 and variance 1 − ᾱ_t.
        let d = Diffusion {
            steps: 100,
            beta_start: 1e-3,
            beta_end: 0.05,
        };
        let sched = d.schedule();
        let task = d.to_task(images(1, 0.75));
        let x0 = task.inputs.slice(s![0..1, 0..1, .., ..]).to_owned();
        let mut rng = Rng::new(11);
        for t in [1, 30, 100] {
            let mut values = Vec::new();
            for _ in 0..400 {
                let eps = Tensor::from_shape_fn(x0.raw_dim(), |_| rng.normal() as f32);
                values.extend(noised(&sched, &x0, &eps, t).iter().map(|&v| f64::from(v)));
            }
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            let ab = sched.alpha_bar(t);
            assert!((mean - ab.sqrt() * 0.5).abs() < 0.01, "t {t}: mean {mean}");
            assert!(
                (var - (1.0 - ab)).abs() < 0.01 + 0.02 * (1.0 - ab),
                "t {t}: var {var}"
            );
        }
    }

    #[test]
    fn batches_draw_t_and_noise_and_repeat_for_a_seed() {
        let d = Diffusion::default();
        let sched = d.schedule();
        let task = d.to_task(images(64, 0.0));
        assert_eq!(task.inputs.shape(), &[64, 2, 8, 8]);
        assert!(
            task.inputs
                .slice(s![.., 0, .., ..])
                .iter()
                .all(|&v| v == -1.0)
        );
        let Targets::Dense(t0) = &task.targets else {
            panic!("dense targets")
        };
        let draw = |seed| {
            let (mut x, mut e) = (task.inputs.clone(), t0.clone());
            d.apply(&sched, &mut x, &mut e, &mut step_rng(seed, 1, 1));
            (x, e)
        };
        let (x, e) = draw(3);
        assert_eq!(draw(3), (x.clone(), e.clone()));
        assert_ne!(draw(4).0, x);
        for n in 0..64 {
            let f = x[[n, 1, 0, 0]];
            assert!(f > 0.0 && f <= 1.0);
            assert!(x.slice(s![n, 1, .., ..]).iter().all(|&v| v == f));
            // x_t − √ᾱ·x_0 = √(1 − ᾱ)·ε, pixel by pixel.
            let t = (f64::from(f) * 1000.0).round() as usize;
            let ab = sched.alpha_bar(t);
            let want = -ab.sqrt() + (1.0 - ab).sqrt() * f64::from(e[[n, 0, 3, 4]]);
            assert!((f64::from(x[[n, 0, 3, 4]]) - want).abs() < 1e-5);
        }
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        assert!(Diffusion::default().validate().is_ok());
        let bad = Diffusion {
            steps: 0,
            ..Diffusion::default()
        };
        assert!(matches!(bad.validate(), Err(DiffusionError::Steps(0))));
        let bad = Diffusion {
            beta_start: 0.1,
            beta_end: 0.01,
            ..Diffusion::default()
        };
        assert!(bad.validate().is_err());
    }
}
