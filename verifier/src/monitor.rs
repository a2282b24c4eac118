//! Following a log from outside (`evident-verify monitor`): each signed
//! checkpoint the log publishes must extend the last one the monitor
//! verified. The monitor keeps, per log, the verified checkpoint and the
//! tree's frontier at its size (the hashes of its maximal complete
//! subtrees, at most 64). A larger checkpoint is accepted only if the
//! frontier, extended by the complete subtrees over the new leaves (read
//! from the log's C2SP tlog-tiles), folds to the root it signs: then the
//! new tree contains the old one unchanged, which is what a consistency
//! proof shows, with hashes the monitor computed itself. Consistency with
//! every earlier checkpoint follows, since each step was checked.
//!
//! A fork is reported with both checkpoints as evidence: a second
//! checkpoint at the verified size with another root, a smaller one (a log
//! never shrinks), or a larger one whose tiles do not extend the verified
//! tree to its root. A bad signature or an unreadable tile is an error, not
//! a fork: it proves nothing about the log's history.
//!
//! The tiles are fetched through [`TileSource`], so the logic here stays a
//! pure function of bytes; the binary supplies an HTTP source.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{
    checkpoint::open_checkpoint,
    merkle::{fold_subtrees, node_hash, parse_hash, push_subtree, subtrees, to_b64, Hash},
    note::NoteVerifier,
    tiles::{TileKind, TilePath, TILE_WIDTH},
};

/// The `format` of a monitor's state file.
pub const STATE_FORMAT: &str = "evident-monitor-state/v1";

/// What a monitor remembers of one log between runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// [`STATE_FORMAT`].
    pub format: String,
    /// The log's origin line.
    pub origin: String,
    /// The latest verified checkpoint, the whole signed note.
    pub checkpoint: String,
    /// Its tree size.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The hashes (base64) of the maximal complete subtrees of `[0, size)`,
    /// left to right: one per set bit of `size`, largest first.
    pub frontier: Vec<String>,
}

/// Where the monitor reads tiles from.
pub trait TileSource {
    /// The bytes of the tile at `path` (for example `tile/0/x001/234.p/7`).
    fn tile(&mut self, path: &TilePath) -> Result<Vec<u8>, String>;
}

/// What one step of the monitor found.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The first checkpoint seen: its tiles agree with its root.
    First {
        /// Its size.
        size: u64,
    },
    /// The same checkpoint (size and root) as the verified one.
    Unchanged {
        /// The size.
        size: u64,
    },
    /// The log grew consistently.
    Grew {
        /// The verified size before.
        from: u64,
        /// The new verified size.
        to: u64,
    },
}

/// Why a step failed.
#[derive(Debug, PartialEq, Eq)]
pub enum MonitorError {
    /// The log showed two histories: `verified` and `offered` cannot both
    /// be checkpoints of one append-only log.
    Fork {
        /// What makes them a fork.
        reason: String,
        /// The checkpoint verified earlier (the whole note).
        verified: String,
        /// The checkpoint offered now (the whole note).
        offered: String,
    },
    /// Anything else: a bad signature, another origin, a tile that could
    /// not be read or has the wrong length, a damaged state.
    Failed(String),
}

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fork { reason, .. } => write!(f, "fork detected: {reason}"),
            Self::Failed(e) => f.write_str(e),
        }
    }
}

fn failed(e: impl std::fmt::Display) -> MonitorError {
    MonitorError::Failed(e.to_string())
}

/// Reads node hashes out of tiles of one tree size, fetching each tile once.
struct TileHashes<'a, S: TileSource> {
    source: &'a mut S,
    size: u64,
    tiles: HashMap<(u8, u64), Vec<u8>>,
}

impl<S: TileSource> TileHashes<'_, S> {
    /// The hash of the complete subtree `(level, index)` of the tree of
    /// `self.size` leaves: its `2^(level mod 8)` hashes at the tile level
    /// below it, folded.
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, MonitorError> {
        let tile_level = level / 8;
        let base = u32::from(tile_level) * 8;
        let r = u32::from(level % 8);
        let first = index << r;
        let (k, offset) = (first / TILE_WIDTH, (first % TILE_WIDTH) as usize);
        let stored = self.size >> base;
        let width = (stored - k * TILE_WIDTH).min(TILE_WIDTH);
        if !self.tiles.contains_key(&(tile_level, k)) {
            let path = TilePath {
                kind: TileKind::Hash(tile_level),
                index: k,
                width,
            };
            // A log may drop a partial tile once the full one exists
            // (C2SP tlog-tiles): then its first `width` hashes serve.
            let bytes = match self.source.tile(&path) {
                Ok(b) => b,
                Err(e) if width < TILE_WIDTH => {
                    let full = TilePath {
                        width: TILE_WIDTH,
                        ..path
                    };
                    match self.source.tile(&full) {
                        Ok(b) if b.len() as u64 == TILE_WIDTH * 32 => {
                            b[..(width * 32) as usize].to_vec()
                        }
                        _ => return Err(MonitorError::Failed(e)),
                    }
                }
                Err(e) => return Err(MonitorError::Failed(e)),
            };
            if bytes.len() as u64 != width * 32 {
                return Err(failed(format!(
                    "{} has {} bytes, not {} ({width} hashes)",
                    path.to_path(),
                    bytes.len(),
                    width * 32
                )));
            }
            self.tiles.insert((tile_level, k), bytes);
        }
        let tile = &self.tiles[&(tile_level, k)];
        let mut row: Vec<Hash> = tile[offset * 32..(offset + (1 << r)) * 32]
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32-byte chunks"))
            .collect();
        while row.len() > 1 {
            row = row
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
        }
        Ok(row[0])
    }
}

/// Checks the checkpoint `note` (signed by `key`) against the verified
/// `state` (none on a first run), reading tiles from `source`; returns the
/// new state and what happened. The state is advanced only by a checkpoint
/// proved consistent with it.
pub fn step(
    state: Option<&State>,
    note: &str,
    key: &NoteVerifier,
    source: &mut impl TileSource,
) -> Result<(State, Step), MonitorError> {
    if let Some(s) = state {
        if s.format != STATE_FORMAT {
            return Err(failed(format!(
                "the monitor state is {:?}, not {STATE_FORMAT}",
                s.format
            )));
        }
    }
    let cp = open_checkpoint(note, key, state.map(|s| s.origin.as_str()))
        .map_err(|e| failed(format!("the offered checkpoint: {e}")))?;
    let fork = |reason: String, s: &State| MonitorError::Fork {
        reason,
        verified: s.checkpoint.clone(),
        offered: note.to_owned(),
    };
    // The verified tree as its complete subtrees.
    let (from, mut stack) = match state {
        None => (0, Vec::new()),
        Some(s) => {
            let frontier = s
                .frontier
                .iter()
                .map(|h| parse_hash(h))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| failed(format!("the monitor state's frontier: {e}")))?;
            let levels: Vec<u32> = (0..64u32).rev().filter(|b| s.size >> b & 1 == 1).collect();
            if levels.len() != frontier.len() {
                return Err(failed(format!(
                    "the monitor state's frontier has {} hashes; size {} needs {}",
                    frontier.len(),
                    s.size,
                    levels.len()
                )));
            }
            let stack: Vec<(u32, Hash)> = levels.into_iter().zip(frontier).collect();
            if to_b64(&fold_subtrees(&stack)) != s.root {
                return Err(failed(
                    "the monitor state's frontier does not fold to its root; it was altered",
                ));
            }
            if cp.size < s.size {
                return Err(fork(
                    format!(
                        "the log offers a checkpoint of size {} after one of size {} was verified; a log never shrinks",
                        cp.size, s.size
                    ),
                    s,
                ));
            }
            if cp.size == s.size {
                if to_b64(&cp.root) != s.root {
                    return Err(fork(
                        format!(
                            "two checkpoints of size {} with different roots ({} verified, {} offered)",
                            cp.size,
                            s.root,
                            to_b64(&cp.root)
                        ),
                        s,
                    ));
                }
                return Ok((s.clone(), Step::Unchanged { size: s.size }));
            }
            (s.size, stack)
        }
    };
    let mut tiles = TileHashes {
        source,
        size: cp.size,
        tiles: HashMap::new(),
    };
    for (level, index) in subtrees(from, cp.size) {
        let h = tiles.node(level, index)?;
        push_subtree(&mut stack, u32::from(level), h);
    }
    let root = fold_subtrees(&stack);
    if root != cp.root {
        return Err(match state {
            Some(s) => fork(
                format!(
                    "the checkpoint of size {} is not consistent with the verified one of size {}: the verified tree extended by the log's tiles has root {}, the checkpoint signs {}",
                    cp.size,
                    s.size,
                    to_b64(&root),
                    to_b64(&cp.root)
                ),
                s,
            ),
            None => failed(format!(
                "the log's tiles give root {} for size {}, the checkpoint signs {}",
                to_b64(&root),
                cp.size,
                to_b64(&cp.root)
            )),
        });
    }
    let next = State {
        format: STATE_FORMAT.into(),
        origin: cp.origin,
        checkpoint: note.to_owned(),
        size: cp.size,
        root: to_b64(&root),
        frontier: stack.iter().map(|(_, h)| to_b64(h)).collect(),
    };
    Ok((
        next,
        match state {
            None => Step::First { size: cp.size },
            Some(_) => Step::Grew { from, to: cp.size },
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{checkpoint::Checkpoint, merkle::leaf_hash, note::NoteSigner};

    /// A log held in memory: leaf hashes, signed by one key; serves tiles
    /// the way the server does (hashes at level 8L, any width it holds).
    struct MemLog {
        leaves: Vec<Hash>,
        fetched: usize,
    }

    impl MemLog {
        fn new(tag: &str, n: usize) -> Self {
            Self {
                leaves: (0..n)
                    .map(|i| leaf_hash(format!("{tag}{i}").as_bytes()))
                    .collect(),
                fetched: 0,
            }
        }

        fn hash(&self, level: u32, index: u64) -> Hash {
            let mut row: Vec<Hash> =
                self.leaves[(index << level) as usize..((index + 1) << level) as usize].to_vec();
            while row.len() > 1 {
                row = row
                    .chunks_exact(2)
                    .map(|p| node_hash(&p[0], &p[1]))
                    .collect();
            }
            row[0]
        }

        fn root(&self) -> Hash {
            crate::merkle::reference::root(&self.leaves)
        }
    }

    impl TileSource for MemLog {
        fn tile(&mut self, path: &TilePath) -> Result<Vec<u8>, String> {
            self.fetched += 1;
            let TileKind::Hash(l) = path.kind else {
                return Err("not a hash tile".into());
            };
            let level = u32::from(l) * 8;
            let end = (path.index * TILE_WIDTH + path.width) << level;
            if end > self.leaves.len() as u64 {
                return Err(format!("{} is not available", path.to_path()));
            }
            Ok(
                (path.index * TILE_WIDTH..path.index * TILE_WIDTH + path.width)
                    .flat_map(|i| self.hash(level, i))
                    .collect(),
            )
        }
    }

    fn signer_from(seed: u8) -> NoteSigner {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        NoteSigner::new("monitor.test/log", key).unwrap()
    }

    fn signer() -> (NoteSigner, NoteVerifier) {
        let s = signer_from(9);
        let v = s.verifier().clone();
        (s, v)
    }

    fn sign(s: &NoteSigner, size: u64, root: Hash) -> String {
        let body = Checkpoint {
            origin: "monitor.test/log".into(),
            size,
            root,
            extensions: vec![],
        }
        .to_text();
        s.sign(&body).unwrap()
    }

    fn at(log: &MemLog, s: &NoteSigner, n: usize) -> (MemLog, String) {
        let l = MemLog {
            leaves: log.leaves[..n].to_vec(),
            fetched: 0,
        };
        let note = sign(s, n as u64, l.root());
        (l, note)
    }

    #[test]
    fn follows_an_honest_log_at_every_pair_of_sizes() {
        let (s, v) = signer();
        let full = MemLog::new("e", 70_000);
        for (a, b) in [
            (1, 2),
            (3, 4),
            (5, 300),
            (255, 256),
            (256, 257),
            (1, 65_537),
            (65_536, 65_537),
            (12_345, 70_000),
            (7, 7),
        ] {
            let (mut la, na) = at(&full, &s, a);
            let (st, first) = step(None, &na, &v, &mut la).unwrap();
            assert_eq!(first, Step::First { size: a as u64 });
            let (mut lb, nb) = at(&full, &s, b);
            let (st2, grew) = step(Some(&st), &nb, &v, &mut lb).unwrap();
            if a == b {
                assert_eq!(grew, Step::Unchanged { size: a as u64 });
            } else {
                assert_eq!(
                    grew,
                    Step::Grew {
                        from: a as u64,
                        to: b as u64
                    }
                );
            }
            assert_eq!(st2.size, b as u64);
            // The frontier is what a first run at b computes.
            let (mut lb2, _) = at(&full, &s, b);
            let (fresh, _) = step(None, &nb, &v, &mut lb2).unwrap();
            assert_eq!(st2.frontier, fresh.frontier, "{a}→{b}");
            // A monitor reads O(log n) tiles, not every leaf.
            assert!(lb.fetched <= 2 * 3 + 2, "{a}→{b}: {} tiles", lb.fetched);
        }
    }

    #[test]
    fn a_fork_at_a_larger_size_is_detected_with_both_checkpoints() {
        let (s, v) = signer();
        let honest = MemLog::new("e", 600);
        let (mut l, n) = at(&honest, &s, 300);
        let (st, _) = step(None, &n, &v, &mut l).unwrap();
        // The fork shares the first 299 entries, then differs.
        let mut forked = MemLog::new("e", 600);
        forked.leaves[299] = leaf_hash(b"rewritten");
        for size in [300usize, 301, 512, 600] {
            let (mut lf, nf) = at(&forked, &s, size);
            match step(Some(&st), &nf, &v, &mut lf) {
                Err(MonitorError::Fork {
                    reason,
                    verified,
                    offered,
                }) => {
                    assert_eq!(verified, n);
                    assert_eq!(offered, nf);
                    if size == 300 {
                        assert!(reason.contains("two checkpoints of size 300"), "{reason}");
                    } else {
                        assert!(reason.contains("not consistent"), "{reason}");
                    }
                }
                other => panic!("{size}: {other:?}"),
            }
        }
        // A smaller checkpoint is a rollback.
        let (mut ls, ns) = at(&honest, &s, 299);
        match step(Some(&st), &ns, &v, &mut ls) {
            Err(MonitorError::Fork { reason, .. }) => assert!(reason.contains("never shrinks")),
            other => panic!("{other:?}"),
        }
    }

    /// A log that has dropped its partial tiles serves the full tile; the
    /// monitor takes the hashes it needs from it.
    #[test]
    fn a_dropped_partial_tile_is_read_from_the_full_one() {
        struct FullOnly(MemLog);
        impl TileSource for FullOnly {
            fn tile(&mut self, path: &TilePath) -> Result<Vec<u8>, String> {
                let full = TilePath {
                    width: TILE_WIDTH,
                    ..*path
                };
                if !path.is_full() && self.0.tile(&full).is_ok() {
                    return Err(format!("{} is gone", path.to_path()));
                }
                self.0.tile(path)
            }
        }
        let (s, v) = signer();
        let full = MemLog::new("e", 600);
        // The checkpoint is at 300, but the log has grown to 600: the
        // partial tile 0/001.p/44 is gone, the full 0/001 exists.
        let note = sign(&s, 300, at(&full, &s, 300).0.root());
        let mut src = FullOnly(MemLog::new("e", 600));
        let (st, _) = step(None, &note, &v, &mut src).unwrap();
        assert_eq!(st.size, 300);
        assert_eq!(st.frontier.len(), 300u64.count_ones() as usize);
        // A source that has neither fails, as an error, not a fork.
        struct Nothing;
        impl TileSource for Nothing {
            fn tile(&mut self, path: &TilePath) -> Result<Vec<u8>, String> {
                Err(format!("{} is gone", path.to_path()))
            }
        }
        assert!(matches!(
            step(None, &note, &v, &mut Nothing),
            Err(MonitorError::Failed(ref e)) if e.contains("is gone")
        ));
    }

    #[test]
    fn errors_that_prove_nothing_are_not_forks() {
        let (s, v) = signer();
        let log = MemLog::new("e", 40);
        let (mut l, n) = at(&log, &s, 20);
        let (st, _) = step(None, &n, &v, &mut l).unwrap();
        // Another key's checkpoint.
        let other = signer_from(8);
        let (mut l2, _) = at(&log, &s, 40);
        let bad = sign(&other, 40, l2.root());
        assert!(matches!(
            step(Some(&st), &bad, &v, &mut l2),
            Err(MonitorError::Failed(_))
        ));
        // A tile of the wrong length.
        struct Short;
        impl TileSource for Short {
            fn tile(&mut self, _: &TilePath) -> Result<Vec<u8>, String> {
                Ok(vec![0; 31])
            }
        }
        let good = sign(&s, 40, l2.root());
        let e = step(Some(&st), &good, &v, &mut Short).unwrap_err();
        assert!(e.to_string().contains("bytes, not"), "{e}");
        // An altered state.
        let mut altered = st.clone();
        altered.frontier[0] = to_b64(&[0; 32]);
        let e = step(Some(&altered), &good, &v, &mut l2).unwrap_err();
        assert!(e.to_string().contains("altered"), "{e}");
        // A first run whose tiles disagree with the checkpoint.
        let e = step(None, &sign(&s, 40, [1; 32]), &v, &mut l2).unwrap_err();
        assert!(matches!(e, MonitorError::Failed(ref m) if m.contains("tiles give root")));
    }
}
