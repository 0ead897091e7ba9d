//! `convlab dump`: the files load as NumPy arrays with the shapes the manifest states, and
//! bad input is a clear error that leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use convlab::dump::{DumpOptions, InputSource, TargetSource, dump};
use convlab::engine::Mode;
use convlab::npy::{load_npy, npy_f32};
use convlab::spec::Preset;
use serde_json::Value;

const PRESET: &str = r#"
version = 1
name = "dump-test"
[model]
input = [1, 12, 12]
[[model.nodes]]
name = "conv1"
kind = "conv2d"
out_channels = 3
kernel = 3
padding = 1
[[model.nodes]]
name = "bn1"
kind = "batch_norm2d"
[[model.nodes]]
name = "act1"
kind = "relu"
[[model.nodes]]
name = "pool1"
kind = "max_pool2d"
kernel = 2
[[model.nodes]]
name = "drop"
kind = "dropout"
p = 0.5
[[model.nodes]]
name = "fc"
kind = "dense"
out_features = 4
[data]
source = "shapes"
samples = 20
size = 12
[training]
loss = "cross_entropy"
learning_rate = 0.1
epochs = 1
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convlab-dump-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn preset() -> Preset {
    Preset::parse(PRESET, "dump-test.toml").unwrap()
}

fn opts(mode: Mode) -> DumpOptions {
    DumpOptions {
        input: InputSource::Sample(3),
        target: TargetSource::Default,
        mode,
        seed: Some(7),
        model_onnx: false,
    }
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn shape_of(entry: &Value) -> Vec<usize> {
    entry["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn every_file_loads_with_the_stated_shape() {
    let dir = scratch("shapes");
    let out = dir.join("dump");
    let mut o = opts(Mode::Eval);
    o.model_onnx = true;
    let summary = dump(&preset(), None, &o, &out).unwrap();
    let m = manifest(&out);
    assert_eq!(m["format"], "convlab-dump");
    assert_eq!(m["mode"], "eval");
    assert_eq!(m["loss_name"], "cross_entropy");
    assert_eq!(m["reduction"], "mean");
    assert!(m["loss"].as_f64().unwrap().is_finite());
    assert_eq!(m["model"], "model.onnx");
    // Every listed file exists, and nothing else.
    let mut listed: Vec<String> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut on_disk: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk);
    assert_eq!(summary.files.len(), listed.len());
    // Shapes: NCHW, [N, F] for dense.
    let expect = [
        ("conv1", vec![1, 3, 12, 12]),
        ("bn1", vec![1, 3, 12, 12]),
        ("act1", vec![1, 3, 12, 12]),
        ("pool1", vec![1, 3, 6, 6]),
        ("drop", vec![1, 3, 6, 6]),
        ("fc", vec![1, 4]),
    ];
    for (node, shape) in &expect {
        let a = load_npy(&out.join(format!("{node}.npy"))).unwrap();
        assert_eq!(&a.shape, shape, "{node}");
        let g = load_npy(&out.join(format!("{node}.grad.npy"))).unwrap();
        assert_eq!(&g.shape, shape, "{node} grad");
    }
    for entry in m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .chain(m["node_grads"].as_array().unwrap())
        .chain(m["param_grads"].as_array().unwrap())
    {
        let a = load_npy(&out.join(entry["file"].as_str().unwrap())).unwrap();
        assert_eq!(a.shape, shape_of(entry), "{entry}");
    }
    for p in [
        "conv1.weight",
        "conv1.bias",
        "bn1.weight",
        "bn1.bias",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(out.join(format!("{p}.grad.npy")).exists(), "{p}");
    }
    assert!(!out.join("bn1.running_mean.grad.npy").exists());
    assert_eq!(
        load_npy(&out.join("conv1.weight.grad.npy")).unwrap().shape,
        [3, 1, 3, 3]
    );
    assert_eq!(
        load_npy(&out.join("input.npy")).unwrap().shape,
        [1, 1, 12, 12]
    );
    assert_eq!(
        load_npy(&out.join("input.grad.npy")).unwrap().shape,
        [1, 1, 12, 12]
    );
    let t = load_npy(&out.join("target.npy")).unwrap();
    assert_eq!(t.shape, [1]);
    assert_eq!(m["target"]["dtype"], "int64");
    // No masks in eval mode; the ONNX file imports.
    assert!(m["masks"].as_array().unwrap().is_empty());
    let bytes = std::fs::read(out.join("model.onnx")).unwrap();
    convlab::onnx::import_model(&bytes, "model").unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_mode_writes_masks_and_is_deterministic() {
    let dir = scratch("train");
    let (a, b) = (dir.join("a"), dir.join("b"));
    dump(&preset(), None, &opts(Mode::Train), &a).unwrap();
    dump(&preset(), None, &opts(Mode::Train), &b).unwrap();
    let mask = load_npy(&a.join("drop.mask.npy")).unwrap();
    assert_eq!(mask.shape, [1, 3, 6, 6]);
    assert!(mask.to_f32().iter().all(|&v| v == 0.0 || v == 1.0));
    assert_eq!(manifest(&a)["masks"][0]["scale"], 2.0);
    for f in std::fs::read_dir(&a).unwrap() {
        let name = f.unwrap().file_name();
        assert_eq!(
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
            "{name:?}"
        );
    }
    // Dumping again into an earlier dump replaces it.
    dump(&preset(), None, &opts(Mode::Eval), &a).unwrap();
    assert!(!a.join("drop.mask.npy").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_an_error_and_writes_nothing() {
    let dir = scratch("bad");
    let out = dir.join("out");
    let p = preset();
    let try_dump = |o: DumpOptions| dump(&p, None, &o, &out).unwrap_err().to_string();

    let mut o = opts(Mode::Eval);
    o.target = TargetSource::Label(4);
    let e = try_dump(o);
    assert!(
        e.contains("label 4 is out of range") && e.contains("4 classes"),
        "{e}"
    );

    let wrong = dir.join("wrong.npy");
    std::fs::write(&wrong, npy_f32(&[1, 1, 10, 12], &[0.0; 120])).unwrap();
    let mut o = opts(Mode::Eval);
    o.input = InputSource::Npy(wrong.clone());
    let e = try_dump(o);
    assert!(
        e.contains("wrong.npy") && e.contains("[1, 1, 10, 12]") && e.contains("[n, 1, 12, 12]"),
        "{e}"
    );

    let mut o = opts(Mode::Eval);
    o.input = InputSource::Sample(999);
    assert!(try_dump(o).contains("--sample 999 is out of range"));

    let cut = dir.join("cut.npy");
    let good = npy_f32(&[1, 1, 12, 12], &[0.5; 144]);
    std::fs::write(&cut, &good[..good.len() - 7]).unwrap();
    let mut o = opts(Mode::Eval);
    o.input = InputSource::Npy(cut);
    assert!(try_dump(o).contains("cut.npy"));

    assert!(!out.exists(), "nothing written");
    // A folder that holds something else is left alone.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let e = dump(&p, None, &opts(Mode::Eval), &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not an earlier dump"), "{e}");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cli_resizes_images_and_takes_labels() {
    let dir = scratch("cli");
    let preset_path = dir.join("dump-test.toml");
    std::fs::write(&preset_path, PRESET).unwrap();
    let png = dir.join("big.png");
    image::GrayImage::from_fn(30, 20, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]))
        .save(&png)
        .unwrap();
    let out = dir.join("d");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_convlab"))
            .args(args)
            .output()
            .unwrap()
    };
    let r = run(&[
        "dump",
        preset_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--input",
        png.to_str().unwrap(),
        "--label",
        "2",
        "--mode",
        "train",
        "--seed",
        "3",
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(err.contains("resized"), "{err}");
    let m = manifest(&out);
    assert_eq!(m["input"]["resized"], true);
    assert_eq!(m["input"]["original_size"], serde_json::json!([20, 30]));
    assert_eq!(m["target"]["source"], "label");
    assert_eq!(m["mode"], "train");
    assert_eq!(
        load_npy(&out.join("target.npy"))
            .unwrap()
            .to_labels()
            .unwrap(),
        [2]
    );
    let r = run(&[
        "dump",
        preset_path.to_str().unwrap(),
        "--out",
        dir.join("e").to_str().unwrap(),
        "--label",
        "9",
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains("label 9 is out of range"),
        "{err}"
    );
    assert!(!dir.join("e").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A VAE's dump: in training the sampling node's ε is written, z = μ + exp(½ log σ²)·ε of the
/// dumped encoder output, and the loss adds β·KL of the closed form; in evaluation z = μ and
/// no ε is written. The ONNX model beside it exports the sampling node (a Slice of μ).
#[test]
fn a_vae_dump_writes_the_sampling_noise_and_the_kl_term() {
    let dir = scratch("vae");
    let mut p =
        Preset::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/vae-digits.toml"))
            .unwrap();
    p.data.source = toml::from_str("source = \"digits\"\nlimit = 50").unwrap();
    let train = dir.join("train");
    let mut o = opts(Mode::Train);
    o.model_onnx = true;
    dump(&p, None, &o, &train).unwrap();
    let m = manifest(&train);
    assert_eq!(m["noise"][0]["node"], "z");
    let read = |name: &str| load_npy(&train.join(name)).unwrap().to_f32();
    let (enc, z, eps) = (read("mu_logvar.npy"), read("z.npy"), read("z.eps.npy"));
    assert_eq!((enc.len(), z.len(), eps.len()), (4, 2, 2));
    let mut kl = 0.0f64;
    for k in 0..2 {
        let (mu, lv) = (enc[k], enc[2 + k]);
        let want = mu + (0.5 * lv).exp() * eps[k];
        assert!((z[k] - want).abs() < 1e-5, "{} vs {want}", z[k]);
        kl += -0.5 * (1.0 + lv as f64 - (mu as f64).powi(2) - (lv as f64).exp());
    }
    assert!(
        (m["kl"].as_f64().unwrap() - kl).abs() < 1e-4,
        "{} vs {kl}",
        m["kl"]
    );
    assert_eq!(m["kl_weight"].as_f64().unwrap(), p.training.kl_weight);
    // The exported model imports back with its sampling node.
    let onnx = std::fs::read(train.join(m["model"].as_str().unwrap())).unwrap();
    let back = convlab::onnx::import_model(&onnx, "vae").unwrap();
    assert_eq!(back.preset.model.nodes, p.model.nodes);
    let eval = dir.join("eval");
    dump(&p, None, &opts(Mode::Eval), &eval).unwrap();
    assert!(!eval.join("z.eps.npy").exists());
    let enc = load_npy(&eval.join("mu_logvar.npy")).unwrap().to_f32();
    let z = load_npy(&eval.join("z.npy")).unwrap().to_f32();
    assert_eq!(z, enc[..2].to_vec());
    let _ = std::fs::remove_dir_all(&dir);
}
