//! Mempool gossip: transactions spread between nodes over a libp2p
//! gossipsub swarm of their own (the consensus swarm carries only consensus
//! messages). A tx received from a peer is forwarded only after this node's
//! app accepted it in CheckTx; a tx the app refuses for its bytes alone
//! (undecodable, badly signed: [`synod_abci_wire::PERMANENT_REJECTION`])
//! counts against the peer that sent it through gossipsub's peer scoring
//! ([`peer_score`]), so a peer that relays such txs is soon graylisted: its
//! messages are dropped unread. A refusal that may be a race (a nonce, a
//! balance) costs the peer nothing. Duplicates are dropped by message id (the
//! tx hash). Messages are not signed by the relaying node
//! (a tx carries its own signature, checked by CheckTx): signing and checking
//! every forwarded copy cost a seventh of the network's CPU in the bench.

use std::{collections::BTreeSet, time::Duration};

use futures::StreamExt;
use libp2p::{
    gossipsub::{self, IdentTopic, MessageAcceptance, MessageId},
    identity::Keypair,
    noise,
    swarm::SwarmEvent,
    tcp, yamux, Multiaddr, PeerId, Swarm,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    handle::{GossipError, NodeError, TxSubmission},
    mempool::{tx_hash, MempoolError},
};

/// Where the gossip swarm listens and whom it dials.
#[derive(Clone, Debug)]
pub struct GossipSettings {
    pub listen_addr: Multiaddr,
    /// Other nodes' gossip addresses; redialled while disconnected.
    pub peers: Vec<Multiaddr>,
    /// Largest gossiped message (the mempool's tx size limit).
    pub max_tx_bytes: usize,
    /// Most received txs waiting for CheckTx at once. A tx that arrives
    /// while this many wait is not checked and not forwarded (no penalty to
    /// the peer): a flood costs this node a bounded amount of memory and
    /// tasks, never one per message.
    pub max_pending_checks: usize,
}

/// Default of [`GossipSettings::max_pending_checks`].
pub const DEFAULT_MAX_PENDING_CHECKS: usize = 1024;

/// How long a received tx may wait for its CheckTx verdict. Past it the tx
/// is neither forwarded nor held against its sender (`Ignore`).
pub const CHECK_DEADLINE: Duration = Duration::from_secs(10);

/// Gossipsub's heartbeat.
const HEARTBEAT: Duration = Duration::from_millis(500);

/// Heartbeats a received message stays in gossipsub's message cache. A
/// verdict reported after its message left the cache is lost: an accepted
/// tx is not forwarded and, worse, a rejected one costs its sender nothing
/// (the cache is where gossipsub finds whom to penalize). So the cache
/// outlives the check deadline: 12 s at 500 ms (the default, 5 heartbeats,
/// is 2.5 s, less than a CheckTx takes on a loaded node).
const MESSAGE_CACHE_HEARTBEATS: usize =
    (CHECK_DEADLINE.as_millis() / HEARTBEAT.as_millis()) as usize + 4;

/// The gossip topic of a chain.
pub fn topic(chain_id: &str) -> IdentTopic {
    IdentTopic::new(format!("synod/mempool/1/{chain_id}"))
}

/// Gossipsub's peer scoring for the mempool topic: only invalid messages
/// (P4: txs the app refuses permanently) count, squared and decaying by a
/// tenth a second, so a peer is graylisted after a handful of them (three
/// within a second score -90, past the -80 graylist threshold) and
/// recovers only if it stops; an honest peer checks every tx before it
/// relays it and never scores below zero. Time in mesh, deliveries and mesh
/// failures are not scored (a quiet peer is normal here), nor IP colocation
/// (a local testnet runs every node on one host).
pub fn peer_score(
    topic: &IdentTopic,
) -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let topic_params = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: 0.9,
        ..gossipsub::TopicScoreParams::default()
    };
    let mut params = gossipsub::PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        decay_interval: Duration::from_secs(1),
        ..gossipsub::PeerScoreParams::default()
    };
    params.topics.insert(topic.hash(), topic_params);
    (params, gossipsub::PeerScoreThresholds::default())
}

/// Starts the swarm. Txs sent on the returned channel (accepted locally) are
/// published; txs from peers are checked through `submit` first.
pub fn start(
    settings: GossipSettings,
    node_key: [u8; 32],
    chain_id: &str,
    submit: mpsc::Sender<TxSubmission>,
) -> Result<(mpsc::Sender<Vec<u8>>, tokio::task::JoinHandle<()>), NodeError> {
    let err = NodeError::Gossip;
    let keypair = Keypair::ed25519_from_bytes(node_key).map_err(|e| err(e.into()))?;
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(tx_hash(&m.data).to_vec()))
        .max_transmit_size(settings.max_tx_bytes + 1024)
        .heartbeat_interval(HEARTBEAT)
        .history_length(MESSAGE_CACHE_HEARTBEATS)
        .build()
        .map_err(|e| err(e.into()))?;
    let topic = topic(chain_id);
    let (score_params, score_thresholds) = peer_score(&topic);
    let mut swarm: Swarm<gossipsub::Behaviour> =
        libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| err(e.into()))?
            .with_behaviour(|_| {
                let mut b =
                    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)?;
                b.with_peer_score(score_params, score_thresholds)?;
                Ok(b)
            })
            .map_err(|e| err(e.into()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
    swarm
        .behaviour_mut()
        .subscribe(&topic)
        .map_err(|e| err(e.into()))?;
    swarm
        .listen_on(settings.listen_addr.clone())
        .map_err(|source| {
            err(GossipError::Listen {
                address: settings.listen_addr.clone(),
                source,
            })
        })?;
    let (out_tx, out_rx) = mpsc::channel(4096);
    let pending = std::sync::Arc::new(tokio::sync::Semaphore::new(
        settings.max_pending_checks.max(1),
    ));
    let task = tokio::spawn(run(swarm, topic, settings.peers, out_rx, submit, pending));
    Ok((out_tx, task))
}

type Verdict = (MessageId, PeerId, MessageAcceptance);

async fn run(
    mut swarm: Swarm<gossipsub::Behaviour>,
    topic: IdentTopic,
    peers: Vec<Multiaddr>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    submit: mpsc::Sender<TxSubmission>,
    pending: std::sync::Arc<tokio::sync::Semaphore>,
) {
    let (verdict_tx, mut verdicts) = mpsc::channel::<Verdict>(4096);
    let mut connected: BTreeSet<PeerId> = BTreeSet::new();
    let mut redial = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = redial.tick() => {
                // Keep the configured peers connected.
                if connected.len() < peers.len() {
                    for addr in &peers {
                        let _ = swarm.dial(addr.clone());
                    }
                }
            }
            tx = outgoing.recv() => {
                let Some(tx) = tx else { return };
                match swarm.behaviour_mut().publish(topic.clone(), tx) {
                    Ok(_) | Err(gossipsub::PublishError::Duplicate) => {}
                    Err(e) => tracing::debug!(error = %e, "tx not gossiped"),
                }
            }
            Some((id, source, acceptance)) = verdicts.recv() => {
                swarm
                    .behaviour_mut()
                    .report_message_validation_result(&id, &source, acceptance);
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(gossipsub::Event::Message {
                    propagation_source,
                    message_id,
                    message,
                }) => {
                    // CheckTx through the node's mempool, then tell gossipsub;
                    // when too many checks wait, drop it unforwarded.
                    let Ok(permit) = pending.clone().try_acquire_owned() else {
                        swarm.behaviour_mut().report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                        continue;
                    };
                    let submit = submit.clone();
                    let verdict_tx = verdict_tx.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        let (reply, verdict) = oneshot::channel();
                        let acceptance = if submit.send((message.data, reply)).await.is_err() {
                            MessageAcceptance::Ignore
                        } else {
                            match tokio::time::timeout(CHECK_DEADLINE, verdict).await {
                                Ok(Ok(Ok(_))) => MessageAcceptance::Accept,
                                Ok(Ok(Err(
                                    MempoolError::Rejected { permanent: true, .. }
                                    | MempoolError::TooLarge { .. },
                                ))) => MessageAcceptance::Reject,
                                _ => MessageAcceptance::Ignore,
                            }
                        };
                        let _ = verdict_tx.send((message_id, propagation_source, acceptance)).await;
                    });
                }
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    connected.insert(peer_id);
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    connected.remove(&peer_id);
                }
                SwarmEvent::NewListenAddr { address, .. } => {
                    tracing::info!(%address, "mempool gossip listening");
                }
                _ => {}
            },
        }
    }
}
