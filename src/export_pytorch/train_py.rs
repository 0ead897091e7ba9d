//! `train.py`: the preset's training in PyTorch: its data, loss, optimiser, learning rate
//! and schedule, batch size, epochs, initialisation and seed, with `--device`, and a note on
//! distributed data parallel. The file is put together from sections; each section is
//! written only when the preset needs it (no augmentation code for a run without any), so
//! it reads as if written for this one model.

use std::fmt::Write as _;

use super::data::{DataPlan, ExportData};
use super::model_py::ModelCode;
use super::{ExportError, py_float};
use crate::engine::{Init, LossKind, OptimizerKind};
use crate::spec::{LrSchedule, Preset};
use crate::train::metrics::MetricKind;

/// The words for a preset's optimiser, e.g. `SGD, momentum 0.9`.
pub fn optimiser_words(kind: OptimizerKind) -> String {
    match kind {
        OptimizerKind::Sgd {
            momentum,
            weight_decay,
        } => {
            let mut s = "SGD".to_string();
            if momentum != 0.0 {
                let _ = write!(s, ", momentum {momentum:?}");
            }
            if weight_decay != 0.0 {
                let _ = write!(s, ", weight decay {weight_decay:?}");
            }
            s
        }
        OptimizerKind::Adam {
            beta1,
            beta2,
            eps,
            weight_decay,
        } => {
            let mut s = format!("Adam, betas ({beta1:?}, {beta2:?}), eps {eps:?}");
            if weight_decay != 0.0 {
                let _ = write!(s, ", weight decay {weight_decay:?}");
            }
            s
        }
    }
}

/// The words for an initialisation.
pub fn init_words(init: Init) -> String {
    match init {
        Init::Default => "PyTorch's default: weights and biases uniform in +-1/sqrt(fan_in)".into(),
        Init::Uniform { a } => format!("weights and biases uniform in [-{a}, {a}]"),
        Init::Glorot => "Glorot/Xavier uniform, +-sqrt(6/(fan_in + fan_out)); zero biases".into(),
        Init::He => "He/Kaiming normal, std sqrt(2/fan_in) (suited to ReLU); zero biases".into(),
    }
}

fn loss_words(loss: LossKind) -> &'static str {
    match loss {
        LossKind::Mse => "mean squared error",
        LossKind::CrossEntropy => "cross-entropy on the logits, softmax inside the loss",
        LossKind::BceWithLogits => "binary cross-entropy on the logits, per pixel",
        LossKind::Dice => "soft Dice on sigmoid probabilities",
    }
}

const HEADER: &str = r#""""Train {{NAME}} in PyTorch with the settings of the ConvLab preset.

    python train.py                  # on the CPU
    python train.py --device cuda    # on a GPU

Settings (from the preset):
{{SETTINGS}}
By default training starts from ConvLab's own initial weights ({{INITIAL}}), so the
first step is the same as in ConvLab; --init torch draws new ones with the same rule.

Distributed data parallel (several GPUs, or several machines): start one process per GPU
with `torchrun --nproc_per_node=N train.py --device cuda`; in each, call
torch.distributed.init_process_group("nccl"), move the model to its GPU and wrap it in
torch.nn.parallel.DistributedDataParallel, and give the DataLoader a
torch.utils.data.distributed.DistributedSampler over the training set (with
sampler.set_epoch(epoch) at every epoch) instead of shuffle=True. Each process then takes
BATCH_SIZE samples per step, so the effective batch is N times larger: divide BATCH_SIZE
by N (or scale the learning rate) to keep ConvLab's settings. Only process 0 should print
and save.
"""

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

{{MODULE_IMPORT}}from model import {{CLASS}}

HERE = Path(__file__).resolve().parent

BATCH_SIZE = {{BATCH}}
EPOCHS = {{EPOCHS}}
LEARNING_RATE = {{LR}}
SEED = {{SEED}}
"#;

const ARRAYS: &str = r#"

def load_data():
    """The training and validation samples ConvLab generated for this preset, as it split
    them ({{TRAIN_N}} and {{VAL_N}} samples; inputs N x C x H x W in the preset's scale)."""

    def tensors(name):
        x = torch.from_numpy(np.load(HERE / f"{name}_x.npy"))
        y = torch.from_numpy(np.load(HERE / f"{name}_y.npy"))
        return torch.utils.data.TensorDataset(x, y)

    return tensors("train"), tensors("val")
"#;

const CLASS_FOLDER: &str = r#"

FOLDER = Path({{PATH}})
IMAGE_SIZE = ({{H}}, {{W}})  # height, width
VAL_FRACTION = {{VAL_FRACTION}}


def load_data():
    """Your class folder (one sub-folder per class) through torchvision's ImageFolder,
    resized to IMAGE_SIZE and made {{COLOUR}} as ConvLab does, values in [0, 1]. The
    validation share is drawn with the data seed (not ConvLab's own draw)."""
    from torchvision import datasets, transforms

    steps = [transforms.Resize(IMAGE_SIZE)]
    {{GREY}}steps.append(transforms.ToTensor())
    images = datasets.ImageFolder(FOLDER, transform=transforms.Compose(steps))
    n_val = max(1, round(len(images) * VAL_FRACTION)) if VAL_FRACTION > 0 else 0
    generator = torch.Generator().manual_seed({{DATA_SEED}})
    train, val = torch.utils.data.random_split(
        images, [len(images) - n_val, n_val], generator=generator
    )
    print("classes:", ", ".join(images.classes))
    return train, val
"#;

const PAIR_FOLDER: &str = r#"

IMAGE_SIZE = ({{H}}, {{W}})  # height, width
VAL_FRACTION = {{VAL_FRACTION}}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def read_image(path, grey):
    """An image file as C x H x W values in [0, 1], resized to IMAGE_SIZE."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image = image.resize((IMAGE_SIZE[1], IMAGE_SIZE[0]), Image.BILINEAR)
    if grey:
        image = image.convert("L")
    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[None]
    else:
        array = array.transpose(2, 0, 1)
    return torch.from_numpy(array.copy())
"#;

const SEGMENTATION_FOLDER: &str = r#"

class SegmentationFolder(torch.utils.data.Dataset):
    """Images and their masks (the same file names in two folders). Masks are grey:
    {{MASK_WORDS}}"""

    def __init__(self, images, masks):
        self.pairs = []
        for image in sorted(Path(images).iterdir()):
            if image.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            found = [m for m in Path(masks).glob(image.stem + ".*")]
            if found:
                self.pairs.append((image, found[0]))

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        from PIL import Image

        image, mask = self.pairs[i]
        x = read_image(image, grey={{GREY}})
        m = Image.open(mask).convert("L").resize((IMAGE_SIZE[1], IMAGE_SIZE[0]), Image.NEAREST)
        m = torch.from_numpy(np.asarray(m, dtype=np.float32).copy())
        {{MASK_CODE}}


def load_data():
    """Your segmentation folders, split with the data seed."""
    pairs = SegmentationFolder(Path({{IMAGES}}), Path({{MASKS}}))
    n_val = max(1, round(len(pairs) * VAL_FRACTION)) if VAL_FRACTION > 0 else 0
    generator = torch.Generator().manual_seed({{DATA_SEED}})
    return torch.utils.data.random_split(pairs, [len(pairs) - n_val, n_val], generator=generator)
"#;

const ANOMALY_FOLDER: &str = r#"

class NormalImages(torch.utils.data.Dataset):
    """The normal images of an anomaly task; each image is its own target (an autoencoder
    learns to reconstruct what is normal, and fails where something is not)."""

    def __init__(self, folder):
        self.files = [p for p in sorted(Path(folder).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        x = read_image(self.files[i], grey={{GREY}})
        return x, x


def load_data():
    """Your folder of normal images, split with the data seed."""
    images = NormalImages(Path({{NORMAL}}))
    n_val = max(1, round(len(images) * VAL_FRACTION)) if VAL_FRACTION > 0 else 0
    generator = torch.Generator().manual_seed({{DATA_SEED}})
    return torch.utils.data.random_split(images, [len(images) - n_val, n_val], generator=generator)
"#;

const AUGMENT: &str = r#"

def augment(x, y):
    """The preset's augmentation of each training batch:
    {{WORDS}}."""
    {{FLIP}}{{SHIFT}}{{NOISE}}return x, y
"#;

const FLIP: &str = r#"# Mirror each image left-right with probability 1/2 (a dense target with it).
    flip = torch.rand(x.shape[0], device=x.device) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if y.dim() == 4 and y.shape[2:] == x.shape[2:]:
        y = torch.where(flip[:, None, None, None], y.flip(3), y)
    "#;

const SHIFT: &str = r#"# Move each image by up to SHIFT pixels in x and y; uncovered pixels become 0.
    shift = {{SHIFT}}
    moved_x, moved_y = torch.zeros_like(x), y.clone()
    h, w = x.shape[2], x.shape[3]
    for i in range(x.shape[0]):
        dy, dx = (int(v) for v in torch.randint(-shift, shift + 1, (2,)))
        dy, dx = max(-(h - 1), min(h - 1, dy)), max(-(w - 1), min(w - 1, dx))
        source = x[i, :, max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
        moved_x[i, :, max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)] = source
        if y.dim() == 4 and y.shape[2:] == x.shape[2:]:
            moved_y[i] = 0
            target = y[i, :, max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
            moved_y[i, :, max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)] = target
    x, y = moved_x, moved_y
    "#;

const NOISE: &str = r#"# Gaussian noise on every input value.
    x = x + {{STD}} * torch.randn_like(x)
    "#;

const DENOISE: &str = r#"

def add_noise(x):
    """A denoising task: fresh noise on every training batch (the target stays clean).
    {{WORDS}}"""
    x = x + {{GAUSSIAN}} * torch.randn_like(x)
    {{SALT}}return x
"#;

const SALT: &str = r#"hit = torch.rand_like(x) < {{SP}}
    salt = (torch.rand_like(x) < 0.5).to(x.dtype)
    x = torch.where(hit, salt, x)
    "#;

const DIFFUSION: &str = r#"

# The forward (noising) process of denoising diffusion (Ho, Jain and Abbeel 2020): T steps
# with beta rising linearly; x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.
STEPS = {{STEPS}}
BETAS = torch.linspace({{BETA_START}}, {{BETA_END}}, STEPS, dtype=torch.float64)
ALPHA_BARS = torch.cumprod(1.0 - BETAS, dim=0)


def noise_images(x):
    """Inputs are images in [-1, 1] with one more channel for t/T. Draws a step t and noise
    eps for every image; the input becomes x_t (and t/T), the target becomes eps: the
    network learns to predict the noise."""
    channels = x.shape[1] - 1
    t = torch.randint(1, STEPS + 1, (x.shape[0],), device=x.device)
    alpha_bar = ALPHA_BARS.to(x.device)[t - 1][:, None, None, None]
    eps = torch.randn_like(x[:, :channels])
    noisy = alpha_bar.sqrt().float() * x[:, :channels] + (1 - alpha_bar).sqrt().float() * eps
    time = (t.double() / STEPS).float()[:, None, None, None].expand_as(x[:, channels:])
    return torch.cat([noisy, time], dim=1), eps
"#;

const DICE: &str = r#"

def dice_loss(logits, target):
    """Soft Dice on sigmoid probabilities: the mean over samples and channels of
    1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1)."""
    p = torch.sigmoid(logits)
    dims = (2, 3)
    overlap = (p * target).sum(dims)
    return (1 - (2 * overlap + 1) / (p.sum(dims) + target.sum(dims) + 1)).mean()
"#;

const INIT: &str = r#"

def fans(module):
    """Fan-in and fan-out of a layer's weight, as ConvLab counts them."""
    w = module.weight
    if isinstance(module, nn.Conv2d):
        k = w.shape[2] * w.shape[3]
        return w.shape[1] * k, w.shape[0] // module.groups * k
    if isinstance(module, nn.ConvTranspose2d):
        # The weight is [in, out, kh, kw], so PyTorch's "fan in" is out * k.
        k = w.shape[2] * w.shape[3]
        return w.shape[1] * k, w.shape[0] * k
    return w.shape[1], w.shape[0]


@torch.no_grad()
def initialise(model):
    """{{WORDS}};
    normalisation layers start as the identity."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            module.reset_parameters()
            continue
        if not isinstance(module, WEIGHTED):
            continue
        fan_in, fan_out = fans(module)
        {{DRAW}}
"#;

const EVALUATE: &str = r#"

@torch.no_grad()
def evaluate(model, data, device):
    """Validation loss and {{METRIC}}{{EVAL_NOTE}}."""
    model.eval()
    loss_sum, hits, total, count = 0.0, 0.0, 0.0, 0
    for x, y in torch.utils.data.DataLoader(data, batch_size=256):
        x, y = x.to(device), y.to(device)
        out = model(x)
        loss_sum += {{EVAL_LOSS}}.item() * len(x)
        count += len(x)
        {{METRIC_SUMS}}
    {{METRIC_VALUE}}
    return loss_sum / count, metric
"#;

/// The whole of train.py.
pub fn write(preset: &Preset, model: &ModelCode, data: &ExportData) -> Result<String, ExportError> {
    let t = &preset.training;
    let d = &preset.data;
    let metric = MetricKind::for_preset(preset);
    let settings = settings_lines(preset);
    let mut s = HEADER
        .replace("{{NAME}}", &super::model_py::docstring_text(&preset.name))
        .replace("{{SETTINGS}}", &settings)
        .replace("{{CLASS}}", &model.class_name)
        .replace("{{BATCH}}", &t.batch_size.to_string())
        .replace("{{EPOCHS}}", &t.epochs.to_string())
        .replace("{{LR}}", &py_float(t.learning_rate))
        .replace("{{SEED}}", &t.seed.to_string())
        .replace("{{INITIAL}}", "initial.safetensors")
        .replace(
            "{{MODULE_IMPORT}}",
            if model.has_sampling || model.has_time {
                "import model as model_module\n"
            } else {
                ""
            },
        );
    let vae = model.has_sampling;
    if vae {
        let _ = writeln!(
            s,
            "KL_WEIGHT = {}  # beta of the ELBO",
            py_float(t.kl_weight)
        );
        let _ = writeln!(
            s,
            "KL_WARMUP_EPOCHS = {}  # beta grows from 0 over these epochs",
            t.kl_warmup_epochs
        );
    }
    let py_path = |p: &std::path::Path| format!("{:?}", p.display().to_string());
    let quote = |p: &std::path::Path| py_path(p);
    match &data.plan {
        DataPlan::Arrays { train, val, .. } => {
            s.push_str(
                &ARRAYS
                    .replace("{{TRAIN_N}}", &train.to_string())
                    .replace("{{VAL_N}}", &val.to_string()),
            );
        }
        DataPlan::ClassFolder {
            path,
            size,
            grayscale,
        } => {
            s.push_str(
                &CLASS_FOLDER
                    .replace("{{PATH}}", &quote(path))
                    .replace("{{H}}", &size[0].to_string())
                    .replace("{{W}}", &size[1].to_string())
                    .replace("{{VAL_FRACTION}}", &py_float(d.val_fraction))
                    .replace("{{DATA_SEED}}", &d.seed.to_string())
                    .replace("{{COLOUR}}", if *grayscale { "grey" } else { "RGB" })
                    .replace(
                        "{{GREY}}",
                        if *grayscale {
                            "steps.append(transforms.Grayscale(1))\n    "
                        } else {
                            "# ImageFolder's loader already gives RGB images.\n    "
                        },
                    ),
            );
        }
        DataPlan::SegmentationFolder {
            images,
            masks,
            size,
            grayscale,
            binary,
        } => {
            s.push_str(
                &PAIR_FOLDER
                    .replace("{{H}}", &size[0].to_string())
                    .replace("{{W}}", &size[1].to_string())
                    .replace("{{VAL_FRACTION}}", &py_float(d.val_fraction)),
            );
            let (words, code) = if *binary {
                (
                    "0 is background, 1 or 255 foreground.",
                    "return x, (m > 0).float()[None]",
                )
            } else {
                (
                    "the value of a pixel is its class index.",
                    "return x, m.long()",
                )
            };
            s.push_str(
                &SEGMENTATION_FOLDER
                    .replace("{{MASK_WORDS}}", words)
                    .replace("{{MASK_CODE}}", code)
                    .replace("{{GREY}}", if *grayscale { "True" } else { "False" })
                    .replace("{{IMAGES}}", &quote(images))
                    .replace("{{MASKS}}", &quote(masks))
                    .replace("{{DATA_SEED}}", &d.seed.to_string()),
            );
        }
        DataPlan::AnomalyFolder {
            normal,
            size,
            grayscale,
        } => {
            s.push_str(
                &PAIR_FOLDER
                    .replace("{{H}}", &size[0].to_string())
                    .replace("{{W}}", &size[1].to_string())
                    .replace("{{VAL_FRACTION}}", &py_float(d.val_fraction)),
            );
            s.push_str(
                &ANOMALY_FOLDER
                    .replace("{{GREY}}", if *grayscale { "True" } else { "False" })
                    .replace("{{NORMAL}}", &quote(normal))
                    .replace("{{DATA_SEED}}", &d.seed.to_string()),
            );
        }
    }
    // Per-batch transformations, in ConvLab's order: augmentation, then denoising noise,
    // then the diffusion draw.
    let mut batch_steps: Vec<&str> = Vec::new();
    if let Some(a) = t.augment.filter(|a| a.is_active()) {
        let mut words = Vec::new();
        let flip = if a.flip {
            words.push("left-right flips".to_string());
            FLIP.to_string()
        } else {
            String::new()
        };
        let shift = if a.shift > 0 {
            words.push(format!("shifts of up to {} pixels", a.shift));
            SHIFT.replace("{{SHIFT}}", &a.shift.to_string())
        } else {
            String::new()
        };
        let noise = if a.noise > 0.0 {
            words.push(format!("Gaussian noise with std {}", a.noise));
            NOISE.replace("{{STD}}", &py_float(a.noise))
        } else {
            String::new()
        };
        s.push_str(
            &AUGMENT
                .replace("{{WORDS}}", &words.join(", "))
                .replace("{{FLIP}}", &flip)
                .replace("{{SHIFT}}", &shift)
                .replace("{{NOISE}}", &noise),
        );
        batch_steps.push("x, y = augment(x, y)");
    }
    if let Some(n) = &d.denoise {
        let salt = if n.salt_pepper > 0.0 {
            SALT.replace("{{SP}}", &py_float(n.salt_pepper))
        } else {
            String::new()
        };
        let words = format!(
            "Gaussian noise with std {}{} (not clipped).",
            n.gaussian,
            if n.salt_pepper > 0.0 {
                format!(
                    ", then salt and pepper on a share {} of the values",
                    n.salt_pepper
                )
            } else {
                String::new()
            }
        );
        s.push_str(
            &DENOISE
                .replace("{{WORDS}}", &words)
                .replace("{{GAUSSIAN}}", &py_float(n.gaussian))
                .replace("{{SALT}}", &salt),
        );
        batch_steps.push("x = add_noise(x)");
    }
    if let Some(df) = &d.diffusion {
        s.push_str(
            &DIFFUSION
                .replace("{{STEPS}}", &df.steps.to_string())
                .replace("{{BETA_START}}", &py_float(df.beta_start))
                .replace("{{BETA_END}}", &py_float(df.beta_end)),
        );
        batch_steps.push("x, y = noise_images(x)");
    }
    if t.loss == LossKind::Dice {
        s.push_str(DICE);
    }
    // The loss.
    let out = if model.output_rank == 2 || model.output[1] * model.output[2] > 1 {
        "out"
    } else {
        // A classifier whose output is still N x C x 1 x 1.
        "out.flatten(1)"
    };
    let recon = match t.loss {
        LossKind::CrossEntropy => format!("F.cross_entropy({out}, y)"),
        LossKind::Mse => {
            if model.output_rank == 2 {
                "F.mse_loss(out.reshape(y.shape), y)".into()
            } else {
                "F.mse_loss(out, y)".into()
            }
        }
        LossKind::BceWithLogits => {
            if model.output_rank == 2 {
                "F.binary_cross_entropy_with_logits(out.reshape(y.shape), y)".into()
            } else {
                "F.binary_cross_entropy_with_logits(out, y)".into()
            }
        }
        LossKind::Dice => "dice_loss(out, y)".into(),
    };
    let _ = write!(
        s,
        "\n\ndef loss_of({}):\n    \"\"\"The preset's loss: {}{}.\"\"\"\n    loss = {recon}\n",
        if vae { "model, out, y, beta" } else { "out, y" },
        loss_words(t.loss),
        if vae {
            ",\n    plus beta times the sampling nodes' KL divergence (the negative ELBO)"
        } else {
            ""
        }
    );
    if model.has_sampling {
        s.push_str("    if beta > 0:\n        for module in model.modules():\n            if isinstance(module, model_module.Reparameterise):\n                loss = loss + beta * module.kl\n");
    }
    s.push_str("    return loss\n");
    // Initialisation.
    let draw = match t.init {
        Init::Default => "bound = 1 / math.sqrt(fan_in)\n        nn.init.uniform_(module.weight, -bound, bound)\n        if module.bias is not None:\n            nn.init.uniform_(module.bias, -bound, bound)".to_string(),
        Init::Uniform { a } => format!("nn.init.uniform_(module.weight, -{a}, {a})\n        if module.bias is not None:\n            nn.init.uniform_(module.bias, -{a}, {a})"),
        Init::Glorot => "bound = math.sqrt(6 / (fan_in + fan_out))\n        nn.init.uniform_(module.weight, -bound, bound)\n        if module.bias is not None:\n            nn.init.zeros_(module.bias)".into(),
        Init::He => "nn.init.normal_(module.weight, std=math.sqrt(2 / fan_in))\n        if module.bias is not None:\n            nn.init.zeros_(module.bias)".into(),
    };
    let weighted = if model.has_time {
        "WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, model_module.TimeEmbedding)"
    } else {
        "WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)"
    };
    let _ = write!(s, "\n\n{weighted}\n");
    s.push_str(
        &INIT
            .replace("{{WORDS}}", &capitalise(&init_words(t.init)))
            .replace("{{DRAW}}", &draw),
    );
    // Evaluation with the preset's metric.
    let (metric_sums, metric_value) = match metric {
        MetricKind::Accuracy => (
            format!("hits += ({out}.argmax(1) == y).sum().item()\n        total += y.numel()"),
            "metric = hits / max(total, 1)",
        ),
        MetricKind::Iou => (
            "predicted, truth = out > 0, y > 0.5\n        hits += (predicted & truth).sum().item()\n        total += (predicted | truth).sum().item()".to_string(),
            "metric = hits / total if total > 0 else 1.0",
        ),
        MetricKind::Mse => (
            "hits += ((out.reshape(y.shape) - y) ** 2).sum().item()\n        total += y.numel()".to_string(),
            "metric = hits / max(total, 1)",
        ),
        MetricKind::Psnr => (
            "hits += ((out.reshape(y.shape) - y) ** 2).sum().item()\n        total += y.numel()".to_string(),
            "mse = hits / max(total, 1)\n    metric = 10 * math.log10(1 / mse) if mse > 0 else math.inf",
        ),
    };
    let metric_words = match metric {
        MetricKind::Accuracy => "accuracy",
        MetricKind::Iou => "IoU of the foreground (positive logit against target above 1/2)",
        MetricKind::Mse => "mean squared error",
        MetricKind::Psnr => "PSNR in dB of the pooled squared error",
    };
    let eval_note = if model.mode_matters {
        "\n    (in evaluation mode: dropout off, batch norm with its running statistics, a VAE's\n    z = mu)"
    } else {
        ""
    };
    s.push_str(
        &EVALUATE
            .replace("{{METRIC}}", metric_words)
            .replace("{{EVAL_NOTE}}", eval_note)
            .replace("{{METRIC_SUMS}}", &metric_sums)
            .replace("{{METRIC_VALUE}}", metric_value)
            .replace(
                "{{EVAL_LOSS}}",
                if vae {
                    "loss_of(model, out, y, beta=KL_WEIGHT)"
                } else {
                    "loss_of(out, y)"
                },
            ),
    );
    // The training loop.
    let optimiser = match t.optimizer {
        OptimizerKind::Sgd {
            momentum,
            weight_decay,
        } => {
            let mut args = vec!["model.parameters()".to_string(), "lr=LEARNING_RATE".into()];
            if momentum != 0.0 {
                args.push(format!("momentum={}", py_float(momentum)));
            }
            if weight_decay != 0.0 {
                args.push(format!("weight_decay={}", py_float(weight_decay)));
            }
            format!("torch.optim.SGD({})", args.join(", "))
        }
        OptimizerKind::Adam {
            beta1,
            beta2,
            eps,
            weight_decay,
        } => {
            let mut args = vec!["model.parameters()".to_string(), "lr=LEARNING_RATE".into()];
            if (beta1, beta2) != (0.9, 0.999) {
                args.push(format!("betas=({}, {})", py_float(beta1), py_float(beta2)));
            }
            if eps != 1e-8 {
                args.push(format!("eps={}", py_float(eps)));
            }
            if weight_decay != 0.0 {
                args.push(format!("weight_decay={}", py_float(weight_decay)));
            }
            format!("torch.optim.Adam({})", args.join(", "))
        }
    };
    let schedule = match t.lr_schedule {
        LrSchedule::Constant => String::new(),
        LrSchedule::Cosine => "    # Cosine schedule (Loshchilov and Hutter 2017, without restarts): the rate falls\n    # along a half cosine to zero over the run's steps.\n    total_steps = EPOCHS * len(loader)\n    schedule = torch.optim.lr_scheduler.LambdaLR(\n        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step / total_steps, 1.0)))\n    )\n".into(),
    };
    let beta_line = if vae {
        "        beta = KL_WEIGHT\n        if KL_WARMUP_EPOCHS:\n            # KL warm-up: beta grows linearly from 0 over the first epochs.\n            beta *= min((epoch - 1) / KL_WARMUP_EPOCHS, 1.0)\n"
    } else {
        ""
    };
    let train_loss = if vae {
        "loss_of(model, model(x), y, beta)"
    } else {
        "loss_of(model(x), y)"
    };
    let steps: String = batch_steps
        .iter()
        .map(|l| format!("            {l}\n"))
        .collect();
    let _ = write!(
        s,
        r#"

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps ...")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's choice)")
    parser.add_argument(
        "--init",
        choices=["convlab", "torch"],
        default="convlab",
        help="start from ConvLab's initial weights, or draw new ones with PyTorch's generator",
    )
    parser.add_argument("--out", default="trained.safetensors", help="where to save the weights")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    device = torch.device(args.device)

    model = {class}()
    if args.init == "convlab":
        model.load_state_dict(load_file(HERE / "initial.safetensors"), strict=True)
    else:
        initialise(model)
    model.to(device)
    optimiser = {optimiser}
    train_set, val_set = load_data()
    # ConvLab reshuffles the training set every epoch and keeps the last, smaller batch.
    loader = torch.utils.data.DataLoader(
        train_set,
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(SEED),
    )
{schedule}
    val_loss, val_metric = evaluate(model, val_set, device)
    print(f"before training: val_loss {{val_loss:.4f}}  val_{metric} {{val_metric:.4f}}", flush=True)
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
{beta_line}        loss_sum, count, epoch_start = 0.0, 0, time.perf_counter()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
{steps}            optimiser.zero_grad()
            loss = {train_loss}
            loss.backward()
            optimiser.step()
{schedule_step}            loss_sum += loss.item() * len(x)
            count += len(x)
        val_loss, val_metric = evaluate(model, val_set, device)
        print(
            f"epoch {{epoch}}/{{args.epochs}}  loss {{loss_sum / count:.4f}}  "
            f"val_loss {{val_loss:.4f}}  val_{metric} {{val_metric:.4f}}  "
            f"({{time.perf_counter() - epoch_start:.1f}} s)",
            flush=True,
        )
    print(f"trained {{args.epochs}} epochs in {{time.perf_counter() - started:.1f}} s")
    save_file(model.state_dict(), HERE / args.out)
    print(f"saved {{args.out}}")


if __name__ == "__main__":
    main()
"#,
        class = model.class_name,
        metric = metric.name(),
        schedule_step = if t.lr_schedule == LrSchedule::Cosine {
            "            schedule.step()\n"
        } else {
            ""
        },
    );
    Ok(s)
}

fn capitalise(s: &str) -> String {
    let mut cs = s.chars();
    cs.next()
        .map(|c| c.to_uppercase().chain(cs).collect())
        .unwrap_or_default()
}

/// The preset's settings, one per line, for train.py's docstring and the README.
pub fn settings_lines(preset: &Preset) -> String {
    let t = &preset.training;
    let mut lines = vec![
        format!(
            "  loss            {} ({})",
            t.loss.torch_name(),
            loss_words(t.loss)
        ),
        format!("  optimiser       {}", optimiser_words(t.optimizer)),
        format!(
            "  learning rate   {}{}",
            t.learning_rate,
            match t.lr_schedule {
                LrSchedule::Constant => " (constant)",
                LrSchedule::Cosine => ", falling to 0 along a half cosine",
            }
        ),
        format!("  batch size      {}", t.batch_size),
        format!("  epochs          {}", t.epochs),
        format!("  initialisation  {}", init_words(t.init)),
        format!(
            "  seed            {} (data seed {})",
            t.seed, preset.data.seed
        ),
    ];
    if t.kl_weight > 0.0 {
        lines.push(format!(
            "  KL weight       {} (warm-up {} epochs)",
            t.kl_weight, t.kl_warmup_epochs
        ));
    }
    lines.join("\n") + "\n"
}
