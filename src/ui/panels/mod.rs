//! One file per panel. A panel gets a small context: what it shows (borrowed), what it edits
//! in place (its own state, the project, the persisted UI settings) and a list to push
//! [`crate::ui::command::UiCommand`]s to for everything else; it never talks to the trainer
//! directly and never imports the app (`crate::ui::app`), which lays the panels out and
//! carries out their commands.

pub mod augment_panel;
pub mod curves;
pub mod data_panel;
pub mod drawing;
pub mod figures;
pub mod gallery;
pub mod model_editor;
pub mod node_params;
pub mod pipeline_panel;
pub mod point_views;
pub mod runs_panel;
pub mod sandbox;
pub mod status_bar;
pub mod timeline;
pub mod top_bar;
pub mod training_panel;
pub mod views;
pub mod walkthrough;
