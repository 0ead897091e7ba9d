//! The bad-input corpus: broken, odd and hostile files, generated here (nothing downloaded).
//!
//! Every case must end in a clear error that names the file and the reason (the CLI: one
//! line on stderr, a non-zero exit, no panic), or load correctly when the file is merely
//! unusual (16-bit, palette, alpha, CMYK, 1×1, odd names). Limits are checked before
//! allocating, so the decompression bombs fail fast without touching much memory.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use convlab::checkpoint::Checkpoint;
use convlab::data::folder::{ImageOptions, load_class_folder, load_image};
use convlab::engine::Graph;
use convlab::spec::Preset;
use convlab::train::History;
use safetensors::tensor::{Dtype, TensorView};

const XOR: &str = r#"version = 1
name = "xor"
[model]
input = [2, 1, 1]
[[model.nodes]]
name = "hidden"
kind = "dense"
out_features = 4
[[model.nodes]]
name = "act"
kind = "tanh"
[[model.nodes]]
name = "out"
kind = "dense"
out_features = 2
[data]
source = "points"
pattern = "xor"
samples = 64
[training]
loss = "cross_entropy"
learning_rate = 0.1
epochs = 1
"#;

const OPTS: ImageOptions = ImageOptions {
    size: [8, 8],
    grayscale: false,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convlab-bad-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary; returns (exit success, stderr).
fn convlab(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_convlab"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The CLI refuses `args` + `file` with one line naming `file` and containing every
/// `reasons` part.
fn cli_refuses(args: &[&str], file: &Path, reasons: &[&str]) {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    cli_refuses_naming(args, file, &name, reasons);
}

/// The CLI refuses `args` + `file` with one line naming `name` and every `reasons` part.
fn cli_refuses_naming(args: &[&str], file: &Path, name: &str, reasons: &[&str]) {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.push(file.as_os_str());
    let (ok, err) = convlab(&all);
    assert!(!ok, "{args:?} {} should fail", file.display());
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(name),
        "{err}"
    );
    for r in reasons {
        assert!(
            lines[0].to_lowercase().contains(&r.to_lowercase()),
            "expected '{r}' in: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Image makers
// ---------------------------------------------------------------------------------------

fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn rgb(w: u32, h: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 17) as u8, (y * 29) as u8, 128])
    }))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend(data);
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
}

/// A PNG whose header (with a valid CRC) claims `w`×`h` pixels, followed by a tiny IDAT.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream of a few zero bytes.
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A 16-bit grey PNG with palette-free, hand-made chunks.
fn png_16bit(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(w, h, |x, y| {
        image::Luma([((x + y) * 4000) as u16])
    }));
    encode(&img, image::ImageFormat::Png)
}

/// A 2×2 palette PNG (colour type 3), raw-deflated by hand (stored blocks).
fn png_palette() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(2u32.to_be_bytes());
    ihdr.extend(2u32.to_be_bytes());
    ihdr.extend([8, 3, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"PLTE", &[255, 0, 0, 0, 255, 0, 0, 0, 255]);
    // Scanlines: filter 0 + two indices each.
    let raw = [0u8, 0, 1, 0, 2, 0];
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend((raw.len() as u16).to_le_bytes());
    z.extend((!(raw.len() as u16)).to_le_bytes());
    z.extend(raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    z.extend(((b << 16) | a).to_be_bytes());
    png_chunk(&mut out, b"IDAT", &z);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A little-endian uncompressed TIFF: `w`×`h`, `spp` samples per pixel of 8 bits,
/// photometric interpretation `photo` (2 = RGB, 5 = separated/CMYK). Pixel data is
/// only written when `data` is true (a bomb claims a size but carries nothing).
fn tiff(w: u32, h: u32, spp: u16, photo: u16, data: bool) -> Vec<u8> {
    let bytes = w as u64 * h as u64 * spp as u64;
    let n_entries = 10u16;
    let ifd_at = 8u32;
    let ifd_len = 2 + n_entries as u32 * 12 + 4;
    let bps_at = ifd_at + ifd_len;
    let pix_at = bps_at + 2 * spp as u32;
    let mut out = b"II*\0".to_vec();
    out.extend(ifd_at.to_le_bytes());
    out.extend(n_entries.to_le_bytes());
    let mut entry = |tag: u16, kind: u16, count: u32, value: u32| {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    };
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    entry(256, LONG, 1, w);
    entry(257, LONG, 1, h);
    entry(258, SHORT, spp as u32, bps_at);
    entry(259, SHORT, 1, 1);
    entry(262, SHORT, 1, photo as u32);
    entry(273, LONG, 1, pix_at);
    entry(277, SHORT, 1, spp as u32);
    entry(278, LONG, 1, h);
    entry(279, LONG, 1, bytes.min(u32::MAX as u64) as u32);
    entry(284, SHORT, 1, 1);
    out.extend(0u32.to_le_bytes());
    for _ in 0..spp {
        out.extend(8u16.to_le_bytes());
    }
    if data {
        out.extend((0..bytes).map(|i| (i * 37 % 251) as u8));
    }
    out
}

/// A GIF whose logical screen and image claim `w`×`h`.
fn gif_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend(w.to_le_bytes());
    out.extend(h.to_le_bytes());
    out.extend([0x80, 0, 0]); // global colour table of 2 entries
    out.extend([0, 0, 0, 255, 255, 255]);
    out.push(0x2C);
    out.extend([0, 0, 0, 0]);
    out.extend(w.to_le_bytes());
    out.extend(h.to_le_bytes());
    out.push(0);
    out.extend([2, 2, 0x4C, 0x01, 0]); // a tiny LZW stream
    out.push(0x3B);
    out
}

/// A baseline JPEG start whose frame header claims `w`×`h`.
fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
    let good = encode(&rgb(16, 16), image::ImageFormat::Jpeg);
    // Patch the SOF0 frame's height and width.
    let mut out = good.clone();
    let at = good
        .windows(2)
        .position(|p| p == [0xFF, 0xC0])
        .expect("baseline JPEG");
    out[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
    out[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
    out
}

fn flip_middle(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len();
    for b in &mut bytes[n / 3..2 * n / 3] {
        *b ^= 0x5A;
    }
    bytes
}

/// Every image case: (file name, bytes, expected: Ok or a piece of the reason).
fn image_cases() -> Vec<(&'static str, Vec<u8>, Result<(), &'static str>)> {
    use image::ImageFormat as F;
    let png = encode(&rgb(12, 9), F::Png);
    let jpg = encode(&rgb(12, 9), F::Jpeg);
    let bmp = encode(&rgb(12, 9), F::Bmp);
    let gif = encode(&rgb(12, 9), F::Gif);
    let tif = encode(&rgb(12, 9), F::Tiff);
    let half = |b: &Vec<u8>| b[..b.len() / 2].to_vec();
    let rgba = image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(5, 4, |x, _| {
        image::Rgba([200, 10, 10, (x * 60) as u8])
    }));
    vec![
        ("good.png", png.clone(), Ok(())),
        ("good.jpg", jpg.clone(), Ok(())),
        ("good.bmp", bmp.clone(), Ok(())),
        ("good.gif", gif.clone(), Ok(())),
        ("good.tif", tif.clone(), Ok(())),
        ("truncated.png", half(&png), Err("")),
        ("truncated.jpg", half(&jpg), Err("")),
        ("truncated.bmp", half(&bmp), Err("")),
        ("truncated.gif", half(&gif), Err("")),
        ("truncated.tif", half(&tif), Err("")),
        ("header-only.png", png[..20].to_vec(), Err("")),
        ("corrupt.png", flip_middle(png.clone()), Err("")),
        ("corrupt.bmp", flip_middle(bmp[..30].to_vec()), Err("")),
        // LZW data with flipped bits may still decode: any outcome but a panic is fine.
        ("corrupt.gif", flip_middle(gif.clone()), Err("?")),
        ("corrupt.tif", flip_middle(tif[..40].to_vec()), Err("")),
        ("empty.png", Vec::new(), Err("")),
        ("empty.jpg", Vec::new(), Err("")),
        (
            "text.png",
            b"just some text, not a picture\n".to_vec(),
            Err(""),
        ),
        ("bomb.png", png_claiming(100_000, 100_000), Err("limit")),
        (
            "bomb-pixels.png",
            png_claiming(16_000, 16_000),
            Err("limit"),
        ),
        ("bomb.gif", gif_claiming(65_000, 65_000), Err("limit")),
        ("bomb.jpg", jpeg_claiming(65_000, 65_000), Err("limit")),
        (
            "bomb.tif",
            tiff(100_000, 100_000, 3, 2, false),
            Err("limit"),
        ),
        ("zero-size.png", png_claiming(0, 0), Err("")),
        ("one-pixel.png", encode(&rgb(1, 1), F::Png), Ok(())),
        ("sixteen-bit.png", png_16bit(6, 5), Ok(())),
        ("palette.png", png_palette(), Ok(())),
        ("alpha.png", encode(&rgba, F::Png), Ok(())),
        ("cmyk.tif", tiff(4, 3, 4, 5, true), Ok(())),
    ]
}

#[test]
fn image_corpus_loads_or_names_the_reason() {
    let dir = scratch("images");
    let started = Instant::now();
    let cases = image_cases();
    for (name, bytes, expected) in &cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        for grayscale in [false, true] {
            let opts = ImageOptions {
                size: [7, 5],
                grayscale,
            };
            match (load_image(&path, opts), expected) {
                (Ok(v), Ok(())) => {
                    assert_eq!(v.len(), if grayscale { 35 } else { 105 }, "{name}");
                    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)), "{name}");
                }
                (_, Err("?")) => {}
                (Err(e), Err(part)) => {
                    let reason = e.to_string();
                    assert!(!reason.is_empty(), "{name}: empty reason");
                    assert!(reason.contains(part), "{name}: {reason}");
                }
                (got, want) => panic!("{name}: got {got:?}, expected {want:?}"),
            }
        }
    }
    // The bombs are refused from their headers: no 30 GB allocation, no decode of minutes
    // (the bound is loose because CI's two cores are shared).
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// All corpus images in one class folder: the good ones load, each bad one is listed with
/// its path and reason.
#[test]
fn class_folder_skips_bad_files_with_reasons() {
    use std::os::unix::ffi::OsStrExt;
    let root = scratch("folder");
    let class = root.join("things");
    std::fs::create_dir_all(&class).unwrap();
    let cases = image_cases();
    for (name, bytes, _) in &cases {
        std::fs::write(class.join(name), bytes).unwrap();
    }
    let png = encode(&rgb(3, 3), image::ImageFormat::Png);
    // A non-UTF-8 name and a 255-byte name load like any other.
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.png");
    std::fs::write(class.join(odd), &png).unwrap();
    let long = format!("{}.png", "x".repeat(251));
    std::fs::write(class.join(&long), &png).unwrap();
    // A non-UTF-8 name on a broken file is reported (lossily) in its reason.
    std::fs::write(
        class.join(std::ffi::OsStr::from_bytes(b"bad\xfe.png")),
        b"no",
    )
    .unwrap();
    // Symlink loops: one file pointing at itself, and two pointing at each other.
    std::os::unix::fs::symlink("self.png", class.join("self.png")).unwrap();
    std::os::unix::fs::symlink("ping.png", class.join("pong.png")).unwrap();
    std::os::unix::fs::symlink("pong.png", class.join("ping.png")).unwrap();
    // A folder symlink pointing back up: must not recurse forever.
    std::os::unix::fs::symlink("..", class.join("up")).unwrap();
    // A dangling link.
    std::os::unix::fs::symlink("nowhere.png", class.join("dangling.png")).unwrap();

    let good = cases.iter().filter(|c| c.2.is_ok()).count() + 2;
    let either = cases.iter().filter(|c| c.2 == Err("?")).count();
    let load = load_class_folder(&root, OPTS, None, |_, _| {}).unwrap();
    let loaded_either = load.dataset.len() - good;
    assert!(loaded_either <= either, "{:#?}", load.skipped);
    let bad = cases.len() - good + 2 - loaded_either + 1 + 3 + 1;
    assert!(
        load.dataset.inputs.iter().all(|v| v.is_finite()),
        "non-finite pixels"
    );
    assert_eq!(load.skipped.len(), bad, "{:#?}", load.skipped);
    for s in &load.skipped {
        assert!(!s.reason.is_empty(), "{s:?}");
    }
    let reason_of = |name: &str| {
        load.skipped
            .iter()
            .find(|s| s.path.file_name().unwrap() == name)
            .unwrap_or_else(|| panic!("{name} not skipped: {:#?}", load.skipped))
            .reason
            .clone()
    };
    assert!(reason_of("bomb.png").contains("limit"));
    assert!(
        reason_of("self.png")
            .to_lowercase()
            .contains("symbolic link")
    );
    assert!(
        reason_of("dangling.png")
            .to_lowercase()
            .contains("no such file")
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn symlink_loop_as_folder_is_a_clear_error() {
    let root = scratch("loop");
    let looped = root.join("loop");
    std::os::unix::fs::symlink("loop", &looped).unwrap();
    let e = load_class_folder(&looped, OPTS, None, |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("loop") && e.to_lowercase().contains("symbolic"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn unreadable_files_are_skipped_or_read_as_root() {
    use std::os::unix::fs::PermissionsExt;
    let root = scratch("perm");
    let class = root.join("a");
    std::fs::create_dir_all(&class).unwrap();
    let png = encode(&rgb(4, 4), image::ImageFormat::Png);
    std::fs::write(class.join("ok.png"), &png).unwrap();
    let locked = class.join("locked.png");
    std::fs::write(&locked, &png).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // As root (CI) permissions do not block reading; then the file simply loads.
    let readable = std::fs::File::open(&locked).is_ok();
    let load = load_class_folder(&root, OPTS, None, |_, _| {}).unwrap();
    if readable {
        assert_eq!(load.dataset.len(), 2);
    } else {
        assert_eq!(load.dataset.len(), 1);
        assert_eq!(load.skipped.len(), 1);
        assert!(
            load.skipped[0].reason.contains("denied"),
            "{:?}",
            load.skipped
        );
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn cli_folder_of_only_bad_images_fails_with_one_line() {
    let dir = scratch("cli-folder");
    let class = dir.join("data/junk");
    std::fs::create_dir_all(&class).unwrap();
    std::fs::write(class.join("empty.png"), b"").unwrap();
    std::fs::write(class.join("bomb.png"), png_claiming(100_000, 100_000)).unwrap();
    let preset = dir.join("folder.toml");
    let text = XOR
        .replace("input = [2, 1, 1]", "input = [3, 8, 8]")
        .replace(
            "source = \"points\"\npattern = \"xor\"\nsamples = 64",
            "source = \"folder\"\npath = \"data\"\nsize = [8, 8]",
        );
    std::fs::write(&preset, text).unwrap();
    let out = dir.join("out.safetensors");
    let data = dir.join("data").display().to_string();
    let args = ["train", "--out", out.to_str().unwrap()];
    cli_refuses_naming(&args, &preset, &data, &["no readable images"]);
    assert!(!out.exists());
    // A folder that does not exist.
    std::fs::remove_dir_all(dir.join("data")).unwrap();
    cli_refuses_naming(&args, &preset, &data, &["no such file"]);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------------------

fn preset_cases() -> Vec<(&'static str, Vec<u8>, &'static [&'static str])> {
    let x = |from: &str, to: &str| XOR.replace(from, to).into_bytes();
    let deep = format!(
        "version = {}1{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_tables = format!("x = {}1{}\n", "{a=".repeat(50_000), "}".repeat(50_000));
    vec![
        ("empty.toml", Vec::new(), &["missing"]),
        (
            "malformed.toml",
            b"version = 1\nname = \n".to_vec(),
            &["line"],
        ),
        (
            "truncated.toml",
            XOR.as_bytes()[..XOR.len() / 2].to_vec(),
            &[],
        ),
        ("binary.toml", vec![0xff, 0xfe, 0, 1, 2, 0x80], &["UTF-8"]),
        (
            "nan-lr.toml",
            x("learning_rate = 0.1", "learning_rate = nan"),
            &["learning_rate"],
        ),
        (
            "inf-noise.toml",
            x("samples = 64", "samples = 64\nnoise = inf"),
            &["noise"],
        ),
        (
            "nan-noise.toml",
            x("samples = 64", "samples = 64\nnoise = nan"),
            &["noise"],
        ),
        (
            "cycle.toml",
            x("kind = \"tanh\"", "kind = \"tanh\"\ninputs = [\"out\"]"),
            &["act", "out"],
        ),
        (
            "self-loop.toml",
            x("kind = \"tanh\"", "kind = \"tanh\"\ninputs = [\"act\"]"),
            &["act"],
        ),
        (
            "negative.toml",
            x("out_features = 4", "out_features = -4"),
            &["model.nodes"],
        ),
        (
            "million-channels.toml",
            x("input = [2, 1, 1]", "input = [1000000, 1, 1]"),
            &["input"],
        ),
        (
            "million-features.toml",
            x("out_features = 4", "out_features = 1000000"),
            &["hidden", "limit"],
        ),
        (
            "huge-input.toml",
            x("input = [2, 1, 1]", "input = [3, 100000, 100000]"),
            &["input"],
        ),
        (
            "zero-input.toml",
            x("input = [2, 1, 1]", "input = [0, 0, 0]"),
            &["input"],
        ),
        (
            "zero-kernel.toml",
            x(
                "input = [2, 1, 1]\n[[model.nodes]]",
                "input = [2, 8, 8]\n[[model.nodes]]\nname = \"c\"\nkind = \"conv2d\"\nout_channels = 2\nkernel = [0, 0]\n[[model.nodes]]",
            ),
            &["kernel"],
        ),
        (
            "huge-kernel.toml",
            x(
                "input = [2, 1, 1]\n[[model.nodes]]",
                "input = [2, 8, 8]\n[[model.nodes]]\nname = \"c\"\nkind = \"conv2d\"\nout_channels = 2\nkernel = [4294967296, 3]\n[[model.nodes]]",
            ),
            &["kernel"],
        ),
        (
            "overflow.toml",
            x("out_features = 4", "out_features = 99999999999999999999"),
            &[],
        ),
        (
            "huge-batch.toml",
            x("epochs = 1", "epochs = 1\nbatch_size = 0"),
            &["batch_size"],
        ),
        (
            "version.toml",
            x("version = 1", "version = 99"),
            &["version"],
        ),
        ("deep-arrays.toml", deep.into_bytes(), &[]),
        ("deep-tables.toml", deep_tables.into_bytes(), &[]),
    ]
}

#[test]
fn preset_corpus_gives_one_line_errors() {
    let dir = scratch("presets");
    for (name, bytes, reasons) in preset_cases() {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        // The library and the CLI agree.
        let e = Preset::load(&path).expect_err(name).to_string();
        assert!(e.contains(name), "{name}: {e}");
        cli_refuses(&["info"], &path, reasons);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn huge_preset_is_refused_before_reading() {
    let dir = scratch("preset-50mb");
    let path = dir.join("fifty-mb.toml");
    // Sparse: 50 MB of nothing on disk, refused by its size alone.
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(50 << 20).unwrap();
    drop(f);
    cli_refuses(&["info"], &path, &["too large"]);
    cli_refuses(&["train"], &path, &["too large"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_and_folder_presets_are_errors() {
    let dir = scratch("preset-misc");
    cli_refuses(&["info"], &dir.join("absent.toml"), &["no such file"]);
    let sub = dir.join("a-folder.toml");
    std::fs::create_dir_all(&sub).unwrap();
    cli_refuses(&["info"], &sub, &[]);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------

fn good_checkpoint() -> Checkpoint {
    let preset = Preset::parse(XOR, "xor").unwrap();
    let graph = Graph::<f32>::new(&preset.model).unwrap();
    Checkpoint::from_graph(&preset, &graph, &History::default())
}

/// A safetensors file with `tensors` (name, dtype, shape, bytes) and `meta`.
fn safetensors_with(
    tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)],
    meta: HashMap<String, String>,
) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn meta_of(ck: &Checkpoint) -> HashMap<String, String> {
    let bytes = ck.to_bytes();
    let (_, m) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    m.metadata().clone().unwrap()
}

fn f32_tensors(ck: &Checkpoint) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    ck.params
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                Dtype::F32,
                v.shape().to_vec(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect()
}

fn checkpoint_cases() -> Vec<(&'static str, Vec<u8>, &'static [&'static str])> {
    let ck = good_checkpoint();
    let good = ck.to_bytes();
    let meta = meta_of(&ck);
    let tensors = f32_tensors(&ck);
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;

    let mut huge_header = good.clone();
    huge_header[..8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let mut garbled = good.clone();
    for b in &mut garbled[8..8 + header_len / 2] {
        *b = b'#';
    }
    let wrong_dtype: Vec<_> = tensors
        .iter()
        .map(|(n, _, s, b)| {
            let doubled: Vec<u8> = b
                .chunks(4)
                .flat_map(|c| (f32::from_le_bytes(c.try_into().unwrap()) as f64).to_le_bytes())
                .collect();
            (n.clone(), Dtype::F64, s.clone(), doubled)
        })
        .collect();
    let missing: Vec<_> = tensors[1..].to_vec();
    let mut extra = tensors.clone();
    extra.push(("ghost.weight".into(), Dtype::F32, vec![1], vec![0; 4]));
    let mut wrong_shape = tensors.clone();
    wrong_shape[0].2 = vec![wrong_shape[0].3.len() / 4];
    let mut nan = tensors.clone();
    nan[0].3[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    let mut inf = tensors.clone();
    inf[1].3[..4].copy_from_slice(&f32::INFINITY.to_le_bytes());
    let mut no_format = meta.clone();
    no_format.remove("format");
    let mut cyclic = meta.clone();
    cyclic.insert(
        "preset".into(),
        XOR.replace("kind = \"tanh\"", "kind = \"tanh\"\ninputs = [\"out\"]"),
    );
    let mut absurd = meta.clone();
    absurd.insert(
        "preset".into(),
        XOR.replace("out_features = 4", "out_features = 1000000000"),
    );
    let mut bad_history = meta.clone();
    bad_history.insert("history".into(), "{not json".into());
    let mut toml_garbage = meta.clone();
    toml_garbage.insert("preset".into(), "[[[".into());

    vec![
        ("empty.safetensors", Vec::new(), &[]),
        ("tiny.safetensors", vec![1, 2, 3], &[]),
        ("huge-header.safetensors", huge_header, &[]),
        ("garbled-header.safetensors", garbled, &[]),
        (
            "truncated.safetensors",
            good[..good.len() - 7].to_vec(),
            &[],
        ),
        (
            "header-only.safetensors",
            good[..8 + header_len].to_vec(),
            &[],
        ),
        (
            "wrong-dtype.safetensors",
            safetensors_with(&wrong_dtype, meta.clone()),
            &["F64"],
        ),
        (
            "missing.safetensors",
            safetensors_with(&missing, meta.clone()),
            &["missing"],
        ),
        (
            "extra.safetensors",
            safetensors_with(&extra, meta.clone()),
            &["ghost.weight"],
        ),
        (
            "wrong-shape.safetensors",
            safetensors_with(&wrong_shape, meta.clone()),
            &["shape"],
        ),
        (
            "nan.safetensors",
            safetensors_with(&nan, meta.clone()),
            &["NaN"],
        ),
        (
            "inf.safetensors",
            safetensors_with(&inf, meta.clone()),
            &["infinite"],
        ),
        (
            "no-format.safetensors",
            safetensors_with(&tensors, no_format),
            &["not a ConvLab checkpoint"],
        ),
        (
            "cyclic-spec.safetensors",
            safetensors_with(&tensors, cyclic),
            &["embedded preset"],
        ),
        (
            "absurd-spec.safetensors",
            safetensors_with(&tensors, absurd),
            &["limit"],
        ),
        (
            "bad-history.safetensors",
            safetensors_with(&tensors, bad_history),
            &["history"],
        ),
        (
            "garbage-preset.safetensors",
            safetensors_with(&tensors, toml_garbage),
            &["embedded preset"],
        ),
    ]
}

#[test]
fn checkpoint_corpus_gives_one_line_errors() {
    let dir = scratch("checkpoints");
    // The good one loads.
    let good = dir.join("good.safetensors");
    std::fs::write(&good, good_checkpoint().to_bytes()).unwrap();
    Checkpoint::load(&good).unwrap();
    for (name, bytes, reasons) in checkpoint_cases() {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let e = Checkpoint::load(&path).expect_err(name).to_string();
        assert!(e.contains(name), "{name}: {e}");
        cli_refuses(&["info"], &path, reasons);
        cli_refuses(&["eval"], &path, reasons);
    }
    let big = dir.join("huge.safetensors");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    cli_refuses(&["info"], &big, &["larger than"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn onnx_garbage_is_a_clear_error() {
    let dir = scratch("onnx");
    let out = dir.join("out.safetensors");
    for (name, bytes) in [
        ("empty.onnx", Vec::new()),
        ("text.onnx", b"hello, not protobuf".to_vec()),
        ("ff.onnx", vec![0xff; 64]),
        ("deep.onnx", [0x0a, 0x80, 0x80, 0x80, 0x80, 0x08].repeat(20)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut all: Vec<&std::ffi::OsStr> = vec!["import-onnx".as_ref(), path.as_os_str()];
        all.push(out.as_os_str());
        let (ok, err) = convlab(&all);
        assert!(!ok && !err.contains("panicked"), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(!out.exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// NaN during training
// ---------------------------------------------------------------------------------------

#[test]
fn nan_in_data_stops_before_the_weights_change() {
    use convlab::data::{Dataset, Targets};
    let preset = Preset::parse(XOR, "xor").unwrap();
    let mut x = ndarray::Array4::<f32>::zeros((8, 2, 1, 1));
    x[[3, 1, 0, 0]] = f32::NAN;
    let data = Dataset {
        name: "nan".into(),
        inputs: x,
        targets: Targets::Labels(vec![0, 1, 1, 0, 0, 1, 1, 0]),
        class_names: vec!["a".into(), "b".into()],
    };
    let mut p = preset.clone();
    p.training.batch_size = 8;
    let mut trainer =
        convlab::train::Trainer::with_data(&p, data.clone(), data.select(&[0])).unwrap();
    let before: Vec<_> = trainer
        .graph()
        .params()
        .iter()
        .map(|q| q.value.clone())
        .collect();
    let e = trainer
        .step()
        .expect_err("NaN must stop the step")
        .to_string();
    assert!(e.contains("NaN") || e.contains("non-finite"), "{e}");
    let after: Vec<_> = trainer
        .graph()
        .params()
        .iter()
        .map(|q| q.value.clone())
        .collect();
    assert_eq!(before, after, "weights changed despite NaN");
}

// ---------------------------------------------------------------------------------------
// Atomic saves
// ---------------------------------------------------------------------------------------

/// A checkpoint of about 64 MB (one dense layer of 16 M weights).
fn big_checkpoint() -> Checkpoint {
    let text = XOR
        .replace("input = [2, 1, 1]", "input = [4096, 1, 1]")
        .replace("out_features = 4", "out_features = 4096");
    let preset = Preset::parse(&text, "big").unwrap();
    let graph = Graph::<f32>::new(&preset.model).unwrap();
    Checkpoint::from_graph(&preset, &graph, &History::default())
}

/// Not a test: the child process of `killed_save_leaves_the_old_file_intact`, which saves
/// a large checkpoint over `CONVLAB_SAVE_HELPER` and is killed while doing so.
#[test]
#[ignore = "helper process for killed_save_leaves_the_old_file_intact"]
fn atomic_save_helper() {
    let Some(target) = std::env::var_os("CONVLAB_SAVE_HELPER") else {
        return;
    };
    let ck = big_checkpoint();
    loop {
        ck.save(Path::new(&target)).unwrap();
    }
}

#[test]
fn killed_save_leaves_the_old_file_intact() {
    let dir = scratch("atomic");
    let target = dir.join("model.safetensors");
    let old = good_checkpoint().to_bytes();
    std::fs::write(&target, &old).unwrap();
    let mut killed_mid_save = false;
    for _attempt in 0..5 {
        std::fs::write(&target, &old).unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "atomic_save_helper", "--ignored", "--nocapture"])
            .env("CONVLAB_SAVE_HELPER", &target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the temporary file is being written, then kill the writer.
        let started = Instant::now();
        let mut saw_tmp = false;
        while started.elapsed().as_secs() < 30 {
            let partial = std::fs::read_dir(&dir).unwrap().flatten().any(|e| {
                e.file_name().to_string_lossy().contains(".tmp-")
                    && e.metadata().is_ok_and(|m| m.len() > 0)
            });
            if partial {
                saw_tmp = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(saw_tmp, "the helper never started writing");
        // Whatever the moment of the kill, the target is a whole checkpoint.
        let now = std::fs::read(&target).unwrap();
        Checkpoint::from_bytes(&now, "model.safetensors").expect("target stays loadable");
        if now == old {
            killed_mid_save = true;
            break;
        }
        // The kill came after a rename (the new file is whole too); try again.
    }
    assert!(killed_mid_save, "never killed the writer before its rename");
    // A leftover temporary file is hidden beside the target, never mistaken for it, and a
    // later save replaces the target cleanly.
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name == "model.safetensors" || name.starts_with(".model.safetensors.tmp-"),
            "{name}"
        );
    }
    assert!(
        !convlab::atomic_file::stale_temporaries(&dir, "model.safetensors").is_empty(),
        "the killed writer left its temporary file"
    );
    let ck = good_checkpoint();
    ck.save(&target).unwrap();
    Checkpoint::load(&target).unwrap();
    // That save also removed the killed writer's leftover: only the target remains.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["model.safetensors"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Batch norm's running statistics are state too: a NaN batch must not leave them NaN.
#[test]
fn nan_in_data_leaves_batch_norm_statistics_alone() {
    use convlab::data::{Dataset, Targets};
    let text = XOR
        .replace("input = [2, 1, 1]", "input = [2, 2, 2]")
        .replace(
            "[[model.nodes]]\nname = \"hidden\"",
            "[[model.nodes]]\nname = \"bn\"\nkind = \"batch_norm2d\"\n[[model.nodes]]\nname = \"hidden\"",
        );
    let mut p = Preset::parse(&text, "bn").unwrap();
    p.training.batch_size = 4;
    let mut x = ndarray::Array4::<f32>::zeros((4, 2, 2, 2));
    x[[1, 0, 1, 1]] = f32::NAN;
    let data = Dataset {
        name: "nan".into(),
        inputs: x,
        targets: Targets::Labels(vec![0, 1, 1, 0]),
        class_names: vec!["a".into(), "b".into()],
    };
    let mut trainer =
        convlab::train::Trainer::with_data(&p, data.clone(), data.select(&[0])).unwrap();
    assert!(trainer.step().is_err());
    for q in trainer.graph().params() {
        assert!(
            q.value.iter().all(|v| v.is_finite()),
            "{} became NaN",
            q.name
        );
    }
}

// ---------------------------------------------------------------------------------------
// The user's segmentation and anomaly folders.

use convlab::data::pairs::{
    AnomalyFolders, MaskFormat, SegmentationFolders, load_anomaly_folders, load_segmentation_pairs,
};

fn grey(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)]))
        .save(path)
        .unwrap();
}

fn seg_folders(root: &Path) -> SegmentationFolders {
    SegmentationFolders {
        images: root.join("images"),
        masks: root.join("masks"),
        format: MaskFormat::Auto,
    }
}

#[test]
fn segmentation_masks_of_another_size_and_a_1x1_image_are_reasons_per_file() {
    let root = scratch("seg-sizes");
    for i in 0..3 {
        grey(&root.join(format!("images/{i}.png")), 16, 12, |x, _| {
            x as u8 * 9
        });
        grey(&root.join(format!("masks/{i}.png")), 16, 12, |x, _| {
            if x < 8 { 0 } else { 255 }
        });
    }
    // A mask of another size than its image; a 1×1 image with a 16×12 mask; a 1×1 image
    // with a 1×1 mask, which is merely small: it loads, stretched to the chosen size.
    grey(&root.join("images/wide.png"), 16, 12, |_, _| 5);
    grey(&root.join("masks/wide.png"), 17, 12, |_, _| 0);
    grey(&root.join("images/dot.png"), 1, 1, |_, _| 200);
    grey(&root.join("masks/dot.png"), 16, 12, |_, _| 0);
    grey(&root.join("images/tiny.png"), 1, 1, |_, _| 200);
    grey(&root.join("masks/tiny.png"), 1, 1, |_, _| 255);
    let load = load_segmentation_pairs(&seg_folders(&root), OPTS, None, |_, _| {}).unwrap();
    assert_eq!(load.dataset.len(), 4, "{:?}", load.skipped);
    assert_eq!(load.dataset.inputs.shape(), &[4, 3, 8, 8]);
    let reason = |name: &str| {
        load.skipped
            .iter()
            .find(|s| s.path.file_name().is_some_and(|n| n == name))
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{name} not skipped: {:?}", load.skipped))
    };
    assert!(
        reason("wide.png").contains("17×12"),
        "{}",
        reason("wide.png")
    );
    assert!(reason("dot.png").contains("1×1"), "{}", reason("dot.png"));
    assert_eq!(load.skipped.len(), 2);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn an_images_folder_without_masks_is_one_message() {
    let root = scratch("seg-no-masks");
    for i in 0..5 {
        grey(&root.join(format!("images/{i}.png")), 8, 8, |_, _| 9);
    }
    std::fs::create_dir_all(root.join("masks")).unwrap();
    std::fs::write(root.join("masks/readme.txt"), "masks go here").unwrap();
    let e = load_segmentation_pairs(&seg_folders(&root), OPTS, None, |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no mask images found") && e.contains("masks"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    // Masks that pair with nothing: still one message, with the first reason.
    grey(&root.join("masks/other.png"), 8, 8, |_, _| 0);
    let e = load_segmentation_pairs(&seg_folders(&root), OPTS, None, |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no image could be paired") && e.contains("no mask named"),
        "{e}"
    );
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn masks_with_more_classes_than_the_model_are_refused_before_training() {
    let root = scratch("seg-classes");
    for i in 0..4 {
        grey(&root.join(format!("images/{i}.png")), 8, 8, |x, _| {
            x as u8 * 30
        });
        // Class indices 0, 1, 2: three classes, one-hot targets of 3 channels.
        grey(&root.join(format!("masks/{i}.png")), 8, 8, |x, _| {
            (x / 3) as u8
        });
    }
    let preset = Preset::parse(
        &format!(
            r#"version = 1
name = "seg"
[model]
input = [1, 8, 8]
[[model.nodes]]
name = "head"
kind = "conv2d"
out_channels = 1
kernel = 1
[data]
source = "segmentation_folder"
images = "{}"
masks = "{}"
size = [8, 8]
grayscale = true
[training]
loss = "bce_with_logits"
learning_rate = 0.1
epochs = 1
"#,
            root.join("images").display(),
            root.join("masks").display()
        ),
        "seg.toml",
    )
    .unwrap();
    let e = convlab::train::Trainer::new(&preset)
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("[3, 8, 8]") && e.contains("[1, 8, 8]"), "{e}");
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn a_test_folder_without_good_or_defect_subfolders_is_one_message() {
    let root = scratch("anomaly-flat");
    for i in 0..3 {
        grey(&root.join(format!("train/{i}.png")), 8, 8, |_, _| 100);
        grey(&root.join(format!("test/{i}.png")), 8, 8, |_, _| 100);
    }
    let folders = AnomalyFolders {
        normal: root.join("train"),
        test: Some(root.join("test")),
        masks: None,
    };
    let e = load_anomaly_folders(&folders, OPTS, None, |_, _| {})
        .expect_err("refused")
        .to_string();
    assert!(e.contains("no subfolders") && e.contains("good"), "{e}");
    // Subfolders without a single image: also one message.
    let empty = root.join("empty-test");
    std::fs::create_dir_all(empty.join("good")).unwrap();
    let folders = AnomalyFolders {
        test: Some(empty),
        ..folders
    };
    let e = load_anomaly_folders(&folders, OPTS, None, |_, _| {})
        .expect_err("refused")
        .to_string();
    assert!(e.contains("no test images"), "{e}");
    std::fs::remove_dir_all(&root).ok();
}
