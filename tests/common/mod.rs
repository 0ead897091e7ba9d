//! Helpers shared by the integration tests: reading the PyTorch fixtures; driving the
//! window ([`ui`]).
#![allow(
    dead_code,
    reason = "each test binary uses a different part of these helpers"
)]

pub mod cli;
pub mod folders;
pub mod ui;

use std::path::{Path, PathBuf};

use convlab::engine::{ModelSpec, NodeSpec, Tensor};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every fixture of `kind` ("graph", "loss", "optim"), sorted by name.
pub fn cases(kind: &str) -> Vec<Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join("torch"))
        .expect("fixtures folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| read_json(p))
        .filter(|v| v["kind"] == kind)
        .collect()
}

pub fn array(v: &Value) -> ArrayD<f64> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    let data: Vec<f64> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|d| d.as_f64().expect("number"))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).expect("shape matches data")
}

pub fn tensor(v: &Value) -> Tensor<f64> {
    array(v).into_dimensionality().expect("4-D tensor")
}

pub fn model_spec(case: &Value) -> ModelSpec {
    let input: [usize; 3] = serde_json::from_value(case["input"].clone()).expect("input shape");
    let nodes: Vec<NodeSpec> = serde_json::from_value(case["nodes"].clone()).expect("nodes");
    ModelSpec { input, nodes }
}

/// Largest violation of `|a − b| ≤ atol + rtol·|b|`, as a ratio (≤ 1 passes).
pub fn worst_ratio<'a>(
    a: impl IntoIterator<Item = &'a f64>,
    b: impl IntoIterator<Item = &'a f64>,
    atol: f64,
    rtol: f64,
) -> f64 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (atol + rtol * y.abs()))
        .fold(0.0, f64::max)
}

#[track_caller]
pub fn assert_close(what: &str, a: &ArrayD<f64>, b: &ArrayD<f64>, atol: f64, rtol: f64) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let r = worst_ratio(a.iter(), b.iter(), atol, rtol);
    assert!(
        r <= 1.0,
        "{what}: off by {r:.2}× the tolerance (atol {atol}, rtol {rtol})"
    );
}
