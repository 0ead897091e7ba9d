//! One sample of an NCHW tensor as an RGBA picture.

use ndarray::Array4;

use super::Colormap;

/// An sRGB picture with straight alpha, row-major, 4 bytes a pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgba {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Rgba {
    pub fn new(width: usize, height: usize, fill: [u8; 4]) -> Rgba {
        Rgba {
            width,
            height,
            pixels: fill.repeat(width * height),
        }
    }

    pub fn put(&mut self, x: usize, y: usize, c: [u8; 4]) {
        if x < self.width && y < self.height {
            let i = 4 * (y * self.width + x);
            self.pixels[i..i + 4].copy_from_slice(&c);
        }
    }
}

/// Sample `index` of `inputs` (`[n, c, h, w]`, values in [0, 1]): three channels as RGB,
/// otherwise the first channel through `colormap`. Values are clamped.
pub fn sample_rgba(inputs: &Array4<f32>, index: usize, colormap: Colormap) -> Rgba {
    let (n, c, h, w) = inputs.dim();
    let mut out = Rgba::new(w, h, [0, 0, 0, 255]);
    if index >= n || c == 0 {
        return out;
    }
    for y in 0..h {
        for x in 0..w {
            let rgb = if c == 3 {
                std::array::from_fn(|k| {
                    (inputs[[index, k, y, x]].clamp(0.0, 1.0) * 255.0).round() as u8
                })
            } else {
                colormap.rgb(inputs[[index, 0, y, x]])
            };
            out.put(x, y, [rgb[0], rgb[1], rgb[2], 255]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_sample_maps_values_to_gray_levels() {
        let mut a = Array4::zeros((2, 1, 2, 3));
        a[[1, 0, 1, 2]] = 1.0;
        let img = sample_rgba(&a, 1, Colormap::Gray);
        assert_eq!((img.width, img.height), (3, 2));
        assert_eq!(&img.pixels[4 * 5..4 * 6], &[255, 255, 255, 255]);
        assert_eq!(&img.pixels[0..4], &[0, 0, 0, 255]);
    }
}
