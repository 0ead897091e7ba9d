//! Image loading into a data set: the bytes become one file in a class folder, which loads
//! or is skipped with a reason; the loaded values are finite and in [0, 1].
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use convlab::data::folder::{ImageOptions, load_class_folder};
use libfuzzer_sys::fuzz_target;

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("convlab-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(root.join("class")).expect("scratch folder");
        root
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the extension (the loader sniffs content, not names).
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let ext = ["png", "jpg", "bmp", "gif", "tif", "webp"][pick as usize % 6];
    let dir = root().join("class");
    for e in std::fs::read_dir(&dir).expect("scratch folder").flatten() {
        let _ = std::fs::remove_file(e.path());
    }
    std::fs::write(dir.join(format!("x.{ext}")), bytes).expect("scratch file");
    let opts = ImageOptions {
        size: [6, 5],
        grayscale: pick & 0x80 != 0,
    };
    match load_class_folder(root(), opts, None, |_, _| {}) {
        Ok(load) => {
            assert_eq!(load.dataset.len(), 1);
            assert!(load.dataset.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        Err(e) => assert!(e.to_string().contains("no readable images"), "{e}"),
    }
});
