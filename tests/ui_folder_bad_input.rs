//! Bad input through the window: a one-class folder holding a corrupt image, a 0-byte file,
//! a text file named .jpg and a PNG whose header claims 30000×30000 pixels, loaded through
//! the typed path. Each bad file is listed with its reason, the good images load, nothing
//! panics, and the huge image is refused from its header (no 3.6 GB allocation).

mod common;

use common::ui::{app, load_folder_by_typed_path, wait_for_folder};

use std::path::Path;

use egui_kittest::kittest::Queryable;

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The PNG signature and a valid IHDR chunk claiming `w`×`h` 8-bit gray, and nothing else.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut chunk = b"IHDR".to_vec();
    chunk.extend(w.to_be_bytes());
    chunk.extend(h.to_be_bytes());
    chunk.extend([8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(13u32.to_be_bytes());
    out.extend(&chunk);
    out.extend(crc32(&chunk).to_be_bytes());
    out
}

const BAD: [&str; 4] = ["corrupt.png", "empty.png", "notes.jpg", "huge.png"];

fn write_folder(root: &Path) {
    let dir = root.join("only");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..5u8 {
        let img = image::GrayImage::from_fn(9, 7, |x, y| image::Luma([i * 20 + (x * y) as u8]));
        img.save(dir.join(format!("good{i}.png"))).unwrap();
    }
    // A real PNG cut short in the middle of its data.
    let mut truncated = Vec::new();
    image::GrayImage::from_fn(40, 40, |x, _| image::Luma([x as u8]))
        .write_to(
            &mut std::io::Cursor::new(&mut truncated),
            image::ImageFormat::Png,
        )
        .unwrap();
    truncated.truncate(truncated.len() / 2);
    std::fs::write(dir.join("corrupt.png"), truncated).unwrap();
    std::fs::write(dir.join("empty.png"), b"").unwrap();
    std::fs::write(dir.join("notes.jpg"), b"shopping list: milk, eggs\n").unwrap();
    std::fs::write(dir.join("huge.png"), png_header(30_000, 30_000)).unwrap();
}

#[test]
fn crc_matches_the_png_reference_value() {
    // The CRC of an IEND chunk type, as in every PNG file.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
}

#[test]
fn bad_files_in_a_one_class_folder_are_listed_and_the_rest_loads() {
    let root = std::env::temp_dir().join(format!("convlab-ui-bad-folder-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    write_folder(&root);
    let mut h = app();
    load_folder_by_typed_path(&mut h, &root);
    wait_for_folder(&mut h);
    let loaded = h.state().data.loaded.as_ref().unwrap();
    assert_eq!(loaded.dataset.len(), 5, "the five good images load");
    assert_eq!(loaded.dataset.class_names, ["only"]);
    let mut skipped: Vec<(String, String)> = loaded
        .skipped
        .iter()
        .map(|s| {
            (
                s.path.file_name().unwrap().to_string_lossy().into_owned(),
                s.reason.clone(),
            )
        })
        .collect();
    skipped.sort();
    let mut names: Vec<&str> = skipped.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    let mut expected = BAD.to_vec();
    expected.sort();
    assert_eq!(names, expected, "{skipped:?}");
    for (name, reason) in &skipped {
        assert!(!reason.trim().is_empty(), "{name} has no reason");
    }
    let huge = &skipped.iter().find(|(n, _)| n == "huge.png").unwrap().1;
    assert!(
        huge.contains("30000") || huge.contains("header") || huge.contains("limit"),
        "huge.png: {huge}"
    );
    // The panel lists every bad file with its reason, and warns about the single class.
    h.get_by_label("4 files skipped");
    for (name, reason) in &skipped {
        h.get_by_label(&format!("{name}: {reason}"));
    }
    h.get_by_label_contains("1 classes · only: 5");
    h.get_by_label_contains("Only one class");
    // The window keeps working.
    h.run_steps(5);
    assert!(h.state().run.error.is_none(), "{:?}", h.state().run.error);
    std::fs::remove_dir_all(&root).ok();
}

/// Pressing "Load folder" again reads the folder again: a photo added on disk since the
/// first load is in the data (the old data stays shown until the new has loaded).
#[test]
fn loading_the_same_folder_again_reads_the_files_again() {
    let root = std::env::temp_dir().join(format!("convlab-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for class in ["a", "b"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for k in 0..3 {
            image::GrayImage::from_pixel(8, 8, image::Luma([40 * k as u8]))
                .save(root.join(class).join(format!("{k}.png")))
                .unwrap();
        }
    }
    let mut h = app();
    load_folder_by_typed_path(&mut h, &root);
    wait_for_folder(&mut h);
    let first = h.state().data.version;
    assert_eq!(h.state().data.loaded.as_ref().unwrap().dataset.len(), 6);

    image::GrayImage::from_pixel(8, 8, image::Luma([200]))
        .save(root.join("a").join("new.png"))
        .unwrap();
    h.get_by_label("Load folder").click();
    common::ui::step_until(&mut h, 30, "the folder to load again", |a| {
        a.data.version > first && a.data.job.is_none()
    });
    assert_eq!(h.state().data.loaded.as_ref().unwrap().dataset.len(), 7);
}
