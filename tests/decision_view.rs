//! The decision view's pixels: models with known weights put their boundary, their zero
//! line and their curve where the arithmetic says, and the regions take their class's
//! colour; the view renders through the registry like every other view.

use convlab::data::{Dataset, Targets};
use convlab::engine::{Graph, ModelSpec, NodeKind, NodeSpec};
use convlab::spec::view::{ViewId, ViewSource};
use convlab::viz::draw::pixel;
use convlab::viz::views::decision::{DecisionOptions, region_color, render};
use convlab::viz::views::{ViewInput, ViewRequest, render_view};
use ndarray::{Array4, ArrayD, IxDyn};

/// One dense layer `input → outputs` with the given weights `[outputs, inputs]` and bias.
fn dense(inputs: usize, weight: &[f32], bias: &[f32]) -> Graph<f32> {
    let outputs = bias.len();
    let spec = ModelSpec {
        input: [inputs, 1, 1],
        nodes: vec![NodeSpec::new("out", NodeKind::dense(outputs))],
    };
    let mut g = Graph::new(&spec).unwrap();
    g.set_param(
        "out.weight",
        ArrayD::from_shape_vec(IxDyn(&[outputs, inputs]), weight.to_vec()).unwrap(),
    )
    .unwrap();
    g.set_param(
        "out.bias",
        ArrayD::from_shape_vec(IxDyn(&[outputs]), bias.to_vec()).unwrap(),
    )
    .unwrap();
    g
}

fn points(xy: &[[f32; 2]], targets: Targets) -> Dataset {
    Dataset {
        name: "points".into(),
        inputs: Array4::from_shape_fn((xy.len(), 2, 1, 1), |(i, c, _, _)| xy[i][c]),
        targets,
        class_names: vec!["left".into(), "right".into()],
    }
}

fn rgb(img: &convlab::viz::Rgba, x: usize, y: usize) -> [i32; 3] {
    let p = pixel(img, x, y).unwrap();
    [p[0] as i32, p[1] as i32, p[2] as i32]
}

/// Corner points: the plane spans [-1.2, 1.2] on both axes (the data widened by a tenth).
fn corners() -> (Dataset, Dataset) {
    let train = points(&[[-1.0, -1.0], [1.0, 1.0]], Targets::Labels(vec![0, 1]));
    let val = points(&[[-1.0, 1.0], [1.0, -1.0]], Targets::Labels(vec![0, 1]));
    (train, val)
}

#[test]
fn a_linear_classifier_splits_the_plane_at_its_boundary_in_its_class_colours() {
    // Logits (-x + 0.3, x - 0.3): class 1 where x > 0.3, p1 = sigmoid(2x - 0.6).
    let mut g = dense(2, &[-1.0, 0.0, 1.0, 0.0], &[0.3, -0.3]);
    let (train, val) = corners();
    let pic = render(
        &mut g,
        &train,
        &val,
        &DecisionOptions {
            side: 240,
            ..DecisionOptions::default()
        },
    )
    .unwrap();
    let f = pic.frame;
    assert_eq!((f.width, f.height), (240, 240));
    assert!(
        (f.x.0 + 1.2).abs() < 1e-6 && (f.x.1 - 1.2).abs() < 1e-6,
        "{f:?}"
    );
    let boundary = (0..f.width).find(|&px| f.value_at(px, 0).0 > 0.3).unwrap();
    // Away from the corner points, every row changes from class 0 (blue: more blue than
    // red) to class 1 (orange: more red than blue) exactly at the boundary's column.
    for py in (40..200).step_by(7) {
        let first_orange = (0..f.width)
            .find(|&px| {
                let [r, _, b] = rgb(&pic.image, f.left + px, f.top + py);
                r > b
            })
            .unwrap();
        assert_eq!(first_orange, boundary, "row {py}");
    }
    // Far from the boundary the model is sure: the class colour, as strong as its
    // probability says.
    for (x, class) in [(-1.0f32, 0usize), (1.1, 1)] {
        let px = (0..f.width)
            .find(|&px| f.value_at(px, 0).0 >= x as f64)
            .unwrap();
        let (vx, _) = f.value_at(px, 120);
        let z = 2.0 * vx as f32 - 0.6;
        let p1 = 1.0 / (1.0 + (-z).exp());
        let p = if class == 1 { p1 } else { 1.0 - p1 };
        let want = region_color(class, (p - 0.5) / 0.5);
        let got = rgb(&pic.image, f.left + px, f.top + 120);
        for k in 0..3 {
            assert!(
                (got[k] - want[k] as i32).abs() <= 1,
                "x {x}: {got:?} vs {want:?}"
            );
        }
    }
    // A point the model gets wrong is ringed in black: (-1, 1) is class 0 and the model
    // says 0 there, so no ring; relabel it class 1 and a black ring appears around it.
    let (cx, cy) = f.position_of(-1.0, 1.0);
    let ring_at = |img: &convlab::viz::Rgba| {
        (0..16).any(|a| {
            let t = a as f64 / 16.0 * std::f64::consts::TAU;
            let (x, y) = (cx + 6.8 * t.cos(), cy + 6.8 * t.sin());
            rgb(img, x as usize, y as usize) == [0, 0, 0]
        })
    };
    assert!(!ring_at(&pic.image));
    let wrong = points(&[[-1.0, 1.0], [1.0, -1.0]], Targets::Labels(vec![1, 1]));
    let pic = render(
        &mut g,
        &train,
        &wrong,
        &DecisionOptions {
            side: 240,
            ..DecisionOptions::default()
        },
    )
    .unwrap();
    assert!(ring_at(&pic.image));
}

#[test]
fn a_single_output_is_drawn_diverging_around_its_zero_line() {
    // Output y - 0.2: zero along the horizontal line y = 0.2.
    let mut g = dense(2, &[0.0, 1.0], &[-0.2]);
    let xy = [[-1.0, -1.0], [1.0, 1.0]];
    let t = Array4::from_shape_vec((2, 1, 1, 1), vec![-1.2, 0.8]).unwrap();
    let set = points(&xy, Targets::Dense(t));
    let empty = points(&[], Targets::Dense(Array4::zeros((0, 1, 1, 1))));
    let pic = render(&mut g, &set, &empty, &DecisionOptions::default()).unwrap();
    let f = pic.frame;
    let zero = (0..f.height).find(|&py| f.value_at(0, py).1 < 0.2).unwrap();
    for px in (40..f.width - 40).step_by(11) {
        for py in (30..f.height - 30).filter(|&py| py + 2 <= zero || py >= zero + 2) {
            let [r, _, b] = rgb(&pic.image, f.left + px, f.top + py);
            if py < zero {
                assert!(r > b, "above the line is red: ({px}, {py})");
            } else {
                assert!(b > r, "below the line is blue: ({px}, {py})");
            }
        }
        // On the line itself: nearly white.
        let [r, g_, b] = rgb(&pic.image, f.left + px, f.top + zero);
        assert!(
            r > 235 && g_ > 235 && b > 235,
            "({px}, {zero}): {r} {g_} {b}"
        );
    }
}

#[test]
fn a_one_number_model_is_drawn_as_its_curve_over_the_data() {
    // y = 2x - 0.5 on data in [-1, 1].
    let mut g = dense(1, &[2.0], &[-0.5]);
    let n = 21;
    let xs: Vec<f32> = (0..n)
        .map(|i| -1.0 + 2.0 * i as f32 / (n - 1) as f32)
        .collect();
    let set = Dataset {
        name: "line".into(),
        inputs: Array4::from_shape_fn((n, 1, 1, 1), |(i, _, _, _)| xs[i]),
        targets: Targets::Dense(Array4::from_shape_fn((n, 1, 1, 1), |(i, _, _, _)| {
            2.0 * xs[i] - 0.5
        })),
        class_names: vec![],
    };
    let empty = Dataset {
        inputs: Array4::zeros((0, 1, 1, 1)),
        targets: Targets::Dense(Array4::zeros((0, 1, 1, 1))),
        ..set.clone()
    };
    let pic = render(&mut g, &set, &empty, &DecisionOptions::default()).unwrap();
    let f = pic.frame;
    let curve = convlab::viz::views::decision::CURVE;
    for px in (5..f.width - 5).step_by(37) {
        let (x, _) = f.value_at(px, 0);
        let (_, want) = f.position_of(x, 2.0 * x - 0.5);
        let rows: Vec<usize> = (0..f.height)
            .filter(|&py| pixel(&pic.image, f.left + px, f.top + py) == Some(curve))
            .collect();
        assert!(
            rows.iter()
                .any(|&py| ((f.top + py) as f64 - want).abs() <= 2.0),
            "column {px}: curve rows {rows:?}, want {want}"
        );
    }
}

#[test]
fn the_registry_renders_the_decision_view_of_a_data_set_and_walkthroughs_name_it() {
    assert_eq!("decision".parse::<ViewId>(), Ok(ViewId::Decision));
    assert_eq!("function".parse::<ViewId>(), Ok(ViewId::Function));
    assert_eq!(ViewId::Decision.source(), ViewSource::DataSet);
    let mut g = dense(2, &[-1.0, 0.0, 1.0, 0.0], &[0.3, -0.3]);
    let (train, val) = corners();
    let input = ViewInput::DataSet {
        train: &train,
        val: &val,
    };
    let img = render_view(ViewId::Decision, &mut g, &input, &ViewRequest::default()).unwrap();
    assert!(img.width > 300 && img.height > 300);
    // An image model has no input plane: an error, not a panic.
    let spec = ModelSpec {
        input: [1, 8, 8],
        nodes: vec![NodeSpec::new("out", NodeKind::dense(2))],
    };
    let mut image_model = Graph::new(&spec).unwrap();
    let e = render_view(
        ViewId::Decision,
        &mut image_model,
        &input,
        &ViewRequest::default(),
    )
    .unwrap_err();
    assert!(e.contains("[1, 8, 8]"), "{e}");
}

#[test]
fn hand_made_features_feed_every_point_of_the_plane() {
    use convlab::data::features::InputFeature;
    // One output reading only the x·y channel of (x, y, x·y): positive in the first and
    // third quadrants, negative in the others — a picture no line in (x, y) can draw.
    let mut g = dense(3, &[0.0, 0.0, 1.0], &[0.0]);
    let xy = [[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]];
    let t = Array4::from_shape_vec((4, 1, 1, 1), vec![1.0, 1.0, -1.0, -1.0]).unwrap();
    let with_xy = |set: Dataset| Dataset {
        inputs: Array4::from_shape_fn((set.len(), 3, 1, 1), |(i, c, _, _)| {
            let [x, y] = xy[i];
            [x, y, x * y][c]
        }),
        ..set
    };
    let set = with_xy(points(&xy, Targets::Dense(t)));
    let empty = Dataset {
        inputs: Array4::zeros((0, 3, 1, 1)),
        ..points(&[], Targets::Dense(Array4::zeros((0, 1, 1, 1))))
    };
    let opts = DecisionOptions {
        features: vec![InputFeature::XTimesY],
        ..DecisionOptions::default()
    };
    let pic = render(&mut g, &set, &empty, &opts).unwrap();
    let f = pic.frame;
    // A quarter of the way in from each corner: well inside each quadrant.
    let (near, far) = (f.width / 4, 3 * f.width / 4);
    let at = |px: usize, py: usize| rgb(&pic.image, f.left + px, f.top + py);
    for (px, py, positive) in [
        (far, near, true),   // x > 0, y > 0
        (near, far, true),   // x < 0, y < 0
        (near, near, false), // x < 0, y > 0
        (far, far, false),   // x > 0, y < 0
    ] {
        let [r, _, b] = at(px, py);
        assert_eq!(r > b, positive, "({px}, {py}): {:?}", at(px, py));
    }
    // Without the feature list the view cannot know what the third input is.
    let e = render(&mut g, &set, &empty, &DecisionOptions::default()).unwrap_err();
    assert!(e.contains("hand-made features"), "{e}");
}
