//! AVX-512 and AVX2+FMA versions of the element-wise kernels (f32). Each function is
//! `unsafe` only because of `#[target_feature]`: callers must have checked the feature
//! (see `kernels::dispatch`). Tails shorter than a vector fall back to the scalar code.

#![expect(
    clippy::missing_safety_doc,
    reason = "the module doc states the one safety condition every function here shares"
)]

use std::arch::x86_64::*;

use super::scalar;

/// The element-wise kernels whose AVX-512 and AVX2 bodies differ only in lane width and
/// intrinsic names, written once. `$v` is the vector type, `$l` its lane count, `$reduce`
/// the horizontal sum; the remaining names are that width's intrinsics.
macro_rules! lane_kernels {
    (
        features: $features:literal,
        lanes: $l:literal,
        reduce: $reduce:ident,
        setzero: $setzero:ident,
        set1: $set1:ident,
        loadu: $loadu:ident,
        storeu: $storeu:ident,
        add: $add:ident,
        max: $max:ident,
        fmadd: $fmadd:ident $(,)?
    ) => {
        const L: usize = $l;

        #[target_feature(enable = $features)]
        pub unsafe fn relu(x: &[f32], y: &mut [f32]) {
            let n = x.len().min(y.len());
            let body = n / L * L;
            let zero = $setzero();
            for i in (0..body).step_by(L) {
                // SAFETY: i + L <= body <= len of both slices.
                unsafe {
                    let v = $loadu(x.as_ptr().add(i));
                    // max(v, 0) returns the second operand (0) when v is NaN, as the scalar.
                    $storeu(y.as_mut_ptr().add(i), $max(v, zero));
                }
            }
            scalar::relu(&x[body..n], &mut y[body..n]);
        }

        #[target_feature(enable = $features)]
        pub unsafe fn add_scalar(y: &mut [f32], b: f32) {
            let n = y.len();
            let body = n / L * L;
            let bv = $set1(b);
            for i in (0..body).step_by(L) {
                // SAFETY: i + L <= body <= y.len().
                unsafe {
                    let p = y.as_mut_ptr().add(i);
                    $storeu(p, $add($loadu(p), bv));
                }
            }
            scalar::add_scalar(&mut y[body..], b);
        }

        #[target_feature(enable = $features)]
        pub unsafe fn sum(x: &[f32]) -> f32 {
            let n = x.len();
            let body = n / L * L;
            let mut acc = $setzero();
            for i in (0..body).step_by(L) {
                // SAFETY: i + L <= body <= x.len().
                acc = $add(acc, unsafe { $loadu(x.as_ptr().add(i)) });
            }
            $reduce(acc) + scalar::sum(&x[body..])
        }

        #[target_feature(enable = $features)]
        pub unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
            let n = x.len().min(y.len());
            let body = n / L * L;
            let mut acc = $setzero();
            for i in (0..body).step_by(L) {
                // SAFETY: i + L <= body <= len of both slices.
                unsafe {
                    let a = $loadu(x.as_ptr().add(i));
                    let b = $loadu(y.as_ptr().add(i));
                    acc = $fmadd(a, b, acc);
                }
            }
            $reduce(acc) + scalar::dot(&x[body..n], &y[body..n])
        }

        #[target_feature(enable = $features)]
        pub unsafe fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
            let n = x.len().min(y.len());
            let body = n / L * L;
            let av = $set1(a);
            for i in (0..body).step_by(L) {
                // SAFETY: i + L <= body <= len of both slices.
                unsafe {
                    let p = y.as_mut_ptr().add(i);
                    let v = $loadu(x.as_ptr().add(i));
                    $storeu(p, $fmadd(av, v, $loadu(p)));
                }
            }
            scalar::axpy(&mut y[body..n], a, &x[body..n]);
        }

        #[target_feature(enable = $features)]
        pub unsafe fn add(y: &mut [f32], x: &[f32]) {
            let n = x.len().min(y.len());
            let body = n / L * L;
            for i in (0..body).step_by(L) {
                // SAFETY: i + L <= body <= len of both slices.
                unsafe {
                    let p = y.as_mut_ptr().add(i);
                    let v = $loadu(x.as_ptr().add(i));
                    $storeu(p, $add($loadu(p), v));
                }
            }
            scalar::add(&mut y[body..n], &x[body..n]);
        }
    };
}

pub mod avx512 {
    use super::*;

    lane_kernels! {
        features: "avx512f",
        lanes: 16,
        reduce: _mm512_reduce_add_ps,
        setzero: _mm512_setzero_ps,
        set1: _mm512_set1_ps,
        loadu: _mm512_loadu_ps,
        storeu: _mm512_storeu_ps,
        add: _mm512_add_ps,
        max: _mm512_max_ps,
        fmadd: _mm512_fmadd_ps,
    }

    /// AVX-512 compares into a mask register, so its body differs from AVX2's.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let n = x.len().min(dy.len()).min(dx.len());
        let body = n / L * L;
        let zero = _mm512_setzero_ps();
        for i in (0..body).step_by(L) {
            // SAFETY: i + L <= body <= len of all three slices.
            unsafe {
                let v = _mm512_loadu_ps(x.as_ptr().add(i));
                let g = _mm512_loadu_ps(dy.as_ptr().add(i));
                let keep = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, zero);
                _mm512_storeu_ps(dx.as_mut_ptr().add(i), _mm512_maskz_mov_ps(keep, g));
            }
        }
        scalar::relu_backward(&x[body..n], &dy[body..n], &mut dx[body..n]);
    }
}

/// Direct stride-1 convolution on the "wide" layout (see `conv2d.rs`, shifted path):
/// `out[co·ldo + q] (+)= Σ_{ci < n_ci} Σ_t wk[t·w_t + co·w_co + ci] · src[ci·plane + offs[t] + q]`
/// for one tile of `CO` output channels × up to 96 columns `q0..q0 + rem`, adding to the
/// tile's old values when `accumulate`.
pub mod direct {
    use super::*;

    /// Columns per tile: 6 vectors of 16.
    pub const TILE_Q: usize = 96;

    /// # Safety
    /// avx512f must be available; for `c < CO` and valid `q` every `wk`, `src` and `out`
    /// index the formula above names must be inside its allocation (masked-off lanes are
    /// never touched).
    #[target_feature(enable = "avx512f")]
    #[expect(
        clippy::too_many_arguments,
        reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
    )]
    pub unsafe fn tile<const CO: usize>(
        wk: *const f32,
        w_t: usize,
        w_co: usize,
        n_ci: usize,
        offs: &[usize],
        src: *const f32,
        plane: usize,
        q0: usize,
        rem: usize,
        out: *mut f32,
        ldo: usize,
        accumulate: bool,
    ) {
        let mut masks = [0 as __mmask16; 6];
        for (v, m) in masks.iter_mut().enumerate() {
            let valid = rem.saturating_sub(16 * v).min(16);
            *m = ((1u32 << valid) - 1) as __mmask16;
        }
        let full = rem == TILE_Q;
        let mut acc = [[_mm512_setzero_ps(); 6]; CO];
        if accumulate {
            for (c, acc_c) in acc.iter_mut().enumerate() {
                for v in 0..6 {
                    // SAFETY: masked load of valid columns of row c, inside `out` by contract.
                    acc_c[v] = unsafe {
                        _mm512_maskz_loadu_ps(masks[v], out.wrapping_add(c * ldo + q0 + 16 * v))
                    };
                }
            }
        }
        for ci in 0..n_ci {
            let base = src.wrapping_add(ci * plane + q0);
            let wci = wk.wrapping_add(ci);
            for (t, &off) in offs.iter().enumerate() {
                let p = base.wrapping_add(off);
                let mut x = [_mm512_setzero_ps(); 6];
                for v in 0..6 {
                    // SAFETY: lanes under the mask are valid columns, inside `src` by the
                    // caller's contract; masked-off lanes are not read (a full tile reads
                    // all 96 columns, all valid).
                    x[v] = unsafe {
                        if full {
                            _mm512_loadu_ps(p.wrapping_add(16 * v))
                        } else {
                            _mm512_maskz_loadu_ps(masks[v], p.wrapping_add(16 * v))
                        }
                    };
                }
                for (c, acc_c) in acc.iter_mut().enumerate() {
                    // SAFETY: weight (t, c, ci) is inside `wk` by the caller's contract.
                    let w = _mm512_set1_ps(unsafe { *wci.wrapping_add(t * w_t + c * w_co) });
                    for v in 0..6 {
                        acc_c[v] = _mm512_fmadd_ps(w, x[v], acc_c[v]);
                    }
                }
            }
        }
        for (c, acc_c) in acc.iter().enumerate() {
            for (v, &a) in acc_c.iter().enumerate() {
                // SAFETY: masked store of valid columns of row c, inside `out` by contract.
                unsafe {
                    _mm512_mask_storeu_ps(out.wrapping_add(c * ldo + q0 + 16 * v), masks[v], a)
                };
            }
        }
    }
}

/// Weight gradient of the direct stride-1 convolution on the wide layout, on a transposed
/// copy of the source (`src_t[p·ldt + ci]`, input channels contiguous): for one tile of
/// `CO` output channels × `CV` vectors of 16 input channels and one tap (already applied
/// to `src_t`), `dw[c·ldw + ci] += Σ_{q < q_len} dy[c·ldy + q] · src_t[q·ldt + ci]` for
/// `c < CO`, `ci < n_ci` (≤ 16·CV). The sum over `q` runs in registers, in order.
pub mod weight_grad {
    use super::*;

    /// # Safety
    /// avx512f must be available; `dy[c·ldy + q]` for `c < CO`, `q < q_len`,
    /// `src_t[q·ldt + ci]` for `q < q_len`, `ci < 16·CV`, and `dw[c·ldw + ci]` for
    /// `c < CO`, `ci < n_ci` must be inside their allocations (masked-off lanes of `dw`
    /// are never touched).
    #[target_feature(enable = "avx512f")]
    #[expect(
        clippy::too_many_arguments,
        reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
    )]
    pub unsafe fn tile<const CO: usize, const CV: usize>(
        dy: *const f32,
        ldy: usize,
        src_t: *const f32,
        ldt: usize,
        q_len: usize,
        dw: *mut f32,
        ldw: usize,
        n_ci: usize,
    ) {
        let mut masks = [0 as __mmask16; CV];
        for (v, m) in masks.iter_mut().enumerate() {
            let valid = n_ci.saturating_sub(16 * v).min(16);
            *m = ((1u32 << valid) - 1) as __mmask16;
        }
        let mut acc = [[_mm512_setzero_ps(); CV]; CO];
        for q in 0..q_len {
            let row = src_t.wrapping_add(q * ldt);
            let mut x = [_mm512_setzero_ps(); CV];
            for (v, x_v) in x.iter_mut().enumerate() {
                // SAFETY: lanes 16v..16v + 16 < 16·CV of source row q, inside `src_t` by
                // the caller's contract.
                *x_v = unsafe { _mm512_loadu_ps(row.wrapping_add(16 * v)) };
            }
            for (c, acc_c) in acc.iter_mut().enumerate() {
                // SAFETY: dy[c·ldy + q] with c < CO, q < q_len: inside `dy` by contract.
                let d = _mm512_set1_ps(unsafe { *dy.wrapping_add(c * ldy + q) });
                for (a, &x_v) in acc_c.iter_mut().zip(&x) {
                    *a = _mm512_fmadd_ps(d, x_v, *a);
                }
            }
        }
        for (c, acc_c) in acc.iter().enumerate() {
            for (v, &a) in acc_c.iter().enumerate() {
                let p = dw.wrapping_add(c * ldw + 16 * v);
                // SAFETY: masked load and store of the valid lanes (ci < n_ci) of row c,
                // inside `dw` by contract.
                unsafe {
                    let old = _mm512_maskz_loadu_ps(masks[v], p);
                    _mm512_mask_storeu_ps(p, masks[v], _mm512_add_ps(old, a));
                }
            }
        }
    }
}

pub mod avx2 {
    use super::*;

    /// The sum of a vector's eight lanes.
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    lane_kernels! {
        features: "avx2,fma",
        lanes: 8,
        reduce: hsum,
        setzero: _mm256_setzero_ps,
        set1: _mm256_set1_ps,
        loadu: _mm256_loadu_ps,
        storeu: _mm256_storeu_ps,
        add: _mm256_add_ps,
        max: _mm256_max_ps,
        fmadd: _mm256_fmadd_ps,
    }

    /// AVX2 compares into a lane mask that is and-ed with the gradient.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let n = x.len().min(dy.len()).min(dx.len());
        let body = n / L * L;
        let zero = _mm256_setzero_ps();
        for i in (0..body).step_by(L) {
            // SAFETY: i + L <= body <= len of all three slices.
            unsafe {
                let v = _mm256_loadu_ps(x.as_ptr().add(i));
                let g = _mm256_loadu_ps(dy.as_ptr().add(i));
                let keep = _mm256_cmp_ps::<_CMP_GT_OQ>(v, zero);
                _mm256_storeu_ps(dx.as_mut_ptr().add(i), _mm256_and_ps(keep, g));
            }
        }
        scalar::relu_backward(&x[body..n], &dy[body..n], &mut dx[body..n]);
    }
}
