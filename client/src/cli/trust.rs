//! The light client's flags: where trust starts and where verified headers
//! are kept (see "What `--prove` checks" in docs/cli.md).

use std::{path::PathBuf, time::Duration};

use anyhow::{bail, Context as _};
use clap::Args;
use synod_client::light::{LightOptions, TrustRoot, DEFAULT_CLOCK_DRIFT};

/// How `--prove` trusts headers.
#[derive(Debug, Args, Default)]
pub struct TrustArgs {
    /// Trust the header at this height (with --trust-hash) instead of block 1
    /// on first use [env: SYNOD_TRUST_HEIGHT].
    #[arg(long, global = true, value_name = "H")]
    pub trust_height: Option<u64>,
    /// The hash (64 hex digits) of the header at --trust-height [env: SYNOD_TRUST_HASH].
    #[arg(long, global = true, value_name = "HEX")]
    pub trust_hash: Option<String>,
    /// Where the light client keeps verified headers [env: SYNOD_LIGHT_DIR]
    /// [default: $HOME/.synod/light].
    #[arg(long, global = true, value_name = "DIR")]
    pub light_dir: Option<PathBuf>,
    /// A trusted header older than this is not used to skip ahead: a number
    /// with s, m, h or d [default: 7d].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub trusting_period: Option<Duration>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl TrustArgs {
    /// The light client's options from the flags, else their variables.
    pub fn options(&self) -> anyhow::Result<LightOptions> {
        let height = match (self.trust_height, env("SYNOD_TRUST_HEIGHT")) {
            (Some(h), _) => Some(h),
            (None, Some(v)) => Some(
                v.parse::<u64>()
                    .with_context(|| format!("SYNOD_TRUST_HEIGHT {v:?} is not a height"))?,
            ),
            (None, None) => None,
        };
        let hash = self.trust_hash.clone().or_else(|| env("SYNOD_TRUST_HASH"));
        let root = match (height, hash) {
            (None, None) => None,
            (Some(height), Some(hash)) => {
                if height == 0 {
                    bail!("--trust-height must be at least 1");
                }
                Some(TrustRoot {
                    height,
                    hash: parse_hash(&hash)?,
                })
            }
            (Some(_), None) => bail!("--trust-height needs --trust-hash (the header's hash)"),
            (None, Some(_)) => bail!("--trust-hash needs --trust-height (the header's height)"),
        };
        let store_dir = self
            .light_dir
            .clone()
            .or_else(synod_client::light::default_store_dir);
        Ok(LightOptions {
            root,
            store_dir,
            trusting_period: self
                .trusting_period
                .unwrap_or(synod_client::light::DEFAULT_TRUSTING_PERIOD),
            clock_drift: DEFAULT_CLOCK_DRIFT,
        })
    }
}

fn parse_hash(hex_hash: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(hex_hash.trim())
        .with_context(|| format!("--trust-hash {hex_hash:?} is not hex"))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!("--trust-hash has {} bytes, a header hash has 32", b.len())
    })
}

/// `90s`, `30m`, `12h`, `7d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 90s, 30m, 12h, 7d)"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3_600),
        "d" => n.checked_mul(86_400),
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    }
    .filter(|&s| s > 0)
    .ok_or_else(|| format!("{s:?} must be more than zero and less than centuries"))?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5y").unwrap_err().contains("unit"));
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn a_trust_root_needs_both_halves_and_a_32_byte_hash() {
        let mut a = TrustArgs {
            trust_height: Some(5),
            ..TrustArgs::default()
        };
        if env("SYNOD_TRUST_HASH").is_none() {
            assert!(a
                .options()
                .unwrap_err()
                .to_string()
                .contains("--trust-hash"));
        }
        a.trust_hash = Some("AB".into());
        assert!(a.options().unwrap_err().to_string().contains("32"));
        a.trust_hash = Some("11".repeat(32));
        let root = a.options().unwrap().root.unwrap();
        assert_eq!((root.height, root.hash), (5, [0x11; 32]));
    }
}
