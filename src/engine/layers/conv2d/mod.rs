//! 2-D convolution (cross-correlation, as in PyTorch) with stride, dilation, groups and
//! zero / reflect / replicate borders: the kind (hyper-parameters, inference) and the layer,
//! which computes by one of two paths, [`im2col`] + GEMM or the [`shifted`] GEMM per tap.

mod cvec;
mod im2col;
mod shifted;

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use std::ops::Range;

use super::Layer;
use super::ParamShape;
use super::compute::{Backward, Compute, Forward, add_bias_grad, output_buffer};
use super::kind::{
    Choice, ChoiceStyle, Field, FieldValue, Inferred, Kind, NodeInputs, OutputCount,
};
use super::window::{Taps, pad};
use crate::engine::error::GraphError;
use crate::engine::geometry::{Padding, PaddingMode, Pair, pair_one, usize_one, yes};
use crate::engine::node_facts::{
    MAX_CHANNELS, MAX_KERNEL, NodeFacts, WindowGeometry, check_pair, check_size, shape_str,
    window_out,
};
use crate::engine::tensor::{Scalar, Tensor};

/// Input channels per group from which stride-1 convs use the shifted-GEMM path.
const SHIFTED_MIN_CIN: usize = 16;

/// [`SHIFTED_MIN_CIN`], or `CONVLAB_CONV_PATH=im2col` / `shifted` to force one path (for
/// measuring; read once).
fn shifted_min_cin() -> usize {
    static MIN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MIN.get_or_init(|| match std::env::var("CONVLAB_CONV_PATH").as_deref() {
        Ok("im2col") => usize::MAX,
        Ok("shifted") => 1,
        _ => SHIFTED_MIN_CIN,
    })
}

/// Work (FLOPs per sample and group) from which a batch-1 conv splits across two threads
/// (see [`kernels::pool`]): the split costs a wake-up of about 10 µs.
const INTRA_MIN_FLOPS: usize = 4_000_000;

/// Target size of one im2col chunk, in elements (512 KiB of f32).
const CHUNK_ELEMS: usize = 128 * 1024;

/// The hyper-parameters of a conv node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2dConfig {
    pub out_channels: usize,
    pub kernel: Pair,
    #[serde(default = "pair_one")]
    pub stride: Pair,
    #[serde(default)]
    pub padding: Padding,
    #[serde(default)]
    pub padding_mode: PaddingMode,
    #[serde(default = "pair_one")]
    pub dilation: Pair,
    #[serde(default = "usize_one")]
    pub groups: usize,
    #[serde(default = "yes")]
    pub bias: bool,
}

impl Default for Conv2dConfig {
    /// The palette's conv: 8 filters of 3×3, padding 1 (the size stays).
    fn default() -> Self {
        Conv2dConfig::square(8, 3, 1)
    }
}

impl Conv2dConfig {
    /// A square kernel with stride 1, uniform zero padding and a bias.
    pub fn square(out_channels: usize, kernel: usize, padding: usize) -> Self {
        Conv2dConfig {
            out_channels,
            kernel: Pair::square(kernel),
            stride: Pair::square(1),
            padding: Padding::Uniform(padding),
            padding_mode: PaddingMode::Zeros,
            dilation: Pair::square(1),
            groups: 1,
            bias: true,
        }
    }
}

/// Shared with the transposed conv.
pub(crate) const TIP_OUT_CHANNELS: &str =
    "How many filters this layer learns. Each filter makes one output channel (feature map).";
/// Shared with the transposed conv.
pub(crate) const TIP_KERNEL: &str = "Height × width of each filter's window. A 1×1 conv mixes channels at each pixel without looking at neighbours: a cheap way to change the channel count.";
/// Shared with the transposed conv.
pub(crate) const TIP_STRIDE: &str =
    "How far the window moves between outputs. Stride 2 halves the output size.";
const TIP_PADDING: &str = "Border added around the input so the window can be centred on edge pixels. 'same' keeps the size (at stride 1); 'valid' adds none and the output shrinks by kernel − 1.";
const TIP_PADDING_MODE: &str = "What the border contains: zeros, a mirror image of the inside (reflect), or copies of the edge pixel (replicate).";
const TIP_DILATION: &str = "Gaps between the kernel's taps. Dilation 2 spreads a 3×3 kernel over 5×5 pixels: a larger receptive field with the same weights.";
const TIP_GROUPS: &str = "Splits input and output channels into groups that only see each other. groups = input channels is a depthwise conv (one filter per channel). Both channel counts must be divisible by it.";
/// Shared with the transposed conv and the dense layer.
pub(crate) const TIP_BIAS: &str = "Add a learned constant to each output channel. Off when batch norm follows (it has its own shift).";

impl Kind for Conv2dConfig {
    fn about(&self) -> &'static str {
        "Convolution: slides learned filters over the image; each filter makes one feature map."
    }

    fn name_prefix(&self) -> &'static str {
        "conv"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "out channels",
                TIP_OUT_CHANNELS,
                FieldValue::Count(&mut self.out_channels, 1..=4096),
            ),
            Field::new("kernel", TIP_KERNEL, FieldValue::Pair(&mut self.kernel, 1)),
            Field::new("stride", TIP_STRIDE, FieldValue::Pair(&mut self.stride, 1)),
            Field::new(
                "padding",
                TIP_PADDING,
                FieldValue::Padding(&mut self.padding),
            ),
            Field::new(
                "padding mode",
                TIP_PADDING_MODE,
                FieldValue::Choice(&mut self.padding_mode, ChoiceStyle::Menu),
            ),
            Field::new(
                "dilation",
                TIP_DILATION,
                FieldValue::Pair(&mut self.dilation, 1),
            ),
            Field::new(
                "groups",
                TIP_GROUPS,
                FieldValue::Count(&mut self.groups, 1..=4096),
            ),
            Field::new("bias", TIP_BIAS, FieldValue::Flag(&mut self.bias)),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let Conv2dConfig {
            out_channels,
            kernel,
            stride,
            padding,
            padding_mode,
            dilation,
            groups,
            bias,
        } = self;
        let (name, x, rf_in) = (at.name, at.x(), at.field());
        check_size(name, "out_channels", *out_channels, MAX_CHANNELS)?;
        check_pair(name, "kernel", *kernel, MAX_KERNEL)?;
        check_pair(name, "stride", *stride, MAX_KERNEL)?;
        check_pair(name, "dilation", *dilation, MAX_KERNEL)?;
        check_size(name, "groups", *groups, MAX_CHANNELS)?;
        if x[0] % groups != 0 || out_channels % groups != 0 {
            return Err(at.error(format!(
                "groups {groups} must divide both input channels {} and out_channels {out_channels}",
                x[0]
            )));
        }
        let effective = Pair::new(
            dilation.h * (kernel.h - 1) + 1,
            dilation.w * (kernel.w - 1) + 1,
        );
        let pads = padding.resolve(Pair::new(x[1], x[2]), effective, *stride);
        if *padding_mode != PaddingMode::Zeros
            && (pads.top.max(pads.bottom) >= x[1] || pads.left.max(pads.right) >= x[2])
        {
            return Err(at.error(format!(
                "{padding_mode:?} padding must be smaller than the input {}",
                shape_str(x)
            )));
        }
        let padded = [x[1] + pads.top + pads.bottom, x[2] + pads.left + pads.right];
        let out = window_out(name, x, padded, effective, *stride)?;
        let cin_g = x[0] / groups;
        let per_out = kernel.h * kernel.w * cin_g + usize::from(*bias);
        let params = per_out * out_channels;
        let k = if kernel.h == kernel.w {
            format!("{}·{}", kernel.h, kernel.h)
        } else {
            format!("{}·{}", kernel.h, kernel.w)
        };
        let formula = if *bias {
            format!("({k}·{cin_g}+1)·{out_channels}")
        } else {
            format!("{k}·{cin_g}·{out_channels}")
        };
        let flops = 2 * (kernel.h * kernel.w * cin_g * out_channels * out.h * out.w) as u64;
        let window = WindowGeometry {
            in_channels: x[0],
            out_channels: *out_channels,
            kernel: *kernel,
            stride: *stride,
            dilation: *dilation,
            pads,
            groups: *groups,
            in_size: Pair::new(x[1], x[2]),
            out_size: out,
        };
        let rf = rf_in.through_window(effective, *stride, [pads.top, pads.left]);
        Ok(Inferred {
            output: [*out_channels, out.h, out.w],
            params,
            param_formula: formula,
            flops,
            receptive_field: rf,
            window: Some(window),
        })
    }

    fn layer(&self, facts: &NodeFacts) -> Layer {
        Layer::Conv(Conv2d {
            geom: facts.window.expect("conv has a window"),
            padding_mode: self.padding_mode,
            has_bias: self.bias,
        })
    }

    fn output_count(&self) -> OutputCount {
        if self.groups == 1 {
            OutputCount::Decides(self.out_channels)
        } else {
            OutputCount::Other
        }
    }

    fn set_output_count(&mut self, outputs: usize) -> bool {
        self.out_channels = outputs;
        true
    }
}

/// A conv node's computation with its resolved geometry.
#[derive(Clone, Debug)]
pub struct Conv2d {
    pub geom: WindowGeometry,
    pub padding_mode: PaddingMode,
    pub has_bias: bool,
}

impl Conv2d {
    /// Weight shape `[out, in/groups, kh, kw]`.
    pub fn weight_shape(&self) -> Vec<usize> {
        let g = &self.geom;
        vec![
            g.out_channels,
            g.in_channels / g.groups,
            g.kernel.h,
            g.kernel.w,
        ]
    }

    fn padded_size(&self) -> Pair {
        let g = &self.geom;
        Pair::new(
            g.in_size.h + g.pads.top + g.pads.bottom,
            g.in_size.w + g.pads.left + g.pads.right,
        )
    }

    fn taps(&self) -> Taps {
        let g = &self.geom;
        Taps {
            kernel: g.kernel,
            stride: g.stride,
            dilation: g.dilation,
            src: self.padded_size(),
            out: g.out_size,
        }
    }

    fn has_pads(&self) -> bool {
        let p = self.geom.pads;
        p.top + p.bottom + p.left + p.right > 0
    }

    /// Rows of the im2col matrix for one group.
    fn group_k(&self) -> usize {
        let g = &self.geom;
        g.in_channels / g.groups * g.kernel.h * g.kernel.w
    }

    /// Pads sample `x` into `padded` when the conv has borders; returns the source plane
    /// stack the windows read.
    fn source<'a, T: Scalar>(&self, x: &'a [T], padded: &'a mut [T]) -> &'a [T] {
        let g = &self.geom;
        if self.has_pads() {
            pad(
                x,
                g.in_channels,
                g.in_size.h,
                g.in_size.w,
                g.pads,
                self.padding_mode,
                padded,
            );
            padded
        } else {
            x
        }
    }

    /// A 1×1, stride-1, unpadded conv reads its input as the im2col matrix directly.
    fn is_pointwise(&self) -> bool {
        let g = &self.geom;
        g.kernel == Pair::square(1) && g.stride == Pair::square(1) && !self.has_pads()
    }

    /// Output rows per im2col chunk, so a chunk of the column matrix (`K × rows·ow`) stays
    /// around 512 KiB and lives in L2 between the unfold and the GEMM.
    fn chunk_rows(&self) -> usize {
        let g = &self.geom;
        let k = g.groups * self.group_k();
        (CHUNK_ELEMS / (k * g.out_size.w).max(1)).clamp(1, g.out_size.h.max(1))
    }

    fn col_len(&self) -> usize {
        let g = &self.geom;
        if self.is_pointwise() {
            0
        } else {
            g.groups * self.group_k() * self.chunk_rows() * g.out_size.w
        }
    }

    fn padded_len(&self) -> usize {
        let ps = self.padded_size();
        if self.has_pads() {
            self.geom.in_channels * ps.h * ps.w
        } else {
            0
        }
    }

    fn row_chunks(&self) -> impl Iterator<Item = Range<usize>> + use<> {
        let (oh, step) = (self.geom.out_size.h, self.chunk_rows());
        (0..oh).step_by(step).map(move |r| r..(r + step).min(oh))
    }

    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
    ) -> Tensor<T> {
        let g = &self.geom;
        let n = x.shape()[0];
        let mut y = Tensor::<T>::zeros((n, g.out_channels, g.out_size.h, g.out_size.w));
        self.forward_into(x, weight, bias, &mut y);
        y
    }

    /// The forward into a preallocated `y` of the output shape (every element written).
    pub fn forward_into<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
        y: &mut Tensor<T>,
    ) {
        if self.shifted_ok() {
            self.forward_shifted(x, weight, bias, y);
        } else if self.cvec_ok::<T>() {
            self.forward_cvec(x, weight, bias, y);
        } else {
            self.forward_im2col(x, weight, bias, y);
        }
    }

    /// Adds this batch's weight (and bias) gradients to `dweight`/`dbias`; returns the input
    /// gradient when `need_dx`.
    pub fn backward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        dy: &Tensor<T>,
        dweight: &mut ArrayD<T>,
        dbias: Option<&mut ArrayD<T>>,
        need_dx: bool,
    ) -> Option<Tensor<T>> {
        let mut dx = need_dx.then(|| Tensor::<T>::zeros(x.raw_dim()));
        self.backward_into(x, weight, dy, dweight, dbias, dx.as_mut());
        dx
    }

    /// [`Self::backward`] writing the input gradient (every element) into `dx` when given.
    pub fn backward_into<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        dy: &Tensor<T>,
        dweight: &mut ArrayD<T>,
        dbias: Option<&mut ArrayD<T>>,
        dx: Option<&mut Tensor<T>>,
    ) {
        if self.shifted_ok() {
            self.backward_shifted(x, weight, dy, dweight, dx);
        } else {
            self.backward_im2col(x, weight, dy, dweight, dx);
        }
        if let Some(db) = dbias {
            let g = &self.geom;
            let dy = dy.as_standard_layout();
            add_bias_grad(
                dy.as_slice().expect("standard layout"),
                g.out_channels,
                g.out_size.h * g.out_size.w,
                db.as_slice_mut().expect("contiguous bias grad"),
            );
        }
    }
}

impl Choice for PaddingMode {
    fn options(&self) -> &'static [&'static str] {
        &["zeros", "reflect", "replicate"]
    }
    fn selected(&self) -> usize {
        *self as usize
    }
    fn select(&mut self, index: usize) {
        *self = match index {
            0 => PaddingMode::Zeros,
            1 => PaddingMode::Reflect,
            _ => PaddingMode::Replicate,
        };
    }
}

impl Compute for Conv2d {
    fn param_shapes(&self) -> Vec<ParamShape> {
        ParamShape::weight_and_bias(self.weight_shape(), self.has_bias, self.geom.out_channels)
    }

    fn fans(&self) -> Option<(usize, usize)> {
        let k = self.geom.kernel.h * self.geom.kernel.w;
        Some((
            self.geom.in_channels / self.geom.groups * k,
            self.geom.out_channels / self.geom.groups * k,
        ))
    }

    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let Forward {
            ins,
            params: ps,
            out_dim,
            old_output,
            ..
        } = f;
        let mut y = output_buffer(old_output, out_dim);
        self.forward_into(ins[0], &ps[0].value, ps.get(1).map(|p| &p.value), &mut y);
        y
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let Backward {
            ins,
            dy,
            params: ps,
            want_dx,
            dx_buffer,
            ..
        } = b;
        let (w, bias) = ps.split_at_mut(1);
        let mut dx = want_dx.then(dx_buffer);
        self.backward_into(
            ins[0],
            &w[0].value,
            dy,
            &mut w[0].grad,
            bias.first_mut().map(|p| &mut p.grad),
            dx.as_mut(),
        );
        dx.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::geometry::Pads;
    use crate::engine::kernels;

    fn geom(
        cin: usize,
        cout: usize,
        k: usize,
        dil: usize,
        groups: usize,
        pads: Pads,
    ) -> WindowGeometry {
        let (h, w) = (7, 9);
        let eff = (k - 1) * dil + 1;
        WindowGeometry {
            in_channels: cin,
            out_channels: cout,
            kernel: Pair::square(k),
            stride: Pair::square(1),
            dilation: Pair::square(dil),
            pads,
            groups,
            in_size: Pair::new(h, w),
            out_size: Pair::new(
                h + pads.top + pads.bottom + 1 - eff,
                w + pads.left + pads.right + 1 - eff,
            ),
        }
    }

    /// [`geom`] with a stride and an `(h, w)` input, the output size to match.
    #[expect(
        clippy::too_many_arguments,
        reason = "one geometry, spelled out per test case"
    )]
    fn geom_at(
        cin: usize,
        cout: usize,
        k: usize,
        stride: Pair,
        dil: usize,
        groups: usize,
        pads: Pads,
        (h, w): (usize, usize),
    ) -> WindowGeometry {
        let eff = (k - 1) * dil + 1;
        WindowGeometry {
            stride,
            in_size: Pair::new(h, w),
            out_size: Pair::new(
                (h + pads.top + pads.bottom - eff) / stride.h + 1,
                (w + pads.left + pads.right - eff) / stride.w + 1,
            ),
            ..geom(cin, cout, k, dil, groups, pads)
        }
    }

    /// The largest |a − b|, infinite where either is NaN (a buffer left unwritten).
    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(u, v)| (u - v).abs())
            .fold(
                0.0,
                |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
            )
    }

    fn rand(len: usize, seed: u64) -> Vec<f64> {
        let mut r = crate::engine::rng::Rng::new(seed);
        (0..len).map(|_| r.uniform(-1.0, 1.0)).collect()
    }

    /// A batch-1 conv split across two threads (forward: output channels; backward: weight
    /// and input gradients) gives exactly the serial results, in f32 and f64.
    #[test]
    fn intra_op_split_is_bit_identical() {
        fn check<T: Scalar>() {
            let p1 = Pads {
                top: 1,
                bottom: 1,
                left: 1,
                right: 1,
            };
            let (cin, cout, h) = (32, 36, 16);
            let gm = WindowGeometry {
                in_size: Pair::new(h, h),
                out_size: Pair::new(h, h),
                ..geom(cin, cout, 3, 1, 1, p1)
            };
            let conv = Conv2d {
                geom: gm,
                padding_mode: PaddingMode::Zeros,
                has_bias: true,
            };
            assert!(conv.shifted_ok());
            let t = |v: Vec<f64>| v.into_iter().map(T::of).collect::<Vec<T>>();
            let x = Tensor::from_shape_vec((1, cin, h, h), t(rand(cin * h * h, 1))).unwrap();
            let ws = conv.weight_shape();
            let w = ArrayD::from_shape_vec(ws.clone(), t(rand(ws.iter().product(), 2))).unwrap();
            let b = ArrayD::from_shape_vec(vec![cout], t(rand(cout, 3))).unwrap();
            let dy = Tensor::from_shape_vec((1, cout, h, h), t(rand(cout * h * h, 4))).unwrap();
            let run = |intra: bool| {
                kernels::pool::with_intra_op(intra, || {
                    let y = conv.forward(&x, &w, Some(&b));
                    let mut dw = w.mapv(|_| T::of(0.5));
                    let mut db = b.mapv(|_| T::zero());
                    let dx = conv.backward(&x, &w, &dy, &mut dw, Some(&mut db), true);
                    (y, dw, dx.unwrap())
                })
            };
            let (serial, split) = (run(false), run(true));
            assert_eq!(serial.0, split.0, "forward");
            assert_eq!(serial.1, split.1, "weight gradient");
            assert_eq!(serial.2, split.2, "input gradient");
        }
        check::<f32>();
        check::<f64>();
    }

    /// Rows of a multiple of 16 pixels take the compact-rows kernel (f32, AVX-512) in the
    /// forward and for the input gradient: the same outputs and gradients as im2col, every
    /// element written over garbage, with groups, a dilation, uneven padding and with the
    /// batch-1 split.
    #[test]
    fn compact_rows_forward_matches_im2col() {
        let p1 = Pads {
            top: 1,
            bottom: 1,
            left: 1,
            right: 1,
        };
        let p2 = Pads {
            top: 2,
            bottom: 0,
            left: 3,
            right: 1,
        };
        for (cin, cout, k, dil, groups, pads, (h, w)) in [
            (16, 8, 3, 1, 1, p1, (16, 16)),
            (32, 12, 3, 1, 2, p1, (5, 32)),
            (16, 6, 3, 2, 1, p2, (9, 16)),
        ] {
            let gm = geom_at(cin, cout, k, Pair::square(1), dil, groups, pads, (h, w));
            let conv = Conv2d {
                geom: gm,
                padding_mode: PaddingMode::Zeros,
                has_bias: true,
            };
            assert!(
                conv.shifted_ok() && gm.out_size.w.is_multiple_of(16),
                "{gm:?}"
            );
            let t = |v: Vec<f64>| v.into_iter().map(|e| e as f32).collect::<Vec<f32>>();
            let n = 2;
            let x = Tensor::from_shape_vec((n, cin, h, w), t(rand(n * cin * h * w, 1))).unwrap();
            let ws = conv.weight_shape();
            let wt = ArrayD::from_shape_vec(ws.clone(), t(rand(ws.iter().product(), 2))).unwrap();
            let b = ArrayD::from_shape_vec(vec![cout], t(rand(cout, 3))).unwrap();
            let oshape = (n, cout, gm.out_size.h, gm.out_size.w);
            let mut want = Tensor::<f32>::zeros(oshape);
            conv.forward_im2col(&x, &wt, Some(&b), &mut want);
            for intra in [false, true] {
                let mut got = Tensor::<f32>::from_elem(oshape, f32::NAN);
                kernels::pool::with_intra_op(intra, || {
                    conv.forward_shifted(&x, &wt, Some(&b), &mut got)
                });
                let worst = max_abs_diff(want.as_slice().unwrap(), got.as_slice().unwrap());
                assert!(worst < 1e-4, "{gm:?} intra {intra}: {worst}");
            }
            // The backward writes dx in compact rows too (zero padding).
            let dy = Tensor::from_shape_vec(oshape, t(rand(want.len(), 4))).unwrap();
            let (mut dw1, mut dx1) = (wt.mapv(|_| 0.5), x.mapv(|_| 0.0));
            conv.backward_im2col(&x, &wt, &dy, &mut dw1, Some(&mut dx1));
            for intra in [false, true] {
                let (mut dw2, mut dx2) = (wt.mapv(|_| 0.5), x.mapv(|_| f32::NAN));
                kernels::pool::with_intra_op(intra, || {
                    conv.backward_shifted(&x, &wt, &dy, &mut dw2, Some(&mut dx2))
                });
                let wx = max_abs_diff(dx1.as_slice().unwrap(), dx2.as_slice().unwrap());
                let ww = max_abs_diff(dw1.as_slice().unwrap(), dw2.as_slice().unwrap());
                assert!(
                    wx < 1e-4 && ww < 1e-3,
                    "{gm:?} intra {intra}: dx {wx}, dw {ww}"
                );
            }
        }
    }

    /// The path vectorised over output channels (f32, AVX-512) gives im2col's outputs,
    /// every element written over garbage: LeNet's second conv, a stride-2 3×3 with
    /// padding, 32 channels with a dilation and uneven strides, and a row not a multiple
    /// of the 12-pixel tile.
    #[test]
    fn channel_vectorised_forward_matches_im2col() {
        let p1 = Pads {
            top: 1,
            bottom: 1,
            left: 1,
            right: 1,
        };
        for (cin, cout, k, stride, dil, pads, (h, w)) in [
            (6, 16, 5, Pair::square(1), 1, Pads::default(), (14, 14)),
            (16, 16, 3, Pair::square(2), 1, p1, (16, 16)),
            (8, 32, 3, Pair::new(2, 1), 2, p1, (11, 13)),
            (16, 20, 3, Pair::new(1, 2), 1, p1, (6, 27)),
        ] {
            let gm = geom_at(cin, cout, k, stride, dil, 1, pads, (h, w));
            let conv = Conv2d {
                geom: gm,
                padding_mode: PaddingMode::Zeros,
                has_bias: true,
            };
            if !conv.cvec_ok::<f32>() {
                return; // no AVX-512 here: the path is not taken
            }
            let t = |v: Vec<f64>| v.into_iter().map(|e| e as f32).collect::<Vec<f32>>();
            let n = 3;
            let x = Tensor::from_shape_vec((n, cin, h, w), t(rand(n * cin * h * w, 1))).unwrap();
            let ws = conv.weight_shape();
            let wt = ArrayD::from_shape_vec(ws.clone(), t(rand(ws.iter().product(), 2))).unwrap();
            let b = ArrayD::from_shape_vec(vec![cout], t(rand(cout, 3))).unwrap();
            let oshape = (n, cout, gm.out_size.h, gm.out_size.w);
            let mut want = Tensor::<f32>::zeros(oshape);
            conv.forward_im2col(&x, &wt, Some(&b), &mut want);
            let mut got = Tensor::<f32>::from_elem(oshape, f32::NAN);
            conv.forward_cvec(&x, &wt, Some(&b), &mut got);
            let worst = max_abs_diff(want.as_slice().unwrap(), got.as_slice().unwrap());
            assert!(worst < 1e-4, "{gm:?}: {worst}");
        }
    }

    #[test]
    fn shifted_gemm_path_matches_im2col() {
        let p1 = Pads {
            top: 1,
            bottom: 1,
            left: 1,
            right: 1,
        };
        let p2 = Pads {
            top: 2,
            bottom: 0,
            left: 1,
            right: 2,
        };
        for (gm, mode) in [
            (geom(16, 8, 3, 1, 1, p1), PaddingMode::Zeros),
            (geom(32, 6, 3, 2, 2, p2), PaddingMode::Reflect),
            (geom(17, 5, 2, 1, 1, Pads::default()), PaddingMode::Zeros),
            (geom(16, 4, 3, 1, 1, p1), PaddingMode::Replicate),
        ] {
            let conv = Conv2d {
                geom: gm,
                padding_mode: mode,
                has_bias: true,
            };
            assert!(conv.shifted_ok());
            let n = 2;
            let x =
                Tensor::from_shape_vec((n, gm.in_channels, 7, 9), rand(n * gm.in_channels * 63, 1))
                    .unwrap();
            let ws = conv.weight_shape();
            let w = ArrayD::from_shape_vec(ws.clone(), rand(ws.iter().product(), 2)).unwrap();
            let b =
                ArrayD::from_shape_vec(vec![gm.out_channels], rand(gm.out_channels, 3)).unwrap();
            let oshape = (n, gm.out_channels, gm.out_size.h, gm.out_size.w);
            let (mut y1, mut y2) = (Tensor::zeros(oshape), Tensor::zeros(oshape));
            conv.forward_im2col(&x, &w, Some(&b), &mut y1);
            conv.forward_shifted(&x, &w, Some(&b), &mut y2);
            let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-10);
            assert!(
                close(y1.as_slice().unwrap(), y2.as_slice().unwrap()),
                "{gm:?}"
            );
            let dy = Tensor::from_shape_vec(oshape, rand(y1.len(), 4)).unwrap();
            let (mut dw1, mut dw2) = (w.mapv(|_| 0.5), w.mapv(|_| 0.5));
            let (mut dx1, mut dx2) = (x.mapv(|_| 9.0), x.mapv(|_| 9.0));
            conv.backward_im2col(&x, &w, &dy, &mut dw1, Some(&mut dx1));
            conv.backward_shifted(&x, &w, &dy, &mut dw2, Some(&mut dx2));
            assert!(
                close(dw1.as_slice().unwrap(), dw2.as_slice().unwrap()),
                "dw {gm:?}"
            );
            assert!(
                close(dx1.as_slice().unwrap(), dx2.as_slice().unwrap()),
                "dx {gm:?}"
            );
            // f32 runs the SIMD direct kernel (where available) on the same layout.
            let (x32, w32, b32) = (
                x.mapv(|v| v as f32),
                w.mapv(|v| v as f32),
                b.mapv(|v| v as f32),
            );
            let (mut z1, mut z2) = (Tensor::<f32>::zeros(oshape), Tensor::<f32>::zeros(oshape));
            conv.forward_im2col(&x32, &w32, Some(&b32), &mut z1);
            conv.forward_shifted(&x32, &w32, Some(&b32), &mut z2);
            for (u, v) in z1.iter().zip(z2.iter()) {
                assert!((u - v).abs() < 1e-4, "f32 {gm:?}: {u} vs {v}");
            }
            let dy32 = dy.mapv(|v| v as f32);
            let (mut dw1, mut dw2) = (w32.mapv(|_| 0.5), w32.mapv(|_| 0.5));
            let (mut dx1, mut dx2) = (x32.mapv(|_| 9.0), x32.mapv(|_| 9.0));
            conv.backward_im2col(&x32, &w32, &dy32, &mut dw1, Some(&mut dx1));
            conv.backward_shifted(&x32, &w32, &dy32, &mut dw2, Some(&mut dx2));
            for (u, v) in dw1.iter().zip(dw2.iter()).chain(dx1.iter().zip(dx2.iter())) {
                assert!((u - v).abs() < 1e-3, "f32 backward {gm:?}: {u} vs {v}");
            }
        }
    }
}
