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

/// Paints `c` over pixel `(x, y)` with straight-alpha blending; outside pixels are ignored.
pub fn blend(img: &mut Rgba, x: i64, y: i64, c: [u8; 4]) {
    if x < 0 || y < 0 || x as usize >= img.width || y as usize >= img.height {
        return;
    }
    let i = 4 * (y as usize * img.width + x as usize);
    let p = &mut img.pixels[i..i + 4];
    if c[3] == 255 {
        p.copy_from_slice(&c);
        return;
    }
    let a = c[3] as f32 / 255.0;
    let da = p[3] as f32 / 255.0;
    let out_a = a + da * (1.0 - a);
    for k in 0..3 {
        let v = if out_a > 0.0 {
            (c[k] as f32 * a + p[k] as f32 * da * (1.0 - a)) / out_a
        } else {
            0.0
        };
        p[k] = v.round().clamp(0.0, 255.0) as u8;
    }
    p[3] = (out_a * 255.0).round() as u8;
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
