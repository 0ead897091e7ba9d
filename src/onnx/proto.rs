//! A minimal protobuf encoder/decoder for the subset of ONNX's `ModelProto` that ConvLab
//! writes and reads: model, graph, node, attribute, tensor, value info, opset ids and
//! metadata. Field numbers follow `onnx.proto3` (ONNX 1.x, IR version 8).
//!
//! Unknown fields are skipped on reading, so files from other exporters (with doc strings,
//! value infos, training info …) load; malformed or truncated input is an error, never a
//! panic.

use super::OnnxError;

/// `TensorProto.DataType` values used here.
pub mod dtype {
    pub const FLOAT: i32 = 1;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const DOUBLE: i32 = 11;
}

/// `AttributeProto.AttributeType` values.
mod attr_type {
    pub const FLOAT: i32 = 1;
    pub const INT: i32 = 2;
    pub const STRING: i32 = 3;
    pub const TENSOR: i32 = 4;
    pub const FLOATS: i32 = 6;
    pub const INTS: i32 = 7;
    pub const STRINGS: i32 = 8;
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    pub graph: Graph,
    /// `(domain, version)`; the default domain is `""`.
    pub opset_import: Vec<(String, i64)>,
    pub metadata_props: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub attributes: Vec<Attribute>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub value: AttrValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Float(f32),
    Int(i64),
    String(Vec<u8>),
    Tensor(TensorProto),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Vec<u8>>),
    /// Graphs, sparse tensors, type protos: read but not interpreted.
    Other(i32),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TensorProto {
    pub name: String,
    pub dims: Vec<i64>,
    pub data_type: i32,
    pub raw_data: Vec<u8>,
    pub float_data: Vec<f32>,
    pub int32_data: Vec<i32>,
    pub int64_data: Vec<i64>,
    pub double_data: Vec<f64>,
    /// Set when the values live in an external file (not supported).
    pub external: bool,
}

/// One dimension of a value's shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    Value(i64),
    Param(String),
    Unknown,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub elem_type: i32,
    /// `None` when the file gives no shape.
    pub shape: Option<Vec<Dim>>,
}

impl TensorProto {
    pub fn float(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
        TensorProto {
            name: name.to_string(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: dtype::FLOAT,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        }
    }

    pub fn int64(name: &str, dims: &[usize], values: &[i64]) -> TensorProto {
        TensorProto {
            name: name.to_string(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: dtype::INT64,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        }
    }

    /// Number of elements the dims promise, or an error for negative/huge dims.
    pub fn numel(&self) -> Result<usize, OnnxError> {
        let mut n: usize = 1;
        for &d in &self.dims {
            let d = usize::try_from(d).map_err(|_| {
                OnnxError::Invalid(format!("tensor '{}' has a negative dimension", self.name))
            })?;
            n = n.checked_mul(d).filter(|&n| n <= 1 << 31).ok_or_else(|| {
                OnnxError::Invalid(format!("tensor '{}' is too large", self.name))
            })?;
        }
        Ok(n)
    }

    pub fn shape(&self) -> Result<Vec<usize>, OnnxError> {
        self.numel()?;
        Ok(self.dims.iter().map(|&d| d as usize).collect())
    }

    fn check_external(&self) -> Result<(), OnnxError> {
        if self.external {
            return Err(OnnxError::Invalid(format!(
                "tensor '{}' keeps its data in an external file, which ConvLab does not read (export with external_data=False)",
                self.name
            )));
        }
        Ok(())
    }

    fn count_mismatch(&self, got: usize, want: usize) -> OnnxError {
        OnnxError::Invalid(format!(
            "tensor '{}' holds {got} values but its shape {:?} needs {want}",
            self.name, self.dims
        ))
    }

    /// The values as f32 (float and double tensors).
    pub fn to_f32(&self) -> Result<Vec<f32>, OnnxError> {
        self.check_external()?;
        let n = self.numel()?;
        let v: Vec<f32> = match self.data_type {
            dtype::FLOAT if !self.raw_data.is_empty() => self
                .raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            dtype::FLOAT => self.float_data.clone(),
            dtype::DOUBLE if !self.raw_data.is_empty() => self
                .raw_data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
            dtype::DOUBLE => self.double_data.iter().map(|&d| d as f32).collect(),
            t => {
                return Err(OnnxError::Invalid(format!(
                    "tensor '{}' has data type {t}, expected float",
                    self.name
                )));
            }
        };
        if v.len() != n || (!self.raw_data.is_empty() && !self.raw_data.len().is_multiple_of(4)) {
            return Err(self.count_mismatch(v.len(), n));
        }
        Ok(v)
    }

    /// The values as i64 (int64 and int32 tensors).
    pub fn to_i64(&self) -> Result<Vec<i64>, OnnxError> {
        self.check_external()?;
        let n = self.numel()?;
        let v: Vec<i64> = match self.data_type {
            dtype::INT64 if !self.raw_data.is_empty() => self
                .raw_data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            dtype::INT64 => self.int64_data.clone(),
            dtype::INT32 if !self.raw_data.is_empty() => self
                .raw_data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            dtype::INT32 => self.int32_data.iter().map(|&d| d as i64).collect(),
            t => {
                return Err(OnnxError::Invalid(format!(
                    "tensor '{}' has data type {t}, expected integers",
                    self.name
                )));
            }
        };
        if v.len() != n {
            return Err(self.count_mismatch(v.len(), n));
        }
        Ok(v)
    }
}

impl Node {
    pub fn attr(&self, name: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }
}

// ---------------------------------------------------------------------------------------
// Encoding

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, VARINT);
        self.varint(v as u64);
    }
    fn int_nonzero(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.int(field, v);
        }
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, LEN);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }
    fn float(&mut self, field: u32, v: f32) {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn message(&mut self, field: u32, f: impl FnOnce(&mut Enc)) {
        let mut inner = Enc::default();
        f(&mut inner);
        self.bytes(field, &inner.0);
    }
    fn packed_ints(&mut self, field: u32, vs: &[i64]) {
        if vs.is_empty() {
            return;
        }
        let mut inner = Enc::default();
        for &v in vs {
            inner.varint(v as u64);
        }
        self.bytes(field, &inner.0);
    }
    fn packed_floats(&mut self, field: u32, vs: &[f32]) {
        if vs.is_empty() {
            return;
        }
        let b: Vec<u8> = vs.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(field, &b);
    }
}

fn enc_tensor(e: &mut Enc, t: &TensorProto) {
    e.packed_ints(1, &t.dims);
    e.int(2, t.data_type as i64);
    e.packed_floats(4, &t.float_data);
    if !t.int32_data.is_empty() {
        let v: Vec<i64> = t.int32_data.iter().map(|&x| x as i64).collect();
        e.packed_ints(5, &v);
    }
    e.packed_ints(7, &t.int64_data);
    e.string(8, &t.name);
    if !t.raw_data.is_empty() {
        e.bytes(9, &t.raw_data);
    }
}

fn enc_attr(e: &mut Enc, a: &Attribute) {
    e.string(1, &a.name);
    match &a.value {
        AttrValue::Float(f) => {
            e.float(2, *f);
            e.int(20, attr_type::FLOAT as i64);
        }
        AttrValue::Int(i) => {
            e.int(3, *i);
            e.int(20, attr_type::INT as i64);
        }
        AttrValue::String(s) => {
            e.bytes(4, s);
            e.int(20, attr_type::STRING as i64);
        }
        AttrValue::Tensor(t) => {
            e.message(5, |m| enc_tensor(m, t));
            e.int(20, attr_type::TENSOR as i64);
        }
        AttrValue::Floats(v) => {
            e.packed_floats(7, v);
            e.int(20, attr_type::FLOATS as i64);
        }
        AttrValue::Ints(v) => {
            e.packed_ints(8, v);
            e.int(20, attr_type::INTS as i64);
        }
        AttrValue::Strings(v) => {
            for s in v {
                e.bytes(9, s);
            }
            e.int(20, attr_type::STRINGS as i64);
        }
        AttrValue::Other(t) => e.int(20, *t as i64),
    }
}

fn enc_value_info(e: &mut Enc, v: &ValueInfo) {
    e.string(1, &v.name);
    e.message(2, |ty| {
        ty.message(1, |tt| {
            tt.int(1, v.elem_type as i64);
            if let Some(shape) = &v.shape {
                tt.message(2, |sh| {
                    for d in shape {
                        sh.message(1, |dim| match d {
                            Dim::Value(x) => dim.int(1, *x),
                            Dim::Param(p) => dim.bytes(2, p.as_bytes()),
                            Dim::Unknown => {}
                        });
                    }
                });
            }
        });
    });
}

fn enc_node(e: &mut Enc, n: &Node) {
    for i in &n.inputs {
        e.bytes(1, i.as_bytes());
    }
    for o in &n.outputs {
        e.bytes(2, o.as_bytes());
    }
    e.string(3, &n.name);
    e.string(4, &n.op_type);
    for a in &n.attributes {
        e.message(5, |m| enc_attr(m, a));
    }
    e.string(7, &n.domain);
}

fn enc_graph(e: &mut Enc, g: &Graph) {
    for n in &g.nodes {
        e.message(1, |m| enc_node(m, n));
    }
    e.string(2, &g.name);
    for t in &g.initializers {
        e.message(5, |m| enc_tensor(m, t));
    }
    for v in &g.inputs {
        e.message(11, |m| enc_value_info(m, v));
    }
    for v in &g.outputs {
        e.message(12, |m| enc_value_info(m, v));
    }
}

/// Serialises a model. Fields are written in a fixed order, so equal models give equal
/// bytes. The graph comes last (protobuf allows any order), so a file cut short anywhere
/// is missing its graph or has a broken one, and reading it fails.
pub fn encode(m: &Model) -> Vec<u8> {
    let mut e = Enc::default();
    e.int_nonzero(1, m.ir_version);
    e.string(2, &m.producer_name);
    e.string(3, &m.producer_version);
    e.string(6, &m.doc_string);
    for (domain, version) in &m.opset_import {
        e.message(8, |o| {
            o.string(1, domain);
            o.int(2, *version);
        });
    }
    for (k, v) in &m.metadata_props {
        e.message(14, |p| {
            p.string(1, k);
            p.string(2, v);
        });
    }
    e.message(7, |g| enc_graph(g, &m.graph));
    e.0
}

// ---------------------------------------------------------------------------------------
// Decoding

#[derive(Clone, Copy)]
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

fn truncated(what: &str) -> OnnxError {
    OnnxError::Invalid(format!(
        "the file is truncated or not an ONNX model (while reading a {what})"
    ))
}

impl<'a> Dec<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Dec { buf, pos: 0, what }
    }

    fn varint(&mut self) -> Result<u64, OnnxError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(|| truncated(self.what))?;
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(truncated(self.what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], OnnxError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| truncated(self.what))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The next `(field number, value)`, or `None` at the end.
    fn next(&mut self) -> Result<Option<(u32, Field<'a>)>, OnnxError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).map_err(|_| truncated(self.what))?;
        if field == 0 {
            return Err(truncated(self.what));
        }
        let value = match (key & 7) as u8 {
            VARINT => Field::Varint(self.varint()?),
            FIXED64 => Field::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            LEN => {
                let n = usize::try_from(self.varint()?).map_err(|_| truncated(self.what))?;
                Field::Bytes(self.take(n)?)
            }
            FIXED32 => Field::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            )),
            _ => return Err(truncated(self.what)),
        };
        Ok(Some((field, value)))
    }
}

fn as_bytes<'a>(f: Field<'a>, what: &'static str) -> Result<&'a [u8], OnnxError> {
    match f {
        Field::Bytes(b) => Ok(b),
        _ => Err(truncated(what)),
    }
}

fn as_string(f: Field<'_>, what: &'static str) -> Result<String, OnnxError> {
    String::from_utf8(as_bytes(f, what)?.to_vec())
        .map_err(|_| OnnxError::Invalid(format!("a {what} holds a name that is not UTF-8")))
}

fn as_int(f: Field<'_>, what: &'static str) -> Result<i64, OnnxError> {
    match f {
        Field::Varint(v) => Ok(v as i64),
        _ => Err(truncated(what)),
    }
}

/// Repeated varints, packed or not.
fn push_ints(out: &mut Vec<i64>, f: Field<'_>, what: &'static str) -> Result<(), OnnxError> {
    match f {
        Field::Varint(v) => out.push(v as i64),
        Field::Bytes(b) => {
            let mut d = Dec::new(b, what);
            while d.pos < b.len() {
                out.push(d.varint()? as i64);
            }
        }
        _ => return Err(truncated(what)),
    }
    Ok(())
}

fn push_floats(out: &mut Vec<f32>, f: Field<'_>, what: &'static str) -> Result<(), OnnxError> {
    match f {
        Field::Fixed32(v) => out.push(f32::from_bits(v)),
        Field::Bytes(b) if b.len() % 4 == 0 => out.extend(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        _ => return Err(truncated(what)),
    }
    Ok(())
}

fn push_doubles(out: &mut Vec<f64>, f: Field<'_>, what: &'static str) -> Result<(), OnnxError> {
    match f {
        Field::Fixed64(v) => out.push(f64::from_bits(v)),
        Field::Bytes(b) if b.len() % 8 == 0 => out.extend(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))),
        ),
        _ => return Err(truncated(what)),
    }
    Ok(())
}

fn dec_tensor(b: &[u8]) -> Result<TensorProto, OnnxError> {
    const W: &str = "tensor";
    let mut t = TensorProto::default();
    let mut d = Dec::new(b, W);
    while let Some((field, f)) = d.next()? {
        match field {
            1 => push_ints(&mut t.dims, f, W)?,
            2 => t.data_type = as_int(f, W)? as i32,
            4 => push_floats(&mut t.float_data, f, W)?,
            5 => {
                let mut v = Vec::new();
                push_ints(&mut v, f, W)?;
                t.int32_data.extend(v.into_iter().map(|x| x as i32));
            }
            7 => push_ints(&mut t.int64_data, f, W)?,
            8 => t.name = as_string(f, W)?,
            9 => t.raw_data = as_bytes(f, W)?.to_vec(),
            10 => push_doubles(&mut t.double_data, f, W)?,
            13 => t.external = true,
            14 => t.external |= as_int(f, W)? == 1,
            _ => {}
        }
    }
    Ok(t)
}

fn dec_attr(b: &[u8]) -> Result<Attribute, OnnxError> {
    const W: &str = "node attribute";
    let mut name = String::new();
    let mut ty = 0i32;
    let (mut fv, mut iv, mut sv, mut tv) = (None, None, None, None);
    let (mut floats, mut ints, mut strings) = (Vec::new(), Vec::new(), Vec::new());
    let mut d = Dec::new(b, W);
    while let Some((field, f)) = d.next()? {
        match field {
            1 => name = as_string(f, W)?,
            2 => {
                let mut v = Vec::new();
                push_floats(&mut v, f, W)?;
                fv = v.first().copied();
            }
            3 => iv = Some(as_int(f, W)?),
            4 => sv = Some(as_bytes(f, W)?.to_vec()),
            5 => tv = Some(dec_tensor(as_bytes(f, W)?)?),
            7 => push_floats(&mut floats, f, W)?,
            8 => push_ints(&mut ints, f, W)?,
            9 => strings.push(as_bytes(f, W)?.to_vec()),
            20 => ty = as_int(f, W)? as i32,
            _ => {}
        }
    }
    let value = match ty {
        attr_type::FLOAT => AttrValue::Float(fv.unwrap_or(0.0)),
        attr_type::INT => AttrValue::Int(iv.unwrap_or(0)),
        attr_type::STRING => AttrValue::String(sv.unwrap_or_default()),
        attr_type::TENSOR => AttrValue::Tensor(tv.unwrap_or_default()),
        attr_type::FLOATS => AttrValue::Floats(floats),
        attr_type::INTS => AttrValue::Ints(ints),
        attr_type::STRINGS => AttrValue::Strings(strings),
        // Old files may leave the type out: guess from the field that is set.
        0 if fv.is_some() => AttrValue::Float(fv.unwrap_or(0.0)),
        0 if iv.is_some() => AttrValue::Int(iv.unwrap_or(0)),
        0 if sv.is_some() => AttrValue::String(sv.unwrap_or_default()),
        0 if tv.is_some() => AttrValue::Tensor(tv.unwrap_or_default()),
        0 if !ints.is_empty() => AttrValue::Ints(ints),
        0 if !floats.is_empty() => AttrValue::Floats(floats),
        other => AttrValue::Other(other),
    };
    Ok(Attribute { name, value })
}

fn dec_node(b: &[u8]) -> Result<Node, OnnxError> {
    const W: &str = "node";
    let mut n = Node::default();
    let mut d = Dec::new(b, W);
    while let Some((field, f)) = d.next()? {
        match field {
            1 => n.inputs.push(as_string(f, W)?),
            2 => n.outputs.push(as_string(f, W)?),
            3 => n.name = as_string(f, W)?,
            4 => n.op_type = as_string(f, W)?,
            5 => n.attributes.push(dec_attr(as_bytes(f, W)?)?),
            7 => n.domain = as_string(f, W)?,
            _ => {}
        }
    }
    Ok(n)
}

fn dec_value_info(b: &[u8]) -> Result<ValueInfo, OnnxError> {
    const W: &str = "value info";
    let mut v = ValueInfo::default();
    let mut d = Dec::new(b, W);
    while let Some((field, f)) = d.next()? {
        match field {
            1 => v.name = as_string(f, W)?,
            2 => {
                let mut ty = Dec::new(as_bytes(f, W)?, W);
                while let Some((tf, tval)) = ty.next()? {
                    if tf != 1 {
                        continue;
                    }
                    let mut tt = Dec::new(as_bytes(tval, W)?, W);
                    while let Some((ttf, ttval)) = tt.next()? {
                        match ttf {
                            1 => v.elem_type = as_int(ttval, W)? as i32,
                            2 => {
                                let mut dims = Vec::new();
                                let mut sh = Dec::new(as_bytes(ttval, W)?, W);
                                while let Some((sf, sval)) = sh.next()? {
                                    if sf != 1 {
                                        continue;
                                    }
                                    let mut dim = Dim::Unknown;
                                    let mut dd = Dec::new(as_bytes(sval, W)?, W);
                                    while let Some((df, dval)) = dd.next()? {
                                        match df {
                                            1 => dim = Dim::Value(as_int(dval, W)?),
                                            2 => dim = Dim::Param(as_string(dval, W)?),
                                            _ => {}
                                        }
                                    }
                                    dims.push(dim);
                                }
                                v.shape = Some(dims);
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(v)
}

fn dec_graph(b: &[u8]) -> Result<Graph, OnnxError> {
    const W: &str = "graph";
    let mut g = Graph::default();
    let mut d = Dec::new(b, W);
    while let Some((field, f)) = d.next()? {
        match field {
            1 => g.nodes.push(dec_node(as_bytes(f, W)?)?),
            2 => g.name = as_string(f, W)?,
            5 => g.initializers.push(dec_tensor(as_bytes(f, W)?)?),
            11 => g.inputs.push(dec_value_info(as_bytes(f, W)?)?),
            12 => g.outputs.push(dec_value_info(as_bytes(f, W)?)?),
            15 => {
                return Err(OnnxError::Invalid(
                    "sparse initializers are not supported".into(),
                ));
            }
            _ => {}
        }
    }
    Ok(g)
}

/// Parses a serialised `ModelProto`.
pub fn decode(bytes: &[u8]) -> Result<Model, OnnxError> {
    const W: &str = "model";
    let mut m = Model::default();
    let mut d = Dec::new(bytes, W);
    let mut saw_graph = false;
    while let Some((field, f)) = d.next()? {
        match field {
            1 => m.ir_version = as_int(f, W)?,
            2 => m.producer_name = as_string(f, W)?,
            3 => m.producer_version = as_string(f, W)?,
            6 => m.doc_string = as_string(f, W)?,
            7 => {
                m.graph = dec_graph(as_bytes(f, W)?)?;
                saw_graph = true;
            }
            8 => {
                let mut o = Dec::new(as_bytes(f, W)?, W);
                let (mut domain, mut version) = (String::new(), 0);
                while let Some((of, ov)) = o.next()? {
                    match of {
                        1 => domain = as_string(ov, W)?,
                        2 => version = as_int(ov, W)?,
                        _ => {}
                    }
                }
                m.opset_import.push((domain, version));
            }
            14 => {
                let mut p = Dec::new(as_bytes(f, W)?, W);
                let (mut k, mut v) = (String::new(), String::new());
                while let Some((pf, pv)) = p.next()? {
                    match pf {
                        1 => k = as_string(pv, W)?,
                        2 => v = as_string(pv, W)?,
                        _ => {}
                    }
                }
                m.metadata_props.push((k, v));
            }
            _ => {}
        }
    }
    if !saw_graph {
        return Err(OnnxError::Invalid(
            "the file has no graph: it is truncated or not an ONNX model".into(),
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Model {
        Model {
            ir_version: 8,
            producer_name: "convlab".into(),
            graph: Graph {
                name: "g".into(),
                nodes: vec![Node {
                    inputs: vec!["x".into(), "w".into()],
                    outputs: vec!["y".into()],
                    name: "conv".into(),
                    op_type: "Conv".into(),
                    attributes: vec![
                        Attribute {
                            name: "pads".into(),
                            value: AttrValue::Ints(vec![1, 1, 1, 1]),
                        },
                        Attribute {
                            name: "alpha".into(),
                            value: AttrValue::Float(0.25),
                        },
                        Attribute {
                            name: "mode".into(),
                            value: AttrValue::String(b"reflect".to_vec()),
                        },
                    ],
                    ..Default::default()
                }],
                initializers: vec![TensorProto::float("w", &[1, 1, 1, 2], &[1.0, -2.5])],
                inputs: vec![ValueInfo {
                    name: "x".into(),
                    elem_type: dtype::FLOAT,
                    shape: Some(vec![Dim::Param("N".into()), Dim::Value(3)]),
                }],
                outputs: vec![],
            },
            opset_import: vec![(String::new(), 17)],
            metadata_props: vec![("k".into(), "v".into())],
            ..Default::default()
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        let bytes = encode(&m);
        assert_eq!(decode(&bytes).unwrap(), m);
        assert_eq!(encode(&decode(&bytes).unwrap()), bytes);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = encode(&sample());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
        assert!(decode(b"").is_err());
        assert!(decode(b"\xff\xff\xff").is_err());
    }
}
