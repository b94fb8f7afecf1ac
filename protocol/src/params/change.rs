//! Changing parameters by `module.name = JSON value`, as a governance
//! `ParamChange` asks: each name checked, each value parsed, and every
//! bound checked once over all the changes of a proposal.

use super::*;

/// A parameter change that cannot be applied.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ParamChangeError {
    #[error("unknown parameter module {module:?}; modules: {}", ChainParams::MODULES.join(", "))]
    UnknownModule { module: String },
    #[error("unknown parameter {module}.{name}; {module} has: {known}")]
    UnknownParam {
        module: String,
        name: String,
        known: String,
    },
    #[error("bad value for {module}.{name}: {value:?} is not JSON: {reason}")]
    NotJson {
        module: String,
        name: String,
        value: String,
        reason: String,
    },
    #[error("bad value for {module}.{name}: {reason}")]
    WrongType {
        module: String,
        name: String,
        reason: String,
    },
    #[error(transparent)]
    OutOfBounds(#[from] ParamError),
}

impl ChainParams {
    /// The module names, as `ParamChange::module` spells them.
    pub const MODULES: [&'static str; 9] = [
        "accounts",
        "staking",
        "reputation",
        "rewards",
        "models",
        "governance",
        "agents",
        "runs",
        "disputes",
    ];

    /// These params with `module.name` set to the JSON text `value`, checked
    /// against every bound. Nothing is changed on error.
    pub fn with_change(
        &self,
        module: &str,
        name: &str,
        value: &str,
    ) -> Result<ChainParams, ParamChangeError> {
        let changed = self.set_unchecked(module, name, value)?;
        changed.validate()?;
        Ok(changed)
    }

    /// These params with every change applied in order, then checked against
    /// every bound once (so a bound that ties two changed parameters together
    /// holds whatever their order). Nothing is changed on error.
    pub fn with_changes(
        &self,
        changes: &[crate::governance::ParamChange],
    ) -> Result<ChainParams, ParamChangeError> {
        let mut changed = self.clone();
        for c in changes {
            changed = changed.set_unchecked(&c.module, &c.name, &c.value)?;
        }
        changed.validate()?;
        Ok(changed)
    }

    /// These params with `module.name` set to the JSON text `value`: the
    /// module and parameter must exist and the value must have its type;
    /// bounds are not checked.
    pub fn set_unchecked(
        &self,
        module: &str,
        name: &str,
        value: &str,
    ) -> Result<ChainParams, ParamChangeError> {
        let mut tree = serde_json::to_value(self).map_err(|e| ParamChangeError::WrongType {
            module: module.into(),
            name: name.into(),
            reason: e.to_string(),
        })?;
        let fields = tree
            .get_mut(module)
            .and_then(|m| m.as_object_mut())
            .ok_or_else(|| ParamChangeError::UnknownModule {
                module: module.into(),
            })?;
        if !fields.contains_key(name) {
            return Err(ParamChangeError::UnknownParam {
                module: module.into(),
                name: name.into(),
                known: fields.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let parsed: serde_json::Value =
            serde_json::from_str(value).map_err(|e| ParamChangeError::NotJson {
                module: module.into(),
                name: name.into(),
                value: value.into(),
                reason: e.to_string(),
            })?;
        fields.insert(name.to_string(), parsed);
        serde_json::from_value(tree).map_err(|e| ParamChangeError::WrongType {
            module: module.into(),
            name: name.into(),
            reason: e.to_string(),
        })
    }

    /// The JSON text of `module.name`, as [`ChainParams::with_change`] takes it.
    pub fn value_of(&self, module: &str, name: &str) -> Option<String> {
        let tree = serde_json::to_value(self).ok()?;
        tree.get(module)?.get(name).map(ToString::to_string)
    }
}
