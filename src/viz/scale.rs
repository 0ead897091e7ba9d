//! From values to colours with a stated range: sequential maps (viridis, gray) for values
//! with a natural zero at one end (activations after ReLU, saliency), and a diverging
//! blue–white–red map for signed values (weights, gradients) where white is exactly zero.
//! Both are colour-blind safe. [`legend`] draws the colour bar with its numbers.

use super::draw::{INK, MUTED, fill_rect, stroke_rect};
use super::text::{draw_text, text_height, text_width};
use super::{Colormap, Rgba};

/// ColorBrewer RdBu (11 classes), reversed: negative blue, zero white, positive red.
const DIVERGING: [[u8; 3]; 11] = [
    [5, 48, 97],
    [33, 102, 172],
    [67, 147, 195],
    [146, 197, 222],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [244, 165, 130],
    [214, 96, 77],
    [178, 24, 43],
    [103, 0, 31],
];

/// Colour of non-finite values.
pub const NAN_COLOR: [u8; 4] = [160, 160, 160, 255];

/// The diverging colour of `t` in [0, 1] (0.5 is white).
pub fn diverging_rgb(t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    let x = t * (DIVERGING.len() - 1) as f32;
    let i = (x.floor() as usize).min(DIVERGING.len() - 2);
    let f = x - i as f32;
    let (a, b) = (DIVERGING[i], DIVERGING[i + 1]);
    std::array::from_fn(|c| (a[c] as f32 + (b[c] as f32 - a[c] as f32) * f).round() as u8)
}

/// How values become colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Palette {
    /// Low to high through a sequential map.
    Sequential(Colormap),
    /// Blue (negative) – white (zero) – red (positive), symmetric around zero.
    Diverging,
}

impl Default for Palette {
    fn default() -> Self {
        Palette::Sequential(Colormap::Viridis)
    }
}

impl Palette {
    /// Diverging for data with both signs, viridis otherwise.
    pub fn auto(lo: f32, hi: f32) -> Palette {
        if lo < 0.0 && hi > 0.0 {
            Palette::Diverging
        } else {
            Palette::Sequential(Colormap::Viridis)
        }
    }
}

/// A palette with the value range it spans.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueScale {
    pub palette: Palette,
    pub lo: f32,
    pub hi: f32,
}

impl ValueScale {
    /// The range of `values` (finite ones): `[min, max]` for sequential palettes,
    /// `[−m, m]` with `m = max |v|` for the diverging one. A constant map gets a unit range
    /// so it shows one flat colour rather than noise.
    pub fn fit<'a>(values: impl IntoIterator<Item = &'a f32>, palette: Palette) -> ValueScale {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in values {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo > hi {
            (lo, hi) = (0.0, 0.0);
        }
        ValueScale::new(palette, lo, hi)
    }

    /// A scale over `[lo, hi]` (made symmetric for the diverging palette).
    pub fn new(palette: Palette, lo: f32, hi: f32) -> ValueScale {
        let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
            (lo, hi)
        } else {
            (0.0, 0.0)
        };
        if palette == Palette::Diverging {
            let m = lo.abs().max(hi.abs());
            (lo, hi) = (-m, m);
        }
        if hi - lo <= f32::EPSILON * lo.abs().max(hi.abs()).max(1e-30) {
            if palette == Palette::Diverging {
                (lo, hi) = (-1.0, 1.0);
            } else {
                hi = lo + 1.0;
            }
        }
        ValueScale { palette, lo, hi }
    }

    /// Position of `v` in the range, in [0, 1].
    pub fn t(&self, v: f32) -> f32 {
        ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    pub fn rgb(&self, v: f32) -> [u8; 3] {
        let t = self.t(v);
        match self.palette {
            Palette::Sequential(c) => c.rgb(t),
            Palette::Diverging => diverging_rgb(t),
        }
    }

    /// Opaque colour of `v`; non-finite values are gray.
    pub fn color(&self, v: f32) -> [u8; 4] {
        if !v.is_finite() {
            return NAN_COLOR;
        }
        let [r, g, b] = self.rgb(v);
        [r, g, b, 255]
    }
}

/// Black or white, whichever reads better on `bg`.
pub fn contrast_ink(bg: [u8; 4]) -> [u8; 4] {
    let l = 0.2126 * bg[0] as f32 + 0.7152 * bg[1] as f32 + 0.0722 * bg[2] as f32;
    if l > 140.0 {
        [0, 0, 0, 255]
    } else {
        [255, 255, 255, 255]
    }
}

/// A value in at most `digits` significant digits, switching to e-notation for very small
/// or large magnitudes: `0.25`, `-3.1`, `1.2e-5`.
pub fn fmt_value(v: f32, digits: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let digits = digits.max(1);
    if !(1e-3..1e5).contains(&a) {
        let e = format!("{:.*e}", digits.saturating_sub(1).min(2), v);
        return match e.split_once('e') {
            Some((m, x)) if m.contains('.') => {
                format!("{}e{x}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => e,
        };
    }
    // Digits before the point (≤ 0 for |v| < 1: minus the zeros after the point), so small
    // values keep `digits` significant digits: 0.004 stays 0.004, not 0.
    let int_digits = a.log10().floor() as i32 + 1;
    let decimals = (digits as i32 - int_digits).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A horizontal colour bar `length × thickness` with the range's ends (and zero, for the
/// diverging palette) written below at text `scale`, and `label` above.
pub fn legend(
    scale: &ValueScale,
    length: usize,
    thickness: usize,
    text_scale: usize,
    label: &str,
) -> Rgba {
    let mut ticks = vec![(0.0, fmt_value(scale.lo, 3)), (1.0, fmt_value(scale.hi, 3))];
    if scale.palette == Palette::Diverging {
        ticks.push((0.5, "0".to_string()));
    }
    legend_with(scale, &ticks, length, thickness, text_scale, label)
}

/// A colour bar with free tick texts at positions in [0, 1] along it (e.g. "min", "max"
/// for per-channel normalisation).
pub fn legend_with(
    scale: &ValueScale,
    ticks: &[(f32, String)],
    length: usize,
    thickness: usize,
    text_scale: usize,
    label: &str,
) -> Rgba {
    let ts = text_scale.max(1);
    let label_h = if label.is_empty() {
        0
    } else {
        text_height(label, ts) + 2 * ts
    };
    let tick_h = 3 * ts;
    let num_h = text_height("0", ts);
    let margin = ticks
        .iter()
        .map(|(_, t)| text_width(t, ts) / 2 + ts)
        .max()
        .unwrap_or(0);
    let length = length.max(2);
    let w = (length + 2 * margin).max(text_width(label, ts));
    let h = label_h + thickness + tick_h + num_h + ts;
    let mut img = Rgba::new(w, h, [255, 255, 255, 255]);
    draw_text(&mut img, 0, 0, label, ts, INK);
    let x0 = margin as i64;
    let y0 = label_h as i64;
    for i in 0..length {
        let v = scale.lo + (scale.hi - scale.lo) * i as f32 / (length - 1) as f32;
        fill_rect(&mut img, x0 + i as i64, y0, 1, thickness, scale.color(v));
    }
    stroke_rect(
        &mut img,
        x0 - 1,
        y0 - 1,
        length + 2,
        thickness + 2,
        1,
        MUTED,
    );
    for (pos, text) in ticks {
        let x = x0 + (pos.clamp(0.0, 1.0) * (length - 1) as f32).round() as i64;
        fill_rect(
            &mut img,
            x - (ts as i64 / 2),
            y0 + thickness as i64,
            ts,
            tick_h - ts,
            MUTED,
        );
        let tw = text_width(text, ts) as i64;
        draw_text(
            &mut img,
            x - tw / 2,
            y0 + (thickness + tick_h) as i64,
            text,
            ts,
            INK,
        );
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_is_white_at_zero_and_symmetric() {
        let s = ValueScale::fit(&[-1.0, 3.0], Palette::Diverging);
        assert_eq!((s.lo, s.hi), (-3.0, 3.0));
        assert_eq!(s.rgb(0.0), [247, 247, 247]);
        assert_eq!(s.rgb(-3.0), DIVERGING[0]);
        assert_eq!(s.rgb(3.0), DIVERGING[10]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_value(0.25, 3), "0.25");
        assert_eq!(fmt_value(-2.5678, 3), "-2.57");
        assert_eq!(fmt_value(9.0, 3), "9");
        assert_eq!(fmt_value(1.5e-5, 2), "1.5e-5");
        assert_eq!(fmt_value(1234.0, 3), "1234");
    }
}
