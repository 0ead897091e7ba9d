//! The data of an export. A built-in set (digits, shapes, cells …) is generated here
//! exactly as ConvLab trains on it, split into training and validation samples, and saved
//! as `.npy` arrays beside `train.py`: the simplest honest way to give PyTorch the same
//! samples. The user's own folders stay where they are: `train.py` reads a class folder with
//! torchvision's `ImageFolder` and segmentation or anomaly folders with small `Dataset`
//! classes, resized and converted to grey or RGB as ConvLab does.

use std::path::PathBuf;

use super::{ExportError, ExportFile};
use crate::data::load::load;
use crate::data::pairs::MaskFormat;
use crate::data::{DataSource, Dataset, Targets};
use crate::npy::{npy_f32, npy_i64};
use crate::spec::Preset;

/// Where `train.py` finds the samples.
#[derive(Clone, Debug, PartialEq)]
pub enum DataPlan {
    /// `train_x.npy`, `train_y.npy`, `val_x.npy`, `val_y.npy` (labels are int64).
    Arrays {
        train: usize,
        val: usize,
        labels: bool,
        class_names: Vec<String>,
    },
    /// One sub-folder per class, read with `torchvision.datasets.ImageFolder`.
    ClassFolder {
        path: PathBuf,
        size: [usize; 2],
        grayscale: bool,
    },
    /// Images and masks of the same file names; masks are 0/1 (binary, `classes == 1`) or
    /// class indices.
    SegmentationFolder {
        images: PathBuf,
        masks: PathBuf,
        size: [usize; 2],
        grayscale: bool,
        binary: bool,
    },
    /// Normal images only; each image is its own target (an autoencoder).
    AnomalyFolder {
        normal: PathBuf,
        size: [usize; 2],
        grayscale: bool,
    },
}

/// The plan and the files it writes.
pub struct ExportData {
    pub plan: DataPlan,
    pub files: Vec<ExportFile>,
}

fn arrays(name: &str, set: &Dataset) -> Vec<ExportFile> {
    let x = set.inputs.as_standard_layout();
    let shape = x.shape().to_vec();
    let mut out = vec![ExportFile {
        name: format!("{name}_x.npy"),
        bytes: npy_f32(&shape, x.as_slice().expect("standard layout")),
    }];
    let y = match &set.targets {
        Targets::Labels(l) => {
            let v: Vec<i64> = l.iter().map(|&k| k as i64).collect();
            npy_i64(&[v.len()], &v)
        }
        Targets::Dense(t) => {
            let t = t.as_standard_layout();
            npy_f32(t.shape(), t.as_slice().expect("standard layout"))
        }
    };
    out.push(ExportFile {
        name: format!("{name}_y.npy"),
        bytes: y,
    });
    out
}

fn one_channel(preset: &Preset) -> bool {
    crate::engine::facts::infer(&preset.model).is_ok_and(|f| f.output()[0] == 1)
}

/// The data of `preset`: generated arrays for built-in sets, a description for folders.
pub fn export_data(preset: &Preset) -> Result<ExportData, ExportError> {
    let spec = &preset.data;
    let task_on_top =
        spec.denoise.is_some() || spec.diffusion.is_some() || spec.super_resolution.is_some();
    let folder_plan = match &spec.source {
        DataSource::Folder(f) => Some(DataPlan::ClassFolder {
            path: f.path.clone(),
            size: f.size,
            grayscale: f.grayscale,
        }),
        DataSource::SegmentationFolder(f) => {
            let binary = match &f.mask_format {
                MaskFormat::Binary => true,
                // One output channel: foreground against background.
                MaskFormat::Auto if preset.model.nodes.last().is_some() && one_channel(preset) => {
                    true
                }
                MaskFormat::Indices(_) => false,
                MaskFormat::Auto | MaskFormat::Palette(_) => {
                    return Err(ExportError::Unsupported {
                        what: "a segmentation folder with colour-coded (palette) or auto-detected masks".into(),
                        why: "train.py reads grey masks (0/255 binary, or class indices); set data.mask_format to \"binary\" or to class indices".into(),
                    });
                }
            };
            Some(DataPlan::SegmentationFolder {
                images: f.images.clone(),
                masks: f.masks.clone(),
                size: f.size,
                grayscale: f.grayscale,
                binary,
            })
        }
        DataSource::AnomalyFolder(f) => Some(DataPlan::AnomalyFolder {
            normal: f.normal.clone(),
            size: f.size,
            grayscale: f.grayscale,
        }),
        _ => None,
    };
    if let Some(plan) = folder_plan {
        if task_on_top {
            return Err(ExportError::Unsupported {
                what: "a folder data set with [data.denoise], [data.diffusion] or [data.super_resolution]".into(),
                why: "train.py reads folders as they are; export the built-in sets for these tasks".into(),
            });
        }
        if matches!(plan, DataPlan::ClassFolder { .. }) && spec.reconstruct {
            return Err(ExportError::Unsupported {
                what: "a class folder with reconstruct = true".into(),
                why: "train.py reads class folders as labelled images".into(),
            });
        }
        return Ok(ExportData {
            plan,
            files: Vec::new(),
        });
    }
    let (train, val) = load(spec).map_err(ExportError::Data)?;
    let mut files = arrays("train", &train);
    files.extend(arrays("val", &val));
    Ok(ExportData {
        plan: DataPlan::Arrays {
            train: train.len(),
            val: val.len(),
            labels: matches!(train.targets, Targets::Labels(_)),
            class_names: train.class_names.clone(),
        },
        files,
    })
}
