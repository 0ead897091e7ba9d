//! Turns a preset's data section into train and validation sets.

use super::{DataError, DataSpec, Dataset};
use crate::engine::rng::Rng;

/// Makes or loads the whole data set described by `spec` (before the split).
pub fn load_source(spec: &DataSpec) -> Result<Dataset, DataError> {
    spec.source.source().load(spec.seed)
}

/// Shuffles with `seed` and holds out `val_fraction` of the samples (at least one each
/// side when there are two or more samples).
pub fn split(data: &Dataset, val_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let n = data.len();
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed ^ 0x5EED_5A17).shuffle(&mut order);
    let mut n_val = (n as f64 * val_fraction).round() as usize;
    if val_fraction > 0.0 && n >= 2 {
        n_val = n_val.clamp(1, n - 1);
    }
    let (val, train) = order.split_at(n_val.min(n));
    (data.select(train), data.select(val))
}

/// Train and validation sets for a preset.
pub fn load(spec: &DataSpec) -> Result<(Dataset, Dataset), DataError> {
    let all = load_source(spec)?;
    Ok(split(&all, spec.val_fraction, spec.seed))
}
