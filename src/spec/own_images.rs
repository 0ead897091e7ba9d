//! Models for the user's own images.

use crate::engine::{ModelSpec, NodeKind, NodeSpec};

/// Three 3×3 conv blocks (16, 32, 64 filters; the first two pooled) and global average
/// pooling before one dense layer: few weights, so a few hundred images do not overfit,
/// and any image size of at least 4×4 fits.
pub fn small_cnn(input: [usize; 3], classes: usize) -> ModelSpec {
    let node = |name: &str, kind| NodeSpec::new(name, kind);
    ModelSpec {
        input,
        nodes: vec![
            node("conv1", NodeKind::conv(16, 3, 1)),
            node("relu1", NodeKind::Relu),
            node("pool1", NodeKind::max_pool(2)),
            node("conv2", NodeKind::conv(32, 3, 1)),
            node("relu2", NodeKind::Relu),
            node("pool2", NodeKind::max_pool(2)),
            node("conv3", NodeKind::conv(64, 3, 1)),
            node("relu3", NodeKind::Relu),
            node("gap", NodeKind::GlobalAvgPool),
            node("fc", NodeKind::dense(classes.max(1))),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::facts::infer;

    #[test]
    fn a_tiny_input_still_fits_the_small_cnn() {
        let facts = infer(&small_cnn([1, 4, 4], 40)).unwrap();
        assert_eq!(facts.output(), [40, 1, 1]);
    }
}
