//! Same seed, same output, byte for byte: a run twice, and a sweep on one
//! thread and on two.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use synod_sim::{output, scenario::set_path, sweep, Scenario};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn small() -> toml::Table {
    let mut t: toml::Table = Scenario::text("offline-agents").unwrap().parse().unwrap();
    set_path(&mut t, "blocks", "16").unwrap();
    set_path(&mut t, "actors.1.offline_from", "4").unwrap();
    t
}

#[test]
fn a_run_twice_writes_the_same_bytes_and_another_seed_does_not() {
    let s = Scenario::from_table(small()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    output::write_run(&a, &s, &synod_sim::run(&s).unwrap()).unwrap();
    output::write_run(&b, &s, &synod_sim::run(&s).unwrap()).unwrap();
    let (fa, fb) = (files(&a), files(&b));
    assert!(fa.len() >= 6, "{:?}", fa.keys());
    assert_eq!(fa, fb);
    let mut other = s.clone();
    other.seed += 1;
    output::write_run(&c, &other, &synod_sim::run(&other).unwrap()).unwrap();
    assert_ne!(fa["metrics.csv"], files(&c)["metrics.csv"]);
}

#[test]
fn a_sweep_writes_the_same_bytes_on_one_thread_and_on_two() {
    let plan = sweep::Plan::new(small(), &["actors.0.count=3,4".to_string()], 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let results = pool.install(|| plan.run(|| ())).unwrap();
        let out = dir.path().join(format!("t{threads}"));
        sweep::write(&out, &plan, &results).unwrap();
        outputs.push(files(&out));
    }
    assert!(outputs[0].contains_key("sweep.csv"));
    assert!(outputs[0].keys().any(|k| k.ends_with(".svg")));
    assert_eq!(outputs[0], outputs[1]);
}
