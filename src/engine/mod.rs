//! Pure computation: tensors, layers, the graph, losses, optimisers. No egui, no threads of
//! its own, no file I/O.

pub mod error;
pub mod facts;
pub mod gemm;
pub mod geometry;
pub mod graph;
pub mod init;
#[expect(
    unsafe_code,
    reason = "the SIMD kernels are the one place for unsafe code; each block says why it is sound"
)]
pub mod kernels;
pub mod layers;
pub mod loss;
pub mod model_spec;
pub mod node_facts;
pub mod optim;
pub mod parallel;
pub mod rng;
pub mod tensor;

pub use error::GraphError;
pub use facts::{ModelFacts, NodeFacts, ReceptiveField};
pub use graph::{Graph, Mode, Param};
pub use init::{Init, initialize};
pub use loss::{LossKind, Target, loss};
pub use model_spec::{ModelSpec, NodeKind, NodeSpec, Pair};
pub use optim::{Optimizer, OptimizerKind};
pub use tensor::{Scalar, Tensor};
