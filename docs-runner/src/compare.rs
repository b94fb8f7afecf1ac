//! Comparing what a command printed with what the doc says it prints.
//!
//! Both sides are normalized first: ANSI colours go, trailing spaces and
//! trailing empty lines go, and what differs from run to run by nature is
//! replaced by a name: hex strings of 16 or more digits (hashes, ids, keys)
//! by `[hex]`, account addresses (`synod1` and 38 more bech32 characters)
//! by `[address]`, durations (`1.07s`, `0.024 s`, `245 ms`) by
//! `[duration]`.
//! Then, in the expected lines, `[..]` matches any text within a line and
//! a line that is just `...` matches any number of lines (as snapbox and
//! trycmd read them). Heights, amounts and counts are compared as written:
//! a doc that cannot know one writes `[..]` for it.

use regex::Regex;

/// The normalizations, compiled once.
pub struct Normalizer {
    ansi: Regex,
    hex: Regex,
    address: Regex,
    duration: Regex,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer::new()
    }
}

impl Normalizer {
    pub fn new() -> Normalizer {
        // The patterns are constants: they compile.
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}"));
        Normalizer {
            ansi: re(r"\x1b\[[0-9;?]*[A-Za-z]"),
            hex: re(r"\b[0-9A-Fa-f]{16,}\b"),
            address: re(r"\bsynod1[02-9ac-hj-np-z]{38}\b"),
            duration: re(r"\b\d+(\.\d+)? ?(ns|µs|us|ms|s)\b"),
        }
    }

    /// `text` as lines, normalized.
    pub fn lines(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = text
            .lines()
            .map(|l| {
                let l = self.ansi.replace_all(l, "");
                let l = self.hex.replace_all(&l, "[hex]");
                let l = self.address.replace_all(&l, "[address]");
                let l = self.duration.replace_all(&l, "[duration]");
                l.trim_end().to_owned()
            })
            .collect();
        while out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        out
    }
}

/// Whether `actual` matches `expected` (both normalized).
pub fn matches(expected: &[String], actual: &[String]) -> bool {
    let patterns: Vec<Option<Regex>> = expected
        .iter()
        .map(|e| {
            if e == "..." {
                None
            } else {
                Some(line_pattern(e))
            }
        })
        .collect();
    let mut memo = vec![vec![None; actual.len() + 1]; patterns.len() + 1];
    walk(&patterns, actual, 0, 0, &mut memo)
}

/// Does `patterns[p..]` match `actual[a..]`?
fn walk(
    patterns: &[Option<Regex>],
    actual: &[String],
    p: usize,
    a: usize,
    memo: &mut Vec<Vec<Option<bool>>>,
) -> bool {
    if let Some(known) = memo[p][a] {
        return known;
    }
    let result = match patterns.get(p) {
        None => a == actual.len(),
        // `...`: skip zero or more lines.
        Some(None) => (a..=actual.len()).any(|next| walk(patterns, actual, p + 1, next, memo)),
        Some(Some(re)) => {
            a < actual.len()
                && re.is_match(&actual[a])
                && walk(patterns, actual, p + 1, a + 1, memo)
        }
    };
    memo[p][a] = Some(result);
    result
}

/// An expected line as an anchored pattern: literal text, `[..]` = any.
fn line_pattern(expected: &str) -> Regex {
    let parts: Vec<String> = expected.split("[..]").map(regex::escape).collect();
    let pattern = format!("^{}$", parts.join(".*"));
    // Escaped literals joined by `.*` always compile.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("pattern {pattern}: {e}"))
}

/// A short side-by-side account of a mismatch, for the failure report.
pub fn describe(expected: &[String], actual: &[String]) -> String {
    let mut out = String::from("expected (after normalization):\n");
    for l in expected {
        out.push_str(&format!("  | {l}\n"));
    }
    out.push_str("got:\n");
    for l in actual {
        out.push_str(&format!("  | {l}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: &Normalizer, s: &str) -> Vec<String> {
        n.lines(s)
    }

    #[test]
    fn hashes_and_durations_are_masked_and_wildcards_match() {
        let n = Normalizer::new();
        let expected = lines(
            &n,
            "hash:   EA88909EF1BFAFAB2E3A84B82B61007E4912683DBFC510B6685E2C3B38BF43E8\nheight: [..]\ntook 1.07s\n...\nend",
        );
        let actual = lines(
            &n,
            "hash:   0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\nheight: 17\ntook 0.2 s\nextra line\nanother\nend\n\n",
        );
        assert!(matches(&expected, &actual));
        // `...` may match nothing.
        let actual = lines(&n, "hash: [hex]\nheight: 3\ntook 5ms\nend");
        assert_eq!(
            n.lines("to synod1tavp9zl46rxlpvrs88egpmx4l827qrhmd0y8mh."),
            vec!["to [address]."]
        );
        let expected2 = lines(&n, "hash: [hex]\nheight: [..]\ntook 1s\n...\nend");
        assert!(matches(&expected2, &actual));
    }

    #[test]
    fn anything_else_must_be_exactly_as_written() {
        let n = Normalizer::new();
        let expected = lines(&n, "code:   0\nbalance 12 syn");
        assert!(!matches(&expected, &lines(&n, "code:   7\nbalance 12 syn")));
        assert!(!matches(&expected, &lines(&n, "code:   0")));
        assert!(!matches(
            &expected,
            &lines(&n, "code:   0\nbalance 12 syn\nmore")
        ));
        assert!(matches(
            &expected,
            &lines(&n, "\x1b[1mcode:   0\x1b[0m  \nbalance 12 syn")
        ));
        // Regex metacharacters in the doc are literal.
        let e = lines(&n, "a.b (c) [d] *");
        assert!(matches(&e, &lines(&n, "a.b (c) [d] *")));
        assert!(!matches(&e, &lines(&n, "aXb (c) [d] *")));
    }
}
