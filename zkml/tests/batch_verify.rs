//! Real proofs of a small model: a public value off by one is refused, and
//! batch verification reaches the same verdict (the same error, at the same
//! index) for every number of workers.

use std::num::NonZeroUsize;
use std::sync::OnceLock;

use synod_zkml::circuit::{
    fixtures::{random_input, random_mlp},
    params, prove_inference, verify_inference, verify_inference_batch,
    verify_inference_batch_with_workers, VerifierKey, VerifyError, ZkModel, DEFAULT_MAX_K,
};
use synod_zkml::interp::Tensor;

type Params = halo2_proofs::poly::commitment::Params<halo2_proofs::pasta::EqAffine>;
type Item = (Tensor, Tensor, Vec<u8>);

const PROOFS: usize = 6;
/// 1 (the serial reference), the machine's count and more workers than proofs.
const WORKER_COUNTS: [usize; 5] = [1, 2, 3, 4, PROOFS + 3];

struct Proved {
    params: Params,
    key: VerifierKey,
    batch: Vec<Item>,
}

/// `PROOFS` proofs of a 16 -> 8 -> 4 MLP, made once for every test.
fn proved() -> &'static Proved {
    static PROVED: OnceLock<Proved> = OnceLock::new();
    PROVED.get_or_init(|| {
        let zk =
            ZkModel::from_ir(&random_mlp(&[16, 8, 4], 5).to_ir(), DEFAULT_MAX_K).expect("fits");
        let params = params(zk.k()).expect("params");
        let setup = zk.setup(&params).expect("keys");
        let batch = (0..PROOFS as u64)
            .map(|seed| {
                let x = Tensor::from_i8(vec![16], &random_input(16, seed)).expect("input");
                let (y, proof) = prove_inference(&setup, &x).expect("proves");
                (x, y, proof)
            })
            .collect();
        Proved {
            key: zk.verifier_key(&params).expect("vk"),
            params,
            batch,
        }
    })
}

/// The verdict of `batch` on `workers` workers, as text (errors have no `Eq`).
fn verdict(batch: &[Item], workers: usize) -> String {
    let p = proved();
    let workers = NonZeroUsize::new(workers).expect("at least one worker");
    format!(
        "{:?}",
        verify_inference_batch_with_workers(&p.params, &p.key, batch, workers)
    )
}

/// The verdict of `batch`, checked to be the same for every worker count.
fn verdict_for_every_worker_count(batch: &[Item]) -> String {
    let reference = verdict(batch, 1);
    for workers in WORKER_COUNTS {
        assert_eq!(verdict(batch, workers), reference, "{workers} workers");
    }
    let p = proved();
    let default = format!("{:?}", verify_inference_batch(&p.params, &p.key, batch));
    assert_eq!(default, reference, "available_parallelism workers");
    reference
}

/// `t` with value `i` moved by one, inside int8.
fn off_by_one(t: &Tensor, i: usize) -> Tensor {
    let mut values = t.values().to_vec();
    values[i] += if values[i] == 127 { -1 } else { 1 };
    Tensor::new(t.shape().to_vec(), values).expect("tensor")
}

#[test]
fn a_public_input_or_output_off_by_one_is_refused() {
    let p = proved();
    for (x, y, proof) in &p.batch {
        verify_inference(&p.params, &p.key, x, y, proof).expect("the honest proof verifies");
    }
    let (x, y, proof) = &p.batch[0];
    for i in [0, 7, 15] {
        assert!(
            matches!(
                verify_inference(&p.params, &p.key, &off_by_one(x, i), y, proof),
                Err(VerifyError::Invalid)
            ),
            "input {i}"
        );
    }
    for i in [0, 3] {
        assert!(
            matches!(
                verify_inference(&p.params, &p.key, x, &off_by_one(y, i), proof),
                Err(VerifyError::Invalid)
            ),
            "output {i}"
        );
    }
}

#[test]
fn the_batch_verdict_does_not_depend_on_the_worker_count() {
    let batch = &proved().batch;
    assert_eq!(verdict_for_every_worker_count(batch), "Ok(())");
    assert_eq!(verdict_for_every_worker_count(&batch[..1]), "Ok(())");
    for j in [0, PROOFS / 2, PROOFS - 1] {
        let mut wrong_input = batch.clone();
        wrong_input[j].0 = off_by_one(&batch[j].0, 1);
        let mut wrong_output = batch.clone();
        wrong_output[j].1 = off_by_one(&batch[j].1, 2);
        let mut swapped = batch.clone();
        swapped[j].2 = batch[(j + 1) % PROOFS].2.clone();
        for bad in [wrong_input, wrong_output, swapped] {
            assert_eq!(
                verdict_for_every_worker_count(&bad),
                format!(
                    "{:?}",
                    Err::<(), _>(VerifyError::BatchInvalid { count: PROOFS })
                )
            );
        }
    }
}

#[test]
fn a_malformed_proof_is_reported_at_its_index_whatever_the_workers() {
    let batch = &proved().batch;
    for j in 0..PROOFS {
        let mut truncated = batch.clone();
        truncated[j].2.truncate(100);
        let verdict = verdict_for_every_worker_count(&truncated);
        assert!(
            verdict.starts_with(&format!("Err(Malformed {{ index: {j},")),
            "{verdict}"
        );

        let mut padded = batch.clone();
        padded[j].2.push(0);
        assert_eq!(
            verdict_for_every_worker_count(&padded),
            format!(
                "{:?}",
                Err::<(), _>(VerifyError::TrailingBytes { index: j, extra: 1 })
            )
        );

        // With a later proof malformed too, and an earlier one merely invalid
        // (which only the final check can see), the lowest malformed index is named.
        if j + 2 < PROOFS {
            padded[j + 2].2.truncate(10);
            if j > 0 {
                padded[j - 1].1 = off_by_one(&batch[j - 1].1, 0);
            }
            assert_eq!(
                verdict_for_every_worker_count(&padded),
                format!(
                    "{:?}",
                    Err::<(), _>(VerifyError::TrailingBytes { index: j, extra: 1 })
                )
            );
        }
    }
}
