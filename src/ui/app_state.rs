//! The UI state that survives a restart (through eframe's storage): layout choices, paths
//! and recent files. Models and runs live in explicit files; the one exception is a model
//! with unsaved changes, kept here as preset text when the window closes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::viz::Colormap;

/// Most recent files remembered.
pub const MAX_RECENT: usize = 8;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// The file (preset or checkpoint) opened last, reopened at start; `None` means the
    /// embedded preset named by `last_preset`.
    pub last_file: Option<PathBuf>,
    pub last_preset: String,
    pub recent: Vec<PathBuf>,
    /// Where "Save" writes (typed or chosen in the dialog).
    pub save_path: String,
    /// Where "Export ONNX" writes.
    pub onnx_path: String,
    /// The folder "Export PyTorch code" writes into (typed, or chosen in the dialog).
    pub pytorch_path: String,
    /// The path typed into the open field.
    pub open_path: String,
    /// The class folder path typed into the data panel.
    pub folder_path: String,
    pub folder_size: [usize; 2],
    pub folder_grayscale: bool,
    /// The CSV file of 2-D points typed into the data panel.
    pub csv_path: String,
    /// The segmentation tools' folders: images, and masks paired with them by file stem.
    pub segmentation_images_path: String,
    pub segmentation_masks_path: String,
    /// The anomaly tools' folders: normal images; optional test images (in good/ and
    /// defect subfolders) and defect masks (empty = none).
    pub anomaly_normal_path: String,
    pub anomaly_test_path: String,
    pub anomaly_masks_path: String,
    pub log_scale: bool,
    pub show_frame_overlay: bool,
    pub show_step_loss: bool,
    pub colormap: Colormap,
    pub left_panel_open: bool,
    pub right_panel_open: bool,
    /// Presenter theme: larger fonts, high contrast, colour-blind-safe maps.
    pub presenter: bool,
    /// The preset being edited when the window last closed, as TOML, if it had changes
    /// not saved to a file; reopened at the next start so no edit is lost.
    pub unsaved_session: Option<String>,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            last_file: None,
            last_preset: "digits-lenet".into(),
            recent: Vec::new(),
            save_path: "model.safetensors".into(),
            onnx_path: "model.onnx".into(),
            pytorch_path: "pytorch-export".into(),
            open_path: String::new(),
            folder_path: String::new(),
            folder_size: [28, 28],
            folder_grayscale: true,
            csv_path: String::new(),
            segmentation_images_path: String::new(),
            segmentation_masks_path: String::new(),
            anomaly_normal_path: String::new(),
            anomaly_test_path: String::new(),
            anomaly_masks_path: String::new(),
            log_scale: false,
            show_frame_overlay: false,
            show_step_loss: true,
            colormap: Colormap::Gray,
            left_panel_open: true,
            right_panel_open: true,
            presenter: false,
            unsaved_session: None,
        }
    }
}

impl AppState {
    /// Puts `path` first in the recent list (once).
    pub fn remember(&mut self, path: PathBuf) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(MAX_RECENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_files_are_unique_and_bounded() {
        let mut s = AppState::default();
        for i in 0..20 {
            s.remember(PathBuf::from(format!("{}.toml", i % 10)));
        }
        s.remember(PathBuf::from("3.toml"));
        assert_eq!(s.recent.len(), MAX_RECENT);
        assert_eq!(s.recent[0], PathBuf::from("3.toml"));
        assert_eq!(
            s.recent
                .iter()
                .filter(|p| p.as_path() == std::path::Path::new("3.toml"))
                .count(),
            1
        );
    }
}
