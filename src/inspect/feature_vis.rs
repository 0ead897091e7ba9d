//! Feature visualisation by optimisation: start from a grey image and climb the gradient of
//! one unit's activation near the centre of a channel with respect to the input (Erhan et
//! al. 2009; Olah et al. 2017, "Feature Visualization"). Small regularisers keep the picture
//! image-like: a pull back towards grey, a light blur every few steps, and pixel values
//! kept in [0, 1]. One unit, not the channel's mean, so that the pattern appears once,
//! inside that unit's receptive field, comparable with the top patches (the real images
//! that excite the channel most).

use ndarray::{Array2, Axis};

use crate::engine::rng::Rng;
use crate::engine::{Graph, Mode, Tensor};

use super::InspectError;
use super::util::{channel_of, truncated};

/// How the ascent runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AscentOptions {
    pub steps: usize,
    /// How far the most-changed pixel moves per step (the gradient is scaled so its
    /// largest value is this), whatever the image size.
    pub step_size: f32,
    /// Share of each pixel's distance from grey removed per step (L2 decay).
    pub decay: f32,
    /// Blur with a 3×3 binomial kernel every this many steps (0: never).
    pub blur_every: usize,
    pub seed: u64,
}

impl Default for AscentOptions {
    fn default() -> Self {
        AscentOptions {
            steps: 96,
            step_size: 0.1,
            decay: 0.01,
            blur_every: 4,
            seed: 0,
        }
    }
}

/// The synthesised input and how the objective rose.
#[derive(Clone, Debug, PartialEq)]
pub struct Ascent {
    pub node: String,
    pub channel: usize,
    /// The unit climbed, `(row, col)` in the node's output.
    pub unit: (usize, usize),
    /// `[1, c, h, w]`, values in [0, 1].
    pub image: Tensor<f32>,
    /// The unit's activation before each step, then after the last one.
    pub objective: Vec<f32>,
}

/// Climbs the activation of one central unit of `channel` of `node` from a grey image with a
/// little noise (deterministic for a seed).
pub fn maximise_channel(
    graph: &Graph<f32>,
    node: &str,
    channel: usize,
    opts: AscentOptions,
) -> Result<Ascent, InspectError> {
    channel_of(graph, node, channel)?;
    let [c, h, w] = graph.facts().input;
    let mut rng = Rng::new(opts.seed);
    let mut x = Tensor::from_shape_fn((1, c, h, w), |_| 0.5 + 0.02 * (rng.next_f32() - 0.5));
    let mut cut = truncated(graph, node)?;
    let mut objective = Vec::with_capacity(opts.steps + 1);
    let mut unit = None;
    for step in 0..=opts.steps {
        let y = cut.forward(&x, Mode::Eval)?;
        let (_, _, yh, yw) = y.dim();
        // The unit: the strongest at the start within the middle of the map (a ReLU unit
        // that starts switched off has no gradient to climb).
        let (ui, uj) = *unit.get_or_insert_with(|| {
            let (r0, r1) = (yh / 4, (3 * yh).div_ceil(4).max(yh / 4 + 1));
            let (c0, c1) = (yw / 4, (3 * yw).div_ceil(4).max(yw / 4 + 1));
            // Ties (a flat map) keep the centre.
            let mut best = ((yh / 2, yw / 2), y[[0, channel, yh / 2, yw / 2]]);
            for i in r0..r1 {
                for j in c0..c1 {
                    if y[[0, channel, i, j]] > best.1 {
                        best = ((i, j), y[[0, channel, i, j]]);
                    }
                }
            }
            best.0
        });
        objective.push(y[[0, channel, ui, uj]]);
        if step == opts.steps {
            break;
        }
        // Mostly that unit; a tenth of the channel's mean as well, so that the ascent still
        // moves when the unit is switched off.
        let mut seed = Tensor::zeros(y.raw_dim());
        seed.slice_mut(ndarray::s![0, channel, .., ..])
            .fill(0.1 / (yh * yw) as f32);
        seed[[0, channel, ui, uj]] += 1.0;
        cut.backward(&seed, true)?;
        let g = cut
            .input_grad()
            .ok_or_else(|| InspectError::invalid("no input gradient was computed"))?;
        let largest = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if largest > 0.0 && largest.is_finite() {
            x.scaled_add(opts.step_size / largest, g);
        }
        x.mapv_inplace(|v| 0.5 + (v - 0.5) * (1.0 - opts.decay));
        if opts.blur_every > 0 && (step + 1) % opts.blur_every == 0 {
            for mut plane in x.index_axis_mut(Axis(0), 0).outer_iter_mut() {
                let blurred = blur3(&plane.to_owned());
                plane.assign(&blurred);
            }
        }
        x.mapv_inplace(|v| v.clamp(0.0, 1.0));
    }
    Ok(Ascent {
        node: node.to_string(),
        channel,
        unit: unit.unwrap_or_default(),
        image: x,
        objective,
    })
}

/// A 3×3 binomial blur ([1 2 1] ⊗ [1 2 1] / 16) with edge pixels repeated.
fn blur3(a: &Array2<f32>) -> Array2<f32> {
    let (h, w) = a.dim();
    let at = |i: isize, j: isize| {
        a[[
            i.clamp(0, h as isize - 1) as usize,
            j.clamp(0, w as isize - 1) as usize,
        ]]
    };
    Array2::from_shape_fn((h, w), |(i, j)| {
        let (i, j) = (i as isize, j as isize);
        let mut sum = 0.0;
        for (di, wi) in [(-1, 1.0), (0, 2.0), (1, 1.0)] {
            for (dj, wj) in [(-1, 1.0), (0, 2.0), (1, 1.0)] {
                sum += wi * wj * at(i + di, j + dj);
            }
        }
        sum / 16.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model_spec::{ModelSpec, NodeKind, NodeSpec};
    use ndarray::{ArrayD, IxDyn};

    /// One 3×3 conv with a vertical-edge kernel (−1 left column, +1 right column) and ReLU.
    fn edge_detector() -> Graph<f32> {
        let spec = ModelSpec {
            input: [1, 12, 12],
            nodes: vec![
                NodeSpec::new("conv", NodeKind::conv(1, 3, 1)),
                NodeSpec::new("relu", NodeKind::Relu),
            ],
        };
        let mut g = Graph::new(&spec).unwrap();
        let mut k = ArrayD::zeros(IxDyn(&[1, 1, 3, 3]));
        for r in 0..3 {
            k[[0, 0, r, 0]] = -1.0;
            k[[0, 0, r, 2]] = 1.0;
        }
        g.set_param("conv.weight", k).unwrap();
        g.set_param("conv.bias", ArrayD::zeros(IxDyn(&[1])))
            .unwrap();
        g
    }

    #[test]
    fn the_ascent_raises_the_channel_and_draws_vertical_edges() {
        let g = edge_detector();
        let a = maximise_channel(&g, "relu", 0, AscentOptions::default()).unwrap();
        assert_eq!(a.objective.len(), 97);
        let (first, last) = (a.objective[0], *a.objective.last().unwrap());
        assert!(last > first + 0.5, "{first} → {last}");
        assert!(a.image.iter().all(|v| (0.0..=1.0).contains(v)));
        // Inside the unit's 3×3 receptive field: dark on the left, bright on the right.
        let (i, j) = a.unit;
        assert!((1..11).contains(&i) && (1..11).contains(&j), "{:?}", a.unit);
        let column = |c: usize| (i - 1..=i + 1).map(|r| a.image[[0, 0, r, c]]).sum::<f32>() / 3.0;
        let (left, right) = (column(j - 1), column(j + 1));
        assert!(right - left > 0.5, "left {left}, right {right}");
        // Deterministic for a seed.
        let b = maximise_channel(&g, "relu", 0, AscentOptions::default()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn the_step_does_not_grow_with_the_image() {
        // The same 3×3 detector on a 96×96 input: the gradient lives in 9 pixels of 9,216,
        // and still no pixel moves more than one step per step.
        let spec = ModelSpec {
            input: [1, 96, 96],
            nodes: vec![NodeSpec::new("conv", NodeKind::conv(1, 3, 1))],
        };
        let mut g = Graph::new(&spec).unwrap();
        g.set_param("conv.weight", edge_detector().params()[0].value.clone())
            .unwrap();
        let opts = AscentOptions {
            steps: 1,
            blur_every: 0,
            decay: 0.0,
            ..AscentOptions::default()
        };
        let a = maximise_channel(&g, "conv", 0, opts).unwrap();
        let moved = a.image.iter().fold(0.0f32, |m, v| m.max((v - 0.5).abs()));
        assert!(
            moved <= opts.step_size + 0.011,
            "a pixel moved {moved} in one step"
        );
        assert!(moved >= opts.step_size - 0.011, "{moved}");
    }

    #[test]
    fn bad_requests_are_errors() {
        let g = edge_detector();
        assert!(maximise_channel(&g, "nope", 0, AscentOptions::default()).is_err());
        let e = maximise_channel(&g, "conv", 1, AscentOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 channels"), "{e}");
    }

    #[test]
    fn blur_keeps_a_constant_image_and_smooths_a_spike() {
        let flat = Array2::from_elem((4, 5), 0.3f32);
        assert!(blur3(&flat).iter().all(|v| (v - 0.3).abs() < 1e-6));
        let mut spike = Array2::zeros((5, 5));
        spike[[2, 2]] = 16.0f32;
        let b = blur3(&spike);
        assert_eq!(b[[2, 2]], 4.0);
        assert_eq!(b[[1, 2]], 2.0);
        assert_eq!(b[[1, 1]], 1.0);
        assert_eq!(b.sum(), 16.0);
    }
}
