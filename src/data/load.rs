//! Turns a preset's data section into train and validation sets.

use super::folder::{ImageOptions, load_class_folder};
use super::synthetic::{function_1d, points, shapes};
use super::{DataError, Dataset, bundled};
use crate::engine::rng::Rng;
use crate::spec::{DataSource, DataSpec};

/// Makes or loads the whole data set described by `spec` (before the split).
pub fn load_source(spec: &DataSpec) -> Result<Dataset, DataError> {
    let limit = |ds: Dataset, limit: Option<usize>| match limit {
        Some(k) if k < ds.len() => {
            // The bundled sets are sorted by class: take an even spread, not the first k.
            let mut order: Vec<usize> = (0..ds.len()).collect();
            Rng::new(spec.seed ^ 0x11_417).shuffle(&mut order);
            order.truncate(k);
            order.sort_unstable();
            ds.select(&order)
        }
        _ => ds,
    };
    match &spec.source {
        DataSource::Points {
            pattern,
            samples,
            noise,
        } => points(*pattern, *samples, *noise, spec.seed),
        DataSource::Shapes {
            samples,
            size,
            noise,
        } => shapes(*samples, *size, *noise, spec.seed),
        DataSource::Function {
            function,
            samples,
            noise,
        } => function_1d(function, *samples, *noise, spec.seed),
        DataSource::Digits { limit: k } => Ok(limit(bundled::mnist_digits()?, *k)),
        DataSource::Fashion { limit: k } => Ok(limit(bundled::fashion_mnist()?, *k)),
        DataSource::Photos { size, grayscale } => super::photos::photos(*size, *grayscale),
        DataSource::Folder {
            path,
            size,
            grayscale,
        } => {
            let opts = ImageOptions {
                size: *size,
                grayscale: *grayscale,
            };
            Ok(load_class_folder(path, opts, None, |_, _| {})?.dataset)
        }
        DataSource::Textures {
            texture,
            size,
            samples,
            color,
            noise,
            ..
        } => super::textures::texture_normals(super::textures::TextureOptions {
            texture: *texture,
            size: *size,
            samples: *samples,
            test_samples: 0,
            color: *color,
            noise: *noise,
            seed: spec.seed,
        }),
        DataSource::Cells {
            samples,
            size,
            classes,
            noise,
        } => super::segmentation::cells(*samples, *size, *classes, *noise, spec.seed),
        DataSource::Vessels {
            samples,
            size,
            classes,
            noise,
        } => super::segmentation::vessels(*samples, *size, *classes, *noise, spec.seed),
        DataSource::AnomalyFolder {
            normal,
            size,
            grayscale,
            ..
        } => {
            // Training needs only the normal images; `textures::anomaly_set` loads the rest.
            let folders = super::pairs::AnomalyFolders {
                normal: normal.clone(),
                test: None,
                masks: None,
            };
            let opts = ImageOptions {
                size: *size,
                grayscale: *grayscale,
            };
            Ok(
                super::pairs::load_anomaly_folders(&folders, opts, None, |_, _| {})?
                    .set
                    .normal,
            )
        }
        DataSource::SegmentationFolder {
            images,
            masks,
            size,
            grayscale,
            mask_format,
        } => {
            let opts = ImageOptions {
                size: *size,
                grayscale: *grayscale,
            };
            let pairs = super::pairs::SegmentationFolders {
                images: images.clone(),
                masks: masks.clone(),
                format: mask_format.clone(),
            };
            Ok(super::pairs::load_segmentation_pairs(&pairs, opts, None, |_, _| {})?.dataset)
        }
    }
}

/// Shuffles with `seed` and holds out `val_fraction` of the samples (at least one each
/// side when there are two or more samples).
pub fn split(data: &Dataset, val_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let n = data.len();
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed ^ 0x5EED_5A17).shuffle(&mut order);
    let mut n_val = (n as f64 * val_fraction).round() as usize;
    if val_fraction > 0.0 && n >= 2 {
        n_val = n_val.clamp(1, n - 1);
    }
    let (val, train) = order.split_at(n_val.min(n));
    (data.select(train), data.select(val))
}

/// Train and validation sets for a preset.
pub fn load(spec: &DataSpec) -> Result<(Dataset, Dataset), DataError> {
    let all = load_source(spec)?;
    Ok(split(&all, spec.val_fraction, spec.seed))
}
