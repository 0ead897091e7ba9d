//! What one channel responds to: the data set's images that excite it most, each with the
//! receptive field of its strongest unit, the patch of input that unit sees (the "top-9
//! patches" of Zeiler & Fergus and of the Deep Visualization Toolbox). Unlike a kernel
//! picture, this works at any depth: a deep channel's patches show the shapes it detects.

use ndarray::{Axis, s};

use crate::data::Dataset;
use crate::engine::{Graph, Mode, NodeKind, NodeSpec};

use super::InspectError;
use super::receptive::RfRect;
use super::util::{channel_of, truncated};

/// Images searched at most (the first ones of the set), so the view stays interactive on
/// large folders.
pub const SEARCH_LIMIT: usize = 2_000;
/// Images per forward pass at most.
const BATCH: usize = 64;
/// Memory for the node outputs of one forward pass (the graph keeps every node's output),
/// which bounds the batch for large images and wide layers.
const BATCH_BYTES: usize = 64 << 20;

/// The node the view looks at when none is chosen: the last conv or transposed-conv node
/// (the deepest learned feature maps).
pub fn default_node(nodes: &[NodeSpec]) -> Option<String> {
    nodes
        .iter()
        .rev()
        .find(|n| matches!(n.kind, NodeKind::Conv2d(_) | NodeKind::ConvTranspose2d(_)))
        .map(|n| n.name.clone())
}

/// One image's strongest response.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchHit {
    /// Index into the data set.
    pub sample: usize,
    /// The strongest unit `(row, col)` of the channel for this image (the first one on ties).
    pub unit: (usize, usize),
    pub value: f32,
    /// The unit's theoretical receptive field on the input (may reach into the padding).
    pub window: RfRect,
}

/// The images that excite `channel` of `node` most, strongest first.
#[derive(Clone, Debug, PartialEq)]
pub struct TopPatches {
    pub node: String,
    pub channel: usize,
    /// How many images were searched.
    pub searched: usize,
    pub hits: Vec<PatchHit>,
    /// The mean over the searched images of their strongest response (for scale: a hit far
    /// above it is a real preference, not noise).
    pub mean_best: f32,
}

/// Runs the first [`SEARCH_LIMIT`] images of `data` through `graph` up to `node` (eval
/// mode), takes each image's strongest unit of `channel` and keeps the `k` images with the
/// largest such values (one hit per image; ties keep the earlier image). Images on which
/// the channel is flat (every unit equal, e.g. a switched-off ReLU) are not hits: they
/// show nothing the channel looks for.
pub fn top_patches(
    graph: &Graph<f32>,
    data: &Dataset,
    node: &str,
    channel: usize,
    k: usize,
) -> Result<TopPatches, InspectError> {
    let index = channel_of(graph, node, channel)?;
    let facts = &graph.facts().nodes[index];
    let [c, h, w] = graph.facts().input;
    if data.sample_shape() != [c, h, w] {
        return Err(InspectError::invalid(format!(
            "the data's samples are {:?} but the model's input is {:?}",
            data.sample_shape(),
            [c, h, w]
        )));
    }
    let n = data.len().min(SEARCH_LIMIT);
    if n == 0 {
        return Err(InspectError::invalid("the data set is empty"));
    }
    let rf = facts.receptive_field;
    let per_sample: usize = graph.facts().nodes[..=index]
        .iter()
        .map(|n| n.output.iter().product::<usize>() * 4)
        .sum();
    let batch = (BATCH_BYTES / per_sample.max(1)).clamp(1, BATCH);
    let mut cut = truncated(graph, node)?;
    let mut best: Vec<PatchHit> = Vec::with_capacity(n);
    for start in (0..n).step_by(batch) {
        let end = (start + batch).min(n);
        let x = data.inputs.slice(s![start..end, .., .., ..]).to_owned();
        let y = cut.forward(&x, Mode::Eval)?;
        for (i, sample) in y.axis_iter(Axis(0)).enumerate() {
            let map = sample.index_axis(Axis(0), channel);
            let mut hit = ((0, 0), f32::NEG_INFINITY);
            let mut lowest = f32::INFINITY;
            for ((r, col), &v) in map.indexed_iter() {
                // `>` keeps the first unit on ties; NaN never wins.
                if v > hit.1 {
                    hit = ((r, col), v);
                }
                lowest = lowest.min(v);
            }
            let flat = hit.1 <= lowest && map.len() > 1;
            if hit.1.is_finite() && !flat {
                best.push(PatchHit {
                    sample: start + i,
                    unit: hit.0,
                    value: hit.1,
                    window: RfRect::of_unit(&rf, hit.0.0, hit.0.1),
                });
            }
        }
    }
    let mean_best = if best.is_empty() {
        0.0
    } else {
        best.iter().map(|b| b.value).sum::<f32>() / best.len() as f32
    };
    // Stable: equal values keep the earlier image first.
    best.sort_by(|a, b| b.value.total_cmp(&a.value));
    best.truncate(k);
    Ok(TopPatches {
        node: node.to_string(),
        channel,
        searched: n,
        hits: best,
        mean_best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;
    use crate::engine::model_spec::{ModelSpec, NodeKind, NodeSpec};
    use ndarray::Array4;

    /// One 3×3 conv whose only kernel is a bright-centre detector (1 in the middle, 0
    /// around): the images with the brightest single pixel excite it most, at that pixel.
    fn detector() -> Graph<f32> {
        let spec = ModelSpec {
            input: [1, 8, 8],
            nodes: vec![NodeSpec::new("conv", NodeKind::conv(1, 3, 1))],
        };
        let mut g = Graph::new(&spec).unwrap();
        let mut k = ndarray::ArrayD::zeros(ndarray::IxDyn(&[1, 1, 3, 3]));
        k[[0, 0, 1, 1]] = 1.0;
        g.set_param("conv.weight", k).unwrap();
        g.set_param("conv.bias", ndarray::ArrayD::zeros(ndarray::IxDyn(&[1])))
            .unwrap();
        g
    }

    fn dots(n: usize) -> Dataset {
        // Image i has one bright pixel of value i/n at (i % 8, (3 i) % 8).
        let mut inputs = Array4::zeros((n, 1, 8, 8));
        for i in 0..n {
            inputs[[i, 0, i % 8, (3 * i) % 8]] = i as f32 / n as f32;
        }
        Dataset {
            name: "dots".into(),
            inputs,
            targets: Targets::Labels(vec![0; n]),
            class_names: vec!["dot".into()],
        }
    }

    #[test]
    fn the_strongest_images_come_first_at_their_brightest_pixel() {
        let g = detector();
        // 150 images: more than one batch.
        let tp = top_patches(&g, &dots(150), "conv", 0, 9).unwrap();
        assert_eq!(tp.searched, 150);
        let samples: Vec<usize> = tp.hits.iter().map(|h| h.sample).collect();
        assert_eq!(samples, (141..150).rev().collect::<Vec<_>>());
        for hit in &tp.hits {
            let i = hit.sample;
            assert_eq!(hit.unit, (i % 8, (3 * i) % 8));
            assert!((hit.value - i as f32 / 150.0).abs() < 1e-6);
            // A 3×3 receptive field centred on the unit.
            assert_eq!(hit.window.height, 3.0);
            assert_eq!(hit.window.top, (i % 8) as f64 - 1.0);
            assert_eq!(hit.window.left, ((3 * i) % 8) as f64 - 1.0);
        }
        // Image 0 is black: a flat map, not a hit.
        let mean = (1..150).map(|i| i as f32 / 150.0).sum::<f32>() / 149.0;
        assert!((tp.mean_best - mean).abs() < 1e-5);
    }

    #[test]
    fn flat_maps_are_not_hits_and_dense_nodes_work() {
        let g = detector();
        // Image 0 is all zeros: the detector's map is flat there.
        let tp = top_patches(&g, &dots(5), "conv", 0, 9).unwrap();
        let samples: Vec<usize> = tp.hits.iter().map(|h| h.sample).collect();
        assert_eq!(samples, [4, 3, 2, 1]);
        // A dense output is one unit per channel: its field is the whole input (and more).
        let spec = ModelSpec {
            input: [1, 8, 8],
            nodes: vec![
                NodeSpec::new("flat", NodeKind::Flatten),
                NodeSpec::new("fc", NodeKind::dense(2)),
            ],
        };
        let dense = Graph::new(&spec).unwrap();
        let tp = top_patches(&dense, &dots(20), "fc", 1, 3).unwrap();
        assert_eq!(tp.hits.len(), 3);
        assert!(
            tp.hits
                .iter()
                .all(|h| h.unit == (0, 0) && h.window.height >= 8.0)
        );
        // Flatten has no channels to speak of.
        let e = top_patches(&dense, &dots(20), "flat", 0, 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("only reshapes"), "{e}");
    }

    #[test]
    fn bad_requests_are_errors() {
        let g = detector();
        let data = dots(4);
        assert!(top_patches(&g, &data, "nope", 0, 9).is_err());
        let e = top_patches(&g, &data, "conv", 3, 9)
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 channels"), "{e}");
        let empty = dots(0);
        assert!(top_patches(&g, &empty, "conv", 0, 9).is_err());
        // Fewer images than asked for: all of them (but the black image 0).
        assert_eq!(top_patches(&g, &data, "conv", 0, 9).unwrap().hits.len(), 3);
    }
}
