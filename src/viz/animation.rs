//! A view played back through training as an animated GIF: one frame per kept moment, each
//! with its step and epoch written above it, all on one canvas size (the largest frame's),
//! looping. For lecture slides; `convlab render --animate` writes it.

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame};

use crate::viz::draw::{BACKGROUND, INK, blit, vstack};
use crate::viz::text::text_image;
use crate::viz::{Rgba, VizError};

/// `picture` with `caption` (e.g. "step 64 · epoch 0.51") above it.
pub fn captioned_frame(picture: &Rgba, caption: &str) -> Rgba {
    vstack(
        &[text_image(caption, 2, INK, BACKGROUND, 6), picture.clone()],
        0,
        BACKGROUND,
    )
}

/// The frames, in the order given, as a looping GIF showing each for `delay_ms`
/// milliseconds. Smaller frames sit top-left on a white canvas of the largest size, so
/// the picture does not jump.
pub fn gif_bytes(frames: &[Rgba], delay_ms: u32) -> Result<Vec<u8>, VizError> {
    let width = frames.iter().map(|f| f.width).max().unwrap_or(0);
    let height = frames.iter().map(|f| f.height).max().unwrap_or(0);
    if frames.is_empty() || width == 0 || height == 0 {
        return Err(VizError::Picture(
            "an animation needs at least one frame".into(),
        ));
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, 10);
        encoder
            .set_repeat(Repeat::Infinite)
            .map_err(|e| VizError::Picture(e.to_string()))?;
        for f in frames {
            let mut canvas = Rgba::new(width, height, BACKGROUND);
            blit(&mut canvas, f, 0, 0);
            let image = crate::viz::draw::to_image(&canvas)?;
            let frame = Frame::from_parts(image, 0, 0, Delay::from_numer_denom_ms(delay_ms, 1));
            encoder
                .encode_frame(frame)
                .map_err(|e| VizError::Picture(e.to_string()))?;
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::AnimationDecoder;
    use image::codecs::gif::GifDecoder;

    #[test]
    fn frames_come_back_in_order_on_one_canvas() {
        let colours = [[200, 0, 0, 255], [0, 200, 0, 255], [0, 0, 200, 255]];
        let frames: Vec<Rgba> = colours
            .iter()
            .enumerate()
            .map(|(k, &c)| Rgba::new(20 + 10 * k, 16, c))
            .collect();
        let bytes = gif_bytes(&frames, 250).unwrap();
        let decoded = GifDecoder::new(std::io::Cursor::new(bytes))
            .unwrap()
            .into_frames()
            .collect_frames()
            .unwrap();
        assert_eq!(decoded.len(), 3);
        for (frame, c) in decoded.iter().zip(colours) {
            let img = frame.buffer();
            assert_eq!(img.dimensions(), (40, 16));
            let p = img.get_pixel(1, 1).0;
            // GIF quantises colours: close to the frame's own.
            assert!(
                p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 24),
                "{p:?} vs {c:?}"
            );
            assert_eq!(frame.delay().numer_denom_ms(), (250, 1));
        }
        assert!(gif_bytes(&[], 100).is_err());
    }
}
