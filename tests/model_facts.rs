//! Shapes, parameter counts, FLOPs and receptive fields from the lecture, and invalid
//! graphs that must be errors naming their node.

use convlab::engine::facts::infer;
use convlab::engine::layers::{Conv2dConfig, Pool2dConfig};
use convlab::engine::model_spec::{Padding, PaddingMode, Pair};
use convlab::engine::{Graph, ModelSpec, NodeKind, NodeSpec};

fn conv(out: usize, k: usize, pad: usize) -> NodeKind {
    NodeKind::conv(out, k, pad)
}

#[test]
fn a_3x3_conv_from_16_to_32_channels_has_4640_parameters() {
    let spec = ModelSpec {
        input: [16, 8, 8],
        nodes: vec![NodeSpec::new("c", conv(32, 3, 1))],
    };
    let f = infer(&spec).unwrap();
    assert_eq!(f.nodes[0].params, 4640);
    assert_eq!(f.nodes[0].param_formula, "(3·3·16+1)·32");
    assert_eq!(f.nodes[0].output, [32, 8, 8]);
    assert_eq!(f.nodes[0].flops, 2 * 3 * 3 * 16 * 32 * 64);
}

#[test]
fn one_5x5_has_26_parameters_two_3x3_have_20_and_both_see_5x5() {
    let one = ModelSpec {
        input: [1, 9, 9],
        nodes: vec![NodeSpec::new("c5", conv(1, 5, 0))],
    };
    let two = ModelSpec {
        input: [1, 9, 9],
        nodes: vec![
            NodeSpec::new("a", conv(1, 3, 0)),
            NodeSpec::new("b", conv(1, 3, 0)),
        ],
    };
    let (f1, f2) = (infer(&one).unwrap(), infer(&two).unwrap());
    assert_eq!(f1.total_params(), 26);
    assert_eq!(f2.total_params(), 20);
    assert_eq!(f1.nodes[0].receptive_field.size, [5.0, 5.0]);
    assert_eq!(f2.nodes[1].receptive_field.size, [5.0, 5.0]);
    assert_eq!(f1.output(), f2.output());
}

#[test]
fn dilation_and_stride_grow_the_receptive_field() {
    let spec = ModelSpec {
        input: [1, 32, 32],
        nodes: vec![
            NodeSpec::new(
                "dil",
                NodeKind::Conv2d(Conv2dConfig {
                    out_channels: 1,
                    kernel: Pair::square(3),
                    stride: Pair::square(1),
                    padding: Padding::Uniform(2),
                    padding_mode: PaddingMode::Zeros,
                    dilation: Pair::square(2),
                    groups: 1,
                    bias: true,
                }),
            ),
            NodeSpec::new("pool", NodeKind::max_pool(2)),
            NodeSpec::new("c", conv(1, 3, 1)),
        ],
    };
    let f = infer(&spec).unwrap();
    assert_eq!(f.nodes[0].receptive_field.size, [5.0, 5.0]);
    assert_eq!(f.nodes[0].output, [1, 32, 32]);
    assert_eq!(f.nodes[1].receptive_field.size, [6.0, 6.0]);
    assert_eq!(f.nodes[1].receptive_field.jump, [2.0, 2.0]);
    assert_eq!(f.nodes[2].receptive_field.size, [10.0, 10.0]);
}

#[test]
fn lenet5_matches_the_baseline_table() {
    let preset = convlab::spec::Preset::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/presets/digits-lenet.toml"
    )))
    .unwrap();
    let f = infer(&preset.model).unwrap();
    assert_eq!(f.total_params(), 61_706);
    let conv_dense: u64 = f.total_flops();
    // 0.833 MFLOP per image in ../shared/perf/baseline.md §6.
    assert!(
        (conv_dense as f64 / 1e6 - 0.833).abs() < 0.001,
        "{conv_dense}"
    );
    let shapes: Vec<[usize; 3]> = f.nodes.iter().map(|n| n.output).collect();
    assert_eq!(shapes[0], [6, 28, 28]);
    assert_eq!(shapes[2], [6, 14, 14]);
    assert_eq!(shapes[3], [16, 10, 10]);
    assert_eq!(shapes[5], [16, 5, 5]);
    assert_eq!(shapes[6], [400, 1, 1]);
}

fn error_of(spec: ModelSpec) -> String {
    let e = infer(&spec).unwrap_err();
    assert!(Graph::<f32>::new(&spec).is_err());
    e.to_string()
}

#[test]
fn invalid_graphs_are_errors_that_name_the_node_and_shapes() {
    let e = error_of(ModelSpec {
        input: [1, 4, 4],
        nodes: vec![NodeSpec::new("big", conv(2, 7, 0))],
    });
    assert!(
        e.contains("'big'") && e.contains("7×7") && e.contains("4×4"),
        "{e}"
    );

    let e = error_of(ModelSpec {
        input: [1, 8, 8],
        nodes: vec![
            NodeSpec::new("a", conv(2, 3, 1)),
            NodeSpec::new("p", NodeKind::max_pool(2)),
            NodeSpec::new("cat", NodeKind::Concat).with_inputs(&["a", "p"]),
        ],
    });
    assert!(
        e.contains("'cat'") && e.contains("2×8×8") && e.contains("2×4×4"),
        "{e}"
    );

    let e = error_of(ModelSpec {
        input: [1, 8, 8],
        nodes: vec![
            NodeSpec::new("a", conv(2, 3, 1)).with_inputs(&["b"]),
            NodeSpec::new("b", conv(2, 3, 1)).with_inputs(&["a"]),
        ],
    });
    assert!(e.contains("'a'") && e.contains("cycles"), "{e}");

    let e = error_of(ModelSpec {
        input: [1, 8, 8],
        nodes: vec![NodeSpec::new("a", NodeKind::Relu).with_inputs(&["ghost"])],
    });
    assert!(e.contains("'ghost'") && e.contains("does not exist"), "{e}");

    let e = error_of(ModelSpec {
        input: [1, 8, 8],
        nodes: vec![NodeSpec::new("z", conv(0, 3, 1))],
    });
    assert!(e.contains("'z'") && e.contains("out_channels"), "{e}");

    let e = error_of(ModelSpec {
        input: [1, 8, 8],
        nodes: vec![NodeSpec::new("huge", conv(1_000_000, 3, 1))],
    });
    assert!(e.contains("'huge'") && e.contains("limit"), "{e}");

    let e = error_of(ModelSpec {
        input: [1, 8, 8],
        nodes: vec![NodeSpec::new("k0", conv(4, 0, 0))],
    });
    assert!(e.contains("'k0'") && e.contains("kernel"), "{e}");

    let e = error_of(ModelSpec {
        input: [3, 8, 8],
        nodes: vec![NodeSpec::new(
            "g",
            NodeKind::Conv2d(Conv2dConfig {
                out_channels: 4,
                kernel: Pair::square(3),
                stride: Pair::square(1),
                padding: Padding::Uniform(1),
                padding_mode: PaddingMode::Zeros,
                dilation: Pair::square(1),
                groups: 2,
                bias: true,
            }),
        )],
    });
    assert!(e.contains("'g'") && e.contains("groups"), "{e}");

    let e = error_of(ModelSpec {
        input: [1, 8, 8],
        nodes: vec![
            NodeSpec::new("a", conv(2, 3, 1)),
            NodeSpec::new("sum", NodeKind::Add).with_inputs(&["a", "input"]),
        ],
    });
    assert!(
        e.contains("'sum'") && e.contains("2×8×8") && e.contains("1×8×8"),
        "{e}"
    );

    let e = error_of(ModelSpec {
        input: [1, 0, 8],
        nodes: vec![NodeSpec::new("a", NodeKind::Relu)],
    });
    assert!(e.contains("input shape"), "{e}");
    assert_eq!(
        infer(&ModelSpec {
            input: [1, 8, 8],
            nodes: vec![]
        })
        .unwrap_err()
        .to_string(),
        "the model has no nodes"
    );
}

#[test]
fn resnet_inception_and_unet_shapes_are_expressible() {
    let spec = ModelSpec {
        input: [8, 16, 16],
        nodes: vec![
            NodeSpec::new("b1", conv(4, 1, 0)).with_inputs(&["input"]),
            NodeSpec::new("b3r", conv(2, 1, 0)).with_inputs(&["input"]),
            NodeSpec::new("b3", conv(4, 3, 1)),
            NodeSpec::new("b5", conv(4, 5, 2)).with_inputs(&["input"]),
            NodeSpec::new(
                "bp",
                NodeKind::MaxPool2d(Pool2dConfig {
                    kernel: Pair::square(3),
                    stride: Some(Pair::square(1)),
                    padding: convlab::engine::model_spec::Pair::square(1),
                }),
            )
            .with_inputs(&["input"]),
            NodeSpec::new("cat", NodeKind::Concat).with_inputs(&["b1", "b3", "b5", "bp"]),
            NodeSpec::new("proj", conv(20, 1, 0)).with_inputs(&["input"]),
            NodeSpec::new("res", NodeKind::Add).with_inputs(&["cat", "proj"]),
        ],
    };
    let f = infer(&spec).unwrap();
    assert_eq!(f.nodes[5].output, [20, 16, 16]);
    assert_eq!(f.output(), [20, 16, 16]);
}

/// Every kind the palette offers: its fresh configuration is written and read back by the
/// text format unchanged, infers on an ordinary input, builds a graph, and gives the editor
/// a name prefix and a lecture description.
#[test]
fn every_palette_kind_round_trips_the_text_format_and_builds() {
    let palette = NodeKind::palette();
    let mut tags: Vec<&str> = palette.iter().map(|k| k.tag()).collect();
    tags.sort_unstable();
    tags.dedup();
    assert_eq!(tags.len(), palette.len(), "one palette entry per kind");
    for kind in palette {
        let tag = kind.tag();
        let mut node = NodeSpec::new("n", kind.clone());
        let mut nodes = Vec::new();
        if kind.arity().is_none() {
            nodes.push(NodeSpec::new("a", NodeKind::Relu));
            nodes.push(NodeSpec::new("b", NodeKind::Tanh).with_inputs(&["input"]));
            node = node.with_inputs(&["a", "b"]);
        }
        nodes.push(node);
        let spec = ModelSpec {
            input: [4, 8, 8],
            nodes,
        };
        let text = toml::to_string(&spec).unwrap();
        assert!(text.contains(&format!("kind = \"{tag}\"")), "{tag}: {text}");
        let back: ModelSpec = toml::from_str(&text).unwrap();
        assert_eq!(back, spec, "{tag}: {text}");
        let f = infer(&spec).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(f.nodes.last().unwrap().kind, tag);
        Graph::<f32>::new(&spec).unwrap();
        assert!(!kind.as_kind().name_prefix().is_empty(), "{tag}");
        assert!(kind.as_kind().about().len() > 20, "{tag}");
    }
}

#[test]
fn unknown_keys_of_a_kind_are_refused() {
    let text = "input = [1, 4, 4]\n[[nodes]]\nname = \"c\"\nkind = \"conv2d\"\nout_channels = 2\nkernel = 3\nstrides = 2\n";
    let e = toml::from_str::<ModelSpec>(text).unwrap_err().to_string();
    assert!(e.contains("strides"), "{e}");
}

#[test]
fn layer_norm_keeps_the_shape_and_learns_a_scale_and_shift_per_value() {
    use convlab::engine::layers::layer_norm::LayerNormConfig;
    let spec = |eps: f64| ModelSpec {
        input: [3, 4, 5],
        nodes: vec![NodeSpec::new(
            "ln",
            NodeKind::LayerNorm(LayerNormConfig { eps }),
        )],
    };
    let f = infer(&spec(1e-5)).unwrap();
    assert_eq!(f.nodes[0].output, [3, 4, 5]);
    assert_eq!(f.nodes[0].params, 2 * 3 * 4 * 5);
    assert_eq!(f.nodes[0].param_formula, "2·3·4·5");
    let g = Graph::<f32>::new(&spec(1e-5)).unwrap();
    let shapes: Vec<&[usize]> = g.params().iter().map(|p| p.value.shape()).collect();
    assert_eq!(shapes, [&[3, 4, 5][..], &[3, 4, 5][..]]);
    let e = error_of(spec(0.0));
    assert!(e.contains("ln") && e.contains("eps"), "{e}");
}
