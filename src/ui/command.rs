//! What a panel asks of the window ([`UiCommand`]): the panels push these to the list
//! they are given, and the app carries them out at the start of the next frame (see
//! `ui::app::commands`). Beside the app and the panels, so neither imports the other for it.

use std::path::PathBuf;

use crate::ui::background::DialogPurpose;
use crate::ui::runs::RunCommand;

/// Things the panels ask for, carried out after the frame's UI.
#[derive(Clone, Debug, PartialEq)]
pub enum UiCommand {
    Start,
    Pause,
    Step,
    Reset,
    Open(PathBuf),
    OpenEmbedded(&'static str),
    Save(PathBuf),
    /// Exports the current model and weights as ONNX to this path.
    ExportOnnx(PathBuf),
    /// Exports the current model, weights and training settings as PyTorch code into this
    /// folder.
    ExportPytorch(PathBuf),
    Dialog(DialogPurpose),
    /// Loads the class folder typed into the data panel.
    LoadFolder(PathBuf),
    /// Loads a CSV file of 2-D points (typed, dropped or picked).
    LoadPointsCsv(PathBuf),
    /// Loads images and the masks paired with them by file stem (the data panel's
    /// segmentation tools).
    LoadSegmentationFolder {
        images: PathBuf,
        masks: PathBuf,
    },
    /// Loads a folder of normal images, optionally with test images and defect masks (the
    /// data panel's anomaly tools).
    LoadAnomalyFolder {
        normal: PathBuf,
        test: Option<PathBuf>,
        masks: Option<PathBuf>,
    },
    CancelLoad,
    Probe(usize),
    /// Sets one value of a parameter of the trainer's model (the single-unit view's edits
    /// of w and b).
    SetModelValue {
        name: String,
        index: Vec<usize>,
        value: f32,
    },
    /// A move through the walkthrough's steps.
    Walk(WalkCommand),
    /// Something asked of the runs table (rename, show, restore, delete).
    Runs(RunCommand),
    /// Saves the figure chosen in the export window to this path (PNG or CSV).
    SaveFigure(PathBuf),
    /// Copies the figure chosen in the export window to the clipboard.
    CopyFigure,
}

/// A move through the walkthrough's steps (buttons and the step list; the keys do the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkCommand {
    /// Shows this step's view (0-based) and runs its actions.
    Enter(usize),
    /// The next step: its view and its actions.
    Next,
    /// The previous step's view (training is not undone).
    Previous,
    /// This step again from the preset as loaded: fresh weights from its seed, then the
    /// actions of every step up to it.
    Rerun(usize),
}
