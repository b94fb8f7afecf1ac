//! Sweeps: a scenario over a grid of field values (`--vary key=v1,v2`,
//! the product of every axis), `reps` repetitions per grid point with
//! seeds `seed, seed + 1, ...`, run in parallel with rayon. Results are
//! collected in plan order whatever the thread count, so the output is the
//! same bytes on 1 core or 64.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::{
    error::{ScenarioError, SimError},
    metrics::RunOutput,
    output::write as write_file,
    plot,
    scenario::{set_path, Scenario},
};

/// What a sweep runs.
pub struct Plan {
    /// The varied fields and their values, in command-line order.
    pub axes: Vec<(String, Vec<String>)>,
    /// Every grid point: one value per axis.
    pub points: Vec<Vec<String>>,
    pub reps: u32,
    /// `(point, rep, scenario)` in plan order.
    runs: Vec<(usize, u32, Scenario)>,
}

/// Mean and 95% confidence interval of one metric at one grid point.
#[derive(Clone, Debug, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub n: usize,
}

impl Plan {
    /// The plan of `base` varied by `vary` (`key=v1,v2,...` each), `reps`
    /// seeds per point. Every scenario is built and checked up front.
    pub fn new(base: toml::Table, vary: &[String], reps: u32) -> Result<Plan, ScenarioError> {
        if reps == 0 || reps > 10_000 {
            return Err(ScenarioError::Field {
                field: "--reps".into(),
                reason: "must be 1 ..= 10000".into(),
            });
        }
        let mut axes = Vec::new();
        for v in vary {
            let (key, values) = v.split_once('=').ok_or_else(|| ScenarioError::Field {
                field: format!("--vary {v}"),
                reason: "expected key=v1,v2,...".into(),
            })?;
            let values: Vec<String> = values.split(',').map(|s| s.trim().to_string()).collect();
            if key.is_empty() || values.iter().any(String::is_empty) {
                return Err(ScenarioError::Field {
                    field: format!("--vary {v}"),
                    reason: "a key and non-empty values".into(),
                });
            }
            axes.push((key.to_string(), values));
        }
        let mut points: Vec<Vec<String>> = vec![Vec::new()];
        for (_, values) in &axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.push(v.clone());
                        q
                    })
                })
                .collect();
        }
        if points.len() * reps as usize > 1_000_000 {
            return Err(ScenarioError::Field {
                field: "--vary".into(),
                reason: "more than a million runs".into(),
            });
        }
        let mut runs = Vec::new();
        for (i, point) in points.iter().enumerate() {
            let mut table = base.clone();
            for ((key, _), value) in axes.iter().zip(point) {
                set_path(&mut table, key, value)?;
            }
            let scenario = Scenario::from_table(table)?;
            for rep in 0..reps {
                let mut s = scenario.clone();
                s.seed = scenario.seed.wrapping_add(u64::from(rep));
                runs.push((i, rep, s));
            }
        }
        Ok(Plan {
            axes,
            points,
            reps,
            runs,
        })
    }

    /// How many runs.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Runs everything on the current rayon pool, calling `done` after
    /// each run; results in plan order.
    pub fn run(&self, done: impl Fn() + Sync) -> Result<Vec<RunOutput>, SimError> {
        self.runs
            .par_iter()
            .map(|(_, _, s)| {
                let r = crate::engine::run(s);
                done();
                r
            })
            .collect()
    }

    /// Per grid point, per final metric: mean and 95% CI over the reps.
    pub fn stats(&self, results: &[RunOutput]) -> Vec<BTreeMap<String, Stat>> {
        let mut by_point: Vec<BTreeMap<String, Vec<f64>>> =
            vec![BTreeMap::new(); self.points.len()];
        for ((point, _, _), r) in self.runs.iter().zip(results) {
            for (k, v) in &r.last {
                by_point[*point]
                    .entry(k.clone())
                    .or_default()
                    .push(*v as f64);
            }
        }
        by_point
            .into_iter()
            .map(|m| m.into_iter().map(|(k, xs)| (k, stat(&xs))).collect())
            .collect()
    }
}

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    const T: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    match df {
        0 => 0.0,
        1..=10 => T[df - 1],
        11..=20 => 2.09,
        21..=30 => 2.04,
        _ => 1.96,
    }
}

fn stat(xs: &[f64]) -> Stat {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n.max(1) as f64;
    let var = if n > 1 {
        xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    let half = t95(n.saturating_sub(1)) * (var / n.max(1) as f64).sqrt();
    Stat {
        mean,
        low: mean - half,
        high: mean + half,
        n,
    }
}

/// Metrics plotted over the first axis (those present).
const SWEEP_PLOTS: &[&str] = &[
    "runs_verified",
    "runs_failed",
    "steps_timed_out",
    "burned_usyn",
    "max_censor_delay_blocks",
    "proposals_passed",
    "sybil_assignment_share_ppm",
    "roi_ppm:",
    "assigned:",
];

/// Writes `sweep.csv` (one row per run: grid values, rep, seed, final
/// metrics), `summary.json` (mean and CI per point), `report.md` and plots.
pub fn write(dir: &Path, plan: &Plan, results: &[RunOutput]) -> Result<(), SimError> {
    std::fs::create_dir_all(dir).map_err(crate::output::io(dir))?;
    let metrics: Vec<String> = results
        .iter()
        .flat_map(|r| r.last.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut csv = String::new();
    for (key, _) in &plan.axes {
        let _ = write!(csv, "{key},");
    }
    let _ = write!(csv, "rep,seed,app_hash");
    for m in &metrics {
        let _ = write!(csv, ",{m}");
    }
    csv.push('\n');
    for ((point, rep, s), r) in plan.runs.iter().zip(results) {
        for v in &plan.points[*point] {
            let _ = write!(csv, "{v},");
        }
        let _ = write!(csv, "{rep},{},{}", s.seed, r.app_hash);
        for m in &metrics {
            csv.push(',');
            if let Some(v) = r.last.get(m) {
                let _ = write!(csv, "{v}");
            }
        }
        csv.push('\n');
    }
    write_file(&dir.join("sweep.csv"), csv.as_bytes())?;

    let stats = plan.stats(results);
    let summary: Vec<serde_json::Value> = plan
        .points
        .iter()
        .zip(&stats)
        .map(|(point, st)| {
            let at: BTreeMap<&str, &str> = plan
                .axes
                .iter()
                .map(|(k, _)| k.as_str())
                .zip(point.iter().map(String::as_str))
                .collect();
            serde_json::json!({ "at": at, "metrics": st })
        })
        .collect();
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    write_file(&dir.join("summary.json"), text.as_bytes())?;

    let mut report = format!(
        "# synod-sim sweep\n\n{} runs: {} grid points × {} reps (seeds from the scenario's, +1 per rep). Means with 95% confidence intervals (Student t) of each run's final value.\n\n",
        plan.len(),
        plan.points.len(),
        plan.reps
    );
    let mut plots = Vec::new();
    for (n, prefix) in SWEEP_PLOTS.iter().enumerate() {
        for m in metrics.iter().filter(|m| m.starts_with(prefix)) {
            let series = bands_over_first_axis(plan, &stats, m);
            let file = format!("sweep-{n}-{}.svg", sanitize(m));
            let svg = plot::bands(m, &plan.axes[0].0, &series);
            write_file(&dir.join(&file), svg.as_bytes())?;
            plots.push((m.clone(), file));
        }
    }
    let _ = writeln!(
        report,
        "| point | metric | mean | 95% CI |\n|---|---|---:|---|"
    );
    for (point, st) in plan.points.iter().zip(&stats) {
        for (m, s) in st
            .iter()
            .filter(|(m, _)| SWEEP_PLOTS.iter().any(|p| m.starts_with(p)))
        {
            let _ = writeln!(
                report,
                "| {} | {m} | {:.2} | [{:.2}, {:.2}] |",
                point.join(", "),
                s.mean,
                s.low,
                s.high
            );
        }
    }
    report.push('\n');
    for (m, file) in &plots {
        let _ = writeln!(report, "![{m}]({file})\n");
    }
    write_file(&dir.join("report.md"), report.as_bytes())
}

/// Series for metric `m`: one per combination of the other axes, over the
/// first axis (its values as numbers, or their positions).
fn bands_over_first_axis(
    plan: &Plan,
    stats: &[BTreeMap<String, Stat>],
    m: &str,
) -> Vec<plot::Band> {
    let mut series: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    for (point, st) in plan.points.iter().zip(stats) {
        let Some(s) = st.get(m) else { continue };
        let first = &point[0];
        let x = first
            .parse::<f64>()
            .unwrap_or_else(|_| plan.axes[0].1.iter().position(|v| v == first).unwrap_or(0) as f64);
        let rest: Vec<String> = plan.axes[1..]
            .iter()
            .zip(&point[1..])
            .map(|((k, _), v)| format!("{k}={v}"))
            .collect();
        let name = if rest.is_empty() {
            m.to_string()
        } else {
            rest.join(" ")
        };
        series
            .entry(name)
            .or_default()
            .push((x, s.mean, s.low, s.high));
    }
    series.into_iter().collect()
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
