//! Colour maps from a value in [0, 1] to sRGB.

use serde::{Deserialize, Serialize};

/// The colour maps the views offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Colormap {
    /// Black to white.
    Gray,
    /// Perceptually uniform dark blue → green → yellow (matplotlib's default).
    #[default]
    Viridis,
}

/// Viridis at 9 evenly spaced stops (matplotlib's table, sampled).
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

impl Colormap {
    pub const ALL: [Colormap; 2] = [Colormap::Gray, Colormap::Viridis];

    pub fn name(self) -> &'static str {
        match self {
            Colormap::Gray => "gray",
            Colormap::Viridis => "viridis",
        }
    }

    /// The colour of `t` (clamped to [0, 1]; NaN maps to 0).
    pub fn rgb(self, t: f32) -> [u8; 3] {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        match self {
            Colormap::Gray => {
                let v = (t * 255.0).round() as u8;
                [v, v, v]
            }
            Colormap::Viridis => {
                let x = t * (VIRIDIS.len() - 1) as f32;
                let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
                let f = x - i as f32;
                let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
                std::array::from_fn(|c| {
                    (a[c] as f32 + (b[c] as f32 - a[c] as f32) * f).round() as u8
                })
            }
        }
    }
}

/// Share of `count` in `max`, for colouring counts (0 when `max` is 0).
pub fn fraction(count: usize, max: usize) -> f32 {
    if max == 0 {
        0.0
    } else {
        count as f32 / max as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_the_table_ends() {
        assert_eq!(Colormap::Viridis.rgb(0.0), VIRIDIS[0]);
        assert_eq!(Colormap::Viridis.rgb(1.0), VIRIDIS[8]);
        assert_eq!(Colormap::Gray.rgb(2.0), [255; 3]);
        assert_eq!(Colormap::Gray.rgb(f32::NAN), [0; 3]);
    }
}
