//! The views of the first lecture hour on models with known weights: the function view's
//! unit shares add up to the fit, a single unit's zero line and weight arrow lie where
//! w·x + b says, the neuron diagram draws each unit's own map, and each view says which
//! models it cannot draw.

use convlab::data::{Dataset, Targets};
use convlab::engine::{Graph, ModelSpec, NodeKind, NodeSpec};
use convlab::spec::view::ViewId;
use convlab::viz::draw::{INK, pixel};
use convlab::viz::views::function::{FunctionOptions, contributions};
use convlab::viz::views::neurons::{self, NeuronsPicture};
use convlab::viz::views::unit::{self, Surface, UnitOptions};
use convlab::viz::views::{ViewInput, ViewRequest, render_view};
use ndarray::{Array4, ArrayD, IxDyn};

fn set(g: &mut Graph<f32>, name: &str, shape: &[usize], values: &[f32]) {
    g.set_param(
        name,
        ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).unwrap(),
    )
    .unwrap();
}

fn model(input: [usize; 3], nodes: Vec<NodeSpec>) -> Graph<f32> {
    Graph::new(&ModelSpec { input, nodes }).unwrap()
}

/// 1 → 5 sigmoid units → 1, with uneven weights.
fn bumps() -> Graph<f32> {
    let mut g = model(
        [1, 1, 1],
        vec![
            NodeSpec::new("hidden", NodeKind::dense(5)),
            NodeSpec::new("sigmoid", NodeKind::Sigmoid),
            NodeSpec::new("out", NodeKind::dense(1)),
        ],
    );
    set(
        &mut g,
        "hidden.weight",
        &[5, 1],
        &[4.0, -6.0, 9.5, 2.0, -1.5],
    );
    set(&mut g, "hidden.bias", &[5], &[1.0, 0.5, -3.0, 0.0, 0.2]);
    set(&mut g, "out.weight", &[1, 5], &[1.5, -2.0, 0.7, 3.1, -0.4]);
    set(&mut g, "out.bias", &[1], &[0.25]);
    g
}

fn line_data(n: usize, f: impl Fn(f32) -> f32) -> (Dataset, Dataset) {
    let xs: Vec<f32> = (0..n)
        .map(|i| -1.0 + 2.0 * i as f32 / (n - 1) as f32)
        .collect();
    let set = Dataset {
        name: "line".into(),
        inputs: Array4::from_shape_fn((n, 1, 1, 1), |(i, _, _, _)| xs[i]),
        targets: Targets::Dense(Array4::from_shape_fn((n, 1, 1, 1), |(i, _, _, _)| f(xs[i]))),
        class_names: vec![],
    };
    let empty = Dataset {
        inputs: Array4::zeros((0, 1, 1, 1)),
        targets: Targets::Dense(Array4::zeros((0, 1, 1, 1))),
        ..set.clone()
    };
    (set, empty)
}

fn plane_data(xy: &[[f32; 2]], labels: Vec<usize>) -> Dataset {
    Dataset {
        name: "points".into(),
        inputs: Array4::from_shape_fn((xy.len(), 2, 1, 1), |(i, c, _, _)| xy[i][c]),
        targets: Targets::Labels(labels),
        class_names: vec!["a".into(), "b".into()],
    }
}

#[test]
fn the_hidden_units_shares_and_the_output_bias_add_up_to_the_fit() {
    let mut g = bumps();
    let xs: Vec<f32> = (0..97).map(|i| -2.0 + i as f32 / 24.0).collect();
    let c = contributions(&mut g, &xs)
        .unwrap()
        .expect("a one-hidden-layer net");
    assert_eq!(c.hidden, "sigmoid");
    assert_eq!(c.units.len(), 5);
    assert_eq!(c.bias, 0.25);
    for (i, &x) in xs.iter().enumerate() {
        let sum: f32 = c.bias + c.units.iter().map(|u| u[i]).sum::<f32>();
        assert!(
            (sum - c.fit[i]).abs() <= 1e-5,
            "x {x}: {sum} vs {}",
            c.fit[i]
        );
        // And each share is what the arithmetic says: output weight × σ(w x + b).
        let s = 1.0 / (1.0 + (-(9.5 * x - 3.0)).exp());
        assert!((c.units[2][i] - 0.7 * s).abs() <= 1e-5);
    }
    // A net without a hidden layer has no shares: just the curve.
    let mut linear = model([1, 1, 1], vec![NodeSpec::new("out", NodeKind::dense(1))]);
    assert_eq!(contributions(&mut linear, &xs).unwrap(), None);
}

#[test]
fn the_function_view_draws_the_fit_where_the_model_puts_it() {
    let mut g = bumps();
    let (train, val) = line_data(21, |x| x);
    let pic =
        convlab::viz::views::function::render(&mut g, &train, &val, &FunctionOptions::default())
            .unwrap();
    let f = pic.frame;
    let xs: Vec<f32> = (0..f.width).map(|px| f.value_at(px, 0).0 as f32).collect();
    let fit = contributions(&mut g, &xs).unwrap().unwrap().fit;
    let curve = convlab::viz::views::decision::CURVE;
    for px in (4..f.width - 4).step_by(29) {
        let (_, want) = f.position_of(0.0, fit[px] as f64);
        let rows: Vec<usize> = (0..f.height)
            .filter(|&py| pixel(&pic.image, f.left + px, f.top + py) == Some(curve))
            .collect();
        assert!(
            rows.iter()
                .any(|&py| ((f.top + py) as f64 - want).abs() <= 2.0),
            "column {px}: {rows:?} vs {want}"
        );
    }
    // A model of 2-D points is the decision view's.
    let mut plane = model([2, 1, 1], vec![NodeSpec::new("out", NodeKind::dense(2))]);
    let e = convlab::viz::views::function::render(
        &mut plane,
        &train,
        &val,
        &FunctionOptions::default(),
    )
    .unwrap_err();
    assert!(e.contains("decision view"), "{e}");
}

/// A first layer of two units reading the plane, with unit 1 set to `w`, `b`.
fn unit_model(w: [f32; 2], b: f32, act: NodeKind) -> Graph<f32> {
    let mut g = model(
        [2, 1, 1],
        vec![
            NodeSpec::new("unit", NodeKind::dense(2)),
            NodeSpec::new("act", act),
        ],
    );
    set(&mut g, "unit.weight", &[2, 2], &[0.3, 0.3, w[0], w[1]]);
    set(&mut g, "unit.bias", &[2], &[0.0, b]);
    g
}

fn rgb(img: &convlab::viz::Rgba, x: usize, y: usize) -> [i32; 3] {
    let p = pixel(img, x, y).unwrap();
    [p[0] as i32, p[1] as i32, p[2] as i32]
}

#[test]
fn a_known_unit_draws_its_zero_line_and_half_planes_where_w_x_plus_b_says() {
    // z = 1·x1 + 0.5·x2 − 0.2 on points spanning [-1, 1]².
    let (w, b) = ([1.0f32, 0.5], -0.2f32);
    let mut g = unit_model(w, b, NodeKind::Identity);
    let train = plane_data(&[[-1.0, -1.0], [1.0, 1.0]], vec![0, 1]);
    let val = plane_data(&[], vec![]);
    let opts = UnitOptions::default();
    let pic = unit::render(&mut g, &train, &val, Some("act"), 1, &opts).unwrap();
    assert_eq!(pic.facts.w, w);
    assert_eq!(pic.facts.b, b);
    assert_eq!(pic.facts.node, "unit");
    let f = pic.picture.frame;
    // Both axes share one scale.
    assert!(((f.x.1 - f.x.0) - (f.y.1 - f.y.0)).abs() < 1e-9, "{f:?}");
    // Along the zero line x1 = (0.2 − 0.5·x2): black pixels.
    let mut checked = 0;
    for py in (10..f.height - 10).step_by(13) {
        let (_, y) = f.value_at(0, py);
        let x = (0.2 - 0.5 * y) / 1.0;
        let (cx, cy) = f.position_of(x, y);
        let black = (-1i64..=1)
            .any(|d| pixel(&pic.picture.image, (cx as i64 + d) as usize, cy as usize) == Some(INK));
        assert!(
            black,
            "no zero line at ({x:.3}, {y:.3}) = pixel ({cx:.1}, {cy:.1})"
        );
        checked += 1;
    }
    assert!(checked > 10);
    // Away from the line: red (above the value at z = 0) on the side w points to, blue on
    // the other. Sample left and right of the line at the plane's middle row, clear of the
    // arrow (which starts on the line and points right and up).
    let py = f.height * 7 / 8;
    let (_, y) = f.value_at(0, py);
    let x0 = 0.2 - 0.5 * y;
    for (dx, positive) in [(-0.5, false), (0.4, true)] {
        let (cx, cy) = f.position_of(x0 + dx, y);
        let [r, _, bl] = rgb(&pic.picture.image, cx as usize, cy as usize);
        assert_eq!(r > bl, positive, "x {:.2}: {r} vs {bl}", x0 + dx);
    }
    // A sigmoid surface through the model's own node, or any other picked to compare.
    let mut s = unit_model(w, b, NodeKind::Sigmoid);
    let p = unit::render(&mut s, &train, &val, None, 1, &opts).unwrap();
    assert_eq!(p.facts.surface, "sigmoid(z)");
    let opts = UnitOptions {
        surface: Surface::SteepSigmoid,
        ..opts
    };
    let p = unit::render(&mut s, &train, &val, None, 1, &opts).unwrap();
    assert_eq!(p.facts.surface, "steep-sigmoid(z)");
    // Unit 2 does not exist; a deeper layer does not read the plane.
    assert!(unit::render(&mut s, &train, &val, None, 2, &opts).is_err());
    let mut deep = model(
        [2, 1, 1],
        vec![
            NodeSpec::new("h", NodeKind::dense(3)),
            NodeSpec::new("t", NodeKind::Tanh),
            NodeSpec::new("out", NodeKind::dense(2)),
        ],
    );
    let e = unit::render(&mut deep, &train, &val, Some("out"), 0, &opts).unwrap_err();
    assert!(e.contains("neurons view"), "{e}");
}

#[test]
fn the_neuron_diagram_draws_every_units_own_map_and_only_for_dense_nets() {
    // Unit 1 of the first layer is x1 itself: blue left of x1 = 0, red right of it.
    let mut g = unit_model([1.0, 0.0], 0.0, NodeKind::Identity);
    let train = plane_data(&[[-1.0, -1.0], [1.0, 1.0]], vec![0, 1]);
    let val = plane_data(&[], vec![]);
    let p = neurons::render(&mut g, &train, &val, None).unwrap();
    assert_eq!(p.boxes.len(), 2 + 2, "two inputs and two units");
    let b = NeuronsPicture::locate(&p.boxes, p.boxes[3].x + 3, p.boxes[3].y + 3).unwrap();
    assert_eq!((b.node.as_str(), b.unit), ("unit", 1));
    let mid = b.y + b.side / 2;
    let [r, _, bl] = rgb(&p.image, b.x + 4, mid);
    assert!(bl > r, "left of x1 = 0 is negative");
    let [r, _, bl] = rgb(&p.image, b.x + b.side - 4, mid);
    assert!(r > bl, "right of x1 = 0 is positive");
    // Picking a unit draws it large beside the diagram.
    let big = neurons::render(&mut g, &train, &val, Some(("unit", 1))).unwrap();
    assert!(big.image.width > p.image.width + 200);
    // Through the registry: --node and --channel pick the unit.
    let input = ViewInput::DataSet {
        train: &train,
        val: &val,
    };
    let req = ViewRequest {
        node: Some("unit".into()),
        channel: 1,
        ..ViewRequest::default()
    };
    let img = render_view(ViewId::Neurons, &mut g, &input, &req).unwrap();
    assert_eq!(img.width, big.image.width);
    // A conv net: the diagram says it is for dense nets and points to the activations view.
    let mut conv = model(
        [2, 1, 1],
        vec![
            NodeSpec::new("c", NodeKind::conv(2, 1, 0)),
            NodeSpec::new("out", NodeKind::dense(2)),
        ],
    );
    let e = render_view(ViewId::Neurons, &mut conv, &input, &ViewRequest::default()).unwrap_err();
    assert!(e.contains("activations view"), "{e}");
}

#[test]
fn a_step_naming_a_view_that_cannot_draw_its_model_is_a_load_error() {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/presets/02-single-unit.toml"
    ))
    .unwrap();
    let dir = std::env::temp_dir().join(format!("convlab-point-views-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (view, ok) in [
        ("function", false),
        ("unit", true),
        ("decision", true),
        ("tiles", false),
    ] {
        let text =
            format!("{base}\n[[walkthrough]]\ntitle = \"look\"\ntext = \"x\"\nview = \"{view}\"\n");
        let path = dir.join("p.toml");
        std::fs::write(&path, text).unwrap();
        let r = convlab::spec::Preset::load(&path);
        assert_eq!(
            r.is_ok(),
            ok,
            "{view}: {:?}",
            r.err().map(|e| e.to_string())
        );
        if let Err(e) = r {
            assert!(e.to_string().contains(view), "{e}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
