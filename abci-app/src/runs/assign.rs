//! Who executes a step: a weighted draw among the qualified agents, from a
//! seed nobody in the block can choose.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use synod_protocol::{
    agents::AgentRecord, governance::WorkflowStep, runs::RunRecord, Address, Height,
};

use crate::{
    agents, reputation,
    state::{State, StateError},
};

/// Domain tag of the draw's seed.
const SEED_DOMAIN: &[u8] = b"synod-assign/v1\0";

/// The agents that may execute `step` of `run` (running model `model`):
/// active, serving the model, with at least the step's bond and reputation;
/// among them, those not yet assigned any step of this run if there are
/// such. Each with its weight: whole syn of bond (at least 1) × reputation
/// score (at least 1). In address order.
pub(super) fn candidates(
    state: &State,
    run: &RunRecord,
    spec: &WorkflowStep,
    model: &[u8; 32],
) -> Result<Vec<(Address, u128)>, StateError> {
    let mut qualified: Vec<(AgentRecord, u64)> = Vec::new();
    for agent in agents::agents(state)? {
        if !agent.is_active() || !agent.serves(model) || agent.bond < spec.min_bond {
            continue;
        }
        let score = reputation::score(state, &agent.address)?;
        if score < spec.min_reputation {
            continue;
        }
        qualified.push((agent, score));
    }
    let used = |a: &Address| run.steps.iter().any(|s| s.executors.contains(a));
    if qualified.iter().any(|(a, _)| !used(&a.address)) {
        qualified.retain(|(a, _)| !used(&a.address));
    }
    Ok(qualified
        .into_iter()
        .map(|(a, score)| {
            let syn = (a.bond.0 / 1_000_000).clamp(1, u128::from(u64::MAX));
            (a.address, syn * u128::from(score.max(1)))
        })
        .collect())
}

/// Draws one of `candidates` with probability in proportion to its
/// weight, seeded by the state root before this block (`prev_app_hash`),
/// the height, the run, the step and the attempt.
pub(super) fn draw(
    candidates: &[(Address, u128)],
    prev_app_hash: &[u8; 32],
    height: Height,
    run: u64,
    step: u32,
    attempt: u32,
) -> Option<Address> {
    let total: u128 = candidates.iter().map(|(_, w)| *w).sum();
    if total == 0 {
        return None;
    }
    let mut h = Sha256::new();
    h.update(SEED_DOMAIN);
    h.update(prev_app_hash);
    h.update(height.value().to_be_bytes());
    h.update(run.to_be_bytes());
    h.update(step.to_be_bytes());
    h.update(attempt.to_be_bytes());
    let mut rng = ChaCha8Rng::from_seed(h.finalize().into());
    let wide = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    let mut point = wide % total;
    for (address, weight) in candidates {
        if point < *weight {
            return Some(*address);
        }
        point -= weight;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_is_deterministic_weighted_and_depends_on_every_seed_part() {
        let c = vec![(Address([1; 20]), 1), (Address([2; 20]), 3)];
        let at = |root: u8, h: u64, run: u64, step: u32, attempt: u32| {
            draw(&c, &[root; 32], Height(h), run, step, attempt).unwrap()
        };
        assert_eq!(at(1, 5, 1, 0, 1), at(1, 5, 1, 0, 1));
        // Over many seeds the heavier agent wins about three times in four.
        let heavy = (0..4000u64)
            .filter(|&run| at(1, 5, run, 0, 1) == Address([2; 20]))
            .count();
        assert!((2800..3200).contains(&heavy), "{heavy}");
        // Each part of the seed moves the draw for some value.
        let base: Vec<_> = (0..64u64).map(|run| at(1, 5, run, 0, 1)).collect();
        for other in [
            (0..64u64)
                .map(|run| at(2, 5, run, 0, 1))
                .collect::<Vec<_>>(),
            (0..64u64).map(|run| at(1, 6, run, 0, 1)).collect(),
            (0..64u64).map(|run| at(1, 5, run, 1, 1)).collect(),
            (0..64u64).map(|run| at(1, 5, run, 0, 2)).collect(),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(draw(&[], &[0; 32], Height(1), 1, 0, 1), None);
    }
}
