//! The views' pictures ([`Rgba`], drawn by `viz`) as egui textures, sampled without
//! smoothing so every pixel of a feature map stays a crisp square.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};

use crate::viz::Rgba;

/// `img` as an egui image; an empty picture becomes one white pixel (egui wants one).
pub fn to_color_image(img: &Rgba) -> ColorImage {
    ColorImage::from_rgba_unmultiplied([img.width.max(1), img.height.max(1)], &{
        if img.pixels.is_empty() {
            vec![255; 4]
        } else {
            img.pixels.clone()
        }
    })
}

/// Puts `img` in the texture `slot` (replacing its picture, or making it under `name`).
pub fn upload(ctx: &egui::Context, slot: &mut Option<TextureHandle>, name: &str, img: &Rgba) {
    let image = to_color_image(img);
    match slot {
        Some(t) => t.set(image, TextureOptions::NEAREST),
        None => *slot = Some(ctx.load_texture(name, image, TextureOptions::NEAREST)),
    }
}
