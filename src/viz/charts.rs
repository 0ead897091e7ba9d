//! Small charts drawn as pictures: horizontal bars per node (gradient norms by depth,
//! equivariance error by node, receptive-field size by depth), optionally on a log scale,
//! histograms of weights, activations or gradients, and line charts (training curves).

use super::curves::{plot_points, tick_label};
use super::draw::{BACKGROUND, INK, MUTED, disc, fill_rect, line, padded, swatches, vstack};
use super::scale::fmt_value;
use super::text::{draw_text, text_height, text_image, text_width};
use super::{Colormap, Rgba};
use crate::inspect::probe::Histogram;

const TS: usize = 2;
/// Okabe–Ito blue: bars.
const BAR: [u8; 4] = [0, 114, 178, 255];

/// Settings of a bar chart.
#[derive(Clone, Debug, PartialEq)]
pub struct BarOptions {
    pub title: String,
    /// Log10 axis (positive values only; zeros and negatives are drawn as empty bars).
    pub log: bool,
    /// Length of the longest bar in pixels.
    pub length: usize,
    /// Colour each bar by its value through viridis instead of one colour.
    pub colored: bool,
}

impl Default for BarOptions {
    fn default() -> Self {
        BarOptions {
            title: String::new(),
            log: false,
            length: 420,
            colored: false,
        }
    }
}

/// One horizontal bar per `(label, value)`, labels on the left, values at the bar ends.
/// Non-finite values are written out and get no bar.
pub fn bar_chart(items: &[(String, f64)], opts: &BarOptions) -> Rgba {
    let bar_h = 9 * TS;
    let row_h = bar_h + 3 * TS;
    let label_w = items
        .iter()
        .map(|(l, _)| text_width(l, TS))
        .max()
        .unwrap_or(0)
        + 4 * TS;
    let finite: Vec<f64> = items
        .iter()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite() && (!opts.log || *v > 0.0))
        .collect();
    let (lo, hi) = if opts.log {
        let lmin = finite
            .iter()
            .map(|v| v.log10())
            .fold(f64::INFINITY, f64::min);
        let lmax = finite
            .iter()
            .map(|v| v.log10())
            .fold(f64::NEG_INFINITY, f64::max);
        if lmin.is_finite() {
            (lmin.floor() - 1.0, lmax.ceil().max(lmin.floor()))
        } else {
            (0.0, 1.0)
        }
    } else {
        (
            0.0,
            finite
                .iter()
                .fold(0.0f64, |a, v| a.max(v.abs()))
                .max(f64::MIN_POSITIVE),
        )
    };
    let span = (hi - lo).max(1e-300);
    let value_w = 12 * 6 * TS;
    let w = label_w + opts.length + value_w;
    let axis_h = text_height("0", TS) + 4 * TS;
    let h = items.len().max(1) * row_h + axis_h;
    let mut img = Rgba::new(w, h, BACKGROUND);
    for (k, (label, v)) in items.iter().enumerate() {
        let y = (k * row_h) as i64;
        draw_text(
            &mut img,
            0,
            y + (bar_h as i64 - 7 * TS as i64) / 2,
            label,
            TS,
            INK,
        );
        let frac = if !v.is_finite() {
            None
        } else if opts.log {
            (*v > 0.0).then(|| ((v.log10() - lo) / span).clamp(0.0, 1.0))
        } else {
            Some((v.abs() / span).clamp(0.0, 1.0))
        };
        let len = frac.map_or(0, |f| (f * opts.length as f64).round() as usize);
        let color = if opts.colored {
            let [r, g, b] = Colormap::Viridis.rgb(frac.unwrap_or(0.0) as f32);
            [r, g, b, 255]
        } else {
            BAR
        };
        fill_rect(&mut img, label_w as i64, y, len.max(1), bar_h, color);
        let text = fmt_value(*v as f32, 3);
        draw_text(
            &mut img,
            (label_w + len) as i64 + 2 * TS as i64,
            y + (bar_h as i64 - 7 * TS as i64) / 2,
            &text,
            TS,
            MUTED,
        );
    }
    let ay = (items.len() * row_h) as i64;
    fill_rect(&mut img, label_w as i64, ay, opts.length, 1, MUTED);
    let ticks: Vec<(f64, String)> = if opts.log {
        let (a, b) = (lo as i64, hi as i64);
        let decades = (b - a).max(1) as f64;
        let px = opts.length as f64 / decades;
        let label = text_width("1e-10", TS) as f64 + 4.0 * TS as f64;
        let step = (label / px.max(1.0)).ceil().max(1.0) as usize;
        (a..=b)
            .rev()
            .step_by(step)
            .map(|e| (((e as f64) - lo) / span, format!("1e{e}")))
            .collect()
    } else {
        vec![(0.0, "0".to_string()), (1.0, fmt_value(hi as f32, 3))]
    };
    for (f, t) in ticks {
        let x = label_w as i64 + (f * opts.length as f64).round() as i64;
        fill_rect(&mut img, x, ay, 1, 2 * TS, MUTED);
        let tw = text_width(&t, TS) as i64;
        draw_text(
            &mut img,
            (x - tw / 2).max(0),
            ay + 3 * TS as i64,
            &t,
            TS,
            MUTED,
        );
    }
    let mut parts = Vec::new();
    if !opts.title.is_empty() {
        parts.push(text_image(&opts.title, TS, INK, BACKGROUND, 0));
    }
    parts.push(img);
    padded(&vstack(&parts, 4 * TS, BACKGROUND), 4 * TS, BACKGROUND)
}

/// One curve of a line chart: `[x, y]` points in order of x.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<[f64; 2]>,
    pub color: [u8; 3],
}

/// Settings of a line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct LineOptions {
    pub title: String,
    pub x_label: String,
    /// Log10 value axis (ticks labelled with the values; zeros clamp to
    /// [`super::curves::LOG_FLOOR`]).
    pub log: bool,
    /// Size of the plot area in pixels.
    pub width: usize,
    pub height: usize,
}

impl Default for LineOptions {
    fn default() -> Self {
        LineOptions {
            title: String::new(),
            x_label: String::new(),
            log: false,
            width: 420,
            height: 220,
        }
    }
}

/// Every series as a line with a dot per point, over one x and one value axis (both
/// spanning all finite points), the value range written at the axis ends, the series'
/// names below. Non-finite points are left out.
pub fn line_chart(series: &[Series], opts: &LineOptions) -> Rgba {
    let curves: Vec<Vec<[f64; 2]>> = series
        .iter()
        .map(|s| plot_points(s.points.iter().copied(), opts.log))
        .collect();
    let span = |k: usize| {
        let (lo, hi) = curves
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[k]), hi.max(p[k]))
            });
        match (lo.is_finite(), hi > lo) {
            (true, true) => (lo, hi),
            (true, false) => (lo - 0.5, lo + 0.5),
            _ => (0.0, 1.0),
        }
    };
    let ((x0, x1), (y0, y1)) = (span(0), span(1));
    let (ylo, yhi) = (tick_label(y0, opts.log), tick_label(y1, opts.log));
    let label_w = text_width(&ylo, TS).max(text_width(&yhi, TS)) + 4 * TS;
    let (pw, ph) = (opts.width.max(40), opts.height.max(40));
    let th = text_height("0", TS) as i64;
    let mut img = Rgba::new(label_w + pw + 8 * TS, ph + 3 * TS + th as usize, BACKGROUND);
    let left = label_w as i64;
    // The curves keep a margin from the frame so end points and dots stay whole.
    let m = 4 * TS as i64;
    let (iw, ih) = (
        pw as f64 - 1.0 - 2.0 * m as f64,
        ph as f64 - 1.0 - 2.0 * m as f64,
    );
    let at = |p: [f64; 2]| {
        (
            left + m + ((p[0] - x0) / (x1 - x0) * iw).round() as i64,
            m + ((y1 - p[1]) / (y1 - y0) * ih).round() as i64,
        )
    };
    fill_rect(&mut img, left - 1, 0, 1, ph + 1, MUTED);
    fill_rect(&mut img, left - 1, ph as i64, pw + 1, 1, MUTED);
    for (v, t) in [(y1, &yhi), (y0, &ylo)] {
        let (_, y) = at([x0, v]);
        let x = left - (text_width(t, TS) + 3 * TS) as i64;
        fill_rect(&mut img, left - 1 - TS as i64, y, TS, 1, MUTED);
        // The top label would stick out above the picture: kept inside, beside its tick.
        draw_text(&mut img, x, (y - th / 2).max(0), t, TS, MUTED);
    }
    let below = (ph + 2 * TS) as i64;
    for (v, t) in [(x0, fmt_value(x0 as f32, 3)), (x1, fmt_value(x1 as f32, 3))] {
        let (x, _) = at([v, y0]);
        let tw = text_width(&t, TS) as i64;
        draw_text(&mut img, x - tw / 2, below, &t, TS, MUTED);
    }
    let nw = text_width(&opts.x_label, TS) as i64;
    draw_text(
        &mut img,
        left + (pw as i64 - nw) / 2,
        below,
        &opts.x_label,
        TS,
        MUTED,
    );
    for (s, points) in series.iter().zip(&curves) {
        let [r, g, b] = s.color;
        let c = [r, g, b, 255];
        for pair in points.windows(2) {
            line(&mut img, at(pair[0]), at(pair[1]), 2, c);
        }
        for &p in points {
            let (x, y) = at(p);
            disc(&mut img, x as f64, y as f64, 3.0, c);
        }
    }
    let mut parts = Vec::new();
    if !opts.title.is_empty() {
        parts.push(text_image(&opts.title, TS, INK, BACKGROUND, 0));
    }
    parts.push(img);
    let names: Vec<([u8; 3], &str)> = series.iter().map(|s| (s.color, s.name.as_str())).collect();
    parts.push(swatches(&names, TS));
    padded(&vstack(&parts, 4 * TS, BACKGROUND), 4 * TS, BACKGROUND)
}

/// A histogram as vertical bars with its range under the axis and `title` above.
pub fn histogram_chart(h: &Histogram, title: &str, width: usize, height: usize) -> Rgba {
    let bins = h.counts.len().max(1);
    let bw = (width / bins).max(2);
    let plot_w = bw * bins;
    let plot_h = height.max(40);
    let max = h.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let axis_h = text_height("0", TS) + 4 * TS;
    let mut img = Rgba::new(plot_w, plot_h + axis_h, BACKGROUND);
    for (k, &c) in h.counts.iter().enumerate() {
        let len = ((c as f64 / max) * plot_h as f64).round() as usize;
        let len = if c > 0 { len.max(1) } else { 0 };
        fill_rect(
            &mut img,
            (k * bw) as i64,
            (plot_h - len) as i64,
            bw.saturating_sub(1).max(1),
            len,
            BAR,
        );
    }
    fill_rect(&mut img, 0, plot_h as i64, plot_w, 1, MUTED);
    let lo = fmt_value(h.lo, 3);
    let hi = fmt_value(h.hi, 3);
    draw_text(&mut img, 0, plot_h as i64 + 3 * TS as i64, &lo, TS, MUTED);
    let hw = text_width(&hi, TS) as i64;
    draw_text(
        &mut img,
        plot_w as i64 - hw,
        plot_h as i64 + 3 * TS as i64,
        &hi,
        TS,
        MUTED,
    );
    if h.lo < 0.0 && h.hi > 0.0 {
        let x = ((-h.lo / (h.hi - h.lo)) * plot_w as f32).round() as i64;
        fill_rect(&mut img, x, 0, 1, plot_h, [0, 0, 0, 90]);
        let zw = text_width("0", TS) as i64;
        if x - zw > text_width(&lo, TS) as i64 + 4 && x + zw < plot_w as i64 - hw - 4 {
            draw_text(
                &mut img,
                x - zw / 2,
                plot_h as i64 + 3 * TS as i64,
                "0",
                TS,
                MUTED,
            );
        }
    }
    let title = format!("{title}\n{} values, tallest bin {}", h.total(), max as u64);
    vstack(
        &[text_image(&title, TS, INK, BACKGROUND, 0), img],
        3 * TS,
        BACKGROUND,
    )
}
