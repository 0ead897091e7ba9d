//! `convlab bench`: the four reference models of `../shared/perf/baseline.md` §6 (same
//! layers, shapes and losses, plain SGD lr 0.01, synthetic data) and the single-op conv
//! shapes of §5(b), timed the way `torch_baseline.py` times PyTorch: warm-up, then the
//! median of at least a few calls and a minimum time.

pub mod vs_torch;

use anyhow::Context;
use std::time::Instant;

use crate::engine::layers::{Conv2dConfig, ConvTranspose2dConfig};
use crate::engine::parallel::DataParallel;
use crate::engine::rng::Rng;
use crate::engine::{
    Graph, Init, LossKind, Mode, ModelSpec, NodeKind, NodeSpec, Optimizer, OptimizerKind, Pair,
    Target, Tensor, initialize, kernels,
};

fn conv(name: &str, out: usize, k: usize, pad: usize) -> NodeSpec {
    NodeSpec::new(name, NodeKind::conv(out, k, pad))
}
fn relu(name: &str) -> NodeSpec {
    NodeSpec::new(name, NodeKind::Relu)
}
fn pool(name: &str) -> NodeSpec {
    NodeSpec::new(name, NodeKind::max_pool(2))
}
fn convt(name: &str, out: usize) -> NodeSpec {
    NodeSpec::new(
        name,
        // The default is the ×2 upsampling: 2×2 kernel at stride 2, with bias.
        NodeKind::ConvTranspose2d(ConvTranspose2dConfig {
            out_channels: out,
            ..Default::default()
        }),
    )
}

/// The reference models by name: spec and loss.
pub fn reference_model(name: &str) -> Option<(ModelSpec, LossKind)> {
    let (input, nodes, loss) = match name {
        "lenet5" => (
            [1, 28, 28],
            vec![
                conv("conv1", 6, 5, 2),
                relu("relu1"),
                pool("pool1"),
                conv("conv2", 16, 5, 0),
                relu("relu2"),
                pool("pool2"),
                NodeSpec::new("flatten", NodeKind::Flatten),
                NodeSpec::new("fc1", NodeKind::dense(120)),
                relu("relu3"),
                NodeSpec::new("fc2", NodeKind::dense(84)),
                relu("relu4"),
                NodeSpec::new("fc3", NodeKind::dense(10)),
            ],
            LossKind::CrossEntropy,
        ),
        "vgg_small" => (
            [3, 32, 32],
            vec![
                conv("conv1", 32, 3, 1),
                relu("relu1"),
                conv("conv2", 32, 3, 1),
                relu("relu2"),
                pool("pool1"),
                conv("conv3", 64, 3, 1),
                relu("relu3"),
                conv("conv4", 64, 3, 1),
                relu("relu4"),
                pool("pool2"),
                NodeSpec::new("flatten", NodeKind::Flatten),
                NodeSpec::new("fc1", NodeKind::dense(128)),
                relu("relu5"),
                NodeSpec::new("fc2", NodeKind::dense(10)),
            ],
            LossKind::CrossEntropy,
        ),
        "conv_ae" => (
            [1, 64, 64],
            vec![
                conv("enc1", 16, 3, 1),
                relu("enc1_relu"),
                pool("pool1"),
                conv("enc2", 32, 3, 1),
                relu("enc2_relu"),
                pool("pool2"),
                conv("enc3", 64, 3, 1),
                relu("enc3_relu"),
                pool("pool3"),
                convt("dec1", 32),
                relu("dec1_relu"),
                convt("dec2", 16),
                relu("dec2_relu"),
                convt("dec3", 1),
                NodeSpec::new("out", NodeKind::Sigmoid),
            ],
            LossKind::Mse,
        ),
        "tiny_unet" => {
            let block = |p: &str, c: usize| {
                vec![
                    conv(&format!("{p}a"), c, 3, 1),
                    relu(&format!("{p}a_relu")),
                    conv(&format!("{p}b"), c, 3, 1),
                    relu(&format!("{p}b_relu")),
                ]
            };
            let mut nodes = block("enc1", 16);
            nodes.push(pool("pool1"));
            nodes.extend(block("enc2", 32));
            nodes.push(pool("pool2"));
            nodes.extend(block("bott", 64));
            nodes.push(convt("up2", 32));
            nodes.push(NodeSpec::new("cat2", NodeKind::Concat).with_inputs(&["up2", "enc2b_relu"]));
            nodes.extend(block("dec2", 32));
            nodes.push(convt("up1", 16));
            nodes.push(NodeSpec::new("cat1", NodeKind::Concat).with_inputs(&["up1", "enc1b_relu"]));
            nodes.extend(block("dec1", 16));
            nodes.push(conv("head", 1, 1, 0));
            ([1, 64, 64], nodes, LossKind::BceWithLogits)
        }
        _ => return None,
    };
    Some((ModelSpec { input, nodes }, loss))
}

pub const MODELS: [&str; 4] = ["lenet5", "vgg_small", "conv_ae", "tiny_unet"];

/// Synthetic data as in models.py: x ~ U(0,1); labels over 10 classes; the autoencoder's
/// target is x; the U-Net's a Bernoulli(0.5) mask.
struct Batch {
    x: Tensor<f32>,
    labels: Vec<usize>,
    dense: Tensor<f32>,
}

fn make_batch(spec: &ModelSpec, loss: LossKind, n: usize, rng: &mut Rng) -> Batch {
    let [c, h, w] = spec.input;
    let x = Tensor::from_shape_fn((n, c, h, w), |_| rng.next_f32());
    let labels = (0..n).map(|_| rng.below(10)).collect();
    let dense = match loss {
        LossKind::Mse => x.clone(),
        LossKind::BceWithLogits => {
            Tensor::from_shape_fn((n, 1, h, w), |_| if rng.bernoulli(0.5) { 1.0 } else { 0.0 })
        }
        _ => Tensor::zeros((0, 0, 0, 0)),
    };
    Batch { x, labels, dense }
}

/// Median seconds per call of `f` after `warm` calls, over at least `min_calls` calls and
/// `min_secs` seconds.
fn time_it(warm: usize, min_calls: usize, min_secs: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..warm {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < min_calls || start.elapsed().as_secs_f64() < min_secs {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// One row of results for a reference model.
#[derive(Clone, Debug)]
pub struct ModelRow {
    pub model: String,
    pub threads: usize,
    pub train_b64_img_s: f64,
    pub train_b1_ms: f64,
    pub infer_b64_img_s: f64,
    pub train_gflops: f64,
    pub infer_gflops: f64,
}

/// One row for a single conv op (one thread, batch as in §5(b)).
#[derive(Clone, Debug)]
pub struct OpRow {
    pub op: String,
    pub shape: String,
    pub fwd_ms: f64,
    pub fwd_gflops: f64,
    pub fb_ms: f64,
    pub fb_gflops: f64,
}

fn train_flops_per_image(spec: &ModelSpec) -> (f64, f64) {
    let facts = crate::engine::facts::infer(spec).expect("valid reference model");
    let fwd: u64 = facts.total_flops();
    // Weight grad = fwd per layer; input grad = fwd per layer except the first.
    let first = facts
        .nodes
        .iter()
        .find(|n| n.flops > 0)
        .map_or(0, |n| n.flops);
    (fwd as f64, (3 * fwd - first) as f64)
}

pub fn bench_model(name: &str, threads: usize, quick: bool) -> anyhow::Result<ModelRow> {
    let (spec, lossk) = reference_model(name).with_context(|| format!("unknown model {name}"))?;
    let (fwd_flops, train_flops) = train_flops_per_image(&spec);
    let mut graph = Graph::<f32>::new(&spec)?;
    initialize(&mut graph, Init::Default, 0);
    let mut dp = DataParallel::from_graph(graph, threads);
    let mut opt = Optimizer::<f32>::new(
        OptimizerKind::Sgd {
            momentum: 0.0,
            weight_decay: 0.0,
        },
        0.01,
    );
    let mut rng = Rng::new(0);
    let (secs, calls) = if quick { (0.3, 3) } else { (3.0, 5) };
    let (b1_secs, b1_calls) = if quick { (0.3, 5) } else { (2.0, 20) };

    let mut step = |dp: &mut DataParallel<f32>, b: &Batch| {
        let target = match lossk {
            LossKind::CrossEntropy => Target::Labels(&b.labels),
            _ => Target::Dense(&b.dense),
        };
        dp.train_step(&b.x, target, lossk).expect("bench step");
        opt.step(dp.graph_mut().params_mut());
    };
    let b64 = make_batch(&spec, lossk, 64, &mut rng);
    let t64 = time_it(3, calls, secs, || step(&mut dp, &b64));
    let b1 = make_batch(&spec, lossk, 1, &mut rng);
    let t1 = time_it(3, b1_calls, b1_secs, || step(&mut dp, &b1));
    let ti = time_it(2, calls, secs.min(1.0), || {
        dp.infer(&b64.x).expect("bench inference");
    });
    Ok(ModelRow {
        model: name.to_string(),
        threads,
        train_b64_img_s: 64.0 / t64,
        train_b1_ms: t1 * 1e3,
        infer_b64_img_s: 64.0 / ti,
        train_gflops: train_flops * 64.0 / t64 / 1e9,
        infer_gflops: fwd_flops * 64.0 / ti / 1e9,
    })
}

/// One §5(b) op: (name, n, cin, cout, size, kernel, stride, pad, transposed).
type OpShape = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    bool,
);

const OPS: [OpShape; 7] = [
    ("conv_lenet1", 64, 1, 6, 28, 5, 1, 0, false),
    ("conv_lenet2", 64, 6, 16, 14, 5, 1, 0, false),
    ("conv_3to32", 32, 3, 32, 32, 3, 1, 1, false),
    ("conv_32to64", 32, 32, 64, 16, 3, 1, 1, false),
    ("conv_64to64", 16, 64, 64, 64, 3, 1, 1, false),
    ("conv_16s2", 16, 16, 16, 64, 3, 2, 1, false),
    ("convT_32to16", 16, 32, 16, 32, 2, 2, 0, true),
];

pub fn bench_op(index: usize, quick: bool) -> anyhow::Result<OpRow> {
    let (name, n, cin, cout, size, k, stride, pad, transposed) = OPS[index];
    let kind = if transposed {
        NodeKind::ConvTranspose2d(ConvTranspose2dConfig {
            out_channels: cout,
            kernel: Pair::square(k),
            stride: Pair::square(stride),
            padding: Pair::square(0),
            output_padding: Pair::square(0),
            bias: true,
        })
    } else {
        NodeKind::Conv2d(Conv2dConfig {
            out_channels: cout,
            kernel: Pair::square(k),
            stride: Pair::square(stride),
            padding: crate::engine::model_spec::Padding::Uniform(pad),
            padding_mode: Default::default(),
            dilation: Pair::square(1),
            groups: 1,
            bias: true,
        })
    };
    let spec = ModelSpec {
        input: [cin, size, size],
        nodes: vec![NodeSpec::new("op", kind)],
    };
    let mut g = Graph::<f32>::new(&spec)?;
    initialize(&mut g, Init::Default, 0);
    let flops = g.facts().total_flops() as f64 * n as f64;
    let mut rng = Rng::new(1);
    let x = Tensor::from_shape_fn((n, cin, size, size), |_| rng.next_f32());
    let (secs, calls) = if quick { (0.2, 3) } else { (1.0, 5) };
    let tf = time_it(2, calls, secs, || {
        g.forward(&x, Mode::Eval).expect("op forward");
    });
    let out = g.outputs()[0].clone();
    let dy = out.mapv(|v| v * 0.5 + 0.1);
    let tb = time_it(2, calls, secs, || {
        g.forward(&x, Mode::Train).expect("op forward");
        g.backward(&dy, true).expect("op backward");
    });
    let o = out.shape();
    Ok(OpRow {
        op: name.to_string(),
        shape: format!(
            "N={n} {cin}->{cout} {size}x{size} k{k} s{stride} p{pad} -> {}x{}",
            o[2], o[3]
        ),
        fwd_ms: tf * 1e3,
        fwd_gflops: flops / tf / 1e9,
        fb_ms: tb * 1e3,
        fb_gflops: 3.0 * flops / tb / 1e9,
    })
}

fn json_num(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64((v * 1000.0).round() / 1000.0)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// The single-op rows' names, in table order.
pub const OPS_NAMES: [&str; OPS.len()] = {
    let mut names = [""; OPS.len()];
    let mut i = 0;
    while i < OPS.len() {
        names[i] = OPS[i].0;
        i += 1;
    }
    names
};

/// Whether `CONVLAB_BENCH_ONLY=name,…` (the rows to run, for profiling) asks for `name`.
fn wanted(name: &str) -> bool {
    std::env::var("CONVLAB_BENCH_ONLY")
        .ok()
        .is_none_or(|o| o.split(',').any(|w| w.trim() == name))
}

/// Every wanted model (on `threads`) and op (on one thread), measured.
pub fn collect(threads: usize, quick: bool) -> anyhow::Result<(Vec<ModelRow>, Vec<OpRow>)> {
    let threads = threads.max(1);
    let models = MODELS
        .iter()
        .copied()
        .filter(|n| wanted(n))
        .map(|n| bench_model(n, threads, quick))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ops = (0..OPS.len())
        .filter(|&i| wanted(OPS[i].0))
        .map(|i| bench_op(i, quick))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((models, ops))
}

/// Runs every model and op; prints a table, or one JSON object per row with `json`.
pub fn run(threads: usize, json: bool, quick: bool) -> anyhow::Result<()> {
    let threads = threads.max(1);
    if !json {
        println!(
            "convlab bench: {threads} thread(s), kernels {}, GEMM {}",
            kernels::active().name(),
            if kernels::scalar_forced() {
                "scalar"
            } else {
                "gemm crate (f32, 1 thread per GEMM)"
            }
        );
        println!(
            "{:<10} {:>7} {:>16} {:>12} {:>16} {:>14} {:>14}",
            "model",
            "threads",
            "train b64 img/s",
            "train b1 ms",
            "infer b64 img/s",
            "train GFLOP/s",
            "infer GFLOP/s"
        );
    }
    for name in MODELS.iter().copied().filter(|n| wanted(n)) {
        let r = bench_model(name, threads, quick)?;
        if json {
            let v = serde_json::json!({
                "model": r.model,
                "threads": r.threads,
                "train_b64_img_s": json_num(r.train_b64_img_s),
                "train_b1_ms": json_num(r.train_b1_ms),
                "infer_b64_img_s": json_num(r.infer_b64_img_s),
                "train_gflops": json_num(r.train_gflops),
                "infer_gflops": json_num(r.infer_gflops),
            });
            println!("{v}");
        } else {
            println!(
                "{:<10} {:>7} {:>16.0} {:>12.3} {:>16.0} {:>14.1} {:>14.1}",
                r.model,
                r.threads,
                r.train_b64_img_s,
                r.train_b1_ms,
                r.infer_b64_img_s,
                r.train_gflops,
                r.infer_gflops
            );
        }
    }
    if !json {
        println!();
        println!(
            "{:<13} {:<42} {:>9} {:>9} {:>9} {:>9}",
            "op (1 thread)", "shape", "fwd ms", "fwd GF/s", "f+b ms", "f+b GF/s"
        );
    }
    for (i, op) in OPS.iter().enumerate() {
        if !wanted(op.0) {
            continue;
        }
        let r = bench_op(i, quick)?;
        if json {
            let v = serde_json::json!({
                "model": r.op,
                "threads": 1,
                "train_b64_img_s": null,
                "train_b1_ms": null,
                "infer_b64_img_s": null,
                "shape": r.shape,
                "fwd_ms": json_num(r.fwd_ms),
                "fwd_gflops": json_num(r.fwd_gflops),
                "fwd_bwd_ms": json_num(r.fb_ms),
                "fwd_bwd_gflops": json_num(r.fb_gflops),
            });
            println!("{v}");
        } else {
            println!(
                "{:<13} {:<42} {:>9.3} {:>9.1} {:>9.3} {:>9.1}",
                r.op, r.shape, r.fwd_ms, r.fwd_gflops, r.fb_ms, r.fb_gflops
            );
        }
    }
    Ok(())
}
