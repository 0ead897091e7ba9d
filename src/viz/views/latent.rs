//! The latent view of a variational autoencoder (a model with a sampling node): the
//! validation images' codes μ as a scatter over the first two latent values, coloured by
//! class; the manifold figure — images decoded from a regular lattice over the latent plane;
//! images decoded from draws of the prior N(0, I); the straight line between two images'
//! codes, decoded; and, when a point of the plane is picked, its decoded image. The
//! computations are [`crate::inspect::latent`]'s.

use super::denoising::picture;
use ndarray::Array4;

use crate::data::Dataset;
use crate::engine::Graph;
use crate::inspect::latent::{Codes, codes, decode, interpolation, lattice, prior_codes};
use crate::viz::draw::{
    BACKGROUND, INK, MUTED, blit, captioned, dashed_rect, disc, fill_rect, hstack, line, padded,
    ring, stroke_rect, swatches, vstack,
};
use crate::viz::text::{draw_text, text_image};
use crate::viz::{Rgba, VizError};

/// Ten class colours (matplotlib's tab10, as the classic digit scatter plots use).
pub const CLASS_COLORS: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];
/// Points of the scatter without a class.
const NO_CLASS: [u8; 3] = [90, 90, 90];
/// The scatter's side in pixels.
pub const SCATTER: usize = 400;
/// Margin around the scatter's plot area (axis labels).
pub const MARGIN: usize = 36;
/// The scatter shows at most this many codes (the first ones of the validation set).
pub const MAX_POINTS: usize = 1000;
/// Text scale.
const TS: usize = 2;
/// The picture's padding and the gap between its rows.
const PAD: usize = 8;
const GAP: usize = 10;
const SCATTER_CAPTION: &str = "codes mu, coloured by class; dashed: the lattice";
/// Images per row of the prior samples and of the interpolation.
const STRIP: usize = 10;

/// What the view shows besides its defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatentOptions {
    /// The class of each validation image (for the colours), when the targets are images
    /// and the labels come from elsewhere ([`crate::data::load::class_labels`]).
    pub labels: Vec<usize>,
    /// The lattice's side (points per row); default 12.
    pub grid: Option<usize>,
    /// The lattice spans [−extent, extent]²; default 2 (two standard deviations of the prior).
    pub extent: Option<f32>,
    /// The other end of the interpolation (a validation index); default the first image of
    /// another class than the current one.
    pub other: Option<usize>,
    /// A point of the latent plane to decode (the window's click).
    pub point: Option<[f32; 2]>,
    /// Seed of the prior draws.
    pub seed: u64,
}

/// Where the scatter's plot area is and what it spans: pixel ↔ latent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScatterFrame {
    /// The plot area's top-left corner within the scatter image and its side.
    pub left: usize,
    pub top: usize,
    pub side: usize,
    /// The plot spans [−range, range] on both axes.
    pub range: f32,
}

impl ScatterFrame {
    pub fn new(range: f32) -> ScatterFrame {
        ScatterFrame {
            left: MARGIN,
            top: 8,
            side: SCATTER,
            range,
        }
    }

    /// The pixel (within the scatter image) of latent point `(z0, z1)`.
    pub fn to_pixel(&self, z0: f32, z1: f32) -> (f64, f64) {
        let s = self.side as f64;
        let u = (z0 as f64 + self.range as f64) / (2.0 * self.range as f64);
        let v = (self.range as f64 - z1 as f64) / (2.0 * self.range as f64);
        (self.left as f64 + u * s, self.top as f64 + v * s)
    }

    /// The latent point at pixel `(x, y)` of the scatter image, or None outside the plot.
    pub fn to_latent(&self, x: f64, y: f64) -> Option<[f32; 2]> {
        let s = self.side as f64;
        let u = (x - self.left as f64) / s;
        let v = (y - self.top as f64) / s;
        if !(0.0..=1.0).contains(&u) || !(0.0..=1.0).contains(&v) {
            return None;
        }
        let r = self.range as f64;
        Some([(-r + 2.0 * r * u) as f32, (r - 2.0 * r * v) as f32])
    }
}

/// Everything the view draws, computed.
#[derive(Clone, Debug)]
pub struct LatentData {
    pub codes: Codes,
    /// Validation images the codes are of (`[n, c, h, w]`, at most [`MAX_POINTS`]).
    pub images: Array4<f32>,
    pub labels: Vec<usize>,
    pub grid: usize,
    pub extent: f32,
    /// The lattice's decoded images, row by row from the top left ([`lattice`]).
    pub manifold: Array4<f32>,
    pub prior: Array4<f32>,
    /// The interpolation's ends (validation indices) and its decoded images.
    pub ends: (usize, usize),
    pub between: Array4<f32>,
    pub point: Option<([f32; 2], Array4<f32>)>,
    pub frame: ScatterFrame,
}

/// Encodes the validation images and decodes the lattice, prior draws, interpolation and
/// picked point.
pub fn compute(
    graph: &mut Graph<f32>,
    set: &Dataset,
    sample: Option<usize>,
    opts: &LatentOptions,
) -> Result<LatentData, VizError> {
    let n = set.len().min(MAX_POINTS);
    if n == 0 {
        return Err(VizError::UnsuitedData("the validation set is empty".into()));
    }
    let images = set.inputs.slice(ndarray::s![0..n, .., .., ..]).to_owned();
    let codes = codes(graph, &images)?;
    let d = codes.dim();
    if d < 2 {
        return Err(VizError::UnsuitedModel(format!(
            "the latent view draws a plane: the sampling node '{}' has {d} latent value(s), it needs 2 or more",
            codes.node
        )));
    }
    let labels: Vec<usize> = match &set.targets {
        crate::data::Targets::Labels(l) => l[..n].to_vec(),
        _ if opts.labels.len() >= n => opts.labels[..n].to_vec(),
        _ => Vec::new(),
    };
    let grid = opts.grid.unwrap_or(12).clamp(2, 30);
    let extent = opts.extent.unwrap_or(2.0).max(0.01);
    let manifold = decode(graph, &lattice(grid, extent, d))?;
    let prior = decode(graph, &prior_codes(STRIP, d, opts.seed))?;
    let a = sample.unwrap_or(0);
    if a >= n {
        return Err(VizError::BadOption(format!(
            "--sample {a} is out of range: the view encodes the first {n} validation images"
        )));
    }
    let b = match opts.other {
        Some(b) if b >= n => {
            return Err(VizError::BadOption(format!(
                "the other image {b} is out of range: the view encodes the first {n} validation images"
            )));
        }
        Some(b) => b,
        None => labels
            .iter()
            .position(|&l| Some(&l) != labels.get(a))
            .unwrap_or((a + 1) % n),
    };
    let between = decode(
        graph,
        &interpolation(
            codes.mu.row(a).as_slice().unwrap_or(&[]),
            codes.mu.row(b).as_slice().unwrap_or(&[]),
            STRIP,
        ),
    )?;
    let point = match opts.point {
        Some(p) => {
            let mut z = ndarray::Array2::zeros((1, d));
            z[[0, 0]] = p[0];
            z[[0, 1]] = p[1];
            Some((p, decode(graph, &z)?))
        }
        None => None,
    };
    // The scatter spans the lattice and nearly all codes (a few far-out ones may fall off).
    let mut far: Vec<f32> = codes
        .mu
        .rows()
        .into_iter()
        .map(|r| r[0].abs().max(r[1].abs()))
        .filter(|v| v.is_finite())
        .collect();
    far.sort_by(|x, y| x.total_cmp(y));
    let p99 = far.get(far.len() * 99 / 100).copied().unwrap_or(0.0);
    let range = (p99.max(extent) * 1.1).clamp(0.5, 50.0);
    Ok(LatentData {
        codes,
        images,
        labels,
        grid,
        extent,
        manifold,
        prior,
        ends: (a, b),
        between,
        point,
        frame: ScatterFrame::new(range),
    })
}

fn class_color(labels: &[usize], i: usize) -> [u8; 3] {
    labels
        .get(i)
        .map_or(NO_CLASS, |&l| CLASS_COLORS[l % CLASS_COLORS.len()])
}

/// The scatter of the codes μ (first two latent values) with the lattice's square dashed,
/// the interpolation's line and the picked point.
pub fn scatter(data: &LatentData) -> Rgba {
    let f = data.frame;
    let mut img = Rgba::new(f.left + f.side + 8, f.top + f.side + MARGIN, BACKGROUND);
    stroke_rect(
        &mut img,
        f.left as i64,
        f.top as i64,
        f.side,
        f.side,
        1,
        MUTED,
    );
    // Axes through 0 and tick labels at ±range.
    let (ox, oy) = f.to_pixel(0.0, 0.0);
    let light = [220, 220, 220, 255];
    line(
        &mut img,
        (f.left as i64, oy as i64),
        ((f.left + f.side) as i64, oy as i64),
        1,
        light,
    );
    line(
        &mut img,
        (ox as i64, f.top as i64),
        (ox as i64, (f.top + f.side) as i64),
        1,
        light,
    );
    let r = f.range;
    let bottom = (f.top + f.side + 4) as i64;
    draw_text(
        &mut img,
        f.left as i64,
        bottom,
        &format!("{:.1}", -r),
        TS,
        MUTED,
    );
    draw_text(
        &mut img,
        (f.left + f.side) as i64 - 40,
        bottom,
        &format!("{r:.1}"),
        TS,
        MUTED,
    );
    draw_text(&mut img, ox as i64 - 20, bottom, "z0", TS, INK);
    draw_text(&mut img, 2, f.top as i64, &format!("{r:.1}"), TS, MUTED);
    draw_text(&mut img, 2, oy as i64 - 10, "z1", TS, INK);
    // The lattice of the manifold figure.
    let (x0, y0) = f.to_pixel(-data.extent, data.extent);
    let (x1, y1) = f.to_pixel(data.extent, -data.extent);
    dashed_rect(
        &mut img,
        x0 as i64,
        y0 as i64,
        (x1 - x0) as usize,
        (y1 - y0) as usize,
        1,
        5,
        INK,
    );
    for (i, m) in data.codes.mu.rows().into_iter().enumerate() {
        let (x, y) = f.to_pixel(m[0], m[1]);
        let [cr, cg, cb] = class_color(&data.labels, i);
        disc(&mut img, x, y, 2.2, [cr, cg, cb, 255]);
    }
    // The interpolation's ends and line.
    let (a, b) = data.ends;
    let pa = f.to_pixel(data.codes.mu[[a, 0]], data.codes.mu[[a, 1]]);
    let pb = f.to_pixel(data.codes.mu[[b, 0]], data.codes.mu[[b, 1]]);
    line(
        &mut img,
        (pa.0 as i64, pa.1 as i64),
        (pb.0 as i64, pb.1 as i64),
        2,
        INK,
    );
    ring(&mut img, pa.0, pa.1, 6.0, 2.0, INK);
    ring(&mut img, pb.0, pb.1, 6.0, 2.0, INK);
    draw_text(&mut img, pa.0 as i64 + 8, pa.1 as i64 - 8, "a", TS, INK);
    draw_text(&mut img, pb.0 as i64 + 8, pb.1 as i64 - 8, "b", TS, INK);
    if let Some((p, _)) = &data.point {
        let (x, y) = f.to_pixel(p[0], p[1]);
        ring(&mut img, x, y, 7.0, 2.0, [213, 94, 0, 255]);
        fill_rect(
            &mut img,
            x as i64 - 1,
            y as i64 - 1,
            3,
            3,
            [213, 94, 0, 255],
        );
    }
    img
}

/// The manifold figure: the lattice's decoded images in a `grid × grid` block.
pub fn manifold(data: &LatentData, zoom: usize) -> Rgba {
    let (_, _, h, w) = data.manifold.dim();
    let k = data.grid;
    let mut img = Rgba::new(k * w * zoom, k * h * zoom, BACKGROUND);
    for r in 0..k {
        for c in 0..k {
            let tile = picture(&data.manifold, r * k + c, zoom);
            blit(
                &mut img,
                &tile,
                (c * w * zoom) as i64,
                (r * h * zoom) as i64,
            );
        }
    }
    img
}

fn strip(t: &Array4<f32>, zoom: usize) -> Rgba {
    let tiles: Vec<Rgba> = (0..t.shape()[0]).map(|k| picture(t, k, zoom)).collect();
    hstack(&tiles, 4, BACKGROUND)
}

/// The title line.
pub fn title(data: &LatentData) -> String {
    let kl = data.codes.kl_per_image();
    let mean_kl = kl.iter().sum::<f64>() / kl.len().max(1) as f64;
    format!(
        "latent codes mu of {} validation images ({} latent values at '{}'; mean KL {:.2})",
        data.codes.mu.shape()[0],
        data.codes.dim(),
        data.codes.node,
        mean_kl
    )
}

/// The whole view, as `convlab render --view latent` draws it.
pub fn render(
    graph: &mut Graph<f32>,
    set: &Dataset,
    sample: Option<usize>,
    opts: &LatentOptions,
    class_names: &[String],
) -> Result<Rgba, VizError> {
    let data = compute(graph, set, sample, opts)?;
    Ok(picture_of(&data, class_names))
}

/// The picture of computed latent data.
pub fn picture_of(data: &LatentData, class_names: &[String]) -> Rgba {
    picture_with_origin(data, class_names).0
}

/// [`picture_of`] and where the scatter's image lies in it (its top-left pixel), so a click
/// on the picture can be mapped to the latent plane ([`ScatterFrame::to_latent`]).
pub fn picture_with_origin(data: &LatentData, class_names: &[String]) -> (Rgba, (usize, usize)) {
    let (_, _, h, w) = data.manifold.dim();
    let zoom = (SCATTER / (data.grid * h.max(w))).max(1);
    let dims = if data.codes.dim() > 2 {
        " (z0, z1; the other latent values 0)"
    } else {
        ""
    };
    let top = hstack(
        &[
            captioned(&scatter(data), SCATTER_CAPTION, TS, BACKGROUND),
            captioned(
                &manifold(data, zoom),
                &format!(
                    "decoded lattice {k}x{k} over [-{e}, {e}]^2{dims}",
                    k = data.grid,
                    e = data.extent
                ),
                TS,
                BACKGROUND,
            ),
        ],
        16,
        BACKGROUND,
    );
    let head = text_image(&title(data), TS, INK, BACKGROUND, 0);
    // padding, the title, the gap, the scatter's caption (see `captioned`).
    let origin = (
        PAD,
        PAD + head.height + GAP + crate::viz::text::text_height(SCATTER_CAPTION, TS) + 3 * TS,
    );
    let mut rows = vec![head, top];
    if !data.labels.is_empty() {
        let max = data.labels.iter().copied().max().unwrap_or(0);
        let names: Vec<String> = (0..=max)
            .map(|k| class_names.get(k).cloned().unwrap_or_else(|| k.to_string()))
            .collect();
        let items: Vec<([u8; 3], &str)> = names
            .iter()
            .enumerate()
            .map(|(k, n)| (CLASS_COLORS[k % CLASS_COLORS.len()], n.as_str()))
            .collect();
        rows.push(swatches(&items, TS));
    }
    let strip_zoom = (56 / h.max(w)).max(1);
    rows.push(captioned(
        &strip(&data.prior, strip_zoom),
        &format!("decoded from {STRIP} draws of the prior N(0, I)"),
        TS,
        BACKGROUND,
    ));
    let (a, b) = data.ends;
    let name = |i: usize| {
        data.labels.get(i).map_or(String::new(), |&l| {
            format!(
                " ({})",
                class_names.get(l).cloned().unwrap_or(l.to_string())
            )
        })
    };
    let ends = hstack(
        &[
            captioned(&picture(&data.images, a, strip_zoom), "a", TS, BACKGROUND),
            strip(&data.between, strip_zoom),
            captioned(&picture(&data.images, b, strip_zoom), "b", TS, BACKGROUND),
        ],
        12,
        BACKGROUND,
    );
    rows.push(captioned(
        &ends,
        &format!(
            "interpolation: image a = {a}{} to image b = {b}{}, their codes mu on a straight line, decoded",
            name(a),
            name(b)
        ),
        TS,
        BACKGROUND,
    ));
    if let Some((p, img)) = &data.point {
        rows.push(captioned(
            &picture(img, 0, strip_zoom * 2),
            &format!("decoded at the picked point ({:.2}, {:.2})", p[0], p[1]),
            TS,
            BACKGROUND,
        ));
    }
    (
        padded(&vstack(&rows, GAP, BACKGROUND), PAD, BACKGROUND),
        origin,
    )
}
