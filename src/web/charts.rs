//! Charts drawn on the server as SVG, written here rather than with a plotting crate: each
//! chart is a few dozen shapes, its words must be real text in the page's language, and it
//! needs a `<title>`, a `<desc>` and `role="img"` for screen readers. Every bar and cell
//! prints its number, and the shades differ in lightness, so a chart reads in grey print.

use std::fmt::Write;

/// One bar: its label, its length, and the number printed beside it.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

/// A chart ready to place in a page: SVG markup whose every text is escaped.
#[derive(Debug, Clone)]
pub struct Chart {
    pub svg: String,
}

impl std::fmt::Display for Chart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.svg)
    }
}

impl askama::filters::HtmlSafe for Chart {}

/// Shades from dark to light, told apart in grey print.
const SHADES: [&str; 6] = [
    "#0f5e63", "#4b8f8c", "#93c1b8", "#d6e9e4", "#c2410c", "#f2b38f",
];
const INK: &str = "#1d2433";
const FONT: &str = "system-ui, 'Noto Sans CJK SC', sans-serif";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A label cut to `max` characters, so that long names keep the chart's shape.
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The opening of a chart: its size, its accessible name and its text alternative.
fn open(out: &mut String, id: &str, width: u32, height: u32, title: &str, description: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT}" font-size="13"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
}

/// Horizontal bars, one per item, longest scaled to the chart's width.
pub fn bars(id: &str, title: &str, description: &str, items: &[Bar]) -> Chart {
    let top = items
        .iter()
        .map(|item| item.value)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    horizontal(id, title, description, items, top)
}

/// Horizontal bars of shares between 0 and 1: a whole bar is 100 %, so that bars of
/// different charts compare.
pub fn shares(id: &str, title: &str, description: &str, items: &[Bar]) -> Chart {
    horizontal(id, title, description, items, 1.0)
}

/// The width of the bar charts: narrow, so that on a phone their text keeps nearly its
/// size; each row's label stands above its bar, which has the whole width.
pub const BAR_WIDTH: u32 = 360;
/// Room left after the longest bar for its figure.
const FIGURE_ROOM: f64 = 64.0;

/// A row's label, above its bar.
fn label(out: &mut String, y: f64, text: &str) {
    let _ = write!(
        out,
        r#"<text class="label" x="0" y="{ty}" fill="{INK}">{label}</text>"#,
        ty = y + 12.0,
        label = escape(&short(text, 44)),
    );
}

/// The figure printed after a bar.
fn figure(out: &mut String, x: f64, y: f64, text: &str) {
    let _ = write!(
        out,
        r#"<text class="figure" x="{x:.1}" y="{ty:.1}" fill="{INK}" font-weight="600">{text}</text>"#,
        x = x + 6.0,
        ty = y + 13.5,
        text = escape(text),
    );
}

/// Horizontal bars, a value of `top` spanning the bars' space.
fn horizontal(id: &str, title: &str, description: &str, items: &[Bar], top: f64) -> Chart {
    let bar_space = f64::from(BAR_WIDTH) - FIGURE_ROOM;
    let row = 40.0;
    let height = (items.len().max(1) as f64 * row + 4.0) as u32;
    let mut out = String::new();
    open(&mut out, id, BAR_WIDTH, height, title, description);
    for (index, item) in items.iter().enumerate() {
        let y = index as f64 * row;
        label(&mut out, y, &item.label);
        let length = (item.value.clamp(0.0, top) / top * bar_space).max(if item.value > 0.0 {
            2.0
        } else {
            0.0
        });
        let _ = write!(
            out,
            r#"<rect x="0" y="{by}" width="{length:.1}" height="18" fill="{shade}" rx="2"/>"#,
            by = y + 18.0,
            shade = SHADES[0],
        );
        figure(&mut out, length, y + 18.0, &item.shown);
    }
    out.push_str("</svg>");
    Chart { svg: out }
}

/// One row of stacked bars: its label and one count per series.
#[derive(Debug, Clone)]
pub struct Stack {
    pub label: String,
    pub counts: Vec<u64>,
}

/// Stacked horizontal bars with a legend: how each row's total splits into the series.
pub fn stacked(id: &str, title: &str, description: &str, series: &[&str], rows: &[Stack]) -> Chart {
    let bar_space = f64::from(BAR_WIDTH) - FIGURE_ROOM;
    let row = 42.0;
    let line = 20.0;
    let top = rows
        .iter()
        .map(|row| row.counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    // The legend wraps onto as many lines as the width needs.
    let mut legend = String::new();
    let (mut x, mut y) = (0.0, 0.0);
    for (index, name) in series.iter().enumerate() {
        let room = 24.0
            + name
                .chars()
                .map(|c| if c.is_ascii() { 7.5 } else { 13.0 })
                .sum::<f64>();
        if x > 0.0 && x + room > f64::from(BAR_WIDTH) {
            x = 0.0;
            y += line;
        }
        let _ = write!(
            legend,
            r#"<rect x="{x}" y="{ry}" width="12" height="12" fill="{shade}" stroke="{INK}" stroke-width=".5"/><text x="{tx}" y="{ty}" fill="{INK}">{name}</text>"#,
            ry = y + 4.0,
            shade = SHADES[index % SHADES.len()],
            tx = x + 16.0,
            ty = y + 14.5,
            name = escape(name),
        );
        x += room;
    }
    let legend_height = y + line + 8.0;
    let height = (legend_height + rows.len().max(1) as f64 * row + 4.0) as u32;
    let mut out = String::new();
    open(&mut out, id, BAR_WIDTH, height, title, description);
    out.push_str(&legend);
    for (index, stack) in rows.iter().enumerate() {
        let y = legend_height + index as f64 * row;
        label(&mut out, y, &stack.label);
        let bar_y = y + 18.0;
        let mut x = 0.0;
        for (part, count) in stack.counts.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let length = *count as f64 / top * bar_space;
            let shade = SHADES[part % SHADES.len()];
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{bar_y}" width="{length:.1}" height="20" fill="{shade}" stroke="#fff" stroke-width="1"/>"##
            );
            if length >= 22.0 {
                let light = part % SHADES.len() >= 2 && part % SHADES.len() != 4;
                let _ = write!(
                    out,
                    r#"<text x="{cx:.1}" y="{ty}" text-anchor="middle" fill="{fill}" font-size="12">{count}</text>"#,
                    cx = x + length / 2.0,
                    ty = bar_y + 14.5,
                    fill = if light { INK } else { "#fff" },
                );
            }
            x += length;
        }
        let total: u64 = stack.counts.iter().sum();
        figure(&mut out, x, bar_y + 1.0, &total.to_string());
    }
    out.push_str("</svg>");
    Chart { svg: out }
}

/// A matrix of counts: rows and columns labelled, each cell shaded by its count and
/// printing it.
pub fn matrix(
    id: &str,
    title: &str,
    description: &str,
    rows: &[String],
    columns: &[String],
    counts: &[Vec<u64>],
) -> Chart {
    let label_width = 130.0;
    let header = 30.0;
    let cell_width = 64.0;
    let cell_height = 30.0;
    let width = (label_width + columns.len().max(1) as f64 * cell_width + 8.0) as u32;
    let height = (header + rows.len().max(1) as f64 * cell_height + 8.0) as u32;
    let top = counts
        .iter()
        .flat_map(|row| row.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut out = String::new();
    open(&mut out, id, width, height, title, description);
    for (index, column) in columns.iter().enumerate() {
        let cx = label_width + index as f64 * cell_width + cell_width / 2.0;
        let _ = write!(
            out,
            r#"<text class="column" x="{cx:.1}" y="{y}" text-anchor="middle" fill="{INK}" font-size="12" font-weight="600">{label}</text>"#,
            y = header - 10.0,
            label = escape(&short(column, 9)),
        );
    }
    for (r, label) in rows.iter().enumerate() {
        let y = header + r as f64 * cell_height;
        let _ = write!(
            out,
            r#"<text class="label" x="{lx}" y="{ty:.1}" text-anchor="end" fill="{INK}" font-size="12">{label}</text>"#,
            lx = label_width - 8.0,
            ty = y + cell_height / 2.0 + 4.5,
            label = escape(&short(label, 16)),
        );
        for (c, count) in counts
            .get(r)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let x = label_width + c as f64 * cell_width;
            let strength = *count as f64 / top;
            // Lightness from near white to the brand's dark teal, so the darker cell holds
            // more students in colour and in grey alike.
            let lightness = 97.0 - strength * 72.0;
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w}" height="{h}" fill="hsl(184 55% {lightness:.0}%)" stroke="#fff" stroke-width="2"/><text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" fill="{fill}" font-weight="600">{count}</text>"##,
                w = cell_width,
                h = cell_height,
                cx = x + cell_width / 2.0,
                ty = y + cell_height / 2.0 + 4.5,
                fill = if strength > 0.5 { "#fff" } else { INK },
            );
        }
    }
    out.push_str("</svg>");
    Chart { svg: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_chart_names_itself_and_prints_every_number_escaped() {
        let chart = bars(
            "fill",
            "Fill rate by program",
            "Two programs",
            &[
                Bar {
                    label: "<b>0854</b>".into(),
                    value: 0.5,
                    shown: "50%".into(),
                },
                Bar {
                    label: "电子信息".into(),
                    value: 1.0,
                    shown: "100%".into(),
                },
            ],
        );
        assert!(chart.svg.starts_with("<svg"));
        assert!(chart.svg.contains(r#"role="img""#));
        assert!(chart
            .svg
            .contains("<title id=\"fill-title\">Fill rate by program</title>"));
        assert!(chart.svg.contains("&lt;b&gt;0854&lt;/b&gt;"));
        assert!(!chart.svg.contains("<b>"));
        assert!(chart.svg.contains(">50%<") && chart.svg.contains(">100%<"));
        assert!(chart.svg.contains("电子信息"));
    }

    #[test]
    fn a_stack_prints_its_total_and_a_matrix_every_cell() {
        let chart = stacked(
            "status",
            "Status",
            "d",
            &["offered", "confirmed"],
            &[Stack {
                label: "USST".into(),
                counts: vec![3, 4],
            }],
        );
        assert!(chart.svg.contains(">7<"), "the total");
        let chart = matrix(
            "flow",
            "Flow",
            "d",
            &["A".into(), "B".into()],
            &["A".into(), "B".into()],
            &[vec![5, 0], vec![2, 9]],
        );
        for number in [">5<", ">0<", ">2<", ">9<"] {
            assert!(chart.svg.contains(number), "{number}");
        }
    }

    #[test]
    fn nothing_to_draw_still_draws_a_chart() {
        assert!(bars("x", "t", "d", &[]).svg.ends_with("</svg>"));
        assert!(matrix("x", "t", "d", &[], &[], &[]).svg.ends_with("</svg>"));
    }
}
