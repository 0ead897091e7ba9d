//! 2-D convolution (cross-correlation, as in PyTorch) as im2col + GEMM, with stride,
//! dilation, groups and zero / reflect / replicate borders.

use ndarray::ArrayD;

use super::window::{Taps, col2im_add, im2col, pad, unpad_add};
use crate::engine::facts::WindowGeometry;
use crate::engine::gemm::{Op, gemm};
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

    /// Fills `col` with sample `x`'s unfolded windows, padding into `padded` first.
    fn unfold<T: Scalar>(&self, x: &[T], padded: &mut [T], col: &mut [T]) {
        let g = &self.geom;
        let src = if self.has_pads() {
            pad(
                x,
                g.in_channels,
                g.in_size.h,
                g.in_size.w,
                g.pads,
                self.padding_mode,
                padded,
            );
            &*padded
        } else {
            x
        };
        im2col(src, g.in_channels, self.taps(), col);
    }

    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
    ) -> Tensor<T> {
        let g = &self.geom;
        let n = x.shape()[0];
        let p = g.out_size.h * g.out_size.w;
        let (kg, cog) = (self.group_k(), g.out_channels / g.groups);
        let ps = self.padded_size();
        let mut padded = vec![T::zero(); g.in_channels * ps.h * ps.w];
        let mut col = vec![T::zero(); g.groups * kg * p];
        let mut y = Tensor::<T>::zeros((n, g.out_channels, g.out_size.h, g.out_size.w));
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let sample_in = g.in_channels * g.in_size.h * g.in_size.w;
        let ys = y.as_slice_mut().expect("fresh array");
        for (s, out) in ys.chunks_mut(g.out_channels * p).enumerate() {
            self.unfold(
                &xs[s * sample_in..(s + 1) * sample_in],
                &mut padded,
                &mut col,
            );
            for gi in 0..g.groups {
                let wg = &ws[gi * cog * kg..(gi + 1) * cog * kg];
                let cg = &col[gi * kg * p..(gi + 1) * kg * p];
                gemm(
                    cog,
                    p,
                    kg,
                    T::one(),
                    wg,
                    Op::N,
                    cg,
                    Op::N,
                    T::zero(),
                    &mut out[gi * cog * p..(gi + 1) * cog * p],
                );
            }
            if let Some(b) = bias {
                for (o, &bv) in out.chunks_mut(p).zip(b.iter()) {
                    o.iter_mut().for_each(|v| *v += bv);
                }
            }
        }
        let _ = n;
        y
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
        let g = &self.geom;
        let p = g.out_size.h * g.out_size.w;
        let (kg, cog) = (self.group_k(), g.out_channels / g.groups);
        let ps = self.padded_size();
        let mut padded = vec![T::zero(); g.in_channels * ps.h * ps.w];
        let mut col = vec![T::zero(); g.groups * kg * p];
        let x = x.as_standard_layout();
        let dy = dy.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let dys = dy.as_slice().expect("standard layout");
        let ws = weight.as_slice().expect("contiguous weight");
        let dws = dweight.as_slice_mut().expect("contiguous weight grad");
        let sample_in = g.in_channels * g.in_size.h * g.in_size.w;
        let n = x.shape()[0];
        let mut dx = need_dx.then(|| Tensor::<T>::zeros(x.raw_dim()));
        for s in 0..n {
            let dys_s = &dys[s * g.out_channels * p..(s + 1) * g.out_channels * p];
            self.unfold(
                &xs[s * sample_in..(s + 1) * sample_in],
                &mut padded,
                &mut col,
            );
            for gi in 0..g.groups {
                let dyg = &dys_s[gi * cog * p..(gi + 1) * cog * p];
                let cg = &col[gi * kg * p..(gi + 1) * kg * p];
                gemm(
                    cog,
                    kg,
                    p,
                    T::one(),
                    dyg,
                    Op::N,
                    cg,
                    Op::T,
                    T::one(),
                    &mut dws[gi * cog * kg..(gi + 1) * cog * kg],
                );
            }
            if let Some(dx) = dx.as_mut() {
                // dcol = Wᵀ · dy per group, then fold back onto the (padded) input.
                for gi in 0..g.groups {
                    let wg = &ws[gi * cog * kg..(gi + 1) * cog * kg];
                    let dyg = &dys_s[gi * cog * p..(gi + 1) * cog * p];
                    gemm(
                        kg,
                        p,
                        cog,
                        T::one(),
                        wg,
                        Op::T,
                        dyg,
                        Op::N,
                        T::zero(),
                        &mut col[gi * kg * p..(gi + 1) * kg * p],
                    );
                }
                let dxs = dx.as_slice_mut().expect("fresh array");
                let dxs = &mut dxs[s * sample_in..(s + 1) * sample_in];
                if self.has_pads() {
                    padded.iter_mut().for_each(|v| *v = T::zero());
                    col2im_add(&col, g.in_channels, self.taps(), &mut padded);
                    unpad_add(
                        &padded,
                        g.in_channels,
                        g.in_size.h,
                        g.in_size.w,
                        g.pads,
                        self.padding_mode,
                        dxs,
                    );
                } else {
                    col2im_add(&col, g.in_channels, self.taps(), dxs);
                }
            }
        }
        if let Some(db) = dbias {
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
