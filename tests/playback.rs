//! Training playback from the command line: `convlab train --snapshots` keeps the weights
//! along the run in the checkpoint; `convlab render --at-step N` shows a view exactly as a
//! checkpoint saved at step N shows it; `--animate` plays every snapshot in step order; a
//! snapshot of another model is refused with the reason.

use std::path::PathBuf;

mod common;

use common::cli::convlab;
use convlab::checkpoint::Checkpoint;
use image::AnimationDecoder;

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch("playback", name)
}

fn preset(name: &str) -> String {
    format!("{}/presets/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn train(dir: &std::path::Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.safetensors"));
    let xor = preset("xor-mlp");
    let mut args = vec!["train", &xor[..], "--threads", "1"];
    let out_text = out.to_str().unwrap().to_string();
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", &out_text]);
    let (ok, _, stderr) = convlab(&args);
    assert!(ok, "{stderr}");
    out
}

#[test]
fn a_view_at_a_snapshot_is_the_view_of_a_checkpoint_saved_at_that_step() {
    let dir = scratch("same");
    let whole = train(&dir, "whole", &["--epochs", "4", "--snapshots"]);
    let ck = Checkpoint::load(&whole).unwrap();
    let steps: Vec<u64> = ck.snapshots.iter().map(|s| s.step).collect();
    assert_eq!(steps[0], 0);
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    assert!(steps.contains(&32), "{steps:?}");
    // The last snapshot is the checkpoint's own weights.
    let last = ck.snapshots.last().unwrap();
    for ((name, a), (_, b)) in ck.params.iter().zip(last.params.iter()) {
        assert_eq!(a, b, "{name}");
    }

    let at_32 = train(&dir, "at32", &["--steps", "32"]);
    let from_snapshot = dir.join("snapshot.png");
    let from_checkpoint = dir.join("checkpoint.png");
    for (model, out, extra) in [
        (&whole, &from_snapshot, vec!["--at-step", "32"]),
        (&at_32, &from_checkpoint, vec![]),
    ] {
        let mut args = vec![
            "render",
            model.to_str().unwrap(),
            "--view",
            "decision",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let (ok, _, stderr) = convlab(&args);
        assert!(ok, "{stderr}");
    }
    assert_eq!(
        std::fs::read(&from_snapshot).unwrap(),
        std::fs::read(&from_checkpoint).unwrap(),
        "the decision view at step 32 differs from a checkpoint saved at step 32"
    );

    // Every snapshot, in step order, one frame each.
    let gif = dir.join("decision.gif");
    let (ok, _, stderr) = convlab(&[
        "render",
        whole.to_str().unwrap(),
        "--view",
        "decision",
        "--animate",
        gif.to_str().unwrap(),
        "--frame-ms",
        "100",
    ]);
    assert!(ok, "{stderr}");
    let frames = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&gif).unwrap(),
    ))
    .unwrap()
    .into_frames()
    .collect_frames()
    .unwrap();
    assert_eq!(frames.len(), ck.snapshots.len());
}

#[test]
fn snapshots_that_do_not_fit_and_checkpoints_without_them_are_refused_with_a_reason() {
    let dir = scratch("refused");
    let plain = train(&dir, "plain", &["--epochs", "1"]);
    let (ok, _, stderr) = convlab(&[
        "render",
        plain.to_str().unwrap(),
        "--view",
        "decision",
        "--at-step",
        "4",
        "--out",
        dir.join("x.png").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("--snapshots"), "{stderr}");

    // A snapshot whose tensor has another shape: another model's.
    let with = train(&dir, "with", &["--epochs", "1", "--snapshots"]);
    let mut ck = Checkpoint::load(&with).unwrap();
    let mut params = (*ck.snapshots[1].params).clone();
    params[0].1 = ndarray::ArrayD::zeros(ndarray::IxDyn(&[3, 3]));
    ck.snapshots[1].params = std::sync::Arc::new(params);
    let step = ck.snapshots[1].step;
    let e = Checkpoint::from_bytes(&ck.to_bytes(), "other.safetensors").unwrap_err();
    assert!(
        e.to_string().contains(&format!("snapshot at step {step}")),
        "{e}"
    );
    // A snapshot lacking a parameter.
    let mut ck = Checkpoint::load(&with).unwrap();
    let mut params = (*ck.snapshots[0].params).clone();
    params.pop();
    ck.snapshots[0].params = std::sync::Arc::new(params);
    let e = Checkpoint::from_bytes(&ck.to_bytes(), "other.safetensors").unwrap_err();
    assert!(e.to_string().contains("another model"), "{e}");
}
