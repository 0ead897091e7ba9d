//! The training loop as plain functions: the CLI calls it directly, the GUI's worker
//! thread wraps it.

use std::time::Instant;

use ndarray::Axis;
use serde::{Deserialize, Serialize};

use super::metrics::{MetricKind, MetricSums, accuracy_sums, iou_sums, mse_sums};
use crate::data::augment::batch_rng;
use crate::data::load::load;
use crate::data::noise::noise_rng;
use crate::data::{DataError, Dataset, Targets};
use crate::engine::loss::LossError;
use crate::engine::parallel::{DataParallel, StepError};
use crate::engine::rng::Rng;
use crate::engine::tensor::ParamTensor;
use crate::engine::{Graph, GraphError, Mode, Optimizer, Target, Tensor, initialize, loss};
use crate::spec::Preset;

/// One finished epoch, as the curves and `--json` report it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub train_metric: f64,
    pub val_metric: f64,
    pub metric: String,
    pub images_per_s: f64,
    pub seconds: f64,
    pub learning_rate: f64,
    /// The two terms of a VAE's loss (a model with a sampling node and a KL weight β):
    /// `None` for other models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elbo: Option<ElboTerms>,
}

/// A VAE's loss split into its terms, per image: the reconstruction loss (the training
/// loss's own, e.g. MSE) and the KL divergence of the codes to N(0, I) (summed over the
/// latent values, before β). The loss is reconstruction + β·KL, with the warmed-up β in
/// training and the full β on validation, so −ELBO up to constants and β.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElboTerms {
    pub train_recon: f64,
    pub train_kl: f64,
    pub val_recon: f64,
    pub val_kl: f64,
}

/// Every epoch of a run so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub epochs: Vec<EpochRecord>,
}

/// Why a run could not start or a step failed. The messages print their cause, so the
/// cause is not also given as the error's source (a report of the chain would say it twice).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("data: {0}")]
    Data(DataError),
    #[error("model: {0}")]
    Model(GraphError),
    #[error("loss: {0}")]
    Loss(LossError),
    #[error("{0}")]
    Mismatch(String),
    /// The step was stopped before the weights changed.
    #[error("{what} became {value} at epoch {epoch}, step {step} — try a lower learning rate")]
    Diverged {
        what: &'static str,
        value: String,
        epoch: usize,
        step: usize,
    },
}

impl From<DataError> for TrainError {
    fn from(e: DataError) -> Self {
        TrainError::Data(e)
    }
}

impl From<GraphError> for TrainError {
    fn from(e: GraphError) -> Self {
        TrainError::Model(e)
    }
}

impl From<LossError> for TrainError {
    fn from(e: LossError) -> Self {
        TrainError::Loss(e)
    }
}

/// What one minibatch step did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// 1-based epoch this step belongs to.
    pub epoch: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    pub steps_per_epoch: usize,
    pub loss: f64,
    pub batch_size: usize,
    /// Set when this step finished an epoch (validation included).
    pub finished_epoch: Option<EpochRecord>,
}

/// A training run: the model, its optimiser, the data and the position in the epoch.
pub struct Trainer {
    pub preset: Preset,
    model: DataParallel<f32>,
    optimizer: Optimizer<f32>,
    pub train: Dataset,
    pub val: Dataset,
    metric: MetricKind,
    order: Vec<usize>,
    cursor: usize,
    epochs_done: usize,
    shuffle: Rng,
    pub history: History,
    epoch_loss: f64,
    /// Σ KL × batch size of this epoch's steps (a VAE's KL term before β).
    epoch_kl: f64,
    epoch_metric: MetricSums,
    epoch_seen: usize,
    epoch_started: Option<Instant>,
    epoch_busy_s: f64,
}

/// The rows of `targets` at `idx`, as a loss target.
pub enum BatchTarget {
    Labels(Vec<usize>),
    Dense(Tensor<f32>),
}

impl BatchTarget {
    pub fn as_target(&self) -> Target<'_, f32> {
        match self {
            BatchTarget::Labels(l) => Target::Labels(l),
            BatchTarget::Dense(t) => Target::Dense(t),
        }
    }
}

pub fn gather(data: &Dataset, idx: &[usize]) -> (Tensor<f32>, BatchTarget) {
    let x = data.inputs.select(Axis(0), idx);
    let t = match &data.targets {
        Targets::Labels(l) => BatchTarget::Labels(idx.iter().map(|&i| l[i]).collect()),
        Targets::Dense(t) => BatchTarget::Dense(t.select(Axis(0), idx)),
    };
    (x, t)
}

fn metric_sums(kind: MetricKind, output: &Tensor<f32>, target: &BatchTarget) -> MetricSums {
    match (kind, target) {
        (MetricKind::Accuracy, BatchTarget::Labels(l)) => accuracy_sums(output, l),
        (MetricKind::Iou, BatchTarget::Dense(t)) => iou_sums(output, t),
        (MetricKind::Mse | MetricKind::Psnr, BatchTarget::Dense(t)) => mse_sums(output, t),
        _ => MetricSums::default(),
    }
}

impl Trainer {
    /// Loads the preset's data, builds and initialises the model.
    pub fn new(preset: &Preset) -> Result<Trainer, TrainError> {
        let (train, val) = load(&preset.data)?;
        Trainer::with_data(preset, train, val)
    }

    /// A run on data the caller already has (the GUI loads folders itself).
    pub fn with_data(preset: &Preset, train: Dataset, val: Dataset) -> Result<Trainer, TrainError> {
        if train.is_empty() {
            return Err(TrainError::Mismatch("the training set is empty".into()));
        }
        if train.sample_shape() != preset.model.input {
            return Err(TrainError::Mismatch(format!(
                "the data's samples are {:?} (channels, height, width) but the model's input is {:?}",
                train.sample_shape(),
                preset.model.input
            )));
        }
        let mut graph = Graph::<f32>::new(&preset.model)?;
        let t = &preset.training;
        let out = graph.facts().output();
        match (&train.targets, t.loss.wants_labels()) {
            (Targets::Labels(_), false) => {
                return Err(TrainError::Mismatch(format!(
                    "the loss {} needs dense targets, but the data has class labels (use cross_entropy)",
                    t.loss.torch_name()
                )));
            }
            (Targets::Dense(_), true) => {
                return Err(TrainError::Mismatch(
                    "cross_entropy needs class labels, but the data has dense targets".into(),
                ));
            }
            (Targets::Labels(_), true) if train.class_names.len() > out[0] => {
                return Err(TrainError::Mismatch(format!(
                    "the data has {} classes but the last node outputs {} channels",
                    train.class_names.len(),
                    out[0]
                )));
            }
            (Targets::Dense(d), false) if d.shape()[1..] != out[..] => {
                return Err(TrainError::Mismatch(format!(
                    "targets are {:?} per sample but the model outputs {:?}",
                    &d.shape()[1..],
                    out
                )));
            }
            _ => {}
        }
        initialize(&mut graph, t.init, t.seed);
        let mut model = DataParallel::from_graph(graph, default_threads());
        model.set_dropout_seed(t.seed);
        let metric = MetricKind::for_preset(preset);
        let mut trainer = Trainer {
            preset: preset.clone(),
            model,
            optimizer: Optimizer::new(t.optimizer, t.learning_rate),
            train,
            val,
            metric,
            order: Vec::new(),
            cursor: 0,
            epochs_done: 0,
            shuffle: Rng::derive(t.seed, 0x5_4FF1E),
            history: History::default(),
            epoch_loss: 0.0,
            epoch_kl: 0.0,
            epoch_metric: MetricSums::default(),
            epoch_seen: 0,
            epoch_started: None,
            epoch_busy_s: 0.0,
        };
        trainer.reshuffle();
        Ok(trainer)
    }

    fn reshuffle(&mut self) {
        self.order = (0..self.train.len()).collect();
        self.shuffle.shuffle(&mut self.order);
        self.cursor = 0;
    }

    pub fn graph(&self) -> &Graph<f32> {
        self.model.graph()
    }

    pub fn graph_mut(&mut self) -> &mut Graph<f32> {
        self.model.graph_mut()
    }

    /// Threads each batch is split across (the same seed gives the same numbers for the
    /// same thread count).
    pub fn threads(&self) -> usize {
        self.model.threads()
    }

    pub fn set_threads(&mut self, threads: usize) {
        let threads = threads.max(1);
        if threads != self.model.threads() {
            let placeholder = DataParallel::from_graph(self.model.graph().clone(), 1);
            let graph = std::mem::replace(&mut self.model, placeholder).into_graph();
            self.model = DataParallel::from_graph(graph, threads);
        }
    }

    pub fn metric(&self) -> MetricKind {
        self.metric
    }

    pub fn batch_size(&self) -> usize {
        self.preset.training.batch_size.min(self.train.len()).max(1)
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.batch_size())
    }

    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    pub fn learning_rate(&self) -> f64 {
        self.optimizer.lr
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.lr = lr;
        self.preset.training.learning_rate = lr;
    }

    /// Trains on one minibatch; finishing an epoch also evaluates on the validation set.
    pub fn step(&mut self) -> Result<StepReport, TrainError> {
        let started = Instant::now();
        self.epoch_started.get_or_insert(started);
        let bs = self.batch_size();
        let end = (self.cursor + bs).min(self.order.len());
        let idx: Vec<usize> = self.order[self.cursor..end].to_vec();
        let step = self.cursor / bs + 1;
        let epoch = self.epochs_done + 1;
        let (mut x, mut target) = gather(&self.train, &idx);
        if let Some(aug) = self.preset.training.augment.filter(|a| a.is_active()) {
            // Drawn from the seed, epoch and step: the same seed trains the same weights.
            let mut rng = batch_rng(self.preset.training.seed, epoch, step);
            let dense = match &mut target {
                BatchTarget::Dense(t) => Some(t),
                BatchTarget::Labels(_) => None,
            };
            aug.apply(&mut x, dense, &mut rng);
        }
        if let Some(d) = &self.preset.data.denoise {
            // Fresh noise every batch, after the flips and shifts so it is not moved with
            // the image; the target stays clean.
            let mut rng = noise_rng(self.preset.training.seed, epoch, step);
            d.apply(&mut x, &mut rng);
        }
        if let (Some(d), BatchTarget::Dense(noise)) = (&self.preset.data.diffusion, &mut target) {
            // A fresh timestep and noise for every image of every batch; the target is the
            // noise.
            let mut rng = crate::data::diffusion::step_rng(self.preset.training.seed, epoch, step);
            d.apply(&d.schedule(), &mut x, noise, &mut rng);
        }
        let lossk = self.preset.training.loss;
        // Batch norm updates its running statistics during the forward pass; keep the last
        // good ones so a diverging step leaves the whole model as it was.
        let running: Vec<(usize, ParamTensor<f32>)> = self
            .model
            .graph()
            .params()
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.trainable())
            .map(|(i, p)| (i, p.value.clone()))
            .collect();
        let restore = |model: &mut DataParallel<f32>| {
            for (i, v) in &running {
                model.graph_mut().params_mut()[*i].value.assign(v);
            }
        };
        self.model
            .set_kl_weight(self.preset.training.kl_weight_at(epoch));
        let t = &self.preset.training;
        if t.lr_schedule != crate::spec::LrSchedule::Constant {
            let spe = self.steps_per_epoch();
            self.optimizer.lr = t.learning_rate
                * t.lr_schedule
                    .factor(self.epochs_done * spe + step - 1, t.epochs * spe);
        }
        let value = match self.model.train_step(&x, target.as_target(), lossk) {
            Ok(v) => v,
            Err(e) => {
                restore(&mut self.model);
                return Err(match e {
                    StepError::Graph(g) => TrainError::Model(g),
                    StepError::Loss(l) => TrainError::Loss(l),
                });
            }
        };
        let stats_broken = self
            .model
            .graph()
            .params()
            .iter()
            .any(|p| !p.trainable() && p.value.iter().any(|v| !v.is_finite()));
        if !value.is_finite() || stats_broken {
            restore(&mut self.model);
            return Err(TrainError::Diverged {
                what: "the loss",
                value: value.to_string(),
                epoch,
                step,
            });
        }
        let sums = metric_sums(self.metric, self.model.output(), &target);
        if let Some(p) = self
            .model
            .graph()
            .params()
            .iter()
            .find(|p| p.trainable() && p.grad.iter().any(|g| !g.is_finite()))
        {
            let name = p.name.clone();
            restore(&mut self.model);
            return Err(TrainError::Diverged {
                what: "a gradient",
                value: format!("non-finite in {name}"),
                epoch,
                step,
            });
        }
        self.optimizer.step(self.model.graph_mut().params_mut());
        self.cursor = end;
        self.epoch_loss += value as f64 * idx.len() as f64;
        self.epoch_kl += self.model.last_kl() as f64 * idx.len() as f64;
        self.epoch_metric.add(sums);
        self.epoch_seen += idx.len();
        self.epoch_busy_s += started.elapsed().as_secs_f64();
        let steps_per_epoch = self.steps_per_epoch();
        let mut report = StepReport {
            epoch,
            step,
            steps_per_epoch,
            loss: value as f64,
            batch_size: idx.len(),
            finished_epoch: None,
        };
        if self.cursor >= self.order.len() {
            report.finished_epoch = Some(self.finish_epoch()?);
        }
        Ok(report)
    }

    fn finish_epoch(&mut self) -> Result<EpochRecord, TrainError> {
        let seconds = self
            .epoch_started
            .take()
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        let val = if self.val.is_empty() {
            Evaluation {
                loss: f64::NAN,
                metric: f64::NAN,
                recon: f64::NAN,
                kl: f64::NAN,
            }
        } else {
            self.evaluate_val()?
        };
        let (val_loss, val_metric) = (val.loss, val.metric);
        let epoch = self.epochs_done + 1;
        self.epochs_done += 1;
        let seen = self.epoch_seen.max(1) as f64;
        let train_loss = self.epoch_loss / seen;
        let elbo = self.is_vae().then(|| {
            let train_kl = self.epoch_kl / seen;
            ElboTerms {
                train_recon: train_loss - self.preset.training.kl_weight_at(epoch) * train_kl,
                train_kl,
                val_recon: val.recon,
                val_kl: val.kl,
            }
        });
        let record = EpochRecord {
            epoch: self.epochs_done,
            train_loss,
            val_loss,
            train_metric: self.epoch_metric.value(self.metric),
            val_metric,
            metric: self.metric.name().to_string(),
            images_per_s: self.epoch_seen as f64 / self.epoch_busy_s.max(1e-9),
            seconds,
            learning_rate: self.optimizer.lr,
            elbo,
        };
        self.history.epochs.push(record.clone());
        self.epoch_loss = 0.0;
        self.epoch_kl = 0.0;
        self.epoch_metric = MetricSums::default();
        self.epoch_seen = 0;
        self.epoch_busy_s = 0.0;
        self.reshuffle();
        Ok(record)
    }

    /// Runs the rest of the current epoch; `progress(step, steps)` after every step.
    pub fn run_epoch(
        &mut self,
        mut progress: impl FnMut(&StepReport),
    ) -> Result<EpochRecord, TrainError> {
        loop {
            let report = self.step()?;
            progress(&report);
            if let Some(record) = report.finished_epoch {
                return Ok(record);
            }
        }
    }

    /// A VAE: the model has a sampling node and the loss a KL weight β > 0.
    pub fn is_vae(&self) -> bool {
        self.preset.training.kl_weight > 0.0 && self.model.graph().has_sampling()
    }

    fn evaluate_val(&mut self) -> Result<Evaluation, TrainError> {
        let val = std::mem::replace(
            &mut self.val,
            Dataset {
                name: String::new(),
                inputs: Tensor::zeros((0, 0, 0, 0)),
                targets: Targets::Labels(Vec::new()),
                class_names: Vec::new(),
            },
        );
        let result = self.evaluate_terms(&val);
        self.val = val;
        result
    }

    /// Mean loss and metric over `data` in eval mode, split across the threads.
    pub fn evaluate(&mut self, data: &Dataset) -> Result<(f64, f64), TrainError> {
        let e = self.evaluate_terms(data)?;
        Ok((e.loss, e.metric))
    }

    /// [`Trainer::evaluate`] with the loss's terms: reconstruction and KL (zero without a
    /// KL term).
    pub fn evaluate_terms(&mut self, data: &Dataset) -> Result<Evaluation, TrainError> {
        let (lossk, metric) = (self.preset.training.loss, self.metric);
        let beta = self.preset.training.kl_weight;
        let (mut recon, mut kl_sum, mut sums) = (0.0, 0.0, MetricSums::default());
        let idx: Vec<usize> = (0..data.len()).collect();
        for chunk in idx.chunks(self.preset.training.batch_size.max(64)) {
            let (x, target) = gather(data, chunk);
            let y = self.model.infer(&x)?;
            sums.add(metric_sums(metric, y, &target));
            let (value, _) = loss(lossk, y, target.as_target())?;
            // The validation loss counts the KL term with the full β (no warm-up), so
            // epochs compare on one objective.
            let kl = if beta == 0.0 {
                0.0
            } else {
                self.model.infer_kl() as f64
            };
            recon += value as f64 * chunk.len() as f64;
            kl_sum += kl * chunk.len() as f64;
        }
        let n = data.len().max(1) as f64;
        let (recon, kl) = (recon / n, kl_sum / n);
        Ok(Evaluation {
            loss: recon + beta * kl,
            metric: sums.value(metric),
            recon,
            kl,
        })
    }
}

/// The mean loss, metric and loss terms of a model over a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Reconstruction + β·KL (the loss alone without a KL term).
    pub loss: f64,
    pub metric: f64,
    /// The loss's own term (e.g. MSE).
    pub recon: f64,
    /// KL divergence of the codes to N(0, I) per image, before β; 0 without a KL term.
    pub kl: f64,
}

/// All cores: each batch is split across them.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Mean loss and metric of `graph` over `data` in eval mode, in batches.
pub fn evaluate(
    graph: &mut Graph<f32>,
    lossk: crate::engine::LossKind,
    metric: MetricKind,
    data: &Dataset,
    batch: usize,
) -> Result<(f64, f64), TrainError> {
    let (mut total, mut sums) = (0.0, MetricSums::default());
    let idx: Vec<usize> = (0..data.len()).collect();
    for chunk in idx.chunks(batch.max(1)) {
        let (x, target) = gather(data, chunk);
        let y = graph.forward(&x, Mode::Eval)?;
        sums.add(metric_sums(metric, y, &target));
        let (value, _) = loss(lossk, y, target.as_target())?;
        total += value as f64 * chunk.len() as f64;
    }
    Ok((total / data.len().max(1) as f64, sums.value(metric)))
}
