//! The occlusion view: a model that reads only the image's top-left corner loses
//! probability only while the square covers that corner; everywhere else the map is zero.
//! It renders through the registry like every other view of one input.

use convlab::engine::{Graph, ModelSpec, NodeKind, NodeSpec};
use convlab::spec::view::ViewId;
use convlab::viz::views::occlusion::{compute, default_square};
use convlab::viz::views::{ViewInput, ViewRequest, ViewTarget, render_view};
use ndarray::{Array4, ArrayD, IxDyn};

const SIDE: usize = 8;

/// Flatten → dense(2) on a 1×8×8 input: class 1's score is the sum of the 2×2 top-left
/// corner, class 0's is zero.
fn corner_model() -> Graph<f32> {
    let spec = ModelSpec {
        input: [1, SIDE, SIDE],
        nodes: vec![
            NodeSpec::new("flat", NodeKind::Flatten),
            NodeSpec::new("out", NodeKind::dense(2)),
        ],
    };
    let mut g = Graph::new(&spec).unwrap();
    let mut w = vec![0.0f32; 2 * SIDE * SIDE];
    for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        w[SIDE * SIDE + i * SIDE + j] = 1.0;
    }
    g.set_param(
        "out.weight",
        ArrayD::from_shape_vec(IxDyn(&[2, SIDE * SIDE]), w).unwrap(),
    )
    .unwrap();
    g.set_param("out.bias", ArrayD::zeros(IxDyn(&[2]))).unwrap();
    g
}

/// A bright corner on a dark image.
fn image() -> Array4<f32> {
    Array4::from_shape_fn(
        (1, 1, SIDE, SIDE),
        |(_, _, i, j)| {
            if i < 2 && j < 2 { 1.0 } else { 0.0 }
        },
    )
}

#[test]
fn only_squares_over_the_corner_change_the_probability() {
    let mut g = corner_model();
    let x = image();
    let (side, stride) = default_square(SIDE, SIDE);
    assert_eq!((side, stride), (2, 1));
    let occ = compute(&mut g, &x, 1, side, stride).unwrap();
    // Softmax of (0, 4): the whole image is sure of class 1.
    let expected = 1.0 / (1.0 + (-4.0f32).exp());
    assert!(
        (occ.probability - expected).abs() < 1e-6,
        "{}",
        occ.probability
    );
    assert!((occ.fill - 4.0 / 64.0).abs() < 1e-7);
    for ((i, j), &d) in occ.drop.indexed_iter() {
        // A 2×2 square at (r, c) covers the corner when r ≤ 1 and c ≤ 1, so it reaches
        // pixels up to row and column 2.
        if i <= 2 && j <= 2 {
            assert!(d > 0.0, "({i}, {j}) covered with the corner: drop {d}");
        } else {
            assert_eq!(d, 0.0, "({i}, {j}) never shares a square with the corner");
        }
    }
    // The corner pixel itself is only ever covered together with the corner: the largest
    // drop.
    let max = occ.drop.iter().fold(0.0f32, |m, &v| m.max(v));
    assert_eq!(occ.drop[[0, 0]], max);
    // Class 0 gains what class 1 loses.
    let other = compute(&mut g, &x, 0, side, stride).unwrap();
    for (a, b) in occ.drop.iter().zip(&other.drop) {
        assert!((a + b).abs() < 1e-6);
    }
}

#[test]
fn the_registry_draws_it_and_refuses_a_class_the_model_lacks() {
    let mut g = corner_model();
    let x = image();
    let target = ViewTarget::Label(1);
    let input = ViewInput::Sample {
        x: &x,
        target: &target,
        loss: convlab::engine::LossKind::CrossEntropy,
    };
    let img = render_view(ViewId::Occlusion, &mut g, &input, &ViewRequest::default()).unwrap();
    assert!(
        img.width > 300 && img.height > 100,
        "{}×{}",
        img.width,
        img.height
    );
    let req = ViewRequest {
        class: Some(5),
        ..ViewRequest::default()
    };
    let e = render_view(ViewId::Occlusion, &mut g, &input, &req).unwrap_err();
    assert!(e.contains("class 5"), "{e}");
    assert_eq!("occlusion".parse::<ViewId>().unwrap(), ViewId::Occlusion);
}
