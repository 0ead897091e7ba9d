//! The project being edited: a preset (model, data, training settings), its undo history,
//! and the editing operations on the node list. No egui here, so tests can drive it.

use std::time::{Duration, Instant};

use crate::engine::facts::{ModelFacts, NodeFacts, infer};
use crate::engine::model_spec::{INPUT_NODE, Padding, PaddingName};
use crate::engine::{GraphError, ModelSpec, NodeKind, NodeSpec};
use crate::spec::Preset;

/// Edits closer together than this form one undo step (a drag is one step, not fifty).
pub const UNDO_GROUP: Duration = Duration::from_millis(800);
/// Undo steps kept.
pub const MAX_UNDO: usize = 200;

/// Every node kind the palette offers, with a fresh default configuration.
pub fn palette() -> Vec<NodeKind> {
    NodeKind::palette()
}

/// The short name prefix new nodes of a kind get (`conv` → conv1, conv2 …).
pub fn name_prefix(kind: &NodeKind) -> &'static str {
    kind.as_kind().name_prefix()
}

/// Per-node facts for the editor, also when the model has an error: nodes before the
/// offending one keep their facts, the offending one carries the message.
#[derive(Clone, Debug, Default)]
pub struct EditorFacts {
    pub full: Option<ModelFacts>,
    pub nodes: Vec<Option<NodeFacts>>,
    /// Index of the node the error is about.
    pub error_node: Option<usize>,
    pub error: Option<GraphError>,
}

impl EditorFacts {
    pub fn compute(spec: &ModelSpec) -> EditorFacts {
        match infer(spec) {
            Ok(facts) => EditorFacts {
                nodes: facts.nodes.iter().cloned().map(Some).collect(),
                full: Some(facts),
                error_node: None,
                error: None,
            },
            Err(e) => {
                let error_node = e
                    .node_name()
                    .and_then(|n| spec.nodes.iter().position(|s| s.name == n));
                let mut nodes = vec![None; spec.nodes.len()];
                if let Some(k) = error_node.filter(|&k| k > 0) {
                    let prefix = ModelSpec {
                        input: spec.input,
                        nodes: spec.nodes[..k].to_vec(),
                    };
                    if let Ok(f) = infer(&prefix) {
                        for (slot, nf) in nodes.iter_mut().zip(f.nodes) {
                            *slot = Some(nf);
                        }
                    }
                }
                EditorFacts {
                    full: None,
                    nodes,
                    error_node,
                    error: Some(e),
                }
            }
        }
    }
}

/// The preset being edited, with undo/redo of its model.
pub struct Project {
    pub preset: Preset,
    /// Where it came from, for the title bar ("built-in digits-lenet", a path).
    pub origin: String,
    /// The preset as it was last opened or saved; `None` when it never was (a model
    /// restored from the last session).
    pub saved: Option<Preset>,
    undo: Vec<ModelSpec>,
    redo: Vec<ModelSpec>,
    last_edit: Option<Instant>,
    revision: u64,
    facts_for: Option<ModelSpec>,
    facts: EditorFacts,
}

impl Project {
    pub fn new(preset: Preset, origin: String) -> Project {
        let mut p = Project {
            saved: Some(preset.clone()),
            preset,
            origin,
            undo: Vec::new(),
            redo: Vec::new(),
            last_edit: None,
            revision: 0,
            facts_for: None,
            facts: EditorFacts::default(),
        };
        p.refresh_facts();
        p
    }

    /// Whether the preset differs from the file it was opened from or last saved to.
    pub fn has_unsaved_changes(&self) -> bool {
        self.saved.as_ref() != Some(&self.preset)
    }

    /// Recomputes the facts when the model changed since the last call.
    pub fn refresh_facts(&mut self) -> &EditorFacts {
        if self.facts_for.as_ref() != Some(&self.preset.model) {
            self.facts = EditorFacts::compute(&self.preset.model);
            self.facts_for = Some(self.preset.model.clone());
        }
        &self.facts
    }

    pub fn facts(&self) -> &EditorFacts {
        &self.facts
    }

    /// Call after an edit changed the model from `before`: records an undo step unless the
    /// edit continues the previous one.
    pub fn record_edit(&mut self, before: ModelSpec) {
        let now = Instant::now();
        let continues = self.last_edit.is_some_and(|t| now - t < UNDO_GROUP);
        if !continues {
            self.undo.push(before);
            if self.undo.len() > MAX_UNDO {
                self.undo.remove(0);
            }
        }
        self.redo.clear();
        self.last_edit = Some(now);
    }

    /// Replaces the model as one undo step (palette, templates, buttons).
    pub fn apply(&mut self, f: impl FnOnce(&mut ModelSpec)) {
        let before = self.preset.model.clone();
        f(&mut self.preset.model);
        self.revision += 1;
        if self.preset.model != before {
            self.last_edit = None;
            self.record_edit(before);
            self.last_edit = None;
        }
    }

    /// Counts applied operations, undos and redos (not direct field edits).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo(&mut self) {
        self.revision += 1;
        if let Some(prev) = self.undo.pop() {
            self.redo
                .push(std::mem::replace(&mut self.preset.model, prev));
            self.last_edit = None;
        }
    }

    pub fn redo(&mut self) {
        self.revision += 1;
        if let Some(next) = self.redo.pop() {
            self.undo
                .push(std::mem::replace(&mut self.preset.model, next));
            self.last_edit = None;
        }
    }
}

/// A node name not used yet: `prefix1`, `prefix2`, …
pub fn unique_name(spec: &ModelSpec, prefix: &str) -> String {
    (1..)
        .map(|i| format!("{prefix}{i}"))
        .find(|n| !spec.nodes.iter().any(|s| &s.name == n) && n != INPUT_NODE)
        .unwrap_or_else(|| prefix.to_string())
}

/// Inserts a node of `kind` after `after` (or at the end). Add and Concat get the two
/// nearest earlier nodes as inputs. Returns the new index.
pub fn insert_node(spec: &mut ModelSpec, after: Option<usize>, kind: NodeKind) -> usize {
    let at = after.map_or(spec.nodes.len(), |i| (i + 1).min(spec.nodes.len()));
    let name = unique_name(spec, name_prefix(&kind));
    let mut node = NodeSpec::new(name, kind);
    if node.kind.arity().is_none() {
        let earlier: Vec<String> = spec.nodes[..at]
            .iter()
            .rev()
            .take(2)
            .map(|n| n.name.clone())
            .collect();
        node.inputs = match earlier.len() {
            0 => vec![INPUT_NODE.to_string(), INPUT_NODE.to_string()],
            1 => vec![INPUT_NODE.to_string(), earlier[0].clone()],
            _ => vec![earlier[1].clone(), earlier[0].clone()],
        };
    }
    spec.nodes.insert(at, node);
    at
}

/// Removes node `i`; inputs that named it now name its own first input (or the previous
/// node), so the rest of the chain stays connected.
pub fn remove_node(spec: &mut ModelSpec, i: usize) {
    if i >= spec.nodes.len() {
        return;
    }
    let removed = spec.nodes.remove(i);
    let replacement = removed.inputs.first().cloned().unwrap_or_else(|| {
        if i == 0 {
            INPUT_NODE.to_string()
        } else {
            spec.nodes[i - 1].name.clone()
        }
    });
    for node in &mut spec.nodes {
        for input in &mut node.inputs {
            if *input == removed.name {
                *input = replacement.clone();
            }
        }
    }
}

/// Duplicates node `i` right after itself under a fresh name; returns the new index.
pub fn duplicate_node(spec: &mut ModelSpec, i: usize) -> Option<usize> {
    let mut copy = spec.nodes.get(i)?.clone();
    copy.name = unique_name(spec, name_prefix(&copy.kind));
    spec.nodes.insert(i + 1, copy);
    Some(i + 1)
}

/// Swaps node `i` with its neighbour (`up` = towards the input); returns the new index.
pub fn move_node(spec: &mut ModelSpec, i: usize, up: bool) -> usize {
    let j = if up { i.checked_sub(1) } else { Some(i + 1) };
    match j {
        Some(j) if j < spec.nodes.len() && i < spec.nodes.len() => {
            spec.nodes.swap(i, j);
            j
        }
        _ => i,
    }
}

/// Why a node cannot take the name the user typed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    #[error("a node needs a name")]
    Empty,
    #[error("'{INPUT_NODE}' is the name of the network input")]
    Reserved,
    #[error("another node is already called '{0}'")]
    Taken(String),
}

/// Renames node `i` and every reference to it. Refuses empty, duplicate or reserved names.
pub fn rename_node(spec: &mut ModelSpec, i: usize, new: &str) -> Result<(), RenameError> {
    let new = new.trim();
    if new.is_empty() {
        return Err(RenameError::Empty);
    }
    if new == INPUT_NODE {
        return Err(RenameError::Reserved);
    }
    if spec
        .nodes
        .iter()
        .enumerate()
        .any(|(k, n)| k != i && n.name == new)
    {
        return Err(RenameError::Taken(new.to_string()));
    }
    let Some(node) = spec.nodes.get_mut(i) else {
        return Ok(());
    };
    let old = std::mem::replace(&mut node.name, new.to_string());
    for node in &mut spec.nodes {
        for input in &mut node.inputs {
            if *input == old {
                *input = new.to_string();
            }
        }
    }
    Ok(())
}

/// The names a node at position `i` may read: the input and every earlier node.
pub fn input_choices(spec: &ModelSpec, i: usize) -> Vec<String> {
    std::iter::once(INPUT_NODE.to_string())
        .chain(
            spec.nodes[..i.min(spec.nodes.len())]
                .iter()
                .map(|n| n.name.clone()),
        )
        .collect()
}

/// A readable name of a padding choice.
pub fn padding_label(p: &Padding) -> &'static str {
    match p {
        Padding::Named(PaddingName::Valid) => "valid (none)",
        Padding::Named(PaddingName::Same) => "same",
        Padding::Uniform(_) => "uniform",
        Padding::Symmetric(_) => "vertical, horizontal",
        Padding::Explicit(_) => "top, bottom, left, right",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::presets::embedded;

    fn lenet() -> Project {
        Project::new(embedded("digits-lenet").unwrap(), "test".into())
    }

    #[test]
    fn undo_and_redo_restore_the_model() {
        let mut p = lenet();
        let original = p.preset.model.clone();
        p.apply(|m| {
            insert_node(m, Some(0), NodeKind::Relu);
        });
        assert_eq!(p.preset.model.nodes.len(), original.nodes.len() + 1);
        p.undo();
        assert_eq!(p.preset.model, original);
        p.redo();
        assert_eq!(p.preset.model.nodes.len(), original.nodes.len() + 1);
    }

    #[test]
    fn an_error_keeps_facts_of_earlier_nodes() {
        let mut p = lenet();
        if let NodeKind::Conv2d(conv) = &mut p.preset.model.nodes[3].kind {
            conv.kernel = crate::engine::Pair::square(40);
        }
        let f = p.refresh_facts().clone();
        assert_eq!(f.error_node, Some(3));
        assert!(f.nodes[2].is_some() && f.nodes[3].is_none());
        assert!(f.error.unwrap().to_string().contains("conv2"));
    }

    #[test]
    fn rename_and_remove_keep_references_consistent() {
        let mut spec =
            crate::ui::templates::build("ResNet basic block (identity)", [1, 28, 28], 10).unwrap();
        rename_node(&mut spec, 2, "stem_act").unwrap();
        assert!(
            spec.nodes
                .iter()
                .any(|n| n.inputs.contains(&"stem_act".to_string()))
        );
        assert!(rename_node(&mut spec, 0, "conv1").is_err());
        let bn2 = spec.nodes.iter().position(|n| n.name == "bn2").unwrap();
        remove_node(&mut spec, bn2);
        assert!(infer(&spec).is_ok());
    }
}
