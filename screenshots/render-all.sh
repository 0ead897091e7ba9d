#!/usr/bin/env bash
# Regenerates screenshots/render-<view>.png: every inspection view of `convlab render`,
# each from a briefly trained preset (checkpoints go to a temporary folder, never into the
# repository).
#
#   screenshots/render-all.sh            # builds the release binary if needed
#   CONVLAB=path/to/convlab screenshots/render-all.sh
#
# Models (training times on a 2-core machine are a few seconds to a minute each):
#   digits-lenet (3 epochs)          activations, filters, gradients, pool-routing,
#                                    receptive-field, covariance, saliency, top-patches,
#                                    prediction, occlusion
#   textures-autoencoder (8 epochs)  anomaly
#   cells-unet (4 epochs)            segmentation
#   no model                         conv-arithmetic, pool-routing-lecture (the lecture's 4×4)
# The first lecture hour (point sets and 1-D fits, a fraction of a second each), each at the
# walkthrough step it illustrates:
#   spirals-mlp (2 → 32 tanh → 32 tanh → 2, 1500)     decision-spirals, and with
#                                                     --snapshots decision-spirals-forming.gif
#   02-single-unit (15 epochs)                        unit-single: "One unit's output is a ramp"
#   03-xor-linear-vs-hidden, act2 identity (20)       neurons-xor: "Each hidden unit draws one line"
#   04-universal-approximation, N = 4 (60)            function-sine: "N = 4"
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
if [[ -z "${CONVLAB:-}" ]]; then
    cargo build --release --quiet
    CONVLAB="$root/target/release/convlab"
fi
tmp="${TMPDIR:-/tmp}/convlab-screens"
mkdir -p "$tmp"

train() { # preset epochs -> checkpoint path
    local ck="$tmp/$(basename "$1" .toml).safetensors"
    if [[ ! -f "$ck" || -n "${RETRAIN:-}" ]]; then
        "$CONVLAB" train "$1" --epochs "$2" --out "$ck" >&2
    fi
    echo "$ck"
}
render() { # model view extra-args...
    local model="$1" view="$2" out="$3"
    shift 3
    "$CONVLAB" render "$model" --view "$view" --out "$here/render-$out.png" "$@"
}

lenet="$(train presets/digits-lenet.toml 3)"
ae="$(train presets/textures-autoencoder.toml 8)"
unet="$(train presets/cells-unet.toml 4)"

render "$lenet" activations activations --sample 0
render "$lenet" filters filters --sample 0
render "$lenet" gradients gradients --sample 0
render "$lenet" pool-routing pool-routing --sample 0 --node pool1 --select 4,4
render "$lenet" pool-routing pool-routing-lecture --lecture 2x2s2 --select 1,1
render "$lenet" receptive-field receptive-field --sample 0 --node conv2
render "$lenet" covariance covariance --sample 0 --shift 2,2
render "$lenet" saliency saliency --sample 0
render "$lenet" top-patches top-patches --node conv2 --channel 3
render "$lenet" prediction prediction --sample 0
render "$lenet" occlusion occlusion --sample 0
# The sandbox needs no model; the path is not read.
render presets/digits-lenet.toml conv-arithmetic conv-arithmetic \
    --size 5 --kernel 3 --padding 1 --stride 2 --step 5
render presets/digits-lenet.toml conv-arithmetic conv-arithmetic-transposed \
    --transposed --size 3 --kernel 3 --stride 2 --step 4
render "$ae" anomaly anomaly
render "$unet" segmentation segmentation

# The first lecture hour. Variants of the presets are written next to the checkpoints.
sed '/^name = "act2"/{n;s/kind = "tanh"/kind = "identity"/;}' \
    presets/03-xor-linear-vs-hidden.toml >"$tmp/xor-hidden-identity.toml"
sed '/^name = "hidden"/{n;n;s/out_features = 16/out_features = 4/;}' \
    presets/04-universal-approximation.toml >"$tmp/sine-4-units.toml"
spirals="$(train presets/spirals-mlp.toml 1500)"
single="$(train presets/02-single-unit.toml 15)"
xor="$(train "$tmp/xor-hidden-identity.toml" 20)"
sine="$(train "$tmp/sine-4-units.toml" 60)"
render "$spirals" decision decision-spirals
render "$single" unit unit-single --node unit --channel 0
render "$xor" neurons neurons-xor
render "$sine" function function-sine
# Playback: the spirals run with its snapshots, the decision regions forming as a GIF.
snapshots="$tmp/spirals-snapshots.safetensors"
if [[ ! -f "$snapshots" || -n "${RETRAIN:-}" ]]; then
    "$CONVLAB" train presets/spirals-mlp.toml --snapshots --out "$snapshots" >&2
fi
"$CONVLAB" render "$snapshots" --view decision --frame-ms 150 \
    --animate "$here/render-decision-spirals-forming.gif"
echo "wrote $(ls "$here"/render-*.png | wc -l) pictures into $here" >&2
