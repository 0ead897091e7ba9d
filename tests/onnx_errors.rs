//! Bad input to ONNX export and import: clear errors, no panics, nothing half-written.

use std::path::PathBuf;
use std::process::Command;

use convlab::checkpoint::Checkpoint;
use convlab::engine::{Graph, ModelSpec, NodeKind, NodeSpec, initialize};
use convlab::onnx::proto::{self, AttrValue, Attribute, Dim, Node, TensorProto, ValueInfo};
use convlab::onnx::{OnnxError, export_model, import_model};
use convlab::spec::Preset;
use ndarray::ArrayD;

fn small() -> (ModelSpec, Vec<(String, ArrayD<f32>)>) {
    let spec = ModelSpec {
        input: [2, 5, 5],
        nodes: vec![
            NodeSpec::new("conv", NodeKind::conv(3, 3, 1)),
            NodeSpec::new("act", NodeKind::Relu),
            NodeSpec::new("pool", NodeKind::max_pool(2)),
            NodeSpec::new("fc", NodeKind::dense(4)),
        ],
    };
    let mut g = Graph::<f32>::new(&spec).unwrap();
    initialize(&mut g, Default::default(), 1);
    let params = g
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    (spec, params)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convlab-onnx-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn convlab(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_convlab"))
        .args(args)
        .output()
        .expect("run convlab");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_truncation_is_an_error() {
    let (spec, params) = small();
    let bytes = export_model(&spec, &params, None).unwrap();
    for n in 0..bytes.len() {
        let e = import_model(&bytes[..n], "cut").expect_err("a truncated file must not import");
        assert!(matches!(e, OnnxError::Invalid(_)), "{n}: {e}");
    }
    assert!(import_model(&bytes, "whole").is_ok());
    let e = import_model(b"PK\x03\x04 definitely a zip", "zip").unwrap_err();
    assert!(e.to_string().contains("not an ONNX model"), "{e}");
}

/// A one-node model around `node`, with input `x` [N, 2, 4, 4] and output `y`.
fn model_with(node: Node, initializers: Vec<TensorProto>) -> Vec<u8> {
    let info = |name: &str| ValueInfo {
        name: name.into(),
        elem_type: 1,
        shape: Some(vec![
            Dim::Param("N".into()),
            Dim::Value(2),
            Dim::Value(4),
            Dim::Value(4),
        ]),
    };
    proto::encode(&proto::Model {
        ir_version: 8,
        producer_name: "test".into(),
        graph: proto::Graph {
            name: "g".into(),
            nodes: vec![node],
            initializers,
            inputs: vec![info("x")],
            outputs: vec![info("y")],
        },
        opset_import: vec![(String::new(), 17)],
        ..Default::default()
    })
}

fn node(op: &str, inputs: &[&str], attributes: Vec<Attribute>) -> Node {
    Node {
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        outputs: vec!["y".into()],
        name: "the_node".into(),
        op_type: op.into(),
        domain: String::new(),
        attributes,
    }
}

#[test]
fn unsupported_operators_are_named() {
    for (op, inputs, attrs, inits, expect) in [
        ("Erf", vec!["x"], vec![], vec![], "no node kind for 'Erf'"),
        (
            "Softmax",
            vec!["x"],
            vec![Attribute {
                name: "axis".into(),
                value: AttrValue::Int(3),
            }],
            vec![],
            "softmax over axis 3",
        ),
        (
            "Add",
            vec!["x", "c"],
            vec![],
            vec![TensorProto::float("c", &[1], &[1.0])],
            "constant",
        ),
        (
            "Resize",
            vec!["x", "", "s"],
            vec![Attribute {
                name: "mode".into(),
                value: AttrValue::String(b"cubic".to_vec()),
            }],
            vec![TensorProto::float("s", &[4], &[1.0, 1.0, 2.0, 2.0])],
            "mode cubic",
        ),
        (
            "AveragePool",
            vec!["x"],
            vec![
                Attribute {
                    name: "kernel_shape".into(),
                    value: AttrValue::Ints(vec![3, 3]),
                },
                Attribute {
                    name: "pads".into(),
                    value: AttrValue::Ints(vec![1, 1, 1, 1]),
                },
            ],
            vec![],
            "count_include_pad",
        ),
    ] {
        let bytes = model_with(node(op, &inputs, attrs), inits);
        let e = import_model(&bytes, "m").unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, OnnxError::Unsupported { .. })
                && msg.contains(op)
                && msg.contains("the_node")
                && msg.contains(expect),
            "{op}: {msg}"
        );
    }
}

#[test]
fn weights_that_do_not_match_the_model_are_refused() {
    let (spec, mut params) = small();
    params[0].1 = ArrayD::zeros(vec![3, 2, 5, 5]);
    let e = export_model(&spec, &params, None).unwrap_err().to_string();
    assert!(e.contains("conv.weight") && e.contains("shape"), "{e}");
    let (spec, mut params) = small();
    params.pop();
    let e = export_model(&spec, &params, None).unwrap_err().to_string();
    assert!(e.contains("fc.bias") && e.contains("missing"), "{e}");
    let (spec, mut params) = small();
    params.push(("ghost.weight".into(), ArrayD::zeros(vec![1])));
    let e = export_model(&spec, &params, None).unwrap_err().to_string();
    assert!(e.contains("ghost.weight"), "{e}");
}

#[test]
fn the_cli_writes_nothing_on_errors() {
    let dir = scratch("cli");
    let preset = format!("{}/presets/xor-mlp.toml", env!("CARGO_MANIFEST_DIR"));
    let onnx = dir.join("xor.onnx");
    let (ok, err) = convlab(&["export-onnx", &preset, onnx.to_str().unwrap()]);
    assert!(ok, "{err}");
    // A checkpoint whose tensors do not match its preset.
    let p = Preset::load(std::path::Path::new(&preset)).unwrap();
    let mut g = Graph::<f32>::new(&p.model).unwrap();
    initialize(&mut g, Default::default(), 0);
    let mut ck = Checkpoint::from_graph(&p, &g, &Default::default());
    ck.params[0].1 = ArrayD::zeros(vec![1, 1]);
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, ck.to_bytes()).unwrap();
    let out = dir.join("out.onnx");
    let (ok, err) = convlab(&["export-onnx", bad.to_str().unwrap(), out.to_str().unwrap()]);
    assert!(
        !ok && err.contains("shape") && !err.contains("panicked"),
        "{err}"
    );
    // A truncated ONNX file.
    let bytes = std::fs::read(&onnx).unwrap();
    let cut = dir.join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let ck_out = dir.join("imported.safetensors");
    let (ok, err) = convlab(&[
        "import-onnx",
        cut.to_str().unwrap(),
        ck_out.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("cut.onnx") && err.contains("truncated") && !err.contains("panicked"),
        "{err}"
    );
    // An unsupported operator.
    let erf = dir.join("erf.onnx");
    std::fs::write(&erf, model_with(node("Erf", &["x"], vec![]), vec![])).unwrap();
    let (ok, err) = convlab(&[
        "import-onnx",
        erf.to_str().unwrap(),
        ck_out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("'Erf'"), "{err}");
    // Nothing half-written: only the inputs are in the folder.
    assert_eq!(
        files_in(&dir),
        ["bad.safetensors", "cut.onnx", "erf.onnx", "xor.onnx"]
    );
    // And a good import opens as a checkpoint with the preset that was exported.
    let (ok, err) = convlab(&[
        "import-onnx",
        onnx.to_str().unwrap(),
        ck_out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let back = Checkpoint::load(&ck_out).unwrap();
    assert_eq!(back.preset, p);
    let _ = std::fs::remove_dir_all(&dir);
}
