//! ConvLab model → ONNX `ModelProto` bytes (opset 17, eval mode). See the module docs of
//! [`crate::onnx`] for the mapping.

use std::collections::HashSet;

use ndarray::ArrayD;

use super::OnnxError;
use super::proto::{AttrValue, Attribute, Dim, Graph, Model, Node, TensorProto, ValueInfo, dtype};
use crate::engine::facts::{ModelFacts, infer};
use crate::engine::model_spec::{INPUT_NODE, NodeKind, PaddingMode, UpsampleMode};
use crate::engine::{Graph as EngineGraph, ModelSpec};
use crate::spec::Preset;

pub const OPSET: i64 = 17;
/// IR version 8 goes with opsets up to 18.
pub const IR_VERSION: i64 = 8;
/// Metadata key holding the preset (TOML) the model came from.
pub const PRESET_KEY: &str = "convlab.preset";
pub const PRODUCER: &str = "convlab";

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
            NodeKind::Flatten | NodeKind::Dense { .. } => 2,
            NodeKind::Add | NodeKind::Concat if nf.inputs.iter().all(|i| rank_of(i) == 2) => 2,
            NodeKind::Identity
            | NodeKind::Relu
            | NodeKind::LeakyRelu { .. }
            | NodeKind::Sigmoid
            | NodeKind::Tanh
            | NodeKind::Softmax
            | NodeKind::Dropout { .. }
            | NodeKind::BatchNorm2d { .. } => rank_of(&nf.inputs[0]),
            _ => 4,
        };
        ranks.push(r);
    }
    ranks
}

fn ints(name: &str, v: &[usize]) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Ints(v.iter().map(|&x| x as i64).collect()),
    }
}
fn int(name: &str, v: i64) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Int(v),
    }
}
fn float(name: &str, v: f32) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Float(v),
    }
}
fn string(name: &str, v: &str) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::String(v.as_bytes().to_vec()),
    }
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    initializers: Vec<TensorProto>,
}

impl Builder {
    fn node(&mut self, op: &str, output: &str, inputs: Vec<String>, attributes: Vec<Attribute>) {
        self.nodes.push(Node {
            inputs,
            outputs: vec![output.to_string()],
            name: output.to_string(),
            op_type: op.to_string(),
            domain: String::new(),
            attributes,
        });
    }

    fn constant(&mut self, output: &str, t: TensorProto) {
        let t = TensorProto {
            name: String::new(),
            ..t
        };
        self.node(
            "Constant",
            output,
            vec![],
            vec![Attribute {
                name: "value".into(),
                value: AttrValue::Tensor(t),
            }],
        );
    }
}

/// Checks `params` against the model (every parameter present, shapes equal, nothing else)
/// and returns a graph holding them.
fn graph_with(
    spec: &ModelSpec,
    params: &[(String, ArrayD<f32>)],
) -> Result<EngineGraph<f32>, OnnxError> {
    let mut g = EngineGraph::<f32>::new(spec).map_err(|e| OnnxError::Model(e.to_string()))?;
    let mut seen = HashSet::new();
    for (name, value) in params {
        g.set_param(name, value.clone())
            .map_err(|e| OnnxError::Model(format!("weights do not match the model: {e}")))?;
        seen.insert(name.as_str());
    }
    if let Some(missing) = g.params().iter().find(|p| !seen.contains(p.name.as_str())) {
        return Err(OnnxError::Model(format!(
            "weights do not match the model: tensor '{}' is missing",
            missing.name
        )));
    }
    Ok(g)
}

/// A model with its weights as ONNX bytes. With `preset`, the graph is named after it and
/// the preset's TOML is stored under the metadata key [`PRESET_KEY`], so importing gives
/// back the data and training settings too.
pub fn export_model(
    spec: &ModelSpec,
    params: &[(String, ArrayD<f32>)],
    preset: Option<&Preset>,
) -> Result<Vec<u8>, OnnxError> {
    let graph = graph_with(spec, params)?;
    let facts = graph.facts();
    let ranks = output_ranks(spec, facts);
    let rank_of = |name: &str| -> usize {
        if name == INPUT_NODE {
            4
        } else {
            facts.index_of(name).map_or(4, |i| ranks[i])
        }
    };
    let mut b = Builder::default();
    for p in graph.params() {
        let v = p.value.as_standard_layout();
        b.initializers.push(TensorProto::float(
            &p.name,
            v.shape(),
            v.as_slice().expect("standard layout"),
        ));
    }
    // Value names must be unique: a node may not take a parameter's name.
    let param_names: HashSet<&str> = graph.params().iter().map(|p| p.name.as_str()).collect();
    if let Some(n) = spec
        .nodes
        .iter()
        .find(|n| param_names.contains(n.name.as_str()))
    {
        return Err(OnnxError::Model(format!(
            "node '{}' has the name of a parameter; rename it to export",
            n.name
        )));
    }

    for (i, (node, nf)) in spec.nodes.iter().zip(&facts.nodes).enumerate() {
        let name = node.name.as_str();
        let has = |role: &str| param_names.contains(format!("{name}.{role}").as_str());
        let param = |role: &str| format!("{name}.{role}");
        let weight_bias = || {
            let mut v = vec![param("weight")];
            if has("bias") {
                v.push(param("bias"));
            }
            v
        };
        // Inputs, with 2-D values lifted to [N, F, 1, 1] where the node needs NCHW.
        let mut axes_made = false;
        let mut lift = |b: &mut Builder, k: usize, input: &str| -> String {
            if rank_of(input) == 4 {
                return input.to_string();
            }
            let axes = format!("{name}/axes");
            if !axes_made {
                b.constant(&axes, TensorProto::int64("", &[2], &[2, 3]));
                axes_made = true;
            }
            let out = if nf.inputs.len() == 1 {
                format!("{name}/unsqueeze")
            } else {
                format!("{name}/unsqueeze{k}")
            };
            b.node("Unsqueeze", &out, vec![input.to_string(), axes], vec![]);
            out
        };
        let x0 = nf.inputs[0].clone();
        let wg = nf.window;
        match &node.kind {
            NodeKind::Conv2d {
                kernel,
                padding_mode,
                ..
            } => {
                let g = wg.expect("conv has a window");
                let mut x = lift(&mut b, 0, &x0);
                let p = g.pads;
                let mut pads = [p.top, p.left, p.bottom, p.right];
                if *padding_mode != PaddingMode::Zeros && pads.iter().any(|&v| v > 0) {
                    let pads_name = format!("{name}/pads");
                    let v: Vec<i64> = [0, 0, p.top, p.left, 0, 0, p.bottom, p.right]
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
                inputs.extend(weight_bias());
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
            NodeKind::ConvTranspose2d {
                kernel,
                output_padding,
                ..
            } => {
                let g = wg.expect("conv has a window");
                let mut inputs = vec![lift(&mut b, 0, &x0)];
                inputs.extend(weight_bias());
                let op = output_padding.0;
                b.node(
                    "ConvTranspose",
                    name,
                    inputs,
                    vec![
                        int("group", 1),
                        ints("kernel_shape", &[kernel.h, kernel.w]),
                        ints("output_padding", &[op.h, op.w]),
                        ints(
                            "pads",
                            &[g.pads.top, g.pads.left, g.pads.bottom, g.pads.right],
                        ),
                        ints("strides", &[g.stride.h, g.stride.w]),
                    ],
                );
            }
            NodeKind::MaxPool2d { .. }
            | NodeKind::MinPool2d { .. }
            | NodeKind::AvgPool2d { .. } => {
                let g = wg.expect("pool has a window");
                let x = lift(&mut b, 0, &x0);
                let mut attrs = vec![
                    ints("kernel_shape", &[g.kernel.h, g.kernel.w]),
                    ints(
                        "pads",
                        &[g.pads.top, g.pads.left, g.pads.bottom, g.pads.right],
                    ),
                    ints("strides", &[g.stride.h, g.stride.w]),
                ];
                match &node.kind {
                    NodeKind::MaxPool2d { .. } => b.node("MaxPool", name, vec![x], attrs),
                    NodeKind::MinPool2d { .. } => {
                        let neg = format!("{name}/neg");
                        let max = format!("{name}/max");
                        b.node("Neg", &neg, vec![x], vec![]);
                        b.node("MaxPool", &max, vec![neg], attrs);
                        b.node("Neg", name, vec![max], vec![]);
                    }
                    _ => {
                        attrs.insert(0, int("count_include_pad", 1));
                        b.node("AveragePool", name, vec![x], attrs);
                    }
                }
            }
            NodeKind::GlobalAvgPool => {
                let x = lift(&mut b, 0, &x0);
                b.node("GlobalAveragePool", name, vec![x], vec![]);
            }
            NodeKind::Flatten => b.node("Flatten", name, vec![x0], vec![int("axis", 1)]),
            NodeKind::Dense { .. } => {
                let x = if rank_of(&x0) == 4 {
                    let out = format!("{name}/flatten");
                    b.node("Flatten", &out, vec![x0], vec![int("axis", 1)]);
                    out
                } else {
                    x0
                };
                let mut inputs = vec![x];
                inputs.extend(weight_bias());
                b.node(
                    "Gemm",
                    name,
                    inputs,
                    vec![float("alpha", 1.0), float("beta", 1.0), int("transB", 1)],
                );
            }
            NodeKind::Dropout { p } => {
                let ratio = format!("{name}/ratio");
                b.constant(&ratio, TensorProto::float("", &[], &[*p as f32]));
                b.node("Dropout", name, vec![x0, ratio], vec![]);
            }
            NodeKind::BatchNorm2d { eps, momentum } => {
                b.node(
                    "BatchNormalization",
                    name,
                    vec![
                        x0,
                        param("weight"),
                        param("bias"),
                        param("running_mean"),
                        param("running_var"),
                    ],
                    vec![
                        float("epsilon", *eps as f32),
                        float("momentum", (1.0 - *momentum) as f32),
                    ],
                );
            }
            NodeKind::Upsample { scale, mode } => {
                let x = lift(&mut b, 0, &x0);
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
            NodeKind::Add | NodeKind::Concat => {
                let inputs: Vec<String> = if ranks[i] == 4 {
                    nf.inputs
                        .iter()
                        .enumerate()
                        .map(|(k, s)| lift(&mut b, k, s))
                        .collect()
                } else {
                    nf.inputs.clone()
                };
                match &node.kind {
                    NodeKind::Concat => b.node("Concat", name, inputs, vec![int("axis", 1)]),
                    _ if inputs.len() == 2 => b.node("Add", name, inputs, vec![]),
                    _ => b.node("Sum", name, inputs, vec![]),
                }
            }
            NodeKind::Identity => b.node("Identity", name, vec![x0], vec![]),
            NodeKind::Relu => b.node("Relu", name, vec![x0], vec![]),
            NodeKind::LeakyRelu { slope } => b.node(
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

    let [c, h, w] = facts.input;
    let batch = || Dim::Param("N".into());
    let last = facts.nodes.last().expect("a model has nodes");
    let out_shape = if *ranks.last().expect("nodes") == 2 {
        vec![batch(), Dim::Value(last.output[0] as i64)]
    } else {
        std::iter::once(batch())
            .chain(last.output.iter().map(|&d| Dim::Value(d as i64)))
            .collect()
    };
    let model = Model {
        ir_version: IR_VERSION,
        producer_name: PRODUCER.into(),
        producer_version: String::new(),
        doc_string: String::new(),
        graph: Graph {
            name: preset.map_or_else(|| "convlab".to_string(), |p| p.name.clone()),
            nodes: b.nodes,
            initializers: b.initializers,
            inputs: vec![ValueInfo {
                name: INPUT_NODE.into(),
                elem_type: dtype::FLOAT,
                shape: Some(vec![
                    batch(),
                    Dim::Value(c as i64),
                    Dim::Value(h as i64),
                    Dim::Value(w as i64),
                ]),
            }],
            outputs: vec![ValueInfo {
                name: last.name.clone(),
                elem_type: dtype::FLOAT,
                shape: Some(out_shape),
            }],
        },
        opset_import: vec![(String::new(), OPSET)],
        metadata_props: preset
            .map(|p| vec![(PRESET_KEY.to_string(), p.to_toml())])
            .unwrap_or_default(),
    };
    Ok(super::proto::encode(&model))
}

/// `infer`, for callers that only have a spec.
pub fn ranks_of(spec: &ModelSpec) -> Result<Vec<usize>, OnnxError> {
    let facts = infer(spec).map_err(|e| OnnxError::Model(e.to_string()))?;
    Ok(output_ranks(spec, &facts))
}
