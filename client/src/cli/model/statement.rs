//! What a proof shows (`--visibility`) and what it is bound to (`--context-*`):
//! the flags of `synod model prove` and `synod model inspect --vk`.

use clap::Args;
use synod_client::Address;
use synod_zkml::{
    circuit::{ContextBinding, Visibility},
    ProofContext,
};

/// `--visibility`, shared by `prove` and `inspect`.
#[derive(Debug, Args)]
pub struct VisibilityFlag {
    /// What the proof shows of each tensor and whether it binds a context:
    /// input=public|committed,output=public|committed,weights=fixed|committed,context=none|bound
    /// (keys in any order; a missing key keeps the default, all public, no
    /// context). Each visibility has its own verifying key.
    #[arg(
        long,
        value_name = "VISIBILITY",
        default_value = "input=public,output=public,weights=fixed,context=none"
    )]
    pub visibility: Visibility,
}

/// The context a proof is bound to (`synod-context/v1`: chain id,
/// submitter, tag), given exactly when the visibility says `context=bound`.
#[derive(Debug, Args)]
pub struct ContextFlags {
    /// The chain id the proof is for (with context=bound).
    #[arg(long, value_name = "CHAIN_ID")]
    context_chain_id: Option<String>,
    /// The address that will submit the proof (synod1…; with context=bound).
    #[arg(long, value_name = "ADDRESS", value_parser = submitter)]
    context_submitter: Option<Address>,
    /// The caller's tag, e.g. "run 7 step 2" (with context=bound).
    #[arg(long, value_name = "TAG")]
    context_tag: Option<String>,
}

impl ContextFlags {
    /// The context the flags derive, checked against `visibility`: all three
    /// flags when it binds a context, none otherwise.
    pub fn context(&self, visibility: Visibility) -> anyhow::Result<Option<ProofContext>> {
        let given = [
            self.context_chain_id.is_some(),
            self.context_submitter.is_some(),
            self.context_tag.is_some(),
        ];
        match visibility.context {
            ContextBinding::Unbound => {
                if given.iter().any(|&g| g) {
                    anyhow::bail!(
                        "--context-* flags bind a context: add context=bound to --visibility \
                         (it is {visibility})"
                    );
                }
                Ok(None)
            }
            ContextBinding::Bound => match (
                &self.context_chain_id,
                &self.context_submitter,
                &self.context_tag,
            ) {
                (Some(chain_id), Some(submitter), Some(tag)) => Ok(Some(ProofContext::derive(
                    chain_id,
                    &submitter.0,
                    tag.as_bytes(),
                ))),
                _ => anyhow::bail!(
                    "--visibility {visibility} binds a context: pass --context-chain-id, \
                     --context-submitter and --context-tag"
                ),
            },
        }
    }
}

fn submitter(value: &str) -> Result<Address, synod_client::ClientError> {
    synod_client::parse_address("--context-submitter", value)
}
