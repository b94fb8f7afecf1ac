//! Synod's side of genesis validation: `app_state` entry by entry, its
//! models, and the top-level validators list against it.

use super::*;

impl Check {
    pub(super) fn app_state(&mut self, value: &Value) -> AppState {
        let Some(app) = value.as_object() else {
            self.problem(
                "app_state",
                format!("expected Synod's app_state object, found {value}"),
            );
            return AppState::unreadable();
        };
        for key in app.keys() {
            if !APP_STATE_FIELDS.contains(&key.as_str()) {
                self.problem(
                    format!("app_state.{key}"),
                    format!(
                        "unknown field (app_state has: {})",
                        APP_STATE_FIELDS.join(", ")
                    ),
                );
            }
        }
        let (account_count, accounts) = self.entries::<GenesisAccount>(app, "accounts");
        let (validator_count, validators) = self.entries::<GenesisValidator>(app, "validators");
        let mut staking = None;
        let mut models_params = Some(ModelsParams::default());
        if let Some(params) = self.object(app, "app_state", "params") {
            for key in params.keys() {
                if !PARAM_MODULES.contains(&key.as_str()) {
                    self.problem(
                        format!("app_state.params.{key}"),
                        format!(
                            "unknown parameter module (modules: {})",
                            PARAM_MODULES.join(", ")
                        ),
                    );
                }
            }
            self.module(params, "accounts", AccountsParams::problems);
            staking = self.module(params, "staking", StakingParams::problems);
            self.module(params, "reputation", ReputationParams::problems);
            self.module(params, "rewards", RewardsParams::problems);
            if params.contains_key("models") {
                models_params = self.module(params, "models", ModelsParams::problems);
            }
            if params.contains_key("governance") {
                self.module(params, "governance", GovernanceParams::problems);
            }
            if params.contains_key("agents") {
                self.module(params, "agents", AgentsParams::problems);
            }
            if params.contains_key("runs") {
                self.module(params, "runs", RunsParams::problems);
            }
            if params.contains_key("disputes") {
                self.module(params, "disputes", DisputesParams::problems);
            }
        }
        let problems_before_models = self.problems.len();
        if app.contains_key("models") {
            let (_, models) = self.entries::<GenesisModel>(app, "models");
            self.problems.extend(model_entry_problems(&models));
            self.models(&models, models_params.as_ref());
        }
        if app.contains_key("workflows") {
            let (_, workflows) =
                self.entries::<synod_protocol::governance::WorkflowSpec>(app, "workflows");
            let models_read = self.problems.len() == problems_before_models;
            self.workflows(&workflows, cfg!(feature = "models") && models_read);
        }
        let unread = unread_entries(app, &accounts, &validators, validator_count);
        self.problems.extend(entry_problems(
            &accounts,
            &validators,
            staking.as_ref(),
            &unread,
        ));
        AppState {
            accounts,
            validators,
            staking,
            account_count,
            validator_count,
            validators_unread: unread.validators,
        }
    }

    /// Each genesis model file: standard base64 of a `.synod-model` file
    /// that loads (magic, version, stated id equal to the contents' id, IR
    /// rules), no model twice, and a zk-enabled model fits a circuit of
    /// `params.models.max_k` (when the params are readable). The chain also
    /// derives the verifying key; that is too slow to do here.
    pub(super) fn models(
        &mut self,
        models: &[(usize, GenesisModel)],
        params: Option<&ModelsParams>,
    ) {
        use base64::Engine;
        let mut seen: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for (i, entry) in models {
            let path = format!("app_state.models[{i}].model");
            let file = match base64::engine::general_purpose::STANDARD.decode(entry.model.trim()) {
                Ok(file) => file,
                Err(e) => {
                    self.problem(
                        path,
                        format!("not standard base64 of a .synod-model file: {e}"),
                    );
                    continue;
                }
            };
            self.model_file(&path, *i, entry, &file, params, &mut seen);
        }
    }

    /// One model file's own checks: it loads (magic, version, stated id, IR
    /// rules), is not listed twice, and fits the circuit cap when it allows zk.
    #[cfg(feature = "models")]
    pub(super) fn model_file(
        &mut self,
        path: &str,
        i: usize,
        entry: &GenesisModel,
        file: &[u8],
        params: Option<&ModelsParams>,
        seen: &mut BTreeMap<[u8; 32], usize>,
    ) {
        let loaded = match synod_zkml::ir::Model::from_file_bytes(file) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.problem(path, format!("not a valid model file: {e}"));
                return;
            }
        };
        if let Some(first) = seen.insert(loaded.id.0, i) {
            self.problem(
                path,
                format!(
                    "model {:?} ({}) is also app_state.models[{first}]",
                    loaded.model.name, loaded.id
                ),
            );
        }
        let zk = entry
            .modes
            .contains(&synod_protocol::state::VerificationMode::Zk);
        self.models.insert(
            loaded.id.0,
            synod_protocol::state::ModelRecord {
                id: loaded.id.0,
                name: loaded.model.name.clone(),
                // Not derived here (too slow): nothing reads them.
                vk_hash: [0; 32],
                k: 0,
                modes: entry.modes.clone(),
                status: synod_protocol::state::ModelStatus::Active,
                registered_height: synod_protocol::Height(0),
                parameter_count: loaded.info.parameter_count,
                input_shape: loaded.model.input.shape.clone(),
                output_shape: loaded.info.output().shape.clone(),
                predecessor: None,
                successor: None,
                retire_at: None,
            },
        );
        if let (true, Some(params)) = (zk, params) {
            if let Err(e) = synod_zkml::circuit::ZkModel::from_ir(&loaded.model, params.max_k) {
                self.problem(
                    path,
                    format!(
                        "model {:?} ({}) allows Zk but has no circuit under params.models.max_k = {}: {e}",
                        loaded.model.name, loaded.id, params.max_k
                    ),
                );
            }
        }
    }

    /// Without the `models` feature the files themselves are not loaded
    /// (only their base64 is checked): `synod-config` always has the feature.
    #[cfg(not(feature = "models"))]
    pub(super) fn model_file(
        &mut self,
        _path: &str,
        _i: usize,
        _entry: &GenesisModel,
        _file: &[u8],
        _params: Option<&ModelsParams>,
        _seen: &mut BTreeMap<[u8; 32], usize>,
    ) {
    }

    /// The top-level `validators`: each well formed, and together the same
    /// keys and powers as `app_state`'s validators (which CometBFT hands the
    /// app at InitChain, and the app answers with).
    pub(super) fn listed_validators(&mut self, value: &Value, app: &AppState) {
        let Some(items) = value.as_array() else {
            self.problem("validators", format!("expected a list, found {value}"));
            return;
        };
        if items.is_empty() {
            // CometBFT then takes the validator set from the app's InitChain answer.
            return;
        }
        let expected: BTreeMap<PubKey, (usize, Amount)> = app
            .validators
            .iter()
            .map(|(i, v)| (v.consensus_key, (*i, v.self_bond)))
            .collect();
        let mut listed = BTreeMap::new();
        // Some entry did not parse: a key missing from the readable ones
        // may be in it (reported already).
        let mut listed_unread = false;
        for (i, item) in items.iter().enumerate() {
            let path = format!("validators[{i}]");
            // tendermint-rs panics on some malformed keys: check them first.
            if let Err(refused) = listed_keys::check_listed_validator(item) {
                let at = if refused.path.is_empty() {
                    path
                } else {
                    join(&path, &refused.path)
                };
                self.problem(at, refused.message);
                listed_unread = true;
                continue;
            }
            let Some(info) = self.parse::<tendermint::validator::Info>(&path, item) else {
                listed_unread = true;
                continue;
            };
            let address = tendermint::account::Id::from(info.pub_key);
            if info.address != address {
                self.problem(
                    format!("{path}.address"),
                    format!(
                        "{} is not the address of its pub_key, which is {address}",
                        info.address
                    ),
                );
            }
            let Some(raw) = info.pub_key.ed25519() else {
                self.problem(format!("{path}.pub_key"), "only ed25519 keys are supported");
                continue;
            };
            let Ok(bytes) = <[u8; 32]>::try_from(raw.as_bytes()) else {
                continue;
            };
            let key = PubKey(bytes);
            if listed.insert(key, i).is_some() {
                self.problem(format!("{path}.pub_key"), "listed twice");
            }
            match expected.get(&key) {
                // It may be the key of an entry that did not parse (reported already).
                None if app.validators_unread => {}
                None => self.problem(
                    format!("{path}.pub_key"),
                    "is not the consensus_key of any validator in app_state.validators",
                ),
                Some((_, self_bond)) => {
                    if let Some(staking) = &app.staking {
                        let power = power_for_bond(staking, *self_bond);
                        if info.power.value() != power {
                            self.problem(
                                format!("{path}.power"),
                                format!(
                                    "{} does not match app_state: its self_bond {self_bond} gives power {power} (self_bond / params.staking.power_reduction_usyn)",
                                    info.power.value()
                                ),
                            );
                        }
                    }
                }
            }
        }
        for (key, (j, _)) in &expected {
            if !listed_unread && !listed.contains_key(key) {
                self.problem(
                    format!("app_state.validators[{j}].consensus_key"),
                    "is missing from the top-level validators list (list every genesis validator there, or none)",
                );
            }
        }
    }
}
