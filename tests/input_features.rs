//! Hand-made input features: with x·y beside x and y, XOR is linearly separable, so a
//! single linear unit (no hidden layer) solves what otherwise needs one.

use convlab::data::features::point_inputs;
use convlab::data::load::{load, load_source};
use convlab::data::synthetic::{PointPattern, points};
use convlab::spec::Preset;
use convlab::train::Trainer;

/// XOR points into one dense layer of two outputs (no hidden layer), with `features`.
fn single_linear_unit(features: &str, channels: usize) -> Preset {
    let text = format!(
        r#"
version = 1
name = "xor-features"

[model]
input = [{channels}, 1, 1]

[[model.nodes]]
name = "out"
kind = "dense"
out_features = 2

[data]
source = "points"
pattern = "xor"
samples = 400
noise = 0.12
features = [{features}]
val_fraction = 0.25
seed = 3

[training]
loss = "cross_entropy"
optimizer = {{ kind = "sgd", momentum = 0.9 }}
learning_rate = 0.1
batch_size = 16
epochs = 15
init = {{ kind = "glorot" }}
seed = 3
"#
    );
    Preset::parse(&text, "test").unwrap()
}

fn validation_accuracy(preset: &Preset) -> f64 {
    let mut t = Trainer::new(preset).unwrap();
    for _ in 0..preset.training.epochs {
        t.run_epoch(|_| {}).unwrap();
    }
    t.history.epochs.last().unwrap().val_metric
}

#[test]
fn with_x_times_y_one_linear_unit_separates_xor_and_without_it_cannot() {
    let with = validation_accuracy(&single_linear_unit(r#""xy""#, 3));
    assert!(with >= 0.95, "with x·y: validation accuracy {with:.3}");
    let without = validation_accuracy(&single_linear_unit("", 2));
    assert!(
        without < 0.8,
        "without features: validation accuracy {without:.3}"
    );
}

#[test]
fn no_features_give_the_generated_points_unchanged_and_are_not_written() {
    let plain = single_linear_unit("", 2);
    let made = load_source(&plain.data).unwrap();
    let generated = points(PointPattern::Xor, 400, 0.12, 3).unwrap();
    assert_eq!(made.inputs, generated.inputs);
    // Saved presets and checkpoints stay as they were before the option existed.
    let text = plain.to_toml();
    assert!(!text.contains("\nfeatures"), "{text}");
    assert_eq!(Preset::parse(&text, "test").unwrap().data, plain.data);
}

#[test]
fn features_add_channels_after_x_and_y() {
    let p = single_linear_unit(r#""sin_y", "x2""#, 4);
    let (train, _) = load(&p.data).unwrap();
    assert_eq!(train.sample_shape(), [4, 1, 1]);
    for i in 0..train.len() {
        let (x, y) = (train.inputs[[i, 0, 0, 0]], train.inputs[[i, 1, 0, 0]]);
        assert_eq!(train.inputs[[i, 2, 0, 0]], x * x);
        assert_eq!(train.inputs[[i, 3, 0, 0]], y.sin());
    }
}

#[test]
fn a_view_rebuilds_every_samples_channels_from_x_y_and_the_sources_features() {
    // How a view that draws the input plane feeds the model: x, y and the source's features.
    let p = single_linear_unit(r#""sin_y", "xy", "x2""#, 5);
    let chosen = p.data.source.source().input_features();
    assert_eq!(chosen.len(), 3);
    let (train, _) = load(&p.data).unwrap();
    for i in 0..train.len() {
        let (x, y) = (train.inputs[[i, 0, 0, 0]], train.inputs[[i, 1, 0, 0]]);
        let sample: Vec<f32> = (0..5).map(|c| train.inputs[[i, c, 0, 0]]).collect();
        assert_eq!(point_inputs(x, y, chosen), sample);
    }
}
