//! The convolution arithmetic sandbox as one picture (no model: drawn from its settings,
//! [`ArithOptions`]): the input grid with its numbers and the padded border shaded, the
//! current window outlined, the kernel grid, the output grid filling up step by step, the
//! products of the current step, and the output-size formula with the live values. See
//! [`crate::inspect::conv_arithmetic`] for the maths.

use crate::engine::model_spec::PaddingMode;
use crate::inspect::conv_arithmetic::{ArithSpec, ConvArithmetic, conv_arithmetic};
use crate::viz::draw::{
    BACKGROUND, HIGHLIGHT, INK, MUTED, fill_rect, hstack, padded, stroke_rect, vstack,
};
use crate::viz::text::{draw_text_centered, text_image, text_width};
use crate::viz::{Rgba, VizError};
use ndarray::Array2;

/// The sandbox's geometry, as `convlab render --view conv-arithmetic` takes it (the
/// defaults are its flags' defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArithOptions {
    /// The input side (default 5, transposed 3).
    pub size: Option<usize>,
    pub kernel: usize,
    /// Padding on each side (default 1; transposed: cropping, default 0).
    pub padding: Option<usize>,
    pub padding_mode: PaddingMode,
    pub stride: usize,
    pub dilation: usize,
    pub transposed: bool,
    /// The step shown, from 1 (default: half-way).
    pub step: Option<usize>,
}

impl Default for ArithOptions {
    fn default() -> Self {
        ArithOptions {
            size: None,
            kernel: 3,
            padding: None,
            padding_mode: PaddingMode::Zeros,
            stride: 2,
            dilation: 1,
            transposed: false,
            step: None,
        }
    }
}

/// The sandbox of `opts` with its example numbers, and the step to show (0-based).
pub fn compute(opts: &ArithOptions) -> Result<(ConvArithmetic, usize), VizError> {
    // Transposed convs default to no cropping; plain ones to padding 1.
    let padding = opts.padding.unwrap_or(if opts.transposed { 0 } else { 1 });
    let size = opts.size.unwrap_or(if opts.transposed { 3 } else { 5 });
    if size == 0 || opts.kernel == 0 {
        return Err(VizError::BadOption(
            "--size and --kernel must be at least 1".into(),
        ));
    }
    let mut spec = ArithSpec::example(
        size.min(64),
        opts.kernel.min(64),
        padding,
        opts.stride,
        opts.dilation,
    );
    spec.padding_mode = opts.padding_mode;
    spec.transposed = opts.transposed;
    let sb = conv_arithmetic(&spec)?;
    // Default step: the middle of the run, so the picture shows a half-filled output.
    let step = match opts.step {
        Some(0) => return Err(VizError::BadOption("--step counts from 1".into())),
        Some(k) => k - 1,
        None => sb.steps() / 2,
    };
    Ok((sb, step))
}

/// The view: the sandbox of `opts` at its step.
pub fn render(opts: &ArithOptions) -> Result<Rgba, VizError> {
    let (sb, step) = compute(opts)?;
    Ok(conv_arithmetic_image(&sb, step).image)
}

/// Shade of the padded border (convolution) or the cropped border (transposed).
pub const BORDER_SHADE: [u8; 4] = [214, 214, 214, 255];
/// Cells of the input / output proper.
pub const CELL: [u8; 4] = [255, 255, 255, 255];
/// Output cells not computed yet.
pub const EMPTY: [u8; 4] = [246, 246, 246, 255];
/// The taps of the current window (orange, translucent) and the current output cell.
pub const TAP: [u8; 4] = [230, 159, 0, 110];
/// Kernel cells.
pub const KERNEL: [u8; 4] = [86, 180, 233, 90];
/// Grid lines.
pub const GRID: [u8; 4] = [150, 150, 150, 255];

const SCALE: usize = 2;

/// A number as short as possible: whole numbers without decimals, else two significant-ish.
pub fn fmt_number(v: f32) -> String {
    if !v.is_finite() {
        return "?".into();
    }
    if (v - v.round()).abs() < 1e-4 {
        format!("{}", v.round() as i64)
    } else if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Pixel geometry of one drawn grid, for tests and hit-testing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    /// Top-left corner of cell (0, 0) inside the panel picture.
    pub x: usize,
    pub y: usize,
    pub cell: usize,
}

struct Grid<'a> {
    values: &'a Array2<Option<f32>>,
    /// Fill per cell.
    fill: &'a dyn Fn(usize, usize) -> [u8; 4],
    /// Extra tint per cell (drawn over the fill).
    tint: &'a dyn Fn(usize, usize) -> Option<[u8; 4]>,
    /// Outline `(row, col, rows, cols)` of the current window or cell.
    outline: Option<(usize, usize, usize, usize)>,
    /// Inner rectangle (the unpadded input) outlined in ink: `(row, col, rows, cols)`.
    frame: Option<(usize, usize, usize, usize)>,
    cell: usize,
}

fn draw_grid(g: &Grid<'_>, title: &str) -> (Rgba, GridLayout) {
    let (rows, cols) = g.values.dim();
    let c = g.cell;
    let title_img = text_image(title, SCALE, INK, BACKGROUND, 0);
    let top = title_img.height + 8;
    let w = (cols * c + 1).max(title_img.width) + 4;
    let h = top + rows * c + 4;
    let mut img = Rgba::new(w, h, BACKGROUND);
    crate::viz::draw::blit(&mut img, &title_img, 0, 0);
    let (x0, y0) = (2usize, top);
    for i in 0..rows {
        for j in 0..cols {
            let (x, y) = ((x0 + j * c) as i64, (y0 + i * c) as i64);
            fill_rect(&mut img, x, y, c, c, (g.fill)(i, j));
            if let Some(t) = (g.tint)(i, j) {
                fill_rect(&mut img, x, y, c, c, t);
            }
            stroke_rect(&mut img, x, y, c + 1, c + 1, 1, GRID);
            if let Some(v) = g.values[[i, j]] {
                draw_text_centered(
                    &mut img,
                    x + c as i64 / 2 + 1,
                    y + c as i64 / 2 + 1,
                    &fmt_number(v),
                    SCALE,
                    INK,
                );
            }
        }
    }
    if let Some((r, q, nr, nc)) = g.frame {
        stroke_rect(
            &mut img,
            (x0 + q * c) as i64,
            (y0 + r * c) as i64,
            nc * c + 1,
            nr * c + 1,
            2,
            INK,
        );
    }
    if let Some((r, q, nr, nc)) = g.outline {
        stroke_rect(
            &mut img,
            (x0 + q * c) as i64 - 1,
            (y0 + r * c) as i64 - 1,
            nc * c + 3,
            nr * c + 3,
            3,
            HIGHLIGHT,
        );
    }
    (
        img,
        GridLayout {
            x: x0,
            y: y0,
            cell: c,
        },
    )
}

/// The sandbox picture and where its grids are.
#[derive(Clone, Debug)]
pub struct ArithImage {
    pub image: Rgba,
    /// Input, kernel and output grids, in picture coordinates.
    pub input: GridLayout,
    pub kernel: GridLayout,
    pub output: GridLayout,
}

fn mode_name(m: PaddingMode) -> &'static str {
    match m {
        PaddingMode::Zeros => "zeros",
        PaddingMode::Reflect => "reflect",
        PaddingMode::Replicate => "replicate",
    }
}

/// Wraps `terms` joined by `sep` into lines of at most `width` characters.
fn wrap(terms: &[String], sep: &str, width: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for (i, t) in terms.iter().enumerate() {
        let piece = if i == 0 {
            t.clone()
        } else {
            format!("{sep}{t}")
        };
        let cur = lines.last_mut().map_or(0, |l| l.chars().count());
        if cur > 0 && cur + piece.chars().count() > width {
            lines.push(format!("  {}", piece.trim_start()));
        } else if let Some(l) = lines.last_mut() {
            l.push_str(&piece);
        }
    }
    lines.join("\n")
}

/// Renders step `step` (clamped to the last step) of the sandbox.
pub fn conv_arithmetic_image(sb: &ConvArithmetic, step: usize) -> ArithImage {
    let spec = &sb.spec;
    let steps = sb.steps();
    let k = step.min(steps.saturating_sub(1));
    let st = sb.step(k);
    let (h, w) = spec.input.dim();
    let (kh, kw) = spec.kernel.dim();
    let p = spec.padding;
    let (sh, sw) = sb.kernel_span();
    // Cell size: room for the widest number.
    let widest = sb
        .padded
        .iter()
        .chain(sb.output.iter())
        .chain(spec.kernel.iter())
        .chain(sb.full.iter())
        .map(|v| text_width(&fmt_number(*v), SCALE))
        .max()
        .unwrap_or(0);
    let cell = (widest + 12).max(34);
    let taps: Vec<(usize, usize)> = st
        .as_ref()
        .map(|s| s.taps.iter().map(|t| t.at).collect())
        .unwrap_or_default();
    let kernel_vals = spec.kernel.mapv(Some);
    let (kernel_img, kernel_layout) = draw_grid(
        &Grid {
            values: &kernel_vals,
            fill: &|_, _| CELL,
            tint: &|_, _| Some(KERNEL),
            outline: None,
            frame: None,
            cell,
        },
        &format!("kernel {kh}×{kw}"),
    );
    let partial = sb.partial_output(k);
    let (in_img, in_layout, out_img, out_layout);
    if spec.transposed {
        let vals = spec.input.mapv(Some);
        let cur = st.as_ref().map(|s| s.cell);
        (in_img, in_layout) = draw_grid(
            &Grid {
                values: &vals,
                fill: &|_, _| CELL,
                tint: &|i, j| (Some((i, j)) == cur).then_some(TAP),
                outline: cur.map(|(i, j)| (i, j, 1, 1)),
                frame: None,
                cell,
            },
            &format!("INPUT {h}×{w}"),
        );
        // The uncropped output: the cropped border shaded, stamps accumulated so far.
        let (fh, fw) = sb.full.dim();
        let mut full = Array2::<Option<f32>>::from_elem((fh, fw), None);
        if let Some(last) = steps.checked_sub(1) {
            for i in 0..=k.min(last) {
                if let Some(s) = sb.step(i) {
                    for t in &s.taps {
                        let c = &mut full[t.at];
                        *c = Some(c.unwrap_or(0.0) + t.product);
                    }
                }
            }
        }
        let (oh, ow) = sb.output.dim();
        let origin = st.as_ref().map(|s| s.origin);
        (out_img, out_layout) = draw_grid(
            &Grid {
                values: &full,
                fill: &|i, j| {
                    if i < p || j < p || i >= p + oh || j >= p + ow {
                        BORDER_SHADE
                    } else if full[[i, j]].is_some() {
                        CELL
                    } else {
                        EMPTY
                    }
                },
                tint: &|i, j| taps.contains(&(i, j)).then_some(TAP),
                outline: origin.map(|(r, c)| (r, c, sh, sw)),
                frame: (p > 0).then_some((p, p, oh, ow)),
                cell,
            },
            &if p > 0 {
                format!("OUTPUT {oh}×{ow} (grey: {p} cropped each side)")
            } else {
                format!("OUTPUT {oh}×{ow}")
            },
        );
    } else {
        let vals = sb.padded.mapv(Some);
        let origin = st.as_ref().map(|s| s.origin);
        let cur = st.as_ref().map(|s| s.cell);
        (in_img, in_layout) = draw_grid(
            &Grid {
                values: &vals,
                fill: &|i, j| {
                    if i < p || j < p || i >= p + h || j >= p + w {
                        BORDER_SHADE
                    } else {
                        CELL
                    }
                },
                tint: &|i, j| taps.contains(&(i, j)).then_some(TAP),
                outline: origin.map(|(r, c)| (r, c, sh, sw)),
                frame: (p > 0).then_some((p, p, h, w)),
                cell,
            },
            &if p > 0 {
                format!(
                    "INPUT {h}×{w}, grey: padding {p} ({})",
                    mode_name(spec.padding_mode)
                )
            } else {
                format!("INPUT {h}×{w}")
            },
        );
        let (oh, ow) = sb.output.dim();
        (out_img, out_layout) = draw_grid(
            &Grid {
                values: &partial,
                fill: &|i, j| {
                    if partial[[i, j]].is_some() {
                        CELL
                    } else {
                        EMPTY
                    }
                },
                tint: &|i, j| (Some((i, j)) == cur).then_some(TAP),
                outline: cur.map(|(i, j)| (i, j, 1, 1)),
                frame: None,
                cell,
            },
            &format!("OUTPUT {oh}×{ow}"),
        );
    }
    let arrow = |s: &str| {
        let t = text_image(s, 3, MUTED, BACKGROUND, 0);
        padded(&t, 0, BACKGROUND)
    };
    // Vertically centre the operator signs on the grids.
    let sign = |s: &str, at: usize| {
        let t = arrow(s);
        let mut img = Rgba::new(t.width + 16, at + t.height, BACKGROUND);
        crate::viz::draw::blit(&mut img, &t, 8, at as i64);
        img
    };
    let mid = in_layout.y + (in_img.height - in_layout.y) / 2;
    let gap_sign = sign("×", mid.saturating_sub(12));
    let eq_sign = sign("→", mid.saturating_sub(12));
    let panels = [
        in_img.clone(),
        gap_sign,
        kernel_img.clone(),
        eq_sign,
        out_img.clone(),
    ];
    let row = hstack(&panels, 12, BACKGROUND);
    let kx = in_img.width + 12 + panels[1].width + 12;
    let ox = kx + kernel_img.width + 12 + panels[3].width + 12;

    let title = format!(
        "{} — kernel {kh}×{kw}, padding {p}{}, stride {}, dilation {} — step {} of {steps}",
        if spec.transposed {
            "TRANSPOSED CONVOLUTION"
        } else {
            "CONVOLUTION"
        },
        if spec.transposed || p == 0 {
            String::new()
        } else {
            format!(" ({})", mode_name(spec.padding_mode))
        },
        spec.stride,
        spec.dilation,
        k + 1
    );
    let products = match &st {
        Some(s) if spec.transposed => {
            let terms: Vec<String> = s
                .taps
                .iter()
                .map(|t| format!("{}·{}", fmt_number(t.value), fmt_number(t.weight)))
                .collect();
            format!(
                "step {}: input cell ({}, {}) = {} stamps value × kernel onto the output at row {}, col {} ({} apart per stride):\n{}",
                k + 1,
                s.cell.0,
                s.cell.1,
                fmt_number(s.value),
                s.origin.0 as i64 - p as i64,
                s.origin.1 as i64 - p as i64,
                spec.stride,
                wrap(&terms, ", ", 72)
            )
        }
        Some(s) => {
            let terms: Vec<String> = s
                .taps
                .iter()
                .map(|t| format!("{}·{}", fmt_number(t.value), fmt_number(t.weight)))
                .collect();
            format!(
                "step {}: output ({}, {}) = sum of input × kernel over the window at row {}, col {}:\n{} = {}",
                k + 1,
                s.cell.0,
                s.cell.1,
                s.origin.0 as i64 - p as i64,
                s.origin.1 as i64 - p as i64,
                wrap(&terms, " + ", 72),
                fmt_number(s.value)
            )
        }
        None => String::new(),
    };
    let mut formula = String::from("output size");
    if spec.dilation > 1 {
        formula.push_str(&format!(
            " (the dilated kernel spans d·(k − 1) + 1 = {sh} cells)"
        ));
    }
    formula.push_str(":\n");
    formula.push_str(&sb.formula.join("\n"));
    let parts = vec![
        text_image(&title, SCALE, INK, BACKGROUND, 0),
        row,
        text_image(&products, SCALE, INK, BACKGROUND, 0),
        text_image(&formula, SCALE, INK, BACKGROUND, 0),
    ];
    let title_h = parts[0].height + 18;
    let image = padded(&vstack(&parts, 18, BACKGROUND), 12, BACKGROUND);
    let shift = |l: GridLayout, x: usize| GridLayout {
        x: l.x + x + 12,
        y: l.y + title_h + 12,
        cell: l.cell,
    };
    ArithImage {
        image,
        input: shift(in_layout, 0),
        kernel: shift(kernel_layout, kx),
        output: shift(out_layout, ox),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::conv_arithmetic::{ArithSpec, conv_arithmetic};
    use crate::viz::draw::pixel;

    #[test]
    fn border_window_and_output_cells() {
        let sb = conv_arithmetic(&ArithSpec::default()).unwrap();
        let img = conv_arithmetic_image(&sb, 0);
        let l = img.input;
        let at = |g: GridLayout, i: usize, j: usize| {
            pixel(
                &img.image,
                g.x + j * g.cell + 4,
                g.y + i * g.cell + g.cell - 5,
            )
            .unwrap()
        };
        // Padded corner (0, 0) is a tap of step 0: shade with the orange tint; (6, 6) is
        // plain padding; (3, 3) is plain input.
        assert_eq!(at(l, 6, 6), BORDER_SHADE);
        assert_eq!(at(l, 3, 3), CELL);
        assert_ne!(at(l, 0, 0), BORDER_SHADE);
        // Output: cell (0, 0) computed and current (tinted), (2, 2) not yet.
        assert_eq!(at(img.output, 2, 2), EMPTY);
        assert_ne!(at(img.output, 0, 0), EMPTY);
        // At the last step every output cell is computed; the last is current.
        let last = conv_arithmetic_image(&sb, 100);
        let at2 = |g: GridLayout, i: usize, j: usize| {
            pixel(
                &last.image,
                g.x + j * g.cell + 4,
                g.y + i * g.cell + g.cell - 5,
            )
            .unwrap()
        };
        assert_eq!(at2(last.output, 0, 0), CELL);
        assert_ne!(at2(last.output, 2, 2), CELL);
        // The kernel is tinted blue.
        let kc = at(img.kernel, 1, 1);
        assert!(kc[2] > kc[0], "{kc:?}");
    }

    #[test]
    fn transposed_renders() {
        let mut spec = ArithSpec::example(3, 3, 1, 2, 1);
        spec.transposed = true;
        let sb = conv_arithmetic(&spec).unwrap();
        let img = conv_arithmetic_image(&sb, 3);
        assert!(img.image.width > 200 && img.image.height > 200);
        // Uncropped output is 7×7; its corner is cropped border.
        let g = img.output;
        let p = pixel(
            &img.image,
            g.x + 6 * g.cell + 4,
            g.y + 6 * g.cell + g.cell - 5,
        )
        .unwrap();
        assert_eq!(p, BORDER_SHADE);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_number(3.0), "3");
        assert_eq!(fmt_number(-2.0), "-2");
        assert_eq!(fmt_number(0.3), "0.3");
        assert_eq!(fmt_number(12.6), "13");
        assert_eq!(fmt_number(f32::NAN), "?");
    }
}
