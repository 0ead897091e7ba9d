//! The pooling-routing diagram: the input map with its pooling windows and winners, the
//! pooled output, the upstream gradient, and the gradient scattered back to the input
//! (non-zero only at winners; overlapping windows add up) — and the same node as average
//! pooling underneath, whose gradient spreads over whole windows. A selected output cell
//! (or the current step of the step-by-step mode) is outlined in every panel.

use ndarray::{Array2, ArrayView2};

use super::draw::{
    BACKGROUND, HIGHLIGHT, INK, MUTED, WINNER, blit, fill_rect, padded, ring, stroke_rect,
};
use super::maps::{heat_tile, heat_tile_numbers};
use super::scale::{Palette, ValueScale, fmt_value, legend};
use super::text::{draw_text, text_height, text_image, text_width};
use super::{Colormap, Rgba};
use crate::engine::layers::pool2d::PoolKind;
use crate::inspect::routing::PoolRouting;

const TS: usize = 2;

/// Which map a panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelKind {
    Input,
    Output,
    Upstream,
    Scattered,
    AverageOutput,
    AverageScattered,
}

/// Where a panel's cells are in the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Panel {
    pub kind: PanelKind,
    pub x: usize,
    pub y: usize,
    pub cell: usize,
    pub rows: usize,
    pub cols: usize,
}

/// The diagram and its panels, for hover and click.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingImage {
    pub image: Rgba,
    pub panels: Vec<Panel>,
}

impl RoutingImage {
    /// The panel and `(row, col)` under picture pixel `(x, y)`.
    pub fn locate(&self, x: usize, y: usize) -> Option<(PanelKind, usize, usize)> {
        self.panels.iter().find_map(|p| {
            (x >= p.x && y >= p.y && x < p.x + p.cols * p.cell && y < p.y + p.rows * p.cell)
                .then(|| (p.kind, (y - p.y) / p.cell, (x - p.x) / p.cell))
        })
    }
}

/// Settings of the diagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoutingOptions {
    /// Pixels per cell; 0 picks one (large cells with numbers for small maps).
    pub cell: usize,
    /// Output cell whose window, winner and gradient are outlined.
    pub selected: Option<(usize, usize)>,
    /// Step-by-step mode: only the first `steps` windows (row-major) have sent their
    /// gradient; the last of them is outlined.
    pub steps: Option<usize>,
    /// Add the average-pooling comparison row.
    pub average: bool,
}

fn kind_name(k: PoolKind) -> &'static str {
    match k {
        PoolKind::Max => "max",
        PoolKind::Min => "min",
        PoolKind::Avg => "average",
    }
}

fn tile(map: ArrayView2<f32>, scale: &ValueScale, cell: usize) -> Rgba {
    if cell >= 30 {
        heat_tile_numbers(map, scale, cell, if cell >= 44 { TS } else { 1 })
    } else {
        heat_tile(map, scale, cell)
    }
}

fn grid_lines(img: &mut Rgba, x: usize, y: usize, rows: usize, cols: usize, cell: usize) {
    if cell < 24 {
        return;
    }
    let c = [255, 255, 255, 110];
    for r in 1..rows {
        fill_rect(img, x as i64, (y + r * cell) as i64, cols * cell, 1, c);
    }
    for k in 1..cols {
        fill_rect(img, (x + k * cell) as i64, y as i64, 1, rows * cell, c);
    }
}

/// Draws the pooling-routing diagram of `r`.
pub fn routing_image(r: &PoolRouting, opts: &RoutingOptions) -> RoutingImage {
    let (h, w) = r.input.dim();
    let (oh, ow) = r.output.dim();
    let cell = if opts.cell > 0 {
        opts.cell
    } else {
        (320 / h.max(w).max(1)).clamp(4, 72)
    };
    let steps = opts.steps.map(|s| s.min(r.windows.len()));
    let current = match steps {
        Some(0) => None,
        Some(s) => r.windows.get(s - 1).map(|w| w.out),
        None => opts.selected,
    };
    let scattered = match steps {
        Some(s) => r.scattered_after(s),
        None => r.scattered.clone(),
    };
    let avg = if opts.average {
        r.average.as_deref()
    } else {
        None
    };
    let avg_scattered = avg.map(|a| match steps {
        Some(s) => a.scattered_after(s),
        None => a.scattered.clone(),
    });

    // Colour scales: one for values (input and outputs), one for all gradients.
    let values = r
        .input
        .iter()
        .chain(r.output.iter())
        .chain(avg.into_iter().flat_map(|a| a.output.iter()));
    let vscale = ValueScale::fit(
        values.clone(),
        Palette::auto(
            values.clone().fold(f32::INFINITY, |a, &v| a.min(v)),
            values.fold(f32::NEG_INFINITY, |a, &v| a.max(v)),
        ),
    );
    let vscale = if vscale.palette == Palette::Diverging {
        vscale
    } else {
        ValueScale {
            palette: Palette::Sequential(Colormap::Viridis),
            ..vscale
        }
    };
    let gm = r
        .upstream
        .iter()
        .chain(r.scattered.iter())
        .chain(avg.into_iter().flat_map(|a| a.scattered.iter()))
        .filter(|v| v.is_finite())
        .fold(0.0f32, |a, v| a.max(v.abs()));
    let gscale = ValueScale::new(Palette::Diverging, -gm, gm);

    let kind = kind_name(r.kind);
    let name = r.node.clone().unwrap_or_else(|| "example".into());
    let input_caption = format!("x: input of {name}\n{h}×{w}, channel {}", r.channel);
    let output_caption = format!(
        "y: {kind} pool {}×{} / stride {}\n{oh}×{ow}",
        r.kernel.h, r.kernel.w, r.stride.h
    );
    let scattered_caption = match steps {
        Some(s) => format!(
            "∂L/∂x after step {s} of {}\n(only winners receive)",
            r.windows.len()
        ),
        None => "∂L/∂x: gradient to the input\n(only winners receive; overlaps add)".to_string(),
    };
    let up_caption = if r.upstream_is_ones {
        "∂L/∂y: upstream gradient\n(all ones: no backward yet)"
    } else {
        "∂L/∂y: upstream gradient\n(from the loss)"
    };
    let avg_scattered_caption = "average pooling: ∂L/∂x\n(each window cell gets 1/k² of it)";
    let avg_output_caption = "average pooling: y\n(same windows)";

    let label_h = text_height("Ag\nAg", TS) + 3 * TS;
    let col_gap = 16 * TS;
    let row_gap = 8 * TS;
    let mut left_captions = vec![input_caption.as_str(), scattered_caption.as_str()];
    let mut right_captions = vec![output_caption.as_str(), up_caption];
    if avg.is_some() {
        left_captions.push(avg_scattered_caption);
        right_captions.push(avg_output_caption);
    }
    let widest = |c: &[&str]| c.iter().map(|t| text_width(t, TS)).max().unwrap_or(0);
    let left_w = (w * cell).max(widest(&left_captions));
    let right_x = left_w + col_gap;
    let right_w = (ow * cell).max(widest(&right_captions));
    let rows_n = if avg.is_some() { 3 } else { 2 };
    let row_h = label_h + (h * cell).max(oh * cell);
    let total_w = right_x + right_w;
    let total_h = rows_n * (row_h + row_gap);
    let mut img = Rgba::new(total_w, total_h, BACKGROUND);
    let mut panels = Vec::new();

    let mut put = |img: &mut Rgba,
                   kind: PanelKind,
                   x: usize,
                   y: usize,
                   map: ArrayView2<f32>,
                   scale: &ValueScale,
                   caption: &str| {
        draw_text(img, x as i64, y as i64, caption, TS, INK);
        let ty = y + label_h;
        blit(img, &tile(map, scale, cell), x as i64, ty as i64);
        grid_lines(img, x, ty, map.nrows(), map.ncols(), cell);
        panels.push(Panel {
            kind,
            x,
            y: ty,
            cell,
            rows: map.nrows(),
            cols: map.ncols(),
        });
    };

    // Row 1: forward.
    let y0 = 0;
    put(
        &mut img,
        PanelKind::Input,
        0,
        y0,
        r.input.view(),
        &vscale,
        &input_caption,
    );
    put(
        &mut img,
        PanelKind::Output,
        right_x,
        y0,
        r.output.view(),
        &vscale,
        &output_caption,
    );
    // Row 2: backward.
    let y1 = row_h + row_gap;
    put(
        &mut img,
        PanelKind::Scattered,
        0,
        y1,
        scattered.view(),
        &gscale,
        &scattered_caption,
    );
    put(
        &mut img,
        PanelKind::Upstream,
        right_x,
        y1,
        r.upstream.view(),
        &gscale,
        up_caption,
    );
    // Row 3: average pooling.
    let y2 = 2 * (row_h + row_gap);
    if let (Some(a), Some(asc)) = (avg, avg_scattered.as_ref()) {
        put(
            &mut img,
            PanelKind::AverageScattered,
            0,
            y2,
            asc.view(),
            &gscale,
            avg_scattered_caption,
        );
        put(
            &mut img,
            PanelKind::AverageOutput,
            right_x,
            y2,
            a.output.view(),
            &vscale,
            avg_output_caption,
        );
    }

    // Arrows between the columns.
    let arrow_x = left_w as i64 + (col_gap as i64 - text_width("→", 3) as i64) / 2;
    let mid = |y: usize| (y + label_h) as i64 + (h.min(oh) * cell) as i64 / 2 - 10;
    draw_text(&mut img, arrow_x, mid(y0), "→", 3, MUTED);
    draw_text(&mut img, arrow_x, mid(y1), "←", 3, MUTED);
    if avg.is_some() {
        draw_text(&mut img, arrow_x, mid(y2), "←", 3, MUTED);
    }

    let input_panel = panels[0];
    let cell_rect =
        |p: &Panel, i: usize, j: usize| ((p.x + j * cell) as i64, (p.y + i * cell) as i64);
    let t = (cell / 10).clamp(2, 5);
    // Window outlines: all of them when they do not overlap, else only the current one.
    let overlapping = r.stride.h < r.kernel.h || r.stride.w < r.kernel.w;
    if !overlapping && cell >= 10 {
        for win in &r.windows {
            let (x, y) = cell_rect(&input_panel, win.rows_clipped.0, win.cols_clipped.0);
            let (hh, ww) = (
                win.rows_clipped.1 - win.rows_clipped.0,
                win.cols_clipped.1 - win.cols_clipped.0,
            );
            stroke_rect(
                &mut img,
                x,
                y,
                ww * cell,
                hh * cell,
                if cell >= 24 { (t / 2).max(1) } else { 1 },
                [255, 255, 255, 200],
            );
        }
    }
    // Winners: a ring on every winning input cell (max/min pooling). Windows whose cells
    // are all equal (ties, e.g. zeros after a ReLU) get none: their first cell wins by
    // convention, which says nothing about the input.
    let is_tie = |win: &crate::inspect::routing::RoutingWindow| {
        let v = r.input[[win.rows_clipped.0, win.cols_clipped.0]];
        (win.rows_clipped.0..win.rows_clipped.1)
            .all(|i| (win.cols_clipped.0..win.cols_clipped.1).all(|j| r.input[[i, j]] == v))
    };
    let ties = r
        .windows
        .iter()
        .filter(|w| {
            w.winner.is_some()
                && w.rows_clipped.1 - w.rows_clipped.0 + w.cols_clipped.1 - w.cols_clipped.0 > 2
                && is_tie(w)
        })
        .count();
    if cell >= 6 {
        for win in &r.windows {
            if is_tie(win) && r.windows.len() > 1 && ties < r.windows.len() {
                continue;
            }
            if let Some((i, j)) = win.winner {
                let (x, y) = cell_rect(&input_panel, i, j);
                let c = (x as f64 + cell as f64 / 2.0, y as f64 + cell as f64 / 2.0);
                let rr = cell as f64 * 0.47;
                ring(
                    &mut img,
                    c.0,
                    c.1,
                    rr,
                    (cell as f64 * 0.12).max(1.5),
                    WINNER,
                );
                ring(
                    &mut img,
                    c.0,
                    c.1,
                    rr - (cell as f64 * 0.12).max(1.5),
                    1.0,
                    [255, 255, 255, 255],
                );
            }
        }
    }
    // Steps not yet taken are dimmed in the output and upstream panels.
    if let Some(s) = steps {
        for win in r.windows.iter().skip(s) {
            for p in panels
                .iter()
                .filter(|p| matches!(p.kind, PanelKind::Output | PanelKind::Upstream))
            {
                let (x, y) = cell_rect(p, win.out.0, win.out.1);
                fill_rect(&mut img, x, y, cell, cell, [255, 255, 255, 190]);
            }
        }
    }
    // The current window everywhere.
    if let Some((oi, oj)) = current
        && let Some(win) = r.window_at(oi, oj)
    {
        let (hh, ww) = (
            win.rows_clipped.1 - win.rows_clipped.0,
            win.cols_clipped.1 - win.cols_clipped.0,
        );
        for p in &panels {
            match p.kind {
                PanelKind::Input | PanelKind::AverageScattered => {
                    let (x, y) = cell_rect(p, win.rows_clipped.0, win.cols_clipped.0);
                    stroke_rect(
                        &mut img,
                        x - t as i64,
                        y - t as i64,
                        ww * cell + 2 * t,
                        hh * cell + 2 * t,
                        t,
                        HIGHLIGHT,
                    );
                }
                PanelKind::Scattered => {
                    if let Some((i, j)) = win.winner {
                        let (x, y) = cell_rect(p, i, j);
                        stroke_rect(
                            &mut img,
                            x - t as i64,
                            y - t as i64,
                            cell + 2 * t,
                            cell + 2 * t,
                            t,
                            HIGHLIGHT,
                        );
                    }
                }
                PanelKind::Output | PanelKind::Upstream | PanelKind::AverageOutput => {
                    let (x, y) = cell_rect(p, oi, oj);
                    stroke_rect(
                        &mut img,
                        x - t as i64,
                        y - t as i64,
                        cell + 2 * t,
                        cell + 2 * t,
                        t,
                        HIGHLIGHT,
                    );
                }
            }
        }
    }

    // Footer: what happened, in words, and the legends.
    let n_in = r.input.len().max(1);
    let recv = r.scattered.iter().filter(|v| **v != 0.0).count();
    let mut lines = vec![format!(
        "{kind} pooling: {recv} of {n_in} input cells receive gradient ({:.0}%)",
        100.0 * recv as f64 / n_in as f64
    )];
    if let Some(a) = avg {
        let arecv = a.scattered.iter().filter(|v| **v != 0.0).count();
        lines.push(format!(
            "average pooling: {arecv} of {n_in} ({:.0}%)",
            100.0 * arecv as f64 / n_in as f64
        ));
    }
    if let Some((oi, oj)) = current
        && let Some(win) = r.window_at(oi, oj)
    {
        let mut l = format!(
            "window ({oi},{oj}): rows {}–{}, cols {}–{}, y = {}, ∂L/∂y = {}",
            win.rows_clipped.0,
            win.rows_clipped.1 - 1,
            win.cols_clipped.0,
            win.cols_clipped.1 - 1,
            fmt_value(win.value, 3),
            fmt_value(win.upstream, 3)
        );
        if let Some((i, j)) = win.winner {
            l.push_str(&format!(" → all of it to the winner ({i},{j})"));
        }
        lines.push(l);
    }
    if overlapping {
        lines.push("windows overlap: outlined only for the selected window".into());
    }
    lines.push("rings: winning cells (the switches the backward uses)".into());
    if ties > 0 && r.kind != PoolKind::Avg {
        lines.push(format!(
            "{ties} windows hold equal values (ties): the first cell wins, as in PyTorch (no ring)"
        ));
    }
    let footer = text_image(&lines.join("\n"), TS, INK, BACKGROUND, 0);
    let legends = super::draw::hstack(
        &[
            legend(&vscale, 220, 14, TS, "values x, y"),
            legend(&gscale, 220, 14, TS, "gradients"),
        ],
        16 * TS,
        BACKGROUND,
    );
    let pad = 4 * TS;
    let body = super::draw::vstack(&[img, footer, legends], 4 * TS, BACKGROUND);
    let image = padded(&body, pad, BACKGROUND);
    for p in &mut panels {
        p.x += pad;
        p.y += pad;
    }
    RoutingImage { image, panels }
}

/// The lecture example's three settings side by side would be too wide; this stacks the
/// diagrams of several routings (e.g. [`crate::inspect::routing::LectureCase::ALL`]) with
/// a title each.
pub fn routing_sheet(routings: &[(String, PoolRouting)], opts: &RoutingOptions) -> Rgba {
    let parts: Vec<Rgba> = routings
        .iter()
        .map(|(title, r)| {
            let d = routing_image(r, opts).image;
            let t = text_image(title, 3, INK, BACKGROUND, 4 * TS);
            super::draw::vstack(&[t, d], 0, BACKGROUND)
        })
        .collect();
    super::draw::hstack(&parts, 12 * TS, BACKGROUND)
}

/// Just a map with numbers: handy for the lecture's cells when shown alone.
pub fn numbers_tile(map: &Array2<f32>, cell: usize) -> Rgba {
    let scale = ValueScale::fit(map.iter(), Palette::Sequential(Colormap::Viridis));
    heat_tile_numbers(map.view(), &scale, cell.max(8), TS)
}
