//! Matrix products for the layers, on row-major slices.
//!
//! One entry point so the GEMM backend is chosen in one place:
//! - f32: the `gemm` crate (faer project) built with `x86-v4` (AVX-512 micro-kernels),
//!   single-threaded — threads split the batch instead (see `parallel.rs`). It measured
//!   fastest on the conv-shaped matrices of this project (`PERFORMANCE.md`).
//! - f64 (finite-difference checks): ndarray's `general_mat_mul`, the generic path.
//! - `CONVLAB_SCALAR=1`: a plain scalar triple loop for both, the reference.

use ndarray::{ArrayView2, ArrayViewMut2, linalg::general_mat_mul};

use super::kernels;
use super::tensor::Scalar;

/// Whether an operand is read as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

fn view<'a, T>(data: &'a [T], rows: usize, cols: usize, op: Op) -> ArrayView2<'a, T> {
    match op {
        Op::N => {
            ArrayView2::from_shape((rows, cols), &data[..rows * cols]).expect("gemm operand size")
        }
        Op::T => ArrayView2::from_shape((cols, rows), &data[..rows * cols])
            .expect("gemm operand size")
            .reversed_axes(),
    }
}

/// Row and column strides of `op(x)` where `x` is stored row-major as `rows×cols` of `op(x)`.
fn strides(cols_of_op: usize, rows_of_op: usize, op: Op) -> (isize, isize) {
    match op {
        // op(x) = x, stored m×k row-major: row stride k, column stride 1.
        Op::N => (cols_of_op as isize, 1),
        // op(x) = xᵀ, x stored k×m: element (i, j) of op(x) is x[j, i] at j·m + i.
        Op::T => (1, rows_of_op as isize),
    }
}

/// `c = alpha · op(a) · op(b) + beta · c` with `op(a)` of `m×k`, `op(b)` of `k×n`, `c` of `m×n`.
/// With `beta == 0`, `c` is overwritten (its old contents, even NaN, are ignored).
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
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm operand size"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        scale(&mut c[..m * n], beta);
        return;
    }
    if kernels::scalar_forced() {
        scalar_gemm(m, n, k, alpha, a, op_a, b, op_b, beta, c);
        return;
    }
    if let (Some(a32), Some(b32), Some(c32)) = (
        kernels::as_f32(a),
        kernels::as_f32(b),
        kernels::as_f32_mut(c),
    ) {
        let (a_rs, a_cs) = strides(k, m, op_a);
        let (b_rs, b_cs) = strides(n, k, op_b);
        kernels::gemm_f32(
            m,
            n,
            k,
            alpha.as_f64() as f32,
            a32,
            a_rs,
            a_cs,
            b32,
            b_rs,
            b_cs,
            beta.as_f64() as f32,
            c32,
        );
        return;
    }
    let av = view(a, m, k, op_a);
    let bv = view(b, k, n, op_b);
    let mut cv = ArrayViewMut2::from_shape((m, n), &mut c[..m * n]).expect("gemm output size");
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

/// The reference: `c[i, j] = alpha · Σ_p a[i, p]·b[p, j] + beta · c[i, j]`, summed in order.
#[allow(clippy::too_many_arguments)]
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
    let (a_rs, a_cs) = strides(k, m, op_a);
    let (b_rs, b_cs) = strides(n, k, op_b);
    let mut acc = vec![T::zero(); n];
    for i in 0..m {
        acc.fill(T::zero());
        for p in 0..k {
            let av = a[i * a_rs as usize + p * a_cs as usize];
            if op_b == Op::N {
                let brow = &b[p * b_rs as usize..p * b_rs as usize + n];
                for (s, &bv) in acc.iter_mut().zip(brow) {
                    *s += av * bv;
                }
            } else {
                for (j, s) in acc.iter_mut().enumerate() {
                    *s += av * b[p * b_rs as usize + j * b_cs as usize];
                }
            }
        }
        let crow = &mut c[i * n..(i + 1) * n];
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
