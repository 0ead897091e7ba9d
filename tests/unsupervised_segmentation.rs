//! The unsupervised-segmentation view on the mosaic preset: it renders with the masks read
//! from the source (the preset is a reconstruction task, its targets are the images), its
//! scores are real IoUs in [0, 1], and `convlab render` draws the same view.

use std::path::Path;

use convlab::data::load::{load, pixel_classes};
use convlab::engine::Graph;
use convlab::spec::Preset;
use convlab::spec::view::ViewId;
use convlab::viz::views::unsupervised_segmentation::{UnsupOptions, compute, picture};
use convlab::viz::views::{ViewInput, ViewRequest, render_view};

fn preset(name: &str) -> Preset {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("presets")
        .join(format!("{name}.toml"));
    let mut p = Preset::load(&path).unwrap_or_else(|e| panic!("{e}"));
    // Fewer images: the view looks at 32 validation images at most.
    match &mut p.data.source {
        convlab::data::DataSource::TextureMosaic(o) => o.samples = 60,
        convlab::data::DataSource::OctLayers(o) => o.samples = 60,
        other => panic!("unexpected source {other:?}"),
    }
    p
}

#[test]
fn the_view_segments_the_validation_images_and_scores_them_against_the_masks() {
    for name in ["unsupervised-segmentation", "unsupervised-segmentation-oct"] {
        let p = preset(name);
        let (train, val) = load(&p.data).unwrap();
        assert!(matches!(val.targets, convlab::data::Targets::Dense(_)));
        assert_eq!(
            val.class_names,
            Vec::<String>::new(),
            "a reconstruction task"
        );
        let truth = pixel_classes(&p.data).unwrap().expect("masks");
        assert_eq!(truth.classes.shape()[0], val.len());
        // The masks are of the validation images: the reconstruction targets are those
        // images, pixel for pixel.
        let convlab::data::Targets::Dense(t) = &val.targets else {
            unreachable!()
        };
        assert_eq!(t, &val.inputs);
        let mut graph = Graph::<f32>::new(&p.model).unwrap();
        let opts = UnsupOptions {
            k: None,
            window: None,
            truth: Some(truth.clone()),
            seed: 1,
            nodes: Vec::new(),
        };
        let r = compute(&mut graph, &val, None, &opts).unwrap();
        assert_eq!(r.k, truth.names.len());
        assert_eq!(r.nodes.len(), 2, "{:?}", r.nodes);
        for seg in [&r.features, &r.raw] {
            let s = seg.scores.as_ref().expect("scores");
            assert!((0.0..=1.0).contains(&s.mean_iou), "{s:?}");
            assert_eq!(s.iou.len(), truth.names.len());
        }
        // Same seed, same segments.
        let again = compute(&mut graph, &val, None, &opts).unwrap();
        assert_eq!(again.features.segments, r.features.segments);
        let img = picture(&r, Some(1)).unwrap();
        assert!(
            img.width > 600 && img.height > 250,
            "{}×{}",
            img.width,
            img.height
        );
        // Through the registry, with a chosen node and k, and without masks.
        let req = ViewRequest {
            node: Some("relu2".into()),
            unsupervised: UnsupOptions {
                k: Some(5),
                window: Some(1),
                truth: None,
                seed: 1,
                nodes: Vec::new(),
            },
            ..ViewRequest::default()
        };
        let input = ViewInput::DataSet {
            train: &train,
            val: &val,
        };
        let img = render_view(ViewId::UnsupervisedSegmentation, &mut graph, &input, &req).unwrap();
        assert!(img.width > 400, "{}", img.width);
        // A node without spatial extent or a missing one is an error, not a panic.
        let bad = ViewRequest {
            node: Some("nowhere".into()),
            ..ViewRequest::default()
        };
        assert!(render_view(ViewId::UnsupervisedSegmentation, &mut graph, &input, &bad).is_err());
    }
}

/// The OCT preset names the nodes its segmentation clusters (relu1, which measured best);
/// the view uses them unless a node is picked, falls back to the automatic choice when the
/// edited model lost them, and a preset naming a node its model lacks is refused.
#[test]
fn a_preset_names_the_nodes_its_segmentation_clusters() {
    let p = preset("unsupervised-segmentation-oct");
    let nodes = p
        .unsupervised_segmentation
        .as_ref()
        .expect("[unsupervised_segmentation]")
        .nodes
        .clone();
    assert_eq!(nodes, ["relu1"]);
    let (_, val) = load(&p.data).unwrap();
    let mut graph = Graph::<f32>::new(&p.model).unwrap();
    let opts = UnsupOptions {
        nodes: nodes.clone(),
        seed: 1,
        ..UnsupOptions::default()
    };
    assert_eq!(compute(&mut graph, &val, None, &opts).unwrap().nodes, nodes);
    let picked = compute(&mut graph, &val, Some("relu2"), &opts).unwrap();
    assert_eq!(picked.nodes, ["relu2"]);
    let gone = UnsupOptions {
        nodes: vec!["deleted".into()],
        ..opts
    };
    assert_eq!(
        compute(&mut graph, &val, None, &gone).unwrap().nodes,
        ["relu2", "relu3"]
    );
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/unsupervised-segmentation-oct.toml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("nodes = [\"relu1\"]", "nodes = [\"relu9\"]");
    let err = Preset::parse(&text, "oct.toml").unwrap_err().to_string();
    assert!(
        err.contains("unsupervised_segmentation.nodes") && err.contains("relu9"),
        "{err}"
    );
}

/// The measurements behind the two presets' walkthrough texts (run by hand, about 3
/// minutes on 2 cores): both presets trained for their epochs, then the mean IoU of
/// k-means on each encoder depth, on the preset's choice and on the raw pixels; the mosaic
/// preset also with reflect padding in its encoder convs (zero padding draws a frame along
/// the border that k-means takes for a segment).
/// `cargo test --release --test unsupervised_segmentation -- --ignored --nocapture`
#[test]
#[ignore]
fn measure_the_feature_nodes_and_the_encoders_padding() {
    use convlab::engine::NodeKind;
    use convlab::engine::model_spec::PaddingMode;
    let full = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("presets")
            .join(format!("{name}.toml"));
        Preset::load(&path).unwrap()
    };
    let reflect = |mut p: Preset| {
        for n in &mut p.model.nodes {
            if let NodeKind::Conv2d(c) = &mut n.kind
                && n.name.starts_with("enc")
            {
                c.padding_mode = PaddingMode::Reflect;
            }
        }
        p
    };
    let oct = full("unsupervised-segmentation-oct");
    let mosaic = full("unsupervised-segmentation");
    let runs = [
        ("oct", oct),
        ("mosaic, zero padding", mosaic.clone()),
        ("mosaic, reflect padding", reflect(mosaic)),
    ];
    for (what, p) in runs {
        let mut t = convlab::train::Trainer::new(&p).unwrap();
        t.set_threads(2);
        let start = std::time::Instant::now();
        let mut mse = f64::NAN;
        for _ in 0..p.training.epochs {
            mse = t.run_epoch(|_| {}).unwrap().val_metric;
        }
        eprintln!(
            "{what}: {} epochs in {:.1} s, validation MSE {mse:.4}",
            p.training.epochs,
            start.elapsed().as_secs_f64()
        );
        let truth = pixel_classes(&p.data).unwrap().unwrap();
        let val = t.val.clone();
        let preset_nodes = p
            .unsupervised_segmentation
            .as_ref()
            .map(|u| u.nodes.clone())
            .unwrap_or_default();
        let choices: Vec<(String, Vec<String>)> = vec![
            ("preset's choice".into(), preset_nodes),
            ("automatic".into(), vec!["(automatic)".into()]),
            ("relu1".into(), vec!["relu1".into()]),
            ("relu2".into(), vec!["relu2".into()]),
            ("relu3".into(), vec!["relu3".into()]),
            ("relu_code".into(), vec!["relu_code".into()]),
        ];
        for (label, nodes) in choices {
            let opts = UnsupOptions {
                truth: Some(truth.clone()),
                seed: p.training.seed,
                nodes,
                ..UnsupOptions::default()
            };
            let r = compute(t.graph_mut(), &val, None, &opts).unwrap();
            let f = r.features.scores.as_ref().unwrap();
            let raw = r.raw.scores.as_ref().unwrap();
            eprintln!(
                "  {label} {:?}: mean IoU {:.3} (pixel accuracy {:.3}, per class {:?}); raw pixels {:.3} ({:.3})",
                r.nodes,
                f.mean_iou,
                f.pixel_accuracy,
                f.iou
                    .iter()
                    .map(|i| i.map(|v| format!("{v:.3}")))
                    .collect::<Vec<_>>(),
                raw.mean_iou,
                raw.pixel_accuracy
            );
        }
    }
}
