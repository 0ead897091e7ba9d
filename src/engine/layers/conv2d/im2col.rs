//! The general conv path: im2col (a chunk of output rows at a time) + GEMM, and its
//! backward through the same matrices (col2im for the input gradient).

use ndarray::ArrayD;

use super::super::window::{col2im_rows_add, im2col_rows, unpad_add};
use super::Conv2d;
use crate::engine::gemm::{Op, gemm, gemm_ld};
use crate::engine::kernels;
use crate::engine::tensor::{Scalar, Tensor};

impl Conv2d {
    pub(super) fn forward_im2col<T: Scalar>(
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

    pub(super) fn backward_im2col<T: Scalar>(
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
}
