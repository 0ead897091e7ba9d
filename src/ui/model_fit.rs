//! The model follows the data, on request: what the data panel offers when the loaded data
//! and the model do not fit each other. The input takes the samples' shape; a classifier's
//! output layer gets one output per class (fewer as well as more); a segmentation model
//! one output channel per class (one for binary masks), or the U-Net template when the
//! model does not output images; an anomaly set an autoencoder whose output matches its
//! input. Computed here without egui so the tests check the offers directly.

use crate::engine::facts::infer;
use crate::engine::{LossKind, ModelSpec};
use crate::ui::templates;

/// What the data asks of the model's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataTask {
    /// A class label per sample, this many classes.
    Classes(usize),
    /// Per-pixel masks with this many channels (1 for binary masks, else one per class).
    Masks(usize),
    /// The images themselves (an autoencoder for anomaly detection).
    Reconstruct,
}

/// One offer: what does not fit, the button that fixes it and the model it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFit {
    /// What does not fit, e.g. "The data has 3 classes but fc3 gives 10 outputs."
    pub problem: String,
    /// The button's text, e.g. "Set fc3 to 3 outputs"; `None` when no change fits (the
    /// problem then says what to do instead).
    pub action: Option<String>,
    pub model: Option<ModelSpec>,
    /// A loss the data needs when the current one cannot train on it (cross-entropy on
    /// masks, say).
    pub loss: Option<LossKind>,
}

fn shape_text(s: [usize; 3]) -> String {
    format!("{}×{}×{}", s[0], s[1], s[2])
}

/// The model's output shape, or `None` when it cannot be worked out (a red node).
fn output_of(model: &ModelSpec) -> Option<[usize; 3]> {
    infer(model).ok().map(|f| f.output())
}

/// What to offer when `model` (trained with `loss`) meets samples of `shape` for `task`;
/// `None` when they fit.
pub fn fit_model(
    model: &ModelSpec,
    loss: LossKind,
    shape: [usize; 3],
    task: DataTask,
) -> Option<ModelFit> {
    let input_differs = model.input != shape;
    let input_problem = input_differs.then(|| {
        format!(
            "The samples are {} but the model takes {}.",
            shape_text(shape),
            shape_text(model.input)
        )
    });
    let mut with_input = model.clone();
    with_input.input = shape;
    match task {
        DataTask::Classes(classes) => {
            let loss = (!loss.wants_labels()).then_some(LossKind::CrossEntropy);
            let output = model.output_layer();
            let width_differs = output.is_some_and(|(_, n)| n != classes);
            if !input_differs && !width_differs && loss.is_none() {
                return None;
            }
            let mut fitted = with_input;
            fitted.set_outputs(classes);
            let mut problems: Vec<String> = input_problem.into_iter().collect();
            let mut actions = Vec::new();
            if input_differs {
                actions.push(format!("the input to {}", shape_text(shape)));
            }
            if let Some((i, outputs)) = output
                && outputs != classes
            {
                let name = &model.nodes[i].name;
                problems.push(format!(
                    "The data has {classes} classes but {name} gives {outputs} outputs."
                ));
                actions.push(format!("{name} to {classes} outputs"));
            }
            if loss.is_some() {
                problems.push("Class labels need the cross-entropy loss.".into());
                actions.push("the loss to cross-entropy".into());
            }
            // A classifier ends in one value per class; a model that outputs images does
            // not become one by a wider layer.
            let fits = output_of(&fitted).is_some_and(|o| o == [classes, 1, 1]);
            if !fits {
                let cnn = crate::spec::own_images::small_cnn(shape, classes);
                return Some(ModelFit {
                    problem: format!(
                        "{} The model does not end in one output per class.",
                        problems.join(" ")
                    ),
                    action: Some(format!(
                        "Use a small CNN with {classes} outputs for {}",
                        shape_text(shape)
                    )),
                    model: Some(cnn),
                    loss,
                });
            }
            Some(ModelFit {
                problem: problems.join(" "),
                action: Some(format!("Set {}", actions.join(" and "))),
                model: Some(fitted),
                loss,
            })
        }
        DataTask::Masks(channels) => {
            let want = [channels, shape[1], shape[2]];
            let loss = (!matches!(loss, LossKind::BceWithLogits | LossKind::Dice))
                .then_some(LossKind::BceWithLogits);
            if !input_differs && output_of(model) == Some(want) && loss.is_none() {
                return None;
            }
            let what = if channels == 1 {
                "binary masks need 1 output channel".to_string()
            } else {
                format!("masks of {channels} classes need {channels} output channels")
            };
            let problem = format!(
                "{}The model outputs {}; {what} of {}×{}.",
                input_problem.map(|p| p + " ").unwrap_or_default(),
                output_of(model).map_or("nothing yet".into(), shape_text),
                shape[1],
                shape[2]
            );
            let mut fitted = with_input;
            fitted.set_outputs(channels);
            if output_of(&fitted) == Some(want) {
                let action = match model.output_layer() {
                    Some((i, n)) if n != channels => {
                        format!("Set {} to {channels} output channels", model.nodes[i].name)
                    }
                    _ if input_differs => format!("Set the input to {}", shape_text(shape)),
                    _ => "Set the loss to binary cross-entropy".into(),
                };
                return Some(ModelFit {
                    problem,
                    action: Some(action),
                    model: Some(fitted),
                    loss,
                });
            }
            let mut unet = templates::build("U-Net", shape, channels)?;
            unet.set_outputs(channels);
            if output_of(&unet) == Some(want) {
                return Some(ModelFit {
                    problem,
                    action: Some(format!(
                        "Use the U-Net template ({channels} output channel{})",
                        if channels == 1 { "" } else { "s" }
                    )),
                    model: Some(unet),
                    loss,
                });
            }
            Some(ModelFit {
                problem: format!(
                    "{problem} The U-Net template halves the size twice: choose an image size \
                     divisible by 4."
                ),
                action: None,
                model: None,
                loss: None,
            })
        }
        DataTask::Reconstruct => {
            let loss = loss.wants_labels().then_some(LossKind::Mse);
            if !input_differs && output_of(model) == Some(shape) && loss.is_none() {
                return None;
            }
            let problem = format!(
                "{}An autoencoder's output must match its input ({}); the model outputs {}.",
                input_problem.map(|p| p + " ").unwrap_or_default(),
                shape_text(shape),
                output_of(model).map_or("nothing yet".into(), shape_text),
            );
            if output_of(&with_input) == Some(shape) {
                return Some(ModelFit {
                    problem,
                    action: Some(format!("Set the input to {}", shape_text(shape))),
                    model: Some(with_input),
                    loss,
                });
            }
            let autoencoder = templates::build("Conv autoencoder", shape, 1)?;
            if output_of(&autoencoder) == Some(shape) {
                return Some(ModelFit {
                    problem,
                    action: Some(format!(
                        "Use the conv autoencoder template ({} in and out)",
                        shape_text(shape)
                    )),
                    model: Some(autoencoder),
                    loss,
                });
            }
            Some(ModelFit {
                problem: format!(
                    "{problem} The conv autoencoder template halves the size twice: choose an \
                     image size divisible by 4."
                ),
                action: None,
                model: None,
                loss: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenet(input: [usize; 3]) -> ModelSpec {
        templates::build("LeNet-5", input, 10).unwrap()
    }

    #[test]
    fn the_output_layer_follows_the_classes_both_ways() {
        let model = lenet([1, 28, 28]);
        for classes in [3, 40] {
            let fit = fit_model(
                &model,
                LossKind::CrossEntropy,
                [1, 28, 28],
                DataTask::Classes(classes),
            )
            .unwrap();
            assert_eq!(
                fit.action.as_deref(),
                Some(format!("Set fc3 to {classes} outputs").as_str())
            );
            assert_eq!(
                fit.model.unwrap().output_layer().unwrap().1,
                classes,
                "{classes}"
            );
        }
        assert_eq!(
            fit_model(
                &model,
                LossKind::CrossEntropy,
                [1, 28, 28],
                DataTask::Classes(10)
            ),
            None
        );
    }

    #[test]
    fn input_and_width_change_in_one_offer() {
        let fit = fit_model(
            &lenet([1, 28, 28]),
            LossKind::CrossEntropy,
            [3, 32, 32],
            DataTask::Classes(3),
        )
        .unwrap();
        assert_eq!(
            fit.action.as_deref(),
            Some("Set the input to 3×32×32 and fc3 to 3 outputs")
        );
        let model = fit.model.unwrap();
        assert_eq!(model.input, [3, 32, 32]);
        assert_eq!(output_of(&model), Some([3, 1, 1]));
    }

    #[test]
    fn masks_get_a_u_net_with_one_channel_per_class() {
        let fit = fit_model(
            &lenet([1, 28, 28]),
            LossKind::CrossEntropy,
            [1, 32, 32],
            DataTask::Masks(1),
        )
        .unwrap();
        assert_eq!(fit.loss, Some(LossKind::BceWithLogits));
        let unet = fit.model.unwrap();
        assert_eq!(output_of(&unet), Some([1, 32, 32]));
        // The U-Net then follows 3 classes by its head alone.
        let fit = fit_model(
            &unet,
            LossKind::BceWithLogits,
            [1, 32, 32],
            DataTask::Masks(3),
        )
        .unwrap();
        assert_eq!(fit.action.as_deref(), Some("Set head to 3 output channels"));
        assert_eq!(output_of(&fit.model.unwrap()), Some([3, 32, 32]));
        // A size the template cannot halve twice: said, nothing offered.
        let fit = fit_model(
            &unet,
            LossKind::BceWithLogits,
            [1, 30, 30],
            DataTask::Masks(1),
        )
        .unwrap();
        assert!(fit.model.is_none() && fit.problem.contains("divisible by 4"));
    }

    #[test]
    fn an_anomaly_set_gets_an_autoencoder_whose_output_matches_its_input() {
        let fit = fit_model(
            &lenet([1, 28, 28]),
            LossKind::CrossEntropy,
            [3, 32, 32],
            DataTask::Reconstruct,
        )
        .unwrap();
        assert_eq!(fit.loss, Some(LossKind::Mse));
        let ae = fit.model.unwrap();
        assert_eq!(output_of(&ae), Some([3, 32, 32]));
        assert_eq!(
            fit_model(&ae, LossKind::Mse, [3, 32, 32], DataTask::Reconstruct),
            None
        );
    }
}
