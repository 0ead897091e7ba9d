//! ONNX export and import, checked without Python:
//! - every case's export is byte-identical to the committed file that onnxruntime ran
//!   (tests/fixtures/onnx/make_fixtures.py), and ConvLab's forward pass agrees with
//!   onnxruntime's output stored beside it;
//! - export → import → export is byte-identical, for every case and every preset;
//! - small nets exported by `torch.onnx.export` import and agree with PyTorch's output.

use std::path::{Path, PathBuf};

use convlab::engine::{Graph, Mode, ModelSpec, NodeSpec, Tensor};
use convlab::npy::{npy_f32, read_npy};
use convlab::onnx::{export_model, import_model};
use convlab::spec::Preset;
use ndarray::{Array4, ArrayD};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx")
}

/// Graphs that together use every node kind and option the exporter distinguishes.
fn cases() -> Vec<(&'static str, ModelSpec)> {
    let spec = |input: [usize; 3], nodes: &str| ModelSpec {
        input,
        nodes: serde_json::from_str::<Vec<NodeSpec>>(nodes).expect("case nodes parse"),
    };
    vec![
        (
            "conv_padding",
            spec(
                [3, 15, 12],
                r#"[
                {"name": "same_s2", "kind": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2, "padding": "same"},
                {"name": "explicit", "kind": "conv2d", "out_channels": 5, "kernel": [3, 2], "padding": [0, 1, 2, 1], "dilation": [2, 1], "bias": false},
                {"name": "reflect", "kind": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "padding_mode": "reflect"},
                {"name": "replicate", "kind": "conv2d", "out_channels": 4, "kernel": 3, "padding": [2, 1], "padding_mode": "replicate"},
                {"name": "grouped", "kind": "conv2d", "out_channels": 6, "kernel": 1, "groups": 2},
                {"name": "depthwise", "kind": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "groups": 6},
                {"name": "valid", "kind": "conv2d", "out_channels": 2, "kernel": 2, "padding": "valid", "stride": [1, 2]}
            ]"#,
            ),
        ),
        (
            "conv_transpose",
            spec(
                [3, 5, 4],
                r#"[
                {"name": "up1", "kind": "conv_transpose2d", "out_channels": 2, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1},
                {"name": "act", "kind": "tanh"},
                {"name": "up2", "kind": "conv_transpose2d", "out_channels": 3, "kernel": [2, 3], "stride": [1, 2], "bias": false}
            ]"#,
            ),
        ),
        (
            "pools",
            spec(
                [3, 9, 9],
                r#"[
                {"name": "maxp", "kind": "max_pool2d", "kernel": 3, "stride": 2, "padding": 1},
                {"name": "minp", "kind": "min_pool2d", "kernel": 3, "stride": 2, "padding": 1, "inputs": ["input"]},
                {"name": "avgp", "kind": "avg_pool2d", "kernel": 3, "stride": 2, "padding": 1, "inputs": ["input"]},
                {"name": "sum3", "kind": "add", "inputs": ["maxp", "minp", "avgp"]},
                {"name": "cat", "kind": "concat", "inputs": ["maxp", "minp", "avgp", "sum3"]},
                {"name": "plain_max", "kind": "max_pool2d", "kernel": 2, "stride": 1},
                {"name": "plain_min", "kind": "min_pool2d", "kernel": [2, 1], "stride": 1},
                {"name": "plain_avg", "kind": "avg_pool2d", "kernel": 2, "stride": 1}
            ]"#,
            ),
        ),
        (
            "mlp_points",
            spec(
                [2, 1, 1],
                r#"[
                {"name": "fc1", "kind": "dense", "out_features": 8},
                {"name": "act1", "kind": "tanh"},
                {"name": "drop", "kind": "dropout", "p": 0.3},
                {"name": "fc2", "kind": "dense", "out_features": 8},
                {"name": "act2", "kind": "leaky_relu", "slope": 0.2},
                {"name": "bn", "kind": "batch_norm2d", "eps": 0.001, "momentum": 0.2},
                {"name": "fc3", "kind": "dense", "out_features": 3, "bias": false},
                {"name": "probs", "kind": "softmax"}
            ]"#,
            ),
        ),
        (
            "rank_mix",
            spec(
                [3, 4, 4],
                r#"[
                {"name": "d1", "kind": "dense", "out_features": 5},
                {"name": "d2", "kind": "dense", "out_features": 5},
                {"name": "both", "kind": "add", "inputs": ["d1", "d2"]},
                {"name": "up", "kind": "upsample", "scale": 3, "mode": "bilinear"},
                {"name": "c", "kind": "conv2d", "out_channels": 2, "kernel": 1},
                {"name": "gap", "kind": "global_avg_pool"},
                {"name": "cat", "kind": "concat", "inputs": ["gap", "d1"]},
                {"name": "sm", "kind": "softmax"},
                {"name": "same", "kind": "identity"},
                {"name": "flat", "kind": "flatten"},
                {"name": "head", "kind": "dense", "out_features": 4},
                {"name": "lifted", "kind": "conv2d", "out_channels": 3, "kernel": 1, "inputs": ["d2"]},
                {"name": "sig", "kind": "sigmoid"}
            ]"#,
            ),
        ),
        (
            "layer_norm",
            spec(
                [2, 5, 4],
                r#"[
                {"name": "conv", "kind": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
                {"name": "ln", "kind": "layer_norm"},
                {"name": "act", "kind": "relu"},
                {"name": "fc", "kind": "dense", "out_features": 6},
                {"name": "ln_flat", "kind": "layer_norm", "eps": 0.001}
            ]"#,
            ),
        ),
        (
            "local_response_norm",
            spec(
                [4, 5, 5],
                r#"[
                {"name": "conv", "kind": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "groups": 2},
                {"name": "lrn", "kind": "local_response_norm", "size": 3, "alpha": 0.5, "beta": 0.75, "k": 2.0},
                {"name": "pool", "kind": "max_pool2d", "kernel": 3, "stride": 2},
                {"name": "lrn_default", "kind": "local_response_norm"},
                {"name": "fc", "kind": "dense", "out_features": 4},
                {"name": "lrn_flat", "kind": "local_response_norm", "size": 1, "alpha": 2.0, "beta": 0.5, "k": 1.5}
            ]"#,
            ),
        ),
        (
            "unet",
            spec(
                [1, 8, 8],
                r#"[
                {"name": "e1", "kind": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
                {"name": "e1_act", "kind": "relu"},
                {"name": "down", "kind": "max_pool2d", "kernel": 2},
                {"name": "e2", "kind": "conv2d", "out_channels": 8, "kernel": 3, "padding": "same"},
                {"name": "e2_act", "kind": "relu"},
                {"name": "up", "kind": "upsample", "scale": 2},
                {"name": "skip", "kind": "concat", "inputs": ["up", "e1_act"]},
                {"name": "dec", "kind": "conv2d", "out_channels": 1, "kernel": 1},
                {"name": "mask", "kind": "sigmoid"}
            ]"#,
            ),
        ),
        (
            "resnet_block",
            spec(
                [4, 6, 6],
                r#"[
                {"name": "conv1", "kind": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false},
                {"name": "bn1", "kind": "batch_norm2d"},
                {"name": "relu1", "kind": "relu"},
                {"name": "conv2", "kind": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false},
                {"name": "bn2", "kind": "batch_norm2d", "eps": 0.0001},
                {"name": "res", "kind": "add", "inputs": ["bn2", "input"]},
                {"name": "relu2", "kind": "relu"},
                {"name": "pool", "kind": "global_avg_pool"},
                {"name": "drop", "kind": "dropout", "p": 0.5},
                {"name": "fc", "kind": "dense", "out_features": 3}
            ]"#,
            ),
        ),
    ]
}

/// SplitMix64: a generator of our own, so fixtures do not depend on the engine's init.
struct Mix(u64);
impl Mix {
    fn of(name: &str) -> Mix {
        Mix(name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        }))
    }
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Deterministic weights: uniform in ±1/√fan-in, positive running variances.
fn weights(spec: &ModelSpec) -> Vec<(String, ArrayD<f32>)> {
    let g = Graph::<f32>::new(spec).expect("case builds");
    g.params()
        .iter()
        .map(|p| {
            let mut r = Mix::of(&p.name);
            let shape = p.value.shape().to_vec();
            let fan = if shape.len() > 1 {
                shape[1..].iter().product::<usize>() as f32
            } else {
                1.0
            };
            let v = if p.name.ends_with("running_var") {
                ArrayD::from_shape_fn(shape, |_| 0.5 + r.next())
            } else if p.name.ends_with("running_mean") {
                ArrayD::from_shape_fn(shape, |_| r.next() - 0.5)
            } else {
                let a = 1.0 / fan.sqrt();
                ArrayD::from_shape_fn(shape, |_| (2.0 * r.next() - 1.0) * a)
            };
            (p.name.clone(), v)
        })
        .collect()
}

fn input_for(case: &str, spec: &ModelSpec) -> Tensor<f32> {
    let [c, h, w] = spec.input;
    let mut r = Mix::of(&format!("{case}/input"));
    // Two samples, or one for large inputs (keeps the fixtures small).
    let n = if c * h * w > 4096 { 1 } else { 2 };
    Array4::from_shape_fn((n, c, h, w), |_| 2.0 * r.next() - 1.0)
}

fn forward(spec: &ModelSpec, params: &[(String, ArrayD<f32>)], x: &Tensor<f32>) -> Tensor<f32> {
    let mut g = Graph::<f32>::new(spec).expect("builds");
    for (n, v) in params {
        g.set_param(n, v.clone()).expect("weights fit");
    }
    g.forward(x, Mode::Eval).expect("forward").clone()
}

fn presets() -> Vec<(String, Preset)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("presets folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let preset = Preset::load(p).unwrap_or_else(|e| panic!("{e}"));
            (format!("preset_{}", preset.name.replace('-', "_")), preset)
        })
        .collect()
}

/// Every case: name, spec, weights, the preset (for presets), input.
#[expect(clippy::type_complexity, reason = "a table of test cases")]
fn all_cases() -> Vec<(
    String,
    ModelSpec,
    Vec<(String, ArrayD<f32>)>,
    Option<Preset>,
    Tensor<f32>,
)> {
    let mut out = Vec::new();
    for (name, spec) in cases() {
        let w = weights(&spec);
        let x = input_for(name, &spec);
        out.push((name.to_string(), spec, w, None, x));
    }
    for (name, preset) in presets() {
        let spec = preset.model.clone();
        let w = weights(&spec);
        let x = input_for(&name, &spec);
        out.push((name, spec, w, Some(preset), x));
    }
    out
}

fn close(a: &[f32], b: &[f32], atol: f32, rtol: f32) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} values vs {}", a.len(), b.len()));
    }
    let mut worst = (0.0f32, 0usize);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let excess = (x - y).abs() / (atol + rtol * y.abs());
        if excess > worst.0 || excess.is_nan() {
            worst = (excess, i);
        }
    }
    if worst.0 > 1.0 || worst.0.is_nan() {
        let i = worst.1;
        return Err(format!(
            "value {i}: {} vs {} (ratio {})",
            a[i], b[i], worst.0
        ));
    }
    Ok(())
}

/// Writes every case's ONNX file and input for make_fixtures.py (which adds onnxruntime's
/// outputs). Run through the script, not by hand.
#[test]
#[ignore]
fn write_fixtures() {
    let dir = std::env::var_os("CONVLAB_ONNX_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(fixtures);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, spec, w, _, x) in all_cases() {
        let bytes = export_model(&spec, &w, None).unwrap();
        std::fs::write(dir.join(format!("{name}.onnx")), &bytes).unwrap();
        let s = x.shape().to_vec();
        std::fs::write(
            dir.join(format!("{name}.input.npy")),
            npy_f32(&s, x.as_slice().unwrap()),
        )
        .unwrap();
        // ConvLab's own output, so the script can report the difference.
        let y = forward(&spec, &w, &x);
        let ys = y.shape().to_vec();
        std::fs::write(
            dir.join(format!("{name}.convlab.npy")),
            npy_f32(&ys, y.as_slice().unwrap()),
        )
        .unwrap();
    }
}

/// FNV-1a (64 bit) of the bytes, as make_fixtures.py computes it.
fn fnv1a64(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    format!("{h:016x}")
}

/// Whether onnxruntime's fixture was made from the current export of the case (graph only:
/// a preset's text may change without its model changing). The script stores the hash of
/// the file it ran rather than the file, to keep the fixtures small.
fn fixture_is_current(name: &str, spec: &ModelSpec, w: &[(String, ArrayD<f32>)]) -> Option<bool> {
    let committed =
        std::fs::read_to_string(fixtures().join(format!("{name}.onnx.fnv1a64"))).ok()?;
    Some(fnv1a64(&export_model(spec, w, None).unwrap()) == committed.trim())
}

#[test]
fn exports_match_the_files_onnxruntime_ran() {
    for (name, spec, w, preset, x) in all_cases() {
        match fixture_is_current(&name, &spec, &w) {
            Some(true) => {}
            // The graph cases are ours: they must match. Presets change under other hands;
            // a preset whose model changed since the script last ran is reported, and still
            // round-trips in the test below.
            _ if preset.is_some() => {
                eprintln!(
                    "note: {name}: no current onnxruntime fixture; rerun tests/fixtures/onnx/make_fixtures.py"
                );
                continue;
            }
            Some(false) => panic!(
                "{name}: the export differs from the file onnxruntime ran — if the change is intended, rerun tests/fixtures/onnx/make_fixtures.py"
            ),
            None => panic!("{name}: no fixture — run tests/fixtures/onnx/make_fixtures.py"),
        }
        let input = read_npy(&std::fs::read(fixtures().join(format!("{name}.input.npy"))).unwrap())
            .unwrap();
        assert_eq!(input.to_f32(), x.as_slice().unwrap(), "{name}: input");
    }
}

#[test]
fn onnxruntime_agrees_with_the_engine() {
    let mut checked = 0;
    for (name, spec, w, _, x) in all_cases() {
        if fixture_is_current(&name, &spec, &w) != Some(true) {
            continue;
        }
        let ort =
            read_npy(&std::fs::read(fixtures().join(format!("{name}.ort.npy"))).unwrap()).unwrap();
        let y = forward(&spec, &w, &x);
        // onnxruntime's output has the ONNX rank ([N, F] after dense layers).
        assert_eq!(
            ort.shape.iter().product::<usize>(),
            y.len(),
            "{name}: shape {:?} vs {:?}",
            ort.shape,
            y.shape()
        );
        close(y.as_slice().unwrap(), &ort.to_f32(), 1e-5, 1e-4)
            .unwrap_or_else(|e| panic!("{name}: ConvLab vs onnxruntime: {e}"));
        checked += 1;
    }
    assert!(
        checked >= cases().len(),
        "only {checked} cases have onnxruntime outputs"
    );
}

#[test]
fn export_import_export_is_identical() {
    for (name, spec, w, preset, x) in all_cases() {
        let bytes = export_model(&spec, &w, preset.as_ref()).unwrap();
        let imported = import_model(&bytes, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = export_model(
            &imported.preset.model,
            &imported.params,
            preset.as_ref().map(|_| &imported.preset),
        )
        .unwrap();
        assert!(again == bytes, "{name}: export → import → export differs");
        if let Some(p) = &preset {
            assert_eq!(
                &imported.preset, p,
                "{name}: the embedded preset comes back"
            );
        }
        // Same computation, bit for bit.
        let y0 = forward(&spec, &w, &x);
        let y1 = forward(&imported.preset.model, &imported.params, &x);
        assert_eq!(y0, y1, "{name}: imported model computes differently");
        // Parameter names are the checkpoint's names.
        let names0: Vec<&String> = w.iter().map(|p| &p.0).collect();
        let names1: Vec<&String> = imported.params.iter().map(|p| &p.0).collect();
        assert_eq!(names0, names1, "{name}: parameter names");
    }
}

/// ONNX's LRN centres an even window one channel later than PyTorch (and ConvLab): such a
/// node is a typed export error, not a silently different model.
#[test]
fn an_even_local_response_norm_window_does_not_export() {
    let spec = ModelSpec {
        input: [4, 3, 3],
        nodes: serde_json::from_str::<Vec<NodeSpec>>(
            r#"[{"name": "lrn", "kind": "local_response_norm", "size": 4}]"#,
        )
        .unwrap(),
    };
    let err = export_model(&spec, &[], None).unwrap_err().to_string();
    assert!(err.contains("lrn") && err.contains("odd size"), "{err}");
}

#[test]
fn pytorch_exports_import_and_agree() {
    let mut checked = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    paths.sort();
    for path in paths {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = file
            .strip_prefix("torch_")
            .and_then(|s| s.strip_suffix(".onnx"))
        else {
            continue;
        };
        let name = format!("torch_{stem}");
        let bytes = std::fs::read(&path).unwrap();
        let imported = import_model(&bytes, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let read = |suffix: &str| {
            read_npy(&std::fs::read(fixtures().join(format!("{name}.{suffix}.npy"))).unwrap())
                .unwrap()
        };
        let input = read("input");
        let expected = read("torch");
        let spec = &imported.preset.model;
        let [c, h, w] = spec.input;
        let x = Array4::from_shape_vec((input.shape[0], c, h, w), input.to_f32()).unwrap();
        let y = forward(spec, &imported.params, &x);
        close(y.as_slice().unwrap(), &expected.to_f32(), 1e-5, 1e-4)
            .unwrap_or_else(|e| panic!("{name}: ConvLab vs PyTorch: {e}"));
        // The state dict's names survive (`conv1.weight` stays `conv1.weight`).
        for (pname, _) in &imported.params {
            assert!(pname.contains('.'), "{name}: {pname}");
        }
        // And the import exports again, and imports to the same model.
        let again = export_model(spec, &imported.params, None).unwrap();
        let twice = import_model(&again, &name).unwrap();
        assert_eq!(twice.preset.model, *spec, "{name}: re-import");
        checked += 1;
    }
    assert!(
        checked >= 2,
        "expected the torch_*.onnx fixtures, found {checked}"
    );
}

/// The sampling node exports as its evaluation form, a `Slice` of the μ half of the
/// channels (no onnxruntime fixture: onnxruntime is not installed where this was written;
/// a `Slice` on axis 1 is standard ONNX), and imports back as a sampling node, both after a
/// conv (NCHW) and after a dense layer ([N, F]).
#[test]
fn sampling_node_exports_as_a_slice_of_mu_and_imports_back() {
    for (input, nodes) in [
        (
            [2, 5, 5],
            r#"[
            {"name": "enc", "kind": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1},
            {"name": "z", "kind": "sample"},
            {"name": "dec", "kind": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1}
        ]"#,
        ),
        (
            [1, 4, 4],
            r#"[
            {"name": "enc", "kind": "dense", "out_features": 4},
            {"name": "z", "kind": "sample"},
            {"name": "dec", "kind": "dense", "out_features": 3}
        ]"#,
        ),
    ] {
        let spec = ModelSpec {
            input,
            nodes: serde_json::from_str::<Vec<NodeSpec>>(nodes).unwrap(),
        };
        let w = weights(&spec);
        let x = input_for("sample", &spec);
        let bytes = export_model(&spec, &w, None).unwrap();
        let imported = import_model(&bytes, "sample").unwrap();
        assert_eq!(imported.preset.model.nodes, spec.nodes);
        let again = export_model(&imported.preset.model, &imported.params, None).unwrap();
        assert!(again == bytes, "export → import → export differs");
        let y0 = forward(&spec, &w, &x);
        let y1 = forward(&imported.preset.model, &imported.params, &x);
        assert_eq!(y0, y1);
        // z = μ in eval: the decoder sees exactly the first half of the encoder's channels.
        let mut g = Graph::<f32>::new(&spec).unwrap();
        for (n, v) in &w {
            g.set_param(n, v.clone()).unwrap();
        }
        g.forward(&x, Mode::Eval).unwrap();
        let enc = g.output("enc").unwrap().clone();
        let z = g.output("z").unwrap();
        let k = z.shape()[1];
        assert_eq!(z, &enc.slice(ndarray::s![.., ..k, .., ..]));
    }
}

/// A time embedding exports as standard operators (Slice of t/T, Mul, Sin, Cos, Concat,
/// Gemm, Reshape, Add) and that chain imports back as a time-embedding node that computes
/// the same, for different t in one batch.
#[test]
fn time_embedding_exports_as_standard_ops_and_imports_back() {
    let spec = ModelSpec {
        input: [2, 6, 6],
        nodes: serde_json::from_str::<Vec<NodeSpec>>(
            r#"[
            {"name": "conv", "kind": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
            {"name": "time", "kind": "time_embedding", "dim": 8, "time_scale": 1000.0},
            {"name": "act", "kind": "relu"}
        ]"#,
        )
        .unwrap(),
    };
    let w = weights(&spec);
    let mut x = input_for("time", &spec);
    for (n, t) in [0.1f32, 0.85].iter().enumerate().take(x.shape()[0]) {
        x.slice_mut(ndarray::s![n, 1, .., ..]).fill(*t);
    }
    let bytes = export_model(&spec, &w, None).unwrap();
    let imported = import_model(&bytes, "time").unwrap();
    let kinds: Vec<&str> = imported
        .preset
        .model
        .nodes
        .iter()
        .map(|n| n.kind.tag())
        .collect();
    assert_eq!(kinds, ["conv2d", "time_embedding", "relu"]);
    assert_eq!(imported.preset.model.nodes[1].kind, spec.nodes[1].kind);
    let again = export_model(&imported.preset.model, &imported.params, None).unwrap();
    assert!(again == bytes, "export → import → export differs");
    let y0 = forward(&spec, &w, &x);
    let y1 = forward(&imported.preset.model, &imported.params, &x);
    assert_eq!(y0, y1);
}
