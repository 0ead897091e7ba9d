//! The handcrafted pipeline's results in the window, shared by the Handcrafted pipeline tab
//! (computed by the trainer's inspector) and the Training panel: a pipeline depends on the
//! data and on its own settings, not on the network, so it is evaluated once per data set
//! and pipeline — not at every training step, tab switch or frame — and its picture once
//! per image.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::classical::{PipelineEvaluation, PipelineSpec};
use crate::data::{DataSpec, Dataset};
use crate::viz::Rgba;

/// What has been computed, each with the key it was computed for.
#[derive(Default)]
pub struct ClassicalResults {
    /// The pipeline's evaluation, by [`evaluation_key`].
    pub evaluation: Option<(String, Arc<PipelineEvaluation>)>,
    /// Why the evaluation failed, by [`evaluation_key`].
    pub error: Option<(String, String)>,
    /// The Handcrafted pipeline tab's picture and summary, by its key (the evaluation's and
    /// the image's).
    pub picture: Option<(String, Rgba, String)>,
    /// The key a background evaluation is running for (so it starts once).
    pending: Option<String>,
}

/// Shared between the window and the trainer's inspector.
pub type ClassicalCache = Arc<Mutex<ClassicalResults>>;

/// What the evaluation of a pipeline depends on: the data's settings and the pipeline's.
pub fn evaluation_key(data: &DataSpec, pipeline: &PipelineSpec) -> String {
    format!("{data:?} {pipeline:?}")
}

fn lock(cache: &ClassicalCache) -> MutexGuard<'_, ClassicalResults> {
    cache.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cached evaluation for `key`, if there is one.
pub fn cached_evaluation(cache: &ClassicalCache, key: &str) -> Option<Arc<PipelineEvaluation>> {
    lock(cache)
        .evaluation
        .as_ref()
        .filter(|(k, _)| k == key)
        .map(|(_, e)| Arc::clone(e))
}

/// Keeps `evaluation` as the one for `key`.
pub fn store_evaluation(cache: &ClassicalCache, key: String, evaluation: Arc<PipelineEvaluation>) {
    let mut c = lock(cache);
    if c.pending.as_deref() == Some(key.as_str()) {
        c.pending = None;
    }
    c.evaluation = Some((key, evaluation));
}

/// The cached picture and summary for `key` (the evaluation's key and the image), if any.
pub fn cached_picture(cache: &ClassicalCache, key: &str) -> Option<(Rgba, String)> {
    lock(cache)
        .picture
        .as_ref()
        .filter(|(k, _, _)| k == key)
        .map(|(_, picture, info)| (picture.clone(), info.clone()))
}

/// Keeps `picture` and `info` as the ones for `key`.
pub fn store_picture(cache: &ClassicalCache, key: String, picture: Rgba, info: String) {
    lock(cache).picture = Some((key, picture, info));
}

/// Where the evaluation of a pipeline stands for the Training panel.
#[derive(Clone, Debug)]
pub enum PipelineStatus {
    /// The data the preset asks for is still loading.
    WaitingForData,
    Ready(Arc<PipelineEvaluation>),
    Computing,
    Failed(String),
}

/// The evaluation of `spec` on `train` and `val` (the split of data `data`), from the cache;
/// when there is none for them and none is running, one starts on a background thread, and
/// `repaint` is called when it has finished.
pub fn evaluation_for(
    cache: &ClassicalCache,
    data: &DataSpec,
    spec: &PipelineSpec,
    train: &Arc<Dataset>,
    val: &Arc<Dataset>,
    repaint: impl Fn() + Send + 'static,
) -> PipelineStatus {
    let key = evaluation_key(data, spec);
    let mut c = lock(cache);
    if let Some((k, e)) = &c.evaluation
        && *k == key
    {
        return PipelineStatus::Ready(Arc::clone(e));
    }
    if let Some((k, why)) = &c.error
        && *k == key
    {
        return PipelineStatus::Failed(why.clone());
    }
    if c.pending.as_deref() == Some(key.as_str()) {
        return PipelineStatus::Computing;
    }
    c.pending = Some(key.clone());
    drop(c);
    let (shared, spec) = (Arc::clone(cache), spec.clone());
    let (train, val) = (Arc::clone(train), Arc::clone(val));
    let started = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || {
            match crate::viz::views::pipeline::evaluate_pipeline(&spec, &train, &val) {
                Ok(e) => store_evaluation(&shared, key, Arc::new(e)),
                Err(e) => {
                    let mut c = lock(&shared);
                    c.pending = None;
                    c.error = Some((key, e.to_string()));
                }
            }
            repaint();
        });
    match started {
        Ok(_) => PipelineStatus::Computing,
        Err(e) => {
            let mut c = lock(cache);
            c.pending = None;
            PipelineStatus::Failed(format!("could not start the evaluation: {e}"))
        }
    }
}
