//! Work the window hands to short-lived named threads so that it never blocks: loading a
//! data set (with progress, cancel and per-file skip reasons), file dialogs, and writing
//! checkpoints. Each job answers once over a channel and wakes the window; a job that fails
//! says why with a typed error ([`LoadError`], [`WriteError`], [`ReadError`]) whose text the
//! status line shows.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Mutex};

use eframe::egui;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::data::folder::{CANCELLED, ImageOptions, Skipped, load_class_folder};
use crate::data::load::load_source;
use crate::data::pairs::{
    AnomalyFolders, SegmentationFolders, load_anomaly_folders, load_segmentation_pairs,
};
use crate::data::sources::points_csv::load_points_csv;
use crate::data::textures::AnomalyTest;
use crate::data::{DataError, DataSource, DataSpec, Dataset, Targets};
use crate::onnx::OnnxError;
use crate::viz::mask_overlay::masked_sample;
use crate::viz::{Colormap, Rgba, sample_rgba, tile};

/// Samples per class in the data panel's thumbnail grid.
pub const THUMBS_PER_CLASS: usize = 8;
/// Rows (classes) in the thumbnail grid at most.
pub const THUMB_ROWS: usize = 10;

/// Why a data set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("loading crashed")]
    Crashed,
    #[error("cannot start the loader thread: {0}")]
    Thread(std::io::Error),
    #[error("the loader stopped")]
    Stopped,
}

impl LoadError {
    /// The user stopped the load: their choice, not a failure.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, LoadError::Data(DataError::File { reason, .. }) if reason == CANCELLED)
    }
}

/// Why a checkpoint or an ONNX file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("the ONNX export crashed")]
    ExportCrashed,
    #[error(transparent)]
    Pytorch(#[from] crate::export_pytorch::ExportError),
    #[error("the PyTorch export crashed")]
    PytorchCrashed,
    #[error("cannot start the {role} thread: {error}")]
    Thread {
        role: &'static str,
        error: std::io::Error,
    },
}

/// Why a checkpoint could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("reading the checkpoint crashed")]
    Crashed,
    #[error("cannot start the reader thread: {0}")]
    Thread(std::io::Error),
    #[error("the checkpoint reader stopped")]
    Stopped,
}

/// A data set ready for the panels.
pub struct LoadedData {
    pub source: DataSource,
    pub seed: u64,
    /// The task the samples were made into.
    pub task: TaskKey,
    pub dataset: Arc<Dataset>,
    pub skipped: Vec<Skipped>,
    /// What the loader found beyond the samples (the masks' format, the test images).
    pub details: LoadDetails,
    /// Up to [`THUMBS_PER_CLASS`] samples of each class, one class per row (or the first
    /// samples when there are no classes, with their masks over them for segmentation);
    /// `None` for 2-D points.
    pub thumbnails: Option<Rgba>,
    pub seconds: f64,
}

/// What a loader of the user's own folders found beyond the samples, for the summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LoadDetails {
    #[default]
    None,
    /// Segmentation pairs: how the mask values were read (e.g. "binary (0 = background,
    /// else foreground)") and the masks' colours when they were colour-coded.
    Masks {
        format: String,
        palette: Option<Vec<[u8; 3]>>,
    },
    /// An anomaly folder's test images, counted.
    AnomalyTest(AnomalyCounts),
}

/// The test images of an anomaly folder, counted for the data panel's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnomalyCounts {
    pub normal: usize,
    pub anomalous: usize,
    pub unlabelled: usize,
    /// Test images with a defect mask (normal ones count: they have no defect pixels).
    pub with_mask: usize,
    /// The defect kinds (the anomalous subfolders' names), sorted.
    pub kinds: Vec<String>,
}

impl AnomalyCounts {
    pub fn of(test: &AnomalyTest) -> AnomalyCounts {
        let mut kinds: Vec<String> = test
            .kinds
            .iter()
            .zip(&test.anomalous)
            .filter(|(_, a)| **a == Some(true))
            .map(|(k, _)| k.clone())
            .collect();
        kinds.sort();
        kinds.dedup();
        AnomalyCounts {
            normal: test.anomalous.iter().filter(|a| **a == Some(false)).count(),
            anomalous: test.anomalous.iter().filter(|a| **a == Some(true)).count(),
            unlabelled: test.anomalous.iter().filter(|a| a.is_none()).count(),
            with_mask: test.has_mask.iter().filter(|m| **m).count(),
            kinds,
        }
    }
}

/// What [`load`] hands back: the samples, the files left out, the details and the pictures.
struct Loaded {
    dataset: Dataset,
    skipped: Vec<Skipped>,
    details: LoadDetails,
    thumbnails: Option<Rgba>,
}

/// What turns the loaded samples into the preset's task (see `data::load::load_source`):
/// a set loaded for another task has other inputs or targets (a diffusion task's extra t
/// channel, a denoising task's clean targets), so it must be loaded again.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskKey {
    denoise: bool,
    diffusion: Option<crate::data::diffusion::Diffusion>,
    super_resolution: Option<crate::data::super_resolution::SuperResolution>,
    reconstruct: bool,
}

impl TaskKey {
    pub fn of(spec: &DataSpec) -> TaskKey {
        TaskKey {
            denoise: spec.denoise.is_some(),
            diffusion: spec.diffusion,
            super_resolution: spec.super_resolution,
            reconstruct: spec.reconstruct,
        }
    }
}

/// A data set loading on the `"data-loader"` thread.
pub struct DataJob {
    pub source: DataSource,
    pub seed: u64,
    /// The task the samples are made into (part of what the job loads).
    pub task: TaskKey,
    rx: Receiver<Result<LoadedData, LoadError>>,
    pub done: Arc<AtomicUsize>,
    pub total: Arc<AtomicUsize>,
    pub started: std::time::Instant,
    cancel: Arc<AtomicBool>,
}

impl DataJob {
    pub fn spawn(spec: &DataSpec, ctx: &egui::Context) -> DataJob {
        let (tx, rx) = channel();
        let done = Arc::new(AtomicUsize::new(0));
        let total = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let job = DataJob {
            source: spec.source.clone(),
            seed: spec.seed,
            task: TaskKey::of(spec),
            rx,
            done: Arc::clone(&done),
            total: Arc::clone(&total),
            started: std::time::Instant::now(),
            cancel: Arc::clone(&cancel),
        };
        let spec = spec.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("data-loader".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    load(&spec, &cancel, &done, &total).map_err(LoadError::from)
                }))
                .unwrap_or(Err(LoadError::Crashed))
                .map(|loaded| LoadedData {
                    source: spec.source.clone(),
                    seed: spec.seed,
                    task: TaskKey::of(&spec),
                    dataset: Arc::new(loaded.dataset),
                    skipped: loaded.skipped,
                    details: loaded.details,
                    thumbnails: loaded.thumbnails,
                    seconds: started.elapsed().as_secs_f64(),
                });
                tx.send(result).ok();
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            let (tx, rx) = channel();
            tx.send(Err(LoadError::Thread(e))).ok();
            return DataJob { rx, ..job };
        }
        job
    }

    /// The result once the job is done.
    pub fn poll(&self) -> Option<Result<LoadedData, LoadError>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(LoadError::Stopped)),
        }
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

fn load(
    spec: &DataSpec,
    cancel: &AtomicBool,
    done: &AtomicUsize,
    total: &AtomicUsize,
) -> Result<Loaded, DataError> {
    let progress = |d: usize, t: usize| {
        done.store(d, Ordering::Relaxed);
        total.store(t, Ordering::Relaxed);
    };
    let plain = |dataset: Dataset, skipped: Vec<Skipped>| {
        let thumbnails = thumbnails(&dataset);
        Loaded {
            dataset,
            skipped,
            details: LoadDetails::None,
            thumbnails,
        }
    };
    match &spec.source {
        // Read here rather than by the source's own loader, to show progress and cancel.
        DataSource::Folder(folder) => {
            let opts = folder.image_options();
            let loaded = load_class_folder(&folder.path, opts, Some(cancel), progress)?;
            Ok(plain(loaded.dataset, loaded.skipped))
        }
        // Likewise: a file of a million rows takes a moment.
        DataSource::PointsCsv(csv) => {
            let loaded = load_points_csv(csv, Some(cancel), progress)?;
            Ok(plain(loaded.dataset, loaded.skipped))
        }
        // Likewise for image + mask pairs, and the format the masks turned out to have.
        DataSource::SegmentationFolder(seg) => {
            let folders = SegmentationFolders {
                images: seg.images.clone(),
                masks: seg.masks.clone(),
                format: seg.mask_format.clone(),
            };
            let opts = ImageOptions {
                size: seg.size,
                grayscale: seg.grayscale,
            };
            let loaded = load_segmentation_pairs(&folders, opts, Some(cancel), progress)?;
            let thumbnails = thumbnails_with_masks(&loaded.dataset, loaded.palette.as_deref());
            Ok(Loaded {
                dataset: loaded.dataset,
                skipped: loaded.skipped,
                details: LoadDetails::Masks {
                    format: loaded.format,
                    palette: loaded.palette,
                },
                thumbnails,
            })
        }
        // The normal images train; the test images (and their masks) are loaded here too,
        // so that a problem with them shows now, with the files, and not at the first view.
        DataSource::AnomalyFolder(anomaly) => {
            let folders = AnomalyFolders {
                normal: anomaly.normal.clone(),
                test: anomaly.test.clone(),
                masks: anomaly.masks.clone(),
            };
            let opts = ImageOptions {
                size: anomaly.size,
                grayscale: anomaly.grayscale,
            };
            let loaded = load_anomaly_folders(&folders, opts, Some(cancel), progress)?;
            let thumbnails = anomaly_thumbnails(&loaded.set.normal, &loaded.set.test);
            Ok(Loaded {
                details: LoadDetails::AnomalyTest(AnomalyCounts::of(&loaded.set.test)),
                dataset: loaded.set.normal,
                skipped: loaded.skipped,
                thumbnails,
            })
        }
        _ => {
            let dataset = load_source(spec)?;
            // The built-in segmentation sets show their masks too.
            let thumbnails = if holds_masks(&dataset) {
                thumbnails_with_masks(&dataset, None)
            } else {
                thumbnails(&dataset)
            };
            Ok(Loaded {
                dataset,
                skipped: Vec::new(),
                details: LoadDetails::None,
                thumbnails,
            })
        }
    }
}

/// Whether the targets are segmentation masks: per-pixel classes of the inputs' size (an
/// autoencoder's targets are the images themselves, and have no class names).
pub fn holds_masks(data: &Dataset) -> bool {
    match &data.targets {
        Targets::Dense(t) => {
            !data.class_names.is_empty() && t.shape()[2..] == data.inputs.shape()[2..]
        }
        Targets::Labels(_) => false,
    }
}

/// The first samples of a segmentation set with their masks painted over them.
pub fn thumbnails_with_masks(data: &Dataset, palette: Option<&[[u8; 3]]>) -> Option<Rgba> {
    let Targets::Dense(masks) = &data.targets else {
        return thumbnails(data);
    };
    let [_, h, w] = data.sample_shape();
    if h * w <= 1 || data.is_empty() {
        return None;
    }
    let images: Vec<Rgba> = (0..data.len().min(THUMBS_PER_CLASS * 4))
        .map(|i| masked_sample(&data.inputs, masks, i, palette))
        .collect();
    Some(tile(&images, THUMBS_PER_CLASS, 2, [40, 40, 40, 255]))
}

/// An anomaly folder's pictures: a row of normal images, then a row of defective test
/// images with their defect masks over them, then a row of normal test images.
pub fn anomaly_thumbnails(normal: &Dataset, test: &AnomalyTest) -> Option<Rgba> {
    let [_, h, w] = normal.sample_shape();
    if h * w <= 1 || normal.is_empty() {
        return None;
    }
    let blank = || Rgba::new(w, h, [0, 0, 0, 255]);
    let row = |mut images: Vec<Rgba>| {
        images.resize_with(THUMBS_PER_CLASS, blank);
        images
    };
    let mut images = row((0..normal.len().min(THUMBS_PER_CLASS))
        .map(|i| sample_rgba(&normal.inputs, i, Colormap::Gray))
        .collect());
    for wanted in [Some(true), Some(false)] {
        let picks: Vec<Rgba> = (0..test.len())
            .filter(|&i| test.anomalous[i] == wanted)
            .take(THUMBS_PER_CLASS)
            .map(|i| masked_sample(&test.inputs, &test.masks, i, None))
            .collect();
        if !picks.is_empty() {
            images.extend(row(picks));
        }
    }
    Some(tile(&images, THUMBS_PER_CLASS, 2, [40, 40, 40, 255]))
}

/// The thumbnail grid of a data set (`None` for samples that are not pictures).
pub fn thumbnails(data: &Dataset) -> Option<Rgba> {
    let [_, h, w] = data.sample_shape();
    if h * w <= 1 || data.is_empty() {
        return None;
    }
    let picks: Vec<usize> = match &data.targets {
        Targets::Labels(labels) => {
            let classes = data.class_names.len().clamp(1, THUMB_ROWS);
            let mut rows = vec![Vec::new(); classes];
            for (i, &l) in labels.iter().enumerate() {
                if l < classes && rows[l].len() < THUMBS_PER_CLASS {
                    rows[l].push(i);
                }
            }
            let mut out = Vec::new();
            for row in rows {
                // Pad short rows with an out-of-range index (drawn black) to keep the grid.
                out.extend(row.iter().copied());
                out.extend(std::iter::repeat_n(
                    usize::MAX,
                    THUMBS_PER_CLASS - row.len(),
                ));
            }
            out
        }
        Targets::Dense(_) => (0..data.len().min(THUMBS_PER_CLASS * 4)).collect(),
    };
    let images: Vec<Rgba> = picks
        .iter()
        .map(|&i| sample_rgba(&data.inputs, i, Colormap::Gray))
        .collect();
    Some(tile(&images, THUMBS_PER_CLASS, 2, [40, 40, 40, 255]))
}

// ----------------------------------------------------------------------------

/// What a file dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogPurpose {
    Open,
    Save,
    ClassFolder,
    PointsCsv,
    /// The folder to write PyTorch code into.
    ExportPytorch,
    /// A folder that fills one field of the segmentation or anomaly tools (not loaded
    /// until the user asks: the other folders may still be missing).
    FolderField(FolderField),
    /// Where to save a figure (PNG or CSV).
    Figure,
}

/// The folder fields of the data panel's segmentation and anomaly tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderField {
    SegmentationImages,
    SegmentationMasks,
    AnomalyNormal,
    AnomalyTest,
    AnomalyMasks,
}

/// An rfd dialog on the `"file-dialog"` thread. `None` (cancel, or no dialog available on
/// this system) is not an error.
pub struct DialogJob {
    pub purpose: DialogPurpose,
    rx: Receiver<Option<PathBuf>>,
    pub started: std::time::Instant,
}

impl DialogJob {
    pub fn spawn(purpose: DialogPurpose, ctx: &egui::Context) -> Option<DialogJob> {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let dialog = rfd::FileDialog::new();
                let path = match purpose {
                    DialogPurpose::Open => dialog
                        .add_filter("preset or checkpoint", &["toml", "safetensors"])
                        .pick_file(),
                    DialogPurpose::Save => dialog
                        .add_filter("checkpoint", &["safetensors"])
                        .set_file_name("model.safetensors")
                        .save_file(),
                    DialogPurpose::ClassFolder
                    | DialogPurpose::FolderField(_)
                    | DialogPurpose::ExportPytorch => dialog.pick_folder(),
                    DialogPurpose::Figure => dialog
                        .add_filter("figure", &["png", "csv"])
                        .set_file_name("figure.png")
                        .save_file(),
                    DialogPurpose::PointsCsv => {
                        dialog.add_filter("2-D points", &["csv", "txt"]).pick_file()
                    }
                };
                tx.send(path).ok();
                ctx.request_repaint();
            })
            .ok()?;
        Some(DialogJob {
            purpose,
            rx,
            started: std::time::Instant::now(),
        })
    }

    /// `Some(answer)` once the dialog closed.
    pub fn poll(&self) -> Option<Option<PathBuf>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(None),
        }
    }
}

// ----------------------------------------------------------------------------

/// Writes a checkpoint on the `"checkpoint-writer"` thread (atomically, see
/// [`Checkpoint::save`]); the outcome lands in `result`. The window joins the returned
/// thread before it closes, so a save never dies half-way.
pub fn save_checkpoint(
    checkpoint: Checkpoint,
    path: PathBuf,
    result: Arc<Mutex<Option<Result<PathBuf, WriteError>>>>,
    ctx: &egui::Context,
) -> Option<std::thread::JoinHandle<()>> {
    spawn_writer("checkpoint-writer", "writer", result, ctx, move || {
        checkpoint.save(&path)?;
        Ok(path)
    })
}

/// Exports a checkpoint as ONNX ([`crate::onnx::export_model`], with the preset kept in the
/// metadata) on the
/// `"onnx-exporter"` thread and writes it atomically (temporary file, then rename); the
/// outcome lands in `result`. Joined before the window closes, like a save.
pub fn export_onnx(
    checkpoint: Checkpoint,
    path: PathBuf,
    result: Arc<Mutex<Option<Result<PathBuf, WriteError>>>>,
    ctx: &egui::Context,
) -> Option<std::thread::JoinHandle<()>> {
    spawn_writer("onnx-exporter", "exporter", result, ctx, move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let bytes = crate::onnx::export_model(
                &checkpoint.preset.model,
                &checkpoint.params,
                Some(&checkpoint.preset),
            )?;
            crate::checkpoint::write_atomically(&path, &bytes)?;
            Ok(path)
        }))
        .unwrap_or(Err(WriteError::ExportCrashed))
    })
}

/// Writes a checkpoint's model, weights and training as PyTorch code into the folder `dir`
/// ([`crate::export_pytorch`]) on the `"pytorch-exporter"` thread (it generates the data
/// set too); the outcome lands in `result`. Joined before the window closes, like a save.
pub fn export_pytorch(
    checkpoint: Checkpoint,
    dir: PathBuf,
    result: Arc<Mutex<Option<Result<PathBuf, WriteError>>>>,
    ctx: &egui::Context,
) -> Option<std::thread::JoinHandle<()>> {
    use crate::export_pytorch::{WeightsOrigin, export, write_folder};
    spawn_writer("pytorch-exporter", "exporter", result, ctx, move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let epochs = checkpoint.history.epochs.len();
            let origin = if epochs == 0 {
                WeightsOrigin::Initial {
                    seed: checkpoint.preset.training.seed,
                }
            } else {
                WeightsOrigin::Checkpoint(format!(
                    "the run in the ConvLab window ({epochs} epochs)"
                ))
            };
            let files = export(&checkpoint.preset, &checkpoint.params, &origin)?;
            write_folder(&dir, &files)?;
            Ok(dir)
        }))
        .unwrap_or(Err(WriteError::PytorchCrashed))
    })
}

/// Runs `work` on a thread named `name`, puts its outcome in `result` and wakes the window;
/// a thread that cannot start is an error outcome naming the `role`.
fn spawn_writer(
    name: &str,
    role: &'static str,
    result: Arc<Mutex<Option<Result<PathBuf, WriteError>>>>,
    ctx: &egui::Context,
    work: impl FnOnce() -> Result<PathBuf, WriteError> + Send + 'static,
) -> Option<std::thread::JoinHandle<()>> {
    let ctx = ctx.clone();
    let spawned = std::thread::Builder::new().name(name.into()).spawn({
        let result = Arc::clone(&result);
        move || {
            let outcome = work();
            *result.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            ctx.request_repaint();
        }
    });
    match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            *result.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Err(WriteError::Thread { role, error: e }));
            None
        }
    }
}

/// A checkpoint being read and checked on the `"checkpoint-reader"` thread.
pub struct OpenJob {
    pub path: PathBuf,
    rx: Receiver<Result<Checkpoint, ReadError>>,
}

impl OpenJob {
    pub fn spawn(path: PathBuf, ctx: &egui::Context) -> OpenJob {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        let reader_path = path.clone();
        let spawned = std::thread::Builder::new()
            .name("checkpoint-reader".into())
            .spawn({
                let tx = tx.clone();
                move || {
                    let outcome = std::panic::catch_unwind(|| {
                        Checkpoint::load(&reader_path).map_err(ReadError::from)
                    })
                    .unwrap_or(Err(ReadError::Crashed));
                    tx.send(outcome).ok();
                    ctx.request_repaint();
                }
            });
        if let Err(e) = spawned {
            tx.send(Err(ReadError::Thread(e))).ok();
        }
        OpenJob { path, rx }
    }

    /// The checkpoint (or why it could not be read) once the job is done.
    pub fn poll(&self) -> Option<Result<Checkpoint, ReadError>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(ReadError::Stopped)),
        }
    }
}
