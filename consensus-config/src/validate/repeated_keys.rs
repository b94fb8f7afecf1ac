//! Object keys a JSON document gives more than once. Readers disagree on
//! such a document: serde_json's `Value` (which validation walks) keeps the
//! last value, tendermint-rs and the app's typed readers refuse a repeated
//! field, and a free-form value keeps whichever its reader keeps. So
//! validation refuses every repeated key, naming it.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::join;

/// A key given more than once in one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RepeatedKey {
    /// The JSON path of the key (`app_state.models`).
    pub path: String,
    /// The key itself.
    pub key: String,
}

/// Every key repeated in some object of the JSON text `text`, each once, in
/// document order. Nothing for text that is not JSON (its syntax is
/// reported on its own).
pub(super) fn repeated_keys(text: &str) -> Vec<RepeatedKey> {
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    // An error (the syntax, the nesting limit) ends the walk: what was
    // found up to there is reported, the error itself elsewhere.
    let _ = Walk {
        path: "",
        found: &mut found,
    }
    .deserialize(&mut de);
    found
}

/// One value of the document, at `path`.
struct Walk<'a> {
    path: &'a str,
    found: &'a mut Vec<RepeatedKey>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let path = format!("{}[{i}]", self.path);
            let item = Walk {
                path: &path,
                found: &mut *self.found,
            };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = BTreeSet::new();
        let mut reported = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(self.path, &key);
            if !seen.insert(key.clone()) && reported.insert(key.clone()) {
                self.found.push(RepeatedKey {
                    path: path.clone(),
                    key,
                });
            }
            map.next_value_seed(Walk {
                path: &path,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        repeated_keys(text).into_iter().map(|r| r.path).collect()
    }

    #[test]
    fn every_repeated_key_is_found_once_with_its_path() {
        let text = r#"{
            "chain_id": "a", "chain_id": "b", "chain_id": "c",
            "app_state": {"models": [], "accounts": [{"address": "x", "address": "y"}], "models": []}
        }"#;
        assert_eq!(
            paths(text),
            [
                "chain_id",
                "app_state.accounts[0].address",
                "app_state.models"
            ]
        );
        assert_eq!(repeated_keys(text)[2].key, "models");
    }

    #[test]
    fn escaped_spellings_of_one_key_are_the_same_key() {
        assert_eq!(paths(r#"{"models": 1, "mo\u0064els": 2}"#), ["models"]);
    }

    #[test]
    fn documents_without_repeats_or_without_json_give_nothing() {
        assert!(paths(r#"{"a": {"a": [{"a": 1}, {"a": 2}]}}"#).is_empty());
        assert!(paths("{\"a\": ").is_empty());
        assert!(paths("[]").is_empty());
    }
}
