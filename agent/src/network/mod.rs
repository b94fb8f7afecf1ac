//! The agent's libp2p side, built as the rust-libp2p examples are: one
//! [`Behaviour`] (gossipsub, Kademlia, identify, request-response for
//! payloads), one event loop ([`EventLoop::run`]) with `tokio::select!` over
//! the swarm and the commands, and a [`Network`] handle (a channel sender)
//! the rest of the agent uses. No state is shared with other tasks except
//! the metrics' counters.

pub mod gossip;
pub mod payload;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use libp2p::{
    gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, TopicHash},
    identify, kad,
    multiaddr::Protocol,
    noise,
    request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel},
    swarm::{NetworkBehaviour, SwarmEvent},
    tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm,
};
use synod_protocol::Address;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use gossip::{Announcement, Topic};
use payload::{hash_of, PayloadCodec, PayloadStore};

/// The composed behaviour.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    kademlia: kad::Behaviour<kad::store::MemoryStore>,
    identify: identify::Behaviour,
    payloads: request_response::Behaviour<PayloadCodec>,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the peer does not hold payload {0}")]
    Absent(String),
    #[error("the peer sent {got_len} bytes hashing to {got}, not the requested {want}: refused")]
    HashMismatch {
        want: String,
        got: String,
        got_len: usize,
    },
    #[error("the request failed: {0}")]
    Failed(String),
    #[error("the network loop is gone")]
    Closed,
}

/// How many peers an agent dials from what Kademlia discovered.
pub const TARGET_PEERS: usize = 8;

/// Test-only misbehaviour of this agent's network side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkFaults {
    /// Serve every payload with one byte flipped.
    pub corrupt_payloads: bool,
}

/// A validated gossip message, as the loop hands it to the agent.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: PeerId,
    pub message: Announcement,
}

enum Command {
    Publish {
        message: Announcement,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Fetch {
        peer: PeerId,
        address: Option<Multiaddr>,
        hash: [u8; 32],
        reply: oneshot::Sender<Result<Vec<u8>, FetchError>>,
    },
    Listeners(oneshot::Sender<Vec<Multiaddr>>),
    /// The chain's registered agents; answered once the loop applies them.
    SetAgents(BTreeSet<Address>, oneshot::Sender<()>),
}

/// The handle other tasks use to ask the network for something.
#[derive(Clone, Debug)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
}

impl Network {
    /// This agent's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Publishes `message` on its topic.
    pub async fn publish(&self, message: Announcement) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Publish { message, reply })
            .await
            .map_err(|_| "the network loop is gone".to_string())?;
        rx.await
            .map_err(|_| "the network loop is gone".to_string())?
    }

    /// Fetches payload `hash` from `peer` (dialing `address` if given) and
    /// checks the bytes hash to `hash`.
    pub async fn fetch(
        &self,
        peer: PeerId,
        address: Option<Multiaddr>,
        hash: [u8; 32],
    ) -> Result<Vec<u8>, FetchError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Fetch {
                peer,
                address,
                hash,
                reply,
            })
            .await
            .map_err(|_| FetchError::Closed)?;
        rx.await.map_err(|_| FetchError::Closed)?
    }

    /// The chain's registered agents: once this returns, only their
    /// gossip passes (messages the loop validated before still did).
    pub async fn set_agents(&self, agents: BTreeSet<Address>) {
        let (done, applied) = oneshot::channel();
        if self
            .commands
            .send(Command::SetAgents(agents, done))
            .await
            .is_ok()
        {
            let _ = applied.await;
        }
    }

    /// The addresses the swarm listens on (with /p2p/PEERID).
    pub async fn listeners(&self) -> Vec<Multiaddr> {
        let (reply, rx) = oneshot::channel();
        if self.commands.send(Command::Listeners(reply)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What [`start`] needs.
pub struct NetworkConfig {
    /// The ed25519 seed of the account key (the PeerId's key).
    pub seed: [u8; 32],
    pub chain_id: String,
    pub listen: Multiaddr,
    pub bootstrap: Vec<Multiaddr>,
    pub store: PayloadStore,
    pub metrics: Arc<Metrics>,
    pub faults: NetworkFaults,
}

/// Builds the swarm, listens, dials the bootstrap peers; returns the handle,
/// the stream of validated messages and the loop to spawn.
pub fn start(
    config: NetworkConfig,
) -> anyhow::Result<(Network, mpsc::Receiver<Received>, EventLoop)> {
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(config.seed)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key| behaviour(key, &config.chain_id))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    let mut topics = HashMap::new();
    for t in Topic::ALL {
        let topic = IdentTopic::new(t.name(&config.chain_id));
        swarm.behaviour_mut().gossipsub.subscribe(&topic)?;
        topics.insert(topic.hash(), t);
    }
    swarm.listen_on(config.listen.clone())?;
    for addr in &config.bootstrap {
        if let Some(Protocol::P2p(peer)) = addr.iter().last() {
            swarm
                .behaviour_mut()
                .kademlia
                .add_address(&peer, addr.clone());
        }
    }
    let peer_id = *swarm.local_peer_id();
    let (commands, command_rx) = mpsc::channel(64);
    let (events, event_rx) = mpsc::channel(256);
    Ok((
        Network { commands, peer_id },
        event_rx,
        EventLoop {
            swarm,
            commands: command_rx,
            events,
            topics,
            chain_id: config.chain_id,
            store: config.store,
            metrics: config.metrics,
            faults: config.faults,
            fetches: HashMap::new(),
            bootstrap: config.bootstrap,
            agents: None,
        },
    ))
}

fn behaviour(
    key: &libp2p::identity::Keypair,
    chain_id: &str,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(gossip::MAX_MESSAGE_BYTES)
        .heartbeat_interval(Duration::from_millis(500))
        .build()?;
    let mut gossipsub =
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config)?;
    // Peer scoring: an invalid message costs its forwarder heavily.
    let mut params = gossipsub::PeerScoreParams::default();
    for t in Topic::ALL {
        let topic = IdentTopic::new(t.name(chain_id));
        params.topics.insert(
            topic.hash(),
            gossipsub::TopicScoreParams {
                invalid_message_deliveries_weight: -100.0,
                invalid_message_deliveries_decay: 0.5,
                ..Default::default()
            },
        );
    }
    gossipsub.with_peer_score(params, gossipsub::PeerScoreThresholds::default())?;
    let peer = key.public().to_peer_id();
    let mut kad_config = kad::Config::new(StreamProtocol::new("/synod/kad/1"));
    kad_config.set_query_timeout(Duration::from_secs(30));
    let mut kademlia =
        kad::Behaviour::with_config(peer, kad::store::MemoryStore::new(peer), kad_config);
    kademlia.set_mode(Some(kad::Mode::Server));
    let identify =
        identify::Behaviour::new(identify::Config::new("/synod/agent/1".into(), key.public()));
    let payloads = request_response::Behaviour::new(
        [(
            StreamProtocol::new(payload::PROTOCOL),
            ProtocolSupport::Full,
        )],
        request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
    );
    Ok(Behaviour {
        gossipsub,
        kademlia,
        identify,
        payloads,
    })
}

/// The loop that owns the swarm.
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Received>,
    topics: HashMap<TopicHash, Topic>,
    chain_id: String,
    store: PayloadStore,
    metrics: Arc<Metrics>,
    faults: NetworkFaults,
    fetches: HashMap<OutboundRequestId, PendingFetch>,
    /// Dialed again while not connected (a peer may start after us).
    bootstrap: Vec<Multiaddr>,
    /// The registered agents, once the agent told us (None: not checked yet).
    agents: Option<BTreeSet<Address>>,
}

struct PendingFetch {
    hash: [u8; 32],
    reply: oneshot::Sender<Result<Vec<u8>, FetchError>>,
}

impl EventLoop {
    /// Runs until every [`Network`] handle is dropped.
    pub async fn run(mut self) {
        // Every second: redial bootstrap peers and fill up to TARGET_PEERS
        // (both cheap when connected); a Kademlia refresh every 30 s.
        let mut refresh = tokio::time::interval(Duration::from_secs(1));
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(c) => self.on_command(c),
                    None => return,
                },
                _ = refresh.tick() => {
                    ticks += 1;
                    self.redial_bootstrap();
                    self.fill_peers();
                    if ticks % 30 == 1 {
                        // Refreshes the routing table; fails harmlessly with no peers yet.
                        let _ = self.swarm.behaviour_mut().kademlia.bootstrap();
                    }
                }
            }
        }
    }

    /// Dials peers Kademlia knows until [`TARGET_PEERS`] are connected, so
    /// the gossip mesh does not hang on the bootstrap peers alone.
    fn fill_peers(&mut self) {
        let connected = self.swarm.connected_peers().count();
        if connected >= TARGET_PEERS {
            return;
        }
        let me = *self.swarm.local_peer_id();
        let mut known: Vec<(PeerId, Vec<Multiaddr>)> = Vec::new();
        for bucket in self.swarm.behaviour_mut().kademlia.kbuckets() {
            for entry in bucket.iter() {
                let peer = *entry.node.key.preimage();
                known.push((peer, entry.node.value.iter().cloned().collect()));
            }
        }
        let fresh = known
            .into_iter()
            .filter(|(p, _)| *p != me && !self.swarm.is_connected(p))
            .take(TARGET_PEERS - connected)
            .collect::<Vec<_>>();
        for (peer, addresses) in fresh {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(addresses)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, error = %e, "dialing a discovered peer");
            }
        }
    }

    /// Dials every bootstrap peer this agent is not connected to.
    fn redial_bootstrap(&mut self) {
        for addr in self.bootstrap.clone() {
            let Some(Protocol::P2p(peer)) = addr.iter().last() else {
                continue;
            };
            if !self.swarm.is_connected(&peer) {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::debug!(%addr, error = %e, "dialing a bootstrap peer");
                }
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { message, reply } => {
                let topic = IdentTopic::new(message.topic().name(&self.chain_id));
                let result = serde_json::to_vec(&message)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| {
                        self.swarm
                            .behaviour_mut()
                            .gossipsub
                            .publish(topic, bytes)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    });
                let _ = reply.send(result);
            }
            Command::Fetch {
                peer,
                address,
                hash,
                reply,
            } => {
                if let Some(addr) = address {
                    self.swarm.add_peer_address(peer, addr);
                }
                let id = self
                    .swarm
                    .behaviour_mut()
                    .payloads
                    .send_request(&peer, hash);
                self.fetches.insert(id, PendingFetch { hash, reply });
            }
            Command::SetAgents(agents, done) => {
                self.agents = Some(agents);
                let _ = done.send(());
            }
            Command::Listeners(reply) => {
                let me = *self.swarm.local_peer_id();
                let addrs = self
                    .swarm
                    .listeners()
                    .map(|a| a.clone().with(Protocol::P2p(me)))
                    .collect();
                let _ = reply.send(addrs);
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let me = *self.swarm.local_peer_id();
                tracing::info!(address = %address.with(Protocol::P2p(me)), "listening");
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                tracing::debug!(%peer_id, "connected");
                self.count_peers();
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                tracing::debug!(%peer_id, "disconnected");
                self.count_peers();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                for addr in info.listen_addrs {
                    self.swarm
                        .behaviour_mut()
                        .kademlia
                        .add_address(&peer_id, addr);
                }
                self.fill_peers();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Payloads(event)) => self.on_payload(event),
            _ => {}
        }
    }

    fn count_peers(&self) {
        self.metrics.peers.store(
            self.swarm.connected_peers().count() as u64,
            Ordering::Relaxed,
        );
    }

    fn on_gossip(
        &mut self,
        forwarder: PeerId,
        id: gossipsub::MessageId,
        message: gossipsub::Message,
    ) {
        let verdict = match self.topics.get(&message.topic) {
            Some(&topic) => gossip::validate(
                topic,
                message.source.as_ref(),
                &message.data,
                self.agents.as_ref(),
            ),
            None => Err(gossip::Rejection::Malformed("an unknown topic".into())),
        };
        let acceptance = match &verdict {
            Ok(_) => MessageAcceptance::Accept,
            Err(reason) => {
                tracing::warn!(%forwarder, %reason, "gossip message rejected");
                self.metrics.gossip_rejected.fetch_add(1, Ordering::Relaxed);
                if reason.blames_forwarder() {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                }
            }
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id, &forwarder, acceptance);
        if let Ok(announcement) = verdict {
            self.metrics.gossip_received.fetch_add(1, Ordering::Relaxed);
            let latency = now_ms().saturating_sub(announcement.sent_ms());
            self.metrics
                .gossip_latency
                .observe(Duration::from_millis(latency));
            let from = message.source.unwrap_or(forwarder);
            // A full queue drops the message for the agent (it is already forwarded).
            let _ = self.events.try_send(Received {
                from,
                message: announcement,
            });
        }
    }

    fn on_payload(&mut self, event: request_response::Event<[u8; 32], Option<Vec<u8>>>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.serve(peer, request, channel),
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(pending) = self.fetches.remove(&request_id) else {
                    return;
                };
                let want = hex::encode(pending.hash);
                let result = match response {
                    None => Err(FetchError::Absent(want)),
                    Some(bytes) if hash_of(&bytes) == pending.hash => {
                        self.metrics
                            .payload_bytes_fetched
                            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        Ok(bytes)
                    }
                    Some(bytes) => {
                        tracing::warn!(%peer, payload = %want, "a payload does not match its hash: refused");
                        Err(FetchError::HashMismatch {
                            want,
                            got: hex::encode(hash_of(&bytes)),
                            got_len: bytes.len(),
                        })
                    }
                };
                if result.is_err() {
                    self.metrics
                        .payloads_refused
                        .fetch_add(1, Ordering::Relaxed);
                }
                let _ = pending.reply.send(result);
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.fetches.remove(&request_id) {
                    self.metrics
                        .payloads_refused
                        .fetch_add(1, Ordering::Relaxed);
                    let _ = pending
                        .reply
                        .send(Err(FetchError::Failed(error.to_string())));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "a payload request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn serve(&mut self, peer: PeerId, hash: [u8; 32], channel: ResponseChannel<Option<Vec<u8>>>) {
        let answer = match self.store.get(&hash) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "cannot read a payload");
                None
            }
        };
        let answer = answer.map(|mut bytes| {
            if self.faults.corrupt_payloads {
                if let Some(b) = bytes.first_mut() {
                    *b ^= 0x01;
                }
            }
            bytes
        });
        if let Some(bytes) = &answer {
            self.metrics
                .payload_bytes_served
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        tracing::debug!(%peer, payload = %hex::encode(hash), found = answer.is_some(), "payload request");
        let _ = self
            .swarm
            .behaviour_mut()
            .payloads
            .send_response(channel, answer);
    }
}
