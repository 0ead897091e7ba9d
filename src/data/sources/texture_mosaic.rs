//! Texture mosaics with known region masks (`source = "texture_mosaic"`), for unsupervised
//! segmentation: every image is a Voronoi partition of the square into `regions` cells
//! around seeded random sites, each cell filled with a crop of one of the bundled textures
//! (brick, grass, gravel, or the procedural weave; see [`crate::data::textures`]). The mask
//! of an image is the texture of each pixel (one-hot `[n, K, h, w]`, class = position in
//! `textures`). Cells take the textures in a shuffled cycle, so an image with at least as
//! many cells as textures shows every texture.
//!
//! With `equalize = true` (the default) every texture is first shifted and scaled to the
//! same mean and standard deviation over its whole image, so the regions differ in texture
//! only, not in brightness: what separates them must be local structure.

use serde::{Deserialize, Serialize};

use super::{FolderChoice, InvalidOption, Source, check_noise};
use crate::data::segmentation::{MAX_SIDE, MIN_SIDE, one_hot};
use crate::data::textures::{TEXTURE_SIDE, TextureKind, texture_image};
use crate::data::{DataError, Dataset, Targets};
use crate::engine::rng::Rng;

const STREAM_LAYOUT: u64 = 31;
const STREAM_NOISE: u64 = 32;
/// Most Voronoi cells per image.
pub const MAX_REGIONS: usize = 16;
/// The mean and standard deviation equalised textures get.
const EQUAL_MEAN: f64 = 0.5;
const EQUAL_STD: f64 = 0.16;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextureMosaic {
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Image side in pixels (at most the textures' 256).
    #[serde(default = "default_size")]
    pub size: usize,
    /// The textures, in class order (2 to 4 different ones).
    #[serde(default = "default_textures")]
    pub textures: Vec<TextureKind>,
    /// Voronoi cells per image.
    #[serde(default = "default_regions")]
    pub regions: usize,
    /// Same mean brightness and contrast for every texture.
    #[serde(default = "default_true")]
    pub equalize: bool,
    #[serde(default)]
    pub noise: f64,
}

fn default_samples() -> usize {
    200
}
fn default_size() -> usize {
    64
}
fn default_textures() -> Vec<TextureKind> {
    vec![TextureKind::Brick, TextureKind::Grass, TextureKind::Gravel]
}
fn default_regions() -> usize {
    5
}
fn default_true() -> bool {
    true
}

impl Default for TextureMosaic {
    fn default() -> Self {
        TextureMosaic {
            samples: default_samples(),
            size: default_size(),
            textures: default_textures(),
            regions: default_regions(),
            equalize: true,
            noise: 0.0,
        }
    }
}

/// A texture image, equalised to [`EQUAL_MEAN`] ± [`EQUAL_STD`] when asked.
fn material(kind: TextureKind, equalize: bool) -> Result<Vec<f32>, DataError> {
    let img = texture_image(kind)?;
    if !equalize {
        return Ok(img);
    }
    let n = img.len() as f64;
    let mean = img.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = img
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt().max(1e-6);
    Ok(img
        .iter()
        .map(|&v| (EQUAL_MEAN + EQUAL_STD * (f64::from(v) - mean) / std).clamp(0.0, 1.0) as f32)
        .collect())
}

/// `n` mosaics of `size`×`size` from the options, seeded.
pub fn texture_mosaics(o: &TextureMosaic, seed: u64) -> Result<Dataset, DataError> {
    o.validate()
        .map_err(|e| DataError::Invalid(e.to_string()))?;
    let (n, size) = (o.samples, o.size);
    let k = o.textures.len();
    let materials: Vec<Vec<f32>> = o
        .textures
        .iter()
        .map(|&t| material(t, o.equalize))
        .collect::<Result<_, _>>()?;
    let mut rng = Rng::derive(seed, STREAM_LAYOUT);
    let mut noise_rng = Rng::derive(seed, STREAM_NOISE);
    let plane = size * size;
    let mut images = Vec::with_capacity(n * plane);
    let mut labels = Vec::with_capacity(n * plane);
    let sf = size as f64;
    for _ in 0..n {
        let sites: Vec<(f64, f64)> = (0..o.regions)
            .map(|_| (rng.uniform(0.0, sf), rng.uniform(0.0, sf)))
            .collect();
        // Textures in a shuffled cycle over the cells.
        let mut cycle: Vec<usize> = (0..k).collect();
        rng.shuffle(&mut cycle);
        let class_of: Vec<usize> = (0..o.regions).map(|i| cycle[i % k]).collect();
        // Where each texture's crop starts in its image (one crop per texture and image).
        let offsets: Vec<(usize, usize)> = (0..k)
            .map(|_| {
                (
                    rng.below(TEXTURE_SIDE - size + 1),
                    rng.below(TEXTURE_SIDE - size + 1),
                )
            })
            .collect();
        for y in 0..size {
            for x in 0..size {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let cell = sites
                    .iter()
                    .enumerate()
                    .map(|(i, &(sx, sy))| (i, (px - sx).powi(2) + (py - sy).powi(2)))
                    .fold((0, f64::INFINITY), |b, c| if c.1 < b.1 { c } else { b })
                    .0;
                let c = class_of[cell];
                let (ox, oy) = offsets[c];
                let mut v = f64::from(materials[c][(oy + y) * TEXTURE_SIDE + ox + x]);
                if o.noise > 0.0 {
                    v += o.noise * noise_rng.normal();
                }
                images.push(v.clamp(0.0, 1.0) as f32);
                labels.push(c as u8);
            }
        }
    }
    let inputs = ndarray::Array4::from_shape_vec((n, 1, size, size), images)
        .map_err(|e| DataError::Invalid(e.to_string()))?;
    Ok(Dataset {
        name: "texture mosaic".into(),
        inputs,
        targets: Targets::Dense(one_hot(&labels, n, k, size, size)),
        class_names: o.textures.iter().map(|t| t.name().to_string()).collect(),
    })
}

impl Source for TextureMosaic {
    fn title() -> &'static str {
        "Texture mosaics (unsupervised segmentation)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Self::default())
    }
    fn label(&self) -> String {
        let names: Vec<&str> = self.textures.iter().map(|t| t.name()).collect();
        format!("texture mosaic ({})", names.join(", "))
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)?;
        if !(MIN_SIDE..=MAX_SIDE.min(TEXTURE_SIDE)).contains(&self.size) {
            return Err(InvalidOption {
                key: "size",
                reason: format!(
                    "must be {MIN_SIDE} to {}, got {}",
                    MAX_SIDE.min(TEXTURE_SIDE),
                    self.size
                ),
            });
        }
        let k = self.textures.len();
        let mut distinct = self.textures.clone();
        distinct.sort_by_key(|t| t.name());
        distinct.dedup();
        if !(2..=TextureKind::ALL.len()).contains(&k) || distinct.len() != k {
            return Err(InvalidOption {
                key: "textures",
                reason: format!(
                    "must name 2 to {} different textures, got {k}",
                    TextureKind::ALL.len()
                ),
            });
        }
        if !(1..=MAX_REGIONS).contains(&self.regions) {
            return Err(InvalidOption {
                key: "regions",
                reason: format!("must be 1 to {MAX_REGIONS}, got {}", self.regions),
            });
        }
        super::check_image_count(self.samples, self.size, k + 1)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        texture_mosaics(self, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::segmentation::class_map;

    #[test]
    fn masks_mark_the_texture_of_every_pixel() {
        let o = TextureMosaic {
            samples: 6,
            size: 48,
            equalize: false,
            ..TextureMosaic::default()
        };
        let a = texture_mosaics(&o, 4).unwrap();
        let b = texture_mosaics(&o, 4).unwrap();
        assert_eq!(a.inputs, b.inputs, "same seed, same set");
        assert_ne!(a.inputs, texture_mosaics(&o, 5).unwrap().inputs);
        let Targets::Dense(t) = &a.targets else {
            panic!("masks")
        };
        assert_eq!(t.shape(), &[6, 3, 48, 48]);
        let classes = class_map(t);
        // Every pixel's value is its texture's pixel at some offset: the raw textures differ
        // in mean brightness, and so do the regions.
        let mut sums = [0.0f64; 3];
        let mut counts = [0usize; 3];
        for ((s, y, x), &c) in classes.indexed_iter() {
            sums[c as usize] += f64::from(a.inputs[[s, 0, y, x]]);
            counts[c as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        let means: Vec<f64> = (0..3).map(|c| sums[c] / counts[c] as f64).collect();
        let whole: Vec<f64> = o
            .textures
            .iter()
            .map(|&t| {
                let img = texture_image(t).unwrap();
                img.iter().map(|&v| f64::from(v)).sum::<f64>() / img.len() as f64
            })
            .collect();
        for c in 0..3 {
            assert!(
                (means[c] - whole[c]).abs() < 0.06,
                "region {c}: {means:?} vs textures {whole:?}"
            );
        }
        // Equalised: the region means come together.
        let eq = texture_mosaics(
            &TextureMosaic {
                equalize: true,
                ..o.clone()
            },
            4,
        )
        .unwrap();
        let Targets::Dense(te) = &eq.targets else {
            panic!("masks")
        };
        assert_eq!(te, t, "the layout does not depend on equalising");
        assert!(
            TextureMosaic {
                textures: vec![TextureKind::Brick],
                ..o.clone()
            }
            .validate()
            .is_err()
        );
        assert!(TextureMosaic { size: 300, ..o }.validate().is_err());
    }
}
