//! The central area's tabs and the inspection views. The views are computed on the
//! trainer thread (see [`crate::ui::inspector`]); this file shows them, with a shared input
//! picker, a node picker per view, hover values and clicks. The Training tab's curves and
//! gallery are their own panels (the app's layout places them).
//!
//! The panel edits its own state ([`ViewsUi`]: the settings sent to the inspector, the
//! textures, the anomaly and segmentation sliders) and reads the rest from a [`ViewsPanel`];
//! [`ViewsUi::inspector_update`] says what the trainer's inspector must be told.

use std::path::Path;
use std::sync::Arc;

use eframe::egui::{self, Color32, Sense, TextureHandle, TextureOptions, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, VLine};

use crate::engine::facts::ModelFacts;
use crate::engine::{ModelSpec, NodeKind};
use crate::inspect::anomaly::confusion_at;
use crate::inspect::routing::LectureCase;
use crate::spec::view::ViewId;
use crate::train::messages::{InspectJob, Latest, RunState};
use crate::ui::command::UiCommand;
use crate::ui::inspector::{
    AnomalyCache, InputChoice, ViewInspector, ViewResult, ViewSettings, error_scale,
};
use crate::ui::session::SplitData;
use crate::ui::texture::{to_color_image, upload};
use crate::viz::draw::blend;
use crate::viz::overlay::heatmap_overlay;
use crate::viz::routing::PanelKind;
// The mask colours the segmentation pictures use, so the legend matches them.
use crate::viz::views::segmentation::CLASS_COLORS;

/// The views' state in the window.
#[derive(Default)]
pub struct ViewsUi {
    pub settings: ViewSettings,
    /// What the trainer's inspector was last given.
    sent: Option<(ViewSettings, u64)>,
    pub out: Latest<ViewResult>,
    seen: u64,
    pub result: Option<Arc<ViewResult>>,
    /// Results received (tests and the status line).
    pub results_received: u64,
    texture: Option<TextureHandle>,
    aux: Vec<TextureHandle>,
    aux_key: Option<(u64, u32, u32, bool)>,
    pub image_path: String,
    pub image_error: Option<ImageInputError>,
    anomaly_cache: AnomalyCache,
    classical_cache: crate::ui::inspector::ClassicalCache,
    pub anomaly_opacity: f32,
    /// Pixel threshold as a share of the largest error (errors below are not drawn).
    pub pixel_threshold: f32,
    pub score_threshold: Option<f64>,
    /// The user moved the threshold (otherwise it follows the median score).
    pub threshold_moved: bool,
    pub seg_threshold: f64,
    pub seg_opacity: f32,
    pub seg_errors: bool,
    /// `[epochs, mean IoU]` seen during training.
    pub iou_history: Vec<[f64; 2]>,
    /// The hover line under the picture.
    hover: String,
    /// The conv arithmetic tab (computed in the window, no model).
    pub sandbox: super::sandbox::SandboxUi,
    /// The Evolved features tab's run (in the background, no model) and its picture.
    pub evolution: Option<crate::ui::evolution_run::EvolutionRun>,
    evolution_texture: Option<TextureHandle>,
    /// Generations and sample the texture shows.
    evolution_shown: Option<(usize, usize)>,
    /// Why the tab shows another view than the one clicked (the neuron diagram of a conv
    /// net shows its activations).
    pub fallback_note: Option<String>,
    /// The drawing canvas (kept when closed, so reopening shows the same drawing) and
    /// whether its window is open.
    pub drawing: Option<super::drawing::Drawing>,
    pub drawing_open: bool,
    /// Where the pointer was at the previous frame of a stroke (input pixels).
    drawing_last: Option<(f32, f32)>,
    /// The playback timeline's state (its position is `settings.at_step`).
    pub timeline: super::timeline::TimelineUi,
    /// The pictures the Anomaly or Segmentation tab composes in the window (with their
    /// captions), as shown: what "Save PNG…" saves for those tabs.
    pub composed: Option<(ViewId, Vec<(&'static str, crate::viz::Rgba)>)>,
}

/// What the views panel reads besides its own state.
pub struct ViewsPanel<'a> {
    pub views: &'a mut ViewsUi,
    /// The model being edited: the node pickers list its nodes.
    pub model: &'a ModelSpec,
    /// Its facts (`None` while it has an error): a node's channels bound the channel pickers.
    pub facts: Option<&'a ModelFacts>,
    /// The split data: the input picker counts its samples.
    pub split: Option<&'a SplitData>,
    pub run_state: RunState,
    /// The trainer has the model and the data (otherwise there is nothing to inspect).
    pub configured: bool,
    /// What the panel asks of the app (the single unit's edits of w and b).
    pub commands: &'a mut Vec<UiCommand>,
    /// T of the preset's diffusion schedule (the diffusion view's step slider spans 1..=T).
    pub diffusion_steps: Option<usize>,
    /// The preset's `[evolution]` (the Evolved features tab's settings; defaults without).
    pub evolution: Option<&'a crate::classical::EvolutionSpec>,
}

/// What the trainer's inspector must be told (from [`ViewsUi::inspector_update`]).
pub enum InspectorUpdate {
    /// Inspect with these settings (the tab shows a view of the model).
    Install(InspectJob),
    /// Stop inspecting (the tab needs no model).
    Remove,
}

/// Why an image file cannot be the views' input.
#[derive(Debug, thiserror::Error)]
pub enum ImageInputError {
    #[error("the model takes {0} channels; an image gives 1 or 3")]
    Channels(usize),
    #[error("{path}: {source}")]
    Unreadable {
        path: String,
        source: crate::data::folder::ImageError,
    },
    /// The decoded pixels do not fill the model's input (a loader bug, not the file's fault).
    #[error("{path}: {source}")]
    Shape {
        path: String,
        source: ndarray::ShapeError,
    },
}

impl ViewsUi {
    pub fn new() -> ViewsUi {
        ViewsUi {
            anomaly_opacity: 0.6,
            pixel_threshold: 0.2,
            seg_threshold: 0.5,
            seg_opacity: 0.5,
            seg_errors: true,
            ..ViewsUi::default()
        }
    }

    /// What the trainer's inspector must be told to stay in step with the settings, if
    /// they changed since it was last told (asked every frame, before the UI).
    pub fn inspector_update(&mut self) -> Option<InspectorUpdate> {
        let key = (self.settings.clone(), self.seg_threshold.to_bits());
        // The Evolved features tab runs its evolution in its own background job (see
        // `evolution_ui`); the inspector draws the network's filters beside it.
        let wanted = self.settings.tab.uses_model();
        let current = self.sent.as_ref().map(|(s, t)| (s.clone(), *t));
        if wanted && current.as_ref() != Some(&key) {
            let job = ViewInspector {
                settings: self.settings.clone(),
                out: self.out.clone(),
                anomaly_cache: Arc::clone(&self.anomaly_cache),
                seg_threshold: self.seg_threshold,
                classical_cache: Arc::clone(&self.classical_cache),
            };
            self.sent = Some(key);
            Some(InspectorUpdate::Install(InspectJob(Box::new(job))))
        } else if !wanted && self.sent.is_some() {
            self.sent = None;
            Some(InspectorUpdate::Remove)
        } else {
            None
        }
    }

    /// The handcrafted pipeline's results, shared with the Training panel.
    pub fn classical_cache(&self) -> &crate::ui::inspector::ClassicalCache {
        &self.classical_cache
    }

    /// Takes the inspector's newest result, if any (every frame, before the UI); its
    /// picture is uploaded as a texture only then.
    pub fn take_result(&mut self, ctx: &egui::Context) {
        let mut seen = self.seen;
        if let Some(r) = self.out.take_newer(&mut seen) {
            self.results_received += 1;
            match &r.image {
                Some(img) => upload(ctx, &mut self.texture, "view", img),
                None => self.texture = None,
            }
            if let Some(seg) = &r.segmentation {
                let point = [r.total_steps as f64, seg.mean_iou];
                if self.iou_history.last().is_none_or(|p| p[0] < point[0]) {
                    self.iou_history.push(point);
                } else if r.total_steps == 0 {
                    self.iou_history = vec![point];
                }
            }
            self.aux_key = None;
            if !self.threshold_moved {
                self.score_threshold = None;
            }
            self.result = Some(r);
        }
        self.seen = seen;
    }

    /// Makes an image file the input of every view, resized to the model's `input`
    /// (`[c, h, w]`); a file that cannot be used leaves the input as it was and says why in
    /// `image_error`.
    pub fn use_image(&mut self, path: &Path, input: [usize; 3]) {
        self.image_error = None;
        match image_input(path, input) {
            Ok(t) => {
                self.image_path = path.display().to_string();
                self.settings.input = InputChoice::Image {
                    path: path.display().to_string(),
                    pixels: Arc::new(t),
                };
                if !self.settings.tab.uses_model() {
                    self.settings.tab = ViewId::Activations;
                }
            }
            Err(e) => self.image_error = Some(e),
        }
    }
}

/// The image at `path` as a `[1, c, h, w]` input for a model taking `[c, h, w]`.
fn image_input(
    path: &Path,
    [c, h, w]: [usize; 3],
) -> Result<crate::engine::Tensor<f32>, ImageInputError> {
    if c != 1 && c != 3 {
        return Err(ImageInputError::Channels(c));
    }
    let opts = crate::data::folder::ImageOptions {
        size: [h, w],
        grayscale: c == 1,
    };
    let path_text = || path.display().to_string();
    let pixels = crate::data::folder::load_image(path, opts).map_err(|source| {
        ImageInputError::Unreadable {
            path: path_text(),
            source,
        }
    })?;
    crate::engine::Tensor::from_shape_vec((1, c, h, w), pixels).map_err(|source| {
        ImageInputError::Shape {
            path: path_text(),
            source,
        }
    })
}

fn node_allowed(tab: ViewId, kind: &NodeKind) -> bool {
    match tab {
        ViewId::Filters => matches!(kind, NodeKind::Conv2d(_)),
        // Spatial maps whose channels mean something: not the reshaping nodes.
        ViewId::TopPatches => !matches!(kind, NodeKind::Flatten),
        ViewId::Routing => matches!(
            kind,
            NodeKind::MaxPool2d(_) | NodeKind::MinPool2d(_) | NodeKind::AvgPool2d(_)
        ),
        // A dense layer or an activation after it.
        ViewId::Unit => !matches!(kind, NodeKind::Conv2d(_) | NodeKind::Flatten),
        _ => true,
    }
}

/// The central area's tabs (the Training tab among them); picking one keeps the node
/// if `model`'s node of that name suits the new view.
pub fn tab_bar_ui(views: &mut ViewsUi, model: &ModelSpec, ui: &mut Ui) {
    ui.horizontal_wrapped(|ui| {
        for tab in ViewId::ALL {
            let selected = views.settings.tab == tab;
            if ui
                .selectable_label(selected, tab.title())
                .on_hover_text(tab.tooltip())
                .clicked()
            {
                let (shown, note) = shown_tab(tab, model);
                views.settings.tab = shown;
                views.fallback_note = note;
                views.settings.enlarge = None;
                views.settings.selected = None;
                if !node_ok(&views.settings, model, shown) {
                    views.settings.node = None;
                }
            }
        }
    });
}

/// The view a click on `tab` shows, and why if it is another: the neuron diagram draws
/// dense nets of points, so for a net with convolutions (or any other layer) it falls back
/// to the activations view, which shows every layer's maps.
fn shown_tab(tab: ViewId, model: &ModelSpec) -> (ViewId, Option<String>) {
    let dense_net =
        tab.draws_input(model.input) && crate::viz::views::dense_net::stages(model).is_ok();
    if tab == ViewId::Neurons && !dense_net {
        let note = "The neuron diagram draws dense nets of 2-D points or of one number; this \
                    model has other layers or inputs, so here are its activations, layer by \
                    layer.";
        (ViewId::Activations, Some(note.to_string()))
    } else {
        (tab, None)
    }
}

fn node_ok(settings: &ViewSettings, model: &ModelSpec, tab: ViewId) -> bool {
    match &settings.node {
        None => true,
        Some(n) => model
            .nodes
            .iter()
            .any(|s| &s.name == n && node_allowed(tab, &s.kind)),
    }
}

/// The node's output `[c, h, w]` from the editor's facts.
fn node_shape(facts: Option<&ModelFacts>, node: &str) -> Option<[usize; 3]> {
    facts?
        .nodes
        .iter()
        .find(|n| n.name == node)
        .map(|n| n.output)
}

fn input_picker(p: &mut ViewsPanel<'_>, ui: &mut Ui) {
    let input = p.model.input;
    let len = p.split.map_or(0, |s| {
        if s.val.is_empty() {
            s.train.len()
        } else {
            s.val.len()
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Input:")
            .on_hover_text("The input every view looks at: a validation sample, or an image file (drop one on the window).");
        let v = &mut *p.views;
        let mut k = match &v.settings.input {
            InputChoice::Sample(k) => *k,
            InputChoice::Image { .. } | InputChoice::Drawing(_) => 0,
        };
        let is_sample = matches!(v.settings.input, InputChoice::Sample(_));
        let max = if v.settings.tab == ViewId::Anomaly {
            v.result
                .as_ref()
                .and_then(|r| r.anomaly.as_ref())
                .map_or(len, |a| a.len)
        } else {
            len
        };
        let l = ui.label("sample #");
        let r = ui
            .add(egui::DragValue::new(&mut k).range(0..=max.saturating_sub(1)))
            .labelled_by(l.id);
        if r.changed() || (r.clicked() && !is_sample) {
            v.settings.input = InputChoice::Sample(k);
        }
        if ui.small_button("<").clicked() {
            v.settings.input = InputChoice::Sample(k.saturating_sub(1));
        }
        if ui.small_button(">").clicked() {
            v.settings.input = InputChoice::Sample((k + 1).min(max.saturating_sub(1)));
        }
        ui.add(
            egui::TextEdit::singleline(&mut v.image_path)
                .hint_text("image file path")
                .desired_width(180.0),
        )
        .labelled_by(ui.label("or image").id);
        if ui.button("Use image").clicked() {
            let path = std::path::PathBuf::from(v.image_path.trim());
            v.use_image(&path, input);
        }
        if ui
            .button("Draw…")
            .on_hover_text(
                "Draw an input with the mouse at the model's input size (a digit for a digit \
                 classifier); every view follows the drawing",
            )
            .clicked()
        {
            v.drawing_open = true;
            let [c, h, w] = input;
            let drawing = v
                .drawing
                .take()
                .filter(|d| d.ink.dim() == (h, w))
                .unwrap_or_else(|| super::drawing::Drawing::new(h, w));
            v.settings.input = InputChoice::Drawing(Arc::new(drawing.tensor(c)));
            v.drawing = Some(drawing);
            if !v.settings.tab.uses_model() {
                v.settings.tab = ViewId::Prediction;
            }
        }
        if matches!(v.settings.input, InputChoice::Drawing(_)) {
            ui.label("drawing");
            if ui.small_button("use samples").clicked() {
                v.settings.input = InputChoice::Sample(0);
            }
        }
        if v.settings.occluder.is_some() {
            ui.label("· part covered");
            if ui
                .small_button("uncover")
                .on_hover_text("Remove the grey square placed on the Prediction view")
                .clicked()
            {
                v.settings.occluder = None;
            }
        }
        if let Some(e) = &v.image_error {
            ui.colored_label(Color32::from_rgb(200, 60, 60), e.to_string());
        }
        // After "Use image", so that using an image does not move that button; the file
        // name truncated last in the row, the whole path on hover.
        if let InputChoice::Image { path, .. } = &v.settings.input {
            let name = std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
            let back = ui.small_button("use samples").clicked();
            // The whole path on hover says more than the elided name would.
            ui.add(
                egui::Label::new(format!("image {name}"))
                    .truncate()
                    .show_tooltip_when_elided(false),
            )
            .on_hover_text(path.as_str());
            if back {
                v.settings.input = InputChoice::Sample(0);
            }
        }
    });
}

/// Room for names such as "block4_conv2" or "enc2_relu".
const NODE_PICKER_WIDTH: f32 = 110.0;

fn node_picker(p: &mut ViewsPanel<'_>, ui: &mut Ui) {
    let tab = p.views.settings.tab;
    let nodes: Vec<String> = p
        .model
        .nodes
        .iter()
        .filter(|n| node_allowed(tab, &n.kind))
        .map(|n| n.name.clone())
        .collect();
    let v = &mut *p.views;
    let shown = v
        .settings
        .node
        .clone()
        .unwrap_or_else(|| "(automatic)".into());
    // A fixed width, the name truncated: picking a node with a long name must not move the
    // controls to its right.
    ui.scope(|ui| {
        ui.set_max_width(NODE_PICKER_WIDTH + 40.0);
        egui::ComboBox::from_label("node")
            .selected_text(shown.as_str())
            .width(NODE_PICKER_WIDTH)
            .truncate()
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(v.settings.node.is_none(), "(automatic)")
                    .clicked()
                {
                    v.settings.node = None;
                    v.settings.selected = None;
                }
                for n in nodes {
                    let sel = v.settings.node.as_deref() == Some(n.as_str());
                    if ui.selectable_label(sel, &n).clicked() {
                        v.settings.node = Some(n);
                        v.settings.channel = 0;
                        v.settings.enlarge = None;
                        v.settings.selected = None;
                        v.settings.lecture = None;
                    }
                }
            })
            .response
            .on_hover_text(format!(
                "{shown}: which node of the model this view looks at."
            ));
    });
}

fn controls(p: &mut ViewsPanel<'_>, ui: &mut Ui) {
    let tab = p.views.settings.tab;
    // Top patches' automatic node (the one the inspector picks) bounds the channel picker.
    let automatic = (tab == ViewId::TopPatches)
        .then(|| crate::inspect::top_patches::default_node(&p.model.nodes))
        .flatten();
    let channels = p
        .views
        .settings
        .node
        .clone()
        .or(automatic)
        .and_then(|n| node_shape(p.facts, &n))
        .map_or(512, |s| s[0].max(1));
    let diffusion_steps = p.diffusion_steps;
    let v = &mut *p.views;
    let s = &mut v.settings;
    ui.horizontal_wrapped(|ui| match tab {
        ViewId::Activations => {
            ui.checkbox(&mut s.shared, "shared scale")
                .on_hover_text("One colour range for all channels (which maps are strong) instead of one per map (each map's pattern).");
            if let Some(c) = s.enlarge {
                ui.label(format!("channel {c} enlarged"));
                if ui.button("show all channels").clicked() {
                    s.enlarge = None;
                }
            } else {
                ui.weak("click a map to enlarge it");
            }
        }
        ViewId::Gradients => {
            ui.checkbox(&mut s.shared, "shared scale");
            ui.weak("pick a node for its gradient maps; automatic shows every conv and pooling node");
        }
        ViewId::Routing => {
            let l = ui.label("channel");
            ui.add(egui::DragValue::new(&mut s.channel).range(0..=channels - 1))
                .labelled_by(l.id);
            for case in LectureCase::ALL {
                let on = s.lecture == Some(case);
                if ui
                    .selectable_label(on, format!("Lecture 4×4 example {}", case.label()))
                    .on_hover_text("The lecture's 4×4 input [[3,2,8,0],[4,1,3,1],[5,0,9,1],[1,2,1,1]] with this pooling.")
                    .clicked()
                {
                    s.lecture = if on { None } else { Some(case) };
                    s.selected = None;
                    s.steps = None;
                }
            }
            let mut stepping = s.steps.is_some();
            if ui
                .checkbox(&mut stepping, "step by step")
                .on_hover_text("Send the gradient back one window at a time.")
                .changed()
            {
                s.steps = stepping.then_some(1);
            }
            if let Some(k) = &mut s.steps {
                if ui.button("Previous window").clicked() {
                    *k = k.saturating_sub(1).max(1);
                }
                if ui.button("Next window").clicked() {
                    *k += 1;
                }
                ui.label(format!("{k} windows sent"));
            }
            if s.selected.is_some() && ui.button("clear selection").clicked() {
                s.selected = None;
            }
        }
        ViewId::ReceptiveField => {
            let (mut c, mut r, mut col) = s.unit.unwrap_or((s.channel, 0, 0));
            let mut changed = false;
            let l = ui.label("channel");
            changed |= ui
                .add(egui::DragValue::new(&mut c).range(0..=channels - 1))
                .labelled_by(l.id)
                .changed();
            let l = ui.label("row");
            changed |= ui
                .add(egui::DragValue::new(&mut r).range(0..=4096))
                .labelled_by(l.id)
                .changed();
            let l = ui.label("col");
            changed |= ui
                .add(egui::DragValue::new(&mut col).range(0..=4096))
                .labelled_by(l.id)
                .changed();
            if changed {
                s.unit = Some((c, r, col));
            }
            if ui.button("centre unit").clicked() {
                s.unit = None;
            }
            ui.add(egui::Slider::new(&mut s.opacity, 0.0..=1.0).text("opacity"));
        }
        ViewId::Covariance => {
            ui.add(egui::Slider::new(&mut s.shift.0, -8..=8).text("dy"));
            ui.add(egui::Slider::new(&mut s.shift.1, -8..=8).text("dx"));
            ui.checkbox(&mut s.zero_shift, "shift in zeros")
                .on_hover_text("Fill the uncovered border with zeros instead of rolling the image around (circular shift).");
        }
        ViewId::Saliency | ViewId::Occlusion => {
            ui.add(egui::Slider::new(&mut s.opacity, 0.0..=1.0).text("opacity"));
        }
        ViewId::Prediction => {
            ui.weak(
                "press or drag on the input to cover a part with a grey square (the image's \
                 mean) and watch the answer change",
            );
        }
        ViewId::TopPatches => {
            let l = ui.label("channel");
            ui.add(egui::DragValue::new(&mut s.channel).range(0..=channels - 1))
                .labelled_by(l.id)
                .on_hover_text("Which channel of the node to look for.");
            if ui.button("previous").clicked() {
                s.channel = s.channel.saturating_sub(1);
            }
            if ui.button("next").clicked() {
                s.channel = (s.channel + 1).min(channels - 1);
            }
            ui.weak(format!(
                "searched over the validation images (the training images when there are none), \
                 up to {}",
                crate::inspect::top_patches::SEARCH_LIMIT
            ));
        }
        ViewId::Anomaly => {
            ui.add(egui::Slider::new(&mut v.anomaly_opacity, 0.0..=1.0).text("opacity"));
            ui.add(egui::Slider::new(&mut v.pixel_threshold, 0.0..=1.0).text("pixel threshold"))
                .on_hover_text("Errors below this share of the largest error are not drawn.");
        }
        ViewId::Segmentation => {
            ui.add(egui::Slider::new(&mut v.seg_threshold, 0.05..=0.95).text("threshold"))
                .on_hover_text("Probability above which a pixel counts as foreground (binary masks).");
            ui.add(egui::Slider::new(&mut v.seg_opacity, 0.0..=1.0).text("opacity"));
            ui.checkbox(&mut v.seg_errors, "error colours")
                .on_hover_text("Green: true positive, red: false positive, blue: false negative.");
        }
        ViewId::UnsupervisedSegmentation => {
            use crate::inspect::unsupervised_segmentation::MAX_K;
            let mut auto = s.segments.is_none();
            if ui
                .checkbox(&mut auto, "k from the masks")
                .on_hover_text(
                    "Make as many segments as the data's masks have classes (3 when the data \
                     has no masks).",
                )
                .changed()
            {
                s.segments = if auto { None } else { Some(3) };
            }
            if let Some(k) = &mut s.segments {
                ui.add(egui::Slider::new(k, 2..=MAX_K).text("k segments"))
                    .on_hover_text(
                        "How many segments k-means makes. More segments than classes split a \
                         class; the segments left over after the Hungarian matching count as \
                         wrong in the IoU.",
                    );
            }
            ui.add(
                egui::Slider::new(
                    &mut s.segment_window,
                    1..=crate::inspect::unsupervised_segmentation::MAX_WINDOW,
                )
                .text("window"),
            )
            .on_hover_text(
                "The side, in pixels, of the window each feature is averaged over before \
                 clustering (its local texture energy), and in which the raw-pixel baseline \
                 takes its local mean and standard deviation. 1: every pixel on its own.",
            );
            ui.weak("node: (automatic) takes two depths of the encoder")
                .on_hover_text(
                    "The features clustered are the activations of the picked node, upsampled to \
                     the image. (automatic) joins the deepest encoder ReLU at the coarsest resolution \
                     above the bottleneck and the one at the next finer resolution.",
                );
        }
        ViewId::Diffusion => {
            // Without a diffusion schedule in the preset the view has nothing to noise; the
            // slider still spans the largest chain so a setting survives a preset switch.
            let steps = diffusion_steps.unwrap_or(crate::data::diffusion::MAX_STEPS);
            let mut t = s.timestep.unwrap_or(steps / 2).clamp(1, steps);
            if ui
                .add(egui::Slider::new(&mut t, 1..=steps).text("step t"))
                .on_hover_text(
                    "The step of the forward process shown with the network's noise \
                     prediction: 1 is nearly clean, T pure noise. Drag to noise the image \
                     step by step.",
                )
                .changed()
            {
                s.timestep = Some(t);
            }
            let l = ui.label("seed");
            ui.add(egui::DragValue::new(&mut s.sample_seed))
                .labelled_by(l.id)
                .on_hover_text("The seed of the reverse chain's noise: the same seed draws the same samples.");
            if ui
                .button("new samples")
                .on_hover_text("Draw other samples (the next seed).")
                .clicked()
            {
                s.sample_seed += 1;
            }
        }
        // Views without settings of their own.
        _ => {}
    });
    let mut point = super::point_views::PointControls {
        settings: &mut p.views.settings,
        result: p.views.result.as_deref(),
        model: p.model,
        commands: p.commands,
    };
    super::point_views::controls(&mut point, ui, tab);
}

/// The chosen view (below the tab bar; the Training tab is the curves and gallery panels).
pub fn views_ui(mut p: ViewsPanel<'_>, ui: &mut Ui) {
    let tab = p.views.settings.tab;
    if tab != ViewId::Activations {
        p.views.fallback_note = None;
    }
    if tab == ViewId::ConvArithmetic {
        super::sandbox::sandbox_ui(&mut p.views.sandbox, ui);
        return;
    }
    if tab == ViewId::Evolution {
        evolution_ui(&mut p, ui);
        return;
    }
    ui.horizontal(|ui| {
        ui.heading(tab.title()).on_hover_text(tab.tooltip());
        ui.label("(?)").on_hover_text(tab.tooltip());
        if let Some(r) = &p.views.result {
            let stale = r.settings != p.views.settings;
            ui.weak(format!(
                "{} epochs, step {} · computed in {:.0} ms{}{}",
                r.epochs_done,
                r.total_steps,
                r.millis,
                if p.run_state == RunState::Running {
                    " · live"
                } else {
                    ""
                },
                if stale { " · updating" } else { "" }
            ));
        }
    });
    if let Some(note) = &p.views.fallback_note {
        ui.label(note);
    }
    // Views over the whole data set (top patches) have no input to pick.
    if tab.picks_input() {
        input_picker(&mut p, ui);
    }
    drawing_window(&mut p, ui);
    ui.horizontal(|ui| {
        if tab.picks_node() {
            node_picker(&mut p, ui);
        }
        controls(&mut p, ui);
    });
    if !p.configured {
        ui.weak("Waiting for the model and the data…");
        return;
    }
    let Some(result) = p.views.result.clone() else {
        ui.weak("Computing…");
        return;
    };
    if result.settings.tab != tab {
        ui.weak("Computing…");
        return;
    }
    if let Some(e) = &result.error {
        ui.colored_label(
            Color32::from_rgb(200, 60, 60),
            format!("This view cannot be shown: {e}"),
        );
        return;
    }
    match tab {
        ViewId::Anomaly => anomaly_ui(p.views, ui, &result),
        ViewId::Segmentation => segmentation_ui(p.views, ui, &result),
        _ => picture_ui(p.views, ui, &result),
    }
}

/// The drawing canvas in a window of its own, while open: each stroke makes the drawing
/// the input of every view.
fn drawing_window(p: &mut ViewsPanel<'_>, ui: &mut Ui) {
    let v = &mut *p.views;
    if !v.drawing_open {
        return;
    }
    let [c, h, w] = p.model.input;
    let drawing = v
        .drawing
        .get_or_insert_with(|| super::drawing::Drawing::new(h, w));
    if drawing.ink.dim() != (h, w) {
        // The model's input changed size: a fresh canvas of the new size.
        *drawing = super::drawing::Drawing::new(h, w);
    }
    let mut open = true;
    let mut event = None;
    egui::Window::new("Draw an input")
        .open(&mut open)
        .resizable(false)
        // In the central area's lower right corner, where the pictures of one input
        // leave room, so the canvas hides neither the input nor the bars it changes.
        .pivot(egui::Align2::RIGHT_BOTTOM)
        .default_pos(ui.max_rect().right_bottom() - egui::vec2(12.0, 12.0))
        .show(ui.ctx(), |ui| {
            event = super::drawing::drawing_ui(drawing, &mut v.drawing_last, c, ui);
        });
    match event {
        Some(super::drawing::DrawingEvent::Changed(t)) => {
            v.settings.input = InputChoice::Drawing(t);
        }
        Some(super::drawing::DrawingEvent::Closed) => open = false,
        None => {}
    }
    v.drawing_open = open;
}

/// The Prediction view: a press or drag on the input places the grey square there (its
/// centre under the pointer).
fn occluder_pointer(
    settings: &mut ViewSettings,
    response: &egui::Response,
    prediction: &crate::ui::inspector::PredictionResult,
    to_px: impl Fn(egui::Pos2) -> (usize, usize),
) {
    if !(response.dragged() || response.clicked() || response.drag_started()) {
        return;
    }
    let Some(pos) = response.interact_pointer_pos() else {
        return;
    };
    let (x, y) = to_px(pos);
    let (x0, y0) = prediction.input_at;
    let (h, w) = prediction.input_size;
    let zoom = prediction.zoom.max(1);
    if x < x0 || y < y0 || x >= x0 + w * zoom || y >= y0 + h * zoom {
        return;
    }
    let (row, col) = ((y - y0) / zoom, (x - x0) / zoom);
    let half = prediction.square / 2;
    let corner = (
        row.saturating_sub(half)
            .min(h.saturating_sub(prediction.square)),
        col.saturating_sub(half)
            .min(w.saturating_sub(prediction.square)),
    );
    settings.occluder = Some(corner);
}

fn picture_ui(views: &mut ViewsUi, ui: &mut Ui, result: &ViewResult) {
    if !result.info.is_empty() {
        ui.label(&result.info);
    }
    ui.label(if views.hover.is_empty() {
        " "
    } else {
        &views.hover
    });
    let Some(tex) = views.texture.clone() else {
        return;
    };
    let [w, h] = tex.size();
    egui::ScrollArea::both()
        .id_salt("view_scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let avail = ui.available_width().max(100.0);
            let scale = (avail / w as f32).min(2.0);
            let size = egui::vec2(w as f32 * scale, h as f32 * scale);
            let response =
                ui.add(egui::Image::new((tex.id(), size)).sense(Sense::click_and_drag()));
            let to_px = |p: egui::Pos2| {
                let d = (p - response.rect.min) / scale;
                (d.x.max(0.0) as usize, d.y.max(0.0) as usize)
            };
            let mut hover = String::new();
            if let Some(pos) = response.hover_pos() {
                let (x, y) = to_px(pos);
                if let (Some((layout, _)), Some(values)) = (&result.grid, &result.values)
                    && let Some((c, r, col)) = layout.locate(x, y)
                    && let Some(v) = values.get([0, c, r, col])
                {
                    hover = format!("channel {c}, row {r}, col {col}: {v:.4}");
                }
                if let Some(panels) = &result.routing
                    && let Some((kind, r, c)) = locate(panels, x, y)
                {
                    hover = format!("{kind:?} map, row {r}, col {c}");
                }
            }
            views.hover = hover;
            if let Some(prediction) = &result.prediction {
                occluder_pointer(&mut views.settings, &response, prediction, to_px);
            }
            if let Some(boxes) = &result.neurons {
                super::point_views::neurons_pointer(
                    &mut views.settings,
                    &response,
                    &tex,
                    boxes,
                    to_px,
                );
            }
            if response.clicked()
                && let Some(pos) = response.interact_pointer_pos()
            {
                let (x, y) = to_px(pos);
                let s = &mut views.settings;
                // A click on the latent scatter decodes that point.
                if let Some(((ox, oy), frame)) = &result.latent
                    && let Some(p) = frame.to_latent(x as f64 - *ox as f64, y as f64 - *oy as f64)
                {
                    s.latent_point = Some(p);
                }
                if let Some((layout, _)) = &result.grid
                    && let Some((c, _, _)) = layout.locate(x, y)
                {
                    s.enlarge = if s.enlarge.is_some() { None } else { Some(c) };
                }
                if let Some(panels) = &result.routing
                    && let Some((kind, r, c)) = locate(panels, x, y)
                    && matches!(
                        kind,
                        PanelKind::Output | PanelKind::Upstream | PanelKind::AverageOutput
                    )
                {
                    s.selected = if s.selected == Some((r, c)) {
                        None
                    } else {
                        Some((r, c))
                    };
                }
            }
        });
}

fn locate(
    panels: &[crate::viz::routing::Panel],
    x: usize,
    y: usize,
) -> Option<(PanelKind, usize, usize)> {
    panels.iter().find_map(|p| {
        (x >= p.x && y >= p.y && x < p.x + p.cols * p.cell && y < p.y + p.rows * p.cell)
            .then(|| (p.kind, (y - p.y) / p.cell, (x - p.x) / p.cell))
    })
}

/// The side of each of `count` pictures in a row: at most `largest`, smaller when the
/// panel is too narrow for the row (so the last picture is not cut off).
fn row_side(ui: &Ui, count: usize, largest: f32) -> f32 {
    let gaps = ui.spacing().item_spacing.x * count.saturating_sub(1) as f32;
    ((ui.available_width() - gaps) / count.max(1) as f32).clamp(60.0, largest)
}

fn show_tex(ui: &mut Ui, tex: &TextureHandle, caption: &str, side: f32) {
    ui.vertical(|ui| {
        ui.label(caption);
        let [w, h] = tex.size();
        let scale = side / w.max(h) as f32;
        ui.image((tex.id(), egui::vec2(w as f32 * scale, h as f32 * scale)));
    });
}

fn anomaly_ui(v: &mut ViewsUi, ui: &mut Ui, result: &ViewResult) {
    let Some(a) = &result.anomaly else { return };
    let key = (
        v.seen,
        v.anomaly_opacity.to_bits(),
        v.pixel_threshold.to_bits(),
        false,
    );
    if v.aux_key != Some(key) {
        let scale = error_scale(a.map_max);
        let cut = v.pixel_threshold * a.map_max;
        let heat = a.map.mapv(|e| if e >= cut { e } else { 0.0 });
        let overlay = heatmap_overlay(&a.input, &heat, &scale, v.anomaly_opacity);
        let mut mask_img = a.input.clone();
        if let Some(m) = &a.mask {
            mask_img = heatmap_overlay(&a.input, m, &error_scale(1.0), 0.7);
        }
        let imgs = [&a.input, &a.reconstruction, &overlay, &mask_img];
        let captions = [
            "input",
            "reconstruction",
            "error over input",
            "true defect mask",
        ];
        let shown = if a.mask.is_some() { 4 } else { 3 };
        v.composed = Some((
            ViewId::Anomaly,
            captions
                .into_iter()
                .zip(imgs.iter().map(|i| (*i).clone()))
                .take(shown)
                .collect(),
        ));
        v.aux.clear();
        for (i, img) in imgs.iter().enumerate() {
            v.aux.push(ui.ctx().load_texture(
                format!("anomaly{i}"),
                to_color_image(img),
                TextureOptions::NEAREST,
            ));
        }
        v.aux_key = Some(key);
    }
    let score = a.scores.get(a.index).copied().unwrap_or(0.0);
    let threshold = *v.score_threshold.get_or_insert_with(|| {
        let mut s = a.scores.clone();
        s.sort_by(|x, y| x.total_cmp(y));
        s.get(s.len() / 2).copied().unwrap_or(0.0)
    });
    ui.label(format!(
        "test image {} of {} ({}): anomaly score {:.5} -> {}",
        a.index,
        a.len,
        a.kinds.get(a.index).map_or("?", |s| s.as_str()),
        score,
        if score >= threshold {
            "flagged as anomalous"
        } else {
            "normal"
        }
    ));
    let side = row_side(ui, 4, 200.0);
    ui.horizontal(|ui| {
        let names = [
            "input",
            "reconstruction",
            "error over input",
            "true defect mask",
        ];
        for (i, tex) in v.aux.iter().enumerate() {
            if i == 3 && a.mask.is_none() {
                continue;
            }
            show_tex(ui, tex, names[i], side);
        }
    });
    let (labels_known, labels): (Vec<f64>, Vec<bool>) = a
        .scores
        .iter()
        .zip(&a.labels)
        .filter_map(|(&s, l)| l.map(|l| (s, l)))
        .unzip();
    let c = confusion_at(&labels_known, &labels, threshold);
    ui.label(format!(
        "threshold {:.5}: precision {:.2}, recall {:.2} (TP {}, FP {}, FN {}, TN {}) · image AUROC {} · pixel AUROC {}",
        threshold,
        c.precision(),
        c.recall(),
        c.tp,
        c.fp,
        c.fn_,
        c.tn,
        a.auroc.map_or("n/a".into(), |x| format!("{x:.3}")),
        a.pixel_auroc.map_or("n/a".into(), |x| format!("{x:.3}")),
    ));
    if !a.score_aurocs.is_empty() {
        let others: Vec<String> = a
            .score_aurocs
            .iter()
            .map(|s| format!("{} {:.3}", s.label, s.auroc))
            .collect();
        ui.label(format!(
            "image AUROC by other scores: {}",
            others.join(" · ")
        ))
        .on_hover_text(
            "The image AUROC above scores an image by the mean of the largest 2 % of its \
                 smoothed error map. Image MSE is the plain mean error; a VAE adds the KL of \
                 the image's code and the negative ELBO it was trained on (MSE + β·KL).",
        );
    }
    ui.horizontal(|ui| {
        let lo = a.scores.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = a.scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let bins = 30usize;
        let width = ((hi - lo) / bins as f64).max(1e-12);
        let mut normal = vec![0u32; bins];
        let mut anomalous = vec![0u32; bins];
        for (&s, l) in a.scores.iter().zip(&a.labels) {
            let k = (((s - lo) / width) as usize).min(bins - 1);
            if *l == Some(true) {
                anomalous[k] += 1;
            } else {
                normal[k] += 1;
            }
        }
        let bars = |counts: &[u32]| -> Vec<Bar> {
            counts
                .iter()
                .enumerate()
                .map(|(k, &n)| Bar::new(lo + width * (k as f64 + 0.5), n as f64).width(width))
                .collect()
        };
        let mut new_threshold = None;
        ui.vertical(|ui| {
            ui.label("scores: drag or click to move the threshold");
            Plot::new("anomaly_hist")
                .legend(Legend::default())
                .width(ui.available_width() / 2.0 - 8.0)
                .height(200.0)
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .show(ui, |plot| {
                    plot.bar_chart(
                        BarChart::new("normal", bars(&normal))
                            .color(Color32::from_rgb(86, 180, 233)),
                    );
                    plot.bar_chart(
                        BarChart::new("anomalous", bars(&anomalous))
                            .color(Color32::from_rgb(230, 159, 0)),
                    );
                    plot.vline(
                        VLine::new("threshold", threshold)
                            .color(Color32::from_rgb(200, 40, 40))
                            .width(2.0),
                    );
                    let r = plot.response();
                    if (r.dragged() || r.clicked())
                        && let Some(p) = plot.pointer_coordinate()
                    {
                        new_threshold = Some(p.x);
                    }
                });
        });
        if let Some(t) = new_threshold {
            v.score_threshold = Some(t);
            v.threshold_moved = true;
        }
        ui.vertical(|ui| {
            ui.label(format!(
                "ROC (AUROC {})",
                a.auroc.map_or("n/a".into(), |x| format!("{x:.3}"))
            ));
            let roc: Vec<[f64; 2]> = a.roc.iter().map(|p| [p.fpr, p.tpr]).collect();
            Plot::new("anomaly_roc")
                .width(ui.available_width().min(260.0))
                .height(200.0)
                .data_aspect(1.0)
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .x_axis_label("false positive rate")
                .y_axis_label("true positive rate")
                .show(ui, |plot| {
                    plot.line(Line::new("ROC", PlotPoints::new(roc)));
                    plot.line(
                        Line::new("chance", PlotPoints::new(vec![[0.0, 0.0], [1.0, 1.0]]))
                            .color(Color32::GRAY),
                    );
                });
        });
    });
}

fn segmentation_ui(v: &mut ViewsUi, ui: &mut Ui, result: &ViewResult) {
    let Some(sg) = &result.segmentation else {
        return;
    };
    let key = (
        v.seen,
        v.seg_opacity.to_bits(),
        v.seg_threshold.to_bits() as u32,
        v.seg_errors,
    );
    if v.aux_key != Some(key) {
        let base = &sg.input;
        let paint = |classes: &ndarray::Array2<u8>, errors: Option<&ndarray::Array2<u8>>| {
            let mut out = base.clone();
            let (h, w) = classes.dim();
            if h == 0 || w == 0 {
                return out;
            }
            let a = (v.seg_opacity * 255.0) as u8;
            for y in 0..out.height {
                let i = (y * h / out.height).min(h - 1);
                for x in 0..out.width {
                    let j = (x * w / out.width).min(w - 1);
                    let p = classes[[i, j]];
                    let color = match errors {
                        Some(t) => {
                            let t = t[[i, j]];
                            match (p > 0, t > 0) {
                                (true, true) if p == t => Some([0, 158, 115]),
                                (true, _) => Some([213, 94, 0]),
                                (false, true) => Some([0, 114, 178]),
                                _ => None,
                            }
                        }
                        None => (p > 0).then(|| CLASS_COLORS[(p as usize) % CLASS_COLORS.len()]),
                    };
                    if let Some([r, g, b]) = color {
                        blend(&mut out, x as i64, y as i64, [r, g, b, a]);
                    }
                }
            }
            out
        };
        let truth = paint(&sg.truth, None);
        let pred = if v.seg_errors {
            paint(&sg.predicted, Some(&sg.truth))
        } else {
            paint(&sg.predicted, None)
        };
        v.composed = Some((
            ViewId::Segmentation,
            vec![
                ("input", sg.input.clone()),
                ("ground truth", truth.clone()),
                (
                    if v.seg_errors {
                        "prediction: green TP, orange FP, blue FN"
                    } else {
                        "prediction"
                    },
                    pred.clone(),
                ),
            ],
        ));
        v.aux.clear();
        for (i, img) in [&sg.input, &truth, &pred].iter().enumerate() {
            v.aux.push(ui.ctx().load_texture(
                format!("seg{i}"),
                to_color_image(img),
                TextureOptions::NEAREST,
            ));
        }
        v.aux_key = Some(key);
    }
    let fmt = |x: &Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.3}"));
    let fg = sg.image_iou.get(1).cloned().flatten();
    ui.label(format!(
        "image {} of {}: IoU {} · Dice {} · validation mean IoU {:.3} · mean Dice {:.3} · per class IoU [{}]",
        sg.index,
        sg.len,
        fmt(&fg),
        fmt(&sg.image_dice.get(1).cloned().flatten()),
        sg.mean_iou,
        sg.mean_dice,
        sg.set_iou.iter().map(fmt).collect::<Vec<_>>().join(", ")
    ));
    ui.small(&sg.method);
    let side = row_side(ui, 3, 240.0);
    ui.horizontal(|ui| {
        let names = [
            "input",
            "ground truth",
            if v.seg_errors {
                "prediction: green TP, orange FP, blue FN"
            } else {
                "prediction"
            },
        ];
        for (i, tex) in v.aux.iter().enumerate() {
            show_tex(ui, tex, names[i], side);
        }
    });
    if v.iou_history.len() > 1 {
        ui.label("mean IoU during training (x: training steps)");
        Plot::new("iou_curve")
            .height(160.0)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new(
                    "mean IoU",
                    PlotPoints::new(v.iou_history.clone()),
                ));
            });
    }
}

/// The Evolved features tab: an evolution of handcrafted pipelines on the loaded data, run in
/// the background with pause and stop, its chart and best pipeline growing as generations
/// finish.
fn evolution_ui(p: &mut ViewsPanel<'_>, ui: &mut Ui) {
    use crate::ui::evolution_run::EvolutionRun;
    let tab = ViewId::Evolution;
    ui.horizontal(|ui| {
        ui.heading(tab.title()).on_hover_text(tab.tooltip());
        ui.label("(?)").on_hover_text(tab.tooltip());
    });
    input_picker(p, ui);
    let spec = p.evolution.cloned().unwrap_or_default();
    let v = &mut *p.views;
    if let Some(run) = &mut v.evolution
        && run.poll()
    {
        ui.ctx().request_repaint();
    }
    let running = v.evolution.as_ref().is_some_and(|r| !r.finished);
    if running {
        // Look for new generations even while the user does nothing.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(200));
    }
    let mut status_line = None;
    ui.horizontal(|ui| {
        let start = ui
            .add_enabled(!running && p.split.is_some(), egui::Button::new("Evolve"))
            .on_hover_text(format!(
                "Run {} generations of a ({}+{}) evolution strategy with seed {} (the preset's \
                 [evolution]) on the loaded training images; the validation images stay held \
                 out.",
                spec.generations, spec.parents, spec.offspring, spec.seed
            ));
        if start.clicked()
            && let Some(split) = p.split
        {
            let threads = crate::train::run::default_threads()
                .saturating_sub(1)
                .max(1);
            v.evolution = Some(EvolutionRun::start(
                spec.clone(),
                Arc::clone(&split.train),
                Arc::clone(&split.val),
                threads,
            ));
            v.evolution_shown = None;
        }
        if let Some(run) = &v.evolution
            && running
        {
            let paused = run.is_paused();
            let label = if paused {
                "Resume evolution"
            } else {
                "Pause evolution"
            };
            if ui.button(label).clicked() {
                run.set_paused(!paused);
            }
            if ui
                .button("Stop evolution")
                .on_hover_text("End the run after the generation in progress.")
                .clicked()
            {
                run.stop();
            }
        }
        if let Some(run) = &v.evolution {
            let done = run.history.last().map_or(0, |g| g.index);
            let mut status = format!("generation {done} of {}", run.spec.generations);
            if let Some(g) = run.history.last() {
                status += &format!(
                    " · best fitness {:.3}, held-out {:.3} · {:.1} s",
                    g.best_fitness, g.best_test_accuracy, g.seconds
                );
            }
            if running {
                if run.is_paused() {
                    status += " · paused";
                } else if let Some(eta) = run.eta_seconds() {
                    status += &format!(" · about {eta:.0} s left");
                }
            } else {
                status += " · finished";
            }
            status_line = Some(status);
        }
    });
    if let Some(status) = status_line {
        ui.add(egui::Label::new(status).wrap());
    }
    // The evolution's picture (chart, best pipeline's stages for the picked image), or why
    // there is none yet.
    let mut note = None;
    match (&v.evolution, p.split) {
        (None, _) => note = Some("Press Evolve to search for a pipeline on the loaded data."),
        (Some(run), _) if run.error.is_some() => {
            ui.colored_label(
                Color32::from_rgb(200, 60, 60),
                format!(
                    "The evolution failed: {}",
                    run.error.as_deref().unwrap_or_default()
                ),
            );
        }
        (Some(_), None) => {}
        (Some(run), Some(split)) => {
            let set = if split.val.is_empty() {
                &split.train
            } else {
                &split.val
            };
            if run.history.is_empty() || set.is_empty() {
                note = Some("Evaluating the first generation…");
            } else {
                let sample = match v.settings.input {
                    InputChoice::Sample(k) => k.min(set.len() - 1),
                    _ => 0,
                };
                let key = (run.history.len(), sample);
                if v.evolution_shown != Some(key) || v.evolution_texture.is_none() {
                    let img = crate::classical::pipeline::grey_image(&set.inputs, sample);
                    let picture = crate::viz::classical::evolution_picture(&run.history, &img);
                    upload(ui.ctx(), &mut v.evolution_texture, "evolution", &picture);
                    v.evolution_shown = Some(key);
                }
            }
        }
    }
    let evolved = v
        .evolution
        .as_ref()
        .filter(|r| r.error.is_none() && !r.history.is_empty())
        .and(v.evolution_texture.as_ref());
    // Beside it, what the network learned from the same data: its first conv layer's
    // kernels and their maps of the same image (from the trainer's inspector).
    let learned = v
        .result
        .as_ref()
        .filter(|r| r.settings.tab == ViewId::Evolution);
    let sizes = [evolved, learned.and(v.texture.as_ref())]
        .map(|t| t.map_or(egui::Vec2::ZERO, |t| t.size_vec2()));
    let scale = (ui.available_width() / (sizes[0].x + sizes[1].x + 24.0)).clamp(0.4, 1.0);
    egui::ScrollArea::both()
        .id_salt("evolution_and_filters")
        .show(ui, |ui| {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    if let Some(n) = note {
                        ui.weak(n);
                    }
                    if let Some(tex) = evolved {
                        ui.image((tex.id(), sizes[0] * scale));
                    }
                });
                ui.vertical(|ui| match learned {
                    None if p.configured => {
                        ui.weak("Drawing the network's filters…");
                    }
                    None => {
                        ui.weak("The network's filters appear once the model and data are ready.");
                    }
                    Some(r) => match (&r.error, &v.texture) {
                        (Some(e), _) => {
                            ui.weak(format!("No learned filters to compare: {e}"));
                        }
                        (None, Some(tex)) => {
                            ui.add(egui::Label::new(r.info.clone()).wrap());
                            ui.image((tex.id(), sizes[1] * scale));
                        }
                        (None, None) => {}
                    },
                });
            });
        });
}
