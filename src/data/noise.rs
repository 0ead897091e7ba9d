//! Denoising tasks made on the fly (`[data.denoise]` in a preset): the input is the clean
//! image with noise added, the target is the clean image.
//!
//! The loader keeps the clean images as both inputs and targets ([`Denoise::to_task`]);
//! training adds fresh noise to every batch ([`noise_rng`] from the run's seed, epoch and
//! step), so the network never sees the same noisy copy twice, while the validation inputs
//! get their noise once, from the data seed ([`Denoise::noisy_validation`]), so metrics of
//! different epochs and runs are measured on the same noisy images.

use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, Targets};
use crate::engine::Tensor;
use crate::engine::rng::Rng;

/// Largest Gaussian standard deviation the settings accept.
pub const MAX_GAUSSIAN: f64 = 1.0;
/// The stream label of the training noise (see [`Rng::derive`]); distinct from the
/// augmentation's so switching augmentation on does not change the noise.
const TRAIN_NOISE_STREAM: u64 = 0xD0_15E7;
/// The stream label of the validation noise.
const VAL_NOISE_STREAM: u64 = 0xD0_15E8;

/// Which noise turns a set of images into a denoising task.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Denoise {
    /// Standard deviation of the Gaussian noise added to every pixel (pixels in [0, 1]).
    pub gaussian: f64,
    /// Share of pixels replaced by salt (1) or pepper (0), half each.
    pub salt_pepper: f64,
}

impl Default for Denoise {
    fn default() -> Self {
        Denoise {
            gaussian: 0.3,
            salt_pepper: 0.0,
        }
    }
}

/// A `[data.denoise]` setting out of its range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DenoiseError {
    #[error("denoise.gaussian is {0}; it must be between 0 and {MAX_GAUSSIAN}")]
    Gaussian(f64),
    #[error("denoise.salt_pepper is {0}; it must be between 0 and 1")]
    SaltPepper(f64),
}

/// The random stream of one training step's noise: the same seed, epoch and step give the
/// same noise.
pub fn noise_rng(seed: u64, epoch: usize, step: usize) -> Rng {
    let mut per_epoch = Rng::derive(seed, TRAIN_NOISE_STREAM ^ (epoch as u64).rotate_left(20));
    Rng::derive(per_epoch.next_u64(), step as u64)
}

impl Denoise {
    /// Checks the settings (from a preset file).
    pub fn validate(&self) -> Result<(), DenoiseError> {
        if !(self.gaussian.is_finite() && (0.0..=MAX_GAUSSIAN).contains(&self.gaussian)) {
            return Err(DenoiseError::Gaussian(self.gaussian));
        }
        if !(self.salt_pepper.is_finite() && (0.0..=1.0).contains(&self.salt_pepper)) {
            return Err(DenoiseError::SaltPepper(self.salt_pepper));
        }
        Ok(())
    }

    /// Adds the noise to every value of `x` in place. Gaussian noise is not clipped to
    /// [0, 1], so its statistics are exactly those set (the classic additive white noise);
    /// salt and pepper then overwrite their share of pixels.
    pub fn apply(&self, x: &mut Tensor<f32>, rng: &mut Rng) {
        for v in x.iter_mut() {
            // Draw every number for every value, whatever is switched on, so that changing
            // one kind of noise does not move the draws of the other.
            let g = rng.normal();
            let hit = rng.next_f64() < self.salt_pepper;
            let salt = rng.bernoulli(0.5);
            *v += (g * self.gaussian) as f32;
            if hit {
                *v = if salt { 1.0 } else { 0.0 };
            }
        }
    }

    /// The clean images as inputs and as dense targets: what the loader hands on, before the
    /// noise is added.
    pub fn to_task(&self, data: Dataset) -> Dataset {
        Dataset {
            targets: Targets::Dense(data.inputs.clone()),
            class_names: Vec::new(),
            ..data
        }
    }

    /// The validation set with its fixed noise, drawn from the data `seed`.
    pub fn noisy_validation(&self, mut val: Dataset, seed: u64) -> Dataset {
        let mut rng = Rng::derive(seed, VAL_NOISE_STREAM);
        self.apply(&mut val.inputs, &mut rng);
        val
    }
}

/// Peak signal-to-noise ratio in dB of a mean squared error, for values in [0, 1]:
/// 10·log10(1 / MSE). An error of 0 is reported as infinite.
pub fn psnr(mse: f64) -> f64 {
    if mse <= 0.0 {
        f64::INFINITY
    } else {
        -10.0 * mse.log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(n: usize) -> Tensor<f32> {
        Tensor::from_elem((n, 1, 16, 16), 0.5)
    }

    #[test]
    fn psnr_of_known_errors() {
        assert!((psnr(0.01) - 20.0).abs() < 1e-12);
        assert!((psnr(0.001) - 30.0).abs() < 1e-12);
        assert!((psnr(1.0)).abs() < 1e-12);
        assert!(psnr(0.0).is_infinite());
    }

    #[test]
    fn gaussian_noise_has_the_set_statistics_and_repeats_for_a_seed() {
        let d = Denoise {
            gaussian: 0.2,
            salt_pepper: 0.0,
        };
        let mut a = grey(40);
        d.apply(&mut a, &mut noise_rng(7, 1, 1));
        let diffs: Vec<f64> = a.iter().map(|&v| f64::from(v) - 0.5).collect();
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        let std = (diffs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((std - 0.2).abs() < 0.01, "std {std}");
        let mut b = grey(40);
        d.apply(&mut b, &mut noise_rng(7, 1, 1));
        assert_eq!(a, b);
        let mut c = grey(40);
        d.apply(&mut c, &mut noise_rng(7, 2, 1));
        assert_ne!(a, c, "a new epoch draws new noise");
    }

    #[test]
    fn salt_and_pepper_hits_its_share_half_each() {
        let d = Denoise {
            gaussian: 0.0,
            salt_pepper: 0.1,
        };
        let mut a = grey(40);
        d.apply(&mut a, &mut noise_rng(3, 1, 1));
        let n = a.len() as f64;
        let salt = a.iter().filter(|&&v| v == 1.0).count() as f64 / n;
        let pepper = a.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        assert!((salt - 0.05).abs() < 0.01, "salt {salt}");
        assert!((pepper - 0.05).abs() < 0.01, "pepper {pepper}");
    }

    #[test]
    fn validation_noise_is_fixed_by_the_data_seed() {
        let d = Denoise::default();
        let data = Dataset {
            name: "g".into(),
            inputs: grey(3),
            targets: Targets::Labels(vec![0, 1, 2]),
            class_names: vec!["a".into()],
        };
        let task = d.to_task(data);
        assert_eq!(task.targets, Targets::Dense(grey(3)));
        let a = d.noisy_validation(task.clone(), 5);
        let b = d.noisy_validation(task, 5);
        assert_eq!(a.inputs, b.inputs);
        assert_ne!(a.inputs, grey(3));
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let bad = Denoise {
            gaussian: f64::NAN,
            salt_pepper: 0.0,
        };
        assert!(matches!(bad.validate(), Err(DenoiseError::Gaussian(_))));
        assert!(
            Denoise {
                gaussian: 0.1,
                salt_pepper: 1.5
            }
            .validate()
            .is_err()
        );
        assert!(Denoise::default().validate().is_ok());
    }
}
