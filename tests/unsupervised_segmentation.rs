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
