//! The walkthrough panel: the steps of the loaded preset in a side panel, with Next /
//! Previous / Re-run buttons and the step list; the presenter theme (larger fonts, high
//! contrast). Entering a step and running its actions is the app's logic
//! (`ui::app::walkthrough`): the panel asks for moves with [`WalkCommand`]s.

use eframe::egui::{self, Color32, RichText, Ui};

use crate::spec::SpecError;
use crate::spec::walkthrough::{Action, Step};
use crate::ui::command::{UiCommand, WalkCommand};

/// What the walkthrough panel shows; its buttons and step list push [`WalkCommand`]s.
pub struct WalkPanel<'a> {
    /// The preset's steps.
    pub steps: &'a [Step],
    /// The current step (0-based).
    pub step: usize,
    /// The step's actions are still running.
    pub busy: bool,
    /// Why the last action failed.
    pub error: Option<&'a SpecError>,
    pub commands: &'a mut Vec<UiCommand>,
}

/// Applies or removes the presenter theme: larger fonts, high contrast (black on white),
/// colour-blind-safe maps (viridis; the views' diverging map is blue-white-red).
pub fn apply_presenter(ctx: &egui::Context, on: bool) {
    ctx.all_styles_mut(|s| {
        let defaults = egui::style::default_text_styles();
        for (style, font) in s.text_styles.iter_mut() {
            let base = defaults.get(style).map_or(font.size, |f| f.size);
            font.size = if on { base * 1.3 } else { base };
        }
        if on {
            s.visuals = egui::Visuals::light();
            s.visuals.override_text_color = Some(Color32::BLACK);
            s.visuals.widgets.noninteractive.bg_stroke.color = Color32::BLACK;
        }
    });
    if !on {
        // Each theme's own visuals (never call into `ctx` inside `all_styles_mut`: it holds
        // the context's lock).
        ctx.style_mut_of(egui::Theme::Light, |s| s.visuals = egui::Visuals::light());
        ctx.style_mut_of(egui::Theme::Dark, |s| s.visuals = egui::Visuals::dark());
    }
}

/// Height of the step text box, in lines of body text: the longest stock step fits.
const TEXT_LINES: f32 = 16.0;

/// The walkthrough panel.
pub fn walkthrough_ui(panel: WalkPanel<'_>, ui: &mut Ui) {
    let WalkPanel {
        steps,
        step,
        busy,
        error,
        commands,
    } = panel;
    ui.horizontal(|ui| {
        ui.heading("Walkthrough");
        ui.weak(format!("{} steps", steps.len()));
    });
    let k = step.min(steps.len().saturating_sub(1));
    ui.horizontal(|ui| {
        if ui
            .add_enabled(k > 0, egui::Button::new("< Previous"))
            .on_hover_text("Previous step (Left, Up or PageUp). Shows its view; does not undo training.")
            .clicked()
        {
            commands.push(UiCommand::Walk(WalkCommand::Previous));
        }
        if ui
            .add_enabled(k + 1 < steps.len(), egui::Button::new("Next >"))
            .on_hover_text("Next step (Right, Down or PageDown): shows its view and runs its actions.")
            .clicked()
        {
            commands.push(UiCommand::Walk(WalkCommand::Next));
        }
        if ui
            .button("Re-run step")
            .on_hover_text("From the preset as loaded: fresh weights from its seed, then the actions of every step up to this one. Same result every time.")
            .clicked()
        {
            commands.push(UiCommand::Walk(WalkCommand::Rerun(k)));
        }
    });
    // The step's text in a box of fixed height (scrolling when longer), so that the step
    // list and the model editor below stay where they are from step to step: a second
    // click on the list must not land on a different step.
    let height = TEXT_LINES * ui.text_style_height(&egui::TextStyle::Body);
    egui::ScrollArea::vertical()
        .id_salt(("walk_text", k))
        .auto_shrink([false, false])
        .min_scrolled_height(height)
        .max_height(height)
        .show(ui, |ui| {
            if busy {
                ui.label(RichText::new("running the step's actions…").italics());
            }
            if let Some(e) = error {
                ui.colored_label(Color32::from_rgb(200, 60, 60), e.to_string());
            }
            if let Some(step) = steps.get(k) {
                ui.separator();
                ui.label(
                    RichText::new(format!("{}. {}", k + 1, step.title))
                        .strong()
                        .size(18.0),
                );
                ui.label(&step.text);
                let actions: Vec<String> = step
                    .actions
                    .iter()
                    .map(|a| match a {
                        Action::Train { epochs } => format!("train {epochs} epochs"),
                        Action::Reset => "reset the weights".into(),
                        Action::Set { key, value } => format!("set {key} = {value}"),
                        Action::PinRun { name } => format!("keep this run as '{name}'"),
                    })
                    .collect();
                if !actions.is_empty() {
                    ui.weak(format!("Actions: {}", actions.join(", ")));
                }
            }
        });
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("walk_steps")
        .max_height(220.0)
        .show(ui, |ui| {
            for (i, step) in steps.iter().enumerate() {
                if ui
                    .selectable_label(i == k, format!("{}. {}", i + 1, step.title))
                    .clicked()
                {
                    commands.push(UiCommand::Walk(WalkCommand::Enter(i)));
                }
            }
        });
}
