//! The entry of the cargo-fuzz targets (`fuzzing/cargo-fuzz/`): libFuzzer
//! treats a panic as a crash only if it is a new one.

use crate::{known, runner};

/// Runs target `name` (the function `run`) on `data` under libFuzzer. A
/// panic that is no known finding ([`crate::known`]) aborts the process,
/// so libFuzzer saves the input; a known finding, or a panic the code under
/// test catches itself (libfuzzer-sys's own hook would abort on those too),
/// is not a crash.
pub fn run(name: &str, run: fn(&[u8]), data: &[u8]) {
    if let Err(message) = runner::execute_fn(run, data) {
        if known::known(name, &message).is_none() {
            eprintln!("{name} panicked: {message}");
            std::process::abort();
        }
    }
}
