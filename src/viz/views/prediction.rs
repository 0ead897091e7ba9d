//! The prediction view: what the model says about the current input, read by its task
//! ([`crate::inspect::prediction`]): the top classes as probability bars with their names,
//! a segmenter's classes over the image, an autoencoder's reconstruction and error map,
//! or a regressor's values. The window's Prediction tab and `convlab render --view
//! prediction` draw this picture; `convlab predict` prints the same numbers.

use ndarray::Axis;

use crate::engine::Tensor;
use crate::inspect::prediction::{Prediction, ranked};
use crate::viz::Rgba;
use crate::viz::draw::{
    ACCENT, BACKGROUND, INK, MUTED, captioned, fill_rect, hstack, padded, stroke_rect, swatches,
    vstack,
};
use crate::viz::maps::heat_tile;
use crate::viz::overlay::{auto_zoom, input_image};
use crate::viz::scale::{Palette, ValueScale, fmt_value, legend};
use crate::viz::text::{draw_text, text_height, text_image, text_width};
use crate::viz::views::segmentation::{CLASS_COLORS, class_overlay};

/// Text scale of the picture.
const TS: usize = 2;
/// Classes shown as bars, most likely first.
pub const TOP: usize = 5;
/// Side of the input picture in pixels (the image is enlarged by a whole factor to about
/// this).
pub const INPUT_SIDE: usize = 224;

/// The picture, and where the input image lies in it: the window maps a click or drag on
/// the input back to input pixels (to place the occluding square).
#[derive(Clone, Debug)]
pub struct PredictionPicture {
    pub image: Rgba,
    /// Top-left corner of the input image in the picture, in picture pixels.
    pub input_at: (usize, usize),
    /// Picture pixels per input pixel.
    pub zoom: usize,
}

fn name(names: &[String], k: usize) -> String {
    names
        .get(k)
        .cloned()
        .unwrap_or_else(|| format!("class {k}"))
}

/// The top classes as horizontal bars: name, a bar as long as the probability, the
/// percentage.
fn bars(probabilities: &[f32], names: &[String]) -> Rgba {
    let order = ranked(probabilities);
    let shown: Vec<usize> = order.into_iter().take(TOP).collect();
    let labels: Vec<String> = shown.iter().map(|&k| name(names, k)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, TS))
        .max()
        .unwrap_or(0)
        .min(220);
    let bar_w = 260;
    let row_h = 14 * TS;
    let width = label_w + 8 + bar_w + 8 + text_width("100.0 %", TS);
    let mut img = Rgba::new(width, row_h * shown.len().max(1), BACKGROUND);
    for (row, (&k, label)) in shown.iter().zip(&labels).enumerate() {
        let y = (row * row_h) as i64;
        let p = probabilities[k].clamp(0.0, 1.0);
        let ink = if row == 0 { INK } else { MUTED };
        draw_text(&mut img, 0, y + 2, label, TS, ink);
        let x0 = (label_w + 8) as i64;
        let fill = (p * bar_w as f32).round() as usize;
        fill_rect(&mut img, x0, y + 2, bar_w, row_h - 6, [236, 236, 236, 255]);
        fill_rect(
            &mut img,
            x0,
            y + 2,
            fill,
            row_h - 6,
            if row == 0 {
                ACCENT
            } else {
                [170, 200, 220, 255]
            },
        );
        stroke_rect(&mut img, x0, y + 2, bar_w, row_h - 6, 1, MUTED);
        draw_text(
            &mut img,
            x0 + bar_w as i64 + 8,
            y + 2,
            &format!("{:.1} %", 100.0 * p),
            TS,
            ink,
        );
    }
    img
}

/// The picture for input `x` (`[1, c, h, w]`) and the model's prediction; `names` are the
/// class names (indices when empty), `what` says where the input came from.
pub fn picture(x: &Tensor<f32>, p: &Prediction, names: &[String], what: &str) -> PredictionPicture {
    let (_, _, h, w) = x.dim();
    let zoom = auto_zoom(h, w, INPUT_SIDE);
    let base = input_image(x, zoom);
    let (title, body) = match p {
        Prediction::Classes { probabilities } => {
            let top = ranked(probabilities)[0];
            (
                format!(
                    "PREDICTION: {} ({:.1} %)",
                    name(names, top),
                    100.0 * probabilities[top]
                ),
                hstack(
                    &[
                        captioned(&base, what, TS, BACKGROUND),
                        bars(probabilities, names),
                    ],
                    12 * TS,
                    BACKGROUND,
                ),
            )
        }
        Prediction::Segmentation { classes, shares } => {
            let as_u8 = classes.mapv(|c| c.min(255) as u8);
            let over = class_overlay(&base, &as_u8, 0.55);
            let legend_items: Vec<([u8; 3], String)> = shares
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, s)| {
                    (
                        CLASS_COLORS[k % CLASS_COLORS.len()],
                        format!("{} {:.1} %", name(names, k), 100.0 * s),
                    )
                })
                .collect();
            let items: Vec<([u8; 3], &str)> =
                legend_items.iter().map(|(c, t)| (*c, t.as_str())).collect();
            let main = shares
                .iter()
                .enumerate()
                .skip(1)
                .fold((1, -1.0f32), |b, (k, &s)| if s > b.1 { (k, s) } else { b });
            (
                format!(
                    "PREDICTION: {:.1} % of the pixels are {}",
                    100.0 * main.1.max(0.0),
                    name(names, main.0)
                ),
                vstack(
                    &[
                        hstack(
                            &[
                                captioned(&base, what, TS, BACKGROUND),
                                captioned(&over, "classes per pixel", TS, BACKGROUND),
                            ],
                            12 * TS,
                            BACKGROUND,
                        ),
                        swatches(&items, TS),
                    ],
                    4 * TS,
                    BACKGROUND,
                ),
            )
        }
        Prediction::Reconstruction {
            output,
            error,
            score,
        } => {
            let recon = input_image(&output.clone().insert_axis(Axis(0)), zoom);
            let scale = ValueScale::fit(error.iter(), Palette::default());
            let map = heat_tile(error.view(), &scale, zoom);
            (
                format!(
                    "PREDICTION: anomaly score {} (mean squared reconstruction error)",
                    fmt_value(*score, 4)
                ),
                vstack(
                    &[
                        hstack(
                            &[
                                captioned(&base, what, TS, BACKGROUND),
                                captioned(&recon, "reconstruction", TS, BACKGROUND),
                                captioned(&map, "squared error", TS, BACKGROUND),
                            ],
                            12 * TS,
                            BACKGROUND,
                        ),
                        legend(&scale, 260, 14, TS, "squared error"),
                    ],
                    4 * TS,
                    BACKGROUND,
                ),
            )
        }
        Prediction::Values(v) => {
            let text: Vec<String> = v.iter().take(16).map(|x| fmt_value(*x, 4)).collect();
            (
                format!("PREDICTION: {}", text.join(", ")),
                captioned(&base, what, TS, BACKGROUND),
            )
        }
    };
    let title = text_image(&title, TS + 1, INK, BACKGROUND, 0);
    // The input is the body's first picture, under its caption.
    let caption = if what.is_empty() {
        0
    } else {
        text_height(what, TS) + 3 * TS
    };
    let input_at = (4 * TS, 4 * TS + title.height + 4 * TS + caption);
    let whole = vstack(&[title, body], 4 * TS, BACKGROUND);
    PredictionPicture {
        image: padded(&whole, 4 * TS, BACKGROUND),
        input_at,
        zoom,
    }
}
