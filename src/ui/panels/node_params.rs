//! The parameter editor of one node: every hyper-parameter of every node kind, each with a
//! tooltip in the lecture's words.

use eframe::egui::{self, DragValue, Ui};

use crate::engine::model_spec::{Padding, PaddingMode, PaddingName, Pair0, UpsampleMode};
use crate::engine::{NodeKind, NodeSpec, Pair};
use crate::ui::project::{padding_label, padding_mode_label};

const TIP_OUT_CHANNELS: &str =
    "How many filters this layer learns. Each filter makes one output channel (feature map).";
const TIP_KERNEL: &str = "Height × width of each filter's window. A 1×1 conv mixes channels at each pixel without looking at neighbours: a cheap way to change the channel count.";
const TIP_STRIDE: &str =
    "How far the window moves between outputs. Stride 2 halves the output size.";
const TIP_PADDING: &str = "Border added around the input so the window can be centred on edge pixels. 'same' keeps the size (at stride 1); 'valid' adds none and the output shrinks by kernel − 1.";
const TIP_PADDING_MODE: &str = "What the border contains: zeros, a mirror image of the inside (reflect), or copies of the edge pixel (replicate).";
const TIP_DILATION: &str = "Gaps between the kernel's taps. Dilation 2 spreads a 3×3 kernel over 5×5 pixels: a larger receptive field with the same weights.";
const TIP_GROUPS: &str = "Splits input and output channels into groups that only see each other. groups = input channels is a depthwise conv (one filter per channel). Both channel counts must be divisible by it.";
const TIP_BIAS: &str = "Add a learned constant to each output channel. Off when batch norm follows (it has its own shift).";
const TIP_TPAD: &str =
    "Rows/columns cropped from each side of the full transposed output (PyTorch's padding).";
const TIP_OUTPAD: &str =
    "Extra rows/columns added on one side, to reach an exact output size when the stride is > 1.";
const TIP_POOL_KERNEL: &str =
    "Size of the pooling window. 2×2 with stride 2 halves height and width.";
const TIP_POOL_STRIDE: &str =
    "Distance between windows; by default the window size (non-overlapping pooling).";
const TIP_POOL_PAD: &str = "Border added before pooling (at most half the window).";
const TIP_DENSE: &str = "Number of output neurons. Every neuron is connected to every input value (a spatial input is flattened first).";
const TIP_DROPOUT: &str = "During training, each value is zeroed with this probability (and the rest scaled up), so the network cannot rely on single neurons. Off at evaluation.";
const TIP_EPS: &str = "Small number added to the variance so we never divide by zero.";
const TIP_MOMENTUM: &str =
    "How fast the running mean/variance (used at evaluation) follow the batch statistics.";
const TIP_SCALE: &str = "Factor by which height and width grow.";
const TIP_UPMODE: &str = "nearest copies each pixel; bilinear interpolates between neighbours.";
const TIP_SLOPE: &str = "Slope for negative inputs: leaky ReLU lets a little gradient through where ReLU would be dead.";

/// A labelled number field; the label is the field's accessible name.
fn number(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    value: &mut usize,
    range: std::ops::RangeInclusive<usize>,
) {
    let l = ui.label(label).on_hover_text(tip);
    ui.add(DragValue::new(value).range(range).speed(0.05))
        .labelled_by(l.id)
        .on_hover_text(tip);
}

fn pair(ui: &mut Ui, label: &str, tip: &str, p: &mut Pair, min: usize) {
    ui.horizontal(|ui| {
        let l = ui.label(label).on_hover_text(tip);
        ui.add(DragValue::new(&mut p.h).range(min..=255).speed(0.05))
            .labelled_by(l.id)
            .on_hover_text(format!("{tip}\n(height)"));
        let x = ui.label("×");
        ui.add(DragValue::new(&mut p.w).range(min..=255).speed(0.05))
            .labelled_by(x.id)
            .on_hover_text(format!("{tip}\n(width)"));
    });
}

fn float(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    v: &mut f64,
    range: std::ops::RangeInclusive<f64>,
    speed: f64,
) {
    ui.horizontal(|ui| {
        let l = ui.label(label).on_hover_text(tip);
        ui.add(DragValue::new(v).range(range).speed(speed).max_decimals(5))
            .labelled_by(l.id)
            .on_hover_text(tip);
    });
}

fn checkbox(ui: &mut Ui, v: &mut bool, label: &str, tip: &str) {
    ui.checkbox(v, label).on_hover_text(tip);
}

fn padding_ui(ui: &mut Ui, id: egui::Id, padding: &mut Padding) {
    ui.horizontal(|ui| {
        let l = ui.label("padding").on_hover_text(TIP_PADDING);
        egui::ComboBox::from_id_salt(id.with("padding"))
            .selected_text(padding_label(padding))
            .show_ui(ui, |ui| {
                let current = *padding;
                let amount = match current {
                    Padding::Uniform(p) => p,
                    Padding::Symmetric([v, _]) => v,
                    Padding::Explicit([t, ..]) => t,
                    Padding::Named(_) => 1,
                };
                for choice in [
                    Padding::Named(PaddingName::Valid),
                    Padding::Named(PaddingName::Same),
                    Padding::Uniform(amount),
                    Padding::Symmetric([amount, amount]),
                    Padding::Explicit([amount; 4]),
                ] {
                    let same_variant = std::mem::discriminant(&choice) == std::mem::discriminant(&current)
                        && !matches!((choice, current), (Padding::Named(a), Padding::Named(b)) if a != b);
                    if ui.selectable_label(same_variant, padding_label(&choice)).clicked() && !same_variant {
                        *padding = choice;
                    }
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text(TIP_PADDING);
    });
    ui.horizontal(|ui| match padding {
        Padding::Uniform(p) => number(ui, "pad", TIP_PADDING, p, 0..=255),
        Padding::Symmetric([v, h]) => {
            number(ui, "pad v", TIP_PADDING, v, 0..=255);
            number(ui, "h", TIP_PADDING, h, 0..=255);
        }
        Padding::Explicit([t, b, l, r]) => {
            number(ui, "top", TIP_PADDING, t, 0..=255);
            number(ui, "bottom", TIP_PADDING, b, 0..=255);
            number(ui, "left", TIP_PADDING, l, 0..=255);
            number(ui, "right", TIP_PADDING, r, 0..=255);
        }
        Padding::Named(_) => {}
    });
}

fn padding_mode_ui(ui: &mut Ui, id: egui::Id, mode: &mut PaddingMode) {
    ui.horizontal(|ui| {
        let l = ui.label("padding mode").on_hover_text(TIP_PADDING_MODE);
        egui::ComboBox::from_id_salt(id.with("padding_mode"))
            .selected_text(padding_mode_label(*mode))
            .show_ui(ui, |ui| {
                for m in [
                    PaddingMode::Zeros,
                    PaddingMode::Reflect,
                    PaddingMode::Replicate,
                ] {
                    ui.selectable_value(mode, m, padding_mode_label(m));
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text(TIP_PADDING_MODE);
    });
}

fn pool_ui(ui: &mut Ui, kernel: &mut Pair, stride: &mut Option<Pair>, padding: &mut Pair0) {
    pair(ui, "kernel", TIP_POOL_KERNEL, kernel, 1);
    let mut own = stride.is_some();
    if ui
        .checkbox(&mut own, "own stride")
        .on_hover_text(TIP_POOL_STRIDE)
        .changed()
    {
        *stride = own.then_some(*kernel);
    }
    if let Some(s) = stride {
        pair(ui, "stride", TIP_POOL_STRIDE, s, 1);
    }
    pair(ui, "padding", TIP_POOL_PAD, &mut padding.0, 0);
}

/// Edits the hyper-parameters of `node` in place; `choices` are the names its inputs may
/// take (for Add and Concat).
pub fn node_params_ui(ui: &mut Ui, node: &mut NodeSpec, choices: &[String]) {
    let id = ui.scope_id().with(("node_params", &node.name));
    match &mut node.kind {
        NodeKind::Conv2d {
            out_channels,
            kernel,
            stride,
            padding,
            padding_mode,
            dilation,
            groups,
            bias,
        } => {
            ui.horizontal(|ui| {
                number(ui, "out channels", TIP_OUT_CHANNELS, out_channels, 1..=4096)
            });
            pair(ui, "kernel", TIP_KERNEL, kernel, 1);
            pair(ui, "stride", TIP_STRIDE, stride, 1);
            padding_ui(ui, id, padding);
            padding_mode_ui(ui, id, padding_mode);
            pair(ui, "dilation", TIP_DILATION, dilation, 1);
            ui.horizontal(|ui| number(ui, "groups", TIP_GROUPS, groups, 1..=4096));
            checkbox(ui, bias, "bias", TIP_BIAS);
        }
        NodeKind::ConvTranspose2d {
            out_channels,
            kernel,
            stride,
            padding,
            output_padding,
            bias,
        } => {
            ui.horizontal(|ui| {
                number(ui, "out channels", TIP_OUT_CHANNELS, out_channels, 1..=4096)
            });
            pair(ui, "kernel", TIP_KERNEL, kernel, 1);
            pair(ui, "stride", TIP_STRIDE, stride, 1);
            pair(ui, "padding", TIP_TPAD, &mut padding.0, 0);
            pair(ui, "output padding", TIP_OUTPAD, &mut output_padding.0, 0);
            checkbox(ui, bias, "bias", TIP_BIAS);
        }
        NodeKind::MaxPool2d {
            kernel,
            stride,
            padding,
        }
        | NodeKind::MinPool2d {
            kernel,
            stride,
            padding,
        }
        | NodeKind::AvgPool2d {
            kernel,
            stride,
            padding,
        } => pool_ui(ui, kernel, stride, padding),
        NodeKind::Dense { out_features, bias } => {
            ui.horizontal(|ui| number(ui, "out features", TIP_DENSE, out_features, 1..=65_536));
            checkbox(ui, bias, "bias", TIP_BIAS);
        }
        NodeKind::Dropout { p } => float(ui, "drop probability", TIP_DROPOUT, p, 0.0..=0.95, 0.01),
        NodeKind::BatchNorm2d { eps, momentum } => {
            float(ui, "eps", TIP_EPS, eps, 1e-8..=1e-1, 1e-6);
            float(ui, "momentum", TIP_MOMENTUM, momentum, 0.0..=1.0, 0.01);
        }
        NodeKind::Upsample { scale, mode } => {
            ui.horizontal(|ui| number(ui, "scale", TIP_SCALE, scale, 1..=16));
            ui.horizontal(|ui| {
                let l = ui.label("mode").on_hover_text(TIP_UPMODE);
                ui.selectable_value(mode, UpsampleMode::Nearest, "nearest")
                    .labelled_by(l.id);
                ui.selectable_value(mode, UpsampleMode::Bilinear, "bilinear");
            });
        }
        NodeKind::LeakyRelu { slope } => {
            float(ui, "negative slope", TIP_SLOPE, slope, 0.0..=1.0, 0.005)
        }
        NodeKind::Add | NodeKind::Concat => {}
        NodeKind::GlobalAvgPool
        | NodeKind::Flatten
        | NodeKind::Identity
        | NodeKind::Relu
        | NodeKind::Sigmoid
        | NodeKind::Tanh
        | NodeKind::Softmax => {
            ui.weak("no parameters");
        }
    }
    if node.kind.arity().is_none() {
        inputs_ui(ui, id, node, choices);
    }
}

/// Drop-downs choosing which earlier nodes a merge node reads.
fn inputs_ui(ui: &mut Ui, id: egui::Id, node: &mut NodeSpec, choices: &[String]) {
    let tip = match node.kind {
        NodeKind::Add => {
            "Adds its inputs element-wise (a residual connection): they must have the same shape."
        }
        _ => {
            "Stacks its inputs along the channel axis (Inception, U-Net skips): heights and widths must match."
        }
    };
    ui.label("inputs").on_hover_text(tip);
    let mut remove = None;
    let count = node.inputs.len();
    for (k, input) in node.inputs.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            let l = ui.label(format!("input {}", k + 1));
            // "x" before the choice, and the choice truncated last in the row: a long node
            // name must not widen the panel or move the button.
            if count > 2
                && ui
                    .small_button("x")
                    .on_hover_text("Remove this input")
                    .clicked()
            {
                remove = Some(k);
            }
            egui::ComboBox::from_id_salt(id.with(("input", k)))
                .selected_text(input.as_str())
                .truncate()
                .show_ui(ui, |ui| {
                    for c in choices {
                        ui.selectable_value(input, c.clone(), c.as_str());
                    }
                })
                .response
                .labelled_by(l.id)
                .on_hover_text(tip);
        });
    }
    if let Some(k) = remove {
        node.inputs.remove(k);
    }
    if ui
        .small_button("+ input")
        .on_hover_text("Read one more earlier node")
        .clicked()
    {
        let next = choices.last().cloned().unwrap_or_default();
        node.inputs.push(next);
    }
}
