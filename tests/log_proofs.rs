//! Every inclusion and consistency proof for all m ≤ n ≤ 64 from a real
//! RocksDB log, checked by evident-verify, by the evident-verify binary (a
//! sample), and by the Go reference (golang.org/x/mod/sumdb/tlog and note).

mod common;

use ed25519_dalek::SigningKey;
use evident_log::{Store, StoreOptions};
use evident_verify::{
    checkpoint::Checkpoint,
    merkle::{leaf_hash, verify_consistency, verify_inclusion},
    note::NoteSigner,
    proof::{encode_hashes, ConsistencyProof, InclusionProof},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_proofs_up_to_64_verify_and_tampering_fails() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(&d.path().join("db"), StoreOptions::default()).unwrap();
    store.create_log("p", "proofs.test/p").unwrap();
    let key = SigningKey::from_bytes(&[9; 32]);
    let log = store.open_log("p", &key).unwrap();
    let signer = NoteSigner::new("proofs.test/p", key).unwrap();
    let vkey = signer.verifier().to_vkey();
    let leaves: Vec<Vec<u8>> = (0..64)
        .map(|i| format!("{{\"entry\":{i}}}").into_bytes())
        .collect();
    for l in &leaves {
        log.append(l.clone()).await.unwrap();
    }
    let roots: Vec<_> = (0..=64).map(|n| log.root_at(n).unwrap()).collect();
    let cp_file = |n: u64| {
        let text = Checkpoint {
            origin: "proofs.test/p".into(),
            size: n,
            root: roots[n as usize],
            extensions: vec![],
        }
        .to_text();
        common::write(d.path(), &format!("cp{n}"), signer.sign(&text).unwrap())
    };
    let mut checked = 0;
    for n in 1..=64u64 {
        for m in 0..n {
            let p = log.inclusion_proof(m, n).unwrap();
            verify_inclusion(
                m,
                n,
                &leaf_hash(&leaves[m as usize]),
                &p,
                &roots[n as usize],
            )
            .unwrap();
            // Tampering: flipped hash, wrong index, wrong size, missing and extra hash.
            let lh = leaf_hash(&leaves[m as usize]);
            if !p.is_empty() {
                let mut f = p.clone();
                f[p.len() / 2][0] ^= 1;
                assert!(verify_inclusion(m, n, &lh, &f, &roots[n as usize]).is_err());
                assert!(verify_inclusion(m, n, &lh, &p[1..], &roots[n as usize]).is_err());
            }
            let mut extra = p.clone();
            extra.push(roots[n as usize]);
            assert!(verify_inclusion(m, n, &lh, &extra, &roots[n as usize]).is_err());
            assert!(
                verify_inclusion((m + 1) % n, n, &lh, &p, &roots[n as usize]).is_err() || n == 1
            );
            // A wrong size is judged against that size's root, as a checkpoint binds them.
            if n < 64 {
                assert!(verify_inclusion(m, n + 1, &lh, &p, &roots[n as usize + 1]).is_err());
            }
            checked += 1;
        }
        for m in 0..=n {
            let p = log.consistency_proof(m, n).unwrap();
            verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &p)
                .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
            if !p.is_empty() {
                let mut f = p.clone();
                f[0][31] ^= 0x40;
                assert!(
                    verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &f).is_err()
                );
                assert!(verify_consistency(
                    m,
                    n,
                    &roots[m as usize],
                    &roots[n as usize],
                    &p[..p.len() - 1]
                )
                .is_err());
                let mut extra = p.clone();
                extra.push(roots[0]);
                assert!(
                    verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &extra)
                        .is_err()
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 2080 + 2144);

    // The binary and the Go reference on a spread of sizes.
    for (m, n) in [
        (0u64, 1u64),
        (3, 7),
        (6, 8),
        (31, 33),
        (32, 64),
        (63, 64),
        (17, 50),
    ] {
        let cp = cp_file(n);
        let leaf = common::write(d.path(), "leaf", &leaves[m as usize]);
        let proof = InclusionProof {
            index: m,
            tree_size: n,
            hashes: encode_hashes(&log.inclusion_proof(m, n).unwrap()),
        };
        let pj = common::write(d.path(), "incl.json", serde_json::to_vec(&proof).unwrap());
        let (ok, out, err) = common::verify(&[
            "inclusion",
            &pj,
            "--key",
            &vkey,
            "--checkpoint",
            &cp,
            "--leaf",
            &leaf,
        ]);
        assert!(ok, "evident-verify inclusion {m}/{n}: {out}{err}");
        let (ok, out) = common::go_verify(&["inclusion", &vkey, &cp, &leaf, &pj]);
        assert!(ok, "Go tlog.CheckRecord {m}/{n}: {out}");
        if m > 0 {
            let old = cp_file(m);
            let c = ConsistencyProof {
                old: m,
                new: n,
                hashes: encode_hashes(&log.consistency_proof(m, n).unwrap()),
            };
            let cj = common::write(d.path(), "cons.json", serde_json::to_vec(&c).unwrap());
            let (ok, out, err) = common::verify(&[
                "consistency",
                &cj,
                "--key",
                &vkey,
                "--old",
                &old,
                "--new",
                &cp,
            ]);
            assert!(ok, "evident-verify consistency {m}->{n}: {out}{err}");
            let (ok, out) = common::go_verify(&["consistency", &vkey, &old, &cp, &cj]);
            assert!(ok, "Go tlog.CheckTree {m}->{n}: {out}");
        }
    }
    // And the Go reference rejects a tampered proof too.
    let cp = cp_file(40);
    let leaf = common::write(d.path(), "leaf", &leaves[9]);
    let mut bad = log.inclusion_proof(9, 40).unwrap();
    bad[2][5] ^= 1;
    let pj = common::write(
        d.path(),
        "bad.json",
        serde_json::to_vec(&InclusionProof {
            index: 9,
            tree_size: 40,
            hashes: encode_hashes(&bad),
        })
        .unwrap(),
    );
    assert!(!common::go_verify(&["inclusion", &vkey, &cp, &leaf, &pj]).0);
    assert!(
        !common::verify(&[
            "inclusion",
            &pj,
            "--key",
            &vkey,
            "--checkpoint",
            &cp,
            "--leaf",
            &leaf
        ])
        .0
    );
}
