//! Upsampling by an integer factor: nearest neighbour, or bilinear with
//! `align_corners = false` (PyTorch's default).

use serde::{Deserialize, Serialize};

use super::Layer;
use super::compute::{Backward, Compute, Forward};
use super::kind::{Choice, ChoiceStyle, Field, FieldValue, Inferred, Kind, NodeInputs};
use crate::engine::error::GraphError;
use crate::engine::geometry::UpsampleMode;
use crate::engine::node_facts::{NodeFacts, check_size};
use crate::engine::tensor::{Scalar, Tensor, dims};

/// The hyper-parameters of an upsampling node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsampleConfig {
    #[serde(default = "two")]
    pub scale: usize,
    #[serde(default)]
    pub mode: UpsampleMode,
}

fn two() -> usize {
    2
}

impl Default for UpsampleConfig {
    fn default() -> Self {
        UpsampleConfig {
            scale: two(),
            mode: UpsampleMode::Nearest,
        }
    }
}

const TIP_SCALE: &str = "Factor by which height and width grow.";
const TIP_MODE: &str = "nearest copies each pixel; bilinear interpolates between neighbours.";

impl Kind for UpsampleConfig {
    fn about(&self) -> &'static str {
        "Upsampling: makes height and width larger by a whole factor, without learned weights."
    }

    fn name_prefix(&self) -> &'static str {
        "upsample"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "scale",
                TIP_SCALE,
                FieldValue::Count(&mut self.scale, 1..=16),
            ),
            Field::new(
                "mode",
                TIP_MODE,
                FieldValue::Choice(&mut self.mode, ChoiceStyle::Buttons),
            ),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let scale = self.scale;
        check_size(at.name, "scale", scale, 64)?;
        let (x, rf_in) = (at.x(), at.field());
        let mut rf = rf_in;
        rf.jump = [rf_in.jump[0] / scale as f64, rf_in.jump[1] / scale as f64];
        Ok(Inferred::plain([x[0], x[1] * scale, x[2] * scale], rf))
    }

    fn layer(&self, _facts: &NodeFacts) -> Layer {
        Layer::Upsample(Upsample2d {
            scale: self.scale,
            mode: self.mode,
        })
    }
}

/// An upsampling node's computation.

#[derive(Clone, Debug)]
pub struct Upsample2d {
    pub scale: usize,
    pub mode: UpsampleMode,
}

/// For each output index along an axis: the two source indices and the weight of the second.
fn bilinear_taps(out: usize, src: usize, scale: usize) -> Vec<(usize, usize, f64)> {
    (0..out)
        .map(|o| {
            let s = ((o as f64 + 0.5) / scale as f64 - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(src - 1);
            let i1 = (i0 + 1).min(src - 1);
            (i0, i1, s - i0 as f64)
        })
        .collect()
}

impl Upsample2d {
    pub fn forward<T: Scalar>(&self, x: &Tensor<T>) -> Tensor<T> {
        let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
        let (oh, ow) = (h * self.scale, w * self.scale);
        let mut y = Tensor::<T>::zeros((n, c, oh, ow));
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let ys = y.as_slice_mut().expect("fresh array");
        let (th, tw) = (
            bilinear_taps(oh, h, self.scale),
            bilinear_taps(ow, w, self.scale),
        );
        for plane in 0..n * c {
            let src = &xs[plane * h * w..][..h * w];
            let dst = &mut ys[plane * oh * ow..][..oh * ow];
            for i in 0..oh {
                for j in 0..ow {
                    dst[i * ow + j] = match self.mode {
                        UpsampleMode::Nearest => src[(i / self.scale) * w + j / self.scale],
                        UpsampleMode::Bilinear => {
                            let (a0, a1, la) = th[i];
                            let (b0, b1, lb) = tw[j];
                            let (la, lb) = (T::of(la), T::of(lb));
                            let top = src[a0 * w + b0] * (T::one() - lb) + src[a0 * w + b1] * lb;
                            let bot = src[a1 * w + b0] * (T::one() - lb) + src[a1 * w + b1] * lb;
                            top * (T::one() - la) + bot * la
                        }
                    };
                }
            }
        }
        y
    }

    pub fn backward<T: Scalar>(&self, input_dims: [usize; 4], dy: &Tensor<T>) -> Tensor<T> {
        let [n, c, h, w] = input_dims;
        let (oh, ow) = (h * self.scale, w * self.scale);
        let mut dx = Tensor::<T>::zeros((n, c, h, w));
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        let dxs = dx.as_slice_mut().expect("fresh array");
        let (th, tw) = (
            bilinear_taps(oh, h, self.scale),
            bilinear_taps(ow, w, self.scale),
        );
        for plane in 0..n * c {
            let src = &dys[plane * oh * ow..][..oh * ow];
            let dst = &mut dxs[plane * h * w..][..h * w];
            for i in 0..oh {
                for j in 0..ow {
                    let g = src[i * ow + j];
                    match self.mode {
                        UpsampleMode::Nearest => dst[(i / self.scale) * w + j / self.scale] += g,
                        UpsampleMode::Bilinear => {
                            let (a0, a1, la) = th[i];
                            let (b0, b1, lb) = tw[j];
                            let (la, lb) = (T::of(la), T::of(lb));
                            let one = T::one();
                            dst[a0 * w + b0] += g * (one - la) * (one - lb);
                            dst[a0 * w + b1] += g * (one - la) * lb;
                            dst[a1 * w + b0] += g * la * (one - lb);
                            dst[a1 * w + b1] += g * la * lb;
                        }
                    }
                }
            }
        }
        dx
    }
}

impl Choice for UpsampleMode {
    fn options(&self) -> &'static [&'static str] {
        &["nearest", "bilinear"]
    }
    fn selected(&self) -> usize {
        *self as usize
    }
    fn select(&mut self, index: usize) {
        *self = match index {
            0 => UpsampleMode::Nearest,
            _ => UpsampleMode::Bilinear,
        };
    }
}

impl Compute for Upsample2d {
    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        self.forward(f.ins[0])
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        vec![self.backward(dims(b.ins[0]), b.dy)]
    }
}
