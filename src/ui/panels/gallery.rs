//! Validation images with predicted and true labels (green right, red wrong); a confusion
//! matrix cell filters them; clicking one probes the network for its class probabilities.

use std::collections::HashMap;

use eframe::egui::{self, Color32, Ui};

use crate::data::{Dataset, Targets};
use crate::ui::command::UiCommand;
use crate::ui::session::RunView;
use crate::viz::{Colormap, sample_rgba};

/// Images shown at most.
pub const MAX_SHOWN: usize = 60;

#[derive(Default)]
pub struct GalleryState {
    /// `(true class, predicted class)` from the confusion matrix.
    pub filter: Option<(usize, usize)>,
    pub probed: Option<usize>,
    textures: HashMap<usize, egui::TextureHandle>,
}

/// What the gallery shows; clicking an image asks for a probe.
pub struct Gallery<'a> {
    /// The validation set, once the data is loaded and split.
    pub val: Option<&'a std::sync::Arc<Dataset>>,
    pub run: &'a RunView,
    pub colormap: Colormap,
    pub commands: &'a mut Vec<UiCommand>,
}

pub fn gallery_ui(gallery: &mut GalleryState, context: Gallery<'_>, ui: &mut Ui) {
    let Gallery {
        val,
        run,
        colormap,
        commands,
    } = context;
    let Some(val) = val else {
        ui.weak("Loading data…");
        return;
    };
    let val = std::sync::Arc::clone(val);
    let [_, h, w] = val.sample_shape();
    ui.horizontal(|ui| {
        ui.heading("Validation predictions");
        if let Some((t, p)) = gallery.filter {
            let name = |i: usize| {
                val.class_names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| i.to_string())
            };
            // The button before the class names, which are truncated: long class folder
            // names must not push it out of reach.
            let show_all = ui.small_button("show all").clicked();
            ui.add(
                egui::Label::new(format!("true {} predicted as {}", name(t), name(p))).truncate(),
            );
            if show_all {
                gallery.filter = None;
            }
        }
    });
    if h * w <= 1 {
        ui.weak("These samples are points, not pictures: see the curves.");
        return;
    }
    let labels = match &val.targets {
        Targets::Labels(l) => Some(l.clone()),
        Targets::Dense(_) => None,
    };
    let eval = run.evaluation.clone();
    let predicted = eval.as_ref().map(|e| &e.predicted);
    let indices: Vec<usize> = (0..val.len())
        .filter(|&i| match (gallery.filter, &labels, predicted) {
            (Some((t, p)), Some(l), Some(pred)) => l[i] == t && pred.get(i) == Some(&p),
            _ => true,
        })
        .take(MAX_SHOWN)
        .collect();
    let tile = 60.0;
    if let Some(probe) = run.probe.clone() {
        ui.horizontal(|ui| {
            if let Some(tex) = gallery.textures.get(&probe.index) {
                ui.image((tex.id(), egui::vec2(48.0, 48.0)));
            }
            ui.vertical(|ui| {
                ui.strong(format!("sample #{}: class probabilities", probe.index));
                ui.horizontal_wrapped(|ui| {
                    for (c, &p) in probe.outputs.iter().enumerate().take(20) {
                        let name = val
                            .class_names
                            .get(c)
                            .cloned()
                            .unwrap_or_else(|| c.to_string());
                        ui.add(
                            egui::ProgressBar::new(p.clamp(0.0, 1.0))
                                .desired_width(90.0)
                                .text(format!("{name} {:.0} %", p * 100.0)),
                        );
                    }
                });
            });
        });
    }
    egui::ScrollArea::vertical().id_salt("gallery").auto_shrink([false, false]).show(ui, |ui| {
        // Rows laid out explicitly: as many tiles as fit the width.
        let per_row = ((ui.available_width() / (tile + ui.spacing().item_spacing.x)).floor() as usize).max(1);
        for row in indices.chunks(per_row) {
        ui.horizontal_top(|ui| {
            for &i in row {
                let tex = gallery.textures.entry(i).or_insert_with(|| {
                    let img = sample_rgba(&val.inputs, i, colormap);
                    let color = egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels);
                    ui.ctx().load_texture(format!("val_{i}"), color, egui::TextureOptions::NEAREST)
                });
                let truth = labels.as_ref().map(|l| l[i]);
                let pred = predicted.and_then(|p| p.get(i).copied());
                let conf = eval.as_ref().and_then(|e| e.confidence.get(i).copied());
                let name = |c: usize| val.class_names.get(c).cloned().unwrap_or_else(|| c.to_string());
                ui.vertical(|ui| {
                    ui.set_width(tile);
                    let r = ui.add(egui::Image::new((tex.id(), egui::vec2(tile, tile))).sense(egui::Sense::click()));
                    let (text, color) = match (pred, truth) {
                        (Some(p), Some(t)) if p == t => (name(p), Color32::from_rgb(90, 200, 90)),
                        (Some(p), Some(t)) => (format!("{} (true {})", name(p), name(t)), Color32::from_rgb(240, 90, 80)),
                        (None, Some(t)) => (name(t), ui.visuals().weak_text_color()),
                        _ => (String::new(), ui.visuals().weak_text_color()),
                    };
                    ui.add(egui::Label::new(egui::RichText::new(text).small().color(color)).truncate());
                    let r = r.on_hover_text(match (pred, truth, conf) {
                        (Some(p), Some(t), Some(c)) => format!("#{i}: predicted {} ({:.0} %), true {}\nClick for all class probabilities", name(p), c * 100.0, name(t)),
                        _ => format!("#{i}"),
                    });
                    if r.clicked() {
                        commands.push(UiCommand::Probe(i));
                    }
                });
            }
        });
        }
    });
}
