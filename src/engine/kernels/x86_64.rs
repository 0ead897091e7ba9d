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

/// The 2×2, stride-2 max pool of one plane and its input gradient, 16 windows per
/// vector: the two input rows of a window row are loaded as 32 floats each and split into
/// even and odd columns, so the four candidates of 16 windows are four vectors. Same
/// comparisons in the same order as `scalar::max_pool2x2` (a NaN wins over a number, the
/// first of equal values wins), so results are bit-identical.
pub mod max_pool {
    use super::*;

    /// Lane `i` takes element `2i` (even) or `2i + 1` (odd) of the 32 floats `lo ++ hi`.
    const EVEN: [i32; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];
    const ODD: [i32; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31];
    /// Interleaving `a` (even columns) and `b` (odd columns) back: the first 16 and the
    /// last 16 of `a0 b0 a1 b1 …`.
    const ZIP_LO: [i32; 16] = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
    const ZIP_HI: [i32; 16] = [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31];

    /// The masks of the first `n` (≤ 16) lanes and of the 2n floats the n windows read.
    #[inline]
    fn masks(n: usize) -> (__mmask16, __mmask16, __mmask16) {
        let lanes = |k: usize| if k >= 16 { 0xffff } else { (1u16 << k) - 1 };
        (lanes(n), lanes(2 * n), lanes((2 * n).saturating_sub(16)))
    }

    /// # Safety
    /// avx512f must be available; `src` holds `2·oh` rows of `w ≥ 2·ow` floats, `dst` and
    /// `win` hold `oh · ow` elements each.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn forward(
        src: *const f32,
        w: usize,
        oh: usize,
        ow: usize,
        dst: *mut f32,
        win: *mut u32,
    ) {
        // SAFETY: each table is 16 i32s, one 512-bit vector.
        let (even, odd) = unsafe {
            (
                _mm512_loadu_si512(EVEN.as_ptr().cast()),
                _mm512_loadu_si512(ODD.as_ptr().cast()),
            )
        };
        let lane2 = even;
        for oi in 0..oh {
            let r0 = 2 * oi * w;
            for oj in (0..ow).step_by(16) {
                let (k, k_lo, k_hi) = masks(ow - oj);
                let c = r0 + 2 * oj;
                // SAFETY: the masked loads read columns 2·oj .. 2·oj + 2n of rows 2·oi and
                // 2·oi + 1, all below 2·ow ≤ w; the masked stores write outputs
                // oi·ow + oj .. + n.
                unsafe {
                    let a_lo = _mm512_maskz_loadu_ps(k_lo, src.add(c));
                    let a_hi = _mm512_maskz_loadu_ps(k_hi, src.add(c + 16));
                    let b_lo = _mm512_maskz_loadu_ps(k_lo, src.add(c + w));
                    let b_hi = _mm512_maskz_loadu_ps(k_hi, src.add(c + w + 16));
                    let base = _mm512_add_epi32(_mm512_set1_epi32(c as i32), lane2);
                    let mut best = _mm512_permutex2var_ps(a_lo, even, a_hi);
                    let mut at = base;
                    for (v, off) in [
                        (_mm512_permutex2var_ps(a_lo, odd, a_hi), 1),
                        (_mm512_permutex2var_ps(b_lo, even, b_hi), w),
                        (_mm512_permutex2var_ps(b_lo, odd, b_hi), w + 1),
                    ] {
                        let gt = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best);
                        let nan_wins = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v)
                            & _mm512_cmp_ps_mask::<_CMP_ORD_Q>(best, best);
                        let m = gt | nan_wins;
                        best = _mm512_mask_mov_ps(best, m, v);
                        at = _mm512_mask_mov_epi32(
                            at,
                            m,
                            _mm512_add_epi32(base, _mm512_set1_epi32(off as i32)),
                        );
                    }
                    let o = oi * ow + oj;
                    _mm512_mask_storeu_ps(dst.add(o), k, best);
                    _mm512_mask_storeu_epi32(win.add(o).cast(), k, at);
                }
            }
        }
    }

    /// # Safety
    /// avx512f must be available; `dy` and `win` hold `oh · ow` elements, `dx` holds
    /// `2·oh` rows of `w ≥ 2·ow` floats; only the window cells (columns below 2·ow) of
    /// those rows are written.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn backward(
        dy: *const f32,
        win: *const u32,
        w: usize,
        oh: usize,
        ow: usize,
        dx: *mut f32,
    ) {
        // SAFETY: each table is 16 i32s, one 512-bit vector.
        let (lane2, zip_lo, zip_hi) = unsafe {
            (
                _mm512_loadu_si512(EVEN.as_ptr().cast()),
                _mm512_loadu_si512(ZIP_LO.as_ptr().cast()),
                _mm512_loadu_si512(ZIP_HI.as_ptr().cast()),
            )
        };
        let zero = _mm512_setzero_ps();
        for oi in 0..oh {
            let r0 = 2 * oi * w;
            for oj in (0..ow).step_by(16) {
                let (k, k_lo, k_hi) = masks(ow - oj);
                let c = r0 + 2 * oj;
                let o = oi * ow + oj;
                // SAFETY: the masked loads read outputs oi·ow + oj .. + n; the masked
                // stores write columns 2·oj .. 2·oj + 2n of rows 2·oi and 2·oi + 1, all
                // below 2·ow ≤ w.
                unsafe {
                    // + 0 turns a −0 gradient into +0, as adding into zeros does.
                    let g = _mm512_add_ps(_mm512_maskz_loadu_ps(k, dy.add(o)), zero);
                    let at = _mm512_maskz_loadu_epi32(k, win.add(o).cast());
                    let base = _mm512_add_epi32(_mm512_set1_epi32(c as i32), lane2);
                    let cell = |off: usize| {
                        let idx = _mm512_add_epi32(base, _mm512_set1_epi32(off as i32));
                        _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(at, idx), g)
                    };
                    for (row, e, od) in [(c, cell(0), cell(1)), (c + w, cell(w), cell(w + 1))] {
                        let lo = _mm512_permutex2var_ps(e, zip_lo, od);
                        let hi = _mm512_permutex2var_ps(e, zip_hi, od);
                        _mm512_mask_storeu_ps(dx.add(row), k_lo, lo);
                        _mm512_mask_storeu_ps(dx.add(row + 16), k_hi, hi);
                    }
                }
            }
        }
    }
}

/// Direct stride-1 convolution on the "wide" layout (see `conv2d.rs`, shifted path):
/// `out[co·ldo + q] (+)= Σ_{ci < n_ci} Σ_t wk[t·w_t + co·w_co + ci] · src[ci·plane + offs[t] + q]`
/// for one tile of `CO` output channels × up to 96 columns `q0..q0 + rem`, adding to the
/// tile's old values when `accumulate`.
pub mod direct {
    use super::*;

    /// Vectors per tile.
    pub const TILE_V: usize = 6;

    /// Where a tile's 6 vectors read (`src` offsets, added to `ci·plane + offs[t]`) and
    /// write (`out` offsets, added to `c·ldo`), and which of their lanes are valid.
    #[derive(Clone, Copy)]
    pub struct Vectors {
        pub src: [usize; TILE_V],
        pub out: [usize; TILE_V],
        pub masks: [__mmask16; TILE_V],
    }

    /// # Safety
    /// avx512f must be available; for `c < CO`, `v < 6` and every lane under `masks[v]`,
    /// every `wk`, `src` and `out` index the formula names must be inside its allocation
    /// (masked-off lanes are never touched).
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
        at: &Vectors,
        out: *mut f32,
        ldo: usize,
        accumulate: bool,
    ) {
        let masks = at.masks;
        let full = masks.iter().all(|&m| m == 0xffff);
        let mut acc = [[_mm512_setzero_ps(); TILE_V]; CO];
        if accumulate {
            for (c, acc_c) in acc.iter_mut().enumerate() {
                for v in 0..TILE_V {
                    // SAFETY: masked load of valid lanes of row c, inside `out` by contract.
                    acc_c[v] = unsafe {
                        _mm512_maskz_loadu_ps(masks[v], out.wrapping_add(c * ldo + at.out[v]))
                    };
                }
            }
        }
        for ci in 0..n_ci {
            let base = src.wrapping_add(ci * plane);
            let wci = wk.wrapping_add(ci);
            for (t, &off) in offs.iter().enumerate() {
                let p = base.wrapping_add(off);
                let mut x = [_mm512_setzero_ps(); TILE_V];
                for v in 0..TILE_V {
                    // SAFETY: lanes under the mask are inside `src` by the caller's
                    // contract; masked-off lanes are not read (a full tile's are all valid).
                    x[v] = unsafe {
                        if full {
                            _mm512_loadu_ps(p.wrapping_add(at.src[v]))
                        } else {
                            _mm512_maskz_loadu_ps(masks[v], p.wrapping_add(at.src[v]))
                        }
                    };
                }
                for (c, acc_c) in acc.iter_mut().enumerate() {
                    // SAFETY: weight (t, c, ci) is inside `wk` by the caller's contract.
                    let w = _mm512_set1_ps(unsafe { *wci.wrapping_add(t * w_t + c * w_co) });
                    for v in 0..TILE_V {
                        acc_c[v] = _mm512_fmadd_ps(w, x[v], acc_c[v]);
                    }
                }
            }
        }
        for (c, acc_c) in acc.iter().enumerate() {
            for (v, &a) in acc_c.iter().enumerate() {
                // SAFETY: masked store of valid lanes of row c, inside `out` by contract.
                unsafe {
                    _mm512_mask_storeu_ps(out.wrapping_add(c * ldo + at.out[v]), masks[v], a)
                };
            }
        }
    }
}

/// Direct convolution vectorised over output channels, for convs with few output channels
/// (≤ 32) where a GEMM has too few rows to run at speed, at stride 1 or 2: a tile is
/// [`cvec::TILE_P`] consecutive output pixels of one row × `CB` blocks of 16 output
/// channels in zmm accumulators; per input channel and tap it loads `CB` weight vectors
/// (weights packed `[ci·taps + t][co]`) and broadcasts each pixel's input value.
pub mod cvec {
    use super::*;

    /// Output pixels per tile.
    pub const TILE_P: usize = super::super::CVEC_TILE_P;

    /// Writes `tmp[p·16·CB + co] = Σ_ci Σ_t wpk[(ci·taps + t)·ldw + co] ·
    /// src[ci·plane + toff[t] + p·SW]` for `p < TILE_P`, `co < 16·CB`.
    ///
    /// # Safety
    /// avx512f must be available; every `src` index the formula names (for all
    /// `p < TILE_P`), `wpk` indices below `cin·taps·ldw` with `ldw ≥ 16·CB`, and
    /// `tmp[..TILE_P·16·CB]` must be inside their allocations.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tile<const CB: usize, const SW: usize>(
        wpk: *const f32,
        ldw: usize,
        cin: usize,
        toff: &[usize],
        src: *const f32,
        plane: usize,
        tmp: *mut f32,
    ) {
        let mut acc = [[_mm512_setzero_ps(); CB]; TILE_P];
        let taps = toff.len();
        for ci in 0..cin {
            let sci = src.wrapping_add(ci * plane);
            let wci = wpk.wrapping_add(ci * taps * ldw);
            for (t, &off) in toff.iter().enumerate() {
                let s = sci.wrapping_add(off);
                let mut w = [_mm512_setzero_ps(); CB];
                for (b, wb) in w.iter_mut().enumerate() {
                    // SAFETY: (ci·taps + t)·ldw + 16b + 15 < cin·taps·ldw by the contract.
                    *wb = unsafe { _mm512_loadu_ps(wci.wrapping_add(t * ldw + 16 * b)) };
                }
                for (p, acc_p) in acc.iter_mut().enumerate() {
                    // SAFETY: source index ci·plane + toff[t] + p·SW, in bounds by contract.
                    let x = _mm512_set1_ps(unsafe { *s.wrapping_add(p * SW) });
                    for b in 0..CB {
                        acc_p[b] = _mm512_fmadd_ps(w[b], x, acc_p[b]);
                    }
                }
            }
        }
        for (p, acc_p) in acc.iter().enumerate() {
            for (b, &a) in acc_p.iter().enumerate() {
                // SAFETY: p·16·CB + 16b + 15 < TILE_P·16·CB, inside `tmp` by contract.
                unsafe { _mm512_storeu_ps(tmp.wrapping_add(p * 16 * CB + 16 * b), a) };
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
