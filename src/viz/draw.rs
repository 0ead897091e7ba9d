//! Drawing on [`Rgba`] pictures: blended pixels, rectangles, outlines, lines, rings,
//! nearest-neighbour enlargement, stacking with captions, and PNG export.

use std::path::Path;

use super::{Rgba, VizError};
// Beside `Rgba` so text drawing can use it without importing this module, which draws
// captions with text (no import circle); used from here like the other primitives.
pub use super::sample::blend;
use super::text::{draw_text, text_height, text_image, text_width};

/// Background of composed views.
pub const BACKGROUND: [u8; 4] = [255, 255, 255, 255];
/// Text colour.
pub const INK: [u8; 4] = [20, 20, 20, 255];
/// Secondary text and axes.
pub const MUTED: [u8; 4] = [110, 110, 110, 255];
/// Okabe–Ito orange: highlights (selected window, theoretical receptive field).
pub const HIGHLIGHT: [u8; 4] = [230, 159, 0, 255];
/// Okabe–Ito sky blue: second highlight colour.
pub const ACCENT: [u8; 4] = [86, 180, 233, 255];
/// Okabe–Ito reddish purple: winners.
pub const WINNER: [u8; 4] = [204, 121, 167, 255];

/// The pixel at `(x, y)`, or None outside.
pub fn pixel(img: &Rgba, x: usize, y: usize) -> Option<[u8; 4]> {
    (x < img.width && y < img.height).then(|| {
        let i = 4 * (y * img.width + x);
        [
            img.pixels[i],
            img.pixels[i + 1],
            img.pixels[i + 2],
            img.pixels[i + 3],
        ]
    })
}

pub fn fill_rect(img: &mut Rgba, x: i64, y: i64, w: usize, h: usize, c: [u8; 4]) {
    for yy in y.max(0)..(y + h as i64).min(img.height as i64) {
        for xx in x.max(0)..(x + w as i64).min(img.width as i64) {
            blend(img, xx, yy, c);
        }
    }
}

/// An outline `t` pixels thick, drawn inside the rectangle.
pub fn stroke_rect(img: &mut Rgba, x: i64, y: i64, w: usize, h: usize, t: usize, c: [u8; 4]) {
    let t = t.min(w.div_ceil(2)).min(h.div_ceil(2));
    fill_rect(img, x, y, w, t, c);
    fill_rect(img, x, y + h as i64 - t as i64, w, t, c);
    fill_rect(img, x, y + t as i64, t, h.saturating_sub(2 * t), c);
    fill_rect(
        img,
        x + w as i64 - t as i64,
        y + t as i64,
        t,
        h.saturating_sub(2 * t),
        c,
    );
}

/// A dashed outline (dash and gap of `dash` pixels).
#[expect(
    clippy::too_many_arguments,
    reason = "a drawing primitive: position, size, colours and width"
)]
pub fn dashed_rect(
    img: &mut Rgba,
    x: i64,
    y: i64,
    w: usize,
    h: usize,
    t: usize,
    dash: usize,
    c: [u8; 4],
) {
    let dash = dash.max(1) as i64;
    let (w, h, t) = (w as i64, h as i64, t as i64);
    for i in 0..w {
        if (i / dash) % 2 == 0 {
            fill_rect(img, x + i, y, 1, t as usize, c);
            fill_rect(img, x + i, y + h - t, 1, t as usize, c);
        }
    }
    for j in 0..h {
        if (j / dash) % 2 == 0 {
            fill_rect(img, x, y + j, t as usize, 1, c);
            fill_rect(img, x + w - t, y + j, t as usize, 1, c);
        }
    }
}

/// A straight line `t` pixels thick.
pub fn line(img: &mut Rgba, from: (i64, i64), to: (i64, i64), t: usize, c: [u8; 4]) {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let steps = dx.abs().max(dy.abs()).max(1);
    let half = t as i64 / 2;
    for s in 0..=steps {
        let x = from.0 + dx * s / steps;
        let y = from.1 + dy * s / steps;
        fill_rect(img, x - half, y - half, t.max(1), t.max(1), c);
    }
}

/// A ring of radius `r` (outer), `t` pixels thick, centred on `(cx, cy)`.
pub fn ring(img: &mut Rgba, cx: f64, cy: f64, r: f64, t: f64, c: [u8; 4]) {
    let r_in = (r - t).max(0.0);
    let (x0, x1) = ((cx - r).floor() as i64, (cx + r).ceil() as i64);
    let (y0, y1) = ((cy - r).floor() as i64, (cy + r).ceil() as i64);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d = ((x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2)).sqrt();
            if d <= r && d >= r_in {
                blend(img, x, y, c);
            }
        }
    }
}

/// A filled disc.
pub fn disc(img: &mut Rgba, cx: f64, cy: f64, r: f64, c: [u8; 4]) {
    ring(img, cx, cy, r, r, c);
}

/// Copies `src` onto `dst` with its top-left corner at `(x, y)`, blending by alpha.
pub fn blit(dst: &mut Rgba, src: &Rgba, x: i64, y: i64) {
    for sy in 0..src.height {
        for sx in 0..src.width {
            let i = 4 * (sy * src.width + sx);
            let c = [
                src.pixels[i],
                src.pixels[i + 1],
                src.pixels[i + 2],
                src.pixels[i + 3],
            ];
            if c[3] > 0 {
                blend(dst, x + sx as i64, y + sy as i64, c);
            }
        }
    }
}

/// Every pixel repeated `factor × factor` times (crisp cells, no smoothing).
pub fn enlarge(src: &Rgba, factor: usize) -> Rgba {
    let f = factor.max(1);
    let mut out = Rgba::new(src.width * f, src.height * f, [0; 4]);
    for y in 0..out.height {
        let sy = y / f;
        for x in 0..out.width {
            let i = 4 * (sy * src.width + x / f);
            let o = 4 * (y * out.width + x);
            out.pixels[o..o + 4].copy_from_slice(&src.pixels[i..i + 4]);
        }
    }
    out
}

/// Pictures side by side, top-aligned, `gap` pixels apart.
pub fn hstack(images: &[Rgba], gap: usize, background: [u8; 4]) -> Rgba {
    let w = images.iter().map(|i| i.width).sum::<usize>() + gap * images.len().saturating_sub(1);
    let h = images.iter().map(|i| i.height).max().unwrap_or(0);
    let mut out = Rgba::new(w, h, background);
    let mut x = 0;
    for img in images {
        blit(&mut out, img, x as i64, 0);
        x += img.width + gap;
    }
    out
}

/// Pictures one below the other, left-aligned, `gap` pixels apart.
pub fn vstack(images: &[Rgba], gap: usize, background: [u8; 4]) -> Rgba {
    let w = images.iter().map(|i| i.width).max().unwrap_or(0);
    let h = images.iter().map(|i| i.height).sum::<usize>() + gap * images.len().saturating_sub(1);
    let mut out = Rgba::new(w, h, background);
    let mut y = 0;
    for img in images {
        blit(&mut out, img, 0, y as i64);
        y += img.height + gap;
    }
    out
}

/// `img` with `caption` above it (text at `scale`), on `background`.
pub fn captioned(img: &Rgba, caption: &str, scale: usize, background: [u8; 4]) -> Rgba {
    let th = if caption.is_empty() {
        0
    } else {
        text_height(caption, scale) + 3 * scale
    };
    let w = img.width.max(text_width(caption, scale));
    let mut out = Rgba::new(w, img.height + th, background);
    draw_text(&mut out, 0, 0, caption, scale, INK);
    blit(&mut out, img, 0, th as i64);
    out
}

/// `img` surrounded by `pad` pixels of `background`.
pub fn padded(img: &Rgba, pad: usize, background: [u8; 4]) -> Rgba {
    let mut out = Rgba::new(img.width + 2 * pad, img.height + 2 * pad, background);
    blit(&mut out, img, pad as i64, pad as i64);
    out
}

/// A row of colour swatches with labels.
pub fn swatches(items: &[([u8; 3], &str)], scale: usize) -> Rgba {
    let parts: Vec<Rgba> = items
        .iter()
        .map(|([r, g, b], label)| {
            let t = text_image(label, scale, INK, BACKGROUND, 0);
            let mut sw = Rgba::new(t.height, t.height, [*r, *g, *b, 255]);
            stroke_rect(&mut sw, 0, 0, t.height, t.height, 1, MUTED);
            hstack(&[sw, t], 6, BACKGROUND)
        })
        .collect();
    hstack(&parts, 24, BACKGROUND)
}

/// The picture as an `image` crate buffer.
pub fn to_image(img: &Rgba) -> Result<image::RgbaImage, VizError> {
    let side = |v: usize| u32::try_from(v).map_err(|e| VizError::Picture(e.to_string()));
    image::RgbaImage::from_raw(side(img.width)?, side(img.height)?, img.pixels.clone())
        .ok_or_else(|| VizError::Picture("pixel buffer does not match the picture size".into()))
}

/// The picture encoded as a PNG: the bytes `convlab render` and the window's export write,
/// so the two give identical files for the same picture.
pub fn png_bytes(img: &Rgba) -> Result<Vec<u8>, VizError> {
    if img.width == 0 || img.height == 0 {
        return Err(VizError::Picture("the picture is empty".into()));
    }
    let mut bytes = Vec::new();
    to_image(img)?
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| VizError::Picture(e.to_string()))?;
    Ok(bytes)
}

/// Writes the picture as a PNG file, atomically (a crash or a full disk never leaves half a
/// picture where an earlier one was).
pub fn save_png(img: &Rgba, path: &Path) -> Result<(), VizError> {
    let bytes = png_bytes(img)?;
    crate::atomic_file::write_atomically(path, &bytes).map_err(|e| VizError::Write {
        path: path.display().to_string(),
        source: image::ImageError::IoError(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blend_and_outline() {
        let mut img = Rgba::new(6, 6, [255; 4]);
        stroke_rect(&mut img, 0, 0, 6, 6, 1, [0, 0, 0, 255]);
        assert_eq!(pixel(&img, 0, 3), Some([0, 0, 0, 255]));
        assert_eq!(pixel(&img, 3, 3), Some([255; 4]));
        blend(&mut img, 3, 3, [0, 0, 0, 128]);
        let p = pixel(&img, 3, 3).unwrap();
        assert!((120..=135).contains(&p[0]) && p[3] == 255);
        let big = enlarge(&img, 3);
        assert_eq!((big.width, big.height), (18, 18));
        assert_eq!(pixel(&big, 10, 10), pixel(&img, 3, 3));
    }
}
