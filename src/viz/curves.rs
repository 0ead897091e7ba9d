//! Curve points for the plots: optional log10 of the values (the plot library has linear
//! axes only, so log scale means plotting log10 and labelling ticks as powers of ten).

/// Smallest value shown on a log axis; losses of exactly 0 clamp here.
pub const LOG_FLOOR: f64 = 1e-12;

/// `[x, y]` points with `y` replaced by `log10(y)` when `log` is set; non-finite values
/// are left out.
pub fn plot_points(points: impl IntoIterator<Item = [f64; 2]>, log: bool) -> Vec<[f64; 2]> {
    points
        .into_iter()
        .filter(|[x, y]| x.is_finite() && y.is_finite())
        .map(|[x, y]| {
            if log {
                [x, y.max(LOG_FLOOR).log10()]
            } else {
                [x, y]
            }
        })
        .collect()
}

/// The label of an axis tick at `v` (a log10 value when `log`).
pub fn tick_label(v: f64, log: bool) -> String {
    if log {
        let value = 10f64.powf(v);
        if (0.01..1000.0).contains(&value) {
            format!("{value:.3}")
        } else {
            format!("{value:.0e}")
        }
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_points_drop_non_finite_and_clamp_zero() {
        let p = plot_points([[0.0, 100.0], [1.0, f64::NAN], [2.0, 0.0]], true);
        assert_eq!(p, vec![[0.0, 2.0], [2.0, -12.0]]);
    }
}
