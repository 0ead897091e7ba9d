//! The numbers the walkthrough texts quote about model geometry (receptive fields, parameter
//! counts) checked against ConvLab's own facts, so a text cannot drift from what the model
//! editor and the receptive-field view show.

use std::path::Path;

use convlab::engine::facts::{ModelFacts, infer};
use convlab::engine::{ModelSpec, NodeKind, NodeSpec};
use convlab::spec::Preset;

fn preset(name: &str) -> Preset {
    let path = format!("{}/presets/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Preset::load(Path::new(&path)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn step_text<'a>(preset: &'a Preset, title: &str) -> &'a str {
    let step = preset
        .walkthrough
        .iter()
        .find(|s| s.title == title)
        .unwrap_or_else(|| panic!("{}: no step titled {title:?}", preset.name));
    &step.text
}

/// The receptive field's side of `node`, in whole pixels.
fn field(facts: &ModelFacts, node: &str) -> usize {
    let i = facts
        .index_of(node)
        .unwrap_or_else(|| panic!("no node {node}"));
    let [h, w] = facts.nodes[i].receptive_field.size;
    assert_eq!(h, w, "{node}: a square field");
    h as usize
}

/// `n` with thousands separated by commas, as the texts write them.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Asserts that the walkthrough text says `fragment`, showing the text when it does not.
fn says(text: &str, fragment: &str) {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(fragment), "expected {fragment:?} in:\n{flat}");
}

/// VGG-16's convolutional part on a 224×224 image: blocks of 2, 2, 3, 3 and 3 same-padded
/// 3×3 convs, each block followed by 2×2 max pooling (channels do not matter for the field,
/// so one is enough).
fn vgg16(poolings: usize) -> ModelSpec {
    let mut nodes = Vec::new();
    for (block, convs) in [2, 2, 3, 3, 3].into_iter().enumerate() {
        for k in 0..convs {
            nodes.push(NodeSpec::new(
                format!("b{}_conv{}", block + 1, k + 1),
                NodeKind::conv(1, 3, 1),
            ));
        }
        if block < poolings {
            nodes.push(NodeSpec::new(
                format!("b{}_pool", block + 1),
                NodeKind::max_pool(2),
            ));
        }
    }
    ModelSpec {
        input: [1, 224, 224],
        nodes,
    }
}

#[test]
fn vgg16s_last_conv_sees_196_pixels_and_212_after_the_fifth_pooling() {
    let facts = infer(&vgg16(4)).unwrap();
    let convs = facts.nodes.iter().filter(|n| n.kind == "conv2d").count();
    assert_eq!(convs, 13);
    let last_conv = field(&facts, "b5_conv3");
    let facts = infer(&vgg16(5)).unwrap();
    let after_fifth_pool = field(&facts, "b5_pool");

    let vgg = preset("11-vgg-stacks");
    let text = step_text(&vgg, "The field after two blocks");
    says(
        text,
        &format!("13 such convs and 4 poolings give the last conv units a {last_conv}-pixel field"),
    );
    says(
        text,
        &format!("({after_fifth_pool} pixels after the fifth pooling)"),
    );
    // The preset's own mini-VGG, block by block.
    let facts = infer(&vgg.model).unwrap();
    says(
        text,
        &format!(
            "Fields grow {} → {} within block 1, pooling makes it {}",
            field(&facts, "b1_conv1"),
            field(&facts, "b1_conv2"),
            field(&facts, "b1_pool")
        ),
    );
    says(
        text,
        &format!(
            "{}, then {} pixels for b2_conv2",
            field(&facts, "b2_conv1"),
            field(&facts, "b2_conv2")
        ),
    );
}

#[test]
fn the_vgg_parameter_comparison_is_the_editors_count() {
    let conv = |k| ModelSpec {
        input: [8, 28, 28],
        nodes: vec![NodeSpec::new("c", NodeKind::conv(8, k, k / 2))],
    };
    let three = infer(&conv(3)).unwrap().total_params();
    let five = infer(&conv(5)).unwrap().total_params();
    let vgg = preset("11-vgg-stacks");
    says(
        step_text(&vgg, "Why 3×3, twice"),
        &format!(
            "2 × {} = {} parameters against {}",
            grouped(three),
            grouped(2 * three),
            grouped(five)
        ),
    );
}

#[test]
fn the_receptive_field_walkthrough_grows_its_field_as_the_facts_do() {
    let p = preset("07-receptive-field");
    let facts = infer(&p.model).unwrap();
    let f = |node| field(&facts, node);
    says(
        step_text(&p, "Deeper units see more"),
        &format!(
            "{}, {}, {} → pool → {} → {} → pool → {} → {}. A unit of conv5 sees a {}×{} patch",
            f("c1"),
            f("c2"),
            f("conv3"),
            f("pool3"),
            f("conv4"),
            f("pool4"),
            f("conv5"),
            f("conv5"),
            f("conv5")
        ),
    );
    says(
        step_text(&p, "Train: which pixels of the field matter"),
        &format!("the whole region the unit can see ({0}×{0})", f("conv5")),
    );
}
