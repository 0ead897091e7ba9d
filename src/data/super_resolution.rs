//! Super-resolution tasks (`[data.super_resolution]` in a preset): the target is the image
//! itself, the input the image shrunk by `factor` (each output pixel the mean of a
//! `factor × factor` block, as a camera with bigger pixels would see it) and brought back to
//! the full size by bicubic interpolation.
//!
//! The network so sees an image of the target's size (SRCNN, Dong et al. 2014) and learns what
//! bicubic interpolation misses; with a residual connection from the input to the output it
//! starts from the bicubic picture itself, so bicubic is both its starting point and the
//! classical baseline it must beat. Because input and output have the same size, a fully
//! convolutional net runs unchanged on an image of any size.
//!
//! The interpolations sample the low-resolution image at pixel centres,
//! `src = (dst + ½) / factor − ½`, and repeat the border pixels; bicubic uses Keys' kernel
//! with a = −½ (as PIL and Matlab do). Results are clipped to [0, 1].

use ndarray::{Array2, Array4, ArrayView2, s};
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, Targets};

/// Largest scale factor the settings accept.
pub const MAX_FACTOR: usize = 4;

/// How much a super-resolution task shrinks its images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuperResolution {
    /// Linear scale factor: 2 shrinks 32×32 to 16×16 and asks for the 32×32 back.
    pub factor: usize,
}

impl Default for SuperResolution {
    fn default() -> Self {
        SuperResolution { factor: 2 }
    }
}

/// A `[data.super_resolution]` setting the task cannot use.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SuperResolutionError {
    #[error("super_resolution.factor is {0}; it must be between 2 and {MAX_FACTOR}")]
    Factor(usize),
    #[error(
        "images of {h}×{w} pixels cannot be shrunk by {factor}: both sides must be multiples of \
         it, at least twice it"
    )]
    Size { h: usize, w: usize, factor: usize },
}

/// How an image is brought back to its full size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    Bilinear,
    Bicubic,
}

impl Interpolation {
    pub fn name(self) -> &'static str {
        match self {
            Interpolation::Bilinear => "bilinear",
            Interpolation::Bicubic => "bicubic",
        }
    }

    /// The kernel's support radius and its weight at distance `d`.
    fn radius(self) -> i64 {
        match self {
            Interpolation::Bilinear => 1,
            Interpolation::Bicubic => 2,
        }
    }

    fn weight(self, d: f64) -> f64 {
        let d = d.abs();
        match self {
            Interpolation::Bilinear => (1.0 - d).max(0.0),
            Interpolation::Bicubic => {
                // Keys (1981) with a = −½.
                const A: f64 = -0.5;
                if d <= 1.0 {
                    ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0
                } else if d < 2.0 {
                    ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A
                } else {
                    0.0
                }
            }
        }
    }

    /// For each of `out` output positions along one axis of an `n`-pixel line scaled up by
    /// `factor`: the source pixels and their weights.
    fn taps(self, n: usize, out: usize, factor: usize) -> Vec<Vec<(usize, f32)>> {
        let r = self.radius();
        (0..out)
            .map(|o| {
                let src = (o as f64 + 0.5) / factor as f64 - 0.5;
                let base = src.floor() as i64;
                let mut taps: Vec<(usize, f64)> = (base - r + 1..=base + r)
                    .map(|i| {
                        (
                            i.clamp(0, n as i64 - 1) as usize,
                            self.weight(src - i as f64),
                        )
                    })
                    .collect();
                let sum: f64 = taps.iter().map(|t| t.1).sum();
                taps.iter_mut().for_each(|t| t.1 /= sum);
                taps.into_iter().map(|(i, w)| (i, w as f32)).collect()
            })
            .collect()
    }

    /// `img` enlarged `factor` times on each side, clipped to [0, 1].
    pub fn upscale(self, img: ArrayView2<f32>, factor: usize) -> Array2<f32> {
        let (h, w) = img.dim();
        let (oh, ow) = (h * factor, w * factor);
        let cols = self.taps(w, ow, factor);
        let rows = self.taps(h, oh, factor);
        let wide = Array2::from_shape_fn((h, ow), |(y, x)| {
            cols[x].iter().map(|&(i, k)| k * img[[y, i]]).sum::<f32>()
        });
        Array2::from_shape_fn((oh, ow), |(y, x)| {
            rows[y]
                .iter()
                .map(|&(i, k)| k * wide[[i, x]])
                .sum::<f32>()
                .clamp(0.0, 1.0)
        })
    }
}

/// `img` shrunk `factor` times: each pixel the mean of a `factor × factor` block (a trailing
/// row or column that does not fill a block is left out).
pub fn downscale_area(img: ArrayView2<f32>, factor: usize) -> Array2<f32> {
    let f = factor.max(1);
    let (h, w) = img.dim();
    let area = (f * f) as f32;
    Array2::from_shape_fn((h / f, w / f), |(y, x)| {
        img.slice(s![y * f..(y + 1) * f, x * f..(x + 1) * f]).sum() / area
    })
}

/// `f` applied to every channel plane of every image of `x`.
pub fn map_planes(x: &Array4<f32>, f: impl Fn(ArrayView2<f32>) -> Array2<f32>) -> Array4<f32> {
    let (n, c, _, _) = x.dim();
    let mut planes = Vec::with_capacity(n * c);
    for i in 0..n {
        for ch in 0..c {
            planes.push(f(x.slice(s![i, ch, .., ..])));
        }
    }
    let (h, w) = planes.first().map_or((0, 0), |p| p.dim());
    let mut out = Array4::zeros((n, c, h, w));
    for (k, p) in planes.into_iter().enumerate() {
        out.slice_mut(s![k / c, k % c, .., ..]).assign(&p);
    }
    out
}

impl SuperResolution {
    /// Checks the settings (from a preset file).
    pub fn validate(&self) -> Result<(), SuperResolutionError> {
        if !(2..=MAX_FACTOR).contains(&self.factor) {
            return Err(SuperResolutionError::Factor(self.factor));
        }
        Ok(())
    }

    /// Checks that images of `h × w` pixels can be shrunk by the factor.
    pub fn check_size(&self, h: usize, w: usize) -> Result<(), SuperResolutionError> {
        let f = self.factor;
        if !h.is_multiple_of(f) || !w.is_multiple_of(f) || h < 2 * f || w < 2 * f {
            return Err(SuperResolutionError::Size { h, w, factor: f });
        }
        Ok(())
    }

    /// The low-resolution images of `x` (`[n, c, h / factor, w / factor]`).
    pub fn shrink(&self, x: &Array4<f32>) -> Array4<f32> {
        map_planes(x, |p| downscale_area(p, self.factor))
    }

    /// Low-resolution images brought to full size by `how`.
    pub fn enlarge(&self, low: &Array4<f32>, how: Interpolation) -> Array4<f32> {
        map_planes(low, |p| how.upscale(p, self.factor))
    }

    /// The network's input for full-size images `x`: shrunk, then enlarged by bicubic
    /// interpolation.
    pub fn input_of(&self, x: &Array4<f32>) -> Array4<f32> {
        self.enlarge(&self.shrink(x), Interpolation::Bicubic)
    }

    /// The images as inputs and as dense targets: what the loader hands on, before the
    /// inputs are shrunk and enlarged ([`SuperResolution::shrink_inputs`], at the split, as
    /// a denoising task's noise is added there).
    pub fn to_task(&self, data: Dataset) -> Result<Dataset, SuperResolutionError> {
        let (_, _, h, w) = data.inputs.dim();
        self.check_size(h, w)?;
        Ok(Dataset {
            targets: Targets::Dense(data.inputs.clone()),
            class_names: Vec::new(),
            ..data
        })
    }

    /// The network's inputs of a task's set: each image shrunk and enlarged by bicubic
    /// interpolation (the targets stay the images).
    pub fn shrink_inputs(&self, data: Dataset) -> Dataset {
        Dataset {
            inputs: self.input_of(&data.inputs),
            ..data
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn area_downscale_averages_blocks() {
        let img = array![
            [0.0f32, 1.0, 0.5, 0.5],
            [1.0, 0.0, 0.5, 0.5],
            [0.2, 0.2, 0.0, 0.0],
            [0.2, 0.2, 0.0, 1.0],
        ];
        let low = downscale_area(img.view(), 2);
        assert_eq!(low, array![[0.5f32, 0.5], [0.2, 0.25]]);
    }

    #[test]
    fn interpolations_keep_constants_and_ramps() {
        let flat = Array2::from_elem((5, 6), 0.3f32);
        for how in [Interpolation::Bilinear, Interpolation::Bicubic] {
            let up = how.upscale(flat.view(), 2);
            assert_eq!(up.dim(), (10, 12));
            assert!(up.iter().all(|v| (v - 0.3).abs() < 1e-6), "{how:?}");
        }
        // A linear ramp is reproduced exactly away from the border by both kernels: the
        // output at column o samples the input at (o + ½)/2 − ½.
        let ramp = Array2::from_shape_fn((4, 8), |(_, x)| 0.1 * x as f32);
        for how in [Interpolation::Bilinear, Interpolation::Bicubic] {
            let up = how.upscale(ramp.view(), 2);
            for o in 4..12 {
                let want = 0.1 * ((o as f32 + 0.5) / 2.0 - 0.5);
                assert!((up[[3, o]] - want).abs() < 1e-5, "{how:?} {o}");
            }
        }
        // Keys' kernel: 1 at 0, 0 at the other integers, −a/8·… = −0.0625 at 1.5.
        assert_eq!(Interpolation::Bicubic.weight(0.0), 1.0);
        assert_eq!(Interpolation::Bicubic.weight(1.0), 0.0);
        assert!((Interpolation::Bicubic.weight(1.5) + 0.0625).abs() < 1e-12);
        assert!((Interpolation::Bicubic.weight(0.5) - 0.5625).abs() < 1e-12);
    }

    #[test]
    fn the_task_pairs_enlarged_inputs_with_the_images() {
        let inputs = Array4::from_shape_fn((2, 1, 8, 8), |(n, _, y, x)| {
            ((n + y * 3 + x * 5) % 7) as f32 / 7.0
        });
        let data = Dataset {
            name: "t".into(),
            inputs: inputs.clone(),
            targets: Targets::Labels(vec![0, 1]),
            class_names: vec!["a".into(), "b".into()],
        };
        let sr = SuperResolution::default();
        let task = sr.shrink_inputs(sr.to_task(data.clone()).unwrap());
        assert_eq!(task.targets, Targets::Dense(inputs.clone()));
        assert_eq!(task.inputs.dim(), (2, 1, 8, 8));
        assert_ne!(task.inputs, inputs);
        assert_eq!(task.inputs, sr.input_of(&inputs));
        let odd = Dataset {
            inputs: Array4::zeros((1, 1, 7, 8)),
            ..data
        };
        assert!(sr.to_task(odd).is_err());
        assert!(SuperResolution { factor: 1 }.validate().is_err());
        assert!(SuperResolution { factor: 5 }.validate().is_err());
    }
}
