//! The presets the picker offers: the ones built into the binary, plus every `.toml` in a
//! `presets/` folder next to the working directory or the executable.

use std::path::{Path, PathBuf};

use crate::spec::Preset;

/// Presets compiled into the binary, so the first start works offline from any folder.
pub const EMBEDDED: [(&str, &str); 3] = [
    (
        "digits-lenet",
        include_str!("../../presets/digits-lenet.toml"),
    ),
    ("shapes-cnn", include_str!("../../presets/shapes-cnn.toml")),
    ("xor-mlp", include_str!("../../presets/xor-mlp.toml")),
];

/// The preset the window opens with when nothing else is asked for.
pub const DEFAULT_PRESET: &str = "digits-lenet";

/// One entry of the picker.
#[derive(Clone, Debug, PartialEq)]
pub enum PresetEntry {
    Embedded(&'static str),
    File(PathBuf),
}

impl PresetEntry {
    pub fn label(&self) -> String {
        match self {
            PresetEntry::Embedded(name) => (*name).to_string(),
            PresetEntry::File(p) => p.file_stem().map_or_else(
                || p.display().to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        }
    }
}

pub fn embedded(name: &str) -> Option<Preset> {
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(n, text)| Preset::parse(text, &format!("{n} (built in)")).ok())
}

fn preset_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("presets")];
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        dirs.push(dir.join("presets"));
        // target/release/convlab → the crate's presets/.
        if let Some(root) = dir.parent().and_then(Path::parent) {
            dirs.push(root.join("presets"));
        }
    }
    dirs
}

/// Embedded presets first, then preset files whose names are not embedded.
pub fn list() -> Vec<PresetEntry> {
    let mut out: Vec<PresetEntry> = EMBEDDED
        .iter()
        .map(|(n, _)| PresetEntry::Embedded(n))
        .collect();
    let mut seen: Vec<String> = EMBEDDED.iter().map(|(n, _)| (*n).to_string()).collect();
    for dir in preset_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for f in files {
            let entry = PresetEntry::File(f);
            let label = entry.label();
            if !seen.contains(&label) {
                seen.push(label);
                out.push(entry);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_preset_parses() {
        for (name, _) in EMBEDDED {
            assert!(embedded(name).is_some(), "{name}");
        }
    }
}
