//! The window's layout: which panel goes where, and what each is given. A panel gets the
//! state it shows (borrowed), the state it edits in place (its own, the project, the
//! persisted UI settings) and the command list for everything else.

use std::time::Instant;

use eframe::egui;

use super::ConvLabApp;
use crate::spec::view::ViewId;
use crate::ui::panels;
use crate::ui::panels::curves::Curves;
use crate::ui::panels::data_panel::DataPanel;
use crate::ui::panels::gallery::Gallery;
use crate::ui::panels::top_bar::TopBar;
use crate::ui::panels::training_panel::TrainingPanel;
use crate::ui::panels::views::ViewsPanel;
use crate::ui::panels::walkthrough::WalkPanel;

impl ConvLabApp {
    /// The whole window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let cpu_start = Instant::now();
        let dialog_ready = self.dialog_ready();
        panels::top_bar::top_bar_ui(
            TopBar {
                project: &self.project,
                presets: &self.presets,
                dialog_ready,
                state: &mut self.state,
                walk_active: &mut self.walk.active,
                commands: &mut self.commands,
            },
            ui,
        );
        panels::status_bar::status_bar_ui(ui, &self.run, &self.message, &self.frames);
        let walking = self.walk.active && !self.project.preset.walkthrough.is_empty();
        egui::Panel::left("model_editor")
            .resizable(true)
            .default_size(400.0)
            .min_size(300.0)
            .show(ui, |ui| {
                if walking {
                    panels::walkthrough::walkthrough_ui(
                        WalkPanel {
                            steps: &self.project.preset.walkthrough,
                            step: self.walk.step,
                            busy: self.walk.busy(),
                            error: self.walk.error.as_ref(),
                            commands: &mut self.commands,
                        },
                        ui,
                    );
                    ui.separator();
                }
                let shape = self.dataset().map(|d| d.sample_shape());
                let classes = self.dataset().map_or(10, |d| d.class_names.len().max(1));
                if walking {
                    egui::CollapsingHeader::new("Model")
                        .default_open(false)
                        .show(ui, |ui| {
                            self.editor.ui(ui, &mut self.project, shape, classes);
                        });
                } else {
                    self.editor.ui(ui, &mut self.project, shape, classes);
                }
            });
        egui::Panel::right("data_and_training")
            .resizable(true)
            .default_size(340.0)
            .min_size(280.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("right_scroll")
                    .show(ui, |ui| {
                        egui::CollapsingHeader::new("Data")
                            .default_open(true)
                            .show(ui, |ui| {
                                panels::data_panel::data_panel_ui(
                                    DataPanel {
                                        project: &mut self.project,
                                        data: &self.data,
                                        panel: &mut self.data_panel,
                                        gallery: &mut self.gallery,
                                        state: &mut self.state,
                                        dialog_ready,
                                        commands: &mut self.commands,
                                    },
                                    ui,
                                );
                            });
                        egui::CollapsingHeader::new("Training")
                            .default_open(true)
                            .show(ui, |ui| {
                                let class_names = self
                                    .data
                                    .split
                                    .as_ref()
                                    .map_or(&[][..], |s| &s.val.class_names[..]);
                                let pipeline = self.pipeline_status(ui.ctx());
                                panels::training_panel::training_panel_ui(
                                    TrainingPanel {
                                        preset: &mut self.project.preset,
                                        configured: self.trainer.config.as_ref(),
                                        data_version: self.data.version,
                                        run: &self.run,
                                        class_names,
                                        gallery_filter: &mut self.gallery.filter,
                                        commands: &mut self.commands,
                                        pipeline,
                                        evolution: self.views.evolution.as_ref(),
                                    },
                                    ui,
                                );
                            });
                        egui::CollapsingHeader::new("Pipeline")
                            .default_open(self.project.preset.pipeline.is_some())
                            .show(ui, |ui| {
                                panels::pipeline_panel::pipeline_panel_ui(
                                    &mut self.project.preset.pipeline,
                                    ui,
                                );
                            });
                    });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            panels::views::tab_bar_ui(&mut self.views, &self.project.preset.model, ui);
            panels::figures::figure_button_ui(&mut self.figures, ui);
            if self.views.settings.tab != ViewId::ConvArithmetic {
                panels::timeline::timeline_ui(
                    &mut self.views.settings.at_step,
                    &self.run.moments,
                    &mut self.views.timeline,
                    ui,
                );
            }
            ui.separator();
            if self.views.settings.tab == ViewId::Training {
                self.training_tab_ui(ui);
            } else {
                let configured = self.worker_configured();
                panels::views::views_ui(
                    ViewsPanel {
                        views: &mut self.views,
                        model: &self.project.preset.model,
                        facts: self.project.facts().full.as_ref(),
                        split: self.data.split.as_ref(),
                        run_state: self.run.state,
                        configured,
                        commands: &mut self.commands,
                        diffusion_steps: self
                            .project
                            .preset
                            .data
                            .diffusion
                            .as_ref()
                            .map(|d| d.steps),
                        evolution: self.project.preset.evolution.as_ref(),
                    },
                    ui,
                );
            }
        });
        if self.figures.open {
            panels::figures::figure_window_ui(
                panels::figures::FiguresPanel {
                    figure: &mut self.figures,
                    view_name: self.views.settings.tab.name(),
                    dialog_ready,
                    commands: &mut self.commands,
                },
                &ctx,
            );
        }
        if self.state.show_frame_overlay {
            panels::status_bar::frame_overlay_ui(&self.frames, &ctx);
        }
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            panels::status_bar::drop_hint_ui(&ctx);
        }
        self.screenshot_ui(&ctx);
        self.frames.on_ui_done(cpu_start.elapsed());
        self.soak_ui(&ctx);
    }

    /// The Training tab of the central area: the curves above the prediction gallery.
    fn training_tab_ui(&mut self, ui: &mut egui::Ui) {
        panels::curves::curves_ui(
            Curves {
                run: &self.run,
                loss: self.project.preset.training.loss,
                log_scale: &mut self.state.log_scale,
                show_step_loss: &mut self.state.show_step_loss,
                marker: self.views.settings.at_step.and_then(|step| {
                    self.run
                        .moments
                        .iter()
                        .rfind(|m| m.step <= step)
                        .map(|m| m.epoch)
                }),
                overlays: panels::runs_panel::overlaid(&self.runs, self.runs_link.current),
            },
            ui,
        );
        panels::runs_panel::runs_panel_ui(
            panels::runs_panel::RunsPanel {
                runs: &self.runs,
                current: self.runs_link.current,
                state: &mut self.runs_panel,
                commands: &mut self.commands,
            },
            ui,
        );
        ui.separator();
        panels::gallery::gallery_ui(
            &mut self.gallery,
            Gallery {
                val: self.data.split.as_ref().map(|s| &s.val),
                run: &self.run,
                colormap: self.state.colormap,
                commands: &mut self.commands,
            },
            ui,
        );
    }
}

impl ConvLabApp {
    /// The preset's handcrafted pipeline on the loaded data, for the Training panel: the
    /// evaluation the Handcrafted pipeline tab made, or one started in the background for
    /// this data and pipeline (`None`: the preset has no pipeline).
    fn pipeline_status(
        &self,
        ctx: &egui::Context,
    ) -> Option<crate::ui::classical_cache::PipelineStatus> {
        use crate::ui::classical_cache::{PipelineStatus, evaluation_for};
        let spec = self.project.preset.pipeline.as_ref()?;
        let data = &self.project.preset.data;
        // Only the split of the data the preset asks for (not the previous one still
        // shown while the next loads).
        let split = self
            .data
            .split
            .as_ref()
            .filter(|s| s.fits(data) && self.data.dataset_for(data).is_some());
        let Some(split) = split else {
            return Some(PipelineStatus::WaitingForData);
        };
        let ctx = ctx.clone();
        Some(evaluation_for(
            self.views.classical_cache(),
            data,
            spec,
            &split.train,
            &split.val,
            move || ctx.request_repaint(),
        ))
    }
}
