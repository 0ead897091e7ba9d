//! Class folders named in other scripts (Chinese, Hebrew, Cyrillic, Greek) load, and their
//! names are drawn with real glyphs: the window falls back to installed system fonts as the
//! real window does (eframe's `system_fonts`). The harness panics on a glyph no font has,
//! so drawing every name is the check. Needs fonts with those scripts (CI installs DejaVu
//! and WenQuanYi Micro Hei).

mod common;

use common::ui::wait_for_folder;

use std::sync::Arc;

use convlab::ui::{ConvLabApp, LaunchOptions};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const CLASSES: [&str; 4] = ["猫", "כלב", "кошка", "γάτα"];

#[test]
fn class_names_in_other_scripts_load_and_show() {
    let root = std::env::temp_dir().join(format!("convlab-ui-scripts-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    for (k, class) in CLASSES.iter().enumerate() {
        let dir = root.join("photos").join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..3u8 {
            image::GrayImage::from_pixel(8, 8, image::Luma([40 * k as u8 + i]))
                .save(dir.join(format!("{i}.png")))
                .unwrap();
        }
    }
    // A preset of the user's own that trains on the folder at 20×20.
    let preset = include_str!("../presets/shapes-cnn.toml");
    let data_at = preset.find("[data]").unwrap();
    let training_at = preset.find("[training]").unwrap();
    let preset = format!(
        "{}[data]\nsource = \"folder\"\npath = \"photos\"\nsize = [20, 20]\ngrayscale = true\n\n{}",
        &preset[..data_at],
        &preset[training_at..]
    );
    let file = root.join("mine.toml");
    std::fs::write(&file, preset).unwrap();

    let options = LaunchOptions {
        file: Some(file),
        ..LaunchOptions::default()
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 950.0))
        .build_eframe(move |cc| {
            cc.egui_ctx.add_font_provider(Arc::new(
                egui_system_font_provider::SystemFontProvider::new(),
            ));
            ConvLabApp::new(&cc.egui_ctx, None, options.clone())
        });
    wait_for_folder(&mut h);
    h.run_steps(3);
    let mut sorted = CLASSES.map(String::from).to_vec();
    sorted.sort();
    let loaded = h.state().data.loaded.as_ref().unwrap();
    assert_eq!(loaded.dataset.class_names, sorted);
    assert_eq!(loaded.dataset.inputs.shape(), [12, 1, 20, 20]);
    for class in CLASSES {
        h.get_by_label_contains(&format!("{class}: 3"));
    }
    // The folder fields show the preset's folder and size, so "Load folder" reloads it.
    let state = &h.state().state;
    assert_eq!(state.folder_size, [20, 20]);
    assert!(
        state.folder_path.ends_with("photos"),
        "{}",
        state.folder_path
    );
    std::fs::remove_dir_all(&root).ok();
}
