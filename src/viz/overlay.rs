//! Heatmaps over the input image: the receptive field of a unit (theoretical rectangle
//! and effective gradient heatmap), input-gradient saliency, Grad-CAM, and the
//! translation-covariance comparison of one node.

use ndarray::{Array2, s};

use super::charts::{BarOptions, bar_chart};
use super::draw::{
    BACKGROUND, HIGHLIGHT, INK, captioned, dashed_rect, enlarge, hstack, padded, stroke_rect,
    vstack,
};
use super::maps::heat_tile;
use super::scale::{Palette, ValueScale, fmt_value, legend};
use super::text::text_image;
use super::{Colormap, Rgba, VizError, sample_rgba};
use crate::engine::Tensor;
use crate::inspect::covariance::{Comparison, Covariance};
use crate::inspect::receptive::{ReceptiveFieldView, RfRect};
use crate::inspect::saliency::{GradCam, Saliency};

const TS: usize = 2;

/// Screen pixels per input pixel so the input is about `target` pixels on its long side.
pub fn auto_zoom(h: usize, w: usize, target: usize) -> usize {
    (target / h.max(w).max(1)).clamp(1, 32)
}

/// Sample 0 of the input as a picture (RGB for 3 channels, gray otherwise), enlarged.
pub fn input_image(x: &Tensor<f32>, zoom: usize) -> Rgba {
    enlarge(&sample_rgba(x, 0, Colormap::Gray), zoom)
}

/// `heat` (any size; resized by nearest neighbour to the picture) over `base`. Each
/// pixel's opacity is `opacity × √t` where `t` is the value's position in `scale` (its
/// distance from white for the diverging palette), so the image shows through where the
/// heat is low and moderate values stay visible.
pub fn heatmap_overlay(base: &Rgba, heat: &Array2<f32>, scale: &ValueScale, opacity: f32) -> Rgba {
    let mut out = base.clone();
    let (hh, hw) = heat.dim();
    if hh == 0 || hw == 0 || base.width == 0 || base.height == 0 {
        return out;
    }
    let opacity = if opacity.is_finite() {
        opacity.clamp(0.0, 1.0)
    } else {
        0.5
    };
    for y in 0..base.height {
        let i = (y * hh / base.height).min(hh - 1);
        for x in 0..base.width {
            let j = (x * hw / base.width).min(hw - 1);
            let v = heat[[i, j]];
            let t = match scale.palette {
                Palette::Diverging => (2.0 * scale.t(v) - 1.0).abs(),
                Palette::Sequential(_) => scale.t(v),
            };
            let [r, g, b, _] = scale.color(v);
            let a = (opacity * t.sqrt() * 255.0).round() as u8;
            super::draw::blend(&mut out, x as i64, y as i64, [r, g, b, a]);
        }
    }
    out
}

/// The input darkened (to `keep` of its brightness) so a heatmap over it stays visible
/// on bright strokes.
pub fn dimmed(img: &Rgba, keep: f32) -> Rgba {
    let mut out = img.clone();
    let k = keep.clamp(0.0, 1.0);
    for p in out.pixels.chunks_mut(4) {
        for c in &mut p[..3] {
            *c = (*c as f32 * k).round() as u8;
        }
    }
    out
}

/// A viridis scale from 0 to the largest value (for non-negative maps).
fn from_zero(map: &Array2<f32>) -> ValueScale {
    let hi = map
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |a, &v| a.max(v));
    ValueScale::new(Palette::Sequential(Colormap::Viridis), 0.0, hi)
}

/// Outlines `rect` (input pixels) on `img`, an `[h, w]` image enlarged `zoom` times, with
/// lines `t` pixels thick: solid when the field lies inside the image, dashed when it reaches
/// past the border. Only the part inside the image is drawn, because an outline in the
/// padding would not show (a deep unit's field can be larger than the whole image). Returns
/// whether the field lies inside.
pub fn field_outline(
    img: &mut Rgba,
    rect: RfRect,
    [h, w]: [usize; 2],
    zoom: usize,
    t: usize,
) -> bool {
    let (top, left) = (rect.top.max(0.0), rect.left.max(0.0));
    let bottom = (rect.top + rect.height).min(h as f64);
    let right = (rect.left + rect.width).min(w as f64);
    let inside = top == rect.top
        && left == rect.left
        && bottom == rect.top + rect.height
        && right == rect.left + rect.width;
    let z = zoom as f64;
    let (x0, y0) = ((left * z).round() as i64, (top * z).round() as i64);
    let (ww, hh) = (
        ((right - left).max(0.0) * z).round() as usize,
        ((bottom - top).max(0.0) * z).round() as usize,
    );
    if inside {
        stroke_rect(img, x0, y0, ww, hh, t, HIGHLIGHT);
    } else {
        dashed_rect(img, x0, y0, ww, hh, t, 3 * t, HIGHLIGHT);
    }
    inside
}

/// The receptive-field view: the input with the unit's effective receptive field as a
/// heatmap and its theoretical receptive field as an orange rectangle (dashed where it
/// reaches into the padding), next to the effective field alone with its legend.
pub fn receptive_field_image(x: &Tensor<f32>, rf: &ReceptiveFieldView, opacity: f32) -> Rgba {
    let (_, _, h, w) = x.dim();
    let zoom = auto_zoom(h, w, 320);
    let base = input_image(x, zoom);
    let scale = from_zero(&rf.effective);
    let mut over = heatmap_overlay(&dimmed(&base, 0.55), &rf.effective, &scale, opacity);
    let t = (zoom / 3).clamp(2, 5);
    let rect = rf.theoretical;
    let mut alone = heat_tile(rf.effective.view(), &scale, zoom);
    let inside = field_outline(&mut over, rect, [h, w], zoom, t);
    field_outline(&mut alone, rect, [h, w], zoom, t);
    let (c, i, j) = rf.unit;
    let centre = (
        (rect.left + rect.width / 2.0) * zoom as f64,
        (rect.top + rect.height / 2.0) * zoom as f64,
    );
    super::draw::disc(
        &mut over,
        centre.0,
        centre.1,
        (zoom as f64 * 0.35).max(2.5),
        HIGHLIGHT,
    );
    let caption = format!(
        "{} unit (channel {c}, row {i}, col {j}) = {}\ntheoretical field {}×{} px (orange{}), effective = |∂unit/∂x|",
        rf.node,
        fmt_value(rf.value, 3),
        fmt_value(rect.height as f32, 3),
        fmt_value(rect.width as f32, 3),
        if inside {
            ""
        } else {
            ", dashed: reaches into padding"
        }
    );
    let extent = match rf.effective_bounds {
        Some(((r0, r1), (c0, c1))) => format!("non-zero gradient on {}×{} px", r1 - r0, c1 - c0),
        None => "no gradient reaches the input (the unit is off)".into(),
    };
    let row = hstack(
        &[
            captioned(&over, "input + effective field", TS, BACKGROUND),
            captioned(&alone, &extent, TS, BACKGROUND),
        ],
        8 * TS,
        BACKGROUND,
    );
    let body = vstack(
        &[
            text_image(&caption, TS, INK, BACKGROUND, 0),
            row,
            legend(&scale, 260, 14, TS, "|∂unit/∂x|"),
        ],
        4 * TS,
        BACKGROUND,
    );
    padded(&body, 4 * TS, BACKGROUND)
}

/// Input, saliency overlay and saliency alone, with the class and its score.
pub fn saliency_image(x: &Tensor<f32>, sal: &Saliency, class_name: &str, opacity: f32) -> Rgba {
    let (_, _, h, w) = x.dim();
    let zoom = auto_zoom(h, w, 256);
    let base = input_image(x, zoom);
    let scale = from_zero(&sal.map);
    let over = heatmap_overlay(&dimmed(&base, 0.55), &sal.map, &scale, opacity);
    let alone = heat_tile(sal.map.view(), &scale, zoom);
    let title = format!(
        "saliency for class {} ({class_name}), score {}: max over channels of |∂score/∂x|",
        sal.class,
        fmt_value(sal.score, 3)
    );
    three_up(&title, base, over, alone, &scale, "|∂score/∂x|")
}

/// Input, Grad-CAM overlay and the CAM at the node's own resolution.
pub fn grad_cam_image(x: &Tensor<f32>, cam: &GradCam, class_name: &str, opacity: f32) -> Rgba {
    let (_, _, h, w) = x.dim();
    let zoom = auto_zoom(h, w, 256);
    let base = input_image(x, zoom);
    let scale = from_zero(&cam.upsampled);
    let over = heatmap_overlay(&dimmed(&base, 0.55), &cam.upsampled, &scale, opacity);
    let (ch, cw) = cam.cam.dim();
    let alone = heat_tile(
        cam.cam.view(),
        &scale,
        (base.width / cw.max(1))
            .max(1)
            .min(base.height / ch.max(1))
            .max(1),
    );
    let title = format!(
        "Grad-CAM at {} for class {} ({class_name}), score {}: ReLU(Σ_k α_k A_k), α_k = mean ∂score/∂A_k",
        cam.node,
        cam.class,
        fmt_value(cam.score, 3)
    );
    three_up(
        &title,
        base,
        over,
        alone,
        &scale,
        &format!("CAM ({ch}×{cw} at {})", cam.node),
    )
}

fn three_up(
    title: &str,
    base: Rgba,
    over: Rgba,
    alone: Rgba,
    scale: &ValueScale,
    label: &str,
) -> Rgba {
    let row = hstack(
        &[
            captioned(&base, "input", TS, BACKGROUND),
            captioned(&over, "overlay", TS, BACKGROUND),
            captioned(&alone, "map", TS, BACKGROUND),
        ],
        8 * TS,
        BACKGROUND,
    );
    let body = vstack(
        &[
            text_image(title, TS, INK, BACKGROUND, 0),
            row,
            legend(scale, 260, 14, TS, label),
        ],
        4 * TS,
        BACKGROUND,
    );
    padded(&body, 4 * TS, BACKGROUND)
}

/// The covariance view of one node and channel: shifted input, `f(Tx)`, `T′f(x)` and
/// their difference, the compared region outlined; below, the error of every node.
pub fn covariance_image(
    x: &Tensor<f32>,
    cov: &Covariance,
    node: &str,
    channel: usize,
) -> Result<Rgba, VizError> {
    let n = cov.nodes.iter().find(|n| n.node == node).ok_or_else(|| {
        VizError::BadOption(format!("the covariance result has no node '{node}'"))
    })?;
    let c = n.of_shifted.shape()[1];
    if channel >= c {
        return Err(VizError::BadOption(format!(
            "channel {channel} does not exist ('{node}' has {c})"
        )));
    }
    let (_, _, h, w) = x.dim();
    let izoom = auto_zoom(h, w, 200);
    let a = n.of_shifted.slice(s![0, channel, .., ..]).to_owned();
    let b = n.shifted_of.slice(s![0, channel, .., ..]).to_owned();
    let d = &a - &b;
    let (oh, ow) = a.dim();
    let zoom = auto_zoom(oh, ow, 200);
    let (lo, hi) = a
        .iter()
        .chain(b.iter())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, u), &v| {
            (l.min(v), u.max(v))
        });
    let vscale = ValueScale::new(Palette::auto(lo, hi), lo, hi);
    let dm = d.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let dm = if dm > 0.0 {
        dm
    } else {
        vscale.hi.abs().max(vscale.lo.abs()).max(1e-6)
    };
    let dscale = ValueScale::new(Palette::Diverging, -dm, dm);
    let outline = |img: &mut Rgba| {
        let (r, cc) = &n.region;
        if !r.is_empty() && !cc.is_empty() && n.comparison == Comparison::Covariance {
            stroke_rect(
                img,
                (cc.start * zoom) as i64,
                (r.start * zoom) as i64,
                cc.len() * zoom,
                r.len() * zoom,
                2,
                HIGHLIGHT,
            );
        }
    };
    let mut fa = heat_tile(a.view(), &vscale, zoom);
    let mut fb = heat_tile(b.view(), &vscale, zoom);
    let mut fd = heat_tile(d.view(), &dscale, zoom);
    outline(&mut fa);
    outline(&mut fb);
    outline(&mut fd);
    let shifted = input_image(&cov.shifted_input, izoom);
    let orig = input_image(x, izoom);
    let (dy, dx) = cov.shift;
    let error = n
        .error
        .map_or("nothing to compare".into(), |e| fmt_value(e as f32, 3));
    let title = format!(
        "translation covariance at {node}, channel {channel}\ninput shifted by ({dy}, {dx}) px = ({}, {}) cells of {node}{}\nrelative error ‖f(Tx) − T′f(x)‖ / max(‖f(Tx)‖, ‖T′f(x)‖) in the orange region: {error}",
        fmt_value(n.cell_shift.0 as f32, 3),
        fmt_value(n.cell_shift.1 as f32, 3),
        if n.whole_cells {
            ""
        } else {
            ": not whole cells, so T′ rounds and exact covariance is impossible"
        },
    );
    let tp = if n.comparison == Comparison::Invariance {
        "f(x)"
    } else {
        "T′f(x)"
    };
    let row = hstack(
        &[
            captioned(&orig, "x", TS, BACKGROUND),
            captioned(&shifted, "Tx", TS, BACKGROUND),
            captioned(&fa, "f(Tx)", TS, BACKGROUND),
            captioned(&fb, tp, TS, BACKGROUND),
            captioned(&fd, "difference", TS, BACKGROUND),
        ],
        6 * TS,
        BACKGROUND,
    );
    let legends = hstack(
        &[
            legend(&vscale, 200, 14, TS, "maps"),
            legend(&dscale, 200, 14, TS, "difference"),
        ],
        16 * TS,
        BACKGROUND,
    );
    let chart = covariance_chart(cov);
    let body = vstack(
        &[
            text_image(&title, TS, INK, BACKGROUND, 0),
            row,
            legends,
            chart,
        ],
        4 * TS,
        BACKGROUND,
    );
    Ok(padded(&body, 4 * TS, BACKGROUND))
}

/// Equivariance error of every node (log scale): where stride and pooling break
/// covariance. Nodes whose shift is not whole cells are marked with `*`.
pub fn covariance_chart(cov: &Covariance) -> Rgba {
    let items: Vec<(String, f64)> = cov
        .nodes
        .iter()
        .filter_map(|n| {
            n.error.map(|e| {
                let mark = if n.comparison == Comparison::Invariance {
                    " (inv.)"
                } else if n.whole_cells {
                    ""
                } else {
                    " *"
                };
                (format!("{}{mark}", n.node), e)
            })
        })
        .collect();
    let opts = BarOptions {
        title: format!(
            "relative error per node, input shifted by ({}, {}) px (log scale; 0 = exact)\n* the shift is not a whole number of cells there\n(inv.): 1×1 output, compared without shifting (invariance)",
            cov.shift.0, cov.shift.1
        ),
        log: true,
        length: 360,
        colored: true,
    };
    bar_chart(&items, &opts)
}

/// `img` with a one-line title (for quick composites).
pub fn titled(img: &Rgba, title: &str) -> Rgba {
    let t = text_image(title, TS, INK, BACKGROUND, 0);
    vstack(&[t, img.clone()], 2 * TS, BACKGROUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outlined(rect: RfRect) -> (Rgba, bool) {
        // A 6×6 image enlarged twice.
        let mut img = Rgba::new(12, 12, [0, 0, 0, 255]);
        let inside = field_outline(&mut img, rect, [6, 6], 2, 1);
        (img, inside)
    }

    fn lit(img: &Rgba, x: usize, y: usize) -> bool {
        img.pixels[4 * (y * img.width + x)..][..4] == HIGHLIGHT
    }

    #[test]
    fn a_field_inside_the_image_is_outlined_solid_where_it_is() {
        let rect = RfRect {
            top: 1.0,
            left: 2.0,
            height: 3.0,
            width: 3.0,
        };
        let (img, inside) = outlined(rect);
        assert!(inside);
        // Pixels 2..5 by 1..4, enlarged: x 4..10, y 2..8; every border pixel is drawn.
        assert!((4..10).all(|x| lit(&img, x, 2) && lit(&img, x, 7)));
        assert!((2..8).all(|y| lit(&img, 4, y) && lit(&img, 9, y)));
        assert!(!lit(&img, 6, 5) && !lit(&img, 3, 2) && !lit(&img, 10, 2));
    }

    #[test]
    fn a_field_larger_than_the_image_is_dashed_along_the_image_border() {
        // A deep unit: the field spans far past every side, as in the RF view of a late
        // layer. Before, the outline was drawn wholly in the padding and did not show.
        let rect = RfRect {
            top: -10.0,
            left: -8.0,
            height: 30.0,
            width: 26.0,
        };
        let (img, inside) = outlined(rect);
        assert!(!inside);
        for edge in [0, 11] {
            let top_bottom = (0..12).filter(|&x| lit(&img, x, edge)).count();
            let sides = (0..12).filter(|&y| lit(&img, edge, y)).count();
            // Dashed: about half of each side.
            assert!((4..=8).contains(&top_bottom), "{top_bottom}");
            assert!((4..=8).contains(&sides), "{sides}");
        }
        assert!(!lit(&img, 6, 6));
    }
}
