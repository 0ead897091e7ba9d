//! Long names never widen a panel or move a button. egui side panels grow to fit what
//! they hold, so one unwrapped long text (a folder path, a class folder's name, a node's
//! name, a message) widened a panel, and every button in it jumped sideways in the frame
//! after the user aimed at it: a missed click (it made the folder_scale test fail in CI).
//! This drives the window with realistic long names and checks that the panels' edges
//! and the buttons stay where they were.

mod common;

use common::ui::{
    App, app, click_in_view, load_folder_by_typed_path, ready, step_until, wait_for_folder,
};

use std::path::{Path, PathBuf};

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

const CLASSES: usize = 40;
const LONG_NODE_NAME: &str = "first_convolution_of_the_feature_extractor_five_by_five";
const WINDOW_WIDTH: f32 = 1400.0;

/// `CLASSES` class folders with long names (as image collections name them), four 10×10
/// images each, told apart by brightness.
fn write_folder(root: &Path) {
    for class in 0..CLASSES {
        let dir = root.join(format!(
            "n020{class:05}-a-class-folder-with-a-long-descriptive-name"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..4u32 {
            let value = (class * 6) as u8;
            image::GrayImage::from_fn(10, 10, |x, y| {
                image::Luma([value + ((x + y + i) % 3) as u8])
            })
            .save(dir.join(format!("{i}.png")))
            .unwrap();
        }
    }
}

/// Where the panels meet the central area: the right edge of the first node's "del" button
/// (left panel) and the left edge of "Train" (right panel).
fn panel_edges(h: &App) -> (f32, f32) {
    let del = h.get_all_by_label("del").next().expect("a node row").rect();
    (del.right(), h.get_by_label("Train").rect().left())
}

/// Within a pixel: a selected node's thicker frame moves its buttons by half a pixel.
fn assert_in_place(h: &App, start: (f32, f32), what: &str) {
    let now = panel_edges(h);
    assert!(
        (now.0 - start.0).abs() <= 1.0 && (now.1 - start.1).abs() <= 1.0,
        "{what}: panel edges {start:?} -> {now:?}"
    );
}

struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

#[test]
fn long_names_and_many_classes_leave_the_panels_and_buttons_in_place() {
    let outer = std::env::temp_dir().join(format!("convlab-ui-long-{}", std::process::id()));
    std::fs::remove_dir_all(&outer).ok();
    let _cleanup = Cleanup(outer.clone());
    let root =
        outer.join("photographs sorted into one folder per kind of thing, as a student made them");
    write_folder(&root);

    let mut h = app();
    step_until(&mut h, 30, "the default model to be ready", ready);
    // The folder tools are part of the panel from here on: its width with them open and a
    // short path typed is the reference.
    h.get_by_role_and_label(Role::ComboBox, "source").click();
    h.run_steps(2);
    h.get_by_label("My images (class folder)").click();
    h.run_steps(3);
    let start = panel_edges(&h);

    // A long folder path: in the data panel while it loads and in the status line after.
    load_folder_by_typed_path(&mut h, &root);
    wait_for_folder(&mut h);
    h.run_steps(3);
    assert_eq!(
        h.state()
            .data
            .loaded
            .as_ref()
            .unwrap()
            .dataset
            .class_names
            .len(),
        CLASSES
    );
    assert_in_place(&h, start, "the long folder path widened a panel");

    // LeNet has ten outputs; the window offers to give it one per class.
    step_until(&mut h, 30, "the trainer to refuse the data", |a| {
        a.run
            .error
            .as_ref()
            .is_some_and(|e| e.to_string().contains("40 classes"))
    });
    h.get_by_label_contains("The data has 40 classes but fc3 gives 10 outputs");
    click_in_view(&mut h, "Set fc3 to 40 outputs");
    h.step();
    h.run_steps(2);
    assert_eq!(
        h.state()
            .project
            .preset
            .model
            .output_layer()
            .map(|(_, n)| n),
        Some(CLASSES)
    );
    assert!(h.query_by_label("Set fc3 to 40 outputs").is_none());

    // A long node name in the model editor.
    h.get_by_label("conv1").click();
    h.run_steps(2);
    let field = h.get_by_role_and_label(Role::TextInput, "name");
    field.focus();
    h.run_steps(1);
    h.get_by_role_and_label(Role::TextInput, "name")
        .set_text_value_accesskit(LONG_NODE_NAME);
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert_eq!(h.state().project.preset.model.nodes[0].name, LONG_NODE_NAME);
    assert_in_place(&h, start, "the long node name widened a panel");

    // Train: the confusion matrix has 40 rows and columns, wider than the panel.
    step_until(&mut h, 30, "the run to be configured", ready);
    click_in_view(&mut h, "Train");
    step_until(&mut h, 120, "a 40-class confusion matrix", |a| {
        a.run
            .evaluation
            .as_ref()
            .is_some_and(|e| e.confusion.len() == CLASSES)
    });
    h.run_steps(3);
    h.get_by_label_contains("validation images right");
    assert_in_place(&h, start, "the confusion matrix widened a panel");

    // The gallery filtered to one cell names two long classes; "show all" stays reachable.
    h.state_mut().gallery.filter = Some((3, 7));
    h.run_steps(2);
    h.get_by_label_contains("predicted as n02000007");
    let show_all = h.get_by_label("show all").rect();
    assert!(show_all.right() <= WINDOW_WIDTH, "{show_all:?}");
    h.get_by_label("show all").click();
    h.run_steps(2);
    assert_eq!(h.state().gallery.filter, None);

    // The status line holds a long message and still shows the frame times.
    let long = format!("loaded {} and a great deal more", root.display());
    h.state_mut().message.text = long;
    h.run_steps(2);
    let frame_times = h.get_by_label_contains("fps)").rect();
    assert!(
        frame_times.left() >= 0.0 && frame_times.right() <= WINDOW_WIDTH,
        "{frame_times:?}"
    );
    assert_in_place(&h, start, "a long message widened a panel");
}
