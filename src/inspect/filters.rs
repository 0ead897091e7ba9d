//! Hand-made filters next to learned ones: the classical Gaussian, Sobel, Scharr and
//! Laplacian kernels applied to an image by the engine's own convolution (so they are
//! computed exactly as a conv layer would), and a conv node's learned kernels.

use ndarray::{Array2, ArrayD, IxDyn};

use crate::engine::facts::WindowGeometry;
use crate::engine::layers::Layer;
use crate::engine::layers::conv2d::Conv2d;
use crate::engine::model_spec::{PaddingMode, Pads, Pair};
use crate::engine::{Graph, Tensor};

use super::InspectError;
use super::util::node_index;

/// A named hand-made kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassicalFilter {
    pub name: &'static str,
    /// What it does, for the tooltip.
    pub about: &'static str,
    pub kernel: Array2<f32>,
}

/// A filter's kernel and its response on the image.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterResponse {
    pub name: &'static str,
    pub about: &'static str,
    /// None for derived responses (the Sobel magnitude).
    pub kernel: Option<Array2<f32>>,
    /// `[h, w]`, same size as the image (replicated borders).
    pub response: Array2<f32>,
}

fn k3(rows: [[f32; 3]; 3]) -> Array2<f32> {
    Array2::from_shape_fn((3, 3), |(i, j)| rows[i][j])
}

/// A normalised `size × size` Gaussian with standard deviation `sigma` (size made odd).
pub fn gaussian(size: usize, sigma: f32) -> Array2<f32> {
    let size = (size.max(1)) | 1;
    let sigma = if sigma.is_finite() && sigma > 0.0 {
        sigma
    } else {
        1.0
    };
    let c = (size / 2) as f32;
    let mut k = Array2::from_shape_fn((size, size), |(i, j)| {
        let (y, x) = (i as f32 - c, j as f32 - c);
        (-(x * x + y * y) / (2.0 * sigma * sigma)).exp()
    });
    let sum = k.sum();
    k /= sum;
    k
}

/// The classical filters of the lecture, in display order. Kernels are applied as
/// cross-correlation, like a conv layer: "x" filters respond to intensity changing along
/// x (vertical edges), "y" filters to horizontal edges.
pub fn classical_filters() -> Vec<ClassicalFilter> {
    let sobel_x = k3([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]);
    let scharr_x = k3([[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]);
    vec![
        ClassicalFilter {
            name: "gaussian",
            about: "Gaussian blur, σ = 1 (5×5): averages neighbours, removes fine detail",
            kernel: gaussian(5, 1.0),
        },
        ClassicalFilter {
            name: "sobel_x",
            about: "Sobel x: derivative along x, responds to vertical edges",
            kernel: sobel_x.clone(),
        },
        ClassicalFilter {
            name: "sobel_y",
            about: "Sobel y: derivative along y, responds to horizontal edges",
            kernel: sobel_x.t().to_owned(),
        },
        ClassicalFilter {
            name: "scharr_x",
            about: "Scharr x: like Sobel x with better rotational symmetry",
            kernel: scharr_x.clone(),
        },
        ClassicalFilter {
            name: "scharr_y",
            about: "Scharr y: like Sobel y with better rotational symmetry",
            kernel: scharr_x.t().to_owned(),
        },
        ClassicalFilter {
            name: "laplacian",
            about: "Laplacian: second derivative, responds to blobs and thin lines in any direction",
            kernel: k3([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
        },
    ]
}

/// The image's channels averaged into one `[h, w]` plane (sample 0).
pub fn grayscale(image: &Tensor<f32>) -> Result<Array2<f32>, InspectError> {
    let [n, c, h, w] = [
        image.shape()[0],
        image.shape()[1],
        image.shape()[2],
        image.shape()[3],
    ];
    if n == 0 || c == 0 || h == 0 || w == 0 {
        return Err(InspectError::invalid("the image is empty"));
    }
    Ok(Array2::from_shape_fn((h, w), |(i, j)| {
        (0..c).map(|k| image[[0, k, i, j]]).sum::<f32>() / c as f32
    }))
}

/// Cross-correlates `plane` with `kernel` through the engine's conv layer: stride 1,
/// "same" size, replicated borders.
pub fn apply_filter(
    plane: &Array2<f32>,
    kernel: &Array2<f32>,
) -> Result<Array2<f32>, InspectError> {
    let (h, w) = plane.dim();
    let (kh, kw) = kernel.dim();
    if h == 0 || w == 0 || kh == 0 || kw == 0 {
        return Err(InspectError::invalid("image and kernel must not be empty"));
    }
    if kh > 255 || kw > 255 {
        return Err(InspectError::invalid(
            "kernels larger than 255 are not supported",
        ));
    }
    let conv = Conv2d {
        geom: WindowGeometry {
            in_channels: 1,
            out_channels: 1,
            kernel: Pair::new(kh, kw),
            stride: Pair::square(1),
            dilation: Pair::square(1),
            pads: Pads {
                top: (kh - 1) / 2,
                bottom: kh / 2,
                left: (kw - 1) / 2,
                right: kw / 2,
            },
            groups: 1,
            in_size: Pair::new(h, w),
            out_size: Pair::new(h, w),
        },
        padding_mode: PaddingMode::Replicate,
        has_bias: false,
    };
    let x = plane
        .to_owned()
        .into_shape_with_order((1, 1, h, w))
        .map_err(|e| InspectError::invalid(e.to_string()))?;
    let weight = ArrayD::from_shape_vec(IxDyn(&[1, 1, kh, kw]), kernel.iter().copied().collect())
        .map_err(|e| InspectError::invalid(e.to_string()))?;
    let y = conv.forward(&x, &weight, None);
    y.into_shape_with_order((h, w))
        .map_err(|e| InspectError::invalid(e.to_string()))
}

/// Every classical filter applied to the image (channels averaged to gray first), plus
/// the Sobel gradient magnitude `√(gx² + gy²)` (without a kernel of its own).
pub fn filter_bank(image: &Tensor<f32>) -> Result<Vec<FilterResponse>, InspectError> {
    let gray = grayscale(image)?;
    let mut out = Vec::new();
    for f in classical_filters() {
        let response = apply_filter(&gray, &f.kernel)?;
        out.push(FilterResponse {
            name: f.name,
            about: f.about,
            kernel: Some(f.kernel),
            response,
        });
    }
    let find = |n: &str| out.iter().position(|r| r.name == n);
    if let (Some(gx), Some(gy)) = (find("sobel_x"), find("sobel_y")) {
        let mag = ndarray::Zip::from(&out[gx].response)
            .and(&out[gy].response)
            .map_collect(|a, b| (a * a + b * b).sqrt());
        out.push(FilterResponse {
            name: "sobel_magnitude",
            about: "Edge strength √(gx² + gy²) from the two Sobel responses",
            kernel: None,
            response: mag,
        });
    }
    Ok(out)
}

/// The learned weight of a conv or transposed-conv node, in PyTorch's layout
/// (`[out, in/groups, kh, kw]` for conv, `[in, out, kh, kw]` for transposed conv).
pub fn conv_kernels(graph: &Graph<f32>, node: &str) -> Result<ArrayD<f32>, InspectError> {
    let i = node_index(graph, node)?;
    match graph.layer(node) {
        Some(Layer::Conv(_)) | Some(Layer::ConvTranspose(_)) => {}
        _ => {
            return Err(InspectError::WrongKind {
                node: node.to_string(),
                found: graph.facts().nodes[i].kind.to_string(),
                wanted: "a conv2d or conv_transpose2d node",
            });
        }
    }
    graph
        .param(&format!("{node}.weight"))
        .map(|p| p.value.clone())
        .ok_or_else(|| InspectError::invalid(format!("node '{node}' has no weight")))
}

/// The conv and transposed-conv nodes of the graph, in order (for the filters picker).
pub fn conv_nodes(graph: &Graph<f32>) -> Vec<String> {
    graph
        .node_names()
        .filter(|n| {
            matches!(
                graph.layer(n),
                Some(Layer::Conv(_)) | Some(Layer::ConvTranspose(_))
            )
        })
        .map(str::to_string)
        .collect()
}
