//! Crash recovery: `synod-app` is killed with SIGKILL at random points (also
//! between FinalizeBlock and Commit) at least 20 times while blocks stream in;
//! each restart handshakes through Info, replays the missing blocks, and the
//! final app hash equals an uninterrupted run's.

#![allow(clippy::unwrap_used)]

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use synod_abci_app::{
    testkit::{AppProcess, TestChain, TestNet, TxFuzzer, CHAIN_ID},
    BlockInput,
};
use synod_protocol::params::ChainParams;

const BIN: &str = env!("CARGO_BIN_EXE_synod-app");
const BLOCKS: usize = 150;
const MIN_KILLS: usize = 20;

fn sigkill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status();
}

#[test]
fn sigkilled_app_recovers_and_reaches_the_uninterrupted_app_hash() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 8, ChainParams::default());

    // The uninterrupted run.
    let mut reference = TestChain::start(&dir.path().join("reference"), net.clone()).unwrap();
    let mut fuzz = TxFuzzer::new(1234, &net);
    let mut blocks: Vec<BlockInput> = Vec::new();
    let mut expected = vec![reference.app.info().unwrap().1];
    for h in 0..BLOCKS {
        let block = reference.next_block(fuzz.block(5 + h % 20));
        expected.push(reference.apply(&block).unwrap().app_hash);
        blocks.push(block);
    }

    let home = dir.path().join("crashing");
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let mut kills = 0usize;
    let mut finished = false;
    let mut restarts = 0usize;
    while !(finished && kills >= MIN_KILLS) {
        restarts += 1;
        assert!(restarts < 400, "no progress after {restarts} restarts");
        let mut app = AppProcess::start(BIN.as_ref(), &home, Duration::from_secs(30)).unwrap();
        let mut client = app.client().unwrap();
        let info = client.info().unwrap();
        let height = info.last_block_height as usize;
        if height == 0 {
            // CometBFT calls InitChain whenever the app reports height 0.
            let init = client
                .init_chain(CHAIN_ID, &net.app_state_json(), 1)
                .unwrap();
            assert_eq!(init.app_hash.as_ref(), expected[0].as_slice());
        } else {
            assert_eq!(
                info.last_block_app_hash.as_ref(),
                expected[height].as_slice(),
                "wrong hash after restart at {height}"
            );
        }
        if finished {
            // Extra kills at rest, to reach the minimum count.
            app.kill();
            kills += 1;
            continue;
        }

        // Either a timer kills the process at a random moment, or we kill it
        // ourselves right after a FinalizeBlock, before its Commit. The timer
        // starts after this run's first commit, so every run makes progress
        // however slow the machine is.
        let between_finalize_and_commit = rng.gen_bool(0.3);
        let kill_after_block = height + 1 + rng.gen_range(0..8);
        let stop = Arc::new(AtomicBool::new(false));
        let (arm, armed) = std::sync::mpsc::channel::<()>();
        let timer = (!between_finalize_and_commit).then(|| {
            let (pid, stop, delay) = (app.pid(), stop.clone(), rng.gen_range(5..120));
            std::thread::spawn(move || {
                if armed.recv().is_err() {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(delay));
                if !stop.load(Ordering::SeqCst) {
                    sigkill(pid);
                    return true;
                }
                false
            })
        });

        let mut killed_by_us = false;
        for (i, block) in blocks.iter().enumerate().skip(height) {
            let r = client.finalize_block(
                block.height.value() as i64,
                &block.txs,
                block.proposer_address.unwrap(),
                &block.votes,
                &[],
            );
            let Ok(out) = r else { break };
            assert_eq!(
                out.app_hash.as_ref(),
                expected[i + 1].as_slice(),
                "FinalizeBlock hash differs at {}",
                i + 1
            );
            if between_finalize_and_commit && i + 1 == kill_after_block {
                app.kill();
                killed_by_us = true;
                break;
            }
            if client.commit().is_err() {
                break;
            }
            let _ = arm.send(());
            if i + 1 == BLOCKS {
                finished = true;
            }
        }
        stop.store(true, Ordering::SeqCst);
        drop(arm);
        let timer_killed = timer.map(|t| t.join().unwrap()).unwrap_or(false);
        if killed_by_us || timer_killed {
            kills += 1;
        }
        app.kill();
    }

    let app = AppProcess::start(BIN.as_ref(), &home, Duration::from_secs(30)).unwrap();
    let info = app.client().unwrap().info().unwrap();
    assert_eq!(info.last_block_height as usize, BLOCKS);
    assert_eq!(
        info.last_block_app_hash.as_ref(),
        expected[BLOCKS].as_slice()
    );
    assert!(kills >= MIN_KILLS, "only {kills} kills");
    eprintln!("recovered from {kills} SIGKILLs over {restarts} restarts");
}
