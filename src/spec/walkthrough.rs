//! Lecture walkthroughs: an ordered list of steps stored in a preset, each with a title, a
//! few lines of explanation, the view to show with its settings, and optionally an action
//! (train N epochs, change one setting, rewire a skip connection).
//!
//! Actions edit the preset by key path, so every step is reproducible from the preset's
//! seed and a step can be re-run.

use serde::{Deserialize, Serialize};

use super::view::{Overlay, ViewId};
use super::{Preset, SpecError};

/// Something a step does when it is entered (or re-run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Train for this many epochs from where the run is.
    Train { epochs: usize },
    /// Re-initialise the model from the preset's seed and clear the history.
    Reset,
    /// Set one value of the preset by key path, e.g. `training.learning_rate`,
    /// `model.nodes[conv1].kernel` or `model.nodes[add].inputs`. The model is rebuilt when
    /// the model changes.
    Set { key: String, value: toml::Value },
    /// Keeps the current run in the window's runs table under this name, its curves shown
    /// beside the runs after it, so a later step can compare them (`{ kind = "pin_run",
    /// name = "plain" }`). Replaying the walkthrough replaces the run pinned under the same
    /// name. Training is not affected.
    PinRun { name: String },
}

/// One step of a walkthrough.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    pub text: String,
    /// The view to show (any name or alias of [`ViewId`]).
    pub view: ViewId,
    /// The node the view looks at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<usize>,
    /// Index of the validation sample used as the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<usize>,
    /// A setting of the step's view, e.g. `"shared"` normalisation or `"average"` pooling;
    /// it must belong to the view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<Overlay>,
    /// Actions run in order when the step is entered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
}

/// Applies one `Set` to a preset and validates the result.
pub fn set_key(preset: &Preset, key: &str, value: &toml::Value) -> Result<Preset, SpecError> {
    let origin = format!("walkthrough action set '{key}'");
    let err = |reason: String| SpecError::Key {
        origin: origin.clone(),
        key: key.to_string(),
        reason,
    };
    let mut root =
        toml::Value::Table(toml::Table::try_from(preset).map_err(|e| err(e.to_string()))?);
    let mut cursor = &mut root;
    let segments: Vec<&str> = key.split('.').collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let (name, select) = match seg.split_once('[') {
            Some((n, rest)) => (n, Some(rest.trim_end_matches(']'))),
            None => (*seg, None),
        };
        let table = cursor
            .as_table_mut()
            .ok_or_else(|| err(format!("'{name}' is not a table")))?;
        if last && select.is_none() {
            table.insert(name.to_string(), value.clone());
            break;
        }
        let next = table
            .get_mut(name)
            .ok_or_else(|| err(format!("no key '{name}'")))?;
        cursor = match select {
            None => next,
            Some(node) => {
                let list = next
                    .as_array_mut()
                    .ok_or_else(|| err(format!("'{name}' is not a list")))?;
                let found = list
                    .iter_mut()
                    .find(|n| n.get("name").and_then(|v| v.as_str()) == Some(node))
                    .ok_or_else(|| err(format!("no node named '{node}'")))?;
                if last {
                    *found = value.clone();
                    break;
                }
                found
            }
        };
    }
    let text = toml::to_string(&root).map_err(|e| err(e.to_string()))?;
    Preset::parse(&text, &origin)
}

/// A walkthrough step that cannot run on its preset: the step (counted from 1), its title
/// and the problem.
#[derive(Debug, thiserror::Error)]
#[error("walkthrough step {step} ('{title}'): {problem}")]
pub struct StepError {
    pub step: usize,
    pub title: String,
    pub problem: StepProblem,
}

/// What is wrong with a walkthrough step.
#[derive(Debug, thiserror::Error)]
pub enum StepProblem {
    /// A `Set` action does not apply (its error says why).
    #[error("{0}")]
    Set(SpecError),
    #[error("train needs at least one epoch")]
    NoEpochs,
    #[error("pin_run needs a name for the run")]
    UnnamedRun,
    #[error("node '{0}' does not exist")]
    NoSuchNode(String),
    #[error("overlay '{overlay}' belongs to the {} view, not to {view}", .overlay.view())]
    OverlayOfAnotherView { overlay: Overlay, view: ViewId },
    #[error("the {view} view cannot draw a model with input {input:?}")]
    ViewCannotDraw { view: ViewId, input: [usize; 3] },
    #[error("the routing view needs a pooling node, '{node}' is {kind:?}")]
    RoutingWithoutPooling {
        node: String,
        kind: Option<&'static str>,
    },
}

/// Checks every step against the model as it is at that step (after earlier actions):
/// nodes exist, `Set` keys apply. Returns the first problem, naming the step.
pub fn validate(preset: &Preset) -> Result<(), StepError> {
    let mut current = preset.clone();
    for (i, step) in preset.walkthrough.iter().enumerate() {
        let here = |problem| StepError {
            step: i + 1,
            title: step.title.clone(),
            problem,
        };
        for action in &step.actions {
            if let Action::Set { key, value } = action {
                current = set_key(&current, key, value).map_err(|e| here(StepProblem::Set(e)))?;
            }
            if let Action::Train { epochs: 0 } = action {
                return Err(here(StepProblem::NoEpochs));
            }
            if let Action::PinRun { name } = action
                && name.trim().is_empty()
            {
                return Err(here(StepProblem::UnnamedRun));
            }
        }
        if let Some(node) = &step.node
            && !current.model.nodes.iter().any(|n| &n.name == node)
        {
            return Err(here(StepProblem::NoSuchNode(node.clone())));
        }
        if !step.view.draws_input(current.model.input) {
            return Err(here(StepProblem::ViewCannotDraw {
                view: step.view,
                input: current.model.input,
            }));
        }
        if let Some(overlay) = step.overlay
            && overlay.view() != step.view
        {
            return Err(here(StepProblem::OverlayOfAnotherView {
                overlay,
                view: step.view,
            }));
        }
        if step.view == ViewId::Routing
            && let Some(node) = &step.node
        {
            let kind = current
                .model
                .nodes
                .iter()
                .find(|n| &n.name == node)
                .map(|n| n.kind.tag());
            if !matches!(kind, Some("max_pool2d" | "min_pool2d" | "avg_pool2d")) {
                return Err(here(StepProblem::RoutingWithoutPooling {
                    node: node.clone(),
                    kind,
                }));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xor() -> Preset {
        Preset::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/presets/xor-mlp.toml"
        )))
        .unwrap()
    }

    #[test]
    fn set_changes_training_and_node_values_and_validates() {
        let p = xor();
        let q = set_key(&p, "training.learning_rate", &toml::Value::Float(0.5)).unwrap();
        assert_eq!(q.training.learning_rate, 0.5);
        let q = set_key(
            &p,
            "model.nodes[hidden].out_features",
            &toml::Value::Integer(3),
        )
        .unwrap();
        assert!(matches!(
            q.model.nodes[0].kind,
            crate::engine::NodeKind::Dense(crate::engine::layers::DenseConfig {
                out_features: 3,
                ..
            })
        ));
        let node: toml::Value = toml::from_str::<toml::Table>("name = \"tanh\"\nkind = \"relu\"")
            .unwrap()
            .into();
        let q = set_key(&p, "model.nodes[tanh]", &node).unwrap();
        assert_eq!(q.model.nodes[1].kind, crate::engine::NodeKind::Relu);
        assert!(
            set_key(&p, "model.nodes[ghost].kernel", &toml::Value::Integer(3))
                .unwrap_err()
                .to_string()
                .contains("ghost")
        );
        assert!(set_key(&p, "training.learning_rate", &toml::Value::Float(-1.0)).is_err());
    }

    #[test]
    fn dangling_nodes_in_steps_are_errors() {
        let mut p = xor();
        p.walkthrough = vec![Step {
            title: "look".into(),
            text: "x".into(),
            view: ViewId::Activations,
            node: Some("nope".into()),
            channel: None,
            input: None,
            overlay: None,
            actions: vec![],
        }];
        assert!(validate(&p).unwrap_err().to_string().contains("'nope'"));
        p.walkthrough[0].node = Some("hidden".into());
        validate(&p).unwrap();
        p.walkthrough[0].view = ViewId::Routing;
        assert!(validate(&p).unwrap_err().to_string().contains("pooling"));
        p.walkthrough[0].view = ViewId::Activations;
        p.walkthrough[0].overlay = Some(Overlay::Norms);
        let e = validate(&p).unwrap_err().to_string();
        assert!(e.contains("step 1") && e.contains("'norms'"), "{e}");
        p.walkthrough[0].overlay = Some(Overlay::SharedScale);
        validate(&p).unwrap();
    }
}
