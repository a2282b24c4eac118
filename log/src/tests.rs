//! Store-level tests against a real RocksDB in a temporary directory.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use evident_verify::{
    checkpoint::open_checkpoint,
    merkle::{leaf_hash, verify_consistency, verify_inclusion},
};

use crate::{store::node_key, tree::NodeId, AuditProblem, LogError, Store, StoreOptions, TilePath};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}

fn store(dir: &std::path::Path) -> Store {
    Store::open(dir, StoreOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_dense_durable_and_provable() {
    let d = tempfile::tempdir().unwrap();
    let s = store(d.path());
    s.create_log("acme", "ev.example/acme").unwrap();
    let log = Arc::new(s.open_log("acme", &key()).unwrap());
    let mut tasks = Vec::new();
    for w in 0..64u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for n in 0..20u32 {
                let leaf = format!("{w}/{n}").into_bytes();
                got.push((log.append(leaf.clone()).await.unwrap(), leaf));
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    assert_eq!(all.len(), 1280);
    for (i, (idx, _)) in all.iter().enumerate() {
        assert_eq!(*idx, i as u64, "indexes are dense and unique");
    }
    let cp = log.checkpoint().await.unwrap();
    assert_eq!(cp.size, 1280);
    let parsed = open_checkpoint(&cp.note, &log.verifier(), Some("ev.example/acme")).unwrap();
    assert_eq!(parsed.root, cp.root);
    for (idx, leaf) in all.iter().step_by(37) {
        let p = log.inclusion_proof(*idx, cp.size).unwrap();
        verify_inclusion(*idx, cp.size, &leaf_hash(leaf), &p, &cp.root).unwrap();
        assert_eq!(log.entries(*idx, idx + 1, 10).unwrap()[0], *leaf);
    }
    let old = log.root_at(500).unwrap();
    let p = log.consistency_proof(500, 1280).unwrap();
    verify_consistency(500, 1280, &old, &cp.root, &p).unwrap();
    assert!(log.audit().unwrap().is_clean());
}

#[tokio::test]
async fn reopen_keeps_everything_and_stays_consistent() {
    let d = tempfile::tempdir().unwrap();
    let first;
    {
        let s = store(d.path());
        s.create_log("a", "ev.example/a").unwrap();
        let log = s.open_log("a", &key()).unwrap();
        for i in 0..300u32 {
            log.append(i.to_be_bytes().to_vec()).await.unwrap();
        }
        first = log.checkpoint().await.unwrap();
        drop(log);
        s.close().await.unwrap();
    }
    let s = store(d.path());
    let log = s.open_log("a", &key()).unwrap();
    assert_eq!(log.size(), 300);
    assert_eq!(log.latest_published().unwrap(), first);
    assert_eq!(log.append(b"next".to_vec()).await.unwrap(), 300);
    let cp = log.checkpoint().await.unwrap();
    let p = log.consistency_proof(300, 301).unwrap();
    verify_consistency(300, 301, &first.root, &cp.root, &p).unwrap();
    assert_eq!(log.checkpoint_at(300).unwrap().unwrap(), first);
    let sizes: Vec<u64> = log
        .checkpoints(0, 1000)
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert!(sizes.ends_with(&[300, 301]), "{sizes:?}");
}

#[tokio::test]
async fn bad_requests_get_precise_errors() {
    let d = tempfile::tempdir().unwrap();
    let s = store(d.path());
    assert!(matches!(
        s.create_log("Bad Name", "x/y"),
        Err(LogError::BadName { .. })
    ));
    s.create_log("a", "ev.example/a").unwrap();
    assert!(matches!(
        s.create_log("a", "ev.example/a"),
        Err(LogError::LogExists { .. })
    ));
    assert!(matches!(
        s.open_log("nope", &key()),
        Err(LogError::NoSuchLog { .. })
    ));
    let log = s.open_log("a", &key()).unwrap();
    log.append(b"x".to_vec()).await.unwrap();
    assert!(matches!(
        log.inclusion_proof(1, 1),
        Err(LogError::IndexBeyondSize { .. })
    ));
    assert!(matches!(
        log.inclusion_proof(0, 2),
        Err(LogError::SizeBeyondTree { .. })
    ));
    assert!(matches!(
        log.consistency_proof(1, 0),
        Err(LogError::RangeInverted { .. })
    ));
    assert!(matches!(
        log.append(vec![0; crate::MAX_LEAF_BYTES + 1]).await,
        Err(LogError::LeafTooLarge { .. })
    ));
    assert!(matches!(
        log.entries(0, 1, 0),
        Err(LogError::RangeTooLong { .. })
    ));
    assert_eq!(log.size(), 1, "rejected appends leave the log as it was");
}

#[tokio::test]
async fn tiles_match_the_tree() {
    let d = tempfile::tempdir().unwrap();
    let s = store(d.path());
    s.create_log("t", "ev.example/t").unwrap();
    let log = s.open_log("t", &key()).unwrap();
    let n = 256 * 3 + 17;
    for i in 0..n {
        log.append(format!("e{i}").into_bytes()).await.unwrap();
    }
    let full = log.tile(&TilePath::parse("tile/0/001").unwrap()).unwrap();
    assert_eq!(full.len(), 8192);
    assert_eq!(&full[..32], &leaf_hash(b"e256"));
    let partial = log
        .tile(&TilePath::parse("tile/0/003.p/17").unwrap())
        .unwrap();
    assert_eq!(partial.len(), 17 * 32);
    // A level-1 hash is the root of the full level-0 tile below it.
    let l1 = log
        .tile(&TilePath::parse("tile/1/000.p/3").unwrap())
        .unwrap();
    assert_eq!(&l1[32..64], &log_root_of_range(&log, 256, 512));
    let bundle = log
        .tile(&TilePath::parse("tile/entries/003.p/2").unwrap())
        .unwrap();
    assert_eq!(bundle, [&[0, 4][..], b"e768", &[0, 4], b"e769"].concat());
    assert!(matches!(
        log.tile(&TilePath::parse("tile/0/003").unwrap()),
        Err(LogError::TileNotAvailable { .. })
    ));
    assert!(log
        .tile(&TilePath::parse("tile/0/003.p/18").unwrap())
        .is_err());
    assert!(log
        .tile(&TilePath::parse("tile/1/000.p/4").unwrap())
        .is_err());
}

fn log_root_of_range(log: &crate::Log, a: u64, b: u64) -> [u8; 32] {
    let leaves: Vec<_> = log
        .entries(a, b, 1000)
        .unwrap()
        .iter()
        .map(|l| leaf_hash(l))
        .collect();
    let mut level = leaves;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| evident_verify::merkle::node_hash(&c[0], &c[1]))
            .collect();
    }
    level[0]
}

#[tokio::test]
async fn audit_finds_out_of_band_edits_and_the_log_refuses_to_sign() {
    let d = tempfile::tempdir().unwrap();
    {
        let s = store(d.path());
        s.create_log("a", "ev.example/a").unwrap();
        let log = s.open_log("a", &key()).unwrap();
        for i in 0..100u32 {
            log.append(i.to_be_bytes().to_vec()).await.unwrap();
        }
        log.checkpoint().await.unwrap();
        assert!(log.audit().unwrap().is_clean());
        // Out-of-band edits: change a leaf and a stored inner node.
        let db = s.raw();
        let leaves = db.cf_handle("leaves").unwrap();
        let mut k = 1u64.to_be_bytes().to_vec();
        k.extend_from_slice(&7u64.to_be_bytes());
        db.put_cf(&leaves, &k, b"forged").unwrap();
        let nodes = db.cf_handle("nodes").unwrap();
        db.put_cf(&nodes, node_key(1, NodeId::new(3, 5)), [0u8; 32])
            .unwrap();
        let r = log.audit().unwrap();
        assert!(!r.is_clean());
        assert!(
            r.problems.iter().any(|p| matches!(
                p,
                AuditProblem::Node {
                    level: 0,
                    index: 7,
                    ..
                }
            )),
            "{:?}",
            r.problems
        );
        assert!(r.problems.iter().any(|p| matches!(
            p,
            AuditProblem::Node {
                level: 3,
                index: 5,
                ..
            }
        )));
        assert!(r
            .problems
            .iter()
            .any(|p| matches!(p, AuditProblem::CheckpointRoot { size: 100, .. })));
        drop(log);
        s.close().await.unwrap();
    }
    // Damage a node the published checkpoint depends on: reopening detects it
    // and the log refuses to append or sign.
    let s = store(d.path());
    let nodes = s.raw().cf_handle("nodes").unwrap();
    s.raw()
        .put_cf(&nodes, node_key(1, NodeId::new(6, 0)), [1u8; 32])
        .unwrap();
    let log = s.open_log("a", &key()).unwrap();
    assert!(matches!(
        log.append(b"x".to_vec()).await,
        Err(LogError::Inconsistent { .. })
    ));
    assert!(matches!(
        log.checkpoint().await,
        Err(LogError::Inconsistent { .. })
    ));
}

#[tokio::test]
async fn a_forged_checkpoint_makes_the_log_fail_closed() {
    let d = tempfile::tempdir().unwrap();
    {
        let s = store(d.path());
        s.create_log("a", "ev.example/a").unwrap();
        let log = s.open_log("a", &key()).unwrap();
        for i in 0..10u32 {
            log.append(i.to_be_bytes().to_vec()).await.unwrap();
        }
        let cp = log.checkpoint().await.unwrap();
        let forged = cp.note.replacen("\n10\n", "\n11\n", 1);
        let cps = s.raw().cf_handle("checkpoints").unwrap();
        let mut k = 1u64.to_be_bytes().to_vec();
        k.extend_from_slice(&10u64.to_be_bytes());
        s.raw().put_cf(&cps, &k, forged.as_bytes()).unwrap();
        let r = log.audit().unwrap();
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, AuditProblem::CheckpointInvalid { size: 10, .. })),
            "{:?}",
            r.problems
        );
        drop(log);
        s.close().await.unwrap();
    }
    let s = store(d.path());
    let log = s.open_log("a", &key()).unwrap();
    assert!(matches!(
        log.append(b"x".to_vec()).await,
        Err(LogError::Inconsistent { .. })
    ));
    assert!(matches!(
        log.inclusion_proof(0, 10),
        Err(LogError::Inconsistent { .. })
    ));
    assert!(matches!(
        log.tile(&TilePath::parse("tile/0/000.p/10").unwrap()),
        Err(LogError::Inconsistent { .. })
    ));
    assert!(matches!(
        log.checkpoint_at(10),
        Err(LogError::Inconsistent { .. })
    ));
    assert_eq!(log.size(), 10, "nothing stored was lost");
    assert!(
        !log.audit().unwrap().is_clean(),
        "a faulted log can still be audited"
    );
}

#[tokio::test]
async fn close_finishes_queued_work_and_releases_the_database() {
    let d = tempfile::tempdir().unwrap();
    let s = store(d.path());
    s.create_log("a", "ev.example/a").unwrap();
    let log = s.open_log("a", &key()).unwrap();
    let pending = {
        let log = log.clone();
        tokio::spawn(async move { log.append(b"queued".to_vec()).await })
    };
    assert_eq!(pending.await.unwrap().unwrap(), 0);
    // A live handle keeps the database open, and close says so.
    assert!(matches!(
        s.clone().close().await,
        Err(LogError::InUse { .. })
    ));
    assert!(matches!(
        log.append(b"late".to_vec()).await,
        Err(LogError::Closed { .. })
    ));
    drop(log);
    // The failed close stopped the integrators; this clone now closes cleanly.
    s.close().await.unwrap();
    let s = store(d.path());
    let log = s.open_log("a", &key()).unwrap();
    assert_eq!(log.entries(0, 1, 1).unwrap(), vec![b"queued".to_vec()]);
    assert_eq!(log.size(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_appends_record_their_own_index_in_the_same_batch() {
    let d = tempfile::tempdir().unwrap();
    let s = store(d.path());
    s.create_log("acme", "ev.example/acme").unwrap();
    let log = Arc::new(s.open_log("acme", &key()).unwrap());
    // Many concurrent appenders, so several land in one batch.
    let mut tasks = Vec::new();
    for w in 0..32u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let leaves = vec![format!("{w}/a").into_bytes(), format!("{w}/b").into_bytes()];
            let key = format!("idx/{w}").into_bytes();
            let i = log
                .append_indexed(
                    leaves,
                    vec![(format!("rec/{w}").into_bytes(), Some(vec![1]))],
                    vec![key.clone()],
                )
                .await
                .unwrap();
            (w, i)
        }));
    }
    for t in tasks {
        let (w, i) = t.await.unwrap();
        let stored = s.app_get(format!("idx/{w}").as_bytes()).unwrap().unwrap();
        assert_eq!(u64::from_be_bytes(stored.try_into().unwrap()), i);
        assert_eq!(
            log.entries(i, i + 1, 1).unwrap()[0],
            format!("{w}/a").into_bytes()
        );
        assert!(s.app_get(format!("rec/{w}").as_bytes()).unwrap().is_some());
    }
}

/// A rekey: the checkpoint that covers the rekey entry is signed by the old
/// key, later ones by the new key; old checkpoints still read after a
/// reopen with the history, and the audit stays clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_signs_the_move_with_the_old_key_and_later_checkpoints_with_the_new() {
    let d = tempfile::tempdir().unwrap();
    let old = key();
    let new = SigningKey::from_bytes(&[4; 32]);
    let (before, moved);
    {
        let s = store(d.path());
        s.create_log("a", "ev.example/a").unwrap();
        let log = s.open_log("a", &old).unwrap();
        log.append(b"one".to_vec()).await.unwrap();
        before = log.checkpoint().await.unwrap();
        let (i, cp) = log
            .rekey(
                new.clone(),
                Box::new(|at| {
                    assert_eq!(at, 1, "built with the index its leaf gets");
                    Ok((vec![b"moved".to_vec()], Vec::new()))
                }),
            )
            .await
            .unwrap();
        assert_eq!(i, 1);
        assert_eq!(cp.size, 2);
        moved = cp;
        let old_v =
            evident_verify::note::NoteVerifier::new("ev.example/a", old.verifying_key()).unwrap();
        assert!(open_checkpoint(&moved.note, &old_v, None).is_ok());
        assert!(open_checkpoint(&moved.note, &log.verifier(), None).is_err());
        log.append(b"three".to_vec()).await.unwrap();
        let after = log.checkpoint().await.unwrap();
        assert!(open_checkpoint(&after.note, &log.verifier(), None).is_ok());
        assert!(open_checkpoint(&after.note, &old_v, None).is_err());
        assert_eq!(log.previous_verifiers(), vec![old_v]);
        drop(log);
        s.close().await.unwrap();
    }
    let s = store(d.path());
    let log = s
        .open_log_with_history("a", &new, &[old.verifying_key()])
        .unwrap();
    assert_eq!(log.checkpoint_at(1).unwrap().unwrap(), before);
    assert_eq!(log.checkpoint_at(2).unwrap().unwrap(), moved);
    assert!(log.audit().unwrap().is_clean());
    drop(log);
    s.close().await.unwrap();
    // Without the history, the old checkpoints do not verify: the log
    // fails closed rather than trusting them.
    let s = store(d.path());
    let log = s.open_log("a", &new).unwrap();
    assert!(log.checkpoint_at(1).is_err());
}

/// Counts leaves by their first byte, with their length as the sum and
/// their second byte (if any) as a member.
struct ByFirstByte;

impl crate::Indexer for ByFirstByte {
    fn keys(&self, _: &str, _: &[u8]) -> Vec<Vec<u8>> {
        Vec::new()
    }

    fn counters(&self, log: &str, leaf: &[u8]) -> Vec<(Vec<u8>, crate::Counter)> {
        let mut k = format!("{log}/").into_bytes();
        k.push(leaf[0]);
        let member = leaf.get(1..2);
        vec![(k, crate::Counter::add([1, leaf.len() as u64], member))]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_summed_in_the_append_batch_and_survive_a_reopen() {
    let d = tempfile::tempdir().unwrap();
    let mut want = std::collections::BTreeMap::<u8, crate::Counter>::new();
    {
        let s = store(d.path()).with_indexer(Arc::new(ByFirstByte));
        s.create_log("acme", "ev.example/acme").unwrap();
        let log = Arc::new(s.open_log("acme", &key()).unwrap());
        // Concurrent appends land in shared batches: several adds to one
        // key in one batch must all count.
        let mut tasks = Vec::new();
        for w in 0..16u8 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..25u8 {
                    let mut leaf = vec![b'a' + (w + n) % 3; 1 + usize::from(n % 7)];
                    if leaf.len() > 1 {
                        leaf[1] = b'0' + n % 4;
                    }
                    log.append(leaf).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for w in 0..16u8 {
            for n in 0..25u8 {
                let e = want.entry(b'a' + (w + n) % 3).or_default();
                e.tally[0] += 1;
                e.tally[1] += 1 + u64::from(n % 7);
                if n % 7 > 0 {
                    e.members.insert(vec![b'0' + n % 4]);
                }
            }
        }
        // A backfill adds through the same merge, with an app write.
        s.add_counters(
            &[(b"acme/z".to_vec(), crate::Counter::add([2, 10], Some(b"m")))],
            &[(b"marker".to_vec(), Some(vec![1]))],
        )
        .unwrap();
        s.add_counters(
            &[(b"acme/z".to_vec(), crate::Counter::add([1, 5], Some(b"k")))],
            &[],
        )
        .unwrap();
        want.insert(
            b'z',
            crate::Counter {
                tally: [3, 15],
                members: [b"k".to_vec(), b"m".to_vec()].into(),
            },
        );
        drop(log);
        s.close().await.unwrap();
    }
    let s = store(d.path());
    let mut got = std::collections::BTreeMap::new();
    s.counters_in(b"acme/", b"acme0", |k, c| {
        got.insert(*k.last().unwrap(), c.to_counter());
        true
    })
    .unwrap();
    assert_eq!(got, want);
    assert_eq!(s.app_get(b"marker").unwrap(), Some(vec![1]));
    // Another log's counters are another range.
    let mut other = 0;
    s.counters_in(b"globex/", b"globex0", |_, _| {
        other += 1;
        true
    })
    .unwrap();
    assert_eq!(other, 0);
}
