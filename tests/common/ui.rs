//! The lab window under egui_kittest: building it, waiting for the trainer and loaders
//! (which run on real threads), and the steps a person takes to load their own folder.

use std::path::Path;
use std::time::{Duration, Instant};

use convlab::ui::{ConvLabApp, LaunchOptions};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

pub type App = Harness<'static, ConvLabApp>;

/// The window at a size where every panel is open, with the default start-up project.
pub fn app() -> App {
    app_with_options(LaunchOptions::default())
}

/// The window as launched with `options` (e.g. a file to open).
pub fn app_with_options(options: LaunchOptions) -> App {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 950.0))
        .build_eframe(move |cc| ConvLabApp::new(&cc.egui_ctx, None, options.clone()))
}

/// The trainer has the current model and data and waits for Train.
pub fn ready(app: &ConvLabApp) -> bool {
    app.worker_configured() && app.run.state == convlab::train::messages::RunState::Ready
}

/// The trainer has the current model and data and is not training (ready, paused or
/// finished).
pub fn idle(app: &ConvLabApp) -> bool {
    use convlab::train::messages::RunState;
    app.worker_configured()
        && matches!(
            app.run.state,
            RunState::Ready | RunState::Finished | RunState::Paused
        )
}

/// The view's result for the current settings has arrived.
pub fn shown(app: &ConvLabApp) -> bool {
    app.views
        .result
        .as_ref()
        .is_some_and(|r| r.settings == app.views.settings)
}

/// Steps frames until `done` holds; panics after `secs` seconds.
pub fn step_until(h: &mut App, secs: u64, what: &str, mut done: impl FnMut(&ConvLabApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
}

/// Picks "My images (class folder)" as the data source, types `root` into the folder path
/// and clicks "Load folder" (the load itself runs in the background).
pub fn load_folder_by_typed_path(h: &mut App, root: &Path) {
    h.run_steps(2);
    h.get_by_role_and_label(Role::ComboBox, "source").click();
    h.run_steps(2);
    h.get_by_label("My images (class folder)").click();
    h.run_steps(2);
    let field = h.get_by_role_and_label(Role::TextInput, "Folder path");
    field.focus();
    field.type_text(&root.display().to_string());
    h.run_steps(2);
    h.get_by_label("Load folder").click();
}

/// Waits until a class folder has loaded as the data set; panics with the reason if the
/// load failed.
pub fn wait_for_folder(h: &mut App) {
    let loaded = |a: &ConvLabApp| {
        a.data
            .loaded
            .as_ref()
            .is_some_and(|l| matches!(l.source, convlab::data::DataSource::Folder(_)))
    };
    step_until(h, 30, "the folder to load", |a| {
        loaded(a) || a.data.failed.is_some()
    });
    assert!(
        h.state().data.failed.is_none(),
        "{:?}",
        h.state().data.failed
    );
}

/// Scrolls the widget labelled `label` into view, waits for the scroll to come to rest and
/// clicks it: a pointer click lands where the widget is on screen, and a widget below the
/// fold of a scrolled panel is not there.
pub fn click_in_view(h: &mut App, label: &str) {
    h.get_by_label(label).scroll_to_me();
    // The scroll starts a frame or two after the request and is animated: wait until the
    // widget has stayed put for a few frames.
    let (mut last, mut still) = (h.get_by_label(label).rect(), 0);
    for _ in 0..300 {
        h.step();
        let now = h.get_by_label(label).rect();
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still >= 5 {
            break;
        }
    }
    h.get_by_label(label).click();
}

/// A file or folder dropped onto the window, as the windowing layer hands it over.
#[derive(Debug)]
struct DroppedPath(std::path::PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drops `path` onto the window and lets two frames pass.
pub fn drop_path(h: &mut App, path: &Path) {
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(DroppedPath(path.to_path_buf())));
    h.run_steps(2);
}
