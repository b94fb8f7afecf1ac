//! Shared fixtures for tests, benchmarks and simulations: deterministic keys,
//! a genesis, and signed transactions. Not used by the node itself.

use synod_protocol::{
    params::ChainParams, Address, Amount, GenesisAccount, GenesisAppState, GenesisValidator,
    SecretKey, TxBody, UnsignedTx,
};

/// Chain id of test chains.
pub const CHAIN_ID: &str = "synod-test";

/// A fee that covers any test transaction at the default fee rate.
pub const TEST_FEE: Amount = Amount(5_000);

/// A deterministic key from a label.
pub fn key(label: &str) -> SecretKey {
    use sha2::{Digest, Sha256};
    SecretKey::from_seed(Sha256::digest(label.as_bytes()).into())
}

/// An account key with its next nonce.
#[derive(Clone, Debug)]
pub struct TestAccount {
    pub key: SecretKey,
    pub nonce: u64,
}

impl TestAccount {
    /// The account of `key(label)`.
    pub fn new(label: &str) -> TestAccount {
        TestAccount {
            key: key(label),
            nonce: 0,
        }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.key.public().address()
    }

    /// Signs `body` with the next nonce and the test fee, and advances the nonce.
    pub fn sign(&mut self, body: TxBody) -> Vec<u8> {
        let bytes = self.sign_with(body, self.nonce, TEST_FEE);
        self.nonce += 1;
        bytes
    }

    /// Signs `body` with an explicit nonce and fee (does not advance the nonce).
    pub fn sign_with(&self, body: TxBody, nonce: u64, fee: Amount) -> Vec<u8> {
        UnsignedTx {
            body,
            signer: self.key.public(),
            nonce,
            fee,
            chain_id: CHAIN_ID.into(),
        }
        .sign(&self.key)
        .encode()
    }
}

/// A test network: validators (operator account + consensus key) and funded users.
#[derive(Clone, Debug)]
pub struct TestNet {
    pub genesis: GenesisAppState,
    pub operators: Vec<TestAccount>,
    pub consensus_keys: Vec<SecretKey>,
    pub users: Vec<TestAccount>,
}

impl TestNet {
    /// `validators` genesis validators with 10,000 syn bonded each (of 1,000,000),
    /// and `users` accounts with 1,000,000 syn each, under `params`.
    pub fn new(validators: usize, users: usize, params: ChainParams) -> TestNet {
        let operators: Vec<TestAccount> = (0..validators)
            .map(|i| TestAccount::new(&format!("operator-{i}")))
            .collect();
        let consensus_keys: Vec<SecretKey> = (0..validators)
            .map(|i| key(&format!("consensus-{i}")))
            .collect();
        let users: Vec<TestAccount> = (0..users)
            .map(|i| TestAccount::new(&format!("user-{i}")))
            .collect();
        let accounts = operators
            .iter()
            .chain(&users)
            .map(|a| GenesisAccount {
                address: a.address(),
                balance: Amount::syn(1_000_000),
            })
            .collect();
        let genesis_validators = operators
            .iter()
            .zip(&consensus_keys)
            .enumerate()
            .map(|(i, (op, ck))| GenesisValidator {
                operator: op.address(),
                consensus_key: ck.public(),
                moniker: format!("validator-{i}"),
                self_bond: Amount::syn(10_000),
            })
            .collect();
        TestNet {
            genesis: GenesisAppState {
                accounts,
                validators: genesis_validators,
                params,
                models: Vec::new(),
                workflows: Vec::new(),
            },
            operators,
            consensus_keys,
            users,
        }
    }

    /// The genesis `app_state` as JSON bytes.
    pub fn app_state_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.genesis).unwrap_or_default()
    }

    /// CometBFT address of validator `i`'s consensus key.
    pub fn consensus_address(&self, i: usize) -> [u8; 20] {
        self.consensus_keys[i].public().consensus_address()
    }
}

/// A scratch state over a fresh store in a temporary directory.
#[cfg(test)]
pub fn scratch_state() -> (tempfile::TempDir, crate::state::State) {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = crate::storage::Storage::open(
        dir.path(),
        crate::storage::StorageOptions { prune_window: 0 },
    )
    .expect("open scratch store");
    (dir, crate::state::State::new(storage))
}

/// A `synod-app` child process serving ABCI on a loopback port; killed on drop.
#[derive(Debug)]
pub struct AppProcess {
    child: std::process::Child,
    /// `tcp://127.0.0.1:PORT`.
    pub address: String,
    /// The process's `--home`.
    pub home: std::path::PathBuf,
}

impl AppProcess {
    /// Starts `binary --home HOME --abci tcp://127.0.0.1:<free port>` with its
    /// output appended to `HOME/synod-app.log`, and waits (at most `timeout`)
    /// until it accepts connections.
    pub fn start(
        binary: &std::path::Path,
        home: &std::path::Path,
        timeout: std::time::Duration,
    ) -> std::io::Result<AppProcess> {
        let address = format!("tcp://127.0.0.1:{}", free_port()?);
        AppProcess::start_at(binary, home, &address, timeout)
    }

    /// Like [`AppProcess::start`], serving at `address` (`tcp://…` or `unix://…`).
    pub fn start_at(
        binary: &std::path::Path,
        home: &std::path::Path,
        address: &str,
        timeout: std::time::Duration,
    ) -> std::io::Result<AppProcess> {
        std::fs::create_dir_all(home)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("synod-app.log"))?;
        let child = std::process::Command::new(binary)
            .arg("--home")
            .arg(home)
            .arg("--abci")
            .arg(address)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut proc = AppProcess {
            child,
            address: address.to_string(),
            home: home.to_path_buf(),
        };
        // Poll every 20 ms, at most `timeout` worth of polls (no clock needed).
        const POLL: std::time::Duration = std::time::Duration::from_millis(20);
        let polls = timeout.as_millis() / POLL.as_millis() + 1;
        for _ in 0..polls {
            let listening = match address.strip_prefix("unix://") {
                Some(path) => std::os::unix::net::UnixStream::connect(path).is_ok(),
                None => {
                    std::net::TcpStream::connect(address.strip_prefix("tcp://").unwrap_or(address))
                        .is_ok()
                }
            };
            if listening {
                return Ok(proc);
            }
            if let Some(status) = proc.child.try_wait()? {
                // Report the error the process printed (from its last "Error:" on, without a backtrace).
                let log = std::fs::read_to_string(home.join("synod-app.log")).unwrap_or_default();
                let from = log.rfind("Error:").unwrap_or(0);
                let error: Vec<&str> = log[from..]
                    .lines()
                    .take_while(|l| !l.starts_with("Stack backtrace"))
                    .take(12)
                    .collect();
                return Err(std::io::Error::other(format!(
                    "synod-app exited with {status} before listening:\n{}",
                    error.join("\n")
                )));
            }
            std::thread::sleep(POLL);
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("synod-app did not start listening on {address} within {timeout:?}"),
        ))
    }

    /// Connects an ABCI client to it.
    pub fn client(
        &self,
    ) -> Result<crate::abci_client::AbciClient, crate::abci_client::ClientError> {
        crate::abci_client::AbciClient::connect(&self.address, std::time::Duration::from_secs(60))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// An in-process chain: an [`crate::App`] on its own RocksDB store, fed
/// blocks in which every genesis validator signs and the proposer rotates.
pub struct TestChain {
    pub app: crate::App,
    pub net: TestNet,
    /// Height of the last committed block.
    pub height: u64,
    /// Validators (by consensus address) shown as absent in the next blocks'
    /// last-commit info; every other member of the active set signs.
    pub absent: std::collections::BTreeSet<[u8; 20]>,
}

impl TestChain {
    /// Opens a store at `path` and runs InitChain with `net`'s genesis.
    pub fn start(path: &std::path::Path, net: TestNet) -> Result<TestChain, crate::AppError> {
        TestChain::start_with(path, net, crate::StorageOptions { prune_window: 0 })
    }

    /// Like [`TestChain::start`], with explicit storage options.
    pub fn start_with(
        path: &std::path::Path,
        net: TestNet,
        options: crate::StorageOptions,
    ) -> Result<TestChain, crate::AppError> {
        let storage = crate::Storage::open(path, options)?;
        let mut app = crate::App::new(storage)?;
        app.init_chain(CHAIN_ID, &net.app_state_json(), 1)?;
        Ok(TestChain {
            app,
            net,
            height: 0,
            absent: Default::default(),
        })
    }

    /// The input of the next block carrying `txs`.
    pub fn next_block(&self, txs: Vec<Vec<u8>>) -> crate::BlockInput {
        let height = self.height + 1;
        let proposer = self
            .net
            .consensus_address(height as usize % self.net.consensus_keys.len());
        crate::BlockInput {
            height: synod_protocol::Height(height),
            time_unix: 1_700_000_000 + height as i64,
            proposer_address: Some(proposer),
            txs,
            votes: self.last_commit_votes(),
            evidence: Vec::new(),
        }
    }

    /// The last-commit votes as CometBFT reports them: every member of the
    /// active set, signed unless marked absent.
    pub fn last_commit_votes(&self) -> Vec<crate::staking::VoteInfo> {
        let set = crate::staking::active_set(&self.state()).unwrap_or_default();
        set.iter()
            .map(|v| {
                let a = v.consensus_key.consensus_address();
                crate::staking::VoteInfo {
                    consensus_address: a,
                    signed: !self.absent.contains(&a),
                    power: v.power,
                }
            })
            .collect()
    }

    /// Finalizes and commits a block.
    pub fn apply(
        &mut self,
        block: &crate::BlockInput,
    ) -> Result<crate::BlockOutput, crate::AppError> {
        let out = self.app.finalize_block(block)?;
        self.app.commit()?;
        self.height = block.height.value();
        Ok(out)
    }

    /// Finalizes and commits the next block with `txs`.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> Result<crate::BlockOutput, crate::AppError> {
        let b = self.next_block(txs);
        self.apply(&b)
    }

    /// A fresh read-only view of the committed state.
    pub fn state(&self) -> crate::state::State {
        crate::state::State::new(self.app.storage().clone())
    }
}

/// A seeded generator of blocks of random transactions over a [`TestNet`]'s
/// accounts: mostly valid transfers and bonds, governance proposals, votes and
/// deposits, agent registrations, bonds and exits, mixed with every kind of bad transaction (wrong nonce, bad
/// signature, wrong chain, low fee, garbage, overdraft). Same seed, same blocks.
pub struct TxFuzzer {
    rng: rand_chacha::ChaCha8Rng,
    users: Vec<TestAccount>,
    operators: Vec<TestAccount>,
    /// Model ids agents register for (registered ones succeed; without
    /// any, agent registrations name unknown models and are refused).
    models: Vec<[u8; 32]>,
}

impl TxFuzzer {
    /// A generator over `net`'s users and operators (with their current nonces).
    pub fn new(seed: u64, net: &TestNet) -> TxFuzzer {
        use rand_core::SeedableRng;
        TxFuzzer {
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
            users: net.users.clone(),
            operators: net.operators.clone(),
            models: Vec::new(),
        }
    }

    /// Lets agent registrations and updates name `models` (most of the
    /// time; an unknown id otherwise).
    pub fn with_models(mut self, models: Vec<[u8; 32]>) -> TxFuzzer {
        self.models = models;
        self
    }

    /// An agent transaction: registrations, updates, bonds and exits, some
    /// of them bad (unknown models, bonds below the minimum, no agent).
    fn agent_tx(&mut self, from: usize) -> Vec<u8> {
        let model = match self.models.len() as u64 {
            0 => [0xee; 32],
            _ if self.below(8) == 0 => [0xee; 32],
            n => {
                let i = self.below(n) as usize;
                self.models[i]
            }
        };
        let body = match self.below(6) {
            0 | 1 => TxBody::RegisterAgent {
                models: vec![model],
                bond: Amount::syn(self.below(300)),
                metadata: format!("agent-{from}"),
            },
            2 => TxBody::UpdateAgent {
                models: vec![model],
                metadata: String::new(),
            },
            3 | 4 => TxBody::AddAgentBond {
                amount: Amount::syn(self.below(50)),
            },
            _ => TxBody::ExitAgent,
        };
        self.users[from].sign(body)
    }

    fn below(&mut self, n: u64) -> u64 {
        use rand_core::RngCore;
        self.rng.next_u64() % n.max(1)
    }

    /// One block of `n` transactions.
    pub fn block(&mut self, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|_| self.tx()).collect()
    }

    /// One random transaction.
    pub fn tx(&mut self) -> Vec<u8> {
        use synod_protocol::UnsignedTx;
        let from = self.below(self.users.len() as u64) as usize;
        let to_index = self.below(self.users.len() as u64) as usize;
        let to = self.users[to_index].address();
        let amount = Amount(1 + self.below(100_000_000) as u128);
        let transfer = TxBody::Transfer { to, amount };
        match self.below(21) {
            0..=7 => {
                let to = if to == self.users[from].address() {
                    Address([7; 20])
                } else {
                    to
                };
                self.users[from].sign(TxBody::Transfer { to, amount })
            }
            8 => {
                let op = self.below(self.operators.len() as u64) as usize;
                let body = if self.below(2) == 0 {
                    TxBody::Bond {
                        amount: Amount(1 + self.below(1_000_000_000) as u128),
                    }
                } else {
                    TxBody::Unbond {
                        amount: Amount(1 + self.below(100_000_000) as u128),
                    }
                };
                self.operators[op].sign(body)
            }
            9 => {
                let skip = 1 + self.below(5);
                let u = &self.users[from];
                u.sign_with(transfer, u.nonce + skip, TEST_FEE)
            }
            10 => {
                let u = &self.users[from];
                let mut bytes = u.sign_with(transfer, u.nonce, TEST_FEE);
                if let Some(last) = bytes.last_mut() {
                    *last ^= 1 << self.below(8);
                }
                bytes
            }
            11 => {
                let u = &self.users[from];
                UnsignedTx {
                    body: transfer,
                    signer: u.key.public(),
                    nonce: u.nonce,
                    fee: TEST_FEE,
                    chain_id: "other-chain".into(),
                }
                .sign(&u.key)
                .encode()
            }
            12 => {
                let u = &self.users[from];
                u.sign_with(transfer, u.nonce, Amount(1))
            }
            13 => {
                let len = self.below(200) as usize;
                (0..len).map(|_| self.below(256) as u8).collect()
            }
            14 => self.users[from].sign(TxBody::Transfer {
                to,
                amount: Amount(u128::MAX / 2),
            }),
            15 => self.users[from].sign(TxBody::Unjail),
            16 => {
                use synod_protocol::governance::{ParamChange, ProposalKind};
                let op = self.below(self.operators.len() as u64) as usize;
                let kind = if self.below(2) == 0 {
                    ProposalKind::Text
                } else {
                    ProposalKind::ParamChange {
                        changes: vec![ParamChange {
                            module: "staking".into(),
                            name: "max_validators".into(),
                            value: (1 + self.below(120)).to_string(),
                        }],
                    }
                };
                let deposit = Amount::syn(self.below(2_000));
                let expedited = self.below(4) == 0;
                self.operators[op].sign(TxBody::Propose {
                    kind,
                    title: "fuzzed".into(),
                    summary: String::new(),
                    deposit,
                    expedited,
                })
            }
            17 => {
                let op = self.below(self.operators.len() as u64) as usize;
                let option = synod_protocol::VoteOption::ALL[self.below(4) as usize];
                let proposal = 1 + self.below(8);
                self.operators[op].sign(TxBody::Vote { proposal, option })
            }
            18 => {
                let proposal = 1 + self.below(8);
                let amount = Amount::syn(1 + self.below(500));
                self.users[from].sign(TxBody::Deposit { proposal, amount })
            }
            _ => self.agent_tx(from),
        }
    }
}
