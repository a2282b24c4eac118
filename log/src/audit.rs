//! `audit`: recompute a log's tree from its leaves and compare every stored
//! node, the stored size and every published checkpoint with the result.
//!
//! This is the one place that reads the whole log; serving paths never do.

use std::fmt;

use evident_verify::{
    checkpoint::Checkpoint,
    merkle::{leaf_hash, to_b64, Hash},
};
use rocksdb::{Direction, IteratorMode};

use crate::{
    error::Result,
    store::{node_key, Log},
    tree::{Frontier, NodeId},
};

/// At most this many problems are listed; the count says if there were more.
const MAX_LISTED: usize = 1000;

/// One disagreement found by [`Log::audit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditProblem {
    /// The leaf at `index` is missing although the tree size covers it.
    MissingLeaf {
        /// Leaf index.
        index: u64,
    },
    /// A leaf is stored beyond the committed size.
    ExtraLeaf {
        /// Leaf index.
        index: u64,
    },
    /// A stored node is missing or differs from the one recomputed from the leaves.
    Node {
        /// Tree level (0 is the leaf hash).
        level: u8,
        /// Index in the level.
        index: u64,
        /// What is stored (`None` if missing).
        stored: Option<Hash>,
        /// What the leaves give.
        computed: Hash,
    },
    /// A node is stored for a subtree the tree does not complete.
    ExtraNode {
        /// Tree level.
        level: u8,
        /// Index in the level.
        index: u64,
    },
    /// A published checkpoint's root differs from the recomputed root at its size.
    CheckpointRoot {
        /// Checkpoint size.
        size: u64,
        /// Root in the checkpoint.
        stored: Hash,
        /// Root recomputed from the leaves.
        computed: Hash,
    },
    /// A published checkpoint does not verify or parse.
    CheckpointInvalid {
        /// The size it is stored under.
        size: u64,
        /// Why it is invalid.
        reason: String,
    },
    /// A checkpoint is stored for a size beyond the tree.
    CheckpointBeyondTree {
        /// Checkpoint size.
        size: u64,
    },
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLeaf { index } => write!(f, "leaf {index}: missing"),
            Self::ExtraLeaf { index } => write!(f, "leaf {index}: stored beyond the tree size"),
            Self::Node {
                level,
                index,
                stored: None,
                computed,
            } => write!(
                f,
                "node level {level} index {index}: missing (leaves give {})",
                to_b64(computed)
            ),
            Self::Node {
                level,
                index,
                stored: Some(s),
                computed,
            } => write!(
                f,
                "node level {level} index {index}: stored {} but leaves give {}",
                to_b64(s),
                to_b64(computed)
            ),
            Self::ExtraNode { level, index } => {
                write!(
                    f,
                    "node level {level} index {index}: stored beyond the tree"
                )
            }
            Self::CheckpointRoot {
                size,
                stored,
                computed,
            } => write!(
                f,
                "checkpoint at size {size}: root {} but leaves give {}",
                to_b64(stored),
                to_b64(computed)
            ),
            Self::CheckpointInvalid { size, reason } => {
                write!(f, "checkpoint at size {size}: {reason}")
            }
            Self::CheckpointBeyondTree { size } => {
                write!(f, "checkpoint at size {size}: beyond the tree")
            }
        }
    }
}

/// What an audit checked and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// The log name.
    pub log: String,
    /// The committed size the store records.
    pub size: u64,
    /// Leaves read.
    pub leaves: u64,
    /// Stored nodes compared.
    pub nodes: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The root recomputed from the leaves at `size`.
    pub root: Hash,
    /// Problems found, at most 1000 listed.
    pub problems: Vec<AuditProblem>,
    /// Problems found in all (may exceed the listed ones).
    pub problem_count: u64,
}

impl AuditReport {
    /// True when nothing disagrees.
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    fn add(&mut self, p: AuditProblem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(p);
        }
    }
}

impl Log {
    /// Recomputes the whole tree from the stored leaves and reports every
    /// stored node, leaf and checkpoint that disagrees with it.
    pub fn audit(&self) -> Result<AuditReport> {
        let size = self.size();
        let id = self.id();
        let db = self.db();
        let cf_leaves = db.cf_handle("leaves").expect("leaves");
        let cf_nodes = db.cf_handle("nodes").expect("nodes");
        let cf_cps = db.cf_handle("checkpoints").expect("checkpoints");
        let prefix = id.to_be_bytes();
        let mut report = AuditReport {
            log: self.name().to_owned(),
            size,
            leaves: 0,
            nodes: 0,
            checkpoints: 0,
            root: evident_verify::merkle::empty_root(),
            problems: vec![],
            problem_count: 0,
        };

        // Published checkpoints, by size, checked as the recomputation passes them.
        let mut cps: Vec<(u64, std::result::Result<Checkpoint, String>)> = Vec::new();
        for kv in db.iterator_cf(&cf_cps, IteratorMode::From(&prefix, Direction::Forward)) {
            let (k, v) = kv?;
            if !k.starts_with(&prefix) {
                break;
            }
            let Some(at) = k
                .get(8..16)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                report.add(AuditProblem::CheckpointInvalid {
                    size: u64::MAX,
                    reason: format!("malformed key {k:02x?}"),
                });
                continue;
            };
            let parsed = std::str::from_utf8(&v)
                .map_err(|_| "not UTF-8".to_string())
                .and_then(|s| self.open_note(s).map_err(|e| e.to_string()))
                .and_then(|t| Checkpoint::parse_text(&t).map_err(|e| e.to_string()))
                .and_then(|c| {
                    if c.size != at {
                        Err(format!("stored under size {at} but says size {}", c.size))
                    } else if c.origin != self.origin() {
                        Err(format!("origin {:?} is not this log's", c.origin))
                    } else {
                        Ok(c)
                    }
                });
            cps.push((at, parsed));
        }
        let mut next_cp = 0;
        let mut check_cps = |frontier: &Frontier, report: &mut AuditReport| {
            while next_cp < cps.len() && cps[next_cp].0 <= frontier.size() {
                let (at, parsed) = &cps[next_cp];
                report.checkpoints += 1;
                match parsed {
                    Err(reason) => report.add(AuditProblem::CheckpointInvalid {
                        size: *at,
                        reason: reason.clone(),
                    }),
                    Ok(c) if *at == frontier.size() && c.root != frontier.root() => {
                        report.add(AuditProblem::CheckpointRoot {
                            size: *at,
                            stored: c.root,
                            computed: frontier.root(),
                        })
                    }
                    Ok(_) => {}
                }
                next_cp += 1;
            }
        };

        let mut frontier = Frontier::default();
        let mut pending: Vec<(NodeId, Hash)> = Vec::new();
        let flush = |pending: &mut Vec<(NodeId, Hash)>, report: &mut AuditReport| -> Result<()> {
            let keys: Vec<_> = pending
                .iter()
                .map(|(nid, _)| (&cf_nodes, node_key(id, *nid)))
                .collect();
            for ((nid, computed), got) in pending.iter().zip(db.multi_get_cf(keys)) {
                report.nodes += 1;
                let stored: Option<Hash> = got?.and_then(|v| v.as_slice().try_into().ok());
                if stored != Some(*computed) {
                    report.add(AuditProblem::Node {
                        level: nid.level,
                        index: nid.index,
                        stored,
                        computed: *computed,
                    });
                }
            }
            pending.clear();
            Ok(())
        };
        check_cps(&frontier, &mut report);
        let mut expect = 0u64;
        let mut hole = false;
        for kv in db.iterator_cf(&cf_leaves, IteratorMode::From(&prefix, Direction::Forward)) {
            let (k, v) = kv?;
            if !k.starts_with(&prefix) {
                break;
            }
            let Some(index) = k
                .get(8..16)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                report.add(AuditProblem::ExtraLeaf { index: u64::MAX });
                continue;
            };
            if index >= size {
                report.add(AuditProblem::ExtraLeaf { index });
                continue;
            }
            while expect < index {
                // A hole: the tree cannot be recomputed past it.
                report.add(AuditProblem::MissingLeaf { index: expect });
                expect += 1;
                hole = true;
            }
            if hole {
                expect = index + 1;
                continue;
            }
            report.leaves += 1;
            frontier.push(leaf_hash(&v), |nid, h| pending.push((nid, *h)));
            expect = index + 1;
            if pending.len() >= 4096 {
                flush(&mut pending, &mut report)?;
            }
            check_cps(&frontier, &mut report);
        }
        flush(&mut pending, &mut report)?;
        while expect < size {
            report.add(AuditProblem::MissingLeaf { index: expect });
            expect += 1;
        }
        report.root = frontier.root();
        for (at, _) in &cps[next_cp..] {
            report.checkpoints += 1;
            report.add(AuditProblem::CheckpointBeyondTree { size: *at });
        }
        // Nodes stored for subtrees the tree does not complete.
        for kv in db.iterator_cf(&cf_nodes, IteratorMode::From(&prefix, Direction::Forward)) {
            let (k, _) = kv?;
            if !k.starts_with(&prefix) {
                break;
            }
            if k.len() != 17 {
                continue;
            }
            let level = k[8];
            let index = u64::from_be_bytes(k[9..17].try_into().unwrap_or_default());
            let end = index
                .checked_add(1)
                .and_then(|e| e.checked_shl(u32::from(level)))
                .filter(|e| e >> level == index + 1);
            if end.is_none_or(|e| e > size) {
                report.add(AuditProblem::ExtraNode { level, index });
            }
        }
        Ok(report)
    }
}
