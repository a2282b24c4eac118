//! Pure Merkle tree math over stored subtree hashes: which stored nodes a root
//! or a proof needs, and how to fold them. No I/O happens here; storage is
//! reached only through [`HashReader`].
//!
//! A stored node `(level, index)` is the RFC 9162 hash of the complete subtree
//! over leaves `[index << level, (index + 1) << level)`. Only complete subtrees
//! are stored, so a tree of `n` leaves has fewer than `2n` stored nodes, and
//! every hash a root or proof needs is a fold of at most `log2(n)` of them.

use evident_verify::merkle::{empty_root, node_hash, Hash};

use crate::error::{LogError, Result};

/// A complete subtree: `2^level` leaves starting at leaf `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves (0 is a leaf hash).
    pub level: u8,
    /// Position within the level.
    pub index: u64,
}

impl NodeId {
    /// A node id.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

/// Reads stored node hashes. The shape is the algorithm's: every caller
/// first plans the exact node ids it needs, then reads them in one call.
///
/// Implementations MUST return exactly one hash per id, in the order given,
/// and MUST fail with [`LogError::MissingNode`] rather than invent a hash for
/// a node that is not stored. They never return data that was not committed.
pub trait HashReader {
    /// Reads the hashes of `ids`, in order.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>>;
}

/// Splits the leaf range `[start, end)` into maximal aligned complete
/// subtrees, left to right (`evident_verify::merkle::subtrees`).
pub fn subtrees(start: u64, end: u64) -> Vec<NodeId> {
    evident_verify::merkle::subtrees(start, end)
        .into_iter()
        .map(|(level, index)| NodeId::new(level, index))
        .collect()
}

/// Folds subtree hashes (left to right) into one hash, from the right, as
/// MTH does: `H(s0, H(s1, … H(sk-1, sk)))`.
pub fn fold(hashes: &[Hash]) -> Hash {
    let mut it = hashes.iter().rev();
    let Some(last) = it.next() else {
        return empty_root();
    };
    it.fold(*last, |acc, h| node_hash(h, &acc))
}

fn largest_pow2_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// RFC 9162 §2.1.3.1 PATH(m, D[a:b]) as the leaf ranges whose MTHs form the
/// audit path, leaf sibling first.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    fn path(m: u64, a: u64, b: u64, out: &mut Vec<(u64, u64)>) {
        let n = b - a;
        if n <= 1 {
            return;
        }
        let k = largest_pow2_below(n);
        if m < a + k {
            path(m, a, a + k, out);
            out.push((a + k, b));
        } else {
            path(m, a + k, b, out);
            out.push((a, a + k));
        }
    }
    let mut out = Vec::new();
    if index < size {
        path(index, 0, size, &mut out);
    }
    out
}

/// RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as leaf ranges.
pub fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    fn sub(m: u64, a: u64, b: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
        let n = b - a;
        if m == n {
            if !whole {
                out.push((a, b));
            }
            return;
        }
        let k = largest_pow2_below(n);
        if m <= k {
            sub(m, a, a + k, whole, out);
            out.push((a + k, b));
        } else {
            sub(m - k, a + k, b, false, out);
            out.push((a, a + k));
        }
    }
    let mut out = Vec::new();
    if 0 < old && old < new {
        sub(old, 0, new, true, &mut out);
    }
    out
}

/// Reads and folds the MTH of every range with one `read_hashes` call.
pub fn range_hashes(ranges: &[(u64, u64)], reader: &impl HashReader) -> Result<Vec<Hash>> {
    let plans: Vec<Vec<NodeId>> = ranges.iter().map(|&(a, b)| subtrees(a, b)).collect();
    let ids: Vec<NodeId> = plans.iter().flatten().copied().collect();
    let hashes = reader.read_hashes(&ids)?;
    if hashes.len() != ids.len() {
        return Err(LogError::Inconsistent {
            name: String::new(),
            reason: format!(
                "reader returned {} hashes for {} ids",
                hashes.len(),
                ids.len()
            ),
        });
    }
    let mut at = 0;
    Ok(plans
        .iter()
        .map(|p| {
            let h = fold(&hashes[at..at + p.len()]);
            at += p.len();
            h
        })
        .collect())
}

/// The RFC 9162 root of the first `size` leaves.
pub fn root(size: u64, reader: &impl HashReader) -> Result<Hash> {
    if size == 0 {
        return Ok(empty_root());
    }
    Ok(range_hashes(&[(0, size)], reader)?[0])
}

/// The RFC 9162 inclusion proof for leaf `index` in the tree of `size`.
pub fn inclusion_proof(index: u64, size: u64, reader: &impl HashReader) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(LogError::IndexBeyondSize { index, size });
    }
    range_hashes(&inclusion_ranges(index, size), reader)
}

/// The RFC 9162 consistency proof from the tree of `old` to the tree of `new`.
pub fn consistency_proof(old: u64, new: u64, reader: &impl HashReader) -> Result<Vec<Hash>> {
    if old > new {
        return Err(LogError::RangeInverted {
            start: old,
            end: new,
        });
    }
    range_hashes(&consistency_ranges(old, new), reader)
}

/// The right edge of a tree being built: the complete subtrees that make up
/// the first `size` leaves, left to right. Appending a leaf pushes its hash and
/// merges equal-height neighbours, yielding each newly completed node once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeId, Hash)>,
}

impl Frontier {
    /// Rebuilds the frontier of a stored tree of `size` leaves with
    /// at most `log2(size)` reads.
    pub fn load(size: u64, reader: &impl HashReader) -> Result<Self> {
        let ids = subtrees(0, size);
        let hashes = reader.read_hashes(&ids)?;
        Ok(Self {
            size,
            nodes: ids.into_iter().zip(hashes).collect(),
        })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree.
    pub fn root(&self) -> Hash {
        let hs: Vec<Hash> = self.nodes.iter().map(|(_, h)| *h).collect();
        fold(&hs)
    }

    /// Appends a leaf hash; `emit` receives every new stored node: the leaf
    /// itself at level 0, then each parent the append completes.
    pub fn push(&mut self, leaf: Hash, mut emit: impl FnMut(NodeId, &Hash)) {
        let mut id = NodeId::new(0, self.size);
        let mut h = leaf;
        emit(id, &h);
        while let Some((top, th)) = self.nodes.last() {
            if top.level != id.level {
                break;
            }
            h = node_hash(th, &h);
            id = NodeId::new(id.level + 1, top.index >> 1);
            self.nodes.pop();
            emit(id, &h);
        }
        self.nodes.push((id, h));
        self.size += 1;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::{cell::RefCell, collections::HashMap};

    use evident_verify::merkle::{leaf_hash, verify_consistency, verify_inclusion};
    use proptest::prelude::*;

    use super::*;

    /// A stored tree in a map, which also records every read so tests can
    /// assert the access pattern (one call, O(log n) ids).
    #[derive(Default)]
    pub(crate) struct VecStore {
        pub nodes: HashMap<NodeId, Hash>,
        pub reads: RefCell<Vec<usize>>,
        pub frontier: Frontier,
    }

    impl VecStore {
        pub fn with_leaves(n: u64) -> Self {
            let mut s = Self::default();
            for i in 0..n {
                let mut f = std::mem::take(&mut s.frontier);
                f.push(leaf_hash(&i.to_be_bytes()), |id, h| {
                    s.nodes.insert(id, *h);
                });
                s.frontier = f;
            }
            s
        }
    }

    impl HashReader for VecStore {
        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
            self.reads.borrow_mut().push(ids.len());
            ids.iter()
                .map(|id| {
                    self.nodes.get(id).copied().ok_or(LogError::MissingNode {
                        level: id.level,
                        index: id.index,
                    })
                })
                .collect()
        }
    }

    /// Naive recursive MTH straight from RFC 9162 §2.1.1, the reference.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = largest_pow2_below(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// rs_merkle as an independent cross-check: its tree promotes a lone
    /// right node unhashed, which with RFC 6962 domain separation (leaves
    /// pre-hashed with 0x00, inner nodes with 0x01) gives the same root as MTH.
    #[derive(Clone)]
    struct Rfc6962;
    impl rs_merkle::Hasher for Rfc6962 {
        type Hash = [u8; 32];
        fn hash(data: &[u8]) -> [u8; 32] {
            // Called by rs_merkle only through concat_and_hash below.
            use sha2::Digest;
            sha2::Sha256::digest(data).into()
        }
        fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
            match right {
                Some(r) => node_hash(left, r),
                None => *left,
            }
        }
    }

    #[test]
    fn stored_node_count_is_below_2n() {
        let s = VecStore::with_leaves(1000);
        assert!(s.nodes.len() < 2000);
        assert_eq!(
            s.nodes.len(),
            1000 + 500 + 250 + 125 + 62 + 31 + 15 + 7 + 3 + 1
        );
    }

    #[test]
    fn every_proof_up_to_64_verifies() {
        let s = VecStore::with_leaves(64);
        let ls = leaves(64);
        for n in 1..=64u64 {
            let r = root(n, &s).unwrap();
            assert_eq!(r, mth(&ls[..n as usize]));
            for m in 0..n {
                let p = inclusion_proof(m, n, &s).unwrap();
                verify_inclusion(m, n, &ls[m as usize], &p, &r).unwrap();
            }
            for m in 0..=n {
                let p = consistency_proof(m, n, &s).unwrap();
                let or = root(m, &s).unwrap();
                verify_consistency(m, n, &or, &r, &p).unwrap_or_else(|e| panic!("{m}->{n}: {e}"));
            }
        }
    }

    #[test]
    fn proofs_read_once_and_logarithmically() {
        let s = VecStore::with_leaves(1_000);
        s.reads.borrow_mut().clear();
        inclusion_proof(377, 999, &s).unwrap();
        consistency_proof(377, 999, &s).unwrap();
        let reads = s.reads.borrow();
        assert_eq!(reads.len(), 2, "one read_hashes call per proof");
        assert!(reads.iter().all(|&n| n <= 2 * 10), "{reads:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn roots_and_proofs_match_naive_reference(n in 1u64..=1024, a in any::<u64>(), b in any::<u64>()) {
            let s = VecStore::with_leaves(n);
            let ls = leaves(n);
            let want = mth(&ls);
            prop_assert_eq!(root(n, &s).unwrap(), want);
            prop_assert_eq!(s.frontier.root(), want);
            let t = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&ls);
            prop_assert_eq!(t.root().unwrap(), want);
            let m = a % n;
            let size = m + 1 + b % (n - m);
            let r = mth(&ls[..size as usize]);
            let p = inclusion_proof(m, size, &s).unwrap();
            prop_assert!(verify_inclusion(m, size, &ls[m as usize], &p, &r).is_ok());
            let old = b % (size + 1);
            let p = consistency_proof(old, size, &s).unwrap();
            prop_assert!(verify_consistency(old, size, &mth(&ls[..old as usize]), &r, &p).is_ok());
            let f = Frontier::load(size, &s).unwrap();
            prop_assert_eq!(f.root(), r);
        }
    }
}
