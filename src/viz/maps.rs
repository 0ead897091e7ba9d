//! Feature maps, gradients and kernels as pictures: every channel of a node as a tile in
//! a grid (per-channel or shared normalisation, with a legend), dense layers as bars,
//! conv kernels as small heatmaps (first-layer RGB kernels as colour images), and the
//! classical filter bank next to its responses.

use ndarray::{Array2, ArrayD, ArrayView2, s};

use super::draw::{BACKGROUND, INK, MUTED, blit, captioned, fill_rect, hstack, vstack};
use super::scale::{Palette, ValueScale, contrast_ink, fmt_value, legend, legend_with};
use super::text::{draw_text, draw_text_centered, text_height, text_width};
use super::{Colormap, Rgba, VizError};
use crate::engine::Tensor;
use crate::inspect::filters::FilterResponse;
use crate::inspect::probe::NodeProbe;

/// Text size of titles and labels (font pixels × this).
pub const TEXT: usize = 2;

/// How each channel's colours are scaled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Norm {
    /// Every map spans its own min…max: shows each map's pattern.
    #[default]
    PerChannel,
    /// One range for all maps: shows which maps are strong.
    Shared,
}

/// Settings of a feature-map grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridOptions {
    /// None: diverging for signed data, viridis otherwise.
    pub palette: Option<Palette>,
    pub norm: Norm,
    /// Screen pixels per map cell; 0 picks one so a map is about `tile` pixels wide.
    pub zoom: usize,
    pub tile: usize,
    /// Tiles per row; 0 picks a wide grid.
    pub columns: usize,
    /// At most this many channels are drawn.
    pub max_channels: usize,
    /// Channel numbers above the tiles.
    pub labels: bool,
    /// A colour bar below the grid.
    pub legend: bool,
}

impl Default for GridOptions {
    fn default() -> Self {
        GridOptions {
            palette: None,
            norm: Norm::PerChannel,
            zoom: 0,
            tile: 112,
            columns: 0,
            max_channels: 64,
            labels: true,
            legend: true,
        }
    }
}

/// Where one channel's tile sits in a grid picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridCell {
    pub channel: usize,
    pub x: usize,
    pub y: usize,
    /// Map size in cells and screen pixels per cell.
    pub rows: usize,
    pub cols: usize,
    pub zoom: usize,
}

/// Tiles of a grid picture, for hover and click.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GridLayout {
    pub cells: Vec<GridCell>,
}

impl GridLayout {
    /// The `(channel, row, col)` under picture pixel `(x, y)`.
    pub fn locate(&self, x: usize, y: usize) -> Option<(usize, usize, usize)> {
        self.cells.iter().find_map(|c| {
            let (w, h) = (c.cols * c.zoom, c.rows * c.zoom);
            (x >= c.x && x < c.x + w && y >= c.y && y < c.y + h)
                .then(|| (c.channel, (y - c.y) / c.zoom, (x - c.x) / c.zoom))
        })
    }
}

/// A picture with its tile layout and the colour scale of each drawn channel.
#[derive(Clone, Debug, PartialEq)]
pub struct GridImage {
    pub image: Rgba,
    pub layout: GridLayout,
    pub scales: Vec<ValueScale>,
}

/// One `[h, w]` map as a heatmap, each cell `zoom × zoom` pixels.
pub fn heat_tile(map: ArrayView2<f32>, scale: &ValueScale, zoom: usize) -> Rgba {
    let z = zoom.max(1);
    let (h, w) = map.dim();
    let mut img = Rgba::new(w * z, h * z, [0, 0, 0, 255]);
    for ((i, j), &v) in map.indexed_iter() {
        fill_rect(
            &mut img,
            (j * z) as i64,
            (i * z) as i64,
            z,
            z,
            scale.color(v),
        );
    }
    img
}

/// [`heat_tile`] with each cell's value written in it (for small maps: kernels, the
/// lecture's pooling example).
pub fn heat_tile_numbers(
    map: ArrayView2<f32>,
    scale: &ValueScale,
    zoom: usize,
    text: usize,
) -> Rgba {
    let mut img = heat_tile(map, scale, zoom);
    let z = zoom.max(1) as i64;
    for ((i, j), &v) in map.indexed_iter() {
        let bg = scale.color(v);
        let label = fmt_value(v, 3);
        let mut ts = text.max(1);
        while ts > 1 && text_width(&label, ts) as i64 > z - 4 {
            ts -= 1;
        }
        // A number that does not fit its cell is left out rather than overlapping.
        if text_width(&label, ts) as i64 > z - 2 {
            continue;
        }
        draw_text_centered(
            &mut img,
            j as i64 * z + z / 2,
            i as i64 * z + z / 2,
            &label,
            ts,
            contrast_ink(bg),
        );
    }
    img
}

fn auto_zoom(h: usize, w: usize, tile: usize) -> usize {
    (tile.max(8) / h.max(w).max(1)).clamp(1, 48)
}

/// Every channel of sample 0 of `t` (`[n, c, h, w]`) as a grid of heatmaps.
pub fn feature_grid(t: &Tensor<f32>, opts: &GridOptions) -> GridImage {
    let (n, c, h, w) = t.dim();
    if n == 0 || c == 0 || h == 0 || w == 0 {
        return GridImage {
            image: Rgba::new(1, 1, BACKGROUND),
            layout: GridLayout::default(),
            scales: Vec::new(),
        };
    }
    let shown = c.min(opts.max_channels.max(1));
    let sample = t.slice(s![0, ..shown, .., ..]);
    let (lo, hi) = sample
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let palette = opts.palette.unwrap_or_else(|| Palette::auto(lo, hi));
    let shared = ValueScale::new(palette, lo.min(hi), hi.max(lo));
    let zoom = if opts.zoom > 0 {
        opts.zoom
    } else {
        auto_zoom(h, w, opts.tile)
    };
    let (tw, th) = (w * zoom, h * zoom);
    let columns = if opts.columns > 0 {
        opts.columns
    } else {
        ((shown as f64 * 1.6).sqrt().ceil() as usize).clamp(1, 16)
    }
    .min(shown);
    let ts = if tw >= 60 { TEXT } else { 1 };
    let label_h = if opts.labels {
        text_height("0", ts) + 2 * ts
    } else {
        0
    };
    let gap = (zoom * w / 12).clamp(4, 12);
    let rows = shown.div_ceil(columns);
    let gw = columns * (tw + gap) - gap;
    let gh = rows * (th + label_h + gap) - gap;
    let mut img = Rgba::new(gw, gh, BACKGROUND);
    let mut layout = GridLayout::default();
    let mut scales = Vec::with_capacity(shown);
    for ch in 0..shown {
        let map = sample.slice(s![ch, .., ..]);
        let scale = match opts.norm {
            Norm::Shared => shared,
            Norm::PerChannel => ValueScale::fit(map.iter(), palette),
        };
        let x = (ch % columns) * (tw + gap);
        let y = (ch / columns) * (th + label_h + gap);
        if opts.labels {
            draw_text(&mut img, x as i64, y as i64, &ch.to_string(), ts, MUTED);
        }
        blit(
            &mut img,
            &heat_tile(map, &scale, zoom),
            x as i64,
            (y + label_h) as i64,
        );
        layout.cells.push(GridCell {
            channel: ch,
            x,
            y: y + label_h,
            rows: h,
            cols: w,
            zoom,
        });
        scales.push(scale);
    }
    let mut parts = vec![img];
    if shown < c {
        parts.push(super::text::text_image(
            &format!("+{} more channels not shown", c - shown),
            ts,
            MUTED,
            BACKGROUND,
            0,
        ));
    }
    let grid_h = parts[0].height;
    if opts.legend {
        let length = gw.clamp(160, 420);
        let leg = match opts.norm {
            Norm::Shared => legend(&shared, length, 14, ts, "shared colour scale"),
            Norm::PerChannel => {
                let unit = ValueScale::new(
                    palette,
                    if palette == Palette::Diverging {
                        -1.0
                    } else {
                        0.0
                    },
                    1.0,
                );
                let ticks = if palette == Palette::Diverging {
                    vec![
                        (0.0, "-max|v|".to_string()),
                        (0.5, "0".to_string()),
                        (1.0, "+max|v|".to_string()),
                    ]
                } else {
                    vec![(0.0, "min".to_string()), (1.0, "max".to_string())]
                };
                legend_with(
                    &unit,
                    &ticks,
                    length,
                    14,
                    ts,
                    "each map scaled to its own range",
                )
            }
        };
        parts.push(leg);
    }
    let image = vstack(&parts, 3 * ts + 4, BACKGROUND);
    debug_assert!(image.height >= grid_h);
    GridImage {
        image,
        layout,
        scales,
    }
}

/// A dense layer's values as vertical bars around a zero line (red positive, blue
/// negative), with `labels` (class names or unit numbers) under the bars when they fit.
pub fn dense_bars(values: &[f32], labels: Option<&[String]>, height: usize) -> Rgba {
    let n = values.len().max(1);
    let bar = (640 / n).clamp(2, 48);
    let gap = if bar >= 8 { bar / 6 } else { 0 };
    let plot_h = height.max(60);
    let m = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |a, v| a.max(v.abs()));
    let m = if m > 0.0 { m } else { 1.0 };
    let has_neg = values.iter().any(|&v| v < 0.0);
    let zero_y = if has_neg { plot_h / 2 } else { plot_h };
    let span = if has_neg { plot_h / 2 } else { plot_h } as f32;
    let show_labels = bar >= 14;
    let label_h = if show_labels {
        text_height("0", TEXT) + 2 * TEXT
    } else {
        0
    };
    let axis_w = text_width(&fmt_value(-m, 3), TEXT) + 2 * TEXT;
    let w = axis_w + n * bar;
    let mut img = Rgba::new(w, plot_h + label_h + TEXT * 4, BACKGROUND);
    let scale = ValueScale::new(Palette::Diverging, -m, m);
    let top = TEXT as i64 * 4;
    for (k, &v) in values.iter().enumerate() {
        let len = ((v.abs() / m) * span).round() as usize;
        let x = (axis_w + k * bar) as i64;
        let y = if v >= 0.0 {
            top + zero_y as i64 - len as i64
        } else {
            top + zero_y as i64
        };
        let mut c = scale.color(v.signum() * m * 0.8);
        if v.abs() < m * 0.02 {
            c = MUTED;
        }
        fill_rect(&mut img, x + gap as i64 / 2, y, bar - gap, len.max(1), c);
        if show_labels {
            let text = labels
                .and_then(|l| l.get(k))
                .cloned()
                .unwrap_or_else(|| k.to_string());
            let max_chars = (bar / (6 * TEXT)).max(1);
            let text: String = text.chars().take(max_chars).collect();
            let tw = text_width(&text, TEXT) as i64;
            draw_text(
                &mut img,
                x + bar as i64 / 2 - tw / 2,
                top + plot_h as i64 + TEXT as i64,
                &text,
                TEXT,
                INK,
            );
        }
    }
    fill_rect(
        &mut img,
        axis_w as i64,
        top + zero_y as i64,
        n * bar,
        1,
        INK,
    );
    draw_text(
        &mut img,
        0,
        top - TEXT as i64 * 3,
        &fmt_value(m, 3),
        TEXT,
        MUTED,
    );
    if has_neg {
        draw_text(
            &mut img,
            0,
            top + plot_h as i64 - TEXT as i64 * 7,
            &fmt_value(-m, 3),
            TEXT,
            MUTED,
        );
    }
    draw_text(
        &mut img,
        0,
        top + zero_y as i64 - TEXT as i64 * 3,
        "0",
        TEXT,
        MUTED,
    );
    img
}

/// `name · kind · c×h×w` and the node's statistics, as two lines.
fn node_header(p: &NodeProbe, what: &str) -> String {
    let (_, c, h, w) = p.activation.dim();
    let mut stats = format!(
        "min {}  max {}  mean {}",
        fmt_value(p.stats.min, 3),
        fmt_value(p.stats.max, 3),
        fmt_value(p.stats.mean as f32, 3)
    );
    if let Some(d) = p.stats.dead_share {
        stats.push_str(&format!("  inactive ReLU units {:.0}%", d * 100.0));
    }
    format!("{} · {} · {c}×{h}×{w} · {what}\n{stats}", p.name, p.kind)
}

/// One node's activations for the probed input: a titled grid (or bars for 1×1 maps)
/// with its statistics and legend. `class_names` label the output bars when given.
pub fn activation_view(
    p: &NodeProbe,
    opts: &GridOptions,
    class_names: Option<&[String]>,
) -> GridImage {
    let header = node_header(p, "activations");
    map_view(&p.activation, &header, opts, class_names)
}

/// One node's loss gradient `∂L/∂output` (diverging, shared scale unless asked otherwise);
/// None where no gradient flows.
pub fn gradient_view(p: &NodeProbe, opts: &GridOptions) -> Option<GridImage> {
    let g = p.grad.as_ref()?;
    let norm = p.grad_norm.unwrap_or(0.0);
    let header = format!(
        "{} · {} · gradient ∂L/∂output\n‖∂L/∂output‖ = {}",
        p.name,
        p.kind,
        fmt_value(norm as f32, 3)
    );
    let opts = GridOptions {
        palette: Some(opts.palette.unwrap_or(Palette::Diverging)),
        ..*opts
    };
    Some(map_view(g, &header, &opts, None))
}

/// A titled picture of any `[1, c, h, w]` tensor: grid of maps, or bars when `h = w = 1`.
pub fn map_view(
    t: &Tensor<f32>,
    title: &str,
    opts: &GridOptions,
    class_names: Option<&[String]>,
) -> GridImage {
    let (_, c, h, w) = t.dim();
    let title_img = super::text::text_image(title, TEXT, INK, BACKGROUND, 0);
    let gap = 4 * TEXT;
    if h * w == 1 {
        let values: Vec<f32> = t.iter().take(c).copied().collect();
        let bars = dense_bars(&values, class_names, 160);
        let image = vstack(&[title_img, bars], gap, BACKGROUND);
        return GridImage {
            image,
            layout: GridLayout::default(),
            scales: Vec::new(),
        };
    }
    let grid = feature_grid(t, opts);
    let dy = title_img.height + gap;
    let image = vstack(&[title_img, grid.image], gap, BACKGROUND);
    let layout = GridLayout {
        cells: grid
            .layout
            .cells
            .into_iter()
            .map(|c| GridCell { y: c.y + dy, ..c })
            .collect(),
    };
    GridImage {
        image,
        layout,
        scales: grid.scales,
    }
}

/// Settings of a kernel grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOptions {
    /// Screen pixels per weight; 0 picks about 56 pixels per kernel.
    pub zoom: usize,
    /// At most this many output and input channels.
    pub max_out: usize,
    pub max_in: usize,
    /// Draw 3-input-channel kernels as colour images.
    pub rgb: bool,
    /// Weights written in the cells (only where they fit).
    pub numbers: bool,
}

impl Default for KernelOptions {
    fn default() -> Self {
        KernelOptions {
            zoom: 0,
            max_out: 32,
            max_in: 16,
            rgb: true,
            numbers: true,
        }
    }
}

/// The kernels of a conv weight `[out, in, kh, kw]`: one row per output channel and one
/// column per input channel, each a diverging heatmap on one shared scale (so strong and
/// weak filters compare); with three input channels and `rgb`, one colour image per output
/// channel (weights mapped to `0.5 + w / 2max|w|` per colour). Rows are labelled with the
/// output channel, columns with the input channel.
pub fn kernel_grid(
    weight: &ArrayD<f32>,
    title: &str,
    opts: &KernelOptions,
) -> Result<GridImage, VizError> {
    let sh = weight.shape();
    if sh.len() != 4 || sh.contains(&0) {
        return Err(VizError::UnsuitedModel(format!(
            "a kernel tensor is [out, in, kh, kw], got {sh:?}"
        )));
    }
    let (o, i, kh, kw) = (sh[0], sh[1], sh[2], sh[3]);
    let (so, si) = (o.min(opts.max_out.max(1)), i.min(opts.max_in.max(1)));
    let m = weight
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |a, v| a.max(v.abs()));
    let scale = ValueScale::new(Palette::Diverging, -m, m);
    let zoom = if opts.zoom > 0 {
        opts.zoom
    } else {
        (56 / kh.max(kw)).clamp(3, 32)
    };
    let rgb = opts.rgb && i == 3;
    // One tile per output channel (single input channel, or RGB) flows in rows;
    // otherwise a matrix: a row per output channel, a column per input channel.
    let flow = rgb || i == 1;
    let zoom = if opts.zoom > 0 {
        opts.zoom
    } else if flow {
        (84 / kh.max(kw)).clamp(3, 40)
    } else {
        zoom
    };
    let (tw, th) = (kw * zoom, kh * zoom);
    let gap = (zoom / 2).clamp(4, 10);
    let cols = if flow { so.min(8) } else { si };
    let rows = if flow { so.div_ceil(cols) } else { so };
    let ts = if th >= 20 { TEXT } else { 1 };
    let row_label_w = if flow {
        0
    } else {
        text_width(&format!("{}", so.saturating_sub(1)), ts) + 3 * ts
    };
    let label_h = text_height("0", ts) + 2 * ts;
    let cell_h = if flow { label_h + th + gap } else { th + gap };
    let mut img = Rgba::new(
        row_label_w + cols * (tw + gap),
        if flow { 0 } else { label_h } + rows * cell_h,
        BACKGROUND,
    );
    let mut layout = GridLayout::default();
    let numbers = opts.numbers && zoom >= 20 && kh * kw <= 49;
    let tile_of = |r: usize, c: usize| -> Rgba {
        if rgb {
            let mut tile = Rgba::new(tw, th, [0, 0, 0, 255]);
            for a in 0..kh {
                for b in 0..kw {
                    let px: [u8; 3] = std::array::from_fn(|ch| {
                        let v = weight[[r, ch, a, b]];
                        let v = if m > 0.0 && v.is_finite() {
                            0.5 + v / (2.0 * m)
                        } else {
                            0.5
                        };
                        (v.clamp(0.0, 1.0) * 255.0).round() as u8
                    });
                    fill_rect(
                        &mut tile,
                        (b * zoom) as i64,
                        (a * zoom) as i64,
                        zoom,
                        zoom,
                        [px[0], px[1], px[2], 255],
                    );
                }
            }
            return tile;
        }
        let k: Array2<f32> = Array2::from_shape_fn((kh, kw), |(a, b)| weight[[r, c, a, b]]);
        if numbers {
            heat_tile_numbers(k.view(), &scale, zoom, ts)
        } else {
            heat_tile(k.view(), &scale, zoom)
        }
    };
    if flow {
        for r in 0..so {
            let x = (r % cols) * (tw + gap);
            let y = (r / cols) * cell_h;
            draw_text(&mut img, x as i64, y as i64, &r.to_string(), ts, MUTED);
            let ty = y + label_h;
            blit(&mut img, &tile_of(r, 0), x as i64, ty as i64);
            layout.cells.push(GridCell {
                channel: r,
                x,
                y: ty,
                rows: kh,
                cols: kw,
                zoom,
            });
        }
    } else {
        for c in 0..cols {
            let x = row_label_w + c * (tw + gap);
            draw_text(&mut img, x as i64, 0, &c.to_string(), ts, MUTED);
        }
        for r in 0..so {
            let y = label_h + r * cell_h;
            draw_text(
                &mut img,
                0,
                (y + th / 2) as i64 - (3 * ts) as i64,
                &r.to_string(),
                ts,
                MUTED,
            );
            for c in 0..cols {
                let x = row_label_w + c * (tw + gap);
                blit(&mut img, &tile_of(r, c), x as i64, y as i64);
                layout.cells.push(GridCell {
                    channel: r * cols + c,
                    x,
                    y,
                    rows: kh,
                    cols: kw,
                    zoom,
                });
            }
        }
    }
    let mut note = if flow {
        format!("one kernel per output channel · {o}×{i}×{kh}×{kw}")
    } else {
        format!("rows: output channel · columns: input channel · {o}×{i}×{kh}×{kw}")
    };
    if rgb {
        note = format!("one colour image per output channel (R, G, B weights) · {o}×{i}×{kh}×{kw}");
    }
    if so < o || si < i {
        note.push_str(&format!(" · first {so}×{si} shown"));
    }
    let head = super::text::text_image(&format!("{title}\n{note}"), TEXT, INK, BACKGROUND, 0);
    let leg = legend(
        &scale,
        280,
        14,
        TEXT,
        if rgb { "weight (gray = 0)" } else { "weight" },
    );
    let dy = head.height + 3 * TEXT;
    let image = vstack(&[head, img, leg], 3 * TEXT, BACKGROUND);
    for c in &mut layout.cells {
        c.y += dy;
    }
    Ok(GridImage {
        image,
        layout,
        scales: vec![scale],
    })
}

/// The input image, then one column per classical filter: its name, its kernel with the
/// weights written in, and its response on the image (diverging for signed responses,
/// viridis for the blur and the edge magnitude), each with its legend.
pub fn filter_bank_view(input: &Rgba, responses: &[FilterResponse]) -> Rgba {
    let side = input.width.max(input.height).max(1);
    let zoom = (160 / side).clamp(1, 16);
    let mut columns = vec![captioned(
        &super::draw::enlarge(input, zoom),
        "input",
        TEXT,
        BACKGROUND,
    )];
    for r in responses {
        let kernel = match &r.kernel {
            Some(k) => {
                let (kh, kw) = k.dim();
                let km = k.iter().fold(0.0f32, |a, v| a.max(v.abs()));
                let kscale = ValueScale::new(Palette::Diverging, -km, km);
                let kzoom = (160 / kh.max(kw).max(1)).clamp(8, 48);
                heat_tile_numbers(k.view(), &kscale, kzoom, if kzoom >= 40 { TEXT } else { 1 })
            }
            None => super::text::text_image("√(sobel_x² +\n  sobel_y²)", TEXT, INK, BACKGROUND, 0),
        };
        let (lo, hi) = r
            .response
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let palette = if lo < 0.0 {
            Palette::Diverging
        } else {
            Palette::Sequential(Colormap::Viridis)
        };
        let rscale = ValueScale::new(palette, lo, hi);
        let (h, w) = r.response.dim();
        let rz = (160 / h.max(w).max(1)).clamp(1, 16);
        let response = heat_tile(r.response.view(), &rscale, rz);
        let leg = legend(&rscale, 140, 12, TEXT, "");
        let kernel_box = padded_to(&kernel, 160.max(kernel.width), 160.max(kernel.height));
        let col = vstack(
            &[
                super::text::text_image(r.name, TEXT, INK, BACKGROUND, 0),
                kernel_box,
                response,
                leg,
            ],
            3 * TEXT,
            BACKGROUND,
        );
        columns.push(col);
    }
    let row = hstack(&columns, 8 * TEXT, BACKGROUND);
    let head = super::text::text_image(
        "classical filters on the input (cross-correlation, like a conv layer; replicated borders)",
        TEXT,
        INK,
        BACKGROUND,
        0,
    );
    super::draw::padded(
        &vstack(&[head, row], 4 * TEXT, BACKGROUND),
        4 * TEXT,
        BACKGROUND,
    )
}

/// `img` in the top-left of a `w × h` background.
fn padded_to(img: &Rgba, w: usize, h: usize) -> Rgba {
    let mut out = Rgba::new(w.max(img.width), h.max(img.height), BACKGROUND);
    blit(&mut out, img, 0, 0);
    out
}

/// Several nodes' activation views one below the other (the `activations` overview).
pub fn stack_views(views: Vec<Rgba>) -> Rgba {
    let sep = 10 * TEXT;
    let body = vstack(&views, sep, BACKGROUND);
    super::draw::padded(&body, 4 * TEXT, BACKGROUND)
}
