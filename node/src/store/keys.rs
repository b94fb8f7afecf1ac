//! Every key the block store writes. Heights are big-endian so byte order
//! equals numeric order.

/// Column family of decided blocks, by height.
pub const CF_BLOCKS: &str = "blocks";
/// Column family of commit certificates (opaque bytes), by height.
pub const CF_CERTIFICATES: &str = "certificates";
/// Column family of `FinalizeBlock` responses (protobuf), by height.
pub const CF_RESULTS: &str = "results";
/// Column family of tx hash -> (height, index in block).
pub const CF_TX_INDEX: &str = "tx_index";
/// Column family of the txs' indexed event attributes (CometBFT's kv
/// indexer): [`tx_event`] keys, empty values.
pub const CF_TX_EVENTS: &str = "tx_events";
/// Column family of store-wide records.
pub const CF_META: &str = "meta";
/// Column family of undecided proposed blocks (ours and accepted ones from
/// others), by height ++ round ++ block hash; pruned when a height is decided.
pub const CF_PROPOSALS: &str = "proposals";
/// Column family of block hash -> height (the RPC's `block_by_hash` and
/// `header_by_hash`); written with each block from the version that added it.
pub const CF_BLOCK_HASHES: &str = "block_hashes";
/// Column family of decided blocks' CometBFT ids (borsh), by height: what
/// consensus decided, so the RPC shows ids without recomputing them.
pub const CF_BLOCK_IDS: &str = "block_ids";
/// All column families.
pub const COLUMN_FAMILIES: [&str; 9] = [
    CF_BLOCKS,
    CF_CERTIFICATES,
    CF_RESULTS,
    CF_TX_INDEX,
    CF_TX_EVENTS,
    CF_META,
    CF_PROPOSALS,
    CF_BLOCK_HASHES,
    CF_BLOCK_IDS,
];

/// Longest event key (`type.attribute`) or value the tx index records;
/// longer ones are not indexed (a search on them scans heights instead).
pub const MAX_INDEXED_LEN: usize = 256;

/// The prefix of every index entry of `key` = `value`: both length-prefixed
/// (big-endian u16), so no key or value can run into the next.
pub fn tx_event_prefix(key: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len() + value.len() + 12);
    for part in [key, value] {
        out.extend_from_slice(&(part.len().min(u16::MAX as usize) as u16).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// The index entry of the `index`-th tx of block `height` having the event
/// attribute `key` = `value`: the prefix, then height and index big-endian,
/// so one prefix's entries are in block order.
pub fn tx_event(key: &str, value: &str, height: u64, index: u32) -> Vec<u8> {
    let mut out = tx_event_prefix(key, value);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out
}

/// Meta key of the latest saved block height.
pub const META_HEIGHT: &[u8] = b"height";
/// Meta key of the validator set for the next height: borsh list of
/// (ed25519 key, power).
pub const META_VALIDATORS: &[u8] = b"validators";
/// Meta key of the validator set of one height: "validators/" ++ big-endian height.
pub fn validators_at(h: u64) -> Vec<u8> {
    let mut key = b"validators/".to_vec();
    key.extend_from_slice(&h.to_be_bytes());
    key
}
/// Meta key of the format marker.
pub const META_FORMAT: &[u8] = b"format";
/// The format marker of this layout.
pub const FORMAT_V1: &[u8] = b"synod-node-store/1";

/// The key of a height.
pub fn height(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

/// The key of an undecided proposal: height ++ round ++ block hash, all big-endian.
pub fn proposal(height: u64, round: u32, hash: &[u8; 32]) -> [u8; 44] {
    let mut out = [0u8; 44];
    out[..8].copy_from_slice(&height.to_be_bytes());
    out[8..12].copy_from_slice(&round.to_be_bytes());
    out[12..].copy_from_slice(hash);
    out
}

/// Parses a proposal key into (height, round).
pub fn parse_proposal(bytes: &[u8]) -> Option<(u64, u32)> {
    let h: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let r: [u8; 4] = bytes.get(8..12)?.try_into().ok()?;
    (bytes.len() == 44).then(|| (u64::from_be_bytes(h), u32::from_be_bytes(r)))
}

/// A tx-index value: height ++ index, both big-endian.
pub fn tx_location(height: u64, index: u32) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&height.to_be_bytes());
    out[8..].copy_from_slice(&index.to_be_bytes());
    out
}

/// Parses a tx-index value.
pub fn parse_tx_location(bytes: &[u8]) -> Option<(u64, u32)> {
    let h: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let i: [u8; 4] = bytes.get(8..12)?.try_into().ok()?;
    (bytes.len() == 12).then(|| (u64::from_be_bytes(h), u32::from_be_bytes(i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_keys_sort_like_heights() {
        for (a, b) in [(1u64, 2u64), (255, 256), (9, 10), (u64::MAX - 1, u64::MAX)] {
            assert!(height(a) < height(b));
        }
    }

    #[test]
    fn tx_locations_round_trip_and_reject_bad_lengths() {
        assert_eq!(parse_tx_location(&tx_location(7, 3)), Some((7, 3)));
        assert_eq!(parse_tx_location(&[0; 11]), None);
        assert_eq!(parse_tx_location(&[0; 13]), None);
    }

    #[test]
    fn proposal_keys_sort_by_height_then_round_and_parse_back() {
        assert!(proposal(1, 9, &[0xff; 32]) < proposal(2, 0, &[0; 32]));
        assert!(proposal(2, 0, &[0xff; 32]) < proposal(2, 1, &[0; 32]));
        assert_eq!(parse_proposal(&proposal(7, 3, &[1; 32])), Some((7, 3)));
        assert_eq!(parse_proposal(&[0; 43]), None);
    }
}
