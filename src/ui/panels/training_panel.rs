//! The training panel: loss, optimiser and its settings, learning rate (live), batch size,
//! epochs, initialiser, seed; Train / Pause / Step / Reset; progress with speed and ETA; the
//! confusion matrix, whose cells filter the prediction gallery; and, when the preset has a
//! handcrafted pipeline, its validation accuracy and confusion matrix in the same widget
//! (with an evolution's best, if one ran), so the network is judged beside it.

use eframe::egui::{self, Color32, Ui};

use crate::engine::{Init, LossKind, OptimizerKind};
use crate::spec::Preset;
use crate::train::messages::RunState;
use crate::ui::classical_cache::PipelineStatus;
use crate::ui::command::UiCommand;
use crate::ui::evolution_run::EvolutionRun;
use crate::ui::session::{RunView, needs_configure};
use crate::viz::Colormap;
use crate::viz::colormap::fraction;

const LOSSES: [LossKind; 4] = [
    LossKind::CrossEntropy,
    LossKind::Mse,
    LossKind::BceWithLogits,
    LossKind::Dice,
];

fn loss_tip(l: LossKind) -> &'static str {
    match l {
        LossKind::CrossEntropy => {
            "Classification: softmax over the outputs, then −log of the true class's probability."
        }
        LossKind::Mse => "Regression/reconstruction: mean of squared differences.",
        LossKind::BceWithLogits => {
            "Per-pixel yes/no (segmentation masks): sigmoid, then binary cross-entropy."
        }
        LossKind::Dice => {
            "Segmentation: 1 − overlap of prediction and mask; robust to small foregrounds."
        }
    }
}

fn init_label(i: Init) -> &'static str {
    match i {
        Init::Default => "PyTorch default",
        Init::Uniform { .. } => "uniform ±a",
        Init::Glorot => "Glorot (Xavier)",
        Init::He => "He (Kaiming)",
    }
}

/// What the training panel edits and shows.
pub struct TrainingPanel<'a> {
    /// The project's preset: the settings grid edits its training part.
    pub preset: &'a mut Preset,
    /// The preset and data version the trainer was last configured with: edits beyond the
    /// live settings wait for the next run.
    pub configured: Option<&'a (Preset, u64)>,
    pub data_version: u64,
    pub run: &'a RunView,
    /// The validation set's class names (rows and columns of the confusion matrix).
    pub class_names: &'a [String],
    /// The prediction gallery's filter, which a cell of the confusion matrix sets.
    pub gallery_filter: &'a mut Option<(usize, usize)>,
    pub commands: &'a mut Vec<UiCommand>,
    /// The preset's handcrafted pipeline on the loaded data (`None`: it has none).
    pub pipeline: Option<PipelineStatus>,
    /// The Evolved features tab's run, if one was started in this window.
    pub evolution: Option<&'a EvolutionRun>,
}

pub fn training_panel_ui(panel: TrainingPanel<'_>, ui: &mut Ui) {
    let TrainingPanel {
        preset,
        configured,
        data_version,
        run,
        class_names,
        gallery_filter,
        commands,
        pipeline,
        evolution,
    } = panel;
    let t = &mut preset.training;
    egui::Grid::new("training_settings").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
        let l = ui.label("loss");
        egui::ComboBox::from_id_salt("loss")
            .selected_text(t.loss.torch_name())
            .show_ui(ui, |ui| {
                for k in LOSSES {
                    ui.selectable_value(&mut t.loss, k, k.torch_name()).on_hover_text(loss_tip(k));
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text(loss_tip(t.loss));
        ui.end_row();

        let l = ui.label("optimiser");
        let is_adam = matches!(t.optimizer, OptimizerKind::Adam { .. });
        ui.horizontal(|ui| {
            if ui.selectable_label(!is_adam, "SGD").on_hover_text("Step against the gradient; momentum keeps a running direction").clicked() && is_adam {
                t.optimizer = OptimizerKind::default();
            }
            if ui.selectable_label(is_adam, "Adam").on_hover_text("Per-weight step sizes from running gradient statistics; forgiving about the learning rate").clicked() && !is_adam {
                t.optimizer = OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
            }
        })
        .response
        .labelled_by(l.id);
        ui.end_row();
        match &mut t.optimizer {
            OptimizerKind::Sgd { momentum, weight_decay } => {
                let l = ui.label("momentum");
                ui.add(egui::Slider::new(momentum, 0.0..=0.99)).labelled_by(l.id);
                ui.end_row();
                let l = ui.label("weight decay");
                ui.add(egui::DragValue::new(weight_decay).range(0.0..=0.1).speed(1e-4).max_decimals(5)).labelled_by(l.id)
                    .on_hover_text("L2 penalty pulling weights towards zero");
                ui.end_row();
            }
            OptimizerKind::Adam { beta1, beta2, weight_decay, .. } => {
                let l = ui.label("β1, β2");
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(beta1).range(0.0..=0.999).speed(0.001))
                        .labelled_by(l.id)
                        .on_hover_text("β1: decay of the running mean of gradients (momentum)");
                    let l2 = ui.label("β2");
                    ui.add(egui::DragValue::new(beta2).range(0.0..=0.99999).speed(0.0001))
                        .labelled_by(l2.id)
                        .on_hover_text("β2: decay of the running mean of squared gradients");
                });
                ui.end_row();
                let l = ui.label("weight decay");
                ui.add(egui::DragValue::new(weight_decay).range(0.0..=0.1).speed(1e-4).max_decimals(5)).labelled_by(l.id);
                ui.end_row();
            }
        }

        let l = ui.label("learning rate");
        // Up to 10: walkthrough 05 shows divergence at η = 8, and the slider clamps the
        // preset's value to its range as soon as it is drawn.
        ui.add(egui::Slider::new(&mut t.learning_rate, 1e-5..=10.0).logarithmic(true).max_decimals(5))
            .labelled_by(l.id)
            .on_hover_text("Step size. Changes apply at the next minibatch, also while training.");
        ui.end_row();
        let l = ui.label("batch size");
        ui.add(egui::DragValue::new(&mut t.batch_size).range(1..=1024)).labelled_by(l.id)
            .on_hover_text("Samples per weight update");
        ui.end_row();
        let l = ui.label("epochs");
        ui.add(egui::DragValue::new(&mut t.epochs).range(1..=10_000)).labelled_by(l.id)
            .on_hover_text("Passes over the training set");
        ui.end_row();
        let l = ui.label("init");
        egui::ComboBox::from_id_salt("init")
            .selected_text(init_label(t.init))
            .show_ui(ui, |ui| {
                for i in [Init::Default, Init::Uniform { a: 0.1 }, Init::Glorot, Init::He] {
                    let same = std::mem::discriminant(&i) == std::mem::discriminant(&t.init);
                    if ui.selectable_label(same, init_label(i)).clicked() && !same {
                        t.init = i;
                    }
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text("How the weights start. He suits ReLU networks; Glorot suits tanh/sigmoid.");
        ui.end_row();
        if let Init::Uniform { a } = &mut t.init {
            let l = ui.label("a");
            // Up to 100: walkthrough 05 starts from ±20 to show saturation, and a narrower
            // range would clamp the preset's value as soon as the panel draws it.
            ui.add(egui::DragValue::new(a).range(1e-4..=100.0).speed(0.005)).labelled_by(l.id);
            ui.end_row();
        }
        let l = ui.label("seed");
        ui.add(egui::DragValue::new(&mut t.seed)).labelled_by(l.id)
            .on_hover_text("Same seed, same start weights and same shuffling: runs repeat exactly");
        ui.end_row();
    });

    let state = run.state;
    let running = state == RunState::Running;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!running, egui::Button::new("Train"))
            .on_hover_text("Train until the epoch count (edits of the model keep matching weights)")
            .clicked()
        {
            commands.push(UiCommand::Start);
        }
        if ui
            .add_enabled(running, egui::Button::new("Pause"))
            .clicked()
        {
            commands.push(UiCommand::Pause);
        }
        if ui
            .add_enabled(!running, egui::Button::new("Step"))
            .on_hover_text("Train on one minibatch")
            .clicked()
        {
            commands.push(UiCommand::Step);
        }
        if ui
            .button("Reset")
            .on_hover_text("Fresh weights, history cleared")
            .clicked()
        {
            commands.push(UiCommand::Reset);
        }
    });
    if running && needs_configure(configured, preset, data_version) {
        ui.weak("Edits apply when you pause and train again.");
    }
    progress_ui(run, preset.training.epochs, ui);
    if let Some(e) = &run.error {
        ui.colored_label(ui.visuals().error_fg_color, e.to_string());
    }
    if let Some(eval) = run.evaluation.as_ref().filter(|e| !e.confusion.is_empty()) {
        confusion_ui(
            Confusion {
                title: "Confusion matrix",
                id: "confusion_matrix",
                counts: &eval.confusion,
                names: class_names,
                gallery_filter: Some(gallery_filter),
                tally: "validation images right",
            },
            ui,
        );
    }
    if pipeline.is_some() || evolution.is_some() {
        ui.separator();
        classical_ui(pipeline, evolution, ui);
    }
}

/// The handcrafted pipeline's (and an evolution's) accuracy beside the network's.
fn classical_ui(pipeline: Option<PipelineStatus>, evolution: Option<&EvolutionRun>, ui: &mut Ui) {
    match pipeline {
        None => {}
        Some(PipelineStatus::WaitingForData) => {
            ui.weak("Handcrafted pipeline: waiting for the data…");
        }
        Some(PipelineStatus::Computing) => {
            ui.weak("Handcrafted pipeline: measuring its features and fitting its classifier…");
        }
        Some(PipelineStatus::Failed(why)) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Handcrafted pipeline: {why}"),
            );
        }
        Some(PipelineStatus::Ready(e)) => {
            ui.label(format!(
                "Handcrafted pipeline: validation accuracy {:.3} (training {:.3})",
                e.val_accuracy, e.train_accuracy
            ))
            .on_hover_text(format!(
                "The preset's [pipeline] on the same split as the network: {} features, \
                 measured in {:.2} s, classifier fitted in {:.2} s. The Handcrafted pipeline \
                 tab shows its stages.",
                e.feature_names.len(),
                e.feature_seconds,
                e.fit_seconds
            ));
            confusion_ui(
                Confusion {
                    title: "Pipeline confusion matrix",
                    id: "pipeline_confusion_matrix",
                    counts: &e.confusion,
                    names: &e.class_names,
                    gallery_filter: None,
                    tally: "validation images classified right by the pipeline",
                },
                ui,
            );
        }
    }
    if let Some(run) = evolution
        && let Some(g) = run.history.last()
    {
        ui.label(format!(
            "Evolved pipeline: best fitness {:.3}, held-out accuracy {:.3} after {} of {} generations",
            g.best_fitness, g.best_test_accuracy, g.index, run.spec.generations
        ))
        .on_hover_text(format!(
            "The Evolved features tab's run: fitness is the accuracy on part of the training \
             images, held-out accuracy the best pipeline's on the validation images. Best: {}",
            g.best.describe()
        ));
    }
}

/// A confusion matrix as the panel draws it.
struct Confusion<'a> {
    title: &'a str,
    id: &'a str,
    /// `[truth][predicted]` counts.
    counts: &'a [Vec<usize>],
    names: &'a [String],
    /// The prediction gallery's filter, set by clicking a cell (the network's matrix only:
    /// the gallery shows the network's predictions).
    gallery_filter: Option<&'a mut Option<(usize, usize)>>,
    /// What the count under the matrix counts.
    tally: &'a str,
}

fn progress_ui(run: &RunView, epochs: usize, ui: &mut Ui) {
    let epochs = epochs.max(1);
    let Some(p) = &run.progress else {
        if let Some(info) = &run.info {
            ui.small(format!(
                "{} train / {} validation samples · {} steps per epoch · {} weights",
                info.train_len, info.val_len, info.steps_per_epoch, info.params
            ));
        }
        return;
    };
    let done = (p.epoch_position / epochs as f64).clamp(0.0, 1.0);
    let remaining_images = (epochs as f64 - p.epoch_position).max(0.0)
        * run.info.as_ref().map_or(0.0, |i| i.train_len as f64);
    let eta = if p.images_per_s > 0.0 {
        remaining_images / p.images_per_s
    } else {
        0.0
    };
    // The position in the bar, the speed beneath it: all of it in the bar was wider than
    // the panel and cut off the ETA.
    ui.add(egui::ProgressBar::new(done as f32).text(format!(
        "epoch {}/{epochs} · step {}/{}",
        p.epoch, p.step, p.steps_per_epoch
    )));
    ui.small(format!(
        "{:.0} images/s · {}",
        p.images_per_s,
        match run.state {
            RunState::Running => format!("about {eta:.0} s left"),
            RunState::Finished => "finished".into(),
            _ => "not running".into(),
        }
    ));
    if let Some(last) = run.history.last() {
        ui.small(format!(
            "last epoch: train loss {:.4} · val loss {:.4} · val {} {:.3}",
            last.train_loss, last.val_loss, last.metric, last.val_metric
        ));
    } else {
        ui.small(format!("loss {:.4}", p.mean_loss));
    }
}

fn confusion_ui(c: Confusion<'_>, ui: &mut Ui) {
    let Confusion {
        title,
        id,
        counts,
        names,
        gallery_filter,
        tally,
    } = c;
    egui::CollapsingHeader::new(title)
        .default_open(true)
        .show(ui, |ui| {
            ui.small(if gallery_filter.is_some() {
                "Rows: true class · columns: predicted. Click a cell to see its images."
            } else {
                "Rows: true class · columns: predicted."
            });
            let rows = counts.len();
            let cols = counts.iter().map(Vec::len).max().unwrap_or(0);
            let max = counts.iter().flatten().copied().max().unwrap_or(0);
            let cell = ((ui.available_width() - 40.0) / cols.max(1) as f32).clamp(12.0, 28.0);
            // With many classes (30 and more) the matrix is wider than the panel: it scrolls
            // instead of widening the panel, which would push every button aside.
            let matrix = egui::ScrollArea::horizontal().id_salt(id).show(ui, |ui| {
                ui.allocate_exact_size(
                    egui::vec2(30.0 + cell * cols as f32, cell * rows as f32),
                    egui::Sense::click(),
                )
            });
            let (rect, response) = matrix.inner;
            let clip = matrix.inner_rect;
            let at = |pos: egui::Pos2| {
                let p = ((pos.x - rect.left() - 30.0) / cell).floor();
                let t = ((pos.y - rect.top()) / cell).floor();
                (p >= 0.0 && t >= 0.0 && (p as usize) < cols && (t as usize) < rows)
                    .then_some((t as usize, p as usize))
            };
            let name = |i: usize| names.get(i).cloned().unwrap_or_else(|| i.to_string());
            let response = match response.hover_pos().and_then(at) {
                Some((t, p)) => {
                    let count = counts[t].get(p).copied().unwrap_or(0);
                    response.on_hover_text_at_pointer(format!(
                        "true {} · predicted {}: {count} image{}",
                        name(t),
                        name(p),
                        if count == 1 { "" } else { "s" }
                    ))
                }
                None => response,
            };
            let painter = ui.painter_at(rect.intersect(clip));
            let font = egui::FontId::monospace((cell * 0.42).clamp(7.0, 11.0));
            for (t, row) in counts.iter().enumerate() {
                let label = names
                    .get(t)
                    .map_or_else(|| t.to_string(), |n| n.chars().take(4).collect());
                painter.text(
                    egui::pos2(rect.left() + 28.0, rect.top() + (t as f32 + 0.5) * cell),
                    egui::Align2::RIGHT_CENTER,
                    label,
                    font.clone(),
                    ui.visuals().text_color(),
                );
                for (p, &count) in row.iter().enumerate() {
                    let r = egui::Rect::from_min_size(
                        egui::pos2(
                            rect.left() + 30.0 + p as f32 * cell,
                            rect.top() + t as f32 * cell,
                        ),
                        egui::vec2(cell - 1.0, cell - 1.0),
                    );
                    let [cr, cg, cb] = Colormap::Viridis.rgb(fraction(count, max).sqrt());
                    painter.rect_filled(r, 1.0, Color32::from_rgb(cr, cg, cb));
                    if gallery_filter.as_deref() == Some(&Some((t, p))) {
                        painter.rect_stroke(
                            r,
                            1.0,
                            egui::Stroke::new(2.0, Color32::WHITE),
                            egui::StrokeKind::Inside,
                        );
                    }
                    if count > 0 && cell >= 18.0 {
                        let text_color = if fraction(count, max).sqrt() > 0.6 {
                            Color32::BLACK
                        } else {
                            Color32::WHITE
                        };
                        painter.text(
                            r.center(),
                            egui::Align2::CENTER_CENTER,
                            count.to_string(),
                            font.clone(),
                            text_color,
                        );
                    }
                }
            }
            if response.clicked()
                && let Some(cellv) = response.interact_pointer_pos().and_then(at)
                && let Some(filter) = gallery_filter
            {
                *filter = if *filter == Some(cellv) {
                    None
                } else {
                    Some(cellv)
                };
            }
            let correct: usize = (0..rows.min(cols)).map(|i| counts[i][i]).sum();
            let total: usize = counts.iter().flatten().sum();
            ui.small(format!(
                "{correct} of {total} {tally} ({:.1} %)",
                100.0 * correct as f64 / total.max(1) as f64
            ));
            // The rows show four letters of each name: the whole names, in order.
            if !names.is_empty() {
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(format!("Classes: {}", names.join(", "))).small(),
                    )
                    .wrap(),
                );
            }
        });
}
