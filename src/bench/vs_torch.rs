//! `convlab bench --vs-torch SCRIPT`: paired runs of ConvLab's benchmark and PyTorch's
//! (`../shared/perf/torch_baseline.py`, the same models, shapes and timing rules), one
//! right after the other, repeated `--pairs` times, then one table of ratios with their
//! spread over the pairs. On a shared machine the two sides of a pair see the same load,
//! so the ratio is steadier than either figure.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use super::{MODELS, ModelRow, OPS_NAMES, OpRow, collect};

/// One pair: ConvLab's rows and PyTorch's figures for the same rows.
struct Pair {
    models: Vec<ModelRow>,
    ops: Vec<OpRow>,
    torch: Value,
    /// Load average (1 min) before and after the pair, to judge how quiet it was.
    load: (f64, f64),
}

impl Pair {
    /// ConvLab's row for the model `name`.
    fn model(&self, name: &str) -> Option<&ModelRow> {
        self.models.iter().find(|m| m.model == name)
    }

    /// ConvLab's row for the op `name`.
    fn op(&self, name: &str) -> Option<&OpRow> {
        self.ops.iter().find(|o| o.op == name)
    }
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs the PyTorch script for `threads` (models) and 1 thread (ops); its JSON result.
fn run_torch(script: &Path, threads: usize, quick: bool) -> anyhow::Result<Value> {
    let out = std::env::temp_dir().join(format!("convlab-torch-{}.json", std::process::id()));
    let thread_list = if threads == 1 {
        "1".to_string()
    } else {
        format!("1,{threads}")
    };
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .args(["--threads", &thread_list])
        .args(["--sections", "models,ops"])
        .args(["--wait-idle", "0", "--json"])
        .arg(&out);
    if quick {
        cmd.arg("--quick");
    }
    let status = cmd
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("could not start python3 {}", script.display()))?;
    if !status.success() {
        bail!(
            "{} failed ({status}); it needs python3 with torch and numpy (pip install torch numpy)",
            script.display()
        );
    }
    let text = std::fs::read_to_string(&out)
        .with_context(|| format!("reading the PyTorch result {}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    serde_json::from_str(&text).context("the PyTorch result is not JSON")
}

/// PyTorch's run for `threads` in the script's result.
fn torch_run(torch: &Value, threads: usize) -> Option<&Value> {
    torch["runs"]
        .as_array()?
        .iter()
        .find(|r| r["threads"].as_u64() == Some(threads as u64))
}

fn torch_model(torch: &Value, threads: usize, name: &str, key: &str) -> Option<f64> {
    torch_run(torch, threads)?["models"]
        .as_array()?
        .iter()
        .find(|m| m["name"].as_str() == Some(name))?[key]
        .as_f64()
}

fn torch_op(torch: &Value, name: &str, key: &str) -> Option<f64> {
    torch_run(torch, 1)?["ops"]
        .as_array()?
        .iter()
        .find(|m| m["name"].as_str() == Some(name))?[key]
        .as_f64()
}

/// Median, min and max of the finite values (None when there are none).
fn spread(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    };
    Some((median, v[0], v[n - 1]))
}

fn cell(s: Option<(f64, f64, f64)>, digits: usize) -> String {
    match s {
        Some((m, lo, hi)) => format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})"),
        None => "–".into(),
    }
}

/// One figure over the pairs (`figure` gives ConvLab's and PyTorch's value in a pair,
/// either possibly missing): the cells ConvLab, PyTorch and their ratio (over the pairs
/// with both), each median (min–max), the figures with `digits` decimals; None when no
/// pair has ConvLab's value.
fn paired(
    done: &[Pair],
    digits: usize,
    figure: impl Fn(&Pair) -> (Option<f64>, Option<f64>),
) -> Option<[String; 3]> {
    let values: Vec<(Option<f64>, Option<f64>)> = done.iter().map(figure).collect();
    let ours = spread(values.iter().filter_map(|v| v.0).collect())?;
    let theirs = spread(values.iter().filter_map(|v| v.1).collect());
    let ratio = spread(values.iter().filter_map(|v| Some(v.0? / v.1?)).collect());
    Some([
        cell(Some(ours), digits),
        cell(theirs, digits),
        cell(ratio, 2),
    ])
}

/// Runs `pairs` pairs and prints the medians, the ratios and their spread.
pub fn run(script: &Path, threads: usize, pairs: usize, quick: bool) -> anyhow::Result<()> {
    if !script.is_file() {
        bail!(
            "{} is not a file: pass the path of torch_baseline.py (../shared/perf/torch_baseline.py)",
            script.display()
        );
    }
    let pairs = pairs.max(1);
    let mut done = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let before = load_average();
        eprintln!("pair {}/{pairs}: ConvLab…", i + 1);
        let (models, ops) = collect(threads, quick)?;
        eprintln!("pair {}/{pairs}: PyTorch…", i + 1);
        let torch = run_torch(script, threads, quick)?;
        done.push(Pair {
            models,
            ops,
            torch,
            load: (before, load_average()),
        });
    }
    println!(
        "ConvLab vs PyTorch, {pairs} paired run(s), {threads} thread(s) for the models, 1 for the ops; \
         median (min–max) over the pairs; ConvLab is faster where a speed ratio is above 1 and a \
         time ratio below 1"
    );
    for (i, p) in done.iter().enumerate() {
        println!(
            "  pair {}: load average {:.2} before, {:.2} after",
            i + 1,
            p.load.0,
            p.load.1
        );
    }
    println!();
    println!(
        "{:<10} {:>26} {:>26} {:>24} {:>22} {:>22} {:>22}",
        "model",
        "ConvLab b64 img/s",
        "PyTorch b64 img/s",
        "b64 speed ratio",
        "ConvLab b1 ms",
        "PyTorch b1 ms",
        "b1 time ratio"
    );
    for name in MODELS {
        let torch = |p: &Pair, key| torch_model(&p.torch, threads, name, key);
        let b64 = paired(&done, 0, |p| {
            let ours = p.model(name).map(|m| m.train_b64_img_s);
            (ours, torch(p, "train_b64_img_s"))
        });
        let b1 = paired(&done, 3, |p| {
            (
                p.model(name).map(|m| m.train_b1_ms),
                torch(p, "train_b1_ms"),
            )
        });
        let (Some(b64), Some(b1)) = (b64, b1) else {
            continue;
        };
        println!(
            "{:<10} {:>26} {:>26} {:>24} {:>22} {:>22} {:>22}",
            name, b64[0], b64[1], b64[2], b1[0], b1[1], b1[2]
        );
    }
    println!();
    println!(
        "{:<13} {:>22} {:>22} {:>20} {:>22} {:>22} {:>20}",
        "op (1 thread)",
        "ConvLab fwd GF/s",
        "PyTorch fwd GF/s",
        "fwd ratio",
        "ConvLab f+b GF/s",
        "PyTorch f+b GF/s",
        "f+b ratio"
    );
    for name in OPS_NAMES {
        let fwd = paired(&done, 1, |p| {
            let ours = p.op(name).map(|o| o.fwd_gflops);
            (ours, torch_op(&p.torch, name, "fwd_gflops"))
        });
        let fb = paired(&done, 1, |p| {
            let ours = p.op(name).map(|o| o.fb_gflops);
            (ours, torch_op(&p.torch, name, "fwdbwd_gflops"))
        });
        let (Some(fwd), Some(fb)) = (fwd, fb) else {
            continue;
        };
        println!(
            "{:<13} {:>22} {:>22} {:>20} {:>22} {:>22} {:>20}",
            name, fwd[0], fwd[1], fwd[2], fb[0], fb[1], fb[2]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_median_min_max_of_finite_values() {
        assert_eq!(spread(vec![3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(
            spread(vec![4.0, 1.0, f64::NAN, 2.0, 3.0]),
            Some((2.5, 1.0, 4.0))
        );
        assert_eq!(spread(vec![f64::NAN]), None);
    }

    #[test]
    fn paired_cells_take_the_ratio_only_where_both_sides_measured() {
        let pair = |load: f64| Pair {
            models: Vec::new(),
            ops: Vec::new(),
            torch: Value::Null,
            load: (load, load),
        };
        let done = [pair(1.0), pair(2.0), pair(3.0)];
        let cells = paired(&done, 1, |p| match p.load.0 as u32 {
            1 => (Some(10.0), Some(5.0)),
            2 => (Some(30.0), None),
            _ => (Some(20.0), Some(20.0)),
        })
        .unwrap();
        assert_eq!(cells[0], "20.0 (10.0–30.0)");
        assert_eq!(cells[1], "12.5 (5.0–20.0)");
        assert_eq!(cells[2], "1.50 (1.00–2.00)");
        assert!(paired(&done, 1, |_| (None, Some(1.0))).is_none());
    }

    #[test]
    fn reads_the_torch_scripts_json() {
        let torch: Value = serde_json::json!({
            "runs": [
                {"threads": 1, "ops": [{"name": "conv_3to32", "fwd_gflops": 40.0, "fwdbwd_gflops": 30.0}]},
                {"threads": 2, "models": [{"name": "lenet5", "train_b64_img_s": 9000.0, "train_b1_ms": 0.5}]}
            ]
        });
        assert_eq!(
            torch_model(&torch, 2, "lenet5", "train_b64_img_s"),
            Some(9000.0)
        );
        assert_eq!(torch_model(&torch, 1, "lenet5", "train_b64_img_s"), None);
        assert_eq!(torch_op(&torch, "conv_3to32", "fwdbwd_gflops"), Some(30.0));
        assert_eq!(torch_op(&torch, "conv_16s2", "fwd_gflops"), None);
    }
}
