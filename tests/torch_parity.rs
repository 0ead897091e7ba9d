//! The engine against PyTorch: every node kind, two composite graphs, every loss, both
//! optimisers and the VAE's KL term, from fixtures made by tests/fixtures/make_fixtures.py.

mod common;

use common::*;
use convlab::engine::graph::Param;
use convlab::engine::layers::{ParamRole, sample};
use convlab::engine::tensor::cast;
use convlab::engine::{Graph, LossKind, Mode, Optimizer, OptimizerKind, Target, loss};
use ndarray::{ArrayD, IxDyn};

/// float32 against float32: the fixture README measured ≤ 9e-6 for conv-heavy cases.
const ATOL: f64 = 1e-4;
const RTOL: f64 = 1e-4;

fn check_graph_case(case: &serde_json::Value) {
    let name = case["name"].as_str().expect("name");
    let spec = model_spec(case);
    let mut graph = Graph::<f32>::new(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    for (pname, value) in case["params"].as_object().expect("params") {
        graph
            .set_param(pname, cast(&array(value)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let mode = if case["mode"] == "train" {
        Mode::Train
    } else {
        Mode::Eval
    };
    let x: convlab::engine::Tensor<f32> = cast(&tensor(&case["x"]));
    let y = graph
        .forward(&x, mode)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .clone();
    assert_close(
        &format!("{name} output"),
        &cast(&y.into_dyn()),
        &array(&case["output"]),
        ATOL,
        RTOL,
    );
    let dy: convlab::engine::Tensor<f32> = cast(&tensor(&case["grad_output"]));
    graph.backward(&dy, true).expect("backward");
    let dx = graph.input_grad().expect("input grad").clone();
    assert_close(
        &format!("{name} grad_x"),
        &cast(&dx.into_dyn()),
        &array(&case["grad_x"]),
        ATOL,
        RTOL,
    );
    let grads = case["grad_params"].as_object().expect("grad_params");
    let trainable: Vec<&Param<f32>> = graph.params().iter().filter(|p| p.trainable()).collect();
    assert_eq!(
        trainable.len(),
        grads.len(),
        "{name}: number of trainable parameters"
    );
    for p in trainable {
        assert_close(
            &format!("{name} {}.grad", p.name),
            &cast(&p.grad),
            &array(&grads[&p.name]),
            ATOL,
            RTOL,
        );
    }
    if let Some(buffers) = case.get("buffers_after").and_then(|b| b.as_object()) {
        for (bname, value) in buffers {
            let p = graph
                .param(bname)
                .unwrap_or_else(|| panic!("{name}: no {bname}"));
            assert!(matches!(
                p.role,
                ParamRole::RunningMean | ParamRole::RunningVar
            ));
            assert_close(
                &format!("{name} {bname}"),
                &cast(&p.value),
                &array(value),
                ATOL,
                RTOL,
            );
        }
    }
}

#[test]
fn every_graph_fixture_matches_pytorch() {
    let cases = cases("graph");
    assert!(
        cases.len() >= 40,
        "expected the full fixture set, found {}",
        cases.len()
    );
    for case in &cases {
        check_graph_case(case);
    }
}

#[test]
fn every_loss_fixture_matches_pytorch() {
    let cases = cases("loss");
    assert!(cases.len() >= 6);
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let kind: LossKind = serde_json::from_value(case["loss"].clone()).expect("loss kind");
        let logits: convlab::engine::Tensor<f32> = cast(&tensor(&case["logits"]));
        let target = array(&case["target"]);
        let (value, grad) = if kind == LossKind::CrossEntropy {
            let labels: Vec<usize> = target.iter().map(|&v| v as usize).collect();
            loss(kind, &logits, Target::Labels(&labels))
        } else {
            let t: convlab::engine::Tensor<f32> = cast(&target.into_dimensionality().expect("4-D"));
            loss(kind, &logits, Target::Dense(&t))
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = case["value"].as_f64().expect("value");
        assert!(
            (value as f64 - expected).abs() <= 1e-5 + 1e-5 * expected.abs(),
            "{name}: loss {value} vs {expected}"
        );
        assert_close(
            &format!("{name} grad"),
            &cast(&grad.into_dyn()),
            &array(&case["grad_logits"]),
            1e-5,
            1e-4,
        );
    }
}

/// The VAE's sampling node in training, replayed with PyTorch's noise ε, and its KL term.
#[test]
fn sampling_node_and_kl_term_match_pytorch() {
    let cases = cases("sample");
    assert!(!cases.is_empty(), "no sampling fixture");
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let x: convlab::engine::Tensor<f32> = cast(&tensor(&case["x"]));
        let eps: convlab::engine::Tensor<f32> = cast(&tensor(&case["eps"]));
        let dy: convlab::engine::Tensor<f32> = cast(&tensor(&case["grad_output"]));
        let node = sample::Sample;
        let z = node.forward_with_noise(&x, &eps);
        assert_close(
            &format!("{name} z"),
            &cast(&z.into_dyn()),
            &array(&case["output"]),
            ATOL,
            RTOL,
        );
        let dx = node.backward(&x, &dy, Some(&eps));
        assert_close(
            &format!("{name} grad_x"),
            &cast(&dx.into_dyn()),
            &array(&case["grad_x"]),
            ATOL,
            RTOL,
        );
        let kl = sample::kl_divergence(&x) as f64;
        let expected = case["kl"].as_f64().expect("kl");
        assert!(
            (kl - expected).abs() <= 1e-5 + 1e-5 * expected.abs(),
            "{name}: KL {kl} vs {expected}"
        );
        let mut dkl = convlab::engine::Tensor::<f32>::zeros(x.raw_dim());
        sample::add_kl_grad(&x, 1.0, &mut dkl);
        assert_close(
            &format!("{name} grad of KL"),
            &cast(&dkl.into_dyn()),
            &array(&case["grad_kl_x"]),
            ATOL,
            RTOL,
        );
    }
}

#[test]
fn every_optimizer_fixture_matches_pytorch() {
    let cases = cases("optim");
    assert!(cases.len() >= 3);
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let f = |k: &str| case[k].as_f64().unwrap_or(0.0);
        let kind = match case["optimizer"].as_str() {
            Some("sgd") => OptimizerKind::Sgd {
                momentum: f("momentum"),
                weight_decay: f("weight_decay"),
            },
            Some("adam") => OptimizerKind::Adam {
                beta1: f("beta1"),
                beta2: f("beta2"),
                eps: f("eps"),
                weight_decay: f("weight_decay"),
            },
            other => panic!("{name}: unknown optimizer {other:?}"),
        };
        let value: ArrayD<f32> = cast(&array(&case["param"]));
        let mut params = vec![Param {
            name: "p.weight".into(),
            node: 0,
            role: ParamRole::Weight,
            grad: ArrayD::zeros(IxDyn(value.shape())),
            value,
        }];
        let mut opt = Optimizer::<f32>::new(kind, f("lr"));
        for (g, after) in case["grads"]
            .as_array()
            .expect("grads")
            .iter()
            .zip(case["after"].as_array().expect("after"))
        {
            params[0].grad = cast(&array(g));
            opt.step(&mut params);
            assert_close(
                &format!("{name} step {}", opt.steps()),
                &cast(&params[0].value),
                &array(after),
                1e-6,
                1e-5,
            );
        }
    }
}

#[test]
fn lecture_max_pool_example_matches_pytorch() {
    let lecture = read_json(&fixtures_dir().join("max_pool_lecture.json"));
    let x: convlab::engine::Tensor<f32> = cast(&tensor(&lecture["input"]));
    for case in lecture["cases"].as_array().expect("cases") {
        let (k, s) = (
            case["kernel"].as_u64().unwrap() as usize,
            case["stride"].as_u64().unwrap() as usize,
        );
        let node = convlab::engine::NodeSpec::new(
            "pool",
            convlab::engine::NodeKind::MaxPool2d(convlab::engine::layers::Pool2dConfig {
                kernel: convlab::engine::Pair::square(k),
                stride: Some(convlab::engine::Pair::square(s)),
                padding: convlab::engine::Pair::square(0),
            }),
        );
        let mut g = Graph::<f32>::new(&convlab::engine::ModelSpec {
            input: [1, 4, 4],
            nodes: vec![node],
        })
        .unwrap();
        let y = g.forward(&x, Mode::Eval).unwrap().clone();
        assert_eq!(
            cast::<f32, f64, _>(&y.into_dyn()),
            array(&case["output"]),
            "{k}x{k}/{s} output"
        );
        let winners: Vec<f64> = g
            .winners("pool")
            .unwrap()
            .iter()
            .map(|&i| i as f64)
            .collect();
        let expected: Vec<f64> = array(&case["indices"]).iter().copied().collect();
        assert_eq!(winners, expected, "{k}x{k}/{s} winners");
        let ones = convlab::engine::Tensor::<f32>::ones(g.outputs()[0].raw_dim());
        g.backward(&ones, true).unwrap();
        assert_eq!(
            cast::<f32, f64, _>(&g.input_grad().unwrap().clone().into_dyn()),
            array(&case["grad_input"])
        );
    }
}
