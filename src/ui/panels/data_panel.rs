//! The data panel: built-in sets, synthetic generators, the user's own class folder,
//! segmentation folders (images + masks), anomaly folders (normal images, optionally test
//! images and defect masks) and CSV file of 2-D points (typed path, drag and drop, or a
//! dialog), with image size and colour choice, the train/validation split, class counts,
//! the masks' format or the test images' counts, a thumbnail grid (masks painted over their
//! images) and the files (or rows) that were skipped.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use eframe::egui::{self, Ui};

use crate::data::DataSource;
use crate::data::sources::options::{Choice, OptionValue, SourceOption, Switches};
use crate::data::sources::{FolderChoice, SourceKind};
use crate::spec::own_images::own_images_defaults;
use crate::ui::app_state::AppState;
use crate::ui::background::{AnomalyCounts, DialogPurpose, FolderField, LoadDetails, holds_masks};
use crate::ui::command::UiCommand;
use crate::ui::model_fit::{DataTask, fit_model};
use crate::ui::panels::augment_panel::{AugmentPreview, Augmenting, augment_ui};
use crate::ui::panels::gallery::GalleryState;
use crate::ui::project::Project;
use crate::ui::session::DataView;

/// The data panel's own state: whether the folder tools are open, and its pictures.
#[derive(Default)]
pub struct DataPanelState {
    pub thumbnails: Option<egui::TextureHandle>,
    pub thumbnails_version: u64,
    /// The user chose a source that is given with its own tools (a class folder, a CSV
    /// file, segmentation or anomaly folders) but has not loaded it yet.
    pub open_tools: Option<SourceKind>,
    /// The folder whose suggested training settings the user declined (not offered again
    /// for it).
    pub declined_defaults: Option<DataSource>,
    /// The augmentation preview's texture.
    pub augment_preview: AugmentPreview,
}

/// What the data panel edits and shows.
pub struct DataPanel<'a> {
    /// The project: the panel edits its data source, split and augmentation, and the
    /// class-count fix edits the model.
    pub project: &'a mut Project,
    /// The loaded set, its split and the job loading the next one.
    pub data: &'a DataView,
    pub panel: &'a mut DataPanelState,
    /// Cleared when the source changes: its filter and pictures belong to the old data.
    pub gallery: &'a mut GalleryState,
    /// The folder fields (path, image size, colour), kept across restarts.
    pub state: &'a mut AppState,
    /// A folder dialog can be opened (one is available here and none is open).
    pub dialog_ready: bool,
    pub commands: &'a mut Vec<UiCommand>,
}

/// What the folder tools hold, for the sources that start from a folder.
fn folder_choice(state: &AppState) -> FolderChoice {
    FolderChoice {
        path: PathBuf::from(state.folder_path.trim()),
        size: state.folder_size,
        grayscale: state.folder_grayscale,
    }
}

pub fn data_panel_ui(context: DataPanel<'_>, ui: &mut Ui) {
    let DataPanel {
        project,
        data,
        panel,
        gallery,
        state,
        dialog_ready,
        commands,
    } = context;
    let current = project.preset.data.source.kind();
    let mut tools = panel
        .open_tools
        .or_else(|| has_tools(current).then_some(current));
    ui.horizontal(|ui| {
        let l = ui.label("source");
        let selected = current.title();
        // Truncated (whole on hover): the hover names the source in full, e.g. its folder,
        // and a long path must not widen the panel.
        let folder = folder_choice(state);
        egui::ComboBox::from_id_salt("data_source")
            .selected_text(selected)
            .truncate()
            .show_ui(ui, |ui| {
                for &k in SourceKind::ALL {
                    // The user's own files are picked with the tools below, which open
                    // when they are chosen.
                    let start = k.starting_source(&folder);
                    let can_pick = has_tools(k) || start.is_some();
                    let r = ui
                        .add_enabled(can_pick, egui::Button::selectable(k == current, k.title()))
                        .on_disabled_hover_text("Name its files in a preset's [data] section");
                    if r.clicked() && k != current {
                        panel.open_tools = has_tools(k).then_some(k);
                        tools = panel.open_tools;
                        if let Some(s) = start {
                            project.preset.data.source = s;
                        }
                        *gallery = GalleryState::default();
                    }
                }
            })
            .response
            .labelled_by(l.id)
            .on_hover_text(project.preset.data.source.label());
    });

    source_options_ui(project, ui);
    match tools {
        Some(SourceKind::Folder) => folder_ui(state, dialog_ready, commands, ui),
        Some(SourceKind::PointsCsv) => csv_ui(state, dialog_ready, commands, ui),
        Some(SourceKind::SegmentationFolder) => {
            segmentation_ui(state, dialog_ready, commands, ui);
        }
        Some(SourceKind::AnomalyFolder) => anomaly_ui(state, dialog_ready, commands, ui),
        _ => {}
    }

    ui.horizontal(|ui| {
        let d = &mut project.preset.data;
        let l = ui.label("validation share");
        ui.add(egui::Slider::new(&mut d.val_fraction, 0.05..=0.5).fixed_decimals(2))
            .labelled_by(l.id)
            .on_hover_text("Held out: never trained on, used to check that the model generalises");
    });
    ui.horizontal(|ui| {
        let l = ui.label("data seed");
        ui.add(egui::DragValue::new(&mut project.preset.data.seed))
            .labelled_by(l.id)
            .on_hover_text("Seeds the split (and the generators of synthetic sets)");
    });
    denoise_ui(&mut project.preset.data, ui);
    augment_ui(
        Augmenting {
            training: &mut project.preset.training,
            train: data.split.as_ref().map(|s| &s.train),
            data_version: data.version,
            preview: &mut panel.augment_preview,
        },
        ui,
    );

    // Progress or summary.
    if let Some(job) = &data.job {
        let (done, total) = (
            job.done.load(Ordering::Relaxed),
            job.total.load(Ordering::Relaxed),
        );
        let seconds = job.started.elapsed().as_secs_f64();
        // Cancel first: the progress bar below takes the whole width.
        ui.horizontal(|ui| {
            ui.spinner();
            if ui
                .button("Cancel")
                .on_hover_text("Stop loading; nothing already loaded is lost")
                .clicked()
            {
                commands.push(UiCommand::CancelLoad);
            }
            let what = if total == 0 && done > 0 && !reads_rows(&job.source) {
                format!("listing files: {done} found…")
            } else {
                format!("loading {}…", job.source.label())
            };
            // Truncated, whole on hover: a long folder path must not widen the panel,
            // which would move this Cancel button out from under the pointer.
            ui.add(egui::Label::new(what).truncate());
        });
        if total > 0 {
            let rate = done as f64 / seconds.max(1e-3);
            let eta = if done > 0 {
                format!(", about {:.0} s left", (total - done) as f64 / rate)
            } else {
                String::new()
            };
            ui.add(
                egui::ProgressBar::new(done as f32 / total as f32).text(format!(
                    "{done}/{total} {}, {rate:.0}/s{eta}",
                    loaded_unit(&job.source)
                )),
            );
        }
    }
    if let Some((_, _, e)) = &data.failed {
        if e.is_cancelled() {
            ui.label(format!("{e}; pick a source or load the folder again"));
        } else {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
    }
    summary_ui(project, data, panel, ui);
}

/// A denoising task's noise (`[data.denoise]`): the Gaussian noise's standard deviation and
/// the share of salt-and-pepper pixels. A change draws the validation noise anew and
/// restarts the run, like the other data settings.
fn denoise_ui(data: &mut crate::data::DataSpec, ui: &mut Ui) {
    let Some(d) = &mut data.denoise else {
        return;
    };
    ui.horizontal(|ui| {
        let l = ui.label("Gaussian noise sigma");
        ui.add(
            egui::Slider::new(&mut d.gaussian, 0.0..=crate::data::noise::MAX_GAUSSIAN)
                .fixed_decimals(2),
        )
        .labelled_by(l.id)
        .on_hover_text(
            "Standard deviation of the Gaussian noise added to every pixel (pixels in [0, 1]); \
             the network must remove it",
        );
    });
    ui.horizontal(|ui| {
        let l = ui.label("salt and pepper share");
        ui.add(egui::Slider::new(&mut d.salt_pepper, 0.0..=0.5).fixed_decimals(2))
            .labelled_by(l.id)
            .on_hover_text(
                "Share of pixels set to white (salt) or black (pepper), half each: the noise a \
                 median filter removes best",
            );
    });
}

/// The source's own options, drawn from its description (see `data::sources::options`):
/// each choice and set of switches on a row of its own, then the numbers side by side.
/// When an option changes the shape of a sample (the points' input features), a model whose
/// input had the old shape follows it, as one undo step.
fn source_options_ui(project: &mut Project, ui: &mut Ui) {
    let shape_before = project.preset.data.source.source().sample_shape();
    {
        let (rows, numbers): (Vec<SourceOption<'_>>, Vec<SourceOption<'_>>) = project
            .preset
            .data
            .source
            .source_mut()
            .options()
            .into_iter()
            .partition(|o| matches!(o.value, OptionValue::Choice(_) | OptionValue::Switches(_)));
        for option in rows {
            ui.horizontal(|ui| option_ui(ui, option));
        }
        if !numbers.is_empty() {
            ui.horizontal(|ui| {
                for option in numbers {
                    option_ui(ui, option);
                }
            });
        }
    }
    let shape_after = project.preset.data.source.source().sample_shape();
    if let (Some(before), Some(after)) = (shape_before, shape_after)
        && before != after
        && project.preset.model.input == before
    {
        project.apply(|m| m.input = after);
    }
}

/// One option, drawn by its type; the label names the editor for screen readers and tests.
fn option_ui(ui: &mut Ui, option: SourceOption<'_>) {
    let SourceOption { label, tip, value } = option;
    let l = ui.label(label).on_hover_text(tip);
    match value {
        OptionValue::Count(v, range) => {
            ui.add(egui::DragValue::new(v).range(range))
                .labelled_by(l.id)
                .on_hover_text(tip);
        }
        OptionValue::Real(v, range, speed) => {
            ui.add(egui::DragValue::new(v).range(range).speed(speed))
                .labelled_by(l.id)
                .on_hover_text(tip);
        }
        OptionValue::Choice(mut choice) => choice_ui(ui, choice.as_mut()),
        OptionValue::Switches(mut switches) => switches_ui(ui, switches.as_mut()),
    }
}

fn choice_ui(ui: &mut Ui, choice: &mut dyn Choice) {
    let selected = choice.selected();
    for (k, name) in choice.names().into_iter().enumerate() {
        if ui.selectable_label(selected == Some(k), name).clicked() {
            choice.select(k);
        }
    }
}

fn switches_ui(ui: &mut Ui, switches: &mut dyn Switches) {
    for (k, name) in switches.names().into_iter().enumerate() {
        let on = switches.is_on(k);
        if ui.selectable_label(on, name).clicked() {
            switches.set(k, !on);
        }
    }
}

/// Whether the source is given with tools of its own in this panel (paths typed, dropped or
/// picked) rather than by its options alone.
fn has_tools(kind: SourceKind) -> bool {
    matches!(
        kind,
        SourceKind::Folder
            | SourceKind::PointsCsv
            | SourceKind::SegmentationFolder
            | SourceKind::AnomalyFolder
    )
}

/// One folder field of the segmentation or anomaly tools: label, text, Browse… (which only
/// fills the field). Returns whether Enter was pressed in it.
fn folder_field_ui(
    ui: &mut Ui,
    label: &str,
    tip: &str,
    text: &mut String,
    field: FolderField,
    dialog_ready: bool,
    commands: &mut Vec<UiCommand>,
) -> bool {
    ui.horizontal(|ui| {
        let l = ui.label(label).on_hover_text(tip);
        let r = ui
            .add(egui::TextEdit::singleline(text).desired_width(150.0))
            .labelled_by(l.id)
            .on_hover_text(tip);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .add_enabled(dialog_ready, egui::Button::new("Browse…"))
            .on_hover_text(format!("Pick the folder: {tip}"))
            .on_disabled_hover_text("No folder dialog is available here: type the path")
            .clicked()
        {
            commands.push(UiCommand::Dialog(DialogPurpose::FolderField(field)));
        }
        enter
    })
    .inner
}

/// Image size (height × width) and grey/RGB, shared by all the image folder tools.
fn image_size_ui(state: &mut AppState, ui: &mut Ui) {
    ui.horizontal(|ui| {
        let l = ui.label("image size");
        ui.add(egui::DragValue::new(&mut state.folder_size[0]).range(4..=256))
            .labelled_by(l.id)
            .on_hover_text("Height every image is resized to");
        let x = ui.label("×");
        ui.add(egui::DragValue::new(&mut state.folder_size[1]).range(4..=256))
            .labelled_by(x.id)
            .on_hover_text("Width every image is resized to");
        ui.radio_value(&mut state.folder_grayscale, true, "gray")
            .on_hover_text("Read the images as one grey channel");
        ui.radio_value(&mut state.folder_grayscale, false, "RGB")
            .on_hover_text("Read the images as three colour channels");
    });
}

fn segmentation_ui(
    state: &mut AppState,
    dialog_ready: bool,
    commands: &mut Vec<UiCommand>,
    ui: &mut Ui,
) {
    ui.label(
        "An images folder and a masks folder, paired by file name (cat7.jpg with cat7.png or \
         cat7_mask.png). Masks: binary, class indices 0, 1, 2 … or colours of a palette.",
    );
    let mut load = folder_field_ui(
        ui,
        "Images folder",
        "The images to segment; type or paste a path, or drop the folder onto the window",
        &mut state.segmentation_images_path,
        FolderField::SegmentationImages,
        dialog_ready,
        commands,
    );
    load |= folder_field_ui(
        ui,
        "Masks folder",
        "One mask per image, same file stem; drop it onto the window after the images folder",
        &mut state.segmentation_masks_path,
        FolderField::SegmentationMasks,
        dialog_ready,
        commands,
    );
    image_size_ui(state, ui);
    let (images, masks) = (
        state.segmentation_images_path.trim(),
        state.segmentation_masks_path.trim(),
    );
    let ready = !images.is_empty() && !masks.is_empty();
    load |= ui
        .add_enabled(ready, egui::Button::new("Load segmentation folders"))
        .on_hover_text(
            "Images without a mask, masks without an image and pairs of different sizes are \
             listed with the reason",
        )
        .on_disabled_hover_text("Give both the images folder and the masks folder")
        .clicked();
    if load && ready {
        commands.push(UiCommand::LoadSegmentationFolder {
            images: PathBuf::from(images),
            masks: PathBuf::from(masks),
        });
    }
}

fn anomaly_ui(
    state: &mut AppState,
    dialog_ready: bool,
    commands: &mut Vec<UiCommand>,
    ui: &mut Ui,
) {
    ui.label(
        "A folder of normal images to train an autoencoder on; optionally a test folder with \
         subfolders good/ and one per defect kind (crack/, …), and a folder of defect masks.",
    );
    let mut load = folder_field_ui(
        ui,
        "Normal images folder",
        "Images without defects: the autoencoder learns to rebuild these",
        &mut state.anomaly_normal_path,
        FolderField::AnomalyNormal,
        dialog_ready,
        commands,
    );
    load |= folder_field_ui(
        ui,
        "Test folder (optional)",
        "Subfolders good/ (normal) and one per defect kind; scored after training",
        &mut state.anomaly_test_path,
        FolderField::AnomalyTest,
        dialog_ready,
        commands,
    );
    load |= folder_field_ui(
        ui,
        "Masks folder (optional)",
        "Defect masks, by the test image's name (crack/000.png with crack/000_mask.png), for the \
         pixel-level scores",
        &mut state.anomaly_masks_path,
        FolderField::AnomalyMasks,
        dialog_ready,
        commands,
    );
    image_size_ui(state, ui);
    let optional = |t: &String| (!t.trim().is_empty()).then(|| PathBuf::from(t.trim()));
    let normal = state.anomaly_normal_path.trim();
    load |= ui
        .add_enabled(
            !normal.is_empty(),
            egui::Button::new("Load anomaly folders"),
        )
        .on_hover_text("Files that cannot be used are listed with the reason")
        .on_disabled_hover_text("Give the normal images folder first")
        .clicked();
    if load && !normal.is_empty() {
        commands.push(UiCommand::LoadAnomalyFolder {
            normal: PathBuf::from(normal),
            test: optional(&state.anomaly_test_path),
            masks: optional(&state.anomaly_masks_path),
        });
    }
}

fn folder_ui(state: &mut AppState, dialog_ready: bool, commands: &mut Vec<UiCommand>, ui: &mut Ui) {
    ui.label("A folder with one subfolder per class (e.g. cats/, dogs/), any image format.");
    let mut load = false;
    ui.horizontal(|ui| {
        let l = ui.label("Folder path");
        let r = ui
            .add(egui::TextEdit::singleline(&mut state.folder_path).desired_width(170.0))
            .labelled_by(l.id)
            .on_hover_text("Type or paste a path, or drop the folder onto the window");
        load |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .add_enabled(dialog_ready, egui::Button::new("Browse…"))
            .on_disabled_hover_text("No folder dialog is available here: type the path")
            .clicked()
        {
            commands.push(UiCommand::Dialog(DialogPurpose::ClassFolder));
        }
    });
    image_size_ui(state, ui);
    load |= ui
        .button("Load folder")
        .on_hover_text("Files that cannot be used are listed with the reason")
        .clicked();
    if load && !state.folder_path.trim().is_empty() {
        commands.push(UiCommand::LoadFolder(PathBuf::from(
            state.folder_path.trim(),
        )));
    }
}

fn csv_ui(state: &mut AppState, dialog_ready: bool, commands: &mut Vec<UiCommand>, ui: &mut Ui) {
    ui.label(
        "A CSV file with one point per row: x, y, then a class (a number or a name) or a \
         number to predict. A header row is optional.",
    );
    let mut load = false;
    ui.horizontal(|ui| {
        let l = ui.label("CSV file");
        let r = ui
            .add(egui::TextEdit::singleline(&mut state.csv_path).desired_width(170.0))
            .labelled_by(l.id)
            .on_hover_text("Type or paste a path, or drop the file onto the window");
        load |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .add_enabled(dialog_ready, egui::Button::new("Browse…"))
            .on_disabled_hover_text("No file dialog is available here: type the path")
            .clicked()
        {
            commands.push(UiCommand::Dialog(DialogPurpose::PointsCsv));
        }
    });
    load |= ui
        .button("Load CSV")
        .on_hover_text("Rows that cannot be read are listed with their line numbers")
        .clicked();
    if load && !state.csv_path.trim().is_empty() {
        commands.push(UiCommand::LoadPointsCsv(PathBuf::from(
            state.csv_path.trim(),
        )));
    }
}

/// Whether the source's loader counts rows of one file rather than files.
fn reads_rows(source: &DataSource) -> bool {
    matches!(source, DataSource::PointsCsv(_))
}

/// What a loader's progress counts.
fn loaded_unit(source: &DataSource) -> &'static str {
    if reads_rows(source) { "rows" } else { "files" }
}

/// "3 files skipped", or "3 rows skipped" for a CSV file.
pub fn skipped_text(source: &DataSource, count: usize) -> String {
    format!("{count} {} skipped", loaded_unit(source))
}

fn summary_ui(project: &mut Project, data: &DataView, panel: &mut DataPanelState, ui: &mut Ui) {
    let Some(loaded) = &data.loaded else {
        return;
    };
    if !data
        .dataset_for(&project.preset.data)
        .is_some_and(|d| std::sync::Arc::ptr_eq(d, &loaded.dataset))
    {
        ui.weak(format!(
            "(showing {} until the new data has loaded)",
            loaded.source.label()
        ));
    }
    let d = &loaded.dataset;
    let [c, h, w] = d.sample_shape();
    let (n_train, n_val) = data
        .split
        .as_ref()
        .map_or((0, 0), |s| (s.train.len(), s.val.len()));
    ui.label(format!(
        "{}: {} samples of {c}×{h}×{w} · {n_train} train / {n_val} validation",
        loaded.source.label(),
        d.len()
    ));
    let counts = d.class_counts();
    if !counts.is_empty() {
        let text: Vec<String> = d
            .class_names
            .iter()
            .zip(&counts)
            .map(|(name, n)| format!("{name}: {n}"))
            .collect();
        ui.small(format!("{} classes · {}", counts.len(), text.join(" · ")));
        if counts.len() == 1 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "Only one class: a classifier has nothing to tell apart.",
            );
        }
    }
    details_ui(&loaded.details, d, ui);
    // A patch classification task trains on the patches cut at the split, not the images.
    let fit_set = match (&project.preset.data.patches, &data.split) {
        (Some(p), Some(s)) => {
            ui.small(format!(
                "patch classification: {} patches of {}×{} per image, labelled by their centre pixel",
                p.per_image, p.size, p.size
            ));
            Some(s.train.clone())
        }
        (Some(_), None) => None,
        (None, _) => Some(d.clone()),
    };
    if let Some(fs) = &fit_set
        && let Some(task) = data_task(&loaded.source, fs)
    {
        model_fit_ui(project, fs.sample_shape(), task, ui);
    }
    if matches!(loaded.source, DataSource::Folder(_)) {
        own_images_offer_ui(project, loaded, panel, ui);
    }
    if let Some(img) = &loaded.thumbnails {
        if panel.thumbnails_version != data.version || panel.thumbnails.is_none() {
            let color =
                egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels);
            panel.thumbnails = Some(ui.ctx().load_texture(
                "data_thumbnails",
                color,
                egui::TextureOptions::NEAREST,
            ));
            panel.thumbnails_version = data.version;
        }
        if let Some(tex) = &panel.thumbnails {
            let size = tex.size_vec2();
            // Fit the width, and at most 200 points high so the panel stays short.
            let scale = (ui.available_width() / size.x).min(200.0 / size.y).min(2.0);
            let what = match &loaded.details {
                LoadDetails::Masks { .. } => "The first images with their masks painted over them",
                LoadDetails::AnomalyTest(_) => {
                    "Normal images; then defective test images with their defect masks painted \
                     over them; then good test images"
                }
                LoadDetails::None if !d.class_names.is_empty() => {
                    "A few samples of each class, one class per row"
                }
                LoadDetails::None => "The first samples",
            };
            ui.image((tex.id(), size * scale)).on_hover_text(what);
        }
    }
    if !loaded.skipped.is_empty() {
        egui::CollapsingHeader::new(skipped_text(&loaded.source, loaded.skipped.len()))
            .id_salt("skipped_files")
            .default_open(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(120.0)
                    .show(ui, |ui| {
                        for s in &loaded.skipped {
                            let name = s.path.file_name().map_or_else(
                                || s.path.display().to_string(),
                                |n| n.to_string_lossy().into_owned(),
                            );
                            ui.small(format!("{name}: {}", s.reason))
                                .on_hover_text(s.path.display().to_string());
                        }
                    });
            });
    }
}

/// What the loader of segmentation or anomaly folders found: the masks' format and classes,
/// or the test images by kind.
fn details_ui(details: &LoadDetails, data: &crate::data::Dataset, ui: &mut Ui) {
    match details {
        LoadDetails::None => {}
        LoadDetails::Masks { format, .. } => {
            ui.label(format!("masks: {format}"))
                .on_hover_text("How the mask values were read, decided from all the masks");
            ui.small(format!(
                "{} classes · {}",
                data.class_names.len(),
                data.class_names.join(" · ")
            ));
        }
        LoadDetails::AnomalyTest(counts) => {
            ui.label(anomaly_text(counts)).on_hover_text(
                "The autoencoder trains on the normal images only; the test images are scored \
                 in the Anomaly view",
            );
        }
    }
}

/// "test: 12 good, 9 defective (crack, hole) · 9 with masks", or that there is none.
fn anomaly_text(c: &AnomalyCounts) -> String {
    if c.normal + c.anomalous + c.unlabelled == 0 {
        return "no test images (give a test folder to score the model)".into();
    }
    let mut text = format!("test: {} good, {} defective", c.normal, c.anomalous);
    if !c.kinds.is_empty() {
        text += &format!(" ({})", c.kinds.join(", "));
    }
    if c.unlabelled > 0 {
        text += &format!(", {} unlabelled", c.unlabelled);
    }
    text + &format!(" · {} with masks", c.with_mask)
}

/// What the data asks of the model's output, when the panel can fit the model to it.
fn data_task(source: &DataSource, data: &crate::data::Dataset) -> Option<DataTask> {
    match &data.targets {
        crate::data::Targets::Labels(_) => Some(DataTask::Classes(data.class_names.len())),
        crate::data::Targets::Dense(t) if holds_masks(data) => Some(DataTask::Masks(t.shape()[1])),
        crate::data::Targets::Dense(_) => matches!(
            source.kind(),
            SourceKind::AnomalyFolder | SourceKind::Textures
        )
        .then_some(DataTask::Reconstruct),
    }
}

/// When the model does not fit the data (LeNet's 10 outputs and a folder of 3 or 40 kinds
/// of thing; a classifier and masks; a classifier and an anomaly folder): says what does
/// not fit and offers the fix, one click and one undo step.
fn model_fit_ui(project: &mut Project, shape: [usize; 3], task: DataTask, ui: &mut Ui) {
    let Some(fit) = fit_model(
        &project.preset.model,
        project.preset.training.loss,
        shape,
        task,
    ) else {
        return;
    };
    ui.colored_label(ui.visuals().warn_fg_color, &fit.problem);
    let (Some(action), Some(model)) = (fit.action, fit.model) else {
        return;
    };
    let loss_note = fit
        .loss
        .map(|l| format!(" The loss becomes {}.", l.torch_name()))
        .unwrap_or_default();
    if ui
        .button(action)
        .on_hover_text(format!(
            "Changes the model to fit the data; changed layers start from fresh weights. \
             Ctrl+Z undoes the model change.{loss_note}"
        ))
        .clicked()
    {
        project.apply(|m| *m = model);
        if let Some(loss) = fit.loss {
            project.preset.training.loss = loss;
        }
    }
}

/// After a class folder of the user's own images loads: training settings that work on
/// small folders (see [`own_images_defaults`]), offered with what they change; the user
/// takes them with one click or declines.
fn own_images_offer_ui(
    project: &mut Project,
    loaded: &crate::ui::background::LoadedData,
    panel: &mut DataPanelState,
    ui: &mut Ui,
) {
    if panel.declined_defaults.as_ref() == Some(&loaded.source) {
        return;
    }
    let d = &loaded.dataset;
    let Some(offer) = own_images_defaults(
        &project.preset,
        d.sample_shape(),
        d.class_names.len(),
        d.len(),
    ) else {
        return;
    };
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label("Settings that train well on small folders of your own images:");
        for change in &offer.changes {
            ui.small(format!("· {change}"));
        }
        ui.horizontal(|ui| {
            if ui
                .button("Use these settings")
                .on_hover_text(
                    "Adam, flips and shifts, enough epochs (and a small CNN instead of LeNet-5 \
                     for colour or small images); the model change is one undo step",
                )
                .clicked()
            {
                project.preset.training = offer.training.clone();
                if let Some(model) = offer.model.clone() {
                    project.apply(|m| *m = model);
                }
            }
            if ui
                .button("No thanks")
                .on_hover_text("Keep the current settings; not offered again for this folder")
                .clicked()
            {
                panel.declined_defaults = Some(loaded.source.clone());
            }
        });
    });
}
