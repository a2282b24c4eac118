//! The `evident-verify` binary against checkpoints and proofs built here with
//! a naive RFC 9162 reference (independent of the log crate's tree code).
//!
//! Steps and expected exit codes:
//! 1. a good checkpoint verifies (0), a tampered one fails (1);
//! 2. every inclusion proof for n ≤ 12 verifies via JSON and tlog-proof (0);
//! 3. every consistency proof for m ≤ n ≤ 12 verifies (0);
//! 4. tampered proofs (flipped hash, wrong index or size, missing or extra
//!    hash) all fail (1) with one line on stderr;
//! 5. the crate's dependency tree has no rocksdb, axum, tokio or hyper.

use std::{path::Path, process::Command};

use ed25519_dalek::SigningKey;
use evident_verify::{
    checkpoint::Checkpoint,
    merkle::{empty_root, leaf_hash, node_hash, Hash},
    note::NoteSigner,
    proof::{encode_hashes, ConsistencyProof, InclusionProof, TlogProof},
};

const ORIGIN: &str = "verify.test/log";

fn mth(l: &[Hash]) -> Hash {
    match l.len() {
        0 => empty_root(),
        1 => l[0],
        n => {
            let k = split(n);
            node_hash(&mth(&l[..k]), &mth(&l[k..]))
        }
    }
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 §2.1.3.1 PATH, straight from the text.
fn path(m: usize, l: &[Hash]) -> Vec<Hash> {
    if l.len() <= 1 {
        return vec![];
    }
    let k = split(l.len());
    if m < k {
        let mut p = path(m, &l[..k]);
        p.push(mth(&l[k..]));
        p
    } else {
        let mut p = path(m - k, &l[k..]);
        p.push(mth(&l[..k]));
        p
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF, straight from the text.
fn subproof(m: usize, l: &[Hash], b: bool) -> Vec<Hash> {
    let n = l.len();
    if m == n {
        return if b { vec![] } else { vec![mth(l)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &l[..k], b);
        p.push(mth(&l[k..]));
        p
    } else {
        let mut p = subproof(m - k, &l[k..], false);
        p.push(mth(&l[..k]));
        p
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    signer: NoteSigner,
    leaves: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
}

impl Fixture {
    fn new(n: usize) -> Self {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| format!("leaf {i}").into_bytes()).collect();
        let hashes = leaves.iter().map(|l| leaf_hash(l)).collect();
        Self {
            dir: tempfile::tempdir().unwrap(),
            signer: NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[5; 32])).unwrap(),
            leaves,
            hashes,
        }
    }

    fn vkey(&self) -> String {
        self.signer.verifier().to_vkey()
    }

    fn checkpoint(&self, size: usize) -> String {
        let text = Checkpoint {
            origin: ORIGIN.into(),
            size: size as u64,
            root: mth(&self.hashes[..size]),
            extensions: vec![],
        }
        .to_text();
        self.signer.sign(&text).unwrap()
    }

    fn write(&self, name: &str, body: impl AsRef<[u8]>) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_string_lossy().into_owned()
    }
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evident-verify"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn checkpoint_good_and_tampered() {
    let f = Fixture::new(5);
    let cp = f.write("cp", f.checkpoint(5));
    let (ok, out, _) = run(&["checkpoint", &cp, "--key", &f.vkey(), "--origin", ORIGIN]);
    assert!(ok, "{out}");
    assert!(out.contains("size   5"));
    let bad = f.write("bad", f.checkpoint(5).replacen("\n5\n", "\n6\n", 1));
    let (ok, _, err) = run(&["checkpoint", &bad, "--key", &f.vkey()]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("does not verify"), "{err}");
    let (ok, _, err) = run(&[
        "checkpoint",
        &cp,
        "--key",
        &f.vkey(),
        "--origin",
        "other/log",
    ]);
    assert!(!ok && err.contains("origin"), "{err}");
    let (ok, _, err) = run(&["checkpoint", &cp, "--key", "junk+1+2"]);
    assert!(!ok && err.contains("verifier key"), "{err}");
}

#[test]
fn every_small_proof_verifies_through_the_binary() {
    let f = Fixture::new(12);
    let key = f.vkey();
    for n in 1..=12usize {
        let cp = f.write(&format!("cp{n}"), f.checkpoint(n));
        for m in 0..n {
            let leaf = f.write(&format!("leaf{m}"), &f.leaves[m]);
            let proof = InclusionProof {
                index: m as u64,
                tree_size: n as u64,
                hashes: encode_hashes(&path(m, &f.hashes[..n])),
            };
            let pj = f.write("p.json", serde_json::to_vec(&proof).unwrap());
            let (ok, out, err) = run(&[
                "inclusion",
                &pj,
                "--key",
                &key,
                "--checkpoint",
                &cp,
                "--leaf",
                &leaf,
            ]);
            assert!(ok, "inclusion {m} in {n}: {out}{err}");
            let tp = TlogProof {
                extra: None,
                index: m as u64,
                hashes: path(m, &f.hashes[..n]),
                checkpoint: f.checkpoint(n),
            };
            let pt = f.write("p.tlog-proof", tp.to_text());
            let (ok, _, err) = run(&["inclusion", &pt, "--key", &key, "--leaf", &leaf]);
            assert!(ok, "tlog-proof {m} in {n}: {err}");
        }
    }
    for n in 1..=12usize {
        let new = f.write(&format!("new{n}"), f.checkpoint(n));
        for m in 1..=n {
            let old = f.write(&format!("old{m}"), f.checkpoint(m));
            let hashes = if m == n {
                vec![]
            } else {
                subproof(m, &f.hashes[..n], true)
            };
            let p = ConsistencyProof {
                old: m as u64,
                new: n as u64,
                hashes: encode_hashes(&hashes),
            };
            let pj = f.write("c.json", serde_json::to_vec(&p).unwrap());
            let (ok, _, err) = run(&[
                "consistency",
                &pj,
                "--key",
                &key,
                "--old",
                &old,
                "--new",
                &new,
            ]);
            assert!(ok, "consistency {m} -> {n}: {err}");
        }
    }
}

#[test]
fn tampered_proofs_fail_with_one_line() {
    let f = Fixture::new(11);
    let key = f.vkey();
    let cp = f.write("cp", f.checkpoint(11));
    let leaf = f.write("leaf", &f.leaves[6]);
    let good = path(6, &f.hashes);
    let mut cases: Vec<(&str, InclusionProof)> = Vec::new();
    let mut flipped = good.clone();
    flipped[1][7] ^= 0x10;
    cases.push((
        "flipped hash",
        InclusionProof {
            index: 6,
            tree_size: 11,
            hashes: encode_hashes(&flipped),
        },
    ));
    cases.push((
        "wrong index",
        InclusionProof {
            index: 5,
            tree_size: 11,
            hashes: encode_hashes(&good),
        },
    ));
    cases.push((
        "wrong size",
        InclusionProof {
            index: 6,
            tree_size: 10,
            hashes: encode_hashes(&good),
        },
    ));
    cases.push((
        "missing hash",
        InclusionProof {
            index: 6,
            tree_size: 11,
            hashes: encode_hashes(&good[..good.len() - 1]),
        },
    ));
    let mut extra = good.clone();
    extra.push(good[0]);
    cases.push((
        "extra hash",
        InclusionProof {
            index: 6,
            tree_size: 11,
            hashes: encode_hashes(&extra),
        },
    ));
    cases.push((
        "index beyond size",
        InclusionProof {
            index: 11,
            tree_size: 11,
            hashes: encode_hashes(&good),
        },
    ));
    for (what, p) in cases {
        let pj = f.write("p.json", serde_json::to_vec(&p).unwrap());
        let (ok, _, err) = run(&[
            "inclusion",
            &pj,
            "--key",
            &key,
            "--checkpoint",
            &cp,
            "--leaf",
            &leaf,
        ]);
        assert!(!ok, "{what} was accepted");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(err.starts_with("\u{2717} FAILED"), "{what}: {err}");
    }
    // Consistency 4 -> 11, tampered every way.
    let old = f.write("old", f.checkpoint(4));
    let good = subproof(4, &f.hashes, true);
    let mut flipped = good.clone();
    flipped[0][0] ^= 1;
    let mut extra = good.clone();
    extra.push(good[0]);
    for (what, hashes, o, n) in [
        ("flipped", flipped, 4, 11),
        ("missing", good[1..].to_vec(), 4, 11),
        ("extra", extra, 4, 11),
        ("wrong old size", good.clone(), 5, 11),
        ("wrong new size", good.clone(), 4, 10),
    ] {
        let p = ConsistencyProof {
            old: o,
            new: n,
            hashes: encode_hashes(&hashes),
        };
        let pj = f.write("c.json", serde_json::to_vec(&p).unwrap());
        let (ok, _, err) = run(&[
            "consistency",
            &pj,
            "--key",
            &key,
            "--old",
            &old,
            "--new",
            &cp,
        ]);
        assert!(!ok, "{what} was accepted");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
    }
    // Right sizes, wrong history: a checkpoint of another tree of size 4,
    // signed by the same key (every Fixture uses it), is not consistent with this one.
    let mut fork = Fixture::new(11);
    fork.hashes[2] = leaf_hash(b"rewritten entry");
    let forked_old = f.write("forked-old", fork.checkpoint(4));
    let p = ConsistencyProof {
        old: 4,
        new: 11,
        hashes: encode_hashes(&good),
    };
    let pj = f.write("c.json", serde_json::to_vec(&p).unwrap());
    let (ok, _, err) = run(&[
        "consistency",
        &pj,
        "--key",
        &key,
        "--old",
        &forked_old,
        "--new",
        &cp,
    ]);
    assert!(!ok && err.contains("root mismatch"), "{err}");
    // Garbage input is a clear failure, never a panic.
    let junk = f.write("junk", b"{not json");
    let (ok, _, err) = run(&[
        "inclusion",
        &junk,
        "--key",
        &key,
        "--checkpoint",
        &cp,
        "--leaf",
        &leaf,
    ]);
    assert!(!ok && err.contains("not a JSON inclusion proof"), "{err}");
}

#[test]
fn dependency_tree_has_no_server_or_storage_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(cargo)
        // Plain `cargo tree`: normal, build and dev dependencies alike.
        .args(["tree", "--prefix", "none", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "evident-verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("evident-verify"), "{tree}");
    for banned in ["rocksdb", "axum", "tokio", "hyper", "reqwest"] {
        assert!(
            !tree.lines().any(|l| l
                .split_whitespace()
                .next()
                .is_some_and(|c| c.starts_with(banned))),
            "evident-verify depends on {banned}:\n{tree}"
        );
    }
}
