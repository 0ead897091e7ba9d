//! The layering rules of src/lib.rs, checked on the source text:
//! * every module under src/ has a layer, and imports only modules of lower layers;
//! * no import circle between files;
//! * the window's panels never import its app (they get a context and push commands);
//! * only `ui` (and the binary) use egui, eframe or rfd;
//! * `unsafe` lives only in the SIMD kernels, each block with a SAFETY comment.
//!
//! Imports are read from the code with comments and string literals removed: `crate::a::b`
//! paths anywhere (in `use` or inline), `use crate::{a, b::c}` groups, and `super::` /
//! `self::` paths resolved against the file's place in the module tree (inline `mod tests`
//! blocks included). Each path is resolved to the deepest file it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers from the bottom; a module may import modules of lower layers only.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "utilities (no imports of ours)",
        &["atomic_file", "npy", "resident_memory"],
    ),
    ("engine", &["engine"]),
    ("data", &["data"]),
    ("classical image pipelines", &["classical"]),
    ("spec", &["spec"]),
    ("inspect / train", &["inspect", "train"]),
    ("viz", &["viz"]),
    (
        "onnx / checkpoint",
        &["onnx", "checkpoint", "export_pytorch"],
    ),
    ("commands", &["bench", "dump", "render"]),
    ("ui / cli", &["ui", "cli"]),
];

/// Imports the layer order would allow but the design rules out.
const RULED_OUT: &[(&str, &str, &str)] = &[
    (
        "viz",
        "train",
        "viz draws what inspect computes; it knows nothing of training",
    ),
    (
        "onnx",
        "train",
        "the ONNX library exports and imports graphs and nothing else",
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

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
    out.sort();
    out
}

/// The top-level modules: every `x.rs` and every folder in src/ but lib.rs and main.rs.
fn modules_on_disk() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(src()).unwrap().flatten() {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if p.is_dir()
            || (p.extension().is_some_and(|x| x == "rs") && name != "lib" && name != "main")
        {
            out.insert(name);
        }
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The module path of a file: src/viz/draw.rs → [viz, draw]; src/viz/mod.rs → [viz].
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// The file a module path names: its longest prefix that is a file.
fn file_of(path: &[String]) -> Option<PathBuf> {
    for len in (1..=path.len()).rev() {
        let dir: PathBuf = path[..len].iter().collect();
        for candidate in [
            src().join(&dir).with_extension("rs"),
            src().join(&dir).join("mod.rs"),
        ] {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The code of `text` with comments, string and character literals blanked (newlines kept).
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    let at = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| b.get(i + k) == Some(&c));
    while i < b.len() {
        if at(i, "//") {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < b.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if b[i] == 'r'
            && (b.get(i + 1) == Some(&'"') || b.get(i + 1) == Some(&'#'))
            && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
        {
            // Raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(b[i]);
                i += 1;
                continue;
            }
            j += 1;
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while j < b.len() && !at(j, &close) {
                if b[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j + close.chars().count();
        } else if b[i] == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if b[i] == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime, kept.
            if b.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                out.push_str("' '");
                i = j + 1;
            } else if b.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first segments of each item of a `{a, b::c, d::{e}}` group starting at `open`
/// (the index of `{`), whether it names `self`, and the group's end.
fn group_heads(code: &[char], open: usize) -> (Vec<Vec<String>>, bool, usize) {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut i = open;
    let mut item = String::new();
    while i < code.len() {
        let c = code[i];
        match c {
            '{' => {
                depth += 1;
                if depth > 1 {
                    item.push(c);
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                item.push(c);
            }
            ',' if depth == 1 => {
                heads.push(std::mem::take(&mut item));
            }
            _ => item.push(c),
        }
        i += 1;
    }
    heads.push(item);
    let names_self = heads.iter().any(|h| h.trim() == "self");
    let paths = heads
        .iter()
        .map(|h| {
            h.split("::")
                .map(|s| s.trim())
                .take_while(|s| !s.is_empty() && s.chars().all(is_ident))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty() && p[0] != "self")
        .collect();
    (paths, names_self, i)
}

/// The segments of the path starting at `start` (`a::b::C`), stopping at a group or glob.
fn path_at(code: &[char], mut start: usize) -> (Vec<String>, Option<usize>) {
    let mut segs = Vec::new();
    loop {
        let s = start;
        while start < code.len() && is_ident(code[start]) {
            start += 1;
        }
        if start == s {
            let group = (code.get(start) == Some(&'{')).then_some(start);
            return (segs, group);
        }
        segs.push(code[s..start].iter().collect());
        if code.get(start) == Some(&':') && code.get(start + 1) == Some(&':') {
            start += 2;
        } else {
            return (segs, None);
        }
    }
}

/// Every module path a file names: absolute, from the crate root.
fn imports(file: &Path) -> Vec<Vec<String>> {
    imports_in(&std::fs::read_to_string(file).unwrap(), &module_path(file))
}

/// Every module path `text` names, for a file at module path `base`.
fn imports_in(text: &str, base: &[String]) -> Vec<Vec<String>> {
    let code: Vec<char> = code_only(text).chars().collect();
    let mut out = Vec::new();
    // Inline `mod name {` blocks: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        let starts_word = i == 0 || !(is_ident(code[i - 1]) || code[i - 1] == '$');
        if !starts_word || !is_ident(c) {
            i += 1;
            continue;
        }
        let (segs, group) = path_at(&code, i);
        let end = i + segs.iter().map(|s| s.len() + 2).sum::<usize>() - 2;
        if segs.first().is_some_and(|s| s == "mod") {
            // `mod name {` opens an inline module; `mod name;` only declares a file.
            let mut j = end;
            while j < code.len() && code[j].is_whitespace() {
                j += 1;
            }
            let (name, _) = path_at(&code, j);
            let mut k = j + name.first().map_or(0, |n| n.len());
            while k < code.len() && code[k].is_whitespace() {
                k += 1;
            }
            if code.get(k) == Some(&'{')
                && let Some(n) = name.first()
            {
                inline.push((n.clone(), depth + 1));
            }
            i = end.max(i + 1);
            continue;
        }
        let here: Vec<String> = base
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let resolved = match segs.first().map(String::as_str) {
            Some("crate") => Some(segs[1..].to_vec()),
            Some("super") | Some("self") => {
                let mut at = here.clone();
                let mut rest = &segs[..];
                while let Some(s) = rest.first() {
                    match s.as_str() {
                        "super" => {
                            at.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                Some(at.into_iter().chain(rest.iter().cloned()).collect())
            }
            _ => None,
        };
        if let Some(prefix) = resolved {
            let mut next = end.max(i + 1);
            if let Some(open) = group {
                let (heads, names_self, close) = group_heads(&code, open);
                for h in heads {
                    out.push(prefix.iter().cloned().chain(h).collect());
                }
                if names_self {
                    out.push(prefix.clone());
                }
                next = close;
            } else {
                out.push(prefix);
            }
            i = next;
        } else {
            i = end.max(i + 1);
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

#[test]
fn every_module_has_a_layer_and_lib_declares_them() {
    let on_disk = modules_on_disk();
    let listed: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|(_, ms)| ms.iter().map(|m| m.to_string()))
        .collect();
    let unassigned: Vec<_> = on_disk.difference(&listed).collect();
    assert!(
        unassigned.is_empty(),
        "modules without a layer in tests/architecture.rs (and src/lib.rs docs): {unassigned:?}"
    );
    let gone: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        gone.is_empty(),
        "layers list modules that do not exist: {gone:?}"
    );
    let lib = code_only(&std::fs::read_to_string(src().join("lib.rs")).unwrap());
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').trim().to_string())
        .collect();
    assert_eq!(
        declared, on_disk,
        "src/lib.rs declares other modules than src/ holds"
    );
}

#[test]
fn lower_layers_do_not_import_higher_ones() {
    let mut problems = Vec::new();
    for file in rust_files(&src()) {
        let from = module_path(&file);
        let Some(module) = from.first() else {
            continue; // lib.rs and main.rs
        };
        let Some(rank) = layer_of(module) else {
            continue; // reported by every_module_has_a_layer_and_lib_declares_them
        };
        for path in imports(&file) {
            let to = &path[0];
            if to == module {
                continue;
            }
            let allowed = layer_of(to).is_some_and(|r| r < rank);
            let ruled_out = RULED_OUT.iter().find(|(a, b, _)| a == module && b == to);
            if !allowed {
                problems.push(format!(
                    "{} ({}) imports crate::{} ({})",
                    file.display(),
                    LAYERS[rank].0,
                    path.join("::"),
                    layer_of(to).map_or("not a module", |r| LAYERS[r].0)
                ));
            } else if let Some((_, _, why)) = ruled_out {
                problems.push(format!(
                    "{} imports crate::{}: {why}",
                    file.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_import_circles_between_files() {
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in rust_files(&src()) {
        let own = module_path(&file);
        let targets = edges.entry(file.clone()).or_default();
        for path in imports(&file) {
            // Each file is the root of its module; using (or re-exporting) its own
            // submodules is the module tree, not a circle. Submodules using it are edges.
            if path.len() > own.len() && path.starts_with(&own) {
                continue;
            }
            if let Some(to) = file_of(&path)
                && to != file
            {
                targets.insert(to);
            }
        }
    }
    // Tarjan's strongly connected components: any with two or more files is a circle.
    struct State<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        circles: Vec<Vec<&'a PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                s.circles.push(scc);
            }
        }
    }
    let mut s = State {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        circles: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let text: Vec<String> = s
        .circles
        .iter()
        .map(|c| {
            c.iter()
                .map(|p| p.strip_prefix(src()).unwrap().display().to_string())
                .collect::<Vec<_>>()
                .join(" ↔ ")
        })
        .collect();
    assert!(text.is_empty(), "import circles:\n{}", text.join("\n"));
}

#[test]
fn panels_do_not_import_the_app() {
    // The app lays the panels out and carries out their commands; a panel reads a context
    // and pushes commands (ui::session, ui::command), so it never needs the app itself.
    let panels = src().join("ui").join("panels");
    let mut problems = Vec::new();
    for file in rust_files(&panels) {
        for path in imports(&file) {
            if path.starts_with(&["ui".to_string(), "app".to_string()]) {
                problems.push(format!(
                    "{} imports crate::{}",
                    file.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn only_the_window_uses_the_gui_crates() {
    let ui = src().join("ui");
    for file in rust_files(&src()) {
        if file.starts_with(&ui) || file.ends_with("main.rs") {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for gui in ["egui", "egui_plot", "eframe", "rfd"] {
            let used = code
                .match_indices(&format!("{gui}::"))
                .any(|(i, _)| i == 0 || !code[..i].ends_with(|c: char| is_ident(c)));
            assert!(!used, "{} uses {gui}", file.display());
        }
    }
}

#[test]
fn the_import_reader_sees_every_form() {
    let text = r#"
use crate::{a, b::{c, d}};
use crate::e::{self, f};
use super::z;
// crate::in_a_comment
fn f() -> &'static str { let _ = '"'; crate::inline::call(); "crate::in_a_string" }
mod tests {
    use super::*;
    use super::super::up;
}
mod declared;
fn g() { self::q::r(); }
"#;
    let base = ["m".to_string(), "n".to_string()];
    let found: BTreeSet<String> = imports_in(text, &base)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    let want: BTreeSet<String> = [
        "a",
        "b",
        "e",
        "e::f",
        "m::z",
        "inline::call",
        "m::n",
        "m::up",
        "m::n::q::r",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(found, want);
    let draw = imports(&src().join("viz").join("draw.rs"));
    assert!(
        draw.iter()
            .any(|p| p.starts_with(&["viz".into(), "text".into()])),
        "{draw:?}"
    );
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
