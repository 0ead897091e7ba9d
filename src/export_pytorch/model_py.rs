//! `model.py`: the ConvLab model as an `nn.Module`, and `model.safetensors`, its state dict.
//!
//! Each node becomes the PyTorch module a person would write for it, named after the node
//! ([`super::python_name`] changes a name only where Python requires), and one line of
//! `forward`. Values stay in the variable `x` along a chain; a node whose output is read
//! again later (a residual's shortcut, a U-Net's skip, an Inception module's input) keeps
//! its own variable. ConvLab keeps every value 4-D (`[n, f, 1, 1]` after a dense layer);
//! the module, like the ONNX export, has `[N, F]` after `flatten` and `dense`, and views a
//! feature vector as an `f×1×1` map where a spatial node reads one.
//!
//! | ConvLab | PyTorch |
//! | --- | --- |
//! | conv2d | `nn.Conv2d` (padding modes through `padding_mode`; uneven padding through `F.pad`) |
//! | conv_transpose2d | `nn.ConvTranspose2d` |
//! | max_pool2d / avg_pool2d | `nn.MaxPool2d` / `nn.AvgPool2d` (`count_include_pad=True`, the default) |
//! | min_pool2d | `MinPool2d` (in model.py): −max(−x) |
//! | global_avg_pool | `nn.AdaptiveAvgPool2d(1)` |
//! | flatten / dense | `nn.Flatten()` / `nn.Linear` (a spatial input is flattened first) |
//! | dropout | `nn.Dropout` |
//! | sample | `Reparameterise` (in model.py), which also keeps the KL term |
//! | time_embedding | `TimeEmbedding` (in model.py), weight `[channels, dim]` |
//! | batch_norm2d | `nn.BatchNorm2d` (`nn.BatchNorm1d` on a feature vector); `num_batches_tracked` is added to the state dict |
//! | layer_norm | `nn.LayerNorm((c, h, w))`; on a feature vector `nn.LayerNorm(f)` with the weights reshaped to `[f]` |
//! | local_response_norm | `nn.LocalResponseNorm(size, alpha, beta, k)` (same α/size convention); on a feature vector applied to `[N, F, 1]` |
//! | upsample | `nn.Upsample` (nearest, or bilinear with `align_corners=False`) |
//! | add / concat | `a + b` / `torch.cat([...], dim=1)` in `forward` |
//! | identity … softmax | `nn.Identity`, `nn.ReLU`, `nn.LeakyReLU`, `nn.Sigmoid`, `nn.Tanh`, `nn.Softmax(dim=1)` |

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use ndarray::{ArrayD, IxDyn};
use safetensors::tensor::{Dtype, TensorView};

use super::{ExportError, py_float, python_name};
use crate::engine::facts::{ModelFacts, infer};
use crate::engine::layers::{
    BatchNorm2dConfig, Conv2dConfig, ConvTranspose2dConfig, DenseConfig, DropoutConfig,
    LeakyReluConfig, Pool2dConfig, TimeEmbeddingConfig, UpsampleConfig,
    layer_norm::LayerNormConfig, local_response_norm::LocalResponseNormConfig,
};
use crate::engine::model_spec::{
    INPUT_NODE, NodeKind, Padding, PaddingMode, PaddingName, Pair, UpsampleMode,
};
use crate::spec::Preset;

/// The Python form of a model: module lines, forward lines, helper classes, and how the
/// ConvLab parameters map onto the state dict.
#[derive(Clone, Debug)]
pub struct ModelCode {
    /// The class name, from the preset's name (`digits-lenet` → `DigitsLenet`).
    pub class_name: String,
    pub input: [usize; 3],
    pub output: [usize; 3],
    /// Rank of the model's output in PyTorch: 2 (`[N, F]`) or 4.
    pub output_rank: usize,
    /// Whether the model has a sampling node (a VAE) or a time embedding (diffusion).
    pub has_sampling: bool,
    pub has_time: bool,
    /// Whether the model has dropout or batch norm (train/eval mode matters).
    pub mode_matters: bool,
    description: String,
    preset_name: String,
    init_lines: Vec<String>,
    forward_lines: Vec<String>,
    helpers: Vec<&'static str>,
    /// ConvLab parameter name → (state dict key, how its layout changes).
    keys: Vec<(String, String, Layout)>,
    /// Batch norm modules, whose `num_batches_tracked` buffer ConvLab does not keep.
    batch_norms: Vec<String>,
    uses_functional: bool,
}

/// How a ConvLab parameter's layout becomes PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    Same,
    /// `[f, 1, 1]` → `[f]` (layer norm over a feature vector).
    Vector,
}

const MIN_POOL: &str = r#"class MinPool2d(nn.Module):
    """Min pooling: the smallest value in each window, computed as -max(-x)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def forward(self, x):
        return -F.max_pool2d(-x, self.kernel_size, self.stride, self.padding)
"#;

const REPARAMETERISE: &str = r#"class Reparameterise(nn.Module):
    """A VAE's sampling step (the reparameterisation trick, Kingma and Welling 2014).

    The first half of the input channels is the mean mu, the second half log sigma^2.
    In training the output is z = mu + sigma * eps with eps ~ N(0, 1): the randomness is an
    input of the computation, so the gradient reaches mu and sigma. In evaluation z = mu.
    The KL divergence of N(mu, sigma^2) to N(0, 1), summed over a sample's latent values and
    averaged over the batch, is kept in `self.kl` for the loss (the ELBO's second term).
    """

    def forward(self, x):
        mu, log_var = x.chunk(2, dim=1)
        self.kl = -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp()) / x.shape[0]
        if not self.training:
            return mu
        eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * log_var) * eps
"#;

const TIME_EMBEDDING: &str = r#"class TimeEmbedding(nn.Module):
    """Timestep conditioning for a diffusion model (Ho, Jain and Abbeel 2020).

    The diffusion step is read as t/T from the last channel of the model input (pixel
    (0, 0)), coded as sines and cosines of position time_scale * t/T at the frequencies
    10000^(-i/k), k = dim/2 (the Transformer's position code), mapped by a learned matrix
    to one value per channel and added to every pixel of that channel.
    """

    def __init__(self, channels, dim, time_scale):
        super().__init__()
        half = dim // 2
        frequencies = 10000.0 ** (-torch.arange(half, dtype=torch.float64) / half)
        self.register_buffer("frequencies", frequencies, persistent=False)
        self.time_scale = time_scale
        self.weight = nn.Parameter(torch.empty(channels, dim))
        self.bias = nn.Parameter(torch.empty(channels))

    def forward(self, x, model_input):
        t = model_input[:, -1, 0, 0].double()
        angle = (self.time_scale * t)[:, None] * self.frequencies
        code = torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).to(x.dtype)
        shift = F.linear(code, self.weight, self.bias)
        return x + shift[:, :, None, None]
"#;

/// `[h, w]` as PyTorch writes a size: `5`, or `(3, 5)`.
fn size(p: Pair) -> String {
    if p.h == p.w {
        p.h.to_string()
    } else {
        format!("({}, {})", p.h, p.w)
    }
}

/// The class name for a preset name: its words capitalised, leading numbers dropped.
fn class_name(preset: &str) -> String {
    let words: Vec<String> = preset
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .skip_while(|w| w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| {
            let mut cs = w.chars();
            let first = cs.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(cs).collect()
        })
        .collect();
    let name = words.concat();
    // Not a helper class's name (a preset called "time embedding").
    let taken = ["MinPool2d", "Reparameterise", "TimeEmbedding"].contains(&name.as_str());
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("Net{name}")
    } else if taken {
        format!("{name}Net")
    } else {
        name
    }
}

/// A lecture comment for the first node of each kind (later ones speak for themselves).
fn concept(kind: &NodeKind) -> Option<&'static str> {
    Some(match kind {
        NodeKind::Conv2d(_) => {
            "Convolution: each filter slides over the input with the same weights at every position."
        }
        NodeKind::ConvTranspose2d(_) => {
            "Transposed convolution: learned upsampling, each input pixel spreads a weighted kernel over the output."
        }
        NodeKind::MaxPool2d(_) => {
            "Max pooling: keeps the largest value of each window; the gradient flows to that one input only."
        }
        NodeKind::AvgPool2d(_) => "Average pooling: the mean of each window.",
        NodeKind::GlobalAvgPool => "Global average pooling: one value per channel.",
        NodeKind::Dense(_) => "Fully connected layer: every output sees every input value.",
        NodeKind::Dropout(_) => {
            "Dropout: in training, zeroes values with probability p and scales the rest by 1/(1-p)."
        }
        NodeKind::BatchNorm2d(_) => {
            "Batch normalisation: per-channel batch statistics in training, running ones in evaluation."
        }
        NodeKind::LayerNorm(_) => "Layer normalisation over each sample's values.",
        NodeKind::LocalResponseNorm(_) => {
            "Local response normalisation (AlexNet): each value divided by (k + alpha/size * sum of squares over neighbouring channels)^beta."
        }
        NodeKind::Relu => "ReLU nonlinearity: max(0, x).",
        NodeKind::Sample => "Reparameterisation trick (VAE): z = mu + sigma * eps.",
        NodeKind::TimeEmbedding(_) => "Diffusion timestep embedding, added per channel.",
        _ => return None,
    })
}

impl ModelCode {
    /// The Python form of `preset`'s model; an invalid model is the graph's error.
    pub fn new(preset: &Preset) -> Result<ModelCode, ExportError> {
        let spec = &preset.model;
        let facts: ModelFacts = infer(spec).map_err(ExportError::Model)?;
        // How often each value is read, and by which nodes.
        let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, nf) in facts.nodes.iter().enumerate() {
            for input in &nf.inputs {
                readers.entry(input.as_str()).or_default().push(i);
            }
        }
        // A value lives in `x` when exactly one node reads it and that node comes right
        // after it; anything else keeps its own variable.
        let in_x = |name: &str, at: Option<usize>| -> bool {
            let next = at.map_or(0, |i| i + 1);
            match readers.get(name).map(Vec::as_slice) {
                Some([only]) => *only == next,
                _ => false,
            }
        };
        let mut code = ModelCode {
            class_name: class_name(&preset.name),
            input: spec.input,
            output: facts.output(),
            output_rank: 4,
            has_sampling: false,
            has_time: false,
            mode_matters: false,
            description: preset.description.clone(),
            preset_name: preset.name.clone(),
            init_lines: Vec::new(),
            forward_lines: Vec::new(),
            helpers: Vec::new(),
            keys: Vec::new(),
            batch_norms: Vec::new(),
            uses_functional: false,
        };
        // Variable name and PyTorch rank of each value computed so far.
        let mut vars: BTreeMap<String, (String, usize)> = BTreeMap::new();
        let input_var = if in_x(INPUT_NODE, None) {
            "x"
        } else {
            "model_input"
        };
        if input_var != "x" {
            code.forward_lines.push("model_input = x".into());
        }
        vars.insert(INPUT_NODE.into(), (input_var.into(), 4));
        let mut commented: Vec<&'static str> = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        for (i, (node, nf)) in spec.nodes.iter().zip(&facts.nodes).enumerate() {
            let py = python_name(&node.name);
            if taken.contains(&py) {
                return Err(ExportError::Unsupported {
                    what: format!("node '{}'", node.name),
                    why: format!("its Python name '{py}' is another node's too; rename one"),
                });
            }
            taken.push(py.clone());
            let ins: Vec<(String, usize)> = nf
                .inputs
                .iter()
                .map(|n| vars.get(n).cloned().expect("inputs come earlier"))
                .collect();
            // A feature vector read by a spatial node is viewed as an f×1×1 map.
            let spatial = |k: usize| -> String {
                let (v, r) = &ins[k];
                if *r == 2 {
                    format!("{v}[:, :, None, None]")
                } else {
                    v.clone()
                }
            };
            let x0 = ins[0].0.clone();
            let r0 = ins[0].1;
            let [c_in, h_in, w_in] = nf.input_shapes[0];
            let this = format!("self.{py}");
            let geom = nf.window;
            let mut module: Option<String> = None;
            let (expr, rank): (String, usize) = match &node.kind {
                NodeKind::Conv2d(Conv2dConfig {
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    padding_mode,
                    dilation,
                    groups,
                    bias,
                }) => {
                    let g = geom.expect("a conv has a window");
                    let mut args = vec![
                        c_in.to_string(),
                        out_channels.to_string(),
                        format!("kernel_size={}", size(*kernel)),
                    ];
                    if *stride != Pair::square(1) {
                        args.push(format!("stride={}", size(*stride)));
                    }
                    let same =
                        *padding == Padding::Named(PaddingName::Same) && *stride == Pair::square(1);
                    let even = g.pads.as_symmetric();
                    let mut pad_first = None;
                    if same {
                        args.push("padding=\"same\"".into());
                    } else if let Some(p) = even {
                        if p != Pair::square(0) {
                            args.push(format!("padding={}", size(p)));
                        }
                    } else {
                        pad_first = Some(g.pads);
                    }
                    if *dilation != Pair::square(1) {
                        args.push(format!("dilation={}", size(*dilation)));
                    }
                    if *groups != 1 {
                        args.push(format!("groups={groups}"));
                    }
                    if !bias {
                        args.push("bias=False".into());
                    }
                    let mode = match padding_mode {
                        PaddingMode::Zeros => None,
                        PaddingMode::Reflect => Some("reflect"),
                        PaddingMode::Replicate => Some("replicate"),
                    };
                    if let (Some(m), None) = (mode, pad_first) {
                        args.push(format!("padding_mode=\"{m}\""));
                    }
                    module = Some(format!("nn.Conv2d({})", args.join(", ")));
                    let x = spatial(0);
                    let expr = match pad_first {
                        Some(p) => {
                            code.uses_functional = true;
                            let m = mode.unwrap_or("constant");
                            format!(
                                "{this}(F.pad({x}, ({}, {}, {}, {}), mode=\"{m}\"))",
                                p.left, p.right, p.top, p.bottom
                            )
                        }
                        None => format!("{this}({x})"),
                    };
                    (expr, 4)
                }
                NodeKind::ConvTranspose2d(ConvTranspose2dConfig {
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    output_padding,
                    bias,
                }) => {
                    let mut args = vec![
                        c_in.to_string(),
                        out_channels.to_string(),
                        format!("kernel_size={}", size(*kernel)),
                    ];
                    if *stride != Pair::square(1) {
                        args.push(format!("stride={}", size(*stride)));
                    }
                    if *padding != Pair::square(0) {
                        args.push(format!("padding={}", size(*padding)));
                    }
                    if *output_padding != Pair::square(0) {
                        args.push(format!("output_padding={}", size(*output_padding)));
                    }
                    if !bias {
                        args.push("bias=False".into());
                    }
                    module = Some(format!("nn.ConvTranspose2d({})", args.join(", ")));
                    (format!("{this}({})", spatial(0)), 4)
                }
                NodeKind::MaxPool2d(cfg) => {
                    module = Some(format!("nn.MaxPool2d({})", pool_args(cfg)));
                    (format!("{this}({})", spatial(0)), 4)
                }
                NodeKind::MinPool2d(cfg) => {
                    if !code.helpers.contains(&MIN_POOL) {
                        code.helpers.push(MIN_POOL);
                    }
                    code.uses_functional = true;
                    module = Some(format!("MinPool2d({})", pool_args(cfg)));
                    (format!("{this}({})", spatial(0)), 4)
                }
                NodeKind::AvgPool2d(cfg) => {
                    module = Some(format!("nn.AvgPool2d({})", pool_args(cfg)));
                    (format!("{this}({})", spatial(0)), 4)
                }
                NodeKind::GlobalAvgPool => {
                    module = Some("nn.AdaptiveAvgPool2d(1)".into());
                    (format!("{this}({})", spatial(0)), 4)
                }
                NodeKind::Flatten => {
                    module = Some("nn.Flatten()".into());
                    (format!("{this}({x0})"), 2)
                }
                NodeKind::Dense(DenseConfig { out_features, bias }) => {
                    let fan_in = c_in * h_in * w_in;
                    let b = if *bias { "" } else { ", bias=False" };
                    module = Some(format!("nn.Linear({fan_in}, {out_features}{b})"));
                    let x = if r0 == 4 {
                        format!("torch.flatten({x0}, 1)")
                    } else {
                        x0.clone()
                    };
                    (format!("{this}({x})"), 2)
                }
                NodeKind::Dropout(DropoutConfig { p }) => {
                    code.mode_matters = true;
                    module = Some(format!("nn.Dropout(p={})", py_float(*p)));
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::LocalResponseNorm(LocalResponseNormConfig {
                    size,
                    alpha,
                    beta,
                    k,
                }) => {
                    module = Some(format!(
                        "nn.LocalResponseNorm({size}, alpha={}, beta={}, k={})",
                        py_float(*alpha),
                        py_float(*beta),
                        py_float(*k)
                    ));
                    if r0 == 2 {
                        // PyTorch's LRN wants a 3-D or larger input: features as [N, F, 1].
                        (format!("{this}({x0}[:, :, None])[:, :, 0]"), 2)
                    } else {
                        (format!("{this}({x0})"), r0)
                    }
                }
                NodeKind::Sample => {
                    code.has_sampling = true;
                    code.mode_matters = true;
                    if !code.helpers.contains(&REPARAMETERISE) {
                        code.helpers.push(REPARAMETERISE);
                    }
                    module = Some("Reparameterise()".into());
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::TimeEmbedding(TimeEmbeddingConfig { dim, time_scale }) => {
                    code.has_time = true;
                    code.uses_functional = true;
                    if !code.helpers.contains(&TIME_EMBEDDING) {
                        code.helpers.push(TIME_EMBEDDING);
                    }
                    module = Some(format!(
                        "TimeEmbedding({c_in}, dim={dim}, time_scale={})",
                        py_float(*time_scale)
                    ));
                    (format!("{this}({}, {})", spatial(0), spatial(1)), 4)
                }
                NodeKind::BatchNorm2d(BatchNorm2dConfig { eps, momentum }) => {
                    code.mode_matters = true;
                    let class = if r0 == 2 {
                        "nn.BatchNorm1d"
                    } else {
                        "nn.BatchNorm2d"
                    };
                    let mut args = vec![c_in.to_string()];
                    if *eps != 1e-5 {
                        args.push(format!("eps={}", py_float(*eps)));
                    }
                    if *momentum != 0.1 {
                        args.push(format!("momentum={}", py_float(*momentum)));
                    }
                    module = Some(format!("{class}({})", args.join(", ")));
                    code.batch_norms.push(py.clone());
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::LayerNorm(LayerNormConfig { eps }) => {
                    let shape = if r0 == 2 {
                        c_in.to_string()
                    } else {
                        format!("({c_in}, {h_in}, {w_in})")
                    };
                    let e = if *eps != 1e-5 {
                        format!(", eps={}", py_float(*eps))
                    } else {
                        String::new()
                    };
                    module = Some(format!("nn.LayerNorm({shape}{e})"));
                    if r0 == 2 {
                        for role in ["weight", "bias"] {
                            code.keys.push((
                                format!("{}.{role}", node.name),
                                format!("{py}.{role}"),
                                Layout::Vector,
                            ));
                        }
                    }
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::Upsample(UpsampleConfig { scale, mode }) => {
                    module = Some(match mode {
                        UpsampleMode::Nearest => {
                            format!("nn.Upsample(scale_factor={scale}, mode=\"nearest\")")
                        }
                        UpsampleMode::Bilinear => format!(
                            "nn.Upsample(scale_factor={scale}, mode=\"bilinear\", align_corners=False)"
                        ),
                    });
                    (format!("{this}({})", spatial(0)), 4)
                }
                NodeKind::Add | NodeKind::Concat => {
                    let rank = if ins.iter().all(|(_, r)| *r == 2) {
                        2
                    } else {
                        4
                    };
                    let terms: Vec<String> = (0..ins.len())
                        .map(|k| {
                            if rank == 4 {
                                spatial(k)
                            } else {
                                ins[k].0.clone()
                            }
                        })
                        .collect();
                    let (expr, note) = if matches!(node.kind, NodeKind::Add) {
                        (
                            terms.join(" + "),
                            "residual connection: the shortcut is added back",
                        )
                    } else {
                        (
                            format!("torch.cat([{}], dim=1)", terms.join(", ")),
                            "concatenation: the inputs' channels side by side",
                        )
                    };
                    if !commented.contains(&note) {
                        commented.push(note);
                        code.forward_lines.push(format!("# {}: {note}", node.name));
                    }
                    (expr, rank)
                }
                NodeKind::Identity => {
                    module = Some("nn.Identity()".into());
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::Relu => {
                    module = Some("nn.ReLU()".into());
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::LeakyRelu(LeakyReluConfig { slope }) => {
                    module = Some(format!("nn.LeakyReLU({})", py_float(*slope)));
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::Sigmoid => {
                    module = Some("nn.Sigmoid()".into());
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::Tanh => {
                    module = Some("nn.Tanh()".into());
                    (format!("{this}({x0})"), r0)
                }
                NodeKind::Softmax => {
                    module = Some("nn.Softmax(dim=1)".into());
                    (format!("{this}({x0})"), r0)
                }
            };
            if let Some(m) = module {
                if let Some(c) = concept(&node.kind)
                    && !commented.contains(&c)
                {
                    commented.push(c);
                    code.init_lines.push(format!("# {c}"));
                }
                code.init_lines.push(format!("self.{py} = {m}"));
            }
            for p in facts_param_roles(&node.kind) {
                let key = format!("{}.{p}", node.name);
                if !code.keys.iter().any(|(k, _, _)| *k == key) {
                    code.keys.push((key, format!("{py}.{p}"), Layout::Same));
                }
            }
            let var = if in_x(&node.name, Some(i)) || i + 1 == spec.nodes.len() {
                "x".to_string()
            } else {
                py.clone()
            };
            code.forward_lines.push(format!("{var} = {expr}"));
            vars.insert(node.name.clone(), (var, rank));
        }
        let last = spec.nodes.last().map(|n| n.name.clone());
        let (out_var, out_rank) = match last {
            Some(n) => vars[&n].clone(),
            None => (input_var.to_string(), 4),
        };
        code.output_rank = out_rank;
        code.forward_lines.push(format!("return {out_var}"));
        let _ = &facts;
        Ok(code)
    }

    /// The text of model.py.
    pub fn python(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\"\"\"{}: {}",
            docstring_text(&self.preset_name),
            docstring_text(self.description.trim())
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Exported from ConvLab (`convlab export-pytorch`). The submodules carry the ConvLab\nnode names, so the weights in model.safetensors load with strict=True:\n"
        );
        let _ = writeln!(s, "    from model import {}, load_model", self.class_name);
        let _ = writeln!(s, "    model = load_model(\"model.safetensors\")");
        let _ = writeln!(s, "\"\"\"\n");
        let _ = writeln!(s, "import torch");
        if self.uses_functional {
            let _ = writeln!(s, "import torch.nn.functional as F");
        }
        let _ = writeln!(s, "from safetensors.torch import load_file");
        let _ = writeln!(s, "from torch import nn\n");
        let [c, h, w] = self.input;
        let _ = writeln!(
            s,
            "# One sample: channels, height, width (batches are N x C x H x W)."
        );
        let _ = writeln!(s, "INPUT_SHAPE = ({c}, {h}, {w})\n");
        for helper in &self.helpers {
            let _ = writeln!(s, "\n{helper}");
        }
        let _ = writeln!(s, "\nclass {}(nn.Module):", self.class_name);
        let _ = writeln!(s, "    def __init__(self):");
        let _ = writeln!(s, "        super().__init__()");
        for line in &self.init_lines {
            let _ = writeln!(s, "        {line}");
        }
        let _ = writeln!(s, "\n    def forward(self, x):");
        for line in &self.forward_lines {
            let _ = writeln!(s, "        {line}");
        }
        let _ = writeln!(s, "\n");
        let _ = writeln!(
            s,
            "def load_model(path=\"model.safetensors\", device=\"cpu\"):"
        );
        let _ = writeln!(
            s,
            "    \"\"\"The model with the exported weights (strict: every key must match).\"\"\""
        );
        let _ = writeln!(s, "    model = {}()", self.class_name);
        let _ = writeln!(s, "    model.load_state_dict(load_file(path), strict=True)");
        let _ = writeln!(s, "    return model.to(device)");
        s
    }

    /// `model.safetensors`: the ConvLab parameters under the state dict's keys, in
    /// PyTorch's layouts, plus each batch norm's `num_batches_tracked` (0).
    pub fn state_dict(&self, params: &[(String, ArrayD<f32>)]) -> Result<Vec<u8>, ExportError> {
        let by_name: HashMap<&str, &ArrayD<f32>> =
            params.iter().map(|(n, a)| (n.as_str(), a)).collect();
        if by_name.len() != self.keys.len() {
            return Err(ExportError::Weights(format!(
                "{} weight tensors for a model with {}",
                by_name.len(),
                self.keys.len()
            )));
        }
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = Vec::new();
        for (name, key, layout) in &self.keys {
            let a = by_name
                .get(name.as_str())
                .ok_or_else(|| ExportError::Weights(format!("no tensor '{name}'")))?;
            let shape = match layout {
                Layout::Same => a.shape().to_vec(),
                Layout::Vector => vec![a.len()],
            };
            let a = a
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order(IxDyn(&shape))
                .map_err(|e| ExportError::Weights(format!("{name}: {e}")))?;
            let bytes: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.push((key.clone(), shape, bytes, Dtype::F32));
        }
        for bn in &self.batch_norms {
            tensors.push((
                format!("{bn}.num_batches_tracked"),
                Vec::new(),
                0i64.to_le_bytes().to_vec(),
                Dtype::I64,
            ));
        }
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(k, shape, bytes, dtype)| {
                (
                    k.clone(),
                    TensorView::new(*dtype, shape.clone(), bytes).expect("sizes agree"),
                )
            })
            .collect();
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), "pt".to_string());
        safetensors::serialize(views, Some(meta)).map_err(|e| ExportError::Weights(e.to_string()))
    }
}

/// The parameter roles a node kind has in ConvLab (and in PyTorch's state dict).
fn facts_param_roles(kind: &NodeKind) -> Vec<&'static str> {
    match kind {
        NodeKind::Conv2d(Conv2dConfig { bias, .. })
        | NodeKind::ConvTranspose2d(ConvTranspose2dConfig { bias, .. })
        | NodeKind::Dense(DenseConfig { bias, .. }) => {
            if *bias {
                vec!["weight", "bias"]
            } else {
                vec!["weight"]
            }
        }
        NodeKind::TimeEmbedding(_) | NodeKind::LayerNorm(_) => vec!["weight", "bias"],
        NodeKind::BatchNorm2d(_) => vec!["weight", "bias", "running_mean", "running_var"],
        _ => Vec::new(),
    }
}

/// Text that can stand inside a Python `\"\"\"` docstring: backslashes doubled, triple
/// quotes broken up.
pub(crate) fn docstring_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace("\"\"\"", "\"\" \"")
}

/// `kernel_size, stride=…, padding=…` of a pooling layer (stride only when it is not the
/// kernel, PyTorch's default).
fn pool_args<const K: u8>(cfg: &Pool2dConfig<K>) -> String {
    let mut args = vec![format!("kernel_size={}", size(cfg.kernel))];
    if let Some(s) = cfg.stride
        && s != cfg.kernel
    {
        args.push(format!("stride={}", size(s)));
    }
    if cfg.padding != Pair::square(0) {
        args.push(format!("padding={}", size(cfg.padding)));
    }
    args.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_read_as_written_by_hand() {
        assert_eq!(class_name("digits-lenet"), "DigitsLenet");
        assert_eq!(class_name("13-resnet-vs-plain"), "ResnetVsPlain");
        assert_eq!(class_name("12-inception"), "Inception");
        assert_eq!(class_name("42"), "Net");
        assert_eq!(class_name("time-embedding"), "TimeEmbeddingNet");
        assert_eq!(docstring_text(r#"a\b """c"#), r#"a\\b "" "c"#);
    }
}
