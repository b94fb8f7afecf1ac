//! Writing a run's output: `metrics.csv` and `metrics.json` (a row per
//! sampled block), `summary.json`, `report.md` and SVG plots. Every file is
//! a function of the run's numbers only (no clock, no paths inside), so
//! the same seed writes the same bytes.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::{error::SimError, metrics::RunOutput, plot, scenario::Scenario};

/// The series plotted for every run: (file stem, title, column prefixes).
const PLOTS: &[(&str, &str, &[&str])] = &[
    (
        "runs",
        "runs (cumulative)",
        &[
            "runs_submitted",
            "runs_verified",
            "runs_failed",
            "runs_rejected",
        ],
    ),
    ("roi", "ROI per class (ppm)", &["roi_ppm:"]),
    (
        "assigned",
        "steps assigned per class (cumulative)",
        &["assigned:"],
    ),
    (
        "reputation",
        "mean reputation per class (ppm of max)",
        &["reputation_mean:"],
    ),
    (
        "slashed",
        "slashed and burned (usyn, cumulative)",
        &["slashed_usyn", "burned_usyn"],
    ),
    (
        "gini",
        "Gini (ppm)",
        &[
            "reputation_gini_ppm",
            "agent_bond_gini_ppm",
            "power_gini_ppm",
        ],
    ),
];

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    std::fs::write(path, bytes).map_err(io(path))
}

/// Every column of a run's rows, in name order.
pub fn columns(out: &RunOutput) -> Vec<String> {
    let set: BTreeSet<&String> = out.rows.iter().flat_map(|r| r.values.keys()).collect();
    set.into_iter().cloned().collect()
}

/// The metrics as CSV: `tick` then every column (empty where a row lacks it).
pub fn csv(out: &RunOutput) -> String {
    let cols = columns(out);
    let mut s = String::from("tick");
    for c in &cols {
        s.push(',');
        s.push_str(c);
    }
    s.push('\n');
    for r in &out.rows {
        let _ = write!(s, "{}", r.tick);
        for c in &cols {
            s.push(',');
            if let Some(v) = r.values.get(c) {
                let _ = write!(s, "{v}");
            }
        }
        s.push('\n');
    }
    s
}

/// Writes every output file of a run into `dir`.
pub fn write_run(dir: &Path, scenario: &Scenario, out: &RunOutput) -> Result<(), SimError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    write(&dir.join("metrics.csv"), csv(out).as_bytes())?;
    let rows = serde_json::to_string_pretty(&out.rows).unwrap_or_default();
    write(&dir.join("metrics.json"), rows.as_bytes())?;
    let summary = serde_json::json!({
        "scenario": out.scenario,
        "seed": out.seed,
        "blocks": out.blocks,
        "height": out.height,
        "app_hash": out.app_hash,
        "last": out.last,
        "actors": out.actors,
    });
    write(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    let cols = columns(out);
    let mut plots = Vec::new();
    for (stem, title, prefixes) in PLOTS {
        let series: Vec<(String, Vec<(f64, f64)>)> = cols
            .iter()
            .filter(|c| prefixes.iter().any(|p| c.starts_with(p)))
            .map(|c| {
                let points = out
                    .rows
                    .iter()
                    .filter_map(|r| r.values.get(c).map(|v| (r.tick as f64, *v as f64)))
                    .collect();
                (c.clone(), points)
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        let file = format!("{stem}.svg");
        let svg = plot::lines(title, "block", &series);
        write(&dir.join(&file), svg.as_bytes())?;
        plots.push((file, *title));
    }
    write(
        &dir.join("report.md"),
        report(scenario, out, &plots).as_bytes(),
    )?;
    Ok(())
}

/// A markdown report of a run: the scenario, the final numbers, the plots.
pub fn report(scenario: &Scenario, out: &RunOutput, plots: &[(String, &str)]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# synod-sim: {}\n", out.scenario);
    if !scenario.description.is_empty() {
        let _ = writeln!(s, "{}\n", scenario.description);
    }
    let _ = writeln!(
        s,
        "Seed {}, {} blocks simulated, chain height {}, final app hash `{}`.\n",
        out.seed, out.blocks, out.height, out.app_hash
    );
    let _ = writeln!(s, "## Final metrics\n\n| metric | value |\n|---|---:|");
    for (k, v) in &out.last {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    if !out.actors.is_empty() {
        let _ = writeln!(
            s,
            "\n## Actor reports\n\n| actor | class | value | |\n|---:|---|---|---:|"
        );
        for (i, r) in &out.actors {
            for (k, v) in &r.values {
                let _ = writeln!(s, "| {i} | {} | {k} | {v} |", r.class);
            }
        }
    }
    let _ = writeln!(s, "\n## Plots\n");
    for (file, title) in plots {
        let _ = writeln!(s, "![{title}]({file})\n");
    }
    let _ = writeln!(
        s,
        "Cost model: every result carries a real halo2 proof, verified by the chain in FinalizeBlock; each distinct (model, input) is proved once per process and reused.\n"
    );
    s
}
