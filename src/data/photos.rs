//! Three small real photographs compiled into the binary, for lecture topic 1: an image is a
//! tensor of channels, and classical filters (Gaussian, Sobel, Scharr, Laplacian) act on it.
//!
//! * `camera`: a man with a camera, 256×256 greyscale (CC0, Lav Varshney);
//! * `astronaut`: Eileen Collins, 256×256 RGB (NASA, public domain);
//! * `chelsea`: Chelsea the cat, 225×150 RGB (CC0, Stefan van der Walt).
//!
//! All three come from the scikit-image 0.26.0 wheel, halved in size; see `assets/README.md`
//! and `assets/photos/make_photos.py`.
//!
//! As a data set ([`photos`]) each photo is one class, seen through [`VIEWS_PER_PHOTO`]
//! square crops (whole square, corners, centre, mirrored), so the set is tiny but can be
//! split and trained on; the point of the set is to look at channels and filter responses
//! on real pictures, not the classification itself.

use ndarray::Array4;

use super::folder::{ImageOptions, image_to_chw};
use super::{DataError, Dataset, Targets};

/// The bundled photos in class order: name and PNG bytes.
const PHOTOS: [(&str, &[u8]); 3] = [
    ("camera", include_bytes!("../../assets/photos/camera.png")),
    (
        "astronaut",
        include_bytes!("../../assets/photos/astronaut.png"),
    ),
    ("chelsea", include_bytes!("../../assets/photos/chelsea.png")),
];

/// Names of the bundled photos, index = class label.
pub const PHOTO_NAMES: [&str; 3] = ["camera", "astronaut", "chelsea"];

/// Crops made from each photo.
pub const VIEWS_PER_PHOTO: usize = 8;

/// Largest sample side the photos are resized to (they are stored at most 256 px wide).
pub const MAX_PHOTO_SIZE: usize = 256;

/// One bundled photo, decoded at its stored size (`index` as in [`PHOTO_NAMES`]).
pub fn photo(index: usize) -> Result<image::DynamicImage, DataError> {
    let (name, png) = PHOTOS
        .get(index)
        .ok_or_else(|| DataError::Invalid(format!("there is no bundled photo {index}")))?;
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png).map_err(|e| {
        DataError::Asset {
            name: "photos",
            reason: format!("{name}.png does not decode: {e}"),
        }
    })?;
    if img.width() < 16 || img.height() < 16 {
        return Err(DataError::Asset {
            name: "photos",
            reason: format!("{name}.png is only {}×{}", img.width(), img.height()),
        });
    }
    Ok(img)
}

/// A square crop of `img`: side `frac` of the shorter side, placed at `(fx, fy)` in [0, 1]
/// of the free room (0 = left/top, 1 = right/bottom), optionally mirrored left–right.
fn crop(
    img: &image::DynamicImage,
    frac: f64,
    fx: f64,
    fy: f64,
    mirror: bool,
) -> image::DynamicImage {
    let (w, h) = (img.width(), img.height());
    let side = ((w.min(h) as f64 * frac).round() as u32).clamp(1, w.min(h));
    let x = ((w - side) as f64 * fx).round() as u32;
    let y = ((h - side) as f64 * fy).round() as u32;
    let c = img.crop_imm(x, y, side, side);
    if mirror { c.fliph() } else { c }
}

/// The bundled photos as a classification set of `[n, c, size, size]` images in [0, 1]
/// (`c` = 1 when `grayscale`, else 3; the greyscale camera then has three equal channels).
/// Class = photo; every photo gives [`VIEWS_PER_PHOTO`] crops, in photo order.
pub fn photos(size: usize, grayscale: bool) -> Result<Dataset, DataError> {
    if !(4..=MAX_PHOTO_SIZE).contains(&size) {
        return Err(DataError::Invalid(format!(
            "photos: size {size} must be between 4 and {MAX_PHOTO_SIZE} pixels"
        )));
    }
    // (fraction of the shorter side, x, y, mirrored)
    const VIEWS: [(f64, f64, f64, bool); VIEWS_PER_PHOTO] = [
        (1.0, 0.5, 0.5, false),
        (1.0, 0.5, 0.5, true),
        (0.8, 0.0, 0.0, false),
        (0.8, 1.0, 0.0, false),
        (0.8, 0.0, 1.0, false),
        (0.8, 1.0, 1.0, false),
        (0.7, 0.5, 0.5, false),
        (0.7, 0.5, 0.5, true),
    ];
    let channels = if grayscale { 1 } else { 3 };
    let opts = ImageOptions {
        size: [size, size],
        grayscale,
    };
    let n = PHOTOS.len() * VIEWS_PER_PHOTO;
    let mut data = Vec::with_capacity(n * channels * size * size);
    let mut labels = Vec::with_capacity(n);
    for class in 0..PHOTOS.len() {
        let img = photo(class)?;
        for &(frac, fx, fy, mirror) in &VIEWS {
            data.extend(image_to_chw(&crop(&img, frac, fx, fy, mirror), opts));
            labels.push(class);
        }
    }
    let inputs = Array4::from_shape_vec((n, channels, size, size), data)
        .map_err(|e| DataError::Invalid(format!("photos: {e}")))?;
    Ok(Dataset {
        name: "photos".into(),
        inputs,
        targets: Targets::Labels(labels),
        class_names: PHOTO_NAMES.iter().map(|s| s.to_string()).collect(),
    })
}

/// Most random crops [`photo_crops`] makes.
pub const MAX_CROPS: usize = 20_000;
/// Largest crop side: the smallest photo (chelsea) is 150 pixels high.
pub const MAX_CROP_SIZE: usize = 150;

/// The bundled real textures [`photo_crops`] adds with `textures`: brick, grass, gravel.
pub const CROP_TEXTURES: [crate::data::textures::TextureKind; 3] = [
    crate::data::textures::TextureKind::Brick,
    crate::data::textures::TextureKind::Grass,
    crate::data::textures::TextureKind::Gravel,
];

/// A bundled texture (grey, 256×256) as an image.
fn texture_photo(
    kind: crate::data::textures::TextureKind,
) -> Result<image::DynamicImage, DataError> {
    let side = crate::data::textures::TEXTURE_SIDE as u32;
    let bytes: Vec<u8> = crate::data::textures::texture_image(kind)?
        .into_iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    image::GrayImage::from_raw(side, side, bytes)
        .map(image::DynamicImage::ImageLuma8)
        .ok_or(DataError::Asset {
            name: "textures",
            reason: format!("{} has the wrong size", kind.name()),
        })
}

/// `count` random `size`×`size` crops of the photos at their stored resolution (not
/// resized, so the pixels are the photo's own), the same share from each photo (and, with
/// `textures`, from each bundled real texture: brick, grass, gravel), each mirrored with
/// probability ½; positions drawn from `seed`. Class = photo (or texture).
pub fn photo_crops(
    size: usize,
    grayscale: bool,
    count: usize,
    seed: u64,
    textures: bool,
) -> Result<Dataset, DataError> {
    if !(4..=MAX_CROP_SIZE).contains(&size) || !(1..=MAX_CROPS).contains(&count) {
        return Err(DataError::Invalid(format!(
            "photos: {count} crops of {size} pixels; crops between 1 and {MAX_CROPS}, size \
             between 4 and {MAX_CROP_SIZE}"
        )));
    }
    let mut images = (0..PHOTOS.len())
        .map(photo)
        .collect::<Result<Vec<_>, _>>()?;
    let mut class_names: Vec<String> = PHOTO_NAMES.iter().map(|s| s.to_string()).collect();
    if textures {
        for kind in CROP_TEXTURES {
            images.push(texture_photo(kind)?);
            class_names.push(kind.name().to_string());
        }
    }
    let channels = if grayscale { 1 } else { 3 };
    let opts = ImageOptions {
        size: [size, size],
        grayscale,
    };
    let mut rng = crate::engine::rng::Rng::derive(seed, 0xC_0095);
    let mut data = Vec::with_capacity(count * channels * size * size);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        let class = i % images.len();
        let img = &images[class];
        let (w, h) = (img.width() as usize, img.height() as usize);
        let x = rng.below(w - size + 1) as u32;
        let y = rng.below(h - size + 1) as u32;
        let c = img.crop_imm(x, y, size as u32, size as u32);
        let c = if rng.bernoulli(0.5) { c.fliph() } else { c };
        data.extend(image_to_chw(&c, opts));
        labels.push(class);
    }
    let inputs = Array4::from_shape_vec((count, channels, size, size), data)
        .map_err(|e| DataError::Invalid(format!("photos: {e}")))?;
    Ok(Dataset {
        name: "photo crops".into(),
        inputs,
        targets: Targets::Labels(labels),
        class_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_crops_are_seeded_and_checked() {
        let a = photo_crops(32, true, 12, 4, false).unwrap();
        assert_eq!(a.inputs.shape(), [12, 1, 32, 32]);
        assert_eq!(
            a.inputs,
            photo_crops(32, true, 12, 4, false).unwrap().inputs
        );
        assert_ne!(
            a.inputs,
            photo_crops(32, true, 12, 5, false).unwrap().inputs
        );
        assert!(photo_crops(151, true, 12, 4, false).is_err());
        assert!(photo_crops(32, true, 0, 4, false).is_err());
        // With the textures, every sixth crop comes from each of the six images.
        let t = photo_crops(16, false, 12, 4, true).unwrap();
        assert_eq!(t.inputs.shape(), [12, 3, 16, 16]);
        assert_eq!(t.class_counts(), vec![2; 6]);
        assert_eq!(t.class_names[3..], ["brick", "grass", "gravel"]);
        // The photos' crops are drawn as without the textures.
        let photos_only = photo_crops(16, false, 3, 4, false).unwrap();
        assert_eq!(
            t.inputs.slice(ndarray::s![..3, .., .., ..]),
            photos_only.inputs
        );
    }

    #[test]
    fn photos_decode_with_their_stored_sizes() {
        let sizes: Vec<(u32, u32)> = (0..3)
            .map(|i| {
                let p = photo(i).unwrap();
                (p.width(), p.height())
            })
            .collect();
        assert_eq!(sizes, [(256, 256), (256, 256), (225, 150)]);
        assert!(photo(3).is_err());
    }

    #[test]
    fn photos_make_a_balanced_classification_set() {
        let d = photos(32, false).unwrap();
        assert_eq!(d.inputs.shape(), &[24, 3, 32, 32]);
        assert_eq!(d.class_counts(), vec![8, 8, 8]);
        assert_eq!(d.class_names, PHOTO_NAMES);
        assert!(d.inputs.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // The camera is a greyscale photo: its three channels are equal.
        let cam = d.inputs.index_axis(ndarray::Axis(0), 0);
        assert_eq!(
            cam.index_axis(ndarray::Axis(0), 0),
            cam.index_axis(ndarray::Axis(0), 2)
        );
        // The astronaut's suit is orange: red and blue differ.
        let astro = d.inputs.index_axis(ndarray::Axis(0), 8);
        assert_ne!(
            astro.index_axis(ndarray::Axis(0), 0),
            astro.index_axis(ndarray::Axis(0), 2)
        );
        // A mirrored view is the mirror image of the unmirrored one.
        let (a, b) = (
            d.inputs.index_axis(ndarray::Axis(0), 16),
            d.inputs.index_axis(ndarray::Axis(0), 17),
        );
        let err: f32 = (0..32)
            .flat_map(|y| (0..32).map(move |x| (y, x)))
            .map(|(y, x)| (a[[0, y, x]] - b[[0, y, 31 - x]]).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.02, "{err}");
        let g = photos(16, true).unwrap();
        assert_eq!(g.inputs.shape(), &[24, 1, 16, 16]);
    }

    #[test]
    fn odd_sizes_are_errors_not_panics() {
        assert!(photos(0, false).is_err());
        assert!(photos(3, true).is_err());
        assert!(photos(MAX_PHOTO_SIZE + 1, false).is_err());
    }
}
