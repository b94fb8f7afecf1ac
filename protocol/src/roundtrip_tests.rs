//! Property tests: every wire and state type survives the canonical codec (and
//! JSON where people read it) unchanged, and its encoding is canonical.

use proptest::prelude::*;

use crate::{
    agents::{AgentRecord, AgentStatus},
    codec,
    genesis::GenesisModel,
    governance::{
        DepositFate, ParamChange, Proposal, ProposalKind, ProposalStatus, Tally, VoteOption,
        WorkflowSpec, WorkflowStep,
    },
    params::{
        AccountsParams, AgentsParams, ChainParams, DisputesParams, GovernanceParams, ModelsParams,
        ReputationParams, RewardsParams, RunsParams, StakingParams,
    },
    state::{
        Account, ActiveValidator, ModelRecord, ModelStatus, Reputation, SigningInfo,
        UnbondingEntry, Unbondings, Validator, ValidatorStatus, ValidatorSummary, VerificationMode,
    },
    Address, Amount, Event, GenesisAccount, GenesisAppState, GenesisValidator, Height, PubKey,
    TxHash,
};

fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address)
}
fn amount() -> impl Strategy<Value = Amount> {
    any::<u128>().prop_map(Amount)
}
fn pubkey() -> impl Strategy<Value = PubKey> {
    any::<[u8; 32]>().prop_map(PubKey)
}
fn height() -> impl Strategy<Value = Height> {
    any::<u64>().prop_map(Height)
}
fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,24}"
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (address(), address(), amount()).prop_map(|(from, to, amount)| Event::Transfer {
            from,
            to,
            amount
        }),
        (address(), amount()).prop_map(|(payer, fee)| Event::FeePaid { payer, fee }),
        (address(), amount()).prop_map(|(validator, amount)| Event::Bonded { validator, amount }),
        (address(), amount(), height()).prop_map(|(validator, amount, release_height)| {
            Event::UnbondingStarted {
                validator,
                amount,
                release_height,
            }
        }),
        (address(), amount())
            .prop_map(|(validator, amount)| Event::UnbondingReleased { validator, amount }),
        (address(), pubkey(), text()).prop_map(|(validator, consensus_key, moniker)| {
            Event::ValidatorRegistered {
                validator,
                consensus_key,
                moniker,
            }
        }),
        (address(), amount(), text(), height()).prop_map(
            |(validator, amount, reason, infraction_height)| {
                Event::Slashed {
                    validator,
                    amount,
                    reason,
                    infraction_height,
                }
            }
        ),
        (address(), height(), text()).prop_map(|(validator, until_height, reason)| {
            Event::Jailed {
                validator,
                until_height,
                reason,
            }
        }),
        address().prop_map(|validator| Event::Tombstoned { validator }),
        address().prop_map(|validator| Event::Unjailed { validator }),
        (address(), any::<u64>())
            .prop_map(|(validator, power)| Event::ValidatorSetChanged { validator, power }),
        (address(), amount(), any::<u32>()).prop_map(|(agent, bond, models)| {
            Event::AgentRegistered {
                agent,
                bond,
                models,
            }
        }),
        (address(), any::<u32>()).prop_map(|(agent, models)| Event::AgentUpdated { agent, models }),
        (address(), amount()).prop_map(|(agent, amount)| Event::AgentBonded { agent, amount }),
        (address(), height()).prop_map(|(agent, release_height)| Event::AgentExiting {
            agent,
            release_height
        }),
        (address(), amount())
            .prop_map(|(agent, amount)| Event::AgentBondReleased { agent, amount }),
        (address(), amount(), text()).prop_map(|(recipient, amount, reason)| Event::Rewarded {
            recipient,
            amount,
            reason
        }),
        (
            any::<[u8; 32]>(),
            address(),
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<i32>(), 0..12)
        )
            .prop_map(|(model, submitter, input_commitment, output)| {
                Event::InferenceVerified {
                    model,
                    submitter,
                    input_commitment,
                    output,
                }
            }),
    ]
}

fn modes() -> impl Strategy<Value = Vec<VerificationMode>> {
    proptest::collection::vec(
        prop_oneof![
            Just(VerificationMode::Zk),
            Just(VerificationMode::Optimistic)
        ],
        0..3,
    )
}

fn model_record() -> impl Strategy<Value = ModelRecord> {
    (
        any::<([u8; 32], [u8; 32])>(),
        text(),
        any::<(u32, u64)>(),
        modes(),
        proptest::option::of(height()),
        height(),
        proptest::collection::vec(any::<u32>(), 0..4),
        (
            proptest::collection::vec(any::<u32>(), 0..4),
            proptest::option::of(any::<[u8; 32]>()),
            proptest::option::of(any::<[u8; 32]>()),
        ),
    )
        .prop_map(
            |(
                (id, vk_hash),
                name,
                (k, parameter_count),
                modes,
                retired,
                registered_height,
                input_shape,
                (output_shape, predecessor, successor),
            )| {
                ModelRecord {
                    id,
                    name,
                    vk_hash,
                    k,
                    modes,
                    status: retired.map_or(ModelStatus::Active, |at_height| ModelStatus::Retired {
                        at_height,
                    }),
                    registered_height,
                    parameter_count,
                    input_shape,
                    output_shape,
                    predecessor,
                    successor,
                    retire_at: retired,
                }
            },
        )
}

fn status() -> impl Strategy<Value = ValidatorStatus> {
    prop_oneof![
        Just(ValidatorStatus::Candidate),
        (height(), text()).prop_map(|(until_height, reason)| ValidatorStatus::Jailed {
            until_height,
            reason
        }),
        Just(ValidatorStatus::Tombstoned),
    ]
}

fn validator() -> impl Strategy<Value = Validator> {
    (address(), pubkey(), text(), amount(), status(), height()).prop_map(
        |(operator, consensus_key, moniker, self_bond, status, registered_height)| Validator {
            operator,
            consensus_key,
            moniker,
            self_bond,
            status,
            registered_height,
        },
    )
}

fn params() -> impl Strategy<Value = ChainParams> {
    (
        any::<[u64; 8]>(),
        any::<[u64; 8]>(),
        amount(),
        amount(),
        any::<u32>(),
        any::<(u32, u64, u32)>(),
    )
        .prop_map(|(a, b, bond, issuance, max, m)| ChainParams {
            accounts: AccountsParams {
                min_fee_per_byte_usyn: a[0],
                max_tx_bytes: a[1],
            },
            staking: StakingParams {
                unbonding_blocks: a[2],
                min_self_bond: bond,
                max_validators: max,
                power_reduction_usyn: a[3],
                double_sign_slash_ppm: a[4],
                downtime_slash_ppm: a[5],
                signed_blocks_window: a[6],
                min_signed_per_window_ppm: a[7],
                downtime_jail_blocks: b[0],
                max_evidence_age_blocks: b[1],
            },
            reputation: ReputationParams {
                floor_score: b[3],
                gain_ppm: b[4],
                decay_ppm: b[5],
                slash_penalty_ppm: b[6],
                min_power_factor_ppm: b[7],
                power_factor_step_ppm: a[0] ^ b[0],
            },
            rewards: RewardsParams {
                block_issuance: issuance,
                proposer_bonus_ppm: a[1] ^ b[1],
                treasury_share_ppm: a[2] ^ b[2],
            },
            models: ModelsParams {
                max_k: m.0,
                max_proof_bytes: m.1,
                max_input_len: m.2,
                verify_fee_per_row_usyn: a[4] ^ b[4],
            },
            governance: GovernanceParams {
                min_deposit: bond,
                expedited_min_deposit: issuance,
                min_initial_deposit_ppm: a[3] ^ b[3],
                max_deposit_blocks: a[4] ^ b[4],
                voting_blocks: a[5] ^ b[5],
                expedited_voting_blocks: a[6] ^ b[6],
                quorum_ppm: a[7] ^ b[7],
                threshold_ppm: a[0] ^ b[1],
                expedited_threshold_ppm: a[1] ^ b[2],
                veto_threshold_ppm: a[2] ^ b[3],
                max_proposals_per_proposer: m.2 ^ max,
                burn_vote_quorum: a[3] % 2 == 1,
            },
            agents: AgentsParams {
                min_bond: issuance,
                unbonding_blocks: a[5] ^ b[6],
                max_models: max ^ m.0,
                max_metadata_bytes: m.2,
            },
            runs: RunsParams {
                max_open_runs_per_submitter: m.0 ^ 7,
                max_values_held: max,
                timeout_slash_ppm: a[6] ^ b[7],
                timeout_reputation_penalty_ppm: a[7] ^ b[6],
            },
            disputes: DisputesParams {
                challenge_window_blocks: a[1] ^ b[2],
                clock_blocks: a[2] ^ b[3],
                min_result_bond: issuance,
                result_bond_per_kparam_usyn: a[3] ^ b[4],
                min_challenge_bond: bond,
                challenge_bond_step_ppm: a[4] ^ b[5],
                max_open_challenges: m.2 ^ 3,
                winner_share_ppm: a[5] ^ b[6],
                fraud_agent_slash_ppm: a[6] ^ b[5],
                false_challenge_reputation_penalty_ppm: a[7] ^ b[4],
            },
        })
}

fn agent() -> impl Strategy<Value = AgentRecord> {
    (
        address(),
        proptest::collection::vec(any::<[u8; 32]>(), 0..4),
        amount(),
        text(),
        proptest::option::of((height(), height())),
        (height(), height()),
    )
        .prop_map(
            |(address, models, bond, metadata, exiting, (registered_height, updated_height))| {
                AgentRecord {
                    address,
                    models,
                    bond,
                    metadata,
                    status: match exiting {
                        None => AgentStatus::Active,
                        Some((since, release_height)) => AgentStatus::Exiting {
                            since,
                            release_height,
                        },
                    },
                    registered_height,
                    updated_height,
                }
            },
        )
}

fn genesis() -> impl Strategy<Value = GenesisAppState> {
    (
        proptest::collection::vec(
            (address(), amount())
                .prop_map(|(address, balance)| GenesisAccount { address, balance }),
            0..4,
        ),
        proptest::collection::vec(
            (address(), pubkey(), text(), amount()).prop_map(
                |(operator, consensus_key, moniker, self_bond)| GenesisValidator {
                    operator,
                    consensus_key,
                    moniker,
                    self_bond,
                },
            ),
            0..4,
        ),
        params(),
        proptest::collection::vec(
            ("[A-Za-z0-9+/]{0,16}", modes())
                .prop_map(|(model, modes)| GenesisModel { model, modes }),
            0..3,
        ),
    )
        .prop_map(|(accounts, validators, params, models)| GenesisAppState {
            accounts,
            validators,
            params,
            models,
            workflows: Vec::new(),
        })
}

fn vote_option() -> impl Strategy<Value = VoteOption> {
    proptest::sample::select(VoteOption::ALL.to_vec())
}

fn workflow() -> impl Strategy<Value = WorkflowSpec> {
    (
        "[a-z]{1,8}",
        proptest::collection::vec(
            (
                "[a-z]{1,8}",
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<u32>(), 0..3),
                any::<u64>(),
                amount(),
            )
                .prop_map(|(name, model, inputs, timeout_blocks, reward)| {
                    WorkflowStep {
                        name,
                        model,
                        inputs,
                        mode: VerificationMode::Optimistic,
                        timeout_blocks,
                        reward,
                        min_bond: Amount::ZERO,
                        min_reputation: 0,
                        retries: 0,
                    }
                }),
            0..3,
        ),
    )
        .prop_map(|(name, steps)| WorkflowSpec { name, steps })
}

fn proposal_kind() -> impl Strategy<Value = ProposalKind> {
    prop_oneof![
        (proptest::collection::vec(any::<u8>(), 0..64), modes())
            .prop_map(|(model, modes)| ProposalKind::RegisterModel { model, modes }),
        (
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            modes(),
            any::<u64>()
        )
            .prop_map(|(previous, model, modes, grace_blocks)| {
                ProposalKind::UpgradeModel {
                    previous,
                    model,
                    modes,
                    grace_blocks,
                }
            }),
        any::<[u8; 32]>().prop_map(|model| ProposalKind::RetireModel { model }),
        workflow().prop_map(|workflow| ProposalKind::RegisterWorkflow { workflow }),
        workflow().prop_map(|workflow| ProposalKind::UpdateWorkflow { workflow }),
        proptest::collection::vec(
            (text(), text(), text()).prop_map(|(module, name, value)| ParamChange {
                module,
                name,
                value
            }),
            0..3
        )
        .prop_map(|changes| ProposalKind::ParamChange { changes }),
        (address(), amount())
            .prop_map(|(recipient, amount)| ProposalKind::TreasurySpend { recipient, amount }),
        Just(ProposalKind::Text),
    ]
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (
        (any::<u64>(), address(), proposal_kind(), text(), text()),
        (
            any::<bool>(),
            proptest::sample::select(ProposalStatus::ALL.to_vec()),
            height(),
            height(),
            amount(),
        ),
        (
            proptest::option::of(height()),
            proptest::option::of(height()),
            proptest::option::of((amount(), amount(), amount(), amount(), amount())),
            proptest::option::of(text()),
            proptest::sample::select(vec![
                DepositFate::Held,
                DepositFate::Refunded,
                DepositFate::Burned,
            ]),
        ),
    )
        .prop_map(
            |(
                (id, proposer, kind, title, summary),
                (expedited, status, submit_height, deposit_end_height, total_deposit),
                (voting_start_height, voting_end_height, tally, outcome, deposits),
            )| Proposal {
                id,
                proposer,
                kind,
                title,
                summary,
                expedited,
                expedited_until: voting_start_height,
                status,
                submit_height,
                deposit_end_height,
                total_deposit,
                voting_start_height,
                voting_end_height,
                final_tally: tally.map(|(yes, no, abstain, no_with_veto, bonded)| Tally {
                    yes,
                    no,
                    abstain,
                    no_with_veto,
                    bonded,
                }),
                outcome,
                deposits,
            },
        )
}

fn binary_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = codec::encode(value);
    let back: T = codec::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, value);
    prop_assert_eq!(codec::encode(&back), bytes);
    Ok(())
}

fn json_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: T = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, value);
    Ok(())
}

proptest! {
    #[test]
    fn events_round_trip(e in event()) {
        binary_round_trip(&e)?;
        json_round_trip(&e)?;
        prop_assert!(!e.kind().is_empty());
        prop_assert!(!e.attributes().is_empty());
    }

    #[test]
    fn state_records_round_trip(
        v in validator(), balance in amount(), nonce in any::<u64>(), score in any::<u64>(),
        entries in proptest::collection::vec((amount(), any::<u64>(), any::<u64>()), 0..4),
        bits in proptest::collection::vec(any::<u8>(), 0..16), power in any::<u64>(), active in any::<bool>(),
    ) {
        binary_round_trip(&v)?;
        json_round_trip(&v)?;
        binary_round_trip(&Account { balance, nonce })?;
        binary_round_trip(&Reputation { score, slashes: nonce as u32, updated_height: Height(nonce) })?;
        let ub = Unbondings {
            entries: entries.iter().map(|(amount, s, r)| UnbondingEntry { amount: *amount, start_height: Height(*s), release_height: Height(*r) }).collect(),
        };
        binary_round_trip(&ub)?;
        binary_round_trip(&SigningInfo { observed: nonce, missed: score, missed_bits: bits })?;
        binary_round_trip(&ActiveValidator { operator: v.operator, consensus_key: v.consensus_key, power })?;
        binary_round_trip(&vec![ValidatorSummary { validator: v, reputation: score, power, active }])?;
    }

    #[test]
    fn params_and_genesis_round_trip(g in genesis()) {
        binary_round_trip(&g.params)?;
        json_round_trip(&g.params)?;
        binary_round_trip(&g)?;
        json_round_trip(&g)?;
    }

    #[test]
    fn agent_records_round_trip(r in agent()) {
        binary_round_trip(&r)?;
        json_round_trip(&r)?;
        binary_round_trip(&vec![r])?;
    }

    #[test]
    fn model_records_round_trip(r in model_record()) {
        binary_round_trip(&r)?;
        json_round_trip(&r)?;
        binary_round_trip(&vec![r])?;
    }

    #[test]
    fn proposals_and_governance_bodies_round_trip(
        p in proposal(), option in vote_option(), deposit in amount(), expedited in any::<bool>(),
    ) {
        binary_round_trip(&p)?;
        json_round_trip(&p)?;
        binary_round_trip(&vec![p.summary()])?;
        json_round_trip(&p.summary())?;
        for body in [
            crate::TxBody::Propose {
                kind: p.kind.clone(),
                title: p.title.clone(),
                summary: p.summary.clone(),
                deposit,
                expedited,
            },
            crate::TxBody::Deposit { proposal: p.id, amount: deposit },
            crate::TxBody::Vote { proposal: p.id, option },
        ] {
            binary_round_trip(&body)?;
            prop_assert!(!body.kind().is_empty());
        }
    }

    #[test]
    fn tx_hashes_round_trip(h in any::<[u8; 32]>()) {
        binary_round_trip(&TxHash(h))?;
    }
}
