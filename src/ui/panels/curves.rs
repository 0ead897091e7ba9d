//! Live loss and metric curves (egui_plot): per-step training loss, per-epoch training and
//! validation loss and metric, with a log-scale option; the previous run's epochs dashed and
//! paler beside them.

use eframe::egui::{Color32, Ui};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, PlotUi, Points, VLine};

use crate::engine::LossKind;
use crate::train::{EpochRecord, MetricKind};
use crate::ui::panels::runs_panel::overlay_curves;
use crate::ui::runs::Run;
use crate::ui::session::RunView;
use crate::viz::curves::{plot_points, tick_label};

const TRAIN: Color32 = Color32::from_rgb(80, 160, 255);
const VAL: Color32 = Color32::from_rgb(255, 150, 60);
/// How much of its colour a previous run's curve keeps.
const PREVIOUS_RUN_OPACITY: f32 = 0.45;

/// What the curves show, and their two display options (kept with the window's state).
pub struct Curves<'a> {
    pub run: &'a RunView,
    /// The loss being trained, for the metric's name before the first epoch.
    pub loss: LossKind,
    pub log_scale: &'a mut bool,
    pub show_step_loss: &'a mut bool,
    /// The moment the timeline shows (epoch position), marked on both plots.
    pub marker: Option<f64>,
    /// Runs of the session ticked in the runs table, drawn beside the current run (which
    /// replace the dashed previous run).
    pub overlays: Vec<&'a Run>,
}

pub fn curves_ui(curves: Curves<'_>, ui: &mut Ui) {
    let Curves {
        run,
        loss,
        log_scale,
        show_step_loss,
        marker,
        overlays,
    } = curves;
    let mark = |plot: &mut PlotUi<'_>| {
        if let Some(x) = marker {
            plot.vline(
                VLine::new("timeline", x)
                    .color(Color32::from_gray(150))
                    .style(LineStyle::dashed_loose()),
            );
        }
    };
    // Ticked runs say more than the one before the last fresh start.
    let previous: &[EpochRecord] = if overlays.is_empty() {
        &run.previous
    } else {
        &[]
    };
    let log = *log_scale;
    ui.horizontal(|ui| {
        ui.heading("Curves");
        ui.checkbox(log_scale, "log scale")
            .on_hover_text("Loss on a logarithmic axis: late, small improvements stay visible");
        ui.checkbox(show_step_loss, "per-step loss");
        if let Some(last) = run.history.last() {
            ui.label(format!(
                "epoch {} · val {} {:.3}",
                last.epoch, last.metric, last.val_metric
            ));
        }
        if let Some(last) = previous.last() {
            ui.weak(format!(
                "previous run: epoch {} · val {} {:.3}",
                last.epoch, last.metric, last.val_metric
            ))
            .on_hover_text(
                "The run before the last fresh start (a model change or Reset), dashed on the \
                 plots for comparison",
            );
        }
    });
    let height = (ui.available_height() * 0.5).clamp(140.0, 340.0);
    let width = (ui.available_width() - 8.0) / 2.0;
    let history = &run.history;
    let metric_name = history
        .last()
        .map(|r| r.metric.clone())
        .unwrap_or_else(|| MetricKind::for_loss(loss).name().to_string());
    ui.horizontal(|ui| {
        Plot::new("loss_plot")
            .legend(Legend::default())
            .width(width)
            .height(height)
            .x_axis_label("epoch")
            .y_axis_label(if log { "loss (log)" } else { "loss" })
            .y_axis_formatter(move |mark, _| tick_label(mark.value, log))
            .allow_scroll(false)
            .show(ui, |plot| {
                if *show_step_loss && !run.step_losses.is_empty() {
                    plot.line(
                        Line::new(
                            "train (steps)",
                            PlotPoints::new(plot_points(run.step_losses.iter().copied(), log)),
                        )
                        .color(TRAIN.gamma_multiply(0.35))
                        .width(1.0),
                    );
                }
                mark(plot);
                previous_run(plot, previous, |r| [r.train_loss, r.val_loss], log);
                overlay_curves(plot, &overlays, |r| [r.train_loss, r.val_loss], log);
                let train =
                    plot_points(history.iter().map(|r| [r.epoch as f64, r.train_loss]), log);
                let val = plot_points(history.iter().map(|r| [r.epoch as f64, r.val_loss]), log);
                plot.line(
                    Line::new("train", PlotPoints::new(train.clone()))
                        .color(TRAIN)
                        .width(2.0),
                );
                plot.points(
                    Points::new("train", PlotPoints::new(train))
                        .color(TRAIN)
                        .radius(2.5),
                );
                plot.line(
                    Line::new("validation", PlotPoints::new(val.clone()))
                        .color(VAL)
                        .width(2.0),
                );
                plot.points(
                    Points::new("validation", PlotPoints::new(val))
                        .color(VAL)
                        .radius(2.5),
                );
            });
        Plot::new("metric_plot")
            .legend(Legend::default())
            .width(width)
            .height(height)
            .x_axis_label("epoch")
            .y_axis_label(metric_name.as_str())
            .allow_scroll(false)
            .show(ui, |plot| {
                mark(plot);
                previous_run(plot, previous, |r| [r.train_metric, r.val_metric], false);
                overlay_curves(plot, &overlays, |r| [r.train_metric, r.val_metric], false);
                let train = plot_points(
                    history.iter().map(|r| [r.epoch as f64, r.train_metric]),
                    false,
                );
                let val = plot_points(
                    history.iter().map(|r| [r.epoch as f64, r.val_metric]),
                    false,
                );
                plot.line(
                    Line::new("train", PlotPoints::new(train.clone()))
                        .color(TRAIN)
                        .width(2.0),
                );
                plot.points(
                    Points::new("train", PlotPoints::new(train))
                        .color(TRAIN)
                        .radius(2.5),
                );
                plot.line(
                    Line::new("validation", PlotPoints::new(val.clone()))
                        .color(VAL)
                        .width(2.0),
                );
                plot.points(
                    Points::new("validation", PlotPoints::new(val))
                        .color(VAL)
                        .radius(2.5),
                );
            });
    });
    // A VAE's loss in its two terms: reconstruction and KL (before β), train and validation.
    if history.iter().any(|r| r.elbo.is_some()) {
        let terms = |of: fn(&crate::train::ElboTerms) -> [f64; 2]| {
            let pick = |k: usize| -> Vec<[f64; 2]> {
                history
                    .iter()
                    .filter_map(|r| r.elbo.as_ref().map(|e| [r.epoch as f64, of(e)[k]]))
                    .collect()
            };
            (pick(0), pick(1))
        };
        ui.horizontal(|ui| {
            for (id, label, of) in [
                (
                    "recon_plot",
                    "reconstruction loss",
                    (|e: &crate::train::ElboTerms| [e.train_recon, e.val_recon])
                        as fn(&crate::train::ElboTerms) -> [f64; 2],
                ),
                (
                    "kl_plot",
                    "KL (before beta, log)",
                    |e: &crate::train::ElboTerms| [e.train_kl, e.val_kl],
                ),
            ] {
                let (train, val) = terms(of);
                // The KL spans orders of magnitude (huge while β is 0 in a warm-up): log scale.
                let log_kl = id == "kl_plot";
                let (train, val) = (plot_points(train, log_kl), plot_points(val, log_kl));
                Plot::new(id)
                    .y_axis_formatter(move |mark, _| tick_label(mark.value, log_kl))
                    .legend(Legend::default())
                    .width(width)
                    .height(height * 0.8)
                    .x_axis_label("epoch")
                    .y_axis_label(label)
                    .allow_scroll(false)
                    .show(ui, |plot| {
                        mark(plot);
                        plot.line(
                            Line::new("train", PlotPoints::new(train))
                                .color(TRAIN)
                                .width(2.0),
                        );
                        plot.line(
                            Line::new("validation", PlotPoints::new(val))
                                .color(VAL)
                                .width(2.0),
                        );
                    });
            }
        });
    }
}

/// The previous run's training and validation curves of the values `of` picks (train,
/// validation), dashed and paler than the current run's.
fn previous_run(
    plot: &mut PlotUi<'_>,
    previous: &[EpochRecord],
    of: impl Fn(&EpochRecord) -> [f64; 2],
    log: bool,
) {
    if previous.is_empty() {
        return;
    }
    for (k, (name, color)) in [
        ("previous run: train", TRAIN),
        ("previous run: validation", VAL),
    ]
    .into_iter()
    .enumerate()
    {
        let points = plot_points(previous.iter().map(|r| [r.epoch as f64, of(r)[k]]), log);
        plot.line(
            Line::new(name, PlotPoints::new(points))
                .color(color.gamma_multiply(PREVIOUS_RUN_OPACITY))
                .style(LineStyle::dashed_loose())
                .width(1.5),
        );
    }
}
