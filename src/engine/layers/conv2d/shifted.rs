//! The stride-1 path for convs with many input channels: one GEMM per kernel tap on the
//! padded input, without an im2col copy.

use std::ops::Range;

use ndarray::ArrayD;

use super::super::window::{pad, unpad_add};
use super::{Conv2d, INTRA_MIN_FLOPS, shifted_min_cin};
use crate::engine::gemm::{Op, gemm_ld};
use crate::engine::geometry::{PaddingMode, Pair};
use crate::engine::kernels;
use crate::engine::tensor::{Scalar, Tensor};

/// Runs `f(gi, cos, out)` for the output channels `cos` of every group `gi`, `out` being
/// their rows of `buf` (`len` elements per channel). With `split` (batch 1 on one replica)
/// half of each group's channels, a multiple of the direct kernel's 4-channel tile, run on
/// the helper thread.
fn for_group_channels<T: Scalar>(
    groups: usize,
    cog: usize,
    len: usize,
    split: bool,
    buf: &mut [T],
    f: impl Fn(usize, Range<usize>, &mut [T]) + Sync,
) {
    for gi in 0..groups {
        let out = &mut buf[gi * cog * len..(gi + 1) * cog * len];
        let half = cog / 8 * 4;
        if split && half > 0 {
            let (a, b) = out.split_at_mut(half * len);
            kernels::pool::join(|| f(gi, 0..half, a), || f(gi, half..cog, b));
        } else {
            f(gi, 0..cog, out);
        }
    }
}

impl Conv2d {
    /// Stride-1 convs with enough input channels skip im2col: on the padded input, output
    /// position `q = i·wp + j` of tap `(ki, kj)` reads `padded[c, q + ki·dh·wp + kj·dw]`, so
    /// each tap is one GEMM (`K = in/groups`) over a "wide" output of `oh × wp` columns (the
    /// last `wp − ow` of each row are junk and dropped). The backward uses the same views.
    pub(super) fn shifted_ok(&self) -> bool {
        let g = &self.geom;
        g.stride == Pair::square(1)
            && g.in_channels / g.groups >= shifted_min_cin()
            && !self.is_pointwise()
    }

    /// Offsets of the taps into a padded plane, in weight order `(ki, kj)`.
    pub(super) fn tap_offsets(&self) -> Vec<usize> {
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
    pub(super) fn pad_into<T: Scalar>(&self, x: &[T], dst: &mut [T]) {
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

    pub(super) fn forward_shifted<T: Scalar>(
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
        let rows_ok = ow.is_multiple_of(16) && kernels::direct_conv_for::<T>();
        let wide_len = if rows_ok { 0 } else { g.out_channels * q };
        kernels::with_scratch::<T, _>(plen + wlen, wide_len, |a, wide| {
            let (padded, wk) = a.split_at_mut(plen);
            self.weights_by_tap(ws, wk);
            for (s, out) in ys.chunks_mut(g.out_channels * p).enumerate() {
                self.pad_into(&xs[s * sample_in..(s + 1) * sample_in], padded);
                let (padded, wk) = (&*padded, &*wk);
                if rows_ok {
                    // Output rows of a multiple of 16 pixels: the kernel writes them
                    // straight into the output, no junk columns computed or copied.
                    let rows = |gi: usize, cos: Range<usize>, out: &mut [T]| {
                        let done = kernels::conv_direct_rows_f32(
                            kernels::active(),
                            cos.len(),
                            cig,
                            &offs,
                            plane,
                            oh,
                            ow,
                            wp,
                            kernels::as_f32(&wk[(gi * cog + cos.start) * cig..]).expect("f32"),
                            g.out_channels * cig,
                            kernels::as_f32(&padded[gi * cig * plane..]).expect("f32"),
                            kernels::as_f32_mut(out).expect("f32"),
                            p,
                        );
                        debug_assert!(done, "rows_ok promised the kernel");
                    };
                    for_group_channels(g.groups, cog, p, split_ok, out, rows);
                    if let Some(bs) = bs {
                        for (plane_out, &b) in out.chunks_exact_mut(p).zip(bs) {
                            if b != T::zero() {
                                kernels::add_scalar(plane_out, b);
                            }
                        }
                    }
                    continue;
                }
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
                for_group_channels(g.groups, cog, q, split_ok, wide, channels);
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

    pub(super) fn backward_shifted<T: Scalar>(
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
        // The input gradient of a stride-1 conv is itself a direct convolution: of dy
        // (wide, with `max_off` zero margins per channel) with the transposed weights at
        // mirrored offsets. Used when the SIMD direct kernel is there (f32, AVX-512).
        let max_off = offs.iter().copied().max().unwrap_or(0);
        let row = 2 * max_off + q;
        // Weight gradients: the direct AVX-512 kernel on the same wide layout.
        let direct_dw = kernels::direct_conv_for::<T>();
        let direct_dx = dxs.is_some() && direct_dw;
        let (tlen, dylen) = if direct_dx {
            (wlen, g.out_channels * row)
        } else {
            (0, 0)
        };
        let mirrored: Vec<usize> = offs.iter().map(|&o| max_off - o).collect();
        // With zero padding only the interior of dpadded reaches dx, so when input rows
        // are a multiple of 16 pixels the direct kernel writes dx's rows straight from dy
        // (compact rows): no border, no junk columns, no unpad copy.
        let rows_dx = direct_dx
            && g.in_size.w.is_multiple_of(16)
            && (self.padding_mode == PaddingMode::Zeros || !self.has_pads());
        let in_plane = g.in_size.h * g.in_size.w;
        // The padded input gradient, unpadded into dx afterwards (not with `rows_dx`).
        let dplen = if dxs.is_some() && !rows_dx { plen } else { 0 };
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
                    // dx of this sample, every element, in compact rows (`rows_dx`).
                    let input_grad_rows = |dxs: &mut [T]| {
                        for gi in 0..g.groups {
                            let base = gi * cog * row + g.pads.top * wp + g.pads.left;
                            let done = kernels::conv_direct_rows_f32(
                                kernels::active(),
                                cig,
                                cog,
                                &mirrored,
                                row,
                                g.in_size.h,
                                g.in_size.w,
                                wp,
                                kernels::as_f32(&wkt[gi * cig * cog..]).expect("f32"),
                                g.in_channels * cog,
                                kernels::as_f32(&dyp[base..]).expect("f32"),
                                kernels::as_f32_mut(&mut dxs[gi * cig * in_plane..]).expect("f32"),
                                in_plane,
                            );
                            debug_assert!(done, "rows_dx promised the kernel");
                        }
                    };
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
                    if let Some(d) = dxs.as_mut().filter(|_| rows_dx) {
                        let d = &mut d[s * sample_in..(s + 1) * sample_in];
                        if split_ok {
                            kernels::pool::join(|| weight_grad(dwk), || input_grad_rows(d));
                        } else {
                            weight_grad(dwk);
                            input_grad_rows(d);
                        }
                    } else if let Some(d) = dxs.as_mut() {
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
