//! 2-D convolution (cross-correlation, as in PyTorch) as im2col + GEMM, with stride,
//! dilation, groups and zero / reflect / replicate borders.

use ndarray::ArrayD;

use std::ops::Range;

use super::window::{Taps, col2im_rows_add, im2col_rows, pad, unpad_add};
use crate::engine::facts::WindowGeometry;
use crate::engine::gemm::{Op, gemm, gemm_ld};
use crate::engine::kernels;

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
use crate::engine::model_spec::{PaddingMode, Pair};
use crate::engine::tensor::{Scalar, Tensor};

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
        } else {
            self.forward_im2col(x, weight, bias, y);
        }
    }

    fn forward_im2col<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
        y: &mut Tensor<T>,
    ) {
        let g = &self.geom;
        let p = g.out_size.h * g.out_size.w;
        let ow = g.out_size.w;
        let (kg, cog) = (self.group_k(), g.out_channels / g.groups);
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let bs = bias.map(|b| b.as_slice().expect("contiguous bias"));
        let sample_in = g.in_channels * g.in_size.h * g.in_size.w;
        let ys = y.as_slice_mut().expect("standard layout");
        kernels::with_scratch::<T, _>(self.padded_len(), self.col_len(), |padded, col| {
            for (s, out) in ys.chunks_mut(g.out_channels * p).enumerate() {
                let xin = &xs[s * sample_in..(s + 1) * sample_in];
                if self.is_pointwise() {
                    for gi in 0..g.groups {
                        gemm(
                            cog,
                            p,
                            kg,
                            T::one(),
                            &ws[gi * cog * kg..(gi + 1) * cog * kg],
                            Op::N,
                            &xin[gi * kg * p..(gi + 1) * kg * p],
                            Op::N,
                            T::zero(),
                            &mut out[gi * cog * p..(gi + 1) * cog * p],
                        );
                    }
                } else {
                    let src = self.source(xin, padded);
                    for rows in self.row_chunks() {
                        let pc = rows.len() * ow;
                        im2col_rows(src, g.in_channels, self.taps(), rows.clone(), col);
                        for gi in 0..g.groups {
                            gemm_ld(
                                cog,
                                pc,
                                kg,
                                T::one(),
                                &ws[gi * cog * kg..(gi + 1) * cog * kg],
                                kg,
                                Op::N,
                                &col[gi * kg * pc..(gi + 1) * kg * pc],
                                pc,
                                Op::N,
                                T::zero(),
                                &mut out[gi * cog * p + rows.start * ow..],
                                p,
                            );
                        }
                    }
                }
                if let Some(b) = bs {
                    for (o, &bv) in out.chunks_mut(p).zip(b) {
                        kernels::add_scalar(o, bv);
                    }
                }
            }
        });
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
            let p = g.out_size.h * g.out_size.w;
            let dy = dy.as_standard_layout();
            let dys = dy.as_slice().expect("standard layout");
            for (c, d) in db.iter_mut().enumerate() {
                let mut acc = T::zero();
                for s in 0..x.shape()[0] {
                    let o = (s * g.out_channels + c) * p;
                    acc += kernels::sum(&dys[o..o + p]);
                }
                *d += acc;
            }
        }
    }

    fn backward_im2col<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        dy: &Tensor<T>,
        dweight: &mut ArrayD<T>,
        mut dx: Option<&mut Tensor<T>>,
    ) {
        let g = &self.geom;
        let p = g.out_size.h * g.out_size.w;
        let ow = g.out_size.w;
        let (kg, cog) = (self.group_k(), g.out_channels / g.groups);
        let x = x.as_standard_layout();
        let dy = dy.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let dys = dy.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let dws = dweight.as_slice_mut().expect("contiguous weight grad");
        let sample_in = g.in_channels * g.in_size.h * g.in_size.w;
        let n = x.shape()[0];
        let mut dxs = dx
            .as_mut()
            .map(|d| d.as_slice_mut().expect("standard layout"));
        // The padded-input gradient needs its own buffer next to the padded input.
        let plen = self.padded_len();
        kernels::with_scratch::<T, _>(2 * plen, self.col_len(), |pads, col| {
            let (padded, dpadded) = pads.split_at_mut(plen);
            for s in 0..n {
                let dys_s = &dys[s * g.out_channels * p..(s + 1) * g.out_channels * p];
                let xin = &xs[s * sample_in..(s + 1) * sample_in];
                let mut dx_s = dxs
                    .as_mut()
                    .map(|d| &mut d[s * sample_in..(s + 1) * sample_in]);
                if self.is_pointwise() {
                    for gi in 0..g.groups {
                        let dyg = &dys_s[gi * cog * p..(gi + 1) * cog * p];
                        let xg = &xin[gi * kg * p..(gi + 1) * kg * p];
                        gemm(
                            cog,
                            kg,
                            p,
                            T::one(),
                            dyg,
                            Op::N,
                            xg,
                            Op::T,
                            T::one(),
                            &mut dws[gi * cog * kg..(gi + 1) * cog * kg],
                        );
                        if let Some(d) = dx_s.as_mut() {
                            gemm(
                                kg,
                                p,
                                cog,
                                T::one(),
                                &ws[gi * cog * kg..(gi + 1) * cog * kg],
                                Op::T,
                                dyg,
                                Op::N,
                                T::zero(),
                                &mut d[gi * kg * p..(gi + 1) * kg * p],
                            );
                        }
                    }
                    continue;
                }
                let src = self.source(xin, padded);
                if dx_s.is_some() {
                    if self.has_pads() {
                        dpadded.fill(T::zero());
                    } else if let Some(d) = dx_s.as_mut() {
                        d.fill(T::zero());
                    }
                }
                for rows in self.row_chunks() {
                    let pc = rows.len() * ow;
                    im2col_rows(src, g.in_channels, self.taps(), rows.clone(), col);
                    for gi in 0..g.groups {
                        // dW_g += dy_g(chunk) · col_gᵀ
                        gemm_ld(
                            cog,
                            kg,
                            pc,
                            T::one(),
                            &dys_s[gi * cog * p + rows.start * ow..],
                            p,
                            Op::N,
                            &col[gi * kg * pc..(gi + 1) * kg * pc],
                            pc,
                            Op::T,
                            T::one(),
                            &mut dws[gi * cog * kg..(gi + 1) * cog * kg],
                            kg,
                        );
                    }
                    if let Some(dxv) = dx_s.as_mut() {
                        // dcol_g = W_gᵀ · dy_g(chunk), folded back onto the (padded) input.
                        for gi in 0..g.groups {
                            gemm_ld(
                                kg,
                                pc,
                                cog,
                                T::one(),
                                &ws[gi * cog * kg..(gi + 1) * cog * kg],
                                kg,
                                Op::T,
                                &dys_s[gi * cog * p + rows.start * ow..],
                                p,
                                Op::N,
                                T::zero(),
                                &mut col[gi * kg * pc..(gi + 1) * kg * pc],
                                pc,
                            );
                        }
                        let target: &mut [T] = if self.has_pads() { dpadded } else { dxv };
                        col2im_rows_add(col, g.in_channels, self.taps(), rows.clone(), target);
                    }
                }
                if let (true, Some(d)) = (self.has_pads(), dx_s.as_mut()) {
                    d.fill(T::zero());
                    unpad_add(
                        dpadded,
                        g.in_channels,
                        g.in_size.h,
                        g.in_size.w,
                        g.pads,
                        self.padding_mode,
                        d,
                    );
                }
            }
        });
    }

    /// Stride-1 convs with enough input channels skip im2col: on the padded input, output
    /// position `q = i·wp + j` of tap `(ki, kj)` reads `padded[c, q + ki·dh·wp + kj·dw]`, so
    /// each tap is one GEMM (`K = in/groups`) over a "wide" output of `oh × wp` columns (the
    /// last `wp − ow` of each row are junk and dropped). The backward uses the same views.
    fn shifted_ok(&self) -> bool {
        let g = &self.geom;
        g.stride == Pair::square(1)
            && g.in_channels / g.groups >= shifted_min_cin()
            && !self.is_pointwise()
    }

    /// Offsets of the taps into a padded plane, in weight order `(ki, kj)`.
    fn tap_offsets(&self) -> Vec<usize> {
        let g = &self.geom;
        let wp = self.padded_size().w;
        (0..g.kernel.h)
            .flat_map(|ki| {
                (0..g.kernel.w).map(move |kj| ki * g.dilation.h * wp + kj * g.dilation.w)
            })
            .collect()
    }

    /// Padded plane stack plus the slack the last taps read past its end.
    fn shifted_padded_len(&self) -> usize {
        let g = &self.geom;
        let ps = self.padded_size();
        g.in_channels * ps.h * ps.w + (g.kernel.w - 1) * g.dilation.w
    }

    /// Copies `x` into `dst` with borders (any padding mode) and zeroed slack.
    fn pad_into<T: Scalar>(&self, x: &[T], dst: &mut [T]) {
        let g = &self.geom;
        let ps = self.padded_size();
        let body = g.in_channels * ps.h * ps.w;
        if self.has_pads() {
            pad(
                x,
                g.in_channels,
                g.in_size.h,
                g.in_size.w,
                g.pads,
                self.padding_mode,
                &mut dst[..body],
            );
        } else {
            dst[..body].copy_from_slice(x);
        }
        dst[body..].fill(T::zero());
    }

    /// Weights regrouped tap-major: `wk[t][co][ci]` from `w[co][ci][ki][kj]`.
    fn weights_by_tap<T: Scalar>(&self, ws: &[T], wk: &mut [T]) {
        let g = &self.geom;
        let taps = g.kernel.h * g.kernel.w;
        let cig = g.in_channels / g.groups;
        for (t, wt) in wk.chunks_mut(g.out_channels * cig).take(taps).enumerate() {
            for (d, &w) in wt.iter_mut().zip(ws.iter().skip(t).step_by(taps)) {
                *d = w;
            }
        }
    }

    fn forward_shifted<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
        y: &mut Tensor<T>,
    ) {
        let g = &self.geom;
        let ps = self.padded_size();
        let plane = ps.h * ps.w;
        let (oh, ow, wp) = (g.out_size.h, g.out_size.w, ps.w);
        let q = oh * wp;
        let p = oh * ow;
        let (cig, cog) = (g.in_channels / g.groups, g.out_channels / g.groups);
        let taps = g.kernel.h * g.kernel.w;
        let offs = self.tap_offsets();
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let bs = bias.map(|b| b.as_slice().expect("contiguous bias"));
        let sample_in = g.in_channels * g.in_size.h * g.in_size.w;
        let ys = y.as_slice_mut().expect("standard layout");
        let plen = self.shifted_padded_len();
        let wlen = taps * g.out_channels * cig;
        let split_ok = kernels::pool::intra_op() && 2 * taps * cog * cig * q >= INTRA_MIN_FLOPS;
        kernels::with_scratch::<T, _>(plen + wlen, g.out_channels * q, |a, wide| {
            let (padded, wk) = a.split_at_mut(plen);
            self.weights_by_tap(ws, wk);
            for (s, out) in ys.chunks_mut(g.out_channels * p).enumerate() {
                self.pad_into(&xs[s * sample_in..(s + 1) * sample_in], padded);
                let (padded, wk) = (&*padded, &*wk);
                // Output channels `cos` of group `gi` into `out` (their wide rows).
                let channels = |gi: usize, cos: Range<usize>, out: &mut [T]| {
                    let n_co = cos.len();
                    if let (Some(w32), Some(src32), Some(out32)) = (
                        kernels::as_f32(&wk[(gi * cog + cos.start) * cig..]),
                        kernels::as_f32(&padded[gi * cig * plane..]),
                        kernels::as_f32_mut(out),
                    ) && !kernels::scalar_forced()
                        && kernels::conv_direct_f32(
                            kernels::active(),
                            n_co,
                            cig,
                            &offs,
                            plane,
                            q,
                            w32,
                            g.out_channels * cig,
                            src32,
                            out32,
                            q,
                        )
                    {
                        return;
                    }
                    for (t, &off) in offs.iter().enumerate() {
                        gemm_ld(
                            n_co,
                            q,
                            cig,
                            T::one(),
                            &wk[(t * g.out_channels + gi * cog + cos.start) * cig..],
                            cig,
                            Op::N,
                            &padded[gi * cig * plane + off..],
                            plane,
                            Op::N,
                            if t == 0 { T::zero() } else { T::one() },
                            out,
                            q,
                        );
                    }
                };
                for gi in 0..g.groups {
                    let out = &mut wide[gi * cog * q..(gi + 1) * cog * q];
                    // Batch 1 on one replica: half the output channels (a multiple of the
                    // kernel's 4-channel tile) on a second thread.
                    let half = cog / 8 * 4;
                    if split_ok && half > 0 {
                        let (a, b) = out.split_at_mut(half * q);
                        kernels::pool::join(
                            || channels(gi, 0..half, a),
                            || channels(gi, half..cog, b),
                        );
                    } else {
                        channels(gi, 0..cog, out);
                    }
                }
                for co in 0..g.out_channels {
                    let b = bs.map_or(T::zero(), |b| b[co]);
                    for i in 0..oh {
                        let src = &wide[co * q + i * wp..][..ow];
                        let dst = &mut out[co * p + i * ow..][..ow];
                        dst.copy_from_slice(src);
                        if b != T::zero() {
                            kernels::add_scalar(dst, b);
                        }
                    }
                }
            }
        });
    }

    fn backward_shifted<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        dy: &Tensor<T>,
        dweight: &mut ArrayD<T>,
        mut dx: Option<&mut Tensor<T>>,
    ) {
        let g = &self.geom;
        let ps = self.padded_size();
        let plane = ps.h * ps.w;
        let (oh, ow, wp) = (g.out_size.h, g.out_size.w, ps.w);
        let q = oh * wp;
        let p = oh * ow;
        let (cig, cog) = (g.in_channels / g.groups, g.out_channels / g.groups);
        let taps = g.kernel.h * g.kernel.w;
        let offs = self.tap_offsets();
        let n = x.shape()[0];
        let x = x.as_standard_layout();
        let dy = dy.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let dys = dy.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let dws = dweight.as_slice_mut().expect("contiguous weight grad");
        let sample_in = g.in_channels * g.in_size.h * g.in_size.w;
        let mut dxs = dx
            .as_mut()
            .map(|d| d.as_slice_mut().expect("standard layout"));
        let plen = self.shifted_padded_len();
        let wlen = taps * g.out_channels * cig;
        let dplen = if dxs.is_some() { plen } else { 0 };
        // The input gradient of a stride-1 conv is itself a direct convolution: of dy
        // (wide, with `max_off` zero margins per channel) with the transposed weights at
        // mirrored offsets. Used when the SIMD direct kernel is there (f32, AVX-512).
        let max_off = offs.iter().copied().max().unwrap_or(0);
        let row = 2 * max_off + q;
        let direct_dx = dxs.is_some()
            && kernels::as_f32(ws).is_some()
            && !kernels::scalar_forced()
            && kernels::active() == kernels::KernelSet::Avx512;
        // Weight gradients: the direct AVX-512 kernel on the same wide layout.
        let direct_dw = kernels::as_f32(ws).is_some()
            && !kernels::scalar_forced()
            && kernels::active() == kernels::KernelSet::Avx512;
        let (tlen, dylen) = if direct_dx {
            (wlen, g.out_channels * row)
        } else {
            (0, 0)
        };
        let mirrored: Vec<usize> = offs.iter().map(|&o| max_off - o).collect();
        let split_ok = dxs.is_some()
            && kernels::pool::intra_op()
            && 2 * taps * g.out_channels * cig * q >= INTRA_MIN_FLOPS;
        kernels::with_scratch::<T, _>(
            plen + dplen + 2 * wlen + tlen + dylen,
            g.out_channels * q,
            |a, wide| {
                let (padded, a) = a.split_at_mut(plen);
                let (dpadded, a) = a.split_at_mut(dplen);
                let (wk, a) = a.split_at_mut(wlen);
                let (dwk, a) = a.split_at_mut(wlen);
                let (wkt, dyp) = a.split_at_mut(tlen);
                self.weights_by_tap(ws, wk);
                dwk.fill(T::zero());
                if direct_dx {
                    // wkt[t][ci][co] (per group: rows ci of cig, columns co of cog).
                    for t in 0..taps {
                        for gi in 0..g.groups {
                            for co in 0..cog {
                                for ci in 0..cig {
                                    wkt[t * g.in_channels * cog + (gi * cig + ci) * cog + co] =
                                        wk[(t * g.out_channels + gi * cog + co) * cig + ci];
                                }
                            }
                        }
                    }
                    dyp.fill(T::zero());
                }
                for s in 0..n {
                    self.pad_into(&xs[s * sample_in..(s + 1) * sample_in], padded);
                    // dy in the wide layout, junk columns zero.
                    let dys_s = &dys[s * g.out_channels * p..(s + 1) * g.out_channels * p];
                    for co in 0..g.out_channels {
                        for i in 0..oh {
                            let row = &mut wide[co * q + i * wp..][..wp];
                            row[..ow].copy_from_slice(&dys_s[co * p + i * ow..][..ow]);
                            row[ow..].fill(T::zero());
                        }
                    }
                    if direct_dx {
                        for co in 0..g.out_channels {
                            dyp[co * row + max_off..][..q].copy_from_slice(&wide[co * q..][..q]);
                        }
                    }
                    let (wide, padded, wk, wkt, dyp) = (&*wide, &*padded, &*wk, &*wkt, &*dyp);
                    let weight_grad = |dwk: &mut [T]| {
                        for gi in 0..g.groups {
                            // The direct AVX-512 kernel (f32), else one GEMM per tap.
                            if direct_dw
                                && let (Some(dy32), Some(src32), Some(dw32)) = (
                                    kernels::as_f32(&wide[gi * cog * q..]),
                                    kernels::as_f32(&padded[gi * cig * plane..]),
                                    kernels::as_f32_mut(&mut dwk[gi * cog * cig..]),
                                )
                            {
                                kernels::conv_weight_grad_f32(
                                    kernels::active(),
                                    cog,
                                    cig,
                                    &offs,
                                    q,
                                    dy32,
                                    q,
                                    src32,
                                    plane,
                                    dw32,
                                    g.out_channels * cig,
                                );
                                continue;
                            }
                            for (t, &off) in offs.iter().enumerate() {
                                // dWk[t][co][ci] += Σ_q dy[co, q] · padded[ci, q + off]
                                gemm_ld(
                                    cog,
                                    cig,
                                    q,
                                    T::one(),
                                    &wide[gi * cog * q..],
                                    q,
                                    Op::N,
                                    &padded[gi * cig * plane + off..],
                                    plane,
                                    Op::T,
                                    T::one(),
                                    &mut dwk[(t * g.out_channels + gi * cog) * cig..],
                                    cig,
                                );
                            }
                        }
                    };
                    // dpadded (every element) from dy: the direct kernel, else one GEMM
                    // per tap.
                    let input_grad = |dpadded: &mut [T]| {
                        let done = direct_dx
                            && (0..g.groups).all(|gi| {
                                let (Some(w32), Some(src32), Some(out32)) = (
                                    kernels::as_f32(&wkt[gi * cig * cog..]),
                                    kernels::as_f32(&dyp[gi * cog * row..]),
                                    kernels::as_f32_mut(&mut dpadded[gi * cig * plane..]),
                                ) else {
                                    return false;
                                };
                                kernels::conv_direct_f32(
                                    kernels::active(),
                                    cig,
                                    cog,
                                    &mirrored,
                                    row,
                                    plane,
                                    w32,
                                    g.in_channels * cog,
                                    src32,
                                    out32,
                                    plane,
                                )
                            });
                        if done {
                            return;
                        }
                        dpadded.fill(T::zero());
                        for gi in 0..g.groups {
                            for (t, &off) in offs.iter().enumerate() {
                                // dpadded[ci, q + off] += Σ_co wk[t][co][ci] · dy[co, q]
                                gemm_ld(
                                    cig,
                                    q,
                                    cog,
                                    T::one(),
                                    &wk[(t * g.out_channels + gi * cog) * cig..],
                                    cig,
                                    Op::T,
                                    &wide[gi * cog * q..],
                                    q,
                                    Op::N,
                                    T::one(),
                                    &mut dpadded[gi * cig * plane + off..],
                                    plane,
                                );
                            }
                        }
                    };
                    if let Some(d) = dxs.as_mut() {
                        // Batch 1 on one replica: weight and input gradients (equal work,
                        // disjoint outputs) on two threads.
                        if split_ok {
                            kernels::pool::join(|| weight_grad(dwk), || input_grad(dpadded));
                        } else {
                            weight_grad(dwk);
                            input_grad(dpadded);
                        }
                        let d = &mut d[s * sample_in..(s + 1) * sample_in];
                        let body = g.in_channels * plane;
                        if self.has_pads() {
                            d.fill(T::zero());
                            unpad_add(
                                &dpadded[..body],
                                g.in_channels,
                                g.in_size.h,
                                g.in_size.w,
                                g.pads,
                                self.padding_mode,
                                d,
                            );
                        } else {
                            d.copy_from_slice(&dpadded[..body]);
                        }
                    } else {
                        weight_grad(dwk);
                    }
                }
                for (t, dt) in dwk.chunks(g.out_channels * cig).take(taps).enumerate() {
                    for (d, &v) in dws.iter_mut().skip(t).step_by(taps).zip(dt) {
                        *d += v;
                    }
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model_spec::Pads;

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
