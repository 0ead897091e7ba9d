//! Weight initialisation, seeded per parameter name so that editing one node does not
//! change the starting weights of the others.

use serde::{Deserialize, Serialize};

use super::graph::Graph;
use super::layers::ParamRole;
use super::rng::Rng;
use super::tensor::Scalar;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Init {
    /// PyTorch's default for conv and linear layers: weights and biases uniform in
    /// ±1/√fan_in.
    #[default]
    Default,
    /// Weights and biases uniform in [−a, a] (the lecture's [−0.1, 0.1]).
    Uniform { a: f64 },
    /// Glorot/Xavier uniform: ±√(6 / (fan_in + fan_out)); zero biases.
    Glorot,
    /// He/Kaiming normal: std √(2 / fan_in), suited to ReLU; zero biases.
    He,
}

fn name_hash(name: &str) -> u64 {
    // FNV-1a: stable across builds and platforms.
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Draws fresh weights for every conv, transposed conv and dense layer; batch norm gets
/// scale 1, shift 0 and fresh running statistics.
pub fn initialize<T: Scalar>(graph: &mut Graph<T>, init: Init, seed: u64) {
    let fans: Vec<Option<(usize, usize)>> = graph
        .node_names()
        .map(|name| graph.layer(name).and_then(|l| l.fans()))
        .collect::<Vec<_>>();
    for p in graph.params_mut() {
        let mut rng = Rng::derive(seed, name_hash(&p.name));
        let fan = fans[p.node];
        let value = match (fan, p.role) {
            (None, ParamRole::Weight | ParamRole::RunningVar) => Some(T::one()),
            (None, _) => Some(T::zero()),
            (Some(_), ParamRole::Bias) if matches!(init, Init::Glorot | Init::He) => {
                Some(T::zero())
            }
            _ => None,
        };
        if let Some(v) = value {
            p.value.fill(v);
            continue;
        }
        let (fan_in, fan_out) = fan.expect("weights of layers with fans");
        let (fan_in, fan_out) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        p.value.mapv_inplace(|_| {
            T::of(match init {
                Init::Default => {
                    let b = 1.0 / fan_in.sqrt();
                    rng.uniform(-b, b)
                }
                Init::Uniform { a } => rng.uniform(-a, a),
                Init::Glorot => {
                    let b = (6.0 / (fan_in + fan_out)).sqrt();
                    rng.uniform(-b, b)
                }
                Init::He => rng.normal() * (2.0 / fan_in).sqrt(),
            })
        });
    }
}
