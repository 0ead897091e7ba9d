//! 1-D regression of a function: sine, step, abs, gauss (`source = "function"`, see
//! [`crate::data::synthetic::function_1d`]).

use serde::{Deserialize, Serialize};

use super::options::{NameChoice, OptionValue, SourceOption};
use super::{
    FolderChoice, InvalidOption, NOISE_TIP, SAMPLES_RANGE, SAMPLES_TIP, Source, check_noise,
    default_samples,
};
use crate::data::synthetic::{FUNCTIONS_1D, function_1d};
use crate::data::{DataError, Dataset};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    /// One of [`crate::data::synthetic::FUNCTIONS_1D`].
    pub function: String,
    #[serde(default = "default_samples")]
    pub samples: usize,
    #[serde(default)]
    pub noise: f64,
}

impl Source for Function {
    fn title() -> &'static str {
        "1-D function (regression)"
    }
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        Some(Function {
            function: "sine".into(),
            samples: 400,
            noise: 0.05,
        })
    }
    fn label(&self) -> String {
        format!("function ({})", self.function)
    }
    fn validate(&self) -> Result<(), InvalidOption> {
        check_noise(self.noise)
    }
    fn load(&self, seed: u64) -> Result<Dataset, DataError> {
        function_1d(&self.function, self.samples, self.noise, seed)
    }
    fn options(&mut self) -> Vec<SourceOption<'_>> {
        vec![
            SourceOption::new(
                "function",
                "The curve to fit: how many hidden units does each one take?",
                OptionValue::Choice(Box::new(NameChoice {
                    value: &mut self.function,
                    all: &FUNCTIONS_1D,
                })),
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
}
