//! Reading ONNX nodes: what a value stands for while the graph is read, one operator with
//! its attributes and inputs, and the context that turns operators into ConvLab nodes. The
//! per-kind mapping ([`super::mapping`]) and the model import ([`super::import`]) both read
//! through these.

use std::collections::{HashMap, HashSet};

use ndarray::{ArrayD, IxDyn};

use super::OnnxError;
use super::proto::{AttrValue, Node, TensorProto};
use crate::engine::ModelSpec;
use crate::engine::facts::{ModelFacts, infer};
use crate::engine::model_spec::{INPUT_NODE, NodeKind, NodeSpec, PaddingMode, Pads, Pair};

/// What an ONNX value stands for while the graph is read.
#[derive(Clone, Debug)]
pub(super) enum Val {
    /// A ConvLab node's output (or the input) with its ONNX rank (2 or 4).
    Node {
        name: String,
        rank: usize,
    },
    Const(TensorProto),
    /// A flattened node output, waiting for a `Gemm` (or becoming a flatten node).
    Flat {
        src: String,
    },
    /// A padded node output, waiting for a `Conv`.
    Pad {
        src: String,
        pads: Pads,
        mode: PaddingMode,
    },
    /// A negated node output (the start of min pooling).
    Neg {
        src: String,
    },
    /// `MaxPool(Neg(src))`, waiting for the closing `Neg`.
    NegMax {
        src: String,
        kernel: Pair,
        stride: Option<Pair>,
        padding: Pair,
    },
    /// Part of a time embedding's chain of standard operators (see
    /// `mapping::Ctx::read_time`): t/T read from `src`, on its way to the final `Add`.
    Time {
        src: String,
        stage: TimeStage,
    },
}

/// How far a time embedding's operators have got.
#[derive(Clone, Debug)]
pub(super) enum TimeStage {
    /// The sliced t/T (also after `Flatten`).
    Fraction,
    /// t/T times the frequencies (`Mul`), then `Sin` or `Cos` of it, then both side by side.
    Angle(Vec<f32>),
    Sin(Vec<f32>),
    Cos(Vec<f32>),
    Code(Vec<f32>),
    /// The code through a `Gemm` (also after `Reshape`): one shift per channel.
    Shift(Box<TimeShift>),
}

/// A time embedding's code through its `Gemm`: the learned matrix and bias.
#[derive(Clone, Debug)]
pub(super) struct TimeShift {
    pub(super) freqs: Vec<f32>,
    pub(super) weight: ArrayD<f32>,
    pub(super) bias: ArrayD<f32>,
    pub(super) stem: Option<String>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s != INPUT_NODE
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
}

pub(super) struct Ctx {
    pub(super) spec: ModelSpec,
    pub(super) facts: Option<ModelFacts>,
    pub(super) vals: HashMap<String, Val>,
    pub(super) params: Vec<(String, ArrayD<f32>)>,
    pub(super) taken: HashSet<String>,
    pub(super) opset: i64,
    pub(super) renamed: Vec<String>,
}

pub(super) struct Op<'a> {
    pub(super) node: &'a Node,
}

impl Op<'_> {
    pub(super) fn label(&self) -> String {
        if !self.node.name.is_empty() {
            self.node.name.clone()
        } else {
            self.node.outputs.first().cloned().unwrap_or_default()
        }
    }
    pub(super) fn unsupported(&self, reason: impl Into<String>) -> OnnxError {
        OnnxError::Unsupported {
            op: self.node.op_type.clone(),
            node: self.label(),
            reason: reason.into(),
        }
    }
    pub(super) fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, OnnxError> {
        match self.node.attr(name) {
            None => Ok(None),
            Some(AttrValue::Ints(v)) => Ok(Some(v.clone())),
            Some(_) => {
                Err(self.unsupported(format!("attribute '{name}' should be a list of ints")))
            }
        }
    }
    pub(super) fn int(&self, name: &str, default: i64) -> Result<i64, OnnxError> {
        match self.node.attr(name) {
            None => Ok(default),
            Some(AttrValue::Int(v)) => Ok(*v),
            Some(_) => Err(self.unsupported(format!("attribute '{name}' should be an int"))),
        }
    }
    pub(super) fn float(&self, name: &str, default: f32) -> Result<f32, OnnxError> {
        match self.node.attr(name) {
            None => Ok(default),
            Some(AttrValue::Float(v)) => Ok(*v),
            Some(_) => Err(self.unsupported(format!("attribute '{name}' should be a float"))),
        }
    }
    pub(super) fn string(&self, name: &str, default: &str) -> Result<String, OnnxError> {
        match self.node.attr(name) {
            None => Ok(default.to_string()),
            Some(AttrValue::String(v)) => Ok(String::from_utf8_lossy(v).into_owned()),
            Some(_) => Err(self.unsupported(format!("attribute '{name}' should be a string"))),
        }
    }
    /// A pair attribute (`strides`, `dilations`, `kernel_shape`), `default` when absent.
    pub(super) fn pair(&self, name: &str, default: Pair) -> Result<Pair, OnnxError> {
        match self.ints(name)? {
            None => Ok(default),
            Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 1) => {
                Ok(Pair::new(v[0] as usize, v[1] as usize))
            }
            Some(v) => Err(self.unsupported(format!("{name} {v:?} is not two positive numbers"))),
        }
    }
    /// The 2-D `pads` attribute (zero when absent).
    pub(super) fn pads(&self) -> Result<Pads, OnnxError> {
        match self.ints("pads")? {
            None => Ok(Pads::default()),
            Some(v) if v.len() == 4 && v.iter().all(|&x| (0..=4096).contains(&x)) => {
                Ok(Pads::from_onnx([
                    v[0] as usize,
                    v[1] as usize,
                    v[2] as usize,
                    v[3] as usize,
                ]))
            }
            Some(v) => {
                Err(self.unsupported(format!("pads {v:?} are not four non-negative numbers")))
            }
        }
    }
    pub(super) fn no_auto_pad(&self) -> Result<(), OnnxError> {
        let a = self.string("auto_pad", "NOTSET")?;
        if a != "NOTSET" {
            return Err(self.unsupported(format!("auto_pad {a} (re-export with explicit pads)")));
        }
        Ok(())
    }
    pub(super) fn output(&self) -> Result<&str, OnnxError> {
        self.node
            .outputs
            .first()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.unsupported("the node has no output"))
    }
    /// The `k`-th input name, if present and non-empty.
    pub(super) fn input(&self, k: usize) -> Option<&str> {
        self.node
            .inputs
            .get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

pub(super) fn to_array(t: &TensorProto) -> Result<ArrayD<f32>, OnnxError> {
    let shape = t.shape()?;
    let v = t.to_f32()?;
    ArrayD::from_shape_vec(IxDyn(&shape), v)
        .map_err(|e| OnnxError::Invalid(format!("tensor '{}': {e}", t.name)))
}

/// The shortest decimal that gives back `v` as f32, as f64 (0.01f32 → 0.01, not
/// 0.009999999776…), so hyper-parameters stored as ONNX floats read back as typed.
pub(super) fn tidy(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(v as f64)
}

impl Ctx {
    pub(super) fn facts(&self) -> &ModelFacts {
        self.facts.as_ref().expect("facts after the first node")
    }

    /// Per-sample shape of a ConvLab node or the input.
    pub(super) fn shape_of(&self, name: &str) -> [usize; 3] {
        if name == INPUT_NODE {
            self.spec.input
        } else {
            let f = self.facts();
            f.nodes[f.index_of(name).expect("known node")].output
        }
    }

    pub(super) fn constant(&self, op: &Op, k: usize) -> Result<Option<TensorProto>, OnnxError> {
        let Some(name) = op.input(k) else {
            return Ok(None);
        };
        match self.vals.get(name) {
            Some(Val::Const(t)) => Ok(Some(t.clone())),
            Some(_) => Err(op.unsupported(format!(
                "input '{name}' must be a constant (an initializer or a Constant node)"
            ))),
            None => Err(op.unsupported(format!("input '{name}' is not produced by any node"))),
        }
    }

    pub(super) fn required_constant(
        &self,
        op: &Op,
        k: usize,
        what: &str,
    ) -> Result<TensorProto, OnnxError> {
        self.constant(op, k)?
            .ok_or_else(|| op.unsupported(format!("the {what} input is missing")))
    }

    pub(super) fn choose_name(
        &mut self,
        onnx_out: &str,
        preferred: Option<&str>,
        op_type: &str,
    ) -> String {
        let derived = {
            let segs: Vec<&str> = onnx_out.split('/').filter(|s| !s.is_empty()).collect();
            let raw = if segs.len() >= 2 {
                segs[segs.len() - 2].to_string()
            } else {
                op_type.to_lowercase()
            };
            let s: String = raw
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if valid_name(&s) {
                s
            } else {
                op_type.to_lowercase()
            }
        };
        let mut candidates = Vec::new();
        if let Some(p) = preferred {
            candidates.push(p.to_string());
        }
        candidates.push(onnx_out.to_string());
        for c in candidates {
            if valid_name(&c) && !self.taken.contains(&c) {
                self.taken.insert(c.clone());
                return c;
            }
        }
        let mut name = derived.clone();
        let mut k = 2;
        while self.taken.contains(&name) || !valid_name(&name) {
            name = format!("{derived}_{k}");
            k += 1;
        }
        self.renamed.push(format!("'{onnx_out}' → '{name}'"));
        self.taken.insert(name.clone());
        name
    }

    /// Appends a ConvLab node and records its ONNX output.
    pub(super) fn push(
        &mut self,
        op: &Op,
        preferred: Option<&str>,
        kind: NodeKind,
        inputs: Vec<String>,
        params: Vec<(&str, ArrayD<f32>)>,
        rank: usize,
    ) -> Result<(), OnnxError> {
        let out = op.output()?.to_string();
        self.push_as(&out, op, preferred, kind, inputs, params, rank)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one ONNX node's inputs and attributes, read in one place"
    )]
    pub(super) fn push_as(
        &mut self,
        onnx_out: &str,
        op: &Op,
        preferred: Option<&str>,
        kind: NodeKind,
        inputs: Vec<String>,
        params: Vec<(&str, ArrayD<f32>)>,
        rank: usize,
    ) -> Result<(), OnnxError> {
        let name = self.choose_name(onnx_out, preferred, &op.node.op_type);
        let previous = self
            .spec
            .nodes
            .last()
            .map_or(INPUT_NODE.to_string(), |n| n.name.clone());
        let inputs = if inputs.len() == 1 && inputs[0] == previous {
            Vec::new()
        } else {
            inputs
        };
        self.spec.nodes.push(NodeSpec {
            name: name.clone(),
            inputs,
            kind,
        });
        self.facts = Some(infer(&self.spec).map_err(|e| {
            OnnxError::Model(format!(
                "ONNX node '{}' ({}): {e}",
                op.label(),
                op.node.op_type
            ))
        })?);
        for (role, value) in params {
            self.params.push((format!("{name}.{role}"), value));
        }
        self.vals
            .insert(onnx_out.to_string(), Val::Node { name, rank });
        Ok(())
    }

    /// The ConvLab node (and ONNX rank) behind input `k`, creating a flatten node for a
    /// pending flatten.
    pub(super) fn node_input(&mut self, op: &Op, k: usize) -> Result<(String, usize), OnnxError> {
        let name = op
            .input(k)
            .ok_or_else(|| op.unsupported(format!("input {k} is missing")))?
            .to_string();
        match self.vals.get(&name).cloned() {
            Some(Val::Node { name, rank }) => Ok((name, rank)),
            Some(Val::Flat { src }) => {
                let flatten = Node {
                    op_type: "Flatten".into(),
                    outputs: vec![name.clone()],
                    ..Default::default()
                };
                let fop = Op { node: &flatten };
                self.push_as(&name, &fop, None, NodeKind::Flatten, vec![src], vec![], 2)?;
                match self.vals.get(&name) {
                    Some(Val::Node { name, rank }) => Ok((name.clone(), *rank)),
                    _ => unreachable!("just pushed"),
                }
            }
            Some(Val::Const(_)) => Err(op.unsupported(format!(
                "input '{name}' is a constant; ConvLab nodes take activations"
            ))),
            Some(Val::Pad { .. }) => Err(op.unsupported(format!(
                "input '{name}' comes from a Pad, which ConvLab supports only directly before a Conv"
            ))),
            Some(Val::Time { .. }) => Err(op.unsupported(format!(
                "input '{name}' is part of a time embedding (Slice → Flatten → Mul → Sin/Cos → Concat → Gemm → Reshape → Add) used another way"
            ))),
            Some(Val::Neg { .. }) | Some(Val::NegMax { .. }) => Err(op.unsupported(format!(
                "input '{name}' comes from a Neg, which ConvLab supports only as Neg → MaxPool → Neg (min pooling)"
            ))),
            None => Err(op.unsupported(format!(
                "input '{name}' is not produced by any node ConvLab read"
            ))),
        }
    }

    pub(super) fn alias(&mut self, op: &Op, v: Val) -> Result<(), OnnxError> {
        let out = op.output()?.to_string();
        self.vals.insert(out, v);
        Ok(())
    }

    /// The stem of an initializer named `<stem>.weight`, as a preferred node name.
    pub(super) fn weight_stem(op: &Op, k: usize) -> Option<String> {
        op.input(k)
            .and_then(|w| w.strip_suffix(".weight"))
            .filter(|s| valid_name(s))
            .map(str::to_string)
    }

    pub(super) fn normalise_axis(
        &self,
        op: &Op,
        axis: i64,
        rank: usize,
    ) -> Result<usize, OnnxError> {
        let a = if axis < 0 { axis + rank as i64 } else { axis };
        if !(0..rank as i64).contains(&a) {
            return Err(op.unsupported(format!("axis {axis} is out of range for rank {rank}")));
        }
        Ok(a as usize)
    }

    pub(super) fn read(&mut self, node: &Node) -> Result<(), OnnxError> {
        let op = Op { node };
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(op.unsupported(format!("operator domain '{}'", node.domain)));
        }
        let time_input = (0..node.inputs.len()).any(|k| {
            matches!(
                op.input(k).and_then(|n| self.vals.get(n)),
                Some(Val::Time { .. })
            )
        });
        if time_input {
            return self.read_time(&op);
        }
        match node.op_type.as_str() {
            "Constant" => {
                let t = match node.attributes.first().map(|a| (a.name.as_str(), &a.value)) {
                    Some(("value", AttrValue::Tensor(t))) => t.clone(),
                    Some(("value_float", AttrValue::Float(f))) => {
                        TensorProto::float("", &[], &[*f])
                    }
                    Some(("value_floats", AttrValue::Floats(f))) => {
                        TensorProto::float("", &[f.len()], f)
                    }
                    Some(("value_int", AttrValue::Int(i))) => TensorProto::int64("", &[], &[*i]),
                    Some(("value_ints", AttrValue::Ints(i))) => {
                        TensorProto::int64("", &[i.len()], i)
                    }
                    _ => return Err(op.unsupported("a Constant without a numeric value")),
                };
                self.alias(&op, Val::Const(t))
            }
            "Pad" => {
                let (x, _) = self.node_input(&op, 0)?;
                if op.input(3).is_some() {
                    return Err(op.unsupported("the axes input"));
                }
                let pads = match self.constant(&op, 1)? {
                    Some(t) => t.to_i64()?,
                    None => op.ints("pads")?.unwrap_or_default(),
                };
                if pads.len() != 8
                    || pads.iter().any(|&p| !(0..=4096).contains(&p))
                    || pads[0] != 0
                    || pads[1] != 0
                    || pads[4] != 0
                    || pads[5] != 0
                {
                    return Err(op.unsupported(format!(
                        "pads {pads:?}; ConvLab pads only height and width, by non-negative amounts"
                    )));
                }
                let mode = match op.string("mode", "constant")?.as_str() {
                    "constant" => {
                        if let Some(v) = self.constant(&op, 2)? {
                            let v = v.to_f32()?;
                            if v.iter().any(|&x| x != 0.0) {
                                return Err(op.unsupported("a constant pad value other than 0"));
                            }
                        }
                        PaddingMode::Zeros
                    }
                    "reflect" => PaddingMode::Reflect,
                    "edge" => PaddingMode::Replicate,
                    m => return Err(op.unsupported(format!("mode {m}"))),
                };
                let p = |k: usize| pads[k] as usize;
                self.alias(
                    &op,
                    Val::Pad {
                        src: x,
                        pads: Pads {
                            top: p(2),
                            bottom: p(6),
                            left: p(3),
                            right: p(7),
                        },
                        mode,
                    },
                )
            }
            "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => self.reshape(&op),
            _ => self.read_kind(node),
        }
    }

    /// Flatten, Reshape, Squeeze, Unsqueeze: only between `[N, C, H, W]`, `[N, C·H·W]` and
    /// `[N, F, 1, 1]`.
    fn reshape(&mut self, op: &Op) -> Result<(), OnnxError> {
        let (x, rank) = self.node_input(op, 0)?;
        let [c, h, w] = self.shape_of(&x);
        let current: Vec<i64> = if rank == 2 {
            vec![(c * h * w) as i64]
        } else {
            vec![c as i64, h as i64, w as i64]
        };
        // The target per-sample shape (batch dimension left out).
        let target: Vec<i64> = match op.node.op_type.as_str() {
            "Flatten" => {
                if op.int("axis", 1)? != 1 {
                    return Err(op.unsupported("Flatten with an axis other than 1"));
                }
                vec![(c * h * w) as i64]
            }
            "Reshape" => {
                let s = self.required_constant(op, 1, "shape")?.to_i64()?;
                let allowzero = op.int("allowzero", 0)? != 0;
                // The batch may be copied (0), inferred (-1) or fixed by the exporter.
                if s.is_empty() || s[0] < -1 || (allowzero && s.contains(&0)) {
                    return Err(op.unsupported(format!("reshape to {s:?}")));
                }
                let mut t: Vec<i64> = Vec::new();
                for (i, &d) in s.iter().enumerate().skip(1) {
                    t.push(if d == 0 {
                        *current.get(i - 1).unwrap_or(&0)
                    } else {
                        d
                    });
                }
                let known: i64 = t.iter().filter(|&&d| d > 0).product();
                let total = (c * h * w) as i64;
                if t.iter().filter(|&&d| d == -1).count() == 1 && known > 0 {
                    for d in t.iter_mut() {
                        if *d == -1 {
                            *d = total / known;
                        }
                    }
                }
                if t.iter().any(|&d| d <= 0) {
                    return Err(op.unsupported(format!("reshape to {s:?}")));
                }
                t
            }
            "Squeeze" | "Unsqueeze" => {
                let axes = match self.constant(op, 1)? {
                    Some(t) => t.to_i64()?,
                    None => op.ints("axes")?.unwrap_or_default(),
                };
                let mut axes: Vec<i64> = axes
                    .iter()
                    .map(|&a| {
                        if a < 0 {
                            // Squeeze: relative to the rank-4 input; Unsqueeze: to the
                            // rank-4 output.
                            a + 4
                        } else {
                            a
                        }
                    })
                    .collect();
                axes.sort_unstable();
                if op.node.op_type == "Unsqueeze" && rank == 2 && axes == [2, 3] {
                    vec![(c * h * w) as i64, 1, 1]
                } else if op.node.op_type == "Squeeze"
                    && rank == 4
                    && h * w == 1
                    && (axes.is_empty() || axes == [2, 3])
                {
                    vec![c as i64]
                } else {
                    return Err(op.unsupported(format!(
                        "{} over axes {axes:?} of a rank-{rank} value",
                        op.node.op_type
                    )));
                }
            }
            _ => unreachable!("dispatched above"),
        };
        let total = (c * h * w) as i64;
        if target.iter().product::<i64>() != total {
            return Err(op.unsupported(format!(
                "reshape of {current:?} to {target:?} does not keep the size"
            )));
        }
        let out = op.output()?.to_string();
        if target.len() == 1 && op.node.op_type == "Flatten" && valid_name(&out) {
            // A named flatten (ConvLab's own `flatten` node): keep it as a node.
            return self.push(op, None, NodeKind::Flatten, vec![x], vec![], 2);
        }
        if target.len() == 1 {
            if rank == 2 || h * w == 1 {
                // Already [N, F] (or [N, F, 1, 1]): same values, rank 2.
                return self.alias(op, Val::Node { name: x, rank: 2 });
            }
            return self.alias(op, Val::Flat { src: x });
        }
        if target.len() == 3 && target == [total, 1, 1] && (rank == 2 || h * w == 1) {
            return self.alias(op, Val::Node { name: x, rank: 4 });
        }
        if target == current {
            return self.alias(op, Val::Node { name: x, rank });
        }
        Err(op.unsupported(format!(
            "reshape of {current:?} to {target:?}; ConvLab only flattens"
        )))
    }
}
