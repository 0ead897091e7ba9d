//! The engine's only `unsafe`: SIMD element-wise kernels chosen at run time, and the call
//! into the `gemm` crate. Every kernel has a plain scalar reference in [`scalar`] (that is
//! the spec); `tests` runs every kernel set available on this machine against it.
//!
//! `CONVLAB_SCALAR=1` (read once, at first use) forces the scalar kernels and the scalar
//! GEMM everywhere.

use std::any::TypeId;
use std::sync::OnceLock;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod pool;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// A family of kernels for one instruction set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelSet {
    Scalar,
    Avx2,
    Avx512,
    Neon,
}

impl KernelSet {
    pub fn name(self) -> &'static str {
        match self {
            KernelSet::Scalar => "scalar",
            KernelSet::Avx2 => "avx2+fma",
            KernelSet::Avx512 => "avx512",
            KernelSet::Neon => "neon",
        }
    }

    /// Every kernel set this CPU can run, scalar first.
    pub fn available() -> Vec<KernelSet> {
        let mut v = vec![KernelSet::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                v.push(KernelSet::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(KernelSet::Avx512);
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("neon") {
                v.push(KernelSet::Neon);
            }
        }
        v
    }
}

/// Whether `CONVLAB_SCALAR` asks for the scalar path (`1`, `true`, `yes`).
pub fn scalar_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| {
        std::env::var("CONVLAB_SCALAR")
            .map(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false)
    })
}

/// The kernel set in use: the widest available unless the scalar path is forced.
pub fn active() -> KernelSet {
    static ACTIVE: OnceLock<KernelSet> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        if scalar_forced() {
            KernelSet::Scalar
        } else {
            *KernelSet::available()
                .last()
                .expect("scalar is always there")
        }
    })
}

/// Views a slice of the engine's float type as f32 when it is f32.
#[inline]
pub fn as_f32<T: 'static>(x: &[T]) -> Option<&[f32]> {
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32 (same TypeId), so the pointer, length and lifetime describe the
        // same valid f32 slice.
        Some(unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), x.len()) })
    } else {
        None
    }
}

/// Mutable twin of [`as_f32`].
#[inline]
pub fn as_f32_mut<T: 'static>(x: &mut [T]) -> Option<&mut [f32]> {
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32 (same TypeId); the unique borrow of `x` moves into the result.
        Some(unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<f32>(), x.len()) })
    } else {
        None
    }
}

/// `c = alpha · A · B + beta · c` through the `gemm` crate, single-threaded. `A` is `m×k`
/// with row stride `a_rs` and column stride `a_cs` (likewise `B`, `k×n`); `c` is `m×n`
/// row-major with row stride `ldc`. With `beta == 0`, `c` is not read.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn gemm_f32(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    a_rs: isize,
    a_cs: isize,
    b: &[f32],
    b_rs: isize,
    b_cs: isize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let last = |rows: usize, cols: usize, rs: isize, cs: isize| {
        (rows - 1) * rs as usize + (cols - 1) * cs as usize
    };
    assert!(m > 0 && n > 0 && k > 0);
    assert!(last(m, k, a_rs, a_cs) < a.len(), "gemm: A out of bounds");
    assert!(last(k, n, b_rs, b_cs) < b.len(), "gemm: B out of bounds");
    assert!(
        n <= ldc && last(m, n, ldc as isize, 1) < c.len(),
        "gemm: C out of bounds"
    );
    // SAFETY: the asserts above keep every element the crate reads (A: m×k, B: k×n at the
    // given non-negative strides) and writes (C: m×n at row stride ldc ≥ n, so no two
    // elements share an address) inside the borrowed slices; C is borrowed uniquely so it
    // aliases neither A nor B. The crate's convention is dst = alpha·dst + beta·lhs·rhs,
    // hence the swapped scalars.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            beta != 0.0,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

thread_local! {
    static SCRATCH_F32: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
    static SCRATCH_F64: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` with two scratch slices of `a` and `b` elements from this thread's reusable
/// buffer (grown when too small, never shrunk), so layers need no allocation per call once
/// warm. The contents are left over from earlier calls: callers write before reading.
pub fn with_scratch<T: Scalar, R>(
    a: usize,
    b: usize,
    f: impl FnOnce(&mut [T], &mut [T]) -> R,
) -> R {
    fn run<U: Scalar, R>(
        cell: &'static std::thread::LocalKey<std::cell::Cell<Vec<U>>>,
        a: usize,
        b: usize,
        f: impl FnOnce(&mut [U], &mut [U]) -> R,
    ) -> R {
        // Taking the buffer out makes a nested call safe: it just gets a fresh one.
        let mut buf = cell.with(|c| c.take());
        if buf.len() < a + b {
            buf.resize(a + b, U::zero());
        }
        let (x, y) = buf.split_at_mut(a);
        let r = f(x, &mut y[..b]);
        cell.with(|c| c.set(buf));
        r
    }
    if is_f32::<T>() {
        run(&SCRATCH_F32, a, b, |x, y| {
            // SAFETY: T is f32 (same TypeId); each slice is reborrowed once, uniquely.
            let cast = |s: &mut [f32]| unsafe {
                std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<T>(), s.len())
            };
            f(cast(x), cast(y))
        })
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        run(&SCRATCH_F64, a, b, |x, y| {
            // SAFETY: T is f64 (same TypeId); each slice is reborrowed once, uniquely.
            let cast = |s: &mut [f64]| unsafe {
                std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<T>(), s.len())
            };
            f(cast(x), cast(y))
        })
    } else {
        let mut buf = vec![T::zero(); a + b];
        let (x, y) = buf.split_at_mut(a);
        f(x, y)
    }
}

/// The f32 kernels of one explicitly chosen set (the shared test suite calls these for
/// every set); a set this CPU lacks falls back to scalar.
pub mod f32k {
    use super::KernelSet;
    use super::scalar;

    macro_rules! f32_kernel {
        ($name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)?) => {
            pub fn $name(set: KernelSet, $($arg: $ty),*) $(-> $ret)? {
                match set {
                    #[cfg(target_arch = "x86_64")]
                    KernelSet::Avx512 if std::arch::is_x86_feature_detected!("avx512f") => {
                        // SAFETY: avx512f was detected on this CPU just above.
                        unsafe { super::x86_64::avx512::$name($($arg),*) }
                    }
                    #[cfg(target_arch = "x86_64")]
                    KernelSet::Avx2
                        if std::arch::is_x86_feature_detected!("avx2")
                            && std::arch::is_x86_feature_detected!("fma") =>
                    {
                        // SAFETY: avx2 and fma were detected on this CPU just above.
                        unsafe { super::x86_64::avx2::$name($($arg),*) }
                    }
                    #[cfg(target_arch = "aarch64")]
                    KernelSet::Neon => super::aarch64::$name($($arg),*),
                    _ => scalar::$name($($arg),*),
                }
            }
        };
    }

    f32_kernel!(relu(x: &[f32], y: &mut [f32]));
    f32_kernel!(relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]));
    f32_kernel!(add_scalar(y: &mut [f32], b: f32));
    f32_kernel!(sum(x: &[f32]) -> f32);
    f32_kernel!(dot(x: &[f32], y: &[f32]) -> f32);
    f32_kernel!(axpy(y: &mut [f32], a: f32, x: &[f32]));
    f32_kernel!(add(y: &mut [f32], x: &[f32]));
}

use crate::engine::tensor::Scalar;

/// Whether `set` has the register-tiled direct-convolution kernels ([`conv_direct_f32`]
/// and the tiled [`conv_weight_grad_f32`]) on this CPU: AVX-512 only. (On AVX2 machines
/// with 16 ymm registers a 6 × 16 tile with packed weights measured no faster than the
/// `gemm` crate's AVX2 kernels, see PERFORMANCE.md, so they keep the GEMMs.)
/// `CONVLAB_DIRECT_CONV=0` says no for every set (for measuring against the GEMMs; read
/// once).
pub fn has_direct_conv(set: KernelSet) -> bool {
    static OFF: OnceLock<bool> = OnceLock::new();
    if *OFF.get_or_init(|| std::env::var("CONVLAB_DIRECT_CONV").is_ok_and(|v| v.trim() == "0")) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        set == KernelSet::Avx512 && std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = set;
        false
    }
}

/// Whether the direct-convolution kernels ([`has_direct_conv`]) serve tensors of `T` here:
/// f32, the active set has them, and the scalar path is not forced.
pub fn direct_conv_for<T: 'static>() -> bool {
    is_f32::<T>() && !scalar_forced() && has_direct_conv(active())
}

/// Direct stride-1 convolution on the wide layout with the AVX-512 register-tiled kernel:
/// `out[co·ldo + q] = Σ_ci Σ_t wk[t·w_t + co·cig + ci] · src[ci·plane + offs[t] + q]` for
/// `co < cog`, `q < q_len`. Returns false (doing nothing) when the set is not AVX-512 or
/// the CPU lacks it; the caller then uses GEMMs.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn conv_direct_f32(
    set: KernelSet,
    cog: usize,
    cig: usize,
    offs: &[usize],
    plane: usize,
    q_len: usize,
    wk: &[f32],
    w_t: usize,
    src: &[f32],
    out: &mut [f32],
    ldo: usize,
) -> bool {
    if !has_direct_conv(set) {
        return false;
    }
    if cog == 0 || cig == 0 || q_len == 0 || offs.is_empty() {
        return true;
    }
    // Vector u covers columns 16u .. 16u + 16 (the last one masked to q_len).
    let vector = |u: usize| (16 * u, 16 * u, q_len.saturating_sub(16 * u).min(16));
    direct_tiles(
        cog,
        cig,
        offs,
        plane,
        q_len.div_ceil(16),
        q_len,
        vector,
        wk,
        w_t,
        src,
        out,
        ldo,
    );
    true
}

/// [`conv_direct_f32`] writing compact output rows, without the wide layout's junk
/// columns: output pixel `(i, j)` of `rows × row_len` (row_len a multiple of 16) reads
/// `src[ci·plane + offs[t] + i·src_pitch + j]` and is written to `out[co·ldo + i·row_len + j]`,
/// so the conv's output goes straight into its tensor. False (doing nothing) when the set
/// lacks the kernel or `row_len` is not a multiple of 16.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn conv_direct_rows_f32(
    set: KernelSet,
    cog: usize,
    cig: usize,
    offs: &[usize],
    plane: usize,
    rows: usize,
    row_len: usize,
    src_pitch: usize,
    wk: &[f32],
    w_t: usize,
    src: &[f32],
    out: &mut [f32],
    ldo: usize,
) -> bool {
    if !has_direct_conv(set) || !row_len.is_multiple_of(16) || src_pitch < row_len {
        return false;
    }
    if cog == 0 || cig == 0 || rows == 0 || row_len == 0 || offs.is_empty() {
        return true;
    }
    let per_row = row_len / 16;
    let vector = |u: usize| {
        let (i, c) = (u / per_row, 16 * (u % per_row));
        (i * src_pitch + c, i * row_len + c, 16)
    };
    direct_tiles(
        cog,
        cig,
        offs,
        plane,
        rows * per_row,
        (rows - 1) * src_pitch + row_len,
        vector,
        wk,
        w_t,
        src,
        out,
        ldo,
    );
    true
}

/// Runs the AVX-512 tile over `n_vec` vectors of 16 lanes, vector `u` reading at
/// `vector(u).0`, writing at `vector(u).1`, with `vector(u).2` valid lanes; `src_span` is
/// one past the last source column any vector reads (relative to `ci·plane + offs[t]`).
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
fn direct_tiles(
    cog: usize,
    cig: usize,
    offs: &[usize],
    plane: usize,
    n_vec: usize,
    src_span: usize,
    vector: impl Fn(usize) -> (usize, usize, usize),
    wk: &[f32],
    w_t: usize,
    src: &[f32],
    out: &mut [f32],
    ldo: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        let max_off = *offs.iter().max().expect("taps");
        assert!(
            src.len() >= (cig - 1) * plane + max_off + src_span,
            "conv src bounds"
        );
        assert!(
            wk.len() >= (offs.len() - 1) * w_t + (cog - 1) * cig + cig,
            "conv weight bounds"
        );
        let out_span = (0..n_vec)
            .map(|u| {
                let (_, o, n) = vector(u);
                o + n
            })
            .max()
            .unwrap_or(0);
        assert!(
            ldo >= out_span && out.len() >= (cog - 1) * ldo + out_span,
            "conv out bounds"
        );
        use x86_64::direct::{TILE_V, Vectors, tile};
        // Input channels per pass: keeps a tile's source rows (CI_BLOCK planes × kernel
        // rows × 96 columns) in L1 while every output-channel block reuses them.
        const CI_BLOCK: usize = 16;
        let sp = src.as_ptr();
        for u0 in (0..n_vec).step_by(TILE_V) {
            let mut at = Vectors {
                src: [0; TILE_V],
                out: [0; TILE_V],
                masks: [0; TILE_V],
            };
            for v in 0..TILE_V.min(n_vec - u0) {
                let (s, o, n) = vector(u0 + v);
                assert!(s + n <= src_span && n <= 16, "conv vector bounds");
                at.src[v] = s;
                at.out[v] = o;
                at.masks[v] = ((1u32 << n) - 1) as u16;
            }
            for ci0 in (0..cig).step_by(CI_BLOCK) {
                let n_ci = (cig - ci0).min(CI_BLOCK);
                let mut co = 0;
                while co < cog {
                    let w = wk[co * cig + ci0..].as_ptr();
                    let s0 = sp.wrapping_add(ci0 * plane);
                    let o = out[co * ldo..].as_mut_ptr();
                    let acc = ci0 > 0;
                    // SAFETY: avx512f was checked by the caller (`has_direct_conv`); the
                    // asserts bound every index the tile touches: weights (t, co + c,
                    // ci0 + ci) with co + c < cog and ci0 + ci < cig, sources below
                    // (cig−1)·plane + max_off + src_span, outputs (co + c)·ldo + out[v] +
                    // lane < out.len() for valid lanes.
                    unsafe {
                        if cog - co >= 4 {
                            tile::<4>(w, w_t, cig, n_ci, offs, s0, plane, &at, o, ldo, acc);
                            co += 4;
                        } else {
                            tile::<1>(w, w_t, cig, n_ci, offs, s0, plane, &at, o, ldo, acc);
                            co += 1;
                        }
                    }
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (
            cog, cig, offs, plane, n_vec, src_span, vector, wk, w_t, src, out, ldo,
        );
        unreachable!("only x86_64 has the direct kernel");
    }
}

/// Output-channel blocks of 16 the vectorised-over-channels direct conv takes
/// ([`conv_cvec_f32`]): 1 or 2, so `cout ≤ 32`.
pub const CVEC_MAX_COUT: usize = 32;

/// Output pixels per tile of [`conv_cvec_f32`].
const CVEC_TILE_P: usize = 12;

/// Direct convolution of one sample vectorised over output channels (AVX-512; any
/// dilation, stride 1 or 2 along rows): for `co < cout`, `i < oh`, `j < ow`,
/// `out[co·ldo + i·ow + j] = bias[co] + Σ_ci Σ_t wpk[(ci·taps + t)·ldw + co] ·
/// src[ci·plane + toff[t] + i·sh·wp + j·sw]`, with `wpk` packed and zero-padded to
/// `ldw = 16·⌈cout/16⌉` channels. `src` must reach [`cvec_src_len`] (the last tile of a row
/// reads up to 11 pixels past it); `tmp` (any contents) holds [`cvec_tmp_len`] floats, one
/// output row's tiles. Returns false (doing nothing) when the set lacks the kernel,
/// `cout > 32` or `sw > 2`.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn conv_cvec_f32(
    set: KernelSet,
    cin: usize,
    cout: usize,
    toff: &[usize],
    plane: usize,
    (sh, sw): (usize, usize),
    (oh, ow, wp): (usize, usize, usize),
    wpk: &[f32],
    src: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    ldo: usize,
    tmp: &mut [f32],
) -> bool {
    if !has_direct_conv(set) || cout > CVEC_MAX_COUT || !(1..=2).contains(&sw) {
        return false;
    }
    if cin == 0 || cout == 0 || oh == 0 || ow == 0 || toff.is_empty() {
        return true;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use x86_64::cvec::{TILE_P, tile};
        let cb = cout.div_ceil(16);
        let ldw = 16 * cb;
        let taps = toff.len();
        assert!(
            src.len() >= cvec_src_len(cin, toff, plane, (sh, sw), (oh, ow, wp)),
            "cvec src bounds"
        );
        assert!(wpk.len() >= cin * taps * ldw, "cvec weight bounds");
        assert!(
            ldo >= oh * ow && out.len() >= (cout - 1) * ldo + oh * ow,
            "cvec out bounds"
        );
        assert!(bias.is_none_or(|b| b.len() >= cout), "cvec bias bounds");
        // One output row's tiles, pixel-major; then written channel by channel, so the
        // stores run along the output rows (writing a tile's 16–32 channels at once would
        // hit one cache set when the channel planes are 4 KiB apart).
        assert!(tmp.len() >= cvec_tmp_len(ow, cout), "cvec tmp bounds");
        // The tiles' 64-byte stores on cache-line boundaries (a misaligned `tmp` measured
        // 6–10 % slower); cvec_tmp_len leaves room for the shift.
        let shift = tmp.as_ptr().align_offset(64).min(15);
        let tmp = &mut tmp[shift..];
        for i in 0..oh {
            for j0 in (0..ow).step_by(TILE_P) {
                let s = src[i * sh * wp + j0 * sw..].as_ptr();
                let t = tmp[j0 * ldw..].as_mut_ptr();
                // SAFETY: avx512f was checked (`has_direct_conv`); the asserts bound the
                // weights and, through `cvec_src_len`, every source index of the tile's 12
                // pixels; `tmp` holds ⌈ow/TILE_P⌉·TILE_P·ldw floats (asserted), the tile
                // writes TILE_P·ldw from j0·ldw, j0 a multiple of TILE_P below ow.
                unsafe {
                    match (cb, sw) {
                        (1, 1) => tile::<1, 1>(wpk.as_ptr(), ldw, cin, toff, s, plane, t),
                        (1, _) => tile::<1, 2>(wpk.as_ptr(), ldw, cin, toff, s, plane, t),
                        (_, 1) => tile::<2, 1>(wpk.as_ptr(), ldw, cin, toff, s, plane, t),
                        _ => tile::<2, 2>(wpk.as_ptr(), ldw, cin, toff, s, plane, t),
                    }
                }
            }
            for co in 0..cout {
                let b = bias.map_or(0.0, |b| b[co]);
                let dst = &mut out[co * ldo + i * ow..][..ow];
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = tmp[j * ldw + co] + b;
                }
            }
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (
            cin, cout, toff, plane, sh, oh, wp, wpk, src, bias, out, ldo, tmp,
        );
        unreachable!("only x86_64 has the direct kernel");
    }
}

/// How long [`conv_cvec_f32`]'s `tmp` must be: one output row of tiles, all channel blocks,
/// and up to 15 floats to start them on a cache line.
pub fn cvec_tmp_len(ow: usize, cout: usize) -> usize {
    ow.div_ceil(CVEC_TILE_P) * CVEC_TILE_P * 16 * cout.div_ceil(16) + 15
}

/// How long [`conv_cvec_f32`]'s `src` must be: every tile reads 12 pixels, also where a
/// row has fewer left.
pub fn cvec_src_len(
    cin: usize,
    toff: &[usize],
    plane: usize,
    (sh, sw): (usize, usize),
    (oh, ow, wp): (usize, usize, usize),
) -> usize {
    let max_off = toff.iter().copied().max().unwrap_or(0);
    let last_pixel = ow.div_ceil(CVEC_TILE_P) * CVEC_TILE_P - 1;
    (cin.max(1) - 1) * plane + max_off + (oh.max(1) - 1) * sh * wp + last_pixel * sw + 1
}

/// The 2×2, stride-2 max pool of one `h × w` plane ([`scalar::max_pool2x2`]), with the
/// AVX-512 kernel when `set` has it, bit-identical to the scalar.
pub fn max_pool2x2_f32(
    set: KernelSet,
    src: &[f32],
    w: usize,
    oh: usize,
    ow: usize,
    dst: &mut [f32],
    win: &mut [u32],
) {
    assert!(
        2 * ow <= w && src.len() >= 2 * oh * w && dst.len() >= oh * ow && win.len() >= oh * ow,
        "max pool bounds"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if set == KernelSet::Avx512 && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: avx512f was detected just above; the assert gives the bounds the
            // kernel reads and writes.
            unsafe {
                x86_64::max_pool::forward(
                    src.as_ptr(),
                    w,
                    oh,
                    ow,
                    dst.as_mut_ptr(),
                    win.as_mut_ptr(),
                );
            }
            return;
        }
    }
    let _ = set;
    scalar::max_pool2x2(src, w, oh, ow, dst, win);
}

/// Input gradient of [`max_pool2x2_f32`] for one `h × w` plane
/// ([`scalar::max_pool2x2_backward`]): every cell of `dx` is written.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and sizes as plain arguments, as BLAS does"
)]
pub fn max_pool2x2_backward_f32(
    set: KernelSet,
    dy: &[f32],
    win: &[u32],
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    dx: &mut [f32],
) {
    assert!(
        2 * ow <= w
            && 2 * oh <= h
            && dx.len() >= h * w
            && dy.len() >= oh * ow
            && win.len() >= oh * ow,
        "max pool backward bounds"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if set == KernelSet::Avx512 && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: avx512f was detected just above; the assert gives the bounds the
            // kernel reads and writes.
            unsafe {
                x86_64::max_pool::backward(dy.as_ptr(), win.as_ptr(), w, oh, ow, dx.as_mut_ptr());
            }
            scalar::max_pool2x2_zero_uncovered(h, w, oh, ow, dx);
            return;
        }
    }
    let _ = set;
    scalar::max_pool2x2_backward(dy, win, h, w, oh, ow, dx);
}

/// Weight gradient of the direct stride-1 convolution on the wide layout: for every tap
/// `t`, `co < cog`, `ci < cig`,
/// `dw[t·w_t + co·cig + ci] += Σ_{q < q_len} dy[co·ldy + q] · src[ci·plane + offs[t] + q]`.
/// The AVX-512 register-tiled kernel when `set` is AVX-512 (and the CPU has it and the
/// scalar path is not forced), else [`scalar::conv_weight_grad`]. Deterministic: the sum
/// over `q` runs in a fixed order.
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
pub fn conv_weight_grad_f32(
    set: KernelSet,
    cog: usize,
    cig: usize,
    offs: &[usize],
    q_len: usize,
    dy: &[f32],
    ldy: usize,
    src: &[f32],
    plane: usize,
    dw: &mut [f32],
    w_t: usize,
) {
    if cog == 0 || cig == 0 || q_len == 0 || offs.is_empty() {
        return;
    }
    let max_off = *offs.iter().max().expect("taps");
    assert!(
        ldy >= q_len && dy.len() >= (cog - 1) * ldy + q_len,
        "weight grad dy bounds"
    );
    assert!(
        plane >= 1 && src.len() >= (cig - 1) * plane + max_off + q_len,
        "weight grad src bounds"
    );
    assert!(
        w_t >= cog * cig && dw.len() >= (offs.len() - 1) * w_t + cog * cig,
        "weight grad dw bounds"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if !scalar_forced() && has_direct_conv(set) {
            wg_avx512(
                cog, cig, offs, q_len, dy, ldy, src, plane, dw, w_t, WG_Q_CHUNK,
            );
            return;
        }
    }
    let _ = set;
    scalar::conv_weight_grad(cog, cig, offs, q_len, dy, ldy, src, plane, dw, w_t);
}

/// Columns `q` per pass of the weight-gradient kernel: a pass's transposed source rows
/// (one tap, 64 input channels) and dy rows stay in L1 while every output-channel tile
/// reuses them.
const WG_Q_CHUNK: usize = 128;

thread_local! {
    /// The transposed source of [`conv_weight_grad_f32`] (grows once per thread).
    static WG_SRC_T: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The AVX-512 body of [`conv_weight_grad_f32`]; the caller checked the feature and the
/// bounds. Transposes the source rows once (`src_t[p·ldt + ci]`, `ldt` = `cig` rounded up
/// to 16, zero lanes beyond `cig`): every tap is then a row shift of it, and the tiles
/// keep `dW[co][ci..ci + 16]` in registers while summing over `q` (no horizontal sums).
#[cfg(target_arch = "x86_64")]
#[expect(
    clippy::too_many_arguments,
    reason = "a kernel takes its operands and strides as plain arguments, as BLAS does"
)]
fn wg_avx512(
    cog: usize,
    cig: usize,
    offs: &[usize],
    q_len: usize,
    dy: &[f32],
    ldy: usize,
    src: &[f32],
    plane: usize,
    dw: &mut [f32],
    w_t: usize,
    chunk: usize,
) {
    let max_off = *offs.iter().max().expect("taps");
    let rows = max_off + q_len;
    let ldt = cig.div_ceil(16) * 16;
    WG_SRC_T.with_borrow_mut(|buf| {
        if buf.len() < rows * ldt + 16 {
            buf.resize(rows * ldt + 16, 0.0);
        }
        // Start on a 64-byte boundary: every vector load of a row is then aligned.
        let start = buf.as_ptr().align_offset(64).min(16);
        let st = &mut buf[start..][..rows * ldt];
        // In blocks of 16 positions: each source row is read 16 at a time.
        for (b, blk) in st.chunks_mut(16 * ldt).enumerate() {
            let (p0, np) = (16 * b, blk.len() / ldt);
            for ci in 0..cig {
                let s = &src[ci * plane + p0..][..np];
                for (j, &v) in s.iter().enumerate() {
                    blk[j * ldt + ci] = v;
                }
            }
            for row in blk.chunks_exact_mut(ldt) {
                row[cig..].fill(0.0);
            }
        }
        let st = &*st;
        for ci0 in (0..cig).step_by(64) {
            let n_ci = (cig - ci0).min(64);
            let cv = n_ci.div_ceil(16);
            let sizes: &[usize] = match cv {
                4 => &[6, 4, 2, 1],
                3 => &[8, 4, 2, 1],
                _ => &[12, 8, 4, 2, 1],
            };
            for q0 in (0..q_len).step_by(chunk) {
                let rem = (q_len - q0).min(chunk);
                for (t, &off) in offs.iter().enumerate() {
                    let s = st[(off + q0) * ldt + ci0..].as_ptr();
                    let mut co0 = 0;
                    while co0 < cog {
                        let n_co = *sizes
                            .iter()
                            .find(|&&n| n <= cog - co0)
                            .expect("size 1 is there");
                        let d = dy[co0 * ldy + q0..].as_ptr();
                        let o = dw[t * w_t + co0 * cig + ci0..].as_mut_ptr();
                        let args = (d, ldy, s, ldt, rem, o, cig, n_ci);
                        // SAFETY: avx512f was detected by `conv_weight_grad_f32`, whose
                        // asserts bound dy rows co0 + c < cog at columns q0 + q < q_len ≤ ldy,
                        // and dw rows t·w_t + (co0 + c)·cig + ci0 + ci with
                        // ci < n_ci ≤ cig − ci0 (lanes beyond n_ci are masked). src_t rows
                        // off + q0 + q < rows, lanes ci0 + 16·cv ≤ ldt, are inside `st`.
                        unsafe { wg_tile(n_co, cv, args) };
                        co0 += n_co;
                    }
                }
            }
        }
    });
}

/// The tile of `n_co` output channels × `cv` vectors of [`conv_weight_grad_f32`].
///
/// # Safety
/// As [`x86_64::weight_grad::tile`], for `CO = n_co`, `CV = cv`.
#[cfg(target_arch = "x86_64")]
unsafe fn wg_tile(
    n_co: usize,
    cv: usize,
    (d, ldy, s, ldt, q, o, ldw, n): (
        *const f32,
        usize,
        *const f32,
        usize,
        usize,
        *mut f32,
        usize,
        usize,
    ),
) {
    use x86_64::weight_grad::tile;
    // SAFETY: the caller's contract, for these CO and CV.
    unsafe {
        match (n_co, cv) {
            (6, 4) => tile::<6, 4>(d, ldy, s, ldt, q, o, ldw, n),
            (4, 4) => tile::<4, 4>(d, ldy, s, ldt, q, o, ldw, n),
            (2, 4) => tile::<2, 4>(d, ldy, s, ldt, q, o, ldw, n),
            (1, 4) => tile::<1, 4>(d, ldy, s, ldt, q, o, ldw, n),
            (8, 3) => tile::<8, 3>(d, ldy, s, ldt, q, o, ldw, n),
            (4, 3) => tile::<4, 3>(d, ldy, s, ldt, q, o, ldw, n),
            (2, 3) => tile::<2, 3>(d, ldy, s, ldt, q, o, ldw, n),
            (1, 3) => tile::<1, 3>(d, ldy, s, ldt, q, o, ldw, n),
            (12, 2) => tile::<12, 2>(d, ldy, s, ldt, q, o, ldw, n),
            (8, 2) => tile::<8, 2>(d, ldy, s, ldt, q, o, ldw, n),
            (4, 2) => tile::<4, 2>(d, ldy, s, ldt, q, o, ldw, n),
            (2, 2) => tile::<2, 2>(d, ldy, s, ldt, q, o, ldw, n),
            (1, 2) => tile::<1, 2>(d, ldy, s, ldt, q, o, ldw, n),
            (12, 1) => tile::<12, 1>(d, ldy, s, ldt, q, o, ldw, n),
            (8, 1) => tile::<8, 1>(d, ldy, s, ldt, q, o, ldw, n),
            (4, 1) => tile::<4, 1>(d, ldy, s, ldt, q, o, ldw, n),
            (2, 1) => tile::<2, 1>(d, ldy, s, ldt, q, o, ldw, n),
            (1, 1) => tile::<1, 1>(d, ldy, s, ldt, q, o, ldw, n),
            _ => unreachable!("tile sizes come from the tables above"),
        }
    }
}

#[inline]
pub fn is_f32<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<f32>()
}

/// `y = max(x, 0)` (NaN → 0).
pub fn relu<T: Scalar>(x: &[T], y: &mut [T]) {
    assert_eq!(x.len(), y.len());
    if is_f32::<T>() {
        let (x, y) = (as_f32(x).expect("f32"), as_f32_mut(y).expect("f32"));
        return f32k::relu(active(), x, y);
    }
    scalar::relu(x, y)
}

/// `dx = dy` where `x > 0`, else 0.
pub fn relu_backward<T: Scalar>(x: &[T], dy: &[T], dx: &mut [T]) {
    assert!(x.len() == dy.len() && dy.len() == dx.len());
    if is_f32::<T>() {
        let (x, dy) = (as_f32(x).expect("f32"), as_f32(dy).expect("f32"));
        return f32k::relu_backward(active(), x, dy, as_f32_mut(dx).expect("f32"));
    }
    scalar::relu_backward(x, dy, dx)
}

/// `y += b`.
pub fn add_scalar<T: Scalar>(y: &mut [T], b: T) {
    if is_f32::<T>() {
        return f32k::add_scalar(active(), as_f32_mut(y).expect("f32"), b.as_f64() as f32);
    }
    scalar::add_scalar(y, b)
}

/// `Σ x` (SIMD sets sum in lanes, so the rounding differs from the scalar order).
pub fn sum<T: Scalar>(x: &[T]) -> T {
    if is_f32::<T>() {
        return T::of(f32k::sum(active(), as_f32(x).expect("f32")) as f64);
    }
    scalar::sum(x)
}

/// `Σ x·y`.
pub fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
    assert_eq!(x.len(), y.len());
    if is_f32::<T>() {
        let (x, y) = (as_f32(x).expect("f32"), as_f32(y).expect("f32"));
        return T::of(f32k::dot(active(), x, y) as f64);
    }
    scalar::dot(x, y)
}

/// `y += a·x`.
pub fn axpy<T: Scalar>(y: &mut [T], a: T, x: &[T]) {
    assert_eq!(x.len(), y.len());
    if is_f32::<T>() {
        let x = as_f32(x).expect("f32");
        return f32k::axpy(active(), as_f32_mut(y).expect("f32"), a.as_f64() as f32, x);
    }
    scalar::axpy(y, a, x)
}

/// `y += x`.
pub fn add<T: Scalar>(y: &mut [T], x: &[T]) {
    assert_eq!(x.len(), y.len());
    if is_f32::<T>() {
        let x = as_f32(x).expect("f32");
        return f32k::add(active(), as_f32_mut(y).expect("f32"), x);
    }
    scalar::add(y, x)
}

#[cfg(test)]
mod tests {
    //! One suite for every kernel set this CPU has, against the scalar reference, at sizes
    //! around the lane widths (4, 8, 16) and odd ones.
    use super::*;

    const SIZES: &[usize] = &[
        0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257, 1031,
    ];

    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut r = crate::engine::rng::Rng::new(seed);
        (0..n)
            .map(|i| {
                if i % 7 == 3 {
                    0.0
                } else {
                    r.uniform(-2.0, 2.0) as f32
                }
            })
            .collect()
    }

    fn close(a: f32, b: f32, n: usize) -> bool {
        (a - b).abs() <= 1e-5 * (1.0 + n as f32) * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn every_kernel_set_matches_scalar() {
        for set in KernelSet::available() {
            for &n in SIZES {
                let x = data(n, 1);
                let y = data(n, 2);
                let name = set.name();

                let (mut want, mut got) = (vec![9.0; n], vec![9.0; n]);
                scalar::relu(&x, &mut want);
                f32k::relu(set, &x, &mut got);
                assert_eq!(want, got, "{name} relu n={n}");

                scalar::relu_backward(&x, &y, &mut want);
                f32k::relu_backward(set, &x, &y, &mut got);
                assert_eq!(want, got, "{name} relu_backward n={n}");

                let (mut want, mut got) = (y.clone(), y.clone());
                scalar::add_scalar(&mut want, 0.25);
                f32k::add_scalar(set, &mut got, 0.25);
                assert_eq!(want, got, "{name} add_scalar n={n}");

                let (mut want, mut got) = (y.clone(), y.clone());
                scalar::add(&mut want, &x);
                f32k::add(set, &mut got, &x);
                assert_eq!(want, got, "{name} add n={n}");

                let (mut want, mut got) = (y.clone(), y.clone());
                scalar::axpy(&mut want, -0.3, &x);
                f32k::axpy(set, &mut got, -0.3, &x);
                for i in 0..n {
                    // FMA rounds once, the scalar twice.
                    assert!(close(want[i], got[i], 1), "{name} axpy n={n} i={i}");
                }

                assert!(
                    close(scalar::sum(&x), f32k::sum(set, &x), n),
                    "{name} sum n={n}"
                );
                assert!(
                    close(scalar::dot(&x, &y), f32k::dot(set, &x, &y), n),
                    "{name} dot n={n}"
                );
            }
        }
    }

    #[test]
    fn relu_maps_nan_to_zero_in_every_set() {
        for set in KernelSet::available() {
            let x: Vec<f32> = (0..37)
                .map(|i| {
                    if i % 5 == 0 {
                        f32::NAN
                    } else {
                        i as f32 - 18.0
                    }
                })
                .collect();
            let mut want = vec![0.0; 37];
            let mut got = vec![0.0; 37];
            scalar::relu(&x, &mut want);
            f32k::relu(set, &x, &mut got);
            assert_eq!(want, got, "{}", set.name());
        }
    }

    /// The 2×2/2 max pool and its gradient on every set match the scalar bit for bit:
    /// widths around 16 windows per vector, odd sizes, ties, NaNs, −0 gradients.
    #[test]
    fn max_pool2x2_matches_the_scalar_reference() {
        for set in KernelSet::available() {
            for (h, w) in [
                (2, 2),
                (3, 5),
                (4, 32),
                (5, 33),
                (6, 34),
                (2, 63),
                (7, 64),
                (4, 65),
            ] {
                let (oh, ow) = (h / 2, w / 2);
                let mut src = data(h * w, (h * 100 + w) as u64);
                for (i, v) in src.iter_mut().enumerate() {
                    match i % 11 {
                        1 => *v = f32::NAN,
                        4 | 5 => *v = 1.0,
                        _ => {}
                    }
                }
                let (mut want, mut want_win) = (vec![9.0; oh * ow], vec![7u32; oh * ow]);
                let (mut got, mut got_win) = (vec![9.0; oh * ow], vec![7u32; oh * ow]);
                scalar::max_pool2x2(&src, w, oh, ow, &mut want, &mut want_win);
                max_pool2x2_f32(set, &src, w, oh, ow, &mut got, &mut got_win);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let name = set.name();
                assert_eq!(bits(&want), bits(&got), "{name} forward {h}×{w}");
                assert_eq!(want_win, got_win, "{name} winners {h}×{w}");

                let mut dy = data(oh * ow, 5);
                dy.iter_mut().step_by(3).for_each(|v| *v = -0.0);
                let (mut want_dx, mut got_dx) = (vec![f32::NAN; h * w], vec![f32::NAN; h * w]);
                scalar::max_pool2x2_backward(&dy, &want_win, h, w, oh, ow, &mut want_dx);
                max_pool2x2_backward_f32(set, &dy, &want_win, h, w, oh, ow, &mut got_dx);
                assert_eq!(bits(&want_dx), bits(&got_dx), "{name} backward {h}×{w}");
            }
        }
    }

    #[test]
    fn direct_conv_matches_the_formula() {
        for &(cog, cig, plane, q_len) in &[
            (5usize, 3usize, 40usize, 37usize),
            (8, 2, 200, 190),
            (4, 1, 100, 96),
            (1, 2, 30, 17),
        ] {
            let offs = [0usize, 1, 2, 7, 8, 9];
            let w_t = cog * cig + 3;
            let wk = data(offs.len() * w_t, 5);
            let src = data((cig - 1) * plane + 9 + q_len, 6);
            let ldo = q_len + 2;
            let mut out = vec![7.0f32; cog * ldo];
            if !conv_direct_f32(
                active(),
                cog,
                cig,
                &offs,
                plane,
                q_len,
                &wk,
                w_t,
                &src,
                &mut out,
                ldo,
            ) {
                return;
            }
            for co in 0..cog {
                for q in 0..q_len {
                    let mut want = 0.0f32;
                    for ci in 0..cig {
                        for (t, &off) in offs.iter().enumerate() {
                            want += wk[t * w_t + co * cig + ci] * src[ci * plane + off + q];
                        }
                    }
                    assert!(close(want, out[co * ldo + q], 20), "co={co} q={q}");
                }
                assert_eq!(out[co * ldo + q_len], 7.0, "untouched padding column");
            }
        }
    }

    /// The compact-rows form: every valid pixel as the formula says, nothing else written,
    /// for tiles that end inside a row, on a row boundary and past the last row.
    #[test]
    fn direct_conv_rows_match_the_formula() {
        for &(cog, cig, rows, row_len, pitch) in &[
            (5usize, 3usize, 3usize, 16usize, 18usize),
            (8, 17, 5, 32, 34),
            (4, 2, 7, 48, 50),
            (1, 1, 1, 16, 16),
        ] {
            let offs = [0usize, 1, 2, pitch, pitch + 1, 2 * pitch + 2];
            let plane = (rows + 2) * pitch + 3;
            let w_t = cog * cig + 3;
            let wk = data(offs.len() * w_t, 5);
            let src = data(
                (cig - 1) * plane + 2 * pitch + 2 + (rows - 1) * pitch + row_len,
                6,
            );
            let ldo = rows * row_len + 5;
            let mut out = vec![7.0f32; cog * ldo];
            if !conv_direct_rows_f32(
                active(),
                cog,
                cig,
                &offs,
                plane,
                rows,
                row_len,
                pitch,
                &wk,
                w_t,
                &src,
                &mut out,
                ldo,
            ) {
                return;
            }
            for co in 0..cog {
                for i in 0..rows {
                    for j in 0..row_len {
                        let mut want = 0.0f32;
                        for ci in 0..cig {
                            for (t, &off) in offs.iter().enumerate() {
                                want += wk[t * w_t + co * cig + ci]
                                    * src[ci * plane + off + i * pitch + j];
                            }
                        }
                        let got = out[co * ldo + i * row_len + j];
                        assert!(close(want, got, 20), "co={co} i={i} j={j}");
                    }
                }
                assert!(
                    out[co * ldo + rows * row_len..(co + 1) * ldo]
                        .iter()
                        .all(|&v| v == 7.0),
                    "nothing written past the rows"
                );
            }
        }
    }

    #[test]
    fn weight_grad_kernel_matches_the_scalar_reference() {
        if active() != KernelSet::Avx512 {
            return;
        }
        // (cog, cig, wp, rows): q_len = rows·wp; a 3×3 kernel's taps on rows of wp.
        for &(cog, cig, wp, rows) in &[
            (5usize, 7usize, 11usize, 3usize),
            (4, 6, 18, 16),
            (9, 13, 34, 32),
            (1, 1, 5, 3),
            (3, 2, 16, 1),
            (2, 5, 19, 27),
            (6, 12, 40, 13),
            (4, 6, 33, 31),
            (13, 70, 10, 8),
            (7, 64, 18, 9),
            (11, 37, 9, 7),
            (20, 17, 12, 23),
            (27, 33, 6, 4),
            (3, 130, 5, 2),
        ] {
            let q_len = rows * wp;
            let offs: Vec<usize> = (0..3)
                .flat_map(|ki| (0..3).map(move |kj| ki * wp + kj))
                .collect();
            let max_off = 2 * wp + 2;
            let plane = q_len + max_off + 3;
            let ldy = q_len + 5;
            let w_t = cog * cig + 2;
            let dy = data((cog - 1) * ldy + q_len, 11);
            let src = data((cig - 1) * plane + max_off + q_len, 12);
            let dw0 = data(offs.len() * w_t, 13);
            let kernel = || {
                let mut dw = dw0.clone();
                conv_weight_grad_f32(
                    KernelSet::Avx512,
                    cog,
                    cig,
                    &offs,
                    q_len,
                    &dy,
                    ldy,
                    &src,
                    plane,
                    &mut dw,
                    w_t,
                );
                dw
            };
            let got = kernel();
            assert_eq!(got, kernel(), "deterministic");
            // The scalar reference, in f64 (exact enough to judge both f32 versions).
            let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let mut want = f(&dw0);
            scalar::conv_weight_grad(
                cog,
                cig,
                &offs,
                q_len,
                &f(&dy),
                ldy,
                &f(&src),
                plane,
                &mut want,
                w_t,
            );
            let mut want32 = dw0.clone();
            scalar::conv_weight_grad(
                cog,
                cig,
                &offs,
                q_len,
                &dy,
                ldy,
                &src,
                plane,
                &mut want32,
                w_t,
            );
            for (t, &off) in offs.iter().enumerate() {
                for co in 0..w_t / cig.max(1) + 1 {
                    for ci in 0..cig {
                        let k = t * w_t + co * cig + ci;
                        if k >= (t + 1) * w_t {
                            continue;
                        }
                        if co >= cog {
                            assert_eq!(got[k], dw0[k], "untouched gap t={t} k={k}");
                            continue;
                        }
                        // Relative to the sum's magnitude Σ|dy·x| (+ the old value).
                        let scale = dw0[k].abs() as f64
                            + (0..q_len)
                                .map(|q| {
                                    (dy[co * ldy + q] * src[ci * plane + off + q]).abs() as f64
                                })
                                .sum::<f64>();
                        let tol = 1e-5 * scale.max(1e-30);
                        let msg = format!("cog={cog} cig={cig} q={q_len} t={t} co={co} ci={ci}");
                        assert!((got[k] as f64 - want[k]).abs() <= tol, "avx512 {msg}");
                        assert!((want32[k] as f64 - want[k]).abs() <= tol, "scalar {msg}");
                    }
                }
            }
        }
    }

    #[test]
    fn generic_entry_points_run_f64_through_scalar() {
        let x = [1.0f64, -2.0, 3.0];
        let mut y = [0.0f64; 3];
        relu(&x, &mut y);
        assert_eq!(y, [1.0, 0.0, 3.0]);
        assert_eq!(sum(&x), 2.0);
        assert_eq!(dot(&x, &x), 14.0);
    }
}
