//! The confusion matrix as a picture (the window's training panel draws it live with egui;
//! this is the same table for a slide): one row per true class, one column per predicted
//! class, each cell shaded by its share of its row (so a small class's mistakes show as
//! clearly as a large one's) and labelled with its count.

use super::Rgba;
use super::colormap::Colormap;
use super::draw::{BACKGROUND, INK, MUTED, fill_rect, padded, stroke_rect};
use super::text::{draw_text, draw_text_centered, text_height, text_width};

/// Text scale: the table is for a slide, so everything is large enough to read from the
/// back of a room.
const TS: usize = 2;

/// `confusion[true][predicted]` counts with the class names (`names[k]`, else `k`).
pub fn confusion_image(confusion: &[Vec<usize>], names: &[String]) -> Rgba {
    let rows = confusion.len();
    let cols = confusion.iter().map(Vec::len).max().unwrap_or(0);
    let max_count = confusion.iter().flatten().copied().max().unwrap_or(0);
    // Wide enough for the largest count at scale 1, and never smaller than a readable cell.
    let cell = (text_width(&max_count.to_string(), TS) + 12).max(48);
    let name = |k: usize| {
        let n = names.get(k).cloned().unwrap_or_else(|| k.to_string());
        // Long names would push the table off a slide; the first 16 letters say enough.
        let short: String = n.chars().take(16).collect();
        if short.len() < n.len() {
            format!("{k} {short}…")
        } else if names.get(k).is_some_and(|n| n != &k.to_string()) {
            format!("{k} {n}")
        } else {
            n
        }
    };
    let row_labels: Vec<String> = (0..rows).map(name).collect();
    let label_w = row_labels
        .iter()
        .map(|l| text_width(l, TS))
        .max()
        .unwrap_or(0)
        + 6 * TS;
    let correct: usize = (0..rows.min(cols)).map(|k| confusion[k][k]).sum();
    let total: usize = confusion.iter().flatten().sum();
    let title = if total > 0 {
        format!(
            "CONFUSION MATRIX — {correct} of {total} right ({:.1}%)",
            100.0 * correct as f64 / total as f64
        )
    } else {
        "CONFUSION MATRIX — no predictions yet".to_string()
    };
    let caption = "rows: true class · columns: predicted class (by number)";
    let th = text_height("0", TS + 1);
    let ch = text_height("0", TS);
    let top = th + 6 + ch + 6 + ch + 4;
    let grid_w = cols * cell;
    let width = (label_w + grid_w)
        .max(text_width(&title, TS + 1))
        .max(text_width(caption, TS));
    let height = top + rows * cell;
    let mut img = Rgba::new(width, height, BACKGROUND);
    draw_text(&mut img, 0, 0, &title, TS + 1, INK);
    draw_text(&mut img, 0, (th + 6) as i64, caption, TS, MUTED);
    let head_y = (th + 6 + ch + 6) as i64;
    for p in 0..cols {
        let cx = (label_w + p * cell + cell / 2) as i64;
        draw_text_centered(
            &mut img,
            cx,
            head_y + ch as i64 / 2,
            &p.to_string(),
            TS,
            MUTED,
        );
    }
    for (t, row) in confusion.iter().enumerate() {
        let y = (top + t * cell) as i64;
        let row_total: usize = row.iter().sum();
        draw_text(
            &mut img,
            0,
            y + (cell as i64 - ch as i64) / 2,
            &row_labels[t],
            TS,
            INK,
        );
        for p in 0..cols {
            let count = row.get(p).copied().unwrap_or(0);
            let share = if row_total > 0 {
                count as f32 / row_total as f32
            } else {
                0.0
            };
            let x = (label_w + p * cell) as i64;
            let [r, g, b] = Colormap::Viridis.rgb(share);
            let fill = if count == 0 {
                [245, 245, 245, 255]
            } else {
                [r, g, b, 255]
            };
            fill_rect(&mut img, x, y, cell - 1, cell - 1, fill);
            if t == p {
                stroke_rect(&mut img, x, y, cell, cell, TS, INK);
            }
            if count > 0 {
                // Light text on viridis' dark half, dark on its light half.
                let ink = if share < 0.6 { [255; 4] } else { INK };
                draw_text_centered(
                    &mut img,
                    x + cell as i64 / 2,
                    y + cell as i64 / 2,
                    &count.to_string(),
                    TS,
                    ink,
                );
            }
        }
    }
    padded(&img, 8 * TS, BACKGROUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_shaded_by_their_rows_share() {
        let m = vec![vec![8, 2], vec![0, 5]];
        let img = confusion_image(&m, &["cat".into(), "dog".into()]);
        assert!(img.width > 100 && img.height > 60);
        let [r, g, b] = Colormap::Viridis.rgb(1.0);
        assert!(img.pixels.chunks(4).any(|p| p == [r, g, b, 255]));
        // No classes: still a picture, saying so.
        let empty = confusion_image(&[], &[]);
        assert!(empty.width > 0 && empty.height > 0);
    }
}
