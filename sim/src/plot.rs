//! Small hand-written SVG plots (no plotting crate: a line chart with a
//! legend, and lines with shaded confidence bands). Coordinates are
//! printed with two decimals, so the same numbers give the same bytes.

use std::fmt::Write as _;

const W: f64 = 720.0;
const H: f64 = 360.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 220.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// One series of a band plot: `(x, mean, low, high)` points.
pub type Band = (String, Vec<(f64, f64, f64, f64)>);

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn new(points: impl Iterator<Item = (f64, f64)>) -> Frame {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, 0.0f64, f64::MIN);
        for (x, y) in points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1) = (0.0, 1.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if y1 <= y0 {
            y1 = y0 + 1.0;
        }
        Frame { x0, x1, y0, y1 }
    }
    fn x(&self, x: f64) -> f64 {
        LEFT + (x - self.x0) / (self.x1 - self.x0) * (W - LEFT - RIGHT)
    }
    fn y(&self, y: f64) -> f64 {
        H - BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (H - TOP - BOTTOM)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn axes(s: &mut String, title: &str, xlabel: &str, f: &Frame) {
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11"><rect width="{W}" height="{H}" fill="white"/><text x="{:.2}" y="22" font-size="14">{}</text>"#,
        LEFT,
        escape(title)
    );
    let (bx, by) = (f.x(f.x0), f.y(f.y0));
    let _ = write!(
        s,
        r#"<line x1="{bx:.2}" y1="{by:.2}" x2="{:.2}" y2="{by:.2}" stroke="black"/><line x1="{bx:.2}" y1="{by:.2}" x2="{bx:.2}" y2="{:.2}" stroke="black"/>"#,
        f.x(f.x1),
        f.y(f.y1)
    );
    for i in 0..=4 {
        let t = i as f64 / 4.0;
        let (xv, yv) = (f.x0 + t * (f.x1 - f.x0), f.y0 + t * (f.y1 - f.y0));
        let _ = write!(
            s,
            r##"<text x="{:.2}" y="{:.2}" text-anchor="middle">{}</text><text x="{:.2}" y="{:.2}" text-anchor="end">{}</text><line x1="{bx:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke="#ddd"/>"##,
            f.x(xv),
            by + 16.0,
            number(xv),
            bx - 6.0,
            f.y(yv) + 4.0,
            number(yv),
            f.y(yv),
            f.x(f.x1),
            f.y(yv)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.2}" y="{:.2}" text-anchor="middle">{}</text>"#,
        (f.x(f.x0) + f.x(f.x1)) / 2.0,
        H - 12.0,
        escape(xlabel)
    );
}

fn number(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.2e}", v)
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn legend(s: &mut String, i: usize, name: &str) {
    let y = TOP + 16.0 * i as f64;
    let _ = write!(
        s,
        r#"<rect x="{:.2}" y="{:.2}" width="10" height="10" fill="{}"/><text x="{:.2}" y="{:.2}">{}</text>"#,
        W - RIGHT + 14.0,
        y,
        COLORS[i % COLORS.len()],
        W - RIGHT + 28.0,
        y + 9.0,
        escape(name)
    );
}

fn path(f: &Frame, points: impl Iterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.enumerate() {
        let _ = write!(
            d,
            "{}{:.2},{:.2} ",
            if i == 0 { "M" } else { "L" },
            f.x(x),
            f.y(y)
        );
    }
    d
}

/// A line chart of `series` (name, points).
pub fn lines(title: &str, xlabel: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    let f = Frame::new(series.iter().flat_map(|(_, p)| p.iter().copied()));
    let mut s = String::new();
    axes(&mut s, title, xlabel, &f);
    for (i, (name, points)) in series.iter().enumerate() {
        let d = path(&f, points.iter().copied());
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
            COLORS[i % COLORS.len()]
        );
        legend(&mut s, i, name);
    }
    s.push_str("</svg>\n");
    s
}

/// Lines of means with shaded `[low, high]` bands (confidence intervals).
pub fn bands(title: &str, xlabel: &str, series: &[Band]) -> String {
    let f = Frame::new(series.iter().flat_map(|(_, p)| {
        p.iter()
            .flat_map(|&(x, _, lo, hi)| [(x, lo), (x, hi)].into_iter())
    }));
    let mut s = String::new();
    axes(&mut s, title, xlabel, &f);
    for (i, (name, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let upper = points.iter().map(|&(x, _, _, hi)| (x, hi));
        let lower = points.iter().rev().map(|&(x, _, lo, _)| (x, lo));
        let d = path(&f, upper.chain(lower));
        let _ = write!(
            s,
            r#"<path d="{d}Z" fill="{color}" fill-opacity="0.18" stroke="none"/>"#
        );
        let d = path(&f, points.iter().map(|&(x, m, _, _)| (x, m)));
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="1.5"/>"#
        );
        for &(x, m, _, _) in points {
            let _ = write!(
                s,
                r#"<circle cx="{:.2}" cy="{:.2}" r="3" fill="{color}"/>"#,
                f.x(x),
                f.y(m)
            );
        }
        legend(&mut s, i, name);
    }
    s.push_str("</svg>\n");
    s
}
