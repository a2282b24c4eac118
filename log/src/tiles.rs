//! Hash tiles and entry bundles (C2SP tlog-tiles), computed from the stored
//! nodes and leaves. Paths are parsed by `evident_verify::tiles`.
//!
//! The tile at level `L`, index `N` holds the stored hashes at tree level
//! `8·L`, indices `N·256 … N·256 + W − 1`; a full tile has `W = 256`.

pub use evident_verify::tiles::{TileKind, TilePath, TILE_WIDTH};

use crate::{
    error::{LogError, Result},
    store::Log,
    tree::{HashReader, NodeId},
};

impl Log {
    /// Reads the tile or entry bundle at `path` from the stored tree. It is
    /// available once the tree holds every entry it covers.
    pub fn tile(&self, path: &TilePath) -> Result<Vec<u8>> {
        self.check_fault()?;
        let size = self.size();
        let level = match path.kind {
            TileKind::Hash(l) => u32::from(l) * 8,
            TileKind::Entries => 0,
        };
        let unavailable = || LogError::TileNotAvailable {
            path: path.to_path(),
            size,
        };
        if level >= 64 {
            return Err(unavailable());
        }
        let first = path.index.checked_mul(TILE_WIDTH).ok_or_else(unavailable)?;
        let end = first.checked_add(path.width).ok_or_else(unavailable)?;
        // The last hash must be of a complete subtree within the tree.
        let covered = end.checked_shl(level).filter(|c| c >> level == end);
        if covered.is_none_or(|c| c > size) {
            return Err(unavailable());
        }
        match path.kind {
            TileKind::Hash(_) => {
                let ids: Vec<NodeId> = (first..end).map(|i| NodeId::new(level as u8, i)).collect();
                let reader = crate::store::DbReader {
                    db: self.db().clone(),
                    log: self.id(),
                };
                Ok(reader.read_hashes(&ids)?.concat())
            }
            TileKind::Entries => {
                let mut out = Vec::new();
                for leaf in self.read_leaves(first, end)? {
                    // Appends refuse leaves over u16::MAX bytes.
                    out.extend_from_slice(&(leaf.len() as u16).to_be_bytes());
                    out.extend_from_slice(&leaf);
                }
                Ok(out)
            }
        }
    }
}
