//! The inspection maths (`convlab::inspect`) and its pictures (`convlab::viz`): pooling
//! routing against the lecture's fixture and the engine's backward, classical filters,
//! gradient norms, receptive fields, translation covariance, saliency, and pixel checks
//! of the rendered images.
//!
//! With `CONVLAB_INSPECT_PNG=<folder>` set, `render_every_view` also writes its PNGs there
//! for looking at.

mod common;

use common::{fixtures_dir, read_json};
use convlab::engine::layers::pool2d::PoolKind;
use convlab::engine::layers::{Conv2dConfig, Pool2dConfig};
use convlab::engine::loss::{LossKind, Target};
use convlab::engine::model_spec::{Padding, PaddingMode, PaddingName};
use convlab::engine::{Graph, Init, Mode, ModelSpec, NodeKind, NodeSpec, Pair, Tensor, initialize};
use convlab::inspect::covariance::{Comparison, ShiftMode, covariance, shift_tensor};
use convlab::inspect::filters::{apply_filter, classical_filters, filter_bank};
use convlab::inspect::probe::probe;
use convlab::inspect::receptive::receptive_field;
use convlab::inspect::routing::{LectureCase, lecture_routing, pool_routing, route};
use convlab::inspect::saliency::{default_cam_node, grad_cam, saliency};
use convlab::inspect::{InspectError, rf_by_depth};
use convlab::spec::view::{ViewId, ViewSource};
use convlab::viz::draw::pixel;
use convlab::viz::maps::{GridOptions, Norm, feature_grid};
use convlab::viz::overlay::heatmap_overlay;
use convlab::viz::routing::{PanelKind, RoutingOptions, routing_image};
use convlab::viz::scale::{Palette, ValueScale};
use convlab::viz::views::{ViewInput, ViewRequest, ViewTarget, render_view};
use convlab::viz::{Colormap, Rgba};
use ndarray::{Array2, Array4};

fn conv(
    name: &str,
    out: usize,
    k: usize,
    stride: usize,
    pad: Padding,
    dilation: usize,
) -> NodeSpec {
    NodeSpec::new(
        name,
        NodeKind::Conv2d(Conv2dConfig {
            out_channels: out,
            kernel: Pair::square(k),
            stride: Pair::square(stride),
            padding: pad,
            padding_mode: PaddingMode::Zeros,
            dilation: Pair::square(dilation),
            groups: 1,
            bias: true,
        }),
    )
}

fn pool(name: &str, kind: &str, k: usize, s: usize, p: usize) -> NodeSpec {
    let (kernel, stride, padding) = (Pair::square(k), Some(Pair::square(s)), Pair::square(p));
    let kind = match kind {
        "max" => NodeKind::MaxPool2d(Pool2dConfig {
            kernel,
            stride,
            padding,
        }),
        _ => NodeKind::AvgPool2d(Pool2dConfig {
            kernel,
            stride,
            padding,
        }),
    };
    NodeSpec::new(name, kind)
}

fn same() -> Padding {
    Padding::Named(PaddingName::Same)
}

fn graph(input: [usize; 3], nodes: Vec<NodeSpec>, seed: u64) -> Graph<f32> {
    let mut g = Graph::new(&ModelSpec { input, nodes }).expect("valid model");
    initialize(&mut g, Init::Default, seed);
    g
}

/// A deterministic pseudo-random image in [0, 1].
fn image(c: usize, h: usize, w: usize, seed: u64) -> Tensor<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array4::from_shape_fn((1, c, h, w), |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as f64 / (1u64 << 31) as f64) as f32
    })
}

/// A small classifier with every kind of node the views care about.
fn classifier() -> Graph<f32> {
    graph(
        [1, 16, 16],
        vec![
            conv("conv1", 4, 3, 1, same(), 1),
            NodeSpec::new("relu1", NodeKind::Relu),
            pool("pool1", "max", 2, 2, 0),
            conv("conv2", 6, 3, 1, same(), 1),
            NodeSpec::new("relu2", NodeKind::Relu),
            pool("pool2", "max", 2, 2, 0),
            NodeSpec::new("flatten", NodeKind::Flatten),
            NodeSpec::new("fc", NodeKind::dense(3)),
        ],
        7,
    )
}

fn plane_of(v: &serde_json::Value, h: usize, w: usize) -> Array2<f32> {
    let data: Vec<f32> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    Array2::from_shape_vec((h, w), data).unwrap()
}

#[test]
fn lecture_routing_matches_the_fixture() {
    let fixture = read_json(&fixtures_dir().join("max_pool_lecture.json"));
    for (case, expected) in LectureCase::ALL
        .iter()
        .zip(fixture["cases"].as_array().unwrap())
    {
        let (k, s) = case.geometry();
        assert_eq!(expected["kernel"].as_u64().unwrap() as usize, k);
        assert_eq!(expected["stride"].as_u64().unwrap() as usize, s);
        let r = lecture_routing(*case);
        let (oh, ow) = r.output.dim();
        assert_eq!(
            r.output,
            plane_of(&expected["output"], oh, ow),
            "{k}x{k}/{s} output"
        );
        assert_eq!(
            r.scattered,
            plane_of(&expected["grad_input"], 4, 4),
            "{k}x{k}/{s} gradient"
        );
        let winners: Vec<usize> = r
            .windows
            .iter()
            .map(|w| {
                let (i, j) = w.winner.unwrap();
                i * 4 + j
            })
            .collect();
        let expected_idx: Vec<usize> = expected["indices"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(winners, expected_idx);
        // Non-zero only at winners; each winner gets the sum of its windows' gradients.
        for ((i, j), &g) in r.scattered.indexed_iter() {
            let won: Vec<_> = r
                .windows
                .iter()
                .filter(|w| w.winner == Some((i, j)))
                .collect();
            let sum: f32 = won.iter().map(|w| w.upstream).sum();
            assert_eq!(g, sum, "cell ({i},{j})");
            if won.is_empty() {
                assert_eq!(g, 0.0);
            }
        }
        // The step-by-step mode ends where the backward ends and starts at zero.
        assert_eq!(r.scattered_after(0), Array2::<f32>::zeros((4, 4)));
        assert_eq!(r.scattered_after(r.windows.len()), r.scattered);
    }
    // Overlapping 2×2/1 windows: the 9 wins four windows, the 8 two.
    let r = lecture_routing(LectureCase::K2S1);
    assert_eq!(r.scattered[[2, 2]], 4.0);
    assert_eq!(r.scattered[[0, 2]], 2.0);
    assert_eq!(r.windows_containing(2, 2).len(), 4);
    assert_eq!(r.window_at(1, 1).unwrap().winner, Some((2, 2)));
    assert!((r.receiving_share() - 4.0 / 16.0).abs() < 1e-12);
}

#[test]
fn average_pooling_spreads_evenly() {
    let r = lecture_routing(LectureCase::K2S2);
    let a = r
        .average
        .as_ref()
        .expect("max pooling comes with its average comparison");
    assert_eq!(a.kind, PoolKind::Avg);
    assert!(a.scattered.iter().all(|&g| g == 0.25));
    assert_eq!(
        a.output,
        Array2::from_shape_vec((2, 2), vec![2.5, 3.0, 2.0, 3.0]).unwrap()
    );
    assert_eq!(a.receiving_share(), 1.0);
    // 3×3/1: corners are in one window, the centre cells in all four.
    let a = lecture_routing(LectureCase::K3S1).average.unwrap();
    assert!((a.scattered[[0, 0]] - 1.0 / 9.0).abs() < 1e-6);
    assert!((a.scattered[[1, 1]] - 4.0 / 9.0).abs() < 1e-6);
    assert!((a.scattered[[0, 1]] - 2.0 / 9.0).abs() < 1e-6);
    assert!(
        (a.scattered.sum() - 4.0).abs() < 1e-5,
        "all of the upstream gradient arrives"
    );
}

#[test]
fn routed_gradient_equals_the_engine_backward() {
    // Overlapping, padded max pooling after a conv; the conv's output gradient is exactly
    // what the pooling node scatters.
    for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)] {
        let mut g = graph(
            [2, 9, 9],
            vec![
                conv("conv", 3, 3, 1, same(), 1),
                pool("pool", "max", k, s, p),
                NodeSpec::new("flatten", NodeKind::Flatten),
                NodeSpec::new("fc", NodeKind::dense(4)),
            ],
            11 + k as u64,
        );
        for seed in 0..3 {
            let x = image(2, 9, 9, seed);
            probe(&mut g, &x, Target::Labels(&[1]), LossKind::CrossEntropy).unwrap();
            let dconv = g.node_grad("conv").unwrap().clone();
            for ch in 0..3 {
                let r = pool_routing(&g, "pool", ch).unwrap();
                assert!(!r.upstream_is_ones);
                let engine = dconv.slice(ndarray::s![0, ch, .., ..]);
                for ((i, j), &v) in r.scattered.indexed_iter() {
                    assert!(
                        (v - engine[[i, j]]).abs() <= 1e-6 * (1.0 + v.abs()),
                        "{k}/{s}/{p} ch {ch} ({i},{j})"
                    );
                }
                // Winners agree with the engine's own record.
                let win = g.winners("pool").unwrap();
                for w in &r.windows {
                    let flat = win[[0, ch, w.out.0, w.out.1]] as usize;
                    assert_eq!(w.winner, Some((flat / 9, flat % 9)));
                }
            }
        }
    }
}

#[test]
fn routing_rejects_bad_requests() {
    let mut g = classifier();
    let x = image(1, 16, 16, 1);
    g.forward(&x, Mode::Eval).unwrap();
    assert!(matches!(
        pool_routing(&g, "conv1", 0),
        Err(InspectError::WrongKind { .. })
    ));
    assert!(matches!(
        pool_routing(&g, "nope", 0),
        Err(InspectError::NoNode(_))
    ));
    assert!(pool_routing(&g, "pool1", 99).is_err());
    // Without a backward the upstream gradient is all ones, and says so.
    let r = pool_routing(&g, "pool1", 0).unwrap();
    assert!(r.upstream_is_ones && r.upstream.iter().all(|&v| v == 1.0));
    let tiny = Array2::<f32>::zeros((2, 2));
    assert!(
        route(
            PoolKind::Max,
            Pair::square(3),
            Pair::square(1),
            Pair::square(0),
            &tiny,
            None
        )
        .is_err()
    );
    assert!(
        route(
            PoolKind::Max,
            Pair::square(2),
            Pair::square(0),
            Pair::square(0),
            &tiny,
            None
        )
        .is_err()
    );
}

#[test]
fn sobel_sees_a_vertical_edge_in_x_not_y() {
    // Dark left half, bright right half.
    let img = Array2::from_shape_fn((8, 8), |(_, j)| if j < 4 { 0.0 } else { 1.0 });
    let filters = classical_filters();
    let get = |n: &str| &filters.iter().find(|f| f.name == n).unwrap().kernel;
    let gx = apply_filter(&img, get("sobel_x")).unwrap();
    let gy = apply_filter(&img, get("sobel_y")).unwrap();
    assert!(
        gy.iter().all(|&v| v.abs() < 1e-6),
        "no horizontal edge anywhere"
    );
    for i in 0..8 {
        assert_eq!(gx[[i, 3]], 4.0);
        assert_eq!(gx[[i, 4]], 4.0);
        assert_eq!(gx[[i, 0]], 0.0);
        assert_eq!(gx[[i, 7]], 0.0);
    }
    // Scharr: the same direction, weights 3-10-3.
    let sx = apply_filter(&img, get("scharr_x")).unwrap();
    assert_eq!(sx[[4, 4]], 16.0);
    // A constant image: the blur keeps it, the Laplacian sees nothing.
    let flat = Array2::from_elem((6, 7), 0.5f32);
    assert!(
        apply_filter(&flat, get("gaussian"))
            .unwrap()
            .iter()
            .all(|v| (v - 0.5).abs() < 1e-6)
    );
    assert!(
        apply_filter(&flat, get("laplacian"))
            .unwrap()
            .iter()
            .all(|v| v.abs() < 1e-6)
    );
    // The bank runs on colour images too and adds the edge magnitude.
    let bank = filter_bank(&image(3, 5, 6, 2)).unwrap();
    assert_eq!(bank.len(), filters.len() + 1);
    assert!(bank.iter().all(|r| r.response.dim() == (5, 6)));
    assert!(apply_filter(&Array2::zeros((0, 3)), get("sobel_x")).is_err());
}

#[test]
fn probe_collects_activations_gradients_and_norms() {
    let mut g = classifier();
    let x = image(1, 16, 16, 3);
    let p = probe(&mut g, &x, Target::Labels(&[2]), LossKind::CrossEntropy).unwrap();
    assert!(p.loss.is_finite() && p.loss > 0.0);
    assert_eq!(p.nodes.len(), 8);
    assert_eq!(p.input_grad.dim(), (1, 1, 16, 16));
    // Every parameterised node has a finite weight-gradient norm, in graph order.
    let norms = p.weight_grad_norms();
    let names: Vec<&str> = norms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "fc"]);
    assert!(norms.iter().all(|(_, v)| v.is_finite()));
    assert!(norms.last().unwrap().1 > 0.0);
    assert_eq!(p.node_grad_norms().len(), 3);
    for n in &p.nodes {
        assert_eq!(n.histogram.total() as usize, n.stats.count);
        assert!(
            n.stats.min <= n.stats.mean as f32 + 1e-6 && n.stats.mean as f32 <= n.stats.max + 1e-6
        );
        assert!(n.grad.is_some(), "{} has a gradient", n.name);
        assert_eq!(n.stats.dead_share.is_some(), n.kind == "relu");
        if let Some(d) = n.stats.dead_share {
            assert!((0.0..=1.0).contains(&d));
            let zeros = n.activation.iter().filter(|v| **v == 0.0).count();
            assert!((d - zeros as f64 / n.stats.count as f64).abs() < 1e-12);
        }
    }
    // Bad input is an error, not a panic.
    assert!(
        probe(
            &mut g,
            &image(1, 15, 16, 0),
            Target::Labels(&[0]),
            LossKind::CrossEntropy
        )
        .is_err()
    );
    let two = ndarray::concatenate(ndarray::Axis(0), &[x.view(), x.view()]).unwrap();
    assert!(
        probe(
            &mut g,
            &two,
            Target::Labels(&[0, 0]),
            LossKind::CrossEntropy
        )
        .is_err()
    );
    let mut nan = x.clone();
    nan[[0, 0, 1, 1]] = f32::NAN;
    assert!(probe(&mut g, &nan, Target::Labels(&[0]), LossKind::CrossEntropy).is_err());
    assert!(probe(&mut g, &x, Target::Labels(&[0, 1]), LossKind::CrossEntropy).is_err());
}

#[test]
fn receptive_fields_match_hand_computed_values() {
    // 3×3 conv, then 3×3 stride 2, then 3×3 dilation 2: field 3 → 5 → 13, jump 1 → 2 → 2.
    let mut g = graph(
        [1, 32, 32],
        vec![
            conv("a", 2, 3, 1, Padding::Uniform(0), 1),
            conv("b", 2, 3, 2, Padding::Uniform(0), 1),
            conv("c", 2, 3, 1, Padding::Uniform(0), 2),
        ],
        5,
    );
    // All-positive weights and no ReLU: every pixel in the field has a non-zero gradient.
    for p in g.params_mut() {
        p.value.mapv_inplace(|v| v.abs() + 0.01);
    }
    let growth = rf_by_depth(&g);
    let sizes: Vec<f64> = growth.iter().map(|r| r.size[0]).collect();
    assert_eq!(sizes, [3.0, 5.0, 13.0]);
    assert_eq!(growth[2].jump, [2.0, 2.0]);
    let x = image(1, 32, 32, 9);
    let rf = receptive_field(&g, &x, "c", (1, 1, 2)).unwrap();
    // Centre (6 + 2·1, 6 + 2·2) = (8, 10), 13 pixels wide.
    assert_eq!((rf.theoretical.top, rf.theoretical.left), (2.0, 4.0));
    assert_eq!((rf.theoretical.height, rf.theoretical.width), (13.0, 13.0));
    assert_eq!(rf.effective_bounds, Some(((2, 15), (4, 17))));
    assert_eq!(rf.theoretical.clipped(32, 32), Some(((2, 15), (4, 17))));
    // With padding the field reaches outside and is clipped; the gradient stays inside.
    let mut g2 = classifier();
    let rf = receptive_field(
        &g2,
        &x.slice(ndarray::s![.., .., ..16, ..16]).to_owned(),
        "conv2",
        (0, 0, 0),
    )
    .unwrap();
    assert!(rf.theoretical.top < 0.0);
    for ((i, j), &v) in rf.effective.indexed_iter() {
        if v != 0.0 {
            assert!(
                rf.theoretical.contains(i, j),
                "gradient at ({i},{j}) outside the field"
            );
        }
    }
    assert!(receptive_field(&g2, &image(1, 16, 16, 0), "conv2", (9, 0, 0)).is_err());
    // The caller's graph keeps its own state.
    g2.forward(&image(1, 16, 16, 1), Mode::Eval).unwrap();
}

#[test]
fn convolution_is_covariant_until_stride_breaks_it() {
    // Stride-1 convs with zero padding: exact in the interior for any circular shift.
    let mut g = graph(
        [2, 24, 24],
        vec![
            conv("c1", 4, 3, 1, same(), 1),
            NodeSpec::new("r1", NodeKind::Relu),
            conv("c2", 4, 5, 1, same(), 1),
            NodeSpec::new("r2", NodeKind::Tanh),
            conv("c3", 3, 3, 1, same(), 2),
        ],
        3,
    );
    let x = image(2, 24, 24, 4);
    let cov = covariance(&mut g, &x, (3, -2), ShiftMode::Circular).unwrap();
    for n in &cov.nodes {
        assert!(n.whole_cells && n.comparison == Comparison::Covariance);
        assert!(
            !n.region.0.is_empty() && !n.region.1.is_empty(),
            "{}",
            n.node
        );
        assert!(n.error.unwrap() < 1e-5, "{}: {:?}", n.node, n.error);
    }
    // The whole map (borders included) is not covariant with zero padding.
    let c3 = &cov.nodes[4];
    let full: f32 = (&c3.of_shifted - &c3.shifted_of)
        .iter()
        .map(|v| v.abs())
        .sum();
    assert!(full > 1e-3);

    // Stride-2 max pooling: a 1-pixel shift is half a cell and breaks covariance; a
    // 2-pixel shift is one cell and keeps it.
    let mut g = graph(
        [1, 24, 24],
        vec![
            conv("c1", 3, 3, 1, same(), 1),
            pool("pool", "max", 2, 2, 0),
            conv("c2", 3, 3, 1, same(), 1),
            NodeSpec::new("gap", NodeKind::GlobalAvgPool),
        ],
        8,
    );
    let x = image(1, 24, 24, 6);
    let one = covariance(&mut g, &x, (1, 1), ShiftMode::Circular).unwrap();
    assert!(one.nodes[0].error.unwrap() < 1e-5);
    assert!(!one.nodes[1].whole_cells);
    assert!(
        one.nodes[1].error.unwrap() > 1e-3,
        "{:?}",
        one.nodes[1].error
    );
    assert_eq!(one.nodes[3].comparison, Comparison::Invariance);
    let two = covariance(&mut g, &x, (2, -2), ShiftMode::Circular).unwrap();
    for n in &two.nodes[..3] {
        assert!(
            n.whole_cells && n.error.unwrap() < 1e-5,
            "{}: {:?}",
            n.node,
            n.error
        );
    }
    assert_eq!(two.errors().len(), 4);
    // Shifting in zeros keeps the interior comparison exact as well.
    let z = covariance(&mut g, &x, (2, 2), ShiftMode::Zeros).unwrap();
    assert!(z.nodes[2].error.unwrap() < 1e-5);
    assert!(covariance(&mut g, &x, (24, 0), ShiftMode::Circular).is_err());
    // The shift itself.
    let s = shift_tensor(&x, 1, -1, ShiftMode::Circular);
    assert_eq!(s[[0, 0, 1, 0]], x[[0, 0, 0, 1]]);
    assert_eq!(s[[0, 0, 0, 23]], x[[0, 0, 23, 0]]);
}

#[test]
fn saliency_and_grad_cam() {
    let mut g = classifier();
    let x = image(1, 16, 16, 12);
    let s = saliency(&mut g, &x, 1).unwrap();
    assert_eq!(s.map.dim(), (16, 16));
    assert!(s.map.iter().all(|v| *v >= 0.0) && s.map.iter().any(|v| *v > 0.0));
    let node = default_cam_node(&g).unwrap();
    assert_eq!(node, "pool2");
    let cam = grad_cam(&mut g, &x, 1, "relu2").unwrap();
    assert_eq!(cam.cam.dim(), (8, 8));
    assert_eq!(cam.upsampled.dim(), (16, 16));
    assert_eq!(cam.weights.len(), 6);
    assert!(cam.cam.iter().all(|v| *v >= 0.0));
    assert!((cam.score - s.score).abs() < 1e-5);
    assert!(saliency(&mut g, &x, 3).is_err());
    assert!(grad_cam(&mut g, &x, 0, "nope").is_err());
}

fn rgb(img: &Rgba, x: usize, y: usize) -> [u8; 3] {
    let p = pixel(img, x, y).unwrap();
    [p[0], p[1], p[2]]
}

#[test]
fn rendered_maps_use_the_colour_map_ends_and_carry_a_legend() {
    let mut t = Array4::<f32>::zeros((1, 2, 4, 4));
    t[[0, 0, 0, 1]] = 5.0;
    t[[0, 0, 0, 0]] = -1.0;
    t[[0, 1, 2, 2]] = 0.5;
    let opts = GridOptions {
        zoom: 10,
        labels: false,
        legend: false,
        palette: Some(Palette::Sequential(Colormap::Viridis)),
        ..GridOptions::default()
    };
    let grid = feature_grid(&t, &opts);
    let c0 = grid.layout.cells[0];
    assert_eq!(
        rgb(&grid.image, c0.x + 5, c0.y + 5),
        Colormap::Viridis.rgb(0.0),
        "min is the first colour"
    );
    assert_eq!(
        rgb(&grid.image, c0.x + 15, c0.y + 5),
        Colormap::Viridis.rgb(1.0),
        "max is the last colour"
    );
    assert_eq!(grid.layout.locate(c0.x + 15, c0.y + 25), Some((0, 2, 1)));
    // Per channel: channel 1's max is also the brightest colour; shared: it is not.
    let c1 = grid.layout.cells[1];
    assert_eq!(
        rgb(&grid.image, c1.x + 25, c1.y + 25),
        Colormap::Viridis.rgb(1.0)
    );
    let shared = feature_grid(
        &t,
        &GridOptions {
            norm: Norm::Shared,
            ..opts
        },
    );
    let c1 = shared.layout.cells[1];
    assert_ne!(
        rgb(&shared.image, c1.x + 25, c1.y + 25),
        Colormap::Viridis.rgb(1.0)
    );
    // With the legend the picture grows, and the legend shows both ends of the map.
    let with = feature_grid(
        &t,
        &GridOptions {
            legend: true,
            ..opts
        },
    );
    assert!(with.image.height > grid.image.height + 20);
    let below: Vec<[u8; 3]> = (grid.image.height..with.image.height)
        .flat_map(|y| (0..with.image.width).map(move |x| (x, y)))
        .map(|(x, y)| rgb(&with.image, x, y))
        .collect();
    assert!(
        below.contains(&Colormap::Viridis.rgb(0.0)) && below.contains(&Colormap::Viridis.rgb(1.0))
    );
    // Diverging: zero is white-ish, the ends are blue and red.
    let d = ValueScale::new(Palette::Diverging, -2.0, 1.0);
    assert_eq!(d.rgb(0.0), [247, 247, 247]);
    let (neg, pos) = (d.rgb(-2.0), d.rgb(2.0));
    assert!(neg[2] > neg[0] && pos[0] > pos[2]);
}

#[test]
fn overlay_alpha_follows_the_value() {
    let base = Rgba::new(4, 4, [0, 0, 0, 255]);
    let heat = Array2::from_shape_fn((2, 2), |(i, j)| (i * 2 + j) as f32);
    let scale = ValueScale::fit(heat.iter(), Palette::Sequential(Colormap::Viridis));
    assert_eq!(heatmap_overlay(&base, &heat, &scale, 0.0), base);
    let full = heatmap_overlay(&base, &heat, &scale, 1.0);
    assert_eq!(
        rgb(&full, 3, 3),
        Colormap::Viridis.rgb(1.0),
        "max at full opacity is the map colour"
    );
    assert_eq!(rgb(&full, 0, 0), [0, 0, 0], "min stays the image");
    let half = heatmap_overlay(&base, &heat, &scale, 0.5);
    let top = Colormap::Viridis.rgb(1.0);
    let p = rgb(&half, 3, 3);
    for k in 0..3 {
        assert!((p[k] as i32 - (top[k] as i32 / 2)).abs() <= 1);
    }
}

#[test]
fn routing_diagram_marks_winners_and_the_selected_window() {
    let r = lecture_routing(LectureCase::K2S2);
    let img = routing_image(
        &r,
        &RoutingOptions {
            selected: Some((1, 1)),
            average: true,
            ..RoutingOptions::default()
        },
    );
    let kinds: Vec<PanelKind> = img.panels.iter().map(|p| p.kind).collect();
    assert_eq!(kinds.len(), 6);
    let input = img
        .panels
        .iter()
        .find(|p| p.kind == PanelKind::Input)
        .unwrap();
    assert_eq!((input.rows, input.cols), (4, 4));
    assert_eq!(
        img.locate(input.x + input.cell * 2 + 1, input.y + 1),
        Some((PanelKind::Input, 0, 2))
    );
    let pixels: Vec<[u8; 4]> = img
        .image
        .pixels
        .chunks(4)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect();
    assert!(
        pixels.contains(&convlab::viz::draw::WINNER),
        "winner rings drawn"
    );
    assert!(
        pixels.contains(&convlab::viz::draw::HIGHLIGHT),
        "selected window outlined"
    );
    // Scattered gradient: a non-winner cell is white (zero on the diverging map), a winner is red.
    let sc = img
        .panels
        .iter()
        .find(|p| p.kind == PanelKind::Scattered)
        .unwrap();
    let at = |i: usize, j: usize| rgb(&img.image, sc.x + j * sc.cell + 3, sc.y + i * sc.cell + 3);
    assert_eq!(at(0, 0), [247, 247, 247]);
    assert_eq!(
        at(1, 0),
        [103, 0, 31],
        "the largest gradient is the dark-red end"
    );
}

#[test]
fn render_every_view() {
    let out = std::env::var_os("CONVLAB_INSPECT_PNG").map(std::path::PathBuf::from);
    let mut g = classifier();
    let x = image(1, 16, 16, 21);
    let req = ViewRequest::default();
    // The views of one input; the others look at the data set or draw no model.
    let one_input = || {
        ViewId::ALL
            .into_iter()
            .filter(|v| v.source() == ViewSource::Input)
    };
    for view in one_input() {
        for target in [ViewTarget::Label(1), ViewTarget::Predicted] {
            let input = ViewInput::Sample {
                x: &x,
                target: &target,
                loss: LossKind::CrossEntropy,
            };
            let img = render_view(view, &mut g, &input, &req)
                .unwrap_or_else(|e| panic!("{}: {e}", view.name()));
            assert!(img.width > 50 && img.height > 50, "{}", view.name());
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir).unwrap();
                convlab::viz::draw::save_png(&img, &dir.join(format!("{}.png", view.name())))
                    .unwrap();
            }
        }
    }
    // The denoising view looks at a denoising task's validation set: noisy inputs, clean
    // targets, a model whose output has the input's shape.
    let mut fcn = graph(
        [1, 16, 16],
        vec![
            conv("c1", 4, 3, 1, same(), 1),
            NodeSpec::new("r1", NodeKind::Relu),
            conv("out", 1, 3, 1, same(), 1),
        ],
        7,
    );
    let clean = ndarray::concatenate(
        ndarray::Axis(0),
        &[image(1, 16, 16, 3).view(), image(1, 16, 16, 4).view()],
    )
    .unwrap();
    let noise = convlab::data::noise::Denoise::default();
    let task = noise.to_task(convlab::data::Dataset {
        name: "task".into(),
        inputs: clean,
        targets: convlab::data::Targets::Labels(vec![0, 0]),
        class_names: Vec::new(),
    });
    let val = noise.noisy_validation(task.clone(), 1);
    let sets = ViewInput::DataSet {
        train: &task,
        val: &val,
    };
    let img = render_view(ViewId::Denoising, &mut fcn, &sets, &req).unwrap();
    assert!(img.width > 50 && img.height > 50);
    if let Some(dir) = &out {
        convlab::viz::draw::save_png(&img, &dir.join("denoising.png")).unwrap();
    }
    // A classifier's output is no image: the view says so instead of drawing.
    assert!(render_view(ViewId::Denoising, &mut g, &sets, &req).is_err());
    let lecture = ViewRequest {
        lecture: Some(LectureCase::K2S1),
        selected: Some((1, 1)),
        ..ViewRequest::default()
    };
    let predicted = ViewInput::Sample {
        x: &x,
        target: &ViewTarget::Predicted,
        loss: LossKind::CrossEntropy,
    };
    let img = render_view(ViewId::Routing, &mut g, &predicted, &lecture).unwrap();
    if let Some(dir) = &out {
        convlab::viz::draw::save_png(&img, &dir.join("lecture-2x2s1.png")).unwrap();
    }
    let bad = ViewRequest {
        node: Some("nope".into()),
        ..ViewRequest::default()
    };
    // A view that picks a node refuses a node the model lacks (saliency falls back to the
    // input gradient alone); the prediction and occlusion views take no node.
    for view in one_input() {
        if view.picks_node() && view != ViewId::Saliency {
            assert!(
                render_view(view, &mut g, &predicted, &bad).is_err(),
                "{}",
                view.name()
            );
        }
    }
}
