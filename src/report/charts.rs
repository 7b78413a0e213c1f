//! The report's charts: inline SVG drawn with plotters (no fonts embedded,
//! no JavaScript), with titles, axis labels and units, in colour-blind-safe
//! palettes (Okabe-Ito for categories, viridis for magnitudes, purple-orange
//! for signed values).

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::BoxStats;
use crate::error::Result;

/// Classes shown in the per-class charts (the largest ones).
pub const MAX_GROUPS: usize = 12;

const FONT: &str = "sans-serif";
const WIDTH: u32 = 760;

/// Okabe and Ito's palette for categories.
pub const CATEGORICAL: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(240, 228, 66),  // yellow
    RGBColor(0, 0, 0),       // black
];
/// Flags (a value over a threshold).
const ALERT: RGBColor = RGBColor(213, 94, 0);
const OK: RGBColor = RGBColor(0, 114, 178);
/// Grid lines: present for reading values off, faint enough not to compete with the data.
const GRID_LIGHT: RGBColor = RGBColor(242, 242, 242);
const GRID_BOLD: RGBColor = RGBColor(210, 210, 210);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Runs `f` on a fresh `WIDTH` x `height` SVG canvas and returns the SVG text.
fn svg(height: u32, f: impl FnOnce(&Area) -> DrawResult) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("drawing a chart: {e}"))?;
        f(&root).map_err(|e| anyhow::anyhow!("drawing a chart: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("drawing a chart: {e}"))?;
    }
    Ok(out)
}

fn text_style(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).pos(Pos::new(h, v))
}

/// Category names down the left edge of a chart whose rows are `0..n` (row `i` centred at `i + 0.5`).
fn row_labels<'a>(root: &Area<'a>, at: impl Fn(f64) -> (i32, i32), names: &[String]) -> DrawResult {
    for (i, name) in names.iter().enumerate() {
        let (x, y) = at(i as f64 + 0.5);
        root.draw(&Text::new(shorten(name, 28), (x - 6, y), text_style(12, HPos::Right, VPos::Center)))?;
    }
    Ok(())
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

type RowsChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes for `n` rows of horizontal bars over `0..x_max`, row 0 at the top; the rows' names are drawn by [`row_labels`].
fn rows_chart<'a, 'b>(root: &'a Area<'b>, title: &str, x_desc: &str, x_max: f64, n: usize) -> std::result::Result<RowsChart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 17))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(190)
        .build_cartesian_2d(0f64..x_max, n as f64..0f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(x_desc)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .light_line_style(GRID_LIGHT)
        .bold_line_style(GRID_BOLD)
        .draw()?;
    Ok(chart)
}

/// One horizontal bar per row; bars above `threshold` (when given) in the alert colour, with a line there.
pub struct Bars<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub names: Vec<String>,
    pub values: Vec<f64>,
    pub value_label: &'a dyn Fn(f64) -> String,
    pub threshold: Option<f64>,
}

pub fn bars(b: &Bars) -> Result<String> {
    let n = b.names.len().max(1);
    let max = b.values.iter().copied().fold(b.threshold.unwrap_or(0.0), f64::max).max(1e-12) * 1.18;
    svg(70 + 22 * n as u32 + 50, |root| {
        let mut chart = rows_chart(root, b.title, b.x_desc, max, n)?;
        for (i, &v) in b.values.iter().enumerate() {
            let y = i as f64;
            let color = match b.threshold {
                Some(t) if v > t => ALERT,
                _ => OK,
            };
            chart.draw_series(std::iter::once(Rectangle::new([(0.0, y + 0.15), (v, y + 0.85)], color.filled())))?;
            chart.draw_series(std::iter::once(Text::new(
                (b.value_label)(v),
                (v, y + 0.5),
                text_style(11, HPos::Left, VPos::Center),
            )))?;
        }
        if let Some(t) = b.threshold {
            chart.draw_series(std::iter::once(PathElement::new(vec![(t, 0.0), (t, n as f64)], ALERT.stroke_width(2))))?;
        }
        row_labels(root, |y| chart.backend_coord(&(0.0, y)), &b.names)
    })
}

/// Several bars per row (one per series), values in `0..x_max`, with a legend (at most six series).
pub struct GroupedBars<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub names: Vec<String>,
    pub series: Vec<(&'a str, Vec<f64>)>,
    pub x_max: f64,
}

pub fn grouped_bars(g: &GroupedBars) -> Result<String> {
    let n = g.names.len().max(1);
    let s = g.series.len().max(1);
    let height = 90 + (10 * s as u32 + 10) * n as u32 + 50;
    svg(height, |root| {
        let mut chart = rows_chart(root, g.title, g.x_desc, g.x_max, n)?;
        let h = 0.8 / s as f64;
        for (k, (name, values)) in g.series.iter().enumerate() {
            let color = CATEGORICAL[k % CATEGORICAL.len()];
            chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
                let y = i as f64 + 0.1 + k as f64 * h;
                Rectangle::new([(0.0, y), (v.max(0.0), y + h * 0.9)], color.filled())
            }))?;
            // The legend sits in the bottom-right corner, clear of the bars and the axis title.
            let (x, y) = (WIDTH as i32 - 110 * (s - k) as i32, height as i32 - 16);
            root.draw(&Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()))?;
            root.draw(&Text::new(name.to_string(), (x + 16, y), text_style(12, HPos::Left, VPos::Center)))?;
        }
        row_labels(root, |y| chart.backend_coord(&(0.0, y)), &g.names)
    })
}

/// `sign(x) log10(1 + |x|)`: a log axis that also holds zero and negative values.
fn symlog10(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p() / std::f64::consts::LN_10
}

fn symlog10_label(t: f64) -> String {
    let v = t.signum() * (10f64.powf(t.abs()) - 1.0);
    let a = v.abs();
    if a < 0.5 {
        "0".into()
    } else if (t.abs() - t.abs().round()).abs() < 1e-9 && a >= 9.0 {
        // 10^k - 1 is shown as 10^k: the axis is logarithmic, one unit does not show.
        let k = t.abs().round() as i32;
        let s = if k <= 3 { format!("{}", 10i64.pow(k as u32)) } else { format!("1e{k}") };
        if v < 0.0 {
            format!("-{s}")
        } else {
            s
        }
    } else if a >= 1e4 {
        format!("{v:.1e}")
    } else {
        format!("{v:.0}")
    }
}

/// Box plots of one feature by class on a log axis: box from the first to
/// the third quartile, line at the median, whiskers to the 5th and 95th percentiles.
pub fn box_plot(feature: &str, boxes: &[BoxStats]) -> Result<String> {
    let n = boxes.len().max(1);
    let lo = boxes.iter().map(|b| symlog10(b.p5)).fold(f64::INFINITY, f64::min);
    let hi = boxes.iter().map(|b| symlog10(b.p95)).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo { (lo, hi) } else { (lo.min(0.0) - 1.0, hi.max(0.0) + 1.0) };
    let pad = (hi - lo) * 0.08;
    let (lo, hi) = ((lo - pad).floor().min(lo - pad), (hi + pad).ceil().max(hi + pad));
    let title = format!("{feature} by class");
    svg(320, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, (FONT, 16))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..n as f64, lo..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(format!("{feature} (log scale)"))
            .y_label_formatter(&|t| symlog10_label(*t))
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .light_line_style(GRID_LIGHT)
            .bold_line_style(GRID_BOLD)
            .draw()?;
        for (i, b) in boxes.iter().enumerate() {
            let x = i as f64;
            let color = CATEGORICAL[i % CATEGORICAL.len()];
            let (p5, q1, med, q3, p95) = (symlog10(b.p5), symlog10(b.q1), symlog10(b.median), symlog10(b.q3), symlog10(b.p95));
            let mid = x + 0.5;
            chart.draw_series(std::iter::once(PathElement::new(vec![(mid, p5), (mid, q1)], BLACK.stroke_width(1))))?;
            chart.draw_series(std::iter::once(PathElement::new(vec![(mid, q3), (mid, p95)], BLACK.stroke_width(1))))?;
            for w in [p5, p95] {
                chart.draw_series(std::iter::once(PathElement::new(vec![(x + 0.38, w), (x + 0.62, w)], BLACK.stroke_width(1))))?;
            }
            chart.draw_series(std::iter::once(Rectangle::new([(x + 0.2, q1), (x + 0.8, q3)], color.mix(0.75).filled())))?;
            chart.draw_series(std::iter::once(Rectangle::new([(x + 0.2, q1), (x + 0.8, q3)], BLACK.stroke_width(1))))?;
            chart.draw_series(std::iter::once(PathElement::new(vec![(x + 0.2, med), (x + 0.8, med)], BLACK.stroke_width(2))))?;
            let (px, py) = chart.backend_coord(&(mid, lo));
            root.draw(&Text::new(shorten(&b.class, 12), (px, py + 8), text_style(11, HPos::Center, VPos::Top)))?;
            root.draw(&Text::new(format!("n={}", b.rows), (px, py + 24), text_style(10, HPos::Center, VPos::Top)))?;
        }
        Ok(())
    })
}

/// How a heatmap colours its values.
#[derive(Clone, Copy)]
pub enum Palette {
    /// Viridis over `[lo, hi]`.
    Sequential,
    /// Purple (lo) to white (0) to orange (hi), for values in `[-1, 1]`.
    Diverging,
}

pub struct Heatmap<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_labels: Vec<String>,
    pub y_labels: Vec<String>,
    /// Row-major, `y_labels.len()` rows; NaN cells are left blank.
    pub values: Vec<f64>,
    pub range: (f64, f64),
    pub palette: Palette,
    /// Text in each cell, when the cells are large enough.
    pub cell_text: Option<&'a dyn Fn(usize, usize, f64) -> String>,
    /// A cell to outline (row, column).
    pub highlight: Option<(usize, usize)>,
    pub legend: &'a str,
}

const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];
const PURPLE_ORANGE: [(u8, u8, u8); 5] = [(84, 39, 136), (153, 142, 195), (247, 247, 247), (241, 163, 64), (179, 88, 6)];

fn ramp(stops: &[(u8, u8, u8)], t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Palette {
    fn color(self, v: f64, (lo, hi): (f64, f64)) -> RGBColor {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        match self {
            Palette::Sequential => ramp(&VIRIDIS, t),
            Palette::Diverging => ramp(&PURPLE_ORANGE, t),
        }
    }
}

/// Black or white, whichever reads better on `c`.
fn ink(c: RGBColor) -> RGBColor {
    let l = 0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64;
    if l > 140.0 {
        BLACK
    } else {
        WHITE
    }
}

pub fn heatmap(h: &Heatmap) -> Result<String> {
    let (rows, cols) = (h.y_labels.len().max(1), h.x_labels.len().max(1));
    let cell = (560 / cols.max(rows) as u32).clamp(14, 64);
    let height = 60 + cell * rows as u32 + 70;
    svg(height.max(200), |root| {
        let (main, legend_area) = root.split_horizontally(WIDTH - 90);
        let mut chart = ChartBuilder::on(&main)
            .caption(h.title, (FONT, 17))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..cols as f64, rows as f64..0f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .x_desc(h.x_desc)
            .y_desc(h.y_desc)
            .axis_desc_style((FONT, 13))
            .draw()?;
        for i in 0..h.y_labels.len() {
            for j in 0..h.x_labels.len() {
                let v = h.values[i * h.x_labels.len() + j];
                if v.is_nan() {
                    continue;
                }
                let color = h.palette.color(v, h.range);
                let (x, y) = (j as f64, i as f64);
                chart.draw_series(std::iter::once(Rectangle::new([(x, y), (x + 1.0, y + 1.0)], color.filled())))?;
                if let Some(text) = h.cell_text.filter(|_| cell >= 30) {
                    chart.draw_series(std::iter::once(Text::new(
                        text(i, j, v),
                        (x + 0.5, y + 0.5),
                        TextStyle::from((FONT, 11).into_font()).color(&ink(color)).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
        if let Some((i, j)) = h.highlight {
            let (x, y) = (j as f64, i as f64);
            chart.draw_series(std::iter::once(Rectangle::new([(x, y), (x + 1.0, y + 1.0)], RED.stroke_width(3))))?;
        }
        row_labels(&main, |y| chart.backend_coord(&(0.0, y)), &h.y_labels)?;
        for (j, name) in h.x_labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(j as f64 + 0.5, rows as f64));
            main.draw(&Text::new(shorten(name, 8), (px, py + 6), text_style(11, HPos::Center, VPos::Top)))?;
        }
        // Colour scale.
        let (top, bottom) = (60i32, height.max(200) as i32 - 70);
        let steps = 40;
        for s in 0..steps {
            let t0 = top + (bottom - top) * s / steps;
            let t1 = top + (bottom - top) * (s + 1) / steps;
            let v = h.range.1 - (h.range.1 - h.range.0) * (s as f64 + 0.5) / steps as f64;
            legend_area.draw(&Rectangle::new([(10, t0), (28, t1)], h.palette.color(v, h.range).filled()))?;
        }
        legend_area.draw(&Rectangle::new([(10, top), (28, bottom)], BLACK.stroke_width(1)))?;
        for (y, v) in [(top, h.range.1), ((top + bottom) / 2, (h.range.0 + h.range.1) / 2.0), (bottom, h.range.0)] {
            legend_area.draw(&Text::new(fmt_short(v, h.range), (32, y), text_style(11, HPos::Left, VPos::Center)))?;
        }
        legend_area.draw(&Text::new(h.legend.to_string(), (10, top - 14), text_style(11, HPos::Left, VPos::Bottom)))?;
        Ok(())
    })
}

fn fmt_short(v: f64, range: (f64, f64)) -> String {
    if range.1 - range.0 > 100.0 && v.abs() < 1e4 {
        format!("{v:.0}")
    } else if v.abs() >= 1e4 {
        format!("{v:.1e}")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlog_labels_read_as_powers_of_ten() {
        assert_eq!(symlog10_label(0.0), "0");
        assert_eq!(symlog10_label(2.0), "100");
        assert_eq!(symlog10_label(6.0), "1e6");
        assert_eq!(symlog10_label(-3.0), "-1000");
        assert!((symlog10(999.0) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn palettes_span_their_ends() {
        assert_eq!(Palette::Sequential.color(0.0, (0.0, 1.0)), RGBColor(68, 1, 84));
        assert_eq!(Palette::Sequential.color(1.0, (0.0, 1.0)), RGBColor(253, 231, 37));
        assert_eq!(Palette::Diverging.color(0.0, (-1.0, 1.0)), RGBColor(247, 247, 247));
    }

    #[test]
    fn charts_are_svg_with_their_titles() {
        let names = vec!["Web".to_string(), "DNS <&>".to_string()];
        let svg = bars(&Bars {
            title: "Rows per class",
            x_desc: "share of rows (%)",
            names,
            values: vec![90.0, 10.0],
            value_label: &|v| format!("{v:.1}%"),
            threshold: None,
        })
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("Rows per class") && svg.contains("share of rows (%)"));
        assert!(svg.contains("DNS &lt;&amp;&gt;"), "labels are escaped");
    }
}
