//! Texture patches for anomaly detection: normal crops to train an autoencoder on, and test
//! crops with synthetic defects plus each defect's ground-truth mask.
//!
//! The lecture's unsupervised part trains an autoencoder on normal images only and finds
//! anomalies where it fails to reconstruct them. No freely licensed defect data set ships as
//! files anywhere we can bundle (MVTec AD is CC BY-NC-SA), so defects are drawn here, from a
//! seed, onto real CC0 textures (scikit-image's brick, grass and gravel, bundled in
//! `assets/textures/`, see `assets/README.md`) or onto a procedural woven fabric.
//!
//! * Normal training crops come from the top three quarters of the texture, test crops from the
//!   bottom quarter, so test images (normal and defective) are parts of the material the model
//!   has never seen.
//! * Half of the test crops get one defect (every fourth of those a second one), the kinds
//!   cycling through [`DefectKind::ALL`]: thin bright or dark **scratches** (curved,
//!   anti-aliased), small dark **spots**, **holes** (near-black, irregular, with a lit rim)
//!   and diffuse **stains** (a colour tint in colour mode, a brightness change in grey).
//!   The mask is 1 where the defect changed the surface noticeably (coverage ≥ ½), else 0.
//! * Colour mode tints the grey textures (brick red, grass green, gravel warm grey) so that
//!   a stain can differ in hue only.
//!
//! [`anomaly_set`] is the entry point for a preset's data section (built-in textures or the
//! user's own folders); [`textures`] makes the built-in set directly.

use std::f64::consts::TAU;

use ndarray::{Array4, Axis};
use serde::{Deserialize, Serialize};

use super::folder::Skipped;
use super::{DataError, DataSpec, Dataset, Targets};
use crate::engine::rng::Rng;

const BRICK_PNG: &[u8] = include_bytes!("../../assets/textures/brick.png");
const GRASS_PNG: &[u8] = include_bytes!("../../assets/textures/grass.png");
const GRAVEL_PNG: &[u8] = include_bytes!("../../assets/textures/gravel.png");

/// Side of the bundled texture images.
pub const TEXTURE_SIDE: usize = 256;
/// Smallest and largest crop side [`textures`] makes.
pub const MIN_CROP: usize = 16;
pub const MAX_CROP: usize = 128;
/// Largest number of values (`n·c·h·w`) a generated set may hold.
pub const MAX_VALUES: usize = super::synthetic::MAX_VALUES;

const STREAM_TRAIN: u64 = 11;
const STREAM_TEST: u64 = 12;
const STREAM_DEFECT: u64 = 13;
const STREAM_NOISE: u64 = 14;

/// The material the crops are cut from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextureKind {
    /// Regular brick wall (skimage `brick`, CC0): the easiest, most regular material.
    Brick,
    /// Grass (skimage `grass`, CC0): fine, irregular; defects are harder to see.
    Grass,
    /// Gravel (skimage `gravel`, CC0): coarse stones with strong shadows.
    Gravel,
    /// A procedural woven fabric (drawn here).
    Weave,
}

impl TextureKind {
    pub const ALL: [TextureKind; 4] = [
        TextureKind::Brick,
        TextureKind::Grass,
        TextureKind::Gravel,
        TextureKind::Weave,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TextureKind::Brick => "brick",
            TextureKind::Grass => "grass",
            TextureKind::Gravel => "gravel",
            TextureKind::Weave => "weave",
        }
    }

    /// Colour of mid-grey in colour mode (RGB gains).
    fn tint(self) -> [f32; 3] {
        match self {
            TextureKind::Brick => [1.25, 0.78, 0.62],
            TextureKind::Grass => [0.72, 1.12, 0.55],
            TextureKind::Gravel => [1.05, 0.98, 0.88],
            TextureKind::Weave => [0.65, 0.78, 1.15],
        }
    }
}

/// The kinds of synthetic defect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefectKind {
    Scratch,
    Spot,
    Hole,
    Stain,
}

impl DefectKind {
    pub const ALL: [DefectKind; 4] = [
        DefectKind::Scratch,
        DefectKind::Spot,
        DefectKind::Hole,
        DefectKind::Stain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DefectKind::Scratch => "scratch",
            DefectKind::Spot => "spot",
            DefectKind::Hole => "hole",
            DefectKind::Stain => "stain",
        }
    }
}

/// Test images for anomaly detection with what is known about them.
#[derive(Clone, Debug)]
pub struct AnomalyTest {
    /// `[n, c, h, w]`, values in [0, 1], same `c, h, w` as the normal images.
    pub inputs: Array4<f32>,
    /// Whether each image is anomalous; `None` when the user's data does not say.
    pub anomalous: Vec<Option<bool>>,
    /// Ground truth `[n, 1, h, w]`: 1 = defect pixel, 0 = normal. All zero for normal images.
    pub masks: Array4<f32>,
    /// Whether `masks[i]` is known (built-in data: always; own data: normal images, and
    /// anomalous images whose mask file was found and valid).
    pub has_mask: Vec<bool>,
    /// Per image: `"normal"`, the defect kind(s) (`"scratch+spot"`), or the user's subfolder name.
    pub kinds: Vec<String>,
    /// Per image: a display name (file name for own data, `"test 7"` for built-in data).
    pub names: Vec<String>,
}

impl AnomalyTest {
    pub fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The scores and labels of the images whose label is known, for ROC/AUROC.
    pub fn labelled(&self, scores: &[f64]) -> (Vec<f64>, Vec<bool>) {
        scores
            .iter()
            .zip(&self.anomalous)
            .filter_map(|(&s, l)| l.map(|l| (s, l)))
            .unzip()
    }
}

/// An anomaly-detection data set: normal images to train on and a labelled test set.
#[derive(Clone, Debug)]
pub struct AnomalySet {
    /// Normal images only; targets are the inputs themselves ([`Targets::Dense`]), so an
    /// autoencoder trains on it with the MSE loss. Split it for validation as any data set.
    pub normal: Dataset,
    pub test: AnomalyTest,
}

/// An anomaly set with the files that were left out (always empty for built-in data).
#[derive(Clone, Debug)]
pub struct AnomalyLoad {
    pub set: AnomalySet,
    pub skipped: Vec<Skipped>,
}

/// How [`textures`] makes its crops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextureOptions {
    pub texture: TextureKind,
    /// Crop side in pixels ([`MIN_CROP`]..=[`MAX_CROP`]); the texture is 256×256.
    pub size: usize,
    /// Normal crops for training (and validation, after the split).
    pub samples: usize,
    /// Test crops; half are defective.
    pub test_samples: usize,
    /// Three tinted channels instead of one grey channel.
    pub color: bool,
    /// Standard deviation of Gaussian pixel noise added to every image.
    pub noise: f64,
    pub seed: u64,
}

/// The whole anomaly set for a preset's data section: built-in textures or the user's own
/// folders. `Ok(None)` when the source is not an anomaly source.
pub fn anomaly_set(spec: &DataSpec) -> Result<Option<AnomalyLoad>, DataError> {
    spec.source.source().anomaly_set(spec.seed)
}

/// The bundled (or procedural) texture as a `TEXTURE_SIDE²` grey image in [0, 1].
pub fn texture_image(kind: TextureKind) -> Result<Vec<f32>, DataError> {
    let bytes = match kind {
        TextureKind::Brick => BRICK_PNG,
        TextureKind::Grass => GRASS_PNG,
        TextureKind::Gravel => GRAVEL_PNG,
        TextureKind::Weave => return Ok(weave()),
    };
    let asset = |reason: String| DataError::Asset {
        name: "textures",
        reason,
    };
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .map_err(|e| asset(format!("{}: {e}", kind.name())))?
        .to_luma8();
    if img.width() as usize != TEXTURE_SIDE || img.height() as usize != TEXTURE_SIDE {
        return Err(asset(format!(
            "{} is {}×{}, expected {TEXTURE_SIDE}×{TEXTURE_SIDE}",
            kind.name(),
            img.width(),
            img.height()
        )));
    }
    Ok(img
        .into_raw()
        .into_iter()
        .map(|v| v as f32 / 255.0)
        .collect())
}

/// A woven fabric: alternating over/under threads with slight irregularity (fixed, seed-free:
/// it is the material, not the sample).
fn weave() -> Vec<f32> {
    let n = TEXTURE_SIDE;
    let period = 8.0;
    let mut rng = Rng::new(0x7E4_7E4);
    // Per-thread brightness and wobble make it look woven rather than printed.
    let rows: Vec<f64> = (0..n / 4 + 2).map(|_| rng.uniform(-0.06, 0.06)).collect();
    let cols: Vec<f64> = (0..n / 4 + 2).map(|_| rng.uniform(-0.06, 0.06)).collect();
    let mut out = vec![0.0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let (fx, fy) = (x as f64 / period, y as f64 / period);
            let (cx, cy) = (fx.floor() as i64, fy.floor() as i64);
            let (ux, uy) = (fx - fx.floor(), fy - fy.floor());
            // Which thread is on top alternates like a checkerboard.
            let warp_on_top = (cx + cy) % 2 == 0;
            let (along, across, shade) = if warp_on_top {
                (uy, ux, cols[(x / 4).min(cols.len() - 1)])
            } else {
                (ux, uy, rows[(y / 4).min(rows.len() - 1)])
            };
            // Thread profile: bright in the middle, dark at the gaps; dips where it goes under.
            let profile = (std::f64::consts::PI * across).sin().powf(0.6);
            let dip = 0.85 + 0.15 * (std::f64::consts::PI * along).sin();
            let fibre = 0.03 * ((x as f64 * 1.7 + y as f64 * 0.9).sin());
            let v = 0.18 + 0.6 * profile * dip + shade + fibre;
            out[y * n + x] = v.clamp(0.0, 1.0) as f32;
        }
    }
    out
}

fn check_crop_size(size: usize) -> Result<(), DataError> {
    if !(MIN_CROP..=MAX_CROP).contains(&size) {
        return Err(DataError::Invalid(format!(
            "texture crops must be {MIN_CROP} to {MAX_CROP} pixels on a side, got {size}"
        )));
    }
    Ok(())
}

fn check_options(o: &TextureOptions) -> Result<(), DataError> {
    check_crop_size(o.size)?;
    if o.samples == 0 {
        return Err(DataError::Invalid(
            "the texture set needs at least one normal sample".into(),
        ));
    }
    let c = if o.color { 3 } else { 1 };
    let per = c * o.size * o.size;
    let total = o
        .samples
        .checked_add(o.test_samples)
        .and_then(|n| n.checked_mul(per * 2));
    if total.is_none_or(|t| t > MAX_VALUES) {
        return Err(DataError::Invalid(format!(
            "{} + {} crops of {per} values is too large (limit {MAX_VALUES} values)",
            o.samples, o.test_samples
        )));
    }
    if !(o.noise.is_finite() && (0.0..=1.0).contains(&o.noise)) {
        return Err(DataError::Invalid(format!(
            "noise must be a number from 0 to 1, got {}",
            o.noise
        )));
    }
    Ok(())
}

/// Rows `[start, end)` of the texture that a region's crops come from.
fn region(test: bool, size: usize) -> (usize, usize) {
    let split = TEXTURE_SIDE - TEXTURE_SIDE.div_ceil(4).max(size);
    if test {
        (split, TEXTURE_SIDE)
    } else {
        (0, split.max(size))
    }
}

/// Crops of every material as a classification set (`source = "texture_classes"`): the
/// handcrafted, evolved and learned features of the lecture compared on the same images.
/// Each crop gets its own contrast and brightness (`jitter`: contrast × 1 ± jitter,
/// brightness ± jitter/2, clamped to [0, 1]), so a material must be told by its texture,
/// not by its mean grey, and Gaussian noise of standard deviation `noise`.
pub fn texture_classes(
    samples_per_class: usize,
    size: usize,
    jitter: f64,
    noise: f64,
    seed: u64,
) -> Result<Dataset, DataError> {
    check_crop_size(size)?;
    let kinds = TextureKind::ALL;
    let n = samples_per_class
        .checked_mul(kinds.len())
        .filter(|&n| n > 0 && n.saturating_mul(size * size) <= MAX_VALUES)
        .ok_or_else(|| {
            DataError::Invalid(format!(
                "{samples_per_class} crops per material of {size}×{size} is not a set ConvLab \
                 can hold (1 to {} values)",
                MAX_VALUES
            ))
        })?;
    let mut rng = Rng::derive(seed, STREAM_TRAIN);
    let mut values = Vec::with_capacity(n * size * size);
    let mut labels = Vec::with_capacity(n);
    let textures: Vec<Vec<f32>> = kinds
        .iter()
        .map(|&k| texture_image(k))
        .collect::<Result<_, _>>()?;
    for i in 0..n {
        // Interleaved classes, so any prefix of the set is balanced.
        let class = i % kinds.len();
        let img = crop(&textures[class], (0, TEXTURE_SIDE), size, &mut rng);
        let contrast = rng.uniform(1.0 - jitter, 1.0 + jitter) as f32;
        let shift = rng.uniform(-jitter / 2.0, jitter / 2.0) as f32;
        let mean = img.iter().sum::<f32>() / img.len() as f32;
        values.extend(img.iter().map(|&v| {
            let e = if noise > 0.0 {
                (noise * rng.normal()) as f32
            } else {
                0.0
            };
            ((v - mean) * contrast + mean + shift + e).clamp(0.0, 1.0)
        }));
        labels.push(class);
    }
    Ok(Dataset {
        name: "texture classes".into(),
        inputs: Array4::from_shape_vec((n, 1, size, size), values)
            .map_err(|e| DataError::Invalid(e.to_string()))?,
        targets: Targets::Labels(labels),
        class_names: kinds.iter().map(|k| k.name().to_string()).collect(),
    })
}

/// Cuts a random `size²` crop (random flips, ±6 % gain) from rows `rows` of `tex`.
fn crop(tex: &[f32], rows: (usize, usize), size: usize, rng: &mut Rng) -> Vec<f32> {
    let n = TEXTURE_SIDE;
    let y0 = rows.0 + rng.below(rows.1 - rows.0 - size + 1);
    let x0 = rng.below(n - size + 1);
    let (flip_x, flip_y) = (rng.bernoulli(0.5), rng.bernoulli(0.5));
    let gain = rng.uniform(0.94, 1.06) as f32;
    let mut out = vec![0.0; size * size];
    for y in 0..size {
        for x in 0..size {
            let sy = if flip_y { size - 1 - y } else { y };
            let sx = if flip_x { size - 1 - x } else { x };
            out[y * size + x] = (tex[(y0 + sy) * n + x0 + sx] * gain).clamp(0.0, 1.0);
        }
    }
    out
}

/// Grey crop → `[c, h, w]` planes (tinted in colour mode).
fn to_planes(grey: &[f32], color: bool, tint: [f32; 3]) -> Vec<f32> {
    if !color {
        return grey.to_vec();
    }
    let mut out = Vec::with_capacity(grey.len() * 3);
    for g in tint {
        out.extend(grey.iter().map(|&v| (v * g).clamp(0.0, 1.0)));
    }
    out
}

/// Makes the built-in texture anomaly set; see the module docs for what is drawn.
pub fn textures(o: TextureOptions) -> Result<AnomalySet, DataError> {
    check_options(&o)?;
    let tex = texture_image(o.texture)?;
    let (s, c) = (o.size, if o.color { 3 } else { 1 });
    let tint = o.texture.tint();
    let mut noise_rng = Rng::derive(o.seed, STREAM_NOISE);

    let mut rng = Rng::derive(o.seed, STREAM_TRAIN);
    let mut normal = Vec::with_capacity(o.samples * c * s * s);
    for _ in 0..o.samples {
        let mut img = to_planes(&crop(&tex, region(false, s), s, &mut rng), o.color, tint);
        add_noise(&mut img, o.noise, &mut noise_rng);
        normal.extend(img);
    }
    let inputs = Array4::from_shape_vec((o.samples, c, s, s), normal).expect("sizes checked");

    let n = o.test_samples;
    let mut rng = Rng::derive(o.seed, STREAM_TEST);
    let mut defect_rng = Rng::derive(o.seed, STREAM_DEFECT);
    // Which test images are defective: every other one, in a seeded order.
    let mut defective: Vec<bool> = (0..n).map(|i| i % 2 == 1).collect();
    rng.shuffle(&mut defective);
    let mut test = Vec::with_capacity(n * c * s * s);
    let mut masks = Vec::with_capacity(n * s * s);
    let mut kinds = Vec::with_capacity(n);
    let mut next_kind = 0usize;
    for &bad in &defective {
        let mut img = to_planes(&crop(&tex, region(true, s), s, &mut rng), o.color, tint);
        let mut mask = vec![0.0f32; s * s];
        let mut names = Vec::new();
        if bad {
            let count = if next_kind % 4 == 3 { 2 } else { 1 };
            for _ in 0..count {
                let kind = DefectKind::ALL[next_kind % 4];
                next_kind += 1;
                draw_defect(&mut img, &mut mask, c, s, kind, &mut defect_rng);
                names.push(kind.name());
            }
        }
        add_noise(&mut img, o.noise, &mut noise_rng);
        test.extend(img);
        masks.extend(mask);
        kinds.push(if bad {
            names.join("+")
        } else {
            "normal".to_string()
        });
    }
    let test_inputs = Array4::from_shape_vec((n, c, s, s), test).expect("sizes checked");
    let masks = Array4::from_shape_vec((n, 1, s, s), masks).expect("sizes checked");
    let name = format!("textures ({})", o.texture.name());
    Ok(AnomalySet {
        normal: Dataset {
            name: name.clone(),
            targets: Targets::Dense(inputs.clone()),
            inputs,
            class_names: Vec::new(),
        },
        test: AnomalyTest {
            inputs: test_inputs,
            anomalous: defective.iter().map(|&b| Some(b)).collect(),
            masks,
            has_mask: vec![true; n],
            kinds,
            names: (0..n).map(|i| format!("test {i}")).collect(),
        },
    })
}

/// Only the normal images of [`textures`], for training (what `data::load` returns).
pub fn texture_normals(o: TextureOptions) -> Result<Dataset, DataError> {
    Ok(textures(TextureOptions {
        test_samples: 0,
        ..o
    })?
    .normal)
}

/// Gaussian noise of standard deviation `std`, clipped to [0, 1].
pub(crate) fn add_noise(values: &mut [f32], std: f64, rng: &mut Rng) {
    if std <= 0.0 {
        return;
    }
    for v in values {
        *v = (*v as f64 + std * rng.normal()).clamp(0.0, 1.0) as f32;
    }
}

/// Points of a quadratic Bézier curve from `a` over `b` to `c`, about half a pixel apart.
pub(crate) fn bezier(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> Vec<(f64, f64)> {
    let len = ((b.0 - a.0).hypot(b.1 - a.1) + (c.0 - b.0).hypot(c.1 - b.1)).max(1.0);
    let steps = (len * 2.0).ceil() as usize;
    (0..=steps)
        .map(|i| {
            let t = i as f64 / steps as f64;
            let u = 1.0 - t;
            (
                u * u * a.0 + 2.0 * u * t * b.0 + t * t * c.0,
                u * u * a.1 + 2.0 * u * t * b.1 + t * t * c.1,
            )
        })
        .collect()
}

/// A wobbly closed outline: radius at angle θ relative to the mean radius.
#[derive(Clone, Debug)]
pub(crate) struct Blob {
    pub cx: f64,
    pub cy: f64,
    pub r: f64,
    /// Elongation (ry / rx) and orientation.
    pub aspect: f64,
    pub angle: f64,
    harmonics: [(f64, f64); 3],
}

impl Blob {
    pub fn random(cx: f64, cy: f64, r: f64, wobble: f64, rng: &mut Rng) -> Blob {
        Blob {
            cx,
            cy,
            r,
            aspect: rng.uniform(0.6, 1.0),
            angle: rng.uniform(0.0, TAU),
            harmonics: [
                (rng.uniform(-wobble, wobble), rng.uniform(0.0, TAU)),
                (rng.uniform(-wobble, wobble) * 0.6, rng.uniform(0.0, TAU)),
                (rng.uniform(-wobble, wobble) * 0.3, rng.uniform(0.0, TAU)),
            ],
        }
    }

    /// Approximate signed distance in pixels: negative inside.
    pub fn distance(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let (sa, ca) = self.angle.sin_cos();
        let u = dx * ca + dy * sa;
        let v = (-dx * sa + dy * ca) / self.aspect;
        let rho = u.hypot(v);
        let theta = v.atan2(u);
        let k = 1.0
            + self
                .harmonics
                .iter()
                .enumerate()
                .map(|(i, &(a, p))| a * ((i + 2) as f64 * theta + p).cos())
                .sum::<f64>();
        // Scale back roughly to pixels along the short axis.
        (rho - self.r * k) * self.aspect.sqrt()
    }

    /// Pixel bounding box (clamped to the image), inclusive ranges.
    pub fn bounds(&self, side: usize, margin: f64) -> (usize, usize, usize, usize) {
        let reach = self.r * 1.6 + margin;
        let lo = |v: f64| (v - reach).floor().max(0.0) as usize;
        let hi = |v: f64| ((v + reach).ceil().max(0.0) as usize).min(side - 1);
        (lo(self.cx), hi(self.cx), lo(self.cy), hi(self.cy))
    }
}

/// Draws one defect into `img` (`[c, s, s]`) and marks it in `mask` (`[s, s]`).
fn draw_defect(
    img: &mut [f32],
    mask: &mut [f32],
    c: usize,
    s: usize,
    kind: DefectKind,
    rng: &mut Rng,
) {
    let sf = s as f64;
    let scale = sf / 32.0;
    let plane = s * s;
    // Blend every channel of pixel p towards `to` (per channel) by alpha.
    let blend = |img: &mut [f32], p: usize, alpha: f64, to: &dyn Fn(usize, f32) -> f32| {
        for ch in 0..c {
            let v = img[ch * plane + p];
            let t = to(ch, v);
            img[ch * plane + p] =
                (v as f64 * (1.0 - alpha) + t as f64 * alpha).clamp(0.0, 1.0) as f32;
        }
    };
    match kind {
        DefectKind::Scratch => {
            let len = rng.uniform(0.35, 0.75) * sf;
            let dir = rng.uniform(0.0, TAU);
            let (mx, my) = (rng.uniform(0.3, 0.7) * sf, rng.uniform(0.3, 0.7) * sf);
            let (dx, dy) = (dir.cos() * len / 2.0, dir.sin() * len / 2.0);
            let bend = rng.uniform(-0.25, 0.25) * len;
            let a = (mx - dx, my - dy);
            let c2 = (mx + dx, my + dy);
            let b = (mx - dir.sin() * bend, my + dir.cos() * bend);
            let pts = bezier(a, b, c2);
            let half = rng.uniform(0.45, 0.9) * scale.max(1.0);
            let level = if rng.bernoulli(0.65) {
                rng.uniform(0.85, 1.0) as f32
            } else {
                rng.uniform(0.0, 0.12) as f32
            };
            for y in 0..s {
                for x in 0..s {
                    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                    let d = pts
                        .iter()
                        .map(|&(qx, qy)| (px - qx).hypot(py - qy))
                        .fold(f64::INFINITY, f64::min);
                    let alpha = (half + 0.5 - d).clamp(0.0, 1.0);
                    if alpha > 0.0 {
                        blend(img, y * s + x, alpha * 0.95, &|_, _| level);
                        if alpha >= 0.5 {
                            mask[y * s + x] = 1.0;
                        }
                    }
                }
            }
        }
        DefectKind::Spot | DefectKind::Hole | DefectKind::Stain => {
            let r = match kind {
                DefectKind::Spot => rng.uniform(2.2, 3.6),
                DefectKind::Hole => rng.uniform(2.5, 4.5),
                _ => rng.uniform(3.5, 6.5),
            } * scale;
            let margin = r + 1.0;
            let cx = rng.uniform(margin, (sf - margin).max(margin));
            let cy = rng.uniform(margin, (sf - margin).max(margin));
            let blob = Blob::random(cx, cy, r, 0.18, rng);
            let (x0, x1, y0, y1) = blob.bounds(s, 2.0);
            // Stain colour (colour mode) or brightness factor (grey).
            let stains: [[f32; 3]; 4] = [
                [0.55, 0.30, 0.10],
                [0.20, 0.30, 0.75],
                [0.15, 0.55, 0.20],
                [0.70, 0.20, 0.45],
            ];
            let stain = stains[rng.below(stains.len())];
            let grey_gain = if rng.bernoulli(0.5) { 0.45 } else { 1.7 } as f32;
            let strength = rng.uniform(0.65, 0.9);
            let spot_level = rng.uniform(0.0, 0.1) as f32;
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let d = blob.distance(x as f64 + 0.5, y as f64 + 0.5);
                    let p = y * s + x;
                    match kind {
                        DefectKind::Spot => {
                            let alpha = (0.5 - d).clamp(0.0, 1.0);
                            if alpha > 0.0 {
                                blend(img, p, alpha * 0.95, &|_, v| v * 0.15 + spot_level);
                                if alpha >= 0.5 {
                                    mask[p] = 1.0;
                                }
                            }
                        }
                        DefectKind::Hole => {
                            let inside = (0.5 - d).clamp(0.0, 1.0);
                            // A lit rim just outside the hole's edge.
                            let rim = (1.0 - (d - 0.8).abs()).clamp(0.0, 1.0) * 0.6;
                            if rim > 0.0 && inside < 1.0 {
                                blend(img, p, rim, &|_, _| 0.92);
                            }
                            if inside > 0.0 {
                                // Darker towards the centre, like depth.
                                let depth = (-d / r).clamp(0.0, 1.0);
                                let level = (0.1 - 0.08 * depth) as f32;
                                blend(img, p, inside, &|_, _| level);
                                if inside >= 0.5 {
                                    mask[p] = 1.0;
                                }
                            }
                        }
                        _ => {
                            // Soft-edged: full strength inside, fading over ~30 % of r.
                            let t = (0.5 - d / (0.3 * r).max(1.0)).clamp(0.0, 1.0);
                            let alpha = t * strength;
                            if alpha > 0.0 {
                                if c == 3 {
                                    blend(img, p, alpha, &|ch, v| {
                                        // Keep some of the texture's shading under the stain.
                                        let lum = v / 0.6;
                                        stain[ch] * lum.clamp(0.3, 1.4)
                                    });
                                } else {
                                    blend(img, p, alpha, &|_, v| v * grey_gain);
                                }
                                if t >= 0.5 {
                                    mask[p] = 1.0;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `[n, c, h, w]` images joined along the sample axis (for previews and tests).
pub fn stack(parts: &[&Array4<f32>]) -> Option<Array4<f32>> {
    let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
    ndarray::concatenate(Axis(0), &views).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(texture: TextureKind, color: bool) -> TextureOptions {
        TextureOptions {
            texture,
            size: 32,
            samples: 40,
            test_samples: 40,
            color,
            noise: 0.0,
            seed: 5,
        }
    }

    #[test]
    fn textures_are_deterministic_and_well_formed() {
        for &t in &TextureKind::ALL {
            for color in [false, true] {
                let a = textures(opts(t, color)).unwrap();
                let b = textures(opts(t, color)).unwrap();
                assert_eq!(a.normal.inputs, b.normal.inputs);
                assert_eq!(a.test.inputs, b.test.inputs);
                assert_eq!(a.test.masks, b.test.masks);
                let c = if color { 3 } else { 1 };
                assert_eq!(a.normal.inputs.shape(), &[40, c, 32, 32]);
                assert_eq!(a.test.inputs.shape(), &[40, c, 32, 32]);
                assert_eq!(a.test.masks.shape(), &[40, 1, 32, 32]);
                assert!(a.normal.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
                let bad = a
                    .test
                    .anomalous
                    .iter()
                    .filter(|l| **l == Some(true))
                    .count();
                assert_eq!(bad, 20);
                for i in 0..40 {
                    let area: f32 = a.test.masks.index_axis(Axis(0), i).sum();
                    if a.test.anomalous[i] == Some(true) {
                        assert!(area >= 3.0, "{t:?} {i} {} area {area}", a.test.kinds[i]);
                        assert_ne!(a.test.kinds[i], "normal");
                    } else {
                        assert_eq!(area, 0.0);
                        assert_eq!(a.test.kinds[i], "normal");
                    }
                }
            }
        }
    }

    #[test]
    fn odd_options_are_errors() {
        for bad in [
            TextureOptions {
                size: 8,
                ..opts(TextureKind::Brick, false)
            },
            TextureOptions {
                size: 300,
                ..opts(TextureKind::Brick, false)
            },
            TextureOptions {
                samples: 0,
                ..opts(TextureKind::Brick, false)
            },
            TextureOptions {
                noise: f64::NAN,
                ..opts(TextureKind::Brick, false)
            },
            TextureOptions {
                samples: usize::MAX / 2,
                ..opts(TextureKind::Brick, false)
            },
        ] {
            assert!(textures(bad).is_err(), "{bad:?}");
        }
    }

    /// Writes a preview grid per texture to /tmp: normal crops, defective crops, their masks.
    /// `cargo test --release --lib textures -- --ignored`
    #[test]
    #[ignore]
    fn render_previews() {
        for &t in &TextureKind::ALL {
            let mut o = opts(t, true);
            o.size = 64;
            o.noise = 0.01;
            let a = textures(o).unwrap();
            let s = 64usize;
            let cols = 8usize;
            let cell = s + 2;
            let mut grid = image::RgbImage::new((cols * cell) as u32, (3 * cell) as u32);
            let bad: Vec<usize> = (0..40)
                .filter(|&i| a.test.anomalous[i] == Some(true))
                .collect();
            let good: Vec<usize> = (0..40)
                .filter(|&i| a.test.anomalous[i] == Some(false))
                .collect();
            for k in 0..cols {
                for y in 0..s {
                    for x in 0..s {
                        let px = |arr: &Array4<f32>, i: usize, ch: usize| {
                            (arr[[i, ch.min(arr.shape()[1] - 1), y, x]] * 255.0) as u8
                        };
                        let g = good[k];
                        let b = bad[k];
                        let put = |grid: &mut image::RgbImage, row: usize, rgb: [u8; 3]| {
                            grid.put_pixel(
                                (k * cell + x) as u32,
                                (row * cell + y) as u32,
                                image::Rgb(rgb),
                            )
                        };
                        put(
                            &mut grid,
                            0,
                            [
                                px(&a.test.inputs, g, 0),
                                px(&a.test.inputs, g, 1),
                                px(&a.test.inputs, g, 2),
                            ],
                        );
                        put(
                            &mut grid,
                            1,
                            [
                                px(&a.test.inputs, b, 0),
                                px(&a.test.inputs, b, 1),
                                px(&a.test.inputs, b, 2),
                            ],
                        );
                        let m = px(&a.test.masks, b, 0);
                        put(&mut grid, 2, [m, m, m]);
                    }
                }
            }
            grid.save(format!("/tmp/convlab_textures_{}.png", t.name()))
                .unwrap();
            println!(
                "{}: {:?}",
                t.name(),
                bad.iter()
                    .take(cols)
                    .map(|&i| &a.test.kinds[i])
                    .collect::<Vec<_>>()
            );
        }
    }
}
