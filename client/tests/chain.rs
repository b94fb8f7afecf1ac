//! The client against a real chain: a one-validator network written by
//! `synod-consensus-config`, served by the real `synod-app` and `synod-node`
//! binaries (killed when the test ends, even on panic). Every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use common::{json_of, Chain, CHAIN, SYNOD};
use synod_client::{
    verify_answer, Address, Amount, ClientError, QueryPath, SecretKey, SendOptions, TxBody,
};
use synod_protocol::{codec, state::Account};
use tendermint_rpc::Client as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_transfers_prove_state_and_reports_refusals_with_the_chains_code() {
    let alice = SecretKey::from_seed([21; 32]);
    let bob = SecretKey::from_seed([22; 32]).public().address();
    let chain = Chain::start(&[(alice.public().address(), Amount::syn(1_000))]);
    let client = chain.client_at_height(2).await;
    assert_eq!(client.chain_id(), CHAIN);

    // A transfer is included and moves the balance; the fee is paid.
    let before = client.account(&alice.public().address()).await.unwrap();
    assert_eq!(before.balance, Amount::syn(1_000));
    let outcome = client
        .send(
            &alice,
            TxBody::Transfer {
                to: bob,
                amount: Amount::syn(5),
            },
        )
        .await
        .unwrap();
    assert_eq!(outcome.code, 0, "{}", outcome.log);
    assert!(outcome.height.is_some());
    assert_eq!(client.account(&bob).await.unwrap().balance, Amount::syn(5));
    let after = client.account(&alice.public().address()).await.unwrap();
    assert_eq!(after.nonce, before.nonce + 1);
    assert!(after.balance < Amount::syn(995), "no fee was charged");

    // Proved reads: a present account, an absent one, the params, a validator.
    let proved = client
        .query_proved::<Account>(&QueryPath::Account(bob), None)
        .await
        .unwrap();
    assert_eq!(proved.value.unwrap().balance, Amount::syn(5));
    assert_eq!(proved.app_hash.len(), 32);
    let nobody = Address([0x5a; 20]);
    let absent = client
        .query_proved::<Account>(&QueryPath::Account(nobody), None)
        .await
        .unwrap();
    assert_eq!(absent.value, None);
    let params = client
        .query_proved::<synod_protocol::ChainParams>(&QueryPath::Params, None)
        .await
        .unwrap();
    assert_eq!(params.value.unwrap(), client.params().await.unwrap());
    let operator = chain.home.operator;
    let v = client
        .query_proved::<synod_protocol::state::Validator>(&QueryPath::Validator(operator), None)
        .await
        .unwrap();
    assert_eq!(v.value.unwrap().operator, operator);
    let no_validator = client
        .query_proved::<synod_protocol::state::Validator>(&QueryPath::Validator(nobody), None)
        .await
        .unwrap();
    assert_eq!(no_validator.value, None);

    // Tampering with the value, the proof, the key or the root is caught.
    let path = QueryPath::Account(bob);
    let raw = client
        .rpc()
        .abci_query(Some(path.to_string()), vec![], None, true)
        .await
        .unwrap();
    let ops = raw.proof.clone().unwrap().ops;
    let root = client.app_hash_after(raw.height.value()).await.unwrap();
    verify_answer(&path, Some(&raw.value), &ops, &root).expect("the honest answer verifies");
    let mut richer: Account = codec::decode(&raw.value).unwrap();
    richer.balance = Amount::syn(5_000);
    let forged = codec::encode(&richer);
    let rejected = |r: Result<(), ClientError>| matches!(r, Err(ClientError::Proof { .. }));
    assert!(rejected(verify_answer(&path, Some(&forged), &ops, &root)));
    assert!(rejected(verify_answer(&path, None, &ops, &root)));
    let mut bad_proof = ops.clone();
    let mid = bad_proof[0].data.len() / 2;
    bad_proof[0].data[mid] ^= 0x01;
    assert!(rejected(verify_answer(
        &path,
        Some(&raw.value),
        &bad_proof,
        &root
    )));
    let mut other_key = ops.clone();
    other_key[0].key = QueryPath::Account(alice.public().address())
        .proved_keys()
        .remove(0);
    assert!(rejected(verify_answer(
        &QueryPath::Account(alice.public().address()),
        Some(&raw.value),
        &other_key,
        &root
    )));
    let mut wrong_root = root.clone();
    wrong_root[0] ^= 0xff;
    assert!(rejected(verify_answer(
        &path,
        Some(&raw.value),
        &ops,
        &wrong_root
    )));

    // A wrong nonce is refused by CheckTx, with the chain's code and message.
    let err = client
        .send_with(
            &alice,
            TxBody::Transfer {
                to: bob,
                amount: Amount(1),
            },
            SendOptions {
                nonce: Some(0),
                ..SendOptions::default()
            },
        )
        .await
        .unwrap_err();
    match err {
        ClientError::CheckTxRefused { code, log, .. } => {
            assert_ne!(code, 0);
            assert!(log.contains("nonce"), "{log}");
        }
        other => panic!("expected CheckTxRefused, got {other:?}"),
    }
    // Nothing moved.
    assert_eq!(client.account(&bob).await.unwrap().balance, Amount::syn(5));
}

#[test]
fn the_synod_binary_imports_a_key_sends_and_proves_the_balance() {
    let chain = Chain::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(chain.client_at_height(2));
    let tmp = tempfile::tempdir().unwrap();
    let keyring = tmp.path().join("keys");
    let operator_key = chain.home.home.join("config").join("operator_key.json");

    let imported = json_of(&chain.synod(
        &keyring,
        &[
            "--output",
            "json",
            "keys",
            "import",
            "validator",
            operator_key.to_str().unwrap(),
        ],
    ));
    assert_eq!(imported["address"], chain.home.operator.to_string());
    let bob = json_of(&chain.synod(&keyring, &["--output", "json", "keys", "add", "bob"]));
    let bob_address = bob["address"].as_str().unwrap().to_string();

    let sent = json_of(&chain.synod(
        &keyring,
        &[
            "--output",
            "json",
            "tx",
            "transfer",
            "--from",
            "validator",
            "bob",
            "7syn",
        ],
    ));
    assert_eq!(sent["code"], 0, "{sent}");
    assert!(sent["height"].as_u64().unwrap() >= 1, "{sent}");
    assert_eq!(sent["hash"].as_str().unwrap().len(), 64);

    let shown = json_of(&chain.synod(
        &keyring,
        &[
            "--output",
            "json",
            "query",
            "account",
            &bob_address,
            "--prove",
        ],
    ));
    assert_eq!(shown["value"]["balance"], "7000000", "{shown}");
    assert_eq!(shown["proof"]["verified"], true);
    assert_eq!(
        shown["proof"]["block"].as_u64().unwrap(),
        shown["height"].as_u64().unwrap() + 1
    );

    let text = chain.synod(&keyring, &["query", "account", "bob", "--prove"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    assert!(
        stdout.contains("balance: 7 syn") && stdout.contains("proved against app hash"),
        "{stdout}"
    );

    let looked_up = json_of(&chain.synod(
        &keyring,
        &[
            "--output",
            "json",
            "query",
            "tx",
            sent["hash"].as_str().unwrap(),
        ],
    ));
    assert_eq!(looked_up["height"], sent["height"]);
    assert_eq!(looked_up["tx"]["nonce"], 0, "{looked_up}");
    let unknown = chain.synod(&keyring, &["query", "tx", &"AB".repeat(32)]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("is not known to the node"), "{stderr}");

    // Bad input is refused before any network call: point at a dead node.
    let dead = |args: &[&str]| {
        Command::new(SYNOD)
            .args(["--node", "http://127.0.0.1:9", "--keyring-dir"])
            .arg(&keyring)
            .args(args)
            .output()
            .unwrap()
    };
    let out = dead(&["tx", "transfer", "--from", "validator", "bob", "12bananas"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("12bananas") && stderr.contains("AMOUNT"),
        "{stderr}"
    );
    let out = dead(&[
        "tx",
        "transfer",
        "--from",
        "validator",
        "synod1notanaddress",
        "1syn",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("TO") && !stderr.contains("cannot reach"),
        "{stderr}"
    );
    let out = dead(&["tx", "transfer", "--from", "mallory", "bob", "1syn"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("known keys: bob, validator"), "{stderr}");

    // Secrets are never printed unasked.
    let out = chain.synod(&keyring, &["keys", "export", "validator"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--file") && stderr.contains("--unsafe-print-secret"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // A refused tx exits non-zero with the chain's code, as JSON too.
    let out = chain.synod(
        &keyring,
        &[
            "--output",
            "json",
            "tx",
            "transfer",
            "--from",
            "validator",
            "bob",
            "1syn",
            "--nonce",
            "0",
        ],
    );
    assert!(!out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["code"].as_u64().unwrap() > 0, "{doc}");
    assert!(doc["log"].as_str().unwrap().contains("nonce"), "{doc}");
}

/// The staking commands of the `synod` binary against the chain: bond,
/// unbond (then the unbonding entry), unjail refused with the chain's code
/// and reason, and register-validator of a second key reading the consensus
/// key from a home.
#[test]
fn the_synod_binary_bonds_unbonds_and_shows_refusals() {
    let chain = Chain::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(chain.client_at_height(2));
    let tmp = tempfile::tempdir().unwrap();
    let keyring = tmp.path().join("keys");
    let operator_key = chain.home.home.join("config").join("operator_key.json");
    let import = chain.synod(
        &keyring,
        &[
            "keys",
            "import",
            "validator",
            operator_key.to_str().unwrap(),
        ],
    );
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let json = |args: &[&str]| {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        json_of(&chain.synod(&keyring, &all))
    };
    let self_bond = |doc: &serde_json::Value| -> u128 {
        doc["value"]["self_bond"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no self_bond in {doc}"))
    };
    let before = self_bond(&json(&["query", "validator", "validator", "--prove"]));

    let bonded = json(&["tx", "bond", "--from", "validator", "2.5syn"]);
    assert_eq!(bonded["code"], 0, "{bonded}");
    let after_bond = json(&["query", "validator", "validator", "--prove"]);
    assert_eq!(self_bond(&after_bond), before + 2_500_000, "{after_bond}");
    assert_eq!(after_bond["proof"]["verified"], true, "{after_bond}");

    let unbonded = json(&["tx", "unbond", "--from", "validator", "1syn"]);
    assert_eq!(unbonded["code"], 0, "{unbonded}");
    let after_unbond = json(&["query", "validator", "validator"]);
    assert_eq!(
        self_bond(&after_unbond),
        before + 1_500_000,
        "{after_unbond}"
    );
    let unbonding = json(&["query", "unbonding", "validator", "--prove"]);
    assert!(
        unbonding.to_string().contains("1000000"),
        "the 1 syn being unbonded is not listed: {unbonding}"
    );

    // Not jailed: the chain refuses, and the CLI shows its code and reason.
    let out = chain.synod(&keyring, &["tx", "unjail", "--from", "validator"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("code 16"), "{stderr}");
    assert!(stderr.to_lowercase().contains("not jailed"), "{stderr}");

    // Registering the same consensus key twice is refused (code 14 or 15).
    let out = chain.synod(
        &keyring,
        &[
            "--output",
            "json",
            "tx",
            "register-validator",
            "--from",
            "validator",
            "--moniker",
            "again",
            "--self-bond",
            "1000syn",
            "--node-home",
            chain.home.home.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = doc["code"].as_u64().unwrap_or(0);
    assert!(code == 14 || code == 15, "{doc}");
}

/// What a newcomer meets reading a fresh chain with the `synod` binary:
/// what the chain does not have exits with status 1 and says so (in JSON
/// too); a proved read says its height; the lone validator shows as
/// `active`; the node is not catching up and logs no error for having no
/// peer to gossip to.
#[test]
fn missing_records_exit_1_proofs_name_their_height_and_the_lone_validator_is_active() {
    let chain = Chain::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(chain.client_at_height(3));
    let tmp = tempfile::tempdir().unwrap();
    let keyring = tmp.path().join("keys");
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let nobody = Address([9; 20]).to_string();

    // Not found: status 1 and a message, for every kind of lookup.
    let missing: [&[&str]; 6] = [
        &["query", "validator", &nobody],
        &["query", "validator", &nobody, "--prove"],
        &["query", "reputation", &nobody],
        &["query", "model", &"00".repeat(32)],
        &["gov", "show", "3"],
        &["gov", "votes", "3"],
    ];
    for args in missing {
        let out = chain.synod(&keyring, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "synod {args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "synod {args:?} printed a result");
        let said = stderr(&out);
        assert!(
            said.contains("nothing at") || said.contains("no proposal 3"),
            "synod {args:?}: {said}"
        );
    }
    // A proved absence says what it was proved against.
    let out = chain.synod(&keyring, &["query", "validator", &nobody, "--prove"]);
    assert!(
        stderr(&out).contains("its absence is proved at height"),
        "{}",
        stderr(&out)
    );
    // In JSON: one document, the read with `value: null`, marked not found.
    let out = chain.synod(
        &keyring,
        &["--output", "json", "query", "validator", &nobody, "--prove"],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["not_found"], true, "{doc}");
    assert_eq!(doc["value"], serde_json::Value::Null, "{doc}");
    assert_eq!(doc["proof"]["verified"], true, "{doc}");
    assert!(
        doc["error"].as_str().unwrap().contains("nothing at"),
        "{doc}"
    );

    // A proved read names the height it answers at; the node is in step.
    let out = chain.synod(&keyring, &["query", "params", "--prove"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("at height ") && stdout.contains(": proved against app hash"),
        "{stdout}"
    );
    assert!(!stderr(&out).contains("catching up"), "{}", stderr(&out));
    let doc = json_of(&chain.synod(
        &keyring,
        &["--output", "json", "query", "params", "--prove"],
    ));
    assert_eq!(doc["catching_up"], false, "{doc}");
    let status = json_of(&chain.synod(&keyring, &["--output", "json", "status"]));
    assert_eq!(status["catching_up"], false, "{status}");

    // The validator that signs every block is `active`, not a `candidate`.
    let out = chain.synod(&keyring, &["query", "validators"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with(&chain.home.operator.to_string()))
        .unwrap_or_else(|| panic!("no row for the validator:\n{table}"));
    assert!(row.trim_end().ends_with("active"), "{row}");
    assert!(!table.contains("candidate"), "{table}");

    // A lone validator has no peer to gossip to: that is not an error.
    let log = chain.node_log();
    assert!(
        !log.contains("NoPeersSubscribedToTopic"),
        "the node logged its lack of peers as an error:\n{}",
        log.lines()
            .filter(|l| l.contains("NoPeersSubscribedToTopic"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
