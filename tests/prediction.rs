//! Any image in, a prediction out: a model trained on a folder of named classes keeps the
//! names in its checkpoint, so `convlab eval`, `convlab predict` and `convlab render` say
//! "red", not "0", even after the folder is gone; the probabilities sum to 1 and are the
//! library's own.

use std::path::{Path, PathBuf};

mod common;

use common::cli::convlab;
use convlab::checkpoint::Checkpoint;
use convlab::data::folder::{ImageOptions, load_image};
use convlab::engine::Tensor;
use convlab::inspect::prediction::{Prediction, predict};

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch("predict", name)
}

const COLOURS: [(&str, [u8; 3]); 3] = [
    ("red", [220, 30, 30]),
    ("green", [30, 200, 40]),
    ("blue", [30, 40, 220]),
];

/// A small picture of one colour with a little noise, so the classes are learnable and the
/// images differ.
fn save_colour(path: &Path, rgb: [u8; 3], seed: u32) {
    let img = image::RgbImage::from_fn(8, 8, |x, y| {
        let n = ((x * 7 + y * 13 + seed * 31) % 40) as u8;
        image::Rgb([
            rgb[0].saturating_add(n),
            rgb[1].saturating_add(n),
            rgb[2].saturating_add(n),
        ])
    });
    img.save(path).unwrap();
}

/// A folder of three colour classes and a preset that trains a small dense net on it.
fn colour_folder_preset(dir: &Path) -> PathBuf {
    let root = dir.join("colours");
    for (name, rgb) in COLOURS {
        let class = root.join(name);
        std::fs::create_dir_all(&class).unwrap();
        for k in 0..12 {
            save_colour(&class.join(format!("{k}.png")), rgb, k);
        }
    }
    let preset = dir.join("colours.toml");
    std::fs::write(
        &preset,
        r#"version = 1
name = "colours"

[model]
input = [3, 8, 8]

[[model.nodes]]
name = "out"
kind = "dense"
out_features = 3

[data]
source = "folder"
path = "colours"
size = [8, 8]
val_fraction = 0.25
seed = 1

[training]
loss = "cross_entropy"
optimizer = { kind = "adam" }
learning_rate = 0.05
batch_size = 8
epochs = 20
seed = 1
"#,
    )
    .unwrap();
    preset
}

#[test]
fn class_names_travel_with_the_checkpoint_to_eval_predict_and_render() {
    let dir = scratch("names");
    let preset = colour_folder_preset(&dir);
    let ck = dir.join("colours.safetensors");
    let (ok, _, stderr) = convlab(&[
        "train",
        preset.to_str().unwrap(),
        "--out",
        ck.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        Checkpoint::load(&ck).unwrap().class_names,
        ["blue", "green", "red"]
    );

    // eval names every class with its accuracy.
    let (ok, stdout, stderr) = convlab(&["eval", ck.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let names: Vec<&str> = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(!names.is_empty() && names.iter().all(|n| ["red", "green", "blue"].contains(n)));

    // A red picture that is not in the folder: predict says "red", and its numbers are the
    // library's for the same file.
    let probe = dir.join("probe.png");
    save_colour(&probe, [230, 20, 20], 99);
    let (ok, stdout, stderr) = convlab(&[
        "predict",
        ck.to_str().unwrap(),
        probe.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let classes = line["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 3);
    assert_eq!(classes[0]["name"], "red", "{line}");
    let sum: f64 = classes
        .iter()
        .map(|c| c["probability"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-5, "{sum}");

    let checkpoint = Checkpoint::load(&ck).unwrap();
    let mut graph = checkpoint.graph().unwrap();
    let x = Tensor::from_shape_vec(
        (1, 3, 8, 8),
        load_image(
            &probe,
            ImageOptions {
                size: [8, 8],
                grayscale: false,
            },
        )
        .unwrap(),
    )
    .unwrap();
    let Prediction::Classes { probabilities } =
        predict(&mut graph, &x, checkpoint.preset.training.loss).unwrap()
    else {
        panic!("a classifier")
    };
    for c in classes {
        let k = c["class"].as_u64().unwrap() as usize;
        let p = c["probability"].as_f64().unwrap();
        assert!((p - f64::from(probabilities[k])).abs() < 1e-6);
    }

    // The folder is gone: the names still come with the model.
    std::fs::remove_dir_all(dir.join("colours")).unwrap();
    let (ok, stdout, stderr) = convlab(&["predict", ck.to_str().unwrap(), probe.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("red") && stdout.contains('%'), "{stdout}");
    let out = dir.join("saliency.png");
    let (ok, _, stderr) = convlab(&[
        "render",
        ck.to_str().unwrap(),
        "--view",
        "prediction",
        "--input",
        probe.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(out.exists());
}

#[test]
fn predict_reports_each_unreadable_image_and_fails_at_the_end() {
    let dir = scratch("bad");
    let broken = dir.join("broken.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let good = dir.join("digit.png");
    image::GrayImage::from_pixel(28, 28, image::Luma([0]))
        .save(&good)
        .unwrap();
    let preset = format!("{}/presets/digits-lenet.toml", env!("CARGO_MANIFEST_DIR"));
    let (ok, stdout, stderr) = convlab(&[
        "predict",
        &preset,
        broken.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("broken.png"), "{stderr}");
    assert!(
        stderr.contains("1 of 2 images could not be read"),
        "{stderr}"
    );
    assert!(stderr.contains("freshly initialised"), "{stderr}");
    // The good image was still predicted, with the digits' names.
    assert!(
        stdout.contains("digit.png:") && stdout.contains('%'),
        "{stdout}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Colour-coded masks: black background, a red disc and a blue square. The checkpoint keeps
/// the colours beside the names, and `convlab predict --json` gives each class its colour.
#[test]
fn a_segmentation_checkpoint_keeps_the_colours_of_its_masks() {
    let dir = scratch("palette");
    let (images, masks) = (dir.join("images"), dir.join("masks"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    const RED: [u8; 3] = [200, 30, 30];
    const BLUE: [u8; 3] = [30, 30, 200];
    for k in 0..12u32 {
        let disc = |x: u32, y: u32| (x as f64 - 5.0).hypot(y as f64 - (4 + k % 6) as f64) < 3.0;
        let square = |x: u32, y: u32| (9..14).contains(&x) && (8..13).contains(&y);
        image::GrayImage::from_fn(16, 16, |x, y| {
            image::Luma([if disc(x, y) {
                220
            } else if square(x, y) {
                120
            } else {
                20
            }])
        })
        .save(images.join(format!("s{k}.png")))
        .unwrap();
        image::RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb(if disc(x, y) {
                RED
            } else if square(x, y) {
                BLUE
            } else {
                [0, 0, 0]
            })
        })
        .save(masks.join(format!("s{k}.png")))
        .unwrap();
    }
    let preset = dir.join("colours-seg.toml");
    std::fs::write(
        &preset,
        r#"version = 1
name = "colours-seg"

[model]
input = [1, 16, 16]

[[model.nodes]]
name = "conv"
kind = "conv2d"
out_channels = 3
kernel = 3
padding = "same"

[data]
source = "segmentation_folder"
images = "images"
masks = "masks"
size = [16, 16]
grayscale = true
val_fraction = 0.25
seed = 1

[training]
loss = "bce_with_logits"
optimizer = { kind = "adam" }
learning_rate = 0.05
batch_size = 4
epochs = 2
seed = 1
"#,
    )
    .unwrap();
    let ck = dir.join("seg.safetensors");
    let (ok, _, stderr) = convlab(&[
        "train",
        preset.to_str().unwrap(),
        "--out",
        ck.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let saved = Checkpoint::load(&ck).unwrap();
    let palette = saved.palette.clone().expect("the masks' colours");
    assert_eq!(palette.len(), 3);
    assert_eq!(palette[0], [0, 0, 0], "black is the background, class 0");
    assert!(
        palette.contains(&RED) && palette.contains(&BLUE),
        "{palette:?}"
    );

    let (ok, stdout, stderr) = convlab(&[
        "predict",
        ck.to_str().unwrap(),
        images.join("s0.png").to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let classes = line["segmentation"].as_array().expect("a segmentation");
    for c in classes {
        let k = c["class"].as_u64().unwrap() as usize;
        let colour: Vec<u8> = c["colour"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(colour, palette[k], "{c}");
    }
}
