//! Fully connected layer: `y = x·Wᵀ + b` on the flattened input; output `[n, out, 1, 1]`.

use ndarray::ArrayD;

use crate::engine::gemm::{Op, gemm};
use crate::engine::tensor::{Scalar, Tensor};

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
