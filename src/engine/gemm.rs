//! Matrix products for the layers, on row-major slices.
//!
//! One entry point so the GEMM backend is chosen in one place:
//! - f32: the `gemm` crate (faer project) built with `x86-v4` (AVX-512 micro-kernels),
//!   single-threaded — threads split the batch instead (see `parallel.rs`). It measured
//!   fastest on the conv-shaped matrices of this project (`PERFORMANCE.md`).
//! - f64 (finite-difference checks): ndarray's `general_mat_mul`, the generic path.
//! - `CONVLAB_SCALAR=1`: a plain scalar triple loop for both, the reference.

use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder, linalg::general_mat_mul};

use super::kernels;
use super::tensor::Scalar;

/// Whether an operand is read as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

/// `c = alpha · op(a) · op(b) + beta · c` with `op(a)` of `m×k`, `op(b)` of `k×n`, `c` of `m×n`,
/// all packed row-major. With `beta == 0`, `c` is overwritten (its old contents, even NaN,
/// are ignored).
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
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
    let lda = if op_a == Op::N { k } else { m };
    let ldb = if op_b == Op::N { n } else { k };
    gemm_ld(m, n, k, alpha, a, lda, op_a, b, ldb, op_b, beta, c, n);
}

/// Size a row-major matrix of `rows × cols` with row stride `ld` spans.
fn span(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

/// [`gemm`] on sub-matrices: `a` is stored row-major with row stride `lda` (as `m×k` for
/// `Op::N`, as `k×m` for `Op::T`), likewise `b` with `ldb`, and `c` (`m×n`) with `ldc`.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn gemm_ld<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    lda: usize,
    op_a: Op,
    b: &[T],
    ldb: usize,
    op_b: Op,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    let (ar, ac) = if op_a == Op::N { (m, k) } else { (k, m) };
    let (br, bc) = if op_b == Op::N { (k, n) } else { (n, k) };
    assert!(
        lda >= ac && ldb >= bc && ldc >= n,
        "gemm leading dimensions"
    );
    assert!(
        a.len() >= span(ar, ac, lda) && b.len() >= span(br, bc, ldb) && c.len() >= span(m, n, ldc),
        "gemm operand size"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m {
            scale(&mut c[i * ldc..i * ldc + n], beta);
        }
        return;
    }
    // Row and column strides of op(a) and op(b).
    let (a_rs, a_cs) = if op_a == Op::N { (lda, 1) } else { (1, lda) };
    let (b_rs, b_cs) = if op_b == Op::N { (ldb, 1) } else { (1, ldb) };
    if kernels::scalar_forced() {
        scalar_gemm_strided(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc);
        return;
    }
    if let (Some(a32), Some(b32), Some(c32)) = (
        kernels::as_f32(a),
        kernels::as_f32(b),
        kernels::as_f32_mut(c),
    ) {
        kernels::gemm_f32(
            m,
            n,
            k,
            alpha.as_f64() as f32,
            a32,
            a_rs as isize,
            a_cs as isize,
            b32,
            b_rs as isize,
            b_cs as isize,
            beta.as_f64() as f32,
            c32,
            ldc,
        );
        return;
    }
    let av = ArrayView2::from_shape((m, k).strides((a_rs, a_cs)), a).expect("gemm operand a");
    let bv = ArrayView2::from_shape((k, n).strides((b_rs, b_cs)), b).expect("gemm operand b");
    let mut cv = ArrayViewMut2::from_shape((m, n).strides((ldc, 1)), c).expect("gemm output");
    if beta == T::zero() {
        cv.fill(T::zero());
    }
    general_mat_mul(alpha, &av, &bv, beta, &mut cv);
}

fn scale<T: Scalar>(c: &mut [T], beta: T) {
    if beta == T::zero() {
        c.fill(T::zero());
    } else if beta != T::one() {
        c.iter_mut().for_each(|v| *v *= beta);
    }
}

/// The reference on packed operands (see [`scalar_gemm_strided`]).
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn scalar_gemm<T: Scalar>(
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
    let (a_rs, a_cs) = if op_a == Op::N { (k, 1) } else { (1, m) };
    let (b_rs, b_cs) = if op_b == Op::N { (n, 1) } else { (1, k) };
    scalar_gemm_strided(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, n);
}

/// The reference: `c[i, j] = alpha · Σ_p a[i, p]·b[p, j] + beta · c[i, j]`, summed in order
/// of `p`; element `(i, p)` of `a` is at `i·a_rs + p·a_cs`, likewise `b`; `c` has row
/// stride `ldc`.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn scalar_gemm_strided<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    a_rs: usize,
    a_cs: usize,
    b: &[T],
    b_rs: usize,
    b_cs: usize,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    let mut acc = vec![T::zero(); n];
    for i in 0..m {
        acc.fill(T::zero());
        for p in 0..k {
            let av = a[i * a_rs + p * a_cs];
            if b_cs == 1 {
                let brow = &b[p * b_rs..p * b_rs + n];
                for (s, &bv) in acc.iter_mut().zip(brow) {
                    *s += av * bv;
                }
            } else {
                for (j, s) in acc.iter_mut().enumerate() {
                    *s += av * b[p * b_rs + j * b_cs];
                }
            }
        }
        let crow = &mut c[i * ldc..i * ldc + n];
        for (cv, &s) in crow.iter_mut().zip(&acc) {
            *cv = if beta == T::zero() {
                alpha * s
            } else {
                alpha * s + beta * *cv
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(len: usize, seed: u64) -> Vec<f32> {
        let mut r = crate::engine::rng::Rng::new(seed);
        (0..len).map(|_| r.uniform(-1.0, 1.0) as f32).collect()
    }

    #[test]
    fn backends_agree_with_the_scalar_reference() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (16, 33, 17),
            (6, 100, 25),
            (64, 31, 288),
        ] {
            for op_a in [Op::N, Op::T] {
                for op_b in [Op::N, Op::T] {
                    for beta in [0.0f32, 1.0, 0.5] {
                        let a = fill(m * k, 1);
                        let b = fill(k * n, 2);
                        let c0 = fill(m * n, 3);
                        let mut want = c0.clone();
                        scalar_gemm(m, n, k, 0.7, &a, op_a, &b, op_b, beta, &mut want);
                        let mut got = c0.clone();
                        gemm(m, n, k, 0.7, &a, op_a, &b, op_b, beta, &mut got);
                        let a64: Vec<f64> = a.iter().map(|&v| v as f64).collect();
                        let b64: Vec<f64> = b.iter().map(|&v| v as f64).collect();
                        let mut got64: Vec<f64> = c0.iter().map(|&v| v as f64).collect();
                        gemm(
                            m,
                            n,
                            k,
                            0.7,
                            &a64,
                            op_a,
                            &b64,
                            op_b,
                            beta as f64,
                            &mut got64,
                        );
                        for i in 0..m * n {
                            let tol = 1e-4 * (k as f32).sqrt();
                            assert!((want[i] - got[i]).abs() < tol, "f32 {m}x{n}x{k} {i}");
                            assert!((want[i] as f64 - got64[i]).abs() < tol as f64);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn sub_matrices_with_leading_dimensions() {
        // a: rows of 5 holding 3×4 used; c: rows of 7 holding 3×2 used.
        let a = fill(3 * 5, 4);
        let b = fill(4 * 2, 5);
        let mut c = vec![1.0f32; 3 * 7];
        let mut want = c.clone();
        scalar_gemm_strided(3, 2, 4, 1.0, &a, 5, 1, &b, 2, 1, 1.0, &mut want, 7);
        gemm_ld(3, 2, 4, 1.0, &a, 5, Op::N, &b, 2, Op::N, 1.0, &mut c, 7);
        for i in 0..c.len() {
            assert!((c[i] - want[i]).abs() < 1e-5);
        }
        assert_eq!(c[2], 1.0);
    }

    #[test]
    fn beta_zero_ignores_nan_in_the_output() {
        let mut c = vec![f32::NAN; 4];
        gemm(
            2,
            2,
            1,
            1.0,
            &[1.0, 2.0],
            Op::N,
            &[3.0, 4.0],
            Op::N,
            0.0,
            &mut c,
        );
        assert_eq!(c, [3.0, 4.0, 6.0, 8.0]);
    }
}
