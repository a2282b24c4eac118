//! Download statistics: one counter per day and *cell* (product, tag, who,
//! artefact, format, channel), holding how many downloads and how many
//! bytes. Each `download_served` or `share_link_used` entry adds to its
//! cell in the batch that appends it (the log store merges the adds, see
//! `evident_log::Indexer::counters`), so a statistics query reads the cells
//! of its days, never the log. `evident log audit` recounts every cell from
//! the log and compares ([`Db::stats_check`]).
//!
//! "Who" is the customer id, `link:<id>` for a share link, or empty for a
//! tenant or operator token.
//!
//! Logs written before the counters existed are counted once by a job at
//! start ([`Db::stats_backfill`]): at open, before anything is appended,
//! [`Db::stats_prepare`] stores the size the batches start counting from;
//! the job counts the entries below it a page at a time, each page's adds
//! and its progress in one batch, so a crash never counts an entry twice.

use std::collections::BTreeMap;

use evident_log::{AppOp, Log, Tally};
use serde_json::Value;

use super::Db;
use crate::core::Error;

/// One cell of the statistics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    /// Days since 1970-01-01 (UTC).
    pub day: u32,
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// The customer id, `link:<id>` for a share link, or empty.
    pub who: String,
    /// `export`, `notice`, `kit`, `signature`, …
    pub artifact: String,
    /// The format, or empty.
    pub format: String,
    /// `customer_token`, `sso`, `share_link`, `tenant_token` or `operator`.
    pub channel: String,
}

impl Cell {
    /// The customer, when a customer downloaded.
    pub fn customer(&self) -> Option<&str> {
        (!self.who.is_empty() && !self.who.starts_with("link:")).then_some(self.who.as_str())
    }
}

/// The cell an entry counts in, and the bytes it served; `None` for an
/// entry that is not a download.
pub fn cell_of(entry: &Value) -> Option<(Cell, u64)> {
    let e = &entry["event"];
    let kind = e["kind"].as_str()?;
    let time = evident_verify::audit::unix_seconds(entry["time"].as_str()?).ok()?;
    let day = u32::try_from(time.div_euclid(86_400)).ok()?;
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let actor = &entry["actor"];
    let (who, channel) = match kind {
        "download_served" => {
            let channel = match (actor["type"].as_str(), actor["subject"]["type"].as_str()) {
                (Some("customer"), Some("oidc")) => "sso",
                (Some("customer"), _) => "customer_token",
                (Some("operator"), _) => "operator",
                _ => "tenant_token",
            };
            (s(&e["customer_id"]), channel)
        }
        "share_link_used" => (format!("link:{}", s(&e["link_id"])), "share_link"),
        _ => return None,
    };
    Some((
        Cell {
            day,
            product: s(&e["product"]),
            tag: s(&e["tag"]),
            who,
            artifact: s(&e["artifact"]),
            format: s(&e["format"]),
            channel: channel.into(),
        },
        e["bytes"].as_u64().unwrap_or(0),
    ))
}

/// `stats/<tenant>` NUL: the start of a tenant's cells.
fn prefix(tenant: &str) -> Vec<u8> {
    let mut k = format!("stats/{tenant}").into_bytes();
    k.push(0);
    k
}

/// The key of `c` in `tenant`'s statistics: the prefix, the day (4 bytes,
/// big-endian, so days sort), then each field with a 2-byte length.
pub fn cell_key(tenant: &str, c: &Cell) -> Vec<u8> {
    let mut k = prefix(tenant);
    k.extend_from_slice(&c.day.to_be_bytes());
    for f in [
        &c.product,
        &c.tag,
        &c.who,
        &c.artifact,
        &c.format,
        &c.channel,
    ] {
        let n = u16::try_from(f.len()).unwrap_or(u16::MAX);
        k.extend_from_slice(&n.to_be_bytes());
        k.extend_from_slice(&f.as_bytes()[..usize::from(n)]);
    }
    k
}

fn decode(tenant: &str, key: &[u8]) -> Option<Cell> {
    let rest = key.strip_prefix(prefix(tenant).as_slice())?;
    let day = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let mut rest = &rest[4..];
    let mut f = Vec::with_capacity(6);
    for _ in 0..6 {
        let n = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
        f.push(String::from_utf8(rest.get(2..2 + n)?.to_vec()).ok()?);
        rest = &rest[2 + n..];
    }
    let mut f = f.into_iter();
    let mut next = || f.next().unwrap_or_default();
    Some(Cell {
        day,
        product: next(),
        tag: next(),
        who: next(),
        artifact: next(),
        format: next(),
        channel: next(),
    })
}

/// The counter adds of one leaf of `tenant`'s log (the indexer's).
pub fn counters(tenant: &str, leaf: &Value) -> Vec<(Vec<u8>, Tally)> {
    cell_of(leaf).map_or_else(Vec::new, |(c, bytes)| {
        vec![(cell_key(tenant, &c), [1, bytes])]
    })
}

fn ready_key(tenant: &str) -> Vec<u8> {
    format!("stats-ready/{tenant}").into_bytes()
}

fn from_key(tenant: &str) -> Vec<u8> {
    format!("stats-from/{tenant}").into_bytes()
}

fn progress_key(tenant: &str) -> Vec<u8> {
    format!("stats-progress/{tenant}").into_bytes()
}

fn read_u64(v: Option<Vec<u8>>) -> Option<u64> {
    v.and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

impl Db {
    /// Whether `tenant`'s counters cover its whole log.
    pub fn stats_ready(&self, tenant: &str) -> Result<bool, Error> {
        Ok(self.store.app_get(&ready_key(tenant))?.is_some())
    }

    /// The write that marks a new tenant's counters complete (its log is
    /// counted from its first entry).
    pub fn stats_ready_op(tenant: &str) -> AppOp {
        (ready_key(tenant), Some(Vec::new()))
    }

    /// At open, before anything is appended: for a log whose counters are
    /// not complete, stores (once) the size from which its batches count.
    pub fn stats_prepare(&self, log: &Log) -> Result<(), Error> {
        let t = log.name();
        if self.stats_ready(t)? || self.store.app_get(&from_key(t))?.is_some() {
            return Ok(());
        }
        self.write(&[(from_key(t), Some(log.size().to_be_bytes().to_vec()))])
    }

    /// Counts the entries of `log` that its batches did not (those below
    /// the size [`Db::stats_prepare`] stored), then marks it ready.
    /// Resumes where a crash left it. Returns how many entries it read.
    pub fn stats_backfill(&self, log: &Log) -> Result<u64, Error> {
        const PAGE: u64 = 1000;
        let t = log.name();
        if self.stats_ready(t)? {
            return Ok(0);
        }
        let Some(end) = read_u64(self.store.app_get(&from_key(t))?) else {
            return Err(Error::Internal(format!(
                "the statistics of {t} were not prepared at open"
            )));
        };
        let mut start = read_u64(self.store.app_get(&progress_key(t))?).unwrap_or(0);
        let mut read = 0;
        while start < end {
            let stop = (start + PAGE).min(end);
            let leaves = log.entries(start, stop, PAGE)?;
            let adds: Vec<(Vec<u8>, Tally)> = leaves
                .iter()
                .flat_map(|l| self.store.counter_keys(t, l))
                .collect();
            self.store.add_counters(
                &adds,
                &[(progress_key(t), Some(stop.to_be_bytes().to_vec()))],
            )?;
            read += stop - start;
            start = stop;
        }
        self.write(&[
            Self::stats_ready_op(t),
            (progress_key(t), None),
            (from_key(t), None),
        ])?;
        Ok(read)
    }

    /// Visits `tenant`'s cells of days `[from_day, to_day)`, in key order
    /// (by day), until `visit` returns `false`.
    pub fn stats_scan(
        &self,
        tenant: &str,
        from_day: u32,
        to_day: u32,
        mut visit: impl FnMut(Cell, Tally) -> bool,
    ) -> Result<(), Error> {
        let mut lower = prefix(tenant);
        lower.extend_from_slice(&from_day.to_be_bytes());
        let mut upper = prefix(tenant);
        upper.extend_from_slice(&to_day.to_be_bytes());
        Ok(self.store.counters_in(&lower, &upper, |k, t| {
            decode(tenant, k).is_none_or(|c| visit(c, t))
        })?)
    }

    /// Recounts every cell of `log` from its entries and compares with the
    /// stored counters: the report, or the differences (at most 20 named).
    /// A log still being counted is reported as such.
    pub fn stats_check(&self, log: &Log) -> Result<Result<String, Vec<String>>, Error> {
        const PAGE: u64 = 1000;
        let t = log.name();
        if !self.stats_ready(t)? {
            return Ok(Ok(
                "statistics: being counted (the server counts older entries at start)".into(),
            ));
        }
        let size = log.size();
        let mut want: BTreeMap<Vec<u8>, Tally> = BTreeMap::new();
        let mut start = 0;
        while start < size {
            let end = (start + PAGE).min(size);
            for leaf in log.entries(start, end, PAGE)? {
                for (k, [n, b]) in self.store.counter_keys(t, &leaf) {
                    let e = want.entry(k).or_default();
                    e[0] += n;
                    e[1] += b;
                }
            }
            start = end;
        }
        let mut have: BTreeMap<Vec<u8>, Tally> = BTreeMap::new();
        let lower = prefix(t);
        let mut upper = lower.clone();
        *upper.last_mut().expect("the prefix ends in NUL") = 1;
        self.store.counters_in(&lower, &upper, |k, v| {
            have.insert(k.to_vec(), v);
            true
        })?;
        let mut problems = Vec::new();
        for (k, w) in &want {
            let h = have.get(k).copied().unwrap_or_default();
            if h != *w && problems.len() < 20 {
                problems.push(format!(
                    "statistics: cell {:?} holds {} downloads / {} bytes, the log has {} / {}",
                    decode(t, k),
                    h[0],
                    h[1],
                    w[0],
                    w[1]
                ));
            }
        }
        for (k, h) in &have {
            if !want.contains_key(k) && *h != [0, 0] && problems.len() < 20 {
                problems.push(format!(
                    "statistics: cell {:?} holds {} downloads that are not in the log",
                    decode(t, k),
                    h[0]
                ));
            }
        }
        if problems.is_empty() {
            let downloads: u64 = want.values().map(|v| v[0]).sum();
            Ok(Ok(format!(
                "statistics: {} cells, {downloads} downloads, agree with the log",
                want.len()
            )))
        } else {
            Ok(Err(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn download(time: &str, customer: &str, subject: &str, bytes: u64) -> Value {
        serde_json::json!({
            "v": 1, "time": time, "tenant": "acme",
            "actor": {"type": "customer", "customer_id": customer, "subject": {"type": subject, "token_id": "t1", "issuer": "i", "subject": "s"}},
            "event": {"kind": "download_served", "customer_id": customer, "subject": {"type": "token", "token_id": "t1"},
                      "product": "shop", "tag": "v1", "revision": 1, "artifact": "export", "format": "cyclonedx-json",
                      "sha256": "00", "bytes": bytes}
        })
    }

    #[test]
    fn cells_round_trip_and_sort_by_day() {
        let (c, b) = cell_of(&download("2026-12-07T10:00:00Z", "c1", "oidc", 99)).unwrap();
        assert_eq!(b, 99);
        assert_eq!(c.channel, "sso");
        assert_eq!(c.customer(), Some("c1"));
        assert_eq!(c.day, 20_794);
        let k = cell_key("acme", &c);
        assert_eq!(decode("acme", &k), Some(c.clone()));
        assert_eq!(decode("acm", &k), None, "another tenant's prefix");
        let (later, _) = cell_of(&download("2026-12-08T00:00:00Z", "a", "token", 1)).unwrap();
        assert_eq!(later.channel, "customer_token");
        assert!(cell_key("acme", &later) > k, "days sort first");
        let share = serde_json::json!({
            "time": "2026-12-07T10:00:00Z", "actor": {"type": "share_link", "link_id": "L1"},
            "event": {"kind": "share_link_used", "link_id": "L1", "product": "shop", "tag": "v1", "artifact": "kit", "use": 1, "sha256": "00"}
        });
        let (s, bytes) = cell_of(&share).unwrap();
        assert_eq!(
            (s.who.as_str(), s.channel.as_str(), s.customer(), bytes),
            ("link:L1", "share_link", None, 0)
        );
        let other =
            serde_json::json!({"time": "2026-12-07T10:00:00Z", "event": {"kind": "token_issued"}});
        assert!(cell_of(&other).is_none());
    }
}
