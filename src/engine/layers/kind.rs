//! What every node kind tells the rest of ConvLab about itself: its editor fields (with the
//! lecture's tooltips), shape / parameter / FLOP / receptive-field inference, and the layer
//! it builds. Each kind implements [`Kind`] in its own module; [`super::NodeKind`] hands out
//! the implementation of a node's kind, so callers never match on kinds they do not need.

use std::ops::RangeInclusive;

use super::Layer;
use crate::engine::error::GraphError;
use crate::engine::geometry::{Padding, Pair};
use crate::engine::node_facts::{NodeFacts, ReceptiveField, SampleShape, WindowGeometry};

/// A node kind: one implementation per kind module.
pub trait Kind {
    /// What the kind does, in the lecture's words (the palette's tooltip).
    fn about(&self) -> &'static str;

    /// Prefix of the names new nodes of this kind get (`conv` → conv1, conv2 …).
    fn name_prefix(&self) -> &'static str;

    /// How many inputs the node takes: `None` means two or more.
    fn arity(&self) -> Option<usize> {
        Some(1)
    }

    /// Inputs a node of this kind reads beside the previous node when its `inputs` are not
    /// set (the time embedding reads the model input, which carries the timestep).
    fn default_extra_inputs(&self) -> &'static [&'static str] {
        &[]
    }

    /// For kinds with two or more inputs: what the inputs must have in common.
    fn inputs_tip(&self) -> &'static str {
        ""
    }

    /// The editable hyper-parameters, in the editor's order.
    fn fields(&mut self) -> Vec<Field<'_>> {
        Vec::new()
    }

    /// Checks the hyper-parameters against the inputs and derives the node's facts.
    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError>;

    /// The computation of a node whose facts `infer` produced.
    fn layer(&self, facts: &NodeFacts) -> Layer;

    /// Whether this kind decides how many values the model outputs (see
    /// `ModelSpec::output_layer`).
    fn output_count(&self) -> OutputCount {
        OutputCount::Other
    }

    /// Sets the output count of a kind whose [`Kind::output_count`] is `Decides`.
    fn set_output_count(&mut self, _outputs: usize) -> bool {
        false
    }
}

/// How a kind relates to the model's output count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCount {
    /// The kind sets the channel / feature count itself (dense, ungrouped conv).
    Decides(usize),
    /// The output has as many channels as the input (activations, pooling, flatten …).
    Keeps,
    /// Anything else: a merge, a grouped conv, normalisation layers.
    Other,
}

/// A node's resolved inputs, as `infer` sees them.
pub struct NodeInputs<'a> {
    /// The node's name, for error messages.
    pub name: &'a str,
    /// Per-sample shapes of the inputs (at least one).
    pub shapes: &'a [SampleShape],
    /// Receptive fields of the inputs.
    pub fields: &'a [ReceptiveField],
}

impl NodeInputs<'_> {
    /// The first input's shape.
    pub fn x(&self) -> SampleShape {
        self.shapes[0]
    }

    /// The first input's receptive field.
    pub fn field(&self) -> ReceptiveField {
        self.fields[0]
    }

    /// An error about this node.
    pub fn error(&self, reason: impl Into<String>) -> GraphError {
        GraphError::node(self.name, reason)
    }
}

/// What a kind derives for one node (the rest of [`NodeFacts`] comes from the graph).
pub struct Inferred {
    pub output: SampleShape,
    pub params: usize,
    pub param_formula: String,
    pub flops: u64,
    pub receptive_field: ReceptiveField,
    pub window: Option<WindowGeometry>,
}

impl Inferred {
    /// A parameter-free node whose output has `output` shape and sees `field`.
    pub fn plain(output: SampleShape, field: ReceptiveField) -> Self {
        Inferred {
            output,
            params: 0,
            param_formula: String::new(),
            flops: 0,
            receptive_field: field,
            window: None,
        }
    }
}

/// One editable hyper-parameter: its label (also the accessible name the window tests use),
/// the lecture's tooltip, and the value with its type and range.
pub struct Field<'a> {
    pub label: &'static str,
    pub tip: &'static str,
    pub value: FieldValue<'a>,
}

/// The type of a hyper-parameter, with its range or choices.
pub enum FieldValue<'a> {
    /// A whole number.
    Count(&'a mut usize, RangeInclusive<usize>),
    /// A height × width pair, each side at least `min` (and at most 255).
    Pair(&'a mut Pair, usize),
    /// A pair that defaults to another value unless switched on (pooling's stride); the
    /// switch gets `switch` as its label and starts from `fallback`.
    OptionalPair {
        value: &'a mut Option<Pair>,
        switch: &'static str,
        fallback: Pair,
    },
    /// A real number, dragged by `speed` per pixel.
    Real(&'a mut f64, RangeInclusive<f64>, f64),
    Flag(&'a mut bool),
    Padding(&'a mut Padding),
    /// One of a few named options.
    Choice(&'a mut dyn Choice, ChoiceStyle),
}

/// How a choice is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChoiceStyle {
    /// A drop-down menu.
    Menu,
    /// All options side by side.
    Buttons,
}

/// A hyper-parameter with a fixed list of named options (an enum of the text format).
pub trait Choice {
    fn options(&self) -> &'static [&'static str];
    fn selected(&self) -> usize;
    fn select(&mut self, index: usize);
}

impl<'a> Field<'a> {
    pub fn new(label: &'static str, tip: &'static str, value: FieldValue<'a>) -> Self {
        Field { label, tip, value }
    }
}
