//! Small presets reach their stated targets at a fixed seed, and runs are reproducible.

use std::path::{Path, PathBuf};

use convlab::checkpoint::Checkpoint;
use convlab::spec::Preset;
use convlab::train::Trainer;

fn preset(name: &str) -> Preset {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("presets")
        .join(format!("{name}.toml"));
    Preset::load(&path).unwrap()
}

fn train_all(preset: &Preset) -> Trainer {
    let mut t = Trainer::new(preset).unwrap();
    for _ in 0..preset.training.epochs {
        t.run_epoch(|_| {}).unwrap();
    }
    t
}

#[test]
fn xor_mlp_reaches_full_accuracy() {
    let t = train_all(&preset("xor-mlp"));
    let last = t.history.epochs.last().unwrap();
    assert_eq!(last.metric, "accuracy");
    assert_eq!(last.train_metric, 1.0, "{last:?}");
    assert_eq!(last.val_metric, 1.0, "{last:?}");
}

#[test]
fn digits_lenet_reaches_96_percent_validation_accuracy() {
    let p = preset("digits-lenet");
    let t = train_all(&p);
    let last = t.history.epochs.last().unwrap();
    assert_eq!(t.history.epochs.len(), p.training.epochs);
    assert!(
        last.val_metric >= 0.96,
        "validation accuracy {:.4}",
        last.val_metric
    );
    assert_eq!(t.val.len(), 1000);
}

#[test]
fn shapes_cnn_learns_the_four_shapes() {
    let t = train_all(&preset("shapes-cnn"));
    assert!(t.history.epochs.last().unwrap().val_metric >= 0.9);
}

#[test]
fn the_same_seed_gives_bit_identical_loss_histories() {
    let mut p = preset("shapes-cnn");
    p.training.epochs = 2;
    let losses = |p: &Preset| {
        let t = train_all(p);
        t.history
            .epochs
            .iter()
            .map(|e| (e.train_loss.to_bits(), e.val_loss.to_bits()))
            .collect::<Vec<_>>()
    };
    let a = losses(&p);
    assert_eq!(a, losses(&p));
    p.training.seed += 1;
    assert_ne!(a, losses(&p));
}

#[test]
fn checkpoints_round_trip_and_reject_damage() {
    let mut p = preset("xor-mlp");
    p.training.epochs = 3;
    let t = train_all(&p);
    let dir = std::env::temp_dir().join(format!("convlab-ck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("xor.safetensors");
    let ck = Checkpoint::from_graph(&t.preset, t.graph(), &t.history);
    ck.save(&path).unwrap();
    let back = Checkpoint::load(&path).unwrap();
    assert_eq!(back.preset, t.preset);
    assert_eq!(back.history, t.history);
    for ((a, va), (b, vb)) in ck.params.iter().zip(&back.params) {
        assert_eq!(a, b);
        assert_eq!(va, vb);
    }
    let bytes = std::fs::read(&path).unwrap();
    let damaged = |b: &[u8]| {
        Checkpoint::from_bytes(b, "bad.safetensors")
            .unwrap_err()
            .to_string()
    };
    assert!(damaged(&bytes[..bytes.len() / 2]).contains("bad.safetensors"));
    assert!(damaged(b"").contains("bad.safetensors"));
    let mut wrong = ck.clone();
    wrong.params.pop();
    assert!(damaged(&wrong.to_bytes()).contains("missing"));
    let mut extra = ck.clone();
    extra.params.push((
        "ghost.weight".into(),
        ndarray::ArrayD::zeros(ndarray::IxDyn(&[2])),
    ));
    assert!(damaged(&extra.to_bytes()).contains("ghost.weight"));
    let mut nan = ck.clone();
    nan.params[0].1.fill(f32::NAN);
    assert!(damaged(&nan.to_bytes()).contains("NaN"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = Path::new("");
}

#[test]
fn a_diverging_run_stops_before_the_weights_change() {
    let p = Preset::parse(
        r#"
version = 1
name = "diverge"
[model]
input = [1, 1, 1]
[[model.nodes]]
name = "hidden"
kind = "dense"
out_features = 16
[[model.nodes]]
name = "act"
kind = "relu"
[[model.nodes]]
name = "out"
kind = "dense"
out_features = 1
[data]
source = "function"
function = "sine"
samples = 200
[training]
loss = "mse"
optimizer = { kind = "sgd" }
learning_rate = 50.0
epochs = 1
"#,
        "diverge.toml",
    )
    .unwrap();
    let mut t = Trainer::new(&p).unwrap();
    let mut last_good = t
        .graph()
        .params()
        .iter()
        .map(|p| p.value.clone())
        .collect::<Vec<_>>();
    for _ in 0..10_000 {
        match t.step() {
            Ok(_) => last_good = t.graph().params().iter().map(|p| p.value.clone()).collect(),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("at epoch") && msg.contains("lower learning rate"),
                    "{msg}"
                );
                let now: Vec<_> = t.graph().params().iter().map(|p| p.value.clone()).collect();
                assert_eq!(now, last_good);
                return;
            }
        }
    }
    panic!("expected the run to diverge");
}
