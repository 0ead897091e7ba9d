//! "Save PNG…": a button under the view tabs (and Ctrl+Shift+S) opens a small window that
//! saves the view's picture, the curves (PNG or CSV) or the confusion matrix, at 1× or 2×,
//! to a typed or browsed path, or copies the picture to the clipboard.

use eframe::egui::{self, Ui};

use crate::ui::background::DialogPurpose;
use crate::ui::command::UiCommand;
use crate::ui::figures::Figure;

/// The export window's state (kept by the app).
#[derive(Clone, Debug)]
pub struct FigureUi {
    pub open: bool,
    pub what: Figure,
    /// 1 or 2.
    pub scale: usize,
    pub path: String,
    /// The last outcome, shown in the window ("wrote …" or why not).
    pub last: Option<(String, bool)>,
}

impl Default for FigureUi {
    fn default() -> Self {
        FigureUi {
            open: false,
            what: Figure::View,
            scale: 1,
            path: String::new(),
            last: None,
        }
    }
}

/// What the export window is given.
pub struct FiguresPanel<'a> {
    pub figure: &'a mut FigureUi,
    /// The tab shown, for the default file name and the "this view" label.
    pub view_name: &'a str,
    pub dialog_ready: bool,
    pub commands: &'a mut Vec<UiCommand>,
}

const SCALE_TIP: &str = "2×: every pixel of the picture doubled (crisp edges, no smoothing) — \
                         the views are drawn at one size; 1× is exactly what `convlab render` \
                         writes";

/// The "Save PNG…" button row under the tabs.
pub fn figure_button_ui(figure: &mut FigureUi, ui: &mut Ui) {
    ui.horizontal(|ui| {
        if ui
            .button("Save PNG…")
            .on_hover_text(
                "Save this view's picture, the curves (PNG or CSV) or the confusion matrix \
                 for a slide, at 1× or 2×, or copy it to the clipboard (Ctrl+Shift+S)",
            )
            .clicked()
        {
            figure.open = !figure.open;
        }
        if let Some((text, is_error)) = &figure.last {
            if *is_error {
                ui.colored_label(ui.visuals().error_fg_color, text);
            } else {
                ui.weak(text);
            }
        }
    });
}

/// The export window (shown while `figure.open`).
pub fn figure_window_ui(p: FiguresPanel<'_>, ctx: &egui::Context) {
    let FiguresPanel {
        figure,
        view_name,
        dialog_ready,
        commands,
    } = p;
    let mut open = figure.open;
    egui::Window::new("Save figure")
        .open(&mut open)
        .resizable(false)
        .collapsible(false)
        .show(ctx, |ui| {
            ui.horizontal_wrapped(|ui| {
                for f in Figure::ALL {
                    let label = match f {
                        Figure::View => format!("this view ({view_name})"),
                        _ => f.label().to_string(),
                    };
                    let tip = match f {
                        Figure::View => "The picture of the tab shown (on the Training tab: the curves)",
                        Figure::Curves => "Loss and metric per epoch, as `convlab render --view training` draws them",
                        Figure::CurvesCsv => "epoch, train/val loss, train/val metric: one row per finished epoch",
                        Figure::Confusion => "The latest validation confusion matrix (classification only)",
                    };
                    ui.radio_value(&mut figure.what, f, label).on_hover_text(tip);
                }
            });
            ui.add_enabled_ui(figure.what != Figure::CurvesCsv, |ui| {
                ui.horizontal(|ui| {
                    ui.label("scale").on_hover_text(SCALE_TIP);
                    ui.radio_value(&mut figure.scale, 1, "1×")
                        .on_hover_text("The picture as drawn");
                    ui.radio_value(&mut figure.scale, 2, "2×")
                        .on_hover_text(SCALE_TIP);
                });
            });
            ui.horizontal(|ui| {
                let l = ui.label("Figure path");
                let hint = format!("e.g. {view_name}.png");
                ui.add(
                    egui::TextEdit::singleline(&mut figure.path)
                        .hint_text(hint)
                        .desired_width(260.0),
                )
                    .labelled_by(l.id)
                    .on_hover_text(
                        "Where to write the figure; the extension follows what is saved \
                         (.png or .csv)",
                    );
                if ui
                    .add_enabled(dialog_ready, egui::Button::new("Browse…"))
                    .on_hover_text("Choose the file with the system's dialog, then save")
                    .clicked()
                {
                    commands.push(UiCommand::Dialog(DialogPurpose::Figure));
                }
            });
            ui.horizontal(|ui| {
                if ui
                    .button("Save figure")
                    .on_hover_text("Write the figure to the path (atomically: never half a file)")
                    .clicked()
                {
                    commands.push(UiCommand::SaveFigure(figure.path.clone().into()));
                }
                if ui
                    .add_enabled(figure.what != Figure::CurvesCsv, egui::Button::new("Copy"))
                    .on_hover_text(
                        "Copy the picture to the clipboard, where the system's clipboard takes \
                         images",
                    )
                    .clicked()
                {
                    commands.push(UiCommand::CopyFigure);
                }
            });
            if let Some((text, is_error)) = &figure.last {
                if *is_error {
                    ui.colored_label(ui.visuals().error_fg_color, text);
                } else {
                    ui.weak(text);
                }
            }
        });
    figure.open &= open;
}
