//! The audit index: every log entry is indexed by time, kind, customer,
//! product, subject, share link and regulator request (and by customer and
//! product together), in the batch that appends it ([`AuditIndexer`] is the
//! log store's [`Indexer`]). Queries read index ranges, never the log from
//! its start; `evident log audit` checks the index against the log
//! ([`Db::audit_index_check`]).

use evident_log::{AppOp, Indexer, Log};
use evident_verify::audit::{terms, Terms};

use super::{
    keys::{self, AuditDim},
    Db,
};
use crate::core::Error;

/// Indexes the leaves of every tenant log by their audit [`Terms`].
#[derive(Debug, Default)]
pub struct AuditIndexer;

impl Indexer for AuditIndexer {
    fn keys(&self, log: &str, leaf: &[u8]) -> Vec<Vec<u8>> {
        serde_json::from_slice::<serde_json::Value>(leaf)
            .ok()
            .and_then(|v| terms(&v))
            .map_or_else(Vec::new, |t| term_keys(log, &t))
    }

    /// Downloads add to their statistics counters (`store::stats`).
    fn counters(&self, log: &str, leaf: &[u8]) -> Vec<(Vec<u8>, evident_log::Counter)> {
        serde_json::from_slice::<serde_json::Value>(leaf)
            .ok()
            .map_or_else(Vec::new, |v| super::stats::counters(log, &v))
    }

    /// The leaf parsed once for both.
    fn index(&self, log: &str, leaf: &[u8]) -> evident_log::Indexed {
        match serde_json::from_slice::<serde_json::Value>(leaf) {
            Ok(v) => (
                terms(&v).map_or_else(Vec::new, |t| term_keys(log, &t)),
                super::stats::counters(log, &v),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        }
    }
}

/// The index keys of an entry with terms `t` of `tenant`'s log, up to
/// (not including) the entry's index.
pub fn term_keys(tenant: &str, t: &Terms) -> Vec<Vec<u8>> {
    let term = |dim, v: &[u8]| keys::audit_term(tenant, dim, v);
    let mut out = vec![
        term(AuditDim::All, b""),
        term(AuditDim::Kind, t.kind.as_bytes()),
    ];
    if let Some(p) = &t.product {
        out.push(term(AuditDim::Product, p.as_bytes()));
    }
    for c in &t.customers {
        out.push(term(AuditDim::Customer, c.as_bytes()));
        if let Some(p) = &t.product {
            out.push(term(AuditDim::CustomerProduct, &keys::audit_pair(c, p)));
        }
    }
    for (dim, vs) in [
        (AuditDim::Subject, &t.subjects),
        (AuditDim::Link, &t.links),
        (AuditDim::Request, &t.requests),
    ] {
        out.extend(vs.iter().map(|v| term(dim, v.as_bytes())));
    }
    out.sort();
    out.dedup();
    let time = u64::try_from(t.time).unwrap_or(0).to_be_bytes();
    for k in &mut out {
        k.extend_from_slice(&time);
    }
    out
}

/// A place in an index: an entry's time (Unix seconds) and index.
pub type Position = (u64, u64);

/// Which entries of one indexed value a scan covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// From this time (inclusive).
    pub from: u64,
    /// Before this time, if given.
    pub to: Option<u64>,
    /// Strictly after this position in the scan's direction (a cursor).
    pub after: Option<Position>,
    /// Newest first.
    pub reverse: bool,
}

fn at(term: &[u8], time: u64, index: u64) -> Vec<u8> {
    let mut k = term.to_vec();
    k.extend_from_slice(&time.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

impl Db {
    /// Whether every entry of `tenant`'s log is indexed.
    pub fn audit_ready(&self, tenant: &str) -> Result<bool, Error> {
        Ok(self.store.app_get(&keys::audit_ready(tenant))?.is_some())
    }

    /// The write that marks `tenant`'s log as fully indexed (with the
    /// creation of a tenant, whose log is indexed from its first entry).
    pub fn audit_ready_op(tenant: &str) -> AppOp {
        (keys::audit_ready(tenant), Some(Vec::new()))
    }

    /// Visits the positions of the entries indexed under `term` (from
    /// [`keys::audit_term`]) within `span`, in its direction, until `visit`
    /// returns `false`.
    pub fn audit_scan(
        &self,
        term: &[u8],
        span: Span,
        mut visit: impl FnMut(Position) -> bool,
    ) -> Result<(), Error> {
        let mut lower = at(term, span.from, 0);
        let mut upper = match span.to {
            Some(t) => at(term, t, 0),
            None => at(term, u64::MAX, u64::MAX),
        };
        if let Some((t, i)) = span.after {
            if span.reverse {
                upper = upper.min(at(term, t, i));
            } else {
                let next = match i.checked_add(1) {
                    Some(i) => at(term, t, i),
                    None => at(term, t.saturating_add(1), 0),
                };
                lower = lower.max(next);
            }
        }
        if lower >= upper {
            return Ok(());
        }
        Ok(self.store.app_keys_in(&lower, &upper, span.reverse, |k| {
            keys::audit_position(k).is_none_or(&mut visit)
        })?)
    }

    /// Indexes every entry of `log` appended before now (entries appended
    /// from now on are indexed by their own batches), then marks the log
    /// ready. For logs written before the index existed; idempotent.
    /// Returns how many entries it read.
    pub fn audit_backfill(&self, log: &Log) -> Result<u64, Error> {
        const PAGE: u64 = 1000;
        let size = log.size();
        let mut start = 0;
        while start < size {
            let end = (start + PAGE).min(size);
            let leaves = log.entries(start, end, PAGE)?;
            let ops: Vec<AppOp> = (start..end)
                .zip(&leaves)
                .flat_map(|(i, l)| self.store.index_keys(log.name(), i, l))
                .map(|k| (k, Some(Vec::new())))
                .collect();
            self.write(&ops)?;
            start = end;
        }
        self.write(&[Self::audit_ready_op(log.name())])?;
        Ok(size)
    }

    /// Checks the audit index of `log` against the log: every entry's keys
    /// are there, and no other key is. Returns what was checked, or the
    /// problems found (at most 20 named). A log whose index is still being
    /// built is reported as such, not checked.
    pub fn audit_index_check(&self, log: &Log) -> Result<Result<String, Vec<String>>, Error> {
        const PAGE: u64 = 1000;
        let tenant = log.name();
        if !self.audit_ready(tenant)? {
            return Ok(Ok(
                "audit index: being built (the server indexes older entries at start)".into(),
            ));
        }
        let size = log.size();
        let mut problems = Vec::new();
        let mut expected = 0u64;
        let mut start = 0;
        while start < size {
            let end = (start + PAGE).min(size);
            let leaves = log.entries(start, end, PAGE)?;
            let want: Vec<(u64, Vec<u8>)> = (start..end)
                .zip(&leaves)
                .flat_map(|(i, leaf)| {
                    self.store
                        .index_keys(tenant, i, leaf)
                        .into_iter()
                        .map(move |k| (i, k))
                })
                .collect();
            let keys: Vec<Vec<u8>> = want.iter().map(|(_, k)| k.clone()).collect();
            expected += keys.len() as u64;
            for ((i, k), there) in want.iter().zip(self.store.app_contains(&keys)?) {
                if !there && problems.len() < 20 {
                    problems.push(format!(
                        "audit index: entry {i} is not indexed under {}",
                        String::from_utf8_lossy(&k[..k.len() - 16])
                    ));
                }
            }
            start = end;
        }
        let all = keys::audit_all(tenant);
        let mut upper = all.clone();
        upper.push(0xff);
        let mut stored = 0u64;
        let mut extra = Vec::new();
        self.store.app_keys_in(&all, &upper, false, |k| {
            stored += 1;
            match keys::audit_position(k) {
                Some((_, i)) if i < size => {}
                _ if extra.len() < 20 => extra.push(k.to_vec()),
                _ => {}
            }
            true
        })?;
        for k in extra {
            problems.push(format!(
                "audit index: the key {} names no entry of the log (size {size})",
                String::from_utf8_lossy(&k)
            ));
        }
        if stored != expected {
            problems.push(format!(
                "audit index: {stored} keys stored, {expected} expected from the log"
            ));
        }
        Ok(if problems.is_empty() {
            Ok(format!(
                "audit index: {expected} keys over {size} entries agree with the log"
            ))
        } else {
            Err(problems)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::events::{Actor, EventBody, Subject};

    /// A customer's download of `product` v1, as the actor and event a
    /// tenant log records.
    pub(crate) fn download(customer: &str, product: &str) -> (Actor, EventBody) {
        let subject = Subject::Token {
            token_id: format!("tok-{customer}"),
        };
        (
            Actor::Customer {
                customer_id: customer.into(),
                subject: subject.clone(),
            },
            EventBody::DownloadServed {
                customer_id: Some(customer.into()),
                subject,
                product: product.into(),
                tag: "v1".into(),
                revision: 1,
                artifact: "export".into(),
                format: Some("cyclonedx-json".into()),
                sha256: "00".repeat(32),
                bytes: Some(1),
            },
        )
    }

    fn positions(db: &Db, term: &[u8], span: Span) -> Vec<u64> {
        let mut out = Vec::new();
        db.audit_scan(term, span, |(_, i)| {
            out.push(i);
            true
        })
        .unwrap();
        out
    }

    /// Entries are indexed in their own batch; scans go both ways and on
    /// from a cursor; the check agrees with the log, names a missing or a
    /// stray key, and a log indexed afresh (as one written before the
    /// index existed) is indexed exactly as its batches would have.
    #[tokio::test]
    async fn indexed_with_each_entry_checked_and_backfilled() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = crate::service::tenancy::state_with_acme(d.path()).await;
        let mut c1p1 = Vec::new();
        for (c, p) in [("c1", "p1"), ("c2", "p1"), ("c1", "p2"), ("c1", "p1")] {
            let (a, e) = download(c, p);
            let i = st.record("acme", a, e, Vec::new()).await.unwrap();
            if (c, p) == ("c1", "p1") {
                c1p1.push(i);
            }
        }
        let db = st.store();
        assert!(db.audit_ready("acme").unwrap());
        let pair = keys::audit_term(
            "acme",
            AuditDim::CustomerProduct,
            &keys::audit_pair("c1", "p1"),
        );
        assert_eq!(positions(db, &pair, Span::default()), c1p1);
        let newest = Span {
            reverse: true,
            ..Span::default()
        };
        assert_eq!(positions(db, &pair, newest), [c1p1[1], c1p1[0]]);
        let mut first = None;
        db.audit_scan(&pair, Span::default(), |p| {
            first = Some(p);
            false
        })
        .unwrap();
        let after = Span {
            after: first,
            ..Span::default()
        };
        assert_eq!(positions(db, &pair, after), [c1p1[1]]);
        let customer = keys::audit_term("acme", AuditDim::Customer, b"c1");
        assert_eq!(positions(db, &customer, Span::default()).len(), 3);
        let future = Span {
            from: 4_102_444_800,
            ..Span::default()
        };
        assert!(positions(db, &customer, future).is_empty());

        let log = st.log("acme").unwrap();
        let ok = db.audit_index_check(&log).unwrap().unwrap();
        assert!(ok.contains("agree with the log"), "{ok}");
        let count = |db: &Db| {
            let all = keys::audit_all("acme");
            let mut upper = all.clone();
            upper.push(0xff);
            let mut n = 0;
            db.store
                .app_keys_in(&all, &upper, false, |_| {
                    n += 1;
                    true
                })
                .unwrap();
            n
        };
        let before = count(db);

        // A key gone: named.
        let mut gone = pair.clone();
        gone.extend_from_slice(&positions_key(db, &pair));
        db.write(&[(gone.clone(), None)]).unwrap();
        let p = db.audit_index_check(&log).unwrap().unwrap_err();
        assert!(
            p.iter()
                .any(|p| p.contains(&format!("entry {} is not indexed", c1p1[0]))),
            "{p:?}"
        );
        // A stray key: named.
        let mut stray = customer.clone();
        stray.extend_from_slice(&0u64.to_be_bytes());
        stray.extend_from_slice(&1_000_000u64.to_be_bytes());
        db.write(&[(gone, Some(Vec::new())), (stray.clone(), Some(Vec::new()))])
            .unwrap();
        let p = db.audit_index_check(&log).unwrap().unwrap_err();
        assert!(p.iter().any(|p| p.contains("names no entry")), "{p:?}");
        db.write(&[(stray, None)]).unwrap();

        // Everything dropped, as in a log from before the index.
        let all = keys::audit_all("acme");
        db.delete_where(&all, |_, _| true).unwrap();
        db.write(&[(keys::audit_ready("acme"), None)]).unwrap();
        assert!(db
            .audit_index_check(&log)
            .unwrap()
            .unwrap()
            .contains("being built"));
        assert_eq!(db.audit_backfill(&log).unwrap(), log.size());
        assert_eq!(count(db), before);
        assert!(db.audit_index_check(&log).unwrap().is_ok());
    }

    /// The time and index suffix of the first key under `term`.
    fn positions_key(db: &Db, term: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        db.audit_scan(term, Span::default(), |(t, i)| {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&i.to_be_bytes());
            false
        })
        .unwrap();
        out
    }
}
