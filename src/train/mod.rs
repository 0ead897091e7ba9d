//! Training: the loop as plain functions (`run`), quality measures (`metrics`), copies of
//! the weights along a run for playback (`snapshots`).

pub mod messages;
pub mod metrics;
pub mod run;
pub mod snapshots;
pub mod worker;

pub use metrics::MetricKind;
pub use run::{ElboTerms, EpochRecord, Evaluation, History, StepReport, TrainError, Trainer};
