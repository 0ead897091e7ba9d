//! Unsupervised segmentation by autoassociation (after Gliszczyński 2018, in the lecture):
//! an autoencoder trained on unlabelled images learns local features; clustering the
//! per-pixel features with k-means splits every image into k segments, with no label seen.
//! Where ground truth exists, segments are matched to classes (Hungarian matching on the
//! pooled overlap counts) and scored by IoU.
//!
//! * [`encoder_features`]: the activations of chosen nodes, upsampled bilinearly to the
//!   input size and concatenated (one feature vector per pixel).
//! * [`raw_features`]: the baseline without the autoencoder: each pixel's intensity and its
//!   local mean and standard deviation.
//! * [`Features::standardise`], [`kmeans`] (k-means++ init, seeded, Lloyd iterations to
//!   convergence or a cap), [`KMeans::assign`].
//! * [`hungarian`] (the O(n³) assignment algorithm) and [`match_segments`] (per-class IoU
//!   and mean IoU).
//!
//! [`segment`] does it all for one set of features: fit the centroids on a seeded subsample
//! of the pixels, assign every pixel, and score against the truth when given.

use ndarray::{Array3, s};

use super::InspectError;
use crate::engine::rng::Rng;
use crate::engine::{Graph, Mode, Tensor};

/// Pixels the centroids are fitted on at most (a seeded subsample); every pixel is assigned.
pub const FIT_PIXELS: usize = 20_000;
/// Lloyd iterations at most.
pub const MAX_ITERATIONS: usize = 100;
/// Most segments k-means may make.
pub const MAX_K: usize = 12;
/// The default side of the window over which features are averaged (the autoencoder's
/// activations: their local "texture energy") and of the raw-pixel baseline's local mean
/// and standard deviation.
pub const DEFAULT_WINDOW: usize = 9;
/// The largest window.
pub const MAX_WINDOW: usize = 63;
/// Images per forward pass.
const BATCH: usize = 16;

/// One feature vector per pixel: value `f` of pixel `(s, y, x)` at
/// `((s·h + y)·w + x)·d + f`.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub d: usize,
    pub values: Vec<f32>,
}

impl Features {
    pub fn pixels(&self) -> usize {
        self.n * self.h * self.w
    }

    /// The feature vector of pixel `p` (in `(s, y, x)` order).
    pub fn row(&self, p: usize) -> &[f32] {
        &self.values[p * self.d..(p + 1) * self.d]
    }

    /// Every feature shifted and scaled to mean 0 and standard deviation 1 over all pixels
    /// (a constant feature becomes 0), so no feature outweighs the others by its units.
    pub fn standardise(&mut self) {
        let (d, m) = (self.d, self.pixels());
        if m == 0 {
            return;
        }
        for f in 0..d {
            let mut sum = 0.0f64;
            let mut sq = 0.0f64;
            for p in 0..m {
                let v = f64::from(self.values[p * d + f]);
                sum += v;
                sq += v * v;
            }
            let mean = sum / m as f64;
            let var = (sq / m as f64 - mean * mean).max(0.0);
            let std = var.sqrt();
            for p in 0..m {
                let v = &mut self.values[p * d + f];
                *v = if std > 1e-12 {
                    ((f64::from(*v) - mean) / std) as f32
                } else {
                    0.0
                };
            }
        }
    }

    /// Every feature replaced by its mean over the `window×window` neighbourhood of its
    /// pixel in the same image (clipped at the border): what a texture is, as opposed to
    /// the pixel it happens to sit on. A window of 1 leaves the features as they are.
    pub fn smoothed(&self, window: usize) -> Features {
        let r = window.max(1) / 2;
        if r == 0 {
            return self.clone();
        }
        let (h, w, d) = (self.h, self.w, self.d);
        let mut out = vec![0.0f32; self.values.len()];
        let mut table = vec![0.0f64; (h + 1) * (w + 1)];
        for s in 0..self.n {
            for f in 0..d {
                for y in 0..h {
                    for x in 0..w {
                        let v = f64::from(self.values[((s * h + y) * w + x) * d + f]);
                        let i = (y + 1) * (w + 1) + x + 1;
                        table[i] = v + table[i - 1] + table[i - (w + 1)] - table[i - (w + 2)];
                    }
                }
                for y in 0..h {
                    let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
                    for x in 0..w {
                        let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
                        let sum = table[y1 * (w + 1) + x1]
                            - table[y0 * (w + 1) + x1]
                            - table[y1 * (w + 1) + x0]
                            + table[y0 * (w + 1) + x0];
                        let count = ((y1 - y0) * (x1 - x0)) as f64;
                        out[((s * h + y) * w + x) * d + f] = (sum / count) as f32;
                    }
                }
            }
        }
        Features {
            n: self.n,
            h: self.h,
            w: self.w,
            d: self.d,
            values: out,
        }
    }

    /// Joins two feature sets of the same pixels side by side.
    pub fn concat(&self, other: &Features) -> Result<Features, InspectError> {
        if (self.n, self.h, self.w) != (other.n, other.h, other.w) {
            return Err(InspectError::invalid("features of different pixels"));
        }
        let d = self.d + other.d;
        let mut values = Vec::with_capacity(self.pixels() * d);
        for p in 0..self.pixels() {
            values.extend_from_slice(self.row(p));
            values.extend_from_slice(other.row(p));
        }
        Ok(Features {
            n: self.n,
            h: self.h,
            w: self.w,
            d,
            values,
        })
    }
}

/// Bilinear sample positions of an output side `out` over an input side `inp` (half-pixel
/// centres, as `align_corners = false`): lower index, upper index, weight of the upper.
fn bilinear_taps(out: usize, inp: usize) -> Vec<(usize, usize, f32)> {
    (0..out)
        .map(|o| {
            let src =
                ((o as f64 + 0.5) * inp as f64 / out as f64 - 0.5).clamp(0.0, (inp - 1) as f64);
            let lo = src.floor() as usize;
            let hi = (lo + 1).min(inp - 1);
            (lo, hi, (src - lo as f64) as f32)
        })
        .collect()
}

/// The outputs of `nodes` for every image of `x` (`[n, c, h, w]`), each channel upsampled
/// bilinearly to `h×w`, concatenated per pixel in the order of `nodes`.
pub fn encoder_features(
    graph: &mut Graph<f32>,
    x: &Tensor<f32>,
    nodes: &[String],
) -> Result<Features, InspectError> {
    let (n, _, h, w) = x.dim();
    if nodes.is_empty() {
        return Err(InspectError::invalid("no node to take features from"));
    }
    for node in nodes {
        let i = graph
            .index_of(node)
            .ok_or_else(|| InspectError::NoNode(node.clone()))?;
        let [_, nh, nw] = graph.facts().nodes[i].output;
        if nh * nw <= 1 {
            return Err(InspectError::invalid(format!(
                "node '{node}' has no spatial extent ({nh}×{nw}): pick a conv node of the encoder"
            )));
        }
    }
    let d: usize = nodes
        .iter()
        .map(|name| {
            let i = graph.index_of(name).expect("checked above");
            graph.facts().nodes[i].output[0]
        })
        .sum();
    let mut values = vec![0.0f32; n * h * w * d];
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let chunk = x.slice(s![start..end, .., .., ..]).to_owned();
        graph.forward(&chunk, Mode::Eval)?;
        let mut offset = 0;
        for name in nodes {
            let y = graph
                .output(name)
                .ok_or_else(|| InspectError::NoNode(name.clone()))?;
            let (_, c, nh, nw) = y.dim();
            let ty = bilinear_taps(h, nh);
            let tx = bilinear_taps(w, nw);
            for b in 0..end - start {
                for ch in 0..c {
                    let plane = y.slice(s![b, ch, .., ..]);
                    for (yy, &(y0, y1, wy)) in ty.iter().enumerate() {
                        for (xx, &(x0, x1, wx)) in tx.iter().enumerate() {
                            let top = plane[[y0, x0]] * (1.0 - wx) + plane[[y0, x1]] * wx;
                            let bottom = plane[[y1, x0]] * (1.0 - wx) + plane[[y1, x1]] * wx;
                            let v = top * (1.0 - wy) + bottom * wy;
                            let p = ((start + b) * h + yy) * w + xx;
                            values[p * d + offset + ch] = v;
                        }
                    }
                }
            }
            offset += c;
        }
    }
    Ok(Features { n, h, w, d, values })
}

/// The baseline without a network: per channel, each pixel's intensity and the mean and
/// standard deviation of its `window×window` neighbourhood (clipped at the border).
pub fn raw_features(x: &Tensor<f32>, window: usize) -> Features {
    let (n, c, h, w) = x.dim();
    let d = 3 * c;
    let r = (window.max(1) / 2) as isize;
    let mut values = vec![0.0f32; n * h * w * d];
    for si in 0..n {
        for ch in 0..c {
            let plane = x.slice(s![si, ch, .., ..]);
            // Summed-area tables of values and squares.
            let mut sum = vec![0.0f64; (h + 1) * (w + 1)];
            let mut sq = vec![0.0f64; (h + 1) * (w + 1)];
            for y in 0..h {
                for xx in 0..w {
                    let v = f64::from(plane[[y, xx]]);
                    let i = (y + 1) * (w + 1) + xx + 1;
                    sum[i] = v + sum[i - 1] + sum[i - (w + 1)] - sum[i - (w + 2)];
                    sq[i] = v * v + sq[i - 1] + sq[i - (w + 1)] - sq[i - (w + 2)];
                }
            }
            let rect = |t: &[f64], y0: usize, x0: usize, y1: usize, x1: usize| {
                t[y1 * (w + 1) + x1] - t[y0 * (w + 1) + x1] - t[y1 * (w + 1) + x0]
                    + t[y0 * (w + 1) + x0]
            };
            for y in 0..h {
                let y0 = (y as isize - r).max(0) as usize;
                let y1 = ((y as isize + r + 1) as usize).min(h);
                for xx in 0..w {
                    let x0 = (xx as isize - r).max(0) as usize;
                    let x1 = ((xx as isize + r + 1) as usize).min(w);
                    let count = ((y1 - y0) * (x1 - x0)) as f64;
                    let mean = rect(&sum, y0, x0, y1, x1) / count;
                    let var = (rect(&sq, y0, x0, y1, x1) / count - mean * mean).max(0.0);
                    let p = (si * h + y) * w + xx;
                    values[p * d + 3 * ch] = plane[[y, xx]];
                    values[p * d + 3 * ch + 1] = mean as f32;
                    values[p * d + 3 * ch + 2] = var.sqrt() as f32;
                }
            }
        }
    }
    Features { n, h, w, d, values }
}

/// Fitted k-means centroids.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    pub k: usize,
    pub d: usize,
    /// `k·d` values, centroid `j` at `j·d..(j+1)·d`.
    pub centroids: Vec<f32>,
    /// Lloyd iterations run, and whether the assignments stopped changing before the cap.
    pub iterations: usize,
    pub converged: bool,
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl KMeans {
    /// The nearest centroid of `point` (ties to the lower index).
    pub fn nearest(&self, point: &[f32]) -> usize {
        let mut best = (0, f32::INFINITY);
        for j in 0..self.k {
            let dd = dist2(point, &self.centroids[j * self.d..(j + 1) * self.d]);
            if dd < best.1 {
                best = (j, dd);
            }
        }
        best.0
    }

    /// The segment of every pixel of `features`.
    pub fn assign(&self, features: &Features) -> Vec<u8> {
        (0..features.pixels())
            .map(|p| self.nearest(features.row(p)) as u8)
            .collect()
    }
}

/// k-means of `m` points of `d` values (`points.len() = m·d`): k-means++ initialisation
/// (each next centre drawn with probability ∝ squared distance to the nearest chosen one)
/// from `seed`, then Lloyd iterations until no assignment changes or `max_iterations`. An
/// emptied cluster takes the point farthest from its centroid. Deterministic for a seed.
pub fn kmeans(
    points: &[f32],
    d: usize,
    k: usize,
    seed: u64,
    max_iterations: usize,
) -> Result<KMeans, InspectError> {
    if d == 0 || !points.len().is_multiple_of(d) {
        return Err(InspectError::invalid("k-means: points of no dimension"));
    }
    let m = points.len() / d;
    if !(1..=MAX_K).contains(&k) {
        return Err(InspectError::invalid(format!(
            "k-means: k must be 1 to {MAX_K}, got {k}"
        )));
    }
    if m < k {
        return Err(InspectError::invalid(format!(
            "k-means: {m} points cannot make {k} segments"
        )));
    }
    if points.iter().any(|v| !v.is_finite()) {
        return Err(InspectError::invalid("k-means: a feature is not finite"));
    }
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let mut rng = Rng::new(seed ^ 0x6B_6D65_616E);
    let mut centroids = Vec::with_capacity(k * d);
    centroids.extend_from_slice(row(rng.below(m)));
    let mut nearest: Vec<f64> = (0..m)
        .map(|i| f64::from(dist2(row(i), &centroids[..d])))
        .collect();
    for _ in 1..k {
        let total: f64 = nearest.iter().sum();
        let pick = if total > 0.0 {
            let mut r = rng.next_f64() * total;
            let mut chosen = m - 1;
            for (i, &v) in nearest.iter().enumerate() {
                if r < v {
                    chosen = i;
                    break;
                }
                r -= v;
            }
            chosen
        } else {
            rng.below(m)
        };
        let start = centroids.len();
        centroids.extend_from_slice(row(pick));
        for (i, v) in nearest.iter_mut().enumerate() {
            *v = v.min(f64::from(dist2(row(i), &centroids[start..start + d])));
        }
    }
    let mut km = KMeans {
        k,
        d,
        centroids,
        iterations: 0,
        converged: false,
    };
    let mut labels = vec![usize::MAX; m];
    for it in 1..=max_iterations.max(1) {
        km.iterations = it;
        let mut changed = false;
        for (i, l) in labels.iter_mut().enumerate() {
            let j = km.nearest(row(i));
            if *l != j {
                *l = j;
                changed = true;
            }
        }
        if !changed {
            km.converged = true;
            break;
        }
        let mut sums = vec![0.0f64; k * d];
        let mut counts = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            counts[l] += 1;
            for (s, &v) in sums[l * d..(l + 1) * d].iter_mut().zip(row(i)) {
                *s += f64::from(v);
            }
        }
        for j in 0..k {
            if counts[j] == 0 {
                // Re-seed an empty cluster with the point farthest from its centroid.
                let far = (0..m)
                    .map(|i| {
                        let l = labels[i];
                        (i, dist2(row(i), &km.centroids[l * d..(l + 1) * d]))
                    })
                    .fold((0, -1.0f32), |b, x| if x.1 > b.1 { x } else { b })
                    .0;
                km.centroids[j * d..(j + 1) * d].copy_from_slice(row(far));
                labels[far] = j;
            } else {
                for f in 0..d {
                    km.centroids[j * d + f] = (sums[j * d + f] / counts[j] as f64) as f32;
                }
            }
        }
    }
    Ok(km)
}

/// The assignment of rows to columns of the square `n×n` matrix `cost` (row-major) with the
/// least total cost: the Hungarian algorithm (Kuhn–Munkres with potentials, O(n³)).
/// Returns the column of each row. Non-finite costs are refused.
pub fn hungarian(cost: &[f64], n: usize) -> Result<Vec<usize>, InspectError> {
    if cost.len() != n * n {
        return Err(InspectError::invalid(format!(
            "hungarian: {} costs for a {n}×{n} matrix",
            cost.len()
        )));
    }
    if cost.iter().any(|c| !c.is_finite()) {
        return Err(InspectError::invalid("hungarian: a cost is not finite"));
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let a = |i: usize, j: usize| cost[(i - 1) * n + (j - 1)];
    // 1-based: row 0 and column 0 are the algorithm's sentinels.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = a(i0, j) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0usize; n];
    for j in 1..=n {
        if p[j] > 0 {
            out[p[j] - 1] = j - 1;
        }
    }
    Ok(out)
}

/// How well segments match the true classes.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentScores {
    /// The class each segment is matched to (`None`: a segment left over when k exceeds
    /// the classes; it counts as wrong everywhere).
    pub class_of_segment: Vec<Option<usize>>,
    /// IoU per class (`None` for a class absent from the truth).
    pub iou: Vec<Option<f64>>,
    /// The mean of the per-class IoUs present.
    pub mean_iou: f64,
    /// Share of pixels whose matched segment is their class.
    pub pixel_accuracy: f64,
}

/// Matches `k` segments to `classes` true classes so that the most pixels agree (the
/// Hungarian algorithm on the pooled overlap counts of all images: one matching for the
/// whole set), then scores each class's IoU. `segments` and `truth` hold one value per pixel.
pub fn match_segments(
    segments: &[u8],
    truth: &[u8],
    k: usize,
    classes: usize,
) -> Result<SegmentScores, InspectError> {
    if segments.len() != truth.len() {
        return Err(InspectError::invalid(format!(
            "{} segment labels for {} true labels",
            segments.len(),
            truth.len()
        )));
    }
    let n = k.max(classes);
    let mut overlap = vec![0u64; n * n];
    let mut seg_count = vec![0u64; n];
    let mut class_count = vec![0u64; n];
    for (&sg, &t) in segments.iter().zip(truth) {
        let (sg, t) = (sg as usize, t as usize);
        if sg >= k || t >= classes {
            return Err(InspectError::invalid(format!(
                "segment {sg} or class {t} out of range ({k} segments, {classes} classes)"
            )));
        }
        overlap[sg * n + t] += 1;
        seg_count[sg] += 1;
        class_count[t] += 1;
    }
    let cost: Vec<f64> = overlap.iter().map(|&o| -(o as f64)).collect();
    let assignment = hungarian(&cost, n)?;
    let class_of_segment: Vec<Option<usize>> = (0..k)
        .map(|sg| Some(assignment[sg]).filter(|&c| c < classes))
        .collect();
    let mut iou = vec![None; classes];
    let mut correct = 0u64;
    for (sg, c) in class_of_segment.iter().enumerate() {
        let Some(c) = *c else { continue };
        let inter = overlap[sg * n + c];
        correct += inter;
        let union = seg_count[sg] + class_count[c] - inter;
        if class_count[c] > 0 {
            iou[c] = Some(inter as f64 / union as f64);
        }
    }
    // A class present in the truth but matched to no segment (k < classes) has IoU 0.
    for c in 0..classes {
        if iou[c].is_none() && class_count[c] > 0 {
            iou[c] = Some(0.0);
        }
    }
    let present: Vec<f64> = iou.iter().flatten().copied().collect();
    let mean_iou = if present.is_empty() {
        0.0
    } else {
        present.iter().sum::<f64>() / present.len() as f64
    };
    Ok(SegmentScores {
        class_of_segment,
        iou,
        mean_iou,
        pixel_accuracy: correct as f64 / segments.len().max(1) as f64,
    })
}

/// One segmentation of a set of images.
#[derive(Clone, Debug, PartialEq)]
pub struct Segmentation {
    /// The segment of every pixel, `[n, h, w]`.
    pub segments: Array3<u8>,
    pub kmeans: KMeans,
    /// Against the truth, when there is one.
    pub scores: Option<SegmentScores>,
}

/// Standardises `features`, fits k-means with `k` centroids on at most [`FIT_PIXELS`]
/// pixels drawn with `seed`, assigns every pixel, and scores against `truth` (`[n, h, w]`
/// class indices of `classes` classes) when given.
pub fn segment(
    mut features: Features,
    k: usize,
    seed: u64,
    truth: Option<(&Array3<u8>, usize)>,
) -> Result<Segmentation, InspectError> {
    features.standardise();
    let m = features.pixels();
    let d = features.d;
    let mut order: Vec<usize> = (0..m).collect();
    if m > FIT_PIXELS {
        Rng::new(seed ^ 0x5AB5_A4E1).shuffle(&mut order);
        order.truncate(FIT_PIXELS);
        order.sort_unstable();
    }
    let mut fit = Vec::with_capacity(order.len() * d);
    for &p in &order {
        fit.extend_from_slice(features.row(p));
    }
    let km = kmeans(&fit, d, k, seed, MAX_ITERATIONS)?;
    let labels = km.assign(&features);
    let segments = Array3::from_shape_vec((features.n, features.h, features.w), labels)
        .map_err(|e| InspectError::invalid(e.to_string()))?;
    let scores = match truth {
        Some((t, classes)) => {
            if t.dim() != segments.dim() {
                return Err(InspectError::invalid(format!(
                    "the masks are {:?}, the images {:?}",
                    t.dim(),
                    segments.dim()
                )));
            }
            let seg: Vec<u8> = segments.iter().copied().collect();
            let tr: Vec<u8> = t.iter().copied().collect();
            Some(match_segments(&seg, &tr, k, classes)?)
        }
        None => None,
    };
    Ok(Segmentation {
        segments,
        kmeans: km,
        scores,
    })
}

/// The nodes whose features the segmentation uses when none is chosen: the encoder is the
/// graph up to its first node of the smallest spatial size (the bottleneck); of the ReLU
/// (else any) nodes before it, the deepest one at the coarsest resolution above the
/// bottleneck's and the deepest one at the next finer resolution: wide context and local
/// detail, two depths.
pub fn default_nodes(graph: &Graph<f32>) -> Vec<String> {
    let nodes = &graph.facts().nodes;
    let area = |i: usize| nodes[i].output[1] * nodes[i].output[2];
    let Some(min_area) = (0..nodes.len()).map(area).min() else {
        return Vec::new();
    };
    let bottleneck = (0..nodes.len()).find(|&i| area(i) == min_area).unwrap_or(0);
    let encoder: Vec<usize> = (0..=bottleneck).filter(|&i| area(i) > 1).collect();
    let relus: Vec<usize> = encoder
        .iter()
        .copied()
        .filter(|&i| nodes[i].kind == "relu")
        .collect();
    let pool = if relus.is_empty() { encoder } else { relus };
    let mut areas: Vec<usize> = pool.iter().map(|&i| area(i)).collect();
    areas.sort_unstable();
    areas.dedup();
    let deepest_at = |a: usize| pool.iter().rev().find(|&&i| area(i) == a).copied();
    let mut out: Vec<String> = areas
        .iter()
        .take(2)
        .filter_map(|&a| deepest_at(a))
        .map(|i| nodes[i].name.clone())
        .collect();
    out.sort_by_key(|n| graph.index_of(n));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hungarian_finds_the_cheapest_assignment() {
        // Rows 0..3 prefer columns 2, 0, 1 (costs 1); everything else costs 5+.
        let cost = [5.0, 9.0, 1.0, 1.0, 6.0, 7.0, 8.0, 1.0, 9.0];
        assert_eq!(hungarian(&cost, 3).unwrap(), vec![2, 0, 1]);
        // A classic 4×4 case: the optimum is 13 (rows → 1, 0, 2, 3 or equivalent).
        let cost = [
            9.0, 2.0, 7.0, 8.0, 6.0, 4.0, 3.0, 7.0, 5.0, 8.0, 1.0, 8.0, 7.0, 6.0, 9.0, 4.0,
        ];
        let a = hungarian(&cost, 4).unwrap();
        let total: f64 = a.iter().enumerate().map(|(i, &j)| cost[i * 4 + j]).sum();
        assert_eq!(total, 13.0);
        let mut cols = a.clone();
        cols.sort_unstable();
        assert_eq!(cols, vec![0, 1, 2, 3]);
        // Brute force agrees on a pseudo-random 5×5.
        let mut rng = Rng::new(7);
        let cost: Vec<f64> = (0..25).map(|_| rng.below(100) as f64).collect();
        let a = hungarian(&cost, 5).unwrap();
        let got: f64 = a.iter().enumerate().map(|(i, &j)| cost[i * 5 + j]).sum();
        let mut best = f64::INFINITY;
        let mut perm = [0usize, 1, 2, 3, 4];
        permute(&mut perm, 0, &mut |p| {
            best = best.min(p.iter().enumerate().map(|(i, &j)| cost[i * 5 + j]).sum());
        });
        assert_eq!(got, best);
        assert!(hungarian(&[1.0, f64::NAN, 0.0, 0.0], 2).is_err());
        assert!(hungarian(&[1.0], 2).is_err());
    }

    fn permute(p: &mut [usize; 5], i: usize, f: &mut impl FnMut(&[usize; 5])) {
        if i == p.len() {
            f(p);
            return;
        }
        for j in i..p.len() {
            p.swap(i, j);
            permute(p, i + 1, f);
            p.swap(i, j);
        }
    }

    /// A mosaic of three flat regions (left, middle, right thirds) at clearly different
    /// intensities, with a little noise.
    fn mosaic() -> (Tensor<f32>, Array3<u8>) {
        let (n, h, w) = (4, 16, 24);
        let mut rng = Rng::new(3);
        let mut x = Tensor::<f32>::zeros((n, 1, h, w));
        let mut t = Array3::<u8>::zeros((n, h, w));
        for s in 0..n {
            for y in 0..h {
                for xx in 0..w {
                    // The regions move per image so segments are not positions.
                    let c = ((xx + s * 3) / 8 % 3) as u8;
                    t[[s, y, xx]] = c;
                    x[[s, 0, y, xx]] = [0.1, 0.5, 0.9][c as usize] + 0.02 * rng.normal() as f32;
                }
            }
        }
        (x, t)
    }

    #[test]
    fn kmeans_and_hungarian_recover_a_separable_mosaic() {
        let (x, t) = mosaic();
        let f = raw_features(&x, 1);
        let seg = segment(f, 3, 1, Some((&t, 3))).unwrap();
        let scores = seg.scores.unwrap();
        assert!(scores.mean_iou >= 0.95, "{scores:?}");
        assert!(scores.iou.iter().all(|v| v.unwrap() >= 0.95), "{scores:?}");
        let mut classes: Vec<usize> = scores.class_of_segment.iter().flatten().copied().collect();
        classes.sort_unstable();
        assert_eq!(classes, vec![0, 1, 2]);
        // Two segments for three classes: one class cannot be matched and scores 0.
        let (x, t) = mosaic();
        let two = segment(raw_features(&x, 1), 2, 1, Some((&t, 3))).unwrap();
        let s2 = two.scores.unwrap();
        assert!(s2.iou.contains(&Some(0.0)) && s2.mean_iou < 0.7, "{s2:?}");
    }

    #[test]
    fn kmeans_is_deterministic_for_a_seed_and_refuses_bad_input() {
        let mut rng = Rng::new(11);
        let pts: Vec<f32> = (0..600).map(|_| rng.normal() as f32).collect();
        let a = kmeans(&pts, 3, 4, 5, 50).unwrap();
        let b = kmeans(&pts, 3, 4, 5, 50).unwrap();
        assert_eq!(a, b);
        let c = kmeans(&pts, 3, 4, 6, 50).unwrap();
        assert_ne!(a.centroids, c.centroids);
        assert!(kmeans(&pts, 3, 0, 5, 50).is_err());
        assert!(kmeans(&pts[..6], 3, 4, 5, 50).is_err());
        assert!(kmeans(&[f32::NAN, 0.0], 1, 1, 5, 50).is_err());
        // Lloyd's iterations never raise the within-cluster sum of squares past the init's.
        let inertia = |km: &KMeans| -> f32 {
            (0..200)
                .map(|i| {
                    let p = &pts[i * 3..i * 3 + 3];
                    let j = km.nearest(p);
                    dist2(p, &km.centroids[j * 3..j * 3 + 3])
                })
                .sum()
        };
        let init = kmeans(&pts, 3, 4, 5, 1).unwrap();
        assert!(inertia(&a) <= inertia(&init) + 1e-4);
    }

    #[test]
    fn match_segments_scores_a_permuted_labelling_perfectly() {
        let truth = [0u8, 0, 1, 1, 2, 2];
        let segs = [2u8, 2, 0, 0, 1, 1];
        let s = match_segments(&segs, &truth, 3, 3).unwrap();
        assert_eq!(s.class_of_segment, vec![Some(1), Some(2), Some(0)]);
        assert_eq!(s.mean_iou, 1.0);
        // One pixel wrong: class 0 loses it to class 1's segment.
        let segs = [2u8, 0, 0, 0, 1, 1];
        let s = match_segments(&segs, &truth, 3, 3).unwrap();
        assert_eq!(s.iou[0], Some(0.5));
        assert_eq!(s.iou[1], Some(2.0 / 3.0));
        assert_eq!(s.iou[2], Some(1.0));
        assert!((s.pixel_accuracy - 5.0 / 6.0).abs() < 1e-12);
        assert!(match_segments(&segs, &truth[..5], 3, 3).is_err());
        assert!(match_segments(&[5u8], &[0u8], 3, 3).is_err());
    }

    #[test]
    fn raw_features_hold_intensity_local_mean_and_std() {
        let mut x = Tensor::<f32>::zeros((1, 1, 3, 3));
        x[[0, 0, 1, 1]] = 9.0;
        let f = raw_features(&x, 3);
        assert_eq!(f.d, 3);
        // Centre pixel: itself 9, mean 1 over 3×3, std sqrt(81/9 − 1) = sqrt(8).
        let c = f.row(4);
        assert_eq!(c[0], 9.0);
        assert!((c[1] - 1.0).abs() < 1e-6);
        assert!((c[2] - 8f32.sqrt()).abs() < 1e-5);
        // Corner: a 2×2 window holding the 9: mean 9/4.
        assert!((f.row(0)[1] - 2.25).abs() < 1e-6);
    }

    #[test]
    fn smoothing_averages_each_feature_over_its_window() {
        let f = Features {
            n: 1,
            h: 1,
            w: 4,
            d: 2,
            values: vec![0.0, 1.0, 4.0, 1.0, 0.0, 1.0, 8.0, 1.0],
        };
        let s = f.smoothed(3);
        // Feature 0: 0 4 0 8 → (0+4)/2, (0+4+0)/3, (4+0+8)/3, (0+8)/2; feature 1 stays 1.
        let want = [2.0, 4.0 / 3.0, 4.0, 4.0];
        for (x, want) in want.iter().enumerate() {
            assert!((s.row(x)[0] - want).abs() < 1e-6, "{:?}", s.values);
            assert!((s.row(x)[1] - 1.0).abs() < 1e-6);
        }
        assert_eq!(f.smoothed(1), f);
    }

    #[test]
    fn bilinear_taps_cover_the_input_with_half_pixel_centres() {
        // 2 → 4: outputs at −0.25, 0.25, 0.75, 1.25 of the input, clamped at the ends.
        let t = bilinear_taps(4, 2);
        assert_eq!(t[0], (0, 1, 0.0));
        assert_eq!(t[1], (0, 1, 0.25));
        assert_eq!(t[2], (0, 1, 0.75));
        assert_eq!(t[3], (1, 1, 0.0));
    }
}
