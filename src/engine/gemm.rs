//! Matrix products for the layers, on row-major slices.
//!
//! One entry point so the GEMM backend can be chosen per shape in one place.

use ndarray::{ArrayView2, ArrayViewMut2, linalg::general_mat_mul};

use super::tensor::Scalar;

/// Whether an operand is read as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

fn view<'a, T>(data: &'a [T], rows: usize, cols: usize, op: Op) -> ArrayView2<'a, T> {
    match op {
        Op::N => ArrayView2::from_shape((rows, cols), data).expect("gemm operand size"),
        Op::T => ArrayView2::from_shape((cols, rows), data)
            .expect("gemm operand size")
            .reversed_axes(),
    }
}

/// `c = alpha · op(a) · op(b) + beta · c` with `op(a)` of `m×k`, `op(b)` of `k×n`, `c` of `m×n`.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    op_a: Op,
    b: &[T],
    op_b: Op,
    beta: T,
    c: &mut [T],
) {
    let av = view(a, m, k, op_a);
    let bv = view(b, k, n, op_b);
    let mut cv = ArrayViewMut2::from_shape((m, n), c).expect("gemm output size");
    general_mat_mul(alpha, &av, &bv, beta, &mut cv);
}
