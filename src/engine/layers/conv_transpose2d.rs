//! Transposed convolution: each input pixel stamps the kernel onto the output, `stride`
//! apart. Computed as GEMM + col2im (a plain depth-to-space rearrangement when kernel =
//! stride); its backward is im2col + GEMM, the conv forward.

use ndarray::ArrayD;

use serde::{Deserialize, Serialize};

use super::Layer;
use super::ParamShape;
use super::compute::{Backward, Compute, Forward, add_bias_grad, output_buffer};
use super::conv2d::{TIP_BIAS, TIP_KERNEL, TIP_OUT_CHANNELS, TIP_STRIDE};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs};
use super::window::{Taps, col2im_add, im2col};
use crate::engine::error::GraphError;
use crate::engine::gemm::{Op, gemm};
use crate::engine::geometry::{Pads, Pair, pair_one, pair_zero, yes};
use crate::engine::kernels;
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

    /// Whether every output pixel comes from exactly one input pixel and kernel tap
    /// (kernel = stride, no cropping or output padding: the usual ×2 upsampling of
    /// decoders). The output is then the GEMM's columns rearranged depth-to-space, with
    /// no scatter-add, and the backward's columns are the gradient rearranged back.
    fn tiles_output(&self) -> bool {
        let g = &self.geom;
        g.kernel == g.stride
            && g.pads == Pads::default()
            && self.full_size() == Pair::new(g.in_size.h * g.kernel.h, g.in_size.w * g.kernel.w)
    }

    /// The uncropped output buffer the col2im path scatters into, per sample: none when
    /// [`ConvTranspose2d::tiles_output`] (depth-to-space writes the output directly).
    fn scatter_len(&self) -> usize {
        let full = self.full_size();
        if self.tiles_output() {
            0
        } else {
            self.geom.out_channels * full.h * full.w
        }
    }

    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
    ) -> Tensor<T> {
        let g = &self.geom;
        let mut y = Tensor::<T>::zeros((x.shape()[0], g.out_channels, g.out_size.h, g.out_size.w));
        self.forward_into(x, weight, bias, &mut y);
        y
    }

    /// [`ConvTranspose2d::forward`] into `y` (the output's shape): every element written.
    pub fn forward_into<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
        y: &mut Tensor<T>,
    ) {
        let g = &self.geom;
        let n = x.shape()[0];
        let hw = g.in_size.h * g.in_size.w;
        let kt = g.out_channels * g.kernel.h * g.kernel.w;
        let full = self.full_size();
        let tiles = self.tiles_output();
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let bs = bias.map(|b| b.as_slice().expect("contiguous bias"));
        let ys = y.as_slice_mut().expect("standard layout");
        let buf_len = self.scatter_len();
        kernels::with_scratch::<T, _>(kt * hw, buf_len, |col, buf| {
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
                    col,
                );
                let out = &mut ys[s * g.out_channels * oh * ow..(s + 1) * g.out_channels * oh * ow];
                if tiles {
                    depth_to_space(col, g.out_channels, g.kernel, g.in_size, bs, out);
                    continue;
                }
                buf.fill(T::zero());
                col2im_add(col, g.out_channels, self.taps(), buf);
                for c in 0..g.out_channels {
                    let b = bs.map_or(T::zero(), |b| b[c]);
                    for i in 0..oh {
                        let src =
                            &buf[(c * full.h + i + g.pads.top) * full.w + g.pads.left..][..ow];
                        let dst = &mut out[(c * oh + i) * ow..][..ow];
                        for (d, &v) in dst.iter_mut().zip(src) {
                            *d = v + b;
                        }
                    }
                }
            }
        });
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
        let mut dx = need_dx.then(|| Tensor::<T>::zeros(x.raw_dim()));
        self.backward_into(x, weight, dy, dweight, dbias, dx.as_mut());
        dx
    }

    /// [`ConvTranspose2d::backward`] with the input gradient, when wanted, written into
    /// `dx` (the input's shape; every element written).
    pub fn backward_into<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        dy: &Tensor<T>,
        dweight: &mut ArrayD<T>,
        dbias: Option<&mut ArrayD<T>>,
        mut dx: Option<&mut Tensor<T>>,
    ) {
        let g = &self.geom;
        let n = x.shape()[0];
        let hw = g.in_size.h * g.in_size.w;
        let kt = g.out_channels * g.kernel.h * g.kernel.w;
        let full = self.full_size();
        let tiles = self.tiles_output();
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let x = x.as_standard_layout();
        let dy = dy.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let dys = dy.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let dws = dweight.as_slice_mut().expect("contiguous weight grad");
        let mut dxs = dx
            .as_mut()
            .map(|d| d.as_slice_mut().expect("standard layout"));
        let buf_len = self.scatter_len();
        kernels::with_scratch::<T, _>(kt * hw, buf_len, |col, buf| {
            for s in 0..n {
                let dys_s = &dys[s * g.out_channels * oh * ow..(s + 1) * g.out_channels * oh * ow];
                if tiles {
                    space_to_depth(dys_s, g.out_channels, g.kernel, g.in_size, col);
                } else {
                    for c in 0..g.out_channels {
                        for i in 0..full.h {
                            let row = &mut buf[(c * full.h + i) * full.w..][..full.w];
                            row.fill(T::zero());
                            if i >= g.pads.top && i < g.pads.top + oh {
                                row[g.pads.left..g.pads.left + ow].copy_from_slice(
                                    &dys_s[(c * oh + i - g.pads.top) * ow..][..ow],
                                );
                            }
                        }
                    }
                    im2col(buf, g.out_channels, self.taps(), col);
                }
                let xin = &xs[s * g.in_channels * hw..(s + 1) * g.in_channels * hw];
                gemm(
                    g.in_channels,
                    kt,
                    hw,
                    T::one(),
                    xin,
                    Op::N,
                    col,
                    Op::T,
                    T::one(),
                    dws,
                );
                if let Some(dxs) = dxs.as_mut() {
                    gemm(
                        g.in_channels,
                        hw,
                        kt,
                        T::one(),
                        ws,
                        Op::N,
                        col,
                        Op::N,
                        T::zero(),
                        &mut dxs[s * g.in_channels * hw..(s + 1) * g.in_channels * hw],
                    );
                }
            }
        });
        if let Some(db) = dbias {
            let db = db.as_slice_mut().expect("contiguous bias grad");
            add_bias_grad(dys, g.out_channels, oh * ow, db);
        }
    }
}

/// `out[c, i·kh + a, j·kw + b] = col[((c·kh + a)·kw + b)·hw + i·w + j] + bias[c]` for an
/// `in_size` input (`hw = h·w`): the transposed conv's output when each kernel tap lands
/// on its own pixel. Rows are written whole, so every element of `out` is written.
fn depth_to_space<T: Scalar>(
    col: &[T],
    channels: usize,
    k: Pair,
    in_size: Pair,
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let (h, w) = (in_size.h, in_size.w);
    let (hw, ow) = (h * w, w * k.w);
    for c in 0..channels {
        let b = bias.map_or(T::zero(), |b| b[c]);
        for a in 0..k.h {
            let taps = &col[(c * k.h + a) * k.w * hw..(c * k.h + a + 1) * k.w * hw];
            for i in 0..h {
                let row = &mut out[(c * h * k.h + i * k.h + a) * ow..][..ow];
                if k.w == 2 {
                    // The common ×2 case in one pass, so the interleaved store vectorises.
                    let (t0, t1) = (&taps[i * w..][..w], &taps[hw + i * w..][..w]);
                    for ((o, &v0), &v1) in row.chunks_exact_mut(2).zip(t0).zip(t1) {
                        o[0] = v0 + b;
                        o[1] = v1 + b;
                    }
                } else {
                    for (bw, tap) in taps.chunks_exact(hw).enumerate() {
                        for (j, &v) in tap[i * w..(i + 1) * w].iter().enumerate() {
                            row[j * k.w + bw] = v + b;
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint rearrangement of [`depth_to_space`] (without bias):
/// `col[((c·kh + a)·kw + b)·hw + i·w + j] = g[c, i·kh + a, j·kw + b]`.
fn space_to_depth<T: Scalar>(g: &[T], channels: usize, k: Pair, in_size: Pair, col: &mut [T]) {
    let (h, w) = (in_size.h, in_size.w);
    let (hw, ow) = (h * w, w * k.w);
    for c in 0..channels {
        for a in 0..k.h {
            let taps = &mut col[(c * k.h + a) * k.w * hw..(c * k.h + a + 1) * k.w * hw];
            for i in 0..h {
                let row = &g[(c * h * k.h + i * k.h + a) * ow..][..ow];
                if k.w == 2 {
                    let (t0, t1) = taps.split_at_mut(hw);
                    let (t0, t1) = (&mut t0[i * w..][..w], &mut t1[i * w..][..w]);
                    for ((o, d0), d1) in row.chunks_exact(2).zip(t0).zip(t1) {
                        *d0 = o[0];
                        *d1 = o[1];
                    }
                } else {
                    for (bw, tap) in taps.chunks_exact_mut(hw).enumerate() {
                        for (j, d) in tap[i * w..(i + 1) * w].iter_mut().enumerate() {
                            *d = row[j * k.w + bw];
                        }
                    }
                }
            }
        }
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
        let mut y = output_buffer(f.old_output, f.out_dim);
        self.forward_into(f.ins[0], &ps[0].value, ps.get(1).map(|p| &p.value), &mut y);
        y
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let (w, bias) = b.params.split_at_mut(1);
        let mut dx = b.want_dx.then(b.dx_buffer);
        self.backward_into(
            b.ins[0],
            &w[0].value,
            b.dy,
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

    /// The depth-to-space path (kernel = stride) against the definition, forward and
    /// backward, for ×2, ×3 and non-square kernels, into buffers holding garbage.
    #[test]
    fn tiled_transposed_conv_matches_the_definition() {
        for (kh, kw) in [(2, 2), (3, 3), (2, 3), (1, 2)] {
            let (n, ci, co, h, w) = (2, 3, 4, 3, 5);
            let k = Pair::new(kh, kw);
            let conv = ConvTranspose2d {
                geom: WindowGeometry {
                    in_channels: ci,
                    out_channels: co,
                    kernel: k,
                    stride: k,
                    dilation: Pair::square(1),
                    pads: Pads::default(),
                    groups: 1,
                    in_size: Pair::new(h, w),
                    out_size: Pair::new(h * kh, w * kw),
                },
                has_bias: true,
            };
            assert!(conv.tiles_output());
            let mut r = crate::engine::rng::Rng::new(7);
            let mut rand =
                |d: &[usize]| ArrayD::from_shape_fn(d.to_vec(), |_| r.uniform(-1.0, 1.0));
            let x = rand(&[n, ci, h, w]).into_dimensionality().unwrap();
            let wt = rand(&[ci, co, kh, kw]);
            let b = rand(&[co]);
            let dy: Tensor<f64> = rand(&[n, co, h * kh, w * kw])
                .into_dimensionality()
                .unwrap();
            let mut y = Tensor::<f64>::from_elem((n, co, h * kh, w * kw), f64::NAN);
            conv.forward_into(&x, &wt, Some(&b), &mut y);
            let (mut dw, mut db) = (ArrayD::zeros(wt.raw_dim()), ArrayD::zeros(b.raw_dim()));
            let mut dx = Tensor::<f64>::from_elem(x.raw_dim(), f64::NAN);
            conv.backward_into(&x, &wt, &dy, &mut dw, Some(&mut db), Some(&mut dx));
            let (mut want_dw, mut want_db) =
                (ArrayD::zeros(wt.raw_dim()), ArrayD::zeros(b.raw_dim()));
            let mut want_dx = Tensor::<f64>::zeros(x.raw_dim());
            for s in 0..n {
                for o in 0..co {
                    for i in 0..h * kh {
                        for j in 0..w * kw {
                            let (pi, pj, a, bb) = (i / kh, j / kw, i % kh, j % kw);
                            let mut want = b[[o]];
                            let g = dy[[s, o, i, j]];
                            want_db[[o]] += g;
                            for c in 0..ci {
                                want += x[[s, c, pi, pj]] * wt[[c, o, a, bb]];
                                want_dw[[c, o, a, bb]] += x[[s, c, pi, pj]] * g;
                                want_dx[[s, c, pi, pj]] += wt[[c, o, a, bb]] * g;
                            }
                            assert!((y[[s, o, i, j]] - want).abs() < 1e-12, "{kh}×{kw} y");
                        }
                    }
                }
            }
            let close = |a: &ArrayD<f64>, b: &ArrayD<f64>| {
                a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-12)
            };
            assert!(close(&dw, &want_dw), "{kh}×{kw} dW");
            assert!(close(&db, &want_db), "{kh}×{kw} db");
            assert!(close(&dx.into_dyn(), &want_dx.into_dyn()), "{kh}×{kw} dX");
        }
    }
}
