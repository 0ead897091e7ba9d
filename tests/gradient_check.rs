//! Finite-difference gradient checks in f64 for every node kind and loss: the analytic
//! backward of each fixture graph must match central differences of `Σ output·R`.

mod common;

use common::*;
use convlab::engine::layers::{
    BatchNorm2dConfig, Conv2dConfig, ConvTranspose2dConfig, DropoutConfig, Pool2dConfig,
    TimeEmbeddingConfig, UpsampleConfig,
};
use convlab::engine::rng::Rng;
use convlab::engine::tensor::cast;
use convlab::engine::{Graph, LossKind, Mode, ModelSpec, NodeKind, NodeSpec, Target, Tensor, loss};

const EPS: f64 = 1e-6;

fn weighted_sum(
    graph: &mut Graph<f64>,
    x: &Tensor<f64>,
    r: &Tensor<f64>,
    mode: Mode,
    seed: u64,
) -> f64 {
    graph.set_dropout_seed(seed);
    let y = graph.forward(x, mode).expect("forward");
    (y * r).sum()
}

/// Checks d(Σ y·r)/dx and d/dθ for every trainable parameter against central differences.
fn check(name: &str, graph: &mut Graph<f64>, x: &Tensor<f64>, mode: Mode) {
    let seed = 11;
    graph.set_dropout_seed(seed);
    let y = graph.forward(x, mode).expect("forward").clone();
    let mut rng = Rng::new(5);
    let r = y.mapv(|_| rng.normal());
    graph.backward(&r, true).expect("backward");
    let dx = graph.input_grad().expect("input grad").clone();
    let analytic: Vec<(String, Vec<f64>)> = graph
        .params()
        .iter()
        .filter(|p| p.trainable())
        .map(|p| (p.name.clone(), p.grad.iter().copied().collect()))
        .collect();

    let mut xp = x.clone();
    for (i, &a) in dx.iter().enumerate() {
        let orig = xp.as_slice().unwrap()[i];
        xp.as_slice_mut().unwrap()[i] = orig + EPS;
        let up = weighted_sum(graph, &xp, &r, mode, seed);
        xp.as_slice_mut().unwrap()[i] = orig - EPS;
        let down = weighted_sum(graph, &xp, &r, mode, seed);
        xp.as_slice_mut().unwrap()[i] = orig;
        let numeric = (up - down) / (2.0 * EPS);
        assert!(
            (numeric - a).abs() <= 1e-6 + 1e-5 * numeric.abs(),
            "{name}: d/dx[{i}] analytic {a} vs numeric {numeric}"
        );
    }
    for (pname, grads) in analytic {
        let idx = graph.params().iter().position(|p| p.name == pname).unwrap();
        for (i, &a) in grads.iter().enumerate() {
            let orig = graph.params()[idx].value.as_slice().unwrap()[i];
            graph.params_mut()[idx].value.as_slice_mut().unwrap()[i] = orig + EPS;
            let up = weighted_sum(graph, x, &r, mode, seed);
            graph.params_mut()[idx].value.as_slice_mut().unwrap()[i] = orig - EPS;
            let down = weighted_sum(graph, x, &r, mode, seed);
            graph.params_mut()[idx].value.as_slice_mut().unwrap()[i] = orig;
            let numeric = (up - down) / (2.0 * EPS);
            assert!(
                (numeric - a).abs() <= 1e-6 + 1e-5 * numeric.abs(),
                "{name}: d/d{pname}[{i}] analytic {a} vs numeric {numeric}"
            );
        }
    }
}

#[test]
fn every_fixture_graph_passes_finite_differences() {
    let cases = cases("graph");
    assert!(cases.len() >= 40);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let spec = model_spec(case);
        let mut graph = Graph::<f64>::new(&spec).unwrap();
        for (pname, value) in case["params"].as_object().unwrap() {
            graph.set_param(pname, array(value)).unwrap();
        }
        let mode = if case["mode"] == "train" {
            Mode::Train
        } else {
            Mode::Eval
        };
        check(name, &mut graph, &tensor(&case["x"]), mode);
    }
}

fn random_graph(spec: ModelSpec, seed: u64) -> (Graph<f64>, Tensor<f64>) {
    let mut graph = Graph::<f64>::new(&spec).unwrap();
    convlab::engine::initialize(&mut graph, convlab::engine::Init::Uniform { a: 0.5 }, seed);
    let mut rng = Rng::new(seed);
    let [c, h, w] = spec.input;
    let x = Tensor::from_shape_fn((2, c, h, w), |_| rng.uniform(-1.0, 1.0));
    (graph, x)
}

#[test]
fn dropout_in_train_mode_passes_finite_differences() {
    let spec = ModelSpec {
        input: [3, 4, 4],
        nodes: vec![
            NodeSpec::new("conv", NodeKind::conv(4, 3, 1)),
            NodeSpec::new("drop", NodeKind::Dropout(DropoutConfig { p: 0.4 })),
        ],
    };
    let (mut graph, x) = random_graph(spec, 3);
    check("dropout_train", &mut graph, &x, Mode::Train);
    let mask = graph.dropout_mask("drop").expect("mask kept");
    assert!(mask.iter().any(|&m| m == 0.0) && mask.iter().any(|&m| m > 1.0));
}

/// An encoder conv giving μ and log σ² (2 + 2 channels), the sampling node, a decoder conv.
fn vae_graph() -> (Graph<f64>, Tensor<f64>) {
    let spec = ModelSpec {
        input: [2, 3, 3],
        nodes: vec![
            NodeSpec::new("enc", NodeKind::conv(4, 3, 1)),
            NodeSpec::new("z", NodeKind::Sample),
            NodeSpec::new("dec", NodeKind::conv(2, 3, 1)),
        ],
    };
    random_graph(spec, 9)
}

#[test]
fn time_embedding_passes_finite_differences_for_maps_weights_and_t() {
    // Two input channels: an image and t/T (read at pixel (0, 0) of the last channel).
    let spec = ModelSpec {
        input: [2, 3, 3],
        nodes: vec![
            NodeSpec::new("conv", NodeKind::conv(3, 3, 1)),
            NodeSpec::new(
                "time",
                NodeKind::TimeEmbedding(TimeEmbeddingConfig {
                    dim: 6,
                    time_scale: 4.0,
                }),
            ),
            NodeSpec::new("act", NodeKind::Tanh),
        ],
    };
    let (mut graph, x) = random_graph(spec, 17);
    assert_eq!(graph.facts().nodes[1].inputs, vec!["conv", "input"]);
    check("time_embedding", &mut graph, &x, Mode::Eval);
}

#[test]
fn sampling_node_passes_finite_differences_with_a_reseeded_eps() {
    // `check` reseeds before every forward, so each difference sees the same ε.
    let (mut graph, x) = vae_graph();
    check("sample_train", &mut graph, &x, Mode::Train);
    let eps = graph.sampling_noise("z").expect("ε kept");
    assert_eq!(eps.dim(), (2, 2, 3, 3));
    assert!(eps.iter().any(|&e| e != 0.0));
    check("sample_eval", &mut graph, &x, Mode::Eval);
}

#[test]
fn kl_term_gradient_passes_finite_differences() {
    // Loss = Σ y·r + β·KL, through the sampling node into the encoder and the input.
    let (mut graph, x) = vae_graph();
    let beta = 0.7;
    let seed = 4;
    let objective = |g: &mut Graph<f64>, x: &Tensor<f64>, r: &Tensor<f64>| -> f64 {
        g.set_dropout_seed(seed);
        let y = g.forward(x, Mode::Train).expect("forward");
        (y * r).sum() + beta * g.kl_divergence()
    };
    graph.set_dropout_seed(seed);
    let y = graph.forward(&x, Mode::Train).expect("forward").clone();
    assert!(graph.kl_divergence() > 0.0);
    let mut rng = Rng::new(6);
    let r = y.mapv(|_| rng.normal());
    graph.backward_with_kl(&r, true, beta).expect("backward");
    let dx = graph.input_grad().expect("input grad").clone();
    let mut xp = x.clone();
    for (i, &a) in dx.iter().enumerate() {
        let orig = xp.as_slice().unwrap()[i];
        xp.as_slice_mut().unwrap()[i] = orig + EPS;
        let up = objective(&mut graph, &xp, &r);
        xp.as_slice_mut().unwrap()[i] = orig - EPS;
        let down = objective(&mut graph, &xp, &r);
        xp.as_slice_mut().unwrap()[i] = orig;
        let numeric = (up - down) / (2.0 * EPS);
        assert!(
            (numeric - a).abs() <= 1e-6 + 1e-5 * numeric.abs(),
            "kl: d/dx[{i}] analytic {a} vs numeric {numeric}"
        );
    }
    // The encoder's weights get the KL gradient too.
    graph.set_dropout_seed(seed);
    graph.forward(&x, Mode::Train).expect("forward");
    graph.backward_with_kl(&r, true, beta).expect("backward");
    let idx = graph
        .params()
        .iter()
        .position(|p| p.name == "enc.weight")
        .unwrap();
    let grads: Vec<f64> = graph.params()[idx].grad.iter().copied().collect();
    for (i, &a) in grads.iter().enumerate() {
        let orig = graph.params()[idx].value.as_slice().unwrap()[i];
        graph.params_mut()[idx].value.as_slice_mut().unwrap()[i] = orig + EPS;
        let up = objective(&mut graph, &x, &r);
        graph.params_mut()[idx].value.as_slice_mut().unwrap()[i] = orig - EPS;
        let down = objective(&mut graph, &x, &r);
        graph.params_mut()[idx].value.as_slice_mut().unwrap()[i] = orig;
        let numeric = (up - down) / (2.0 * EPS);
        assert!(
            (numeric - a).abs() <= 1e-6 + 1e-5 * numeric.abs(),
            "kl: d/denc.weight[{i}] analytic {a} vs numeric {numeric}"
        );
    }
}

#[test]
fn kl_weight_zero_is_exactly_the_plain_backward() {
    let (mut a, x) = vae_graph();
    let mut b = a.clone();
    for g in [&mut a, &mut b] {
        g.set_dropout_seed(2);
        g.forward(&x, Mode::Train).expect("forward");
    }
    let r = a.outputs().last().unwrap().mapv(|v| v * 0.5 - 0.1);
    a.backward(&r, true).unwrap();
    b.backward_with_kl(&r, true, 0.0).unwrap();
    assert_eq!(a.input_grad(), b.input_grad());
    for (p, q) in a.params().iter().zip(b.params()) {
        assert_eq!(p.grad, q.grad);
    }
}

#[test]
fn strided_dilated_grouped_padded_conv_and_friends_pass_finite_differences() {
    use convlab::engine::model_spec::{Padding, PaddingMode, Pair};
    let conv = |groups, mode, stride, dilation, padding| {
        NodeKind::Conv2d(Conv2dConfig {
            out_channels: 4,
            kernel: Pair::new(3, 2),
            stride: Pair::square(stride),
            padding,
            padding_mode: mode,
            dilation: Pair::square(dilation),
            groups,
            bias: true,
        })
    };
    let specs = [
        vec![NodeSpec::new(
            "c",
            conv(
                2,
                PaddingMode::Reflect,
                2,
                1,
                Padding::Explicit([2, 1, 1, 0]),
            ),
        )],
        vec![NodeSpec::new(
            "c",
            conv(4, PaddingMode::Replicate, 1, 2, Padding::Uniform(2)),
        )],
        vec![NodeSpec::new(
            "t",
            NodeKind::ConvTranspose2d(ConvTranspose2dConfig {
                out_channels: 3,
                kernel: Pair::square(3),
                stride: Pair::square(2),
                padding: Pair::square(1),
                output_padding: Pair::square(1),
                bias: true,
            }),
        )],
        vec![
            NodeSpec::new("c", NodeKind::conv(4, 3, 1)),
            NodeSpec::new(
                "bn",
                NodeKind::BatchNorm2d(BatchNorm2dConfig {
                    eps: 1e-5,
                    momentum: 0.1,
                }),
            ),
            NodeSpec::new(
                "pool",
                NodeKind::MinPool2d(Pool2dConfig {
                    kernel: Pair::square(3),
                    stride: Some(Pair::square(1)),
                    padding: Pair::square(0),
                }),
            ),
            NodeSpec::new(
                "up",
                NodeKind::Upsample(UpsampleConfig {
                    scale: 2,
                    mode: convlab::engine::model_spec::UpsampleMode::Bilinear,
                }),
            ),
            NodeSpec::new("sm", NodeKind::Softmax),
        ],
    ];
    for (i, nodes) in specs.into_iter().enumerate() {
        let (mut graph, x) = random_graph(
            ModelSpec {
                input: [4, 6, 6],
                nodes,
            },
            i as u64,
        );
        check(&format!("extra case {i}"), &mut graph, &x, Mode::Train);
    }
}

/// Local response normalisation with strong, odd and even windows, on conv outputs and on
/// dense features (`[n, f, 1, 1]`), and a window wider than the channels.
#[test]
fn local_response_norm_passes_finite_differences() {
    use convlab::engine::layers::local_response_norm::LocalResponseNormConfig;
    let lrn = |size, alpha, beta, k| {
        NodeKind::LocalResponseNorm(LocalResponseNormConfig {
            size,
            alpha,
            beta,
            k,
        })
    };
    let specs = [
        vec![
            NodeSpec::new("c", NodeKind::conv(5, 3, 1)),
            NodeSpec::new("lrn", lrn(3, 1.5, 0.75, 1.0)),
        ],
        vec![
            NodeSpec::new("c", NodeKind::conv(6, 3, 1)),
            NodeSpec::new("lrn", lrn(4, 2.0, 0.6, 0.5)),
        ],
        vec![NodeSpec::new("lrn", lrn(9, 3.0, 1.3, 2.0))],
        vec![
            NodeSpec::new("fc", NodeKind::dense(7)),
            NodeSpec::new("lrn", lrn(5, 4.0, 0.75, 1.0)),
        ],
    ];
    for (i, nodes) in specs.into_iter().enumerate() {
        let (mut graph, x) = random_graph(
            ModelSpec {
                input: [4, 4, 4],
                nodes,
            },
            20 + i as u64,
        );
        check(&format!("lrn case {i}"), &mut graph, &x, Mode::Train);
    }
}

#[test]
fn every_loss_passes_finite_differences() {
    let mut rng = Rng::new(9);
    let logits = Tensor::<f64>::from_shape_fn((2, 3, 2, 2), |_| rng.uniform(-2.0, 2.0));
    let dense = Tensor::<f64>::from_shape_fn((2, 3, 2, 2), |_| rng.next_f64());
    let binary = dense.mapv(|v| if v > 0.5 { 1.0 } else { 0.0 });
    let labels: Vec<usize> = (0..8).map(|_| rng.below(3)).collect();
    let cases: [(LossKind, Target<'_, f64>); 4] = [
        (LossKind::Mse, Target::Dense(&dense)),
        (LossKind::CrossEntropy, Target::Labels(&labels)),
        (LossKind::BceWithLogits, Target::Dense(&dense)),
        (LossKind::Dice, Target::Dense(&binary)),
    ];
    for (kind, target) in cases {
        let (_, grad) = loss(kind, &logits, target).unwrap();
        let mut xp = logits.clone();
        for i in 0..logits.len() {
            let orig = xp.as_slice().unwrap()[i];
            xp.as_slice_mut().unwrap()[i] = orig + EPS;
            let up = loss(kind, &xp, target).unwrap().0;
            xp.as_slice_mut().unwrap()[i] = orig - EPS;
            let down = loss(kind, &xp, target).unwrap().0;
            xp.as_slice_mut().unwrap()[i] = orig;
            let numeric = (up - down) / (2.0 * EPS);
            let a = grad.as_slice().unwrap()[i];
            assert!(
                (numeric - a).abs() <= 1e-8 + 1e-5 * numeric.abs(),
                "{kind:?}[{i}]: {a} vs {numeric}"
            );
        }
    }
    let _ = cast::<f64, f32, _>(&logits);
}
