//! The scalar reference kernels: the spec every SIMD set is tested against, and the path
//! for f64 and for `CONVLAB_SCALAR=1`.

use crate::engine::tensor::Scalar;

/// `y = max(x, 0)`, with NaN mapped to 0.
pub fn relu<T: Scalar>(x: &[T], y: &mut [T]) {
    for (d, &v) in y.iter_mut().zip(x) {
        *d = if v > T::zero() { v } else { T::zero() };
    }
}

/// `dx = dy` where `x > 0`, else 0.
pub fn relu_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T]) {
    for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
        *d = if v > T::zero() { g } else { T::zero() };
    }
}

/// `y += b`.
pub fn add_scalar<T: Scalar>(y: &mut [T], b: T) {
    y.iter_mut().for_each(|v| *v += b);
}

/// `Σ x`.
pub fn sum<T: Scalar>(x: &[T]) -> T {
    x.iter().copied().fold(T::zero(), |a, b| a + b)
}

/// `Σ x·y`.
pub fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
    x.iter().zip(y).fold(T::zero(), |a, (&p, &q)| a + p * q)
}

/// `y += a·x`.
pub fn axpy<T: Scalar>(y: &mut [T], a: T, x: &[T]) {
    for (d, &v) in y.iter_mut().zip(x) {
        *d += a * v;
    }
}

/// `y += x`.
pub fn add<T: Scalar>(y: &mut [T], x: &[T]) {
    for (d, &v) in y.iter_mut().zip(x) {
        *d += v;
    }
}

/// Weight gradient of the direct stride-1 convolution on the wide layout (the spec of
/// `kernels::conv_weight_grad_f32`): for every tap `t`, `co < cog`, `ci < cig`,
/// `dw[t·w_t + co·cig + ci] += Σ_{q < q_len} dy[co·ldy + q] · src[ci·plane + offs[t] + q]`.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn conv_weight_grad<T: Scalar>(
    cog: usize,
    cig: usize,
    offs: &[usize],
    q_len: usize,
    dy: &[T],
    ldy: usize,
    src: &[T],
    plane: usize,
    dw: &mut [T],
    w_t: usize,
) {
    for (t, &off) in offs.iter().enumerate() {
        for co in 0..cog {
            let d = &dy[co * ldy..][..q_len];
            for ci in 0..cig {
                let x = &src[ci * plane + off..][..q_len];
                dw[t * w_t + co * cig + ci] += dot(d, x);
            }
        }
    }
}

/// 2×2, stride-2 max pooling of one `h×w` plane (no padding, `oh = h/2`, `ow = w/2`),
/// keeping the winner's flat index; ties and NaN follow the generic pool (first wins,
/// NaN beats a number).
pub fn max_pool2x2<T: Scalar>(
    src: &[T],
    w: usize,
    oh: usize,
    ow: usize,
    dst: &mut [T],
    win: &mut [u32],
) {
    for oi in 0..oh {
        let r0 = 2 * oi * w;
        let r1 = r0 + w;
        for oj in 0..ow {
            let c = 2 * oj;
            let mut best_at = r0 + c;
            let mut best = src[best_at];
            for at in [r0 + c + 1, r1 + c, r1 + c + 1] {
                let v = src[at];
                if v > best || (v.is_nan() && !best.is_nan()) {
                    best = v;
                    best_at = at;
                }
            }
            dst[oi * ow + oj] = best;
            win[oi * ow + oj] = best_at as u32;
        }
    }
}

/// Input gradient of [`max_pool2x2`] for one `h × w` plane: each window's gradient goes to
/// its winner (`win`, flat indices into the plane) and its other three cells get zero; a
/// last odd row or column, which no window covers, gets zero too. Every cell of `dx` is
/// written. The winner gets `dy + 0`, as accumulating into a zeroed buffer would (so a
/// gradient of −0 arrives as +0).
pub fn max_pool2x2_backward<T: Scalar>(
    dy: &[T],
    win: &[u32],
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    dx: &mut [T],
) {
    let zero = T::zero();
    for oi in 0..oh {
        let r0 = 2 * oi * w;
        let r1 = r0 + w;
        for oj in 0..ow {
            let c = 2 * oj;
            let at = win[oi * ow + oj] as usize;
            let g = dy[oi * ow + oj] + zero;
            for p in [r0 + c, r0 + c + 1, r1 + c, r1 + c + 1] {
                dx[p] = if p == at { g } else { zero };
            }
        }
    }
    max_pool2x2_zero_uncovered(h, w, oh, ow, dx);
}

/// Zeroes the cells of an `h × w` plane that no 2×2/2 window of the `oh × ow` output
/// covers: a last odd column of the window rows, and the rows below them.
pub fn max_pool2x2_zero_uncovered<T: Scalar>(
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    dx: &mut [T],
) {
    if 2 * ow < w {
        for row in dx[..2 * oh * w].chunks_exact_mut(w) {
            row[2 * ow..].fill(T::zero());
        }
    }
    dx[2 * oh * w..h * w].fill(T::zero());
}
