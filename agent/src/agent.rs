//! `synod-agent start`: wires the pieces. Reads the key, waits for the
//! node, loads the models (deriving proving keys up front), opens the
//! payload store and the state file, serves metrics, starts the network
//! loop, registers on chain if needed, then runs the executor until
//! SIGINT or SIGTERM.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use synod_client::{events::BlockFollower, keyfile, Amount, Client, SecretKey};
use tokio::sync::watch;

use crate::{
    config::{Config, ModelConfig, Role},
    executor::{ensure_registered, Executor, ExecutorFaults},
    metrics::{self, Metrics},
    model::{CommandModel, Model, SynodModel},
    network::{self, payload::PayloadStore, NetworkConfig, NetworkFaults},
    store::StateFile,
};

/// Sample inputs an external command must answer identically twice.
const DETERMINISM_SAMPLES: usize = 4;

/// Test-only faults (`--faults corrupt-payloads,lazy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub network: NetworkFaults,
    pub executor: ExecutorFaults,
}

impl std::str::FromStr for Faults {
    type Err = String;
    fn from_str(s: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item {
                "corrupt-payloads" => f.network.corrupt_payloads = true,
                "lazy" => f.executor.lazy = true,
                other => {
                    return Err(format!(
                        "unknown fault {other:?}: the faults are corrupt-payloads and lazy"
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// Reads the key file (the keyring's operator JSON format).
pub fn read_key(path: &std::path::Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    keyfile::from_json(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("the key file {}", path.display()))
}

/// Connects to the node, retrying (with a capped backoff) until it answers
/// or `shutdown` turns true.
async fn connect(url: &str, shutdown: &mut watch::Receiver<bool>) -> anyhow::Result<Client> {
    let mut wait = Duration::from_millis(250);
    loop {
        match Client::connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) => tracing::warn!(error = %e, "the node does not answer yet; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => anyhow::bail!("stopped before the node answered"),
        }
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// Loads every configured model (in a blocking task: keygen is slow).
/// With `warm`, derives the zk models' proving keys now.
pub async fn load_models(
    configs: &[ModelConfig],
    max_k: u32,
    warm: bool,
) -> anyhow::Result<BTreeMap<[u8; 32], Arc<dyn Model>>> {
    let configs = configs.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut models: BTreeMap<[u8; 32], Arc<dyn Model>> = BTreeMap::new();
        for c in configs {
            let model: Arc<dyn Model> = match c {
                ModelConfig::SynodModel { path } => {
                    let m = SynodModel::load(&path, max_k)?;
                    if warm {
                        m.warm_up()?;
                    }
                    tracing::info!(model = %hex::encode(m.id()), path = %path.display(), "zk model ready");
                    Arc::new(m)
                }
                ModelConfig::Command {
                    id,
                    command,
                    input_len,
                    output_len,
                } => {
                    let id: [u8; 32] = hex::decode(&id)
                        .ok()
                        .and_then(|b| b.try_into().ok())
                        .with_context(|| format!("model id {id:?} is not 64 hex digits"))?;
                    let m = CommandModel::spawn(
                        id,
                        command,
                        input_len,
                        output_len,
                        DETERMINISM_SAMPLES,
                    )?;
                    tracing::info!(model = %hex::encode(id), "external model checked deterministic");
                    Arc::new(m)
                }
            };
            models.insert(model.id(), model);
        }
        Ok::<_, anyhow::Error>(models)
    })
    .await
    .context("the model loading task panicked")?
}

/// A watch that turns true on SIGINT or SIGTERM.
pub fn shutdown_signal() -> anyhow::Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        }
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// Runs the agent until `shutdown` turns true.
pub async fn run(
    config: Config,
    faults: Faults,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let key = read_key(&config.key_file)?;
    let me = key.public().address();
    let bond: Amount = config
        .bond
        .parse()
        .map_err(|e| anyhow::anyhow!("bond {:?}: {e}", config.bond))?;
    let listen = config
        .listen
        .parse()
        .with_context(|| format!("listen {:?} is not a multiaddr", config.listen))?;
    let bootstrap = config
        .bootstrap
        .iter()
        .map(|a| {
            a.parse()
                .with_context(|| format!("bootstrap {a:?} is not a multiaddr"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let metrics = Metrics::new();
    if let Some(addr) = &config.metrics {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("serving metrics on {addr}"))?;
        tracing::info!(%addr, "metrics at /metrics");
        tokio::spawn(metrics::serve(listener, metrics.clone()));
    }
    tracing::info!(agent = %me, node = %config.node_rpc, "starting");
    let client = connect(&config.node_rpc, &mut shutdown).await?;
    let max_k = client.params().await?.models.max_k;
    let models = load_models(&config.models, max_k, true).await?;
    let payloads = PayloadStore::open(&config.data_dir.join("payloads"))?;
    let state = StateFile::open(&config.data_dir)?;

    let (net, gossip, event_loop) = network::start(NetworkConfig {
        seed: key.to_seed(),
        chain_id: client.chain_id().to_string(),
        listen,
        bootstrap,
        store: payloads.clone(),
        metrics: metrics.clone(),
        faults: faults.network,
    })?;
    tracing::info!(peer_id = %net.peer_id(), "libp2p identity (the account's key)");
    let network_task = tokio::spawn(event_loop.run());
    // The first listen address becomes the agent's public metadata.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let metadata = net
        .listeners()
        .await
        .first()
        .map(|a| format!("p2p={a}"))
        .unwrap_or_default();

    let ids: Vec<[u8; 32]> = models.keys().copied().collect();
    let mut registered = false;
    while !registered {
        match ensure_registered(&client, &key, &ids, bond, metadata.clone()).await {
            Ok(_) => registered = true,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "registering failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = shutdown.changed() => return Ok(()),
                }
            }
        }
    }

    let wakeup = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(crate::follow::new_block_wakeups(
        config.node_rpc.clone(),
        wakeup.clone(),
        shutdown.clone(),
    ));
    let follower = BlockFollower::new(
        client.clone(),
        state.state.last_height,
        Duration::from_millis(config.poll_ms.max(50)),
    )
    .with_wakeup(wakeup);
    let result = if config.roles.contains(&Role::Executor) {
        Executor {
            client,
            key,
            models,
            network: net,
            payloads,
            state,
            metrics,
            faults: faults.executor,
            agents_seen_at: None,
        }
        .run(follower, shutdown, gossip)
        .await
    } else {
        // No role that acts on blocks: serve payloads and gossip until stopped.
        let _keep = (net, gossip);
        let _ = shutdown.changed().await;
        Ok(())
    };
    network_task.abort();
    tracing::info!("stopped");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_unknown_ones_are_refused() {
        let f: Faults = "corrupt-payloads, lazy".parse().expect("parses");
        assert!(f.network.corrupt_payloads && f.executor.lazy);
        assert_eq!("".parse::<Faults>(), Ok(Faults::default()));
        assert!("lie-rate=1".parse::<Faults>().is_err());
    }
}
