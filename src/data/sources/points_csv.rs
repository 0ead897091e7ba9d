//! The user's own 2-D points from a CSV file (`source = "points_csv"`): one point per row,
//! `x, y, label` for classification or `x, y, target` for regression, with an optional
//! header row. Rows that cannot be read (missing columns, text where a number belongs,
//! NaN or infinite values) are left out and reported with their line numbers; the rest
//! loads. Optional hand-made input features as for generated points.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::Array4;
use serde::{Deserialize, Serialize};

use super::options::{EnumChoice, OptionValue, SourceOption};
use super::{FolderChoice, Source};
use crate::data::features::{FeatureSwitches, InputFeature, in_channel_order, with_features};
use crate::data::folder::{CANCELLED, Skipped};
use crate::data::{DataError, Dataset, Targets};

/// Most distinct labels a classification file may have: more is almost surely a regression
/// target read as labels.
pub const MAX_CLASSES: usize = 256;
/// Rows between two progress reports.
const PROGRESS_EVERY: usize = 8192;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsCsv {
    pub path: PathBuf,
    /// What the third column holds.
    #[serde(default)]
    pub task: CsvTask,
    /// Derived inputs appended after x and y, as for generated points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<InputFeature>,
}

/// What the third column of the file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvTask {
    /// A class per row (a number or a name).
    #[default]
    Classification,
    /// A number per row to predict.
    Regression,
}

impl CsvTask {
    pub const ALL: [CsvTask; 2] = [CsvTask::Classification, CsvTask::Regression];

    pub fn name(self) -> &'static str {
        match self {
            CsvTask::Classification => "classification",
            CsvTask::Regression => "regression",
        }
    }
}

impl PointsCsv {
    /// A file to read, with classification and no features.
    pub fn new(path: PathBuf) -> Self {
        PointsCsv {
            path,
            task: CsvTask::Classification,
            features: Vec::new(),
        }
    }
}

impl Source for PointsCsv {
    fn title() -> &'static str {
        "My 2-D points (CSV file)"
    }
    /// Needs a file: the data panel's CSV tools give one.
    fn starting_options(_: &FolderChoice) -> Option<Self> {
        None
    }
    fn label(&self) -> String {
        format!("points from {}", self.path.display())
    }
    fn load(&self, _seed: u64) -> Result<Dataset, DataError> {
        Ok(load_points_csv(self, None, |_, _| {})?.dataset)
    }
    fn seed_changes_samples(&self) -> bool {
        false
    }
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.path]
    }
    fn options(&mut self) -> Vec<SourceOption<'_>> {
        vec![
            SourceOption::new(
                "task",
                "What the third column holds: a class per point (a number or a name) or a \
                 number to predict",
                OptionValue::Choice(Box::new(EnumChoice {
                    value: &mut self.task,
                    all: &CsvTask::ALL,
                    name: CsvTask::name,
                })),
            ),
            SourceOption::new(
                "features",
                super::points::FEATURES_TIP,
                OptionValue::Switches(Box::new(FeatureSwitches(&mut self.features))),
            ),
        ]
    }
    fn input_features(&self) -> &[InputFeature] {
        &self.features
    }
    fn sample_shape(&self) -> Option<[usize; 3]> {
        Some([2 + in_channel_order(&self.features).len(), 1, 1])
    }
}

/// A loaded file: the points and the rows that were left out (each `reason` starts with
/// its line number).
#[derive(Clone, Debug)]
pub struct CsvLoad {
    pub dataset: Dataset,
    pub skipped: Vec<Skipped>,
}

/// Reads the file of `source`, reporting `progress(rows done, rows in all)` and stopping
/// when `cancel` is set.
pub fn load_points_csv(
    source: &PointsCsv,
    cancel: Option<&AtomicBool>,
    progress: impl FnMut(usize, usize),
) -> Result<CsvLoad, DataError> {
    let path = &source.path;
    let err = |reason: String| DataError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let name = path
        .file_stem()
        .map_or_else(|| "points".into(), |s| s.to_string_lossy().into_owned());
    let read = parse_points_csv(&text, source.task, cancel, progress).map_err(err)?;
    let skipped = read
        .bad_rows
        .into_iter()
        .map(|(line, reason)| Skipped {
            path: path.clone(),
            reason: format!("line {line}: {reason}"),
        })
        .collect();
    let dataset = Dataset {
        name,
        ..read.dataset
    };
    Ok(CsvLoad {
        dataset: with_features(dataset, &source.features),
        skipped,
    })
}

/// The points of a CSV text and its unreadable rows as `(line number, reason)`.
pub struct ParsedCsv {
    pub dataset: Dataset,
    pub bad_rows: Vec<(usize, String)>,
}

/// Parses `text`: rows of `x, y, label or target`, blank lines ignored, a first row whose
/// x or y is not a number taken as the header. An error when no row can be read.
pub fn parse_points_csv(
    text: &str,
    task: CsvTask,
    cancel: Option<&AtomicBool>,
    mut progress: impl FnMut(usize, usize),
) -> Result<ParsedCsv, String> {
    // Spreadsheet programs often start a UTF-8 file with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let total = text.lines().count();
    progress(0, total);
    let mut xy: Vec<f32> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    let mut values: Vec<f32> = Vec::new();
    let mut label_index: HashMap<&str, usize> = HashMap::new();
    let mut label_names: Vec<&str> = Vec::new();
    let mut bad_rows = Vec::new();
    let mut first_row = true;
    for (i, line) in text.lines().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(CANCELLED.into());
            }
            progress(i, total);
        }
        let line_number = i + 1;
        let row = line.trim();
        if row.is_empty() {
            continue;
        }
        let is_first = std::mem::take(&mut first_row);
        let cells: Vec<&str> = row.split(',').map(unquoted).collect();
        if cells.len() != 3 {
            // A spreadsheet set to another list separator writes semicolons or tabs.
            let hint = if cells.len() == 1 && (row.contains(';') || row.contains('\t')) {
                " (separate the columns with commas)"
            } else {
                ""
            };
            bad_rows.push((
                line_number,
                format!(
                    "{} columns; expected 3: x, y, label or target{hint}",
                    cells.len()
                ),
            ));
            continue;
        }
        let (x, y) = (number(cells[0]), number(cells[1]));
        if is_first && (x.is_err() || y.is_err()) && cells.iter().all(|c| number(c).is_err()) {
            continue; // the header
        }
        let point = match (x, y) {
            (Ok(x), Ok(y)) => [x, y],
            (Err(e), _) => {
                bad_rows.push((line_number, format!("x {e}")));
                continue;
            }
            (_, Err(e)) => {
                bad_rows.push((line_number, format!("y {e}")));
                continue;
            }
        };
        match task {
            CsvTask::Regression => match number(cells[2]) {
                Ok(v) => values.push(v),
                Err(e) => {
                    bad_rows.push((line_number, format!("target {e}")));
                    continue;
                }
            },
            CsvTask::Classification => {
                let label = cells[2];
                if label.is_empty() {
                    bad_rows.push((line_number, "the label is empty".into()));
                    continue;
                }
                let next = label_names.len();
                let index = *label_index.entry(label).or_insert_with(|| {
                    label_names.push(label);
                    next
                });
                if label_names.len() > MAX_CLASSES {
                    return Err(format!(
                        "more than {MAX_CLASSES} different labels: if the third column is a \
                         number to predict, choose the regression task"
                    ));
                }
                labels.push(index);
            }
        }
        xy.extend(point);
    }
    progress(total, total);
    let n = xy.len() / 2;
    if n == 0 {
        let why = match bad_rows.first() {
            Some((line, reason)) => format!("no readable rows (line {line}: {reason})"),
            None => "no rows: expected x, y, label or target per line".into(),
        };
        return Err(why);
    }
    let inputs = Array4::from_shape_fn((n, 2, 1, 1), |(i, c, _, _)| xy[2 * i + c]);
    let (targets, class_names) = match task {
        CsvTask::Regression => (
            Targets::Dense(Array4::from_shape_vec((n, 1, 1, 1), values).expect("one per row")),
            Vec::new(),
        ),
        CsvTask::Classification => {
            // Classes in a stable order whatever order the rows come in: numerically when
            // every label is a number, else alphabetically.
            let mut order: Vec<usize> = (0..label_names.len()).collect();
            let numeric: Option<Vec<f64>> =
                label_names.iter().map(|l| l.parse::<f64>().ok()).collect();
            match numeric {
                Some(v) => order.sort_by(|&a, &b| v[a].total_cmp(&v[b])),
                None => order.sort_by_key(|&a| label_names[a]),
            }
            let mut class_of = vec![0; order.len()];
            for (class, &first_seen) in order.iter().enumerate() {
                class_of[first_seen] = class;
            }
            let labels = labels.into_iter().map(|l| class_of[l]).collect();
            let names = order.iter().map(|&k| label_names[k].to_string()).collect();
            (Targets::Labels(labels), names)
        }
    };
    Ok(ParsedCsv {
        dataset: Dataset {
            name: "points".into(),
            inputs,
            targets,
            class_names,
        },
        bad_rows,
    })
}

fn unquoted(cell: &str) -> &str {
    let cell = cell.trim();
    cell.strip_prefix('"')
        .and_then(|c| c.strip_suffix('"'))
        .unwrap_or(cell)
        .trim()
}

/// A finite number, or why the cell is not one.
fn number(cell: &str) -> Result<f32, String> {
    if cell.is_empty() {
        return Err("is empty".into());
    }
    match cell.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!("is {v}, not a finite number")),
        Err(_) => Err(format!("{cell:?} is not a number")),
    }
}

/// Whether `path` names a CSV file (by its extension).
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, task: CsvTask) -> Result<ParsedCsv, String> {
        parse_points_csv(text, task, None, |_, _| {})
    }

    fn bad_lines(p: &ParsedCsv) -> Vec<usize> {
        p.bad_rows.iter().map(|(l, _)| *l).collect()
    }

    #[test]
    fn rows_with_a_header_load_with_classes_in_numeric_order() {
        let p = parse(
            "x,y,label\n0.5, 1, 10\n-1,2,2\n\n3,4,10\n",
            CsvTask::Classification,
        )
        .unwrap();
        assert_eq!(p.dataset.len(), 3);
        assert_eq!(p.dataset.class_names, ["2", "10"]);
        assert_eq!(p.dataset.targets, Targets::Labels(vec![1, 0, 1]));
        assert_eq!(p.dataset.inputs[[1, 0, 0, 0]], -1.0);
        assert_eq!(p.dataset.inputs[[1, 1, 0, 0]], 2.0);
        assert!(p.bad_rows.is_empty());
    }

    #[test]
    fn without_a_header_the_first_row_is_data_and_names_are_classes() {
        let p = parse("1,2,\"dog\"\n3,4,cat\n", CsvTask::Classification).unwrap();
        assert_eq!(p.dataset.len(), 2);
        assert_eq!(p.dataset.class_names, ["cat", "dog"]);
        assert_eq!(p.dataset.targets, Targets::Labels(vec![1, 0]));
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_the_rest_loads() {
        let text = "x,y,target\n1,2,0.5\n1,2\nabc,2,1\n3,NaN,1\n4,5,inf\n1,2,3,4\n6,7,-1\n";
        let p = parse(text, CsvTask::Regression).unwrap();
        assert_eq!(p.dataset.len(), 2);
        assert_eq!(bad_lines(&p), [3, 4, 5, 6, 7]);
        let reasons: Vec<&str> = p.bad_rows.iter().map(|(_, r)| r.as_str()).collect();
        assert!(reasons[0].contains("2 columns"), "{reasons:?}");
        assert!(
            reasons[1].contains("\"abc\" is not a number"),
            "{reasons:?}"
        );
        assert!(reasons[2].starts_with("y is NaN"), "{reasons:?}");
        assert!(reasons[3].starts_with("target is inf"), "{reasons:?}");
        let Targets::Dense(t) = &p.dataset.targets else {
            panic!("regression gives dense targets")
        };
        assert_eq!(t.as_slice().unwrap(), [0.5, -1.0]);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_row() {
        let p = parse("\u{feff}1,2,a\n3,4,b\n", CsvTask::Classification).unwrap();
        assert_eq!(p.dataset.len(), 2);
        assert!(p.bad_rows.is_empty());
    }

    #[test]
    fn rows_separated_by_semicolons_say_how_to_fix_them() {
        let e = parse("1;2;a\n", CsvTask::Classification).err().unwrap();
        assert!(e.ends_with("(separate the columns with commas))"), "{e}");
    }

    #[test]
    fn a_header_is_only_the_first_row_and_only_when_it_is_all_text() {
        let p = parse("1,2,a\nx,y,label\n", CsvTask::Classification).unwrap();
        assert_eq!(bad_lines(&p), [2]);
        // A first row with a number in it is data with a mistake, not a header.
        let p = parse("1,y,a\n1,2,a\n", CsvTask::Classification).unwrap();
        assert_eq!(bad_lines(&p), [1]);
    }

    #[test]
    fn empty_files_and_files_without_a_readable_row_are_errors() {
        for text in ["", "\n\n", "x,y,label\n"] {
            let e = parse(text, CsvTask::Classification).err().unwrap();
            assert!(e.starts_with("no rows"), "{text:?}: {e}");
        }
        let e = parse("x,y,label\n1;2;3\n", CsvTask::Classification)
            .err()
            .unwrap();
        assert!(e.contains("no readable rows (line 2: 1 columns"), "{e}");
    }

    #[test]
    fn a_regression_file_read_as_labels_is_stopped_with_advice() {
        let text: String = (0..300).map(|i| format!("0,0,{i}.5\n")).collect();
        let e = parse(&text, CsvTask::Classification).err().unwrap();
        assert!(e.contains("regression"), "{e}");
        assert_eq!(
            parse(&text, CsvTask::Regression).unwrap().dataset.len(),
            300
        );
    }

    #[test]
    fn cancel_stops_and_progress_reaches_the_end() {
        let cancel = AtomicBool::new(true);
        let e = parse_points_csv("1,2,3\n", CsvTask::Regression, Some(&cancel), |_, _| {})
            .err()
            .unwrap();
        assert_eq!(e, CANCELLED);
        let mut last = (0, 0);
        parse_points_csv("1,2,3\n4,5,6\n", CsvTask::Regression, None, |d, t| {
            last = (d, t)
        })
        .unwrap();
        assert_eq!(last, (2, 2));
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let source = PointsCsv::new("no/such/points.csv".into());
        let e = source.load(0).err().unwrap().to_string();
        assert!(e.starts_with("no/such/points.csv: cannot read"), "{e}");
    }

    #[test]
    fn a_million_rows_load_with_progress_and_features() {
        let dir = std::env::temp_dir().join(format!("convlab-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("million.csv");
        let mut text = String::from("x,y,label\n");
        for i in 0..1_000_000u32 {
            let (x, y) = (
                (i % 1000) as f32 / 500.0 - 1.0,
                (i / 1000) as f32 / 500.0 - 1.0,
            );
            text.push_str(&format!("{x},{y},{}\n", u32::from(x * y > 0.0)));
        }
        std::fs::write(&path, text).unwrap();
        let mut source = PointsCsv::new(path.clone());
        source.features = vec![InputFeature::XTimesY];
        let started = std::time::Instant::now();
        let mut reports = 0;
        let loaded = load_points_csv(&source, None, |_, _| reports += 1).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(loaded.dataset.len(), 1_000_000);
        assert_eq!(loaded.dataset.sample_shape(), [3, 1, 1]);
        assert_eq!(loaded.dataset.class_names, ["0", "1"]);
        assert!(reports > 100, "progress reported {reports} times");
        // Not a speed benchmark (that is `convlab bench`'s job): a bound loose enough for a
        // busy machine that still catches a loader gone quadratic.
        assert!(seconds < 10.0, "{seconds:.2} s");
    }
}
