//! Bar charts as inline SVG, drawn on the server: no script, no network fetch.

use super::html::esc;

/// One bar: its label (shown on hover) and value.
pub(crate) struct Bar {
    pub label: String,
    pub value: i64,
}

/// `2026-03-10T14:00:00Z` as `2026-03-10 14:00 UTC`, for an hour's bar.
pub(crate) fn hour_label(rfc3339: &str) -> String {
    format!("{} UTC", rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " "))
}

/// The plot area, in viewBox units; the axis labels sit left of and below it.
const WIDTH: i64 = 720;
const HEIGHT: i64 = 120;
const LEFT: i64 = 44;
const BOTTOM: i64 = 18;

/// A bar chart of `bars`, left to right, scaled to the largest value, with the scale (0 and the
/// largest value) on the left and the first and last bars' labels below; `title` is the
/// accessible name. Each bar's label and value show on hover.
pub(crate) fn bars(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as i64;
    let slot = WIDTH / n;
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        w = LEFT + WIDTH,
        h = HEIGHT + BOTTOM,
        t = esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let height = if b.value > 0 { (b.value * HEIGHT / max).max(1) } else { 0 };
        out.push_str(&format!(
            r#"<rect x="{x}" y="{y}" width="{w}" height="{height}"><title>{label}: {v}</title></rect>"#,
            x = LEFT + i as i64 * slot + 1,
            y = HEIGHT - height,
            w = (slot - 2).max(1),
            label = esc(&b.label),
            v = b.value,
        ));
    }
    out.push_str(&format!(
        r#"<line x1="{LEFT}" y1="{HEIGHT}" x2="{x2}" y2="{HEIGHT}"></line><text x="{tx}" y="10" text-anchor="end">{max}</text><text x="{tx}" y="{HEIGHT}" text-anchor="end">0</text>"#,
        x2 = LEFT + WIDTH,
        tx = LEFT - 6,
    ));
    if let (Some(first), Some(last)) = (bars.first(), bars.last()) {
        let y = HEIGHT + BOTTOM - 4;
        out.push_str(&format!(
            r#"<text x="{LEFT}" y="{y}">{a}</text><text x="{x}" y="{y}" text-anchor="end">{b}</text>"#,
            x = LEFT + WIDTH,
            a = esc(&first.label),
            b = esc(&last.label),
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_labels_are_short() {
        assert_eq!(hour_label("2026-03-10T14:00:00Z"), "2026-03-10 14:00 UTC");
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let svg = bars("t<", &[Bar { label: "a".into(), value: 0 }, Bar { label: "b".into(), value: 10 }]);
        assert!(svg.contains(r#"aria-label="t&lt;""#));
        assert!(svg.contains(r#"height="0""#) && svg.contains(r#"height="120""#));
        // The scale and the end labels, escaped.
        assert!(svg.contains(">10</text>") && svg.contains(">a</text>") && svg.contains(">b</text>"));
    }
}
