//! Transposed convolution: each input pixel stamps the kernel onto the output, `stride`
//! apart. Computed as GEMM + col2im; its backward is im2col + GEMM, the conv forward.

use ndarray::ArrayD;

use serde::{Deserialize, Serialize};

use super::Layer;
use super::ParamShape;
use super::compute::{Backward, Compute, Forward};
use super::conv2d::{TIP_BIAS, TIP_KERNEL, TIP_OUT_CHANNELS, TIP_STRIDE};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs};
use super::window::{Taps, col2im_add, im2col};
use crate::engine::error::GraphError;
use crate::engine::gemm::{Op, gemm};
use crate::engine::geometry::{Pads, Pair, pair_one, pair_zero, yes};
use crate::engine::node_facts::{
    MAX_CHANNELS, MAX_KERNEL, NodeFacts, WindowGeometry, check_pair, check_size,
};
use crate::engine::tensor::{Scalar, Tensor};

/// The hyper-parameters of a transposed conv node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvTranspose2dConfig {
    pub out_channels: usize,
    pub kernel: Pair,
    #[serde(default = "pair_one")]
    pub stride: Pair,
    /// Rows/columns cropped from each side of the full transposed output.
    #[serde(default = "pair_zero")]
    pub padding: Pair,
    #[serde(default = "pair_zero")]
    pub output_padding: Pair,
    #[serde(default = "yes")]
    pub bias: bool,
}

impl Default for ConvTranspose2dConfig {
    /// The palette's: 8 channels, 2×2 kernel at stride 2 (doubles height and width).
    fn default() -> Self {
        ConvTranspose2dConfig {
            out_channels: 8,
            kernel: Pair::square(2),
            stride: Pair::square(2),
            padding: Pair::square(0),
            output_padding: Pair::square(0),
            bias: true,
        }
    }
}

const TIP_CROP: &str =
    "Rows/columns cropped from each side of the full transposed output (PyTorch's padding).";
const TIP_OUTPUT_PADDING: &str =
    "Extra rows/columns added on one side, to reach an exact output size when the stride is > 1.";

impl Kind for ConvTranspose2dConfig {
    fn about(&self) -> &'static str {
        "Transposed convolution: each input pixel stamps a learned kernel onto a larger output (learned upsampling, as in U-Net's decoder)."
    }

    fn name_prefix(&self) -> &'static str {
        "up"
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
            Field::new("padding", TIP_CROP, FieldValue::Pair(&mut self.padding, 0)),
            Field::new(
                "output padding",
                TIP_OUTPUT_PADDING,
                FieldValue::Pair(&mut self.output_padding, 0),
            ),
            Field::new("bias", TIP_BIAS, FieldValue::Flag(&mut self.bias)),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let ConvTranspose2dConfig {
            out_channels,
            kernel,
            stride,
            padding: p,
            output_padding: op,
            bias,
        } = self;
        let (name, x, rf_in) = (at.name, at.x(), at.field());
        check_size(name, "out_channels", *out_channels, MAX_CHANNELS)?;
        check_pair(name, "kernel", *kernel, MAX_KERNEL)?;
        check_pair(name, "stride", *stride, MAX_KERNEL)?;
        if op.h >= stride.h || op.w >= stride.w {
            return Err(at.error("output_padding must be smaller than the stride"));
        }
        let full = Pair::new(
            (x[1] - 1) * stride.h + kernel.h + op.h,
            (x[2] - 1) * stride.w + kernel.w + op.w,
        );
        if 2 * p.h >= full.h || 2 * p.w >= full.w {
            return Err(at.error(format!(
                "padding {}×{} crops away the whole {}×{} output",
                p.h, p.w, full.h, full.w
            )));
        }
        let out = Pair::new(full.h - 2 * p.h, full.w - 2 * p.w);
        let per_in = kernel.h * kernel.w * out_channels;
        let params = per_in * x[0] + if *bias { *out_channels } else { 0 };
        let formula = if *bias {
            format!(
                "{}·{}·{}·{}+{}",
                kernel.h, kernel.w, x[0], out_channels, out_channels
            )
        } else {
            format!("{}·{}·{}·{}", kernel.h, kernel.w, x[0], out_channels)
        };
        let flops = 2 * (x[0] * x[1] * x[2] * per_in) as u64;
        let window = WindowGeometry {
            in_channels: x[0],
            out_channels: *out_channels,
            kernel: *kernel,
            stride: *stride,
            dilation: Pair::square(1),
            pads: Pads::symmetric(*p),
            groups: 1,
            in_size: Pair::new(x[1], x[2]),
            out_size: out,
        };
        // An output pixel gathers from about kernel/stride inputs: its field grows
        // by (kernel/stride − 1) input jumps and the jump shrinks by the stride.
        let mut rf = rf_in;
        for a in 0..2 {
            let (k, s) = if a == 0 {
                (kernel.h, stride.h)
            } else {
                (kernel.w, stride.w)
            };
            let reach = (k as f64 / s as f64).ceil() - 1.0;
            rf.size[a] = rf_in.size[a] + reach * rf_in.jump[a];
            rf.jump[a] = rf_in.jump[a] / s as f64;
            let pad = if a == 0 { p.h } else { p.w } as f64;
            rf.offset[a] = rf_in.offset[a] - (k as f64 - 1.0 - 2.0 * pad) / 2.0 * rf.jump[a] + 0.0;
        }
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
        Layer::ConvTranspose(ConvTranspose2d {
            geom: facts.window.expect("conv has a window"),
            has_bias: self.bias,
        })
    }
}

/// A transposed conv node's computation with its resolved geometry.

#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    pub geom: WindowGeometry,
    pub has_bias: bool,
}

impl ConvTranspose2d {
    /// Weight shape `[in, out, kh, kw]`, PyTorch's layout.
    pub fn weight_shape(&self) -> Vec<usize> {
        let g = &self.geom;
        vec![g.in_channels, g.out_channels, g.kernel.h, g.kernel.w]
    }

    /// The uncropped output: every stamped position, plus output padding.
    fn full_size(&self) -> Pair {
        let g = &self.geom;
        Pair::new(
            g.out_size.h + g.pads.top + g.pads.bottom,
            g.out_size.w + g.pads.left + g.pads.right,
        )
    }

    fn taps(&self) -> Taps {
        let g = &self.geom;
        Taps {
            kernel: g.kernel,
            stride: g.stride,
            dilation: Pair::square(1),
            src: self.full_size(),
            out: g.in_size,
        }
    }

    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
    ) -> Tensor<T> {
        let g = &self.geom;
        let n = x.shape()[0];
        let hw = g.in_size.h * g.in_size.w;
        let kt = g.out_channels * g.kernel.h * g.kernel.w;
        let full = self.full_size();
        let mut col = vec![T::zero(); kt * hw];
        let mut buf = vec![T::zero(); g.out_channels * full.h * full.w];
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let mut y = Tensor::<T>::zeros((n, g.out_channels, oh, ow));
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let ys = y.as_slice_mut().expect("fresh array");
        for s in 0..n {
            let xin = &xs[s * g.in_channels * hw..(s + 1) * g.in_channels * hw];
            gemm(
                kt,
                hw,
                g.in_channels,
                T::one(),
                ws,
                Op::T,
                xin,
                Op::N,
                T::zero(),
                &mut col,
            );
            buf.iter_mut().for_each(|v| *v = T::zero());
            col2im_add(&col, g.out_channels, self.taps(), &mut buf);
            let out = &mut ys[s * g.out_channels * oh * ow..(s + 1) * g.out_channels * oh * ow];
            for c in 0..g.out_channels {
                let b = bias.map_or(T::zero(), |b| b[c]);
                for i in 0..oh {
                    let src = &buf[(c * full.h + i + g.pads.top) * full.w + g.pads.left..][..ow];
                    let dst = &mut out[(c * oh + i) * ow..][..ow];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = v + b;
                    }
                }
            }
        }
        y
    }

    pub fn backward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        dy: &Tensor<T>,
        dweight: &mut ArrayD<T>,
        dbias: Option<&mut ArrayD<T>>,
        need_dx: bool,
    ) -> Option<Tensor<T>> {
        let g = &self.geom;
        let n = x.shape()[0];
        let hw = g.in_size.h * g.in_size.w;
        let kt = g.out_channels * g.kernel.h * g.kernel.w;
        let full = self.full_size();
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let mut col = vec![T::zero(); kt * hw];
        let mut buf = vec![T::zero(); g.out_channels * full.h * full.w];
        let x = x.as_standard_layout();
        let dy = dy.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let dys = dy.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let dws = dweight.as_slice_mut().expect("contiguous weight grad");
        let mut dx = need_dx.then(|| Tensor::<T>::zeros(x.raw_dim()));
        for s in 0..n {
            let dys_s = &dys[s * g.out_channels * oh * ow..(s + 1) * g.out_channels * oh * ow];
            for c in 0..g.out_channels {
                for i in 0..full.h {
                    let row = &mut buf[(c * full.h + i) * full.w..][..full.w];
                    row.fill(T::zero());
                    if i >= g.pads.top && i < g.pads.top + oh {
                        row[g.pads.left..g.pads.left + ow]
                            .copy_from_slice(&dys_s[(c * oh + i - g.pads.top) * ow..][..ow]);
                    }
                }
            }
            im2col(&buf, g.out_channels, self.taps(), &mut col);
            let xin = &xs[s * g.in_channels * hw..(s + 1) * g.in_channels * hw];
            gemm(
                g.in_channels,
                kt,
                hw,
                T::one(),
                xin,
                Op::N,
                &col,
                Op::T,
                T::one(),
                dws,
            );
            if let Some(dx) = dx.as_mut() {
                let dxs = dx.as_slice_mut().expect("fresh array");
                let dxs = &mut dxs[s * g.in_channels * hw..(s + 1) * g.in_channels * hw];
                gemm(
                    g.in_channels,
                    hw,
                    kt,
                    T::one(),
                    ws,
                    Op::N,
                    &col,
                    Op::N,
                    T::zero(),
                    dxs,
                );
            }
        }
        if let Some(db) = dbias {
            let p = oh * ow;
            for (c, d) in db.iter_mut().enumerate() {
                let mut acc = T::zero();
                for s in 0..n {
                    let o = (s * g.out_channels + c) * p;
                    acc += dys[o..o + p].iter().copied().sum::<T>();
                }
                *d += acc;
            }
        }
        dx
    }
}

impl Compute for ConvTranspose2d {
    fn param_shapes(&self) -> Vec<ParamShape> {
        ParamShape::weight_and_bias(self.weight_shape(), self.has_bias, self.geom.out_channels)
    }

    fn fans(&self) -> Option<(usize, usize)> {
        let k = self.geom.kernel.h * self.geom.kernel.w;
        // PyTorch's weight is [in, out, kh, kw], so its "fan in" is out·k.
        Some((self.geom.out_channels * k, self.geom.in_channels * k))
    }

    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let ps = f.params;
        self.forward(f.ins[0], &ps[0].value, ps.get(1).map(|p| &p.value))
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let (w, bias) = b.params.split_at_mut(1);
        self.backward(
            b.ins[0],
            &w[0].value,
            b.dy,
            &mut w[0].grad,
            bias.first_mut().map(|p| &mut p.grad),
            b.want_dx,
        )
        .into_iter()
        .collect()
    }
}
