//! Ready-made architectures for the editor's Templates menu. Each fits the current data's
//! input shape and class count, so picking one gives a model that can train at once
//! (U-Net and the autoencoder produce images, for dense targets).

use crate::engine::layers::{
    BatchNorm2dConfig, Conv2dConfig, ConvTranspose2dConfig, DropoutConfig, Pool2dConfig,
    local_response_norm::LocalResponseNormConfig,
};
use crate::engine::model_spec::{Padding, PaddingMode};
use crate::engine::{ModelSpec, NodeKind, NodeSpec, Pair};

/// The templates, in menu order.
pub const TEMPLATES: [&str; 9] = [
    "MLP",
    "LeNet-5",
    "mini-AlexNet",
    "VGG block",
    "Inception module",
    "ResNet basic block (identity)",
    "ResNet basic block (projection)",
    "U-Net",
    "Conv autoencoder",
];

/// A one-line explanation for the menu's tooltip.
pub fn describe(name: &str) -> &'static str {
    match name {
        "MLP" => {
            "Flatten the image and use fully connected layers only: no notion of neighbourhood."
        }
        "LeNet-5" => "LeCun 1998: two 5×5 conv + pooling stages, then three dense layers.",
        "mini-AlexNet" => {
            "Five conv layers with ReLU, local response normalisation after the first two, conv2 in two groups, max pooling and dropout, scaled down for small images."
        }
        "VGG block" => {
            "Two stacked 3×3 convs see as far as one 5×5 with fewer weights; two such blocks."
        }
        "Inception module" => {
            "Parallel 1×1, 3×3, 5×5 and pooling branches, concatenated along channels; 1×1 convs shrink channels first."
        }
        "ResNet basic block (identity)" => {
            "Two 3×3 convs whose output is added to the block's input: the skip lets gradients flow."
        }
        "ResNet basic block (projection)" => {
            "A stride-2 block; the shortcut is a 1×1 conv with stride 2 so the shapes match for the addition."
        }
        "U-Net" => {
            "Encoder–decoder with skip concatenations, for per-pixel outputs (segmentation)."
        }
        "Conv autoencoder" => {
            "Squeeze the image through strided convs, rebuild it with transposed convs."
        }
        _ => "",
    }
}

fn conv(out: usize, k: usize, stride: usize, pad: usize) -> NodeKind {
    NodeKind::Conv2d(Conv2dConfig {
        out_channels: out,
        kernel: Pair::square(k),
        stride: Pair::square(stride),
        padding: Padding::Uniform(pad),
        padding_mode: PaddingMode::Zeros,
        dilation: Pair::square(1),
        groups: 1,
        bias: true,
    })
}

/// `kind` (a conv) with its channels split into `groups` independent groups.
fn grouped(kind: NodeKind, groups: usize) -> NodeKind {
    match kind {
        NodeKind::Conv2d(c) => NodeKind::Conv2d(Conv2dConfig { groups, ..c }),
        other => other,
    }
}

/// AlexNet's normalisation: 5 channels, k = 2, β = 0.75, and the paper's α = 1e-4 (without
/// division by the size), which is 5e-4 in PyTorch's convention that the node follows.
fn alexnet_lrn() -> NodeKind {
    NodeKind::LocalResponseNorm(LocalResponseNormConfig {
        size: 5,
        alpha: 5e-4,
        beta: 0.75,
        k: 2.0,
    })
}

fn up(out: usize) -> NodeKind {
    // The default is the ×2 upsampling: 2×2 kernel at stride 2, with bias.
    NodeKind::ConvTranspose2d(ConvTranspose2dConfig {
        out_channels: out,
        ..Default::default()
    })
}

fn bn() -> NodeKind {
    NodeKind::BatchNorm2d(BatchNorm2dConfig {
        eps: 1e-5,
        momentum: 0.1,
    })
}

#[derive(Default)]
struct Nodes(Vec<NodeSpec>);

impl Nodes {
    fn add(&mut self, name: &str, kind: NodeKind) -> &mut Self {
        self.0.push(NodeSpec::new(name, kind));
        self
    }
    fn from(&mut self, name: &str, inputs: &[&str], kind: NodeKind) -> &mut Self {
        self.0.push(NodeSpec::new(name, kind).with_inputs(inputs));
        self
    }
}

/// The template `name` for inputs `[c, h, w]` and `classes` outputs, or `None`.
pub fn build(name: &str, input: [usize; 3], classes: usize) -> Option<ModelSpec> {
    let classes = classes.max(1);
    let c = input[0];
    let mut n = Nodes::default();
    match name {
        "MLP" => {
            n.add("flatten", NodeKind::Flatten)
                .add("fc1", NodeKind::dense(128))
                .add("relu1", NodeKind::Relu)
                .add("fc2", NodeKind::dense(64))
                .add("relu2", NodeKind::Relu)
                .add("fc3", NodeKind::dense(classes));
        }
        "LeNet-5" => {
            n.add("conv1", NodeKind::conv(6, 5, 2))
                .add("relu1", NodeKind::Relu)
                .add("pool1", NodeKind::max_pool(2))
                .add("conv2", NodeKind::conv(16, 5, 0))
                .add("relu2", NodeKind::Relu)
                .add("pool2", NodeKind::max_pool(2))
                .add("flatten", NodeKind::Flatten)
                .add("fc1", NodeKind::dense(120))
                .add("relu3", NodeKind::Relu)
                .add("fc2", NodeKind::dense(84))
                .add("relu4", NodeKind::Relu)
                .add("fc3", NodeKind::dense(classes));
        }
        "mini-AlexNet" => {
            // As in the paper (and presets/alexnet-photos.toml): local response
            // normalisation after the first two convs, and conv2 split in two groups, the
            // paper's two GPUs. 32 and 64 channels divide by 2, so any input channels work.
            n.add("conv1", conv(32, 5, 1, 2))
                .add("relu1", NodeKind::Relu)
                .add("lrn1", alexnet_lrn())
                .add("pool1", NodeKind::max_pool(2))
                .add("conv2", grouped(conv(64, 3, 1, 1), 2))
                .add("relu2", NodeKind::Relu)
                .add("lrn2", alexnet_lrn())
                .add("pool2", NodeKind::max_pool(2))
                .add("conv3", conv(96, 3, 1, 1))
                .add("relu3", NodeKind::Relu)
                .add("conv4", conv(96, 3, 1, 1))
                .add("relu4", NodeKind::Relu)
                .add("conv5", conv(64, 3, 1, 1))
                .add("relu5", NodeKind::Relu)
                .add("pool3", NodeKind::max_pool(2))
                .add("flatten", NodeKind::Flatten)
                .add("fc1", NodeKind::dense(256))
                .add("relu6", NodeKind::Relu)
                .add("drop1", NodeKind::Dropout(DropoutConfig { p: 0.5 }))
                .add("fc2", NodeKind::dense(128))
                .add("relu7", NodeKind::Relu)
                .add("drop2", NodeKind::Dropout(DropoutConfig { p: 0.5 }))
                .add("fc3", NodeKind::dense(classes));
        }
        "VGG block" => {
            n.add("conv1", conv(16, 3, 1, 1))
                .add("relu1", NodeKind::Relu)
                .add("conv2", conv(16, 3, 1, 1))
                .add("relu2", NodeKind::Relu)
                .add("pool1", NodeKind::max_pool(2))
                .add("conv3", conv(32, 3, 1, 1))
                .add("relu3", NodeKind::Relu)
                .add("conv4", conv(32, 3, 1, 1))
                .add("relu4", NodeKind::Relu)
                .add("pool2", NodeKind::max_pool(2))
                .add("gap", NodeKind::GlobalAvgPool)
                .add("fc", NodeKind::dense(classes));
        }
        "Inception module" => {
            n.add("stem", conv(16, 3, 1, 1))
                .add("stem_relu", NodeKind::Relu)
                .from("b1_1x1", &["stem_relu"], conv(8, 1, 1, 0))
                .from("b2_reduce", &["stem_relu"], conv(8, 1, 1, 0))
                .add("b2_3x3", conv(16, 3, 1, 1))
                .from("b3_reduce", &["stem_relu"], conv(4, 1, 1, 0))
                .add("b3_5x5", conv(8, 5, 1, 2))
                .from(
                    "b4_pool",
                    &["stem_relu"],
                    NodeKind::MaxPool2d(Pool2dConfig {
                        kernel: Pair::square(3),
                        stride: Some(Pair::square(1)),
                        padding: Pair::square(1),
                    }),
                )
                .add("b4_1x1", conv(8, 1, 1, 0))
                .from(
                    "concat",
                    &["b1_1x1", "b2_3x3", "b3_5x5", "b4_1x1"],
                    NodeKind::Concat,
                )
                .add("relu", NodeKind::Relu)
                .add("pool", NodeKind::max_pool(2))
                .add("gap", NodeKind::GlobalAvgPool)
                .add("fc", NodeKind::dense(classes));
        }
        "ResNet basic block (identity)" => {
            n.add("stem", conv(16, 3, 1, 1))
                .add("stem_bn", bn())
                .add("stem_relu", NodeKind::Relu)
                .add("conv1", conv(16, 3, 1, 1))
                .add("bn1", bn())
                .add("relu1", NodeKind::Relu)
                .add("conv2", conv(16, 3, 1, 1))
                .add("bn2", bn())
                .from("add", &["stem_relu", "bn2"], NodeKind::Add)
                .add("relu2", NodeKind::Relu)
                .add("gap", NodeKind::GlobalAvgPool)
                .add("fc", NodeKind::dense(classes));
        }
        "ResNet basic block (projection)" => {
            n.add("stem", conv(16, 3, 1, 1))
                .add("stem_bn", bn())
                .add("stem_relu", NodeKind::Relu)
                .add("conv1", conv(32, 3, 2, 1))
                .add("bn1", bn())
                .add("relu1", NodeKind::Relu)
                .add("conv2", conv(32, 3, 1, 1))
                .add("bn2", bn())
                .from("shortcut", &["stem_relu"], conv(32, 1, 2, 0))
                .add("shortcut_bn", bn())
                .from("add", &["bn2", "shortcut_bn"], NodeKind::Add)
                .add("relu2", NodeKind::Relu)
                .add("gap", NodeKind::GlobalAvgPool)
                .add("fc", NodeKind::dense(classes));
        }
        "U-Net" => {
            n.add("enc1", conv(16, 3, 1, 1))
                .add("enc1_relu", NodeKind::Relu)
                .add("pool1", NodeKind::max_pool(2))
                .add("enc2", conv(32, 3, 1, 1))
                .add("enc2_relu", NodeKind::Relu)
                .add("pool2", NodeKind::max_pool(2))
                .add("mid", conv(64, 3, 1, 1))
                .add("mid_relu", NodeKind::Relu)
                .add("up2", up(32))
                .from("cat2", &["up2", "enc2_relu"], NodeKind::Concat)
                .add("dec2", conv(32, 3, 1, 1))
                .add("dec2_relu", NodeKind::Relu)
                .add("up1", up(16))
                .from("cat1", &["up1", "enc1_relu"], NodeKind::Concat)
                .add("dec1", conv(16, 3, 1, 1))
                .add("dec1_relu", NodeKind::Relu)
                .add("head", conv(1, 1, 1, 0));
        }
        "Conv autoencoder" => {
            n.add("enc1", conv(16, 3, 2, 1))
                .add("enc1_relu", NodeKind::Relu)
                .add("enc2", conv(32, 3, 2, 1))
                .add("enc2_relu", NodeKind::Relu)
                .add("dec1", up(16))
                .add("dec1_relu", NodeKind::Relu)
                .add("dec2", up(c))
                .add("out", NodeKind::Sigmoid);
        }
        _ => return None,
    }
    Some(ModelSpec { input, nodes: n.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::facts::infer;

    #[test]
    fn every_template_is_valid_for_digits_and_rgb_32() {
        for name in TEMPLATES {
            for input in [[1, 28, 28], [3, 32, 32]] {
                let spec = build(name, input, 10).unwrap();
                infer(&spec).unwrap_or_else(|e| panic!("{name} {input:?}: {e}"));
                // It builds: weights allocated, a forward pass gives one score per class.
                let mut graph = crate::engine::Graph::<f32>::new(&spec)
                    .unwrap_or_else(|e| panic!("{name} {input:?}: {e}"));
                let x = crate::engine::Tensor::zeros((2, input[0], input[1], input[2]));
                let y = graph
                    .forward(&x, crate::engine::Mode::Eval)
                    .unwrap_or_else(|e| panic!("{name} {input:?}: {e}"));
                assert_eq!(y.shape()[0], 2, "{name} {input:?}");
            }
        }
    }

    #[test]
    fn mini_alexnet_has_lrn_and_a_grouped_conv() {
        for input in [[1, 28, 28], [3, 32, 32]] {
            let spec = build("mini-AlexNet", input, 10).unwrap();
            let kind = |name: &str| {
                &spec
                    .nodes
                    .iter()
                    .find(|n| n.name == name)
                    .unwrap_or_else(|| panic!("no node {name}"))
                    .kind
            };
            for lrn in ["lrn1", "lrn2"] {
                assert!(
                    matches!(kind(lrn), NodeKind::LocalResponseNorm(c) if c.size == 5 && c.k == 2.0),
                    "{lrn}"
                );
            }
            assert!(matches!(kind("conv2"), NodeKind::Conv2d(c) if c.groups == 2));
            assert!(matches!(kind("conv1"), NodeKind::Conv2d(c) if c.groups == 1));
        }
    }
}
