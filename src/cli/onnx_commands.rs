//! The `export-onnx` and `import-onnx` commands.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::checkpoint::{Checkpoint, write_atomically};
use crate::onnx::{MAX_ONNX_BYTES, export_model, import_model};
use crate::train::History;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// A checkpoint (.safetensors), or a preset (.toml) whose weights are initialised with
    /// its training seed.
    pub model: PathBuf,
    /// The ONNX file to write (opset 17).
    #[arg(value_name = "OUT.onnx")]
    pub out: PathBuf,
    /// Initialisation seed for a preset (default: the preset's training seed).
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// An ONNX model: a ConvLab export, or a small net from `torch.onnx.export`.
    #[arg(value_name = "FILE.onnx")]
    pub file: PathBuf,
    /// The checkpoint to write; it opens in the window like a trained one.
    #[arg(value_name = "OUT.safetensors")]
    pub out: PathBuf,
}

pub fn export_onnx(args: &ExportArgs) -> anyhow::Result<()> {
    let (checkpoint, trained) = Checkpoint::open(&args.model, args.seed)?;
    let Checkpoint { preset, params, .. } = checkpoint;
    let bytes = export_model(&preset.model, &params, Some(&preset))
        .with_context(|| args.model.display().to_string())?;
    write_atomically(&args.out, &bytes)?;
    eprintln!(
        "wrote {} ({} bytes, opset {}, {} nodes, {} weights{})",
        args.out.display(),
        bytes.len(),
        crate::onnx::export::OPSET,
        preset.model.nodes.len(),
        params.len(),
        if trained { "" } else { ", freshly initialised" }
    );
    Ok(())
}

pub fn import_onnx(args: &ImportArgs) -> anyhow::Result<()> {
    let at = || args.file.display().to_string();
    if args.out.extension().is_none_or(|e| e != "safetensors") {
        bail!(
            "{}: the checkpoint's name must end in .safetensors",
            args.out.display()
        );
    }
    let meta = std::fs::metadata(&args.file).with_context(at)?;
    if meta.len() > MAX_ONNX_BYTES {
        bail!(
            "{}: {} bytes is larger than any model ConvLab reads",
            at(),
            meta.len()
        );
    }
    let bytes = std::fs::read(&args.file).with_context(at)?;
    let name = args
        .file
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
    let imported = import_model(&bytes, &name).with_context(at)?;
    let ck = Checkpoint {
        preset: imported.preset,
        params: imported.params,
        history: History::default(),
        class_names: Vec::new(),
        snapshots: Vec::new(),
        palette: None,
    };
    ck.save(&args.out)?;
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        "wrote {} ({} nodes, {} weights)",
        args.out.display(),
        ck.preset.model.nodes.len(),
        ck.params.len()
    );
    Ok(())
}
