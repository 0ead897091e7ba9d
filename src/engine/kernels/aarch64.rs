//! NEON versions of the element-wise kernels (f32). NEON is part of the aarch64 baseline,
//! so these need no run-time check beyond `KernelSet::available`.

use std::arch::aarch64::*;

use super::scalar;

const L: usize = 4;

pub fn relu(x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let body = n / L * L;
    for i in (0..body).step_by(L) {
        // SAFETY: i + L <= body <= len of both slices; NEON is baseline on aarch64.
        unsafe {
            let v = vld1q_f32(x.as_ptr().add(i));
            let keep = vcgtq_f32(v, vdupq_n_f32(0.0));
            vst1q_f32(
                y.as_mut_ptr().add(i),
                vreinterpretq_f32_u32(vandq_u32(keep, vreinterpretq_u32_f32(v))),
            );
        }
    }
    scalar::relu(&x[body..n], &mut y[body..n]);
}

pub fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = x.len().min(dy.len()).min(dx.len());
    let body = n / L * L;
    for i in (0..body).step_by(L) {
        // SAFETY: i + L <= body <= len of all slices; NEON is baseline on aarch64.
        unsafe {
            let v = vld1q_f32(x.as_ptr().add(i));
            let g = vld1q_f32(dy.as_ptr().add(i));
            let keep = vcgtq_f32(v, vdupq_n_f32(0.0));
            vst1q_f32(
                dx.as_mut_ptr().add(i),
                vreinterpretq_f32_u32(vandq_u32(keep, vreinterpretq_u32_f32(g))),
            );
        }
    }
    scalar::relu_backward(&x[body..n], &dy[body..n], &mut dx[body..n]);
}

pub fn add_scalar(y: &mut [f32], b: f32) {
    let n = y.len();
    let body = n / L * L;
    for i in (0..body).step_by(L) {
        // SAFETY: i + L <= body <= y.len(); NEON is baseline on aarch64.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            vst1q_f32(p, vaddq_f32(vld1q_f32(p), vdupq_n_f32(b)));
        }
    }
    scalar::add_scalar(&mut y[body..], b);
}

pub fn sum(x: &[f32]) -> f32 {
    let body = x.len() / L * L;
    // SAFETY: NEON is baseline on aarch64.
    let mut acc = unsafe { vdupq_n_f32(0.0) };
    for i in (0..body).step_by(L) {
        // SAFETY: i + L <= body <= x.len().
        acc = unsafe { vaddq_f32(acc, vld1q_f32(x.as_ptr().add(i))) };
    }
    // SAFETY: NEON is baseline on aarch64.
    unsafe { vaddvq_f32(acc) + scalar::sum(&x[body..]) }
}

pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    let body = n / L * L;
    // SAFETY: NEON is baseline on aarch64.
    let mut acc = unsafe { vdupq_n_f32(0.0) };
    for i in (0..body).step_by(L) {
        // SAFETY: i + L <= body <= len of both slices.
        acc = unsafe {
            vfmaq_f32(
                acc,
                vld1q_f32(x.as_ptr().add(i)),
                vld1q_f32(y.as_ptr().add(i)),
            )
        };
    }
    // SAFETY: NEON is baseline on aarch64.
    unsafe { vaddvq_f32(acc) + scalar::dot(&x[body..n], &y[body..n]) }
}

pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    let n = x.len().min(y.len());
    let body = n / L * L;
    for i in (0..body).step_by(L) {
        // SAFETY: i + L <= body <= len of both slices; NEON is baseline on aarch64.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            vst1q_f32(
                p,
                vfmaq_n_f32(vld1q_f32(p), vld1q_f32(x.as_ptr().add(i)), a),
            );
        }
    }
    scalar::axpy(&mut y[body..n], a, &x[body..n]);
}

pub fn add(y: &mut [f32], x: &[f32]) {
    let n = x.len().min(y.len());
    let body = n / L * L;
    for i in (0..body).step_by(L) {
        // SAFETY: i + L <= body <= len of both slices; NEON is baseline on aarch64.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            vst1q_f32(p, vaddq_f32(vld1q_f32(p), vld1q_f32(x.as_ptr().add(i))));
        }
    }
    scalar::add(&mut y[body..n], &x[body..n]);
}
