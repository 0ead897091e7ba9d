//! Every walkthrough step's view draws its model: for every preset, each step's view
//! renders a non-empty picture headless on the model as it is at that step (fresh weights,
//! the step's and earlier steps' `set`s applied). For the first lecture hour (02–05) the
//! walkthrough is also replayed with its training, and each picture step is rendered on the
//! trained model: `CONVLAB_WALK_PNG=DIR` writes those pictures into DIR for reading them
//! against the step texts.

use std::path::{Path, PathBuf};

use clap::Parser;
use convlab::data::Dataset;
use convlab::engine::Graph;
use convlab::spec::Preset;
use convlab::spec::view::{ViewId, ViewSource};
use convlab::spec::walkthrough::{Action, Step, set_key};
use convlab::train::Trainer;
use convlab::viz::Rgba;
use convlab::viz::views::point_options::PointOptions;
use convlab::viz::views::{ViewInput, ViewRequest, ViewTarget, render_view};

fn presets() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Data of the last settings asked for (resets of the same data reuse it).
#[derive(Default)]
struct Data {
    spec: Option<convlab::data::DataSpec>,
    sets: Option<(Dataset, Dataset)>,
}

impl Data {
    fn get(&mut self, p: &Preset) -> (Dataset, Dataset) {
        if self.spec.as_ref() != Some(&p.data) {
            self.sets = Some(convlab::data::load::load(&p.data).unwrap());
            self.spec = Some(p.data.clone());
        }
        self.sets.clone().unwrap()
    }
}

/// The step's request, as the window makes it from the step's settings (and the data's
/// hand-made input features, which the window takes from the data source).
fn request(step: &Step, preset: &Preset, names: Vec<String>) -> ViewRequest {
    ViewRequest {
        node: step.node.clone(),
        channel: step.channel.unwrap_or(0),
        class_names: names,
        points: PointOptions {
            features: preset.data.source.source().input_features().to_vec(),
            ..PointOptions::default()
        },
        // As convlab render sets them from the preset.
        diffusion: preset.data.diffusion,
        kl_weight: preset.training.kl_weight,
        super_resolution: preset.data.super_resolution,
        pipeline: preset.pipeline.clone(),
        evolution: preset.evolution.clone(),
        ..ViewRequest::default()
    }
}

/// `convlab render`'s arguments (the views drawn by their own render task).
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: convlab::render::RenderArgs,
}

/// The step's view of `graph` (or, for the views with their own render task, of `preset`
/// through `convlab render`).
fn render_step(
    graph: &mut Graph<f32>,
    preset: &Preset,
    step: &Step,
    train: &Dataset,
    val: &Dataset,
    scratch: &Path,
) -> Result<Rgba, String> {
    let set = if val.is_empty() { train } else { val };
    let req = request(step, preset, set.class_names.clone());
    match step.view {
        ViewId::TopPatches | ViewId::Anomaly | ViewId::Segmentation | ViewId::ConvArithmetic => {
            let model = scratch.join("step.toml");
            std::fs::write(&model, toml::to_string(preset).unwrap()).unwrap();
            let out = scratch.join("step.png");
            let mut argv = vec![
                "render".to_string(),
                model.display().to_string(),
                "--view".into(),
                step.view.name().into(),
                "--out".into(),
                out.display().to_string(),
            ];
            if let Some(n) = &step.node {
                argv.extend(["--node".into(), n.clone()]);
            }
            if let Some(c) = step.channel {
                argv.extend(["--channel".into(), c.to_string()]);
            }
            let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
            convlab::render::run(&cli.args).map_err(|e| format!("{e:#}"))?;
            let img = image::open(&out).map_err(|e| e.to_string())?.to_rgba8();
            Ok(Rgba {
                width: img.width() as usize,
                height: img.height() as usize,
                pixels: img.into_raw(),
            })
        }
        view if view.source() == ViewSource::DataSet => {
            let input = ViewInput::DataSet { train, val };
            render_view(view, graph, &input, &req).map_err(|e| e.to_string())
        }
        view => {
            let k = step.input.unwrap_or(0).min(set.len() - 1);
            let (x, t) = convlab::train::run::gather(set, &[k]);
            let target = match (&set.targets, t) {
                (convlab::data::Targets::Labels(l), _) => ViewTarget::Label(l[k]),
                (_, convlab::train::run::BatchTarget::Dense(d)) => ViewTarget::Dense(d),
                (_, convlab::train::run::BatchTarget::Labels(l)) => ViewTarget::Label(l[0]),
            };
            let input = ViewInput::Sample {
                x: &x,
                target: &target,
                loss: preset.training.loss,
            };
            render_view(view, graph, &input, &req).map_err(|e| e.to_string())
        }
    }
}

/// A picture with something on it: not one flat colour.
fn assert_drawn(img: &Rgba, at: &str) {
    assert!(
        img.width > 50 && img.height > 50,
        "{at}: {}×{}",
        img.width,
        img.height
    );
    let first = &img.pixels[..4];
    let colours = img
        .pixels
        .chunks(4)
        .filter(|p| *p != first)
        .take(1000)
        .count();
    assert!(colours >= 1000, "{at}: an almost empty picture");
}

#[test]
fn every_walkthrough_steps_view_renders_on_its_model() {
    let scratch = std::env::temp_dir().join(format!("convlab-walk-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut data = Data::default();
    let mut drawn = 0;
    for path in presets() {
        let original = Preset::load(&path).unwrap();
        let mut current = original.clone();
        for (i, step) in original.walkthrough.iter().enumerate() {
            for action in &step.actions {
                if let Action::Set { key, value } = action {
                    current = set_key(&current, key, value).unwrap();
                }
            }
            if step.view.source() == ViewSource::Run {
                continue;
            }
            let at = format!(
                "{}: step {} ('{}'), view {}",
                original.name,
                i + 1,
                step.title,
                step.view
            );
            let (train, val) = data.get(&current);
            let mut graph = Graph::new(&current.model).unwrap();
            convlab::engine::init::initialize(
                &mut graph,
                current.training.init,
                current.training.seed,
            );
            let img = render_step(&mut graph, &current, step, &train, &val, &scratch)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_drawn(&img, &at);
            drawn += 1;
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
    assert!(drawn > 40, "{drawn} steps drawn");
}

/// Replays 02–05 as the window does (see tests/presets.rs for the rules) and renders every
/// picture step on the trained model.
#[test]
fn the_first_hours_walkthroughs_draw_their_trained_models() {
    let out = std::env::var_os("CONVLAB_WALK_PNG").map(PathBuf::from);
    let scratch = std::env::temp_dir().join(format!("convlab-walk-trained-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut data = Data::default();
    for path in presets().into_iter().filter(|p| {
        let s = p.file_stem().unwrap().to_string_lossy().into_owned();
        ["02-", "03-", "04-", "05-"]
            .iter()
            .any(|t| s.starts_with(t))
    }) {
        let original = Preset::load(&path).unwrap();
        let mut current = original.clone();
        let trainer = |p: &Preset, data: &mut Data| {
            let (train, val) = data.get(p);
            let mut t = Trainer::with_data(p, train, val).unwrap();
            t.set_threads(2);
            t
        };
        let mut run = trainer(&current, &mut data);
        for (i, step) in original.walkthrough.iter().enumerate() {
            // Model and data changes take effect at the next train or reset, or at the
            // step's end (settings that only fit together may change one at a time).
            let mut rebuild = false;
            for action in &step.actions {
                match action {
                    Action::Train { epochs } => {
                        if std::mem::take(&mut rebuild) {
                            run = trainer(&current, &mut data);
                        }
                        for _ in 0..*epochs {
                            run.run_epoch(|_| {}).unwrap();
                        }
                    }
                    Action::PinRun { .. } => {}
                    Action::Reset => {
                        rebuild = false;
                        run = trainer(&current, &mut data);
                    }
                    Action::Set { key, value } => {
                        let next = set_key(&current, key, value).unwrap();
                        if next.model != current.model || next.data != current.data {
                            rebuild = true;
                        } else {
                            if next.training.learning_rate != current.training.learning_rate {
                                run.set_learning_rate(next.training.learning_rate);
                            }
                            run.preset = next.clone();
                        }
                        current = next;
                    }
                }
            }
            if rebuild {
                run = trainer(&current, &mut data);
            }
            if step.view.source() == ViewSource::Run {
                continue;
            }
            let at = format!("{}: step {} ('{}')", original.name, i + 1, step.title);
            let (train, val) = (run.train.clone(), run.val.clone());
            let img = render_step(run.graph_mut(), &current, step, &train, &val, &scratch)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_drawn(&img, &at);
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir).unwrap();
                let file = dir.join(format!("{}-{:02}-{}.png", original.name, i + 1, step.view));
                convlab::viz::draw::save_png(&img, &file).unwrap();
                let last = run.history.epochs.last();
                eprintln!(
                    "{at}: {} · val loss {:.4} · val {} {:.4}",
                    file.display(),
                    last.map_or(f64::NAN, |r| r.val_loss),
                    last.map_or("", |r| r.metric.as_str()),
                    last.map_or(f64::NAN, |r| r.val_metric),
                );
            }
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
}
