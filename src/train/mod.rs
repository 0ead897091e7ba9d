//! Training: the loop as plain functions (`run`), quality measures (`metrics`).

pub mod messages;
pub mod metrics;
pub mod run;
pub mod worker;

pub use metrics::MetricKind;
pub use run::{EpochRecord, History, StepReport, TrainError, Trainer};
