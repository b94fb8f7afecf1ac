//! `synod-testnet demo`: `up` with 4 seeded validators, then a scripted tour
//! that says what happens at each step: transfers with proved balances, a
//! bond, a parameter changed by proposal and vote, a fifth validator joining, a validator killed while blocks go on,
//! its restart and catch-up, the final status; then `down` unless `--keep`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use synod_consensus_config::outln;

use anyhow::Context;
use synod_client::{Client, Keyring, QueryPath};
use synod_protocol::{state::Account, Address, Amount, TxBody};

use crate::{
    down, faults, join, rpc,
    state::TestnetState,
    status,
    up::{self, BasePort, UpArgs},
};

/// Options of `demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Leave the network running at the end (`synod-testnet down` stops it).
    #[arg(long)]
    pub keep: bool,
    /// Where synod-app and synod-node are (default: next to synod-testnet, then PATH).
    #[arg(long, env = "SYNOD_TESTNET_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// A `.synod-model` file (from `synod model import`) to register at
    /// genesis; the tour then proves an inference of it and sends the proof.
    #[arg(long)]
    pub model: Option<PathBuf>,
}

fn section(title: &str) {
    outln!();
    outln!("== {title}");
}

/// Runs the demo in `dir`.
pub async fn run(dir: &Path, args: &DemoArgs) -> anyhow::Result<()> {
    let up_args = UpArgs {
        validators: 4,
        full_nodes: 0,
        agents: 2,
        // The tour sends from the agent keys itself: no agent processes.
        agent_keys_only: true,
        agent_faults: Vec::new(),
        agent_timeout_secs: 300,
        engine: crate::state::Engine::Embedded,
        base_port: BasePort::Auto,
        seed: Some(1),
        block_time: "300ms".into(),
        chain_id: "synod-local".into(),
        bin_dir: args.bin_dir.clone(),
        reset: true,
        start_timeout_secs: 60,
        models: args.model.iter().cloned().collect(),
        workflows: Vec::new(),
        voting_blocks: 20,
    };
    section("starting 4 validators (seed 1, 300 ms blocks)");
    let started = up::up(dir, &up_args).await?;
    up::print_summary(&started);
    let mut state = started.state;
    let tour = tokio::select! {
        r = tour(&mut state, args.model.as_deref()) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Err(e) = &tour {
        eprintln!("the demo failed: {e:#}");
    }
    if args.keep && tour.is_ok() {
        outln!();
        outln!(
            "the network keeps running: `synod-testnet status --dir {d} --watch`, `synod-testnet down --dir {d}` stops it",
            d = state.dir.display()
        );
    } else {
        section("stopping the network");
        down::down(&state.dir, false)?;
    }
    tour
}

async fn proved_balance(client: &Client, who: &Address) -> anyhow::Result<String> {
    let proved = client
        .query_proved::<Account>(&QueryPath::Account(*who), None)
        .await
        .with_context(|| format!("the proved balance of {who}"))?;
    let balance = proved.value.map(|a| a.balance).unwrap_or(Amount::ZERO);
    let hash: String = proved
        .app_hash
        .iter()
        .take(4)
        .map(|b| format!("{b:02X}"))
        .collect();
    Ok(format!(
        "{} (Merkle proof checked against the app hash {hash}… after block {}, in a header the light client verified)",
        balance.to_syn_string(),
        proved.height
    ))
}

/// agent-0 proves one inference of the genesis model (halo2, on this
/// machine) and sends it; every validator verifies the proof in FinalizeBlock.
async fn inference(client: &Client, keyring: &Keyring, path: &Path) -> anyhow::Result<()> {
    use synod_zkml::{circuit, interp::Tensor, ir::Model};
    let loaded = Model::read_file(path).with_context(|| format!("reading {}", path.display()))?;
    let zk = circuit::ZkModel::from_ir(&loaded.model, circuit::DEFAULT_MAX_K)?;
    outln!(
        "model {} ({}, {} parameters): circuit of 2^{} rows",
        loaded.id,
        loaded.model.name,
        loaded.info.parameter_count,
        zk.k()
    );
    let started = Instant::now();
    let params = circuit::params(zk.k())?;
    let setup = zk.setup(&params)?;
    // A fixed int8 input in the model's input shape.
    let shape = loaded.model.input.shape.clone();
    let len: u32 = shape.iter().product();
    let values = (0..len as i32).map(|i| (i * 37 % 200) - 100).collect();
    let input = Tensor::new(shape, values)?;
    let (output, proof) = circuit::prove_inference(&setup, &input)?;
    outln!(
        "agent-0 proved output {:?} in {:.1} s ({} proof bytes)",
        output.values(),
        started.elapsed().as_secs_f64(),
        proof.len()
    );
    let agent = keyring.get("agent-0")?;
    let out = client
        .send(
            &agent,
            TxBody::SubmitInferenceProof {
                model: loaded.id.0,
                input: input.values().to_vec(),
                output: output.values().to_vec(),
                proof,
            },
        )
        .await
        .context("sending the inference proof")?;
    let verified = out
        .events
        .iter()
        .find(|(kind, _)| kind == "inference_verified")
        .context("the block has no inference_verified event")?;
    outln!(
        "block {}: every validator verified the proof: {} {}",
        out.height.unwrap_or(0),
        verified.0,
        verified
            .1
            .iter()
            .filter(|(k, _)| k != "output")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

/// A param-change proposal from the faucet with the whole minimum deposit,
/// three validators voting yes and one no, then the tally and the new value.
async fn governance(client: &Client, keyring: &Keyring) -> anyhow::Result<()> {
    use synod_protocol::governance::{ParamChange, ProposalKind, ProposalStatus, VoteOption};
    let params = client.params().await?;
    let new = params.models.max_proof_bytes + 4096;
    let out = client
        .send(
            &keyring.get("faucet")?,
            TxBody::Propose {
                kind: ProposalKind::ParamChange {
                    changes: vec![ParamChange {
                        module: "models".into(),
                        name: "max_proof_bytes".into(),
                        value: new.to_string(),
                    }],
                },
                title: "Allow larger proofs".into(),
                summary: "Raise models.max_proof_bytes by 4 KiB.".into(),
                deposit: params.governance.min_deposit,
                expedited: false,
            },
        )
        .await
        .context("the proposal")?;
    let id: u64 = out
        .events
        .iter()
        .find(|(kind, _)| kind == "proposal_submitted")
        .and_then(|(_, attrs)| attrs.iter().find(|(k, _)| k == "proposal"))
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no proposal_submitted event: {}", out.log))?;
    outln!(
        "proposal {id} in block {}: models.max_proof_bytes {} -> {new}, deposit {}",
        out.height.unwrap_or(0),
        params.models.max_proof_bytes,
        params.governance.min_deposit.to_syn_string()
    );
    for (v, option) in [
        (0, VoteOption::Yes),
        (1, VoteOption::Yes),
        (2, VoteOption::Yes),
        (3, VoteOption::No),
    ] {
        let name = format!("validator-{v}");
        client
            .send(
                &keyring.get(&name)?,
                TxBody::Vote {
                    proposal: id,
                    option,
                },
            )
            .await
            .with_context(|| format!("{name}'s vote"))?;
    }
    let start = Instant::now();
    let ended = loop {
        let p = client.proposal(id, false).await?.into_value();
        if let Some(p) = p.filter(|p| !p.status.in_flight()) {
            break p;
        }
        if start.elapsed() > Duration::from_secs(90) {
            anyhow::bail!("proposal {id} was not tallied within 90 s");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    outln!(
        "votes: validator-0..2 yes, validator-3 no; tallied at the end of block {}",
        ended.voting_end_height.map_or(0, |h| h.value())
    );
    outln!(
        "   {}: {}",
        ended.status,
        ended.outcome.clone().unwrap_or_default()
    );
    anyhow::ensure!(
        ended.status == ProposalStatus::Passed,
        "proposal {id} did not pass"
    );
    outln!(
        "   models.max_proof_bytes is now {} (proved query of /params)",
        client
            .query_proved::<synod_protocol::ChainParams>(&QueryPath::Params, None)
            .await?
            .value
            .map_or(0, |p| p.models.max_proof_bytes)
    );
    Ok(())
}

async fn tour(state: &mut TestnetState, model: Option<&Path>) -> anyhow::Result<()> {
    let url = state.nodes[0].ports.rpc_url();
    // Proved balances are checked against headers the validators signed:
    // a light client trusting block 1 of this new chain (in memory only).
    let light = synod_client::light::LightClient::new(Default::default());
    let client = Client::connect(&url)
        .await
        .with_context(|| format!("connecting to {url}"))?
        .with_light_client(std::sync::Arc::new(light));
    let keyring = Keyring::open(&state.keys_dir())?;
    let faucet = keyring.get("faucet")?;

    section("3 transfers from the faucet (synod-client signs, sends, waits for the block)");
    let fresh = match keyring.info("demo-user") {
        Ok(info) => info,
        Err(_) => keyring.generate("demo-user")?,
    };
    let agent0 = keyring.info("agent-0")?;
    let agent1 = keyring.info("agent-1")?;
    for (who, name, amount) in [
        (agent0.address, "agent-0", Amount::syn(25)),
        (agent1.address, "agent-1", Amount::syn(50)),
        (fresh.address, "demo-user (a new key)", Amount::syn(75)),
    ] {
        let out = client
            .send(&faucet, TxBody::Transfer { to: who, amount })
            .await
            .with_context(|| format!("the transfer to {name}"))?;
        outln!(
            "faucet -> {name}: {} in block {} (tx {})",
            amount.to_syn_string(),
            out.height.unwrap_or(0),
            out.hash
        );
        outln!(
            "   balance of {name}: {}",
            proved_balance(&client, &who).await?
        );
    }

    section("validator-1 bonds 1000 syn more");
    let v1 = keyring.get("validator-1")?;
    let v1_address = v1.public().address();
    let before = client.validator(&v1_address).await?.map(|v| v.self_bond);
    let out = client
        .send(
            &v1,
            TxBody::Bond {
                amount: Amount::syn(1000),
            },
        )
        .await
        .context("the bond")?;
    let after = client.validator(&v1_address).await?.map(|v| v.self_bond);
    outln!(
        "bond in block {}: self-bond {} -> {}",
        out.height.unwrap_or(0),
        before.map(|a| a.to_syn_string()).unwrap_or_default(),
        after.map(|a| a.to_syn_string()).unwrap_or_default()
    );

    if let Some(path) = model {
        section("an agent proves an inference of the genesis model; the chain verifies it");
        inference(&client, &keyring, path).await?;
    }

    section("governance: the faucet proposes a parameter change, 3 of 4 validators vote yes");
    governance(&client, &keyring).await?;

    section("a fifth validator joins (the operator's path)");
    join::join(
        state,
        &join::JoinArgs {
            name: None,
            from_node: "0".into(),
            self_bond: Amount::syn(10_000),
            step_timeout_secs: 120,
        },
    )
    .await?;

    section("validator-2 is killed (SIGKILL); the other validators go on");
    let v2 = state.node_index("validator-2")?;
    faults::kill(state, v2)?;
    let before = rpc::height(&state.nodes[0]).await.unwrap_or(0);
    let start = Instant::now();
    let mut now = before;
    while now < before + 8 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        now = rpc::height(&state.nodes[0]).await.unwrap_or(now);
    }
    outln!(
        "validator-0 went from height {before} to {now} in {:.1} s without validator-2",
        start.elapsed().as_secs_f64()
    );

    section("validator-2 restarts from its home and catches up");
    faults::restart(state, v2).await?;
    let start = Instant::now();
    loop {
        let target = rpc::height(&state.nodes[0]).await.unwrap_or(0);
        let at = rpc::height(&state.nodes[v2]).await.unwrap_or(0);
        if at >= target && target > 0 {
            outln!(
                "validator-2 is at height {at}, level with validator-0, {:.1} s after the restart",
                start.elapsed().as_secs_f64()
            );
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            anyhow::bail!("validator-2 stayed behind: {at} vs {target}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    section("final status");
    synod_consensus_config::cli::write_stdout(
        status::render(&status::gather(state).await).as_bytes(),
    );
    Ok(())
}
