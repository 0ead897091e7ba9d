//! Evolutionary feature synthesis (after Krawiec and Bhanu): a seeded (μ+λ) evolution
//! strategy over handcrafted pipelines. An individual is a pipeline (operators and feature
//! groups); its fitness is the validation accuracy of its classifier *inside the training
//! split* (fitted on two thirds, scored on the other third), so the preset's validation set
//! stays a held-out test that the search never sees. Parents survive beside their
//! offspring (elitism), so the best fitness never falls; ties go to the smaller pipeline,
//! then to the older one. Same seed, same run, whatever the thread count.

use std::ops::ControlFlow;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::ClassicalError;
use super::classifier::{Classifier, ClassifierKind};
use super::features::FeatureGroup;
use super::ops::{MAX_RADIUS, MAX_SIGMA, Operator};
use super::pipeline::{PipelineSpec, accuracy, class_count, evaluate, feature_matrix, labels_of};
use crate::data::Dataset;
use crate::engine::rng::Rng;

/// The preset's `[evolution]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvolutionSpec {
    #[serde(default = "default_generations")]
    pub generations: usize,
    /// μ: the parents kept each generation.
    #[serde(default = "default_parents")]
    pub parents: usize,
    /// λ: the offspring made each generation.
    #[serde(default = "default_offspring")]
    pub offspring: usize,
    /// The most operators an individual may chain.
    #[serde(default = "default_max_stages")]
    pub max_stages: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub classifier: ClassifierKind,
}

fn default_generations() -> usize {
    15
}
fn default_parents() -> usize {
    4
}
fn default_offspring() -> usize {
    8
}
fn default_max_stages() -> usize {
    4
}
fn default_seed() -> u64 {
    1
}

impl Default for EvolutionSpec {
    fn default() -> Self {
        EvolutionSpec {
            generations: default_generations(),
            parents: default_parents(),
            offspring: default_offspring(),
            max_stages: default_max_stages(),
            seed: default_seed(),
            classifier: ClassifierKind::default(),
        }
    }
}

impl EvolutionSpec {
    pub fn validate(&self) -> Result<(), ClassicalError> {
        let check = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(ClassicalError::Invalid(format!("evolution: {what}")))
            }
        };
        check(
            (1..=500).contains(&self.generations),
            "generations must be 1 to 500",
        )?;
        check((1..=64).contains(&self.parents), "parents must be 1 to 64")?;
        check(
            (1..=256).contains(&self.offspring),
            "offspring must be 1 to 256",
        )?;
        check(
            (1..=super::pipeline::MAX_STAGES).contains(&self.max_stages),
            "max_stages must be 1 to 12",
        )
    }
}

/// One individual with its fitness.
#[derive(Clone, Debug, PartialEq)]
pub struct Individual {
    pub pipeline: PipelineSpec,
    /// Accuracy on the fitness third of the training split.
    pub fitness: f64,
    /// When it was made (a tie-breaker: older first).
    pub born: usize,
}

/// What one generation reached.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// 0 is the random start.
    pub index: usize,
    pub best_fitness: f64,
    pub mean_fitness: f64,
    pub best: PipelineSpec,
    /// The best individual fitted on the whole training split, scored on the held-out set.
    pub best_test_accuracy: f64,
    /// Seconds since the run started.
    pub seconds: f64,
}

fn random_operator(rng: &mut Rng) -> Operator {
    let op = Operator::PALETTE[rng.below(Operator::PALETTE.len())];
    tweak(op, rng)
}

/// The same operator with a new random setting.
fn tweak(op: Operator, rng: &mut Rng) -> Operator {
    let radius = |rng: &mut Rng| 1 + rng.below(3) as u8;
    match op {
        Operator::Gaussian { .. } => Operator::Gaussian {
            sigma: [0.5f32, 1.0, 1.5, 2.0, 3.0][rng.below(5)].min(MAX_SIGMA),
        },
        Operator::Median { .. } => Operator::Median {
            radius: u32::from(radius(rng).min(MAX_RADIUS)),
        },
        Operator::Threshold { .. } => Operator::Threshold {
            level: (32 + 32 * rng.below(7)) as u8,
        },
        Operator::Erode { .. } => Operator::Erode {
            radius: radius(rng),
        },
        Operator::Dilate { .. } => Operator::Dilate {
            radius: radius(rng),
        },
        Operator::Open { .. } => Operator::Open {
            radius: radius(rng),
        },
        Operator::Close { .. } => Operator::Close {
            radius: radius(rng),
        },
        Operator::Sobel | Operator::Laplacian | Operator::Otsu => op,
    }
}

fn random_individual(spec: &EvolutionSpec, rng: &mut Rng) -> PipelineSpec {
    let stages = (0..1 + rng.below(spec.max_stages.min(3)))
        .map(|_| random_operator(rng))
        .collect();
    let mut features: Vec<FeatureGroup> = FeatureGroup::ALL
        .iter()
        .copied()
        .filter(|_| rng.bernoulli(0.5))
        .collect();
    if features.is_empty() {
        features.push(FeatureGroup::ALL[rng.below(FeatureGroup::ALL.len())]);
    }
    PipelineSpec {
        stages,
        features,
        classifier: spec.classifier,
    }
}

/// One random change: a stage's setting, a stage inserted, removed or replaced, or a
/// feature group switched on or off (at least one stays).
fn mutate(parent: &PipelineSpec, spec: &EvolutionSpec, rng: &mut Rng) -> PipelineSpec {
    let mut child = parent.clone();
    let n = child.stages.len();
    match rng.below(5) {
        0 if n > 0 => {
            let i = rng.below(n);
            child.stages[i] = tweak(child.stages[i], rng);
        }
        1 if n < spec.max_stages => {
            let at = rng.below(n + 1);
            child.stages.insert(at, random_operator(rng));
        }
        2 if n > 0 => {
            child.stages.remove(rng.below(n));
        }
        3 if n > 0 => {
            let i = rng.below(n);
            child.stages[i] = random_operator(rng);
        }
        _ => {
            let g = FeatureGroup::ALL[rng.below(FeatureGroup::ALL.len())];
            if let Some(i) = child.features.iter().position(|&f| f == g) {
                if child.features.len() > 1 {
                    child.features.remove(i);
                }
            } else {
                child.features.push(g);
                child.features.sort();
            }
        }
    }
    child
}

/// Fitness: fitted on the training rows whose index is not ≡ 2 (mod 3), scored on the rest.
fn fitness(
    pipeline: &PipelineSpec,
    train: &Dataset,
    labels: &[usize],
    classes: usize,
    threads: usize,
) -> f64 {
    let x = feature_matrix(pipeline, &train.inputs, threads);
    let (mut fit_x, mut fit_y, mut test_x, mut test_y) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (row, &l)) in x.into_iter().zip(labels).enumerate() {
        if i % 3 == 2 {
            test_x.push(row);
            test_y.push(l);
        } else {
            fit_x.push(row);
            fit_y.push(l);
        }
    }
    let c = Classifier::fit(pipeline.classifier, &fit_x, &fit_y, classes);
    accuracy(&c, &test_x, &test_y)
}

/// Best first: higher fitness, then the smaller pipeline, then the older individual.
fn rank(pop: &mut [Individual]) {
    pop.sort_by(|a, b| {
        b.fitness
            .total_cmp(&a.fitness)
            .then(a.pipeline.size().cmp(&b.pipeline.size()))
            .then(a.born.cmp(&b.born))
    });
}

/// Runs the evolution on `train` (the held-out `test` only scores each generation's best).
/// `on_generation` sees every generation as it ends and may stop the run
/// (`ControlFlow::Break`); a caller that pauses simply waits inside it.
pub fn evolve(
    spec: &EvolutionSpec,
    train: &Dataset,
    test: &Dataset,
    threads: usize,
    mut on_generation: impl FnMut(&Generation) -> ControlFlow<()>,
) -> Result<Vec<Generation>, ClassicalError> {
    spec.validate()?;
    let labels = labels_of(train)?;
    labels_of(test)?;
    if train.len() < 3 {
        return Err(ClassicalError::Empty("training"));
    }
    let classes = class_count(train, labels);
    let started = Instant::now();
    let mut rng = Rng::derive(spec.seed, 0x45_564f);
    let mut born = 0;
    let make = |pipeline: PipelineSpec, born: &mut usize| {
        let f = fitness(&pipeline, train, labels, classes, threads);
        *born += 1;
        Individual {
            pipeline,
            fitness: f,
            born: *born - 1,
        }
    };
    let mut pop: Vec<Individual> = Vec::new();
    while pop.len() < spec.parents {
        let p = random_individual(spec, &mut rng);
        pop.push(make(p, &mut born));
    }
    rank(&mut pop);
    let mut history = Vec::new();
    for index in 0..=spec.generations {
        if index > 0 {
            let mut children = Vec::with_capacity(spec.offspring);
            for _ in 0..spec.offspring {
                let parent = &pop[rng.below(pop.len())].pipeline;
                // One change, sometimes two: small steps, and now and then a longer jump.
                let mut child = mutate(parent, spec, &mut rng);
                if rng.bernoulli(0.3) {
                    child = mutate(&child, spec, &mut rng);
                }
                children.push(child);
            }
            for child in children {
                pop.push(make(child, &mut born));
            }
            rank(&mut pop);
            pop.truncate(spec.parents);
        }
        let best = pop[0].pipeline.clone();
        let test_accuracy = evaluate(&best, train, test, threads)?.val_accuracy;
        let g = Generation {
            index,
            best_fitness: pop[0].fitness,
            mean_fitness: pop.iter().map(|i| i.fitness).sum::<f64>() / pop.len() as f64,
            best,
            best_test_accuracy: test_accuracy,
            seconds: started.elapsed().as_secs_f64(),
        };
        let flow = on_generation(&g);
        history.push(g);
        if flow.is_break() {
            break;
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_keep_pipelines_valid_and_within_bounds() {
        let spec = EvolutionSpec {
            max_stages: 3,
            ..EvolutionSpec::default()
        };
        let mut rng = Rng::new(5);
        let mut p = random_individual(&spec, &mut rng);
        for _ in 0..2000 {
            p = mutate(&p, &spec, &mut rng);
            assert!(p.validate().is_ok(), "{p:?}");
            assert!(p.stages.len() <= 3 && !p.features.is_empty());
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in [
            EvolutionSpec {
                generations: 0,
                ..EvolutionSpec::default()
            },
            EvolutionSpec {
                parents: 0,
                ..EvolutionSpec::default()
            },
            EvolutionSpec {
                max_stages: 99,
                ..EvolutionSpec::default()
            },
        ] {
            assert!(bad.validate().is_err());
        }
    }
}
