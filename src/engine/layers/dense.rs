//! Fully connected layer: `y = x·Wᵀ + b` on the flattened input; output `[n, out, 1, 1]`.

use ndarray::ArrayD;

use serde::{Deserialize, Serialize};

use super::Layer;
use super::ParamShape;
use super::compute::{Backward, Compute, Forward};
use super::conv2d::TIP_BIAS;
use super::kind::{Field, FieldValue, Inferred, Kind, NodeInputs, OutputCount};
use crate::engine::error::GraphError;
use crate::engine::gemm::{Op, gemm};
use crate::engine::geometry::yes;
use crate::engine::node_facts::{MAX_CHANNELS, NodeFacts, check_size};
use crate::engine::tensor::{Scalar, Tensor};

/// The hyper-parameters of a dense node (the text format's keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseConfig {
    pub out_features: usize,
    #[serde(default = "yes")]
    pub bias: bool,
}

impl Default for DenseConfig {
    /// The palette's: ten outputs (a ten-class classifier's head).
    fn default() -> Self {
        DenseConfig::new(10)
    }
}

impl DenseConfig {
    /// `out_features` neurons with a bias.
    pub fn new(out_features: usize) -> Self {
        DenseConfig {
            out_features,
            bias: true,
        }
    }
}

const TIP_OUT_FEATURES: &str = "Number of output neurons. Every neuron is connected to every input value (a spatial input is flattened first).";

impl Kind for DenseConfig {
    fn about(&self) -> &'static str {
        "Fully connected layer: every output neuron weighs every input value (a spatial input is flattened first)."
    }

    fn name_prefix(&self) -> &'static str {
        "fc"
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "out features",
                TIP_OUT_FEATURES,
                FieldValue::Count(&mut self.out_features, 1..=65_536),
            ),
            Field::new("bias", TIP_BIAS, FieldValue::Flag(&mut self.bias)),
        ]
    }

    fn infer(&self, at: &NodeInputs) -> Result<Inferred, GraphError> {
        let DenseConfig { out_features, bias } = self;
        let x = at.x();
        check_size(at.name, "out_features", *out_features, MAX_CHANNELS * 16)?;
        let fin = x[0] * x[1] * x[2];
        let params = (fin + usize::from(*bias)) * out_features;
        let formula = if *bias {
            format!("({fin}+1)·{out_features}")
        } else {
            format!("{fin}·{out_features}")
        };
        Ok(Inferred {
            output: [*out_features, 1, 1],
            params,
            param_formula: formula,
            flops: 2 * (fin * out_features) as u64,
            receptive_field: at.field().global(x),
            window: None,
        })
    }

    fn layer(&self, facts: &NodeFacts) -> Layer {
        Layer::Dense(Dense {
            in_features: facts.input_shapes[0].iter().product(),
            out_features: self.out_features,
            has_bias: self.bias,
        })
    }

    fn output_count(&self) -> OutputCount {
        OutputCount::Decides(self.out_features)
    }

    fn set_output_count(&mut self, outputs: usize) -> bool {
        self.out_features = outputs;
        true
    }
}

/// A dense node's computation.

#[derive(Clone, Debug)]
pub struct Dense {
    pub in_features: usize,
    pub out_features: usize,
    pub has_bias: bool,
}

impl Dense {
    pub fn weight_shape(&self) -> Vec<usize> {
        vec![self.out_features, self.in_features]
    }

    pub fn forward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        bias: Option<&ArrayD<T>>,
    ) -> Tensor<T> {
        let n = x.shape()[0];
        let x = x.as_standard_layout();
        let mut y = Tensor::<T>::zeros((n, self.out_features, 1, 1));
        let ys = y.as_slice_mut().expect("fresh array");
        if let Some(b) = bias {
            let bs = b.as_slice().expect("contiguous bias");
            for row in ys.chunks_mut(self.out_features) {
                row.copy_from_slice(bs);
            }
        }
        let beta = if bias.is_some() { T::one() } else { T::zero() };
        gemm(
            n,
            self.out_features,
            self.in_features,
            T::one(),
            x.as_slice().expect("standard layout"),
            Op::N,
            weight.as_slice().expect("contiguous weight"),
            Op::T,
            beta,
            ys,
        );
        y
    }

    pub fn backward<T: Scalar>(
        &self,
        x: &Tensor<T>,
        weight: &ArrayD<T>,
        dy: &Tensor<T>,
        dweight: &mut ArrayD<T>,
        dbias: Option<&mut ArrayD<T>>,
        need_dx: bool,
    ) -> Option<Tensor<T>> {
        let n = x.shape()[0];
        let x = x.as_standard_layout();
        let dy = dy.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout");
        // dW = dyᵀ · x
        gemm(
            self.out_features,
            self.in_features,
            n,
            T::one(),
            dys,
            Op::T,
            x.as_slice().expect("standard layout"),
            Op::N,
            T::one(),
            dweight.as_slice_mut().expect("contiguous weight grad"),
        );
        if let Some(db) = dbias {
            let dbs = db.as_slice_mut().expect("contiguous bias grad");
            for row in dys.chunks(self.out_features) {
                for (d, &g) in dbs.iter_mut().zip(row) {
                    *d += g;
                }
            }
        }
        need_dx.then(|| {
            let mut dx = Tensor::<T>::zeros(x.raw_dim());
            gemm(
                n,
                self.in_features,
                self.out_features,
                T::one(),
                dys,
                Op::N,
                weight.as_slice().expect("contiguous weight"),
                Op::N,
                T::zero(),
                dx.as_slice_mut().expect("fresh array"),
            );
            dx
        })
    }
}

impl Compute for Dense {
    fn param_shapes(&self) -> Vec<ParamShape> {
        ParamShape::weight_and_bias(self.weight_shape(), self.has_bias, self.out_features)
    }

    fn fans(&self) -> Option<(usize, usize)> {
        Some((self.in_features, self.out_features))
    }

    fn run_forward<T: Scalar>(&self, f: Forward<'_, T>) -> Tensor<T> {
        let ps = f.params;
        self.forward(f.ins[0], &ps[0].value, ps.get(1).map(|p| &p.value))
    }

    fn run_backward<T: Scalar>(&self, b: Backward<'_, T>) -> Vec<Tensor<T>> {
        let x0 = b.ins[0];
        let (w, bias) = b.params.split_at_mut(1);
        let dx = self.backward(
            x0,
            &w[0].value,
            b.dy,
            &mut w[0].grad,
            bias.first_mut().map(|p| &mut p.grad),
            b.want_dx,
        );
        dx.map(|g| g.into_shape_with_order(x0.raw_dim()).expect("same count"))
            .into_iter()
            .collect()
    }
}
