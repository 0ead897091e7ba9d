//! The structural similarity index (SSIM) of Wang, Bovik, Sheikh and Simoncelli (2004), as
//! their reference code computes it: local means, variances and covariance under an 11×11
//! Gaussian window of σ = 1.5, only where the window fits inside the image ("valid"), with
//! C1 = (0.01·L)² and C2 = (0.03·L)² for pixel range L = 1, and the mean of the SSIM map.
//!
//! Written here rather than taken from a crate: dssim-core computes a multi-scale variant
//! in a colour space (not the 2004 index) under the AGPL, `ssim` is a single 0.1.0
//! release, and neither is in the local crate registry cache.

use ndarray::{Array2, ArrayView2, Axis};

use super::InspectError;
use crate::engine::Tensor;

/// Side of the Gaussian window.
pub const WINDOW: usize = 11;
/// Its standard deviation in pixels.
pub const SIGMA: f64 = 1.5;
const C1: f64 = 0.01 * 0.01;
const C2: f64 = 0.03 * 0.03;

/// The normalised 1-D Gaussian the window is the outer product of.
fn gaussian() -> [f64; WINDOW] {
    let r = (WINDOW / 2) as f64;
    let mut g = [0.0; WINDOW];
    for (i, v) in g.iter_mut().enumerate() {
        let d = i as f64 - r;
        *v = (-d * d / (2.0 * SIGMA * SIGMA)).exp();
    }
    let sum: f64 = g.iter().sum();
    g.iter_mut().for_each(|v| *v /= sum);
    g
}

/// `img` filtered by the window where it fits: `(h − 10) × (w − 10)` values.
fn filter_valid(img: &Array2<f64>, g: &[f64; WINDOW]) -> Array2<f64> {
    let (h, w) = img.dim();
    let (oh, ow) = (h + 1 - WINDOW, w + 1 - WINDOW);
    let rows = Array2::from_shape_fn((h, ow), |(y, x)| {
        (0..WINDOW).map(|k| g[k] * img[[y, x + k]]).sum::<f64>()
    });
    Array2::from_shape_fn((oh, ow), |(y, x)| {
        (0..WINDOW).map(|k| g[k] * rows[[y + k, x]]).sum::<f64>()
    })
}

/// The SSIM map of two grey images of the same size, at least 11×11.
pub fn ssim_map(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Result<Array2<f64>, InspectError> {
    let (h, w) = a.dim();
    if b.dim() != (h, w) || h < WINDOW || w < WINDOW {
        return Err(InspectError::Invalid(format!(
            "SSIM needs two images of the same size, at least {WINDOW}×{WINDOW}; got {:?} and {:?}",
            a.dim(),
            b.dim()
        )));
    }
    let g = gaussian();
    let x = a.mapv(f64::from);
    let y = b.mapv(f64::from);
    let mx = filter_valid(&x, &g);
    let my = filter_valid(&y, &g);
    let sxx = filter_valid(&(&x * &x), &g);
    let syy = filter_valid(&(&y * &y), &g);
    let sxy = filter_valid(&(&x * &y), &g);
    let mut out = Array2::zeros(mx.dim());
    ndarray::Zip::from(&mut out)
        .and(&mx)
        .and(&my)
        .and(&sxx)
        .and(&syy)
        .and(&sxy)
        .for_each(|o, &mx, &my, &sxx, &syy, &sxy| {
            let (vx, vy, cxy) = (sxx - mx * mx, syy - my * my, sxy - mx * my);
            *o = ((2.0 * mx * my + C1) * (2.0 * cxy + C2))
                / ((mx * mx + my * my + C1) * (vx + vy + C2));
        });
    Ok(out)
}

/// Mean SSIM of two grey images.
pub fn ssim(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Result<f64, InspectError> {
    let map = ssim_map(a, b)?;
    Ok(map.mean().unwrap_or(1.0))
}

/// Mean SSIM over the images of two `[n, c, h, w]` sets, each image's SSIM the mean over its
/// channels.
pub fn ssim_images(a: &Tensor<f32>, b: &Tensor<f32>) -> Result<f64, InspectError> {
    if a.shape() != b.shape() || a.is_empty() {
        return Err(InspectError::Invalid(format!(
            "SSIM of image sets of shapes {:?} and {:?}: they must be the same, non-empty",
            a.shape(),
            b.shape()
        )));
    }
    let mut sum = 0.0;
    let mut count = 0usize;
    for (ia, ib) in a.axis_iter(Axis(0)).zip(b.axis_iter(Axis(0))) {
        for (pa, pb) in ia.axis_iter(Axis(0)).zip(ib.axis_iter(Axis(0))) {
            sum += ssim(pa, pb)?;
            count += 1;
        }
    }
    Ok(sum / count.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(h: usize, w: usize) -> Array2<f32> {
        Array2::from_shape_fn((h, w), |(y, x)| ((y * 7 + x * 13) % 11) as f32 / 10.0)
    }

    #[test]
    fn identical_images_score_one() {
        let a = pattern(20, 17);
        assert!((ssim(a.view(), a.view()).unwrap() - 1.0).abs() < 1e-12);
        let flat = Array2::from_elem((11, 11), 0.3f32);
        assert!((ssim(flat.view(), flat.view()).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn flat_images_give_the_luminance_term() {
        // No variance: SSIM = (2·μx·μy + C1) / (μx² + μy² + C1) = 0.2501 / 0.3126.
        let a = Array2::from_elem((12, 11), 0.5f32);
        let b = Array2::from_elem((12, 11), 0.25f32);
        let s = ssim(a.view(), b.view()).unwrap();
        assert!((s - 0.2501 / 0.3126).abs() < 1e-6, "{s}");
    }

    #[test]
    fn an_inverted_image_matches_the_hand_computed_value() {
        // One window position on an 11×11 image; y = 1 − x gives μy = 1 − μx, σy² = σx²
        // and σxy = −σx², from the window's weighted mean and variance of x.
        let x = pattern(11, 11);
        let y = x.mapv(|v| 1.0 - v);
        let g = gaussian();
        let (mut m, mut m2) = (0.0, 0.0);
        for i in 0..WINDOW {
            for j in 0..WINDOW {
                let v = f64::from(x[[i, j]]);
                m += g[i] * g[j] * v;
                m2 += g[i] * g[j] * v * v;
            }
        }
        let var = m2 - m * m;
        let my = 1.0 - m;
        let want =
            ((2.0 * m * my + C1) * (-2.0 * var + C2)) / ((m * m + my * my + C1) * (2.0 * var + C2));
        let got = ssim(x.view(), y.view()).unwrap();
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        assert!(got < -0.9, "an inverted pattern is anti-correlated: {got}");
    }

    #[test]
    fn noise_lowers_ssim_and_small_images_are_refused() {
        let a = pattern(32, 32);
        let mut rng = crate::engine::rng::Rng::new(3);
        let noisy = a.mapv(|v| v + (rng.normal() * 0.1) as f32);
        let noisier = a.mapv(|v| v + 0.3 * (v - 0.5) + 0.05);
        let s = ssim(a.view(), noisy.view()).unwrap();
        assert!(s < 0.99 && s > 0.3, "{s}");
        assert!(ssim(a.view(), noisier.view()).unwrap() < 1.0);
        let small = pattern(10, 32);
        assert!(ssim(small.view(), small.view()).is_err());
        let set = Tensor::from_shape_fn((2, 1, 12, 12), |(n, _, y, x)| {
            ((n + y + x) % 5) as f32 / 4.0
        });
        assert!((ssim_images(&set, &set).unwrap() - 1.0).abs() < 1e-12);
    }
}
