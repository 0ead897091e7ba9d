//! `README.md` of an export: what was exported, how to run it, the versions it was tested
//! with, and what differs from ConvLab.

use std::fmt::Write as _;

use super::data::{DataPlan, ExportData};
use super::model_py::ModelCode;
use super::train_py::settings_lines;
use super::{TESTED_VERSIONS, WeightsOrigin};
use crate::spec::Preset;

/// The text of README.md.
pub fn write(
    preset: &Preset,
    model: &ModelCode,
    data: &ExportData,
    origin: &WeightsOrigin,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {} in PyTorch\n", preset.name);
    let _ = writeln!(s, "{}\n", preset.description.trim());
    let _ = writeln!(
        s,
        "Exported from ConvLab with `convlab export-pytorch`: the model as code, its weights,\nand its training with the preset's settings.\n"
    );
    let _ = writeln!(s, "## Files\n");
    let _ = writeln!(
        s,
        "- `model.py`: the network, `{}` (an `nn.Module`; its submodules carry ConvLab's node names), and `load_model()`.",
        model.class_name
    );
    let weights = match origin {
        WeightsOrigin::Checkpoint(from) => format!("the trained weights of {from}"),
        WeightsOrigin::Initial { seed } => {
            format!("the preset's initial weights (not trained), drawn by ConvLab with seed {seed}")
        }
    };
    let _ = writeln!(
        s,
        "- `model.safetensors`: {weights}; the keys are the state dict's, so `load_state_dict(..., strict=True)` works."
    );
    let _ = writeln!(
        s,
        "- `initial.safetensors`: ConvLab's initial weights for the preset's seed {}, where `train.py` starts.",
        preset.training.seed
    );
    let _ = writeln!(
        s,
        "- `train.py`: the training (`python train.py --help`); it saves `trained.safetensors`."
    );
    match &data.plan {
        DataPlan::Arrays {
            train,
            val,
            labels,
            class_names,
        } => {
            let _ = writeln!(
                s,
                "- `train_x.npy`, `train_y.npy`, `val_x.npy`, `val_y.npy`: the data set ConvLab generated ({}), split as ConvLab splits it: {train} training and {val} validation samples; inputs float32 N x C x H x W, targets {}.",
                preset.data.source.label(),
                if *labels {
                    "int64 class indices"
                } else {
                    "float32 arrays"
                }
            );
            if !class_names.is_empty() {
                let _ = writeln!(s, "  Classes, by index: {}.", class_names.join(", "));
            }
        }
        DataPlan::ClassFolder { path, .. } => {
            let _ = writeln!(
                s,
                "- Data: your class folder `{}`, read by torchvision's `ImageFolder` (install torchvision).",
                path.display()
            );
        }
        DataPlan::SegmentationFolder { images, masks, .. } => {
            let _ = writeln!(
                s,
                "- Data: your folders `{}` (images) and `{}` (masks), read by the `SegmentationFolder` class in `train.py` (needs Pillow).",
                images.display(),
                masks.display()
            );
        }
        DataPlan::AnomalyFolder { normal, .. } => {
            let _ = writeln!(
                s,
                "- Data: your folder of normal images `{}`, read by the `NormalImages` class in `train.py` (needs Pillow).",
                normal.display()
            );
        }
    }
    let _ = writeln!(s, "\n## Settings\n\n```\n{}```\n", settings_lines(preset));
    let _ = writeln!(s, "## Run\n");
    let needs = if matches!(data.plan, DataPlan::ClassFolder { .. }) {
        "torch torchvision safetensors numpy"
    } else if matches!(data.plan, DataPlan::Arrays { .. }) {
        "torch safetensors numpy"
    } else {
        "torch safetensors numpy pillow"
    };
    let _ = writeln!(
        s,
        "```\npip install {needs}\npython train.py                 # CPU\npython train.py --device cuda   # GPU\n```\n"
    );
    let _ = writeln!(
        s,
        "Use the model elsewhere:\n\n```python\nfrom model import load_model\nmodel = load_model(\"model.safetensors\").eval()\n```\n"
    );
    let _ = writeln!(
        s,
        "`train.py`'s docstring says how to run it with several GPUs (DistributedDataParallel).\n"
    );
    let _ = writeln!(s, "Tested with {TESTED_VERSIONS}.\n");
    let _ = writeln!(s, "## What differs from ConvLab\n");
    let _ = writeln!(
        s,
        "- The model computes the same function: ConvLab's tests load exported weights into the exported model and compare outputs and input and weight gradients on a batch with ConvLab's; they agree to float32 rounding (on the bundled presets, differences of at most 6e-6 of each tensor's largest value)."
    );
    let _ = writeln!(
        s,
        "- Random streams are not the same across frameworks: the order of the shuffled batches{} is drawn by PyTorch's generator, so a run follows another path than ConvLab's and ends at similar, not identical, numbers.",
        random_parts(preset, model)
    );
    let _ = writeln!(
        s,
        "- `train.py` starts from ConvLab's initial weights (`initial.safetensors`); `--init torch` draws new ones with the same rule from PyTorch's generator."
    );
    if model.output_rank == 2 {
        let _ = writeln!(
            s,
            "- ConvLab keeps every value 4-D (`[n, f, 1, 1]` after a dense layer); here, as in PyTorch code generally, `flatten` and dense layers give `[N, F]`."
        );
    }
    if !matches!(data.plan, DataPlan::Arrays { .. }) {
        let _ = writeln!(
            s,
            "- Folders: the validation share is drawn by PyTorch's generator (other images than ConvLab's), images are resized with PIL's bilinear filter (ConvLab: the image crate's triangle filter) and made grey with PIL's weights (ITU-R 601; ConvLab: 709), so values differ slightly."
        );
    }
    let _ = writeln!(
        s,
        "- ConvLab undoes a step whose loss or gradient is not finite and stops; `train.py` does not check."
    );
    s
}

/// The random draws of a run beside the batch order, for the README.
fn random_parts(preset: &Preset, model: &ModelCode) -> String {
    let mut parts = Vec::new();
    let has_dropout = preset
        .model
        .nodes
        .iter()
        .any(|n| matches!(n.kind, crate::engine::NodeKind::Dropout(_)));
    if has_dropout {
        parts.push("dropout masks");
    }
    if model.has_sampling {
        parts.push("the VAE's noise");
    }
    if preset.training.augment.is_some_and(|a| a.is_active()) {
        parts.push("augmentations");
    }
    if preset.data.denoise.is_some() {
        parts.push("denoising noise");
    }
    if preset.data.diffusion.is_some() {
        parts.push("diffusion steps and noise");
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" (and the {})", parts.join(", "))
    }
}
