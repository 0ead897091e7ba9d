//! What differs between two presets' settings (model, data, training), key by key: the
//! runs table's "what changed since the previous run" ("learning rate 0.02 → 0.2",
//! "conv1 kernel 5 → 7", "+ dropout1").
//!
//! The presets are compared as their TOML values, so a setting added to the format later
//! is covered without touching this file; only the readable names of the common keys are
//! listed here (others are shown by their key, underscores as spaces). Nodes are matched
//! by name, so inserting a node reads as "+ name", not as every later node changing.

use std::fmt;

use toml::Value;

use super::Preset;

/// The parts of a preset that make a run: the walkthrough, name, description and target
/// only describe it.
const SECTIONS: [&str; 3] = ["model", "data", "training"];

/// One setting that differs. `old` is `None` for a setting (or node) only the new preset
/// has, `new` is `None` for one only the old preset has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingChange {
    /// The key path in the preset, e.g. `training.learning_rate`, `model.nodes[conv1].kernel`,
    /// `model.nodes[dropout1]` for a whole node.
    pub key: String,
    /// What the student reads: "learning rate", "conv1 kernel", "dropout1".
    pub label: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl fmt::Display for SettingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = self.key.ends_with(']');
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, "{} {old} → {new}", self.label),
            (None, Some(_)) if node => write!(f, "+ {}", self.label),
            (Some(_), None) if node => write!(f, "− {}", self.label),
            (None, Some(new)) => write!(f, "+ {} {new}", self.label),
            (Some(old), None) => write!(f, "− {} (was {old})", self.label),
            (None, None) => write!(f, "{}", self.label),
        }
    }
}

/// Every setting of `new` that differs from `old`, in preset order (model, data,
/// training); empty when the two would train the same run.
pub fn preset_diff(old: &Preset, new: &Preset) -> Vec<SettingChange> {
    let (old, new) = (as_table(old), as_table(new));
    let mut out = Vec::new();
    for section in SECTIONS {
        let (a, b) = (old.get(section), new.get(section));
        if section == "model" {
            diff_model(a, b, &mut out);
        } else {
            diff_value(section, a, b, &mut out);
        }
    }
    out
}

/// The changes as one line, "learning rate 0.02 → 0.2, + dropout1", or "same settings".
pub fn diff_summary(changes: &[SettingChange]) -> String {
    if changes.is_empty() {
        return "same settings".into();
    }
    changes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn as_table(p: &Preset) -> toml::Table {
    toml::Table::try_from(p).unwrap_or_default()
}

fn diff_model(old: Option<&Value>, new: Option<&Value>, out: &mut Vec<SettingChange>) {
    let table = |v: Option<&Value>| v.and_then(Value::as_table).cloned().unwrap_or_default();
    let (mut old, mut new) = (table(old), table(new));
    let nodes = |t: &mut toml::Table| match t.remove("nodes") {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    let (old_nodes, new_nodes) = (nodes(&mut old), nodes(&mut new));
    // The model's other keys (its input shape) are plain settings.
    diff_value(
        "model",
        Some(&Value::Table(old)),
        Some(&Value::Table(new)),
        out,
    );
    let name = |n: &Value| {
        n.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let find = |list: &[Value], wanted: &str| list.iter().find(|n| name(n) == wanted).cloned();
    // Removed nodes first (where the old model had them), then added and changed ones in
    // the new model's order.
    for node in &old_nodes {
        let n = name(node);
        if find(&new_nodes, &n).is_none() {
            out.push(SettingChange {
                key: format!("model.nodes[{n}]"),
                label: n.clone(),
                old: Some(node_kind(node)),
                new: None,
            });
        }
    }
    for node in &new_nodes {
        let n = name(node);
        match find(&old_nodes, &n) {
            None => out.push(SettingChange {
                key: format!("model.nodes[{n}]"),
                label: n.clone(),
                old: None,
                new: Some(node_kind(node)),
            }),
            Some(before) => {
                let key = format!("model.nodes[{n}]");
                diff_value(&key, Some(&before), Some(node), out);
            }
        }
    }
    let order = |list: &[Value], other: &[Value]| -> Vec<String> {
        list.iter()
            .map(name)
            .filter(|n| find(other, n).is_some())
            .collect()
    };
    let (kept_old, kept_new) = (order(&old_nodes, &new_nodes), order(&new_nodes, &old_nodes));
    if kept_old != kept_new {
        out.push(SettingChange {
            key: "model.nodes".into(),
            label: "node order".into(),
            old: Some(kept_old.join(" → ")),
            new: Some(kept_new.join(" → ")),
        });
    }
}

fn node_kind(node: &Value) -> String {
    node.get("kind")
        .map(show)
        .unwrap_or_else(|| "node".to_string())
}

/// Compares two values at `key`: tables key by key (recursively), anything else as a whole.
fn diff_value(key: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<SettingChange>) {
    match (old, new) {
        // Another kind (sgd → adam, relu → tanh) brings its own parameters: one change
        // naming both kinds with their parameters reads better than one line per parameter.
        (Some(Value::Table(a)), Some(Value::Table(b)))
            if a.contains_key("kind") && a.get("kind") != b.get("kind") =>
        {
            out.push(SettingChange {
                key: key.to_string(),
                label: label(&format!("{key}.kind")),
                old: Some(show_kind(a)),
                new: Some(show_kind(b)),
            });
        }
        (Some(Value::Table(a)), Some(Value::Table(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff_value(&format!("{key}.{k}"), a.get(k), b.get(k), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) if a.is_some_and(Value::is_float) || b.is_some_and(Value::is_float) => {
            // 0.1 written as 0.1 and as an integer-valued float are one setting.
            let as_f64 = |v: Option<&Value>| {
                v.and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            };
            if as_f64(a) != as_f64(b) || as_f64(a).is_none() {
                out.push(change(key, a, b));
            }
        }
        (a, b) => out.push(change(key, a, b)),
    }
}

fn change(key: &str, old: Option<&Value>, new: Option<&Value>) -> SettingChange {
    SettingChange {
        key: key.to_string(),
        label: label(key),
        old: old.map(show),
        new: new.map(show),
    }
}

/// The readable name of a key path: the common settings by name, node keys as "conv1
/// kernel", anything else by its path with underscores as spaces.
pub fn label(key: &str) -> String {
    let known = match key {
        "training.learning_rate" => Some("learning rate"),
        "training.batch_size" => Some("batch size"),
        "training.epochs" => Some("epochs"),
        "training.seed" => Some("seed"),
        "training.loss" => Some("loss"),
        "training.optimizer.kind" => Some("optimiser"),
        "training.optimizer.momentum" => Some("momentum"),
        "training.optimizer.weight_decay" => Some("weight decay"),
        "training.init.kind" => Some("initialiser"),
        "data.source" => Some("data"),
        "data.val_fraction" => Some("validation share"),
        "data.seed" => Some("data seed"),
        "model.input" => Some("input shape"),
        _ => None,
    };
    if let Some(known) = known {
        return known.to_string();
    }
    let key = key
        .strip_prefix("training.")
        .or_else(|| key.strip_prefix("data."))
        .or_else(|| key.strip_prefix("model.nodes["))
        .unwrap_or(key);
    key.replace("].", " ")
        .replace(']', "")
        .replace(['.', '_'], " ")
}

/// A table with a `kind` as "adam (beta1 = 0.9, beta2 = 0.999)", without the node's name.
fn show_kind(t: &toml::Table) -> String {
    let kind = t.get("kind").map(show).unwrap_or_default();
    let params: Vec<String> = t
        .iter()
        .filter(|(k, _)| *k != "kind" && *k != "name")
        .map(|(k, v)| format!("{k} = {}", show(v)))
        .collect();
    if params.is_empty() {
        kind
    } else {
        format!("{kind} ({})", params.join(", "))
    }
}

/// A value as the student would type it: strings without quotes, lists and tables inline.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Value::Table(t) => format!(
            "{{{}}}",
            t.iter()
                .map(|(k, v)| format!("{k} = {}", show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::walkthrough::set_key;

    fn lenet() -> Preset {
        Preset::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/presets/digits-lenet.toml"
        )))
        .unwrap()
    }

    fn set(p: &Preset, key: &str, value: &str) -> Preset {
        let value: toml::Table = toml::from_str(&format!("v = {value}")).unwrap();
        set_key(p, key, &value["v"]).unwrap()
    }

    fn lines(a: &Preset, b: &Preset) -> Vec<String> {
        preset_diff(a, b).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_same_settings_differ_in_nothing() {
        let p = lenet();
        assert!(preset_diff(&p, &p).is_empty());
        assert_eq!(diff_summary(&[]), "same settings");
        // Walkthrough, name and description describe a run; they do not change it.
        let mut q = p.clone();
        q.name = "other".into();
        q.description = "other".into();
        assert!(preset_diff(&p, &q).is_empty());
    }

    #[test]
    fn a_learning_rate_change_is_one_readable_line() {
        let p = lenet();
        let q = set(&p, "training.learning_rate", "0.2");
        let d = preset_diff(&p, &q);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].key, "training.learning_rate");
        assert_eq!(d[0].to_string(), "learning rate 0.02 → 0.2");
    }

    #[test]
    fn exactly_the_changed_keys_are_listed() {
        let p = lenet();
        let q = set(&p, "model.nodes[conv1].kernel", "7");
        let q = set(&q, "training.batch_size", "64");
        let q = set(&q, "training.optimizer", "{ kind = \"adam\" }");
        let q = set(&q, "data.val_fraction", "0.25");
        let keys: Vec<String> = preset_diff(&p, &q).into_iter().map(|c| c.key).collect();
        assert_eq!(
            keys,
            [
                "model.nodes[conv1].kernel",
                "data.val_fraction",
                "training.batch_size",
                "training.optimizer",
            ]
        );
        let l = lines(&p, &q);
        assert!(l.contains(&"conv1 kernel 5 → 7".to_string()), "{l:?}");
        assert!(l.contains(&"batch size 32 → 64".to_string()), "{l:?}");
        let optimiser = l.iter().find(|s| s.starts_with("optimiser")).unwrap();
        assert!(
            optimiser.starts_with("optimiser sgd (momentum = 0.9")
                && optimiser.contains("→ adam (beta1 = 0.9"),
            "{optimiser}"
        );
        assert!(
            l.contains(&"validation share 0.2 → 0.25".to_string()),
            "{l:?}"
        );
    }

    #[test]
    fn an_inserted_node_is_one_addition_not_a_shifted_list() {
        let p = lenet();
        let mut q = p.clone();
        let dropout: toml::Value =
            toml::from_str::<toml::Table>("name = \"dropout1\"\nkind = \"dropout\"\np = 0.5")
                .unwrap()
                .into();
        let node: crate::engine::NodeSpec = dropout.try_into().unwrap();
        q.model.nodes.insert(8, node);
        assert_eq!(lines(&p, &q), ["+ dropout1"]);
        assert_eq!(lines(&q, &p), ["− dropout1"]);
        let d = preset_diff(&p, &q);
        assert_eq!(d[0].new.as_deref(), Some("dropout"));
    }

    #[test]
    fn a_changed_kind_and_a_new_order_are_named() {
        let p = lenet();
        let relu_to_tanh = set(
            &p,
            "model.nodes[relu3]",
            "{ name = \"relu3\", kind = \"tanh\" }",
        );
        assert_eq!(lines(&p, &relu_to_tanh), ["relu3 kind relu → tanh"]);
        let mut swapped = p.clone();
        swapped.model.nodes.swap(8, 9);
        let l = lines(&p, &swapped);
        assert_eq!(l.len(), 1, "{l:?}");
        assert!(l[0].starts_with("node order"), "{l:?}");
    }

    #[test]
    fn data_and_seed_changes_use_their_names() {
        let p = lenet();
        let q = set(&p, "training.seed", "3");
        assert_eq!(lines(&p, &q), ["seed 0 → 3"]);
        let mut r = p.clone();
        r.training.augment = Some(crate::data::augment::Augment::default());
        let l = lines(&p, &r);
        assert!(
            !l.is_empty() && l.iter().all(|s| s.starts_with("+ augment")),
            "{l:?}"
        );
    }
}
