//! The path for convs with few output channels (≤ 32, e.g. LeNet's, or a stride-2 16→16):
//! a direct kernel vectorised over output channels (`kernels::conv_cvec_f32`), where the
//! im2col GEMM would have only 6–32 rows.

use ndarray::ArrayD;

use super::Conv2d;
use crate::engine::kernels;
use crate::engine::tensor::{Scalar, Tensor};

impl Conv2d {
    /// f32 on a CPU with the kernel, one group, 16 to 32 output channels (fewer would
    /// leave most of each vector idle), column stride 1 or 2, not 1×1, and at least 64
    /// products per output (`cin·kh·kw`; with fewer, writing the channel-major output from
    /// the pixel-major tiles costs as much as the arithmetic, and im2col is faster:
    /// measured 55–59 vs 125–141 GFLOP/s on 3→32 at 32×32).
    pub(super) fn cvec_ok<T: Scalar>(&self) -> bool {
        let g = &self.geom;
        kernels::direct_conv_for::<T>()
            && g.groups == 1
            && (16..=kernels::CVEC_MAX_COUT).contains(&g.out_channels)
            && g.in_channels * g.kernel.h * g.kernel.w >= 64
            && (1..=2).contains(&g.stride.w)
            && !self.is_pointwise()
    }

    pub(super) fn forward_cvec<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
        y: &mut Tensor<T>,
    ) {
        let g = &self.geom;
        let ps = self.padded_size();
        let plane = ps.h * ps.w;
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let p = oh * ow;
        let taps = g.kernel.h * g.kernel.w;
        let toff = self.tap_offsets();
        let stride = (g.stride.h, g.stride.w);
        let shape = (oh, ow, ps.w);
        let x = x.as_standard_layout();
        let xs = kernels::as_f32(x.as_slice().expect("standard layout")).expect("f32");
        let ws = kernels::as_f32(weight.as_slice().expect("contiguous weight")).expect("f32");
        let bs =
            bias.map(|b| kernels::as_f32(b.as_slice().expect("contiguous bias")).expect("f32"));
        let ys = kernels::as_f32_mut(y.as_slice_mut().expect("standard layout")).expect("f32");
        let sample_in = g.in_channels * g.in_size.h * g.in_size.w;
        let ldw = 16 * g.out_channels.div_ceil(16);
        let body = g.in_channels * plane;
        let src_len = kernels::cvec_src_len(g.in_channels, &toff, plane, stride, shape).max(body);
        let wpk_len = g.in_channels * taps * ldw;
        let tmp_len = kernels::cvec_tmp_len(ow, g.out_channels);
        kernels::with_scratch::<f32, _>(src_len, wpk_len + tmp_len, |src, b| {
            let (wpk, tmp) = b.split_at_mut(wpk_len);
            // wpk[(ci·taps + t)·ldw + co] = w[co][ci][t], zero past cout.
            wpk.fill(0.0);
            for (co, wco) in ws.chunks_exact(g.in_channels * taps).enumerate() {
                for (k, &w) in wco.iter().enumerate() {
                    wpk[k * ldw + co] = w;
                }
            }
            for (s, out) in ys.chunks_exact_mut(g.out_channels * p).enumerate() {
                self.pad_into(&xs[s * sample_in..(s + 1) * sample_in], src);
                let done = kernels::conv_cvec_f32(
                    kernels::active(),
                    g.in_channels,
                    g.out_channels,
                    &toff,
                    plane,
                    stride,
                    shape,
                    wpk,
                    src,
                    bs,
                    out,
                    p,
                    tmp,
                );
                debug_assert!(done, "cvec_ok promised the kernel");
            }
        });
    }
}
