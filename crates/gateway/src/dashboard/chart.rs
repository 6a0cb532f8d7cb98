//! Bar charts as inline SVG, drawn on the server: no script, no network fetch.

use super::html::esc;

/// One bar: its label (shown on hover) and value.
pub struct Bar {
    pub label: String,
    pub value: i64,
}

const WIDTH: i64 = 480;
const HEIGHT: i64 = 120;

/// A bar chart of `bars`, left to right, scaled to the largest value; `title` is the accessible
/// name.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as i64;
    let slot = WIDTH / n;
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        h = HEIGHT + 1,
        t = esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let height = if b.value > 0 { (b.value * HEIGHT / max).max(1) } else { 0 };
        out.push_str(&format!(
            r#"<rect x="{x}" y="{y}" width="{w}" height="{height}"><title>{label}: {v}</title></rect>"#,
            x = i as i64 * slot + 1,
            y = HEIGHT - height,
            w = (slot - 2).max(1),
            label = esc(&b.label),
            v = b.value,
        ));
    }
    out.push_str(&format!(r#"<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}"></line></svg>"#));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest() {
        let svg = bars("t<", &[Bar { label: "a".into(), value: 0 }, Bar { label: "b".into(), value: 10 }]);
        assert!(svg.contains(r#"aria-label="t&lt;""#));
        assert!(svg.contains(r#"height="0""#) && svg.contains(r#"height="120""#));
    }
}
