//! Patch classification (`[data.patches]` in a preset): a segmentation set (images with
//! per-pixel masks) turned into a classification set whose samples are small square patches
//! and whose label is the class of the patch's centre pixel — the "naive", patch-based way to
//! segment with a convnet (Liskowski and Krawiec 2016 labelled retinal-vessel pixels this
//! way). A whole image is then segmented by classifying the patch around every pixel
//! ([`crate::inspect::patches`]).
//!
//! The split happens on the whole images first (the same images a fully convolutional net
//! on the same data trains and validates on), and only then are patches cut, so no
//! validation patch comes from a training image. Centres are drawn uniformly over each
//! image with a seeded generator; pixels outside the image repeat the border pixel (the
//! same rule the sliding segmentation uses).

use ndarray::{Array4, ArrayView3};
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, Targets};
use crate::engine::rng::Rng;

/// Largest patch side the settings accept.
pub const MAX_PATCH: usize = 63;
/// Most patches cut from one image.
pub const MAX_PER_IMAGE: usize = 4096;

/// How patches are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Patches {
    /// Side of a patch in pixels (odd, so that it has a centre pixel).
    pub size: usize,
    /// Patches per image, centres drawn uniformly.
    pub per_image: usize,
}

impl Default for Patches {
    fn default() -> Self {
        Patches {
            size: 15,
            per_image: 64,
        }
    }
}

/// A `[data.patches]` setting or a data set the task cannot use.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PatchError {
    #[error("patches.size is {0}; it must be odd, from 3 to {MAX_PATCH}")]
    Size(usize),
    #[error("patches.per_image is {0}; it must be from 1 to {MAX_PER_IMAGE}")]
    PerImage(usize),
    #[error(
        "patch classification needs a segmentation set (images with masks), e.g. source = \"vessels\""
    )]
    NotMasks,
}

impl Patches {
    pub fn validate(&self) -> Result<(), PatchError> {
        if self.size < 3 || self.size > MAX_PATCH || self.size.is_multiple_of(2) {
            return Err(PatchError::Size(self.size));
        }
        if !(1..=MAX_PER_IMAGE).contains(&self.per_image) {
            return Err(PatchError::PerImage(self.per_image));
        }
        Ok(())
    }

    /// The patch classification set cut from the images and masks of `images` (seeded by
    /// `seed`): `per_image` patches per image, labelled with their centre pixel's class.
    pub fn cut(&self, images: &Dataset, seed: u64) -> Result<Dataset, PatchError> {
        self.validate()?;
        let Targets::Dense(masks) = &images.targets else {
            return Err(PatchError::NotMasks);
        };
        let (n, c, h, w) = images.inputs.dim();
        let classes = mask_classes(masks);
        let mut rng = Rng::derive(seed, 0x09A7_C4E5);
        let k = self.size;
        let count = n * self.per_image;
        let mut data = Vec::with_capacity(count * c * k * k);
        let mut labels = Vec::with_capacity(count);
        for i in 0..n {
            let img = images.inputs.index_axis(ndarray::Axis(0), i);
            for _ in 0..self.per_image {
                let (y, x) = (rng.below(h), rng.below(w));
                push_patch(&mut data, img, y, x, k);
                labels.push(classes(i, y, x));
            }
        }
        let inputs =
            Array4::from_shape_vec((count, c, k, k), data).expect("the patches fill their array");
        let class_names = match masks.shape()[1] {
            1 => vec!["background".to_string(), "foreground".to_string()],
            m => (0..m).map(|j| format!("class {j}")).collect(),
        };
        Ok(Dataset {
            name: format!("{}×{} patches of {}", k, k, images.name),
            inputs,
            targets: Targets::Labels(labels),
            class_names,
        })
    }
}

/// The class of a mask pixel: for a one-channel mask, 1 where it is at least ½; for one-hot
/// masks, the channel with the largest value.
fn mask_classes(masks: &Array4<f32>) -> impl Fn(usize, usize, usize) -> usize + '_ {
    move |i, y, x| {
        let m = masks.shape()[1];
        if m == 1 {
            usize::from(masks[[i, 0, y, x]] >= 0.5)
        } else {
            (0..m)
                .max_by(|&a, &b| masks[[i, a, y, x]].total_cmp(&masks[[i, b, y, x]]))
                .unwrap_or(0)
        }
    }
}

/// Appends the `k × k` patch of `img` (`[c, h, w]`) centred on `(y, x)` in CHW order; rows
/// and columns outside the image repeat the nearest border pixel.
pub fn push_patch(out: &mut Vec<f32>, img: ArrayView3<'_, f32>, y: usize, x: usize, k: usize) {
    let (c, h, w) = img.dim();
    let r = (k / 2) as isize;
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    for ch in 0..c {
        for dy in -r..=r {
            let yy = clamp(y as isize + dy, h);
            for dx in -r..=r {
                out.push(img[[ch, yy, clamp(x as isize + dx, w)]]);
            }
        }
    }
}
