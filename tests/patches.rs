//! Patch classification (`[data.patches]`): a segmentation set turned into centre-pixel
//! classification, and a patch classifier run at every pixel of whole images
//! (`inspect::patches::segment`), which the segmentation view shows beside the U-Net's.

use std::path::Path;

use convlab::data::load::{load, whole_images};
use convlab::data::patches::{PatchError, Patches, push_patch};
use convlab::data::{Dataset, Targets};
use convlab::engine::rng::Rng;
use convlab::engine::{Graph, Init, Mode, ModelSpec, NodeKind, NodeSpec, initialize};
use convlab::inspect::patches::segment;
use convlab::spec::Preset;
use ndarray::{Array4, Axis, s};

fn preset(name: &str) -> Preset {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("presets/{name}.toml"));
    Preset::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Four 12×12 two-channel images with a 0/1 mask (a bright square), values all distinct.
fn tiny_set() -> Dataset {
    let mut rng = Rng::new(3);
    let inputs = Array4::from_shape_fn((4, 2, 12, 12), |_| rng.uniform(0.0, 1.0) as f32);
    let masks = Array4::from_shape_fn((4, 1, 12, 12), |(i, _, y, x)| {
        f32::from((i + 2..i + 7).contains(&y) && (3..8).contains(&x))
    });
    Dataset {
        name: "tiny".into(),
        inputs,
        targets: Targets::Dense(masks),
        class_names: Vec::new(),
    }
}

#[test]
fn every_patch_is_a_patch_of_its_own_image_labelled_by_its_centre() {
    let set = tiny_set();
    let p = Patches {
        size: 5,
        per_image: 30,
    };
    let cut = p.cut(&set, 9).unwrap();
    assert_eq!(cut.inputs.shape(), [120, 2, 5, 5]);
    let Targets::Labels(labels) = &cut.targets else {
        panic!("labels")
    };
    let Targets::Dense(masks) = &set.targets else {
        unreachable!()
    };
    assert!(labels.contains(&0) && labels.contains(&1), "{labels:?}");
    for (j, &label) in labels.iter().enumerate() {
        let i = j / p.per_image;
        let img = set.inputs.index_axis(Axis(0), i);
        let patch: Vec<f32> = cut
            .inputs
            .slice(s![j, .., .., ..])
            .iter()
            .copied()
            .collect();
        let found = (0..12)
            .flat_map(|y| (0..12).map(move |x| (y, x)))
            .find(|&(y, x)| {
                let mut v = Vec::new();
                push_patch(&mut v, img, y, x, 5);
                v == patch
            });
        let (y, x) = found.unwrap_or_else(|| panic!("patch {j} is not from image {i}"));
        assert_eq!(label, masks[[i, 0, y, x]] as usize, "patch {j}");
    }
    // Seeded: the same patches again, other ones for another seed.
    assert_eq!(p.cut(&set, 9).unwrap(), cut);
    assert_ne!(p.cut(&set, 10).unwrap().inputs, cut.inputs);
}

#[test]
fn a_patch_at_the_border_repeats_the_border_pixels() {
    let img = ndarray::Array3::from_shape_fn((1, 3, 3), |(_, y, x)| (y * 3 + x) as f32);
    let mut v = Vec::new();
    push_patch(&mut v, img.view(), 0, 2, 3);
    // Rows −1, 0, 1 → 0, 0, 1; columns 1, 2, 3 → 1, 2, 2.
    assert_eq!(v, [1., 2., 2., 1., 2., 2., 4., 5., 5.]);
}

#[test]
fn bad_patch_settings_and_label_sets_are_typed_errors() {
    let set = tiny_set();
    let even = Patches {
        size: 4,
        per_image: 3,
    };
    assert_eq!(even.cut(&set, 0), Err(PatchError::Size(4)));
    let none = Patches {
        size: 5,
        per_image: 0,
    };
    assert_eq!(none.cut(&set, 0), Err(PatchError::PerImage(0)));
    let labels = Dataset {
        targets: Targets::Labels(vec![0; 4]),
        ..set
    };
    assert_eq!(
        Patches::default().cut(&labels, 0),
        Err(PatchError::NotMasks)
    );
    // In a preset: a load error, not a panic.
    let mut p = preset("vessels-patches");
    p.data.source = preset("digits-lenet").data.source;
    assert!(load(&p.data).is_err());
}

/// The sliding segmentation gives every pixel exactly the score the classifier gives its
/// patch alone, in any batch size.
#[test]
fn segmenting_a_whole_image_classifies_the_patch_around_every_pixel() {
    let spec = ModelSpec {
        input: [2, 5, 5],
        nodes: vec![
            NodeSpec::new("c", NodeKind::conv(3, 3, 0)),
            NodeSpec::new("r", NodeKind::Relu),
            NodeSpec::new("fc", NodeKind::dense(2)),
        ],
    };
    let mut g = Graph::<f32>::new(&spec).unwrap();
    initialize(&mut g, Init::Uniform { a: 0.5 }, 4);
    let set = tiny_set();
    let images = set.inputs.slice(s![0..2, .., .., ..]).to_owned();
    let (a, seconds) = segment(&mut g, &images, 5, 1, 7).unwrap();
    let (b, _) = segment(&mut g, &images, 5, 1, 1000).unwrap();
    // The same scores in any batch size (up to the matrix products' rounding).
    assert_eq!(a.shape(), [2, 1, 12, 12]);
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5));
    assert_eq!(seconds.len(), 2);
    for (i, y, x) in [(0, 0, 0), (0, 5, 7), (1, 11, 3), (1, 6, 6)] {
        let mut v = Vec::new();
        push_patch(&mut v, images.index_axis(Axis(0), i), y, x, 5);
        let one = Array4::from_shape_vec((1, 2, 5, 5), v).unwrap();
        let l = g.forward(&one, Mode::Eval).unwrap().clone();
        let want = l[[0, 1, 0, 0]] - l[[0, 0, 0, 0]];
        assert!((a[[i, 0, y, x]] - want).abs() < 1e-5, "pixel {i} {y} {x}");
    }
    // Class scores per class for one-hot masks.
    let (k, _) = segment(&mut g, &images, 5, 2, 64).unwrap();
    assert_eq!(k.shape(), [2, 2, 12, 12]);
    // A segmentation net is not a patch classifier.
    let fcn = ModelSpec {
        input: [2, 5, 5],
        nodes: vec![NodeSpec::new("c", NodeKind::conv(2, 3, 1))],
    };
    let mut g = Graph::<f32>::new(&fcn).unwrap();
    assert!(segment(&mut g, &images, 5, 1, 64).is_err());
}

/// The patch preset validates on the U-Net's validation images: the same images, split the
/// same way, and no validation patch from a training image.
#[test]
fn the_patch_preset_splits_the_images_of_vessels_unet() {
    let patches = preset("vessels-patches");
    let unet = preset("vessels-unet");
    let (_, unet_val) = load(&unet.data).unwrap();
    let (whole_train, whole_val) = whole_images(&patches.data).unwrap().unwrap();
    assert_eq!(whole_val.inputs, unet_val.inputs);
    let (train, val) = load(&patches.data).unwrap();
    let per = patches.data.patches.unwrap().per_image;
    assert_eq!(train.len(), whole_train.len() * per);
    assert_eq!(val.len(), whole_val.len() * per);
    assert!(whole_images(&unet.data).unwrap().is_none());
}

/// The walkthrough's numbers (`cargo test --release --test patches -- --ignored
/// --nocapture`): both presets trained as `convlab train` trains them, then IoU and time per
/// image on the same first validation images.
#[test]
#[ignore]
fn measure_the_patch_classifier_against_the_unet() {
    use convlab::viz::views::segmentation::{MAX_PATCH_IMAGES, compute, compute_patches};
    let train = |name: &str| {
        let p = preset(name);
        let mut t = convlab::train::Trainer::new(&p).unwrap();
        t.set_threads(2);
        let start = std::time::Instant::now();
        for _ in 0..p.training.epochs {
            t.run_epoch(|_| {}).unwrap();
        }
        eprintln!("{name}: trained in {:.1} s", start.elapsed().as_secs_f64());
        (p, t)
    };
    let (p, mut t) = train("vessels-patches");
    let (_, whole_val) = whole_images(&p.data).unwrap().unwrap();
    let patch = p.data.patches.unwrap().size;
    let ps = compute_patches(t.graph_mut(), &whole_val, patch, 0.5, 1024).unwrap();
    let (_, mut u) = train("vessels-unet");
    let first = whole_val.select(&(0..MAX_PATCH_IMAGES).collect::<Vec<_>>());
    let us = compute(u.graph_mut(), &first, 0.5, 1).unwrap();
    let val = u.val.clone();
    let all = compute(u.graph_mut(), &val, 0.5, 32).unwrap();
    for (what, s) in [("patches", &ps), ("u-net", &us), ("u-net, 64 images", &all)] {
        eprintln!(
            "{what}: vessel IoU {:.3}, mean IoU {:.3}, {:.4} s per image; per image {:?}",
            s.total.iou[1].unwrap(),
            s.total.mean_iou,
            s.seconds_per_image,
            s.per_image
                .iter()
                .map(|i| format!("{:.3}", i.iou[1].unwrap_or(0.0)))
                .collect::<Vec<_>>()
        );
    }
    assert!(ps.total.iou[1].unwrap() > 0.6 && us.total.iou[1].unwrap() > 0.6);
}

/// The segmentation view of a patch preset (as `convlab render` draws it): the whole
/// validation images, segmented pixel by pixel, scored and timed.
#[test]
fn the_segmentation_view_segments_whole_images_with_a_patch_classifier() {
    use convlab::viz::views::segmentation::{MAX_PATCH_IMAGES, compute_patches, render};
    let p = preset("vessels-patches");
    let mut g = Graph::<f32>::new(&p.model).unwrap();
    initialize(&mut g, Init::He, 1);
    let (_, whole_val) = whole_images(&p.data).unwrap().unwrap();
    let scores = compute_patches(&mut g, &whole_val, 15, 0.5, 1024).unwrap();
    assert_eq!(scores.len(), MAX_PATCH_IMAGES);
    assert_eq!(scores.logits.shape(), [MAX_PATCH_IMAGES, 1, 64, 64]);
    assert_eq!(scores.patch, Some(15));
    assert!(scores.seconds_per_image > 0.0);
    let line = convlab::viz::views::segmentation::method_line(&scores);
    assert!(
        line.contains("15×15") && line.contains("4096 pixels"),
        "{line}"
    );
    let img = render(&mut g, &whole_val, Some(1), Some(15)).unwrap();
    assert!(img.width > 200 && img.height > 100);
    // The patch set itself has labels, not masks: without the whole images the view says so.
    let (_, val) = load(&p.data).unwrap();
    assert!(render(&mut g, &val, None, None).is_err());
}

/// `convlab eval` on a patch preset reports, besides the patch accuracy, the whole-image
/// IoU of the first validation images segmented pixel by pixel (the library's number for
/// the checkpoint's weights) and the seconds each image took, in JSON and in the text.
#[test]
fn eval_of_a_patch_preset_reports_whole_image_iou_and_seconds_per_image() {
    use convlab::viz::views::segmentation::{MAX_PATCH_IMAGES, compute_patches};
    let dir = std::env::temp_dir().join(format!("convlab-patch-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("patches.safetensors");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_convlab"))
            .args(args)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let preset_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/vessels-patches.toml");
    let ck_str = ck.to_str().unwrap();
    run(&[
        "train",
        preset_path.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        ck_str,
    ]);
    let v: serde_json::Value = serde_json::from_str(&run(&["eval", ck_str, "--json"])).unwrap();
    assert_eq!(v["metric"], "accuracy", "{v}");
    let iou = v["whole_image_iou"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&iou), "{v}");
    for key in ["whole_image_dice", "whole_image_foreground_iou"] {
        let x = v[key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&x), "{key}: {v}");
    }
    assert!(v["seconds_per_image"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    assert_eq!(v["whole_images"].as_f64(), Some(MAX_PATCH_IMAGES as f64));
    // The same IoU as the library's for the checkpoint's weights.
    let p = preset("vessels-patches");
    let saved = convlab::checkpoint::Checkpoint::load(&ck).unwrap();
    let mut g = Graph::<f32>::new(&p.model).unwrap();
    for (name, value) in &saved.params {
        g.set_param(name, value.clone()).unwrap();
    }
    let (_, whole_val) = whole_images(&p.data).unwrap().unwrap();
    let scores = compute_patches(&mut g, &whole_val, 15, 0.5, 1024).unwrap();
    assert!(
        (scores.total.mean_iou - iou).abs() < 1e-12,
        "{iou} against {}",
        scores.total.mean_iou
    );
    let text = run(&["eval", ck_str]);
    assert!(
        text.contains("whole_image_iou") && text.contains("seconds_per_image"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
