//! The user's segmentation and anomaly folders through the window: picked in the source
//! list, typed into their tools, loaded in the background; the counts, the masks' format,
//! the skipped files and the thumbnails (masks painted over the images) show; the model
//! follows the data on request (U-Net, autoencoder, the output layer to 3 and 40 classes
//! and back down).

mod common;

use std::path::Path;

use common::folders::{anomaly_folders, scratch, segmentation_pairs};
use common::ui::{App, app, click_in_view, drop_path, step_until};
use convlab::data::DataSource;
use convlab::engine::LossKind;
use convlab::engine::facts::infer;
use convlab::ui::ConvLabApp;
use convlab::ui::background::{AnomalyCounts, LoadDetails};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

fn pick_source(h: &mut App, title: &str) {
    h.run_steps(2);
    h.get_by_role_and_label(Role::ComboBox, "source").click();
    h.run_steps(2);
    // The own-data sources are last in a list that may scroll.
    h.get_by_label(title).scroll_to_me();
    h.run_steps(3);
    h.get_by_label(title).click();
    h.run_steps(2);
}

fn type_into(h: &mut App, label: &str, text: &str) {
    let field = h.get_by_role_and_label(Role::TextInput, label);
    field.focus();
    field.type_text(text);
    h.run_steps(2);
}

/// Waits until the project's data (of the kind `is_kind` accepts) has loaded, or failed.
fn wait_for(h: &mut App, what: &str, is_kind: fn(&DataSource) -> bool) {
    step_until(h, 30, what, |a: &ConvLabApp| {
        let wanted = &a.project.preset.data.source;
        a.data.job.is_none()
            && (a.data.failed.is_some()
                || a.data
                    .loaded
                    .as_ref()
                    .is_some_and(|l| is_kind(&l.source) && l.source == *wanted))
    });
}

fn model_output(a: &ConvLabApp) -> [usize; 3] {
    infer(&a.project.preset.model).unwrap().output()
}

/// Whether the picture has a pixel that is not grey: the grey images show a mask colour.
fn has_colour(img: &convlab::viz::Rgba) -> bool {
    img.pixels
        .chunks(4)
        .any(|p| p[0].abs_diff(p[1]) > 20 || p[1].abs_diff(p[2]) > 20)
}

#[test]
fn a_segmentation_folder_loads_with_its_masks_and_the_model_becomes_a_u_net() {
    let root = scratch("ui-seg");
    let (images, masks) = segmentation_pairs(&root, 8, 32, 1);
    // Two files that cannot be used: an image without a mask, a mask of another size.
    image::GrayImage::new(32, 32)
        .save(images.join("lonely.png"))
        .unwrap();
    image::GrayImage::new(32, 32)
        .save(images.join("odd.png"))
        .unwrap();
    image::GrayImage::new(16, 16)
        .save(masks.join("odd_mask.png"))
        .unwrap();

    let mut h = app();
    pick_source(&mut h, "My segmentation images (images + masks)");
    type_into(&mut h, "Images folder", &images.display().to_string());
    type_into(&mut h, "Masks folder", &masks.display().to_string());
    h.get_by_label("Load segmentation folders").click();
    wait_for(&mut h, "the segmentation folder", |s| {
        matches!(s, DataSource::SegmentationFolder(_))
    });
    let a = h.state();
    assert!(a.data.failed.is_none(), "{:?}", a.data.failed);
    let loaded = a.data.loaded.as_ref().unwrap();
    assert_eq!(loaded.dataset.len(), 8);
    assert_eq!(loaded.dataset.sample_shape(), [1, 28, 28]);
    let mut reasons: Vec<String> = loaded
        .skipped
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s.path.file_name().unwrap().to_string_lossy(),
                s.reason
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].starts_with("lonely.png: no mask"), "{reasons:?}");
    assert!(
        reasons[1].starts_with("odd.png:") && reasons[1].contains("16×16"),
        "{reasons:?}"
    );
    assert!(
        matches!(&loaded.details, LoadDetails::Masks { format, .. } if format.starts_with("binary"))
    );
    let thumbs = loaded.thumbnails.as_ref().expect("thumbnails");
    assert!(
        has_colour(thumbs),
        "the masks are painted over the grey images"
    );
    h.get_by_label_contains("masks: binary");
    h.get_by_label("2 files skipped");
    for r in &reasons {
        h.get_by_label(r);
    }
    h.get_by_label_contains("8 samples of 1×28×28");

    // LeNet outputs ten numbers; binary masks need one channel of 28×28.
    click_in_view(&mut h, "Use the U-Net template (1 output channel)");
    h.run_steps(2);
    assert_eq!(model_output(h.state()), [1, 28, 28]);
    assert_eq!(
        h.state().project.preset.training.loss,
        LossKind::BceWithLogits
    );
    assert!(
        h.query_by_label("Use the U-Net template (1 output channel)")
            .is_none()
    );
    // One undo step brings LeNet back.
    h.state_mut().project.undo();
    h.run_steps(2);
    assert_eq!(model_output(h.state()), [10, 1, 1]);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn an_anomaly_folder_loads_with_its_test_images_and_gets_an_autoencoder() {
    let root = scratch("ui-anomaly");
    let (train, test, masks) = anomaly_folders(&root, 10, 3, 4, 32);

    let mut h = app();
    pick_source(&mut h, "My anomaly images (normal images)");
    type_into(&mut h, "Normal images folder", &train.display().to_string());
    type_into(
        &mut h,
        "Test folder (optional)",
        &test.display().to_string(),
    );
    type_into(
        &mut h,
        "Masks folder (optional)",
        &masks.display().to_string(),
    );
    h.get_by_label("Load anomaly folders").click();
    wait_for(&mut h, "the anomaly folder", |s| {
        matches!(s, DataSource::AnomalyFolder(_))
    });
    let a = h.state();
    assert!(a.data.failed.is_none(), "{:?}", a.data.failed);
    let loaded = a.data.loaded.as_ref().unwrap();
    assert_eq!(loaded.dataset.len(), 10);
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(
        loaded.details,
        LoadDetails::AnomalyTest(AnomalyCounts {
            normal: 3,
            anomalous: 4,
            unlabelled: 0,
            with_mask: 7,
            kinds: vec!["scratch".into()],
        })
    );
    let thumbs = loaded.thumbnails.as_ref().expect("thumbnails");
    // Three rows: normal, defective (with the scratch painted), good test images.
    assert_eq!(thumbs.height, 3 * 28 + 2 * 2);
    assert!(has_colour(thumbs));
    h.get_by_label("test: 3 good, 4 defective (scratch) · 7 with masks");
    h.get_by_label_contains("10 samples of 1×28×28");

    click_in_view(
        &mut h,
        "Use the conv autoencoder template (1×28×28 in and out)",
    );
    h.run_steps(2);
    assert_eq!(model_output(h.state()), [1, 28, 28]);
    assert_eq!(h.state().project.preset.training.loss, LossKind::Mse);

    // A test folder without good/defect subfolders: one message, the folder not loaded.
    let flat = root.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    image::GrayImage::new(32, 32)
        .save(flat.join("x.png"))
        .unwrap();
    h.state_mut().state.anomaly_test_path.clear();
    h.state_mut().state.anomaly_masks_path.clear();
    h.run_steps(2);
    type_into(
        &mut h,
        "Test folder (optional)",
        &flat.display().to_string(),
    );
    h.get_by_label("Load anomaly folders").click();
    h.run_steps(2);
    wait_for(&mut h, "the flat test folder to fail", |_| false);
    let (_, _, e) = h.state().data.failed.as_ref().expect("refused");
    let text = e.to_string();
    assert!(
        text.contains("no subfolders") && text.contains("good"),
        "{text}"
    );
    // In the data panel and on the status line.
    assert_eq!(
        h.query_all_by_label_contains("the test folder has no subfolders")
            .count(),
        2
    );
    std::fs::remove_dir_all(&root).ok();
}

fn class_folder(root: &Path, classes: usize) {
    for c in 0..classes {
        let dir = root.join(format!("class{c:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..2u8 {
            image::GrayImage::from_fn(8, 8, |x, _| image::Luma([(c as u8 * 5) ^ (i + x as u8)]))
                .save(dir.join(format!("{i}.png")))
                .unwrap();
        }
    }
}

fn load_class_folder(h: &mut App, root: &Path) {
    h.state_mut().state.folder_path.clear();
    h.run_steps(2);
    type_into(h, "Folder path", &root.display().to_string());
    h.get_by_label("Load folder").click();
    // The click is carried out at the next frame: the project wants the new folder then.
    h.run_steps(2);
    wait_for(h, "the class folder", |s| {
        matches!(s, DataSource::Folder(_))
    });
    assert!(
        h.state().data.failed.is_none(),
        "{:?}",
        h.state().data.failed
    );
}

fn outputs(a: &ConvLabApp) -> usize {
    a.project.preset.model.output_layer().unwrap().1
}

#[test]
fn the_output_layer_follows_3_and_40_classes_and_back_down() {
    let root = scratch("ui-classes");
    let (three, forty) = (root.join("three"), root.join("forty"));
    class_folder(&three, 3);
    class_folder(&forty, 40);

    let mut h = app();
    pick_source(&mut h, "My images (class folder)");
    load_class_folder(&mut h, &three);
    h.get_by_label_contains("The data has 3 classes but fc3 gives 10 outputs");
    click_in_view(&mut h, "Set fc3 to 3 outputs");
    h.run_steps(2);
    assert_eq!(outputs(h.state()), 3);

    load_class_folder(&mut h, &forty);
    h.get_by_label_contains("The data has 40 classes but fc3 gives 3 outputs");
    click_in_view(&mut h, "Set fc3 to 40 outputs");
    h.run_steps(2);
    assert_eq!(outputs(h.state()), 40);

    load_class_folder(&mut h, &three);
    click_in_view(&mut h, "Set fc3 to 3 outputs");
    h.run_steps(2);
    assert_eq!(outputs(h.state()), 3);
    assert!(h.query_by_label_contains("classes but fc3 gives").is_none());
    // Each change is one undo step.
    h.state_mut().project.undo();
    assert_eq!(outputs(h.state()), 40);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn the_offered_settings_for_own_images_say_what_changes_and_can_be_declined() {
    let root = scratch("ui-offer");
    class_folder(&root, 3);
    let mut h = app();
    pick_source(&mut h, "My images (class folder)");
    load_class_folder(&mut h, &root);
    h.get_by_label_contains("optimiser: Adam at 0.004 (was SGD at 0.02)");
    h.get_by_label_contains("augmentation: flips and shifts");
    h.get_by_label("No thanks").click();
    h.run_steps(2);
    assert!(h.query_by_label("Use these settings").is_none());
    assert!(matches!(
        h.state().project.preset.training.optimizer,
        convlab::engine::OptimizerKind::Sgd { .. }
    ));
    // Another folder is offered them again; taking them changes the settings.
    let other = root
        .join("..")
        .join(format!("convlab-ui-offer2-{}", std::process::id()));
    std::fs::remove_dir_all(&other).ok();
    class_folder(&other, 3);
    load_class_folder(&mut h, &other);
    click_in_view(&mut h, "Use these settings");
    h.run_steps(2);
    let t = &h.state().project.preset.training;
    assert!(matches!(
        t.optimizer,
        convlab::engine::OptimizerKind::Adam { .. }
    ));
    assert!(t.augment.is_some_and(|a| a.flip && a.shift > 0));
    std::fs::remove_dir_all(&root).ok();
    std::fs::remove_dir_all(&other).ok();
}

/// With the segmentation tools open, the first folder dropped is the images, the second
/// the masks, and then the pairs load.
#[test]
fn dropping_two_folders_loads_a_segmentation_folder() {
    let root = scratch("seg-drop");
    let (images, masks) = segmentation_pairs(&root, 6, 16, 3);
    let mut h = app();
    pick_source(&mut h, "My segmentation images (images + masks)");
    drop_path(&mut h, &images);
    assert_eq!(
        h.state().state.segmentation_images_path,
        images.display().to_string()
    );
    drop_path(&mut h, &masks);
    wait_for(&mut h, "the dropped pairs", |s| {
        matches!(s, DataSource::SegmentationFolder(_))
    });
    assert!(
        h.state().data.failed.is_none(),
        "{:?}",
        h.state().data.failed
    );
    let loaded = h.state().data.loaded.as_ref().unwrap();
    assert_eq!(loaded.dataset.len(), 6);
}

/// Cancel while a large segmentation folder loads: nothing half-loaded replaces the data
/// shown before, and the window says it stopped.
#[test]
fn cancel_stops_a_large_segmentation_folder_and_keeps_the_old_data() {
    let root = scratch("seg-cancel");
    let (images, masks) = segmentation_pairs(&root, 1500, 8, 4);
    let mut h = app();
    common::ui::step_until(&mut h, 60, "the default data", |a| a.data.loaded.is_some());
    let before = h.state().data.loaded.as_ref().unwrap().source.clone();
    pick_source(&mut h, "My segmentation images (images + masks)");
    type_into(&mut h, "Images folder", &images.display().to_string());
    type_into(&mut h, "Masks folder", &masks.display().to_string());
    h.get_by_label("Load segmentation folders").click();
    step_until(&mut h, 10, "the load to start", |a| a.data.job.is_some());
    h.get_by_label("Cancel").click();
    step_until(&mut h, 30, "the load to stop", |a| a.data.job.is_none());
    let failed = h.state().data.failed.as_ref().expect("a stopped load");
    assert!(failed.2.is_cancelled(), "{}", failed.2);
    assert_eq!(h.state().data.loaded.as_ref().unwrap().source, before);
}
