//! Batch verification: many proofs for one model, with one final multi-scalar
//! multiplication (the `2^k`-sized part of IPA verification) for all of them.
//!
//! Each proof's own work (parsing, the instance commitment, the argument's
//! bookkeeping) runs on a few workers, each inside its own single-thread
//! rayon pool: halo2's inner multi-scalar multiplications then take their
//! serial path, which is about twice as cheap for the small instance
//! commitment as the parallel one (the parallel path doubles every Booth
//! window separately). The final multiplication, the one large enough to
//! gain from threads, runs on the caller's thread with halo2's usual pool.
//!
//! The verdict is deterministic: proof `i`'s deferred check is scaled by a
//! factor `r_i` derived by hashing the whole batch, and the scaled checks
//! are added with exact field arithmetic, so the sum (and the verdict) does
//! not depend on the number of workers, on which worker took which proof,
//! or in what order. A malformed proof is reported at the lowest failing
//! index, whatever the workers.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use halo2_proofs::{
    pasta::{group::ff::FromUniformBytes, EqAffine, Fp},
    plonk::{verify_proof, Error as PlonkError, VerificationStrategy},
    poly::commitment::{Guard, Params, MSM},
    transcript::{Blake2bRead, Challenge255, EncodedChallenge},
};
use rayon::{ThreadPool, ThreadPoolBuilder};
use sha2::{Digest, Sha256};

use super::keys::{check_params, instance_for, verify_error, VerifierKey, VerifyError};
use crate::interp::Tensor;

/// Domain tag of the batch seed. v3: proof `i` is scaled by `r_i` (v2
/// scaled the running sum, so proof `i` got `r_(i+1) * ... * r_(n-1)`).
const BATCH_SEED_TAG: &[u8] = b"synod-zkml/batch/v3";

/// Verifies many proofs `(input, output, proof)` for one model with one final
/// multi-scalar multiplication for all of them, on
/// [`std::thread::available_parallelism`] workers.
///
/// Same accumulation as halo2's `BatchVerifier` (each proof's deferred check
/// scaled by a random factor, then one `eval`), except that the factors are
/// derived by hashing the whole batch (the verifying key, every instance and
/// proof), so every node reaches the same verdict, and that each proof is
/// parsed to its exact end, so a malformed or padded proof is named (the
/// lowest such index). See [`verify_inference_batch_with_workers`].
pub fn verify_inference_batch(
    params: &Params<EqAffine>,
    key: &VerifierKey,
    items: &[(Tensor, Tensor, Vec<u8>)],
) -> Result<(), VerifyError> {
    let workers = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    verify_inference_batch_with_workers(params, key, items, workers)
}

/// [`verify_inference_batch`] on at most `workers` workers (one
/// single-thread pool each; the caller's thread waits). The result, `Ok` or
/// the error, is the same for every `workers`: only the time changes.
pub fn verify_inference_batch_with_workers(
    params: &Params<EqAffine>,
    key: &VerifierKey,
    items: &[(Tensor, Tensor, Vec<u8>)],
    workers: NonZeroUsize,
) -> Result<(), VerifyError> {
    check_params(params, key)?;
    key.require_public()?;
    let shapes = key.shapes();
    let instances = items
        .iter()
        .map(|(input, output, _)| instance_for(&shapes, input, output))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = Batch {
        params,
        key,
        items,
        instances: &instances,
        seed: batch_seed(key, items),
        next: AtomicUsize::new(0),
        lowest_failure: AtomicUsize::new(usize::MAX),
    };

    let pools = worker_pools(workers.get().min(items.len()).max(1));
    let outcomes: Vec<WorkerOutcome<'_>> = std::thread::scope(|scope| {
        // A helper thread that cannot be spawned is left out: the others
        // take its proofs.
        let helpers: Vec<_> = pools[1..]
            .iter()
            .filter_map(|pool| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, || batch.work_in(pool.as_deref()))
                    .ok()
            })
            .collect();
        let mut outcomes = vec![batch.work_in(pools[0].as_deref())];
        for helper in helpers {
            match helper.join() {
                Ok(outcome) => outcomes.push(outcome),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        outcomes
    });

    let mut total = params.empty_msm();
    let mut failure: Option<(usize, VerifyError)> = None;
    for outcome in outcomes {
        total.add_msm(&outcome.sum);
        if let Some((index, e)) = outcome.failure {
            if failure.as_ref().is_none_or(|(lowest, _)| index < *lowest) {
                failure = Some((index, e));
            }
        }
    }
    if let Some((_, e)) = failure {
        return Err(e);
    }
    if total.eval() {
        Ok(())
    } else {
        Err(VerifyError::BatchInvalid { count: items.len() })
    }
}

/// The hash every factor of a batch is derived from: the verifying key and
/// every input, output and proof, so the factors are fixed only after the
/// whole batch is.
fn batch_seed(key: &VerifierKey, items: &[(Tensor, Tensor, Vec<u8>)]) -> [u8; 32] {
    let mut seed = Sha256::new();
    seed.update(BATCH_SEED_TAG);
    seed.update(key.vk_hash());
    for (input, output, proof) in items {
        for part in [input, output] {
            seed.update((part.shape().len() as u64).to_le_bytes());
            for d in part.shape() {
                seed.update(d.to_le_bytes());
            }
            for v in part.values() {
                seed.update(v.to_le_bytes());
            }
        }
        seed.update((proof.len() as u64).to_le_bytes());
        seed.update(proof);
    }
    seed.finalize().into()
}

/// The `index`-th random scaling factor of a batch, from the batch's hash.
fn batch_factor(seed: &[u8; 32], index: usize) -> Fp {
    let mut wide = [0u8; 64];
    for (half, chunk) in wide.chunks_mut(32).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        h.update((index as u64).to_le_bytes());
        h.update([half as u8]);
        chunk.copy_from_slice(&h.finalize());
    }
    Fp::from_uniform_bytes(&wide)
}

/// One batch being verified, shared by its workers.
struct Batch<'a> {
    params: &'a Params<EqAffine>,
    key: &'a VerifierKey,
    items: &'a [(Tensor, Tensor, Vec<u8>)],
    instances: &'a [Vec<Fp>],
    seed: [u8; 32],
    /// The next proof index to hand out (indices go out in increasing order).
    next: AtomicUsize,
    /// The lowest index found failing so far (`usize::MAX`: none). Only an
    /// early exit: every index below the lowest failing one is still checked.
    lowest_failure: AtomicUsize,
}

/// What one worker found: the sum of its proofs' scaled checks, and its first
/// (so its lowest) failing proof.
struct WorkerOutcome<'p> {
    sum: MSM<'p, EqAffine>,
    failure: Option<(usize, VerifyError)>,
}

impl<'a> Batch<'a> {
    /// Runs a worker inside `pool` (a single-thread pool), or on this thread
    /// if the pool could not be built (same verdict, only slower).
    fn work_in(&self, pool: Option<&ThreadPool>) -> WorkerOutcome<'a> {
        match pool {
            Some(pool) => pool.install(|| self.work()),
            None => self.work(),
        }
    }

    /// Takes proofs until none are left, or until every proof left comes
    /// after a known failure.
    fn work(&self) -> WorkerOutcome<'a> {
        let mut sum = self.params.empty_msm();
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.items.len() || index > self.lowest_failure.load(Ordering::Relaxed) {
                return WorkerOutcome { sum, failure: None };
            }
            match self.deferred_check(index) {
                Ok(mut msm) => {
                    msm.scale(batch_factor(&self.seed, index));
                    sum.add_msm(&msm);
                }
                Err(e) => {
                    self.lowest_failure.fetch_min(index, Ordering::Relaxed);
                    return WorkerOutcome {
                        sum,
                        failure: Some((index, e)),
                    };
                }
            }
        }
    }

    /// Proof `index`'s check, up to its final multi-scalar multiplication.
    fn deferred_check(&self, index: usize) -> Result<MSM<'a, EqAffine>, VerifyError> {
        let params = self.params;
        let mut rest = self.items[index].2.as_slice();
        let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut rest);
        let msm = verify_proof(
            params,
            &self.key.vk,
            DeferredMsm {
                msm: params.empty_msm(),
            },
            &[&[&self.instances[index][..]]],
            &mut transcript,
        )
        .map_err(|e| verify_error(index, e))?;
        if !rest.is_empty() {
            return Err(VerifyError::TrailingBytes {
                index,
                extra: rest.len(),
            });
        }
        Ok(msm)
    }
}

/// Keeps a proof's final multi-scalar multiplication instead of evaluating it.
struct DeferredMsm<'p> {
    msm: MSM<'p, EqAffine>,
}

impl<'p> VerificationStrategy<'p, EqAffine> for DeferredMsm<'p> {
    type Output = MSM<'p, EqAffine>;

    fn process<E: EncodedChallenge<EqAffine>>(
        self,
        f: impl FnOnce(MSM<'p, EqAffine>) -> Result<Guard<'p, EqAffine, E>, PlonkError>,
    ) -> Result<Self::Output, PlonkError> {
        Ok(f(self.msm)?.use_challenges())
    }
}

/// `count` single-thread pools, built once and shared by every batch (a
/// pool that cannot be built is `None`: its worker runs on its own thread).
/// Concurrent batches queue on the same pools, which only serializes them.
fn worker_pools(count: usize) -> Vec<Option<Arc<ThreadPool>>> {
    static POOLS: Mutex<Vec<Arc<ThreadPool>>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    while pools.len() < count {
        let built = ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "zk-batch-verify".to_owned())
            .build();
        match built {
            Ok(pool) => pools.push(Arc::new(pool)),
            Err(_) => break,
        }
    }
    (0..count).map(|i| pools.get(i).cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_factors_differ_by_index_and_seed() {
        let seed = [7u8; 32];
        assert_ne!(batch_factor(&seed, 0), batch_factor(&seed, 1));
        assert_ne!(batch_factor(&seed, 0), batch_factor(&[8u8; 32], 0));
        assert_eq!(batch_factor(&seed, 3), batch_factor(&seed, 3));
    }

    #[test]
    fn worker_pools_are_built_once_and_have_one_thread() {
        let first = worker_pools(2);
        let again = worker_pools(1);
        let (Some(a), Some(b)) = (&first[0], &again[0]) else {
            panic!("pools build on this machine");
        };
        assert!(Arc::ptr_eq(a, b));
        assert_eq!(a.current_num_threads(), 1);
        assert_eq!(a.install(rayon::current_num_threads), 1);
    }
}
