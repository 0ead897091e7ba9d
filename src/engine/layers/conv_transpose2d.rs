//! Transposed convolution: each input pixel stamps the kernel onto the output, `stride`
//! apart. Computed as GEMM + col2im; its backward is im2col + GEMM, the conv forward.

use ndarray::ArrayD;

use super::window::{Taps, col2im_add, im2col};
use crate::engine::facts::WindowGeometry;
use crate::engine::gemm::{Op, gemm};
use crate::engine::model_spec::Pair;
use crate::engine::tensor::{Scalar, Tensor};

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
