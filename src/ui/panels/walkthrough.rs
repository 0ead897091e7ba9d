//! Walkthrough mode: the steps of the loaded preset in a side panel; Next/Previous by
//! buttons and keys (arrows, PageUp/PageDown for presenter remotes). Entering a step shows
//! its view (node, channel, input, overlay) and runs its actions in order (train N epochs,
//! set a key of the preset, reset) — all from the preset's seed, so a step gives the same
//! result every time. A presenter theme enlarges fonts and raises contrast.

use std::collections::VecDeque;

use eframe::egui::{self, Color32, Key, RichText, Ui};

use crate::inspect::routing::LectureCase;
use crate::spec::Preset;
use crate::spec::view::{LectureWindow, Overlay};
use crate::spec::walkthrough::{Action, Step, set_key};
use crate::train::messages::RunState;
use crate::ui::app::ConvLabApp;
use crate::ui::inspector::InputChoice;

/// The walkthrough's state.
#[derive(Default)]
pub struct WalkState {
    /// Show the walkthrough panel (when the preset has steps).
    pub active: bool,
    /// The current step (0-based).
    pub step: usize,
    /// The preset as loaded (re-runs start from it).
    pub base: Option<Preset>,
    pending: VecDeque<Action>,
    /// Training until the history reaches this many epochs.
    waiting_for: Option<usize>,
    /// A Set or Reset asks for fresh weights before the next training.
    fresh: bool,
    pub error: Option<String>,
    /// Steps entered (tests).
    pub entered: usize,
}

impl WalkState {
    pub fn for_preset(p: &Preset) -> WalkState {
        WalkState {
            active: !p.walkthrough.is_empty(),
            base: (!p.walkthrough.is_empty()).then(|| p.clone()),
            ..WalkState::default()
        }
    }

    /// Actions still to run (or training still under way).
    pub fn busy(&self) -> bool {
        !self.pending.is_empty() || self.waiting_for.is_some() || self.fresh
    }
}

impl ConvLabApp {
    fn steps(&self) -> &[Step] {
        &self.project.preset.walkthrough
    }

    /// Shows step `k`'s view; with `run`, queues its actions.
    pub fn walk_enter(&mut self, k: usize, run: bool) {
        let Some(step) = self.steps().get(k).cloned() else {
            return;
        };
        self.walk.step = k;
        self.walk.entered += 1;
        self.walk.error = None;
        let s = &mut self.views.settings;
        s.tab = step.view;
        s.node = step.node.clone();
        s.channel = step.channel.unwrap_or(0);
        s.enlarge = None;
        s.selected = None;
        s.steps = None;
        s.lecture = None;
        s.unit = None;
        s.input = InputChoice::Sample(step.input.unwrap_or(0));
        // The settings the window has; the others (which filters, which saliency map, which
        // anomaly picture) are shown together anyway.
        match step.overlay {
            Some(Overlay::SharedScale) => s.shared = true,
            Some(Overlay::Lecture(w)) => {
                s.lecture = Some(match w {
                    LectureWindow::K2S2 => LectureCase::K2S2,
                    LectureWindow::K3S1 => LectureCase::K3S1,
                    LectureWindow::K2S1 => LectureCase::K2S1,
                });
            }
            Some(Overlay::Shift(n)) => s.shift = (n, n),
            Some(Overlay::ErrorColours | Overlay::ErrorMaps) => self.views.seg_errors = true,
            Some(Overlay::MaskOverlay) => self.views.seg_errors = false,
            Some(
                Overlay::Classical
                | Overlay::Learned
                | Overlay::Average
                | Overlay::SaliencyMap
                | Overlay::GradCam
                | Overlay::Norms
                | Overlay::Histogram
                | Overlay::Roc,
            )
            | None => {}
        }
        if run {
            if self.run.state == RunState::Running {
                self.commands.push(crate::ui::app::UiCommand::Pause);
            }
            self.walk.pending.extend(step.actions.iter().cloned());
        }
    }

    /// Re-runs step `k` from the loaded preset: fresh weights from its seed, then the
    /// actions of steps 1..=k in order.
    pub fn walk_rerun(&mut self, k: usize) {
        let Some(base) = self.walk.base.clone() else {
            return;
        };
        self.project.preset = Preset {
            walkthrough: base.walkthrough.clone(),
            ..base.clone()
        };
        self.walk.pending.clear();
        self.walk.waiting_for = None;
        self.walk.fresh = true;
        let actions: Vec<Action> = base
            .walkthrough
            .iter()
            .take(k + 1)
            .flat_map(|s| s.actions.iter().cloned())
            .collect();
        self.walk_enter(k, false);
        self.walk.pending.extend(actions);
    }

    pub fn walk_next(&mut self) {
        if self.walk.step + 1 < self.steps().len() {
            self.walk_enter(self.walk.step + 1, true);
        }
    }

    pub fn walk_previous(&mut self) {
        if self.walk.step > 0 {
            self.walk_enter(self.walk.step - 1, false);
        }
    }

    /// Runs queued actions one after another (called every frame).
    pub fn walk_logic(&mut self) {
        if let Some(target) = self.walk.waiting_for {
            let failed = matches!(self.run.state, RunState::Failed) || self.run.error.is_some();
            if !failed && (self.run.history.len() < target || self.run.state == RunState::Running) {
                return;
            }
            self.walk.waiting_for = None;
        }
        while let Some(action) = self.walk.pending.front().cloned() {
            match action {
                Action::Set { key, value } => {
                    match set_key(&self.project.preset, &key, &value) {
                        Ok(p) => self.project.preset = p,
                        Err(e) => self.walk.error = Some(e.to_string()),
                    }
                    self.walk.fresh = true;
                    self.walk.pending.pop_front();
                }
                Action::Reset => {
                    self.walk.fresh = true;
                    self.walk.pending.pop_front();
                }
                Action::Train { epochs } => {
                    if self.run.state == RunState::Running {
                        return;
                    }
                    if self.walk.fresh {
                        if !self.walk_configure(true) {
                            return;
                        }
                        self.walk.fresh = false;
                    } else if self.needs_configure() && !self.walk_configure(false) {
                        return;
                    }
                    let target = self.run.history.len() + epochs;
                    self.project.preset.training.epochs = target;
                    self.start_training_to(target);
                    self.walk.waiting_for = Some(target);
                    self.walk.pending.pop_front();
                    return;
                }
            }
        }
        if self.walk.fresh && self.walk_configure(true) {
            self.walk.fresh = false;
        }
    }
}

/// Arrows and PageUp/PageDown move through the steps (unless a text field has focus).
pub fn walk_keys(app: &mut ConvLabApp, ctx: &egui::Context) {
    if !app.walk.active || app.project.preset.walkthrough.is_empty() {
        return;
    }
    if ctx.memory(|m| m.focused().is_some()) {
        return;
    }
    let (next, prev) = ctx.input_mut(|i| {
        let n = [Key::ArrowRight, Key::ArrowDown, Key::PageDown]
            .into_iter()
            .any(|k| i.consume_key(egui::Modifiers::NONE, k));
        let p = [Key::ArrowLeft, Key::ArrowUp, Key::PageUp]
            .into_iter()
            .any(|k| i.consume_key(egui::Modifiers::NONE, k));
        (n, p)
    });
    if next {
        app.walk_next();
    } else if prev {
        app.walk_previous();
    }
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
pub fn walkthrough_ui(app: &mut ConvLabApp, ui: &mut Ui) {
    let steps = app.project.preset.walkthrough.clone();
    ui.horizontal(|ui| {
        ui.heading("Walkthrough");
        ui.weak(format!("{} steps", steps.len()));
    });
    let k = app.walk.step.min(steps.len().saturating_sub(1));
    ui.horizontal(|ui| {
        if ui
            .add_enabled(k > 0, egui::Button::new("< Previous"))
            .on_hover_text("Previous step (Left, Up or PageUp). Shows its view; does not undo training.")
            .clicked()
        {
            app.walk_previous();
        }
        if ui
            .add_enabled(k + 1 < steps.len(), egui::Button::new("Next >"))
            .on_hover_text("Next step (Right, Down or PageDown): shows its view and runs its actions.")
            .clicked()
        {
            app.walk_next();
        }
        if ui
            .button("Re-run step")
            .on_hover_text("From the preset as loaded: fresh weights from its seed, then the actions of every step up to this one. Same result every time.")
            .clicked()
        {
            app.walk_rerun(k);
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
            if app.walk.busy() {
                ui.label(RichText::new("running the step's actions…").italics());
            }
            if let Some(e) = &app.walk.error {
                ui.colored_label(Color32::from_rgb(200, 60, 60), e);
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
                    app.walk_enter(i, true);
                }
            }
        });
}
