//! RFC 9162 (RFC 6962) Merkle tree hashing and proof verification.
//!
//! Only SHA-256 is used, as tlog-checkpoint and tlog-tiles require. The
//! verification algorithms follow RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency) step by step, so a reader can hold the two side by side.

use sha2::{Digest, Sha256};

use crate::VerifyError;

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// RFC 9162 §2.1.1: the hash of the empty tree is SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// RFC 9162 §2.1.1: `MTH({d(0)}) = SHA-256(0x00 || d(0))`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

/// RFC 9162 §2.1.1: `SHA-256(0x01 || MTH(left) || MTH(right))`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Standard base64 (RFC 4648 §4) of a hash, as checkpoints and proofs carry it.
pub fn to_b64(h: &Hash) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// Parses a hash given as standard base64 or as 64 hex digits.
pub fn parse_hash(s: &str) -> Result<Hash, VerifyError> {
    use base64::Engine as _;
    let s = s.trim();
    let bytes = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(s).map_err(|e| bad_hash(s, e.to_string()))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| bad_hash(s, format!("not base64: {e}")))?
    };
    <Hash>::try_from(bytes.as_slice())
        .map_err(|_| bad_hash(s, format!("{} bytes, a SHA-256 hash has 32", bytes.len())))
}

fn bad_hash(s: &str, reason: String) -> VerifyError {
    VerifyError::BadHash {
        value: s.chars().take(80).collect(),
        reason,
    }
}

/// The number of hashes in an inclusion proof for `index` in a tree of `size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    // The path has one hash per level where the leaf's ancestor has a sibling:
    // the bits of the index below the highest bit where index and last differ,
    // plus the levels above that where the right edge still has a node.
    let last = size - 1;
    let inner = (64 - (index ^ last).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    inner + border
}

/// RFC 9162 §2.1.3.2: recompute the root from a leaf hash and its audit path.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexBeyondSize { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(VerifyError::ProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(VerifyError::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if &computed != root {
        return Err(VerifyError::RootMismatch {
            expected: to_b64(root),
            computed: to_b64(&computed),
        });
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: verify that the tree of size `old` with `old_root` is a
/// prefix of the tree of size `new` with `new_root`.
///
/// `old == new` holds with an empty proof when the roots are equal; `old == 0`
/// holds with an empty proof for any new tree (every tree extends the empty
/// one), provided `old_root` is the empty-tree hash.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old > new {
        return Err(VerifyError::SizesInverted { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(VerifyError::ProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        // With no proof, the old root is implied: the empty tree's, or the new root.
        let implied = if old == 0 { empty_root() } else { *new_root };
        if implied != *old_root {
            return Err(VerifyError::OldRootMismatch {
                expected: to_b64(old_root),
                computed: to_b64(&implied),
            });
        }
        return Ok(());
    }
    let expected = consistency_proof_len(old, new);
    if proof.len() != expected {
        return Err(VerifyError::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    // Step 2: if the old size is a power of two, the old root is the first node.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    // Steps 3–4.
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (path[0], path[0]);
    // Step 6.
    for c in &path[1..] {
        if snode == 0 {
            return Err(VerifyError::ProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(VerifyError::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    if &fr != old_root {
        return Err(VerifyError::OldRootMismatch {
            expected: to_b64(old_root),
            computed: to_b64(&fr),
        });
    }
    if &sr != new_root {
        return Err(VerifyError::RootMismatch {
            expected: to_b64(new_root),
            computed: to_b64(&sr),
        });
    }
    Ok(())
}

/// The number of hashes in a consistency proof from `old` to `new` (0 < old < new).
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == 0 || old >= new {
        return 0;
    }
    // Strip the levels where the old tree's right edge is a complete subtree:
    // those nodes are implied by the old root and never sent.
    let shift = old.trailing_zeros();
    let (o, n) = ((old - 1) >> shift, (new - 1) >> shift);
    let inner = (64 - (o ^ n).leading_zeros()) as usize;
    let border = (o >> inner).count_ones() as usize;
    // When old is a power of two the old root itself starts the path and is not sent.
    let start = usize::from(!old.is_power_of_two());
    start + inner + border
}

/// Splits the leaf range `[start, end)` into maximal aligned complete
/// subtrees, left to right, as `(level, index)`: the subtree over leaves
/// `[index << level, (index + 1) << level)`. For the ranges that RFC 9162's
/// MTH recursion produces (the start is a multiple of the largest power of
/// two not above the length), folding these from the right gives
/// `MTH(D[start:end])`; for `[0, n)` they are the tree's frontier.
pub fn subtrees(mut start: u64, end: u64) -> Vec<(u8, u64)> {
    let mut out = Vec::new();
    while start < end {
        let len = end - start;
        // The largest level whose subtree is aligned at `start` and fits.
        let align = if start == 0 {
            63
        } else {
            start.trailing_zeros()
        };
        let fit = 63 - len.leading_zeros();
        let level = align.min(fit);
        out.push((level as u8, start >> level));
        start += 1 << level;
    }
    out
}

/// The root of the tree of `start + leaves.len()` leaves, from the
/// frontier of the tree of `start` leaves and the hashes of the leaves that
/// follow it. The frontier is the maximal complete subtrees of `[0, start)`,
/// left to right (one per set bit of `start`, largest first), as a log
/// serves them. Comparing the result with a signed checkpoint's root proves
/// that exactly these leaves occupy `[start, size)` of that tree: nothing
/// dropped, added or reordered (the hashes are collision-resistant).
pub fn root_from_frontier(
    start: u64,
    frontier: &[Hash],
    leaves: &[Hash],
) -> Result<Hash, VerifyError> {
    if frontier.len() != start.count_ones() as usize {
        return Err(VerifyError::ProofLength {
            expected: start.count_ones() as usize,
            got: frontier.len(),
        });
    }
    // (level, hash) of each complete subtree, left to right.
    let mut stack: Vec<(u32, Hash)> = Vec::with_capacity(64);
    let levels = (0..64u32).rev().filter(|b| start >> b & 1 == 1);
    for (level, h) in levels.zip(frontier) {
        stack.push((level, *h));
    }
    for leaf in leaves {
        push_subtree(&mut stack, 0, *leaf);
    }
    Ok(fold_subtrees(&stack))
}

/// Appends the complete subtree `(level, hash)` to a tree held as its
/// complete subtrees `(level, hash)`, left to right, merging equal levels.
/// The subtree must start where the tree ends (aligned to its size), as the
/// pieces of [`subtrees`] do.
pub(crate) fn push_subtree(stack: &mut Vec<(u32, Hash)>, mut level: u32, mut h: Hash) {
    while let Some((top, th)) = stack.last() {
        if *top != level {
            break;
        }
        h = node_hash(th, &h);
        level += 1;
        stack.pop();
    }
    stack.push((level, h));
}

/// RFC 9162 MTH of a tree held as its complete subtrees, left to right:
/// folded from the right.
pub(crate) fn fold_subtrees(stack: &[(u32, Hash)]) -> Hash {
    let mut it = stack.iter().rev();
    let Some((_, last)) = it.next() else {
        return empty_root();
    };
    it.fold(*last, |acc, (_, h)| node_hash(h, &acc))
}

/// The naive RFC 9162 definitions (MTH and PATH), for tests elsewhere in
/// this crate to build trees and proofs from.
#[cfg(test)]
pub(crate) mod reference {
    use super::*;

    /// RFC 9162 §2.1.1 MTH of leaf hashes.
    pub(crate) fn root(l: &[Hash]) -> Hash {
        match l.len() {
            0 => empty_root(),
            1 => l[0],
            n => {
                let k = split(n);
                node_hash(&root(&l[..k]), &root(&l[k..]))
            }
        }
    }

    fn split(n: usize) -> usize {
        1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
    }

    /// RFC 9162 §2.1.3.1 PATH(m, D[n]), leaf to root.
    pub(crate) fn inclusion_proof(l: &[Hash], m: usize) -> Vec<Hash> {
        if l.len() <= 1 {
            return Vec::new();
        }
        let k = split(l.len());
        if m < k {
            let mut p = inclusion_proof(&l[..k], m);
            p.push(root(&l[k..]));
            p
        } else {
            let mut p = inclusion_proof(&l[k..], m - k);
            p.push(root(&l[..k]));
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root from a frontier and a range agrees with the naive RFC 9162
    /// MTH for every split of trees up to 70 leaves.
    #[test]
    fn roots_from_a_frontier_and_a_range_match_the_naive_root() {
        fn mth(l: &[Hash]) -> Hash {
            match l.len() {
                0 => empty_root(),
                1 => l[0],
                n => {
                    let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                    node_hash(&mth(&l[..k]), &mth(&l[k..]))
                }
            }
        }
        fn frontier(l: &[Hash]) -> Vec<Hash> {
            let mut out = Vec::new();
            let mut at = 0;
            for b in (0..64).rev() {
                if l.len() >> b & 1 == 1 {
                    out.push(mth(&l[at..at + (1 << b)]));
                    at += 1 << b;
                }
            }
            out
        }
        let all: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 0..all.len() {
            for a in 0..=n {
                let got = root_from_frontier(a as u64, &frontier(&all[..a]), &all[a..n]).unwrap();
                assert_eq!(got, mth(&all[..n]), "split {a} of {n}");
            }
        }
        // A reordered, dropped or wrong frontier gives another root.
        let f = frontier(&all[..5]);
        let mut swapped = all[5..9].to_vec();
        swapped.swap(0, 1);
        assert_ne!(root_from_frontier(5, &f, &swapped).unwrap(), mth(&all[..9]));
        assert_ne!(
            root_from_frontier(5, &f, &all[5..8]).unwrap(),
            mth(&all[..9])
        );
        assert!(root_from_frontier(5, &f[..1], &all[5..9]).is_err());
    }

    /// RFC 6962 test data (the Certificate Transparency reference leaves).
    const LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    /// Roots of the trees of sizes 1..=8 over [`LEAVES`].
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// `(index, size, path)` inclusion vectors.
    const INCLUSION: &[(u64, u64, &[&str])] = &[
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// `(old, new, proof)` consistency vectors.
    const CONSISTENCY: &[(u64, u64, &[&str])] = &[
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    fn h(s: &str) -> Hash {
        parse_hash(s).unwrap()
    }

    fn mth(leaves: &[&[u8]]) -> Hash {
        // Naive RFC 9162 §2.1.1 reference.
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(leaves[0]),
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn empty_tree_root() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn known_roots() {
        for (i, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(mth(&LEAVES[..=i])), *want, "size {}", i + 1);
        }
    }

    #[test]
    fn known_inclusion_proofs_verify() {
        for (index, size, path) in INCLUSION {
            let proof: Vec<Hash> = path.iter().map(|s| h(s)).collect();
            let root = h(ROOTS[*size as usize - 1]);
            verify_inclusion(
                *index,
                *size,
                &leaf_hash(LEAVES[*index as usize]),
                &proof,
                &root,
            )
            .unwrap_or_else(|e| panic!("({index},{size}): {e}"));
            assert_eq!(inclusion_proof_len(*index, *size), proof.len());
        }
    }

    #[test]
    fn known_consistency_proofs_verify() {
        for (old, new, path) in CONSISTENCY {
            let proof: Vec<Hash> = path.iter().map(|s| h(s)).collect();
            let o = h(ROOTS[*old as usize - 1]);
            let n = h(ROOTS[*new as usize - 1]);
            verify_consistency(*old, *new, &o, &n, &proof)
                .unwrap_or_else(|e| panic!("({old},{new}): {e}"));
            if old != new {
                assert_eq!(consistency_proof_len(*old, *new), proof.len());
            }
        }
    }

    #[test]
    fn tampered_vectors_fail() {
        let (index, size, path) = INCLUSION[2];
        let mut proof: Vec<Hash> = path.iter().map(|s| h(s)).collect();
        let root = h(ROOTS[size as usize - 1]);
        let leaf = leaf_hash(LEAVES[index as usize]);
        proof[1][0] ^= 1;
        assert!(matches!(
            verify_inclusion(index, size, &leaf, &proof, &root),
            Err(VerifyError::RootMismatch { .. })
        ));
        proof[1][0] ^= 1;
        assert!(verify_inclusion(index + 1, size, &leaf, &proof, &root).is_err());
        // A wrong size is caught against that size's root (a checkpoint binds the two).
        let root7 = h(ROOTS[size as usize - 2]);
        assert!(verify_inclusion(index, size - 1, &leaf, &proof, &root7).is_err());
        assert!(verify_inclusion(index, size, &leaf, &proof[..2], &root).is_err());
        let mut longer = proof.clone();
        longer.push(root);
        assert!(verify_inclusion(index, size, &leaf, &longer, &root).is_err());
        assert!(matches!(
            verify_inclusion(8, 8, &leaf, &proof, &root),
            Err(VerifyError::IndexBeyondSize { .. })
        ));

        let (old, new, path) = CONSISTENCY[2];
        let mut proof: Vec<Hash> = path.iter().map(|s| h(s)).collect();
        let o = h(ROOTS[old as usize - 1]);
        let n = h(ROOTS[new as usize - 1]);
        proof[0][31] ^= 0x80;
        assert!(verify_consistency(old, new, &o, &n, &proof).is_err());
        proof[0][31] ^= 0x80;
        assert!(verify_consistency(old - 1, new, &o, &n, &proof).is_err());
        assert!(verify_consistency(old, new, &n, &o, &proof).is_err());
        assert!(matches!(
            verify_consistency(new, old, &o, &n, &proof),
            Err(VerifyError::SizesInverted { .. })
        ));
    }

    #[test]
    fn parse_hash_accepts_hex_and_base64_and_rejects_junk() {
        let hx = ROOTS[0];
        let b = to_b64(&h(hx));
        assert_eq!(parse_hash(&b).unwrap(), h(hx));
        assert!(parse_hash("not base64!").is_err());
        assert!(parse_hash("AAAA").is_err());
    }
}
