//! The user's own 2-D points in the window: a CSV file typed into the data panel or dropped
//! onto the window loads in the background, its bad rows are listed by line number, and the
//! model trains on the rest.

mod common;

use std::path::{Path, PathBuf};

use common::ui::{App, app, drop_path, ready, step_until};
use convlab::data::{DataSource, Targets};
use convlab::ui::ConvLabApp;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

/// A file of 40 XOR points with a header and two bad rows (lines 4 and 9).
fn write_csv(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convlab-ui-csv-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("x,y,label\n");
    for i in 0..42 {
        let line = i + 2;
        text.push_str(&match line {
            4 => "0.5,oops,1\n".to_string(),
            9 => "0.5,0.5\n".to_string(),
            _ => {
                let x = if i % 2 == 0 { 0.8 } else { -0.8 };
                let y = if i % 4 < 2 { 0.7 } else { -0.7 };
                format!("{x},{y},{}\n", u8::from(x * y > 0.0))
            }
        });
    }
    let path = dir.join("points.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn open_xor(h: &mut App) {
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(2);
    h.get_by_label("xor-mlp").click();
    h.run_steps(2);
}

fn csv_loaded(a: &ConvLabApp) -> bool {
    a.data
        .loaded
        .as_ref()
        .is_some_and(|l| matches!(l.source, DataSource::PointsCsv(_)))
}

fn wait_for_csv(h: &mut App) {
    step_until(h, 30, "the CSV file to load", |a| {
        csv_loaded(a) || a.data.failed.is_some()
    });
    assert!(
        h.state().data.failed.is_none(),
        "{:?}",
        h.state().data.failed
    );
}

fn check_loaded(h: &mut App, path: &Path) {
    let loaded = h.state().data.loaded.as_ref().unwrap();
    assert_eq!(loaded.dataset.len(), 40, "the good rows load");
    assert_eq!(loaded.dataset.sample_shape(), [2, 1, 1]);
    assert_eq!(loaded.dataset.class_names, ["0", "1"]);
    assert!(matches!(loaded.dataset.targets, Targets::Labels(_)));
    let reasons: Vec<&str> = loaded.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].starts_with("line 4: y "), "{reasons:?}");
    assert!(reasons[1].starts_with("line 9: 2 columns"), "{reasons:?}");
    assert!(loaded.skipped.iter().all(|s| s.path == path));
    let reasons: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
    h.get_by_label("2 rows skipped");
    for reason in reasons {
        h.get_by_label(&format!("points.csv: {reason}"));
    }
}

#[test]
fn a_typed_csv_path_loads_its_good_rows_and_lists_the_bad_ones() {
    let path = write_csv("typed");
    let mut h = app();
    open_xor(&mut h);
    step_until(&mut h, 30, "xor to be ready", ready);
    h.get_by_role_and_label(Role::ComboBox, "source").click();
    h.run_steps(2);
    h.get_by_label("My 2-D points (CSV file)").click();
    h.run_steps(2);
    let field = h.get_by_role_and_label(Role::TextInput, "CSV file");
    field.focus();
    field.type_text(&path.display().to_string());
    h.run_steps(2);
    h.get_by_label("Load CSV").click();
    wait_for_csv(&mut h);
    check_loaded(&mut h, &path);
    // The xor model's two inputs and two classes fit: the trainer takes the file's points.
    step_until(&mut h, 30, "the CSV points to be ready", ready);
    assert!(h.state().run.error.is_none(), "{:?}", h.state().run.error);

    // Its options are the source's own: the regression task reads the third column as a
    // number to predict.
    h.get_by_label("regression").click();
    step_until(&mut h, 30, "the file to load again", |a| {
        a.data.loaded.as_ref().is_some_and(
            |l| matches!(&l.source, DataSource::PointsCsv(c) if c.task.name() == "regression"),
        )
    });
    let loaded = h.state().data.loaded.as_ref().unwrap();
    assert!(matches!(loaded.dataset.targets, Targets::Dense(_)));
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[test]
fn a_dropped_csv_file_loads_as_points() {
    let path = write_csv("dropped");
    let mut h = app();
    open_xor(&mut h);
    drop_path(&mut h, &path);
    assert_eq!(h.state().state.csv_path, path.display().to_string());
    wait_for_csv(&mut h);
    check_loaded(&mut h, &path);
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}
