//! Training: the loop as plain functions (`run`), quality measures (`metrics`).

pub mod metrics;
pub mod run;

pub use metrics::MetricKind;
pub use run::{EpochRecord, History, StepReport, TrainError, Trainer};
