//! Where a preset's samples come from. Each data source is one module here holding its
//! options (the keys of the preset's `[data]` section beside `source = "…"`), its label, the
//! checks of its values and its loader; [`sources!`] below lists them once. The preset
//! format, the loader and the data panel all go through this list, so a new source is a new
//! module plus one registration line, and the compiler points at nothing else to change.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::textures::AnomalyLoad;
use super::{DataError, Dataset};
use crate::engine::rng::Rng;
use options::SourceOption;

pub mod anomaly_folder;
pub mod cells;
pub mod class_folder;
pub mod digits;
pub mod fashion;
pub mod function;
pub mod generated_masks;
pub mod oct_layers;
pub mod options;
pub mod photos;
pub mod points;
pub mod points_csv;
pub mod segmentation_folder;
pub mod shapes;
pub mod texture_classes;
pub mod texture_mosaic;
pub mod textures;
pub mod vessels;

/// What one data source knows about itself. Implemented by each source's options.
pub trait Source {
    /// Its name in the data panel's source picker.
    fn title() -> &'static str
    where
        Self: Sized;

    /// The options the data panel starts from when the user picks this source; `None` when
    /// it needs something only the user can give (a folder path beyond the panel's
    /// `folder`, the one the class-folder tools hold).
    fn starting_options(folder: &FolderChoice) -> Option<Self>
    where
        Self: Sized;

    /// A short name for messages and the data panel, e.g. `points (xor)`.
    fn label(&self) -> String;

    /// Checks the values when a preset is read, so `info` and the editor refuse data that
    /// would be NaN before anything trains on it.
    fn validate(&self) -> Result<(), InvalidOption> {
        Ok(())
    }

    /// Makes or loads the whole set (before the train/validation split); `seed` is the data
    /// seed.
    fn load(&self, seed: u64) -> Result<Dataset, DataError>;

    /// The anomaly test set (images with defects and their masks), for the sources that
    /// have one.
    fn anomaly_set(&self, _seed: u64) -> Result<Option<AnomalyLoad>, DataError> {
        Ok(None)
    }

    /// Whether the data seed changes the samples (not only the split), so a changed seed
    /// means loading again.
    fn seed_changes_samples(&self) -> bool {
        true
    }

    /// The options the data panel edits, each with its label, tooltip, type and range (see
    /// [`options`]); a source with none shows no editors.
    fn options(&mut self) -> Vec<SourceOption<'_>> {
        Vec::new()
    }

    /// The shape of one sample when the options alone tell it and an option changes it
    /// (the points' input features add channels): the data panel keeps a model whose input
    /// had the old shape in step with it.
    fn sample_shape(&self) -> Option<[usize; 3]> {
        None
    }

    /// The hand-made inputs appended after x and y (points only): a view that evaluates the
    /// model over the input plane builds each point's channels with
    /// [`crate::data::features::point_inputs`] and these.
    fn input_features(&self) -> &[crate::data::features::InputFeature] {
        &[]
    }

    /// Paths in the options, which a preset gives relative to its own file.
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        Vec::new()
    }
}

/// What the data panel's folder tools hold: the class folder the user typed, dropped or
/// picked, and how its images are read.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderChoice {
    pub path: PathBuf,
    pub size: [usize; 2],
    pub grayscale: bool,
}

/// A bad option value: its key under `data.` and what is wrong.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("data.{key}: {reason}")]
pub struct InvalidOption {
    pub key: &'static str,
    pub reason: String,
}

/// Lists every source once: the variant (its `source = "…"` tag in snake case), and the
/// options type in its module. Generates [`DataSource`], [`SourceKind`] and the dispatch.
/// The order is the order of the preset format's error messages and of the data panel.
macro_rules! sources {
    ($($(#[$doc:meta])* $variant:ident($module:ident::$options:ident),)*) => {
        /// Where the samples come from: the source's options, tagged by `source = "…"`.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "source", rename_all = "snake_case")]
        pub enum DataSource {
            $($(#[$doc])* $variant($module::$options),)*
        }

        /// The sources without their options, in the order the data panel lists them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum SourceKind {
            $($variant,)*
        }

        impl SourceKind {
            pub const ALL: &[SourceKind] = &[$(SourceKind::$variant,)*];

            /// Its name in the data panel's source picker.
            pub fn title(self) -> &'static str {
                match self {
                    $(SourceKind::$variant => <$module::$options as Source>::title(),)*
                }
            }

            /// The source the data panel switches to when this kind is picked (see
            /// [`Source::starting_options`]).
            pub fn starting_source(self, folder: &FolderChoice) -> Option<DataSource> {
                match self {
                    $(SourceKind::$variant => {
                        <$module::$options as Source>::starting_options(folder)
                            .map(DataSource::$variant)
                    })*
                }
            }
        }

        impl DataSource {
            pub fn kind(&self) -> SourceKind {
                match self {
                    $(DataSource::$variant(_) => SourceKind::$variant,)*
                }
            }

            /// The source's own description of itself.
            pub fn source(&self) -> &dyn Source {
                match self {
                    $(DataSource::$variant(o) => o,)*
                }
            }

            pub fn source_mut(&mut self) -> &mut dyn Source {
                match self {
                    $(DataSource::$variant(o) => o,)*
                }
            }
        }
    };
}

sources! {
    /// 2-D point sets: xor, circles, spirals, blobs.
    Points(points::Points),
    /// Procedural shapes: circle, square, triangle, cross.
    Shapes(shapes::Shapes),
    /// 1-D regression of a function: sine, step, abs, gauss.
    Function(function::Function),
    /// The bundled 5,000 MNIST digits.
    Digits(digits::Digits),
    /// The bundled 2,000 Fashion-MNIST images.
    Fashion(fashion::Fashion),
    /// The bundled real photos (camera, astronaut, cat), one class each.
    Photos(photos::Photos),
    /// A folder with one subfolder of images per class.
    Folder(class_folder::ClassFolder),
    /// The user's 2-D points from a CSV file: x, y, label or target.
    PointsCsv(points_csv::PointsCsv),
    /// Texture crops for anomaly detection.
    Textures(textures::Textures),
    /// Crops of four materials labelled by material.
    TextureClasses(texture_classes::TextureClasses),
    /// Cell-like blobs with pixel masks.
    Cells(cells::Cells),
    /// Thin curvy vessel-like lines with pixel masks.
    Vessels(vessels::Vessels),
    /// Voronoi mosaics of the bundled textures with region masks (unsupervised segmentation).
    TextureMosaic(texture_mosaic::TextureMosaic),
    /// OCT-like layered scans with speckle and layer masks (unsupervised segmentation).
    OctLayers(oct_layers::OctLayers),
    /// The user's anomaly data: normal images, optionally test images and masks.
    AnomalyFolder(anomaly_folder::AnomalyFolder),
    /// The user's segmentation data: images and masks paired by file stem.
    SegmentationFolder(segmentation_folder::SegmentationFolder),
}

impl DataSource {
    /// A short name for messages and the data panel.
    pub fn label(&self) -> String {
        self.source().label()
    }
}

/// Where the samples come from and how they are split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    #[serde(flatten)]
    pub source: DataSource,
    /// Share of the samples held out for validation.
    #[serde(default = "default_val_fraction")]
    pub val_fraction: f64,
    /// Seed of the generator (synthetic sets) and of the train/validation split.
    #[serde(default)]
    pub seed: u64,
    /// Makes the set a denoising task: noisy images in, clean images out (`[data.denoise]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denoise: Option<super::noise::Denoise>,
    /// Makes the set a diffusion task: noised images and t in, the noise out
    /// (`[data.diffusion]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diffusion: Option<super::diffusion::Diffusion>,
    /// Makes the set a super-resolution task: shrunk and bicubic-enlarged images in, the
    /// images themselves out (`[data.super_resolution]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub super_resolution: Option<super::super_resolution::SuperResolution>,
    /// Makes a segmentation set a patch classification task: small patches in, the class
    /// of their centre pixel out (`[data.patches]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<super::patches::Patches>,
    /// Makes the set a reconstruction task: every image is its own target (an autoencoder
    /// or VAE on a labelled set such as digits). The labels are dropped from the targets;
    /// [`super::load::class_labels`] still finds them for pictures coloured by class.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reconstruct: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_val_fraction() -> f64 {
    0.2
}

impl DataSpec {
    /// Checks the source's options and the split.
    pub fn validate(&self) -> Result<(), InvalidOption> {
        self.source.source().validate()?;
        if let Some(d) = &self.denoise {
            d.validate().map_err(|e| InvalidOption {
                key: "denoise",
                reason: e.to_string(),
            })?;
        }
        if let Some(d) = &self.diffusion {
            d.validate().map_err(|e| InvalidOption {
                key: "diffusion",
                reason: e.to_string(),
            })?;
        }
        if let Some(sr) = &self.super_resolution {
            sr.validate().map_err(|e| InvalidOption {
                key: "super_resolution",
                reason: e.to_string(),
            })?;
        }
        if let Some(p) = &self.patches {
            p.validate().map_err(|e| InvalidOption {
                key: "patches",
                reason: e.to_string(),
            })?;
        }
        let tasks = [
            self.denoise.is_some(),
            self.diffusion.is_some(),
            self.super_resolution.is_some(),
            self.patches.is_some(),
        ];
        if tasks.iter().filter(|&&t| t).count() > 1 {
            return Err(InvalidOption {
                key: "data",
                reason: "a preset is at most one of a denoising, a diffusion, a super-resolution and a patch classification task".into(),
            });
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return Err(InvalidOption {
                key: "val_fraction",
                reason: "must be in [0, 1)".into(),
            });
        }
        Ok(())
    }
}

/// The default `samples` of the generated sets.
pub(crate) fn default_samples() -> usize {
    1000
}

/// The samples editor's range and the tooltips the generated sources share.
pub(crate) const SAMPLES_RANGE: std::ops::RangeInclusive<usize> = 10..=20_000;
pub(crate) const SAMPLES_TIP: &str =
    "How many samples are generated (before the train/validation split)";
pub(crate) const NOISE_TIP: &str =
    "Standard deviation of the random jitter added to every sample: more noise, harder data";

/// The noise check every generated source shares.
/// `samples` images of `size`×`size` with `planes` planes each (image and masks): at least
/// one, and no more values than a data set may hold.
pub(crate) fn check_image_count(
    samples: usize,
    size: usize,
    planes: usize,
) -> Result<(), InvalidOption> {
    let fits = samples
        .checked_mul(size * size * planes)
        .is_some_and(|v| v <= super::synthetic::MAX_VALUES);
    if samples == 0 || !fits {
        return Err(InvalidOption {
            key: "samples",
            reason: format!("{samples} images of {size}×{size} is empty or too large"),
        });
    }
    Ok(())
}

pub(crate) fn check_noise(noise: f64) -> Result<(), InvalidOption> {
    let max_noise = super::synthetic::MAX_NOISE;
    if noise.is_finite() && (0.0..=max_noise).contains(&noise) {
        Ok(())
    } else {
        Err(InvalidOption {
            key: "noise",
            reason: format!("must be a number from 0 to {max_noise}, got {noise}"),
        })
    }
}

/// `limit` samples of a bundled set, spread evenly over it (the bundled sets are sorted by
/// class: the first `limit` would miss classes), or all of it.
pub(crate) fn limited(ds: Dataset, limit: Option<usize>, seed: u64) -> Dataset {
    match limit {
        Some(k) if k < ds.len() => {
            let mut order: Vec<usize> = (0..ds.len()).collect();
            Rng::new(seed ^ 0x11_417).shuffle(&mut order);
            order.truncate(k);
            order.sort_unstable();
            ds.select(&order)
        }
        _ => ds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pickable_source_round_trips_through_the_preset_format() {
        let folder = FolderChoice {
            path: "some/folder".into(),
            size: [8, 8],
            grayscale: true,
        };
        let mut pickable = 0;
        for &kind in SourceKind::ALL {
            let Some(source) = kind.starting_source(&folder) else {
                continue;
            };
            pickable += 1;
            assert_eq!(source.kind(), kind);
            let spec = DataSpec {
                source,
                val_fraction: 0.2,
                seed: 3,
                denoise: None,
                reconstruct: false,
                diffusion: None,
                super_resolution: None,
                patches: None,
            };
            spec.validate()
                .unwrap_or_else(|e| panic!("{}: {e}", kind.title()));
            let text = toml::to_string(&spec).unwrap();
            let back: DataSpec = toml::from_str(&text).unwrap();
            assert_eq!(back, spec, "{text}");
        }
        // The sources that need folders or files of their own start from the data panel's
        // tools (or a preset), not from options alone.
        assert_eq!(pickable, SourceKind::ALL.len() - 3);
    }

    #[test]
    fn preset_paths_are_the_folders_a_source_reads() {
        let mut source: DataSource = toml::from_str(
            "source = \"anomaly_folder\"\nnormal = \"n\"\ntest = \"t\"\nsize = [4, 4]",
        )
        .unwrap();
        let paths: Vec<String> = source
            .source_mut()
            .paths_mut()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(paths, ["n", "t"]);
        assert_eq!(source.label(), "anomaly folder n");
    }
}
