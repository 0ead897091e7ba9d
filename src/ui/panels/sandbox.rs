//! The "Conv arithmetic" tab: a kernel sliding over a small grid of numbers, one step at a
//! time, with the output-size formula and its live values. Pure window-side work (no model,
//! no trainer): the maths is [`crate::inspect::conv_arithmetic`], the picture
//! [`crate::viz::views::conv_arithmetic`]. Both are recomputed only when the geometry changes, and
//! the picture is re-uploaded only when the geometry or the step changes.

use std::time::Duration;

use eframe::egui::{self, DragValue, RichText, TextureHandle, Ui};

use crate::engine::model_spec::PaddingMode;
use crate::inspect::InspectError;
use crate::inspect::conv_arithmetic::{
    ArithSpec, ConvArithmetic, MAX_DILATION, MAX_INPUT, MAX_KERNEL, MAX_PADDING, MAX_STRIDE,
    conv_arithmetic, conv_output_size, formula, transposed_output_size,
};
use crate::spec::view::ViewId;
use crate::viz::views::conv_arithmetic::{conv_arithmetic_image, fmt_number};

/// Seconds between two steps while playing.
pub const PLAY_INTERVAL: f64 = 0.4;

const TIP_SIZE: &str = "n: the input is an n × n grid of numbers (at n = 5 the guide's example). \
     In a network this is the height and width of the feature map entering the layer.";
const TIP_KERNEL: &str = "k: the kernel (filter) is a k × k grid of weights. It slides over the \
     input; every output number is the sum of input × weight over one window.";
const TIP_PADDING: &str = "p: rings of extra cells around the input before the kernel slides \
     (grey in the picture), so the border is seen as often as the centre. With stride 1, \
     p = (k − 1)/2 keeps the size ('same' padding). For a transposed convolution, p rows and \
     columns are cropped from each side of the output instead.";
const TIP_MODE: &str = "What the padded border holds. zeros: 0 (the usual). reflect: the input \
     mirrored at its edge without repeating it (c b | a b c | b a). replicate: the edge value \
     repeated (a a | a b c | c c). Does not apply to transposed convolutions.";
const TIP_STRIDE: &str = "s: how many cells the window moves between two outputs. Stride 2 \
     roughly halves the output (the ⌊…/s⌋ in the formula): a learned alternative to pooling. \
     For a transposed convolution, the stamps land s cells apart, so it upsamples by about s.";
const TIP_DILATION: &str = "d: gaps between the kernel's taps (atrous convolution). A dilated \
     k × k kernel spans d·(k − 1) + 1 cells: it sees a larger area with the same number of \
     weights.";
const TIP_TRANSPOSED: &str = "Transposed convolution (sometimes called deconvolution, though \
     it does not invert anything): each input cell multiplies the whole kernel and adds it \
     onto the output, s cells apart; overlapping stamps add up, and p cells are cropped from \
     each side. Output (n − 1)·s − 2p + d·(k − 1) + 1: the shape a convolution with the same \
     k, p, s would map back to n. Used to upsample in decoders, U-Nets and GAN generators.";
const TIP_STEP: &str = "Which step the picture shows. Convolution: step i computes output \
     cell i, row by row (the orange window). Transposed: step i stamps input cell i onto the \
     output.";
const TIP_PLAY: &str = "Advance one step every 0.4 s, starting over after the last step.";
const TIP_RESET: &str = "Back to the conv arithmetic guide's (Dumoulin & Visin) 5×5 input and \
     3×3 kernel with padding 1 and stride 1: the output keeps the input's size ('same' \
     padding).";

/// The sandbox's geometry: everything that decides the numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Input side n (the input is n × n).
    pub size: usize,
    /// Kernel side k.
    pub kernel: usize,
    pub padding: usize,
    pub mode: PaddingMode,
    pub stride: usize,
    pub dilation: usize,
    pub transposed: bool,
}

impl Geometry {
    /// The guide's 5×5 input and 3×3 kernel, padding 1, stride 1: output 5×5.
    pub const GUIDE: Geometry = Geometry {
        size: 5,
        kernel: 3,
        padding: 1,
        mode: PaddingMode::Zeros,
        stride: 1,
        dilation: 1,
        transposed: false,
    };

    /// The sandbox spec (the example numbers with this geometry), as `convlab render
    /// --view conv-arithmetic` builds it.
    pub fn spec(&self) -> ArithSpec {
        let mut spec = ArithSpec::example(
            self.size,
            self.kernel,
            self.padding,
            self.stride,
            self.dilation,
        );
        spec.padding_mode = self.mode;
        spec.transposed = self.transposed;
        spec
    }

    /// The size formula: the symbolic line and the line with the numbers.
    pub fn formula(&self) -> (String, String) {
        formula(
            self.size,
            self.kernel,
            self.padding,
            self.stride,
            self.dilation,
            self.transposed,
        )
    }

    /// The output side, or None when the geometry gives no output.
    pub fn output_size(&self) -> Option<usize> {
        let f = if self.transposed {
            transposed_output_size
        } else {
            conv_output_size
        };
        f(
            self.size,
            self.kernel,
            self.padding,
            self.stride,
            self.dilation,
        )
    }
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry::GUIDE
    }
}

/// The tab's state, kept in the views' state.
pub struct SandboxUi {
    pub geometry: Geometry,
    /// Current step (0-based); None: the middle of the run.
    pub step: Option<usize>,
    pub playing: bool,
    /// When the animation last advanced (egui time, seconds).
    last_advance: Option<f64>,
    /// The sandbox for `computed.0`, or why that geometry is impossible.
    computed: Option<(Geometry, Result<ConvArithmetic, InspectError>)>,
    texture: Option<TextureHandle>,
    /// What `texture` shows.
    texture_key: Option<(Geometry, usize)>,
    /// How often `conv_arithmetic` ran and the picture was uploaded (tests).
    pub computations: u64,
    pub uploads: u64,
}

impl Default for SandboxUi {
    fn default() -> Self {
        SandboxUi {
            geometry: Geometry::GUIDE,
            step: None,
            playing: false,
            last_advance: None,
            computed: None,
            texture: None,
            texture_key: None,
            computations: 0,
            uploads: 0,
        }
    }
}

impl SandboxUi {
    /// The sandbox for the current geometry, computed only when the geometry changed.
    pub fn sandbox(&mut self) -> &Result<ConvArithmetic, InspectError> {
        let g = self.geometry;
        if self.computed.as_ref().is_some_and(|(k, _)| *k != g) {
            self.computed = None;
        }
        let computations = &mut self.computations;
        let (_, result) = self.computed.get_or_insert_with(|| {
            *computations += 1;
            (g, conv_arithmetic(&g.spec()))
        });
        result
    }

    /// Number of steps of the current geometry (0 when it is impossible).
    pub fn steps(&mut self) -> usize {
        self.sandbox().as_ref().map_or(0, ConvArithmetic::steps)
    }

    /// The step shown, within `0..steps` (0 when there are none).
    pub fn current_step(&mut self) -> usize {
        let steps = self.steps();
        self.step.unwrap_or(steps / 2).min(steps.saturating_sub(1))
    }

    /// The picture shown, for the current geometry and step (what "Save PNG…" saves);
    /// `None` when the geometry is impossible.
    pub fn picture(&mut self) -> Option<crate::viz::Rgba> {
        let k = self.current_step();
        match &self.computed {
            Some((_, Ok(sb))) => Some(conv_arithmetic_image(sb, k).image),
            _ => None,
        }
    }

    /// Back to the guide's example, the middle step, not playing.
    pub fn reset(&mut self) {
        self.geometry = Geometry::GUIDE;
        self.step = None;
        self.playing = false;
        self.last_advance = None;
    }
}

/// A labelled whole-number field: the label is its accessible name.
fn number(ui: &mut Ui, label: &str, tip: &str, value: &mut usize, lo: usize, hi: usize) {
    let l = ui.label(label).on_hover_text(tip);
    ui.add(DragValue::new(value).range(lo..=hi).speed(0.05))
        .labelled_by(l.id)
        .on_hover_text(tip);
}

fn mode_name(m: PaddingMode) -> &'static str {
    match m {
        PaddingMode::Zeros => "zeros",
        PaddingMode::Reflect => "reflect",
        PaddingMode::Replicate => "replicate",
    }
}

fn geometry_controls(st: &mut SandboxUi, ui: &mut Ui) {
    let g = &mut st.geometry;
    let mut reset = false;
    ui.horizontal_wrapped(|ui| {
        number(ui, "input size", TIP_SIZE, &mut g.size, 1, MAX_INPUT);
        number(ui, "kernel", TIP_KERNEL, &mut g.kernel, 1, MAX_KERNEL);
        number(ui, "padding", TIP_PADDING, &mut g.padding, 0, MAX_PADDING);
        ui.add_enabled_ui(!g.transposed, |ui| {
            let l = ui.label("padding mode").on_hover_text(TIP_MODE);
            egui::ComboBox::from_id_salt("sandbox_padding_mode")
                .selected_text(mode_name(g.mode))
                .show_ui(ui, |ui| {
                    for m in [
                        PaddingMode::Zeros,
                        PaddingMode::Reflect,
                        PaddingMode::Replicate,
                    ] {
                        ui.selectable_value(&mut g.mode, m, mode_name(m));
                    }
                })
                .response
                .labelled_by(l.id)
                .on_hover_text(TIP_MODE)
                .on_disabled_hover_text(TIP_MODE);
        });
        number(ui, "stride", TIP_STRIDE, &mut g.stride, 1, MAX_STRIDE);
        number(
            ui,
            "dilation",
            TIP_DILATION,
            &mut g.dilation,
            1,
            MAX_DILATION,
        );
        ui.checkbox(&mut g.transposed, "transposed")
            .on_hover_text(TIP_TRANSPOSED);
        if ui
            .button("Reset to the guide's example")
            .on_hover_text(TIP_RESET)
            .clicked()
        {
            reset = true;
        }
    });
    if reset {
        st.reset();
    }
}

/// The size formula, symbolic and with the numbers, and the output size.
fn formula_ui(st: &SandboxUi, ui: &mut Ui) {
    let g = st.geometry;
    let (symbolic, live) = g.formula();
    ui.horizontal_wrapped(|ui| {
        ui.label("output size per side:");
        ui.label(RichText::new(symbolic).monospace());
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("with these numbers:");
        ui.label(RichText::new(live).monospace().strong().size(16.0));
    });
    if g.dilation > 1 {
        ui.weak(format!(
            "the dilated kernel spans d·(k − 1) + 1 = {}·({} − 1) + 1 = {} cells",
            g.dilation,
            g.kernel,
            g.dilation * (g.kernel - 1) + 1
        ));
    }
}

/// The step's products as text.
fn taps_text(sb: &ConvArithmetic, k: usize) -> Option<String> {
    let st = sb.step(k)?;
    let p = sb.spec.padding as i64;
    let (sh, sw) = sb.kernel_span();
    let rows = |o: usize, span: usize| {
        let a = o as i64 - p;
        format!("{a}…{}", a + span as i64 - 1)
    };
    let terms: Vec<String> = st
        .taps
        .iter()
        .map(|t| format!("{}·{}", fmt_number(t.value), fmt_number(t.weight)))
        .collect();
    Some(if sb.spec.transposed {
        format!(
            "in[{},{}] = {}: adds {} × kernel onto out rows {}, cols {} (outside 0…{} is cropped)\n= {}",
            st.cell.0,
            st.cell.1,
            fmt_number(st.value),
            fmt_number(st.value),
            rows(st.origin.0, sh),
            rows(st.origin.1, sw),
            sb.output.dim().0.saturating_sub(1),
            terms.join(", ")
        )
    } else {
        format!(
            "out[{},{}] = Σ x·w = {} = {}\n(window: input rows {}, cols {}; outside 0…{} is padding)",
            st.cell.0,
            st.cell.1,
            terms.join(" + "),
            fmt_number(st.value),
            rows(st.origin.0, sh),
            rows(st.origin.1, sw),
            sb.spec.input.dim().0.saturating_sub(1)
        )
    })
}

fn step_controls(st: &mut SandboxUi, ui: &mut Ui, steps: usize) {
    let mut k = st.current_step();
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Previous step")
            .on_hover_text("One step back.")
            .clicked()
        {
            k = k.saturating_sub(1);
            st.step = Some(k);
        }
        if ui
            .button("Next step")
            .on_hover_text("One step forward.")
            .clicked()
        {
            k = (k + 1).min(steps.saturating_sub(1));
            st.step = Some(k);
        }
        let label = if st.playing {
            "Pause steps"
        } else {
            "Play steps"
        };
        if ui.button(label).on_hover_text(TIP_PLAY).clicked() {
            st.playing = !st.playing;
            st.last_advance = None;
        }
        // The slider last: its "k of N" text changes width as the steps play, which would
        // move any button after it.
        let l = ui.label("step").on_hover_text(TIP_STEP);
        let mut shown = k + 1;
        if ui
            .add(egui::Slider::new(&mut shown, 1..=steps.max(1)).suffix(format!(" of {steps}")))
            .labelled_by(l.id)
            .on_hover_text(TIP_STEP)
            .changed()
        {
            k = shown.saturating_sub(1);
            st.step = Some(k);
        }
    });
}

/// Advances the animation when its time has come and asks for the next frame.
fn animate(st: &mut SandboxUi, ui: &Ui, steps: usize) {
    if !st.playing || steps == 0 {
        st.playing = false;
        return;
    }
    let now = ui.input(|i| i.time);
    let last = *st.last_advance.get_or_insert(now);
    if now - last >= PLAY_INTERVAL {
        let k = st.current_step();
        st.step = Some(if k + 1 >= steps { 0 } else { k + 1 });
        st.last_advance = Some(now);
    }
    let since = now - st.last_advance.unwrap_or(now);
    ui.ctx()
        .request_repaint_after(Duration::from_secs_f64((PLAY_INTERVAL - since).max(0.0)));
}

/// The tab.
pub fn sandbox_ui(st: &mut SandboxUi, ui: &mut Ui) {
    let tab = ViewId::ConvArithmetic;
    ui.horizontal(|ui| {
        ui.heading("Convolution arithmetic")
            .on_hover_text(tab.tooltip());
        ui.label("(?)").on_hover_text(tab.tooltip());
        ui.weak("a kernel on small numbers, step by step; no model needed");
    });
    geometry_controls(st, ui);
    formula_ui(st, ui);
    let g = st.geometry;
    let steps = st.steps();
    let error = st.sandbox().as_ref().err().map(InspectError::to_string);
    match (&error, g.output_size()) {
        (None, Some(o)) => {
            ui.label(format!(
                "output {o}×{o} · {steps} step{} ({})",
                if steps == 1 { "" } else { "s" },
                if g.transposed {
                    "one per input cell"
                } else {
                    "one per output cell"
                }
            ));
        }
        _ => {
            let e = error.unwrap_or_else(|| "this geometry gives no output".into());
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("No output: {e}. Change the numbers above."),
            );
            st.playing = false;
            return;
        }
    }
    animate(st, ui, steps);
    step_controls(st, ui, steps);
    let k = st.current_step();
    let key = (g, k);
    // `steps()` above brought `computed` up to date with the geometry.
    let Some((_, Ok(sb))) = &st.computed else {
        return;
    };
    if let Some(text) = taps_text(sb, k) {
        ui.label(RichText::new(text).monospace());
    }
    if st.texture_key != Some(key) {
        let img = conv_arithmetic_image(sb, k);
        crate::ui::texture::upload(ui.ctx(), &mut st.texture, "conv_arithmetic", &img.image);
        st.texture_key = Some(key);
        st.uploads += 1;
    }
    let Some(tex) = &st.texture else {
        return;
    };
    let [w, h] = tex.size();
    egui::ScrollArea::both()
        .id_salt("conv_arithmetic_scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let fit = ui.available_width().max(100.0) / w.max(1) as f32;
            // Whole-number zoom when there is room (crisp text), shrink to fit otherwise.
            let scale = if fit >= 1.0 {
                fit.floor().min(2.0)
            } else {
                fit
            };
            ui.image((tex.id(), egui::vec2(w as f32 * scale, h as f32 * scale)));
        });
}
