//! Figures from the window: a view's picture, the training curves or the confusion matrix
//! as a PNG (at 1× or 2×), the curves as CSV — for slides. The pictures are `viz`'s, the
//! same `convlab render` draws, and the PNG bytes come from the same encoder
//! ([`crate::viz::draw::png_bytes`]), so an exported view equals the command's file.

use std::path::{Path, PathBuf};

use crate::train::EpochRecord;
use crate::viz::draw::{enlarge, png_bytes};
use crate::viz::{Rgba, VizError};

/// What to save.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Figure {
    /// The picture of the view shown (the curves on the Training tab).
    #[default]
    View,
    /// The loss and metric curves per epoch, as the training view draws them.
    Curves,
    /// The same curves as numbers.
    CurvesCsv,
    /// The latest confusion matrix of the validation set.
    Confusion,
}

impl Figure {
    pub const ALL: [Figure; 4] = [
        Figure::View,
        Figure::Curves,
        Figure::CurvesCsv,
        Figure::Confusion,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Figure::View => "this view",
            Figure::Curves => "curves",
            Figure::CurvesCsv => "curves as CSV",
            Figure::Confusion => "confusion matrix",
        }
    }

    /// The file name extension the figure is written with.
    pub fn extension(self) -> &'static str {
        match self {
            Figure::CurvesCsv => "csv",
            _ => "png",
        }
    }
}

/// A figure ready to be written.
#[derive(Clone, Debug)]
pub enum FigureData {
    Picture(Rgba),
    Csv(String),
}

/// Why a figure could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// There is nothing to save yet (no epoch, no view computed); the text says what to do.
    #[error("{0}")]
    Nothing(String),
    #[error(transparent)]
    Picture(#[from] VizError),
    #[error("{path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start the figure writer: {0}")]
    Thread(std::io::Error),
    #[error("writing the figure crashed")]
    Crashed,
}

/// The PNG of `img` at `scale` (1 or 2): 2× repeats every pixel twice each way — crisp,
/// with no smoothing — since the views are drawn at one size.
pub fn png_at(img: &Rgba, scale: usize) -> Result<Vec<u8>, VizError> {
    if scale <= 1 {
        png_bytes(img)
    } else {
        png_bytes(&enlarge(img, scale.min(4)))
    }
}

/// The curves as CSV: a header, then one row per finished epoch.
pub fn curves_csv(epochs: &[EpochRecord]) -> String {
    let metric = epochs.last().map_or("metric", |e| e.metric.as_str());
    // The metric's name goes into the header; keep it one plain CSV field.
    let metric: String = metric
        .chars()
        .map(|c| {
            if c == ',' || c == '"' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut out = format!("epoch,train_loss,val_loss,train_{metric},val_{metric}\n");
    for e in epochs {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            e.epoch, e.train_loss, e.val_loss, e.train_metric, e.val_metric
        ));
    }
    out
}

/// The training view's picture of `epochs` (what `convlab render --view training` draws
/// from a checkpoint's history).
pub fn curves_picture(epochs: &[EpochRecord]) -> Result<Rgba, FigureError> {
    if epochs.is_empty() {
        return Err(FigureError::Nothing(
            "no finished epoch yet: train first, then save the curves".into(),
        ));
    }
    Ok(crate::viz::views::training::render(
        &crate::render::run_curves(epochs),
    )?)
}

/// `path` with the figure's extension (a CSV is never written under a .png name, nor the
/// other way round); a path without a file name is an error.
pub fn with_extension(path: &Path, figure: Figure) -> Result<PathBuf, FigureError> {
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return Err(FigureError::Nothing(
            "type a file name for the figure first (or Browse…)".into(),
        ));
    }
    let ext = figure.extension();
    Ok(
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        {
            path.to_path_buf()
        } else {
            path.with_extension(ext)
        },
    )
}

/// The bytes of `data` as written: a PNG at `scale`, or the CSV text.
pub fn encode(data: &FigureData, scale: usize) -> Result<Vec<u8>, FigureError> {
    match data {
        FigureData::Picture(img) => Ok(png_at(img, scale)?),
        FigureData::Csv(text) => Ok(text.clone().into_bytes()),
    }
}

/// Encodes and writes `data` to `path` atomically (temporary file, flush, rename).
pub fn write(data: &FigureData, scale: usize, path: &Path) -> Result<(), FigureError> {
    let bytes = encode(data, scale)?;
    crate::atomic_file::write_atomically(path, &bytes).map_err(|source| FigureError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_follow_the_figure() {
        let p = with_extension(Path::new("out/fig.png"), Figure::CurvesCsv).unwrap();
        assert_eq!(p, Path::new("out/fig.csv"));
        let p = with_extension(Path::new("fig.PNG"), Figure::View).unwrap();
        assert_eq!(p, Path::new("fig.PNG"));
        assert!(with_extension(Path::new(""), Figure::View).is_err());
    }
}
