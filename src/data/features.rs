//! Hand-made input features for 2-D points: x², y², x·y, sin x, sin y, appended as extra
//! input channels after x and y. The lecture opens with handcrafted versus learned
//! features; with x·y added, XOR becomes linearly separable and a single linear unit
//! solves it, which otherwise needs a hidden layer.

use ndarray::Array4;
use serde::{Deserialize, Serialize};

use super::Dataset;
use super::sources::options::Switches;

/// One derived input. Whatever order a preset lists them in, the channels follow
/// [`InputFeature::ALL`]'s order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InputFeature {
    #[serde(rename = "x2")]
    XSquared,
    #[serde(rename = "y2")]
    YSquared,
    #[serde(rename = "xy")]
    XTimesY,
    #[serde(rename = "sin_x")]
    SinX,
    #[serde(rename = "sin_y")]
    SinY,
}

impl InputFeature {
    pub const ALL: [InputFeature; 5] = [
        InputFeature::XSquared,
        InputFeature::YSquared,
        InputFeature::XTimesY,
        InputFeature::SinX,
        InputFeature::SinY,
    ];

    /// Its name in the data panel.
    pub fn name(self) -> &'static str {
        match self {
            InputFeature::XSquared => "x²",
            InputFeature::YSquared => "y²",
            InputFeature::XTimesY => "x·y",
            InputFeature::SinX => "sin x",
            InputFeature::SinY => "sin y",
        }
    }

    /// Its value at the point `(x, y)`.
    pub fn at(self, x: f32, y: f32) -> f32 {
        match self {
            InputFeature::XSquared => x * x,
            InputFeature::YSquared => y * y,
            InputFeature::XTimesY => x * y,
            InputFeature::SinX => x.sin(),
            InputFeature::SinY => y.sin(),
        }
    }
}

/// The features switched on in `chosen`, in channel order (each once).
pub fn in_channel_order(chosen: &[InputFeature]) -> Vec<InputFeature> {
    InputFeature::ALL
        .into_iter()
        .filter(|f| chosen.contains(f))
        .collect()
}

/// The input channels of one point: x, y, then the chosen features in channel order. A
/// view that evaluates a model over the plane builds its inputs with this.
pub fn point_inputs(x: f32, y: f32, chosen: &[InputFeature]) -> Vec<f32> {
    let mut v = vec![x, y];
    v.extend(in_channel_order(chosen).into_iter().map(|f| f.at(x, y)));
    v
}

/// `data` (points `[n, 2, 1, 1]`) with the chosen features appended as channels; unchanged
/// when none are chosen.
pub fn with_features(data: Dataset, chosen: &[InputFeature]) -> Dataset {
    let features = in_channel_order(chosen);
    if features.is_empty() {
        return data;
    }
    let n = data.len();
    let inputs = Array4::from_shape_fn((n, 2 + features.len(), 1, 1), |(i, c, _, _)| {
        let (x, y) = (data.inputs[[i, 0, 0, 0]], data.inputs[[i, 1, 0, 0]]);
        match c {
            0 => x,
            1 => y,
            _ => features[c - 2].at(x, y),
        }
    });
    Dataset { inputs, ..data }
}

/// The features as the data panel's row of switches.
pub struct FeatureSwitches<'a>(pub &'a mut Vec<InputFeature>);

impl Switches for FeatureSwitches<'_> {
    fn names(&self) -> Vec<&'static str> {
        InputFeature::ALL.iter().map(|f| f.name()).collect()
    }
    fn is_on(&self, index: usize) -> bool {
        InputFeature::ALL
            .get(index)
            .is_some_and(|f| self.0.contains(f))
    }
    fn set(&mut self, index: usize, on: bool) {
        let Some(&f) = InputFeature::ALL.get(index) else {
            return;
        };
        self.0.retain(|&g| g != f);
        if on {
            self.0.push(f);
        }
        *self.0 = in_channel_order(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;

    fn two_points() -> Dataset {
        let inputs = Array4::from_shape_vec((2, 2, 1, 1), vec![0.5, -2.0, 3.0, 1.0]).unwrap();
        Dataset {
            name: "p".into(),
            inputs,
            targets: Targets::Labels(vec![0, 1]),
            class_names: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn features_follow_x_and_y_in_channel_order_whatever_order_they_were_listed_in() {
        let data = with_features(
            two_points(),
            &[
                InputFeature::SinY,
                InputFeature::XTimesY,
                InputFeature::SinY,
            ],
        );
        assert_eq!(data.sample_shape(), [4, 1, 1]);
        let row: Vec<f32> = (0..4).map(|c| data.inputs[[0, c, 0, 0]]).collect();
        assert_eq!(row, [0.5, -2.0, -1.0, (-2.0f32).sin()]);
        assert_eq!(
            point_inputs(0.5, -2.0, &[InputFeature::SinY, InputFeature::XTimesY]),
            row
        );
    }

    #[test]
    fn no_features_leave_the_points_untouched() {
        let before = two_points();
        let after = with_features(before.clone(), &[]);
        assert_eq!(after.inputs, before.inputs);
    }

    #[test]
    fn switches_keep_each_feature_once_in_channel_order() {
        let mut chosen = vec![];
        let mut s = FeatureSwitches(&mut chosen);
        s.set(4, true);
        s.set(0, true);
        s.set(4, true);
        assert!(s.is_on(0) && !s.is_on(1) && s.is_on(4));
        s.set(0, false);
        assert_eq!(chosen, [InputFeature::SinY]);
    }
}
