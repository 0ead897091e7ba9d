//! One file per panel. Panels edit the project or push [`crate::ui::app::UiCommand`]s;
//! they never talk to the trainer directly.

pub mod augment_panel;
pub mod curves;
pub mod data_panel;
pub mod gallery;
pub mod model_editor;
pub mod node_params;
pub mod sandbox;
pub mod status_bar;
pub mod top_bar;
pub mod training_panel;
pub mod views;
pub mod walkthrough;
