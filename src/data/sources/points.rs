//! 2-D point sets: xor, circles, spirals, blobs (`source = "points"`, see
//! [`crate::data::synthetic::points`]), optionally with hand-made input features (see
//! [`crate::data::features`]).

use serde::{Deserialize, Serialize};

use super::options::{EnumChoice, OptionValue, SourceOption};
use super::{
    FolderChoice, InvalidOption, NOISE_TIP, SAMPLES_RANGE, SAMPLES_TIP, Source, check_noise,
    default_samples,
};
use crate::data::features::{FeatureSwitches, InputFeature, in_channel_order, with_features};
use crate::data::synthetic::{PointPattern, points};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Points {
    pub pattern: PointPattern,
    #[serde(default = "default_samples")]
    pub samples: usize,
    #[serde(default)]
    pub noise: f64,
    /// Derived inputs appended after x and y, e.g. `["xy"]`; none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<InputFeature>,
}

pub(crate) const FEATURES_TIP: &str = "Hand-made inputs computed from x and y, fed to the model \
    beside them (the model's input follows). With x·y, XOR needs no hidden layer: one linear \
    unit separates it";

impl Source for Points {
    fn title() -> &'static str {
        "2-D points (generated)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Points {
            pattern: PointPattern::Xor,
            samples: 400,
            noise: 0.1,
            features: Vec::new(),
        })
    }
    fn label(&self) -> String {
        format!("points ({})", self.pattern.name())
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        let data = points(self.pattern, self.samples, self.noise, seed)?;
        Ok(with_features(data, &self.features))
    }
    fn options(&mut self) -> Vec<SourceOption<'_>> {
        vec![
            SourceOption::new(
                "pattern",
                "The 2-D problem: xor and circles need a hidden layer (or a hand-made \
                 feature), spirals several, blobs are nearly linear",
                OptionValue::Choice(Box::new(EnumChoice {
                    value: &mut self.pattern,
                    all: &PointPattern::ALL,
                    name: PointPattern::name,
                })),
            ),
            SourceOption::new(
                "features",
                FEATURES_TIP,
                OptionValue::Switches(Box::new(FeatureSwitches(&mut self.features))),
            ),
            SourceOption::new(
                "samples",
                SAMPLES_TIP,
                OptionValue::Count(&mut self.samples, SAMPLES_RANGE),
            ),
            SourceOption::new(
                "noise",
                NOISE_TIP,
                OptionValue::Real(&mut self.noise, 0.0..=1.0, 0.01),
            ),
        ]
    }
    fn input_features(&self) -> &[InputFeature] {
        &self.features
    }
    fn sample_shape(&self) -> Option<[usize; 3]> {
        Some([2 + in_channel_order(&self.features).len(), 1, 1])
    }
}
