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
use crate::data::folder::{CANCELLED, Skipped, load_class_folder};
use crate::data::load::load_source;
use crate::data::sources::points_csv::load_points_csv;
use crate::data::{DataError, DataSource, DataSpec, Dataset, Targets};
use crate::onnx::OnnxError;
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
    pub dataset: Arc<Dataset>,
    pub skipped: Vec<Skipped>,
    /// Up to [`THUMBS_PER_CLASS`] samples of each class, one class per row (or the first
    /// samples when there are no classes); `None` for 2-D points.
    pub thumbnails: Option<Rgba>,
    pub seconds: f64,
}

/// A data set loading on the `"data-loader"` thread.
pub struct DataJob {
    pub source: DataSource,
    pub seed: u64,
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
                .map(|(dataset, skipped)| {
                    let thumbnails = thumbnails(&dataset);
                    LoadedData {
                        source: spec.source.clone(),
                        seed: spec.seed,
                        dataset: Arc::new(dataset),
                        skipped,
                        thumbnails,
                        seconds: started.elapsed().as_secs_f64(),
                    }
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
) -> Result<(Dataset, Vec<Skipped>), DataError> {
    match &spec.source {
        // Read here rather than by the source's own loader, to show progress and cancel.
        DataSource::Folder(folder) => {
            let opts = folder.image_options();
            let loaded = load_class_folder(&folder.path, opts, Some(cancel), |d, t| {
                done.store(d, Ordering::Relaxed);
                total.store(t, Ordering::Relaxed);
            })?;
            Ok((loaded.dataset, loaded.skipped))
        }
        // Likewise: a file of a million rows takes a moment.
        DataSource::PointsCsv(csv) => {
            let loaded = load_points_csv(csv, Some(cancel), |d, t| {
                done.store(d, Ordering::Relaxed);
                total.store(t, Ordering::Relaxed);
            })?;
            Ok((loaded.dataset, loaded.skipped))
        }
        _ => load_source(spec).map(|d| (d, Vec::new())),
    }
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
    /// Where to save a figure (PNG or CSV).
    Figure,
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
                    DialogPurpose::ClassFolder => dialog.pick_folder(),
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
