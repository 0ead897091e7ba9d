//! Data augmentation for training batches: random horizontal flips, random shifts (zero
//! fill) and Gaussian pixel noise.
//!
//! Every draw comes from [`crate::engine::rng::Rng`], derived from the run's seed, the epoch
//! and the step ([`batch_rng`]), so the same seed gives the same augmented batches and the
//! same trained weights. Validation data is never augmented.

use serde::{Deserialize, Serialize};

use crate::engine::Tensor;
use crate::engine::rng::Rng;

/// Largest shift in pixels the settings accept.
pub const MAX_SHIFT: usize = 16;
/// Largest noise standard deviation the settings accept.
pub const MAX_NOISE: f64 = 1.0;
/// The stream label of augmentation draws (see [`Rng::derive`]).
const AUGMENT_STREAM: u64 = 0xA06_3E47;

/// Which augmentations are applied to training batches (`[training.augment]` in a preset).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Augment {
    /// Mirror each image left–right with probability ½.
    pub flip: bool,
    /// Move each image by up to this many pixels in x and in y (uncovered pixels become 0).
    pub shift: usize,
    /// Add Gaussian noise with this standard deviation to every input value.
    pub noise: f64,
}

impl Default for Augment {
    /// Nothing switched on.
    fn default() -> Self {
        Augment {
            flip: false,
            shift: 0,
            noise: 0.0,
        }
    }
}

/// A setting of `[training.augment]` out of its range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AugmentError {
    #[error("augment.shift is {0} pixels; at most {MAX_SHIFT}")]
    Shift(usize),
    #[error("augment.noise is {0}; it must be between 0 and {MAX_NOISE}")]
    Noise(f64),
}

/// The shift a newly switched-on "shift" toggle uses.
pub const DEFAULT_SHIFT: usize = 2;
/// The standard deviation a newly switched-on "noise" toggle uses.
pub const DEFAULT_NOISE: f64 = 0.1;

/// The random stream of one training step: the same seed, epoch and step give the same draws.
pub fn batch_rng(seed: u64, epoch: usize, step: usize) -> Rng {
    let mut per_epoch = Rng::derive(seed, AUGMENT_STREAM ^ (epoch as u64).rotate_left(20));
    Rng::derive(per_epoch.next_u64(), step as u64)
}

impl Augment {
    /// Whether any augmentation is switched on.
    pub fn is_active(&self) -> bool {
        self.flip || self.shift > 0 || self.noise > 0.0
    }

    /// Checks the settings (from a preset file).
    pub fn validate(&self) -> Result<(), AugmentError> {
        if self.shift > MAX_SHIFT {
            return Err(AugmentError::Shift(self.shift));
        }
        if !(self.noise.is_finite() && (0.0..=MAX_NOISE).contains(&self.noise)) {
            return Err(AugmentError::Noise(self.noise));
        }
        Ok(())
    }

    /// Augments a batch `[n, c, h, w]` in place. `target`, when it is a dense per-pixel
    /// target with the same height and width (segmentation masks, autoencoder targets), gets
    /// the same flips and shifts so it stays aligned; noise only touches the input. Flips and
    /// shifts leave samples of 1×1 pixels (points, vectors) unchanged.
    pub fn apply(&self, x: &mut Tensor<f32>, mut target: Option<&mut Tensor<f32>>, rng: &mut Rng) {
        if !self.is_active() {
            return;
        }
        let (n, _, h, w) = x.dim();
        let spatial = h > 1 || w > 1;
        let aligned = |t: &Tensor<f32>| {
            let (tn, _, th, tw) = t.dim();
            tn == n && th == h && tw == w
        };
        if target.as_deref().is_some_and(|t| !aligned(t)) {
            target = None;
        }
        let max_dy = self.shift.min(h.saturating_sub(1)) as i64;
        let max_dx = self.shift.min(w.saturating_sub(1)) as i64;
        for i in 0..n {
            // Draw every number for every sample, whatever applies, so that switching one
            // augmentation on does not change the draws of the others.
            let flip = rng.bernoulli(0.5);
            let dy = rng.below(2 * self.shift + 1) as i64 - self.shift as i64;
            let dx = rng.below(2 * self.shift + 1) as i64 - self.shift as i64;
            let (dy, dx) = (dy.clamp(-max_dy, max_dy), dx.clamp(-max_dx, max_dx));
            if spatial {
                let flip = self.flip && flip;
                if flip || dx != 0 || dy != 0 {
                    transform(x, i, flip, dy, dx);
                    if let Some(t) = target.as_deref_mut() {
                        transform(t, i, flip, dy, dx);
                    }
                }
            }
        }
        if self.noise > 0.0 {
            let std = self.noise;
            for v in x.iter_mut() {
                *v += (rng.normal() * std) as f32;
            }
        }
    }
}

/// Flips (left–right) then shifts sample `i` of `t` by `dy` rows and `dx` columns, filling
/// with zeros.
fn transform(t: &mut Tensor<f32>, i: usize, flip: bool, dy: i64, dx: i64) {
    let (_, c, h, w) = t.dim();
    let mut plane = vec![0.0f32; h * w];
    for ch in 0..c {
        for (k, v) in plane.iter_mut().enumerate() {
            *v = t[[i, ch, k / w, k % w]];
        }
        for y in 0..h {
            for xo in 0..w {
                let sy = y as i64 - dy;
                let sx = xo as i64 - dx;
                let v = if (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx) {
                    let sx = if flip { w as i64 - 1 - sx } else { sx };
                    plane[sy as usize * w + sx as usize]
                } else {
                    0.0
                };
                t[[i, ch, y, xo]] = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize, c: usize, h: usize, w: usize) -> Tensor<f32> {
        Tensor::from_shape_fn((n, c, h, w), |(i, ch, y, x)| {
            (i * 1000 + ch * 100 + y * 10 + x) as f32 + 1.0
        })
    }

    #[test]
    fn nothing_on_changes_nothing() {
        let mut x = ramp(3, 2, 5, 5);
        let before = x.clone();
        Augment::default().apply(&mut x, None, &mut Rng::new(1));
        assert_eq!(x, before);
        assert!(!Augment::default().is_active());
    }

    #[test]
    fn flips_mirror_rows_and_keep_every_value() {
        let mut x = ramp(16, 1, 3, 4);
        let before = x.clone();
        let aug = Augment {
            flip: true,
            ..Augment::default()
        };
        aug.apply(&mut x, None, &mut Rng::new(7));
        let mut flipped = 0;
        for i in 0..16 {
            let same = (0..3).all(|y| (0..4).all(|c| x[[i, 0, y, c]] == before[[i, 0, y, c]]));
            let mirrored =
                (0..3).all(|y| (0..4).all(|c| x[[i, 0, y, c]] == before[[i, 0, y, 3 - c]]));
            assert!(same ^ mirrored, "sample {i} is neither kept nor mirrored");
            flipped += usize::from(mirrored);
        }
        // Probability ½ each: 16 samples all the same way would be a broken coin.
        assert!((1..16).contains(&flipped), "{flipped} of 16 flipped");
    }

    #[test]
    fn shifts_move_pixels_and_fill_with_zeros() {
        let mut t = ramp(1, 1, 4, 4);
        transform(&mut t, 0, false, 1, -2);
        // Row 0 is uncovered; row 1 holds old row 0 moved two to the left.
        assert!((0..4).all(|x| t[[0, 0, 0, x]] == 0.0));
        assert_eq!(t[[0, 0, 1, 0]], 3.0);
        assert_eq!(t[[0, 0, 1, 1]], 4.0);
        assert_eq!(t[[0, 0, 1, 2]], 0.0);
        assert_eq!(t[[0, 0, 3, 1]], 24.0);
    }

    #[test]
    fn shifts_stay_within_the_setting_and_the_image() {
        let aug = Augment {
            shift: 2,
            ..Augment::default()
        };
        let mut x = Tensor::<f32>::zeros((50, 1, 9, 9));
        for i in 0..50 {
            x[[i, 0, 4, 4]] = 1.0;
        }
        aug.apply(&mut x, None, &mut Rng::new(3));
        for i in 0..50 {
            let pos: (usize, usize) = x
                .slice(ndarray::s![i, 0, .., ..])
                .indexed_iter()
                .find(|(_, v)| **v == 1.0)
                .map(|(p, _)| p)
                .expect("the dot stays inside a 2-pixel margin");
            assert!(pos.0.abs_diff(4) <= 2 && pos.1.abs_diff(4) <= 2);
        }
        // Single-pixel samples (points) are never shifted away.
        let mut p = ramp(10, 2, 1, 1);
        let before = p.clone();
        aug.apply(&mut p, None, &mut Rng::new(3));
        assert_eq!(p, before);
    }

    #[test]
    fn noise_has_the_chosen_spread() {
        let aug = Augment {
            noise: 0.2,
            ..Augment::default()
        };
        let mut x = Tensor::<f32>::zeros((20, 1, 16, 16));
        aug.apply(&mut x, None, &mut Rng::new(11));
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((std - 0.2).abs() < 0.02, "std {std}");
    }

    #[test]
    fn dense_targets_move_with_their_inputs_but_get_no_noise() {
        let aug = Augment {
            flip: true,
            shift: 1,
            noise: 0.0,
        };
        let mut x = ramp(8, 1, 5, 5);
        let mut mask = x.clone();
        aug.apply(&mut x, Some(&mut mask), &mut Rng::new(5));
        assert_eq!(x, mask);
        let noisy = Augment { noise: 0.5, ..aug };
        let mut x = ramp(8, 1, 5, 5);
        let mut mask = x.clone();
        noisy.apply(&mut x, Some(&mut mask), &mut Rng::new(5));
        assert_ne!(x, mask);
        // The mask got exactly the flips and shifts of the noiseless run.
        let mut x2 = ramp(8, 1, 5, 5);
        aug.apply(&mut x2, None, &mut Rng::new(5));
        assert_eq!(mask, x2);
    }

    #[test]
    fn the_same_seed_epoch_and_step_give_the_same_batch() {
        let aug = Augment {
            flip: true,
            shift: 3,
            noise: 0.1,
        };
        let run = |seed, epoch, step| {
            let mut x = ramp(4, 3, 8, 8);
            aug.apply(&mut x, None, &mut batch_rng(seed, epoch, step));
            x
        };
        assert_eq!(run(42, 1, 1), run(42, 1, 1));
        assert_ne!(run(42, 1, 1), run(42, 1, 2));
        assert_ne!(run(42, 1, 1), run(42, 2, 1));
        assert_ne!(run(42, 1, 1), run(43, 1, 1));
    }

    #[test]
    fn settings_are_checked_and_parse_from_toml() {
        let a: Augment = toml::from_str("flip = true\nshift = 3").unwrap();
        assert_eq!(
            a,
            Augment {
                flip: true,
                shift: 3,
                noise: 0.0
            }
        );
        assert!(a.validate().is_ok());
        assert!(toml::from_str::<Augment>("flipp = true").is_err());
        let bad = Augment { noise: -1.0, ..a };
        assert!(bad.validate().is_err());
        let bad = Augment { shift: 99, ..a };
        assert!(bad.validate().is_err());
    }
}
