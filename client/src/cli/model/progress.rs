//! Progress on stderr for the slow steps (key derivation, proving). indicatif
//! draws nothing when stderr is not a terminal, so scripts and tests see none.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Runs `step` under a spinner showing `message`; returns its result and duration.
pub fn spin<T>(message: &str, step: impl FnOnce() -> T) -> (T, Duration) {
    let spinner = ProgressBar::new_spinner().with_message(message.to_owned());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.enable_steady_tick(Duration::from_millis(100));
    let start = Instant::now();
    let out = step();
    let elapsed = start.elapsed();
    spinner.finish_and_clear();
    (out, elapsed)
}

/// A bar over `len` steps showing `message`.
pub fn bar(len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(message.to_owned());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
