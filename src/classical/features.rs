//! Feature extractors of a handcrafted pipeline: numbers measured on the pipeline's last
//! image (the lecture's Grizzly system measured texture and nuclei this way). Each group
//! gives a fixed list of named values; a pipeline picks groups, the classifier gets them
//! all side by side.

use image::GrayImage;
use imageproc::region_labelling::{Connectivity, connected_components};
use serde::{Deserialize, Serialize};

/// A group of features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureGroup {
    /// Histogram statistics of the grey values.
    Intensity,
    /// How much of the image is edge, and how strong.
    Edges,
    /// Local binary patterns: which micro-structures (spots, edges, corners, flat) occur.
    Lbp,
    /// Grey-level co-occurrence: how neighbouring grey values relate.
    Cooccurrence,
    /// Connected foreground regions: how many, how large.
    Blobs,
}

/// Grey levels of the co-occurrence matrix.
const GLCM_LEVELS: usize = 8;
/// Bins of the intensity entropy.
const ENTROPY_BINS: usize = 16;

impl FeatureGroup {
    pub const ALL: [FeatureGroup; 5] = [
        FeatureGroup::Intensity,
        FeatureGroup::Edges,
        FeatureGroup::Lbp,
        FeatureGroup::Cooccurrence,
        FeatureGroup::Blobs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FeatureGroup::Intensity => "intensity",
            FeatureGroup::Edges => "edges",
            FeatureGroup::Lbp => "lbp",
            FeatureGroup::Cooccurrence => "cooccurrence",
            FeatureGroup::Blobs => "blobs",
        }
    }

    /// What it measures, for tooltips.
    pub fn about(self) -> &'static str {
        match self {
            FeatureGroup::Intensity => {
                "Histogram statistics of the grey values: mean, standard deviation, skewness and entropy (16 bins)."
            }
            FeatureGroup::Edges => {
                "Edge density: the share of pixels whose Sobel gradient exceeds a quarter of a full black-to-white step, and the mean gradient."
            }
            FeatureGroup::Lbp => {
                "Local binary patterns: each pixel's 8 neighbours compared with it give a bit pattern; the histogram of the rotation-invariant uniform patterns (by number of darker neighbours, plus 'other') describes the micro-texture."
            }
            FeatureGroup::Cooccurrence => {
                "Grey-level co-occurrence (8 levels, right and down neighbours): contrast (how different neighbours are), homogeneity and energy (how uniform)."
            }
            FeatureGroup::Blobs => {
                "Connected foreground regions (8-connected; the image is Otsu-thresholded first unless it is already binary): their number, mean and largest area, the foreground share, and the largest region's shape: extent (area / bounding box: 1 for an upright square, about 0.79 for a disc, 0.5 for a right triangle) and compactness (4π·area / perimeter², largest for a disc)."
            }
        }
    }

    /// The names of its values, in order.
    pub fn names(self) -> Vec<String> {
        let fixed: &[&str] = match self {
            FeatureGroup::Intensity => &["mean", "std", "skewness", "entropy"],
            FeatureGroup::Edges => &["edge density", "mean gradient"],
            FeatureGroup::Lbp => {
                return (0..=8)
                    .map(|k| format!("lbp {k} darker"))
                    .chain(std::iter::once("lbp other".to_string()))
                    .collect();
            }
            FeatureGroup::Cooccurrence => &["glcm contrast", "glcm homogeneity", "glcm energy"],
            FeatureGroup::Blobs => &[
                "blob count",
                "blob mean area",
                "blob largest area",
                "foreground",
                "largest extent",
                "largest compactness",
            ],
        };
        fixed.iter().map(|s| s.to_string()).collect()
    }

    /// Its values on `img`.
    pub fn measure(self, img: &GrayImage) -> Vec<f64> {
        match self {
            FeatureGroup::Intensity => intensity(img),
            FeatureGroup::Edges => edges(img),
            FeatureGroup::Lbp => lbp_histogram(img),
            FeatureGroup::Cooccurrence => cooccurrence(img),
            FeatureGroup::Blobs => blobs(img),
        }
    }
}

fn values(img: &GrayImage) -> Vec<f64> {
    img.pixels().map(|p| f64::from(p[0]) / 255.0).collect()
}

fn intensity(img: &GrayImage) -> Vec<f64> {
    let v = values(img);
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    let skew = if std > 1e-12 {
        v.iter().map(|x| ((x - mean) / std).powi(3)).sum::<f64>() / n
    } else {
        0.0
    };
    let mut hist = [0usize; ENTROPY_BINS];
    for p in img.pixels() {
        hist[usize::from(p[0]) * ENTROPY_BINS / 256] += 1;
    }
    let entropy = -hist
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            p * p.log2()
        })
        .sum::<f64>();
    vec![mean, std, skew, entropy]
}

fn edges(img: &GrayImage) -> Vec<f64> {
    let g = imageproc::gradients::sobel_gradients(img);
    let n = (img.width() * img.height()).max(1) as f64;
    // A full 0-to-255 step has magnitude 4·255.
    let full = 4.0 * 255.0;
    let strong = g.pixels().filter(|p| f64::from(p[0]) > full / 4.0).count() as f64;
    let mean = g.pixels().map(|p| f64::from(p[0])).sum::<f64>() / n / full;
    vec![strong / n, mean]
}

/// The rotation-invariant uniform class of an 8-bit pattern (`imageproc` sets bit n when
/// neighbour n is darker than the centre): the number of set bits when the circle has at
/// most two 0/1 transitions, else 9 ("other").
fn uniform_class(pattern: u8) -> usize {
    if imageproc::local_binary_patterns::count_transitions(pattern) <= 2 {
        pattern.count_ones() as usize
    } else {
        9
    }
}

fn lbp_histogram(img: &GrayImage) -> Vec<f64> {
    let mut hist = vec![0.0; 10];
    let (w, h) = img.dimensions();
    let mut total = 0.0;
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            if let Some(p) = imageproc::local_binary_patterns::local_binary_pattern(img, x, y) {
                hist[uniform_class(p)] += 1.0;
                total += 1.0;
            }
        }
    }
    if total > 0.0 {
        hist.iter_mut().for_each(|v| *v /= total);
    }
    hist
}

fn cooccurrence(img: &GrayImage) -> Vec<f64> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let q =
        |x: usize, y: usize| usize::from(img.get_pixel(x as u32, y as u32)[0]) * GLCM_LEVELS / 256;
    let mut m = [[0.0f64; GLCM_LEVELS]; GLCM_LEVELS];
    let mut total = 0.0;
    for y in 0..h {
        for x in 0..w {
            let a = q(x, y);
            // Symmetric: each pair counted both ways.
            for (dx, dy) in [(1, 0), (0, 1)] {
                if x + dx < w && y + dy < h {
                    let b = q(x + dx, y + dy);
                    m[a][b] += 1.0;
                    m[b][a] += 1.0;
                    total += 2.0;
                }
            }
        }
    }
    let (mut contrast, mut homogeneity, mut energy) = (0.0, 0.0, 0.0);
    if total > 0.0 {
        for (i, row) in m.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                let p = c / total;
                let d = i.abs_diff(j) as f64;
                contrast += d * d * p;
                homogeneity += p / (1.0 + d);
                energy += p * p;
            }
        }
    }
    vec![contrast, homogeneity, energy]
}

fn blobs(img: &GrayImage) -> Vec<f64> {
    let binary = if img.pixels().all(|p| p[0] == 0 || p[0] == 255) {
        img.clone()
    } else {
        super::ops::Operator::Otsu.apply(img)
    };
    let n = (img.width() * img.height()).max(1) as f64;
    let labels = connected_components(&binary, Connectivity::Eight, image::Luma([0u8]));
    let mut areas: Vec<f64> = Vec::new();
    for p in labels.pixels() {
        let l = p[0] as usize;
        if l > 0 {
            if areas.len() < l {
                areas.resize(l, 0.0);
            }
            areas[l - 1] += 1.0;
        }
    }
    let count = areas.len() as f64;
    let fg: f64 = areas.iter().sum();
    let mean = if count > 0.0 { fg / count / n } else { 0.0 };
    let largest = areas.iter().copied().fold(0.0, f64::max) / n;
    let (extent, compactness) = largest_shape(&labels, &areas);
    vec![count, mean, largest, fg / n, extent, compactness]
}

/// Extent (area over bounding-box area) and compactness (4π·area / perimeter², the
/// perimeter counted as the region's pixels with a 4-neighbour outside it) of the largest
/// region; zeros without one.
fn largest_shape(
    labels: &image::ImageBuffer<image::Luma<u32>, Vec<u32>>,
    areas: &[f64],
) -> (f64, f64) {
    let Some((index, &area)) = areas
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
    else {
        return (0.0, 0.0);
    };
    let label = index as u32 + 1;
    let (w, h) = labels.dimensions();
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    let mut perimeter = 0.0;
    let inside = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < i64::from(w)
            && y < i64::from(h)
            && labels.get_pixel(x as u32, y as u32)[0] == label
    };
    for y in 0..h {
        for x in 0..w {
            if labels.get_pixel(x, y)[0] != label {
                continue;
            }
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            let (xi, yi) = (i64::from(x), i64::from(y));
            if [(1, 0), (-1, 0), (0, 1), (0, -1)]
                .iter()
                .any(|(dx, dy)| !inside(xi + dx, yi + dy))
            {
                perimeter += 1.0;
            }
        }
    }
    let bbox = f64::from(x1 - x0 + 1) * f64::from(y1 - y0 + 1);
    let compactness = if perimeter > 0.0 {
        4.0 * std::f64::consts::PI * area / (perimeter * perimeter)
    } else {
        0.0
    };
    (area / bbox, compactness)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32, v: &[u8]) -> GrayImage {
        GrayImage::from_raw(w, h, v.to_vec()).unwrap()
    }

    #[test]
    fn every_group_gives_as_many_values_as_names() {
        let i = img(6, 5, &(0..30).map(|v| (v * 8) as u8).collect::<Vec<_>>());
        for g in FeatureGroup::ALL {
            assert_eq!(g.measure(&i).len(), g.names().len(), "{}", g.name());
            assert!(g.measure(&i).iter().all(|v| v.is_finite()));
            assert_eq!(g.measure(&GrayImage::new(0, 0)).len(), g.names().len());
        }
    }

    #[test]
    fn intensity_of_a_half_black_half_white_image() {
        let mut v = vec![0u8; 8];
        v.extend([255u8; 8]);
        let f = intensity(&img(4, 4, &v));
        // Mean ½, standard deviation ½, symmetric (skewness 0), two equal bins (1 bit).
        assert!((f[0] - 0.5).abs() < 1e-12);
        assert!((f[1] - 0.5).abs() < 1e-12);
        assert!(f[2].abs() < 1e-12);
        assert!((f[3] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn blobs_count_the_connected_regions() {
        // Two white squares (2×2 and 1×1) on black, 5×5: 8-connected they stay apart.
        let mut v = [0u8; 25];
        for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1), (4, 4)] {
            v[y * 5 + x] = 255;
        }
        let f = blobs(&img(5, 5, &v));
        assert_eq!(f[0], 2.0);
        assert!((f[1] - 2.5 / 25.0).abs() < 1e-12);
        assert!((f[2] - 4.0 / 25.0).abs() < 1e-12);
        assert!((f[3] - 5.0 / 25.0).abs() < 1e-12);
        // The largest region is the 2×2 square: it fills its box; all 4 pixels are border.
        assert!((f[4] - 1.0).abs() < 1e-12);
        assert!((f[5] - 4.0 * std::f64::consts::PI * 4.0 / 16.0).abs() < 1e-12);
        // A right triangle (rows of 1, 2, 3, 4 pixels) fills 10 of its 16-pixel box.
        let mut t = [0u8; 16];
        for y in 0..4 {
            for x in 0..=y {
                t[y * 4 + x] = 255;
            }
        }
        assert!((blobs(&img(4, 4, &t))[4] - 10.0 / 16.0).abs() < 1e-12);
    }

    #[test]
    fn cooccurrence_of_stripes_against_flat_ground() {
        // Vertical stripes 0/255: every right neighbour differs by 7 levels, every lower one
        // is equal. Half the pairs have d = 7: contrast 49/2.
        let stripes: Vec<u8> = (0..16).map(|i| if i % 2 == 0 { 0 } else { 255 }).collect();
        let f = cooccurrence(&img(4, 4, &stripes));
        assert!((f[0] - 49.0 / 2.0).abs() < 1e-12, "{f:?}");
        let flat = cooccurrence(&img(4, 4, &[100; 16]));
        assert_eq!(flat, vec![0.0, 1.0, 1.0]);
    }

    #[test]
    fn lbp_counts_darker_neighbours() {
        // Flat ground: no neighbour is darker than the centre.
        let f = lbp_histogram(&img(4, 4, &[50; 16]));
        assert_eq!(f[0], 1.0);
        // A bright spot on dark ground: all 8 neighbours of the spot are darker.
        let mut v = [0u8; 9];
        v[4] = 200;
        assert_eq!(lbp_histogram(&img(3, 3, &v))[8], 1.0);
        assert_eq!(uniform_class(0b0001_1100), 3);
        assert_eq!(uniform_class(0b0101_0000), 9);
    }
}
