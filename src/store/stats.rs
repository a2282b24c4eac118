//! Download statistics, counted in the batch that appends each download
//! (`evident_log::Indexer::counters`), so a statistics query reads a few
//! counters per group, never the log.
//!
//! Each `download_served` or `share_link_used` entry adds one download and
//! its bytes to sixteen counters: for its day and for its month, the total,
//! its product, its product and tag, its format, channel and artefact, and
//! its "who" (overall and within its product). Every counter but the "who"
//! ones also holds the set of customers behind its downloads, so distinct
//! customers over a range are the union of a few sets. A share-link use
//! that names its client's pseudonym also adds to its link's counter of
//! the day, whose set is the link's clients that day. A query reads the
//! counters of the whole months in its range and of the days at its edges:
//! per group, at most one counter per month plus one per edge day.
//! `evident log audit` recounts every counter from the log and compares
//! ([`Db::stats_check`]).
//!
//! "Who" is the customer id, `link:<id>` for a share link, or empty for a
//! tenant or operator token.
//!
//! Logs written before these counters existed (or with an older layout of
//! them) are counted once by a job at start ([`Db::stats_backfill`]): at
//! open, before anything is appended, [`Db::stats_prepare`] stores the size
//! from which the batches count; the job counts the entries below it a page
//! at a time, each page's adds and its progress in one batch, so a crash
//! never counts an entry twice.

use std::collections::BTreeMap;

use evident_log::{AppOp, Counter, CounterRef, Log};
use serde_json::Value;

use super::Db;
use crate::core::Error;

/// One download, as the statistics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
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
    /// Bytes served (0 for entries from before sizes were recorded).
    pub bytes: u64,
    /// For a share-link use, the pseudonym of the client's address.
    pub client: Option<String>,
}

/// The customer behind a "who", if a customer downloaded.
pub fn customer_of(who: &str) -> Option<&str> {
    (!who.is_empty() && !who.starts_with("link:")).then_some(who)
}

/// The download an entry records; `None` for an entry that is not one.
pub fn download_of(entry: &Value) -> Option<Download> {
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
    Some(Download {
        day,
        product: s(&e["product"]),
        tag: s(&e["tag"]),
        who,
        artifact: s(&e["artifact"]),
        format: s(&e["format"]),
        channel: channel.into(),
        bytes: e["bytes"].as_u64().unwrap_or(0),
        client: e["client"].as_str().map(str::to_owned),
    })
}

/// A counter's period: a UTC day or a calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    /// Days since 1970-01-01.
    Day(u32),
    /// Months since 1970-01 (`(year - 1970) * 12 + month - 1`).
    Month(u32),
}

/// What a counter counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dim {
    /// Everything (the key's second part is empty).
    Total,
    /// The tag (kept per product only).
    Tag,
    /// The format.
    Format,
    /// The channel.
    Channel,
    /// The artefact.
    Artifact,
    /// Who downloaded (no customer set: it is the customer).
    Who,
    /// A share link's uses per day, with the set of client pseudonyms
    /// (days only; the value is the link id).
    Clients,
}

impl Dim {
    fn byte(self) -> u8 {
        match self {
            Dim::Total => b'T',
            Dim::Tag => b'G',
            Dim::Format => b'F',
            Dim::Channel => b'C',
            Dim::Artifact => b'A',
            Dim::Who => b'U',
            Dim::Clients => b'K',
        }
    }

    fn of(b: u8) -> Option<Self> {
        [
            Dim::Total,
            Dim::Tag,
            Dim::Format,
            Dim::Channel,
            Dim::Artifact,
            Dim::Who,
            Dim::Clients,
        ]
        .into_iter()
        .find(|d| d.byte() == b)
    }
}

/// Which products' counters to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The counters over all products.
    All,
    /// One product's counters.
    Product(&'a str),
    /// Every product's own counters (not the all-products ones).
    EachProduct,
}

/// The month (since 1970-01) of a day.
pub fn month_of(day: u32) -> u32 {
    let d = (time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(i64::from(day))).date();
    ((d.year() - 1970) * 12) as u32 + u32::from(u8::from(d.month())) - 1
}

/// The first day of a month (since 1970-01).
pub fn first_day(month: u32) -> u32 {
    let (y, m) = (1970 + (month / 12) as i32, (month % 12) as u8 + 1);
    time::Date::from_calendar_date(y, time::Month::try_from(m).expect("1..=12"), 1)
        .map_or(u32::MAX, |d| {
            (d.midnight().assume_utc().unix_timestamp() / 86_400) as u32
        })
}

/// The periods that tile the days `[from, to)`: whole months where a month
/// fits, single days at the edges, in time order.
pub fn periods(from: u32, to: u32) -> Vec<Period> {
    let mut out = Vec::new();
    let mut d = from;
    while d < to {
        let m = month_of(d);
        let next = first_day(m + 1);
        if d == first_day(m) && next <= to {
            out.push(Period::Month(m));
            d = next;
        } else {
            out.push(Period::Day(d));
            d += 1;
        }
    }
    out
}

/// `dstat/<tenant>` NUL: the start of a tenant's counters.
fn prefix(tenant: &str) -> Vec<u8> {
    let mut k = format!("dstat/{tenant}").into_bytes();
    k.push(0);
    k
}

fn push_field(k: &mut Vec<u8>, f: &str) {
    let n = u16::try_from(f.len()).unwrap_or(u16::MAX);
    k.extend_from_slice(&n.to_be_bytes());
    k.extend_from_slice(&f.as_bytes()[..usize::from(n)]);
}

/// The key of a period and dimension: the prefix, `d` or `m`, the period
/// (4 bytes, big-endian), the dimension's byte.
fn period_key(tenant: &str, p: Period, dim: Dim) -> Vec<u8> {
    let mut k = prefix(tenant);
    let (g, n) = match p {
        Period::Day(d) => (b'd', d),
        Period::Month(m) => (b'm', m),
    };
    k.push(g);
    k.extend_from_slice(&n.to_be_bytes());
    k.push(dim.byte());
    k
}

/// The key of one counter: [`period_key`], then the product (empty for
/// all products) and the value, each with a 2-byte length.
pub fn counter_key(tenant: &str, p: Period, dim: Dim, product: &str, value: &str) -> Vec<u8> {
    let mut k = period_key(tenant, p, dim);
    push_field(&mut k, product);
    push_field(&mut k, value);
    k
}

/// A key's parts: period, dimension, product, value.
pub fn decode(tenant: &str, key: &[u8]) -> Option<(Period, Dim, String, String)> {
    let rest = key.strip_prefix(prefix(tenant).as_slice())?;
    let (&g, rest) = rest.split_first()?;
    let (n, rest) = rest.split_first_chunk::<4>()?;
    let n = u32::from_be_bytes(*n);
    let period = match g {
        b'd' => Period::Day(n),
        b'm' => Period::Month(n),
        _ => return None,
    };
    let (&d, mut rest) = rest.split_first()?;
    let mut f = Vec::with_capacity(2);
    for _ in 0..2 {
        let (len, tail) = rest.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        f.push(String::from_utf8(tail.get(..len)?.to_vec()).ok()?);
        rest = &tail[len..];
    }
    let value = f.pop()?;
    Some((period, Dim::of(d)?, f.pop()?, value))
}

/// The counter adds of one leaf of `tenant`'s log (the indexer's).
pub fn counters(tenant: &str, leaf: &Value) -> Vec<(Vec<u8>, Counter)> {
    let Some(d) = download_of(leaf) else {
        return Vec::new();
    };
    let member = customer_of(&d.who).map(str::as_bytes);
    let tally = [1, d.bytes];
    let mut out = Vec::with_capacity(17);
    if let (Some(link), Some(client)) = (d.who.strip_prefix("link:"), &d.client) {
        out.push((
            counter_key(tenant, Period::Day(d.day), Dim::Clients, "", link),
            Counter::add(tally, Some(client.as_bytes())),
        ));
    }
    // Entries always name a product; were one not to, its per-product
    // counters would be the all-products ones, so they are left out.
    let own = (!d.product.is_empty()).then_some(d.product.as_str());
    for p in [Period::Day(d.day), Period::Month(month_of(d.day))] {
        let mut with_set = vec![
            (Dim::Total, "", ""),
            (Dim::Format, "", d.format.as_str()),
            (Dim::Channel, "", d.channel.as_str()),
            (Dim::Artifact, "", d.artifact.as_str()),
        ];
        let mut who = vec![""];
        if let Some(product) = own {
            with_set.push((Dim::Total, product, ""));
            with_set.push((Dim::Tag, product, d.tag.as_str()));
            who.push(product);
        }
        for (dim, product, value) in with_set {
            out.push((
                counter_key(tenant, p, dim, product, value),
                Counter::add(tally, member),
            ));
        }
        for product in who {
            out.push((
                counter_key(tenant, p, Dim::Who, product, &d.who),
                Counter::add(tally, None),
            ));
        }
    }
    out
}

fn ready_key(tenant: &str) -> Vec<u8> {
    format!("dstat-ready/{tenant}").into_bytes()
}

fn from_key(tenant: &str) -> Vec<u8> {
    format!("dstat-from/{tenant}").into_bytes()
}

fn progress_key(tenant: &str) -> Vec<u8> {
    format!("dstat-progress/{tenant}").into_bytes()
}

fn read_u64(v: Option<Vec<u8>>) -> Option<u64> {
    v.and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

/// The range of `tenant`'s counters, `[lower, upper)`.
fn range(tenant: &str) -> Range {
    let lower = prefix(tenant);
    let mut upper = lower.clone();
    *upper.last_mut().expect("the prefix ends in NUL") = 1;
    (lower, upper)
}

/// A key range, `[lower, upper)`.
type Range = (Vec<u8>, Vec<u8>);

/// The counters and app keys of the first layout of the counters (one per
/// day and download cell), deleted when a log is counted afresh.
fn old_layout(tenant: &str) -> (Range, [Vec<u8>; 3]) {
    let mut lower = format!("stats/{tenant}").into_bytes();
    let mut upper = lower.clone();
    lower.push(0);
    upper.push(1);
    (
        (lower, upper),
        ["stats-ready", "stats-from", "stats-progress"]
            .map(|k| format!("{k}/{tenant}").into_bytes()),
    )
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
    /// not complete, stores (once) the size from which its batches count,
    /// and deletes counters of the older layout.
    pub fn stats_prepare(&self, log: &Log) -> Result<(), Error> {
        let t = log.name();
        let ((lower, upper), old_keys) = old_layout(t);
        let mut old = false;
        for k in &old_keys {
            old |= self.store.app_get(k)?.is_some();
        }
        if old {
            let ops: Vec<AppOp> = old_keys.into_iter().map(|k| (k, None)).collect();
            self.store.delete_counters(&lower, &upper, &ops)?;
        }
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
            let adds: Vec<(Vec<u8>, Counter)> = leaves
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

    /// Forgets `tenant`'s counters, as if its log predated them (tests).
    /// Forgets `tenant`'s counters, as if its log predated them (tests).
    #[cfg(test)]
    pub fn stats_forget(&self, tenant: &str) -> Result<(), Error> {
        let (lower, upper) = range(tenant);
        Ok(self
            .store
            .delete_counters(&lower, &upper, &[(ready_key(tenant), None)])?)
    }

    /// Visits `tenant`'s counters of period `p` and dimension `dim` in
    /// `scope`, in key order, with their product and value, until `visit`
    /// returns `false`.
    pub fn stats_rows(
        &self,
        tenant: &str,
        p: Period,
        dim: Dim,
        scope: Scope<'_>,
        mut visit: impl FnMut(&str, &str, CounterRef<'_>) -> bool,
    ) -> Result<(), Error> {
        let base = period_key(tenant, p, dim);
        let (lower, upper) = match scope {
            Scope::All | Scope::Product(_) => {
                let mut lower = base;
                push_field(
                    &mut lower,
                    match scope {
                        Scope::Product(p) => p,
                        _ => "",
                    },
                );
                let mut upper = lower.clone();
                upper.extend_from_slice(&[0xff, 0xff, 0xff]);
                (lower, upper)
            }
            Scope::EachProduct => {
                // Products are not empty: from length 1 to the next dimension.
                let mut lower = base.clone();
                lower.extend_from_slice(&[0, 1]);
                let mut upper = base;
                *upper.last_mut().expect("a dimension byte") += 1;
                (lower, upper)
            }
        };
        Ok(self
            .store
            .counters_in(&lower, &upper, |k, c| match decode(tenant, k) {
                Some((_, _, product, value)) => visit(&product, &value, c),
                None => true,
            })?)
    }

    /// Recounts every counter of `log` from its entries and compares with
    /// the stored ones: the report, or the differences (at most 20 named).
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
        let mut want: BTreeMap<Vec<u8>, Counter> = BTreeMap::new();
        let mut start = 0;
        while start < size {
            let end = (start + PAGE).min(size);
            for leaf in log.entries(start, end, PAGE)? {
                for (k, add) in self.store.counter_keys(t, &leaf) {
                    let e = want.entry(k).or_default();
                    e.tally[0] += add.tally[0];
                    e.tally[1] += add.tally[1];
                    e.members.extend(add.members);
                }
            }
            start = end;
        }
        let mut have: BTreeMap<Vec<u8>, Counter> = BTreeMap::new();
        let (lower, upper) = range(t);
        self.store.counters_in(&lower, &upper, |k, c| {
            have.insert(k.to_vec(), c.to_counter());
            true
        })?;
        let name = |k: &[u8]| match decode(t, k) {
            Some((p, d, product, value)) => format!("{p:?} {d:?} {product:?} {value:?}"),
            None => format!("{k:?}"),
        };
        let mut problems = Vec::new();
        let mut downloads = 0u64;
        let empty = Counter::default();
        for (k, w) in &want {
            if matches!(decode(t, k), Some((Period::Day(_), Dim::Total, p, _)) if p.is_empty()) {
                downloads += w.tally[0];
            }
            let h = have.get(k).unwrap_or(&empty);
            if h != w && problems.len() < 20 {
                let extra = h.members.difference(&w.members).count();
                let missing = w.members.difference(&h.members).count();
                problems.push(format!(
                    "statistics: counter {} holds {} downloads / {} bytes / {} customers, the log has {} / {} / {} ({extra} customers not in the log, {missing} missing)",
                    name(k),
                    h.tally[0],
                    h.tally[1],
                    h.members.len(),
                    w.tally[0],
                    w.tally[1],
                    w.members.len(),
                ));
            }
        }
        for (k, h) in &have {
            if !want.contains_key(k) && *h != empty && problems.len() < 20 {
                problems.push(format!(
                    "statistics: counter {} holds {} downloads that are not in the log",
                    name(k),
                    h.tally[0]
                ));
            }
        }
        if problems.is_empty() {
            Ok(Ok(format!(
                "statistics: {} counters, {downloads} downloads, agree with the log",
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
    fn downloads_and_keys() {
        let d = download_of(&download("2026-12-07T10:00:00Z", "c1", "oidc", 99)).unwrap();
        assert_eq!((d.bytes, d.channel.as_str(), d.day), (99, "sso", 20_794));
        assert_eq!(customer_of(&d.who), Some("c1"));
        let later = download_of(&download("2026-12-08T00:00:00Z", "a", "token", 1)).unwrap();
        assert_eq!(later.channel, "customer_token");
        let share = serde_json::json!({
            "time": "2026-12-07T10:00:00Z", "actor": {"type": "share_link", "link_id": "L1"},
            "event": {"kind": "share_link_used", "link_id": "L1", "product": "shop", "tag": "v1", "artifact": "kit", "use": 1, "sha256": "00"}
        });
        let s = download_of(&share).unwrap();
        assert_eq!(
            (
                s.who.as_str(),
                s.channel.as_str(),
                customer_of(&s.who),
                s.bytes
            ),
            ("link:L1", "share_link", None, 0)
        );
        let other =
            serde_json::json!({"time": "2026-12-07T10:00:00Z", "event": {"kind": "token_issued"}});
        assert!(download_of(&other).is_none());
        assert!(counters("acme", &other).is_empty());

        // Sixteen adds; every one decodes to its parts, and the customer
        // set is on all but the "who" counters.
        let adds = counters("acme", &download("2026-12-07T10:00:00Z", "c1", "oidc", 99));
        assert_eq!(adds.len(), 16);
        for (k, c) in &adds {
            let (p, dim, _, _) = decode("acme", k).unwrap();
            assert!(
                matches!(p, Period::Day(20_794) | Period::Month(683)),
                "{p:?}"
            );
            assert_eq!(c.tally, [1, 99]);
            assert_eq!(c.members.len(), usize::from(dim != Dim::Who), "{dim:?}");
            assert_eq!(decode("acm", k), None, "another tenant's prefix");
        }
        let k = counter_key("acme", Period::Day(5), Dim::Tag, "shop", "v1");
        assert_eq!(
            decode("acme", &k),
            Some((Period::Day(5), Dim::Tag, "shop".into(), "v1".into()))
        );
        assert!(
            counter_key("acme", Period::Day(6), Dim::Total, "", "") > k,
            "days sort first"
        );
    }

    /// Months and days tile a range: whole months where they fit, days at
    /// the edges, and every day exactly once (against a naive walk).
    #[test]
    fn periods_tile_a_range() {
        assert_eq!(month_of(0), 0);
        assert_eq!(first_day(0), 0);
        assert_eq!(first_day(1), 31);
        assert_eq!(month_of(20_794), 683, "2026-12");
        for (from, to) in [
            (20_000, 20_400),
            (20_089, 20_120),
            (20_089, 20_090),
            (0, 59),
            (30, 31),
            (20_453, 20_819),
        ] {
            let ps = periods(from, to);
            let mut days = Vec::new();
            for p in &ps {
                match *p {
                    Period::Day(d) => days.push(d),
                    Period::Month(m) => {
                        assert!(first_day(m) >= from && first_day(m + 1) <= to);
                        days.extend(first_day(m)..first_day(m + 1));
                    }
                }
            }
            assert_eq!(days, (from..to).collect::<Vec<_>>(), "{from}..{to}");
            let day_periods = ps.iter().filter(|p| matches!(p, Period::Day(_))).count();
            assert!(day_periods <= 60, "at most a month of days at each edge");
        }
    }
}
