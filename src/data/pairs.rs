//! The user's own anomaly and segmentation data: images paired with masks by file stem.
//!
//! * Segmentation ([`load_segmentation_pairs`]): an images folder and a masks folder. A mask
//!   belongs to the image with the same stem (`cat7.jpg` ↔ `cat7.png`), also with one of the
//!   suffixes in [`MASK_SUFFIXES`] (`cat7_mask.png`). Masks are binary (0 and 255, or 0 and
//!   1), grey class indices (0, 1, 2, …), or colours of a palette; [`MaskFormat::Auto`] finds
//!   out which from the values over all masks.
//! * Anomaly ([`load_anomaly_folders`]): a folder of normal images; optionally a test folder
//!   and a masks folder. Test images in subfolders named `good`, `normal` or `ok` are normal,
//!   in any other subfolder anomalous (the folder name is the defect kind, as in MVTec AD:
//!   `test/crack/000.png` with `ground_truth/crack/000_mask.png`). Test images directly in
//!   the test folder are labelled by their mask (any defect pixel = anomalous; no mask file =
//!   normal) when a masks folder is given, and unlabelled otherwise.
//!
//! Every file is checked before decoding (the header's size against [`folder::MAX_PIXELS`],
//! and the total against [`MAX_VALUES`]), so memory stays bounded. A missing mask, an image
//! and mask of different sizes, an unreadable file or a mask with unexpected values is
//! reported as a [`Skipped`] entry with its reason; the rest loads. Masks are resized with
//! nearest-neighbour sampling, so their values stay exact.
//!
//! [`folder::MAX_PIXELS`]: super::folder::MAX_PIXELS

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::Array4;
use serde::{Deserialize, Serialize};

use super::folder::{
    CANCELLED, ImageError, ImageOptions, MAX_TARGET_SIDE, Skipped, decode_checked, header_size,
    load_image,
};
use super::segmentation::one_hot;
use super::textures::{AnomalyLoad, AnomalySet, AnomalyTest};
use super::{DataError, Dataset, Targets};

/// Mask file stems may add one of these to the image's stem.
pub const MASK_SUFFIXES: [&str; 7] = [
    "_mask", "_masks", "-mask", "_label", "_labels", "_gt", "_seg",
];
/// Most classes a mask may have.
pub const MAX_CLASSES: usize = 32;
/// Largest number of values (images plus targets) a loaded set may hold (800 MB of f32).
pub const MAX_VALUES: usize = super::synthetic::MAX_VALUES;
/// Test subfolders with these names (any case) hold normal images.
pub const NORMAL_FOLDERS: [&str; 3] = ["good", "normal", "ok"];

/// Why a mask, or an image with its mask, is left out (the reason of its [`Skipped`]
/// entry), or why the masks as a whole have no usable format.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("the image is {}×{} but its mask {} is {}×{}", .image.0, .image.1, .mask.display(), .mask_size.0, .mask_size.1)]
    ImageAndMaskSizes {
        image: (u32, u32),
        mask: PathBuf,
        mask_size: (u32, u32),
    },
    #[error("the mask is {}×{} but its image {} is {}×{}", .mask.0, .mask.1, .image.display(), .image_size.0, .image_size.1)]
    MaskAndImageSizes {
        mask: (u32, u32),
        image: PathBuf,
        image_size: (u32, u32),
    },
    #[error(
        "{0} different values: expected a binary, class-index or palette mask (save masks as PNG, not JPEG)"
    )]
    TooManyValues(usize),
    #[error("colour {0:?} in a grey mask")]
    ColourInGreyMask([u8; 3]),
    #[error(
        "value {0} in a binary mask (expected 0 and 255, or 0 and 1; a mask saved as JPEG gets in-between values)"
    )]
    NotBinary(u32),
    #[error("class index {index}, but there are {classes} classes")]
    ClassIndex { index: u32, classes: usize },
    #[error("grey value {0} is not one of the mask levels")]
    UnknownLevel(u32),
    #[error("colour {0:?} is not in the palette")]
    NotInPalette([u8; 3]),
    #[error(
        "the masks use {0} different grey values; expected binary masks, class indices or at most {MAX_CLASSES} levels"
    )]
    TooManyGreys(usize),
    #[error("the masks use {0} different colours; a palette may have at most {MAX_CLASSES}")]
    TooManyColours(usize),
    #[error(
        "{0} different values: a defect mask must be black (0) and one other grey value (255 or 1)"
    )]
    NotADefectMask(usize),
}

/// How segmentation mask values map to classes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskFormat {
    /// Decide from the values of all masks: grey {0, 255} or {0, 1} → binary; grey values
    /// below [`MAX_CLASSES`] → class indices; a few other grey levels → one class per level
    /// (in increasing order); colours → one class per colour (black first).
    #[default]
    Auto,
    /// 0 = background, 1 or 255 = foreground; any other value is unexpected.
    Binary,
    /// Grey class indices `0..classes`; larger values are unexpected.
    Indices(usize),
    /// Class `i` is colour `palette[i]`; other colours are unexpected.
    Palette(Vec<[u8; 3]>),
}

/// Where the segmentation pairs are.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentationFolders {
    pub images: PathBuf,
    pub masks: PathBuf,
    pub format: MaskFormat,
}

/// A loaded segmentation set.
#[derive(Clone, Debug)]
pub struct SegmentationLoad {
    /// Inputs `[n, c, h, w]`; targets [`Targets::Dense`]: `[n, 1, h, w]` 0/1 for two classes,
    /// one-hot `[n, k, h, w]` for more. `class_names` names the k classes.
    pub dataset: Dataset,
    pub skipped: Vec<Skipped>,
    /// The colour of each class when the masks were colour-coded (for overlays).
    pub palette: Option<Vec<[u8; 3]>>,
    /// Which reading of the masks was used, e.g. "binary (0/255)".
    pub format: String,
}

/// Where the anomaly data is.
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyFolders {
    pub normal: PathBuf,
    pub test: Option<PathBuf>,
    pub masks: Option<PathBuf>,
}

fn is_image_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "png" | "jpg" | "jpeg" | "bmp" | "gif" | "tif" | "tiff" | "webp"
        )
    })
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Image files (sorted) and subfolders (sorted) of `dir`.
fn list(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DataError> {
    let err = |reason: String| DataError::File {
        path: dir.display().to_string(),
        reason,
    };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| err(e.to_string()))? {
        let path = entry.map_err(|e| err(e.to_string()))?.path();
        if path.is_dir() {
            dirs.push(path);
        } else if is_image_name(&path) {
            files.push(path);
        }
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
}

/// Masks of `dir` by the stem of the image they belong to; exact stems win over suffixed ones.
fn masks_by_stem(files: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut out: BTreeMap<String, PathBuf> = BTreeMap::new();
    for p in files {
        let s = stem(p);
        if let Some(base) = MASK_SUFFIXES.iter().find_map(|suf| s.strip_suffix(suf)) {
            out.entry(base.to_string()).or_insert_with(|| p.clone());
        }
    }
    for p in files {
        out.insert(stem(p), p.clone());
    }
    out
}

/// Decodes a mask (size already checked) and samples it at `size` with nearest neighbour:
/// one packed `0xRRGGBB` per pixel. Transparent pixels count as black.
fn load_mask(path: &Path, size: [usize; 2]) -> Result<Vec<u32>, MaskError> {
    let img = decode_checked(path)?;
    let rgba = img.to_rgba8();
    let (w, h) = (rgba.width() as usize, rgba.height() as usize);
    let [th, tw] = size;
    let mut out = Vec::with_capacity(th * tw);
    for y in 0..th {
        let sy = ((y * 2 + 1) * h / (th * 2)).min(h - 1);
        for x in 0..tw {
            let sx = ((x * 2 + 1) * w / (tw * 2)).min(w - 1);
            let p = rgba.get_pixel(sx as u32, sy as u32).0;
            out.push(if p[3] == 0 {
                0
            } else {
                u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2])
            });
        }
    }
    Ok(out)
}

fn is_grey(v: u32) -> bool {
    let (r, g, b) = (v >> 16 & 255, v >> 8 & 255, v & 255);
    r == g && g == b
}

fn rgb(v: u32) -> [u8; 3] {
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn check_size(size: [usize; 2], root: &Path) -> Result<(), DataError> {
    let [h, w] = size;
    if h == 0 || w == 0 || h > MAX_TARGET_SIDE || w > MAX_TARGET_SIDE {
        return Err(DataError::File {
            path: root.display().to_string(),
            reason: format!("image size must be between 1 and {MAX_TARGET_SIDE} pixels per side"),
        });
    }
    Ok(())
}

fn check_total(n: usize, per: usize, root: &Path) -> Result<(), DataError> {
    if n.checked_mul(per).is_none_or(|v| v > MAX_VALUES) {
        return Err(DataError::File {
            path: root.display().to_string(),
            reason: format!(
                "{n} images of {per} values is more than the limit of {MAX_VALUES} values; use fewer images or a smaller size"
            ),
        });
    }
    Ok(())
}

/// How an automatically detected or given mask format turns pixel values into classes.
enum Mapping {
    Binary,
    Indices(usize),
    Levels(Vec<u32>),
    Palette(Vec<u32>),
}

impl Mapping {
    fn classes(&self) -> usize {
        match self {
            Mapping::Binary => 2,
            Mapping::Indices(k) => *k,
            Mapping::Levels(v) | Mapping::Palette(v) => v.len(),
        }
    }

    /// The class of a packed pixel value, or why it is unexpected.
    fn class(&self, v: u32) -> Result<u8, MaskError> {
        let grey = || {
            if is_grey(v) {
                Ok(v & 255)
            } else {
                Err(MaskError::ColourInGreyMask(rgb(v)))
            }
        };
        match self {
            Mapping::Binary => match grey()? {
                0 => Ok(0),
                1 | 255 => Ok(1),
                g => Err(MaskError::NotBinary(g)),
            },
            Mapping::Indices(k) => {
                let g = grey()?;
                if (g as usize) < *k {
                    Ok(g as u8)
                } else {
                    Err(MaskError::ClassIndex {
                        index: g,
                        classes: *k,
                    })
                }
            }
            Mapping::Levels(levels) => levels
                .iter()
                .position(|&l| l == v)
                .map(|i| i as u8)
                .ok_or(MaskError::UnknownLevel(v & 255)),
            Mapping::Palette(colours) => colours
                .iter()
                .position(|&c| c == v)
                .map(|i| i as u8)
                .ok_or_else(|| MaskError::NotInPalette(rgb(v))),
        }
    }
}

/// Decides the mapping for `Auto` from the union of mask values.
fn auto_mapping(values: &BTreeSet<u32>) -> Result<(Mapping, String), MaskError> {
    if values.iter().all(|&v| is_grey(v)) {
        let greys: BTreeSet<u32> = values.iter().map(|v| v & 255).collect();
        if greys.iter().all(|g| [0, 1, 255].contains(g)) {
            return Ok((
                Mapping::Binary,
                "binary (0 = background, else foreground)".into(),
            ));
        }
        let max = greys.iter().max().copied().unwrap_or(0) as usize;
        if max < MAX_CLASSES {
            return Ok((Mapping::Indices(max + 1), format!("class indices 0–{max}")));
        }
        if greys.len() <= MAX_CLASSES {
            let levels: Vec<u32> = values.iter().copied().collect();
            let text = format!(
                "{} grey levels ({})",
                levels.len(),
                greys
                    .iter()
                    .map(|g| g.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return Ok((Mapping::Levels(levels), text));
        }
        return Err(MaskError::TooManyGreys(greys.len()));
    }
    if values.len() > MAX_CLASSES {
        return Err(MaskError::TooManyColours(values.len()));
    }
    // BTreeSet order puts black (0) first.
    let colours: Vec<u32> = values.iter().copied().collect();
    Ok((
        Mapping::Palette(colours.clone()),
        format!("a palette of {} colours", colours.len()),
    ))
}

/// Loads images and masks paired by stem; see the module docs.
/// `progress(done, total)` is called as pairs load; `cancel` stops early with an error.
pub fn load_segmentation_pairs(
    folders: &SegmentationFolders,
    opts: ImageOptions,
    cancel: Option<&AtomicBool>,
    mut progress: impl FnMut(usize, usize),
) -> Result<SegmentationLoad, DataError> {
    let root = &folders.images;
    check_size(opts.size, root)?;
    let [h, w] = opts.size;
    let c = if opts.grayscale { 1 } else { 3 };
    let (images, _) = list(&folders.images)?;
    let (mask_files, _) = list(&folders.masks)?;
    if images.is_empty() {
        return Err(DataError::File {
            path: root.display().to_string(),
            reason: "no images found".into(),
        });
    }
    // One message instead of one "no mask" line per image.
    if mask_files.is_empty() {
        return Err(DataError::File {
            path: folders.masks.display().to_string(),
            reason: format!(
                "no mask images found: expected one mask per image of {}, named like the \
                 image (cat7.jpg ↔ cat7.png or cat7_mask.png)",
                root.display()
            ),
        });
    }
    check_total(images.len(), (c + 1) * h * w, root)?;
    let masks = masks_by_stem(&mask_files);
    let mut used = BTreeSet::new();
    let mut skipped = Vec::new();
    let mut pixels = Vec::new();
    let mut raw_masks: Vec<(PathBuf, PathBuf, Vec<u32>)> = Vec::new();
    let total = images.len();
    for (done, image) in images.into_iter().enumerate() {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(DataError::File {
                path: root.display().to_string(),
                reason: CANCELLED.into(),
            });
        }
        progress(done, total);
        let Some(mask) = masks.get(&stem(&image)) else {
            skipped.push(Skipped {
                reason: format!(
                    "no mask named {}.* (or with a suffix such as _mask) in {}",
                    stem(&image),
                    folders.masks.display()
                ),
                path: image,
            });
            continue;
        };
        used.insert(mask.clone());
        let pair = (|| {
            let isz = header_size(&image).map_err(|e| (image.clone(), e.into()))?;
            let msz = header_size(mask).map_err(|e| (mask.clone(), e.into()))?;
            if isz != msz {
                return Err((
                    image.clone(),
                    MaskError::ImageAndMaskSizes {
                        image: isz,
                        mask: mask.clone(),
                        mask_size: msz,
                    },
                ));
            }
            let m = load_mask(mask, opts.size).map_err(|e| (mask.clone(), e))?;
            let distinct: BTreeSet<u32> = m.iter().copied().collect();
            if distinct.len() > MAX_CLASSES {
                return Err((mask.clone(), MaskError::TooManyValues(distinct.len())));
            }
            let px = load_image(&image, opts).map_err(|e| (image.clone(), e.into()))?;
            Ok((px, m))
        })();
        match pair {
            Ok((px, m)) => {
                pixels.push(px);
                raw_masks.push((image, mask.clone(), m));
            }
            Err((path, e)) => skipped.push(Skipped {
                path,
                reason: e.to_string(),
            }),
        }
    }
    progress(total, total);
    for m in mask_files {
        if !used.contains(&m) {
            skipped.push(Skipped {
                reason: "no image with this stem".into(),
                path: m,
            });
        }
    }
    // Decide the mapping, then drop masks with values it does not know.
    let (mapping, format) = match &folders.format {
        MaskFormat::Auto => {
            let values: BTreeSet<u32> = raw_masks
                .iter()
                .flat_map(|(_, _, m)| m.iter().copied())
                .collect();
            auto_mapping(&values).map_err(|e| DataError::File {
                path: folders.masks.display().to_string(),
                reason: e.to_string(),
            })?
        }
        MaskFormat::Binary => (Mapping::Binary, "binary".into()),
        MaskFormat::Indices(k) => {
            if !(2..=MAX_CLASSES).contains(k) {
                return Err(DataError::Invalid(format!(
                    "mask_format indices needs 2 to {MAX_CLASSES} classes, got {k}"
                )));
            }
            (Mapping::Indices(*k), format!("class indices 0–{}", k - 1))
        }
        MaskFormat::Palette(colours) => {
            if !(2..=MAX_CLASSES).contains(&colours.len()) {
                return Err(DataError::Invalid(format!(
                    "a mask palette needs 2 to {MAX_CLASSES} colours, got {}",
                    colours.len()
                )));
            }
            let packed = colours
                .iter()
                .map(|c| u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]))
                .collect();
            (
                Mapping::Palette(packed),
                format!("a palette of {} colours", colours.len()),
            )
        }
    };
    let k = mapping.classes();
    let mut inputs = Vec::new();
    let mut labels: Vec<u8> = Vec::new();
    for (px, (image, mask, m)) in pixels.into_iter().zip(raw_masks) {
        match m
            .iter()
            .map(|&v| mapping.class(v))
            .collect::<Result<Vec<u8>, _>>()
        {
            Ok(l) => {
                inputs.extend(px);
                labels.extend(l);
            }
            Err(e) => skipped.push(Skipped {
                path: mask,
                reason: format!("{e} (image {} left out)", image.display()),
            }),
        }
    }
    let n = labels.len() / (h * w);
    if n == 0 {
        return Err(DataError::File {
            path: root.display().to_string(),
            reason: match skipped.first() {
                Some(first) => format!(
                    "no image could be paired with a usable mask ({} problems, e.g. {}: {})",
                    skipped.len(),
                    first.path.display(),
                    first.reason
                ),
                None => "no image could be paired with a usable mask".into(),
            },
        });
    }
    let out_channels = if k == 2 { 1 } else { k };
    check_total(n, (c + out_channels) * h * w, root)?;
    let targets = if k == 2 {
        Array4::from_shape_vec((n, 1, h, w), labels.iter().map(|&l| f32::from(l)).collect())
            .expect("n·h·w labels")
    } else {
        one_hot(&labels, n, k, h, w)
    };
    let class_names: Vec<String> = match &mapping {
        Mapping::Binary => vec!["background".into(), "foreground".into()],
        Mapping::Indices(k) => (0..*k).map(|i| format!("class {i}")).collect(),
        Mapping::Levels(v) => v.iter().map(|g| format!("grey {}", g & 255)).collect(),
        Mapping::Palette(v) => v
            .iter()
            .map(|&c| {
                let [r, g, b] = rgb(c);
                format!("#{r:02x}{g:02x}{b:02x}")
            })
            .collect(),
    };
    let palette = match &mapping {
        Mapping::Palette(v) => Some(v.iter().map(|&c| rgb(c)).collect()),
        _ => None,
    };
    let name = root
        .file_name()
        .map_or("segmentation".into(), |n| n.to_string_lossy().into_owned());
    Ok(SegmentationLoad {
        dataset: Dataset {
            name,
            inputs: Array4::from_shape_vec((n, c, h, w), inputs).expect("n·c·h·w values"),
            targets: Targets::Dense(targets),
            class_names,
        },
        skipped,
        palette,
        format,
    })
}

/// A binary defect mask from packed values: nonzero = defect; more than two values is an error.
fn defect_mask(m: &[u32]) -> Result<Vec<f32>, MaskError> {
    let distinct: BTreeSet<u32> = m.iter().copied().collect();
    let ok = distinct.len() <= 2 && distinct.iter().all(|&v| is_grey(v));
    if !ok {
        return Err(MaskError::NotADefectMask(distinct.len()));
    }
    Ok(m.iter().map(|&v| f32::from(u8::from(v != 0))).collect())
}

/// Finds the mask of test image `image` (in subfolder `sub`, if any) under `masks`.
fn find_mask(masks: &Path, sub: Option<&str>, image: &Path) -> Option<PathBuf> {
    let s = stem(image);
    let dirs: Vec<PathBuf> = sub
        .map(|d| masks.join(d))
        .into_iter()
        .chain(std::iter::once(masks.to_path_buf()))
        .collect();
    for dir in dirs {
        let Ok((files, _)) = list(&dir) else { continue };
        if let Some(p) = masks_by_stem(&files).get(&s) {
            return Some(p.clone());
        }
    }
    None
}

/// Loads the user's anomaly data; see the module docs.
pub fn load_anomaly_folders(
    folders: &AnomalyFolders,
    opts: ImageOptions,
    cancel: Option<&AtomicBool>,
    mut progress: impl FnMut(usize, usize),
) -> Result<AnomalyLoad, DataError> {
    check_size(opts.size, &folders.normal)?;
    let [h, w] = opts.size;
    let c = if opts.grayscale { 1 } else { 3 };
    let (normal_files, _) = list(&folders.normal)?;
    // Test images: (path, subfolder, label).
    let mut tests: Vec<(PathBuf, Option<String>, Option<bool>)> = Vec::new();
    if let Some(test) = &folders.test {
        let (files, dirs) = list(test)?;
        // Without subfolders (and without masks to label them by) the test images would
        // have no labels, and the scores need them: say so once instead of loading them.
        if dirs.is_empty() && folders.masks.is_none() {
            return Err(DataError::File {
                path: test.display().to_string(),
                reason: format!(
                    "the test folder has no subfolders: put normal test images in a subfolder \
                     named {} and defective ones in a subfolder named after the defect \
                     (e.g. crack/), or give a masks folder to label them",
                    NORMAL_FOLDERS.join(", ")
                ),
            });
        }
        let flat_label = folders.masks.as_ref().map(|_| false);
        tests.extend(files.into_iter().map(|p| (p, None, flat_label)));
        for d in dirs {
            let name = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let normal = NORMAL_FOLDERS.iter().any(|n| n.eq_ignore_ascii_case(&name));
            let (files, _) = list(&d)?;
            tests.extend(
                files
                    .into_iter()
                    .map(|p| (p, Some(name.clone()), Some(!normal))),
            );
        }
    }
    if let Some(test) = &folders.test
        && tests.is_empty()
    {
        return Err(DataError::File {
            path: test.display().to_string(),
            reason: "no test images found in the test folder or its subfolders".into(),
        });
    }
    check_total(
        normal_files.len() * 2 + tests.len(),
        (c + 1) * h * w,
        &folders.normal,
    )?;
    let total = normal_files.len() + tests.len();
    let mut done = 0;
    let mut skipped = Vec::new();
    let cancelled = || {
        cancel
            .is_some_and(|c| c.load(Ordering::Relaxed))
            .then(|| DataError::File {
                path: folders.normal.display().to_string(),
                reason: CANCELLED.into(),
            })
    };
    let mut normal = Vec::new();
    for path in normal_files {
        if let Some(e) = cancelled() {
            return Err(e);
        }
        progress(done, total);
        done += 1;
        match load_image(&path, opts) {
            Ok(v) => normal.extend(v),
            Err(e) => skipped.push(Skipped {
                path,
                reason: e.to_string(),
            }),
        }
    }
    let n_normal = normal.len() / (c * h * w);
    if n_normal == 0 {
        return Err(DataError::File {
            path: folders.normal.display().to_string(),
            reason: "no readable normal images".into(),
        });
    }
    let mut inputs = Vec::new();
    let mut masks = Vec::new();
    let (mut anomalous, mut has_mask, mut kinds, mut names) = (vec![], vec![], vec![], vec![]);
    for (path, sub, label) in tests {
        if let Some(e) = cancelled() {
            return Err(e);
        }
        progress(done, total);
        done += 1;
        let px = match load_image(&path, opts) {
            Ok(v) => v,
            Err(e) => {
                skipped.push(Skipped {
                    path,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let mut label = label;
        let mut mask: Option<Vec<f32>> = None;
        if let Some(mdir) = &folders.masks {
            match find_mask(mdir, sub.as_deref(), &path) {
                Some(mp) => {
                    let checked = header_size(&path)
                        .and_then(|isz| Ok((isz, header_size(&mp)?)))
                        .map_err(MaskError::from)
                        .and_then(|(isz, msz)| {
                            if isz == msz {
                                Ok(())
                            } else {
                                Err(MaskError::MaskAndImageSizes {
                                    mask: msz,
                                    image: path.clone(),
                                    image_size: isz,
                                })
                            }
                        })
                        .and_then(|()| load_mask(&mp, opts.size))
                        .and_then(|m| defect_mask(&m));
                    match checked {
                        Ok(m) => {
                            if sub.is_none() {
                                label = Some(m.iter().any(|&v| v > 0.0));
                            }
                            mask = Some(m);
                        }
                        Err(e) => skipped.push(Skipped {
                            path: mp,
                            reason: format!("{e}; left out of the pixel-level scores"),
                        }),
                    }
                }
                None if label == Some(true) => skipped.push(Skipped {
                    path: path.clone(),
                    reason: "no mask found: left out of the pixel-level scores".into(),
                }),
                None => {}
            }
        }
        // Normal images have no defect pixels, mask or not.
        if label == Some(false) && mask.is_none() {
            mask = Some(vec![0.0; h * w]);
        }
        inputs.extend(px);
        has_mask.push(mask.is_some());
        masks.extend(mask.unwrap_or_else(|| vec![0.0; h * w]));
        anomalous.push(label);
        kinds.push(match (&sub, label) {
            (Some(s), _) => s.clone(),
            (None, Some(true)) => "anomalous".into(),
            (None, Some(false)) => "normal".into(),
            (None, None) => "unlabelled".into(),
        });
        names.push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    progress(total, total);
    let n_test = anomalous.len();
    let normal = Array4::from_shape_vec((n_normal, c, h, w), normal).expect("n·c·h·w values");
    let name = folders
        .normal
        .file_name()
        .map_or("anomaly".into(), |n| n.to_string_lossy().into_owned());
    Ok(AnomalyLoad {
        set: AnomalySet {
            normal: Dataset {
                name,
                targets: Targets::Dense(normal.clone()),
                inputs: normal,
                class_names: Vec::new(),
            },
            test: AnomalyTest {
                inputs: Array4::from_shape_vec((n_test, c, h, w), inputs).expect("n·c·h·w values"),
                anomalous,
                masks: Array4::from_shape_vec((n_test, 1, h, w), masks).expect("n·h·w values"),
                has_mask,
                kinds,
                names,
            },
        },
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("convlab-pairs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    fn grey_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)]))
            .save(path)
            .unwrap();
    }

    fn rgb_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)))
            .save(path)
            .unwrap();
    }

    fn opts() -> ImageOptions {
        ImageOptions {
            size: [8, 8],
            grayscale: true,
        }
    }

    #[test]
    fn segmentation_pairs_report_missing_mismatched_and_bad_masks() {
        let root = tmp("seg");
        let (im, mk) = (root.join("images"), root.join("masks"));
        for i in 0..4 {
            grey_png(&im.join(format!("a{i}.png")), 16, 16, |x, _| (x * 10) as u8);
        }
        grey_png(
            &mk.join("a0.png"),
            16,
            16,
            |x, _| if x < 8 { 0 } else { 255 },
        );
        grey_png(
            &mk.join("a1_mask.png"),
            16,
            16,
            |_, y| if y < 4 { 255 } else { 0 },
        );
        // a2: wrong size; a3: no mask; a4: unreadable image; a5: mask with many values.
        grey_png(&mk.join("a2.png"), 10, 16, |_, _| 0);
        std::fs::write(im.join("a4.png"), b"not a png").unwrap();
        grey_png(&mk.join("a4.png"), 16, 16, |_, _| 0);
        grey_png(&im.join("a5.png"), 16, 16, |_, _| 9);
        grey_png(&mk.join("a5.png"), 16, 16, |x, y| (x * 16 + y) as u8);
        grey_png(&mk.join("orphan.png"), 16, 16, |_, _| 0);
        let f = SegmentationFolders {
            images: im.clone(),
            masks: mk.clone(),
            format: MaskFormat::Auto,
        };
        let load = load_segmentation_pairs(&f, opts(), None, |_, _| {}).unwrap();
        assert_eq!(load.dataset.len(), 2, "{:?}", load.skipped);
        assert_eq!(load.dataset.class_names, ["background", "foreground"]);
        let Targets::Dense(t) = &load.dataset.targets else {
            panic!()
        };
        assert_eq!(t.shape(), &[2, 1, 8, 8]);
        assert_eq!(t[[0, 0, 0, 3]], 0.0);
        assert_eq!(t[[0, 0, 0, 4]], 1.0);
        assert_eq!(t[[1, 0, 1, 5]], 1.0);
        assert_eq!(t[[1, 0, 2, 5]], 0.0);
        let reasons: Vec<String> = load
            .skipped
            .iter()
            .map(|s| {
                format!(
                    "{}: {}",
                    s.path.file_name().unwrap().to_string_lossy(),
                    s.reason
                )
            })
            .collect();
        assert_eq!(reasons.len(), 5, "{reasons:#?}");
        for (file, word) in [
            ("a2.png", "10×16"),
            ("a3.png", "no mask"),
            ("a4.png", "unreadable"),
            ("a5.png", "different values"),
            ("orphan.png", "no image"),
        ] {
            assert!(
                reasons
                    .iter()
                    .any(|r| r.starts_with(file) && r.contains(word)),
                "{file} {word}: {reasons:#?}"
            );
        }
        // Explicit binary: a mask with value 7 is unexpected and reported.
        grey_png(&mk.join("a3.png"), 16, 16, |x, _| if x < 2 { 7 } else { 0 });
        let f = SegmentationFolders {
            format: MaskFormat::Binary,
            ..f
        };
        let load = load_segmentation_pairs(&f, opts(), None, |_, _| {}).unwrap();
        assert_eq!(load.dataset.len(), 2);
        assert!(load.skipped.iter().any(|s| s.reason.contains("value 7")));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn class_index_and_palette_masks() {
        let root = tmp("multi");
        let (im, mk) = (root.join("images"), root.join("masks"));
        for i in 0..2 {
            grey_png(&im.join(format!("{i}.png")), 8, 8, |_, _| 100);
            grey_png(&mk.join(format!("{i}.png")), 8, 8, |x, _| (x / 3) as u8);
        }
        let f = SegmentationFolders {
            images: im.clone(),
            masks: mk.clone(),
            format: MaskFormat::Auto,
        };
        let load = load_segmentation_pairs(&f, opts(), None, |_, _| {}).unwrap();
        let Targets::Dense(t) = &load.dataset.targets else {
            panic!()
        };
        assert_eq!(t.shape(), &[2, 3, 8, 8]);
        assert_eq!(load.dataset.class_names.len(), 3);
        assert_eq!(t[[0, 2, 0, 7]], 1.0);
        assert_eq!(t[[0, 0, 0, 0]], 1.0);
        // Palette masks: red and green on black.
        let pm = root.join("pmasks");
        for i in 0..2 {
            rgb_png(&pm.join(format!("{i}.png")), 8, 8, |x, _| match x {
                0..3 => [0, 0, 0],
                3..6 => [255, 0, 0],
                _ => [0, 255, 0],
            });
        }
        let f = SegmentationFolders {
            images: im.clone(),
            masks: pm.clone(),
            format: MaskFormat::Palette(vec![[0, 0, 0], [255, 0, 0], [0, 255, 0]]),
        };
        let load = load_segmentation_pairs(&f, opts(), None, |_, _| {}).unwrap();
        let Targets::Dense(t) = &load.dataset.targets else {
            panic!()
        };
        assert_eq!(t.shape(), &[2, 3, 8, 8]);
        assert_eq!(t[[1, 1, 5, 4]], 1.0);
        assert_eq!(t[[1, 2, 5, 7]], 1.0);
        assert_eq!(load.palette.as_ref().unwrap()[1], [255, 0, 0]);
        // Auto on the same palette: black first.
        let f = SegmentationFolders {
            format: MaskFormat::Auto,
            ..f
        };
        let load = load_segmentation_pairs(&f, opts(), None, |_, _| {}).unwrap();
        assert_eq!(load.palette.unwrap()[0], [0, 0, 0]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn anomaly_folders_in_mvtec_layout() {
        let root = tmp("anom");
        for i in 0..3 {
            grey_png(&root.join(format!("train/{i}.png")), 16, 16, |_, _| 120);
        }
        grey_png(&root.join("test/good/g0.png"), 16, 16, |_, _| 120);
        grey_png(&root.join("test/crack/c0.png"), 16, 16, |x, _| {
            if x < 4 { 0 } else { 120 }
        });
        grey_png(&root.join("test/crack/c1.png"), 16, 16, |_, _| 0);
        grey_png(&root.join("test/crack/c2.png"), 16, 16, |_, _| 0);
        grey_png(&root.join("gt/crack/c0_mask.png"), 16, 16, |x, _| {
            if x < 4 { 255 } else { 0 }
        });
        // c1: no mask; c2: mask of a different size.
        grey_png(&root.join("gt/crack/c2_mask.png"), 8, 8, |_, _| 255);
        let f = AnomalyFolders {
            normal: root.join("train"),
            test: Some(root.join("test")),
            masks: Some(root.join("gt")),
        };
        let load = load_anomaly_folders(&f, opts(), None, |_, _| {}).unwrap();
        let set = &load.set;
        assert_eq!(set.normal.len(), 3);
        assert_eq!(set.test.len(), 4);
        assert_eq!(set.test.names, ["c0.png", "c1.png", "c2.png", "g0.png"]);
        assert_eq!(
            set.test.anomalous,
            [Some(true), Some(true), Some(true), Some(false)]
        );
        assert_eq!(set.test.has_mask, [true, false, false, true]);
        assert_eq!(set.test.kinds[0], "crack");
        assert_eq!(set.test.masks[[0, 0, 3, 1]], 1.0);
        assert_eq!(set.test.masks[[0, 0, 3, 2]], 0.0);
        assert_eq!(load.skipped.len(), 2, "{:?}", load.skipped);
        // Without a test folder: an empty test set.
        let f = AnomalyFolders {
            test: None,
            masks: None,
            ..f
        };
        let load = load_anomaly_folders(&f, opts(), None, |_, _| {}).unwrap();
        assert_eq!(load.set.test.len(), 0);
        assert!(
            load_anomaly_folders(
                &AnomalyFolders {
                    normal: root.join("nowhere"),
                    test: None,
                    masks: None
                },
                opts(),
                None,
                |_, _| {}
            )
            .is_err()
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
