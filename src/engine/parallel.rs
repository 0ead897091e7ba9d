//! Data-parallel training on a few cores: one [`Graph`] replica per thread, each batch split
//! into contiguous shards (one per replica), every replica running forward, loss and
//! backward on its shard with single-threaded kernels, and the parameter gradients summed
//! into the primary replica in a fixed order (replica 1, 2, …). A given seed and thread
//! count therefore gives bit-identical results run after run; different thread counts
//! round differently (and see batch norm below).
//!
//! Gradients: each shard's loss gradient is scaled by `n_i / n` before its backward, so the
//! summed parameter gradients equal the full-batch, mean-reduced gradient (every loss here
//! is a mean over samples, or over samples × pixels with the same pixels per sample).
//!
//! Batch norm: each replica normalises with its own shard's statistics, as PyTorch's
//! DistributedDataParallel does without SyncBatchNorm, so with several threads the
//! forward differs slightly from a single full-batch forward. The running statistics are
//! the shard-size-weighted average of the replicas' updates (equal to updating with the
//! average of the shard means and variances), merged in replica order into the primary.
//!
//! Threads: the calling thread runs shard 0; the others run on scoped threads spawned per
//! step (about 20–40 µs each, under 1% of a batch-64 step). A batch smaller than the
//! thread count uses fewer shards; batch 1 runs on the calling thread alone.

use std::ops::Range;

use super::error::GraphError;
use super::graph::{Graph, Mode};
use super::kernels;
use super::loss::{LossError, LossKind, Target, loss};
use super::model_spec::ModelSpec;
use super::tensor::{Scalar, Tensor};

/// Why a data-parallel step failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Loss(#[from] LossError),
}

/// One replica's work area: its graph and the reusable shard buffers.
#[derive(Clone, Debug)]
struct Replica<T: Scalar> {
    graph: Graph<T>,
    x: Tensor<T>,
    target: Tensor<T>,
    loss: T,
}

/// A model trained by `threads` replicas. Replica 0 is the primary: its parameters are the
/// model, the optimiser updates them, and the next step copies them to the others.
#[derive(Clone, Debug)]
pub struct DataParallel<T: Scalar = f32> {
    replicas: Vec<Replica<T>>,
    shards: Vec<Range<usize>>,
    output: Tensor<T>,
}

fn shard_ranges(n: usize, threads: usize) -> Vec<Range<usize>> {
    let parts = threads.clamp(1, n.max(1));
    let (base, extra) = (n / parts, n % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

/// Copies rows `rows` (along axis 0) of `src` into `dst`, reshaping `dst` only when the
/// shape changes (no allocation once the shapes repeat).
fn copy_rows<T: Scalar>(src: &Tensor<T>, rows: Range<usize>, dst: &mut Tensor<T>) {
    let s = src.shape();
    let shape = (rows.len(), s[1], s[2], s[3]);
    if dst.dim() != shape {
        *dst = Tensor::zeros(shape);
    }
    let per = s[1] * s[2] * s[3];
    match src.as_slice() {
        Some(all) => dst
            .as_slice_mut()
            .expect("fresh array")
            .copy_from_slice(&all[rows.start * per..rows.end * per]),
        None => dst.assign(&src.slice(ndarray::s![rows, .., .., ..])),
    }
}

impl<T: Scalar> DataParallel<T> {
    /// Builds `threads` replicas (at least one) of a zero-initialised model.
    pub fn new(spec: &ModelSpec, threads: usize) -> Result<Self, GraphError> {
        Ok(Self::from_graph(Graph::new(spec)?, threads))
    }

    /// Wraps an existing (e.g. initialised or loaded) graph as the primary replica.
    pub fn from_graph(graph: Graph<T>, threads: usize) -> Self {
        let replica = Replica {
            graph,
            x: Tensor::zeros((0, 0, 0, 0)),
            target: Tensor::zeros((0, 0, 0, 0)),
            loss: T::zero(),
        };
        DataParallel {
            replicas: vec![replica; threads.max(1)],
            shards: Vec::new(),
            output: Tensor::zeros((0, 0, 0, 0)),
        }
    }

    /// Unwraps the primary graph.
    pub fn into_graph(mut self) -> Graph<T> {
        self.replicas.swap_remove(0).graph
    }

    pub fn threads(&self) -> usize {
        self.replicas.len()
    }

    /// The primary replica: the model's parameters, and the taps of shard 0.
    pub fn graph(&self) -> &Graph<T> {
        &self.replicas[0].graph
    }

    /// The primary replica, e.g. for `Optimizer::step(dp.graph_mut().params_mut())`. Changes
    /// reach the other replicas at the start of the next step.
    pub fn graph_mut(&mut self) -> &mut Graph<T> {
        &mut self.replicas[0].graph
    }

    /// Seeds dropout: the primary with `seed`, replica `i` with a stream derived from it.
    pub fn set_dropout_seed(&mut self, seed: u64) {
        for (i, r) in self.replicas.iter_mut().enumerate() {
            let s = if i == 0 {
                seed
            } else {
                seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            };
            r.graph.set_dropout_seed(s);
        }
    }

    /// The batch rows each replica handled in the last step, in replica order.
    pub fn shards(&self) -> &[Range<usize>] {
        &self.shards
    }

    /// Copies the primary's parameters and running statistics to the other replicas.
    pub fn sync_params(&mut self) {
        let (first, rest) = self.replicas.split_at_mut(1);
        let src = first[0].graph.params();
        for r in rest {
            for (d, s) in r.graph.params_mut().iter_mut().zip(src) {
                d.value
                    .as_slice_mut()
                    .expect("contiguous param")
                    .copy_from_slice(s.value.as_slice().expect("contiguous param"));
            }
        }
    }

    /// Forward, loss and backward for one batch, split across the replicas. Afterwards the
    /// primary's parameter gradients are the full-batch mean-reduced gradients; returns
    /// the full-batch loss. Then call the optimiser on `graph_mut().params_mut()`.
    pub fn train_step(
        &mut self,
        x: &Tensor<T>,
        target: Target<'_, T>,
        kind: LossKind,
    ) -> Result<T, StepError> {
        self.replicas[0].graph.check_input(x)?;
        let n = x.shape()[0];
        self.sync_params();
        self.shards = shard_ranges(n, self.replicas.len());
        let used = self.shards.len();
        // Per-sample label counts (1 for classification, h·w for dense labels).
        let labels = match target {
            Target::Labels(l) => {
                if l.len() % n != 0 {
                    return Err(LossError::Mismatch {
                        loss: kind.torch_name(),
                        expected: format!("a multiple of {n} labels"),
                        got: l.len().to_string(),
                    }
                    .into());
                }
                Some((l, l.len() / n))
            }
            Target::Dense(t) => {
                if t.shape()[0] != n {
                    return Err(LossError::Mismatch {
                        loss: kind.torch_name(),
                        expected: format!("a target with {n} samples"),
                        got: format!("{:?}", t.shape()),
                    }
                    .into());
                }
                None
            }
        };
        for (r, rows) in self.replicas.iter_mut().zip(&self.shards) {
            if used > 1 {
                copy_rows(x, rows.clone(), &mut r.x);
            }
            if let (Target::Dense(t), true) = (target, used > 1) {
                copy_rows(t, rows.clone(), &mut r.target);
            }
        }
        let run = |r: &mut Replica<T>, rows: Range<usize>| -> Result<(), StepError> {
            let xin = if used > 1 { &r.x } else { x };
            let y = r.graph.forward(xin, Mode::Train)?;
            let shard_target = match (target, labels) {
                (Target::Labels(_), Some((l, per))) => {
                    Target::Labels(&l[rows.start * per..rows.end * per])
                }
                (Target::Dense(t), _) => Target::Dense(if used > 1 { &r.target } else { t }),
                _ => unreachable!(),
            };
            let (value, mut grad) = loss(kind, y, shard_target)?;
            let w = T::of(rows.len() as f64 / n as f64);
            if used > 1 {
                grad.mapv_inplace(|g| g * w);
            }
            r.loss = value * w;
            r.graph.backward(&grad, false)?;
            Ok(())
        };
        let shards = self.shards.clone();
        let (first, rest) = self.replicas.split_at_mut(1);
        let results: Vec<Result<(), StepError>> = std::thread::scope(|s| {
            let handles: Vec<_> = rest
                .iter_mut()
                .zip(&shards[1..])
                .map(|(r, rows)| {
                    let rows = rows.clone();
                    s.spawn(move || run(r, rows))
                })
                .collect();
            let mut out = vec![run(&mut first[0], shards[0].clone())];
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a training replica panicked")),
            );
            out
        });
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        // Fixed-order reduction into the primary.
        let mut total = self.replicas[0].loss;
        let (first, rest) = self.replicas.split_at_mut(1);
        let primary = &mut first[0].graph;
        let w0 = T::of(shards[0].len() as f64 / n as f64);
        for (r, rows) in rest.iter().zip(&shards[1..]) {
            total += r.loss;
            let wi = T::of(rows.len() as f64 / n as f64);
            for (p, q) in primary.params_mut().iter_mut().zip(r.graph.params()) {
                let (pv, qv) = if p.trainable() {
                    (&mut p.grad, &q.grad)
                } else {
                    (&mut p.value, &q.value)
                };
                let qs = qv.as_slice().expect("contiguous");
                let ps = pv.as_slice_mut().expect("contiguous");
                if p.role.trainable() {
                    kernels::add(ps, qs);
                } else {
                    // Running statistics: weighted average of the replicas' updates.
                    if rows.start == shards[1].start {
                        ps.iter_mut().for_each(|v| *v *= w0);
                    }
                    kernels::axpy(ps, wi, qs);
                }
            }
        }
        Ok(total)
    }

    /// The last step's full-batch output (the replicas' last-node outputs stacked).
    pub fn output(&mut self) -> &Tensor<T> {
        if self.shards.len() <= 1 {
            return self.replicas[0]
                .graph
                .outputs()
                .last()
                .expect("a forward ran");
        }
        let last = self.replicas[0]
            .graph
            .outputs()
            .last()
            .expect("a forward ran");
        let s = last.shape();
        let n = self.shards.last().map_or(0, |r| r.end);
        let shape = (n, s[1], s[2], s[3]);
        if self.output.dim() != shape {
            self.output = Tensor::zeros(shape);
        }
        let per = s[1] * s[2] * s[3];
        let out = self.output.as_slice_mut().expect("fresh array");
        for (r, rows) in self.replicas.iter().zip(&self.shards) {
            let y = r.graph.outputs().last().expect("a forward ran");
            out[rows.start * per..rows.end * per]
                .copy_from_slice(y.as_slice().expect("standard layout"));
        }
        &self.output
    }

    /// Evaluation-mode forward of a batch, split across the replicas; returns the stacked
    /// last-node output.
    pub fn infer(&mut self, x: &Tensor<T>) -> Result<&Tensor<T>, GraphError> {
        self.replicas[0].graph.check_input(x)?;
        let n = x.shape()[0];
        self.sync_params();
        self.shards = shard_ranges(n, self.replicas.len());
        let used = self.shards.len();
        if used == 1 {
            self.replicas[0].graph.forward(x, Mode::Eval)?;
            return Ok(self.output());
        }
        for (r, rows) in self.replicas.iter_mut().zip(&self.shards) {
            copy_rows(x, rows.clone(), &mut r.x);
        }
        let (first, rest) = self.replicas.split_at_mut(1);
        let results: Vec<Result<(), GraphError>> = std::thread::scope(|s| {
            let handles: Vec<_> = rest
                .iter_mut()
                .take(used - 1)
                .map(|r| s.spawn(move || r.graph.forward(&r.x, Mode::Eval).map(|_| ())))
                .collect();
            let r0 = &mut first[0];
            let mut out = vec![r0.graph.forward(&r0.x, Mode::Eval).map(|_| ())];
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("replica panicked")),
            );
            out
        });
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(self.output())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Init, NodeKind, NodeSpec, initialize};

    fn spec() -> ModelSpec {
        ModelSpec {
            input: [2, 6, 6],
            nodes: vec![
                NodeSpec::new("conv", NodeKind::conv(4, 3, 1)),
                NodeSpec::new(
                    "bn",
                    NodeKind::BatchNorm2d {
                        eps: 1e-5,
                        momentum: 0.1,
                    },
                ),
                NodeSpec::new("relu", NodeKind::Relu),
                NodeSpec::new("pool", NodeKind::max_pool(2)),
                NodeSpec::new("flat", NodeKind::Flatten),
                NodeSpec::new("fc", NodeKind::dense(3)),
            ],
        }
    }

    fn batch(n: usize) -> (Tensor<f64>, Vec<usize>) {
        let mut r = crate::engine::rng::Rng::new(7);
        let x = Tensor::from_shape_fn((n, 2, 6, 6), |_| r.uniform(-1.0, 1.0));
        let labels = (0..n).map(|i| i % 3).collect();
        (x, labels)
    }

    #[test]
    fn shards_cover_the_batch() {
        assert_eq!(shard_ranges(5, 2), vec![0..3, 3..5]);
        assert_eq!(shard_ranges(1, 4), vec![0..1]);
        assert_eq!(shard_ranges(8, 3), vec![0..3, 3..6, 6..8]);
    }

    #[test]
    fn split_gradients_sum_to_the_full_batch_gradient() {
        // Without batch norm the split is exact (up to rounding).
        let mut s = spec();
        s.nodes.remove(1);
        let mut g = Graph::<f64>::new(&s).unwrap();
        initialize(&mut g, Init::Default, 3);
        let (x, labels) = batch(7);
        let mut single = DataParallel::from_graph(g.clone(), 1);
        let mut multi = DataParallel::from_graph(g, 3);
        let a = single
            .train_step(&x, Target::Labels(&labels), LossKind::CrossEntropy)
            .unwrap();
        let b = multi
            .train_step(&x, Target::Labels(&labels), LossKind::CrossEntropy)
            .unwrap();
        assert!((a - b).abs() < 1e-12);
        for (p, q) in single.graph().params().iter().zip(multi.graph().params()) {
            for (u, v) in p.grad.iter().zip(q.grad.iter()) {
                assert!((u - v).abs() < 1e-12, "{}", p.name);
            }
        }
        let ys = single.output().clone();
        assert!(ys.abs_diff_eq(multi.output(), 1e-12));
        let yi = multi.infer(&x).unwrap().clone();
        let y1 = single.infer(&x).unwrap();
        assert!(y1.abs_diff_eq(&yi, 1e-12));
    }

    #[test]
    fn same_seed_and_threads_give_identical_runs() {
        let run = || {
            let mut g = Graph::<f32>::new(&spec()).unwrap();
            initialize(&mut g, Init::Default, 1);
            let mut dp = DataParallel::from_graph(g, 2);
            let (x, labels) = batch(9);
            let x = x.mapv(|v| v as f32);
            let mut opt =
                crate::engine::Optimizer::new(crate::engine::OptimizerKind::default(), 0.1);
            let mut losses = Vec::new();
            for _ in 0..3 {
                losses.push(
                    dp.train_step(&x, Target::Labels(&labels), LossKind::CrossEntropy)
                        .unwrap(),
                );
                opt.step(dp.graph_mut().params_mut());
            }
            (losses, dp.graph().params().to_vec())
        };
        let (la, pa) = run();
        let (lb, pb) = run();
        assert_eq!(la, lb);
        for (p, q) in pa.iter().zip(&pb) {
            assert_eq!(p.value, q.value, "{}", p.name);
        }
    }
}
