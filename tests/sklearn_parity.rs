//! The anomaly and segmentation scores against scikit-learn: ROC curves and AUROC (with
//! ties), precision/recall/F1/accuracy at a threshold, per-class IoU (Jaccard) and Dice
//! (F1), their means and pixel accuracy. Fixtures: `tests/fixtures/sklearn/`, made by the
//! committed `make_sklearn_fixtures.py`.

use convlab::inspect::anomaly::{ConfusionMatrix, auroc, confusion_at, roc_curve};
use serde_json::Value;

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn/metrics.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::String(s) if s == "inf" => f64::INFINITY,
            Value::Null => f64::NAN,
            x => x.as_f64().unwrap(),
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12
}

#[test]
fn roc_auroc_and_threshold_scores_match_scikit_learn() {
    let all = fixtures();
    let cases = all["ranking"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let scores = floats(&case["scores"]);
        let labels: Vec<bool> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_bool().unwrap())
            .collect();
        let ours = auroc(&scores, &labels).unwrap();
        let theirs = case["auroc"].as_f64().unwrap();
        assert!(close(ours, theirs), "{name}: AUROC {ours} vs {theirs}");

        let roc = roc_curve(&scores, &labels);
        let (fpr, tpr, thr) = (
            floats(&case["roc"]["fpr"]),
            floats(&case["roc"]["tpr"]),
            floats(&case["roc"]["thresholds"]),
        );
        assert_eq!(roc.len(), fpr.len(), "{name}: ROC corners");
        for (i, p) in roc.iter().enumerate() {
            assert!(
                close(p.fpr, fpr[i]) && close(p.tpr, tpr[i]) && close(p.threshold, thr[i]),
                "{name}: corner {i}: {p:?} vs ({}, {}, {})",
                fpr[i],
                tpr[i],
                thr[i]
            );
        }

        for at in case["at"].as_array().unwrap() {
            let t = at["threshold"].as_f64().unwrap();
            let c = confusion_at(&scores, &labels, t);
            for (what, ours, theirs) in [
                ("precision", c.precision(), &at["precision"]),
                ("recall", c.recall(), &at["recall"]),
                ("f1", c.f1(), &at["f1"]),
                ("accuracy", c.accuracy(), &at["accuracy"]),
            ] {
                let theirs = theirs.as_f64().unwrap();
                assert!(
                    close(ours, theirs),
                    "{name} at {t}: {what} {ours} vs {theirs}"
                );
            }
        }
    }
}

#[test]
fn iou_dice_and_pixel_accuracy_match_scikit_learn() {
    let all = fixtures();
    let cases = all["segmentation"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let bytes = |v: &Value| -> Vec<u8> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u8)
                .collect()
        };
        let (truth, predicted) = (bytes(&case["truth"]), bytes(&case["predicted"]));
        let mut m = ConfusionMatrix::new(k);
        m.add(&predicted, &truth);
        for (t, row) in case["confusion"].as_array().unwrap().iter().enumerate() {
            for (p, count) in row.as_array().unwrap().iter().enumerate() {
                assert_eq!(m.get(t, p), count.as_u64().unwrap(), "{name}: [{t}][{p}]");
            }
        }
        let as_f64 = |v: Vec<Option<f64>>| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        for (what, ours, theirs) in [
            ("IoU", as_f64(m.iou()), floats(&case["iou"])),
            ("Dice", as_f64(m.dice()), floats(&case["dice"])),
        ] {
            let ours: Vec<f64> = ours;
            assert_eq!(ours.len(), theirs.len());
            for (c, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert!(close(*a, *b), "{name}: {what} of class {c}: {a} vs {b}");
            }
        }
        for (what, ours, theirs) in [
            ("mean IoU", m.mean_iou(), &case["mean_iou"]),
            ("mean Dice", m.mean_dice(), &case["mean_dice"]),
            (
                "pixel accuracy",
                m.pixel_accuracy(),
                &case["pixel_accuracy"],
            ),
        ] {
            let theirs = theirs.as_f64().unwrap();
            assert!(close(ours, theirs), "{name}: {what} {ours} vs {theirs}");
        }
    }
}
