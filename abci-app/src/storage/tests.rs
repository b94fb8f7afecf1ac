use std::path::Path;

use proptest::prelude::*;
use tempfile::TempDir;

use super::prune::for_each_key_before;
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn changes(pairs: &[(&str, Option<&str>)]) -> Changes {
    pairs
        .iter()
        .map(|(key, value)| {
            (
                key.as_bytes().to_vec(),
                value.map(|v| v.as_bytes().to_vec()),
            )
        })
        .collect()
}

fn open(path: &Path, prune_window: u64) -> Result<Storage, StorageError> {
    Storage::open(path, StorageOptions { prune_window })
}

/// Prepares and commits `changes` as `version`, returning the new root.
fn apply(storage: &Storage, changes: &Changes, version: u64) -> Result<[u8; 32], StorageError> {
    let prepared = storage.prepare(changes, version)?;
    let root = prepared.root();
    storage.commit(prepared)?;
    Ok(root)
}

fn value(text: &str) -> Option<Vec<u8>> {
    Some(text.as_bytes().to_vec())
}

/// Number of entries in one column family.
fn count_entries(storage: &Storage, name: &'static str) -> Result<usize, StorageError> {
    for_each_key_before(&storage.inner.db, name, &[0xff; 64], |_| Ok(()))
}

#[test]
fn storage_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Storage>();
}

#[test]
fn two_stores_fed_the_same_changes_have_the_same_roots() -> TestResult {
    let (dir_a, dir_b) = (TempDir::new()?, TempDir::new()?);
    let (a, b) = (open(dir_a.path(), 0)?, open(dir_b.path(), 0)?);
    let blocks = [
        changes(&[("alice", Some("10")), ("bob", Some("20"))]),
        changes(&[("alice", Some("11")), ("carol", Some("5"))]),
        changes(&[("bob", None), ("dave", Some(""))]),
    ];
    for (version, block) in blocks.iter().enumerate() {
        let root_a = apply(&a, block, version as u64)?;
        let root_b = apply(&b, block, version as u64)?;
        assert_eq!(root_a, root_b, "roots differ at version {version}");
    }
    assert_eq!(a.committed(), b.committed());
    Ok(())
}

#[test]
fn the_root_depends_only_on_the_content() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    let original = apply(&storage, &changes(&[("k", Some("1")), ("x", Some("9"))]), 1)?;
    let changed = apply(&storage, &changes(&[("k", Some("2"))]), 2)?;
    assert_ne!(original, changed, "changing a value must change the root");
    let reverted = apply(&storage, &changes(&[("k", Some("1"))]), 3)?;
    assert_eq!(
        reverted, original,
        "the same content must give the same root"
    );

    let added = apply(&storage, &changes(&[("y", Some("0"))]), 4)?;
    assert_ne!(added, original);
    let removed = apply(&storage, &changes(&[("y", None)]), 5)?;
    assert_eq!(removed, original, "deleting an added key restores the root");
    Ok(())
}

#[test]
fn get_at_returns_the_value_each_version_had() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    apply(&storage, &changes(&[("k", Some("v0"))]), 0)?;
    apply(&storage, &changes(&[("other", Some("o"))]), 1)?;
    apply(&storage, &changes(&[("k", Some("v2"))]), 2)?;
    apply(&storage, &changes(&[("k", None)]), 3)?;
    apply(&storage, &changes(&[("k", Some("v4"))]), 4)?;

    assert_eq!(storage.get_at(b"k", 0)?, value("v0"));
    assert_eq!(storage.get_at(b"k", 1)?, value("v0"));
    assert_eq!(storage.get_at(b"k", 2)?, value("v2"));
    assert_eq!(storage.get_at(b"k", 3)?, None);
    assert_eq!(storage.get_at(b"k", 4)?, value("v4"));
    assert_eq!(storage.get_at(b"other", 0)?, None);
    assert_eq!(storage.get(b"k")?, value("v4"));
    Ok(())
}

#[test]
fn get_at_a_version_not_yet_committed_is_an_error() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    assert!(matches!(
        storage.get_at(b"k", 0),
        Err(StorageError::VersionNotCommitted {
            version: 0,
            latest: None
        })
    ));
    apply(&storage, &changes(&[("k", Some("v"))]), 0)?;
    assert!(matches!(
        storage.get_with_proof(b"k", 1),
        Err(StorageError::VersionNotCommitted {
            version: 1,
            latest: Some(0)
        })
    ));
    assert!(matches!(
        storage.root_at(7),
        Err(StorageError::VersionNotCommitted { version: 7, .. })
    ));
    Ok(())
}

#[test]
fn proofs_of_presence_and_absence_verify_against_the_version_root() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    let keys: Vec<String> = (0..50).map(|i| format!("key-{i}")).collect();
    let block: Changes = keys
        .iter()
        .map(|key| (key.as_bytes().to_vec(), value(&format!("value of {key}"))))
        .collect();
    let root_1 = apply(&storage, &block, 1)?;
    let root_2 = apply(
        &storage,
        &changes(&[("key-7", None), ("key-8", Some("new"))]),
        2,
    )?;

    let (present, proof) = storage.get_with_proof(b"key-7", 1)?;
    assert_eq!(present, value("value of key-7"));
    verify_proof(root_1, b"key-7", present.as_deref(), &proof)?;

    let (absent, proof) = storage.get_with_proof(b"key-7", 2)?;
    assert_eq!(absent, None);
    verify_proof(root_2, b"key-7", None, &proof)?;

    let (never, proof) = storage.get_with_proof(b"no-such-key", 2)?;
    assert_eq!(never, None);
    verify_proof(root_2, b"no-such-key", None, &proof)?;

    let (updated, proof) = storage.get_with_proof(b"key-8", 2)?;
    assert_eq!(updated, value("new"));
    verify_proof(root_2, b"key-8", Some(b"new"), &proof)?;
    assert_eq!(storage.root_at(1)?, root_1);
    assert_eq!(storage.root_at(2)?, root_2);
    Ok(())
}

#[test]
fn proofs_fail_for_a_wrong_value_key_or_root() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    let root = apply(&storage, &changes(&[("a", Some("1")), ("b", Some("2"))]), 0)?;
    let (_, presence) = storage.get_with_proof(b"a", 0)?;
    let (_, absence) = storage.get_with_proof(b"zzz", 0)?;

    let rejected = |result: Result<(), StorageError>| {
        matches!(result, Err(StorageError::ProofRejected { .. }))
    };
    assert!(rejected(verify_proof(root, b"a", Some(b"2"), &presence)));
    assert!(rejected(verify_proof(root, b"a", None, &presence)));
    assert!(rejected(verify_proof(root, b"b", Some(b"1"), &presence)));
    assert!(rejected(verify_proof([7; 32], b"a", Some(b"1"), &presence)));
    assert!(rejected(verify_proof(root, b"zzz", Some(b"1"), &absence)));
    assert!(rejected(verify_proof([7; 32], b"zzz", None, &absence)));
    assert!(matches!(
        verify_proof(root, b"a", Some(b"1"), b"not a proof"),
        Err(StorageError::MalformedProof { .. })
    ));
    verify_proof(root, b"a", Some(b"1"), &presence)?;
    Ok(())
}

#[test]
fn reopening_after_commit_restores_version_root_and_values() -> TestResult {
    let dir = TempDir::new()?;
    let root = {
        let storage = open(dir.path(), 0)?;
        apply(&storage, &changes(&[("a", Some("1")), ("b", Some("2"))]), 0)?;
        apply(&storage, &changes(&[("b", None), ("c", Some("3"))]), 1)?
    };
    let storage = open(dir.path(), 0)?;
    assert_eq!(storage.committed(), Some(Committed { version: 1, root }));
    assert_eq!(storage.get(b"a")?, value("1"));
    assert_eq!(storage.get(b"b")?, None);
    assert_eq!(storage.get_at(b"b", 0)?, value("2"));
    assert_eq!(storage.root_at(1)?, root);
    assert_eq!(apply(&storage, &changes(&[]), 2)?, root);
    Ok(())
}

#[test]
fn a_prepared_but_uncommitted_version_is_gone_after_reopening() -> TestResult {
    let dir = TempDir::new()?;
    let committed = {
        let storage = open(dir.path(), 0)?;
        apply(&storage, &changes(&[("a", Some("1"))]), 0)?;
        let prepared = storage.prepare(&changes(&[("a", Some("2")), ("b", Some("3"))]), 1)?;
        assert_eq!(storage.committed().map(|c| c.version), Some(0));
        drop(prepared);
        storage.committed()
    };
    let storage = open(dir.path(), 0)?;
    assert_eq!(storage.committed(), committed);
    assert_eq!(storage.get(b"a")?, value("1"));
    assert_eq!(storage.get(b"b")?, None);
    // The lost version can be prepared again, with other content.
    apply(&storage, &changes(&[("c", Some("4"))]), 1)?;
    assert_eq!(storage.get_at(b"a", 1)?, value("1"));
    Ok(())
}

#[test]
fn committing_empty_changes_advances_the_version_and_keeps_the_root() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 2)?;
    let empty_root = apply(&storage, &Changes::new(), 0)?;
    assert_eq!(empty_root, apply(&storage, &Changes::new(), 1)?);
    let root = apply(&storage, &changes(&[("k", Some("v"))]), 2)?;
    for version in 3..10 {
        assert_eq!(apply(&storage, &Changes::new(), version)?, root);
        assert_eq!(storage.root_at(version)?, root);
        let (found, proof) = storage.get_with_proof(b"k", version)?;
        verify_proof(root, b"k", found.as_deref(), &proof)?;
    }
    assert_eq!(storage.committed(), Some(Committed { version: 9, root }));
    // Only the live root copies and the live leaf remain after pruning.
    assert!(count_entries(&storage, CF_JMT_NODES)? <= 4);
    Ok(())
}

#[test]
fn deleting_every_key_returns_to_the_empty_root() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    let empty = apply(&storage, &Changes::new(), 0)?;
    apply(&storage, &changes(&[("a", Some("1")), ("b", Some("2"))]), 1)?;
    let root = apply(&storage, &changes(&[("a", None), ("b", None)]), 2)?;
    assert_eq!(root, empty);
    assert_eq!(
        apply(&storage, &changes(&[("never-existed", None)]), 3)?,
        empty
    );
    Ok(())
}

#[test]
fn a_fresh_store_may_start_at_any_version() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    let reference_dir = TempDir::new()?;
    let reference = open(reference_dir.path(), 0)?;
    let block = changes(&[("a", Some("1"))]);
    let root = apply(&storage, &block, 5)?;
    assert_eq!(root, apply(&reference, &block, 0)?);
    assert_eq!(storage.root_at(5)?, root);
    assert!(matches!(
        storage.get_at(b"a", 4),
        Err(StorageError::VersionPruned {
            version: 4,
            oldest_kept: 5
        })
    ));
    apply(&storage, &Changes::new(), 6)?;
    assert_eq!(storage.get_at(b"a", 6)?, value("1"));

    let empty_dir = TempDir::new()?;
    let empty_start = open(empty_dir.path(), 0)?;
    let empty_root = apply(&empty_start, &changes(&[("gone", None)]), 3)?;
    assert_eq!(empty_root, apply(&reference, &changes(&[("a", None)]), 1)?);
    assert_eq!(empty_start.root_at(3)?, empty_root);
    Ok(())
}

#[test]
fn prepare_accepts_only_the_next_version() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    assert!(matches!(
        storage.prepare(&Changes::new(), u64::MAX),
        Err(StorageError::VersionOutOfRange { .. })
    ));
    apply(&storage, &Changes::new(), 3)?;
    for wrong in [0, 3, 5] {
        assert!(matches!(
            storage.prepare(&Changes::new(), wrong),
            Err(StorageError::UnexpectedVersion { expected: 4, .. })
        ));
    }
    Ok(())
}

#[test]
fn commit_rejects_a_version_prepared_on_an_older_state() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    apply(&storage, &Changes::new(), 0)?;
    let first = storage.prepare(&changes(&[("a", Some("1"))]), 1)?;
    let second = storage.prepare(&changes(&[("a", Some("2"))]), 1)?;
    storage.commit(first)?;
    assert!(matches!(
        storage.commit(second),
        Err(StorageError::StalePreparedCommit {
            version: 1,
            prepared_on: Some(0),
            committed: Some(1)
        })
    ));
    assert_eq!(storage.get(b"a")?, value("1"));
    Ok(())
}

#[test]
fn pruning_drops_old_versions_but_keeps_the_window_readable_and_provable() -> TestResult {
    let dir = TempDir::new()?;
    let window = 3;
    let storage = open(dir.path(), window)?;
    let mut roots = Vec::new();
    for version in 0..20u64 {
        let block = changes(&[
            ("counter", Some(&version.to_string())),
            (&format!("key-{}", version % 4), Some(&format!("{version}"))),
        ]);
        roots.push(apply(&storage, &block, version)?);
    }
    let latest = 19;
    let oldest_kept = latest - window;
    for version in 0..oldest_kept {
        assert!(
            matches!(
                storage.get_at(b"counter", version),
                Err(StorageError::VersionPruned {
                    oldest_kept: 16,
                    ..
                })
            ),
            "version {version} should be pruned"
        );
        assert!(matches!(
            storage.get_with_proof(b"counter", version),
            Err(StorageError::VersionPruned { .. })
        ));
    }
    for version in oldest_kept..=latest {
        let expected = version.to_string();
        assert_eq!(storage.get_at(b"counter", version)?, value(&expected));
        let root = storage.root_at(version)?;
        assert_eq!(root, roots[version as usize]);
        let (found, proof) = storage.get_with_proof(b"counter", version)?;
        verify_proof(root, b"counter", found.as_deref(), &proof)?;
        let (found, proof) = storage.get_with_proof(b"key-0", version)?;
        assert_eq!(found, value("16"));
        verify_proof(root, b"key-0", found.as_deref(), &proof)?;
        let (absent, proof) = storage.get_with_proof(b"key-9", version)?;
        verify_proof(root, b"key-9", absent.as_deref(), &proof)?;
    }
    Ok(())
}

#[test]
fn pruning_deletes_superseded_nodes_and_values_from_disk() -> TestResult {
    let kept_dir = TempDir::new()?;
    let pruned_dir = TempDir::new()?;
    let kept = open(kept_dir.path(), 0)?;
    let pruned = open(pruned_dir.path(), 2)?;
    for version in 0..30u64 {
        let mut block = changes(&[("hot", Some(&version.to_string()))]);
        if version % 10 == 0 {
            block.insert(b"cold".to_vec(), value("x"));
        }
        if version == 25 {
            block.insert(b"cold".to_vec(), None);
        }
        assert_eq!(
            apply(&kept, &block, version)?,
            apply(&pruned, &block, version)?
        );
    }
    let kept_values = count_entries(&kept, CF_JMT_VALUES)?;
    let pruned_values = count_entries(&pruned, CF_JMT_VALUES)?;
    // Versions 27..=29 of "hot"; "cold" was deleted at 25, outside the window.
    assert_eq!(pruned_values, 3, "kept all: {kept_values}");
    assert!(count_entries(&pruned, CF_JMT_NODES)? < count_entries(&kept, CF_JMT_NODES)? / 4);
    assert!(count_entries(&pruned, CF_STALE_NODES)? < 20);
    assert_eq!(pruned.get_at(b"cold", 27)?, None);
    assert_eq!(kept.get_at(b"cold", 24)?, value("x"));
    Ok(())
}

#[test]
fn a_smaller_window_after_reopening_prunes_on_the_next_commit() -> TestResult {
    let dir = TempDir::new()?;
    {
        let storage = open(dir.path(), 0)?;
        for version in 0..10 {
            apply(
                &storage,
                &changes(&[("k", Some(&format!("{version}")))]),
                version,
            )?;
        }
        assert_eq!(storage.get_at(b"k", 0)?, value("0"));
    }
    let storage = open(dir.path(), 1)?;
    assert_eq!(storage.get_at(b"k", 0)?, value("0"));
    apply(&storage, &Changes::new(), 10)?;
    assert!(matches!(
        storage.get_at(b"k", 8),
        Err(StorageError::VersionPruned { oldest_kept: 9, .. })
    ));
    assert_eq!(storage.get_at(b"k", 9)?, value("9"));
    drop(storage);
    // The pruning point survives reopening with a larger window.
    let storage = open(dir.path(), 100)?;
    assert!(matches!(
        storage.get_at(b"k", 8),
        Err(StorageError::VersionPruned { oldest_kept: 9, .. })
    ));
    Ok(())
}

#[test]
fn opening_a_directory_with_garbage_files_fails_naming_the_path() -> TestResult {
    let dir = TempDir::new()?;
    std::fs::write(dir.path().join("notes.txt"), b"not a database")?;
    let error = open(dir.path(), 0)
        .err()
        .ok_or("garbage directory opened")?;
    assert!(matches!(error, StorageError::NotAStore { .. }), "{error}");
    assert!(error
        .to_string()
        .contains(&dir.path().display().to_string()));
    // Nothing was created next to the garbage.
    assert!(!dir.path().join("CURRENT").exists());
    Ok(())
}

#[test]
fn opening_a_store_whose_current_file_was_deleted_fails() -> TestResult {
    let dir = TempDir::new()?;
    {
        let storage = open(dir.path(), 0)?;
        apply(&storage, &changes(&[("a", Some("1"))]), 0)?;
    }
    std::fs::remove_file(dir.path().join("CURRENT"))?;
    let error = open(dir.path(), 0)
        .err()
        .ok_or("store without CURRENT opened")?;
    assert!(matches!(error, StorageError::NotAStore { .. }), "{error}");
    assert!(error.to_string().contains("CURRENT"), "{error}");
    Ok(())
}

#[test]
fn opening_a_file_instead_of_a_directory_fails() -> TestResult {
    let dir = TempDir::new()?;
    let file = dir.path().join("file");
    std::fs::write(&file, b"x")?;
    assert!(matches!(
        open(&file, 0),
        Err(StorageError::NotADirectory { .. })
    ));
    Ok(())
}

#[test]
fn a_store_is_created_in_a_nonexistent_directory() -> TestResult {
    let dir = TempDir::new()?;
    let path = dir.path().join("nested").join("store");
    let storage = open(&path, 0)?;
    assert_eq!(storage.committed(), None);
    apply(&storage, &changes(&[("a", Some("1"))]), 0)?;
    assert!(storage.disk_size_bytes() > 0);
    Ok(())
}

#[test]
fn a_corrupt_tree_node_is_reported_not_panicked() -> TestResult {
    let dir = TempDir::new()?;
    {
        let storage = open(dir.path(), 0)?;
        apply(&storage, &changes(&[("a", Some("1")), ("b", Some("2"))]), 0)?;
        apply(&storage, &changes(&[("a", Some("3"))]), 1)?;
        let db = &storage.inner.db;
        let key = layout::encode_node_key(&layout::root_node_key(0));
        db.put_cf(column_family(db, CF_JMT_NODES)?, key, b"{garbage")?;
        assert!(matches!(
            storage.root_at(0),
            Err(StorageError::Corrupt {
                column_family: "jmt_nodes",
                ..
            })
        ));
        assert!(matches!(
            storage.get_with_proof(b"a", 0),
            Err(StorageError::Corrupt { .. })
        ));
        let key = layout::encode_node_key(&layout::root_node_key(1));
        db.put_cf(column_family(db, CF_JMT_NODES)?, key, b"\"Null\"")?;
    }
    // The committed root no longer matches the tree: opening says so.
    let error = open(dir.path(), 0)
        .err()
        .ok_or("inconsistent store opened")?;
    assert!(matches!(error, StorageError::NotAStore { .. }), "{error}");
    Ok(())
}

#[test]
fn prefix_scans_return_sorted_pairs_without_deleted_keys() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    apply(
        &storage,
        &changes(&[
            ("acct/carol", Some("3")),
            ("acct/alice", Some("1")),
            ("acct/bob", Some("2")),
            ("acct", Some("root")),
            ("acc", Some("shorter")),
            ("acct0", Some("after")),
            ("stake/alice", Some("9")),
        ]),
        0,
    )?;
    apply(&storage, &changes(&[("acct/bob", None)]), 1)?;
    let pairs = storage.prefix(b"acct/")?;
    let expected = vec![
        (b"acct/alice".to_vec(), b"1".to_vec()),
        (b"acct/carol".to_vec(), b"3".to_vec()),
    ];
    assert_eq!(pairs, expected);
    assert_eq!(storage.prefix(b"")?.len(), 6);
    assert!(storage.prefix(b"zzz")?.is_empty());

    apply(
        &storage,
        &[(vec![0xff, 0xff], value("max")), (vec![0xff], value("ff"))]
            .into_iter()
            .collect(),
        2,
    )?;
    assert_eq!(storage.prefix(&[0xff])?.len(), 2);
    assert_eq!(
        storage.prefix(&[0xff, 0xff])?,
        vec![(vec![0xff, 0xff], b"max".to_vec())]
    );
    Ok(())
}

#[test]
fn the_rightmost_leaf_is_the_leaf_with_the_greatest_key_hash() -> TestResult {
    use jmt::storage::TreeReader;
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 0)?;
    let reader_of = |storage: &Storage| -> anyhow::Result<Option<KeyHash>> {
        let reader = SnapshotReader::new(&storage.inner.db);
        Ok(reader
            .get_rightmost_leaf()?
            .map(|(_, leaf)| leaf.key_hash()))
    };
    assert_eq!(reader_of(&storage)?, None);
    let keys = ["a", "b", "c", "d", "e", "f"];
    let block: Changes = keys
        .iter()
        .map(|key| (key.as_bytes().to_vec(), value("v")))
        .collect();
    apply(&storage, &block, 0)?;
    let greatest = keys.iter().map(KeyHash::with::<Sha256>).max();
    assert_eq!(reader_of(&storage)?, greatest);
    Ok(())
}

#[test]
fn concurrent_readers_see_whole_versions_or_a_pruned_error() -> TestResult {
    let dir = TempDir::new()?;
    let storage = open(dir.path(), 1)?;
    apply(&storage, &changes(&[("k", Some("0"))]), 0)?;
    let reader = storage.clone();
    let reads = std::thread::spawn(move || -> Result<usize, String> {
        let mut verified = 0;
        for _ in 0..300 {
            let Some(committed) = reader.committed() else {
                return Err("no committed version".to_owned());
            };
            match reader.get_with_proof(b"k", committed.version) {
                Ok((found, proof)) => {
                    verify_proof(committed.root, b"k", found.as_deref(), &proof)
                        .map_err(|error| error.to_string())?;
                    verified += 1;
                }
                Err(StorageError::VersionPruned { .. }) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
        Ok(verified)
    });
    for version in 1..150u64 {
        apply(
            &storage,
            &changes(&[("k", Some(&version.to_string()))]),
            version,
        )?;
    }
    let verified = reads.join().map_err(|_| "reader thread panicked")??;
    assert!(verified > 0);
    Ok(())
}

#[test]
fn prefix_end_is_the_first_key_after_the_prefix() {
    assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
    assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
    assert_eq!(prefix_end(&[0xff, 0xff]), None);
    assert_eq!(prefix_end(b""), None);
}

fn arbitrary_blocks() -> impl Strategy<Value = Vec<Vec<(u8, Option<u8>)>>> {
    let change = (0u8..12, proptest::option::of(0u8..4));
    proptest::collection::vec(proptest::collection::vec(change, 0..6), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any history that ends in the same content ends at the same root as
    /// writing that content at once, and every version reads back as written.
    #[test]
    fn the_root_of_any_history_equals_the_root_of_its_final_content(blocks in arbitrary_blocks()) {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            let dir = TempDir::new()?;
            let storage = open(dir.path(), 2)?;
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for (version, block) in blocks.iter().enumerate() {
                let block: Changes = block
                    .iter()
                    .map(|(key, value)| (vec![*key], value.map(|v| vec![v])))
                    .collect();
                for (key, value) in &block {
                    match value {
                        Some(value) => model.insert(key.clone(), value.clone()),
                        None => model.remove(key),
                    };
                }
                apply(&storage, &block, version as u64)?;
                for key in 0u8..12 {
                    assert_eq!(storage.get(&[key])?, model.get(&[key][..]).cloned());
                    assert_eq!(
                        storage.get_at(&[key], version as u64)?,
                        model.get(&[key][..]).cloned()
                    );
                }
            }
            let final_dir = TempDir::new()?;
            let at_once = open(final_dir.path(), 0)?;
            let content: Changes =
                model.iter().map(|(key, value)| (key.clone(), Some(value.clone()))).collect();
            let root = apply(&at_once, &content, 0)?;
            assert_eq!(storage.committed().map(|c| c.root), Some(root));
            Ok(())
        };
        if let Err(error) = run() {
            return Err(TestCaseError::fail(error.to_string()));
        }
    }
}
