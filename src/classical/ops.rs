//! The classical image operators a handcrafted pipeline chains: smoothing, edges,
//! thresholds and binary morphology, each an 8-bit grey image to an 8-bit grey image. The
//! arithmetic is the `imageproc` crate's (a well-kept implementation, not a copy of ours);
//! this module names the operators, checks their settings and maps the edge filters'
//! signed or wide results back to 0–255.

use image::GrayImage;
use imageproc::contrast::{ThresholdType, otsu_level, threshold};
use imageproc::distance_transform::Norm;
use serde::{Deserialize, Serialize};

use super::ClassicalError;

/// One stage of a pipeline (the preset's `{ op = "…", … }` entries).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operator {
    /// Gaussian smoothing with standard deviation `sigma` pixels.
    Gaussian { sigma: f32 },
    /// Median of the (2·radius+1)² neighbourhood: removes speckles, keeps edges.
    Median { radius: u32 },
    /// Sobel gradient magnitude (edges of any direction), scaled so a 0-to-255 step is 255.
    Sobel,
    /// |Laplacian| (blobs and thin lines, any direction), clamped to 255.
    Laplacian,
    /// Foreground (255) where the value is above `level`, else 0.
    Threshold { level: u8 },
    /// Threshold at Otsu's level: the one that best separates the histogram into two modes.
    Otsu,
    /// Erosion: a foreground pixel survives only if all within `radius` are foreground.
    Erode { radius: u8 },
    /// Dilation: every pixel within `radius` of the foreground joins it.
    Dilate { radius: u8 },
    /// Opening (erode, then dilate): removes foreground specks smaller than the radius.
    Open { radius: u8 },
    /// Closing (dilate, then erode): fills background holes smaller than the radius.
    Close { radius: u8 },
}

/// The largest radius a stage may have (the crops are small; larger only blurs them away).
pub const MAX_RADIUS: u8 = 8;
/// The largest Gaussian σ.
pub const MAX_SIGMA: f32 = 8.0;

impl Operator {
    /// Every operator with a typical setting: the palette of the pipeline editor and of
    /// the evolution's insertions.
    pub const PALETTE: [Operator; 10] = [
        Operator::Gaussian { sigma: 1.0 },
        Operator::Median { radius: 1 },
        Operator::Sobel,
        Operator::Laplacian,
        Operator::Threshold { level: 128 },
        Operator::Otsu,
        Operator::Erode { radius: 1 },
        Operator::Dilate { radius: 1 },
        Operator::Open { radius: 1 },
        Operator::Close { radius: 1 },
    ];

    /// Its name in the preset format and the window.
    pub fn name(&self) -> &'static str {
        match self {
            Operator::Gaussian { .. } => "gaussian",
            Operator::Median { .. } => "median",
            Operator::Sobel => "sobel",
            Operator::Laplacian => "laplacian",
            Operator::Threshold { .. } => "threshold",
            Operator::Otsu => "otsu",
            Operator::Erode { .. } => "erode",
            Operator::Dilate { .. } => "dilate",
            Operator::Open { .. } => "open",
            Operator::Close { .. } => "close",
        }
    }

    /// Name and setting, e.g. `median r=1`.
    pub fn label(&self) -> String {
        match *self {
            Operator::Gaussian { sigma } => format!("gaussian σ={sigma}"),
            Operator::Median { radius } => format!("median r={radius}"),
            Operator::Threshold { level } => format!("threshold {level}"),
            Operator::Erode { radius }
            | Operator::Dilate { radius }
            | Operator::Open { radius }
            | Operator::Close { radius } => format!("{} r={radius}", self.name()),
            Operator::Sobel | Operator::Laplacian | Operator::Otsu => self.name().into(),
        }
    }

    /// What it does, for tooltips.
    pub fn about(&self) -> &'static str {
        match self {
            Operator::Gaussian { .. } => {
                "Gaussian smoothing: each pixel becomes a weighted mean of its neighbours (weights fall off with distance, σ in pixels). Removes fine noise and fine texture alike."
            }
            Operator::Median { .. } => {
                "Median filter: each pixel becomes the median of its square neighbourhood. Removes isolated specks (salt and pepper) but keeps edges sharp."
            }
            Operator::Sobel => {
                "Sobel edges: the gradient magnitude from two 3×3 derivative kernels. Bright where the intensity changes, dark on flat regions."
            }
            Operator::Laplacian => {
                "Laplacian: the sum of second derivatives (3×3 kernel), absolute value. Responds to spots, thin lines and edges of any direction."
            }
            Operator::Threshold { .. } => {
                "Fixed threshold: white where the value is above the level, black elsewhere. Turns the image into foreground and background."
            }
            Operator::Otsu => {
                "Otsu's threshold: picks the level that best splits the histogram into two groups (largest between-class variance), then thresholds there."
            }
            Operator::Erode { .. } => {
                "Erosion (binary): shrinks the white regions by the radius; thin parts vanish."
            }
            Operator::Dilate { .. } => {
                "Dilation (binary): grows the white regions by the radius; nearby regions merge."
            }
            Operator::Open { .. } => {
                "Opening: erosion then dilation. Removes white specks smaller than the radius and keeps larger regions' size."
            }
            Operator::Close { .. } => {
                "Closing: dilation then erosion. Fills black holes and gaps smaller than the radius."
            }
        }
    }

    /// Checks the setting (a preset's values are the user's input).
    pub fn validate(&self) -> Result<(), ClassicalError> {
        let bad = |what: String| Err(ClassicalError::Invalid(format!("{}: {what}", self.name())));
        match *self {
            Operator::Gaussian { sigma }
                if !(sigma.is_finite() && sigma > 0.0 && sigma <= MAX_SIGMA) =>
            {
                bad(format!(
                    "sigma must be above 0 and at most {MAX_SIGMA}, got {sigma}"
                ))
            }
            Operator::Median { radius } if radius == 0 || radius > u32::from(MAX_RADIUS) => {
                bad(format!("radius must be 1 to {MAX_RADIUS}, got {radius}"))
            }
            Operator::Erode { radius }
            | Operator::Dilate { radius }
            | Operator::Open { radius }
            | Operator::Close { radius }
                if radius == 0 || radius > MAX_RADIUS =>
            {
                bad(format!("radius must be 1 to {MAX_RADIUS}, got {radius}"))
            }
            _ => Ok(()),
        }
    }

    /// Whether its output is binary (0 or 255 only) whatever its input.
    pub fn makes_binary(&self) -> bool {
        matches!(self, Operator::Threshold { .. } | Operator::Otsu)
    }

    /// Applies the operator. Morphology treats every non-zero pixel as foreground (as
    /// `imageproc` does), so after a threshold it is binary morphology.
    pub fn apply(&self, img: &GrayImage) -> GrayImage {
        if img.width() == 0 || img.height() == 0 {
            return img.clone();
        }
        match *self {
            Operator::Gaussian { sigma } => imageproc::filter::gaussian_blur_f32(img, sigma),
            Operator::Median { radius } => imageproc::filter::median_filter(img, radius, radius),
            Operator::Sobel => {
                // A 0-to-255 step gives a Sobel magnitude of 4·255 = 1020.
                let g = imageproc::gradients::sobel_gradients(img);
                GrayImage::from_fn(img.width(), img.height(), |x, y| {
                    image::Luma([(g.get_pixel(x, y)[0] / 4).min(255) as u8])
                })
            }
            Operator::Laplacian => {
                let l = imageproc::filter::laplacian_filter(img);
                GrayImage::from_fn(img.width(), img.height(), |x, y| {
                    image::Luma([l.get_pixel(x, y)[0].unsigned_abs().min(255) as u8])
                })
            }
            Operator::Threshold { level } => threshold(img, level, ThresholdType::Binary),
            Operator::Otsu => threshold(img, otsu_level(img), ThresholdType::Binary),
            Operator::Erode { radius } => imageproc::morphology::erode(img, Norm::LInf, radius),
            Operator::Dilate { radius } => imageproc::morphology::dilate(img, Norm::LInf, radius),
            Operator::Open { radius } => imageproc::morphology::open(img, Norm::LInf, radius),
            Operator::Close { radius } => imageproc::morphology::close(img, Norm::LInf, radius),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32, v: &[u8]) -> GrayImage {
        GrayImage::from_raw(w, h, v.to_vec()).unwrap()
    }

    #[test]
    fn sobel_of_a_full_step_is_white_on_the_edge_and_black_on_flat_ground() {
        // Columns 0-1 black, 2-3 white: the edge lies between columns 1 and 2.
        let step = img(4, 3, &[0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255]);
        let e = Operator::Sobel.apply(&step);
        // Hand-computed: at column 1 (and 2) the horizontal kernel [-1 0 1; -2 0 2; -1 0 1]
        // sees 0 on the left and 255 on the right: (1+2+1)·255 = 1020 → 255.
        assert_eq!(e.get_pixel(1, 1)[0], 255);
        assert_eq!(e.get_pixel(2, 1)[0], 255);
        let flat = Operator::Sobel.apply(&img(3, 3, &[7; 9]));
        assert!(flat.pixels().all(|p| p[0] == 0));
    }

    #[test]
    fn laplacian_of_a_single_spot_is_four_times_its_height_at_the_centre() {
        let mut v = [0u8; 25];
        v[12] = 50;
        let l = Operator::Laplacian.apply(&img(5, 5, &v));
        // Kernel [0 1 0; 1 -4 1; 0 1 0]: centre −4·50 = −200, its four neighbours +50.
        assert_eq!(l.get_pixel(2, 2)[0], 200);
        assert_eq!(l.get_pixel(1, 2)[0], 50);
        assert_eq!(l.get_pixel(1, 1)[0], 0);
    }

    #[test]
    fn otsu_splits_two_modes_between_them() {
        let mut v = vec![40u8; 50];
        v.extend(vec![200u8; 50]);
        let b = Operator::Otsu.apply(&img(10, 10, &v));
        assert!(b.pixels().take(50).all(|p| p[0] == 0));
        assert!(b.pixels().skip(50).all(|p| p[0] == 255));
        let t = Operator::Threshold { level: 100 }.apply(&img(3, 1, &[99, 100, 101]));
        assert_eq!(
            t.into_raw(),
            vec![0, 0, 255],
            "equal to the level is background"
        );
    }

    #[test]
    fn opening_removes_a_speck_and_keeps_a_block() {
        // A lone white pixel at (0, 0) and a 3×3 white block in the lower right of a 7×7.
        let mut v = [0u8; 49];
        v[0] = 255;
        for y in 4..7 {
            for x in 4..7 {
                v[y * 7 + x] = 255;
            }
        }
        let o = Operator::Open { radius: 1 }.apply(&img(7, 7, &v));
        assert_eq!(o.get_pixel(0, 0)[0], 0, "the speck is gone");
        assert_eq!(o.get_pixel(5, 5)[0], 255, "the block stays");
        let e = Operator::Erode { radius: 1 }.apply(&img(7, 7, &v));
        assert_eq!(e.get_pixel(4, 4)[0], 0, "erosion eats the block's border");
        assert_eq!(e.get_pixel(5, 5)[0], 255);
        let d = Operator::Dilate { radius: 1 }.apply(&img(7, 7, &v));
        assert_eq!(d.get_pixel(1, 1)[0], 255, "dilation grows the speck");
        // Closing fills a one-pixel hole in a white square.
        let mut h = [255u8; 25];
        h[12] = 0;
        let c = Operator::Close { radius: 1 }.apply(&img(5, 5, &h));
        assert_eq!(c.get_pixel(2, 2)[0], 255);
    }

    #[test]
    fn median_removes_salt_and_gaussian_keeps_the_mean_of_flat_ground() {
        let mut v = [10u8; 25];
        v[12] = 255;
        assert_eq!(
            Operator::Median { radius: 1 }
                .apply(&img(5, 5, &v))
                .get_pixel(2, 2)[0],
            10
        );
        let g = Operator::Gaussian { sigma: 1.0 }.apply(&img(5, 5, &[90; 25]));
        assert!(g.pixels().all(|p| p[0] == 90));
    }

    #[test]
    fn bad_settings_are_refused_not_panicked_on() {
        assert!(Operator::Gaussian { sigma: 0.0 }.validate().is_err());
        assert!(Operator::Gaussian { sigma: f32::NAN }.validate().is_err());
        assert!(Operator::Median { radius: 0 }.validate().is_err());
        assert!(Operator::Open { radius: 9 }.validate().is_err());
        assert!(Operator::PALETTE.iter().all(|o| o.validate().is_ok()));
        // An empty image goes through unchanged.
        for op in Operator::PALETTE {
            assert_eq!(op.apply(&GrayImage::new(0, 0)).dimensions(), (0, 0));
        }
    }
}
