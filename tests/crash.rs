//! Crash test: a child process appends under load and prints every
//! acknowledged index; it is killed with SIGKILL at random moments.
//!
//! After each kill the test reopens the store and checks that
//! 1. every acknowledged index is present with its exact bytes;
//! 2. `audit` is clean;
//! 3. the newest checkpoint is consistent with every checkpoint any
//!    incarnation published before it.
//!
//! `EVIDENT_CRASH_CYCLES` sets the number of cycles (default 20; try 100).

mod common;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::SigningKey;
use evident::cli::ops::CRASH_LOG_KEY;
use evident_log::{Store, StoreOptions};
use evident_verify::{
    checkpoint::open_checkpoint, merkle::verify_consistency, note::NoteVerifier, Hash,
};
use rand::Rng;

#[test]
fn acknowledged_entries_survive_sigkill() {
    let cycles: usize = std::env::var("EVIDENT_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("db");
    let key = SigningKey::from_bytes(&CRASH_LOG_KEY);
    let verifier = NoteVerifier::new("crash.test/crash", key.verifying_key()).unwrap();
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut checkpoints: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut rng = rand::thread_rng();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for cycle in 0..cycles {
        let mut child = Command::new(common::evident_bin())
            .args(["debug", "crash-writer", "--writers", "32", "--data-dir"])
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            // Only whole lines: a kill can cut the last one short.
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            while r.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
                if buf.ends_with(b"\n") {
                    let _ = tx.send(String::from_utf8_lossy(&buf[..buf.len() - 1]).into_owned());
                }
                buf.clear();
            }
        });
        // Let it start, then kill at a random moment of its run.
        let run_for = Duration::from_millis(rng.gen_range(80..600));
        let start = Instant::now();
        let mut started = false;
        while start.elapsed() < run_for + Duration::from_secs(if started { 0 } else { 20 }) {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(5)) {
                started |= l.starts_with("start ");
                record(&l, &mut acked, &mut checkpoints, &verifier);
                if started && start.elapsed() >= run_for {
                    break;
                }
            }
        }
        assert!(started, "cycle {cycle}: the writer never started");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        for l in rx.try_iter() {
            record(&l, &mut acked, &mut checkpoints, &verifier);
        }

        // Reopen and check everything.
        rt.block_on(async {
            let store = Store::open(&db, StoreOptions::default()).unwrap();
            let log = store.open_log("crash", &key).unwrap();
            let size = log.size();
            let max_acked = acked.keys().next_back().copied().unwrap_or(0);
            assert!(
                acked.is_empty() || size > max_acked,
                "cycle {cycle}: size {size} lost acknowledged index {max_acked}"
            );
            let ids: Vec<u64> = acked.keys().copied().collect();
            for chunk in ids.chunks(1000) {
                let (a, b) = (chunk[0], chunk[chunk.len() - 1] + 1);
                let got = log.entries(a, b, b - a).unwrap();
                for i in chunk {
                    assert_eq!(
                        got[(i - a) as usize],
                        acked[i].as_bytes(),
                        "cycle {cycle}: entry {i} changed"
                    );
                }
            }
            let report = log.audit().unwrap();
            assert!(
                report.is_clean(),
                "cycle {cycle}: audit: {:?}",
                report.problems
            );
            let newest = log.checkpoint().await.unwrap();
            for (&s, root) in &checkpoints {
                assert!(
                    s <= newest.size,
                    "cycle {cycle}: checkpoint {s} is beyond the tree {}",
                    newest.size
                );
                let p = log.consistency_proof(s, newest.size).unwrap();
                verify_consistency(s, newest.size, root, &newest.root, &p).unwrap_or_else(|e| {
                    panic!(
                        "cycle {cycle}: checkpoint {s} inconsistent with {}: {e}",
                        newest.size
                    )
                });
            }
            checkpoints.insert(newest.size, newest.root);
            // Release the database before the next writer starts.
            drop(log);
            store.close().await.unwrap();
        });
    }
    assert!(
        acked.len() > cycles * 10,
        "only {} entries were acknowledged in {cycles} cycles",
        acked.len()
    );
    eprintln!(
        "{cycles} SIGKILL cycles, {} acknowledged entries, {} checkpoints: all intact",
        acked.len(),
        checkpoints.len()
    );
}

fn record(
    line: &str,
    acked: &mut BTreeMap<u64, String>,
    cps: &mut BTreeMap<u64, Hash>,
    v: &NoteVerifier,
) {
    if let Some(rest) = line.strip_prefix("ack ") {
        let (i, leaf) = rest.split_once(' ').expect("ack <index> <leaf>");
        let i: u64 = i.parse().unwrap();
        if let Some(prev) = acked.insert(i, leaf.to_owned()) {
            assert_eq!(
                prev, leaf,
                "index {i} acknowledged twice with different bytes"
            );
        }
    } else if let Some(b64) = line.strip_prefix("cp ") {
        let note = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        let cp = open_checkpoint(&note, v, Some("crash.test/crash"))
            .expect("published checkpoints verify");
        if let Some(prev) = cps.insert(cp.size, cp.root) {
            assert_eq!(
                prev, cp.root,
                "two different checkpoints at size {}",
                cp.size
            );
        }
    }
}
