//! Walkthrough mode's logic: entering a step shows its view (node, channel, input,
//! overlay) and queues its actions (train N epochs, set a key of the preset, reset), run in
//! order from frame to frame — all from the preset's seed, so a step gives the same result
//! every time. Next/Previous come from the panel's buttons (as [`WalkCommand`]s) and from
//! the keys (arrows, PageUp/PageDown for presenter remotes). The panel itself is
//! `ui::panels::walkthrough`.

use std::collections::VecDeque;

use eframe::egui::{self, Key};

use super::{ConvLabApp, UiCommand};
use crate::inspect::routing::LectureCase;
use crate::spec::view::{LectureWindow, Overlay};
use crate::spec::walkthrough::{Action, Step, set_key};
use crate::spec::{Preset, SpecError};
use crate::train::messages::RunState;
use crate::ui::command::WalkCommand;
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
    /// Why the last `set` action could not change the preset.
    pub error: Option<SpecError>,
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

    /// Carries out a move the walkthrough panel asked for.
    pub(super) fn walk_command(&mut self, command: WalkCommand) {
        match command {
            WalkCommand::Enter(k) => self.walk_enter(k, true),
            WalkCommand::Next => self.walk_next(),
            WalkCommand::Previous => self.walk_previous(),
            WalkCommand::Rerun(k) => self.walk_rerun(k),
        }
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
                self.commands.push(UiCommand::Pause);
            }
            self.walk.pending.extend(step.actions.iter().cloned());
        }
    }

    /// Re-runs step `k` from the loaded preset: fresh weights from its seed, then the
    /// actions of steps 1..=k in order.
    pub(super) fn walk_rerun(&mut self, k: usize) {
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

    fn walk_next(&mut self) {
        if self.walk.step + 1 < self.steps().len() {
            self.walk_enter(self.walk.step + 1, true);
        }
    }

    fn walk_previous(&mut self) {
        if self.walk.step > 0 {
            self.walk_enter(self.walk.step - 1, false);
        }
    }

    /// Runs queued actions one after another (called every frame).
    pub(super) fn walk_logic(&mut self) {
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
                        Err(e) => self.walk.error = Some(e),
                    }
                    self.walk.fresh = true;
                    self.walk.pending.pop_front();
                }
                Action::Reset => {
                    self.walk.fresh = true;
                    self.walk.pending.pop_front();
                }
                Action::PinRun { name } => {
                    if self.run.state == RunState::Running {
                        return;
                    }
                    self.pin_current_run(&name);
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

    /// Arrows and PageUp/PageDown move through the steps (unless a text field has focus).
    pub(super) fn walk_keys(&mut self, ctx: &egui::Context) {
        if !self.walk.active || self.project.preset.walkthrough.is_empty() {
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
            self.walk_next();
        } else if prev {
            self.walk_previous();
        }
    }
}
