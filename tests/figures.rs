//! Figures: what the window's "Save PNG…" writes is byte for byte what `convlab render`
//! writes for the same view, weights and input; the curves' CSV has one row per epoch.
//!
//! The window computes a view on the trainer thread with its `ViewInspector`; here the same
//! inspector runs on the same weights (a checkpoint saved first), and its picture goes
//! through the export's encoder. Like with like: the window's defaults (overlay opacity
//! 0.6, shift (2, 2), the class of the sample's label, the data's class names) are the
//! command's defaults, so no option is given to either.

use std::path::Path;
use std::process::Command;

use convlab::checkpoint::Checkpoint;
use convlab::spec::view::ViewId;
use convlab::train::messages::{InspectContext, Inspector, Latest};
use convlab::train::{EpochRecord, History};
use convlab::ui::figures::{FigureData, curves_csv, curves_picture, encode};
use convlab::ui::inspector::{InputChoice, ViewInspector, ViewSettings};

fn epochs(n: usize) -> Vec<EpochRecord> {
    (1..=n)
        .map(|k| EpochRecord {
            epoch: k,
            train_loss: 1.0 / k as f64,
            val_loss: 1.1 / k as f64,
            train_metric: 0.5 + 0.1 * k as f64,
            val_metric: 0.45 + 0.1 * k as f64,
            metric: "accuracy".into(),
            images_per_s: 1000.0,
            seconds: 1.0,
            learning_rate: 0.01,
            elbo: None,
        })
        .collect()
}

/// A checkpoint of `preset`'s freshly initialised weights with a short made-up history.
fn checkpoint(preset: &str, dir: &Path) -> std::path::PathBuf {
    let (ck, _) = Checkpoint::open(Path::new(preset), None).unwrap();
    let graph = ck.graph().unwrap();
    let history = History { epochs: epochs(3) };
    let path = dir.join(format!(
        "{}.safetensors",
        Path::new(preset).file_stem().unwrap().to_string_lossy()
    ));
    Checkpoint::from_graph(&ck.preset, &graph, &history)
        .save(&path)
        .unwrap();
    path
}

fn render_cli(ck: &Path, view: ViewId, out: &Path, extra: &[&str]) -> Vec<u8> {
    let status = Command::new(env!("CARGO_BIN_EXE_convlab"))
        .arg("render")
        .arg(ck)
        .args(["--view", view.name(), "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read(out).unwrap()
}

/// The window's picture of `view` for validation sample 0 of the checkpoint's model, as the
/// export encodes it at 1×.
fn window_png(ck: &Path, view: ViewId) -> Vec<u8> {
    let (ck, _) = Checkpoint::open(ck, None).unwrap();
    let mut graph = ck.graph().unwrap();
    let (train, val) = convlab::data::load::load(&ck.preset.data).unwrap();
    let out = Latest::default();
    let mut inspector = ViewInspector {
        settings: ViewSettings {
            tab: view,
            input: InputChoice::Sample(0),
            features: ck.preset.data.source.source().input_features().to_vec(),
            ..ViewSettings::default()
        },
        out: out.clone(),
        anomaly_cache: Default::default(),
        seg_threshold: 0.5,
        classical_cache: Default::default(),
    };
    inspector.inspect(InspectContext {
        graph: &mut graph,
        preset: &ck.preset,
        train: &train,
        val: &val,
        epochs_done: 3,
        total_steps: 0,
    });
    let result = out.get().expect("a result");
    if let Some(e) = &result.error {
        panic!("{view}: {e}");
    }
    let img = result.image.clone().expect("a picture");
    encode(&FigureData::Picture(img), 1).unwrap()
}

#[test]
fn exported_views_equal_convlab_render() {
    let dir = std::env::temp_dir().join(format!("convlab-figures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lenet = checkpoint("presets/digits-lenet.toml", &dir);
    for view in [
        ViewId::Saliency,
        ViewId::Occlusion,
        ViewId::Filters,
        ViewId::Gradients,
        ViewId::Covariance,
        ViewId::ReceptiveField,
        ViewId::Prediction,
    ] {
        let cli = render_cli(
            &lenet,
            view,
            &dir.join(format!("{}.png", view.name())),
            &["--sample", "0"],
        );
        assert!(
            window_png(&lenet, view) == cli,
            "{view}: the export differs from convlab render"
        );
    }
    // A view over the data set, on a point set with hand-made features.
    let spirals = checkpoint("presets/spirals-mlp.toml", &dir);
    let cli = render_cli(&spirals, ViewId::Decision, &dir.join("decision.png"), &[]);
    assert!(
        window_png(&spirals, ViewId::Decision) == cli,
        "decision differs"
    );
    // The curves: the window draws its run's epochs as the command draws a checkpoint's.
    let cli = render_cli(&lenet, ViewId::Training, &dir.join("training.png"), &[]);
    let window = encode(&FigureData::Picture(curves_picture(&epochs(3)).unwrap()), 1).unwrap();
    assert!(window == cli, "training curves differ");
    // 2×: twice the size each way, and still a PNG.
    let twice = encode(&FigureData::Picture(curves_picture(&epochs(3)).unwrap()), 2).unwrap();
    let one = image::load_from_memory(&window).unwrap();
    let two = image::load_from_memory(&twice).unwrap();
    assert_eq!(
        (two.width(), two.height()),
        (2 * one.width(), 2 * one.height())
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn curves_csv_has_a_header_and_one_row_per_epoch() {
    let csv = curves_csv(&epochs(4));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,train_loss,val_loss,train_accuracy,val_accuracy"
    );
    assert_eq!(lines.len(), 5);
    for (k, line) in lines[1..].iter().enumerate() {
        let fields: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        assert_eq!(fields.len(), 5);
        assert_eq!(fields[0], (k + 1) as f64);
        assert_eq!(fields[1], 1.0 / (k + 1) as f64, "values round-trip");
    }
    assert!(curves_picture(&[]).is_err());
}
