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
        let col = |f: &dyn Fn(&Pair) -> Option<f64>| spread(done.iter().filter_map(f).collect());
        let ours = |p: &Pair| p.models.iter().find(|m| m.model == *name).cloned();
        let c64 = col(&|p| ours(p).map(|m| m.train_b64_img_s));
        let t64 = col(&|p| torch_model(&p.torch, threads, name, "train_b64_img_s"));
        let r64 = col(&|p| {
            Some(
                ours(p)?.train_b64_img_s / torch_model(&p.torch, threads, name, "train_b64_img_s")?,
            )
        });
        let c1 = col(&|p| ours(p).map(|m| m.train_b1_ms));
        let t1 = col(&|p| torch_model(&p.torch, threads, name, "train_b1_ms"));
        let r1 = col(&|p| {
            Some(ours(p)?.train_b1_ms / torch_model(&p.torch, threads, name, "train_b1_ms")?)
        });
        if c64.is_none() {
            continue;
        }
        println!(
            "{:<10} {:>26} {:>26} {:>24} {:>22} {:>22} {:>22}",
            name,
            cell(c64, 0),
            cell(t64, 0),
            cell(r64, 2),
            cell(c1, 3),
            cell(t1, 3),
            cell(r1, 2)
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
        let col = |f: &dyn Fn(&Pair) -> Option<f64>| spread(done.iter().filter_map(f).collect());
        let ours = |p: &Pair| p.ops.iter().find(|o| o.op == *name).cloned();
        let cf = col(&|p| ours(p).map(|o| o.fwd_gflops));
        let tf = col(&|p| torch_op(&p.torch, name, "fwd_gflops"));
        let rf = col(&|p| Some(ours(p)?.fwd_gflops / torch_op(&p.torch, name, "fwd_gflops")?));
        let cb = col(&|p| ours(p).map(|o| o.fb_gflops));
        let tb = col(&|p| torch_op(&p.torch, name, "fwdbwd_gflops"));
        let rb = col(&|p| Some(ours(p)?.fb_gflops / torch_op(&p.torch, name, "fwdbwd_gflops")?));
        if cf.is_none() {
            continue;
        }
        println!(
            "{:<13} {:>22} {:>22} {:>20} {:>22} {:>22} {:>20}",
            name,
            cell(cf, 1),
            cell(tf, 1),
            cell(rf, 2),
            cell(cb, 1),
            cell(tb, 1),
            cell(rb, 2)
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
