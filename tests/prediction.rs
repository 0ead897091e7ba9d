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
