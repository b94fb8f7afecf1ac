//! Failpoints: named places on the commit path where a test build can make
//! the process die abruptly, as `kill -9` or a power cut would, to prove
//! that a restart recovers from a crash at exactly that point
//! (`node/tests/crash_loop.rs`).
//!
//! Only the `faults` feature (the package's own tests) builds them: the
//! environment variable `SYNOD_FAILPOINT` names the point, `NAME` for its
//! first hit or `NAME@N` for its N-th in the process's life, and the process
//! then calls [`std::process::abort`] (no destructors, no flushes, exit by
//! `SIGABRT`). Without the feature [`hit`] is an empty inline function.

/// The environment variable that arms one failpoint: `NAME` or `NAME@N`.
pub const ENV: &str = "SYNOD_FAILPOINT";

/// The node's failpoints, in the order one block passes them: the first
/// is passed once consensus decided it (and logged the decision), before
/// the node saved anything of it.
pub const POINTS: [&str; 6] = [
    "before_save_block",
    "after_save_block",
    "after_finalize_block",
    "after_save_results",
    "after_app_commit",
    "after_save_validators",
];

/// Dies here if `SYNOD_FAILPOINT` arms this point and this is the hit it
/// names; otherwise does nothing.
#[cfg(feature = "faults")]
pub fn hit(name: &'static str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let armed = ARMED.get_or_init(|| std::env::var(ENV).ok().as_deref().and_then(parse));
    let Some((point, nth)) = armed else {
        return;
    };
    if point != name {
        return;
    }
    let hits = HITS.fetch_add(1, Ordering::SeqCst) + 1;
    if hits == *nth {
        // Unbuffered, so the line is in the log before the process is gone.
        eprintln!("failpoint {name} hit {hits}: aborting");
        std::process::abort();
    }
}

/// Without the `faults` feature there are no failpoints.
#[cfg(not(feature = "faults"))]
#[inline(always)]
pub fn hit(_name: &'static str) {}

/// `NAME` (the first hit) or `NAME@N` (the N-th, N ≥ 1); `None` if malformed.
#[cfg(any(feature = "faults", test))]
fn parse(spec: &str) -> Option<(String, u64)> {
    match spec.split_once('@') {
        None if !spec.is_empty() => Some((spec.to_owned(), 1)),
        None => None,
        Some((name, n)) => {
            let n: u64 = n.parse().ok().filter(|n| *n >= 1)?;
            (!name.is_empty()).then(|| (name.to_owned(), n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_failpoint_spec_names_the_point_and_the_hit() {
        assert_eq!(
            parse("after_save_block"),
            Some(("after_save_block".into(), 1))
        );
        assert_eq!(
            parse("after_app_commit@3"),
            Some(("after_app_commit".into(), 3))
        );
        assert_eq!(parse("after_app_commit@0"), None);
        assert_eq!(parse("after_app_commit@x"), None);
        assert_eq!(parse("@2"), None);
        assert_eq!(parse(""), None);
    }
}
