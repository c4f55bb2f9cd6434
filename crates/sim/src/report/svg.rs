//! Small inline-SVG charts for the HTML reports: line charts over time or over a logarithmic
//! axis, grouped bar charts and histograms, with axes, ticks and a legend. Output depends only
//! on the input numbers.

use std::fmt::Write;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 48.0;
/// Lines are thinned to about this many points (the maximum of each bucket is kept, so peaks
/// stay visible).
const MAX_POINTS: usize = 600;

const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The color of the `index`th series.
pub fn color(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: &'static str,
    pub dashed: bool,
}

#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub y_label: String,
    /// x values are milliseconds; the axis picks seconds, minutes or hours.
    pub series: Vec<Series>,
    /// Fixes the top of the y axis (100 for percentages).
    pub y_max: Option<f64>,
}

/// A value on a chart's axis, with its unit chosen for the range.
struct TimeAxis {
    divisor: f64,
    unit: &'static str,
}

impl TimeAxis {
    fn for_range(max_ms: f64) -> Self {
        if max_ms <= 180_000.0 {
            Self {
                divisor: 1000.0,
                unit: "s",
            }
        } else if max_ms <= 3.0 * 3_600_000.0 {
            Self {
                divisor: 60_000.0,
                unit: "min",
            }
        } else {
            Self {
                divisor: 3_600_000.0,
                unit: "h",
            }
        }
    }
}

/// Renders a line chart of values over virtual time.
pub fn line_chart(chart: &LineChart) -> String {
    let x_max_ms = chart
        .series
        .iter()
        .flat_map(|series| series.points.iter().map(|point| point.0))
        .fold(0.0, f64::max)
        .max(1.0);
    let axis = TimeAxis::for_range(x_max_ms);
    let x_max = x_max_ms / axis.divisor;
    let data_max = chart
        .series
        .iter()
        .flat_map(|series| series.points.iter().map(|point| point.1))
        .fold(0.0, f64::max);
    let y_max = chart.y_max.unwrap_or_else(|| nice_ceiling(data_max));
    let frame = Frame::new(x_max, y_max);
    let mut svg = open_svg(&chart.title);
    frame.axes(
        &mut svg,
        &format!("virtual time ({})", axis.unit),
        &chart.y_label,
    );
    for series in &chart.series {
        let points = thin(&series.points, MAX_POINTS);
        let pixels = points.iter().map(|(x, y)| frame.at(x / axis.divisor, *y));
        polyline(&mut svg, pixels, series);
    }
    close_with_legend(svg, &chart.series)
}

/// A line chart over a logarithmic x axis (cluster sizes, counts) with every point marked.
#[derive(Debug, Clone)]
pub struct LogXChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// x values must be positive; the axis is ticked at each distinct x value.
    pub series: Vec<Series>,
}

/// Renders a [`LogXChart`]: y from 0, one `<circle class="point">` per data point, whose
/// tooltip gives the series, x and y.
pub fn log_x_chart(chart: &LogXChart) -> String {
    let mut x_values: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|series| series.points.iter().map(|point| point.0))
        .filter(|x| *x > 0.0)
        .collect();
    x_values.sort_by(f64::total_cmp);
    x_values.dedup();
    let low = x_values.first().map_or(0.0, |x| x.log10());
    let high = x_values.last().map_or(1.0, |x| x.log10());
    // A margin keeps the end points off the axes; one value sits in the middle.
    let margin = if high > low { (high - low) * 0.06 } else { 0.5 };
    let origin = low - margin;
    let data_max = chart
        .series
        .iter()
        .flat_map(|series| series.points.iter().map(|point| point.1))
        .fold(0.0, f64::max);
    let frame = Frame::new(high + margin - origin, nice_ceiling(data_max));
    let position = |x: f64| x.max(f64::MIN_POSITIVE).log10() - origin;
    let mut svg = open_svg(&chart.title);
    frame.y_axis(&mut svg, &chart.y_label);
    frame.x_baseline(&mut svg);
    frame.x_ticks(
        &mut svg,
        x_values.iter().map(|x| (position(*x), format_count(*x))),
    );
    frame.x_label(&mut svg, &chart.x_label);
    for series in &chart.series {
        let pixels: Vec<(f64, f64)> = series
            .points
            .iter()
            .filter(|point| point.0 > 0.0)
            .map(|(x, y)| frame.at(position(*x), *y))
            .collect();
        polyline(&mut svg, pixels.iter().copied(), series);
        for ((px, py), (x, y)) in pixels.iter().zip(&series.points) {
            let _ = write!(
                svg,
                r#"<circle class="point" cx="{px:.1}" cy="{py:.1}" r="3" fill="{}"><title>{}: {} at {}</title></circle>"#,
                series.color,
                escape(&series.name),
                format_number(*y),
                format_count(*x)
            );
        }
    }
    close_with_legend(svg, &chart.series)
}

/// One group of bars: a name (legend) and its values per category.
#[derive(Debug, Clone)]
pub struct BarGroup {
    pub name: String,
    pub values: Vec<f64>,
}

/// Bars per category (x axis), one bar per group side by side.
pub fn bar_chart(title: &str, y_label: &str, categories: &[&str], groups: &[BarGroup]) -> String {
    let data_max = groups
        .iter()
        .flat_map(|group| group.values.iter().copied())
        .fold(0.0, f64::max);
    let y_max = nice_ceiling(data_max);
    let frame = Frame::new(categories.len().max(1) as f64, y_max);
    let mut svg = open_svg(title);
    frame.y_axis(&mut svg, y_label);
    frame.x_baseline(&mut svg);
    let slot = frame.plot_width() / categories.len().max(1) as f64;
    let bar_width = (slot * 0.8) / groups.len().max(1) as f64;
    for (category_index, category) in categories.iter().enumerate() {
        let slot_left = LEFT + slot * category_index as f64;
        for (group_index, group) in groups.iter().enumerate() {
            let value = group.values.get(category_index).copied().unwrap_or(0.0);
            let (_, top) = frame.at(0.0, value);
            let x = slot_left + slot * 0.1 + bar_width * group_index as f64;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                (bar_width - 1.0).max(1.0),
                (frame.bottom() - top).max(0.0),
                color(group_index),
                escape(&group.name),
                format_number(value)
            );
            if groups.len() * categories.len() <= 24 {
                let _ = write!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
                    x + bar_width / 2.0,
                    top - 3.0,
                    format_number(value)
                );
            }
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            slot_left + slot / 2.0,
            frame.bottom() + 18.0,
            escape(category)
        );
    }
    if groups.len() > 1 {
        legend(
            &mut svg,
            groups
                .iter()
                .enumerate()
                .map(|(index, group)| (group.name.as_str(), color(index), false)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A histogram of millisecond values in `bins` equal bins, x axis in a time unit.
pub fn histogram(title: &str, values: &[i64], bins: usize) -> String {
    let bins = bins.max(1);
    let max_value = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let axis = TimeAxis::for_range(max_value);
    let width_ms = max_value / bins as f64;
    let mut counts = vec![0usize; bins];
    for &value in values {
        let bin = ((value.max(0) as f64 / width_ms) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    // Whole-job ticks: the axis reaches at least 5.
    let y_max = nice_ceiling(counts.iter().copied().max().unwrap_or(0).max(5) as f64);
    let x_max = max_value / axis.divisor;
    let frame = Frame::new(x_max, y_max);
    let mut svg = open_svg(title);
    frame.axes(
        &mut svg,
        &format!("completion time ({})", axis.unit),
        "jobs",
    );
    for (bin, count) in counts.iter().enumerate() {
        let (left, top) = frame.at(bin as f64 * width_ms / axis.divisor, *count as f64);
        let (right, _) = frame.at((bin + 1) as f64 * width_ms / axis.divisor, 0.0);
        let _ = write!(
            svg,
            r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{count} jobs</title></rect>"#,
            (right - left - 1.0).max(0.5),
            (frame.bottom() - top).max(0.0),
            color(0)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The plot area and the mapping from data to pixels.
struct Frame {
    x_max: f64,
    y_max: f64,
}

impl Frame {
    fn new(x_max: f64, y_max: f64) -> Self {
        Self {
            x_max: if x_max > 0.0 { x_max } else { 1.0 },
            y_max: if y_max > 0.0 { y_max } else { 1.0 },
        }
    }

    fn plot_width(&self) -> f64 {
        WIDTH - LEFT - RIGHT
    }

    fn bottom(&self) -> f64 {
        HEIGHT - BOTTOM
    }

    fn at(&self, x: f64, y: f64) -> (f64, f64) {
        let plot_height = HEIGHT - TOP - BOTTOM;
        (
            LEFT + x / self.x_max * self.plot_width(),
            self.bottom() - y.min(self.y_max) / self.y_max * plot_height,
        )
    }

    fn axes(&self, svg: &mut String, x_label: &str, y_label: &str) {
        self.y_axis(svg, y_label);
        self.x_baseline(svg);
        self.x_ticks(
            svg,
            ticks(self.x_max)
                .into_iter()
                .map(|tick| (tick, format_number(tick))),
        );
        self.x_label(svg, x_label);
    }

    /// Ticks below the x axis at data positions, with their labels.
    fn x_ticks(&self, svg: &mut String, ticks: impl Iterator<Item = (f64, String)>) {
        for (tick, label) in ticks {
            let (x, _) = self.at(tick, 0.0);
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" y1="{b:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
                self.bottom() + 4.0,
                self.bottom() + 16.0,
                escape(&label),
                b = self.bottom()
            );
        }
    }

    fn x_label(&self, svg: &mut String, x_label: &str) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            LEFT + self.plot_width() / 2.0,
            HEIGHT - 8.0,
            escape(x_label)
        );
    }

    fn x_baseline(&self, svg: &mut String) {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{b:.1}" x2="{:.1}" y2="{b:.1}" stroke="#333"/>"##,
            LEFT + self.plot_width(),
            b = self.bottom()
        );
    }

    fn y_axis(&self, svg: &mut String, y_label: &str) {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/>"##,
            self.bottom()
        );
        for tick in ticks(self.y_max) {
            let (_, y) = self.at(0.0, tick);
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                LEFT + self.plot_width(),
                LEFT - 6.0,
                y + 4.0,
                format_number(tick)
            );
        }
        let middle = TOP + (self.bottom() - TOP) / 2.0;
        let _ = write!(
            svg,
            r#"<text x="14" y="{middle:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {middle:.1})">{}</text>"#,
            escape(y_label)
        );
    }
}

fn open_svg(title: &str) -> String {
    format!(
        r#"<svg class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}"><text x="{LEFT}" y="20" font-size="14" font-weight="bold">{t}</text>"#,
        t = escape(title)
    )
}

/// A series' line through pixel positions (nothing for no points).
fn polyline(svg: &mut String, pixels: impl Iterator<Item = (f64, f64)>, series: &Series) {
    let mut path = String::new();
    for (index, (px, py)) in pixels.enumerate() {
        let _ = write!(
            path,
            "{}{px:.1},{py:.1}",
            if index == 0 { "M" } else { " L" }
        );
    }
    if path.is_empty() {
        return;
    }
    let _ = write!(
        svg,
        r#"<path d="{path}" fill="none" stroke="{}" stroke-width="1.6"{}/>"#,
        series.color,
        if series.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        }
    );
}

/// Adds the series' legend and closes the chart.
fn close_with_legend(mut svg: String, series: &[Series]) -> String {
    legend(
        &mut svg,
        series
            .iter()
            .map(|series| (series.name.as_str(), series.color, series.dashed)),
    );
    svg.push_str("</svg>");
    svg
}

fn legend<'a>(svg: &mut String, entries: impl Iterator<Item = (&'a str, &'static str, bool)>) {
    let x = WIDTH - RIGHT + 12.0;
    for (index, (name, color, dashed)) in entries.enumerate().take(14) {
        let y = TOP + 8.0 + index as f64 * 17.0;
        let _ = write!(
            svg,
            r#"<line x1="{x}" y1="{y}" x2="{:.1}" y2="{y}" stroke="{color}" stroke-width="3"{}/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            x + 18.0,
            if dashed {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            },
            x + 23.0,
            y + 4.0,
            escape(&shorten(name, 22))
        );
    }
}

/// Round tick values from 0 to `max` (about 5 of them).
fn ticks(max: f64) -> Vec<f64> {
    let step = nice_step(max / 5.0);
    let mut ticks = Vec::new();
    let mut value = 0.0;
    while value <= max * 1.000_001 {
        ticks.push(value);
        value += step;
    }
    ticks
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A round axis top at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let step = nice_step(value / 5.0);
    (value / step).ceil() * step
}

/// At most `limit` points: each bucket of consecutive points keeps its highest.
fn thin(points: &[(f64, f64)], limit: usize) -> Vec<(f64, f64)> {
    if points.len() <= limit {
        return points.to_vec();
    }
    let bucket = points.len().div_ceil(limit);
    points
        .chunks(bucket)
        .map(|chunk| {
            let highest = chunk.iter().map(|point| point.1).fold(f64::MIN, f64::max);
            (chunk[0].0, highest)
        })
        .collect()
}

/// Compact, deterministic number text: integers plainly, others with up to 2 decimals.
pub fn format_number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A count in few characters: 500, 2k, 2.5k, 10k, 1M.
pub fn format_count(value: f64) -> String {
    let (scaled, suffix) = if value.abs() >= 1e6 {
        (value / 1e6, "M")
    } else if value.abs() >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    format!("{}{suffix}", format_number(scaled))
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_string()
    } else {
        let kept: String = text.chars().take(limit - 1).collect();
        format!("{kept}…")
    }
}

/// Escapes text for HTML and SVG content and attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(ticks(100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(nice_ceiling(73.0), 80.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(40.0), "40");
        assert_eq!(format_count(2_000.0), "2k");
        assert_eq!(format_count(2_500.0), "2.5k");
        assert_eq!(format_count(1_000_000.0), "1M");
        assert_eq!(format_count(100.0), "100");
    }

    #[test]
    fn a_log_axis_ticks_each_value_and_marks_each_point() {
        let chart = log_x_chart(&LogXChart {
            title: "cost".into(),
            x_label: "nodes (log scale)".into(),
            y_label: "µs".into(),
            series: vec![Series {
                name: "fifo p50".into(),
                points: vec![(1_000.0, 1.0), (10_000.0, 1.5), (100_000.0, 2.0)],
                color: color(0),
                dashed: false,
            }],
        });
        assert_eq!(chart.matches(r#"<circle class="point""#).count(), 3);
        for label in [">1k<", ">10k<", ">100k<"] {
            assert!(chart.contains(label), "tick {label} in {chart}");
        }
        // Equal ratios are equal distances: 1k, 10k and 100k are evenly spaced.
        let centres: Vec<f64> = chart
            .split(r#"cx=""#)
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert!(((centres[1] - centres[0]) - (centres[2] - centres[1])).abs() < 0.2);
    }

    #[test]
    fn long_lines_keep_their_peaks_when_thinned() {
        let mut points: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 1.0)).collect();
        points[5_003].1 = 99.0;
        let thinned = thin(&points, 600);
        assert!(thinned.len() <= 600);
        assert!(thinned.iter().any(|point| point.1 == 99.0));
    }

    #[test]
    fn names_are_escaped() {
        let chart = line_chart(&LineChart {
            title: "a <b> & c".into(),
            y_label: "y".into(),
            series: vec![Series {
                name: "q<1>".into(),
                points: vec![(0.0, 1.0), (1000.0, 2.0)],
                color: color(0),
                dashed: false,
            }],
            y_max: None,
        });
        assert!(chart.contains("a &lt;b&gt; &amp; c"));
        assert!(chart.contains("q&lt;1&gt;"));
        assert!(!chart.contains("<b>"));
    }
}
