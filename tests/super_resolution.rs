//! Super-resolution (issue 17): super-resolution-photos, trained briefly, beats bicubic
//! interpolation on its validation crops, and the trained net enlarges a whole photo of
//! another size with the same parameters, better than bicubic there too.

use std::path::Path;

use convlab::data::Targets;
use convlab::inspect::super_resolution::{baselines, examples_per_image, super_resolve};
use convlab::spec::Preset;
use convlab::train::{MetricKind, Trainer};
use convlab::viz::views::super_resolution::bundled_photo;

#[test]
fn super_resolution_photos_beats_bicubic_and_runs_on_whole_photos() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/super-resolution-photos.toml");
    let mut p = Preset::load(&path).unwrap();
    let sr = p.data.super_resolution.expect("a super-resolution preset");
    // A short run passes bicubic; the preset trains longer.
    p.training.epochs = 5;
    let mut t = Trainer::new(&p).unwrap();
    assert_eq!(t.metric(), MetricKind::Psnr);
    let mut last = None;
    for _ in 0..p.training.epochs {
        last = Some(t.run_epoch(|_| {}).unwrap());
    }
    let record = last.unwrap();
    let Targets::Dense(clean) = &t.val.targets else {
        panic!("a super-resolution task has the originals as targets");
    };
    let b = baselines(clean, &sr).unwrap();
    eprintln!(
        "network {:.2} dB, bicubic {:.2} dB (SSIM {:.3}), bilinear {:.2} dB (SSIM {:.3})",
        record.val_metric, b.bicubic.psnr, b.bicubic.ssim, b.bilinear.psnr, b.bilinear.ssim
    );
    assert!(record.val_metric > b.bicubic.psnr, "{record:?} {b:?}");
    assert!(b.bicubic.psnr > b.bilinear.psnr, "{b:?}");

    // The camera (256×256) and the cat (225×150, cut to 224×150), though trained on 32×32.
    let graph = t.graph();
    for (index, shape) in [(0, [1, 1, 256, 256]), (2, [1, 1, 150, 224])] {
        let photo = bundled_photo(index, 1).unwrap();
        let whole = super_resolve(graph, &sr, &photo).unwrap();
        assert_eq!(whole.network.shape(), shape);
        assert_eq!(whole.params_here, whole.params_trained);
        assert_eq!(whole.params_here, graph.facts().total_params());
        let s = whole.scores;
        eprintln!(
            "photo {index}: network {:.2} dB, bicubic {:.2} dB, bilinear {:.2} dB",
            s.network.psnr, s.bicubic.psnr, s.bilinear.psnr
        );
        assert!(s.network.psnr > s.bicubic.psnr, "photo {index}: {s:?}");
        assert!(s.network.ssim > s.bicubic.ssim, "photo {index}: {s:?}");
    }
    // Every output pixel of a crop is an example of its own window of the input.
    let ex = examples_per_image(graph, 32, 32);
    assert_eq!(ex.outputs, 1024);
    assert_eq!(ex.receptive_field, 11);
    assert_eq!(ex.inside, 22 * 22);
}
