//! Each node kind's ONNX form, in one place: [`export_node`] writes a ConvLab node as ONNX
//! nodes (a `match` over every [`NodeKind`], so a new kind does not compile without its
//! mapping), [`output_ranks`] says which nodes are `[N, F]` in ONNX, and `read_kind` turns
//! the ONNX operators ConvLab has kinds for back into nodes. The glue around them (graph
//! assembly, `Pad`/`Flatten`/`Reshape` folding, constants, names) is in `export` and
//! `import`.
//!
//! | ConvLab | ONNX |
//! | --- | --- |
//! | conv2d | `Conv` (pads resolved, "same" included); reflect/replicate: `Pad` (reflect/edge) then `Conv` |
//! | conv_transpose2d | `ConvTranspose` (weight `[cin, cout, kh, kw]`) |
//! | max_pool2d / avg_pool2d | `MaxPool` / `AveragePool` with `count_include_pad = 1` |
//! | min_pool2d | `Neg` → `MaxPool` → `Neg` |
//! | global_avg_pool | `GlobalAveragePool` |
//! | flatten | `Flatten` (axis 1) |
//! | dense | `Gemm` (transB = 1), after a helper `Flatten` when its input is spatial |
//! | dropout | `Dropout` with a constant ratio (identity at inference) |
//! | sample | `Slice` of the μ half of the channels (the node's evaluation output, z = μ); a `Slice` of exactly the first half of axis 1 imports as a sampling node |
//! | layer_norm | `LayerNormalization` (axis 1: over channels × height × width) |
//! | local_response_norm | `LRN` (same α/size convention as PyTorch; odd sizes only: ONNX centres even windows one channel later than PyTorch) |
//! | batch_norm2d | `BatchNormalization` (not folded; ONNX momentum = 1 − PyTorch momentum) |
//! | upsample | `Resize`: nearest with asymmetric/floor, bilinear with half_pixel |
//! | time_embedding | `Slice` of t/T from the last channel of its second input, `Mul` by the frequencies, `Sin` ‖ `Cos` (`Concat`), `Gemm`, `Reshape` to `[N, C, 1, 1]`, `Add` (this chain, as written, imports back as a time_embedding node) |
//! | add / concat | `Add` (two inputs) or `Sum`; `Concat` axis 1 |
//! | identity, relu, leaky_relu, sigmoid, tanh, softmax | `Identity`, `Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`, `Softmax` (axis 1) |

use ndarray::{ArrayD, IxDyn};

use super::OnnxError;
use super::proto::{AttrValue, Attribute, Node, TensorProto};
use super::reader::{Ctx, Op, TimeShift, TimeStage, Val, tidy, to_array};
use super::writer::{Builder, NodeExport, float, int, ints, string};
use crate::engine::ModelSpec;
use crate::engine::facts::{ModelFacts, WindowGeometry};
use crate::engine::layers::{
    BatchNorm2dConfig, Conv2dConfig, ConvTranspose2dConfig, DenseConfig, DropoutConfig,
    LeakyReluConfig, Pool2dConfig, TimeEmbeddingConfig, UpsampleConfig,
    layer_norm::LayerNormConfig, local_response_norm::LocalResponseNormConfig,
};
use crate::engine::model_spec::{
    INPUT_NODE, NodeKind, Padding, PaddingMode, Pads, Pair, UpsampleMode,
};

/// The rank of every node's output in ONNX (and in `convlab dump`): 2 for `[N, F]`, 4 for
/// NCHW. `flatten` and `dense` give 2; spatial nodes and global pooling give 4; element-wise
/// nodes keep their input's rank; add/concat give 2 only when all inputs are 2-D.
pub fn output_ranks(spec: &ModelSpec, facts: &ModelFacts) -> Vec<usize> {
    let mut ranks: Vec<usize> = Vec::with_capacity(spec.nodes.len());
    for (node, nf) in spec.nodes.iter().zip(&facts.nodes) {
        let rank_of = |name: &str| -> usize {
            if name == INPUT_NODE {
                4
            } else {
                facts.index_of(name).map_or(4, |i| ranks[i])
            }
        };
        let r = match &node.kind {
            NodeKind::Flatten | NodeKind::Dense(_) => 2,
            NodeKind::Add | NodeKind::Concat => {
                if nf.inputs.iter().all(|i| rank_of(i) == 2) {
                    2
                } else {
                    4
                }
            }
            NodeKind::Identity
            | NodeKind::Relu
            | NodeKind::LeakyRelu(_)
            | NodeKind::Sigmoid
            | NodeKind::Tanh
            | NodeKind::Softmax
            | NodeKind::Dropout(_)
            | NodeKind::Sample
            | NodeKind::BatchNorm2d(_) => rank_of(&nf.inputs[0]),
            NodeKind::TimeEmbedding(_) => 4,
            NodeKind::Conv2d(_)
            | NodeKind::LayerNorm(_)
            | NodeKind::LocalResponseNorm(_)
            | NodeKind::ConvTranspose2d(_)
            | NodeKind::MaxPool2d(_)
            | NodeKind::MinPool2d(_)
            | NodeKind::AvgPool2d(_)
            | NodeKind::GlobalAvgPool
            | NodeKind::Upsample(_) => 4,
        };
        ranks.push(r);
    }
    ranks
}

/// Writes one ConvLab node (of kind `kind`) as ONNX nodes whose last output is named after
/// it.
pub(super) fn export_node(b: &mut Builder, at: &mut NodeExport, kind: &NodeKind) {
    let name = at.name;
    let x0 = at.facts.inputs[0].clone();
    let wg = at.facts.window;
    match kind {
        NodeKind::Conv2d(Conv2dConfig {
            kernel,
            padding_mode,
            ..
        }) => {
            let g = wg.expect("conv has a window");
            let mut x = at.lift(b, 0, &x0);
            let p = g.pads;
            let mut pads = p.onnx();
            if *padding_mode != PaddingMode::Zeros && pads.iter().any(|&v| v > 0) {
                let pads_name = format!("{name}/pads");
                // ONNX `Pad` takes begin then end amounts of all four NCHW axes.
                let [top, left, bottom, right] = p.onnx();
                let v: Vec<i64> = [0, 0, top, left, 0, 0, bottom, right]
                    .iter()
                    .map(|&v| v as i64)
                    .collect();
                b.constant(&pads_name, TensorProto::int64("", &[8], &v));
                let mode = match padding_mode {
                    PaddingMode::Reflect => "reflect",
                    _ => "edge",
                };
                let out = format!("{name}/pad");
                b.node("Pad", &out, vec![x, pads_name], vec![string("mode", mode)]);
                x = out;
                pads = [0; 4];
            }
            let mut inputs = vec![x];
            inputs.extend(at.weight_bias());
            b.node(
                "Conv",
                name,
                inputs,
                vec![
                    ints("dilations", &[g.dilation.h, g.dilation.w]),
                    int("group", g.groups as i64),
                    ints("kernel_shape", &[kernel.h, kernel.w]),
                    ints("pads", &pads),
                    ints("strides", &[g.stride.h, g.stride.w]),
                ],
            );
        }
        NodeKind::ConvTranspose2d(ConvTranspose2dConfig {
            kernel,
            output_padding,
            ..
        }) => {
            let g = wg.expect("conv has a window");
            let mut inputs = vec![at.lift(b, 0, &x0)];
            inputs.extend(at.weight_bias());
            let op = *output_padding;
            b.node(
                "ConvTranspose",
                name,
                inputs,
                vec![
                    int("group", 1),
                    ints("kernel_shape", &[kernel.h, kernel.w]),
                    ints("output_padding", &[op.h, op.w]),
                    ints("pads", &g.pads.onnx()),
                    ints("strides", &[g.stride.h, g.stride.w]),
                ],
            );
        }
        NodeKind::MaxPool2d(_) => {
            let x = at.lift(b, 0, &x0);
            b.node("MaxPool", name, vec![x], pool_attributes(wg));
        }
        NodeKind::MinPool2d(_) => {
            // min over a window = −max(−x).
            let x = at.lift(b, 0, &x0);
            let neg = format!("{name}/neg");
            let max = format!("{name}/max");
            b.node("Neg", &neg, vec![x], vec![]);
            b.node("MaxPool", &max, vec![neg], pool_attributes(wg));
            b.node("Neg", name, vec![max], vec![]);
        }
        NodeKind::AvgPool2d(_) => {
            let x = at.lift(b, 0, &x0);
            let mut attrs = pool_attributes(wg);
            attrs.insert(0, int("count_include_pad", 1));
            b.node("AveragePool", name, vec![x], attrs);
        }
        NodeKind::GlobalAvgPool => {
            let x = at.lift(b, 0, &x0);
            b.node("GlobalAveragePool", name, vec![x], vec![]);
        }
        NodeKind::Flatten => b.node("Flatten", name, vec![x0], vec![int("axis", 1)]),
        NodeKind::Dense(_) => {
            let x = if at.rank_of(&x0) == 4 {
                let out = format!("{name}/flatten");
                b.node("Flatten", &out, vec![x0], vec![int("axis", 1)]);
                out
            } else {
                x0
            };
            let mut inputs = vec![x];
            inputs.extend(at.weight_bias());
            b.node(
                "Gemm",
                name,
                inputs,
                vec![float("alpha", 1.0), float("beta", 1.0), int("transB", 1)],
            );
        }
        NodeKind::Dropout(DropoutConfig { p }) => {
            let ratio = format!("{name}/ratio");
            b.constant(&ratio, TensorProto::float("", &[], &[*p as f32]));
            b.node("Dropout", name, vec![x0, ratio], vec![]);
        }
        NodeKind::Sample => {
            // ONNX holds the evaluation graph, where the draw is z = μ: the first half of
            // the channels (axis 1 in both the [N, F] and the NCHW form).
            let k = at.facts.output[0] as i64;
            let consts = [("starts", 0), ("ends", k), ("axes", 1)];
            let mut inputs = vec![x0];
            for (what, v) in consts {
                let c = format!("{name}/{what}");
                b.constant(&c, TensorProto::int64("", &[1], &[v]));
                inputs.push(c);
            }
            b.node("Slice", name, inputs, vec![]);
        }
        NodeKind::TimeEmbedding(TimeEmbeddingConfig { dim, time_scale }) => {
            export_time_embedding(b, at, *dim, *time_scale);
        }
        NodeKind::LayerNorm(LayerNormConfig { eps }) => {
            // ONNX normalises over the axes from `axis` on: [c, h, w] of a 4-D value (a
            // 2-D input is lifted, so that the [f, 1, 1] weight fits).
            let x = at.lift(b, 0, &x0);
            b.node(
                "LayerNormalization",
                name,
                vec![x, at.param("weight"), at.param("bias")],
                vec![int("axis", 1), float("epsilon", *eps as f32)],
            );
        }
        NodeKind::LocalResponseNorm(LocalResponseNormConfig {
            size,
            alpha,
            beta,
            k,
        }) => {
            // ONNX's LRN is 4-D (NCHW) and divides alpha by size as PyTorch does.
            let x = at.lift(b, 0, &x0);
            b.node(
                "LRN",
                name,
                vec![x],
                vec![
                    float("alpha", *alpha as f32),
                    float("beta", *beta as f32),
                    float("bias", *k as f32),
                    int("size", *size as i64),
                ],
            );
        }
        NodeKind::BatchNorm2d(BatchNorm2dConfig { eps, momentum }) => {
            b.node(
                "BatchNormalization",
                name,
                vec![
                    x0,
                    at.param("weight"),
                    at.param("bias"),
                    at.param("running_mean"),
                    at.param("running_var"),
                ],
                vec![
                    float("epsilon", *eps as f32),
                    float("momentum", (1.0 - *momentum) as f32),
                ],
            );
        }
        NodeKind::Upsample(UpsampleConfig { scale, mode }) => {
            let x = at.lift(b, 0, &x0);
            let scales = format!("{name}/scales");
            let s = *scale as f32;
            b.constant(&scales, TensorProto::float("", &[4], &[1.0, 1.0, s, s]));
            let attrs = match mode {
                UpsampleMode::Nearest => vec![
                    string("coordinate_transformation_mode", "asymmetric"),
                    string("mode", "nearest"),
                    string("nearest_mode", "floor"),
                ],
                UpsampleMode::Bilinear => vec![
                    string("coordinate_transformation_mode", "half_pixel"),
                    string("mode", "linear"),
                ],
            };
            b.node("Resize", name, vec![x, String::new(), scales], attrs);
        }
        NodeKind::Add => {
            let inputs = merge_inputs(b, at);
            let op = if inputs.len() == 2 { "Add" } else { "Sum" };
            b.node(op, name, inputs, vec![]);
        }
        NodeKind::Concat => {
            let inputs = merge_inputs(b, at);
            b.node("Concat", name, inputs, vec![int("axis", 1)]);
        }
        NodeKind::Identity => b.node("Identity", name, vec![x0], vec![]),
        NodeKind::Relu => b.node("Relu", name, vec![x0], vec![]),
        NodeKind::LeakyRelu(LeakyReluConfig { slope }) => b.node(
            "LeakyRelu",
            name,
            vec![x0],
            vec![float("alpha", *slope as f32)],
        ),
        NodeKind::Sigmoid => b.node("Sigmoid", name, vec![x0], vec![]),
        NodeKind::Tanh => b.node("Tanh", name, vec![x0], vec![]),
        NodeKind::Softmax => b.node("Softmax", name, vec![x0], vec![int("axis", 1)]),
    }
}

/// The time embedding as standard operators: t/T sliced from the last channel of its
/// second input at (0, 0), times the frequencies, `Sin` and `Cos` side by side, a `Gemm`
/// with the learned matrix, reshaped to one value per channel and added to the maps.
fn export_time_embedding(b: &mut Builder, at: &mut NodeExport, dim: usize, time_scale: f64) {
    let name = at.name;
    let x = at.lift(b, 0, &at.facts.inputs[0].clone());
    let t_source = at.lift(b, 1, &at.facts.inputs[1].clone());
    let last = at.facts.input_shapes[1][0] as i64 - 1;
    let channels = at.facts.output[0] as i64;
    let int_const = |b: &mut Builder, what: &str, v: &[i64]| {
        let c = format!("{name}/{what}");
        b.constant(&c, TensorProto::int64("", &[v.len()], v));
        c
    };
    let starts = int_const(b, "starts", &[last, 0, 0]);
    let ends = int_const(b, "ends", &[last + 1, 1, 1]);
    let axes = int_const(b, "slice_axes", &[1, 2, 3]);
    let t = format!("{name}/t");
    b.node("Slice", &t, vec![t_source, starts, ends, axes], vec![]);
    let t2 = format!("{name}/t_flat");
    b.node("Flatten", &t2, vec![t], vec![int("axis", 1)]);
    let freqs: Vec<f32> = crate::engine::layers::time_embedding::frequencies(dim)
        .iter()
        .map(|w| (w * time_scale) as f32)
        .collect();
    let freq = format!("{name}/frequencies");
    b.constant(&freq, TensorProto::float("", &[1, freqs.len()], &freqs));
    let angle = format!("{name}/angle");
    b.node("Mul", &angle, vec![t2, freq], vec![]);
    let (sin, cos) = (format!("{name}/sin"), format!("{name}/cos"));
    b.node("Sin", &sin, vec![angle.clone()], vec![]);
    b.node("Cos", &cos, vec![angle], vec![]);
    let code = format!("{name}/code");
    b.node("Concat", &code, vec![sin, cos], vec![int("axis", 1)]);
    let shift = format!("{name}/shift");
    b.node(
        "Gemm",
        &shift,
        vec![code, at.param("weight"), at.param("bias")],
        vec![float("alpha", 1.0), float("beta", 1.0), int("transB", 1)],
    );
    let shape = int_const(b, "shape", &[0, channels, 1, 1]);
    let shift4 = format!("{name}/shift_nchw");
    b.node("Reshape", &shift4, vec![shift, shape], vec![]);
    b.node("Add", name, vec![x, shift4], vec![]);
}

impl Ctx {
    /// The operators of a time embedding after its `Slice` (see [`export_time_embedding`]):
    /// each one moves the pending [`Val::Time`] a stage on, and the closing `Add` becomes a
    /// `time_embedding` node. Anything else done with the pending value is unsupported.
    pub(super) fn read_time(&mut self, op: &Op) -> Result<(), OnnxError> {
        let time = |k: usize, ctx: &Ctx| match op.input(k).and_then(|n| ctx.vals.get(n)) {
            Some(Val::Time { src, stage }) => Some((src.clone(), stage.clone())),
            _ => None,
        };
        let not_time =
            || op.unsupported("a time embedding's operators in an order ConvLab does not write");
        let (src, stage) = time(0, self)
            .or_else(|| time(1, self))
            .ok_or_else(not_time)?;
        let next = |stage| Val::Time {
            src: src.clone(),
            stage,
        };
        match (op.node.op_type.as_str(), stage) {
            ("Flatten", TimeStage::Fraction) => self.alias(op, next(TimeStage::Fraction)),
            ("Mul", TimeStage::Fraction) => {
                let k = if time(0, self).is_some() { 1 } else { 0 };
                let freqs = self.required_constant(op, k, "frequencies")?.to_f32()?;
                self.alias(op, next(TimeStage::Angle(freqs)))
            }
            ("Sin", TimeStage::Angle(f)) => self.alias(op, next(TimeStage::Sin(f))),
            ("Cos", TimeStage::Angle(f)) => self.alias(op, next(TimeStage::Cos(f))),
            ("Concat", TimeStage::Sin(f)) => match time(1, self) {
                Some((s2, TimeStage::Cos(g)))
                    if s2 == src && g == f && op.node.inputs.len() == 2 =>
                {
                    self.alias(op, next(TimeStage::Code(f)))
                }
                _ => Err(not_time()),
            },
            ("Gemm", TimeStage::Code(freqs)) => {
                if op.int("transB", 0)? != 1 || op.float("alpha", 1.0)? != 1.0 {
                    return Err(
                        op.unsupported("a time embedding's Gemm other than alpha = 1, transB = 1")
                    );
                }
                let weight = to_array(&self.required_constant(op, 1, "weight")?)?;
                let bias = to_array(&self.required_constant(op, 2, "bias")?)?;
                if weight.ndim() != 2 || weight.shape()[1] != 2 * freqs.len() {
                    return Err(op.unsupported(format!(
                        "a weight of shape {:?} for a code of {}",
                        weight.shape(),
                        2 * freqs.len()
                    )));
                }
                let channels = weight.shape()[0];
                let bias = bias
                    .into_shape_with_order(IxDyn(&[channels]))
                    .map_err(|_| op.unsupported("a bias that is not one value per channel"))?;
                let stem = Self::weight_stem(op, 1);
                self.alias(
                    op,
                    next(TimeStage::Shift(Box::new(TimeShift {
                        freqs,
                        weight,
                        bias,
                        stem,
                    }))),
                )
            }
            ("Reshape", shift @ TimeStage::Shift(_)) => self.alias(op, next(shift)),
            ("Add", TimeStage::Shift(shift)) => {
                let TimeShift {
                    freqs,
                    weight,
                    bias,
                    stem,
                } = *shift;
                let k = if time(0, self).is_some() { 1 } else { 0 };
                let (x, _) = self.node_input(op, k)?;
                let dim = 2 * freqs.len();
                let time_scale = f64::from(freqs[0]);
                let standard = crate::engine::layers::time_embedding::frequencies(dim);
                if standard.iter().zip(&freqs).any(|(w, f)| {
                    (w * time_scale - f64::from(*f)).abs() > 1e-4 * time_scale.max(1.0)
                }) {
                    return Err(op.unsupported(
                        "frequencies other than time_scale·10000^(-i/k), ConvLab's sinusoidal code",
                    ));
                }
                let kind = NodeKind::TimeEmbedding(TimeEmbeddingConfig {
                    dim,
                    time_scale: tidy(time_scale as f32),
                });
                let params = vec![("weight", weight), ("bias", bias)];
                self.push(op, stem.as_deref(), kind, vec![x, src], params, 4)
            }
            _ => Err(not_time()),
        }
    }
}

/// `kernel_shape`, `pads` and `strides` of a pooling window.
fn pool_attributes(window: Option<WindowGeometry>) -> Vec<Attribute> {
    let g = window.expect("pool has a window");
    vec![
        ints("kernel_shape", &[g.kernel.h, g.kernel.w]),
        ints("pads", &g.pads.onnx()),
        ints("strides", &[g.stride.h, g.stride.w]),
    ]
}

/// The inputs of an add or concat: lifted to NCHW unless they are all `[N, F]`.
fn merge_inputs(b: &mut Builder, at: &mut NodeExport) -> Vec<String> {
    let inputs = at.facts.inputs.clone();
    if at.rank == 4 {
        inputs
            .iter()
            .enumerate()
            .map(|(k, s)| at.lift(b, k, s))
            .collect()
    } else {
        inputs
    }
}

impl Ctx {
    /// Reads an operator that stands for a ConvLab node kind.
    pub(super) fn read_kind(&mut self, node: &Node) -> Result<(), OnnxError> {
        let op = Op { node };
        match node.op_type.as_str() {
            "Identity" => {
                let src = op.input(0).unwrap_or_default();
                if let Some(Val::Const(t)) = self.vals.get(src).cloned() {
                    return self.alias(&op, Val::Const(t));
                }
                let (x, rank) = self.node_input(&op, 0)?;
                self.push(&op, None, NodeKind::Identity, vec![x], vec![], rank)
            }
            "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Softmax" => {
                let (x, rank) = self.node_input(&op, 0)?;
                let kind = match node.op_type.as_str() {
                    "Relu" => NodeKind::Relu,
                    "Sigmoid" => NodeKind::Sigmoid,
                    "Tanh" => NodeKind::Tanh,
                    "LeakyRelu" => NodeKind::LeakyRelu(LeakyReluConfig {
                        slope: tidy(op.float("alpha", 0.01)?),
                    }),
                    _ => {
                        let default = if self.opset >= 13 { -1 } else { 1 };
                        let axis = self.normalise_axis(&op, op.int("axis", default)?, rank)?;
                        let [_, h, w] = self.shape_of(&x);
                        if axis != 1 || (self.opset < 13 && rank == 4 && h * w != 1) {
                            return Err(op.unsupported(format!(
                                "softmax over axis {axis}; ConvLab's softmax is over channels (axis 1)"
                            )));
                        }
                        NodeKind::Softmax
                    }
                };
                self.push(&op, None, kind, vec![x], vec![], rank)
            }
            "Conv" => {
                op.no_auto_pad()?;
                let src_name = op.input(0).unwrap_or_default().to_string();
                let (x, mut pads, mode) = match self.vals.get(&src_name).cloned() {
                    Some(Val::Pad { src, pads, mode }) => (src, pads, mode),
                    _ => (
                        self.node_input(&op, 0)?.0,
                        Pads::default(),
                        PaddingMode::Zeros,
                    ),
                };
                let own = op.pads()?;
                if mode != PaddingMode::Zeros && !own.is_zero() {
                    return Err(op.unsupported(
                        "a reflect/edge Pad followed by a Conv with its own padding",
                    ));
                }
                pads = Pads {
                    top: pads.top + own.top,
                    bottom: pads.bottom + own.bottom,
                    left: pads.left + own.left,
                    right: pads.right + own.right,
                };
                let w = self.required_constant(&op, 1, "weight")?;
                let b = self.constant(&op, 2)?;
                let ws = w.shape()?;
                if ws.len() != 4 {
                    return Err(op.unsupported(format!("weight shape {ws:?} is not 4-D (Conv2d)")));
                }
                let kernel = op.pair("kernel_shape", Pair::new(ws[2], ws[3]))?;
                let groups = op.int("group", 1)?;
                if groups < 1 {
                    return Err(op.unsupported("group must be at least 1"));
                }
                let kind = NodeKind::Conv2d(Conv2dConfig {
                    out_channels: ws[0],
                    kernel,
                    stride: op.pair("strides", Pair::square(1))?,
                    padding: Padding::from_pads(pads),
                    padding_mode: mode,
                    dilation: op.pair("dilations", Pair::square(1))?,
                    groups: groups as usize,
                    bias: b.is_some(),
                });
                let mut params = vec![("weight", to_array(&w)?)];
                if let Some(b) = b {
                    params.push(("bias", to_array(&b)?));
                }
                let stem = Self::weight_stem(&op, 1);
                self.push(&op, stem.as_deref(), kind, vec![x], params, 4)
            }
            "ConvTranspose" => {
                op.no_auto_pad()?;
                if op.ints("output_shape")?.is_some() {
                    return Err(op.unsupported("output_shape (re-export with pads instead)"));
                }
                if op.int("group", 1)? != 1 {
                    return Err(op.unsupported("groups other than 1"));
                }
                if op.pair("dilations", Pair::square(1))? != Pair::square(1) {
                    return Err(op.unsupported("dilation other than 1"));
                }
                let Some(padding) = op.pads()?.as_symmetric() else {
                    return Err(op.unsupported("asymmetric pads"));
                };
                let (x, _) = self.node_input(&op, 0)?;
                let w = self.required_constant(&op, 1, "weight")?;
                let bias = self.constant(&op, 2)?;
                let ws = w.shape()?;
                if ws.len() != 4 {
                    return Err(op.unsupported(format!("weight shape {ws:?} is not 4-D")));
                }
                let op_pad = match op.ints("output_padding")? {
                    None => Pair::square(0),
                    Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 0) => {
                        Pair::new(v[0] as usize, v[1] as usize)
                    }
                    Some(v) => return Err(op.unsupported(format!("output_padding {v:?}"))),
                };
                let kind = NodeKind::ConvTranspose2d(ConvTranspose2dConfig {
                    out_channels: ws[1],
                    kernel: op.pair("kernel_shape", Pair::new(ws[2], ws[3]))?,
                    stride: op.pair("strides", Pair::square(1))?,
                    padding,
                    output_padding: op_pad,
                    bias: bias.is_some(),
                });
                let mut params = vec![("weight", to_array(&w)?)];
                if let Some(b) = bias {
                    params.push(("bias", to_array(&b)?));
                }
                let stem = Self::weight_stem(&op, 1);
                self.push(&op, stem.as_deref(), kind, vec![x], params, 4)
            }
            "MaxPool" | "AveragePool" => {
                op.no_auto_pad()?;
                if op.int("ceil_mode", 0)? != 0 {
                    return Err(op.unsupported("ceil_mode = 1"));
                }
                if op.pair("dilations", Pair::square(1))? != Pair::square(1) {
                    return Err(op.unsupported("dilation other than 1"));
                }
                if node.outputs.len() > 1 && !node.outputs[1].is_empty() {
                    return Err(op.unsupported("the Indices output"));
                }
                let kernel = op
                    .ints("kernel_shape")?
                    .ok_or_else(|| op.unsupported("kernel_shape is missing"))?;
                let kernel = op.pair(
                    "kernel_shape",
                    Pair::square(kernel.first().copied().unwrap_or(1).max(1) as usize),
                )?;
                let stride = op.pair("strides", Pair::square(1))?;
                let stride = (stride != kernel).then_some(stride);
                let Some(padding) = op.pads()?.as_symmetric() else {
                    return Err(op.unsupported("asymmetric pads"));
                };
                if node.op_type == "AveragePool" {
                    if padding.h + padding.w > 0 && op.int("count_include_pad", 0)? == 0 {
                        return Err(op.unsupported(
                            "count_include_pad = 0 with padding; ConvLab's average pooling counts the padded zeros (PyTorch's default)",
                        ));
                    }
                    let (x, _) = self.node_input(&op, 0)?;
                    let kind = NodeKind::AvgPool2d(Pool2dConfig {
                        kernel,
                        stride,
                        padding,
                    });
                    return self.push(&op, None, kind, vec![x], vec![], 4);
                }
                let src_name = op.input(0).unwrap_or_default().to_string();
                if let Some(Val::Neg { src }) = self.vals.get(&src_name).cloned() {
                    return self.alias(
                        &op,
                        Val::NegMax {
                            src,
                            kernel,
                            stride,
                            padding,
                        },
                    );
                }
                let (x, _) = self.node_input(&op, 0)?;
                let kind = NodeKind::MaxPool2d(Pool2dConfig {
                    kernel,
                    stride,
                    padding,
                });
                self.push(&op, None, kind, vec![x], vec![], 4)
            }
            "Neg" => {
                let src_name = op.input(0).unwrap_or_default().to_string();
                if let Some(Val::NegMax {
                    src,
                    kernel,
                    stride,
                    padding,
                }) = self.vals.get(&src_name).cloned()
                {
                    let kind = NodeKind::MinPool2d(Pool2dConfig {
                        kernel,
                        stride,
                        padding,
                    });
                    return self.push(&op, None, kind, vec![src], vec![], 4);
                }
                let (x, _) = self.node_input(&op, 0)?;
                self.alias(&op, Val::Neg { src: x })
            }
            "GlobalAveragePool" => {
                let (x, _) = self.node_input(&op, 0)?;
                self.push(&op, None, NodeKind::GlobalAvgPool, vec![x], vec![], 4)
            }
            "Gemm" => {
                if op.int("transA", 0)? != 0 {
                    return Err(op.unsupported("transA = 1"));
                }
                if op.float("alpha", 1.0)? != 1.0 {
                    return Err(op.unsupported("alpha other than 1"));
                }
                let src_name = op.input(0).unwrap_or_default().to_string();
                let x = match self.vals.get(&src_name).cloned() {
                    Some(Val::Flat { src }) => src,
                    _ => self.node_input(&op, 0)?.0,
                };
                let w = self.required_constant(&op, 1, "weight")?;
                let mut wa = to_array(&w)?;
                if wa.ndim() != 2 {
                    return Err(op.unsupported("the weight is not a matrix"));
                }
                if op.int("transB", 0)? == 0 {
                    wa = wa.t().as_standard_layout().into_owned();
                }
                let out_features = wa.shape()[0];
                let c = self.constant(&op, 2)?;
                let bias = match c {
                    Some(c) => {
                        if op.float("beta", 1.0)? != 1.0 {
                            return Err(op.unsupported("beta other than 1"));
                        }
                        let a = to_array(&c)?;
                        if a.len() != out_features {
                            return Err(op.unsupported(format!(
                                "bias shape {:?} for {out_features} outputs",
                                a.shape()
                            )));
                        }
                        Some(
                            a.into_shape_with_order(IxDyn(&[out_features]))
                                .expect("same size"),
                        )
                    }
                    None => None,
                };
                let kind = NodeKind::Dense(DenseConfig {
                    out_features,
                    bias: bias.is_some(),
                });
                let mut params = vec![("weight", wa)];
                if let Some(b) = bias {
                    params.push(("bias", b));
                }
                let stem = Self::weight_stem(&op, 1);
                self.push(&op, stem.as_deref(), kind, vec![x], params, 2)
            }
            "Dropout" => {
                let (x, rank) = self.node_input(&op, 0)?;
                let p = match self.constant(&op, 1)? {
                    Some(t) => *t
                        .to_f32()?
                        .first()
                        .ok_or_else(|| op.unsupported("empty ratio"))?,
                    None => op.float("ratio", 0.5)?,
                };
                if let Some(t) = self.constant(&op, 2)? {
                    let training = t
                        .to_i64()
                        .map(|v| v.iter().any(|&x| x != 0))
                        .unwrap_or(true);
                    if training {
                        return Err(op.unsupported("training_mode = true"));
                    }
                }
                let kind = NodeKind::Dropout(DropoutConfig { p: tidy(p) });
                self.push(&op, None, kind, vec![x], vec![], rank)
            }
            "Slice" => {
                let (x, rank) = self.node_input(&op, 0)?;
                let c = self.shape_of(&x)[0] as i64;
                let ints = |k: usize, what: &str| -> Result<Vec<i64>, OnnxError> {
                    self.required_constant(&op, k, what)?.to_i64()
                };
                let (starts, ends) = (ints(1, "starts")?, ints(2, "ends")?);
                let axes = match self.constant(&op, 3)? {
                    Some(t) => t.to_i64()?,
                    None => vec![0],
                };
                let steps = match self.constant(&op, 4)? {
                    Some(t) => t.to_i64()?,
                    None => vec![1],
                };
                // The start of a time embedding: t/T at pixel (0, 0) of the last channel.
                if axes == [1, 2, 3] && starts == [c - 1, 0, 0] && ends == [c, 1, 1] && rank == 4 {
                    return self.alias(
                        &op,
                        Val::Time {
                            src: x,
                            stage: TimeStage::Fraction,
                        },
                    );
                }
                // Only the form ConvLab writes for a sampling node: the first half of the
                // channels. Other slices have no node kind.
                if starts != [0] || ends != [c / 2] || axes != [1] || steps != [1] || c % 2 != 0 {
                    return Err(op.unsupported(
                        "only a Slice of the first half of axis 1 (a VAE's μ) has a ConvLab node kind",
                    ));
                }
                self.push(&op, None, NodeKind::Sample, vec![x], vec![], rank)
            }
            "BatchNormalization" => {
                if op.int("training_mode", 0)? != 0 {
                    return Err(op.unsupported("training_mode = 1"));
                }
                let (x, rank) = self.node_input(&op, 0)?;
                let mut params = Vec::new();
                for (k, role) in [
                    (1, "weight"),
                    (2, "bias"),
                    (3, "running_mean"),
                    (4, "running_var"),
                ] {
                    let t = self.required_constant(&op, k, role)?;
                    params.push((role, to_array(&t)?));
                }
                let momentum = 1.0 - tidy(op.float("momentum", 0.9)?);
                let kind = NodeKind::BatchNorm2d(BatchNorm2dConfig {
                    eps: tidy(op.float("epsilon", 1e-5)?),
                    momentum: tidy(momentum as f32),
                });
                let stem = Self::weight_stem(&op, 1);
                self.push(&op, stem.as_deref(), kind, vec![x], params, rank)
            }
            "LayerNormalization" => {
                if node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
                    return Err(op.unsupported("the Mean and InvStdDev outputs"));
                }
                let (x, rank) = self.node_input(&op, 0)?;
                if self.normalise_axis(&op, op.int("axis", -1)?, rank)? != 1 {
                    return Err(op.unsupported(
                        "normalising over part of a sample; ConvLab's layer norm takes all of channels × height × width (axis 1)",
                    ));
                }
                let shape = self.shape_of(&x);
                let as_sample = |t: ArrayD<f32>, what: &str| {
                    t.into_shape_with_order(IxDyn(&shape)).map_err(|_| {
                        op.unsupported(format!(
                            "the {what} does not have the input's shape {shape:?}"
                        ))
                    })
                };
                let w = self.required_constant(&op, 1, "scale")?;
                let weight = as_sample(to_array(&w)?, "scale")?;
                let bias = match self.constant(&op, 2)? {
                    Some(b) => as_sample(to_array(&b)?, "bias")?,
                    None => ArrayD::zeros(IxDyn(&shape)),
                };
                let kind = NodeKind::LayerNorm(LayerNormConfig {
                    eps: tidy(op.float("epsilon", 1e-5)?),
                });
                let stem = Self::weight_stem(&op, 1);
                let params = vec![("weight", weight), ("bias", bias)];
                self.push(&op, stem.as_deref(), kind, vec![x], params, rank)
            }
            "LRN" => {
                let (x, rank) = self.node_input(&op, 0)?;
                let size = op.int("size", 0)?;
                if size < 1 {
                    return Err(op.unsupported("LRN needs a positive size"));
                }
                if size % 2 == 0 {
                    return Err(op.unsupported(
                        "an even LRN size: ONNX centres its window one channel later than PyTorch and ConvLab",
                    ));
                }
                let kind = NodeKind::LocalResponseNorm(LocalResponseNormConfig {
                    size: size as usize,
                    alpha: tidy(op.float("alpha", 1e-4)?),
                    beta: tidy(op.float("beta", 0.75)?),
                    k: tidy(op.float("bias", 1.0)?),
                });
                self.push(&op, None, kind, vec![x], vec![], rank)
            }
            "Resize" => self.resize(&op),
            "Add" | "Sum" => {
                if node.op_type == "Add" && node.inputs.len() != 2 {
                    return Err(op.unsupported("Add needs two inputs"));
                }
                if node.inputs.len() < 2 {
                    return Err(op.unsupported("needs two or more inputs"));
                }
                let mut xs = Vec::new();
                let mut rank = 2;
                for k in 0..node.inputs.len() {
                    if let Some(Val::Const(_)) = op.input(k).and_then(|n| self.vals.get(n)) {
                        return Err(op.unsupported(
                            "adding a constant (a bias outside Conv/Gemm) has no ConvLab node",
                        ));
                    }
                    let (x, r) = self.node_input(&op, k)?;
                    rank = rank.max(r);
                    xs.push(x);
                }
                self.push(&op, None, NodeKind::Add, xs, vec![], rank)
            }
            "Concat" => {
                let mut xs = Vec::new();
                let mut rank = 2;
                for k in 0..node.inputs.len() {
                    let (x, r) = self.node_input(&op, k)?;
                    rank = rank.max(r);
                    xs.push(x);
                }
                let axis_attr = op
                    .node
                    .attr("axis")
                    .ok_or_else(|| op.unsupported("axis is missing"))?;
                let AttrValue::Int(axis) = axis_attr else {
                    return Err(op.unsupported("axis should be an int"));
                };
                if self.normalise_axis(&op, *axis, rank)? != 1 {
                    return Err(op.unsupported(format!(
                        "concatenation along axis {axis}; ConvLab concatenates channels (axis 1)"
                    )));
                }
                if xs.len() < 2 {
                    return Err(op.unsupported("needs two or more inputs"));
                }
                self.push(&op, None, NodeKind::Concat, xs, vec![], rank)
            }
            other => Err(op.unsupported(format!("ConvLab has no node kind for '{other}'"))),
        }
    }

    fn resize(&mut self, op: &Op) -> Result<(), OnnxError> {
        let (x, _) = self.node_input(op, 0)?;
        let [_, h, w] = self.shape_of(&x);
        let scale = if let Some(s) = self.constant(op, 2)?.filter(|t| t.numel().unwrap_or(0) > 0) {
            let s = s.to_f32()?;
            if s.len() != 4 || s[0] != 1.0 || s[1] != 1.0 || s[2] != s[3] {
                return Err(op.unsupported(format!(
                    "scales {s:?}; ConvLab scales height and width equally"
                )));
            }
            s[2]
        } else if let Some(sz) = self.constant(op, 3)? {
            let sz = sz.to_i64()?;
            if sz.len() != 4
                || h == 0
                || sz[2] % h as i64 != 0
                || sz[2] / h as i64 != sz[3] / w as i64
                || sz[3] % w as i64 != 0
            {
                return Err(op.unsupported(format!(
                    "sizes {sz:?} are not an integer multiple of {h}×{w}"
                )));
            }
            (sz[2] / h as i64) as f32
        } else {
            return Err(op.unsupported("neither scales nor sizes are given"));
        };
        if scale < 1.0 || scale.fract() != 0.0 || scale > 64.0 {
            return Err(
                op.unsupported(format!("scale {scale}; ConvLab upsamples by whole numbers"))
            );
        }
        if op.int("exclude_outside", 0)? != 0 || op.int("antialias", 0)? != 0 {
            return Err(op.unsupported("exclude_outside/antialias"));
        }
        let mode = op.string("mode", "nearest")?;
        let ctm = op.string("coordinate_transformation_mode", "half_pixel")?;
        let half = ctm == "half_pixel" || ctm == "pytorch_half_pixel";
        let mode = match mode.as_str() {
            "nearest" => {
                let nm = op.string("nearest_mode", "round_prefer_floor")?;
                // With whole-number scales, half-pixel centres round to the same source
                // pixel as floor(x / scale), whatever the rounding rule.
                let ok = (ctm == "asymmetric" && nm == "floor")
                    || (half && nm.starts_with("round_prefer"));
                if !ok {
                    return Err(op.unsupported(format!(
                        "nearest with coordinate_transformation_mode {ctm} and nearest_mode {nm}"
                    )));
                }
                UpsampleMode::Nearest
            }
            "linear" if half => UpsampleMode::Bilinear,
            m => {
                return Err(op.unsupported(format!(
                    "mode {m} with coordinate_transformation_mode {ctm}; ConvLab has nearest and bilinear (align_corners = false)"
                )));
            }
        };
        let kind = NodeKind::Upsample(UpsampleConfig {
            scale: scale as usize,
            mode,
        });
        self.push(op, None, kind, vec![x], vec![], 4)
    }
}
