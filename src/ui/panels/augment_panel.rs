//! Augmentation toggles (flip, shift, noise) in the data panel, with a live preview: a few
//! training images above the same images as the next batches would see them.

use std::sync::Arc;

use eframe::egui::{self, Ui};

use crate::data::Dataset;
use crate::data::augment::{
    Augment, DEFAULT_NOISE, DEFAULT_SHIFT, MAX_NOISE, MAX_SHIFT, batch_rng,
};
use crate::spec::TrainingSpec;
use crate::viz::{Colormap, Rgba, sample_rgba, tile};

/// Images in the preview.
pub const PREVIEW_SAMPLES: usize = 8;

/// The preview's texture and what it was drawn from.
#[derive(Default)]
pub struct AugmentPreview {
    /// Bumped by "New draw".
    pub draw: usize,
    key: Option<(Augment, u64, u64, usize)>,
    texture: Option<egui::TextureHandle>,
}

/// Originals (top row) and augmented copies (bottom row) of the first training images;
/// `None` when the samples are not pictures.
pub fn preview_rgba(data: &Dataset, augment: &Augment, seed: u64, draw: usize) -> Option<Rgba> {
    let [_, h, w] = data.sample_shape();
    if h * w <= 1 || data.is_empty() {
        return None;
    }
    let n = data.len().min(PREVIEW_SAMPLES);
    let idx: Vec<usize> = (0..n).collect();
    let original = data.inputs.select(ndarray::Axis(0), &idx);
    let mut augmented = original.clone();
    augment.apply(&mut augmented, None, &mut batch_rng(seed, draw, usize::MAX));
    let images: Vec<Rgba> = (0..n)
        .map(|i| sample_rgba(&original, i, Colormap::Gray))
        .chain((0..n).map(|i| sample_rgba(&augmented, i, Colormap::Gray)))
        .collect();
    Some(tile(&images, n, 2, [40, 40, 40, 255]))
}

/// What the augmentation toggles edit and preview.
pub struct Augmenting<'a> {
    /// The project's training settings: the toggles edit `augment`; `seed` seeds the preview.
    pub training: &'a mut TrainingSpec,
    /// The training images, once the data is loaded and split.
    pub train: Option<&'a Arc<Dataset>>,
    /// The data's version: a new set redraws the preview.
    pub data_version: u64,
    pub preview: &'a mut AugmentPreview,
}

pub fn augment_ui(augmenting: Augmenting<'_>, ui: &mut Ui) {
    let Augmenting {
        training,
        train,
        data_version,
        preview,
    } = augmenting;
    let mut aug = training.augment.unwrap_or_default();
    let before = aug;
    ui.horizontal_wrapped(|ui| {
        ui.label("augment")
            .on_hover_text("Random changes to each training batch (never to validation data): the model sees more variety and overfits less");
        ui.checkbox(&mut aug.flip, "flip")
            .on_hover_text("Mirror each image left–right with probability ½ (wrong for digits and text, fine for most photos)");
        let mut shift_on = aug.shift > 0;
        let shift_box = ui.checkbox(&mut shift_on, "shift");
        let shift_id = shift_box.id;
        if shift_box
            .on_hover_text("Move each image by a few pixels up/down and left/right; uncovered pixels become 0")
            .changed()
        {
            aug.shift = if shift_on { DEFAULT_SHIFT } else { 0 };
        }
        if shift_on {
            ui.add(
                egui::DragValue::new(&mut aug.shift)
                    .range(1..=MAX_SHIFT)
                    .suffix(" px"),
            )
            .labelled_by(shift_id)
            .on_hover_text("Largest shift in pixels");
        }
        let mut noise_on = aug.noise > 0.0;
        let noise_box = ui.checkbox(&mut noise_on, "noise");
        let noise_id = noise_box.id;
        if noise_box
            .on_hover_text("Add Gaussian noise to every pixel")
            .changed()
        {
            aug.noise = if noise_on { DEFAULT_NOISE } else { 0.0 };
        }
        if noise_on {
            ui.add(
                egui::DragValue::new(&mut aug.noise)
                    .range(0.01..=MAX_NOISE)
                    .speed(0.005)
                    .prefix("σ "),
            )
            .labelled_by(noise_id)
            .on_hover_text("Standard deviation of the noise");
        }
    });
    if aug != before {
        training.augment = aug.is_active().then_some(aug);
    }
    if !aug.is_active() {
        return;
    }
    let Some(train) = train else {
        return;
    };
    let seed = training.seed;
    let key = (aug, data_version, seed, preview.draw);
    if preview.key != Some(key) {
        preview.key = Some(key);
        preview.texture = preview_rgba(train, &aug, seed, preview.draw).map(|img| {
            let color =
                egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels);
            ui.ctx()
                .load_texture("augment_preview", color, egui::TextureOptions::NEAREST)
        });
    }
    if let Some(tex) = &preview.texture {
        let size = tex.size_vec2();
        let scale = (ui.available_width() / size.x).min(2.0);
        ui.image((tex.id(), size * scale))
            .on_hover_text("Top: training images as stored. Bottom: the same images augmented, as a batch sees them");
        if ui
            .small_button("New draw")
            .on_hover_text("Show other random flips, shifts and noise")
            .clicked()
        {
            preview.draw += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;

    #[test]
    fn the_preview_shows_originals_above_augmented_copies() {
        let data = Dataset {
            name: "ramp".into(),
            inputs: crate::engine::Tensor::from_shape_fn((3, 1, 6, 6), |(i, _, y, x)| {
                (i + y + x) as f32 / 20.0
            }),
            targets: Targets::Labels(vec![0, 1, 0]),
            class_names: vec!["a".into(), "b".into()],
        };
        let aug = Augment {
            noise: 0.3,
            ..Augment::default()
        };
        let img = preview_rgba(&data, &aug, 1, 0).unwrap();
        // Three columns of 6 px with 2 px gaps, two rows.
        assert_eq!((img.width, img.height), (3 * 6 + 2 * 2, 2 * 6 + 2));
        let row = |y: usize| &img.pixels[y * img.width * 4..(y * img.width + 6) * 4];
        assert_ne!(row(0), row(8), "the augmented row differs");
        assert_eq!(preview_rgba(&data, &aug, 1, 0).unwrap(), img);
        assert_ne!(preview_rgba(&data, &aug, 1, 1).unwrap(), img);
    }
}
