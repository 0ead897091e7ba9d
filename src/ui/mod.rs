//! The lab window (eframe/egui only here): [`app::ConvLabApp`], its persisted state, the
//! panels, and the background jobs it starts.
//!
//! Imports everything below it (`engine`, `data`, `spec`, `checkpoint`, `train`, `viz`);
//! nothing imports `ui` except the binary.

pub mod app;
pub mod app_state;
pub mod background;
pub mod classical_cache;
pub mod command;
pub mod evolution_run;
pub mod figures;
pub mod frame_timer;
pub mod inspector;
pub mod model_fit;
pub mod panels;
pub mod presets;
pub mod project;
pub mod runs;
pub mod session;
pub mod soak;
pub mod templates;
pub mod texture;

pub use app::{ConvLabApp, LaunchOptions};

/// Opens the window and runs until it is closed.
pub fn run_app(options: LaunchOptions) -> eframe::Result {
    let native = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("ConvLab")
            .with_app_id("convlab")
            .with_inner_size([1400.0, 860.0])
            .with_min_inner_size([900.0, 600.0]),
        ..Default::default()
    };
    eframe::run_native(
        "ConvLab",
        native,
        Box::new(move |cc| {
            let options = LaunchOptions {
                recovery_file: options
                    .recovery_file
                    .clone()
                    .or_else(|| eframe::storage_dir("convlab").map(|d| d.join(app::RECOVERY_FILE))),
                ..options
            };
            let mut app = ConvLabApp::new(&cc.egui_ctx, cc.storage, options);
            let software = cc.wgpu_render_state.as_ref().is_some_and(|rs| {
                rs.adapter.get_info().device_type == eframe::wgpu::DeviceType::Cpu
            });
            if software {
                app.pace_for_software_renderer();
            }
            Ok(Box::new(app))
        }),
    )
}
