//! The user's own images: a folder with one subfolder per class.
//!
//! Every file is checked before decoding (dimensions from the header, a size limit), so a
//! broken or enormous file is skipped with its reason while the rest loads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use image::{ImageReader, Limits};
use ndarray::Array4;

use super::{DataError, Dataset, Targets};

/// Images with more pixels than this are refused before decoding.
pub const MAX_PIXELS: u64 = 64 << 20;
/// Largest accepted side of a source image.
pub const MAX_SIDE: u32 = 16_384;
/// Largest side images may be resized to.
pub const MAX_TARGET_SIDE: usize = 512;
/// Most values (images × channels × height × width) a loaded folder may hold: 800 MB.
pub const MAX_VALUES: usize = super::synthetic::MAX_VALUES;
/// The reason a load stopped because Cancel was pressed (the window tells it apart).
pub const CANCELLED: &str = "loading was cancelled";
/// While listing, progress is reported once per this many files found.
const LISTING_PROGRESS_EVERY: usize = 512;

/// A file that was not loaded, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// A loaded class folder: the data set and the files that were left out.
#[derive(Clone, Debug)]
pub struct FolderLoad {
    pub dataset: Dataset,
    pub skipped: Vec<Skipped>,
}

/// How to turn files into samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageOptions {
    /// `[height, width]` every image is resized to.
    pub size: [usize; 2],
    pub grayscale: bool,
}

fn is_image_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "png" | "jpg" | "jpeg" | "bmp" | "gif" | "tif" | "tiff" | "webp"
        )
    })
}

/// Why one image file cannot be read; the loaders skip the file with this as its reason.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("not an image the lab can read")]
    UnknownFormat,
    #[error("unreadable header: {0}")]
    Header(image::ImageError),
    #[error("the image is empty (0 pixels)")]
    Empty,
    #[error("{width}×{height} pixels is larger than the limit of {MAX_PIXELS} pixels")]
    TooLarge { width: u32, height: u32 },
    #[error("cannot decode: {0}")]
    Decode(image::ImageError),
}

/// Width and height from the file's header, refused when empty or over the size limits —
/// checked before anything is decoded.
pub fn header_size(path: &Path) -> Result<(u32, u32), ImageError> {
    let reader = ImageReader::open(path)?.with_guessed_format()?;
    if reader.format().is_none() {
        return Err(ImageError::UnknownFormat);
    }
    let (width, height) = reader.into_dimensions().map_err(ImageError::Header)?;
    if width == 0 || height == 0 {
        return Err(ImageError::Empty);
    }
    if width > MAX_SIDE || height > MAX_SIDE || width as u64 * height as u64 > MAX_PIXELS {
        return Err(ImageError::TooLarge { width, height });
    }
    Ok((width, height))
}

/// Decodes an image file whose header [`header_size`] accepted, within the same limits.
pub(crate) fn decode_checked(path: &Path) -> Result<image::DynamicImage, ImageError> {
    header_size(path)?;
    let mut reader = ImageReader::open(path)?.with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 16);
    reader.limits(limits);
    reader.decode().map_err(ImageError::Decode)
}

/// Decodes one image file into `[c, h, w]` values in [0, 1], resized to `opts.size`.
pub fn load_image(path: &Path, opts: ImageOptions) -> Result<Vec<f32>, ImageError> {
    Ok(image_to_chw(&decode_checked(path)?, opts))
}

/// Resizes and converts a decoded image into `[c, h, w]` values in [0, 1].
pub fn image_to_chw(img: &image::DynamicImage, opts: ImageOptions) -> Vec<f32> {
    let [th, tw] = opts.size;
    let resized = img.resize_exact(tw as u32, th as u32, image::imageops::FilterType::Triangle);
    if opts.grayscale {
        resized
            .to_luma8()
            .into_raw()
            .into_iter()
            .map(|v| v as f32 / 255.0)
            .collect()
    } else {
        let rgb = resized.to_rgb8();
        let mut out = vec![0.0; 3 * th * tw];
        for (i, px) in rgb.pixels().enumerate() {
            for c in 0..3 {
                out[c * th * tw + i] = px[c] as f32 / 255.0;
            }
        }
        out
    }
}

/// Loads `root/<class>/<image>`; classes are the subfolder names in sorted order.
///
/// `progress(done, total)` is called while listing (with `total == 0` and `done` counting
/// the files found so far) and then as files load; `cancel` is checked before every file,
/// in both phases, and stops early with an error. The whole data set's size is checked
/// against [`MAX_VALUES`] before any image is decoded.
pub fn load_class_folder(
    root: &Path,
    opts: ImageOptions,
    cancel: Option<&AtomicBool>,
    mut progress: impl FnMut(usize, usize),
) -> Result<FolderLoad, DataError> {
    let err = |reason: String| DataError::File {
        path: root.display().to_string(),
        reason,
    };
    let [h, w] = opts.size;
    if h == 0 || w == 0 || h > MAX_TARGET_SIDE || w > MAX_TARGET_SIDE {
        return Err(err(format!(
            "image size must be between 1 and {MAX_TARGET_SIDE} pixels per side"
        )));
    }
    let entries = std::fs::read_dir(root).map_err(|e| err(e.to_string()))?;
    let mut classes: Vec<(String, PathBuf)> = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| err(e.to_string()))?;
        let path = entry.path();
        if path.is_dir() {
            classes.push((entry.file_name().to_string_lossy().into_owned(), path));
        } else if is_image_name(&path) {
            skipped.push(Skipped {
                path,
                reason: "images must be inside a class subfolder".into(),
            });
        }
    }
    classes.sort();
    if classes.is_empty() {
        return Err(err(
            "no class subfolders found (expected one subfolder of images per class)".into(),
        ));
    }
    let mut files: Vec<(usize, PathBuf)> = Vec::new();
    for (label, (_, dir)) in classes.iter().enumerate() {
        match std::fs::read_dir(dir) {
            Err(e) => skipped.push(Skipped {
                path: dir.clone(),
                reason: format!("cannot read folder: {e}"),
            }),
            Ok(list) => {
                let mut names: Vec<PathBuf> = Vec::new();
                for entry in list {
                    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        return Err(err(CANCELLED.into()));
                    }
                    let found = files.len() + names.len();
                    if found.is_multiple_of(LISTING_PROGRESS_EVERY) {
                        progress(found, 0);
                    }
                    let path = match entry {
                        Ok(e) => e.path(),
                        Err(e) => {
                            skipped.push(Skipped {
                                path: dir.clone(),
                                reason: format!("cannot list folder: {e}"),
                            });
                            continue;
                        }
                    };
                    match std::fs::metadata(&path) {
                        Ok(m) if m.is_file() => names.push(path),
                        Ok(_) => {}
                        // A symlink loop or a dangling link: say so instead of hiding it.
                        Err(e) if is_image_name(&path) => skipped.push(Skipped {
                            path,
                            reason: e.to_string(),
                        }),
                        Err(_) => {}
                    }
                }
                names.sort();
                files.extend(names.into_iter().map(|p| (label, p)));
            }
        }
    }
    let c = if opts.grayscale { 1 } else { 3 };
    let total = files.len();
    let values = total.saturating_mul(c * h * w);
    if values > MAX_VALUES {
        let gib = |v: usize| v as f64 * 4.0 / (1u64 << 30) as f64;
        return Err(err(format!(
            "{total} images of {c}×{h}×{w} values would need {:.1} GiB of memory (the limit is \
             {:.1} GiB); choose a smaller image size, grayscale, or fewer images",
            gib(values),
            gib(MAX_VALUES)
        )));
    }
    let mut pixels = Vec::with_capacity(values);
    let mut labels = Vec::with_capacity(total);
    for (done, (label, path)) in files.into_iter().enumerate() {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(err(CANCELLED.into()));
        }
        progress(done, total);
        match load_image(&path, opts) {
            Ok(v) => {
                pixels.extend(v);
                labels.push(label);
            }
            Err(e) => skipped.push(Skipped {
                path,
                reason: e.to_string(),
            }),
        }
    }
    progress(total, total);
    if labels.is_empty() {
        return Err(err("no readable images in the class subfolders".into()));
    }
    let n = labels.len();
    let inputs = Array4::from_shape_vec((n, c, h, w), pixels).expect("each image has c·h·w values");
    let name = root
        .file_name()
        .map_or("folder".into(), |n| n.to_string_lossy().into_owned());
    let dataset = Dataset {
        name,
        inputs,
        targets: Targets::Labels(labels),
        class_names: classes.into_iter().map(|(n, _)| n).collect(),
    };
    Ok(FolderLoad { dataset, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_good_files_and_lists_bad_ones() {
        let root = std::env::temp_dir().join(format!("convlab-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for class in ["cats", "dogs"] {
            std::fs::create_dir_all(root.join(class)).unwrap();
            for i in 0..3 {
                let img = image::RgbImage::from_fn(10 + i, 7, |x, y| {
                    image::Rgb([(x * 20) as u8, (y * 30) as u8, 100])
                });
                img.save(root.join(class).join(format!("{i}.png"))).unwrap();
            }
        }
        std::fs::write(root.join("dogs/empty.png"), b"").unwrap();
        std::fs::write(root.join("dogs/text.jpg"), b"hello, not a jpeg").unwrap();
        let load = load_class_folder(
            &root,
            ImageOptions {
                size: [8, 8],
                grayscale: false,
            },
            None,
            |_, _| {},
        )
        .unwrap();
        assert_eq!(load.dataset.len(), 6);
        assert_eq!(load.dataset.inputs.shape(), &[6, 3, 8, 8]);
        assert_eq!(load.dataset.class_names, vec!["cats", "dogs"]);
        assert_eq!(load.skipped.len(), 2, "{:?}", load.skipped);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn missing_folder_is_a_clear_error() {
        let e = load_class_folder(
            Path::new("/no/such/folder"),
            ImageOptions {
                size: [8, 8],
                grayscale: true,
            },
            None,
            |_, _| {},
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/no/such/folder"), "{e}");
    }

    #[test]
    fn a_data_set_too_large_for_memory_is_refused_before_decoding() {
        let root = std::env::temp_dir().join(format!("convlab-folder-big-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("only")).unwrap();
        // 300 images resized to 3×512×512 would need 0.9 GiB; the files themselves are
        // not even images, so any decoding would skip them instead of failing the load.
        for i in 0..300 {
            std::fs::write(root.join(format!("only/{i}.png")), b"not decoded").unwrap();
        }
        let e = load_class_folder(
            &root,
            ImageOptions {
                size: [512, 512],
                grayscale: false,
            },
            None,
            |_, _| {},
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("300 images") && e.contains("GiB"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
