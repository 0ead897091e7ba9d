//! The reverse chain of a denoising diffusion model (Ho, Jain and Abbeel 2020, Algorithm 2):
//! start from pure noise x_T ~ N(0, I) and walk back to t = 0, at each step asking the
//! network for the noise ε̂ in x_t and taking one step towards the clean image.
//!
//! Each step estimates the clean image x̂_0 = (x_t − √(1 − ᾱ_t)·ε̂) / √ᾱ_t, clips it to the
//! data's range [−1, 1] (as the paper's published code does), and draws x_{t−1} from the
//! forward process's posterior q(x_{t−1} | x_t, x̂_0): mean
//! √ᾱ_{t−1}·β_t/(1 − ᾱ_t)·x̂_0 + √α_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t)·x_t and variance
//! β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t (no noise in the last step). All draws come from one
//! generator seeded by the caller, so the same seed gives the same samples.

use ndarray::{Axis, s};

use crate::data::diffusion::{Diffusion, noised};
use crate::engine::Tensor;
use crate::engine::rng::Rng;

/// The stream label of the sampler's draws.
const SAMPLE_STREAM: u64 = 0xD1FF_5A3E;

/// What a reverse chain produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// The timesteps at which `frames` were kept, from T down to 0.
    pub steps: Vec<usize>,
    /// x_t at each kept step, `[n, c, h, w]` in the data's scale [−1, 1] (unclipped).
    pub frames: Vec<Tensor<f32>>,
    /// The final samples x_0, clipped and mapped to [0, 1].
    pub samples: Tensor<f32>,
}

impl Chain {
    /// The same chain keeping only about `frames` of its moments, evenly spaced, the first
    /// (pure noise) and the last kept (a strip drawn from a chain kept for an animation).
    pub fn thinned(&self, frames: usize) -> Chain {
        let len = self.steps.len();
        let frames = frames.clamp(2, len.max(2));
        let mut picks: Vec<usize> = (0..frames)
            .map(|i| (i * (len.saturating_sub(1)) + (frames - 1) / 2) / (frames - 1))
            .filter(|&i| i < len)
            .collect();
        picks.dedup();
        Chain {
            steps: picks.iter().map(|&i| self.steps[i]).collect(),
            frames: picks.iter().map(|&i| self.frames[i].clone()).collect(),
            samples: self.samples.clone(),
        }
    }
}

/// Which timesteps a chain of `steps` keeps when `frames` pictures are wanted: T, 0, and
/// evenly spaced ones between (at least two).
pub fn kept_steps(steps: usize, frames: usize) -> Vec<usize> {
    let frames = frames.max(2);
    let mut out: Vec<usize> = (0..frames)
        .map(|i| steps - (i * steps + (frames - 1) / 2) / (frames - 1))
        .collect();
    out.dedup();
    out
}

/// The model input for noisy images `x` at step `t`: `x` with one more channel holding t/T.
pub fn model_input(x: &Tensor<f32>, t: usize, steps: usize) -> Tensor<f32> {
    let (n, c, h, w) = x.dim();
    let mut input = Tensor::<f32>::zeros((n, c + 1, h, w));
    input.slice_mut(s![.., ..c, .., ..]).assign(x);
    input
        .slice_mut(s![.., c, .., ..])
        .fill((t as f64 / steps as f64) as f32);
    input
}

/// The timesteps a chain of `steps` visits when it takes only `visits` of them (evenly
/// spaced, always T; Nichol and Dhariwal 2021's respacing), from T down.
pub fn visited_steps(steps: usize, visits: usize) -> Vec<usize> {
    let visits = visits.clamp(1, steps);
    let mut out: Vec<usize> = (0..visits).map(|i| steps - (i * steps) / visits).collect();
    out.dedup();
    out
}

/// Runs the reverse chain for `count` images of shape `[c, h, w]`. `predict_noise` gets the
/// model input (x_t and t/T, see [`model_input`]) and returns ε̂ of x_t's shape; `keep`
/// lists the timesteps whose x_t to keep (see [`kept_steps`]). With `visits` below T the
/// chain jumps between evenly spaced timesteps (respacing: each jump is one step of the
/// forward process with β = 1 − ᾱ_t / ᾱ_s), which is faster and changes the samples little.
pub fn reverse_chain<E>(
    diffusion: &Diffusion,
    shape: [usize; 3],
    count: usize,
    seed: u64,
    keep: &[usize],
    visits: Option<usize>,
    mut predict_noise: impl FnMut(&Tensor<f32>) -> Result<Tensor<f32>, E>,
) -> Result<Chain, E> {
    let sched = diffusion.schedule();
    let big_t = sched.steps();
    let path = visited_steps(big_t, visits.unwrap_or(big_t));
    let [c, h, w] = shape;
    let mut rng = Rng::derive(seed, SAMPLE_STREAM);
    let mut x = Tensor::<f32>::from_shape_fn((count, c, h, w), |_| rng.normal() as f32);
    let mut chain = Chain {
        steps: Vec::new(),
        frames: Vec::new(),
        samples: Tensor::zeros((count, c, h, w)),
    };
    // A jump's frame is kept when it lands on or passes a kept step.
    let mut pending: Vec<usize> = keep.to_vec();
    pending.sort_unstable_by(|a, b| b.cmp(a));
    let mut record = |t: usize, x: &Tensor<f32>, chain: &mut Chain| {
        while pending.first().is_some_and(|&k| k >= t) {
            let k = pending.remove(0);
            chain.steps.push(k.max(t).min(big_t));
            chain.frames.push(x.clone());
        }
    };
    record(big_t, &x, &mut chain);
    for (i, &t) in path.iter().enumerate() {
        let s = path.get(i + 1).copied().unwrap_or(0);
        let eps = predict_noise(&model_input(&x, t, big_t))?;
        x = reverse_step(
            sched.alpha_bar(t),
            sched.alpha_bar(s),
            &x,
            &eps,
            s > 0,
            &mut rng,
        );
        record(s, &x, &mut chain);
    }
    chain.samples = to_display(&x);
    Ok(chain)
}

/// The clean image x̂_0 = (x_t − √(1 − ᾱ_t)·ε̂) / √ᾱ_t that noisy `x` and its predicted
/// noise `eps` imply at a step with `ab` = ᾱ_t (in the data's scale [−1, 1], unclipped).
pub fn implied_clean(ab: f64, x: &Tensor<f32>, eps: &Tensor<f32>) -> Tensor<f32> {
    let mut out = x.clone();
    out.zip_mut_with(eps, |v, &e| {
        *v = ((f64::from(*v) - (1.0 - ab).sqrt() * f64::from(e)) / ab.sqrt()) as f32
    });
    out
}

/// Values in the data's scale [−1, 1] as display values in [0, 1] (clipped).
pub fn to_display(x: &Tensor<f32>) -> Tensor<f32> {
    x.mapv(|v| (v.clamp(-1.0, 1.0) + 1.0) / 2.0)
}

/// One step back from x_t to x_s (s < t, usually t − 1) given the predicted noise, where
/// `ab` = ᾱ_t and `ab_prev` = ᾱ_s (see the module text); `noise` adds the posterior's
/// noise (not on the last step).
pub fn reverse_step(
    ab: f64,
    ab_prev: f64,
    x: &Tensor<f32>,
    eps: &Tensor<f32>,
    noise: bool,
    rng: &mut Rng,
) -> Tensor<f32> {
    let beta = 1.0 - ab / ab_prev;
    let alpha = 1.0 - beta;
    let x0_coef = ab_prev.sqrt() * beta / (1.0 - ab);
    let xt_coef = alpha.sqrt() * (1.0 - ab_prev) / (1.0 - ab);
    let sigma = ((1.0 - ab_prev) / (1.0 - ab) * beta).sqrt();
    let mut out = x.clone();
    out.zip_mut_with(eps, |v, &e| {
        // x̂_0 as in [`implied_clean`], kept in f64 through the step.
        let x0 = ((f64::from(*v) - (1.0 - ab).sqrt() * f64::from(e)) / ab.sqrt()).clamp(-1.0, 1.0);
        *v = (x0_coef * x0 + xt_coef * f64::from(*v)) as f32;
    });
    if noise {
        out.mapv_inplace(|v| v + (sigma * rng.normal()) as f32);
    }
    out
}

/// The forward process of clean images in [0, 1] (`[n, c, h, w]`): x_t at each of `steps`
/// with one noise draw from `seed` shared by all t, mapped back to [0, 1] for display
/// (values outside are clipped).
pub fn forward_strip(
    diffusion: &Diffusion,
    image: &Tensor<f32>,
    steps: &[usize],
    seed: u64,
) -> Vec<Tensor<f32>> {
    let sched = diffusion.schedule();
    let x0 = image.mapv(|v| 2.0 * v - 1.0);
    let mut rng = Rng::derive(seed, SAMPLE_STREAM ^ 1);
    let eps = Tensor::<f32>::from_shape_fn(x0.raw_dim(), |_| rng.normal() as f32);
    steps
        .iter()
        .map(|&t| to_display(&noised(&sched, &x0, &eps, t.min(sched.steps()))))
        .collect()
}

/// The frames of a chain as display images in [0, 1] (clipped), one `[n, c, h, w]` each.
pub fn frames_for_display(chain: &Chain) -> Vec<Tensor<f32>> {
    chain.frames.iter().map(to_display).collect()
}

/// Sample `i` of a batch as `[1, c, h, w]`.
pub fn one(batch: &Tensor<f32>, i: usize) -> Tensor<f32> {
    batch.index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned()
}

/// How a classifier judges a set of samples: the share it labels with confidence at least
/// `threshold`, and which classes those are.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub threshold: f32,
    /// Per sample: the most likely class and its probability.
    pub verdicts: Vec<(usize, f32)>,
    /// How many confident samples fell in each class.
    pub confident_per_class: Vec<usize>,
}

impl Judgement {
    pub fn confident(&self) -> usize {
        self.confident_per_class.iter().sum()
    }

    /// The share of samples judged with confidence ≥ the threshold.
    pub fn confident_share(&self) -> f64 {
        self.confident() as f64 / self.verdicts.len().max(1) as f64
    }

    /// How many classes have at least one confident sample.
    pub fn distinct_classes(&self) -> usize {
        self.confident_per_class.iter().filter(|&&c| c > 0).count()
    }
}

/// Classifies `samples` (`[n, c, h, w]` in [0, 1]) with `classifier` (a model with one
/// logit per class, trained with cross-entropy) and counts the confident ones.
pub fn judge(
    samples: &Tensor<f32>,
    classifier: &mut crate::engine::Graph<f32>,
    threshold: f32,
) -> Result<Judgement, crate::engine::GraphError> {
    let logits = classifier.forward(samples, crate::engine::Mode::Eval)?;
    let classes = logits.shape()[1];
    let mut judgement = Judgement {
        threshold,
        verdicts: Vec::new(),
        confident_per_class: vec![0; classes],
    };
    for row in logits.axis_iter(Axis(0)) {
        let p = super::prediction::softmax(&row.iter().copied().collect::<Vec<f32>>());
        let (best, prob) = p
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a });
        if prob >= threshold {
            judgement.confident_per_class[best] += 1;
        }
        judgement.verdicts.push((best, prob));
    }
    Ok(judgement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Diffusion {
        Diffusion {
            steps: 50,
            beta_start: 1e-3,
            beta_end: 0.2,
        }
    }

    #[test]
    fn kept_steps_run_from_t_to_zero() {
        assert_eq!(kept_steps(1000, 5), vec![1000, 750, 500, 250, 0]);
        assert_eq!(kept_steps(3, 8), vec![3, 2, 1, 0]);
    }

    #[test]
    fn a_thinned_chain_keeps_both_ends_and_evenly_spaced_moments() {
        let steps = kept_steps(500, 50);
        let chain = Chain {
            frames: steps
                .iter()
                .map(|&t| Tensor::<f32>::from_elem((1, 1, 1, 1), t as f32))
                .collect(),
            steps,
            samples: Tensor::<f32>::zeros((1, 1, 1, 1)),
        };
        let strip = chain.thinned(11);
        assert_eq!(strip.steps.len(), 11);
        assert_eq!((strip.steps[0], strip.steps[10]), (500, 0));
        assert!(strip.steps.windows(2).all(|w| w[0] > w[1]));
        for (t, f) in strip.steps.iter().zip(&strip.frames) {
            assert_eq!(f[[0, 0, 0, 0]], *t as f32, "frames travel with their steps");
        }
        assert_eq!(chain.thinned(80).steps, chain.steps);
    }

    #[test]
    fn respaced_chains_visit_evenly_spaced_steps() {
        assert_eq!(visited_steps(10, 5), vec![10, 8, 6, 4, 2]);
        assert_eq!(visited_steps(4, 9), vec![4, 3, 2, 1]);
    }

    #[test]
    fn a_perfect_noise_predictor_walks_back_even_when_respaced() {
        let d = small();
        let sched = d.schedule();
        let chain = reverse_chain(&d, [1, 2, 2], 1, 3, &[50, 0], Some(7), |input| {
            let x = input.slice(s![.., ..1, .., ..]).to_owned();
            let t = (f64::from(input[[0, 1, 0, 0]]) * 50.0).round() as usize;
            let ab = sched.alpha_bar(t);
            Ok::<_, ()>(x.mapv(|v| ((f64::from(v) - ab.sqrt() * 0.25) / (1.0 - ab).sqrt()) as f32))
        })
        .unwrap();
        assert_eq!(chain.steps, vec![50, 0]);
        assert!(
            chain.samples.iter().all(|&v| (v - 0.625).abs() < 1e-4),
            "{:?}",
            chain.samples
        );
    }

    #[test]
    fn a_perfect_noise_predictor_walks_back_to_the_clean_image() {
        // With ε̂ the true noise of a fixed image, x̂_0 is exact at every step, so the chain
        // ends on that image whatever the seed.
        let d = small();
        let sched = d.schedule();
        let clean = Tensor::<f32>::from_shape_fn((2, 1, 4, 4), |(n, _, y, x)| {
            ((n + y + x) % 3) as f32 / 2.0 - 0.5
        });
        let chain = reverse_chain(&d, [1, 4, 4], 2, 9, &kept_steps(50, 3), None, |input| {
            let x = input.slice(s![.., ..1, .., ..]).to_owned();
            let t = (f64::from(input[[0, 1, 0, 0]]) * 50.0).round() as usize;
            let ab = sched.alpha_bar(t);
            let mut eps = x.clone();
            eps.zip_mut_with(&clean, |e, &c| {
                *e = ((f64::from(*e) - ab.sqrt() * f64::from(c)) / (1.0 - ab).sqrt()) as f32
            });
            Ok::<_, ()>(eps)
        })
        .unwrap();
        assert_eq!(chain.steps, vec![50, 25, 0]);
        let want = clean.mapv(|v| (v + 1.0) / 2.0);
        let err = (&chain.samples - &want)
            .mapv(f32::abs)
            .fold(0f32, |a, &b| a.max(b));
        assert!(err < 1e-4, "max error {err}");
    }

    #[test]
    fn sampling_is_deterministic_for_a_seed() {
        let d = small();
        let run = |seed, visits: Option<usize>| {
            reverse_chain(&d, [1, 3, 3], 2, seed, &[], visits, |input| {
                Ok::<_, ()>(input.slice(s![.., ..1, .., ..]).mapv(|v| 0.3 * v))
            })
            .unwrap()
            .samples
        };
        assert_eq!(run(4, None), run(4, None));
        assert_ne!(run(4, None), run(5, None));
        assert_eq!(run(4, Some(10)), run(4, Some(10)));
        assert_ne!(run(4, Some(10)), run(4, None));
    }
}
