//! The layering rules of src/lib.rs, checked on the source text: lower layers never import
//! higher ones, only `ui` (and the binary) may use egui, and `unsafe` lives only in the
//! SIMD kernels.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Files of a module: `src/<m>.rs` and everything under `src/<m>/`.
fn module_files(m: &str) -> Vec<PathBuf> {
    let mut files = rust_files(&src().join(m));
    let single = src().join(format!("{m}.rs"));
    if single.exists() {
        files.push(single);
    }
    files
}

#[test]
fn lower_layers_do_not_import_higher_ones() {
    let allowed: &[(&str, &[&str])] = &[
        ("engine", &["engine"]),
        ("data", &["engine", "data", "spec"]),
        ("spec", &["engine", "data", "spec"]),
        ("train", &["engine", "data", "spec", "train"]),
        ("checkpoint", &["engine", "spec", "train", "checkpoint"]),
        (
            "viz",
            &["engine", "data", "spec", "viz", "train", "inspect"],
        ),
        ("inspect", &["engine", "data", "inspect"]),
    ];
    let all = [
        "engine",
        "data",
        "spec",
        "train",
        "checkpoint",
        "viz",
        "ui",
        "cli",
        "bench",
    ];
    for (module, ok) in allowed {
        for file in module_files(module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for other in all.iter().filter(|o| !ok.contains(o)) {
                let needle = format!("crate::{other}");
                assert!(
                    !text.contains(&needle),
                    "{} imports {needle}",
                    file.display()
                );
            }
            for gui in ["egui", "eframe", "rfd"] {
                assert!(
                    !text
                        .lines()
                        .any(|l| l.trim_start().starts_with("use ") && l.contains(gui)),
                    "{} uses {gui}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn unsafe_code_lives_only_in_the_kernels_and_says_why() {
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let in_kernels = file.components().any(|c| c.as_os_str() == "kernels");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("unsafe {")
                || code.contains("unsafe fn")
                || code.contains("unsafe impl")
            {
                assert!(
                    in_kernels,
                    "{}:{}: unsafe outside src/engine/kernels",
                    file.display(),
                    i + 1
                );
                if code.contains("unsafe {") {
                    let context = lines[i.saturating_sub(6)..=i].join("\n");
                    assert!(
                        context.contains("SAFETY:"),
                        "{}:{}: unsafe block without a SAFETY comment",
                        file.display(),
                        i + 1
                    );
                }
            }
        }
    }
}
