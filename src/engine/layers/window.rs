//! Sliding-window plumbing shared by conv and transposed conv: border padding in the three
//! fill modes, and im2col / col2im (its adjoint).
//!
//! Buffers are plain `C×H×W` slices of one sample.

use crate::engine::geometry::{PaddingMode, Pads, Pair};
use crate::engine::tensor::Scalar;

/// Source index of padded position `i` (may be outside `0..n`) for the fill `mode`, or
/// `None` where zeros are read.
#[inline]
pub fn source_index(i: isize, n: usize, mode: PaddingMode) -> Option<usize> {
    let n = n as isize;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    match mode {
        PaddingMode::Zeros => None,
        PaddingMode::Replicate => Some(i.clamp(0, n - 1) as usize),
        PaddingMode::Reflect => {
            // Mirror without repeating the edge; facts.rs guarantees pad < n.
            let r = if i < 0 { -i } else { 2 * (n - 1) - i };
            Some(r.clamp(0, n - 1) as usize)
        }
    }
}

/// Copies `src` (`c×h×w`) into `dst` (`c×(h+pt+pb)×(w+pl+pr)`), filling the border.
pub fn pad<T: Scalar>(
    src: &[T],
    c: usize,
    h: usize,
    w: usize,
    pads: Pads,
    mode: PaddingMode,
    dst: &mut [T],
) {
    let hp = h + pads.top + pads.bottom;
    let wp = w + pads.left + pads.right;
    debug_assert_eq!(dst.len(), c * hp * wp);
    let cols: Vec<Option<usize>> = (0..wp)
        .map(|j| source_index(j as isize - pads.left as isize, w, mode))
        .collect();
    for ch in 0..c {
        let s = &src[ch * h * w..(ch + 1) * h * w];
        let d = &mut dst[ch * hp * wp..(ch + 1) * hp * wp];
        for i in 0..hp {
            let row = &mut d[i * wp..(i + 1) * wp];
            match source_index(i as isize - pads.top as isize, h, mode) {
                None => row.fill(T::zero()),
                Some(si) => {
                    let srow = &s[si * w..(si + 1) * w];
                    row[pads.left..pads.left + w].copy_from_slice(srow);
                    for j in (0..pads.left).chain(pads.left + w..wp) {
                        row[j] = cols[j].map_or(T::zero(), |sj| srow[sj]);
                    }
                }
            }
        }
    }
}

/// The adjoint of [`pad`]: adds each padded position's gradient to the input pixel it was
/// read from (several border positions may read the same pixel).
pub fn unpad_add<T: Scalar>(
    dpadded: &[T],
    c: usize,
    h: usize,
    w: usize,
    pads: Pads,
    mode: PaddingMode,
    dx: &mut [T],
) {
    let hp = h + pads.top + pads.bottom;
    let wp = w + pads.left + pads.right;
    let cols: Vec<Option<usize>> = (0..wp)
        .map(|j| source_index(j as isize - pads.left as isize, w, mode))
        .collect();
    for ch in 0..c {
        let s = &dpadded[ch * hp * wp..(ch + 1) * hp * wp];
        let d = &mut dx[ch * h * w..(ch + 1) * h * w];
        for i in 0..hp {
            let Some(si) = source_index(i as isize - pads.top as isize, h, mode) else {
                continue;
            };
            let srow = &s[i * wp..(i + 1) * wp];
            let drow = &mut d[si * w..(si + 1) * w];
            for (j, &g) in srow.iter().enumerate() {
                if let Some(sj) = cols[j] {
                    drow[sj] += g;
                }
            }
        }
    }
}

/// Window placement: `kernel` taps `dilation` apart, moved by `stride`, producing `out`
/// positions over a source of `src` size.
#[derive(Clone, Copy, Debug)]
pub struct Taps {
    pub kernel: Pair,
    pub stride: Pair,
    pub dilation: Pair,
    pub src: Pair,
    pub out: Pair,
}

/// `dst.copy_from_slice(src)` for the short rows of im2col, in fixed-size pieces the
/// compiler inlines as vector moves instead of calling `memcpy` per row.
#[inline(always)]
fn copy_fixed<T: Scalar, const N: usize>(dst: &mut [T], src: &[T], at: usize) {
    let d: &mut [T; N] = (&mut dst[at..at + N]).try_into().expect("N elements");
    let s: &[T; N] = (&src[at..at + N]).try_into().expect("N elements");
    *d = *s;
}

#[inline]
fn copy_short<T: Scalar>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    debug_assert_eq!(n, src.len());
    // Constant-size pieces (the last one overlapping) so no variable-length copy is left
    // for the compiler to turn into a `memcpy` call.
    match n {
        0 => {}
        1..4 => dst.copy_from_slice(src),
        4..8 => {
            copy_fixed::<T, 4>(dst, src, 0);
            copy_fixed::<T, 4>(dst, src, n - 4);
        }
        8..16 => {
            copy_fixed::<T, 8>(dst, src, 0);
            copy_fixed::<T, 8>(dst, src, n - 8);
        }
        16..=64 => {
            let mut i = 0;
            while i + 16 <= n {
                copy_fixed::<T, 16>(dst, src, i);
                i += 16;
            }
            if i < n {
                copy_fixed::<T, 16>(dst, src, n - 16);
            }
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Unfolds `src` (`c×src.h×src.w`) into `col` (`(c·kh·kw) × (out.h·out.w)`), row-major.
pub fn im2col<T: Scalar>(src: &[T], c: usize, t: Taps, col: &mut [T]) {
    im2col_rows(src, c, t, 0..t.out.h, col);
}

/// [`im2col`] for the output rows `rows` only: `col` is `(c·kh·kw) × (rows.len()·out.w)`.
pub fn im2col_rows<T: Scalar>(
    src: &[T],
    c: usize,
    t: Taps,
    rows: std::ops::Range<usize>,
    col: &mut [T],
) {
    let p = rows.len() * t.out.w;
    debug_assert!(col.len() >= c * t.kernel.h * t.kernel.w * p);
    let mut row = 0;
    for ch in 0..c {
        let plane = &src[ch * t.src.h * t.src.w..(ch + 1) * t.src.h * t.src.w];
        for ki in 0..t.kernel.h {
            for kj in 0..t.kernel.w {
                let dst = &mut col[row * p..(row + 1) * p];
                let base = kj * t.dilation.w;
                for (r, oi) in rows.clone().enumerate() {
                    let si = oi * t.stride.h + ki * t.dilation.h;
                    let srow = &plane[si * t.src.w..(si + 1) * t.src.w];
                    let drow = &mut dst[r * t.out.w..(r + 1) * t.out.w];
                    if t.stride.w == 1 {
                        copy_short(drow, &srow[base..base + t.out.w]);
                    } else {
                        for (oj, d) in drow.iter_mut().enumerate() {
                            *d = srow[base + oj * t.stride.w];
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the source position it
/// was read from. `src` must be zeroed by the caller when a fresh sum is wanted.
pub fn col2im_add<T: Scalar>(col: &[T], c: usize, t: Taps, src: &mut [T]) {
    col2im_rows_add(col, c, t, 0..t.out.h, src);
}

/// The adjoint of [`im2col_rows`].
pub fn col2im_rows_add<T: Scalar>(
    col: &[T],
    c: usize,
    t: Taps,
    rows: std::ops::Range<usize>,
    src: &mut [T],
) {
    let p = rows.len() * t.out.w;
    let mut row = 0;
    for ch in 0..c {
        let plane = &mut src[ch * t.src.h * t.src.w..(ch + 1) * t.src.h * t.src.w];
        for ki in 0..t.kernel.h {
            for kj in 0..t.kernel.w {
                let from = &col[row * p..(row + 1) * p];
                let base = kj * t.dilation.w;
                for (r, oi) in rows.clone().enumerate() {
                    let si = oi * t.stride.h + ki * t.dilation.h;
                    let srow = &mut plane[si * t.src.w..(si + 1) * t.src.w];
                    let frow = &from[r * t.out.w..(r + 1) * t.out.w];
                    if t.stride.w == 1 {
                        // Rows are short (often < 32): an inline loop beats a call.
                        for (d, &g) in srow[base..base + t.out.w].iter_mut().zip(frow) {
                            *d += g;
                        }
                    } else {
                        for (oj, &g) in frow.iter().enumerate() {
                            srow[base + oj * t.stride.w] += g;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_and_replicate_follow_pytorch() {
        let src = [1.0f64, 2.0, 3.0];
        let pads = Pads {
            top: 0,
            bottom: 0,
            left: 2,
            right: 2,
        };
        let mut dst = [0.0; 7];
        pad(&src, 1, 1, 3, pads, PaddingMode::Reflect, &mut dst);
        assert_eq!(dst, [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]);
        pad(&src, 1, 1, 3, pads, PaddingMode::Replicate, &mut dst);
        assert_eq!(dst, [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0]);
        pad(&src, 1, 1, 3, pads, PaddingMode::Zeros, &mut dst);
        assert_eq!(dst, [0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 0.0]);
        let mut back = [0.0; 3];
        unpad_add(&[1.0; 7], 1, 1, 3, pads, PaddingMode::Replicate, &mut back);
        assert_eq!(back, [3.0, 1.0, 3.0]);
    }
}
