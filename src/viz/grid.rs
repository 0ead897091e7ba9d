//! Many small pictures tiled into one (one texture upload instead of hundreds).

use super::Rgba;

/// Tiles `images` row by row, `columns` per row, `gap` pixels apart, on `background`.
/// Every cell is as large as the largest image; smaller ones sit in the top-left corner.
pub fn tile(images: &[Rgba], columns: usize, gap: usize, background: [u8; 4]) -> Rgba {
    let columns = columns.max(1);
    let cw = images.iter().map(|i| i.width).max().unwrap_or(0);
    let ch = images.iter().map(|i| i.height).max().unwrap_or(0);
    let rows = images.len().div_ceil(columns);
    let width = (columns * (cw + gap)).saturating_sub(gap);
    let height = (rows * (ch + gap)).saturating_sub(gap);
    let mut out = Rgba::new(width, height, background);
    for (k, img) in images.iter().enumerate() {
        let (ox, oy) = ((k % columns) * (cw + gap), (k / columns) * (ch + gap));
        for y in 0..img.height {
            let src = &img.pixels[4 * y * img.width..4 * (y + 1) * img.width];
            let start = 4 * ((oy + y) * width + ox);
            out.pixels[start..start + src.len()].copy_from_slice(src);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiling_sizes_and_placement() {
        let a = Rgba::new(2, 2, [255, 0, 0, 255]);
        let out = tile(&[a.clone(), a.clone(), a], 2, 1, [0; 4]);
        assert_eq!((out.width, out.height), (5, 5));
        // Third image starts at row 3, column 0.
        assert_eq!(&out.pixels[4 * (3 * 5)..4 * (3 * 5) + 4], &[255, 0, 0, 255]);
        // The gap stays background.
        assert_eq!(&out.pixels[4 * 2..4 * 3], &[0, 0, 0, 0]);
    }
}
