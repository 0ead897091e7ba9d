//! Pictures of handcrafted pipelines (see [`crate::classical`]): the image after each stage
//! for one input with that image's feature values, an evolution run's chart with its best
//! pipeline, and the table comparing handcrafted, evolved and learned features.

use image::GrayImage;

use super::Rgba;
use super::charts::{LineOptions, Series, line_chart};
use super::draw::{BACKGROUND, INK, MUTED, captioned, enlarge, hstack, padded, vstack};
use super::text::text_image;
use crate::classical::{Generation, PipelineSpec};

/// Text scale of captions and tables.
const TS: usize = 2;

/// An 8-bit grey image as a picture, each pixel `zoom`×`zoom`.
pub fn grey_picture(img: &GrayImage, zoom: usize) -> Rgba {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut pixels = Vec::with_capacity(w * h * 4);
    for p in img.pixels() {
        pixels.extend([p[0], p[0], p[0], 255]);
    }
    enlarge(
        &Rgba {
            width: w,
            height: h,
            pixels,
        },
        zoom.max(1),
    )
}

/// A zoom that shows a `side`-pixel image at about 128 pixels.
pub fn auto_zoom(side: usize) -> usize {
    (128 / side.max(1)).clamp(1, 8)
}

/// The chain for one input: each stage's image captioned with its operator, then the
/// feature values measured on the last one.
pub fn stages_picture(spec: &PipelineSpec, input: &GrayImage) -> Rgba {
    let zoom = auto_zoom(input.width().max(input.height()) as usize);
    let images = spec.stage_images(input);
    let mut columns = Vec::with_capacity(images.len());
    for (i, img) in images.iter().enumerate() {
        let caption = if i == 0 {
            "input".to_string()
        } else {
            format!("{i}. {}", spec.stages[i - 1].label())
        };
        columns.push(captioned(
            &grey_picture(img, zoom),
            &caption,
            TS,
            BACKGROUND,
        ));
    }
    let chain = hstack(&columns, 16, BACKGROUND);
    let values = spec.features_of(input);
    let lines: Vec<String> = spec
        .feature_names()
        .iter()
        .zip(&values)
        .map(|(n, v)| format!("{n:<18} {v:>9.4}"))
        .collect();
    // Two columns of feature values keep the picture about as wide as the chain.
    let half = lines.len().div_ceil(2);
    let table = hstack(
        &[
            text_image(&lines[..half].join("\n"), 1, INK, BACKGROUND, 4),
            text_image(&lines[half..].join("\n"), 1, INK, BACKGROUND, 4),
        ],
        24,
        BACKGROUND,
    );
    let title = text_image(
        &format!(
            "features measured on stage {}: {}",
            images.len() - 1,
            spec.describe()
        ),
        1,
        MUTED,
        BACKGROUND,
        2,
    );
    padded(
        &vstack(&[chain, title, table], 8, BACKGROUND),
        8,
        BACKGROUND,
    )
}

/// Best and mean fitness and the best individual's held-out accuracy per generation.
pub fn evolution_chart(history: &[Generation], width: usize, height: usize) -> Rgba {
    let series = |name: &str, color: [u8; 3], of: fn(&Generation) -> f64| Series {
        name: name.into(),
        points: history.iter().map(|g| [g.index as f64, of(g)]).collect(),
        color,
    };
    line_chart(
        &[
            series("best fitness", [213, 94, 0], |g| g.best_fitness),
            series("mean fitness", [0, 114, 178], |g| g.mean_fitness),
            series("best on held-out set", [0, 158, 115], |g| {
                g.best_test_accuracy
            }),
        ],
        &LineOptions {
            title: "evolution: accuracy per generation".into(),
            x_label: "generation".into(),
            log: false,
            width,
            height,
        },
    )
}

/// The chart, the best pipeline's stages for `input`, and its description.
pub fn evolution_picture(history: &[Generation], input: &GrayImage) -> Rgba {
    let chart = evolution_chart(history, 520, 240);
    let Some(last) = history.last() else {
        return padded(&chart, 8, BACKGROUND);
    };
    let summary = text_image(
        &format!(
            "after {} generations ({:.1} s): best fitness {:.3}, held-out accuracy {:.3}\nbest: {}",
            last.index,
            last.seconds,
            last.best_fitness,
            last.best_test_accuracy,
            last.best.describe()
        ),
        1,
        INK,
        BACKGROUND,
        4,
    );
    let stages = stages_picture(&last.best, input);
    padded(
        &vstack(&[chart, summary, stages], 8, BACKGROUND),
        8,
        BACKGROUND,
    )
}

/// One row of the three-way comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonRow {
    pub method: String,
    /// How the features came about, e.g. "5 stages, 23 features" or "12 epochs".
    pub effort: String,
    pub accuracy: f64,
    pub seconds: f64,
}

/// The comparison as a table (for a slide).
pub fn comparison_table(rows: &[ComparisonRow]) -> Rgba {
    let mut lines = vec![format!(
        "{:<28} {:<30} {:>9} {:>9}",
        "features", "made by", "accuracy", "time"
    )];
    for r in rows {
        lines.push(format!(
            "{:<28} {:<30} {:>9.3} {:>8.1}s",
            r.method, r.effort, r.accuracy, r.seconds
        ));
    }
    padded(
        &text_image(&lines.join("\n"), TS, INK, BACKGROUND, 4),
        8,
        BACKGROUND,
    )
}

/// The table, then the evolved pipeline's stages beside the network's first learned
/// filters: evolved and learned features of the same data, side by side.
pub fn comparison_picture(
    rows: &[ComparisonRow],
    evolved: Option<Rgba>,
    filters: Option<Rgba>,
) -> Rgba {
    let mut below = Vec::new();
    if let Some(e) = evolved {
        below.push(captioned(&e, "evolved pipeline", TS, BACKGROUND));
    }
    if let Some(f) = filters {
        below.push(captioned(
            &f,
            "learned filters (first conv)",
            TS,
            BACKGROUND,
        ));
    }
    let mut parts = vec![comparison_table(rows)];
    if !below.is_empty() {
        parts.push(hstack(&below, 24, BACKGROUND));
    }
    padded(&vstack(&parts, 12, BACKGROUND), 8, BACKGROUND)
}
