//! ONNX → ConvLab model and weights.
//!
//! Reads graphs made of operators that map onto ConvLab's node kinds: ConvLab's own exports
//! (helpers included) and the same small nets as exported by `torch.onnx.export`. Glue
//! operators are folded into the node that consumes them: `Pad` into the following `Conv`
//! (zero, reflect or edge padding), `Neg → MaxPool → Neg` into min pooling, `Flatten` or a
//! flattening `Reshape` into the following `Gemm`, `Unsqueeze`/`Squeeze`/`Reshape` between
//! `[N, F]` and `[N, F, 1, 1]` vanish (ConvLab's activations are always 4-D). Anything else
//! is an error naming the operator and the node.

use std::collections::{HashMap, HashSet};

use ndarray::ArrayD;

use super::OnnxError;
use super::export::{PRESET_KEY, export_model};
use super::proto::{Dim, Node, decode, dtype};
use super::reader::{Ctx, Op, Val};
use crate::data::sources::{class_folder, digits, function, points, shapes};
use crate::data::{DataSource, DataSpec};
use crate::engine::model_spec::INPUT_NODE;
use crate::engine::{Graph as EngineGraph, Init, LossKind, ModelSpec, OptimizerKind};
use crate::spec::{PRESET_VERSION, Preset, TrainingSpec};

/// An imported model: a preset (the embedded one when the file came from ConvLab, else one
/// with guessed data and training settings) and its weights in graph order.
#[derive(Clone, Debug)]
pub struct Imported {
    pub preset: Preset,
    pub params: Vec<(String, ArrayD<f32>)>,
    /// What the user should know: guessed settings, renamed nodes.
    pub notes: Vec<String>,
}

fn guess_data(input: [usize; 3], out: [usize; 3]) -> (DataSource, LossKind, String) {
    let classes = if out[1] == 1 && out[2] == 1 && out[0] >= 2 {
        Some(out[0])
    } else {
        None
    };
    let loss = if classes.is_some() {
        LossKind::CrossEntropy
    } else {
        LossKind::Mse
    };
    let source = match (input, classes) {
        ([2, 1, 1], Some(_)) => DataSource::Points(points::Points {
            pattern: crate::data::synthetic::PointPattern::Xor,
            samples: 1000,
            noise: 0.0,
            features: Vec::new(),
        }),
        ([1, 1, 1], None) => DataSource::Function(function::Function {
            function: "sine".into(),
            samples: 1000,
            noise: 0.0,
        }),
        ([1, 28, 28], Some(10)) => DataSource::Digits(digits::Digits { limit: None }),
        ([1, h, w], Some(4)) if h == w => DataSource::Shapes(shapes::Shapes {
            samples: 1000,
            size: h,
            noise: 0.0,
        }),
        ([c, h, w], _) => DataSource::Folder(class_folder::ClassFolder {
            path: "data".into(),
            size: [h, w],
            grayscale: c == 1,
        }),
    };
    let note = format!(
        "the file has no ConvLab preset: data source '{}' and loss {} are guesses from the shapes; edit them in the window or the preset",
        source.label(),
        loss.torch_name()
    );
    (source, loss, note)
}

/// Reads ONNX bytes into a ConvLab preset and weights. `name` names the preset when the
/// file does not carry one.
pub fn import_model(bytes: &[u8], name: &str) -> Result<Imported, OnnxError> {
    let model = decode(bytes)?;
    let opset = model
        .opset_import
        .iter()
        .find(|(d, _)| d.is_empty() || d == "ai.onnx")
        .map(|(_, v)| *v)
        .ok_or_else(|| OnnxError::Invalid("the model imports no standard ONNX opset".into()))?;
    if !(13..=23).contains(&opset) {
        return Err(OnnxError::Invalid(format!(
            "opset {opset} is not supported; ConvLab reads opsets 13 to 23 (export with opset_version=17)"
        )));
    }
    let g = &model.graph;
    let mut ctx = Ctx {
        spec: ModelSpec {
            input: [1, 1, 1],
            nodes: Vec::new(),
        },
        facts: None,
        vals: HashMap::new(),
        params: Vec::new(),
        taken: HashSet::new(),
        opset,
        renamed: Vec::new(),
    };
    for t in &g.initializers {
        ctx.vals.insert(t.name.clone(), Val::Const(t.clone()));
    }
    let inputs: Vec<_> = g
        .inputs
        .iter()
        .filter(|v| !ctx.vals.contains_key(&v.name))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(OnnxError::Invalid(format!(
            "ConvLab models have one input; this graph has {}",
            inputs.len()
        )));
    };
    if input.elem_type != dtype::FLOAT {
        return Err(OnnxError::Invalid(format!(
            "input '{}' is not float32 (element type {})",
            input.name, input.elem_type
        )));
    }
    let dims: Vec<Option<usize>> = input
        .shape
        .as_ref()
        .ok_or_else(|| OnnxError::Invalid(format!("input '{}' has no shape", input.name)))?
        .iter()
        .map(|d| match d {
            Dim::Value(v) if *v > 0 => Some(*v as usize),
            _ => None,
        })
        .collect();
    let (sample, rank) = match dims.as_slice() {
        [_, Some(c), Some(h), Some(w)] => ([*c, *h, *w], 4),
        [_, Some(f)] => ([*f, 1, 1], 2),
        _ => {
            return Err(OnnxError::Invalid(format!(
                "input '{}' must be [N, C, H, W] or [N, F] with known C, H, W, got {:?}",
                input.name, input.shape
            )));
        }
    };
    ctx.spec.input = sample;
    ctx.vals.insert(
        input.name.clone(),
        Val::Node {
            name: INPUT_NODE.into(),
            rank,
        },
    );
    for node in &g.nodes {
        ctx.read(node)?;
    }
    let [output] = g.outputs.as_slice() else {
        return Err(OnnxError::Invalid(format!(
            "ConvLab models have one output; this graph has {}",
            g.outputs.len()
        )));
    };
    let out_node = Node {
        op_type: "output".into(),
        name: output.name.clone(),
        inputs: vec![output.name.clone()],
        ..Default::default()
    };
    let (out_name, _) = ctx.node_input(&Op { node: &out_node }, 0)?;
    if ctx.spec.nodes.last().map(|n| &n.name) != Some(&out_name) {
        return Err(OnnxError::Invalid(format!(
            "the graph's output '{}' must be its last node",
            output.name
        )));
    }

    // Weights in graph order, checked against the model.
    if let Some((pname, _)) = ctx
        .params
        .iter()
        .find(|(_, value)| value.iter().any(|v| !v.is_finite()))
    {
        return Err(OnnxError::Model(format!(
            "tensor for '{pname}' holds NaN or infinite values"
        )));
    }
    let graph = EngineGraph::<f32>::with_params(&ctx.spec, std::mem::take(&mut ctx.params))
        .map_err(|e| OnnxError::Model(e.to_string()))?;
    let params: Vec<(String, ArrayD<f32>)> = graph
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();

    let mut notes = Vec::new();
    if !ctx.renamed.is_empty() {
        notes.push(format!(
            "renamed ONNX values to node names: {}",
            ctx.renamed.join(", ")
        ));
    }
    let embedded = model
        .metadata_props
        .iter()
        .find(|(k, _)| k == PRESET_KEY)
        .and_then(|(_, v)| Preset::parse(v, "the preset stored in the ONNX file").ok());
    let preset = match embedded {
        // The file is a ConvLab export of exactly this preset: keep it as written
        // ("same" padding stays "same").
        Some(p) if export_model(&p.model, &params, Some(&p)).is_ok_and(|b| b == bytes) => p,
        Some(mut p) => {
            p.model = ctx.spec.clone();
            notes.push("the graph differs from the preset stored in the file; kept the preset's data and training settings".into());
            p
        }
        None => {
            let out = graph.facts().output();
            let (source, loss, note) = guess_data(ctx.spec.input, out);
            notes.push(note);
            let producer = if model.producer_name.is_empty() {
                String::new()
            } else {
                format!(
                    " (made by {} {})",
                    model.producer_name, model.producer_version
                )
            };
            Preset {
                version: PRESET_VERSION,
                name: name.to_string(),
                description: format!("Imported from ONNX{}", producer.trim_end()),
                model: ctx.spec.clone(),
                data: DataSpec {
                    source,
                    val_fraction: 0.2,
                    seed: 0,
                    denoise: None,
                    reconstruct: false,
                    diffusion: None,
                    super_resolution: None,
                    patches: None,
                },
                training: TrainingSpec {
                    loss,
                    optimizer: OptimizerKind::default(),
                    learning_rate: 0.01,
                    batch_size: 32,
                    epochs: 10,
                    init: Init::default(),
                    seed: 0,
                    augment: None,
                    kl_weight: 0.0,
                    kl_warmup_epochs: 0,
                    lr_schedule: Default::default(),
                },
                target: None,
                pipeline: None,
                evolution: None,
                unsupervised_segmentation: None,
                walkthrough: Vec::new(),
            }
        }
    };
    // The preset must survive its own text format (as a checkpoint stores it).
    let preset = Preset::parse(&preset.to_toml(), "the imported preset")
        .map_err(|e| OnnxError::Model(e.to_string()))?;
    Ok(Imported {
        preset,
        params,
        notes,
    })
}
