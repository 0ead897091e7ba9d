//! Max, min and average pooling. Max and min pooling remember which input won each window:
//! the backward routes the whole gradient of a window to that one position (the routing
//! view draws it). Ties go to the first position in row-major order, as in PyTorch.

use ndarray::Array4;
use serde::{Deserialize, Serialize};

use super::Layer;
use super::Memo;
use super::compute::{Backward, Compute, Forward, output_buffer};
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs, OutputCount};
use crate::engine::error::GraphError;
use crate::engine::geometry::{Pads, Pair, pair_zero};
use crate::engine::kernels;
use crate::engine::node_facts::{MAX_KERNEL, NodeFacts, WindowGeometry, check_pair, window_out};
use crate::engine::tensor::{Scalar, Tensor, dims};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Min,
    /// Zero padding counts in the divisor (`count_include_pad = True`).
    Avg,
}

impl PoolKind {
    const fn of(kind: u8) -> PoolKind {
        match kind {
            0 => PoolKind::Max,
            1 => PoolKind::Min,
            _ => PoolKind::Avg,
        }
    }
}

/// The hyper-parameters of a pooling node (the text format's keys); `KIND` is a
/// [`PoolKind`] as a number, so the three pooling kinds share one description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool2dConfig<const KIND: u8> {
    pub kernel: Pair,
    /// Defaults to the kernel size, as in PyTorch.
    #[serde(default)]
    pub stride: Option<Pair>,
    #[serde(default = "pair_zero")]
    pub padding: Pair,
}

pub type MaxPool2dConfig = Pool2dConfig<{ PoolKind::Max as u8 }>;
pub type MinPool2dConfig = Pool2dConfig<{ PoolKind::Min as u8 }>;
/// Zero padding counts in the average (PyTorch's `count_include_pad = True`).
pub type AvgPool2dConfig = Pool2dConfig<{ PoolKind::Avg as u8 }>;

impl<const KIND: u8> Pool2dConfig<KIND> {
    /// A square window, stepping by its own size, without padding.
    pub fn square(kernel: usize) -> Self {
        Pool2dConfig {
            kernel: Pair::square(kernel),
            stride: None,
            padding: Pair::square(0),
        }
    }
}

impl<const KIND: u8> Default for Pool2dConfig<KIND> {
    /// The palette's: 2×2 windows (halves height and width).
    fn default() -> Self {
        Pool2dConfig::square(2)
    }
}

const TIP_POOL_KERNEL: &str =
    "Size of the pooling window. 2×2 with stride 2 halves height and width.";
const TIP_POOL_STRIDE: &str =
    "Distance between windows; by default the window size (non-overlapping pooling).";
const TIP_POOL_PAD: &str = "Border added before pooling (at most half the window).";

impl<const KIND: u8> Kind for Pool2dConfig<KIND> {
    fn about(&self) -> &'static str {
        match PoolKind::of(KIND) {
            PoolKind::Max => {
                "Max pooling: keeps the largest value of each window; the gradient flows back only to that winner."
            }
            PoolKind::Min => {
                "Min pooling: keeps the smallest value of each window; the gradient flows back only to that winner."
            }
            PoolKind::Avg => {
                "Average pooling: the mean of each window; the gradient is shared equally by the window."
            }
        }
    }

    fn name_prefix(&self) -> &'static str {
        "pool"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        let fallback = self.kernel;
        vec![
            Field::new(
                "kernel",
                TIP_POOL_KERNEL,
                FieldValue::Pair(&mut self.kernel, 1),
            ),
            Field::new(
                "stride",
                TIP_POOL_STRIDE,
                FieldValue::OptionalPair {
                    value: &mut self.stride,
                    switch: "own stride",
                    fallback,
                },
            ),
            Field::new(
                "padding",
                TIP_POOL_PAD,
                FieldValue::Pair(&mut self.padding, 0),
            ),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let (name, input) = (at.name, at.x());
        let Pool2dConfig {
            kernel, padding, ..
        } = *self;
        check_pair(name, "kernel", kernel, MAX_KERNEL)?;
        let stride = self.stride.unwrap_or(kernel);
        check_pair(name, "stride", stride, MAX_KERNEL)?;
        if padding.h * 2 > kernel.h || padding.w * 2 > kernel.w {
            return Err(at.error("padding must be at most half the kernel size"));
        }
        let pads = Pads::symmetric(padding);
        let padded = [input[1] + 2 * padding.h, input[2] + 2 * padding.w];
        let out_size = window_out(name, input, padded, kernel, stride)?;
        let g = WindowGeometry {
            in_channels: input[0],
            out_channels: input[0],
            kernel,
            stride,
            dilation: Pair::square(1),
            pads,
            groups: input[0],
            in_size: Pair::new(input[1], input[2]),
            out_size,
        };
        let rf = at
            .field()
            .through_window(g.kernel, g.stride, [g.pads.top, g.pads.left]);
        Ok(Inferred {
            window: Some(g),
            ..Inferred::plain([input[0], g.out_size.h, g.out_size.w], rf)
        })
    }

    fn layer(&self, facts: &NodeFacts) -> Layer {
        Layer::Pool(Pool2d {
            kind: PoolKind::of(KIND),
            geom: facts.window.expect("pool has a window"),
        })
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Keeps
    }
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
            && oh * ow > 0
            && let Some(win) = winners.as_mut()
        {
            // The common 2×2/2 max pool: a straight-line kernel per plane.
            let ws = win.as_slice_mut().expect("standard layout");
            let planes = xs
                .chunks_exact(h * w)
                .zip(ys.chunks_exact_mut(oh * ow))
                .zip(ws.chunks_exact_mut(oh * ow));
            for ((src, dst), win) in planes {
                if let (Some(s32), Some(d32)) = (kernels::as_f32(src), kernels::as_f32_mut(dst)) {
                    kernels::max_pool2x2_f32(kernels::active(), s32, w, oh, ow, d32, win);
                } else {
                    kernels::scalar::max_pool2x2(src, w, oh, ow, dst, win);
                }
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
        let [n, c, h, w] = input_dims;
        let mut dx = Tensor::<T>::zeros((n, c, h, w));
        self.backward_into(dy, winners, &mut dx);
        dx
    }

    /// [`Pool2d::backward`] into `dx` (the input's shape), whatever it held before: every
    /// element is written. The training step passes last step's buffer, so no fresh pages
    /// are faulted in per step.
    pub fn backward_into<T: Scalar>(
        &self,
        dy: &Tensor<T>,
        winners: Option<&Winners>,
        dx: &mut Tensor<T>,
    ) {
        let g = &self.geom;
        let [n, c, h, w] = dims(dx);
        let (oh, ow) = (g.out_size.h, g.out_size.w);
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        let dxs = dx.as_slice_mut().expect("standard layout");
        let no_pads = g.pads.top + g.pads.bottom + g.pads.left + g.pads.right == 0;
        if self.kind != PoolKind::Avg
            && g.kernel == Pair::square(2)
            && g.stride == Pair::square(2)
            && no_pads
            && oh * ow > 0
            && let Some(win) = winners
        {
            // Windows tile the input without overlap: each one's four cells are written
            // at once, with no separate zeroing pass.
            let ws = win.as_slice().expect("standard layout");
            let planes = dys
                .chunks_exact(oh * ow)
                .zip(ws.chunks_exact(oh * ow))
                .zip(dxs.chunks_exact_mut(h * w));
            for ((dy, win), dx) in planes {
                if let (Some(dy32), Some(dx32)) = (kernels::as_f32(dy), kernels::as_f32_mut(dx)) {
                    let set = kernels::active();
                    kernels::max_pool2x2_backward_f32(set, dy32, win, h, w, oh, ow, dx32);
                } else {
                    kernels::scalar::max_pool2x2_backward(dy, win, h, w, oh, ow, dx);
                }
            }
            return;
        }
        dxs.fill(T::zero());
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
    }
}

impl Compute for Pool2d {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let Forward {
            ins,
            memo,
            out_dim,
            old_output,
            ..
        } = f;
        let mut y = output_buffer(old_output, out_dim);
        let mut winners = match std::mem::replace(memo, Memo::None) {
            Memo::Winners(wn) if wn.dim() == out_dim => Some(wn),
            _ => None,
        };
        if self.kind != PoolKind::Avg && winners.is_none() {
            winners = Some(Winners::zeros(out_dim));
        }
        self.forward_into(ins[0], &mut y, winners.as_mut());
        *memo = winners.map_or(Memo::None, Memo::Winners);
        y
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let winners = match b.memo {
            Memo::Winners(w) => Some(w),
            _ => None,
        };
        let mut dx = (b.dx_buffer)();
        self.backward_into(b.dy, winners, &mut dx);
        vec![dx]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::geometry::Pads;

    fn pool(h: usize, w: usize) -> Pool2d {
        Pool2d {
            kind: PoolKind::Max,
            geom: WindowGeometry {
                in_channels: 2,
                out_channels: 2,
                kernel: Pair::square(2),
                stride: Pair::square(2),
                dilation: Pair::square(1),
                pads: Pads::default(),
                groups: 1,
                in_size: Pair::new(h, w),
                out_size: Pair::new(h / 2, w / 2),
            },
        }
    }

    /// The 2×2/2 max-pool backward writes every cell of a dirty buffer and gives what
    /// scattering into zeros gives, bit for bit, on odd sizes, ties and −0 gradients.
    #[test]
    fn max_pool2x2_backward_overwrites_and_matches_the_scatter() {
        for (h, w) in [(4, 4), (5, 7), (6, 3), (1, 9), (9, 1), (2, 2)] {
            let p = pool(h, w);
            let x = Tensor::<f32>::from_shape_fn((3, 2, h, w), |(n, c, i, j)| {
                ((n * 7 + c * 5 + i * 3 + j) % 4) as f32
            });
            let (y, win) = p.forward(&x);
            let dy = Tensor::<f32>::from_shape_fn(y.raw_dim(), |(n, c, i, j)| {
                if (n + c + i + j) % 3 == 0 {
                    -0.0
                } else {
                    (n + 2 * c + 3 * i + j) as f32 - 4.5
                }
            });
            let win = win.expect("max pooling keeps winners");
            let mut expect = Tensor::<f32>::zeros(x.raw_dim());
            for ((n, c, i, j), &at) in win.indexed_iter() {
                expect[[n, c, at as usize / w, at as usize % w]] += dy[[n, c, i, j]];
            }
            let mut dx = Tensor::<f32>::from_elem(x.raw_dim(), f32::NAN);
            p.backward_into(&dy, Some(&win), &mut dx);
            let bits = |t: &Tensor<f32>| t.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dx), bits(&expect), "{h}×{w}");
        }
    }
}
