//! Turns a preset's data section into train and validation sets.

use super::{DataError, DataSpec, Dataset, Targets};
use crate::engine::rng::Rng;

/// Makes or loads the whole data set described by `spec` (before the split).
/// With `[data.denoise]` or `[data.diffusion]` the clean images are both inputs and targets;
/// the noise comes later (see [`split_spec`], [`super::noise`] and [`super::diffusion`]).
/// With `[data.super_resolution]` too: the inputs are shrunk and enlarged at the split.
pub fn load_source(spec: &DataSpec) -> Result<Dataset, DataError> {
    to_task(spec, spec.source.source().load(spec.seed)?)
}

/// The source's samples made into the task `spec` asks for.
fn to_task(spec: &DataSpec, data: Dataset) -> Result<Dataset, DataError> {
    if let Some(sr) = &spec.super_resolution {
        return sr
            .to_task(data)
            .map_err(|e| DataError::Invalid(e.to_string()));
    }
    Ok(match (&spec.denoise, &spec.diffusion) {
        (Some(d), _) => d.to_task(data),
        (None, Some(d)) => d.to_task(data),
        (None, None) if spec.reconstruct => reconstruction_task(data),
        (None, None) => data,
    })
}

/// `data` with every image as its own target (`reconstruct = true`).
pub fn reconstruction_task(data: Dataset) -> Dataset {
    Dataset {
        targets: Targets::Dense(data.inputs.clone()),
        class_names: Vec::new(),
        ..data
    }
}

/// Class labels (one per sample) and class names.
pub type ClassLabels = (Vec<usize>, Vec<String>);

/// The class labels of the validation set of `spec` and the class names, for a set whose
/// targets are images (`reconstruct = true` or `[data.denoise]`) made from a labelled
/// source: the same samples in the same order as [`load`]'s validation set. `None` when the
/// source has no labels.
pub fn class_labels(spec: &DataSpec) -> Result<Option<ClassLabels>, DataError> {
    let data = spec.source.source().load(spec.seed)?;
    let (_, val) = split(&data, spec.val_fraction, spec.seed);
    Ok(match val.targets {
        Targets::Labels(l) => Some((l, val.class_names)),
        Targets::Dense(_) => None,
    })
}

/// The true class of every pixel of the validation set of `spec` (`[n, h, w]`) and the
/// class names, for a set whose targets are images (`reconstruct = true`) made from a
/// source with masks (texture mosaics, OCT-like layers, cells, vessels): the same samples
/// in the same order as [`load`]'s validation set. `None` when the source has no masks.
pub fn pixel_classes(spec: &DataSpec) -> Result<Option<PixelClasses>, DataError> {
    let data = spec.source.source().load(spec.seed)?;
    let (_, val) = split(&data, spec.val_fraction, spec.seed);
    Ok(match &val.targets {
        Targets::Dense(t) if t.shape()[2..] == val.inputs.shape()[2..] => {
            let classes = t.shape()[1].max(2);
            let mut names = val.class_names.clone();
            names.resize_with(classes, String::new);
            for (k, n) in names.iter_mut().enumerate() {
                if n.is_empty() {
                    *n = format!("class {k}");
                }
            }
            Some(PixelClasses {
                classes: super::segmentation::class_map(t),
                names,
            })
        }
        _ => None,
    })
}

/// The true class of every pixel of a set of images and the classes' names.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelClasses {
    /// `[n, h, w]` class indices.
    pub classes: ndarray::Array3<u8>,
    pub names: Vec<String>,
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

/// [`split`] with the split settings of `spec`; a denoising task's validation inputs get
/// their fixed noise here, so every caller measures on the same noisy images, a
/// super-resolution task's inputs are shrunk and enlarged here, and a patch classification
/// task's patches are cut here, from training and validation images apart.
pub fn split_spec(data: &Dataset, spec: &DataSpec) -> Result<(Dataset, Dataset), DataError> {
    let (train, val) = split(data, spec.val_fraction, spec.seed);
    if let Some(p) = &spec.patches {
        let cut = |set: &Dataset, stream: u64| {
            p.cut(set, spec.seed ^ stream)
                .map_err(|e| DataError::Invalid(e.to_string()))
        };
        return Ok((cut(&train, 0x7A1)?, cut(&val, 0x0A1)?));
    }
    if let Some(sr) = &spec.super_resolution {
        return Ok((sr.shrink_inputs(train), sr.shrink_inputs(val)));
    }
    Ok(match (&spec.denoise, &spec.diffusion) {
        (Some(d), _) => (train, d.noisy_validation(val, spec.seed)),
        (None, Some(d)) => (train, d.noisy_validation(val, spec.seed)),
        (None, None) => (train, val),
    })
}

/// A patch classification task's whole training and validation images with their masks,
/// before any patch is cut (the images its patches come from, split as [`load`] splits
/// them); `None` for other tasks.
pub fn whole_images(spec: &DataSpec) -> Result<Option<(Dataset, Dataset)>, DataError> {
    if spec.patches.is_none() {
        return Ok(None);
    }
    let data = spec.source.source().load(spec.seed)?;
    Ok(Some(split(&data, spec.val_fraction, spec.seed)))
}

/// Train and validation sets for a preset.
pub fn load(spec: &DataSpec) -> Result<(Dataset, Dataset), DataError> {
    load_reporting_skipped(spec).map(|(train, val, _)| (train, val))
}

/// [`load`], with the files of a class folder that were left out and why (a broken or
/// oversized image is skipped, the rest loads), for the commands to warn about; other
/// sources leave nothing out.
pub fn load_reporting_skipped(
    spec: &DataSpec,
) -> Result<(Dataset, Dataset, Vec<super::folder::Skipped>), DataError> {
    let (data, skipped) = match &spec.source {
        super::DataSource::Folder(f) => {
            let l = super::folder::load_class_folder(&f.path, f.image_options(), None, |_, _| {})?;
            (l.dataset, l.skipped)
        }
        other => (other.source().load(spec.seed)?, Vec::new()),
    };
    let (train, val) = split_spec(&to_task(spec, data)?, spec)?;
    Ok((train, val, skipped))
}
