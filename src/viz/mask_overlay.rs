//! A sample with its mask painted over it, for the data panel's thumbnails of segmentation
//! and anomaly sets: the image in grey (or its colours), each pixel of a class other than
//! background tinted with that class's colour, so image and mask are seen together.

use ndarray::Array4;

use super::views::segmentation::CLASS_COLORS;
use super::{Colormap, Rgba, sample_rgba};

/// How strongly a mask colour covers the image (0 = invisible, 1 = opaque).
pub const MASK_OPACITY: f32 = 0.5;

/// The class of pixel `(y, x)` of sample `index` of `masks`: one channel holds 0/1 (a
/// binary or defect mask, class 1 above ½), several channels are one-hot (the largest wins).
pub fn mask_class(masks: &Array4<f32>, index: usize, y: usize, x: usize) -> usize {
    let channels = masks.shape()[1];
    if channels == 1 {
        return usize::from(masks[[index, 0, y, x]] > 0.5);
    }
    (0..channels)
        .max_by(|&a, &b| masks[[index, a, y, x]].total_cmp(&masks[[index, b, y, x]]))
        .unwrap_or(0)
}

/// The colour class `class` is painted in: the masks' own palette when they had one
/// (colour-coded masks), otherwise the segmentation view's class colours.
pub fn class_color(class: usize, palette: Option<&[[u8; 3]]>) -> [u8; 3] {
    match palette.and_then(|p| p.get(class)) {
        Some(&c) => c,
        // Class 0 is black in the table and never painted; cycle through the others.
        None => CLASS_COLORS[1 + (class.max(1) - 1) % (CLASS_COLORS.len() - 1)],
    }
}

/// Sample `index` of `inputs` with its mask from `masks` (`[n, k, h, w]`, the same height
/// and width) over it; background (class 0) pixels show the image unchanged. A sample
/// outside either tensor, or a mask of another size, gives the image without a mask.
pub fn masked_sample(
    inputs: &Array4<f32>,
    masks: &Array4<f32>,
    index: usize,
    palette: Option<&[[u8; 3]]>,
) -> Rgba {
    let mut out = sample_rgba(inputs, index, Colormap::Gray);
    let (n, _, h, w) = masks.dim();
    if index >= n || h != out.height || w != out.width {
        return out;
    }
    for y in 0..h {
        for x in 0..w {
            let class = mask_class(masks, index, y, x);
            if class == 0 {
                continue;
            }
            let c = class_color(class, palette);
            let i = 4 * (y * w + x);
            for (pixel, colour) in out.pixels[i..i + 3].iter_mut().zip(c) {
                let base = f32::from(*pixel);
                let tinted = base + (f32::from(colour) - base) * MASK_OPACITY;
                *pixel = tinted.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreground_pixels_are_tinted_and_background_ones_are_not() {
        let inputs = Array4::from_elem((1, 1, 2, 2), 0.0f32);
        let mut masks = Array4::zeros((1, 1, 2, 2));
        masks[[0, 0, 1, 1]] = 1.0;
        let img = masked_sample(&inputs, &masks, 0, None);
        assert_eq!(&img.pixels[0..4], &[0, 0, 0, 255]);
        let c = CLASS_COLORS[1];
        let half = |v: u8| (f32::from(v) * MASK_OPACITY).round() as u8;
        assert_eq!(
            &img.pixels[12..16],
            &[half(c[0]), half(c[1]), half(c[2]), 255]
        );
    }

    #[test]
    fn one_hot_masks_use_the_palette() {
        let inputs = Array4::from_elem((1, 1, 1, 2), 1.0f32);
        let mut masks = Array4::zeros((1, 3, 1, 2));
        masks[[0, 0, 0, 0]] = 1.0;
        masks[[0, 2, 0, 1]] = 1.0;
        let palette = [[0, 0, 0], [255, 0, 0], [0, 0, 255]];
        let img = masked_sample(&inputs, &masks, 0, Some(&palette));
        assert_eq!(&img.pixels[0..4], &[255, 255, 255, 255]);
        // White half-way to blue.
        assert_eq!(&img.pixels[4..8], &[128, 128, 255, 255]);
        assert_eq!(mask_class(&masks, 0, 0, 1), 2);
    }
}
