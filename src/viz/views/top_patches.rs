//! The top-patches view: what one channel responds to, at any depth. Computed over the
//! data set ([`compute`]: the images that excite the channel most, and an input
//! synthesised by gradient ascent to excite it), then drawn ([`picture`]): for each image
//! the patch its strongest unit sees (enlarged) beside the whole image with that patch
//! outlined, below the synthesised input.

use crate::data::{Dataset, Targets};
use crate::engine::Graph;
use crate::inspect::feature_vis::{Ascent, AscentOptions, maximise_channel};
use crate::inspect::receptive::RfRect;
use crate::inspect::top_patches::{PatchHit, TopPatches, default_node, top_patches};
use crate::viz::draw::{BACKGROUND, INK, captioned, enlarge, hstack, vstack};
use crate::viz::overlay::{auto_zoom, field_outline, input_image};
use crate::viz::scale::fmt_value;
use crate::viz::text::text_image;
use crate::viz::{Colormap, Rgba, VizError, sample_rgba, tile};

const TS: usize = 2;
/// Where a receptive field reaches past the image border (into the padding).
const OUTSIDE: [u8; 4] = [70, 70, 78, 255];

/// The patch of sample `hit.sample` under `hit.window`, in input pixels; the part of the
/// window outside the image is drawn in a flat grey.
pub fn patch(data: &Dataset, hit: &PatchHit) -> Rgba {
    let full = sample_rgba(&data.inputs, hit.sample, Colormap::Gray);
    let w = hit.window;
    let (top, left) = (w.top.floor() as i64, w.left.floor() as i64);
    let (ph, pw) = (
        ((w.top + w.height).ceil() as i64 - top).max(1) as usize,
        ((w.left + w.width).ceil() as i64 - left).max(1) as usize,
    );
    let mut out = Rgba::new(pw, ph, OUTSIDE);
    for y in 0..ph {
        for x in 0..pw {
            let (sy, sx) = (top + y as i64, left + x as i64);
            if sy >= 0 && sx >= 0 && (sy as usize) < full.height && (sx as usize) < full.width {
                let i = 4 * (sy as usize * full.width + sx as usize);
                let mut c = [0; 4];
                c.copy_from_slice(&full.pixels[i..i + 4]);
                out.put(x, y, c);
            }
        }
    }
    out
}

fn outlined(data: &Dataset, sample: usize, rect: RfRect, side: usize) -> Rgba {
    let (_, _, h, w) = data.inputs.dim();
    let zoom = auto_zoom(h, w, side);
    let mut img = enlarge(&sample_rgba(&data.inputs, sample, Colormap::Gray), zoom);
    field_outline(&mut img, rect, [h, w], zoom, (zoom / 4).clamp(1, 3));
    img
}

fn class_of(data: &Dataset, sample: usize) -> Option<&str> {
    match &data.targets {
        Targets::Labels(l) => l
            .get(sample)
            .and_then(|&c| data.class_names.get(c))
            .map(String::as_str),
        _ => None,
    }
}

/// The hits of `tp` as a grid, three to a row: patch (about `side` pixels) and outlined
/// image per hit, captioned with the image's index, class and the unit's value; a title
/// line on top.
pub fn top_patches_image(tp: &TopPatches, data: &Dataset, side: usize) -> Rgba {
    let cells: Vec<Rgba> = tp
        .hits
        .iter()
        .enumerate()
        .map(|(rank, hit)| {
            let p = patch(data, hit);
            let zoom = (side / p.width.max(p.height).max(1)).clamp(1, 32);
            let pair = hstack(
                &[
                    enlarge(&p, zoom),
                    outlined(data, hit.sample, hit.window, side),
                ],
                2 * TS,
                BACKGROUND,
            );
            let class = class_of(data, hit.sample)
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            let caption = format!(
                "{}. #{}{class}: {}",
                rank + 1,
                hit.sample,
                fmt_value(hit.value, 3)
            );
            captioned(&pair, &caption, TS, BACKGROUND)
        })
        .collect();
    let rf = tp
        .hits
        .first()
        .map(|h| format!(" · receptive field {}x{}", h.window.height, h.window.width))
        .unwrap_or_default();
    let title = format!(
        "{} channel {}: top {} of {} images (mean best {}){rf}",
        tp.node,
        tp.channel,
        tp.hits.len(),
        tp.searched,
        fmt_value(tp.mean_best, 3)
    );
    let grid = tile(&cells, 3, 8 * TS, BACKGROUND);
    vstack(
        &[
            captioned(&Rgba::new(1, 1, BACKGROUND), &title, TS, BACKGROUND),
            grid,
        ],
        2 * TS,
        BACKGROUND,
    )
}

/// `patches` (from [`top_patches_image`]) below the synthesised input of `ascent` (about
/// `side` pixels), which is captioned with how far the unit's activation rose.
pub fn with_synthesis(patches: &Rgba, ascent: &Ascent, side: usize) -> Rgba {
    let (_, _, h, w) = ascent.image.dim();
    let picture = input_image(&ascent.image, auto_zoom(h, w, side));
    let (first, last) = (
        ascent.objective.first().copied().unwrap_or(0.0),
        ascent.objective.last().copied().unwrap_or(0.0),
    );
    let caption = format!(
        "Synthesised for the channel: {} steps of gradient ascent\n\
         from grey on unit {:?}, which rose from {} to {}.\n\
         Below: the images of the data set that excite it most.",
        ascent.objective.len().saturating_sub(1),
        ascent.unit,
        fmt_value(first, 3),
        fmt_value(last, 3)
    );
    let top = hstack(
        &[picture, text_image(&caption, TS, INK, BACKGROUND, 0)],
        6 * TS,
        BACKGROUND,
    );
    vstack(&[top, patches.clone()], 6 * TS, BACKGROUND)
}

/// The node the view looks at: `requested`, else the model's last conv node (None when
/// the model has none).
pub fn node_or_default(graph: &Graph<f32>, requested: Option<&str>) -> Option<String> {
    requested
        .map(str::to_string)
        .or_else(|| default_node(&graph.spec().nodes))
}

/// What the view found for one channel: the images that excite it most, and the input
/// synthesised for it.
#[derive(Clone, Debug)]
pub struct ChannelResponse {
    pub top: TopPatches,
    pub ascent: Ascent,
}

/// The nine images of `data` that excite `channel` of `node` most, and the input gradient
/// ascent synthesises for that channel.
pub fn compute(
    graph: &Graph<f32>,
    data: &Dataset,
    node: &str,
    channel: usize,
) -> Result<ChannelResponse, VizError> {
    let top = top_patches(graph, data, node, channel, 9)?;
    let ascent = maximise_channel(graph, node, channel, AscentOptions::default())?;
    Ok(ChannelResponse { top, ascent })
}

/// The whole view, as the window and `convlab render` show it: the top images (patches
/// about `side` pixels) below the synthesised input (a third larger).
pub fn picture(response: &ChannelResponse, data: &Dataset, side: usize) -> Rgba {
    let patches = top_patches_image(&response.top, data, side);
    with_synthesis(&patches, &response.ascent, side * 4 / 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::draw::HIGHLIGHT;
    use ndarray::Array4;

    fn one_image() -> Dataset {
        // 4×4, pixel (r, c) = (4r + c)/15.
        let inputs = Array4::from_shape_fn((1, 1, 4, 4), |(_, _, r, c)| (4 * r + c) as f32 / 15.0);
        Dataset {
            name: "ramp".into(),
            inputs,
            targets: Targets::Labels(vec![0]),
            class_names: vec!["ramp".into()],
        }
    }

    fn hit(top: f64, left: f64, size: f64) -> PatchHit {
        PatchHit {
            sample: 0,
            unit: (0, 0),
            value: 1.0,
            window: RfRect {
                top,
                left,
                height: size,
                width: size,
            },
        }
    }

    #[test]
    fn the_patch_is_the_window_and_grey_outside_the_image() {
        let data = one_image();
        let full = sample_rgba(&data.inputs, 0, Colormap::Gray);
        let inside = patch(&data, &hit(1.0, 1.0, 2.0));
        assert_eq!((inside.width, inside.height), (2, 2));
        // Patch (0, 0) is image pixel (1, 1).
        assert_eq!(inside.pixels[..4], full.pixels[4 * 5..4 * 5 + 4]);
        let corner = patch(&data, &hit(-1.0, -1.0, 3.0));
        assert_eq!((corner.width, corner.height), (3, 3));
        assert_eq!(corner.pixels[..4], OUTSIDE);
        // Patch (1, 1) is image pixel (0, 0).
        assert_eq!(corner.pixels[4 * 4..4 * 4 + 4], full.pixels[..4]);
    }

    #[test]
    fn the_picture_has_a_cell_per_hit() {
        let data = one_image();
        let tp = TopPatches {
            node: "conv".into(),
            channel: 0,
            searched: 1,
            hits: vec![hit(0.0, 0.0, 2.0)],
            mean_best: 1.0,
        };
        let img = top_patches_image(&tp, &data, 64);
        assert!(
            img.width >= 2 * 64 && img.height >= 64,
            "{}x{}",
            img.width,
            img.height
        );
        // The outline colour is drawn.
        assert!(img.pixels.chunks(4).any(|p| p == HIGHLIGHT));
        // Also for a field larger than the image on every side (a dense node).
        let huge = TopPatches {
            hits: vec![hit(-10.0, -10.0, 30.0)],
            ..tp
        };
        let img = top_patches_image(&huge, &data, 64);
        assert!(img.pixels.chunks(4).any(|p| p == HIGHLIGHT));
    }
}
