//! `convlab export-pytorch PRESET|CKPT OUT_DIR`: the model and its training as PyTorch code.

use std::path::PathBuf;

use anyhow::Context;

use crate::checkpoint::Checkpoint;
use crate::export_pytorch::{WeightsOrigin, export, write_folder};

#[derive(clap::Args, Debug)]
pub struct ExportPytorchArgs {
    /// A checkpoint (.safetensors: its trained weights), or a preset (.toml: its initial
    /// weights, drawn with its training seed).
    pub model: PathBuf,
    /// The folder to write model.py, train.py, README.md, the weights and the data into
    /// (created; a folder holding other files is refused).
    #[arg(value_name = "OUT_DIR")]
    pub out: PathBuf,
}

/// Exports `model` (a preset or checkpoint file) into the folder `out`; returns a summary
/// line. The window's File menu calls this too.
pub fn export_to_folder(model: &std::path::Path, out: &std::path::Path) -> anyhow::Result<String> {
    let (checkpoint, trained) = Checkpoint::open(model, None)?;
    let origin = if trained {
        WeightsOrigin::Checkpoint(format!(
            "`{}`",
            model
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ))
    } else {
        WeightsOrigin::Initial {
            seed: checkpoint.preset.training.seed,
        }
    };
    let files = export(&checkpoint.preset, &checkpoint.params, &origin)
        .with_context(|| model.display().to_string())?;
    write_folder(out, &files)?;
    let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    Ok(format!(
        "wrote {} files ({} KiB) to {}: model.py, train.py, README.md, {} weights",
        files.len(),
        bytes.div_ceil(1024),
        out.display(),
        if trained { "trained" } else { "initial" }
    ))
}

pub fn run(args: &ExportPytorchArgs) -> anyhow::Result<()> {
    let summary = export_to_folder(&args.model, &args.out)?;
    eprintln!("{summary}");
    Ok(())
}
