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
//! Threads: the calling thread runs shard 0; each other replica lives on its own persistent
//! worker thread (named `convlab-replica-i`), which keeps its scratch buffers and the GEMM
//! crate's packing buffers warm. Workers wait on a channel between steps (no spinning), so
//! an idle trainer costs no CPU; they end when the `DataParallel` is dropped. A batch smaller than the
//! thread count uses fewer shards; batch 1 runs on the calling thread, which then lets large
//! convolutions split their work with a helper thread (`kernels::pool`).

use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;

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
#[derive(Debug)]
struct Replica<T: Scalar> {
    graph: Graph<T>,
    x: Tensor<T>,
    target: Tensor<T>,
    labels: Vec<usize>,
    loss: T,
    /// The shard's weighted KL term (before β), for the curves.
    kl: T,
}

impl<T: Scalar> Replica<T> {
    fn new(graph: Graph<T>) -> Self {
        Replica {
            graph,
            x: Tensor::zeros((0, 0, 0, 0)),
            target: Tensor::zeros((0, 0, 0, 0)),
            labels: Vec::new(),
            loss: T::zero(),
            kl: T::zero(),
        }
    }

    fn run(&mut self, job: &Job) -> Result<(), StepError> {
        match *job {
            Job::Train {
                kind,
                labels,
                weight,
                kl_weight,
            } => {
                let target = if labels {
                    Target::Labels(&self.labels)
                } else {
                    Target::Dense(&self.target)
                };
                let w = T::of(weight);
                (self.loss, self.kl) =
                    train_shard(&mut self.graph, &self.x, target, kind, w, true, kl_weight)?;
            }
            Job::Infer => {
                self.graph.forward(&self.x, Mode::Eval)?;
            }
        }
        Ok(())
    }
}

/// Forward, loss and backward of one shard whose loss counts with `weight` (its share of
/// the batch), plus `kl_weight` × the KL term of the sampling nodes when that is not zero;
/// returns the weighted loss (KL term included) and the weighted KL (without β).
fn train_shard<T: Scalar>(
    graph: &mut Graph<T>,
    x: &Tensor<T>,
    target: Target<'_, T>,
    kind: LossKind,
    weight: T,
    scale: bool,
    kl_weight: f64,
) -> Result<(T, T), StepError> {
    let y = graph.forward(x, Mode::Train)?;
    let (value, mut grad) = loss(kind, y, target)?;
    if scale {
        grad.mapv_inplace(|g| g * weight);
    }
    // Without a KL term the plain backward runs, so such losses stay bit-identical.
    if kl_weight == 0.0 || !graph.has_sampling() {
        // The KL is still measured (a warm-up's first epoch has β = 0), not trained.
        let kl = graph.kl_divergence();
        graph.backward(&grad, false)?;
        return Ok((value * weight, kl * weight));
    }
    let beta = T::of(kl_weight);
    let kl = graph.kl_divergence();
    graph.backward_with_kl(&grad, false, beta * weight)?;
    Ok(((value + beta * kl) * weight, kl * weight))
}

/// What a worker does with its replica's shard buffers.
#[derive(Clone, Copy, Debug)]
enum Job {
    Train {
        kind: LossKind,
        labels: bool,
        weight: f64,
        kl_weight: f64,
    },
    Infer,
}

#[derive(Debug)]
struct Worker<T: Scalar> {
    replica: Arc<Mutex<Replica<T>>>,
    jobs: Option<mpsc::Sender<Job>>,
    handle: Option<JoinHandle<()>>,
}

impl<T: Scalar> Worker<T> {
    fn lock(&self) -> MutexGuard<'_, Replica<T>> {
        self.replica.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A model trained by `threads` replicas. Replica 0 is the primary: its parameters are the
/// model, the optimiser updates them, and the next step copies them to the others.
pub struct DataParallel<T: Scalar = f32> {
    primary: Replica<T>,
    workers: Vec<Worker<T>>,
    done: mpsc::Receiver<Result<(), StepError>>,
    shards: Vec<Range<usize>>,
    output: Tensor<T>,
    /// β of the KL term (see [`DataParallel::set_kl_weight`]).
    kl_weight: f64,
    /// The last step's KL term, for [`DataParallel::last_kl`].
    kl: T,
}

impl<T: Scalar> std::fmt::Debug for DataParallel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataParallel")
            .field("threads", &self.threads())
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

impl<T: Scalar> Drop for DataParallel<T> {
    fn drop(&mut self) {
        for w in &mut self.workers {
            w.jobs = None;
        }
        for w in &mut self.workers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
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

fn copy_params<T: Scalar>(from: &Graph<T>, to: &mut Graph<T>) {
    for (d, s) in to.params_mut().iter_mut().zip(from.params()) {
        d.value
            .as_slice_mut()
            .expect("contiguous param")
            .copy_from_slice(s.value.as_slice().expect("contiguous param"));
    }
}

impl<T: Scalar> DataParallel<T> {
    /// Builds `threads` replicas (at least one) of a zero-initialised model.
    pub fn new(spec: &ModelSpec, threads: usize) -> Result<Self, GraphError> {
        Ok(Self::from_graph(Graph::new(spec)?, threads))
    }

    /// Wraps an existing (e.g. initialised or loaded) graph as the primary replica and
    /// starts `threads − 1` worker threads with copies of it.
    pub fn from_graph(graph: Graph<T>, threads: usize) -> Self {
        let (done_tx, done) = mpsc::channel();
        let workers = (1..threads.max(1))
            .map(|i| {
                let replica = Arc::new(Mutex::new(Replica::new(graph.clone())));
                let (jobs, rx) = mpsc::channel::<Job>();
                let (mine, done_tx) = (Arc::clone(&replica), done_tx.clone());
                let handle = std::thread::Builder::new()
                    .name(format!("convlab-replica-{i}"))
                    .spawn(move || {
                        for job in rx {
                            let mut r = mine.lock().unwrap_or_else(|e| e.into_inner());
                            // A panic becomes an error for the caller instead of a
                            // missing reply it would wait for forever.
                            let result =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    r.run(&job)
                                }))
                                .unwrap_or_else(|_| {
                                    Err(GraphError::Input {
                                        shape: vec![],
                                        reason: format!("training replica {i} panicked"),
                                    }
                                    .into())
                                });
                            drop(r);
                            if done_tx.send(result).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawn a training replica thread");
                Worker {
                    replica,
                    jobs: Some(jobs),
                    handle: Some(handle),
                }
            })
            .collect();
        DataParallel {
            primary: Replica::new(graph),
            workers,
            done,
            shards: Vec::new(),
            output: Tensor::zeros((0, 0, 0, 0)),
            kl_weight: 0.0,
            kl: T::zero(),
        }
    }

    /// Unwraps the primary graph (the workers stop).
    pub fn into_graph(mut self) -> Graph<T> {
        let empty = Graph::new(&ModelSpec {
            input: [1, 1, 1],
            nodes: vec![super::model_spec::NodeSpec::new(
                "id",
                super::model_spec::NodeKind::Identity,
            )],
        })
        .expect("a one-node graph");
        std::mem::replace(&mut self.primary.graph, empty)
    }

    pub fn threads(&self) -> usize {
        1 + self.workers.len()
    }

    /// The primary replica: the model's parameters, and the taps of shard 0.
    pub fn graph(&self) -> &Graph<T> {
        &self.primary.graph
    }

    /// The primary replica, e.g. for `Optimizer::step(dp.graph_mut().params_mut())`. Changes
    /// reach the other replicas at the start of the next step.
    pub fn graph_mut(&mut self) -> &mut Graph<T> {
        &mut self.primary.graph
    }

    /// Seeds dropout: the primary with `seed`, replica `i` with a stream derived from it.
    pub fn set_dropout_seed(&mut self, seed: u64) {
        self.primary.graph.set_dropout_seed(seed);
        for (i, w) in self.workers.iter().enumerate() {
            let s = seed ^ ((i + 1) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            w.lock().graph.set_dropout_seed(s);
        }
    }

    /// The batch rows each replica handled in the last step, in replica order.
    pub fn shards(&self) -> &[Range<usize>] {
        &self.shards
    }

    /// Copies the primary's parameters and running statistics to the other replicas.
    pub fn sync_params(&mut self) {
        for w in &self.workers {
            copy_params(&self.primary.graph, &mut w.lock().graph);
        }
    }

    fn send(&self, worker: usize, job: Job) {
        self.workers[worker]
            .jobs
            .as_ref()
            .expect("workers run until drop")
            .send(job)
            .expect("a training replica thread ended");
    }

    fn collect(&self, count: usize) -> Result<(), StepError> {
        let mut first_err = Ok(());
        for _ in 0..count {
            let r = self.done.recv().expect("a training replica panicked");
            if first_err.is_ok() {
                first_err = r;
            }
        }
        first_err
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
        let kl_weight = self.kl_weight;
        self.primary.graph.check_input(x)?;
        let n = x.shape()[0];
        // Per-sample label counts (1 for classification, h·w for dense labels).
        let per = match target {
            Target::Labels(l) => {
                if l.len() % n != 0 {
                    return Err(LossError::Mismatch {
                        loss: kind.torch_name(),
                        expected: format!("a multiple of {n} labels"),
                        got: l.len().to_string(),
                    }
                    .into());
                }
                l.len() / n
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
                0
            }
        };
        self.shards = shard_ranges(n, self.threads());
        let used = self.shards.len();
        if used == 1 {
            // One sample per replica is not splittable: large convs split their own work
            // across two threads instead (bit-identical to the serial kernels).
            let graph = &mut self.primary.graph;
            let intra = !self.workers.is_empty();
            let value = kernels::pool::with_intra_op(intra, || {
                train_shard(graph, x, target, kind, T::one(), false, kl_weight)
            })?;
            self.kl = value.1;
            return Ok(value.0);
        }
        self.sync_params();
        let weight = |rows: &Range<usize>| rows.len() as f64 / n as f64;
        for (i, rows) in self.shards.iter().enumerate().skip(1) {
            {
                let mut r = self.workers[i - 1].lock();
                let r = &mut *r;
                copy_rows(x, rows.clone(), &mut r.x);
                match target {
                    Target::Labels(l) => {
                        r.labels.clear();
                        r.labels
                            .extend_from_slice(&l[rows.start * per..rows.end * per]);
                    }
                    Target::Dense(t) => copy_rows(t, rows.clone(), &mut r.target),
                }
            }
            let job = Job::Train {
                kind,
                labels: matches!(target, Target::Labels(_)),
                weight: weight(rows),
                kl_weight,
            };
            self.send(i - 1, job);
        }
        // Shard 0 on this thread, while the workers run theirs.
        let rows0 = self.shards[0].clone();
        let p = &mut self.primary;
        copy_rows(x, rows0.clone(), &mut p.x);
        let shard_target = match target {
            Target::Labels(l) => Target::Labels(&l[rows0.start * per..rows0.end * per]),
            Target::Dense(t) => {
                copy_rows(t, rows0.clone(), &mut p.target);
                Target::Dense(&p.target)
            }
        };
        let w0 = weight(&rows0);
        let mine = train_shard(
            &mut p.graph,
            &p.x,
            shard_target,
            kind,
            T::of(w0),
            true,
            kl_weight,
        );
        let theirs = self.collect(used - 1);
        let (mut total, mut kl) = mine?;
        theirs?;
        // Fixed-order reduction into the primary: gradients summed; running statistics
        // averaged with the shard weights.
        let primary = &mut self.primary.graph;
        for (i, rows) in self.shards.iter().enumerate().skip(1) {
            let r = self.workers[i - 1].lock();
            total += r.loss;
            kl += r.kl;
            let wi = T::of(weight(rows));
            for (p, q) in primary.params_mut().iter_mut().zip(r.graph.params()) {
                if p.role.trainable() {
                    kernels::add(
                        p.grad.as_slice_mut().expect("contiguous"),
                        q.grad.as_slice().expect("contiguous"),
                    );
                } else {
                    let ps = p.value.as_slice_mut().expect("contiguous");
                    if i == 1 {
                        ps.iter_mut().for_each(|v| *v *= T::of(w0));
                    }
                    kernels::axpy(ps, wi, q.value.as_slice().expect("contiguous"));
                }
            }
        }
        self.kl = kl;
        Ok(total)
    }

    /// Sets β, the weight of the sampling nodes' KL term in the training loss (0: off).
    pub fn set_kl_weight(&mut self, beta: f64) {
        self.kl_weight = beta;
    }

    /// The KL term (without β) of the last training step, a batch mean; zero without a KL
    /// term.
    pub fn last_kl(&self) -> T {
        self.kl
    }

    /// The last step's full-batch output (the replicas' last-node outputs stacked).
    pub fn output(&mut self) -> &Tensor<T> {
        let last = self.primary.graph.outputs().last().expect("a forward ran");
        if self.shards.len() <= 1 {
            return last;
        }
        let s = last.shape();
        let n = self.shards.last().map_or(0, |r| r.end);
        let shape = (n, s[1], s[2], s[3]);
        if self.output.dim() != shape {
            self.output = Tensor::zeros(shape);
        }
        let per = s[1] * s[2] * s[3];
        let out = self.output.as_slice_mut().expect("fresh array");
        let r0 = &self.shards[0];
        out[r0.start * per..r0.end * per].copy_from_slice(last.as_slice().expect("standard"));
        for (i, rows) in self.shards.iter().enumerate().skip(1) {
            let r = self.workers[i - 1].lock();
            let y = r.graph.outputs().last().expect("a forward ran");
            out[rows.start * per..rows.end * per]
                .copy_from_slice(y.as_slice().expect("standard layout"));
        }
        &self.output
    }

    /// Evaluation-mode forward of a batch, split across the replicas; returns the stacked
    /// last-node output.
    pub fn infer(&mut self, x: &Tensor<T>) -> Result<&Tensor<T>, GraphError> {
        self.primary.graph.check_input(x)?;
        let n = x.shape()[0];
        self.shards = shard_ranges(n, self.threads());
        let used = self.shards.len();
        if used == 1 {
            let (graph, intra) = (&mut self.primary.graph, !self.workers.is_empty());
            kernels::pool::with_intra_op(intra, || graph.forward(x, Mode::Eval).map(|_| ()))?;
            return Ok(self.output());
        }
        self.sync_params();
        for (i, rows) in self.shards.iter().enumerate().skip(1) {
            copy_rows(x, rows.clone(), &mut self.workers[i - 1].lock().x);
            self.send(i - 1, Job::Infer);
        }
        let p = &mut self.primary;
        copy_rows(x, self.shards[0].clone(), &mut p.x);
        let mine = p.graph.forward(&p.x, Mode::Eval).map(|_| ());
        let theirs = self.collect(used - 1);
        mine?;
        theirs.map_err(|e| match e {
            StepError::Graph(g) => g,
            StepError::Loss(l) => GraphError::Input {
                shape: vec![],
                reason: l.to_string(),
            },
        })?;
        Ok(self.output())
    }

    /// The KL term (batch mean, without β) of the sampling nodes in the last [`Self::infer`],
    /// combined over the replicas' shards; zero without sampling nodes.
    pub fn infer_kl(&self) -> T {
        let n: usize = self.shards.iter().map(|r| r.len()).sum();
        if n == 0 || !self.primary.graph.has_sampling() {
            return T::zero();
        }
        let share = |rows: &Range<usize>| T::of(rows.len() as f64 / n as f64);
        let mut kl = self.primary.graph.kl_divergence() * share(&self.shards[0]);
        for (i, rows) in self.shards.iter().enumerate().skip(1) {
            kl += self.workers[i - 1].lock().graph.kl_divergence() * share(rows);
        }
        kl
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
                    NodeKind::BatchNorm2d(crate::engine::layers::BatchNorm2dConfig {
                        eps: 1e-5,
                        momentum: 0.1,
                    }),
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
        let close = |a: &Tensor<f64>, b: &Tensor<f64>| {
            a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(u, v)| (u - v).abs() < 1e-12)
        };
        let ys = single.output().clone();
        assert!(close(&ys, multi.output()));
        let yi = multi.infer(&x).unwrap().clone();
        assert!(close(single.infer(&x).unwrap(), &yi));
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
