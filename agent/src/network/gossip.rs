//! What agents gossip, and the checks a message passes before the agent
//! forwards it. Topics are `synod/agents/1/{chain_id}/{tasks|results|attestations}`.
//! Messages are JSON, signed by gossipsub with the sender's libp2p key —
//! the same ed25519 key as its chain account — and a message must name that
//! account as its `agent`. Chain transactions are never gossiped here.

use std::collections::BTreeSet;

use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use synod_protocol::{Address, PubKey};

/// Largest gossip message accepted (bytes).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The three topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Tasks,
    Results,
    Attestations,
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::Tasks, Topic::Results, Topic::Attestations];

    /// The topic's full name on `chain_id`.
    pub fn name(self, chain_id: &str) -> String {
        let leaf = match self {
            Topic::Tasks => "tasks",
            Topic::Results => "results",
            Topic::Attestations => "attestations",
        };
        format!("synod/agents/1/{chain_id}/{leaf}")
    }
}

/// One gossip message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Announcement {
    /// A step the chain assigned to `agent` (seen by the agent taking it).
    Task {
        agent: Address,
        run: u64,
        step: u32,
        #[serde(with = "hex32")]
        model: [u8; 32],
        deadline: u64,
        sent_ms: u64,
    },
    /// A result `agent` submitted: the step's input, the output and the
    /// proof are served as payloads under these hashes; `trace_root` commits
    /// to the execution.
    Result {
        agent: Address,
        run: u64,
        step: u32,
        #[serde(with = "hex32")]
        input: [u8; 32],
        #[serde(with = "hex32")]
        output: [u8; 32],
        #[serde(with = "hex32")]
        proof: [u8; 32],
        #[serde(with = "hex32")]
        trace_root: [u8; 32],
        sent_ms: u64,
    },
    /// A verifier's attestation that a result re-executes to the same
    /// trace root (verifiers publish these; see docs/agents.md).
    Attestation {
        agent: Address,
        run: u64,
        step: u32,
        #[serde(with = "hex32")]
        trace_root: [u8; 32],
        agrees: bool,
        sent_ms: u64,
    },
}

impl Announcement {
    /// The topic this message belongs on.
    pub fn topic(&self) -> Topic {
        match self {
            Announcement::Task { .. } => Topic::Tasks,
            Announcement::Result { .. } => Topic::Results,
            Announcement::Attestation { .. } => Topic::Attestations,
        }
    }

    /// The account that claims to send it.
    pub fn agent(&self) -> Address {
        match self {
            Announcement::Task { agent, .. }
            | Announcement::Result { agent, .. }
            | Announcement::Attestation { agent, .. } => *agent,
        }
    }

    /// When the sender sent it (ms since the Unix epoch, its clock).
    pub fn sent_ms(&self) -> u64 {
        match self {
            Announcement::Task { sent_ms, .. }
            | Announcement::Result { sent_ms, .. }
            | Announcement::Attestation { sent_ms, .. } => *sent_ms,
        }
    }
}

/// Why a message is rejected (and its forwarder scored down).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("{0} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("not a message: {0}")]
    Malformed(String),
    #[error("a {got:?} message on the {topic:?} topic")]
    WrongTopic { got: Topic, topic: Topic },
    #[error("unsigned (no source)")]
    Unsigned,
    #[error("signed by {signer}, but it names agent {claimed}")]
    NotTheSigner { signer: String, claimed: Address },
    #[error("{0} is not a registered agent")]
    NotAnAgent(Address),
}

impl Rejection {
    /// Whether the forwarder is at fault (scored down). A sender not yet
    /// known as an agent may have registered after our last look at the
    /// chain: its message is dropped, not held against whoever forwarded it.
    pub fn blames_forwarder(&self) -> bool {
        !matches!(self, Rejection::NotAnAgent(_))
    }
}

/// The chain account of a peer: its PeerId inlines its ed25519 public key.
pub fn account_of(peer: &PeerId) -> Option<Address> {
    let key = libp2p::identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    let ed = key.try_into_ed25519().ok()?;
    Some(PubKey(ed.to_bytes()).address())
}

/// Checks a message received on `topic` from signer `source` (the
/// gossipsub signature is checked by gossipsub before this); with
/// `agents`, the signer must be one of them (the chain's registered agents).
pub fn validate(
    topic: Topic,
    source: Option<&PeerId>,
    data: &[u8],
    agents: Option<&BTreeSet<Address>>,
) -> Result<Announcement, Rejection> {
    if data.len() > MAX_MESSAGE_BYTES {
        return Err(Rejection::TooLarge(data.len()));
    }
    let msg: Announcement =
        serde_json::from_slice(data).map_err(|e| Rejection::Malformed(e.to_string()))?;
    if msg.topic() != topic {
        return Err(Rejection::WrongTopic {
            got: msg.topic(),
            topic,
        });
    }
    let source = source.ok_or(Rejection::Unsigned)?;
    if account_of(source) != Some(msg.agent()) {
        return Err(Rejection::NotTheSigner {
            signer: source.to_string(),
            claimed: msg.agent(),
        });
    }
    if agents.is_some_and(|set| !set.contains(&msg.agent())) {
        return Err(Rejection::NotAnAgent(msg.agent()));
    }
    Ok(msg)
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <&str>::deserialize(d)?;
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("expected 32 bytes as 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synod_protocol::SecretKey;

    fn peer_of(key: &SecretKey) -> PeerId {
        let kp = libp2p::identity::Keypair::ed25519_from_bytes(key.to_seed()).expect("seed");
        kp.public().to_peer_id()
    }

    fn result(agent: Address) -> Announcement {
        Announcement::Result {
            agent,
            run: 1,
            step: 2,
            input: [4; 32],
            output: [1; 32],
            proof: [2; 32],
            trace_root: [3; 32],
            sent_ms: 5,
        }
    }

    #[test]
    fn the_peer_id_names_the_chain_account() {
        let key = SecretKey::from_seed([9; 32]);
        assert_eq!(account_of(&peer_of(&key)), Some(key.public().address()));
    }

    #[test]
    fn a_message_from_its_agent_passes_and_others_are_rejected() {
        let key = SecretKey::from_seed([9; 32]);
        let me = key.public().address();
        let peer = peer_of(&key);
        let good = serde_json::to_vec(&result(me)).expect("json");
        assert_eq!(
            validate(Topic::Results, Some(&peer), &good, None),
            Ok(result(me))
        );
        assert!(matches!(
            validate(Topic::Tasks, Some(&peer), &good, None),
            Err(Rejection::WrongTopic { .. })
        ));
        assert_eq!(
            validate(Topic::Results, None, &good, None),
            Err(Rejection::Unsigned)
        );
        let other = SecretKey::from_seed([8; 32]).public().address();
        let forged = serde_json::to_vec(&result(other)).expect("json");
        assert!(matches!(
            validate(Topic::Results, Some(&peer), &forged, None),
            Err(Rejection::NotTheSigner { .. })
        ));
        assert!(matches!(
            validate(Topic::Results, Some(&peer), b"{\"kind\":\"result\"}", None),
            Err(Rejection::Malformed(_))
        ));
        let mut padded = good.clone();
        padded.resize(MAX_MESSAGE_BYTES + 1, b' ');
        assert!(matches!(
            validate(Topic::Results, Some(&peer), &padded, None),
            Err(Rejection::TooLarge(_))
        ));
        // Once the registered agents are known, only they may speak.
        let agents: BTreeSet<Address> = [me].into();
        assert!(validate(Topic::Results, Some(&peer), &good, Some(&agents)).is_ok());
        let stranger: BTreeSet<Address> = [other].into();
        let e = validate(Topic::Results, Some(&peer), &good, Some(&stranger))
            .expect_err("not an agent");
        assert_eq!(e, Rejection::NotAnAgent(me));
        assert!(!e.blames_forwarder());
        assert!(Rejection::Unsigned.blames_forwarder());
        assert_eq!(
            Topic::Results.name("synod-local"),
            "synod/agents/1/synod-local/results"
        );
    }
}
