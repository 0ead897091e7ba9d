//! Folders of the user's own images, written into a temporary folder by the tests: a class
//! folder of real photo crops, segmentation images with masks, and an anomaly folder in the
//! MVTec layout.

use std::path::{Path, PathBuf};

use convlab::engine::rng::Rng;

/// A fresh, empty temporary folder for one test (named after it and the process).
pub fn scratch(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("convlab-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The bundled photos (scikit-image's camera, astronaut and chelsea, public domain; see
/// assets/README.md), one class each.
pub const PHOTO_CLASSES: [&str; 3] = ["camera", "astronaut", "chelsea"];

/// `per_class` square crops of each bundled photo, at random positions and scales (a side
/// of 24 pixels up to half the photo's shorter side), each resized to 48×48 and saved as
/// PNG under `root/<photo>/`; seeded, so the same seed writes the same folder.
pub fn photo_crops(root: &Path, per_class: usize, seed: u64) {
    crops("assets/photos", &PHOTO_CLASSES, root, per_class, seed);
}

/// The bundled textures (scikit-image's brick, grass and gravel, CC0; grey), one class
/// each.
pub const TEXTURE_CLASSES: [&str; 3] = ["brick", "grass", "gravel"];

/// Like [`photo_crops`], of the bundled textures.
pub fn texture_crops(root: &Path, per_class: usize, seed: u64) {
    crops("assets/textures", &TEXTURE_CLASSES, root, per_class, seed);
}

fn crops(assets: &str, classes: &[&str], root: &Path, per_class: usize, seed: u64) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join(assets);
    let mut rng = Rng::new(seed);
    for &class in classes {
        let photo = image::open(assets.join(format!("{class}.png")))
            .unwrap()
            .to_rgb8();
        let (w, h) = (photo.width(), photo.height());
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_class {
            let max_side = w.min(h) / 2;
            let side = 24 + rng.below((max_side - 24) as usize + 1) as u32;
            let x = rng.below((w - side) as usize + 1) as u32;
            let y = rng.below((h - side) as usize + 1) as u32;
            let crop = image::imageops::crop_imm(&photo, x, y, side, side).to_image();
            image::imageops::resize(&crop, 48, 48, image::imageops::FilterType::Triangle)
                .save(dir.join(format!("{i:03}.png")))
                .unwrap();
        }
    }
}

/// `n` grey images of bright disks on a darker noisy background under `root/images/`,
/// with binary masks (0 and 255, the disks) under `root/masks/` named `<stem>_mask.png`;
/// all `side`×`side`. Returns the images and masks folders.
pub fn segmentation_pairs(root: &Path, n: usize, side: u32, seed: u64) -> (PathBuf, PathBuf) {
    let (images, masks) = (root.join("images"), root.join("masks"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    let mut rng = Rng::new(seed);
    for i in 0..n {
        let (cx, cy) = (
            rng.uniform(0.25, 0.75) * side as f64,
            rng.uniform(0.25, 0.75) * side as f64,
        );
        let r = rng.uniform(0.1, 0.25) * side as f64;
        let inside = |x: u32, y: u32| (x as f64 - cx).hypot(y as f64 - cy) < r;
        let noise: Vec<u8> = (0..side * side).map(|_| rng.below(40) as u8).collect();
        image::GrayImage::from_fn(side, side, |x, y| {
            let base = if inside(x, y) { 200 } else { 60 };
            image::Luma([base + noise[(y * side + x) as usize]])
        })
        .save(images.join(format!("cell{i:02}.png")))
        .unwrap();
        image::GrayImage::from_fn(side, side, |x, y| {
            image::Luma([if inside(x, y) { 255 } else { 0 }])
        })
        .save(masks.join(format!("cell{i:02}_mask.png")))
        .unwrap();
    }
    (images, masks)
}

/// An anomaly folder in the MVTec layout under `root`: `train/` with `normal` images of
/// horizontal stripes, `test/good/` with `good` more, `test/scratch/` with `defective`
/// striped images crossed by a dark vertical line, and `ground_truth/scratch/` with the
/// line's masks (`<stem>_mask.png`). Grey, `side`×`side`. Returns (train, test, masks).
pub fn anomaly_folders(
    root: &Path,
    normal: usize,
    good: usize,
    defective: usize,
    side: u32,
) -> (PathBuf, PathBuf, PathBuf) {
    let (train, test, masks) = (
        root.join("train"),
        root.join("test"),
        root.join("ground_truth"),
    );
    for dir in [
        train.clone(),
        test.join("good"),
        test.join("scratch"),
        masks.join("scratch"),
    ] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let stripes = |phase: u32| {
        image::GrayImage::from_fn(side, side, move |_, y| {
            image::Luma([if (y + phase) % 4 < 2 { 180 } else { 90 }])
        })
    };
    for i in 0..normal {
        stripes(i as u32)
            .save(train.join(format!("{i:03}.png")))
            .unwrap();
    }
    for i in 0..good {
        stripes(i as u32 + 1)
            .save(test.join(format!("good/{i:03}.png")))
            .unwrap();
    }
    for i in 0..defective {
        let column = 2 + (i as u32 * 3) % (side - 4);
        let mut img = stripes(i as u32);
        for y in 0..side {
            img.put_pixel(column, y, image::Luma([0]));
        }
        img.save(test.join(format!("scratch/{i:03}.png"))).unwrap();
        image::GrayImage::from_fn(side, side, |x, _| {
            image::Luma([if x == column { 255 } else { 0 }])
        })
        .save(masks.join(format!("scratch/{i:03}_mask.png")))
        .unwrap();
    }
    (train, test, masks)
}
