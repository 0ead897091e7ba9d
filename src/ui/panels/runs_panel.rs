//! The runs table (below the curves): every run of the session with its name, what changed
//! since the run before it, its final metrics and duration; tick a run to draw its curves
//! on the loss and metric plots (each run its colour), restore its settings or weights, or
//! delete it. Also the overlay of the ticked runs' curves, drawn by the curves panel.

use std::collections::HashMap;

use eframe::egui::{self, Color32, RichText, Ui};
use egui_plot::{Line, LineStyle, PlotPoints, PlotUi};

use crate::spec::preset_diff::{diff_summary, preset_diff};
use crate::train::EpochRecord;
use crate::ui::command::UiCommand;
use crate::ui::runs::{Run, RunCommand, RunWeights, Runs};
use crate::viz::curves::plot_points;

/// Okabe and Ito's colour-blind-safe palette, without the blue and orange of the current
/// run's own curves (and black, the text colour of the light theme).
pub const RUN_PALETTE: [Color32; 6] = [
    Color32::from_rgb(0, 158, 115),   // bluish green
    Color32::from_rgb(204, 121, 167), // reddish purple
    Color32::from_rgb(86, 180, 233),  // sky blue
    Color32::from_rgb(213, 94, 0),    // vermillion
    Color32::from_rgb(240, 228, 66),  // yellow
    Color32::from_rgb(0, 114, 178),   // blue
];

/// A run's colour: fixed by its id, so it keeps it when others are ticked or deleted.
pub fn run_colour(id: u64) -> Color32 {
    RUN_PALETTE[(id.saturating_sub(1) % RUN_PALETTE.len() as u64) as usize]
}

/// The runs whose curves the plots draw beside the current run's: the ticked ones, except
/// the current run itself (drawn on top, solid).
pub fn overlaid(runs: &Runs, current: Option<u64>) -> Vec<&Run> {
    runs.list
        .iter()
        .filter(|r| r.shown && Some(r.id) != current && !r.history.is_empty())
        .collect()
}

/// Draws the ticked runs' training (dashed) and validation (solid) curves of the values
/// `of` picks, thinner than the current run's.
pub fn overlay_curves(
    plot: &mut PlotUi<'_>,
    runs: &[&Run],
    of: impl Fn(&EpochRecord) -> [f64; 2],
    log: bool,
) {
    for run in runs {
        let colour = run_colour(run.id);
        for (k, part) in ["train", "validation"].into_iter().enumerate() {
            let points = plot_points(run.history.iter().map(|r| [r.epoch as f64, of(r)[k]]), log);
            let line = Line::new(format!("{}: {part}", run.name), PlotPoints::new(points))
                .color(colour)
                .width(1.25);
            plot.line(if k == 0 {
                line.style(LineStyle::dashed_dense())
            } else {
                line
            });
        }
    }
}

/// The table's own state: the names being edited.
#[derive(Default)]
pub struct RunsPanelState {
    editing: HashMap<u64, String>,
}

pub struct RunsPanel<'a> {
    pub runs: &'a Runs,
    /// The run the trainer is on, when it was recorded already (it finished, or a
    /// walkthrough pinned it).
    pub current: Option<u64>,
    pub state: &'a mut RunsPanelState,
    pub commands: &'a mut Vec<UiCommand>,
}

pub fn runs_panel_ui(panel: RunsPanel<'_>, ui: &mut Ui) {
    let RunsPanel {
        runs,
        current,
        state,
        commands,
    } = panel;
    let header = format!("Runs ({})", runs.list.len());
    egui::CollapsingHeader::new(header)
        .id_salt("runs_table")
        .default_open(true)
        .show(ui, |ui| {
            if runs.list.is_empty() {
                ui.weak(
                    "Each run is kept here when it finishes or a fresh start (Reset, a model \
                     change) replaces it: tick runs to compare their curves.",
                );
                return;
            }
            let mut push = |c: RunCommand| commands.push(UiCommand::Runs(c));
            egui::ScrollArea::vertical()
                .id_salt("runs_scroll")
                .max_height(180.0)
                .show(ui, |ui| {
                    egui::Grid::new("runs_grid")
                        .striped(true)
                        .num_columns(5)
                        .show(ui, |ui| {
                            ui.strong("run").on_hover_text(
                                "Tick a run to draw its curves on the plots: training dashed, \
                                 validation solid, in the run's colour",
                            );
                            ui.strong("what changed").on_hover_text(
                                "The settings that differ from the run above it in this table",
                            );
                            ui.strong("validation").on_hover_text(
                                "The validation metric and loss after the run's last epoch",
                            );
                            ui.strong("time");
                            ui.strong("");
                            ui.end_row();
                            for (k, run) in runs.list.iter().enumerate() {
                                let previous = k.checked_sub(1).map(|k| &runs.list[k]);
                                row(ui, run, previous, current, state, &mut push);
                                ui.end_row();
                            }
                        });
                });
        });
}

fn row(
    ui: &mut Ui,
    run: &Run,
    previous: Option<&Run>,
    current: Option<u64>,
    state: &mut RunsPanelState,
    push: &mut impl FnMut(RunCommand),
) {
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 2.0, run_colour(run.id));
        if let Some(text) = state.editing.get_mut(&run.id) {
            let edit = ui.add(
                egui::TextEdit::singleline(text)
                    .desired_width(110.0)
                    .hint_text("run name"),
            );
            edit.request_focus();
            if edit.lost_focus() {
                let name = state.editing.remove(&run.id).unwrap_or_default();
                push(RunCommand::Rename(run.id, name));
            }
        } else {
            let mut shown = run.shown;
            let tick = ui.checkbox(&mut shown, run.name.as_str()).on_hover_text(
                "Draw this run's curves on the loss and metric plots (the current run stays on \
                 top)",
            );
            if tick.changed() {
                push(RunCommand::Show(run.id, shown));
            }
        }
        if Some(run.id) == current {
            ui.weak("(current)")
                .on_hover_text("The run the trainer is on: training it further updates this row");
        }
    });
    let changes = match previous {
        None => "first run".to_string(),
        Some(p) => diff_summary(&preset_diff(&p.preset, &run.preset)),
    };
    // Short enough that the table fits the central area beside the side panels; the whole
    // list on hover.
    let short: String = if changes.chars().count() > 28 {
        changes.chars().take(27).collect::<String>() + "…"
    } else {
        changes.clone()
    };
    ui.label(short)
        .on_hover_text(format!("{changes}\nseed {}", run.seed()));
    match run.last() {
        Some(r) => ui.label(format!(
            "{} {:.3} · loss {:.3}",
            r.metric, r.val_metric, r.val_loss
        )),
        None => ui.weak("—"),
    }
    .on_hover_text("The validation metric and loss after the run's last epoch");
    ui.label(format!(
        "{} ep · {:.1} s",
        run.history.len(),
        run.duration_s()
    ))
    .on_hover_text("Epochs trained and the seconds spent training them");
    ui.horizontal(|ui| {
        if matches!(run.weights, RunWeights::Missing) {
            ui.label(RichText::new("missing").color(Color32::from_rgb(200, 60, 60)))
                .on_hover_text(
                    "The weight file of this run was deleted: its curves and settings remain",
                );
        }
        // One button for the row's actions keeps the table narrow.
        ui.menu_button("actions", |ui| actions(ui, run, state, push))
            .response
            .on_hover_text("Rename, restore the settings or the weights, or delete this run");
    });
}

/// The actions of one run's row (its menu).
fn actions(ui: &mut Ui, run: &Run, state: &mut RunsPanelState, push: &mut impl FnMut(RunCommand)) {
    if ui
        .button("rename")
        .on_hover_text("Rename this run")
        .clicked()
    {
        state.editing.insert(run.id, run.name.clone());
    }
    if ui
        .button("settings")
        .on_hover_text(
            "Restore this run's settings (model, data, training) into the editor; the model \
             change is one undo step",
        )
        .clicked()
    {
        push(RunCommand::RestoreSettings(run.id));
    }
    let (enabled, why) = match &run.weights {
        RunWeights::Memory(_) | RunWeights::Disk => (true, None),
        RunWeights::Pending => (false, Some("the weights are still on their way")),
        RunWeights::Missing => (false, Some("weights missing: their file was deleted")),
        RunWeights::Unavailable => (false, Some("this run's weights were never received")),
    };
    let weights = ui
        .add_enabled(enabled, egui::Button::new("weights"))
        .on_hover_text(
            "Continue from this run's final weights with its settings, as when opening a \
             checkpoint",
        )
        .on_disabled_hover_text(why.unwrap_or_default());
    if weights.clicked() {
        push(RunCommand::RestoreWeights(run.id));
    }
    if ui
        .button("delete")
        .on_hover_text("Delete this run and its files")
        .clicked()
    {
        push(RunCommand::Delete(run.id));
    }
}
