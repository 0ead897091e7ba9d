//! Segmenting whole images with a patch classifier (a `[data.patches]` preset): the patch
//! around every pixel is classified and the pixel gets the class of its patch — one
//! forward pass per pixel, the cost the fully convolutional nets avoid by computing all
//! pixels in one pass with shared intermediate maps.

use std::time::Instant;

use ndarray::{Array4, Axis, s};

use crate::data::patches::push_patch;
use crate::engine::{Graph, GraphError, Mode};

/// The per-pixel scores of `images` (`[n, c, h, w]`) from `graph`, a classifier of
/// `patch × patch` patches, in the form a segmentation net gives them: with
/// `mask_channels = 1` (0/1 masks) one channel holding the foreground's logit against the
/// background (`l₁ − l₀`, so its sigmoid is the classifier's softmax probability of class
/// 1); otherwise the classifier's own logits, one channel per class. Runs `batch` patches
/// per forward pass; returns the scores and the seconds each image took.
pub fn segment(
    graph: &mut Graph<f32>,
    images: &Array4<f32>,
    patch: usize,
    mask_channels: usize,
    batch: usize,
) -> Result<(Array4<f32>, Vec<f64>), GraphError> {
    let (n, c, h, w) = images.dim();
    let batch = batch.max(1);
    let mut out: Option<Array4<f32>> = None;
    let mut seconds = Vec::with_capacity(n);
    let pixels: Vec<(usize, usize)> = (0..h).flat_map(|y| (0..w).map(move |x| (y, x))).collect();
    let mut buf = Vec::with_capacity(batch * c * patch * patch);
    for i in 0..n {
        let start = Instant::now();
        let img = images.index_axis(Axis(0), i);
        for chunk in pixels.chunks(batch) {
            buf.clear();
            for &(y, x) in chunk {
                push_patch(&mut buf, img, y, x, patch);
            }
            let xb = Array4::from_shape_vec((chunk.len(), c, patch, patch), buf.clone())
                .expect("the patches fill their batch");
            let logits = graph.forward(&xb, Mode::Eval)?;
            let k = logits.shape()[1];
            if logits.shape()[2..] != [1, 1] {
                return Err(GraphError::node(
                    "output",
                    format!(
                        "a patch classifier gives one score per class, not maps of {:?}",
                        &logits.shape()[2..]
                    ),
                ));
            }
            let channels = if mask_channels == 1 { 1 } else { k };
            let o = out.get_or_insert_with(|| Array4::zeros((n, channels, h, w)));
            if mask_channels == 1 && k < 2 {
                return Err(GraphError::node(
                    "output",
                    format!("a patch classifier for 0/1 masks needs 2 class scores, not {k}"),
                ));
            }
            for (j, &(y, x)) in chunk.iter().enumerate() {
                if mask_channels == 1 {
                    o[[i, 0, y, x]] = logits[[j, 1, 0, 0]] - logits[[j, 0, 0, 0]];
                } else {
                    o.slice_mut(s![i, .., y, x])
                        .assign(&logits.slice(s![j, .., 0, 0]));
                }
            }
        }
        seconds.push(start.elapsed().as_secs_f64());
    }
    Ok((out.unwrap_or_else(|| Array4::zeros((n, 1, h, w))), seconds))
}
