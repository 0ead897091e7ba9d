//! Text in the pictures: Hack Regular, one of egui's bundled fonts (the
//! `epaint_default_fonts` crate), rasterised anti-aliased by `ab_glyph` and alpha-blended
//! onto the picture, so titles, numbers and legends read well when projected — and the
//! CLI's PNGs read the same as the window, which draws them with the same code.
//!
//! Hack is monospaced: at `scale` s a character advances exactly `ADVANCE`·s pixels, as the
//! bitmap font this replaced did, so layouts that count characters (the bar chart's value
//! column, the conv sandbox's wrapped sums) still fit. Letters Hack lacks come from
//! Ubuntu Light (egui's other bundled font), drawn in the same cell; letters neither has
//! are drawn as `?`. Rasterisation is plain `f32` arithmetic with no hinting or system
//! state, so the same text gives the same pixels on every run.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, point};

use super::Rgba;
use super::sample::blend;

/// A character's advance and the distance between lines, in pixels per unit of `scale`
/// (the old bitmap font's cell, kept so callers' layouts keep their proportions).
pub const ADVANCE: usize = 6;
pub const LINE: usize = 11;
/// The height of one line of glyphs, ascenders to descenders, per unit of `scale` (Hack's
/// descenders reach 2.4 px below the baseline at scale 1).
pub const GLYPH_H: usize = 11;
/// Where the baseline lies below a line's top, per unit of `scale`: Hack's tallest
/// letters (b, d, l, brackets) reach 0.76 em, 7.6 px, above it at scale 1. Only the
/// superscripts (², √) stick out above, by a pixel or two.
const BASELINE: usize = 8;

struct Fonts {
    main: FontRef<'static>,
    fallback: FontRef<'static>,
}

/// The two fonts, parsed once (parsing only reads table offsets; glyphs are outlined on
/// demand). `None` would mean the bundled bytes are broken — then text is left out rather
/// than panicking; a unit test checks that they parse.
fn fonts() -> Option<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                main: FontRef::try_from_slice(epaint_default_fonts::HACK_REGULAR).ok()?,
                fallback: FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).ok()?,
            })
        })
        .as_ref()
}

/// The font and glyph that draw `c`: Hack's, else Ubuntu Light's, else Hack's `?`.
fn glyph_of(f: &Fonts, c: char) -> (&FontRef<'static>, GlyphId) {
    let id = f.main.glyph_id(c);
    if id.0 != 0 {
        return (&f.main, id);
    }
    let id = f.fallback.glyph_id(c);
    if id.0 != 0 {
        return (&f.fallback, id);
    }
    (&f.main, f.main.glyph_id('?'))
}

/// The pixel size (ab_glyph's ascent-to-descent height) at which Hack advances exactly
/// `ADVANCE * scale` pixels a character.
fn px_scale(f: &Fonts, scale: usize) -> PxScale {
    let advance = f.main.h_advance_unscaled(f.main.glyph_id('0'));
    let height = f.main.height_unscaled();
    PxScale::from((ADVANCE * scale) as f32 * height / advance.max(1.0))
}

/// Width in pixels of `text` at `scale` (one line; the widest line for several): whole
/// cells, since the last letter's ink may reach the end of its cell.
pub fn text_width(text: &str, scale: usize) -> usize {
    text.lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .saturating_mul(ADVANCE * scale)
}

/// Height in pixels of `text` at `scale`.
pub fn text_height(text: &str, scale: usize) -> usize {
    let lines = text.lines().count().max(1);
    ((lines - 1) * LINE + GLYPH_H) * scale
}

/// Draws `text` with its top-left corner at `(x, y)` (may be partly outside the image),
/// each pixel blended with `color` by how much of it the glyph covers.
pub fn draw_text(img: &mut Rgba, x: i64, y: i64, text: &str, scale: usize, color: [u8; 4]) {
    let Some(f) = fonts() else {
        return;
    };
    let scale = scale.max(1);
    let px = px_scale(f, scale);
    let baseline = (BASELINE * scale) as i64;
    for (li, line) in text.lines().enumerate() {
        let y0 = y + (li * LINE * scale) as i64 + baseline;
        for (ci, c) in line.chars().enumerate() {
            if c.is_whitespace() {
                continue;
            }
            let x0 = x + (ci * ADVANCE * scale) as i64;
            let (font, id) = glyph_of(f, c);
            // Positioned at whole pixels (the origin goes in by offset), so every letter of a
            // kind looks the same wherever it stands and far-away coordinates lose nothing.
            let Some(outline) = font.outline_glyph(id.with_scale_and_position(px, point(0.0, 0.0)))
            else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (bx, by) = (bounds.min.x as i64, bounds.min.y as i64);
            outline.draw(|gx, gy, coverage| {
                let a = (coverage.clamp(0.0, 1.0) * color[3] as f32).round() as u8;
                if a > 0 {
                    blend(
                        img,
                        x0 + bx + i64::from(gx),
                        y0 + by + i64::from(gy),
                        [color[0], color[1], color[2], a],
                    );
                }
            });
        }
    }
}

/// Draws `text` centred on `(cx, cy)`.
pub fn draw_text_centered(
    img: &mut Rgba,
    cx: i64,
    cy: i64,
    text: &str,
    scale: usize,
    color: [u8; 4],
) {
    let w = text_width(text, scale) as i64;
    let h = text_height(text, scale) as i64;
    draw_text(img, cx - w / 2, cy - h / 2, text, scale, color);
}

/// A picture of `text` alone on `background`, with `pad` pixels around it.
pub fn text_image(
    text: &str,
    scale: usize,
    color: [u8; 4],
    background: [u8; 4],
    pad: usize,
) -> Rgba {
    let mut img = Rgba::new(
        text_width(text, scale) + 2 * pad,
        text_height(text, scale) + 2 * pad,
        background,
    );
    draw_text(&mut img, pad as i64, pad as i64, text, scale, color);
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character the bitmap font had (the pictures' titles and formulas use them).
    const USED: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\
                        .,-−+:;/()⌊⌋[]=_%|<>?!'\"*#×·→←∂σαΣ‖≈²′√∇≥≤—–";

    #[test]
    fn the_fonts_parse_and_have_every_character_the_pictures_use() {
        let f = fonts().expect("the bundled fonts parse");
        for c in USED.chars() {
            let (font, id) = glyph_of(f, c);
            assert!(
                id.0 != 0 && (c == '?' || id != font.glyph_id('?')),
                "no glyph for {c}"
            );
        }
    }

    #[test]
    fn text_is_anti_aliased_and_stays_in_its_box() {
        for scale in 1..=4 {
            let s = "Hg|(8)[y]";
            let img = text_image(s, scale, [0, 0, 0, 255], [255; 4], 0);
            assert_eq!(img.width, text_width(s, scale));
            assert_eq!(img.height, text_height(s, scale));
            let greys: Vec<u8> = img.pixels.chunks(4).map(|p| p[0]).collect();
            assert!(greys.iter().any(|&g| g < 64), "dark ink at {scale}");
            assert!(
                greys.iter().any(|&g| g > 64 && g < 192),
                "grey edges at {scale}"
            );
            // What falls outside the box would be lost: draw on a larger canvas, offset by a
            // margin, and check nothing lands outside the text's box.
            let m = 8 * scale;
            let mut big = Rgba::new(img.width + 2 * m, img.height + 2 * m, [255; 4]);
            draw_text(&mut big, m as i64, m as i64, s, scale, [0, 0, 0, 255]);
            for y in 0..big.height {
                for x in 0..big.width {
                    let inside =
                        (m..m + img.width).contains(&x) && (m..m + img.height).contains(&y);
                    let v = big.pixels[4 * (y * big.width + x)];
                    assert!(
                        inside || v >= 224,
                        "ink outside the box at {x},{y} (scale {scale})"
                    );
                }
            }
        }
        let a = text_image("loss 0.123", 2, [10, 20, 30, 255], [250; 4], 3);
        let b = text_image("loss 0.123", 2, [10, 20, 30, 255], [250; 4], 3);
        assert_eq!(a.pixels, b.pixels);
    }
}
