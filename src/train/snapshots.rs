//! Training playback: copies of the weights at moments of a run, so every view can be shown
//! as it was then — filters forming, decision regions bending, gradients reaching deeper
//! layers. A snapshot is taken at log-spaced steps (0, 1, 2, 4, 8, …: early training
//! changes fastest) and at every epoch end, within a budget of [`MAX_SNAPSHOTS`] copies and
//! [`MAX_SNAPSHOT_BYTES`]; when a new one would exceed it, the snapshot closest to its
//! neighbours on a square-root scale of steps is dropped (the oldest among equals; the
//! first and last stay). On that scale the very first steps are closest, so they are
//! thinned first, yet a long run keeps moments from its early phase, where decision
//! regions and filters form, as well as from its end — a linear scale would leave only the
//! first snapshot before the last few hundred epochs, a logarithmic one almost nothing of
//! the end.
//!
//! Only the parameters are kept (no optimiser state): a view needs the model, not how it
//! would go on training.

use std::sync::Arc;

use ndarray::ArrayD;

use crate::engine::Graph;

/// At most this many snapshots per run.
pub const MAX_SNAPSHOTS: usize = 64;
/// At most this many bytes of parameters over all snapshots of a run (256 MiB).
pub const MAX_SNAPSHOT_BYTES: usize = 256 << 20;

/// Named parameter values, in the model's order (shared: the window's inspector and a
/// saved checkpoint read the same copy).
pub type Params = Arc<Vec<(String, ArrayD<f32>)>>;

/// The weights at one moment of a run.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Minibatch steps since the weights were initialised.
    pub step: u64,
    /// Where in training: epochs done plus the share of the current one (the curves'
    /// x-axis).
    pub epoch: f64,
    pub params: Params,
}

impl Snapshot {
    /// The parameters of `graph` now.
    pub fn of(graph: &Graph<f32>, step: u64, epoch: f64) -> Snapshot {
        Snapshot {
            step,
            epoch,
            params: Arc::new(
                graph
                    .params()
                    .iter()
                    .map(|p| (p.name.clone(), p.value.clone()))
                    .collect(),
            ),
        }
    }

    pub fn bytes(&self) -> usize {
        self.params.iter().map(|(_, v)| v.len() * 4).sum()
    }

    /// Writes the snapshot's weights into `graph` (of the same model).
    pub fn restore(&self, graph: &mut Graph<f32>) -> Result<(), crate::engine::GraphError> {
        for (name, value) in self.params.iter() {
            graph.set_param(name, value.clone())?;
        }
        Ok(())
    }
}

/// The step and epoch of a snapshot, what the window's timeline lists.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moment {
    pub step: u64,
    pub epoch: f64,
}

/// The snapshots of one run, in step order.
#[derive(Clone, Debug)]
pub struct Snapshots {
    entries: Vec<Snapshot>,
    max_count: usize,
    max_bytes: usize,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots::with_limits(MAX_SNAPSHOTS, MAX_SNAPSHOT_BYTES)
    }
}

/// Whether `step` is one of the log-spaced moments: 0 and the powers of two.
pub fn log_spaced(step: u64) -> bool {
    step == 0 || step.is_power_of_two()
}

impl Snapshots {
    pub fn with_limits(max_count: usize, max_bytes: usize) -> Snapshots {
        Snapshots {
            entries: Vec::new(),
            max_count: max_count.max(2),
            max_bytes,
        }
    }

    /// The snapshots read from a checkpoint (sorted by step, duplicates dropped).
    pub fn from_entries(mut entries: Vec<Snapshot>) -> Snapshots {
        entries.sort_by_key(|s| s.step);
        entries.dedup_by_key(|s| s.step);
        let mut s = Snapshots::default();
        for e in entries {
            s.keep(e);
        }
        s
    }

    /// Whether a snapshot should be taken after `step` (log-spaced, or an epoch ended).
    pub fn wants(&self, step: u64, epoch_ended: bool) -> bool {
        (log_spaced(step) || epoch_ended) && self.entries.last().is_none_or(|l| l.step < step)
    }

    /// Adds `snapshot` (after the last one) and thins the others to stay within the budget.
    pub fn keep(&mut self, snapshot: Snapshot) {
        if self.entries.last().is_some_and(|l| l.step >= snapshot.step) {
            return;
        }
        if snapshot.bytes() > self.max_bytes {
            return; // one copy alone exceeds the budget: no playback for this model
        }
        self.entries.push(snapshot);
        while self.entries.len() > self.max_count
            || (self.entries.len() > 2 && self.bytes() > self.max_bytes)
        {
            self.thin();
        }
    }

    /// Drops the interior snapshot whose neighbours are closest together on the
    /// square-root scale, the oldest among equals; both ends stay.
    fn thin(&mut self) {
        let n = self.entries.len();
        if n <= 2 {
            self.entries.truncate(1);
            return;
        }
        let scale = |k: usize| (self.entries[k].step as f64).sqrt();
        let victim = (1..n - 1)
            .min_by(|&a, &b| {
                let gap = |i: usize| scale(i + 1) - scale(i - 1);
                gap(a).total_cmp(&gap(b)).then(a.cmp(&b))
            })
            .expect("an interior snapshot");
        self.entries.remove(victim);
    }

    pub fn bytes(&self) -> usize {
        self.entries.iter().map(Snapshot::bytes).sum()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Snapshot] {
        &self.entries
    }

    /// The moments kept, in step order.
    pub fn moments(&self) -> Vec<Moment> {
        self.entries
            .iter()
            .map(|s| Moment {
                step: s.step,
                epoch: s.epoch,
            })
            .collect()
    }

    /// The snapshot at `step`, or the last one before it.
    pub fn at(&self, step: u64) -> Option<&Snapshot> {
        self.entries.iter().rev().find(|s| s.step <= step)
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(step: u64, floats: usize) -> Snapshot {
        Snapshot {
            step,
            epoch: step as f64 / 10.0,
            params: Arc::new(vec![("w".into(), ArrayD::zeros(ndarray::IxDyn(&[floats])))]),
        }
    }

    #[test]
    fn log_spaced_steps_and_epoch_ends_are_wanted_once() {
        let s = Snapshots::default();
        let wanted: Vec<u64> = (0..40).filter(|&k| s.wants(k, k % 10 == 0)).collect();
        assert_eq!(wanted, [0, 1, 2, 4, 8, 10, 16, 20, 30, 32]);
        let mut s = Snapshots::default();
        s.keep(snap(4, 1));
        assert!(!s.wants(4, true) && !s.wants(2, false));
    }

    #[test]
    fn the_budget_thins_the_densest_keeping_both_ends_in_step_order() {
        let mut s = Snapshots::with_limits(5, usize::MAX);
        for step in [0, 1, 2, 4, 8, 10, 16, 20, 30] {
            s.keep(snap(step, 1));
        }
        let steps: Vec<u64> = s.entries().iter().map(|e| e.step).collect();
        assert_eq!(steps.len(), 5);
        assert_eq!((steps[0], steps[4]), (0, 30));
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
        // The early, close moments went first.
        assert!(!steps.contains(&1) && !steps.contains(&2), "{steps:?}");
        // By bytes: 10 floats each, room for 3.
        let mut s = Snapshots::with_limits(64, 120);
        for step in [0, 1, 2, 4, 8] {
            s.keep(snap(step, 10));
        }
        assert_eq!(s.len(), 3);
        assert!(s.bytes() <= 120);
        // √steps 0, 1, 1.41, 2: 2 goes → [0, 1, 4]; 0, 1, 2, 2.83: 4 goes → [0, 1, 8].
        assert_eq!(s.at(7).unwrap().step, 1);
        assert_eq!(s.at(100).unwrap().step, 8);
    }

    #[test]
    fn at_finds_the_last_snapshot_not_after_the_step() {
        let s = Snapshots::from_entries(vec![snap(8, 1), snap(0, 1), snap(4, 1), snap(4, 1)]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.at(5).unwrap().step, 4);
        assert_eq!(s.at(0).unwrap().step, 0);
        assert_eq!(s.at(9).unwrap().step, 8);
    }
}
