//! The headless commands as a user runs them: good presets work, bad ones give a one-line
//! error naming the file and key, exit non-zero, never panic, and leave no checkpoint.

mod common;

use std::path::{Path, PathBuf};

use common::cli::convlab;

fn preset(name: &str) -> String {
    format!("{}/presets/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    common::cli::scratch("cli", name)
}

#[test]
fn train_json_info_json_and_eval_json_work_end_to_end() {
    let dir = scratch("e2e");
    let ck = dir.join("xor.safetensors");
    let (ok, stdout, stderr) = convlab(&[
        "train",
        &preset("xor-mlp"),
        "--epochs",
        "5",
        "--json",
        "--out",
        ck.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    for key in [
        "epoch",
        "train_loss",
        "val_loss",
        "train_metric",
        "val_metric",
        "metric",
        "images_per_s",
    ] {
        assert!(lines[4].get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[4]["metric"], "accuracy");

    let (ok, stdout, _) = convlab(&["info", ck.to_str().unwrap(), "--json"]);
    assert!(ok);
    let info: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(info["total_params"], 2 * 8 + 8 + 8 * 2 + 2);
    let node = &info["nodes"][0];
    for key in [
        "name",
        "kind",
        "inputs",
        "output_shape",
        "params",
        "flops",
        "receptive_field",
    ] {
        assert!(node.get(key).is_some(), "missing {key}");
    }

    let (ok, stdout, _) = convlab(&["eval", ck.to_str().unwrap(), "--json"]);
    assert!(ok);
    let eval: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(eval["metric"], "accuracy");
    assert_eq!(eval["value"], eval["accuracy"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn eval_json_reports_psnr_and_the_baselines_and_render_draws_the_denoising_view() {
    let dir = scratch("denoise");
    let ck = dir.join("dd.safetensors");
    let ck = ck.to_str().unwrap();
    let (ok, _, stderr) = convlab(&[
        "train",
        &preset("denoise-digits"),
        "--epochs",
        "1",
        "--out",
        ck,
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = convlab(&["eval", ck, "--json"]);
    assert!(ok, "{stderr}");
    let eval: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(eval["metric"], "psnr");
    let psnr = eval["psnr"].as_f64().unwrap();
    for key in ["psnr_blur", "psnr_median", "psnr_noisy"] {
        let b = eval[key]
            .as_f64()
            .unwrap_or_else(|| panic!("missing {key}: {eval}"));
        assert!(psnr > b, "{key}: {eval}");
    }
    // SSIM beside every PSNR: the model's above the noisy input's.
    let ssim = |key: &str| {
        eval[key]
            .as_f64()
            .unwrap_or_else(|| panic!("missing {key}: {eval}"))
    };
    assert!(ssim("ssim") > ssim("ssim_noisy"), "{eval}");
    assert!(
        ssim("ssim_blur") <= 1.0 && ssim("ssim_median") <= 1.0,
        "{eval}"
    );
    let out = dir.join("denoising.png");
    let (ok, _, stderr) = convlab(&[
        "render",
        ck,
        "--view",
        "denoising",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let img = image::open(&out).unwrap();
    assert!(img.width() > 400 && img.height() > 200, "{img:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn eval_json_reports_psnr_against_bicubic_and_render_enlarges_a_whole_photo() {
    let dir = scratch("super-resolution");
    let ck = dir.join("sr.safetensors");
    let ck = ck.to_str().unwrap();
    let (ok, _, stderr) = convlab(&[
        "train",
        &preset("super-resolution-photos"),
        "--epochs",
        "1",
        "--out",
        ck,
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = convlab(&["eval", ck, "--json"]);
    assert!(ok, "{stderr}");
    let eval: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(eval["metric"], "psnr");
    let get = |key: &str| {
        eval[key]
            .as_f64()
            .unwrap_or_else(|| panic!("missing {key}: {eval}"))
    };
    assert_eq!(get("psnr"), get("value"));
    // Bicubic beats bilinear on the bundled photos and textures, by PSNR and by SSIM.
    assert!(get("psnr_bicubic") > get("psnr_bilinear"), "{eval}");
    assert!(get("ssim_bicubic") > get("ssim_bilinear"), "{eval}");
    assert!((0.0..=1.0).contains(&get("ssim")), "{eval}");
    // The whole cat photo (225×150, RGB) for a grey model trained on 32×32 crops.
    let out = dir.join("sr.png");
    let cat = format!("{}/assets/photos/chelsea.png", env!("CARGO_MANIFEST_DIR"));
    let (ok, _, stderr) = convlab(&[
        "render",
        ck,
        "--view",
        "super_resolution",
        "--input",
        &cat,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let img = image::open(&out).unwrap();
    assert!(img.width() > 1000 && img.height() > 500, "{img:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn info_prints_a_table_for_a_preset() {
    let (ok, stdout, _) = convlab(&["info", &preset("digits-lenet")]);
    assert!(ok);
    assert!(
        stdout.contains("conv1") && stdout.contains("(5·5·1+1)·6") && stdout.contains("61706"),
        "{stdout}"
    );
}

#[test]
fn bench_vs_torch_without_the_script_is_a_clear_error() {
    let (ok, _, stderr) = convlab(&["bench", "--vs-torch", "no/such/torch_baseline.py"]);
    assert!(!ok);
    assert!(
        stderr.contains("no/such/torch_baseline.py is not a file")
            && stderr.contains("torch_baseline.py"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn expect_error(dir: &Path, preset_text: Option<&[u8]>, expected: &[&str]) {
    let file = dir.join("bad.toml");
    if let Some(text) = preset_text {
        std::fs::write(&file, text).unwrap();
    }
    let out = dir.join("out.safetensors");
    let (ok, _, stderr) = convlab(&[
        "train",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok, "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("bad.toml"), "names the file: {stderr}");
    for e in expected {
        assert!(stderr.contains(e), "mentions {e}: {stderr}");
    }
    assert_no_repeated_cause(stderr.trim());
    assert!(!out.exists(), "no checkpoint left behind");
}

/// Each cause is printed once: no run of ": "-separated parts follows a copy of itself (as
/// when an error both prints its cause and gives it as its source).
fn assert_no_repeated_cause(message: &str) {
    let parts: Vec<&str> = message.split(": ").collect();
    for len in 1..=parts.len() / 2 {
        for at in 0..=parts.len() - 2 * len {
            assert_ne!(
                parts[at..at + len],
                parts[at + len..at + 2 * len],
                "repeated cause: {message}"
            );
        }
    }
}

#[test]
fn bad_presets_give_one_line_errors_naming_file_and_key() {
    let dir = scratch("bad");
    let good = std::fs::read_to_string(preset("xor-mlp")).unwrap();
    expect_error(&dir, None, &["No such file"]);
    expect_error(&dir, Some(&good.as_bytes()[..good.len() / 2]), &["line"]);
    expect_error(&dir, Some(b"version = 1\nname = [[["), &["line"]);
    expect_error(
        &dir,
        Some(
            good.replace("kind = \"tanh\"", "kind = \"swish\"")
                .as_bytes(),
        ),
        &["model.nodes[1]", "swish"],
    );
    expect_error(
        &dir,
        Some(
            good.replace("kind = \"tanh\"", "kind = \"tanh\"\ninputs = [\"nowhere\"]")
                .as_bytes(),
        ),
        &["'tanh'", "nowhere"],
    );
    expect_error(
        &dir,
        Some(
            good.replace("epochs = 30", "epochs = 30\nlr = 1")
                .as_bytes(),
        ),
        &["training", "lr"],
    );
    expect_error(&dir, Some(&[0xff, 0xfe, 0x00, 0x41]), &["UTF-8"]);
    let folder = good.replace(
        "source = \"points\"\npattern = \"xor\"\nsamples = 400\nnoise = 0.1",
        "source = \"folder\"\npath = \"no/such/folder\"\nsize = [2, 1]",
    );
    assert_ne!(folder, good);
    expect_error(&dir, Some(folder.as_bytes()), &["no/such/folder"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_checkpoint_is_a_clear_error() {
    let dir = scratch("ck");
    let ck = dir.join("broken.safetensors");
    std::fs::write(&ck, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    for cmd in ["info", "eval"] {
        let (ok, _, stderr) = convlab(&[cmd, ck.to_str().unwrap()]);
        assert!(
            !ok && stderr.contains("broken.safetensors") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_top_patches_writes_the_picture_and_names_bad_channels() {
    let dir = scratch("top-patches");
    // A preset gives freshly initialised weights: still a real search over the digits.
    let render = |channel: &str, out: &Path| {
        let model = preset("digits-lenet");
        let args = ["render", &model, "--view", "top-patches", "--node", "conv1"];
        let out = out.to_str().unwrap();
        convlab(&[&args[..], &["--channel", channel, "--out", out]].concat())
    };
    let out = dir.join("top.png");
    let (ok, _, stderr) = render("5", &out);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("top-patches of conv1 channel 5"),
        "{stderr}"
    );
    let img = image::open(&out).unwrap();
    assert!(img.width() > 300 && img.height() > 200, "{img:?}");
    let (ok, _, stderr) = render("6", &dir.join("bad.png"));
    assert!(!ok);
    assert!(stderr.contains("'conv1' has 6 channels"), "{stderr}");
    assert!(!dir.join("bad.png").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_decision_draws_a_point_model_and_lists_the_views_when_the_name_is_wrong() {
    let dir = scratch("decision");
    let out = dir.join("decision.png");
    let o = out.to_str().unwrap();
    let (ok, _, stderr) = convlab(&[
        "render",
        &preset("xor-mlp"),
        "--view",
        "decision",
        "--out",
        o,
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("view decision"), "{stderr}");
    let img = image::open(&out).unwrap();
    assert!(img.width() > 300 && img.height() > 300, "{img:?}");
    // An unknown name lists every view the command draws (from the registry).
    let (ok, _, stderr) = convlab(&[
        "render",
        &preset("xor-mlp"),
        "--view",
        "decisions",
        "--out",
        o,
    ]);
    assert!(!ok && !stderr.contains("panicked"), "{stderr}");
    for name in [
        "decision",
        "pool-routing",
        "conv-arithmetic",
        "segmentation",
    ] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    let (_, help, _) = convlab(&["render", "--help"]);
    assert!(
        help.contains("decision") && help.contains("top-patches"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_training_draws_the_curves_a_checkpoint_keeps_and_says_when_there_are_none() {
    let dir = scratch("training-view");
    let ck = dir.join("xor.safetensors");
    let ck = ck.to_str().unwrap();
    let (ok, _, stderr) = convlab(&["train", &preset("xor-mlp"), "--epochs", "3", "--out", ck]);
    assert!(ok, "{stderr}");
    let out = dir.join("training.png");
    let o = out.to_str().unwrap();
    let (ok, _, stderr) = convlab(&["render", ck, "--view", "training", "--out", o]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("view training"), "{stderr}");
    let img = image::open(&out).unwrap();
    assert!(img.width() > 600 && img.height() > 200, "{img:?}");
    // A preset has no run: one clear line, no picture.
    let none = dir.join("none.png");
    let (ok, _, stderr) = convlab(&[
        "render",
        &preset("xor-mlp"),
        "--view",
        "training",
        "--out",
        none.to_str().unwrap(),
    ]);
    assert!(!ok && !stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("no run history"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!none.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_vae_reports_its_elbo_terms_and_anomaly_scores_and_renders_the_latent_view() {
    let dir = scratch("vae");
    let ck = dir.join("vae.safetensors");
    let ck = ck.to_str().unwrap();
    let (ok, stdout, stderr) = convlab(&[
        "train",
        &preset("vae-digits"),
        "--epochs",
        "1",
        "--json",
        "--out",
        ck,
    ]);
    assert!(ok, "{stderr}");
    let epoch: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    for key in ["train_recon", "train_kl", "val_recon", "val_kl"] {
        assert!(epoch[key].as_f64().is_some(), "missing {key}: {epoch}");
    }
    let (ok, stdout, stderr) = convlab(&["eval", ck, "--json"]);
    assert!(ok, "{stderr}");
    let eval: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (recon, kl) = (
        eval["recon"].as_f64().unwrap(),
        eval["kl"].as_f64().unwrap(),
    );
    assert!(
        (eval["mse"].as_f64().unwrap() - recon).abs() < 1e-6,
        "{eval}"
    );
    assert!(kl > 0.0, "{eval}");
    let out = dir.join("latent.png");
    let (ok, _, stderr) = convlab(&[
        "render",
        ck,
        "--view",
        "latent",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let img = image::open(&out).unwrap();
    assert!(img.width() > 800 && img.height() > 500, "{img:?}");
    // vae-textures: AUROC by reconstruction error and by the negative ELBO.
    let vt = dir.join("vt.safetensors");
    let vt = vt.to_str().unwrap();
    let (ok, _, stderr) = convlab(&[
        "train",
        &preset("vae-textures"),
        "--epochs",
        "1",
        "--out",
        vt,
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = convlab(&["eval", vt, "--json"]);
    assert!(ok, "{stderr}");
    let eval: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in ["auroc", "auroc_mse", "auroc_kl", "auroc_neg_elbo"] {
        let a = eval[key]
            .as_f64()
            .unwrap_or_else(|| panic!("missing {key}: {eval}"));
        assert!((0.0..=1.0).contains(&a), "{key}: {eval}");
    }
    // The anomaly view of a VAE adds a line with its scores' AUROCs.
    let out = dir.join("anomaly.png");
    let (ok, _, stderr) = convlab(&[
        "render",
        vt,
        "--view",
        "anomaly",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(image::open(&out).unwrap().width() > 400);
    let _ = std::fs::remove_dir_all(&dir);
}
