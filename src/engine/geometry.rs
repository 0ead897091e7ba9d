//! The geometry words of the text format: sizes as `[height, width]` pairs, padding (as
//! written and as resolved amounts), and the padding and upsampling modes. Every node kind
//! and the ONNX mapping use these; they depend on nothing else of the engine, so the kinds
//! can use them without importing the model description that lists the kinds.

use serde::{Deserialize, Serialize};

/// A pair of sizes `[height, width]`, written as one number when both are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PairRepr", into = "PairRepr")]
pub struct Pair {
    pub h: usize,
    pub w: usize,
}

impl Pair {
    pub const fn square(n: usize) -> Self {
        Pair { h: n, w: n }
    }
    pub const fn new(h: usize, w: usize) -> Self {
        Pair { h, w }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum PairRepr {
    One(usize),
    Two([usize; 2]),
}

impl From<PairRepr> for Pair {
    fn from(r: PairRepr) -> Self {
        match r {
            PairRepr::One(n) => Pair::square(n),
            PairRepr::Two([h, w]) => Pair::new(h, w),
        }
    }
}

impl From<Pair> for PairRepr {
    fn from(p: Pair) -> Self {
        if p.h == p.w {
            PairRepr::One(p.h)
        } else {
            PairRepr::Two([p.h, p.w])
        }
    }
}

/// Padding amounts on each side of a feature map, resolved: the one padding type from the
/// preset's [`Padding`] (or a pooling / transposed conv's symmetric pair) to ONNX's `pads`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pads {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

impl Pads {
    /// `p.h` rows above and below, `p.w` columns left and right.
    pub const fn symmetric(p: Pair) -> Self {
        Pads {
            top: p.h,
            bottom: p.h,
            left: p.w,
            right: p.w,
        }
    }

    /// The same amount on all four sides.
    pub const fn uniform(p: usize) -> Self {
        Pads::symmetric(Pair::square(p))
    }

    /// ONNX's order of the 2-D `pads` attribute: `[top, left, bottom, right]`.
    pub const fn onnx(&self) -> [usize; 4] {
        [self.top, self.left, self.bottom, self.right]
    }

    /// From ONNX's `[top, left, bottom, right]`.
    pub const fn from_onnx([top, left, bottom, right]: [usize; 4]) -> Self {
        Pads {
            top,
            bottom,
            left,
            right,
        }
    }

    /// The amounts as `[vertical, horizontal]` when both sides of each axis agree.
    pub fn as_symmetric(&self) -> Option<Pair> {
        (self.top == self.bottom && self.left == self.right)
            .then_some(Pair::new(self.top, self.left))
    }

    pub fn is_zero(&self) -> bool {
        *self == Pads::default()
    }
}

/// How much border a convolution or pooling window sees around its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Padding {
    /// `"valid"` (no padding) or `"same"` (output size = input size / stride, rounded up).
    Named(PaddingName),
    /// The same amount on all four sides.
    Uniform(usize),
    /// `[vertical, horizontal]`, as PyTorch's `padding=(ph, pw)`.
    Symmetric([usize; 2]),
    /// `[top, bottom, left, right]`.
    Explicit([usize; 4]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingName {
    Valid,
    Same,
}

impl Padding {
    /// The simplest way to write `pads` in the text format.
    pub fn from_pads(pads: Pads) -> Padding {
        match pads.as_symmetric() {
            Some(p) if p.h == p.w => Padding::Uniform(p.h),
            Some(p) => Padding::Symmetric([p.h, p.w]),
            None => Padding::Explicit([pads.top, pads.bottom, pads.left, pads.right]),
        }
    }
}

impl Default for Padding {
    fn default() -> Self {
        Padding::Uniform(0)
    }
}

impl Padding {
    /// Resolves to explicit amounts for a window of `effective` extent (dilation included)
    /// and `stride` on an input of `input` rows/columns. "same" follows TensorFlow's rule
    /// (extra pixel at the bottom/right), which PyTorch matches for stride 1.
    pub fn resolve(&self, input: Pair, effective: Pair, stride: Pair) -> Pads {
        match *self {
            Padding::Named(PaddingName::Valid) => Pads::default(),
            Padding::Named(PaddingName::Same) => {
                let total = |n: usize, k: usize, s: usize| {
                    let out = n.div_ceil(s.max(1));
                    ((out.saturating_sub(1)) * s + k).saturating_sub(n)
                };
                let th = total(input.h, effective.h, stride.h);
                let tw = total(input.w, effective.w, stride.w);
                Pads {
                    top: th / 2,
                    bottom: th - th / 2,
                    left: tw / 2,
                    right: tw - tw / 2,
                }
            }
            Padding::Uniform(p) => Pads::uniform(p),
            Padding::Symmetric([ph, pw]) => Pads::symmetric(Pair::new(ph, pw)),
            Padding::Explicit([t, b, l, r]) => Pads {
                top: t,
                bottom: b,
                left: l,
                right: r,
            },
        }
    }
}

/// What a conv layer reads outside the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingMode {
    /// Zeros around the border.
    #[default]
    Zeros,
    /// Mirror without repeating the edge pixel (PyTorch `reflect`).
    Reflect,
    /// Repeat the edge pixel.
    Replicate,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsampleMode {
    #[default]
    Nearest,
    /// Bilinear with `align_corners = false`, as PyTorch's default.
    Bilinear,
}

// Defaults of the text format's keys, shared by the kinds' configurations.
pub fn pair_one() -> Pair {
    Pair::square(1)
}
pub fn pair_zero() -> Pair {
    Pair::square(0)
}
pub fn usize_one() -> usize {
    1
}
pub fn yes() -> bool {
    true
}
