//! Max, min and average pooling. Max and min pooling remember which input won each window:
//! the backward routes the whole gradient of a window to that one position (the routing
//! view draws it). Ties go to the first position in row-major order, as in PyTorch.

use ndarray::Array4;

use crate::engine::facts::WindowGeometry;
use crate::engine::kernels;
use crate::engine::model_spec::Pair;
use crate::engine::tensor::{Scalar, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Min,
    /// Zero padding counts in the divisor (`count_include_pad = True`).
    Avg,
}

#[derive(Clone, Debug)]
pub struct Pool2d {
    pub kind: PoolKind,
    pub geom: WindowGeometry,
}

/// Winning input position of each output of a max/min pool: `[n, c, oh, ow]` flat indices
/// into the `h·w` plane of the input channel, as PyTorch's `return_indices`.
pub type Winners = Array4<u32>;

impl Pool2d {
    /// Returns the pooled output and, for max/min, the winners.
    pub fn forward<T: Scalar>(&self, x: &Tensor<T>) -> (Tensor<T>, Option<Winners>) {
        let g = &self.geom;
        let [n, c] = [x.shape()[0], x.shape()[1]];
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let mut y = Tensor::<T>::zeros((n, c, oh, ow));
        let mut winners = (self.kind != PoolKind::Avg).then(|| Winners::zeros((n, c, oh, ow)));
        self.forward_into(x, &mut y, winners.as_mut());
        (y, winners)
    }

    /// The forward into preallocated outputs (every element written); max/min pooling
    /// needs `winners`.
    pub fn forward_into<T: Scalar>(
        &self,
        x: &Tensor<T>,
        y: &mut Tensor<T>,
        mut winners: Option<&mut Winners>,
    ) {
        let g = &self.geom;
        let [n, c] = [x.shape()[0], x.shape()[1]];
        let (h, w) = (g.in_size.h, g.in_size.w);
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        assert!(
            self.kind == PoolKind::Avg || winners.is_some(),
            "max/min pooling keeps winners"
        );
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ys = y.as_slice_mut().expect("standard layout");
        let divisor = T::of((g.kernel.h * g.kernel.w) as f64);
        let no_pads = g.pads.top + g.pads.bottom + g.pads.left + g.pads.right == 0;
        if self.kind == PoolKind::Max
            && g.kernel == Pair::square(2)
            && g.stride == Pair::square(2)
            && no_pads
            && let Some(win) = winners.as_mut()
        {
            // The common 2×2/2 max pool: a straight-line kernel per plane.
            let ws = win.as_slice_mut().expect("standard layout");
            for plane in 0..n * c {
                kernels::scalar::max_pool2x2(
                    &xs[plane * h * w..(plane + 1) * h * w],
                    w,
                    oh,
                    ow,
                    &mut ys[plane * oh * ow..(plane + 1) * oh * ow],
                    &mut ws[plane * oh * ow..(plane + 1) * oh * ow],
                );
            }
            return;
        }
        for plane in 0..n * c {
            let src = &xs[plane * h * w..(plane + 1) * h * w];
            for oi in 0..oh {
                let i0 = (oi * g.stride.h) as isize - g.pads.top as isize;
                let (ia, ib) = (
                    i0.max(0) as usize,
                    ((i0 + g.kernel.h as isize) as usize).min(h),
                );
                for oj in 0..ow {
                    let j0 = (oj * g.stride.w) as isize - g.pads.left as isize;
                    let (ja, jb) = (
                        j0.max(0) as usize,
                        ((j0 + g.kernel.w as isize) as usize).min(w),
                    );
                    let out = plane * oh * ow + oi * ow + oj;
                    match self.kind {
                        PoolKind::Avg => {
                            let mut acc = T::zero();
                            for i in ia..ib {
                                acc += src[i * w + ja..i * w + jb].iter().copied().sum::<T>();
                            }
                            ys[out] = acc / divisor;
                        }
                        PoolKind::Max | PoolKind::Min => {
                            let max = self.kind == PoolKind::Max;
                            let mut best_at = ia * w + ja;
                            let mut best = src[best_at];
                            for i in ia..ib {
                                for j in ja..jb {
                                    let v = src[i * w + j];
                                    let better = if max { v > best } else { v < best };
                                    if better || (v.is_nan() && !best.is_nan()) {
                                        best = v;
                                        best_at = i * w + j;
                                    }
                                }
                            }
                            ys[out] = best;
                            if let Some(win) = winners.as_mut() {
                                win.as_slice_mut().expect("standard layout")[out] = best_at as u32;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Input gradient: max/min send each window's gradient to its winner (overlapping
    /// windows add up); average pooling spreads it evenly over the window.
    pub fn backward<T: Scalar>(
        &self,
        input_dims: [usize; 4],
        dy: &Tensor<T>,
        winners: Option<&Winners>,
    ) -> Tensor<T> {
        let g = &self.geom;
        let [n, c, h, w] = input_dims;
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let mut dx = Tensor::<T>::zeros((n, c, h, w));
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        let dxs = dx.as_slice_mut().expect("fresh array");
        match (self.kind, winners) {
            (PoolKind::Avg, _) => {
                let divisor = T::of((g.kernel.h * g.kernel.w) as f64);
                for plane in 0..n * c {
                    let dst = &mut dxs[plane * h * w..(plane + 1) * h * w];
                    for oi in 0..oh {
                        let i0 = (oi * g.stride.h) as isize - g.pads.top as isize;
                        let (ia, ib) = (
                            i0.max(0) as usize,
                            ((i0 + g.kernel.h as isize) as usize).min(h),
                        );
                        for oj in 0..ow {
                            let j0 = (oj * g.stride.w) as isize - g.pads.left as isize;
                            let (ja, jb) = (
                                j0.max(0) as usize,
                                ((j0 + g.kernel.w as isize) as usize).min(w),
                            );
                            let share = dys[plane * oh * ow + oi * ow + oj] / divisor;
                            for i in ia..ib {
                                dst[i * w + ja..i * w + jb]
                                    .iter_mut()
                                    .for_each(|v| *v += share);
                            }
                        }
                    }
                }
            }
            (_, Some(win)) => {
                let ws = win.as_slice().expect("standard layout");
                for plane in 0..n * c {
                    let dst = &mut dxs[plane * h * w..(plane + 1) * h * w];
                    for k in 0..oh * ow {
                        let o = plane * oh * ow + k;
                        dst[ws[o] as usize] += dys[o];
                    }
                }
            }
            (_, None) => unreachable!("max/min pooling backward needs the forward's winners"),
        }
        dx
    }
}
