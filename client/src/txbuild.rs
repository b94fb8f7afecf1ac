//! Building and signing transactions.

use synod_protocol::{params::AccountsParams, Amount, SecretKey, SignedTx, TxBody, UnsignedTx};

/// Signs `body` with a fee that is exactly what `fee` says.
pub fn sign(key: &SecretKey, body: TxBody, nonce: u64, fee: Amount, chain_id: &str) -> SignedTx {
    UnsignedTx {
        body,
        signer: key.public(),
        nonce,
        fee,
        chain_id: chain_id.to_string(),
    }
    .sign(key)
}

/// Signs `body` with the smallest fee the chain takes for it under `params`
/// ([`AccountsParams::min_fee`] of the encoded length) plus `execution`, the
/// fee the body's own work needs (a proof's verification:
/// [`synod_protocol::params::ModelsParams::verify_fee`]; zero for most
/// bodies). The fee is inside the encoding, so a larger fee can lengthen the
/// tx: iterate until the fee covers the length it produces. This terminates:
/// the fee only grows, and the length (hence the minimum) is bounded.
pub fn sign_with_min_fee(
    key: &SecretKey,
    body: TxBody,
    nonce: u64,
    chain_id: &str,
    params: &AccountsParams,
    execution: Amount,
) -> SignedTx {
    let mut fee = Amount::ZERO;
    loop {
        let tx = sign(key, body.clone(), nonce, fee, chain_id);
        let needed = Amount(
            params
                .min_fee(tx.encode().len())
                .0
                .saturating_add(execution.0),
        );
        if fee >= needed {
            return tx;
        }
        fee = needed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synod_protocol::Address;

    #[test]
    fn the_fee_covers_the_minimum_of_the_final_encoding() {
        let key = SecretKey::from_seed([1; 32]);
        for per_byte in [0, 1, 2, 250, 251, 1_000, 65_536, 1_000_000] {
            let params = AccountsParams {
                min_fee_per_byte_usyn: per_byte,
                ..AccountsParams::default()
            };
            let tx = sign_with_min_fee(
                &key,
                TxBody::Transfer {
                    to: Address([2; 20]),
                    amount: Amount::syn(3),
                },
                7,
                "synod-test",
                &params,
                Amount::ZERO,
            );
            let len = tx.encode().len();
            assert!(tx.fee >= params.min_fee(len), "per byte {per_byte}");
            // And it is not wasteful: the fee is the minimum of some length no longer than this one.
            assert!(tx.fee.0 <= per_byte as u128 * len as u128);
            assert!(tx.verify_signature().is_ok());
        }
    }

    #[test]
    fn an_execution_fee_is_paid_on_top_of_the_byte_fee() {
        let key = SecretKey::from_seed([1; 32]);
        let params = AccountsParams::default();
        let body = TxBody::Transfer {
            to: Address([2; 20]),
            amount: Amount::syn(3),
        };
        let plain = sign_with_min_fee(&key, body.clone(), 7, "synod-test", &params, Amount::ZERO);
        let extra = Amount(16_384);
        let tx = sign_with_min_fee(&key, body, 7, "synod-test", &params, extra);
        assert!(tx.fee.0 >= params.min_fee(tx.encode().len()).0 + extra.0);
        assert!(
            tx.fee.0 <= plain.fee.0 + extra.0 + 8,
            "{} vs {}",
            tx.fee,
            plain.fee
        );
    }

    #[test]
    fn a_larger_fee_lengthens_the_encoding() {
        // Why iterating is needed: the fee's varint grows with its value.
        let key = SecretKey::from_seed([1; 32]);
        let small = sign(&key, TxBody::Unjail, 0, Amount(1), "c").encode().len();
        let large = sign(&key, TxBody::Unjail, 0, Amount(1 << 40), "c")
            .encode()
            .len();
        assert!(large > small);
    }
}
