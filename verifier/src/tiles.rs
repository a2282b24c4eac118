//! C2SP tlog-tiles paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`.
//!
//! `<N>` is split into three-digit groups, all but the last prefixed with
//! `x` (1234067 is `x001/x234/067`); `.p/<W>` marks a partial tile of width
//! 1 to 255. Parsing accepts only the canonical form, so one tile has one path.

use crate::VerifyError;

/// Hashes per full tile (tile height 8).
pub const TILE_WIDTH: u64 = 256;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// A hash tile at this level.
    Hash(u8),
    /// An entry bundle.
    Entries,
}

/// A parsed tile path `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    /// Hash tile or entry bundle.
    pub kind: TileKind,
    /// Tile index within its level.
    pub index: u64,
    /// Width: 256 for a full tile, 1..=255 for a partial one.
    pub width: u64,
}

fn bad(path: &str, reason: &str) -> VerifyError {
    VerifyError::BadTilePath {
        path: path.chars().take(200).collect(),
        reason: reason.into(),
    }
}

impl TilePath {
    /// Parses a path relative to the log prefix, e.g. `tile/0/x001/234.p/7`.
    pub fn parse(path: &str) -> Result<Self, VerifyError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad(path, "does not start with tile/"))?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or_else(|| bad(path, "no index after the level"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            // tlog-tiles: a decimal 0..=63 with no leading zeroes.
            let l: u8 = parse_decimal(level)
                .filter(|l| *l <= 63)
                .ok_or_else(|| bad(path, "level must be 0 to 63 or \"entries\""))?
                as u8;
            TileKind::Hash(l)
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = parse_decimal(w)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(|| bad(path, "partial width must be 1 to 255"))?;
                (i, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let elems: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (i, e) in elems.iter().enumerate() {
            let last = i + 1 == elems.len();
            let digits = if last {
                *e
            } else {
                e.strip_prefix('x')
                    .ok_or_else(|| bad(path, "all but the last index element start with x"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(path, "index elements are three digits"));
            }
            let d: u64 = digits.parse().map_err(|_| bad(path, "bad digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(|| bad(path, "index overflows"))?;
        }
        // The encoding is canonical: no leading zero elements.
        let canonical = Self { kind, index, width }.to_path();
        if canonical != path {
            return Err(bad(path, "index is not in canonical form"));
        }
        Ok(Self { kind, index, width })
    }

    /// Formats the path, e.g. `tile/entries/x001/x234/067.p/8`.
    pub fn to_path(&self) -> String {
        let level = match self.kind {
            TileKind::Hash(l) => l.to_string(),
            TileKind::Entries => "entries".into(),
        };
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let mut s = format!("tile/{level}/");
        for (i, g) in groups.iter().rev().enumerate() {
            if i + 1 < groups.len() {
                s.push_str(&format!("x{g:03}/"));
            } else {
                s.push_str(&format!("{g:03}"));
            }
        }
        if self.width < TILE_WIDTH {
            s.push_str(&format!(".p/{}", self.width));
        }
        s
    }

    /// Whether the tile is full.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for (p, kind, index, width) in [
            ("tile/0/000", TileKind::Hash(0), 0, 256),
            ("tile/1/x001/x234/067", TileKind::Hash(1), 1_234_067, 256),
            ("tile/entries/x001/234.p/7", TileKind::Entries, 1234, 7),
            ("tile/63/999.p/255", TileKind::Hash(63), 999, 255),
        ] {
            let t = TilePath::parse(p).unwrap();
            assert_eq!(t, TilePath { kind, index, width });
            assert_eq!(t.to_path(), p);
        }
    }

    #[test]
    fn bad_paths_are_rejected() {
        for p in [
            "",
            "tile/",
            "tile/0/",
            "tile/64/000",
            "tile/00/000",
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/entries/abc",
            "tiles/0/000",
        ] {
            assert!(TilePath::parse(p).is_err(), "{p}");
        }
    }
}
