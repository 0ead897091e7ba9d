//! Seeded segmentation data: cell-like blobs and thin curvy vessel-like lines, each image with
//! its pixel mask.
//!
//! The lecture's dense-prediction examples are the U-Net paper's HeLa cells (microscopy) and
//! retinal vessels (fundus photographs). Neither can be bundled, so both are drawn here:
//!
//! * [`cells`]: 4–12 cells per image on an unevenly lit grey background. Each cell is a
//!   wobbly ellipse with a relief-like shading (bright on the upper-left edge, dark on the
//!   lower-right, as in DIC microscopy), granular texture and a darker nucleus; cells may touch
//!   and overlap. Classes: binary (background, cell) or multi (background, cytoplasm, nucleus).
//! * [`vessels`]: a fundus-like disc with a dark vignette, a bright optic disc near one side and
//!   a tree of dark vessels growing from it: curved random walks that thin out and branch.
//!   Classes: binary (background, vessel) or multi (background, vessel, optic disc).
//!
//! Images are one grey channel in [0, 1]. Targets are [`Targets::Dense`]: `[n, 1, h, w]` with
//! 0/1 for binary masks (train with `bce_with_logits` or `dice`), one-hot `[n, K, h, w]` for
//! multi-class masks (class index = channel; [`class_map`] turns either back into indices).

use std::f64::consts::TAU;

use ndarray::{Array3, Array4};
use serde::{Deserialize, Serialize};

use super::textures::{Blob, add_noise, bezier};
use super::{DataError, Dataset, Targets};
use crate::engine::rng::Rng;

pub const MIN_SIDE: usize = 16;
pub const MAX_SIDE: usize = 256;

pub const CELL_CLASSES: [&str; 3] = ["background", "cytoplasm", "nucleus"];
pub const VESSEL_CLASSES: [&str; 3] = ["background", "vessel", "optic disc"];

/// A straight piece of vessel: from, to, half width (pixels).
type Segment = ((f64, f64), (f64, f64), f64);

const STREAM_GEOMETRY: u64 = 21;
const STREAM_NOISE: u64 = 22;

/// Binary (foreground / background) or multi-class masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegClasses {
    #[default]
    Binary,
    Multi,
}

fn check(n: usize, size: usize, noise: f64) -> Result<(), DataError> {
    if !(MIN_SIDE..=MAX_SIDE).contains(&size) {
        return Err(DataError::Invalid(format!(
            "segmentation images must be {MIN_SIDE} to {MAX_SIDE} pixels on a side, got {size}"
        )));
    }
    if n == 0 {
        return Err(DataError::Invalid(
            "a data set needs at least one sample, got 0".into(),
        ));
    }
    // Inputs plus up to three target channels.
    if n.checked_mul(size * size * 4)
        .is_none_or(|v| v > super::synthetic::MAX_VALUES)
    {
        return Err(DataError::Invalid(format!(
            "{n} images of {size}×{size} is too large"
        )));
    }
    if !(noise.is_finite() && (0.0..=1.0).contains(&noise)) {
        return Err(DataError::Invalid(format!(
            "noise must be a number from 0 to 1, got {noise}"
        )));
    }
    Ok(())
}

/// Builds the data set from per-image grey pixels and class-index masks.
fn assemble(
    name: &str,
    size: usize,
    classes: SegClasses,
    names: &[&str],
    images: Vec<f32>,
    labels: Vec<u8>,
) -> Dataset {
    let n = labels.len() / (size * size);
    let inputs = Array4::from_shape_vec((n, 1, size, size), images).expect("n·h·w values");
    let targets = match classes {
        SegClasses::Binary => Array4::from_shape_vec(
            (n, 1, size, size),
            labels.iter().map(|&l| f32::from(u8::from(l > 0))).collect(),
        )
        .expect("n·h·w values"),
        SegClasses::Multi => one_hot(&labels, n, names.len(), size, size),
    };
    let class_names = match classes {
        SegClasses::Binary => vec!["background".to_string(), names[1].to_string()],
        SegClasses::Multi => names.iter().map(|s| s.to_string()).collect(),
    };
    Dataset {
        name: name.to_string(),
        inputs,
        targets: Targets::Dense(targets),
        class_names,
    }
}

/// Class indices `[n·h·w]` → one-hot `[n, k, h, w]` (indices ≥ k give an all-zero pixel).
pub fn one_hot(labels: &[u8], n: usize, k: usize, h: usize, w: usize) -> Array4<f32> {
    let mut out = Array4::<f32>::zeros((n, k, h, w));
    for s in 0..n {
        for y in 0..h {
            for x in 0..w {
                let l = labels[(s * h + y) * w + x] as usize;
                if l < k {
                    out[[s, l, y, x]] = 1.0;
                }
            }
        }
    }
    out
}

/// Class index per pixel `[n, h, w]` of dense targets: one channel → 1 where the value is
/// above ½; several channels → the largest channel.
pub fn class_map(targets: &Array4<f32>) -> Array3<u8> {
    let [n, c, h, w] = [
        targets.shape()[0],
        targets.shape()[1],
        targets.shape()[2],
        targets.shape()[3],
    ];
    Array3::from_shape_fn((n, h, w), |(s, y, x)| {
        if c == 1 {
            u8::from(targets[[s, 0, y, x]] > 0.5)
        } else {
            let mut best = 0;
            for ch in 1..c {
                if targets[[s, ch, y, x]] > targets[[s, best, y, x]] {
                    best = ch;
                }
            }
            best.min(255) as u8
        }
    })
}

/// Smooth uneven illumination: a random gentle plane plus a wide bump.
fn illumination(size: usize, rng: &mut Rng) -> Vec<f64> {
    let (gx, gy) = (rng.uniform(-0.12, 0.12), rng.uniform(-0.12, 0.12));
    let (bx, by) = (rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0));
    let amp = rng.uniform(-0.08, 0.08);
    let mut out = vec![0.0; size * size];
    for y in 0..size {
        for x in 0..size {
            let (u, v) = (x as f64 / size as f64, y as f64 / size as f64);
            let d2 = (u - bx).powi(2) + (v - by).powi(2);
            out[y * size + x] = gx * (u - 0.5) + gy * (v - 0.5) + amp * (-d2 / 0.15).exp();
        }
    }
    out
}

/// Cell-like blobs: see the module docs. `size` is the image side (64 is a good default).
pub fn cells(
    n: usize,
    size: usize,
    classes: SegClasses,
    noise: f64,
    seed: u64,
) -> Result<Dataset, DataError> {
    check(n, size, noise)?;
    let mut rng = Rng::derive(seed, STREAM_GEOMETRY);
    let mut noise_rng = Rng::derive(seed, STREAM_NOISE);
    let sf = size as f64;
    let plane = size * size;
    let mut images = Vec::with_capacity(n * plane);
    let mut labels = Vec::with_capacity(n * plane);
    for _ in 0..n {
        let light = illumination(size, &mut rng);
        let bg = rng.uniform(0.35, 0.5);
        let count = 4 + rng.below(9);
        let scale = sf / 64.0;
        let mut img: Vec<f64> = light.iter().map(|l| bg + l).collect();
        let mut label = vec![0u8; plane];
        // A faint background grain (debris), not part of any cell.
        for v in img.iter_mut() {
            *v += 0.015 * rng.normal();
        }
        for _ in 0..count {
            let r = rng.uniform(5.0, 10.5) * scale;
            let cx = rng.uniform(0.0, sf);
            let cy = rng.uniform(0.0, sf);
            let cell = Blob::random(cx, cy, r, 0.14, &mut rng);
            let bright = rng.uniform(0.18, 0.3);
            let relief = rng.uniform(0.1, 0.18);
            let nr = r * rng.uniform(0.3, 0.45);
            let off = r * 0.25;
            let nucleus = Blob::random(
                cx + rng.uniform(-off, off),
                cy + rng.uniform(-off, off),
                nr,
                0.08,
                &mut rng,
            );
            let dark = rng.uniform(0.1, 0.18);
            let grain_phase = (rng.uniform(0.0, TAU), rng.uniform(0.0, TAU));
            let (x0, x1, y0, y1) = cell.bounds(size, 2.0);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                    let d = cell.distance(px, py);
                    let inside = (0.5 - d).clamp(0.0, 1.0);
                    let p = y * size + x;
                    // Relief: edge band lit from the upper left.
                    let band = (1.0 - (d + 1.2).abs() / 1.8).clamp(0.0, 1.0);
                    let (ux, uy) = (px - cx, py - cy);
                    let facing = -(ux + uy) / (ux.hypot(uy) + 1e-9) / 2f64.sqrt();
                    img[p] += relief * band * facing;
                    if inside > 0.0 {
                        let grain = 0.04
                            * ((px * 1.3 + grain_phase.0).sin() * (py * 1.1 + grain_phase.1).sin());
                        let nd = nucleus.distance(px, py);
                        let nin = (0.5 - nd).clamp(0.0, 1.0);
                        img[p] += inside * (bright + grain) - nin * dark;
                        if inside >= 0.5 {
                            label[p] = if nin >= 0.5 { 2 } else { label[p].max(1) };
                        }
                    }
                }
            }
        }
        let mut pixels: Vec<f32> = img.iter().map(|&v| v.clamp(0.0, 1.0) as f32).collect();
        add_noise(&mut pixels, noise, &mut noise_rng);
        images.extend(pixels);
        labels.extend(label);
    }
    Ok(assemble(
        "cells",
        size,
        classes,
        &CELL_CLASSES,
        images,
        labels,
    ))
}

/// Thin curvy vessel-like lines on a fundus-like disc: see the module docs.
pub fn vessels(
    n: usize,
    size: usize,
    classes: SegClasses,
    noise: f64,
    seed: u64,
) -> Result<Dataset, DataError> {
    check(n, size, noise)?;
    let mut rng = Rng::derive(seed, STREAM_GEOMETRY);
    let mut noise_rng = Rng::derive(seed, STREAM_NOISE);
    let sf = size as f64;
    let plane = size * size;
    let scale = sf / 64.0;
    let mut images = Vec::with_capacity(n * plane);
    let mut labels = Vec::with_capacity(n * plane);
    for _ in 0..n {
        let light = illumination(size, &mut rng);
        let base = rng.uniform(0.45, 0.6);
        let (fx, fy) = (
            sf / 2.0 + rng.uniform(-0.1, 0.1) * sf,
            sf / 2.0 + rng.uniform(-0.1, 0.1) * sf,
        );
        let fr = sf * rng.uniform(0.5, 0.62);
        // The optic disc, near the left or right edge.
        let side = if rng.bernoulli(0.5) { 0.2 } else { 0.8 };
        let (dx, dy) = (
            sf * (side + rng.uniform(-0.08, 0.08)),
            sf * rng.uniform(0.35, 0.65),
        );
        let dr = rng.uniform(5.0, 7.0) * scale;
        let disc = Blob::random(dx, dy, dr, 0.05, &mut rng);
        let mut img = vec![0.0f64; plane];
        let mut cover = vec![0.0f64; plane];
        let mut label = vec![0u8; plane];
        // Vessel tree: segments (a, b, half width) from random walks out of the disc.
        let mut segments: Vec<Segment> = Vec::new();
        let trunks = 4 + rng.below(3);
        let mut stack: Vec<(f64, f64, f64, f64, usize)> = Vec::new();
        for t in 0..trunks {
            let angle = TAU * (t as f64 + rng.uniform(-0.3, 0.3)) / trunks as f64;
            stack.push((dx, dy, angle, rng.uniform(1.1, 1.6) * scale.max(0.75), 0));
        }
        while let Some((mut x, mut y, mut angle, mut half, depth)) = stack.pop() {
            let mut turn = rng.uniform(-0.06, 0.06);
            let step = 2.0 * scale.max(0.5);
            for _ in 0..(sf * 1.2 / step) as usize {
                turn = (0.85 * turn + rng.uniform(-0.04, 0.04)).clamp(-0.09, 0.09);
                angle += turn;
                let (nx, ny) = (x + step * angle.cos(), y + step * angle.sin());
                segments.push(((x, y), (nx, ny), half));
                (x, y) = (nx, ny);
                half *= 0.985;
                if !(-2.0..sf + 2.0).contains(&x) || !(-2.0..sf + 2.0).contains(&y) || half < 0.35 {
                    break;
                }
                if depth < 2 && rng.bernoulli(0.06) {
                    let branch =
                        angle + if rng.bernoulli(0.5) { 1.0 } else { -1.0 } * rng.uniform(0.4, 0.9);
                    stack.push((x, y, branch, half * 0.75, depth + 1));
                    half *= 0.9;
                }
            }
        }
        for &(a, b, half) in &segments {
            // Slight bend per segment so joints look smooth.
            let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
            let pts = bezier(a, mid, b);
            let x0 = (a.0.min(b.0) - half - 2.0).floor().max(0.0) as usize;
            let y0 = (a.1.min(b.1) - half - 2.0).floor().max(0.0) as usize;
            let x1 = ((a.0.max(b.0) + half + 2.0).ceil().max(0.0) as usize).min(size - 1);
            let y1 = ((a.1.max(b.1) + half + 2.0).ceil().max(0.0) as usize).min(size - 1);
            if x0 > x1 || y0 > y1 {
                continue;
            }
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                    let d = pts
                        .iter()
                        .map(|&(qx, qy)| (px - qx).hypot(py - qy))
                        .fold(f64::INFINITY, f64::min);
                    let c = (half + 0.5 - d).clamp(0.0, 1.0);
                    let p = y * size + x;
                    cover[p] = cover[p].max(c * (0.6 + 0.4 * (half / 1.5).min(1.0)));
                    if c >= 0.5 {
                        label[p] = 1;
                    }
                }
            }
        }
        for y in 0..size {
            for x in 0..size {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let p = y * size + x;
                let rf = ((px - fx).hypot(py - fy) / fr).min(1.5);
                // Fundus: darker towards the rim, black outside the disc.
                let vignette =
                    (1.0 - 0.45 * rf * rf).max(0.0) * (1.0 - ((rf - 0.98) * 12.0).clamp(0.0, 1.0));
                let dd = disc.distance(px, py);
                let din = (0.5 - dd / 1.5).clamp(0.0, 1.0);
                let glow = (-(dd.max(0.0) / (dr * 0.8)).powi(2)).exp() * 0.15;
                let texture = 0.02 * ((px * 0.9).sin() * (py * 0.7).cos());
                let mut v = (base + light[p] + texture) * vignette + 0.35 * din + glow * vignette;
                v *= 1.0 - 0.55 * cover[p];
                img[p] = v;
                if vignette < 0.1 {
                    // Outside the fundus nothing is visible, so nothing is labelled.
                    label[p] = 0;
                } else if label[p] == 0 && din >= 0.5 {
                    label[p] = 2;
                }
            }
        }
        let mut pixels: Vec<f32> = img.iter().map(|&v| v.clamp(0.0, 1.0) as f32).collect();
        add_noise(&mut pixels, noise, &mut noise_rng);
        images.extend(pixels);
        labels.extend(label);
    }
    Ok(assemble(
        "vessels",
        size,
        classes,
        &VESSEL_CLASSES,
        images,
        labels,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_shaped() {
        for make in [cells, vessels] {
            let a = make(6, 48, SegClasses::Binary, 0.02, 3).unwrap();
            let b = make(6, 48, SegClasses::Binary, 0.02, 3).unwrap();
            assert_eq!(a.inputs, b.inputs);
            assert_eq!(a.targets, b.targets);
            assert_eq!(a.inputs.shape(), &[6, 1, 48, 48]);
            let Targets::Dense(t) = &a.targets else {
                panic!("dense")
            };
            assert_eq!(t.shape(), &[6, 1, 48, 48]);
            assert!(t.iter().all(|&v| v == 0.0 || v == 1.0));
            let fg = t.iter().filter(|&&v| v == 1.0).count() as f64 / t.len() as f64;
            assert!((0.03..0.6).contains(&fg), "foreground share {fg}");
            let m = make(6, 48, SegClasses::Multi, 0.02, 3).unwrap();
            let Targets::Dense(t) = &m.targets else {
                panic!("dense")
            };
            assert_eq!(t.shape(), &[6, 3, 48, 48]);
            assert_eq!(m.class_names.len(), 3);
            // One-hot: every pixel has exactly one class; all classes occur.
            let map = class_map(t);
            for c in 0..3u8 {
                assert!(map.iter().any(|&l| l == c), "class {c} missing");
            }
            let sums = t.sum_axis(ndarray::Axis(1));
            assert!(sums.iter().all(|&s| s == 1.0));
            // Binary = multi-class foreground.
            let bin = class_map(match &a.targets {
                Targets::Dense(t) => t,
                _ => unreachable!(),
            });
            assert!(
                bin.iter()
                    .zip(map.iter())
                    .all(|(&b, &m)| (b > 0) == (m > 0))
            );
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(cells(0, 64, SegClasses::Binary, 0.0, 1).is_err());
        assert!(cells(4, 8, SegClasses::Binary, 0.0, 1).is_err());
        assert!(vessels(4, 64, SegClasses::Binary, f64::INFINITY, 1).is_err());
        assert!(vessels(usize::MAX / 8, 64, SegClasses::Binary, 0.0, 1).is_err());
    }

    /// Preview grids in /tmp: images and masks. `cargo test --release --lib segmentation -- --ignored`
    #[test]
    #[ignore]
    fn render_previews() {
        for (name, make) in [
            ("cells", cells as fn(_, _, _, _, _) -> _),
            ("vessels", vessels),
        ] {
            let s = 64usize;
            let k = 8usize;
            let d = make(k, s, SegClasses::Multi, 0.02, 7).unwrap();
            let Targets::Dense(t) = &d.targets else {
                panic!()
            };
            let map = class_map(t);
            let colours = [[0u8, 0, 0], [230, 80, 60], [60, 200, 90]];
            let scale = 3;
            let cell = s * scale + 4;
            let mut grid = image::RgbImage::new((k * cell) as u32, (2 * cell) as u32);
            for i in 0..k {
                for y in 0..s * scale {
                    for x in 0..s * scale {
                        let v = (d.inputs[[i, 0, y / scale, x / scale]] * 255.0) as u8;
                        grid.put_pixel((i * cell + x) as u32, y as u32, image::Rgb([v, v, v]));
                        let c = colours[map[[i, y / scale, x / scale]] as usize];
                        grid.put_pixel((i * cell + x) as u32, (cell + y) as u32, image::Rgb(c));
                    }
                }
            }
            grid.save(format!("/tmp/convlab_{name}.png")).unwrap();
        }
    }
}
