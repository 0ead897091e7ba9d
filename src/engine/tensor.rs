//! NCHW tensors on ndarray, generic over the float type.
//!
//! Training runs in f32; the same code runs in f64 so that finite-difference gradient checks
//! test the very layers that train, with no second implementation to drift apart.

use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use ndarray::{Array4, ArrayD, LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};

/// An activation or gradient tensor: `[n, c, h, w]`.
pub type Tensor<T = f32> = Array4<T>;

/// A parameter tensor in PyTorch's layout (any rank).
pub type ParamTensor<T = f32> = ArrayD<T>;

/// The float types the engine computes in.
pub trait Scalar:
    Float
    + LinalgScalar
    + ScalarOperand
    + FromPrimitive
    + Default
    + Debug
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// Converts an f64 constant (always representable, possibly rounded).
    fn of(x: f64) -> Self;
    fn as_f64(self) -> f64;
}

impl Scalar for f32 {
    #[inline]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    #[inline]
    fn of(x: f64) -> Self {
        x
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}

/// Shape of a tensor as `[n, c, h, w]`.
pub fn dims<T>(t: &Tensor<T>) -> [usize; 4] {
    let s = t.shape();
    [s[0], s[1], s[2], s[3]]
}

/// Converts between float types (f32 fixtures into f64 checks and back).
pub fn cast<A: Scalar, B: Scalar, D: ndarray::Dimension>(
    a: &ndarray::Array<A, D>,
) -> ndarray::Array<B, D> {
    a.mapv(|x| B::of(x.as_f64()))
}
