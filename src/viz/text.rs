//! A small built-in bitmap font (5×7 pixels a glyph plus two rows for descenders, scaled by whole numbers), so the
//! pictures carry their own titles, numbers and legends without a font engine — the CLI's
//! PNGs then read the same as the window.

use super::Rgba;
use super::sample::blend;

/// Glyph width and height in font pixels; characters advance by `ADVANCE`, lines by `LINE`.
pub const GLYPH_W: usize = 5;
pub const GLYPH_H: usize = 9;
pub const ADVANCE: usize = 6;
pub const LINE: usize = 11;

/// Glyphs as 9 rows of 5 bits, first row in the highest bits, each row's most significant
/// bit on the left. Rows 7 and 8 hold descenders.
const GLYPHS: &[(char, u64)] = &[
    ('0', 0x0e8ceb98b800),
    ('1', 0x046108423800),
    ('2', 0x0e8844447c00),
    ('3', 0x1f110418b800),
    ('4', 0x0232a5f10800),
    ('5', 0x1f878218b800),
    ('6', 0x06443d18b800),
    ('7', 0x1f0888842000),
    ('8', 0x0e8c5d18b800),
    ('9', 0x0e8c5e113000),
    ('A', 0x0e8c7f18c400),
    ('B', 0x1e8c7d18f800),
    ('C', 0x0e8c2108b800),
    ('D', 0x1c9463197000),
    ('E', 0x1f843d087c00),
    ('F', 0x1f843d084000),
    ('G', 0x0e8c2f18bc00),
    ('H', 0x118c7f18c400),
    ('I', 0x0e2108423800),
    ('J', 0x071084293000),
    ('K', 0x119531494400),
    ('L', 0x108421087c00),
    ('M', 0x11dd6b18c400),
    ('N', 0x118e6b38c400),
    ('O', 0x0e8c6318b800),
    ('P', 0x1e8c7d084000),
    ('Q', 0x0e8c63593400),
    ('R', 0x1e8c7d494400),
    ('S', 0x0f841c10f800),
    ('T', 0x1f2108421000),
    ('U', 0x118c6318b800),
    ('V', 0x118c63151000),
    ('W', 0x118c6b5aa800),
    ('X', 0x118a88a8c400),
    ('Y', 0x118c54421000),
    ('Z', 0x1f0888887c00),
    ('a', 0x000382f8bc00),
    ('b', 0x1085b318f800),
    ('c', 0x0003a108b800),
    ('d', 0x010b6718bc00),
    ('e', 0x0003a3f83800),
    ('f', 0x064a38842000),
    ('g', 0x0003e318bc2e),
    ('h', 0x1085b318c400),
    ('i', 0x040308423800),
    ('j', 0x020184210a4c),
    ('k', 0x1084a98a4800),
    ('l', 0x0c2108423800),
    ('m', 0x0006ab58c400),
    ('n', 0x0005b318c400),
    ('o', 0x0003a318b800),
    ('p', 0x0007a318fa10),
    ('q', 0x0003e318bc21),
    ('r', 0x0005b3084000),
    ('s', 0x0003a0e0f800),
    ('t', 0x084710849800),
    ('u', 0x00046319b400),
    ('v', 0x000463151000),
    ('w', 0x0004635aa800),
    ('x', 0x000454454400),
    ('y', 0x00046318bc2e),
    ('z', 0x0007c4447c00),
    ('.', 0x000000063000),
    (',', 0x000000063088),
    ('-', 0x00001c000000),
    ('−', 0x00001c000000),
    ('+', 0x00213e420000),
    (':', 0x006300c60000),
    (';', 0x006300c22000),
    ('/', 0x000888880000),
    ('(', 0x022210820800),
    (')', 0x082084222000),
    ('⌊', 0x084210843800),
    ('⌋', 0x021084213800),
    ('[', 0x0e4210843800),
    (']', 0x0e1084213800),
    ('=', 0x0007c1f00000),
    ('_', 0x000000007c00),
    ('%', 0x18c888898c00),
    ('|', 0x042108421000),
    ('<', 0x022220820800),
    ('>', 0x082082222000),
    ('?', 0x0e8844401000),
    ('!', 0x042108401000),
    ('\'', 0x0c2200000000),
    ('"', 0x0a5000000000),
    ('*', 0x00255d520000),
    ('#', 0x0a57d5f52800),
    ('×', 0x008a88a88000),
    ('·', 0x000018c00000),
    ('→', 0x0020be220000),
    ('←', 0x00223e820000),
    ('∂', 0x0c105f18b800),
    ('σ', 0x0003e518b800),
    ('α', 0x00026b293400),
    ('Σ', 0x1f8208887c00),
    ('‖', 0x0a5294a52800),
    ('≈', 0x004544000000),
    ('²', 0x0c9111e00000),
    ('′', 0x042200000000),
    ('√', 0x031089461000),
    ('∇', 0x1f8c54a21000),
    ('≥', 0x082088807c00),
    ('≤', 0x022208207c00),
    ('—', 0x00003e000000),
    ('–', 0x00001c000000),
];

fn glyph(c: char) -> [u8; GLYPH_H] {
    let bits = if c == ' ' {
        0
    } else {
        GLYPHS
            .iter()
            .find(|(g, _)| *g == c)
            .or_else(|| GLYPHS.iter().find(|(g, _)| *g == '?'))
            .map_or(0, |(_, b)| *b)
    };
    std::array::from_fn(|r| ((bits >> (5 * (GLYPH_H - 1 - r))) & 0b11111) as u8)
}

/// Width in pixels of `text` at `scale` (one line; the widest line for several).
pub fn text_width(text: &str, scale: usize) -> usize {
    text.lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .saturating_mul(ADVANCE * scale)
        .saturating_sub(scale)
}

/// Height in pixels of `text` at `scale`.
pub fn text_height(text: &str, scale: usize) -> usize {
    let lines = text.lines().count().max(1);
    ((lines - 1) * LINE + GLYPH_H) * scale
}

/// Draws `text` with its top-left corner at `(x, y)` (may be partly outside the image).
pub fn draw_text(img: &mut Rgba, x: i64, y: i64, text: &str, scale: usize, color: [u8; 4]) {
    let scale = scale.max(1) as i64;
    for (li, line) in text.lines().enumerate() {
        let y0 = y + li as i64 * LINE as i64 * scale;
        for (ci, c) in line.chars().enumerate() {
            let x0 = x + ci as i64 * ADVANCE as i64 * scale;
            let rows = glyph(c);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..GLYPH_W {
                    if bits >> (GLYPH_W - 1 - col) & 1 == 1 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                blend(
                                    img,
                                    x0 + col as i64 * scale + dx,
                                    y0 + r as i64 * scale + dy,
                                    color,
                                );
                            }
                        }
                    }
                }
            }
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

    #[test]
    fn every_glyph_is_unique_and_text_is_drawn() {
        for (i, (a, _)) in GLYPHS.iter().enumerate() {
            assert!(GLYPHS[i + 1..].iter().all(|(b, _)| a != b), "{a} twice");
        }
        let img = text_image("1", 2, [0, 0, 0, 255], [255; 4], 0);
        assert_eq!((img.width, img.height), (10, 18));
        assert!(img.pixels.chunks(4).any(|p| p[0] == 0));
    }
}
