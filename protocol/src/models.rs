//! Rules of the model registry that the chain and its clients both apply.
//!
//! A model upgraded by governance keeps its record, with `successor` naming
//! the newer version; a workflow step that names the old model runs the
//! newest one. [`current_version`] is that walk, over any way of reading a
//! record (the chain's state, or records a client fetched).

use crate::state::ModelRecord;

/// Longest upgrade chain [`current_version`] follows: a bound on the records
/// one lookup reads, whatever the registry holds.
pub const MAX_UPGRADE_HOPS: usize = 64;

/// The newest version of model `id`: its record, or its successor's, and so
/// on along the upgrade chain, at most [`MAX_UPGRADE_HOPS`] steps. `None`
/// when `id` itself is not registered. A successor `lookup` does not find
/// ends the walk at the last record found.
///
/// `lookup` reads one record by id; its error is passed through.
pub fn current_version<E>(
    id: &[u8; 32],
    mut lookup: impl FnMut(&[u8; 32]) -> Result<Option<ModelRecord>, E>,
) -> Result<Option<ModelRecord>, E> {
    let Some(mut record) = lookup(id)? else {
        return Ok(None);
    };
    for _ in 0..MAX_UPGRADE_HOPS {
        let Some(next) = record.successor else {
            break;
        };
        match lookup(&next)? {
            Some(newer) => record = newer,
            None => break,
        }
    }
    Ok(Some(record))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;
    use std::convert::Infallible;

    use super::*;
    use crate::{
        state::{ModelStatus, VerificationMode},
        Height,
    };

    /// An active model record with id `[byte; 32]`.
    pub(crate) fn record(byte: u8) -> ModelRecord {
        ModelRecord {
            id: [byte; 32],
            name: format!("model-{byte}"),
            vk_hash: [0; 32],
            k: 0,
            modes: vec![VerificationMode::Zk, VerificationMode::Optimistic],
            status: ModelStatus::Active,
            registered_height: Height(1),
            parameter_count: 10,
            input_shape: vec![4],
            output_shape: vec![2],
            predecessor: None,
            successor: None,
            retire_at: None,
        }
    }

    fn walk(registry: &BTreeMap<[u8; 32], ModelRecord>, id: u8) -> Option<u8> {
        current_version::<Infallible>(&[id; 32], |id| Ok(registry.get(id).cloned()))
            .unwrap()
            .map(|r| r.id[0])
    }

    /// Models `1 -> 2 -> … -> n`, each upgraded to the next.
    fn chain(n: u8) -> BTreeMap<[u8; 32], ModelRecord> {
        (1..=n)
            .map(|b| {
                let mut r = record(b);
                if b < n {
                    r.successor = Some([b + 1; 32]);
                }
                (r.id, r)
            })
            .collect()
    }

    #[test]
    fn an_upgraded_model_is_followed_to_its_newest_version() {
        let registry = chain(3);
        assert_eq!(walk(&registry, 1), Some(3));
        assert_eq!(walk(&registry, 2), Some(3));
        assert_eq!(walk(&registry, 3), Some(3));
    }

    #[test]
    fn an_unknown_model_has_no_current_version() {
        assert_eq!(walk(&chain(3), 9), None);
    }

    #[test]
    fn a_missing_successor_ends_the_walk_at_the_last_record_found() {
        let mut registry = chain(3);
        registry.remove(&[3; 32]);
        assert_eq!(walk(&registry, 1), Some(2));
    }

    #[test]
    fn the_walk_stops_after_the_hop_limit_even_on_a_cycle() {
        // 1 .. 100 in a chain: 64 hops from 1 reach 65.
        let registry = chain(100);
        assert_eq!(walk(&registry, 1), Some(1 + MAX_UPGRADE_HOPS as u8));
        let mut cycle = chain(2);
        cycle.get_mut(&[2; 32]).unwrap().successor = Some([1; 32]);
        let mut reads = 0;
        current_version::<Infallible>(&[1; 32], |id| {
            reads += 1;
            Ok(cycle.get(id).cloned())
        })
        .unwrap();
        assert_eq!(reads, 1 + MAX_UPGRADE_HOPS);
    }

    #[test]
    fn a_lookup_error_is_passed_through() {
        let got = current_version(&[1; 32], |_| Err("disk on fire"));
        assert_eq!(got, Err("disk on fire"));
    }
}
