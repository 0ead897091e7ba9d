//! The app's own machinery besides the project (the trainer link, the files being
//! written) and the questions asked of the window's state. What the panels read (the data,
//! the run, the status line) is in [`crate::ui::session`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::ConvLabApp;
use crate::data::{DataSource, Dataset};
use crate::spec::Preset;
use crate::train::messages::StartWeights;
use crate::train::worker::TrainerWorker;
use crate::ui::background::WriteError;
use crate::ui::session::{Message, data_matches, needs_configure};

/// The trainer thread and what it was last told.
pub(super) struct TrainerLink {
    pub(super) worker: TrainerWorker,
    /// The preset and data version the worker was last configured with.
    pub(super) config: Option<(Preset, u64)>,
    /// Weights to start the next configuration from (an opened checkpoint).
    pub(super) pending_weights: Option<StartWeights>,
}

/// The user's files being written (checkpoints, ONNX exports): what waits for the
/// trainer's weights, the threads writing, and their outcomes.
#[derive(Default)]
pub(super) struct FileWrites {
    /// Where the next weights from the trainer are saved as a checkpoint.
    pub(super) pending_save: Option<PathBuf>,
    pub(super) save_result: Arc<Mutex<Option<Result<PathBuf, WriteError>>>>,
    /// Threads writing the user's files (saves, ONNX exports), joined before the window
    /// closes.
    pub(super) writers: Vec<std::thread::JoinHandle<()>>,
    /// The preset of the checkpoint being saved (it becomes the project's saved state).
    pub(super) saving: Option<Preset>,
    /// Where the next weights from the trainer are exported as ONNX.
    pub(super) pending_onnx: Option<PathBuf>,
    pub(super) onnx_result: Arc<Mutex<Option<Result<PathBuf, WriteError>>>>,
    /// Where the next weights from the trainer are exported as PyTorch code.
    pub(super) pending_pytorch: Option<PathBuf>,
    pub(super) pytorch_result: Arc<Mutex<Option<Result<PathBuf, WriteError>>>>,
}

impl ConvLabApp {
    pub(super) fn info(&mut self, text: String) {
        self.message = Message {
            text,
            is_error: false,
        };
    }

    pub(super) fn error(&mut self, text: String) {
        self.message = Message {
            text,
            is_error: true,
        };
    }

    pub(super) fn data_matches(
        &self,
        loaded_source: &DataSource,
        seed: u64,
        task: &crate::ui::background::TaskKey,
    ) -> bool {
        data_matches(&self.project.preset.data, loaded_source, seed, task)
    }

    /// The data set the project uses, if it is loaded.
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.data.dataset_for(&self.project.preset.data)
    }

    pub(super) fn data_ready(&self) -> Option<(Arc<Dataset>, Arc<Dataset>)> {
        self.dataset()?;
        // Not a split made for other settings (a walkthrough step may change them and
        // configure before the next frame splits again).
        let s = self
            .data
            .split
            .as_ref()
            .filter(|s| s.fits(&self.project.preset.data))?;
        Some((Arc::clone(&s.train), Arc::clone(&s.val)))
    }

    /// Whether the worker's run differs from the editor's project (beyond live settings).
    pub fn needs_configure(&self) -> bool {
        needs_configure(
            self.trainer.config.as_ref(),
            &self.project.preset,
            self.data.version,
        )
    }

    /// A file dialog can be opened: one is available here and none is open.
    pub(super) fn dialog_ready(&self) -> bool {
        !self.dialog_unavailable && self.dialog.is_none()
    }

    /// Drops the project's trainer (tests).
    pub fn worker_configured(&self) -> bool {
        self.trainer.config.is_some()
    }
}
