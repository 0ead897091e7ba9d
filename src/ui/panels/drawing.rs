//! The drawing canvas: draw with the mouse at the model's input size (a digit for a digit
//! classifier), and every view looks at the drawing. White ink on black by default, as the
//! bundled digits are; "invert" gives black on white. On a model with three input
//! channels the drawing is grey, the same in each channel.

use std::sync::Arc;

use eframe::egui::{self, Color32, Sense, Ui};
use ndarray::{Array2, Array4};

use crate::engine::Tensor;

/// Screen points per input pixel are chosen so the canvas is about this wide.
const CANVAS_SIDE: f32 = 280.0;

/// The drawing: ink per input pixel in [0, 1], the brush and the colours.
#[derive(Clone, Debug, PartialEq)]
pub struct Drawing {
    pub ink: Array2<f32>,
    /// The brush's radius in input pixels.
    pub brush: f32,
    /// Black ink on white instead of white on black.
    pub invert: bool,
}

impl Drawing {
    /// An empty canvas `h × w` input pixels; the brush fits the size (about 1.3 pixels on
    /// a 28 × 28 digit, as thick as MNIST's strokes).
    pub fn new(h: usize, w: usize) -> Drawing {
        Drawing {
            ink: Array2::zeros((h, w)),
            brush: (h.min(w) as f32 / 21.0).max(0.6),
            invert: false,
        }
    }

    /// Whether nothing has been drawn.
    pub fn is_empty(&self) -> bool {
        self.ink.iter().all(|&v| v == 0.0)
    }

    pub fn clear(&mut self) {
        self.ink.fill(0.0);
    }

    /// One dab of the brush centred at `(row, col)` in input pixels (fractions allowed):
    /// full ink within the radius, fading to nothing one pixel beyond it, so strokes are
    /// smooth like a scanned pen.
    pub fn dab(&mut self, row: f32, col: f32) {
        let (h, w) = self.ink.dim();
        let reach = self.brush + 1.0;
        let rows = (row - reach).floor().max(0.0) as usize
            ..((row + reach).ceil().max(0.0) as usize).min(h);
        let cols = (col - reach).floor().max(0.0) as usize
            ..((col + reach).ceil().max(0.0) as usize).min(w);
        for i in rows {
            for j in cols.clone() {
                // Distance from the pixel's centre.
                let d = ((i as f32 + 0.5 - row).powi(2) + (j as f32 + 0.5 - col).powi(2)).sqrt();
                let v = (1.0 - (d - self.brush).max(0.0)).clamp(0.0, 1.0);
                let cell = &mut self.ink[[i, j]];
                *cell = cell.max(v);
            }
        }
    }

    /// A stroke from `a` to `b` (row, col): dabs every half pixel so fast mouse moves leave
    /// no gaps.
    pub fn stroke(&mut self, a: (f32, f32), b: (f32, f32)) {
        let length = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (length * 2.0).ceil().max(1.0) as usize;
        for k in 0..=steps {
            let t = k as f32 / steps as f32;
            self.dab(a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
        }
    }

    /// The value a pixel gives the model: the ink, or one minus it when inverted.
    fn value(&self, ink: f32) -> f32 {
        if self.invert { 1.0 - ink } else { ink }
    }

    /// The drawing as the model's input `[1, channels, h, w]`, the same grey in every
    /// channel.
    pub fn tensor(&self, channels: usize) -> Tensor<f32> {
        let (h, w) = self.ink.dim();
        Array4::from_shape_fn((1, channels.max(1), h, w), |(_, _, i, j)| {
            self.value(self.ink[[i, j]])
        })
    }
}

/// What the canvas window reports after a frame.
pub enum DrawingEvent {
    /// The drawing changed: the views' input becomes this.
    Changed(Arc<Tensor<f32>>),
    /// The user closed the canvas.
    Closed,
}

/// The canvas with its tools; `channels` is the model's input channel count. Returns what
/// happened this frame.
pub fn drawing_ui(
    drawing: &mut Drawing,
    last: &mut Option<(f32, f32)>,
    channels: usize,
    ui: &mut Ui,
) -> Option<DrawingEvent> {
    let mut event = None;
    let mut changed = false;
    ui.horizontal(|ui| {
        let l = ui.label("brush");
        ui.add(
            egui::Slider::new(&mut drawing.brush, 0.4..=4.0)
                .fixed_decimals(1)
                .suffix(" px"),
        )
        .labelled_by(l.id)
        .on_hover_text("The brush's radius in input pixels: it changes the next strokes");
        if ui
            .button("Clear")
            .on_hover_text("Wipe the canvas (shortcut: Delete)")
            .clicked()
            || ui.input(|i| i.key_pressed(egui::Key::Delete))
        {
            drawing.clear();
            changed = true;
        }
        changed |= ui
            .checkbox(&mut drawing.invert, "invert")
            .on_hover_text(
                "Black ink on white instead of white on black (the bundled digits are white \
                 on black)",
            )
            .changed();
        if ui
            .button("Close")
            .on_hover_text("Close the canvas; the views keep the drawing as their input")
            .clicked()
        {
            event = Some(DrawingEvent::Closed);
        }
    });
    let (h, w) = drawing.ink.dim();
    let cell = (CANVAS_SIDE / h.max(w).max(1) as f32).max(1.0);
    let size = egui::vec2(w as f32 * cell, h as f32 * cell);
    let (response, painter) = ui.allocate_painter(size, Sense::drag());
    let rect = response.rect;
    for ((i, j), &ink) in drawing.ink.indexed_iter() {
        let g = (drawing.value(ink) * 255.0).round() as u8;
        let min = rect.min + egui::vec2(j as f32 * cell, i as f32 * cell);
        painter.rect_filled(
            egui::Rect::from_min_size(min, egui::vec2(cell, cell)),
            0.0,
            Color32::from_gray(g),
        );
    }
    painter.rect_stroke(
        rect,
        0.0,
        egui::Stroke::new(1.0, Color32::GRAY),
        egui::StrokeKind::Outside,
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "drawing canvas"));
    let response = response.on_hover_text(format!(
        "Draw with the mouse: {h}×{w} input pixels, the model's input size{}",
        if channels == 3 {
            "; the model takes colour, so the drawing is grey in all three channels"
        } else {
            ""
        }
    ));
    if let Some(pos) = response.interact_pointer_pos()
        && (response.dragged() || response.drag_started() || response.clicked())
    {
        let at = ((pos.y - rect.min.y) / cell, (pos.x - rect.min.x) / cell);
        drawing.stroke(last.unwrap_or(at), at);
        *last = Some(at);
        changed = true;
    }
    if !response.dragged() {
        *last = None;
    }
    if changed && event.is_none() {
        event = Some(DrawingEvent::Changed(Arc::new(drawing.tensor(channels))));
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stroke_inks_the_pixels_it_crosses_and_nothing_far_away() {
        let mut d = Drawing::new(28, 28);
        assert!(d.is_empty());
        d.stroke((14.0, 4.0), (14.0, 24.0));
        for j in 5..24 {
            assert_eq!(d.ink[[13, j]], 1.0, "row 13, col {j}");
        }
        assert_eq!(d.ink[[2, 14]], 0.0);
        assert_eq!(d.ink[[26, 14]], 0.0);
        let t = d.tensor(1);
        assert_eq!(t.shape(), [1, 1, 28, 28]);
        assert_eq!(t[[0, 0, 13, 10]], 1.0);
        d.invert = true;
        let t = d.tensor(3);
        assert_eq!(t.shape(), [1, 3, 28, 28]);
        assert_eq!(t[[0, 2, 13, 10]], 0.0);
        assert_eq!(t[[0, 1, 0, 0]], 1.0);
        d.clear();
        assert!(d.is_empty());
    }
}
