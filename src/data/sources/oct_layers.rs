//! OCT-like layered scans with known layer masks (`source = "oct_layers"`), for
//! unsupervised segmentation. The lecture's example segments retinal OCT B-scans by
//! autoassociation; none can be bundled, so scans are drawn here from a seed: `layers`
//! roughly horizontal bands whose boundaries wave across the image (a sum of two sines of
//! random phase, plus a common tilt and bend), each band with its own mean brightness and
//! horizontal streak texture, then multiplicative speckle noise (each pixel times
//! `max(0, 1 + noise·N(0, 1))`), the grain of coherent imaging. The mask of a pixel is its
//! band, counted from the top (one-hot `[n, layers, h, w]`).

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};

use super::{FolderChoice, InvalidOption, Source};
use crate::data::segmentation::{MAX_SIDE, MIN_SIDE, one_hot};
use crate::data::{DataError, Dataset, Targets};
use crate::engine::rng::Rng;

const STREAM_GEOMETRY: u64 = 41;
const STREAM_SPECKLE: u64 = 42;
/// The bands' mean brightness, top to bottom: dark vitreous, a bright nerve-fibre-like
/// band, darker inner layers, a bright pigment-epithelium-like band, a mid-grey choroid,
/// a dark bottom.
const MEANS: [f64; 6] = [0.1, 0.62, 0.34, 0.8, 0.48, 0.22];
/// The amplitude of each band's horizontal streaks.
const STREAKS: [f64; 6] = [0.02, 0.1, 0.05, 0.08, 0.12, 0.04];
pub const MAX_LAYERS: usize = MEANS.len();
/// The most speckle `noise` may ask for.
pub const MAX_SPECKLE: f64 = 1.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OctLayers {
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Image side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Bands from top to bottom (2 to 6).
    #[serde(default = "default_layers")]
    pub layers: usize,
    /// Standard deviation of the multiplicative speckle.
    #[serde(default = "default_noise")]
    pub noise: f64,
}

fn default_samples() -> usize {
    200
}
fn default_size() -> usize {
    64
}
fn default_layers() -> usize {
    4
}
fn default_noise() -> f64 {
    0.3
}

impl Default for OctLayers {
    fn default() -> Self {
        OctLayers {
            samples: default_samples(),
            size: default_size(),
            layers: default_layers(),
            noise: default_noise(),
        }
    }
}

/// The band names, top to bottom.
pub fn layer_names(layers: usize) -> Vec<String> {
    (0..layers)
        .map(|i| match i {
            0 => "top (vitreous)".to_string(),
            i if i + 1 == layers => format!("layer {i} (bottom)"),
            i => format!("layer {i}"),
        })
        .collect()
}

/// `n` scans of `size`×`size` from the options, seeded.
pub fn oct_scans(o: &OctLayers, seed: u64) -> Result<Dataset, DataError> {
    o.validate()
        .map_err(|e| DataError::Invalid(e.to_string()))?;
    let (n, size, l) = (o.samples, o.size, o.layers);
    let mut rng = Rng::derive(seed, STREAM_GEOMETRY);
    let mut speckle = Rng::derive(seed, STREAM_SPECKLE);
    let plane = size * size;
    let sf = size as f64;
    let mut images = Vec::with_capacity(n * plane);
    let mut labels = Vec::with_capacity(n * plane);
    for _ in 0..n {
        // The first boundary 10 % to 25 % down, the last 75 % to 90 %.
        let top = rng.uniform(0.1, 0.25);
        let bottom = rng.uniform(0.75, 0.9);
        let base: Vec<f64> = if l == 2 {
            vec![rng.uniform(0.35, 0.65)]
        } else {
            // l − 1 boundaries from `top` to `bottom`, the l − 2 inner bands of random
            // relative thickness.
            let weights: Vec<f64> = (0..l - 2).map(|_| rng.uniform(0.6, 1.4)).collect();
            let wsum: f64 = weights.iter().sum();
            let mut b = vec![top];
            let mut acc = 0.0;
            for w in &weights {
                acc += w / wsum;
                b.push(top + (bottom - top) * acc);
            }
            b
        };
        // A shared tilt and bend, and each boundary's own waves.
        let tilt = rng.uniform(-0.08, 0.08);
        let bend = rng.uniform(-0.1, 0.1);
        let waves: Vec<[f64; 4]> = (0..l - 1)
            .map(|_| {
                [
                    rng.uniform(0.01, 0.03),
                    rng.uniform(0.0, TAU),
                    rng.uniform(0.005, 0.015),
                    rng.uniform(0.0, TAU),
                ]
            })
            .collect();
        let means: Vec<f64> = (0..l)
            .map(|i| (MEANS[i] + rng.uniform(-0.04, 0.04)).clamp(0.02, 0.98))
            .collect();
        // Each band's streaks: a smooth random profile along x per row (a few sines).
        let streak_phase: Vec<[f64; 3]> = (0..l)
            .map(|_| {
                [
                    rng.uniform(0.0, TAU),
                    rng.uniform(0.0, TAU),
                    rng.uniform(0.0, TAU),
                ]
            })
            .collect();
        let row_jitter: Vec<f64> = (0..size).map(|_| rng.normal()).collect();
        for (y, &jitter) in row_jitter.iter().enumerate() {
            for x in 0..size {
                let u = (x as f64 + 0.5) / sf;
                let v = (y as f64 + 0.5) / sf;
                let mut band = 0;
                for (i, &b) in base.iter().enumerate() {
                    let [a1, p1, a2, p2] = waves[i];
                    let edge = b
                        + tilt * (u - 0.5)
                        + bend * (u - 0.5).powi(2) * 4.0
                        + a1 * (TAU * 1.5 * u + p1).sin()
                        + a2 * (TAU * 4.0 * u + p2).sin();
                    if v >= edge {
                        band = i + 1;
                    }
                }
                let [q1, q2, q3] = streak_phase[band];
                let streak = STREAKS[band]
                    * (0.5 * (TAU * 2.0 * u + q1 + 0.9 * jitter).sin()
                        + 0.3 * (TAU * 7.0 * u + q2 + 1.7 * jitter).sin()
                        + 0.2 * (TAU * 23.0 * u + q3).sin()
                        + 0.6 * jitter);
                let clean = (means[band] + streak).clamp(0.0, 1.0);
                let s = (1.0 + o.noise * speckle.normal()).max(0.0);
                images.push((clean * s).clamp(0.0, 1.0) as f32);
                labels.push(band as u8);
            }
        }
    }
    let inputs = ndarray::Array4::from_shape_vec((n, 1, size, size), images)
        .map_err(|e| DataError::Invalid(e.to_string()))?;
    Ok(Dataset {
        name: "OCT-like layers".into(),
        inputs,
        targets: Targets::Dense(one_hot(&labels, n, l, size, size)),
        class_names: layer_names(l),
    })
}

impl Source for OctLayers {
    fn title() -> &'static str {
        "OCT-like layers (unsupervised segmentation)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Self::default())
    }
    fn label(&self) -> String {
        format!("OCT-like layers ({})", self.layers)
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        if !(self.noise.is_finite() && (0.0..=MAX_SPECKLE).contains(&self.noise)) {
            return Err(InvalidOption {
                key: "noise",
                reason: format!(
                    "must be a number from 0 to {MAX_SPECKLE}, got {}",
                    self.noise
                ),
            });
        }
        if !(MIN_SIDE..=MAX_SIDE).contains(&self.size) {
            return Err(InvalidOption {
                key: "size",
                reason: format!("must be {MIN_SIDE} to {MAX_SIDE}, got {}", self.size),
            });
        }
        if !(2..=MAX_LAYERS).contains(&self.layers) {
            return Err(InvalidOption {
                key: "layers",
                reason: format!("must be 2 to {MAX_LAYERS}, got {}", self.layers),
            });
        }
        super::check_image_count(self.samples, self.size, self.layers + 1)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        oct_scans(self, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::segmentation::class_map;

    #[test]
    fn masks_are_ordered_bands_with_their_own_brightness() {
        let o = OctLayers {
            samples: 5,
            size: 48,
            layers: 4,
            noise: 0.3,
        };
        let a = oct_scans(&o, 2).unwrap();
        let b = oct_scans(&o, 2).unwrap();
        assert_eq!(a.inputs, b.inputs, "same seed, same set");
        let Targets::Dense(t) = &a.targets else {
            panic!("masks")
        };
        assert_eq!(t.shape(), &[5, 4, 48, 48]);
        let classes = class_map(t);
        let mut sums = [0.0f64; 4];
        let mut counts = [0usize; 4];
        for ((s, y, x), &c) in classes.indexed_iter() {
            sums[c as usize] += f64::from(a.inputs[[s, 0, y, x]]);
            counts[c as usize] += 1;
            // Bands run top to bottom: the pixel below is in the same band or a lower one.
            if y + 1 < 48 {
                assert!(classes[[s, y + 1, x]] >= c);
            }
        }
        assert!(counts.iter().all(|&c| c > 100), "{counts:?}");
        let means: Vec<f64> = (0..4).map(|c| sums[c] / counts[c] as f64).collect();
        // The bands' brightness follows the table (speckle has mean 1, clipping aside).
        for c in 0..4 {
            assert!((means[c] - MEANS[c]).abs() < 0.08, "{means:?}");
        }
        for c in 0..3 {
            assert!((means[c] - means[c + 1]).abs() > 0.15, "{means:?}");
        }
        assert!(
            OctLayers {
                layers: 7,
                ..o.clone()
            }
            .validate()
            .is_err()
        );
        assert!(OctLayers { noise: 2.0, ..o }.validate().is_err());
    }
}
