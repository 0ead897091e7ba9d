//! The convolution arithmetic sandbox: a kernel sliding over a small numeric input, one
//! step at a time, with kernel size, padding (amount and mode), stride, dilation and the
//! transposed mode, and the output-size formula with the live values.
//!
//! * **Convolution** (cross-correlation, as a conv layer computes it): step `k` is output
//!   cell `(k / ow, k % ow)`. Its window starts at `(row·s, col·s)` in the padded input and
//!   reads the taps `(row·s + a·d, col·s + b·d)`; the output is the sum of the products
//!   `input · weight` over the taps. Output size per axis:
//!   `⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1` (for `d = 1`: `⌊(n + 2p − k) / s⌋ + 1`).
//! * **Transposed**: step `k` is input cell `(k / w, k % w)`; it stamps `x · kernel` onto
//!   the output at `(row·s + a·d, col·s + b·d)`, stamps `s` apart add up, and `p` rows and
//!   columns are cropped from each side. Output size: `(n − 1)·s − 2p + d·(k − 1) + 1`.
//!   The padding mode does not apply (the border is cropped, not filled).
//!
//! Pure numbers; errors are returned, never panicked.

use ndarray::Array2;

use super::InspectError;
use crate::engine::layers::window::source_index;
use crate::engine::model_spec::PaddingMode;

/// Largest input side, kernel side, padding, stride and dilation the sandbox accepts (the
/// numbers must stay readable in the cells).
pub const MAX_INPUT: usize = 12;
pub const MAX_KERNEL: usize = 7;
pub const MAX_PADDING: usize = 4;
pub const MAX_STRIDE: usize = 4;
pub const MAX_DILATION: usize = 4;

/// One sandbox setting: numbers in, kernel, and the geometry.
#[derive(Clone, Debug, PartialEq)]
pub struct ArithSpec {
    pub input: Array2<f32>,
    pub kernel: Array2<f32>,
    pub padding: usize,
    pub padding_mode: PaddingMode,
    pub stride: usize,
    pub dilation: usize,
    pub transposed: bool,
}

/// The conv arithmetic guide's (Dumoulin & Visin) 5×5 input and 3×3 kernel.
const GUIDE_INPUT: [[f32; 5]; 5] = [
    [3.0, 3.0, 2.0, 1.0, 0.0],
    [0.0, 0.0, 1.0, 3.0, 1.0],
    [3.0, 1.0, 2.0, 2.0, 3.0],
    [2.0, 0.0, 0.0, 2.0, 2.0],
    [2.0, 0.0, 0.0, 0.0, 1.0],
];
const GUIDE_KERNEL: [[f32; 3]; 3] = [[0.0, 1.0, 2.0], [2.0, 2.0, 0.0], [0.0, 1.0, 2.0]];

/// Small whole numbers for an `n × n` input (the guide's 5×5 when `n = 5`).
pub fn example_input(n: usize) -> Array2<f32> {
    Array2::from_shape_fn((n, n), |(i, j)| {
        if n == 5 {
            GUIDE_INPUT[i][j]
        } else {
            ((3 * i + 7 * j + i * j) % 4) as f32
        }
    })
}

/// Small whole numbers for a `k × k` kernel (the guide's 3×3 when `k = 3`).
pub fn example_kernel(k: usize) -> Array2<f32> {
    Array2::from_shape_fn((k, k), |(i, j)| {
        if k == 3 {
            GUIDE_KERNEL[i][j]
        } else {
            ((i + 2 * j) % 3) as f32
        }
    })
}

impl ArithSpec {
    /// The example numbers with the given geometry.
    pub fn example(
        input: usize,
        kernel: usize,
        padding: usize,
        stride: usize,
        dilation: usize,
    ) -> Self {
        ArithSpec {
            input: example_input(input),
            kernel: example_kernel(kernel),
            padding,
            padding_mode: PaddingMode::Zeros,
            stride,
            dilation,
            transposed: false,
        }
    }
}

impl Default for ArithSpec {
    /// 5×5 input, 3×3 kernel, padding 1, stride 2: ⌊(5 + 2·1 − 3)/2⌋ + 1 = 3.
    fn default() -> Self {
        ArithSpec::example(5, 3, 1, 2, 1)
    }
}

/// Output size along one axis of a convolution, or None when the kernel does not fit.
pub fn conv_output_size(n: usize, k: usize, p: usize, s: usize, d: usize) -> Option<usize> {
    let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let padded = n.checked_add(p.checked_mul(2)?)?;
    if s == 0 || padded < span {
        return None;
    }
    Some((padded - span) / s + 1)
}

/// Output size along one axis of a transposed convolution, or None when the crop eats it.
pub fn transposed_output_size(n: usize, k: usize, p: usize, s: usize, d: usize) -> Option<usize> {
    let full = n
        .checked_sub(1)?
        .checked_mul(s)?
        .checked_add(d.checked_mul(k.checked_sub(1)?)?)?
        .checked_add(1)?;
    full.checked_sub(p.checked_mul(2)?).filter(|&o| o > 0)
}

/// The size formula for one axis with the live values, e.g. `⌊(5 + 2·1 − 3)/2⌋ + 1 = 3`.
/// Returns the symbolic line and the line with numbers.
pub fn formula(
    spec_n: usize,
    k: usize,
    p: usize,
    s: usize,
    d: usize,
    transposed: bool,
) -> (String, String) {
    match (transposed, d == 1) {
        (false, true) => (
            "out = ⌊(n + 2·p − k)/s⌋ + 1".into(),
            format!(
                "⌊({spec_n} + 2·{p} − {k})/{s}⌋ + 1 = {}",
                show(conv_output_size(spec_n, k, p, s, d))
            ),
        ),
        (false, false) => (
            "out = ⌊(n + 2·p − d·(k − 1) − 1)/s⌋ + 1".into(),
            format!(
                "⌊({spec_n} + 2·{p} − {d}·({k} − 1) − 1)/{s}⌋ + 1 = {}",
                show(conv_output_size(spec_n, k, p, s, d))
            ),
        ),
        (true, true) => (
            "out = (n − 1)·s − 2·p + k".into(),
            format!(
                "({spec_n} − 1)·{s} − 2·{p} + {k} = {}",
                show(transposed_output_size(spec_n, k, p, s, d))
            ),
        ),
        (true, false) => (
            "out = (n − 1)·s − 2·p + d·(k − 1) + 1".into(),
            format!(
                "({spec_n} − 1)·{s} − 2·{p} + {d}·({k} − 1) + 1 = {}",
                show(transposed_output_size(spec_n, k, p, s, d))
            ),
        ),
    }
}

fn show(v: Option<usize>) -> String {
    v.map_or_else(
        || "none (kernel larger than the input)".into(),
        |v| v.to_string(),
    )
}

/// One multiplication of a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tap {
    /// Kernel cell `(a, b)`.
    pub kernel: (usize, usize),
    /// Convolution: the position read, in padded coordinates (`0..h + 2p`).
    /// Transposed: the output position written, in uncropped coordinates.
    pub at: (usize, usize),
    pub value: f32,
    pub weight: f32,
    pub product: f32,
}

/// What step `k` does.
#[derive(Clone, Debug, PartialEq)]
pub struct ArithStep {
    pub index: usize,
    /// Convolution: the output cell computed; transposed: the input cell stamped.
    pub cell: (usize, usize),
    /// Convolution: the window's top-left corner in padded coordinates; transposed: the
    /// stamp's top-left corner in uncropped output coordinates.
    pub origin: (usize, usize),
    pub taps: Vec<Tap>,
    /// Convolution: the output value (sum of the products); transposed: the input value.
    pub value: f32,
}

/// The whole sandbox for one spec: padded input, output, and every step.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvArithmetic {
    pub spec: ArithSpec,
    /// Convolution: the input with its border filled (`h + 2p` × `w + 2p`); transposed:
    /// the input itself.
    pub padded: Array2<f32>,
    /// The final output.
    pub output: Array2<f32>,
    /// Transposed: the uncropped output (`output` is its centre); convolution: `output`.
    pub full: Array2<f32>,
    /// Formula lines: symbolic, rows with numbers, and columns with numbers when the input
    /// is not square.
    pub formula: Vec<String>,
}

impl ConvArithmetic {
    /// Number of steps (output cells, or input cells when transposed).
    pub fn steps(&self) -> usize {
        if self.spec.transposed {
            self.spec.input.len()
        } else {
            self.output.len()
        }
    }

    fn span(&self) -> (usize, usize) {
        let (kh, kw) = self.spec.kernel.dim();
        let d = self.spec.dilation;
        (d * (kh - 1) + 1, d * (kw - 1) + 1)
    }

    /// Step `k` (0-based), or None past the end.
    pub fn step(&self, k: usize) -> Option<ArithStep> {
        let s = &self.spec;
        let (kh, kw) = s.kernel.dim();
        let (d, st) = (s.dilation, s.stride);
        let cols = if s.transposed {
            s.input.dim().1
        } else {
            self.output.dim().1
        };
        if k >= self.steps() || cols == 0 {
            return None;
        }
        let cell = (k / cols, k % cols);
        let origin = (cell.0 * st, cell.1 * st);
        let mut taps = Vec::with_capacity(kh * kw);
        let x = s.input[cell];
        for a in 0..kh {
            for b in 0..kw {
                let at = (origin.0 + a * d, origin.1 + b * d);
                let weight = s.kernel[[a, b]];
                let value = if s.transposed { x } else { self.padded[at] };
                taps.push(Tap {
                    kernel: (a, b),
                    at,
                    value,
                    weight,
                    product: value * weight,
                });
            }
        }
        let value = if s.transposed {
            x
        } else {
            taps.iter().map(|t| t.product).sum()
        };
        Some(ArithStep {
            index: k,
            cell,
            origin,
            taps,
            value,
        })
    }

    /// The output after steps `0..=k`: convolution — computed cells filled, the rest None;
    /// transposed — the cropped sum of the stamps so far, None where nothing landed yet.
    pub fn partial_output(&self, k: usize) -> Array2<Option<f32>> {
        let (oh, ow) = self.output.dim();
        let mut out = Array2::from_elem((oh, ow), None);
        if self.spec.transposed {
            let p = self.spec.padding;
            let (fh, fw) = self.full.dim();
            let mut acc = Array2::<Option<f32>>::from_elem((fh, fw), None);
            for i in 0..=k.min(self.steps().saturating_sub(1)) {
                if let Some(step) = self.step(i) {
                    for t in &step.taps {
                        let c = &mut acc[t.at];
                        *c = Some(c.unwrap_or(0.0) + t.product);
                    }
                }
            }
            for ((i, j), v) in out.indexed_iter_mut() {
                *v = acc[[i + p, j + p]];
            }
        } else {
            for (n, v) in out.iter_mut().enumerate() {
                if n <= k {
                    *v = Some(self.output[[n / ow.max(1), n % ow.max(1)]]);
                }
            }
        }
        out
    }

    /// The kernel's extent with dilation gaps `(rows, cols)`.
    pub fn kernel_span(&self) -> (usize, usize) {
        self.span()
    }
}

fn check(name: &str, v: usize, lo: usize, hi: usize) -> Result<(), InspectError> {
    if v < lo || v > hi {
        return Err(InspectError::invalid(format!(
            "{name} must be between {lo} and {hi}, got {v}"
        )));
    }
    Ok(())
}

/// Computes the sandbox for `spec`: checks the geometry, pads, and runs every step.
pub fn conv_arithmetic(spec: &ArithSpec) -> Result<ConvArithmetic, InspectError> {
    let (h, w) = spec.input.dim();
    let (kh, kw) = spec.kernel.dim();
    check("the input side", h, 1, MAX_INPUT)?;
    check("the input side", w, 1, MAX_INPUT)?;
    check("the kernel side", kh, 1, MAX_KERNEL)?;
    check("the kernel side", kw, 1, MAX_KERNEL)?;
    check("padding", spec.padding, 0, MAX_PADDING)?;
    check("stride", spec.stride, 1, MAX_STRIDE)?;
    check("dilation", spec.dilation, 1, MAX_DILATION)?;
    if spec
        .input
        .iter()
        .chain(spec.kernel.iter())
        .any(|v| !v.is_finite())
    {
        return Err(InspectError::invalid("the numbers must be finite"));
    }
    let (p, s, d) = (spec.padding, spec.stride, spec.dilation);
    let mut lines = Vec::new();
    let (f0, fh) = formula(h, kh, p, s, d, spec.transposed);
    lines.push(f0);
    let (_, fw) = formula(w, kw, p, s, d, spec.transposed);
    if (h, kh) == (w, kw) {
        lines.push(format!("= {fh}"));
    } else {
        lines.push(format!("rows: {fh}"));
        lines.push(format!("columns: {fw}"));
    }
    if spec.transposed {
        let (Some(oh), Some(ow)) = (
            transposed_output_size(h, kh, p, s, d),
            transposed_output_size(w, kw, p, s, d),
        ) else {
            return Err(InspectError::invalid(format!(
                "padding {p} crops away the whole transposed output"
            )));
        };
        let (fh_, fw_) = (oh + 2 * p, ow + 2 * p);
        let mut sandbox = ConvArithmetic {
            spec: spec.clone(),
            padded: spec.input.clone(),
            output: Array2::zeros((oh, ow)),
            full: Array2::zeros((fh_, fw_)),
            formula: lines,
        };
        let mut full = Array2::<f32>::zeros((fh_, fw_));
        for k in 0..sandbox.steps() {
            if let Some(step) = sandbox.step(k) {
                for t in &step.taps {
                    full[t.at] += t.product;
                }
            }
        }
        sandbox.output = Array2::from_shape_fn((oh, ow), |(i, j)| full[[i + p, j + p]]);
        sandbox.full = full;
        return Ok(sandbox);
    }
    let (Some(oh), Some(ow)) = (
        conv_output_size(h, kh, p, s, d),
        conv_output_size(w, kw, p, s, d),
    ) else {
        return Err(InspectError::invalid(format!(
            "the {}×{} kernel (dilation {d}) does not fit the {h}×{w} input with padding {p}",
            kh, kw
        )));
    };
    if spec.padding_mode == PaddingMode::Reflect && (p >= h || p >= w) {
        return Err(InspectError::invalid(format!(
            "reflect padding must be smaller than the input side ({p} ≥ {})",
            h.min(w)
        )));
    }
    let padded = Array2::from_shape_fn((h + 2 * p, w + 2 * p), |(i, j)| {
        match (
            source_index(i as isize - p as isize, h, spec.padding_mode),
            source_index(j as isize - p as isize, w, spec.padding_mode),
        ) {
            (Some(a), Some(b)) => spec.input[[a, b]],
            _ => 0.0,
        }
    });
    let mut sandbox = ConvArithmetic {
        spec: spec.clone(),
        padded,
        output: Array2::zeros((oh, ow)),
        full: Array2::zeros((oh, ow)),
        formula: lines,
    };
    let mut out = Array2::<f32>::zeros((oh, ow));
    for k in 0..oh * ow {
        if let Some(step) = sandbox.step(k) {
            out[step.cell] = step.value;
        }
    }
    sandbox.full = out.clone();
    sandbox.output = out;
    Ok(sandbox)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::facts::WindowGeometry;
    use crate::engine::layers::conv_transpose2d::ConvTranspose2d;
    use crate::engine::layers::conv2d::Conv2d;
    use crate::engine::model_spec::{Pads, Pair};
    use ndarray::{ArrayD, IxDyn};

    fn engine_conv(spec: &ArithSpec) -> Array2<f32> {
        let (h, w) = spec.input.dim();
        let (kh, kw) = spec.kernel.dim();
        let (p, s, d) = (spec.padding, spec.stride, spec.dilation);
        let oh = conv_output_size(h, kh, p, s, d).unwrap();
        let ow = conv_output_size(w, kw, p, s, d).unwrap();
        let conv = Conv2d {
            geom: WindowGeometry {
                in_channels: 1,
                out_channels: 1,
                kernel: Pair::new(kh, kw),
                stride: Pair::square(s),
                dilation: Pair::square(d),
                pads: Pads {
                    top: p,
                    bottom: p,
                    left: p,
                    right: p,
                },
                groups: 1,
                in_size: Pair::new(h, w),
                out_size: Pair::new(oh, ow),
            },
            padding_mode: spec.padding_mode,
            has_bias: false,
        };
        let x = spec
            .input
            .clone()
            .into_shape_with_order((1, 1, h, w))
            .unwrap();
        let wt = ArrayD::from_shape_vec(
            IxDyn(&[1, 1, kh, kw]),
            spec.kernel.iter().copied().collect(),
        )
        .unwrap();
        conv.forward(&x, &wt, None)
            .into_shape_with_order((oh, ow))
            .unwrap()
    }

    fn engine_transposed(spec: &ArithSpec) -> Array2<f32> {
        let (h, w) = spec.input.dim();
        let (kh, kw) = spec.kernel.dim();
        let (p, s) = (spec.padding, spec.stride);
        let oh = transposed_output_size(h, kh, p, s, 1).unwrap();
        let ow = transposed_output_size(w, kw, p, s, 1).unwrap();
        let conv = ConvTranspose2d {
            geom: WindowGeometry {
                in_channels: 1,
                out_channels: 1,
                kernel: Pair::new(kh, kw),
                stride: Pair::square(s),
                dilation: Pair::square(1),
                pads: Pads {
                    top: p,
                    bottom: p,
                    left: p,
                    right: p,
                },
                groups: 1,
                in_size: Pair::new(h, w),
                out_size: Pair::new(oh, ow),
            },
            has_bias: false,
        };
        let x = spec
            .input
            .clone()
            .into_shape_with_order((1, 1, h, w))
            .unwrap();
        let wt = ArrayD::from_shape_vec(
            IxDyn(&[1, 1, kh, kw]),
            spec.kernel.iter().copied().collect(),
        )
        .unwrap();
        conv.forward(&x, &wt, None)
            .into_shape_with_order((oh, ow))
            .unwrap()
    }

    #[test]
    fn output_equals_the_engine_conv() {
        for mode in [
            PaddingMode::Zeros,
            PaddingMode::Reflect,
            PaddingMode::Replicate,
        ] {
            for (n, k, p, s, d) in [
                (5, 3, 1, 2, 1),
                (5, 3, 0, 1, 1),
                (6, 3, 2, 1, 2),
                (7, 2, 1, 3, 1),
                (4, 1, 0, 1, 1),
                (5, 5, 2, 1, 1),
                (8, 3, 1, 2, 3),
            ] {
                let mut spec = ArithSpec::example(n, k, p, s, d);
                spec.padding_mode = mode;
                let sb = conv_arithmetic(&spec).unwrap();
                let want = engine_conv(&spec);
                assert_eq!(sb.output.dim(), want.dim(), "{n} {k} {p} {s} {d}");
                for (a, b) in sb.output.iter().zip(want.iter()) {
                    assert!(
                        (a - b).abs() < 1e-4,
                        "{mode:?} {n} {k} {p} {s} {d}: {a} vs {b}"
                    );
                }
                // The last partial output is the whole output.
                let last = sb.partial_output(sb.steps() - 1);
                assert!(
                    last.iter()
                        .zip(sb.output.iter())
                        .all(|(a, b)| *a == Some(*b))
                );
            }
        }
    }

    #[test]
    fn transposed_equals_the_engine() {
        for (n, k, p, s) in [
            (2, 3, 0, 2),
            (3, 3, 1, 2),
            (3, 2, 0, 2),
            (4, 3, 0, 1),
            (2, 4, 1, 3),
        ] {
            let mut spec = ArithSpec::example(n, k, p, s, 1);
            spec.transposed = true;
            let sb = conv_arithmetic(&spec).unwrap();
            let want = engine_transposed(&spec);
            assert_eq!(sb.output.dim(), want.dim());
            for (a, b) in sb.output.iter().zip(want.iter()) {
                assert!((a - b).abs() < 1e-4, "{n} {k} {p} {s}: {a} vs {b}");
            }
            let last = sb.partial_output(sb.steps() - 1);
            assert!(
                last.iter()
                    .zip(sb.output.iter())
                    .all(|(a, b)| a.unwrap_or(0.0) == *b)
            );
        }
    }

    #[test]
    fn guide_example_by_hand() {
        // The guide's 5×5 input, 3×3 kernel, no padding, stride 1: first output 12.
        let sb = conv_arithmetic(&ArithSpec::example(5, 3, 0, 1, 1)).unwrap();
        assert_eq!(sb.output.dim(), (3, 3));
        assert_eq!(sb.output[[0, 0]], 12.0);
        assert_eq!(
            sb.output,
            ndarray::arr2(&[[12.0, 12.0, 17.0], [10.0, 17.0, 19.0], [9.0, 6.0, 14.0]])
        );
        let st = sb.step(4).unwrap();
        assert_eq!((st.cell, st.origin, st.value), ((1, 1), (1, 1), 17.0));
        assert_eq!(st.taps.len(), 9);
        assert!(sb.step(9).is_none());
        let part = sb.partial_output(1);
        assert_eq!(part[[0, 1]], Some(12.0));
        assert_eq!(part[[0, 2]], None);
    }

    #[test]
    fn size_formulas() {
        assert_eq!(conv_output_size(5, 3, 1, 2, 1), Some(3));
        assert_eq!(conv_output_size(5, 3, 0, 1, 1), Some(3));
        assert_eq!(conv_output_size(7, 3, 0, 1, 2), Some(3));
        assert_eq!(conv_output_size(6, 3, 1, 2, 1), Some(3));
        assert_eq!(conv_output_size(2, 3, 0, 1, 1), None);
        assert_eq!(conv_output_size(5, 3, 0, 0, 1), None);
        assert_eq!(transposed_output_size(3, 3, 0, 2, 1), Some(7));
        assert_eq!(transposed_output_size(3, 3, 1, 2, 1), Some(5));
        assert_eq!(transposed_output_size(2, 2, 0, 2, 1), Some(4));
        assert_eq!(transposed_output_size(2, 3, 0, 1, 2), Some(6));
        assert_eq!(transposed_output_size(1, 1, 1, 1, 1), None);
        let (sym, live) = formula(5, 3, 1, 2, 1, false);
        assert_eq!(sym, "out = ⌊(n + 2·p − k)/s⌋ + 1");
        assert_eq!(live, "⌊(5 + 2·1 − 3)/2⌋ + 1 = 3");
        let (_, live) = formula(3, 3, 0, 2, 1, true);
        assert_eq!(live, "(3 − 1)·2 − 2·0 + 3 = 7");
        let sb = conv_arithmetic(&ArithSpec::default()).unwrap();
        assert_eq!(sb.output.dim(), (3, 3));
        assert_eq!(sb.formula[1], "= ⌊(5 + 2·1 − 3)/2⌋ + 1 = 3");
    }

    #[test]
    fn bad_settings_are_errors() {
        let mut s = ArithSpec::example(3, 5, 0, 1, 1);
        assert!(conv_arithmetic(&s).is_err());
        s = ArithSpec::example(5, 3, 0, 0, 1);
        assert!(conv_arithmetic(&s).is_err());
        s = ArithSpec::example(3, 3, 3, 1, 1);
        s.padding_mode = PaddingMode::Reflect;
        assert!(conv_arithmetic(&s).is_err());
        s = ArithSpec::example(40, 3, 0, 1, 1);
        assert!(conv_arithmetic(&s).is_err());
        s = ArithSpec::example(5, 3, 0, 1, 1);
        s.input[[0, 0]] = f32::NAN;
        assert!(conv_arithmetic(&s).is_err());
        s = ArithSpec::example(1, 1, 1, 1, 1);
        s.transposed = true;
        assert!(conv_arithmetic(&s).is_err());
    }
}
