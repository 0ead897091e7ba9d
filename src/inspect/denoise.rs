//! Learned against hand-made denoising: the classical Gaussian blur and median filter applied
//! to the noisy images, each at the setting that scores best, and PSNR on the clean images.
//!
//! The filters are written here (a few lines each) rather than taken from an image crate;
//! both replicate the border pixels, like [`super::filters`]. Every PSNR pools the squared
//! error over all pixels of all images before taking 10·log10(1 / MSE), exactly as the
//! training metric does, so the numbers compare.

use ndarray::{Array2, ArrayView2, Axis};

use crate::data::noise::psnr;
use crate::engine::Tensor;

use super::InspectError;

/// The Gaussian standard deviations (pixels) tried for the blur baseline.
pub const BLUR_SIGMAS: [f32; 7] = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5];
/// The median filter sizes tried.
pub const MEDIAN_SIZES: [usize; 2] = [3, 5];

/// One classical filter at its best setting.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// E.g. `Gaussian blur σ=1.0` or `median 3×3`.
    pub name: String,
    pub psnr: f64,
    /// SSIM at the same (best-PSNR) setting, when the images are at least 11×11.
    pub ssim: Option<f64>,
    /// The images filtered at that setting.
    pub filtered: Tensor<f32>,
}

/// The classical baselines on a set of noisy images.
#[derive(Clone, Debug, PartialEq)]
pub struct Baselines {
    /// The noisy images themselves against the clean ones (doing nothing).
    pub noisy: f64,
    /// Their SSIM, when the images are at least 11×11.
    pub noisy_ssim: Option<f64>,
    pub blur: Baseline,
    pub median: Baseline,
}

/// Gaussian blur with standard deviation `sigma`, separable, kernel radius ⌈3σ⌉.
pub fn gaussian_blur(img: ArrayView2<f32>, sigma: f32) -> Array2<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as i64;
    let mut k: Vec<f32> = (-r..=r)
        .map(|d| (-((d * d) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    let (h, w) = img.dim();
    let clamp = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
    let rows: Array2<f32> = Array2::from_shape_fn((h, w), |(y, x)| {
        (-r..=r)
            .zip(&k)
            .map(|(d, kv)| kv * img[[y, clamp(x as i64 + d, w)]])
            .sum::<f32>()
    });
    Array2::from_shape_fn((h, w), |(y, x)| {
        (-r..=r)
            .zip(&k)
            .map(|(d, kv)| kv * rows[[clamp(y as i64 + d, h), x]])
            .sum::<f32>()
    })
}

/// Median of each `size × size` window (size made odd).
pub fn median_filter(img: ArrayView2<f32>, size: usize) -> Array2<f32> {
    let r = (size.max(1) / 2) as i64;
    let (h, w) = img.dim();
    let clamp = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
    let mut window = Vec::with_capacity(((2 * r + 1) * (2 * r + 1)) as usize);
    Array2::from_shape_fn((h, w), |(y, x)| {
        window.clear();
        for dy in -r..=r {
            for dx in -r..=r {
                window.push(img[[clamp(y as i64 + dy, h), clamp(x as i64 + dx, w)]]);
            }
        }
        let mid = window.len() / 2;
        *window.select_nth_unstable_by(mid, f32::total_cmp).1
    })
}

/// Mean squared error between two tensors of the same shape.
pub fn mse(a: &Tensor<f32>, b: &Tensor<f32>) -> f64 {
    let se: f64 = a
        .iter()
        .zip(b.iter())
        .map(|(&x, &y)| f64::from(x - y).powi(2))
        .sum();
    se / a.len().max(1) as f64
}

/// `filter` applied to every channel plane of every image.
pub fn filter_all(x: &Tensor<f32>, filter: impl Fn(ArrayView2<f32>) -> Array2<f32>) -> Tensor<f32> {
    let mut out = x.clone();
    for (mut o, i) in out.outer_iter_mut().zip(x.outer_iter()) {
        for (mut oc, ic) in o.outer_iter_mut().zip(i.outer_iter()) {
            oc.assign(&filter(ic));
        }
    }
    out
}

/// PSNR of the noisy images and of the best blur and best median filter against `clean`.
pub fn baselines(noisy: &Tensor<f32>, clean: &Tensor<f32>) -> Result<Baselines, InspectError> {
    if noisy.shape() != clean.shape() || noisy.is_empty() {
        return Err(InspectError::Invalid(format!(
            "noisy images {:?} and clean images {:?} must have the same, non-empty shape",
            noisy.shape(),
            clean.shape()
        )));
    }
    let best = |tries: Vec<(String, Tensor<f32>)>| {
        tries
            .into_iter()
            .map(|(name, out)| (name, psnr(mse(&out, clean)), out))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(name, psnr, out)| Baseline {
                name,
                psnr,
                ssim: ssim_if_fits(&out, clean),
                filtered: out,
            })
    };
    let blur = best(
        BLUR_SIGMAS
            .iter()
            .map(|&s| {
                (
                    format!("Gaussian blur σ={s}"),
                    filter_all(noisy, |p| gaussian_blur(p, s)),
                )
            })
            .collect(),
    );
    let median = best(
        MEDIAN_SIZES
            .iter()
            .map(|&k| {
                (
                    format!("median {k}×{k}"),
                    filter_all(noisy, |p| median_filter(p, k)),
                )
            })
            .collect(),
    );
    match (blur, median) {
        (Some(blur), Some(median)) => Ok(Baselines {
            noisy: psnr(mse(noisy, clean)),
            noisy_ssim: ssim_if_fits(noisy, clean),
            blur,
            median,
        }),
        _ => Err(InspectError::Invalid("no baseline settings".into())),
    }
}

/// Mean SSIM of two image sets ([`super::ssim`]), or `None` when the images are smaller
/// than its 11×11 window.
pub fn ssim_if_fits(a: &Tensor<f32>, b: &Tensor<f32>) -> Option<f64> {
    super::ssim::ssim_images(a, b).ok()
}

/// The first `n` images of a set (all when fewer), to keep the baselines quick on big sets.
pub fn first(x: &Tensor<f32>, n: usize) -> Tensor<f32> {
    let n = n.min(x.len_of(Axis(0)));
    x.slice_axis(Axis(0), (0..n).into()).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn median_removes_an_impulse_and_keeps_an_edge() {
        let img = array![
            [0.0f32, 0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 9.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0],
        ];
        let out = median_filter(img.view(), 3);
        let want = array![
            [0.0f32, 0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 1.0, 1.0],
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn blur_keeps_a_constant_image_and_its_mean() {
        let img = Array2::from_elem((6, 7), 0.25f32);
        let out = gaussian_blur(img.view(), 1.5);
        assert!(out.iter().all(|v| (v - 0.25).abs() < 1e-6));
    }

    #[test]
    fn baselines_beat_doing_nothing_on_noisy_flat_images() {
        let clean = Tensor::from_elem((2, 1, 12, 12), 0.5f32);
        let mut noisy = clean.clone();
        let mut rng = crate::engine::rng::Rng::new(1);
        noisy
            .iter_mut()
            .for_each(|v| *v += (rng.normal() * 0.2) as f32);
        let b = baselines(&noisy, &clean).unwrap();
        assert!(b.blur.psnr > b.noisy + 3.0, "{b:?}");
        assert!(b.median.psnr > b.noisy + 3.0, "{b:?}");
        // Flat clean images have no structure to keep: SSIM only measures the luminance
        // and the noise's variance here, and the filters still raise it.
        let (noisy_ssim, blur_ssim) = (b.noisy_ssim.unwrap(), b.blur.ssim.unwrap());
        assert!(blur_ssim > noisy_ssim, "{b:?}");
        assert!(baselines(&noisy, &first(&clean, 1)).is_err());
    }
}
