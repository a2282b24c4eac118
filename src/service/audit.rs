//! Audit queries (admin, auditor): the entries of a tenant's log that a
//! filter selects, newest or oldest first, a page at a time, each with its
//! inclusion proof against one signed checkpoint when asked; and the same
//! query exported whole as CSV or JSON Lines, streamed a page at a time.
//!
//! A query reads the audit index (`store::audit`), never the log from its
//! start: it scans the one indexed value that narrows it most (customer
//! and product together, a share link, a regulator request, a subject, a
//! customer, a product, the kinds, or else time), reads only the entries
//! found there, and keeps those the whole filter selects
//! (`evident_verify::audit`, the code `evident-verify entries` re-checks
//! an answer with). Each page reads at most [`SCAN_BUDGET`] index keys; a
//! page cut short by it still carries a cursor that goes on from there.

use evident_log::Log;
use evident_verify::{
    audit::{
        terms, Answer, AnswerEntry, Compiled, ExportEnd, ExportHeader, Filter, Order,
        EXPORT_FORMAT, FORMAT,
    },
    merkle::leaf_hash,
    proof::encode_hashes,
};
use std::{sync::Arc, time::Duration};

use tokio::sync::mpsc;

use crate::{
    core::{
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::{blocking, logs, AppState},
    store::{
        audit::{Position, Span},
        keys::{self, AuditDim},
        Db,
    },
};

/// Entries a page has when no limit is asked for.
pub const DEFAULT_LIMIT: usize = 100;
/// The most entries one page may have.
pub const MAX_LIMIT: usize = 1000;
/// The most index keys one page reads.
pub const SCAN_BUDGET: usize = 50_000;
/// Entries per page of an export.
const EXPORT_PAGE: usize = 1000;

/// One audit query.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// What to select.
    pub filter: Filter,
    /// Newest or oldest first.
    pub order: Order,
    /// Where to go on from (a previous page's `next_cursor`).
    pub cursor: Option<String>,
    /// Entries per page (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// Give every entry its inclusion proof against the answer's checkpoint.
    pub proofs: bool,
}

/// A query made ready to run on one log.
struct Plan {
    log: Log,
    q: Compiled,
    terms: Vec<Vec<u8>>,
    /// The terms alone decide what is selected (the query names nothing
    /// but them and a time range), so no leaf is read to check a candidate.
    exact: bool,
    from: u64,
    to: Option<u64>,
    reverse: bool,
}

/// A cursor: the tree size the walk is read at, and the position after
/// which it goes on.
fn parse_cursor(c: &str) -> Result<(u64, Position), Error> {
    let mut it = c.splitn(3, '.').map(str::parse::<u64>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(size)), Some(Ok(t)), Some(Ok(i))) => Ok((size, (t, i))),
        _ => Err(Error::Unprocessable(format!(
            "cursor {c:?} is not one this API gave"
        ))),
    }
}

fn cursor(size: u64, p: Position) -> String {
    format!("{size}.{}.{}", p.0, p.1)
}

/// The checkpoint a walk is read at: the one its cursor names (so every
/// page of one walk is read against one tree, whatever is appended
/// meanwhile), else the latest.
async fn walk_checkpoint(
    log: &Log,
    at: Option<u64>,
) -> Result<evident_log::SignedCheckpoint, Error> {
    logs::checkpoint_for(log, at).await.map_err(|e| match e {
        Error::Unprocessable(m) => Error::Unprocessable(format!("cursor: {m}")),
        e => e,
    })
}

fn plan(state: &AppState, p: &Principal, tenant: &str, query: &Query) -> Result<Plan, Error> {
    allow(p, Action::ReadLogEntries, Resource::Tenant(tenant))?;
    plan_for(state, tenant, query)
}

/// The plan of `query`, for a caller already allowed to run it.
fn plan_for(state: &AppState, tenant: &str, query: &Query) -> Result<Plan, Error> {
    let log = state.tenant_log(tenant)?;
    if !state.store().audit_ready(tenant)? {
        return Err(Error::Unavailable(
            "the audit index of this log is still being built; try again shortly".into(),
        ));
    }
    let q = query.filter.compile().map_err(Error::Unprocessable)?;
    let f = &q.filter;
    let term = |d, v: &[u8]| keys::audit_term(tenant, d, v);
    let narrowest = [
        (AuditDim::Link, &f.link),
        (AuditDim::Request, &f.request),
        (AuditDim::Subject, &f.subject),
        (AuditDim::Customer, &f.customer),
        (AuditDim::Product, &f.product),
    ]
    .into_iter()
    .find_map(|(d, v)| v.as_ref().map(|v| term(d, v.as_bytes())));
    // How many of the indexed fields the query names (the kinds count as
    // one); a tag is not indexed on its own.
    let named = [&f.link, &f.request, &f.subject, &f.customer, &f.product]
        .into_iter()
        .filter(|v| v.is_some())
        .count()
        + usize::from(!f.kinds.is_empty());
    let (terms, covers) = match (&f.customer, &f.product, narrowest) {
        (Some(c), Some(p), _) => (
            vec![term(AuditDim::CustomerProduct, &keys::audit_pair(c, p))],
            2,
        ),
        (_, _, Some(t)) => (vec![t], 1),
        _ if !f.kinds.is_empty() => {
            let mut kinds = f.kinds.clone();
            kinds.sort();
            kinds.dedup();
            (
                kinds
                    .iter()
                    .map(|k| term(AuditDim::Kind, k.as_bytes()))
                    .collect(),
                1,
            )
        }
        _ => (vec![term(AuditDim::All, b"")], 0),
    };
    let exact = f.tag.is_none() && named == covers;
    let secs = |t: i64| u64::try_from(t).unwrap_or(0);
    Ok(Plan {
        log,
        from: q.from.map_or(0, secs),
        to: q.to.map(secs),
        q,
        terms,
        exact,
        reverse: query.order == Order::Newest,
    })
}

/// The entries of one page, in order, with where the next page starts.
struct Page {
    rows: Vec<(Position, Vec<u8>)>,
    next: Option<Position>,
}

/// Reads one page of `plan`'s entries below tree size `size`, after `after`.
/// Scans keep only the positions of the entries they select; the leaves of
/// the page's entries are read once the page is cut.
fn page(
    db: &Db,
    plan: &Plan,
    size: u64,
    after: Option<Position>,
    limit: usize,
) -> Result<Page, Error> {
    let budget = (SCAN_BUDGET / plan.terms.len()).max(limit + 1);
    let mut found: Vec<Position> = Vec::new();
    // The tightest place a scan stopped before the end of its range.
    let mut frontier: Option<Position> = None;
    for term in &plan.terms {
        let (mut seen, mut got) = (0usize, 0usize);
        let mut stopped = None;
        let mut failed = None;
        let span = Span {
            from: plan.from,
            to: plan.to,
            after,
            reverse: plan.reverse,
        };
        db.audit_scan(term, span, |pos| {
            seen += 1;
            // Entries appended after the checkpoint the walk is read at.
            if pos.1 < size {
                match if plan.exact {
                    Ok(true)
                } else {
                    selected(&plan.log, &plan.q, pos.1)
                } {
                    Ok(true) => {
                        found.push(pos);
                        got += 1;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            if got > limit || seen >= budget {
                stopped = Some(pos);
                return false;
            }
            true
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(s) = stopped {
            frontier = Some(match frontier {
                Some(f) if plan.reverse => f.max(s),
                Some(f) => f.min(s),
                None => s,
            });
        }
    }
    if plan.reverse {
        found.sort_by_key(|p| std::cmp::Reverse(*p));
    } else {
        found.sort();
    }
    found.dedup();
    if let Some(f) = frontier {
        found.retain(|p| if plan.reverse { *p >= f } else { *p <= f });
    }
    let more = found.len() > limit;
    found.truncate(limit);
    let next = if more {
        found.last().copied()
    } else {
        frontier
    };
    let rows = found
        .into_iter()
        .map(|p| Ok((p, leaf(&plan.log, p.1)?)))
        .collect::<Result<_, Error>>()?;
    Ok(Page { rows, next })
}

fn leaf(log: &Log, index: u64) -> Result<Vec<u8>, Error> {
    log.entries(index, index + 1, 1)?
        .pop()
        .ok_or_else(|| Error::Internal(format!("log entry {index} is missing")))
}

/// Whether the query selects the entry at `index`.
fn selected(log: &Log, q: &Compiled, index: u64) -> Result<bool, Error> {
    let leaf = leaf(log, index)?;
    let v: serde_json::Value = serde_json::from_slice(&leaf)
        .map_err(|e| Error::Internal(format!("log entry {index} is not JSON: {e}")))?;
    Ok(terms(&v).is_some_and(|t| q.mismatch(&t).is_none()))
}

fn entry(
    log: &Log,
    index: u64,
    leaf: Vec<u8>,
    size: u64,
    proofs: bool,
) -> Result<AnswerEntry, Error> {
    let inclusion_proof = if proofs {
        Some(encode_hashes(&log.inclusion_proof(index, size)?))
    } else {
        None
    };
    Ok(AnswerEntry {
        index,
        entry: String::from_utf8(leaf)
            .map_err(|_| Error::Internal(format!("log entry {index} is not UTF-8")))?,
        inclusion_proof,
    })
}

fn limit(query: &Query) -> Result<usize, Error> {
    match query.limit {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(Error::Unprocessable(format!(
            "limit must be 1 to {MAX_LIMIT}"
        ))),
    }
}

/// One page of the entries `query` selects in `tenant`'s log.
pub async fn events(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    query: Query,
) -> Result<Answer, Error> {
    let plan = plan(state, p, tenant, &query)?;
    run(state, plan, query).await
}

/// One page of the calling customer's own downloads (`download_served`
/// entries that name it), newest first: what "My downloads" shows. Any
/// other caller is 404.
pub async fn own_downloads(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    cursor: Option<String>,
    limit: Option<usize>,
    (from, to): (Option<String>, Option<String>),
) -> Result<Answer, Error> {
    let customer = match p {
        Principal::Customer {
            tenant: t,
            customer,
            ..
        } if t == tenant => customer.clone(),
        _ => return Err(Error::not_found()),
    };
    let query = Query {
        filter: Filter {
            kinds: vec!["download_served".into()],
            customer: Some(customer),
            from,
            to,
            ..Filter::default()
        },
        order: Order::Newest,
        cursor,
        limit,
        proofs: false,
    };
    let plan = plan_for(state, tenant, &query)?;
    run(state, plan, query).await
}

async fn run(state: &AppState, plan: Plan, query: Query) -> Result<Answer, Error> {
    let limit = limit(&query)?;
    let at = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let cp = walk_checkpoint(&plan.log, at.map(|c| c.0)).await?;
    let after = at.map(|c| c.1);
    let st = state.clone();
    blocking("audit query", move || {
        let page = page(st.store(), &plan, cp.size, after, limit)?;
        let entries = page
            .rows
            .into_iter()
            .map(|((_, i), leaf)| entry(&plan.log, i, leaf, cp.size, query.proofs))
            .collect::<Result<_, _>>()?;
        Ok(Answer {
            format: FORMAT.into(),
            query: plan.q.filter,
            order: query.order,
            tree_size: cp.size,
            checkpoint: query.proofs.then_some(cp.note),
            cursor: query.cursor,
            entries,
            next_cursor: page.next.map(|n| cursor(cp.size, n)),
        })
    })
    .await
}

/// The forms an export takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A header line, then one [`AnswerEntry`] per line.
    JsonLines,
    /// A `#` line naming the checkpoint, a header row, then one row per entry.
    Csv,
}

/// The CSV columns of an export.
pub const CSV_COLUMNS: [&str; 15] = [
    "index",
    "time",
    "kind",
    "actor_type",
    "actor",
    "customer_id",
    "subject",
    "product",
    "tag",
    "revision",
    "artifact",
    "format",
    "sha256",
    "link_id",
    "leaf_hash",
];

/// A CSV cell safe to open in a spreadsheet and to read line by line:
/// line breaks (which values from outside, such as OIDC subjects, may
/// hold) become `\n` and `\r`, so no physical line of an export is
/// anything but a row, the first line or the closing line; and a cell a
/// spreadsheet would read as a formula gets a leading `'`.
fn csv_cell(v: String) -> String {
    let v = if v.contains(['\n', '\r']) {
        v.replace('\r', "\\r").replace('\n', "\\n")
    } else {
        v
    };
    if v.starts_with(['=', '+', '-', '@', '\t']) {
        format!("'{v}")
    } else {
        v
    }
}

fn csv_row(w: &mut csv::Writer<&mut Vec<u8>>, index: u64, leaf: &[u8]) -> Result<(), Error> {
    let v: serde_json::Value = serde_json::from_slice(leaf)
        .map_err(|e| Error::Internal(format!("log entry {index} is not JSON: {e}")))?;
    let (a, e) = (&v["actor"], &v["event"]);
    let s = |x: &serde_json::Value| {
        csv_cell(match x {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        })
    };
    let actor = [&a["token_id"], &a["customer_id"], &a["link_id"]]
        .into_iter()
        .map(s)
        .find(|x| !x.is_empty())
        .unwrap_or_default();
    let subj = &e["subject"];
    let subject = [
        &subj["email"],
        &subj["subject"],
        &subj["token_id"],
        &e["token_id"],
    ]
    .into_iter()
    .map(s)
    .find(|x| !x.is_empty())
    .unwrap_or_default();
    let customer = [&e["customer_id"], &a["customer_id"]]
        .into_iter()
        .map(s)
        .find(|x| !x.is_empty())
        .unwrap_or_default();
    let link = [&e["link_id"], &a["link_id"]]
        .into_iter()
        .map(s)
        .find(|x| !x.is_empty())
        .unwrap_or_default();
    w.write_record([
        index.to_string(),
        s(&v["time"]),
        s(&e["kind"]),
        s(&a["type"]),
        actor,
        customer,
        subject,
        s(&e["product"]),
        s(&e["tag"]),
        s(&e["revision"]),
        s(&e["artifact"]),
        s(&e["format"]),
        s(&e["sha256"]),
        link,
        hex::encode(leaf_hash(leaf)),
    ])
    .map_err(|e| Error::Internal(format!("writing CSV: {e}")))
}

/// At most this many audit exports stream at once on a server (each holds
/// a reader between pages); more are answered 429.
pub const MAX_EXPORTS: usize = 4;

/// At most this many of them for one tenant, so one tenant's slow readers
/// cannot hold every slot.
pub const MAX_TENANT_EXPORTS: usize = 2;

/// How long an export waits for its reader to take the next page before it
/// gives up.
const EXPORT_SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one export may stream in all before it is broken off.
const EXPORT_DEADLINE: Duration = Duration::from_secs(3600);

type SlotCounts = Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>;

/// The exports streaming now, per tenant.
#[derive(Debug, Default)]
pub struct ExportSlots(SlotCounts);

/// One streaming export's place in [`ExportSlots`], given back when dropped.
#[derive(Debug)]
pub struct ExportSlot {
    slots: SlotCounts,
    tenant: String,
}

impl ExportSlots {
    /// A slot for one more export of `tenant`, unless the server or the
    /// tenant has as many streaming as it may.
    pub fn take(&self, tenant: &str) -> Result<ExportSlot, Error> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let busy = |message: String| Error::TooManyRequests {
            retry_after_secs: 10,
            message,
        };
        if m.values().sum::<usize>() >= MAX_EXPORTS {
            return Err(busy(format!(
                "{MAX_EXPORTS} audit exports are streaming on this server; try again shortly"
            )));
        }
        let n = m.entry(tenant.to_owned()).or_default();
        if *n >= MAX_TENANT_EXPORTS {
            return Err(busy(format!(
                "{MAX_TENANT_EXPORTS} audit exports of this tenant are streaming; try again when one ends"
            )));
        }
        *n += 1;
        Ok(ExportSlot {
            slots: self.0.clone(),
            tenant: tenant.to_owned(),
        })
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut m = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.tenant);
            }
        }
    }
}

/// What an export's stream carries: bytes, then either its end or a
/// failure. A stream that closes without `End` was cut off, and the HTTP
/// layer breaks the transfer then too.
#[derive(Debug)]
pub enum ExportChunk {
    /// The next bytes.
    Data(Vec<u8>),
    /// Everything was sent, closing count included.
    End,
    /// It failed part-way (the public message; the server log has more).
    Failed(String),
}

fn jsonl<T: serde::Serialize>(buf: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    serde_json::to_writer(&mut *buf, v).map_err(|e| Error::Internal(e.to_string()))?;
    buf.push(b'\n');
    Ok(())
}

/// One page of an export, rendered; and where the next starts.
fn export_page(
    st: &AppState,
    plan: &Plan,
    size: u64,
    after: Option<Position>,
    format: ExportFormat,
    proofs: bool,
    count: &mut u64,
) -> Result<(Vec<u8>, Option<Position>), Error> {
    let pg = page(st.store(), plan, size, after, EXPORT_PAGE)?;
    *count += pg.rows.len() as u64;
    let mut buf = Vec::new();
    match format {
        ExportFormat::JsonLines => {
            for ((_, i), leaf) in pg.rows {
                jsonl(&mut buf, &entry(&plan.log, i, leaf, size, proofs)?)?;
            }
            if pg.next.is_none() {
                jsonl(&mut buf, &ExportEnd { entries: *count })?;
            }
        }
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut buf);
            for ((_, i), leaf) in pg.rows {
                csv_row(&mut w, i, &leaf)?;
            }
            w.flush().map_err(|e| Error::Internal(e.to_string()))?;
            drop(w);
            if pg.next.is_none() {
                buf.extend_from_slice(format!("# end entries={count}\n").as_bytes());
            }
        }
    }
    Ok((buf, pg.next))
}

/// Every entry `query` selects (from its cursor on, at its tree size), as
/// a stream of chunks read a page at a time: each page is read on the
/// blocking pool and sent before the next is read, so memory stays flat
/// whatever the size, and a slow reader holds no thread. The first chunk
/// names the checkpoint; the last closes with the count. A failure
/// part-way is logged and ends the stream with an `Err` (the transfer
/// breaks, so a cut-short export is never taken for a whole one). At most
/// [`MAX_EXPORTS`] stream at once.
pub async fn export(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    query: Query,
    format: ExportFormat,
) -> Result<mpsc::Receiver<ExportChunk>, Error> {
    let plan = Arc::new(plan(state, p, tenant, &query)?);
    let at = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let cp = walk_checkpoint(&plan.log, at.map(|c| c.0)).await?;
    let slot = state.export_slots().take(tenant)?;
    let header = ExportHeader {
        format: EXPORT_FORMAT.into(),
        query: plan.q.filter.clone(),
        order: query.order,
        tree_size: cp.size,
        checkpoint: cp.note.clone(),
        cursor: query.cursor.clone(),
    };
    let mut first = match format {
        ExportFormat::JsonLines => {
            let mut b = Vec::new();
            jsonl(&mut b, &header)?;
            b
        }
        ExportFormat::Csv => {
            let mut b = format!(
                "# {EXPORT_FORMAT} tree_size={} checkpoint={}{}\n",
                cp.size,
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &cp.note),
                query
                    .cursor
                    .as_deref()
                    .map(|c| format!(" from_cursor={c}"))
                    .unwrap_or_default()
            )
            .into_bytes();
            let mut w = csv::Writer::from_writer(&mut b);
            w.write_record(CSV_COLUMNS)
                .map_err(|e| Error::Internal(e.to_string()))?;
            drop(w);
            b
        }
    };
    let (tx, rx) = mpsc::channel::<ExportChunk>(2);
    let (st, tenant, size, proofs) = (state.clone(), tenant.to_owned(), cp.size, query.proofs);
    let mut after = at.map(|c| c.1);
    tokio::spawn(async move {
        let _slot = slot;
        let started = std::time::Instant::now();
        let mut count = 0u64;
        loop {
            let (st2, plan2) = (st.clone(), plan.clone());
            let mut n = count;
            let res = blocking("audit export", move || {
                export_page(&st2, &plan2, size, after, format, proofs, &mut n).map(|r| (r, n))
            })
            .await;
            let res = match res {
                Ok(r) if started.elapsed() > EXPORT_DEADLINE => {
                    drop(r);
                    Err(Error::Unavailable(format!(
                        "the export ran past its {} s deadline; narrow the query",
                        EXPORT_DEADLINE.as_secs()
                    )))
                }
                r => r,
            };
            let (chunk, next) = match res {
                Ok(((buf, next), n)) => {
                    count = n;
                    let mut chunk = std::mem::take(&mut first);
                    chunk.extend_from_slice(&buf);
                    (ExportChunk::Data(chunk), next)
                }
                Err(e) => {
                    tracing::warn!(%tenant, error = %e, entries = count, "audit export failed part-way");
                    (ExportChunk::Failed(e.public_message()), None)
                }
            };
            let failed = matches!(chunk, ExportChunk::Failed(_));
            if !send(&tx, chunk, &tenant, count).await {
                return;
            }
            match next {
                Some(n) if !failed => after = Some(n),
                Some(_) => return,
                None => {
                    if !failed {
                        send(&tx, ExportChunk::End, &tenant, count).await;
                    }
                    return;
                }
            }
        }
    });
    Ok(rx)
}

/// Sends one chunk of an export; false when its reader went away or
/// stopped reading (logged: the transfer is then broken, never ended as
/// if whole).
async fn send(
    tx: &mpsc::Sender<ExportChunk>,
    chunk: ExportChunk,
    tenant: &str,
    count: u64,
) -> bool {
    match tokio::time::timeout(EXPORT_SEND_TIMEOUT, tx.send(chunk)).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => {
            tracing::info!(%tenant, entries = count, "audit export: the reader went away");
            false
        }
        Err(_) => {
            tracing::warn!(
                %tenant,
                entries = count,
                "audit export: the reader took no data for {} s; broken off",
                EXPORT_SEND_TIMEOUT.as_secs()
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Scope;

    /// A plan whose terms decide the selection reads no leaf to check a
    /// candidate; it selects exactly what checking every leaf selects.
    #[tokio::test]
    async fn exact_plans_select_what_checking_each_leaf_selects() {
        let d = tempfile::tempdir().unwrap();
        let (st, t) = crate::service::tenancy::state_with_acme(d.path()).await;
        let admin = Principal::Tenant {
            tenant: "acme".into(),
            token_id: t.admin_token.id.clone(),
            scope: Scope::Admin,
        };
        for (c, p) in [
            ("c1", "p1"),
            ("c2", "p1"),
            ("c1", "p2"),
            ("c1", "p1"),
            ("c2", "p2"),
        ] {
            let (a, e) = crate::store::audit::tests::download(c, p);
            st.record("acme", a, e, Vec::new()).await.unwrap();
        }
        let size = st
            .tenant_log("acme")
            .unwrap()
            .checkpoint()
            .await
            .unwrap()
            .size;
        let s = |v: &str| Some(v.to_owned());
        let kinds = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        let cases = [
            (Filter::default(), true),
            (
                Filter {
                    customer: s("c1"),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    product: s("p1"),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    subject: s("tok-c2"),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    customer: s("c1"),
                    product: s("p1"),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    kinds: kinds(&["download_served", "token_issued"]),
                    ..Filter::default()
                },
                true,
            ),
            (
                Filter {
                    kinds: kinds(&["download_served"]),
                    customer: s("c2"),
                    ..Filter::default()
                },
                false,
            ),
            (
                Filter {
                    product: s("p1"),
                    tag: s("v1"),
                    ..Filter::default()
                },
                false,
            ),
            (
                Filter {
                    customer: s("c1"),
                    subject: s("tok-c2"),
                    ..Filter::default()
                },
                false,
            ),
        ];
        for (filter, exact) in cases {
            for order in [Order::Oldest, Order::Newest] {
                let q = Query {
                    filter: filter.clone(),
                    order,
                    cursor: None,
                    limit: None,
                    proofs: false,
                };
                let mut plan = plan(&st, &admin, "acme", &q).unwrap();
                assert_eq!(plan.exact, exact, "{filter:?}");
                let fast = page(st.store(), &plan, size, None, 100).unwrap().rows;
                plan.exact = false;
                let checked = page(st.store(), &plan, size, None, 100).unwrap().rows;
                assert_eq!(fast, checked, "{filter:?}");
            }
        }
        // The cases select something where they should (the comparison
        // above is not between two empty pages).
        let q = Query {
            filter: Filter {
                customer: s("c1"),
                product: s("p1"),
                ..Filter::default()
            },
            order: Order::Oldest,
            cursor: None,
            limit: None,
            proofs: false,
        };
        let p = plan(&st, &admin, "acme", &q).unwrap();
        assert_eq!(page(st.store(), &p, size, None, 100).unwrap().rows.len(), 2);
    }

    #[test]
    fn csv_cells_are_neither_formulas_nor_line_breaks() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1".into()), "'+1");
        assert_eq!(csv_cell("@a".into()), "'@a");
        assert_eq!(csv_cell("a@b.example".into()), "a@b.example");
        assert_eq!(
            csv_cell("x\n# end entries=0\r".into()),
            "x\\n# end entries=0\\r"
        );
        assert_eq!(csv_cell("-\n".into()), "'-\\n");
    }

    #[test]
    fn export_slots_are_limited_per_server_and_tenant_and_given_back() {
        let slots = ExportSlots::default();
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        let e = slots.take("a").unwrap_err();
        assert!(matches!(e, Error::TooManyRequests { .. }), "{e}");
        assert!(e.to_string().contains("this tenant"), "{e}");
        let _b1 = slots.take("b").unwrap();
        let _b2 = slots.take("b").unwrap();
        let e = slots.take("c").unwrap_err();
        assert!(e.to_string().contains("this server"), "{e}");
        drop(a1);
        let _c = slots.take("c").unwrap();
        assert!(slots.take("a").is_err(), "the server is full again");
    }
}
