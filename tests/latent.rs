//! The VAE side of issue 17: the latent view decodes the lattice it claims (a decoder with
//! hand-set weights that writes z into its pixels), the decoder runs alone after the
//! sampling node, the ELBO terms of a short run add up to its loss, and the reconstruction
//! option keeps the labels findable. (No PyTorch on the machine this was written on: the
//! closed forms and finite differences of tests/gradient_check.rs stand in for fixtures.)

use convlab::data::load::{class_labels, load};
use convlab::data::{Dataset, Targets};
use convlab::engine::{Graph, ModelSpec, NodeSpec};
use convlab::inspect::latent::{codes, decode, lattice};
use convlab::spec::Preset;
use convlab::train::Trainer;
use convlab::viz::draw::pixel;
use convlab::viz::views::latent::{LatentOptions, compute, manifold};
use ndarray::{ArrayD, IxDyn};

/// Input [4, 1, 1] = (μ0, μ1, log σ²0, log σ²1) → z [2, 1, 1] → a 1×2 image whose pixels
/// are 0.5 + z0 and 0.5 + z1 (a transposed conv with a 1×2 kernel, weights set by hand).
fn known_decoder() -> Graph<f32> {
    let spec = ModelSpec {
        input: [4, 1, 1],
        nodes: serde_json::from_str::<Vec<NodeSpec>>(
            r#"[
            {"name": "z", "kind": "sample"},
            {"name": "dec", "kind": "conv_transpose2d", "out_channels": 1, "kernel": [1, 2]}
        ]"#,
        )
        .unwrap(),
    };
    let mut g = Graph::<f32>::new(&spec).unwrap();
    let mut w = ArrayD::<f32>::zeros(IxDyn(&[2, 1, 1, 2]));
    w[[0, 0, 0, 0]] = 1.0;
    w[[1, 0, 0, 1]] = 1.0;
    g.set_param("dec.weight", w).unwrap();
    g.set_param("dec.bias", ArrayD::from_elem(IxDyn(&[1]), 0.5))
        .unwrap();
    g
}

fn points(mu: &[[f32; 2]], labels: Vec<usize>) -> Dataset {
    let mut x = ndarray::Array4::<f32>::zeros((mu.len(), 4, 1, 1));
    for (i, m) in mu.iter().enumerate() {
        x[[i, 0, 0, 0]] = m[0];
        x[[i, 1, 0, 0]] = m[1];
        x[[i, 2, 0, 0]] = -1.0;
        x[[i, 3, 0, 0]] = 0.5;
    }
    Dataset {
        name: "codes".into(),
        inputs: x,
        targets: Targets::Labels(labels),
        class_names: vec!["a".into(), "b".into()],
    }
}

#[test]
fn the_latent_grid_decodes_the_lattice_it_claims() {
    let mut g = known_decoder();
    let set = points(&[[0.1, -0.2], [0.3, 0.4]], vec![0, 1]);
    // The codes are the input's halves, the KL the closed form.
    let c = codes(&mut g, &set.inputs).unwrap();
    assert_eq!(c.mu.row(1).to_vec(), vec![0.3, 0.4]);
    assert_eq!(c.log_var.row(0).to_vec(), vec![-1.0, 0.5]);
    let kl0 = -0.5 * ((1.0 - 1.0 - 0.01 - (-1.0f64).exp()) + (1.0 + 0.5 - 0.04 - 0.5f64.exp()));
    assert!((c.kl_per_image()[0] - kl0).abs() < 1e-6);
    let opts = LatentOptions {
        grid: Some(5),
        extent: Some(0.5),
        ..LatentOptions::default()
    };
    let data = compute(&mut g, &set, None, &opts).unwrap();
    let z = lattice(5, 0.5, 2);
    assert_eq!(data.manifold.shape(), &[25, 1, 1, 2]);
    for r in 0..5 {
        for col in 0..5 {
            let k = r * 5 + col;
            // Decoded values are the lattice point (plus the bias 0.5)…
            let (z0, z1) = (z[[k, 0]], z[[k, 1]]);
            assert!((data.manifold[[k, 0, 0, 0]] - (0.5 + z0)).abs() < 1e-6);
            assert!((data.manifold[[k, 0, 0, 1]] - (0.5 + z1)).abs() < 1e-6);
            // …left to right z0 grows, top to bottom z1 falls…
            assert!((z0 - (-0.5 + 0.25 * col as f32)).abs() < 1e-6);
            assert!((z1 - (0.5 - 0.25 * r as f32)).abs() < 1e-6);
            // …and the tile drawn in row r, column c of the figure shows exactly that.
            let img = manifold(&data, 3);
            let [p0, _, _, _] = pixel(&img, col * 6 + 1, r * 3 + 1).unwrap();
            let [p1, _, _, _] = pixel(&img, col * 6 + 4, r * 3 + 1).unwrap();
            assert_eq!(p0, ((0.5 + z0) * 255.0).round() as u8, "tile ({r}, {col})");
            assert_eq!(p1, ((0.5 + z1) * 255.0).round() as u8, "tile ({r}, {col})");
        }
    }
    // The interpolation runs from image 0's μ to image 1's (another class).
    assert_eq!(data.ends, (0, 1));
    let first = &data.between;
    assert!((first[[0, 0, 0, 0]] - 0.6).abs() < 1e-6);
    let last = first.shape()[0] - 1;
    assert!((first[[last, 0, 0, 1]] - 0.9).abs() < 1e-6);
    // A picked point decodes to itself.
    let picked = compute(
        &mut g,
        &set,
        Some(1),
        &LatentOptions {
            point: Some([0.25, -0.125]),
            ..opts
        },
    )
    .unwrap();
    let (_, img) = picked.point.unwrap();
    assert_eq!(img.iter().copied().collect::<Vec<_>>(), vec![0.75, 0.375]);
    assert_eq!(
        picked
            .frame
            .to_latent(
                picked.frame.to_pixel(0.3, -0.4).0,
                picked.frame.to_pixel(0.3, -0.4).1
            )
            .map(|p| (p[0] * 100.0).round()),
        Some(30.0)
    );
}

#[test]
fn decoding_needs_a_decoder_of_the_code_alone() {
    let mut g = known_decoder();
    let z = ndarray::arr2(&[[1.0f32, 2.0], [0.0, 0.0]]);
    let y = decode(&mut g, &z).unwrap();
    assert_eq!(
        y.iter().copied().collect::<Vec<_>>(),
        vec![1.5, 2.5, 0.5, 0.5]
    );
    assert!(decode(&mut g, &ndarray::arr2(&[[1.0f32, 2.0, 3.0]])).is_err());
    // A model without a sampling node has no latent space.
    let spec = ModelSpec {
        input: [2, 1, 1],
        nodes: serde_json::from_str::<Vec<NodeSpec>>(
            r#"[{"name": "d", "kind": "dense", "out_features": 2}]"#,
        )
        .unwrap(),
    };
    let mut plain = Graph::<f32>::new(&spec).unwrap();
    assert!(decode(&mut plain, &z).is_err());
}

#[test]
fn reconstruct_makes_images_their_own_targets_and_keeps_the_labels_findable() {
    let mut preset: Preset = toml::from_str(include_str!("../presets/vae-digits.toml")).unwrap();
    preset.data.source = toml::from_str("source = \"digits\"\nlimit = 200").unwrap();
    let (train, val) = load(&preset.data).unwrap();
    let Targets::Dense(t) = &val.targets else {
        panic!("reconstruction targets are images")
    };
    assert_eq!(t, &val.inputs);
    assert_eq!(train.len() + val.len(), 200);
    let (labels, names) = class_labels(&preset.data).unwrap().unwrap();
    assert_eq!(labels.len(), val.len());
    assert_eq!(names.len(), 10);
    // The same images in the same order as the labelled split.
    let mut plain = preset.data.clone();
    plain.reconstruct = false;
    let (_, labelled) = load(&plain).unwrap();
    assert_eq!(labelled.inputs, val.inputs);
    assert_eq!(labelled.targets, Targets::Labels(labels));
}

#[test]
fn elbo_terms_of_a_short_vae_run_add_up_to_its_loss() {
    let mut preset: Preset = toml::from_str(include_str!("../presets/vae-digits.toml")).unwrap();
    preset.data.source = toml::from_str("source = \"digits\"\nlimit = 300").unwrap();
    preset.training.kl_warmup_epochs = 2;
    let mut trainer = Trainer::new(&preset).unwrap();
    assert!(trainer.is_vae());
    let beta = preset.training.kl_weight;
    for epoch in 1..=2 {
        let r = trainer.run_epoch(|_| {}).unwrap();
        let e = r.elbo.expect("a VAE's epochs carry their ELBO terms");
        let b = preset.training.kl_weight_at(epoch);
        assert!((e.train_recon + b * e.train_kl - r.train_loss).abs() < 1e-9);
        assert!((e.val_recon + beta * e.val_kl - r.val_loss).abs() < 1e-6);
        assert!(e.train_kl > 0.0 && e.val_kl > 0.0);
        assert!(
            (e.val_recon - r.val_metric).abs() < 1e-6,
            "MSE is the metric"
        );
    }
    // Without a KL weight there are no terms.
    let mut plain = preset.clone();
    plain.training.kl_weight = 0.0;
    let mut t = Trainer::new(&plain).unwrap();
    assert!(t.run_epoch(|_| {}).unwrap().elbo.is_none());
}

/// The window's latent tab: the scatter's origin in the picture is where the codes are
/// drawn (a click there maps back to the latent plane), the labels come from the source,
/// and a picked point is decoded.
#[test]
fn the_window_maps_a_click_on_the_scatter_to_the_latent_plane() {
    use convlab::train::messages::{InspectContext, Inspector, Latest};
    use convlab::ui::inspector::{InputChoice, ViewInspector, ViewSettings};
    use convlab::viz::views::latent::CLASS_COLORS;
    let mut preset: Preset = toml::from_str(include_str!("../presets/vae-digits.toml")).unwrap();
    preset.data.source = toml::from_str("source = \"digits\"\nlimit = 300").unwrap();
    let mut trainer = Trainer::new(&preset).unwrap();
    trainer.run_epoch(|_| {}).unwrap();
    let (train, val) = (trainer.train.clone(), trainer.val.clone());
    let mut graph = trainer.graph().clone();
    let (labels, _) = class_labels(&preset.data).unwrap().unwrap();
    let c = codes(&mut graph, &val.inputs).unwrap();
    let run = |graph: &mut Graph<f32>, point: Option<[f32; 2]>| {
        let out = Latest::default();
        let mut inspector = ViewInspector {
            settings: ViewSettings {
                tab: convlab::spec::view::ViewId::Latent,
                input: InputChoice::Sample(0),
                latent_point: point,
                ..ViewSettings::default()
            },
            out: out.clone(),
            anomaly_cache: Default::default(),
            seg_threshold: 0.5,
            classical_cache: Default::default(),
        };
        inspector.inspect(InspectContext {
            graph,
            preset: &preset,
            train: &train,
            val: &val,
            epochs_done: 1,
            total_steps: 0,
        });
        out.get().expect("a result")
    };
    let r = run(&mut graph, None);
    assert!(r.error.is_none(), "{:?}", r.error);
    let img = r.image.clone().unwrap();
    let ((ox, oy), frame) = r.latent.expect("the scatter's place");
    // The last code drawn sits where the frame says, in its class's colour.
    let last = val.len().min(1000) - 1;
    let (x, y) = frame.to_pixel(c.mu[[last, 0]], c.mu[[last, 1]]);
    let [cr, cg, cb] = CLASS_COLORS[labels[last] % 10];
    let at = pixel(&img, ox + x.round() as usize, oy + y.round() as usize).unwrap();
    assert_eq!(at, [cr, cg, cb, 255]);
    let back = frame.to_latent(x, y).unwrap();
    assert!((back[0] - c.mu[[last, 0]]).abs() < 1e-4 && (back[1] - c.mu[[last, 1]]).abs() < 1e-4);
    // A picked point adds its decoded image below.
    let picked = run(&mut graph, Some(back));
    assert!(picked.image.as_ref().unwrap().height > img.height);
}
