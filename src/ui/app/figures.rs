//! Saving and copying figures ("Save PNG…", Ctrl+Shift+S): the chosen figure is taken from
//! what the window already has (the view's picture computed on the trainer thread, the
//! run's epochs, the latest evaluation) and written on a `"figure-writer"` thread, so a
//! large picture's encoding and the disk's flush never stall a frame.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui;

use super::ConvLabApp;
use crate::spec::view::ViewId;
use crate::ui::figures::{self as fig, Figure, FigureData, FigureError};

/// The figure being written, and where its outcome lands.
#[derive(Default)]
pub(super) struct FigureWrite {
    result: Arc<Mutex<Option<Result<PathBuf, FigureError>>>>,
}

impl ConvLabApp {
    /// The figure chosen in the export window, from what the window shows now.
    fn figure(&mut self, what: Figure) -> Result<FigureData, FigureError> {
        let tab = self.views.settings.tab;
        match what {
            Figure::View if tab == ViewId::Training => self.figure(Figure::Curves),
            // The sandbox draws its picture in the window, from its own settings.
            Figure::View if tab == ViewId::ConvArithmetic => self
                .views
                .sandbox
                .picture()
                .map(FigureData::Picture)
                .ok_or_else(|| {
                    FigureError::Nothing("this geometry has no output: change it first".into())
                }),
            Figure::View => {
                let result = self.views.result.as_ref().filter(|r| r.settings.tab == tab);
                match result.and_then(|r| r.image.clone()) {
                    Some(img) => Ok(FigureData::Picture(img)),
                    // These tabs are composed in the window from live sliders: their
                    // pictures side by side with their captions, as shown.
                    None if self
                        .views
                        .composed
                        .as_ref()
                        .is_some_and(|(shown, _)| *shown == tab) =>
                    {
                        use crate::viz::draw::{BACKGROUND, captioned, hstack, padded};
                        let (_, pictures) = self.views.composed.as_ref().expect("checked");
                        let parts: Vec<_> = pictures
                            .iter()
                            .map(|(caption, picture)| captioned(picture, caption, 2, BACKGROUND))
                            .collect();
                        Ok(FigureData::Picture(padded(
                            &hstack(&parts, 12, BACKGROUND),
                            8,
                            BACKGROUND,
                        )))
                    }
                    None => Err(FigureError::Nothing(
                        match result.and_then(|r| r.error.clone()) {
                            Some(e) => format!("the {} view cannot be shown: {e}", tab.title()),
                            None => format!("the {} view has no picture yet", tab.title()),
                        },
                    )),
                }
            }
            Figure::Curves => Ok(FigureData::Picture(fig::curves_picture(&self.run.history)?)),
            Figure::CurvesCsv => {
                if self.run.history.is_empty() {
                    return Err(FigureError::Nothing(
                        "no finished epoch yet: train first, then save the curves".into(),
                    ));
                }
                Ok(FigureData::Csv(fig::curves_csv(&self.run.history)))
            }
            Figure::Confusion => {
                let Some(eval) = self
                    .run
                    .evaluation
                    .as_ref()
                    .filter(|e| !e.confusion.is_empty())
                else {
                    return Err(FigureError::Nothing(
                        "no confusion matrix yet: it comes with training a classifier".into(),
                    ));
                };
                let names = self
                    .data
                    .split
                    .as_ref()
                    .map_or(&[][..], |s| &s.val.class_names[..]);
                Ok(FigureData::Picture(crate::viz::confusion::confusion_image(
                    &eval.confusion,
                    names,
                )))
            }
        }
    }

    fn figure_outcome(&mut self, text: String, is_error: bool) {
        self.figures.last = Some((text.clone(), is_error));
        if is_error {
            self.error(text);
        } else {
            self.info(text);
        }
    }

    /// Writes the chosen figure to `path` (its extension made to match) in the background.
    pub(super) fn save_figure(&mut self, path: PathBuf) {
        let what = self.figures.what;
        let scale = self.figures.scale;
        let made = fig::with_extension(&path, what).and_then(|p| Ok((p, self.figure(what)?)));
        let (path, data) = match made {
            Ok(v) => v,
            Err(e) => return self.figure_outcome(e.to_string(), true),
        };
        self.figures.path = path.display().to_string();
        let result = Arc::clone(&self.figure_write.result);
        let ctx = self.egui_ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("figure-writer".into())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    fig::write(&data, scale, &path).map(|()| path)
                }))
                .unwrap_or(Err(FigureError::Crashed));
                *result.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
                ctx.request_repaint();
            });
        match spawned {
            // Joined before the window closes, like a checkpoint save.
            Ok(handle) => self.writes.writers.push(handle),
            Err(e) => self.figure_outcome(FigureError::Thread(e).to_string(), true),
        }
    }

    /// Reports a finished figure write.
    pub(super) fn poll_figure(&mut self) {
        let outcome = self
            .figure_write
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match outcome {
            Some(Ok(path)) => self.figure_outcome(format!("wrote {}", path.display()), false),
            Some(Err(e)) => self.figure_outcome(format!("figure not saved: {e}"), true),
            None => {}
        }
    }

    /// Copies the chosen figure's picture to the clipboard (at the chosen scale). Whether
    /// the system's clipboard takes images is up to the platform; egui gives no answer.
    pub(super) fn copy_figure(&mut self, ctx: &egui::Context) {
        let img = match self.figure(self.figures.what) {
            Ok(FigureData::Picture(img)) => img,
            Ok(FigureData::Csv(_)) => {
                return self.figure_outcome("CSV is saved to a file, not copied".into(), true);
            }
            Err(e) => return self.figure_outcome(e.to_string(), true),
        };
        let img = crate::viz::draw::enlarge(&img, self.figures.scale.clamp(1, 4));
        let color = egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels);
        ctx.copy_image(color);
        self.figure_outcome(
            format!(
                "copied a {}×{} picture to the clipboard (where the system allows images)",
                img.width, img.height
            ),
            false,
        );
    }
}
