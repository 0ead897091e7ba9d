//! Seeded synthetic data sets for the lecture's experiments.
//!
//! Three families, each made from a seed and nothing else (same seed, same data, bit for bit):
//!
//! - [`points`]: 2-D toy classification problems (XOR, circles, spirals, blobs) for dense
//!   networks, shaped `[n, 2, 1, 1]`. They show why a hidden layer is needed (XOR, circles) and
//!   how depth and width bend the decision boundary (spirals).
//! - [`shapes`]: small grey images of circles, squares, triangles and crosses at random
//!   positions, sizes, rotations and brightness: the "MNIST of shapes" on which a CNN's
//!   translation invariance, filters and feature maps are easy to read.
//! - [`function_1d`]: 1-D regression targets (sine, step, abs, bump) for the universal
//!   approximation theorem: how many hidden units does it take to fit this curve?
//!
//! Every generator draws from separate random streams for the sample order, the geometry and
//! the noise, so changing only `noise` jitters the *same* underlying points or shapes: a
//! lecture can show "same data, more noise" side by side.
//!
//! Arguments are checked, never trusted: `n = 0`, absurd sizes or a non-finite noise give
//! [`DataError::Invalid`] with a message a student can act on, never a panic.

use std::f64::consts::{PI, TAU};
use std::fmt;
use std::str::FromStr;

use ndarray::Array4;

use super::{DataError, Dataset, Targets};
use crate::engine::rng::Rng;

/// Largest image side (pixels) that [`shapes`] draws.
pub const MAX_SIDE: usize = 512;
/// Smallest image side (pixels) that [`shapes`] draws: below this a triangle is a blur.
pub const MIN_SIDE: usize = 8;
/// Largest number of input values (`n * c * h * w`) any generator makes (800 MB of f32).
pub const MAX_VALUES: usize = 200_000_000;
/// Largest noise standard deviation accepted.
pub const MAX_NOISE: f64 = 10.0;
/// Class names of [`shapes`], index = label.
pub const SHAPE_CLASSES: [&str; 4] = ["circle", "square", "triangle", "cross"];
/// Names accepted by [`function_1d`].
pub const FUNCTIONS_1D: [&str; 4] = ["sine", "step", "abs", "gauss"];

// Independent random streams derived from the seed.
const STREAM_ORDER: u64 = 1;
const STREAM_GEOMETRY: u64 = 2;
const STREAM_NOISE: u64 = 3;

/// The 2-D toy problems of [`points`].
///
/// In the lecture these are the classic "can a network separate this?" sets:
/// - **Xor**: four clusters at `(±0.5, ±0.5)`; class 1 when the coordinates' signs differ.
///   No straight line separates the classes, so a perceptron fails and one hidden layer suffices.
/// - **Circles**: a disc (radius ≤ 0.5) inside a ring (radius 0.7–1.0). Linearly inseparable in
///   `(x, y)`, separable in `x² + y²`: the case for learned features.
/// - **Spirals**: two interleaved spiral arms, 1.25 turns each. Needs several hidden units
///   (or layers) to bend the boundary around; a good stress test for depth vs width.
/// - **Blobs**: three Gaussian blobs on a circle of radius 0.55, three classes: softmax and
///   cross-entropy with more than two classes; nearly linearly separable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointPattern {
    Xor,
    Circles,
    Spirals,
    Blobs,
}

impl PointPattern {
    /// Every pattern, in menu order.
    pub const ALL: [PointPattern; 4] = [
        PointPattern::Xor,
        PointPattern::Circles,
        PointPattern::Spirals,
        PointPattern::Blobs,
    ];

    /// The lower-case name used in specs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PointPattern::Xor => "xor",
            PointPattern::Circles => "circles",
            PointPattern::Spirals => "spirals",
            PointPattern::Blobs => "blobs",
        }
    }

    /// Class names, index = label.
    pub fn class_names(self) -> &'static [&'static str] {
        match self {
            PointPattern::Xor => &["same sign", "opposite sign"],
            PointPattern::Circles => &["inner", "outer"],
            PointPattern::Spirals => &["spiral A", "spiral B"],
            PointPattern::Blobs => &["blob A", "blob B", "blob C"],
        }
    }

    pub fn num_classes(self) -> usize {
        self.class_names().len()
    }

    /// A noise-free point of class `label`; `index_in_class` counts this class's points so far.
    fn ideal_point(self, label: usize, index_in_class: usize, rng: &mut Rng) -> (f64, f64) {
        match self {
            PointPattern::Xor => {
                // Alternate between the class's two clusters, so each holds half the class.
                let s = if index_in_class.is_multiple_of(2) {
                    0.5
                } else {
                    -0.5
                };
                if label == 0 { (s, s) } else { (s, -s) }
            }
            PointPattern::Circles => {
                let angle = rng.uniform(0.0, TAU);
                // sqrt of a uniform area fraction: points spread evenly over the area.
                let r = if label == 0 {
                    0.5 * rng.next_f64().sqrt()
                } else {
                    rng.uniform(0.49, 1.0).sqrt()
                };
                (r * angle.cos(), r * angle.sin())
            }
            PointPattern::Spirals => {
                // sqrt: about even density along the arm instead of crowding the centre.
                let t = rng.next_f64().sqrt();
                let r = 0.08 + 0.87 * t;
                let angle = 2.5 * PI * t + label as f64 * PI;
                (r * angle.cos(), r * angle.sin())
            }
            PointPattern::Blobs => {
                let angle = PI / 2.0 + label as f64 * TAU / 3.0;
                (0.55 * angle.cos(), 0.55 * angle.sin())
            }
        }
    }
}

impl fmt::Display for PointPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PointPattern {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, DataError> {
        let wanted = s.trim().to_ascii_lowercase();
        PointPattern::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| {
                DataError::Invalid(format!(
                    "unknown point pattern {s:?}; choose one of xor, circles, spirals, blobs"
                ))
            })
    }
}

/// 2-D points as inputs `[n, 2, 1, 1]` (coordinates roughly in [-1, 1]), [`Targets::Labels`],
/// and the pattern's class names.
///
/// `noise` is the standard deviation of Gaussian jitter added to each coordinate around the
/// pattern's ideal shape (0 = the clean pattern: for XOR, exactly the four truth-table points;
/// 0.1 is a realistic amount for XOR, circles and blobs, 0.02–0.05 for the tighter spirals;
/// at 0.3 and above most classes overlap). Classes are balanced
/// (counts differ by at most one) and shuffled so that they are interleaved.
pub fn points(
    pattern: PointPattern,
    n: usize,
    noise: f64,
    seed: u64,
) -> Result<Dataset, DataError> {
    check_count(n, 2)?;
    check_noise(noise)?;
    let k = pattern.num_classes();
    let labels = balanced_labels(n, k, seed);
    let mut geometry = Rng::derive(seed, STREAM_GEOMETRY);
    let mut jitter = Rng::derive(seed, STREAM_NOISE);
    let mut inputs = Array4::<f32>::zeros((n, 2, 1, 1));
    let mut seen = vec![0usize; k];
    for (i, &label) in labels.iter().enumerate() {
        let (x, y) = pattern.ideal_point(label, seen[label], &mut geometry);
        seen[label] += 1;
        let (dx, dy) = (jitter.normal(), jitter.normal());
        inputs[[i, 0, 0, 0]] = (x + noise * dx) as f32;
        inputs[[i, 1, 0, 0]] = (y + noise * dy) as f32;
    }
    Ok(Dataset {
        name: pattern.name().to_string(),
        inputs,
        targets: Targets::Labels(labels),
        class_names: pattern
            .class_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}

/// Procedural images of shapes, the lecture's first CNN data set: classes circle, square,
/// triangle, cross (see [`SHAPE_CLASSES`]).
///
/// Each image has one channel, side `size` px (28 or 32 are good defaults; 8..=512 allowed) and
/// values in [0, 1]. Every shape gets a random position (fully inside the image, one pixel from
/// the border), size (about 30–85% of the side), rotation (triangles and crosses; squares stay
/// axis-aligned), background level (0–0.2) and shape brightness (0.6–1.0), drawn with
/// signed-distance anti-aliasing (a one-pixel soft edge) so they look like real photos. Then Gaussian pixel noise with
/// standard deviation `noise` is added (0.05–0.1 looks like a real sensor) and values are clipped
/// to [0, 1]. Sizes are drawn so that every class covers the same share of the image on average
/// (9–31%) and brightness is independent of the class, so a network cannot tell the classes
/// apart by the amount of light: it has to learn edges and corners, which is what its
/// first-layer filters and feature maps then show. Classes are balanced and shuffled.
pub fn shapes(n: usize, size: usize, noise: f64, seed: u64) -> Result<Dataset, DataError> {
    if !(MIN_SIDE..=MAX_SIDE).contains(&size) {
        return Err(DataError::Invalid(format!(
            "shape images must be {MIN_SIDE} to {MAX_SIDE} pixels on a side, got {size}"
        )));
    }
    check_count(n, size * size)?;
    check_noise(noise)?;
    let labels = balanced_labels(n, SHAPE_CLASSES.len(), seed);
    let mut geometry = Rng::derive(seed, STREAM_GEOMETRY);
    let mut pixel_noise = Rng::derive(seed, STREAM_NOISE);
    let mut inputs = Array4::<f32>::zeros((n, 1, size, size));
    let data = inputs.as_slice_mut().expect("a fresh array is contiguous");
    for (image, &label) in data.chunks_exact_mut(size * size).zip(&labels) {
        let shape = Shape::random(label, size, &mut geometry);
        let background = geometry.uniform(0.0, 0.2);
        let foreground = geometry.uniform(0.6, 1.0);
        shape.draw(image, size, background, foreground);
        if noise > 0.0 {
            add_pixel_noise(image, noise, &mut pixel_noise);
        }
    }
    Ok(Dataset {
        name: "shapes".to_string(),
        inputs,
        targets: Targets::Labels(labels),
        class_names: SHAPE_CLASSES.iter().map(|s| s.to_string()).collect(),
    })
}

/// 1-D regression for the universal approximation theorem: `x` uniform in [-1, 1] as inputs
/// `[n, 1, 1, 1]`, target `f(x)` (plus Gaussian noise of standard deviation `noise`) as
/// [`Targets::Dense`] `[n, 1, 1, 1]`.
///
/// Functions (see [`FUNCTIONS_1D`], and [`function_1d_fn`] for the clean curve to plot):
/// - `"sine"`: `sin(3x)`, smooth; a handful of tanh units fit it.
/// - `"step"`: 0 for `x < 0`, 1 for `x ≥ 0`; one steep sigmoid, or a staircase of ReLUs.
/// - `"abs"`: `|x|`; exactly two ReLUs, but curved units need many.
/// - `"gauss"`: the bump `exp(-x² / (2·0.2²))`; the building block of the theorem's proof
///   (two opposite steps make a bump, bumps add up to any curve).
pub fn function_1d(function: &str, n: usize, noise: f64, seed: u64) -> Result<Dataset, DataError> {
    let f = function_1d_fn(function)?;
    check_count(n, 1)?;
    check_noise(noise)?;
    let mut xs = Rng::derive(seed, STREAM_GEOMETRY);
    let mut jitter = Rng::derive(seed, STREAM_NOISE);
    let mut inputs = Array4::<f32>::zeros((n, 1, 1, 1));
    let mut targets = Array4::<f32>::zeros((n, 1, 1, 1));
    for i in 0..n {
        let x = xs.uniform(-1.0, 1.0);
        let y = f(x) + noise * jitter.normal();
        inputs[[i, 0, 0, 0]] = x as f32;
        targets[[i, 0, 0, 0]] = y as f32;
    }
    Ok(Dataset {
        name: function.trim().to_ascii_lowercase(),
        inputs,
        targets: Targets::Dense(targets),
        class_names: Vec::new(),
    })
}

/// The noise-free target curve of [`function_1d`], e.g. to draw it under the network's fit.
pub fn function_1d_fn(function: &str) -> Result<fn(f64) -> f64, DataError> {
    let f: fn(f64) -> f64 = match function.trim().to_ascii_lowercase().as_str() {
        "sine" => |x| (3.0 * x).sin(),
        "step" => |x| if x < 0.0 { 0.0 } else { 1.0 },
        "abs" => |x| x.abs(),
        "gauss" => |x| (-x * x / (2.0 * 0.2 * 0.2)).exp(),
        _ => {
            return Err(DataError::Invalid(format!(
                "unknown 1-D function {function:?}; choose one of {}",
                FUNCTIONS_1D.join(", ")
            )));
        }
    };
    Ok(f)
}

fn check_count(n: usize, values_per_sample: usize) -> Result<(), DataError> {
    if n == 0 {
        return Err(DataError::Invalid(
            "a data set needs at least one sample, got n = 0".to_string(),
        ));
    }
    match n.checked_mul(values_per_sample) {
        Some(total) if total <= MAX_VALUES => Ok(()),
        _ => Err(DataError::Invalid(format!(
            "{n} samples of {values_per_sample} values each is too large: at most {MAX_VALUES} values in total"
        ))),
    }
}

fn check_noise(noise: f64) -> Result<(), DataError> {
    if noise.is_finite() && (0.0..=MAX_NOISE).contains(&noise) {
        Ok(())
    } else {
        Err(DataError::Invalid(format!(
            "noise must be a number from 0 to {MAX_NOISE}, got {noise}"
        )))
    }
}

/// Adds Gaussian noise of standard deviation `std` to every value and clips to [0, 1].
/// Marsaglia's polar method, both outputs used: no trigonometry, about 3× cheaper per value
/// than `Rng::normal`, and just as deterministic.
fn add_pixel_noise(values: &mut [f32], std: f64, rng: &mut Rng) {
    for pair in values.chunks_mut(2) {
        let (z0, z1) = loop {
            let (u, v) = (2.0 * rng.next_f64() - 1.0, 2.0 * rng.next_f64() - 1.0);
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * s.ln() / s).sqrt();
                break (u * f, v * f);
            }
        };
        for (x, z) in pair.iter_mut().zip([z0, z1]) {
            *x = (*x as f64 + std * z).clamp(0.0, 1.0) as f32;
        }
    }
}

/// Labels `i % k` in a seeded random order: balanced to within one, classes interleaved.
fn balanced_labels(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    Rng::derive(seed, STREAM_ORDER).shuffle(&mut labels);
    labels
}

/// One shape to draw, in pixel coordinates (x right, y down).
struct Shape {
    label: usize,
    cx: f64,
    cy: f64,
    /// Half the shape's nominal size: circle radius, half the square's side, half the cross's
    /// arm span; the triangle's side is `2 * half`.
    half: f64,
    cos: f64,
    sin: f64,
}

/// Half-width of a cross's bar as a fraction of its half span.
const CROSS_BAR: f64 = 0.36;
/// Area of each shape class divided by the square of its nominal size (circle: diameter,
/// square: side, triangle: side, cross: span).
const AREA_FACTOR: [f64; 4] = [
    std::f64::consts::FRAC_PI_4,
    1.0,
    0.433_012_701_892_219_3, // √3 / 4
    2.0 * CROSS_BAR - CROSS_BAR * CROSS_BAR,
];

impl Shape {
    fn random(label: usize, side: usize, rng: &mut Rng) -> Shape {
        let side_f = side as f64;
        // Equal-area sizing: draw the side of a square of the same area (30–56% of the image
        // side, i.e. 9–31% of the image covered) and convert it to this shape's nominal size.
        // Every class then covers the same amount of the image on average, so the amount of
        // "ink" says nothing about the class; nominal sizes span about 30–85% of the side.
        let equal_area_side = rng.uniform(0.30, 0.557) * side_f;
        let half = 0.5 * equal_area_side / AREA_FACTOR[label].sqrt();
        let angle = match label {
            2 => rng.uniform(0.0, TAU / 3.0), // a triangle repeats every 120°
            3 => rng.uniform(0.0, TAU / 4.0), // a cross every 90°
            _ => 0.0,
        };
        let mut shape = Shape {
            label,
            cx: 0.0,
            cy: 0.0,
            half,
            cos: angle.cos(),
            sin: angle.sin(),
        };
        // Place the bounding box fully inside the image, with a one-pixel margin when it fits.
        let (x0, x1, y0, y1) = shape.bounds();
        shape.cx = place(rng, x0, x1, side_f);
        shape.cy = place(rng, y0, y1, side_f);
        shape
    }

    /// Corners of the shape relative to its centre, unrotated (u, v).
    fn corners(&self) -> Vec<(f64, f64)> {
        let a = self.half;
        match self.label {
            0 | 1 => vec![(-a, -a), (a, -a), (a, a), (-a, a)],
            2 => (0..3).map(|k| triangle_vertex(a, k)).collect(),
            _ => {
                let b = CROSS_BAR * a;
                vec![
                    (-a, -b),
                    (a, -b),
                    (a, b),
                    (-a, b),
                    (-b, -a),
                    (b, -a),
                    (b, a),
                    (-b, a),
                ]
            }
        }
    }

    /// Rotated bounding box relative to the centre: (min x, max x, min y, max y).
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let mut b = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (u, v) in self.corners() {
            let (x, y) = (u * self.cos - v * self.sin, u * self.sin + v * self.cos);
            b = (b.0.min(x), b.1.max(x), b.2.min(y), b.3.max(y));
        }
        b
    }

    /// Signed distance in pixels from (x, y) to the shape's outline, negative inside.
    ///
    /// Exact for the circle, square and the cross's outside; for the triangle (and the cross's
    /// inside) a close bound that is exact near the edges, which is all the anti-aliasing needs.
    fn signed_distance(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let u = dx * self.cos + dy * self.sin;
        let v = -dx * self.sin + dy * self.cos;
        let a = self.half;
        match self.label {
            0 => (u * u + v * v).sqrt() - a,
            1 => box_distance(u, v, a, a),
            2 => {
                // Equilateral triangle of side 2a: the farthest of its three edge lines, each at
                // the inradius a/√3 along the outward normal (away from the opposite vertex).
                let inradius = a / 3f64.sqrt();
                TRIANGLE_NORMALS
                    .iter()
                    .map(|&(nx, ny)| u * nx + v * ny - inradius)
                    .fold(f64::NEG_INFINITY, f64::max)
            }
            _ => {
                let b = CROSS_BAR * a;
                box_distance(u, v, a, b).min(box_distance(u, v, b, a))
            }
        }
    }

    /// Draws the shape into `image` (row-major, `side × side`): each pixel is covered by the
    /// fraction of it inside the outline, estimated from the signed distance at its centre
    /// (the usual signed-distance anti-aliasing: a one-pixel soft edge).
    fn draw(&self, image: &mut [f32], side: usize, background: f64, foreground: f64) {
        let reach = self
            .corners()
            .iter()
            .map(|&(u, v)| (u * u + v * v).sqrt())
            .fold(self.half, f64::max)
            + 1.0;
        for py in 0..side {
            let y = py as f64 + 0.5;
            for px in 0..side {
                let x = px as f64 + 0.5;
                let far =
                    (x - self.cx) * (x - self.cx) + (y - self.cy) * (y - self.cy) > reach * reach;
                let coverage = if far {
                    0.0
                } else {
                    (0.5 - self.signed_distance(x, y)).clamp(0.0, 1.0)
                };
                image[py * side + px] = (background + (foreground - background) * coverage) as f32;
            }
        }
    }
}

/// Signed distance from (u, v) to an axis-aligned box with half sizes (hu, hv) at the origin.
fn box_distance(u: f64, v: f64, hu: f64, hv: f64) -> f64 {
    let (qu, qv) = (u.abs() - hu, v.abs() - hv);
    let outside = (qu.max(0.0).powi(2) + qv.max(0.0).powi(2)).sqrt();
    outside + qu.max(qv).min(0.0)
}

/// Outward unit normals of the triangle's edges: minus the unit directions of its vertices
/// (at -90°, 30° and 150°, see [`triangle_vertex`]).
const TRIANGLE_NORMALS: [(f64, f64); 3] = [
    (0.0, 1.0),
    (-0.866_025_403_784_438_6, -0.5),
    (0.866_025_403_784_438_6, -0.5),
];

/// Vertex `k` of an equilateral triangle of side `2a` centred on the origin.
fn triangle_vertex(a: f64, k: usize) -> (f64, f64) {
    let circumradius = 2.0 * a / 3f64.sqrt();
    let angle = -PI / 2.0 + k as f64 * TAU / 3.0;
    (circumradius * angle.cos(), circumradius * angle.sin())
}

/// A centre coordinate such that [centre + lo, centre + hi] lies inside [0, side].
fn place(rng: &mut Rng, lo: f64, hi: f64, side: f64) -> f64 {
    for margin in [1.0, 0.0] {
        let (min, max) = (margin - lo, side - margin - hi);
        if min <= max {
            return rng.uniform(min, max);
        }
    }
    // Larger than the image (cannot happen for the sizes drawn): centre it; keep the draw count.
    let _ = rng.next_f64();
    side / 2.0 - (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(d: &Dataset) -> &[usize] {
        match &d.targets {
            Targets::Labels(l) => l,
            Targets::Dense(_) => panic!("expected labels"),
        }
    }

    fn dense(d: &Dataset) -> &Array4<f32> {
        match &d.targets {
            Targets::Dense(t) => t,
            Targets::Labels(_) => panic!("expected dense targets"),
        }
    }

    #[test]
    fn points_are_deterministic_per_seed() {
        for p in PointPattern::ALL {
            let a = points(p, 200, 0.1, 7).unwrap();
            let b = points(p, 200, 0.1, 7).unwrap();
            let c = points(p, 200, 0.1, 8).unwrap();
            assert_eq!(a.inputs, b.inputs, "{p}");
            assert_eq!(labels(&a), labels(&b), "{p}");
            assert_ne!(a.inputs, c.inputs, "{p}");
            assert_ne!(labels(&a), labels(&c), "{p}");
        }
    }

    #[test]
    fn points_shapes_balance_and_ranges() {
        for p in PointPattern::ALL {
            let d = points(p, 301, 0.0, 3).unwrap();
            assert_eq!(d.inputs.shape(), &[301, 2, 1, 1]);
            assert_eq!(d.class_names.len(), p.num_classes());
            let counts = d.class_counts();
            assert_eq!(counts.len(), p.num_classes());
            assert!(
                counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1,
                "{p}: {counts:?}"
            );
            assert!(d.inputs.iter().all(|v| (-1.0..=1.0).contains(v)), "{p}");
            // Interleaved: the first 20 samples hold every class.
            let first: std::collections::HashSet<_> = labels(&d)[..20].iter().collect();
            assert_eq!(first.len(), p.num_classes(), "{p}");
            // Noisy points still stay in a few units.
            let noisy = points(p, 301, 0.2, 3).unwrap();
            assert!(
                noisy.inputs.iter().all(|v| v.is_finite() && v.abs() < 3.0),
                "{p}"
            );
        }
    }

    #[test]
    fn xor_labels_follow_the_quadrant_rule() {
        let d = points(PointPattern::Xor, 400, 0.0, 11).unwrap();
        for (i, &l) in labels(&d).iter().enumerate() {
            let (x, y) = (d.inputs[[i, 0, 0, 0]], d.inputs[[i, 1, 0, 0]]);
            assert_eq!(x.abs(), 0.5);
            assert_eq!(y.abs(), 0.5);
            assert_eq!(l, usize::from((x > 0.0) != (y > 0.0)), "point ({x}, {y})");
        }
        // All four clusters are used, evenly.
        let mut quadrants = [0; 4];
        for i in 0..400 {
            let q = usize::from(d.inputs[[i, 0, 0, 0]] > 0.0) * 2
                + usize::from(d.inputs[[i, 1, 0, 0]] > 0.0);
            quadrants[q] += 1;
        }
        assert_eq!(quadrants, [100; 4]);
    }

    #[test]
    fn circles_separate_by_radius_without_noise() {
        let d = points(PointPattern::Circles, 500, 0.0, 5).unwrap();
        for (i, &l) in labels(&d).iter().enumerate() {
            let r = (d.inputs[[i, 0, 0, 0]].powi(2) + d.inputs[[i, 1, 0, 0]].powi(2)).sqrt();
            if l == 0 {
                assert!(r <= 0.5 + 1e-6)
            } else {
                assert!((0.7 - 1e-6..=1.0 + 1e-6).contains(&r))
            }
        }
    }

    #[test]
    fn noise_moves_the_same_points() {
        let clean = points(PointPattern::Spirals, 100, 0.0, 9).unwrap();
        let noisy = points(PointPattern::Spirals, 100, 0.05, 9).unwrap();
        assert_eq!(labels(&clean), labels(&noisy));
        let max_shift = (&clean.inputs - &noisy.inputs)
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()));
        assert!(max_shift > 0.0 && max_shift < 0.3, "{max_shift}");
    }

    #[test]
    fn pattern_names_round_trip() {
        for p in PointPattern::ALL {
            assert_eq!(p.to_string().parse::<PointPattern>().unwrap(), p);
        }
        assert_eq!(" XOR ".parse::<PointPattern>().unwrap(), PointPattern::Xor);
        assert!("moons".parse::<PointPattern>().is_err());
    }

    #[test]
    fn shapes_are_deterministic_balanced_and_in_range() {
        let a = shapes(101, 28, 0.05, 1).unwrap();
        let b = shapes(101, 28, 0.05, 1).unwrap();
        let c = shapes(101, 28, 0.05, 2).unwrap();
        assert_eq!(a.inputs.shape(), &[101, 1, 28, 28]);
        assert_eq!(a.inputs, b.inputs);
        assert_eq!(labels(&a), labels(&b));
        assert_ne!(a.inputs, c.inputs);
        assert_eq!(a.class_names, SHAPE_CLASSES);
        let counts = a.class_counts();
        assert_eq!(counts, vec![26, 25, 25, 25]);
        assert!(a.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
        // Noise changes pixels, not shapes or labels.
        let clean = shapes(101, 28, 0.0, 1).unwrap();
        assert_eq!(labels(&clean), labels(&a));
        assert_ne!(clean.inputs, a.inputs);
        let mean_diff = (&clean.inputs - &a.inputs).mapv(f32::abs).mean().unwrap();
        assert!(mean_diff < 0.06, "{mean_diff}");
    }

    #[test]
    fn clean_shapes_have_shape_and_background_levels_and_soft_edges() {
        let d = shapes(40, 32, 0.0, 4).unwrap();
        for i in 0..d.len() {
            let img = d.inputs.slice(ndarray::s![i, 0, .., ..]);
            let (lo, hi) = img
                .iter()
                .fold((1f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            assert!(
                lo <= 0.2 && hi >= 0.6 && hi - lo >= 0.4,
                "image {i}: {lo}..{hi}"
            );
            // The border row/column is background (the shape sits inside with a margin).
            let edge_max = img
                .row(0)
                .iter()
                .chain(img.row(31))
                .chain(img.column(0))
                .chain(img.column(31))
                .fold(0f32, |m, &v| m.max(v));
            assert!((edge_max - lo).abs() < 1e-6, "image {i} touches the border");
            // Anti-aliasing: some pixels lie strictly between background and shape.
            let mid = img
                .iter()
                .filter(|&&v| v > lo + 0.05 * (hi - lo) && v < hi - 0.05 * (hi - lo))
                .count();
            assert!(mid > 0, "image {i} has hard edges");
        }
    }

    #[test]
    fn shape_classes_are_not_told_apart_by_brightness() {
        let d = shapes(800, 28, 0.05, 21).unwrap();
        let mut per_class: Vec<Vec<f32>> = vec![Vec::new(); 4];
        for (i, &l) in labels(&d).iter().enumerate() {
            per_class[l].push(d.inputs.slice(ndarray::s![i, .., .., ..]).mean().unwrap());
        }
        let stats: Vec<(f32, f32)> = per_class
            .iter()
            .map(|m| {
                let mean = m.iter().sum::<f32>() / m.len() as f32;
                let var = m.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / m.len() as f32;
                (mean, var.sqrt())
            })
            .collect();
        // Every class's mean brightness lies within one standard deviation of every other's.
        for &(m1, s1) in &stats {
            for &(m2, s2) in &stats {
                assert!((m1 - m2).abs() < s1.min(s2), "{stats:?}");
            }
        }
    }

    #[test]
    fn function_1d_makes_the_curve() {
        for name in FUNCTIONS_1D {
            let d = function_1d(name, 257, 0.0, 5).unwrap();
            let f = function_1d_fn(name).unwrap();
            let t = dense(&d);
            assert_eq!(d.inputs.shape(), &[257, 1, 1, 1]);
            assert_eq!(t.shape(), &[257, 1, 1, 1]);
            assert!(d.class_names.is_empty());
            for i in 0..257 {
                let x = d.inputs[[i, 0, 0, 0]];
                assert!((-1.0..=1.0).contains(&x));
                assert!(
                    (t[[i, 0, 0, 0]] as f64 - f(x as f64)).abs() < 1e-5 || name == "step",
                    "{name} at {x}"
                );
            }
            let again = function_1d(name, 257, 0.0, 5).unwrap();
            assert_eq!(again.inputs, d.inputs);
            assert_ne!(function_1d(name, 257, 0.0, 6).unwrap().inputs, d.inputs);
            let noisy = function_1d(name, 257, 0.1, 5).unwrap();
            assert_eq!(noisy.inputs, d.inputs);
            assert_ne!(dense(&noisy), t);
        }
        let d = function_1d("sine", 100, 0.0, 1).unwrap();
        for i in 0..100 {
            let x = d.inputs[[i, 0, 0, 0]] as f64;
            assert!((dense(&d)[[i, 0, 0, 0]] as f64 - (3.0 * x).sin()).abs() < 1e-5);
        }
    }

    #[test]
    fn odd_arguments_are_errors_not_panics() {
        let invalid = |r: Result<Dataset, DataError>| matches!(r, Err(DataError::Invalid(_)));
        for p in PointPattern::ALL {
            assert!(invalid(points(p, 0, 0.1, 1)));
            assert!(invalid(points(p, usize::MAX, 0.1, 1)));
            assert!(invalid(points(p, 100_000_001, 0.1, 1)));
            assert!(invalid(points(p, 10, -0.1, 1)));
            assert!(invalid(points(p, 10, f64::NAN, 1)));
            assert!(invalid(points(p, 10, f64::INFINITY, 1)));
        }
        assert!(invalid(shapes(0, 28, 0.1, 1)));
        assert!(invalid(shapes(10, 0, 0.1, 1)));
        assert!(invalid(shapes(10, 7, 0.1, 1)));
        assert!(invalid(shapes(10, 513, 0.1, 1)));
        assert!(invalid(shapes(10, usize::MAX, 0.1, 1)));
        assert!(invalid(shapes(usize::MAX, 512, 0.1, 1)));
        assert!(invalid(shapes(1_000_000, 512, 0.1, 1)));
        assert!(invalid(shapes(10, 28, f64::NAN, 1)));
        assert!(invalid(function_1d("sine", 0, 0.1, 1)));
        assert!(invalid(function_1d("sine", usize::MAX, 0.1, 1)));
        assert!(invalid(function_1d("cosine", 10, 0.1, 1)));
        assert!(invalid(function_1d("sine", 10, -1.0, 1)));
        let msg = shapes(10, 513, 0.1, 1).unwrap_err().to_string();
        assert!(msg.contains("512") && msg.contains("513"), "{msg}");
        // Extremes that are allowed still work.
        assert_eq!(shapes(1, 8, 0.0, 1).unwrap().len(), 1);
        assert_eq!(shapes(1, 512, 10.0, 1).unwrap().len(), 1);
        assert_eq!(
            points(PointPattern::Blobs, 1, 10.0, u64::MAX)
                .unwrap()
                .len(),
            1
        );
    }

    /// Renders an 8×8 grid of shapes and a scatter of each point pattern to /tmp, to look at.
    /// `cargo test --lib synthetic -- --ignored`
    #[test]
    #[ignore]
    fn render_previews() {
        let (side, scale, cells) = (32usize, 4usize, 8usize);
        let d = shapes(cells * cells, side, 0.05, 42).unwrap();
        let cell = side * scale + 4;
        let mut grid = image::GrayImage::from_pixel(
            (cells * cell) as u32,
            (cells * cell) as u32,
            image::Luma([128]),
        );
        for i in 0..cells * cells {
            let (gx, gy) = ((i % cells) * cell + 2, (i / cells) * cell + 2);
            for y in 0..side * scale {
                for x in 0..side * scale {
                    let v = d.inputs[[i, 0, y / scale, x / scale]];
                    grid.put_pixel(
                        (gx + x) as u32,
                        (gy + y) as u32,
                        image::Luma([(v * 255.0).round() as u8]),
                    );
                }
            }
        }
        grid.save("/tmp/convlab_shapes_grid.png").unwrap();
        println!("labels: {:?}", labels(&d).chunks(cells).collect::<Vec<_>>());

        let colours = [[220, 60, 40], [40, 120, 220], [40, 170, 60]];
        let px = 300u32;
        let mut plot = image::RgbImage::from_pixel(px * 4, px * 2, image::Rgb([255, 255, 255]));
        for (k, (p, noise)) in PointPattern::ALL
            .into_iter()
            .flat_map(|p| [(p, 0.02), (p, 0.1)])
            .enumerate()
        {
            let (col, row) = (k as u32 / 2, k as u32 % 2);
            let d = points(p, 600, noise, 42).unwrap();
            for (i, &l) in labels(&d).iter().enumerate() {
                let to_px = |v: f32| ((v + 1.2) / 2.4 * px as f32) as i64;
                let (x, y) = (
                    to_px(d.inputs[[i, 0, 0, 0]]),
                    px as i64 - to_px(d.inputs[[i, 1, 0, 0]]),
                );
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (x, y) = (x + dx, y + dy);
                    if (0..px as i64).contains(&x) && (0..px as i64).contains(&y) {
                        plot.put_pixel(
                            col * px + x as u32,
                            row * px + y as u32,
                            image::Rgb(colours[l]),
                        );
                    }
                }
            }
        }
        plot.save("/tmp/convlab_points.png").unwrap();
    }
}
