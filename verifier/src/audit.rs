//! Audit queries: which log entries a filter selects, the terms the server
//! indexes an entry under, and the proof-carrying answer an auditor checks
//! offline.
//!
//! One definition serves both sides. The server indexes every entry under
//! the [`Terms`] of [`terms`] (in the batch that appends it) and selects
//! with [`Filter::mismatch`]; `evident-verify entries` re-applies the same
//! filter to every entry of an [`Answer`], so an answer cannot carry an
//! entry its query does not select, and checks each entry's inclusion in one
//! signed checkpoint of the tenant's log.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    checkpoint::{check_entry_tenant, open_checkpoint},
    merkle,
    note::NoteVerifier,
    proof,
};

/// The format line of an [`Answer`].
pub const FORMAT: &str = "evident-audit/v1";

/// The format line of the first line of a JSON Lines export.
pub const EXPORT_FORMAT: &str = "evident-audit-export/v1";

/// What an audit query selects. Every field given must hold; several
/// `kinds` are alternatives. Values compare exactly.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Event kinds (`download_served`, `token_issued`, …); any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// The product the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The release tag the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// A customer id: the actor's, or the one the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// A token id, an OIDC subject or an e-mail address: of the actor, of
    /// who downloaded, or the token the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A share link id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A regulator request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Entries recorded at or after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Entries recorded before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A filter with its times parsed: what selection runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The filter as given.
    pub filter: Filter,
    /// `from` in Unix seconds (inclusive).
    pub from: Option<i64>,
    /// `to` in Unix seconds (exclusive).
    pub to: Option<i64>,
}

fn rfc3339(t: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{t:?} is not an RFC 3339 time: {e}"))
}

/// Parses an RFC 3339 time into Unix seconds (an entry's `time`: whole
/// seconds, any fraction dropped).
pub fn unix_seconds(t: &str) -> Result<i64, String> {
    rfc3339(t).map(|d| d.unix_timestamp())
}

/// Parses a filter's `from` or `to` into Unix seconds, rounded up: entries
/// are stamped in whole seconds, so "at or after 10.5" and "before 10.5"
/// both mean the same as with 11.
pub fn bound_seconds(t: &str) -> Result<i64, String> {
    rfc3339(t).map(|d| d.unix_timestamp() + i64::from(d.nanosecond() > 0))
}

/// The longest value a filter field may have, bytes.
pub const MAX_VALUE_BYTES: usize = 512;

/// The most kinds one filter may list.
pub const MAX_KINDS: usize = 32;

impl Filter {
    /// Checks the filter and parses its times. The error says which field
    /// is wrong.
    pub fn compile(&self) -> Result<Compiled, String> {
        if self.kinds.len() > MAX_KINDS {
            return Err(format!("kinds: at most {MAX_KINDS}"));
        }
        let fields = [
            ("product", &self.product),
            ("tag", &self.tag),
            ("customer", &self.customer),
            ("subject", &self.subject),
            ("link", &self.link),
            ("request", &self.request),
        ];
        for (name, v) in fields {
            if let Some(v) = v {
                if v.is_empty() || v.len() > MAX_VALUE_BYTES {
                    return Err(format!("{name}: 1 to {MAX_VALUE_BYTES} bytes"));
                }
            }
        }
        if let Some(k) = self.kinds.iter().find(|k| {
            k.is_empty() || k.len() > 64 || !k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        }) {
            return Err(format!("kinds: {k:?} is not an event kind"));
        }
        if self.tag.is_some() && self.product.is_none() {
            return Err("tag: give the product too".into());
        }
        let from = self
            .from
            .as_deref()
            .map(bound_seconds)
            .transpose()
            .map_err(|e| format!("from: {e}"))?;
        let to = self
            .to
            .as_deref()
            .map(bound_seconds)
            .transpose()
            .map_err(|e| format!("to: {e}"))?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err("from: after to".into());
            }
        }
        Ok(Compiled {
            filter: self.clone(),
            from,
            to,
        })
    }
}

impl Compiled {
    /// Why an entry with `terms` is not selected, or `None` when it is.
    pub fn mismatch(&self, t: &Terms) -> Option<String> {
        let f = &self.filter;
        if !f.kinds.is_empty() && !f.kinds.contains(&t.kind) {
            return Some(format!(
                "kind {} is not one of {}",
                t.kind,
                f.kinds.join(", ")
            ));
        }
        let one = |name: &str, want: &Option<String>, got: &Option<String>| match want {
            Some(w) if got.as_ref() != Some(w) => Some(format!(
                "{name} is {}, not {w}",
                got.as_deref().unwrap_or("absent")
            )),
            _ => None,
        };
        let any = |name: &str, want: &Option<String>, got: &[String]| match want {
            Some(w) if !got.contains(w) => {
                Some(format!("{name} {w} is not among [{}]", got.join(", ")))
            }
            _ => None,
        };
        if let Some(m) = one("product", &f.product, &t.product)
            .or_else(|| one("tag", &f.tag, &t.tag))
            .or_else(|| any("customer", &f.customer, &t.customers))
            .or_else(|| any("subject", &f.subject, &t.subjects))
            .or_else(|| any("share link", &f.link, &t.links))
            .or_else(|| any("regulator request", &f.request, &t.requests))
        {
            return Some(m);
        }
        if self.from.is_some_and(|from| t.time < from) {
            return Some(format!("recorded at {}, before from", t.time));
        }
        if self.to.is_some_and(|to| t.time >= to) {
            return Some(format!("recorded at {}, not before to", t.time));
        }
        None
    }
}

/// What an entry can be selected by (and is indexed under).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms {
    /// When it was recorded, Unix seconds.
    pub time: i64,
    /// Its event kind.
    pub kind: String,
    /// Its product, if any.
    pub product: Option<String>,
    /// Its tag, if any.
    pub tag: Option<String>,
    /// The customers it names: the actor's and the event's.
    pub customers: Vec<String>,
    /// Token ids, OIDC subjects and e-mail addresses it names.
    pub subjects: Vec<String>,
    /// Share link ids it names.
    pub links: Vec<String>,
    /// Regulator request ids it names.
    pub requests: Vec<String>,
}

fn push(v: &mut Vec<String>, x: &Value) {
    if let Some(s) = x.as_str().filter(|s| !s.is_empty()) {
        if !v.iter().any(|e| e == s) {
            v.push(s.to_owned());
        }
    }
}

fn subject_terms(v: &mut Vec<String>, s: &Value) {
    push(v, &s["token_id"]);
    push(v, &s["subject"]);
    push(v, &s["email"]);
}

/// The terms of one log entry (the parsed leaf). `None` when it is not an
/// event of this log's format (no kind, or no RFC 3339 time).
pub fn terms(leaf: &Value) -> Option<Terms> {
    let ev = &leaf["event"];
    let kind = ev["kind"].as_str()?.to_owned();
    let time = unix_seconds(leaf["time"].as_str()?).ok()?;
    let actor = &leaf["actor"];
    let mut t = Terms {
        time,
        kind,
        product: ev["product"].as_str().map(str::to_owned),
        tag: ev["tag"].as_str().map(str::to_owned),
        ..Terms::default()
    };
    push(&mut t.customers, &actor["customer_id"]);
    push(&mut t.customers, &ev["customer_id"]);
    push(&mut t.subjects, &actor["token_id"]);
    subject_terms(&mut t.subjects, &actor["subject"]);
    subject_terms(&mut t.subjects, &ev["subject"]);
    push(&mut t.subjects, &ev["token_id"]);
    push(&mut t.subjects, &ev["email"]);
    push(&mut t.links, &actor["link_id"]);
    push(&mut t.links, &ev["link_id"]);
    push(&mut t.requests, &ev["request_id"]);
    Some(t)
}

/// Which end of the log an answer starts from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Newest first (by time, then index).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
}

/// One entry of an [`Answer`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerEntry {
    /// The entry's index in the tenant's log.
    pub index: u64,
    /// The entry: the leaf bytes (RFC 8785 JSON of the event), as text.
    pub entry: String,
    /// Inclusion proof hashes (RFC 9162 §2.1.3), base64, leaf to root,
    /// against the answer's checkpoint; present when proofs were asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<Vec<String>>,
}

/// The answer to an audit query (`GET /api/v1/tenants/{t}/audit/events`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// Always `evident-audit/v1`.
    pub format: String,
    /// The query this page answers.
    pub query: Filter,
    /// The order of the entries.
    pub order: Order,
    /// The tree size the answer was read at: no entry at or past it is included.
    pub tree_size: u64,
    /// The signed checkpoint of size `tree_size` every proof is against,
    /// when proofs were asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The cursor this page was asked with: absent on a walk's first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The selected entries, in `order`.
    pub entries: Vec<AnswerEntry>,
    /// Where the next page starts (pass as `cursor`); absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The first line of a JSON Lines export (`…/audit/events?format=jsonl`):
/// the query and the checkpoint every line after it is read at. Each
/// following line is an [`AnswerEntry`]; the last is an [`ExportEnd`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// Always `evident-audit-export/v1`.
    pub format: String,
    /// The query exported.
    pub query: Filter,
    /// The order of the entries.
    pub order: Order,
    /// The tree size the export is read at.
    pub tree_size: u64,
    /// The signed checkpoint of that size.
    pub checkpoint: String,
    /// The cursor the export started from, when it does not start at the
    /// beginning of the selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The last line of an export: how many entries it has, so a cut-short
/// export is told apart from a complete one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportEnd {
    /// The number of entry lines.
    pub entries: u64,
}

/// Checks entries one at a time against one checkpoint and query: for an
/// [`Answer`] and for an export of any length.
#[derive(Debug)]
pub struct Checker {
    origin: String,
    size: u64,
    root: merkle::Hash,
    q: Compiled,
    order: Order,
    prev: Option<(i64, u64)>,
    count: u64,
    checks: Vec<String>,
}

impl Checker {
    /// Opens `checkpoint` with `log_key` (origin = key name, signature) and
    /// checks it has `tree_size`.
    pub fn new(
        checkpoint: &str,
        tree_size: u64,
        query: &Filter,
        order: Order,
        log_key: &NoteVerifier,
    ) -> Result<Self, String> {
        let cp =
            open_checkpoint(checkpoint, log_key, None).map_err(|e| format!("checkpoint: {e}"))?;
        if cp.size != tree_size {
            return Err(format!(
                "checkpoint: the answer says tree size {tree_size}, the checkpoint has {}",
                cp.size
            ));
        }
        let q = query.compile().map_err(|e| format!("query: {e}"))?;
        Ok(Self {
            checks: vec![format!(
                "checkpoint signed by {} (size {})",
                log_key.name(),
                cp.size
            )],
            origin: cp.origin,
            size: cp.size,
            root: cp.root,
            q,
            order,
            prev: None,
            count: 0,
        })
    }

    /// Checks the next entry: its proof, tenant, selection and order.
    pub fn entry(&mut self, e: &AnswerEntry) -> Result<(), String> {
        let at = |m: String| format!("entry {}: {m}", e.index);
        let proof = e
            .inclusion_proof
            .as_ref()
            .ok_or_else(|| at("no inclusion proof".into()))?;
        let hashes = proof::decode_named(proof, "inclusion proof").map_err(at)?;
        merkle::verify_inclusion(
            e.index,
            self.size,
            &merkle::leaf_hash(e.entry.as_bytes()),
            &hashes,
            &self.root,
        )
        .map_err(|x| at(format!("inclusion proof: {x}")))?;
        let v: Value = serde_json::from_str(&e.entry).map_err(|x| at(format!("not JSON: {x}")))?;
        check_entry_tenant(&self.origin, v["tenant"].as_str().unwrap_or(""))
            .map_err(|x| at(x.to_string()))?;
        let t = terms(&v).ok_or_else(|| at("not a log event (no kind or time)".into()))?;
        if let Some(m) = self.q.mismatch(&t) {
            return Err(at(format!("not selected by the query: {m}")));
        }
        let pos = (t.time, e.index);
        if let Some(p) = self.prev {
            let (in_order, first) = match self.order {
                Order::Oldest => (pos > p, "oldest"),
                Order::Newest => (pos < p, "newest"),
            };
            if !in_order {
                return Err(at(format!(
                    "out of order: the answer is {first} first, and entry {} came before it",
                    p.1
                )));
            }
        }
        self.prev = Some(pos);
        self.count += 1;
        Ok(())
    }

    /// The checks that held, starting with what was asked: the query, the
    /// order and the tree size it was read at.
    pub fn finish(mut self) -> Vec<String> {
        let asked = serde_json::to_string(&self.q.filter).unwrap_or_default();
        self.checks.insert(
            0,
            format!(
                "the query: {asked}, {} first, read at tree size {}",
                match self.order {
                    Order::Oldest => "oldest",
                    Order::Newest => "newest",
                },
                self.size
            ),
        );
        self.checks.push(format!(
            "{} entries, each in the tree of size {} and of tenant {}",
            self.count,
            self.size,
            self.origin.rsplit_once('/').map_or("?", |(_, t)| t)
        ));
        self.checks
            .push("every entry is selected by the query, in order, without repeats".into());
        self.checks
    }
}

/// Checks an answer offline: the checkpoint is `log_key`'s (origin = key
/// name) and signed by it; every entry is in that tree, is of the log's
/// tenant, is selected by the answer's query, and comes in the answer's
/// order without repeats. The first failure is the error, naming the entry.
pub fn verify_answer(a: &Answer, log_key: &NoteVerifier) -> Result<Vec<String>, String> {
    if a.format != FORMAT {
        return Err(format!("answer format is {:?}, not {FORMAT}", a.format));
    }
    let note = a
        .checkpoint
        .as_deref()
        .ok_or("checkpoint: the answer carries none; ask with proofs=true")?;
    let mut c = Checker::new(note, a.tree_size, &a.query, a.order, log_key)?;
    for e in &a.entries {
        c.entry(e)?;
    }
    let mut checks = c.finish();
    if let Some(cur) = &a.cursor {
        checks.push(format!(
            "a later page: it starts after cursor {cur}, not at the start of the selection"
        ));
    }
    if let Some(n) = &a.next_cursor {
        checks.push(format!(
            "one page only: more entries follow (next_cursor {n}); check each page"
        ));
    }
    Ok(checks)
}

/// Checks a JSON Lines export offline, line by line (so its size does not
/// matter): the header's checkpoint, every entry as [`Checker::entry`]
/// does, and the closing count (a cut-short export fails).
pub fn verify_export(
    lines: impl std::io::BufRead,
    log_key: &NoteVerifier,
) -> Result<Vec<String>, String> {
    let mut lines = lines.lines().enumerate();
    let mut next = || -> Result<Option<(usize, String)>, String> {
        lines
            .next()
            .map(|(n, l)| {
                l.map(|l| (n + 1, l))
                    .map_err(|e| format!("reading line {}: {e}", n + 1))
            })
            .transpose()
    };
    let (_, first) = next()?.ok_or("the export is empty")?;
    let h: ExportHeader =
        serde_json::from_str(&first).map_err(|e| format!("line 1: not an export header: {e}"))?;
    if h.format != EXPORT_FORMAT {
        return Err(format!(
            "line 1: format is {:?}, not {EXPORT_FORMAT}",
            h.format
        ));
    }
    let mut c = Checker::new(&h.checkpoint, h.tree_size, &h.query, h.order, log_key)?;
    loop {
        let Some((n, line)) = next()? else {
            return Err(format!(
                "the export ends after {} entries without its closing count: it was cut short",
                c.count
            ));
        };
        if let Ok(end) = serde_json::from_str::<ExportEnd>(&line) {
            if end.entries != c.count {
                return Err(format!(
                    "line {n}: the export says {} entries, it has {}",
                    end.entries, c.count
                ));
            }
            if next()?.is_some() {
                return Err(format!("line {}: lines after the closing count", n + 1));
            }
            let mut checks = c.finish();
            if let Some(cur) = &h.cursor {
                checks.push(format!(
                    "a partial export: it starts after cursor {cur}, not at the start of the selection"
                ));
            }
            return Ok(checks);
        }
        let e: AnswerEntry = serde_json::from_str(&line).map_err(|e| {
            if line.contains("\"error\"") {
                format!("line {n}: the export ended with an error: {line}")
            } else {
                format!("line {n}: not an entry: {e}")
            }
        })?;
        c.entry(&e).map_err(|m| format!("line {n}: {m}"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{checkpoint::Checkpoint, note::NoteSigner};
    use ed25519_dalek::SigningKey;

    fn leaf(tenant: &str, time: &str, customer: &str, product: &str) -> String {
        format!(
            r#"{{"actor":{{"customer_id":"{customer}","subject":{{"email":"a@b.example","issuer":"https://idp.example","subject":"u1","type":"oidc"}},"type":"customer"}},"event":{{"artifact":"export","customer_id":"{customer}","format":"cyclonedx-json","kind":"download_served","product":"{product}","revision":1,"sha256":"00","subject":{{"email":"a@b.example","issuer":"https://idp.example","subject":"u1","type":"oidc"}},"tag":"v1"}},"tenant":"{tenant}","time":"{time}","v":1}}"#
        )
    }

    /// A log of `leaves` signed as `origin`; the answer selecting `pick`.
    fn answer(
        key: &SigningKey,
        origin: &str,
        leaves: &[String],
        pick: &[usize],
        query: Filter,
        order: Order,
    ) -> (Answer, NoteVerifier) {
        let hashes: Vec<_> = leaves
            .iter()
            .map(|l| merkle::leaf_hash(l.as_bytes()))
            .collect();
        let size = leaves.len() as u64;
        let root = merkle::reference::root(&hashes);
        let signer = NoteSigner::new(origin, key.clone()).unwrap();
        let text = Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: vec![],
        }
        .to_text();
        let note = signer.sign(&text).unwrap();
        let entries = pick
            .iter()
            .map(|&i| AnswerEntry {
                index: i as u64,
                entry: leaves[i].clone(),
                inclusion_proof: Some(
                    merkle::reference::inclusion_proof(&hashes, i)
                        .iter()
                        .map(merkle::to_b64)
                        .collect(),
                ),
            })
            .collect();
        (
            Answer {
                format: FORMAT.into(),
                query,
                order,
                tree_size: size,
                checkpoint: Some(note),
                cursor: None,
                entries,
                next_cursor: None,
            },
            signer.verifier().clone(),
        )
    }

    fn demo() -> (Vec<String>, Filter) {
        let leaves = vec![
            leaf("acme", "2026-01-01T00:00:00Z", "c1", "p1"),
            leaf("acme", "2026-01-02T00:00:00Z", "c2", "p1"),
            leaf("acme", "2026-01-03T00:00:00Z", "c1", "p2"),
            leaf("acme", "2026-01-04T00:00:00Z", "c1", "p1"),
            leaf("acme", "2026-01-05T00:00:00Z", "c1", "p1"),
        ];
        let q = Filter {
            kinds: vec!["download_served".into()],
            product: Some("p1".into()),
            customer: Some("c1".into()),
            from: Some("2026-01-01T00:00:00Z".into()),
            to: Some("2026-01-05T00:00:00Z".into()),
            ..Filter::default()
        };
        (leaves, q)
    }

    #[test]
    fn terms_of_a_download() {
        let v: Value =
            serde_json::from_str(&leaf("acme", "2026-01-01T00:00:00Z", "c1", "p1")).unwrap();
        let t = terms(&v).unwrap();
        assert_eq!(t.kind, "download_served");
        assert_eq!(t.time, 1_767_225_600);
        assert_eq!(t.customers, ["c1"]);
        assert_eq!(t.subjects, ["u1", "a@b.example"]);
        assert_eq!(t.product.as_deref(), Some("p1"));
        assert_eq!(t.tag.as_deref(), Some("v1"));
    }

    #[test]
    fn an_honest_answer_verifies() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let (leaves, q) = demo();
        let (a, v) = answer(
            &key,
            "evident.example/acme",
            &leaves,
            &[3, 0],
            q.clone(),
            Order::Newest,
        );
        let checks = verify_answer(&a, &v).unwrap();
        assert!(checks.iter().any(|c| c.contains("2 entries")), "{checks:?}");
        let (a, v) = answer(
            &key,
            "evident.example/acme",
            &leaves,
            &[0, 3],
            q,
            Order::Oldest,
        );
        let checks = verify_answer(&a, &v).unwrap();
        assert!(checks[0].contains("oldest first"), "{checks:?}");
        assert!(!checks.iter().any(|c| c.contains("page")), "{checks:?}");
        // A later page, and a page with more after it, say so.
        let mut later = a.clone();
        later.cursor = Some("9.1.1".into());
        later.next_cursor = Some("9.2.2".into());
        let checks = verify_answer(&later, &v).unwrap();
        assert!(
            checks.iter().any(|c| c.contains("a later page"))
                && checks.iter().any(|c| c.contains("one page only")),
            "{checks:?}"
        );
    }

    #[test]
    fn bounds_round_up_and_entry_times_do_not() {
        assert_eq!(bound_seconds("1970-01-01T00:00:10.5Z"), Ok(11));
        assert_eq!(bound_seconds("1970-01-01T00:00:10Z"), Ok(10));
        assert_eq!(unix_seconds("1970-01-01T00:00:10.5Z"), Ok(10));
        let f = Filter {
            from: Some("1970-01-01T00:00:10.1Z".into()),
            to: Some("1970-01-01T00:00:20.9Z".into()),
            ..Filter::default()
        }
        .compile()
        .unwrap();
        assert_eq!((f.from, f.to), (Some(11), Some(21)));
    }

    #[test]
    fn tampered_answers_fail_and_say_why() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let (leaves, q) = demo();
        let origin = "evident.example/acme";
        let base = || answer(&key, origin, &leaves, &[3, 0], q.clone(), Order::Newest);

        // A byte of an entry changed.
        let (mut a, v) = base();
        a.entries[0].entry = a.entries[0].entry.replace("c1", "c3");
        let e = verify_answer(&a, &v).unwrap_err();
        assert!(e.starts_with("entry 3: inclusion proof"), "{e}");

        // An entry the query does not select (customer c2), with a valid proof.
        let (a, v) = answer(&key, origin, &leaves, &[3, 1], q.clone(), Order::Newest);
        let e = verify_answer(&a, &v).unwrap_err();
        assert!(
            e.contains("entry 1: not selected by the query: customer c1"),
            "{e}"
        );

        // Out of the answer's order, or repeated.
        let (a, v) = answer(&key, origin, &leaves, &[0, 3], q.clone(), Order::Newest);
        let e = verify_answer(&a, &v).unwrap_err();
        assert!(e.contains("entry 3: out of order"), "{e}");
        let (a, v) = answer(&key, origin, &leaves, &[3, 3], q.clone(), Order::Newest);
        assert!(verify_answer(&a, &v).unwrap_err().contains("out of order"));

        // A proof dropped.
        let (mut a, v) = base();
        a.entries[1].inclusion_proof = None;
        assert_eq!(
            verify_answer(&a, &v).unwrap_err(),
            "entry 0: no inclusion proof"
        );

        // The query widened after the fact is still checked against the
        // checkpoint; a narrowed one refuses the entries it drops.
        let (mut a, v) = base();
        a.query.to = Some("2026-01-04T00:00:00Z".into());
        let e = verify_answer(&a, &v).unwrap_err();
        assert!(
            e.contains("entry 3: not selected by the query: recorded at"),
            "{e}"
        );

        // Tree size changed.
        let (mut a, v) = base();
        a.tree_size = 4;
        assert!(verify_answer(&a, &v).unwrap_err().contains("tree size 4"));

        // Another tenant's log, key and entries: the tenant check names it.
        let other: Vec<String> = leaves
            .iter()
            .map(|l| l.replace("\"acme\"", "\"globex\""))
            .collect();
        let (a, _) = answer(
            &key,
            "evident.example/globex",
            &other,
            &[3, 0],
            q.clone(),
            Order::Newest,
        );
        let e = verify_answer(&a, &v).unwrap_err();
        assert!(e.contains("checkpoint"), "{e}");
        // Another tenant's entries under this tenant's checkpoint and key.
        let (a, v2) = answer(&key, origin, &other, &[3, 0], q.clone(), Order::Newest);
        let e = verify_answer(&a, &v2).unwrap_err();
        assert!(e.contains("entry 3") && e.contains("globex"), "{e}");

        // No checkpoint.
        let (mut a, v) = base();
        a.checkpoint = None;
        assert!(verify_answer(&a, &v).unwrap_err().contains("proofs=true"));
    }

    fn jsonl(a: &Answer, count: Option<u64>) -> Vec<String> {
        let mut out = vec![serde_json::to_string(&ExportHeader {
            format: EXPORT_FORMAT.into(),
            query: a.query.clone(),
            order: a.order,
            tree_size: a.tree_size,
            checkpoint: a.checkpoint.clone().unwrap(),
            cursor: None,
        })
        .unwrap()];
        out.extend(a.entries.iter().map(|e| serde_json::to_string(e).unwrap()));
        out.push(
            serde_json::to_string(&ExportEnd {
                entries: count.unwrap_or(a.entries.len() as u64),
            })
            .unwrap(),
        );
        out
    }

    #[test]
    fn exports_verify_line_by_line_and_tampering_is_named() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let (leaves, q) = demo();
        let (a, v) = answer(
            &key,
            "evident.example/acme",
            &leaves,
            &[4, 3, 0],
            Filter { to: None, ..q },
            Order::Newest,
        );
        let check = |lines: &[String]| verify_export(lines.join("\n").as_bytes(), &v);
        let good = jsonl(&a, None);
        let checks = check(&good).unwrap();
        assert!(checks.iter().any(|c| c.contains("3 entries")), "{checks:?}");

        // The closing count dropped: cut short.
        let e = check(&good[..good.len() - 1]).unwrap_err();
        assert!(e.contains("cut short"), "{e}");
        // A middle line dropped: the count says so.
        let mut l = good.clone();
        l.remove(2);
        assert_eq!(
            check(&l).unwrap_err(),
            "line 4: the export says 3 entries, it has 2"
        );
        // Two lines swapped: out of order.
        let mut l = good.clone();
        l.swap(1, 2);
        assert!(check(&l)
            .unwrap_err()
            .starts_with("line 3: entry 4: out of order"));
        // A byte changed in an entry.
        let mut l = good.clone();
        l[3] = l[3].replace("c1", "c9");
        assert!(check(&l)
            .unwrap_err()
            .starts_with("line 4: entry 0: inclusion proof"));
        // An error line from the server.
        let mut l = good[..2].to_vec();
        l.push(r#"{"error":"storage failed"}"#.into());
        assert!(check(&l).unwrap_err().contains("ended with an error"));
        // Another log key.
        let other =
            NoteSigner::new("evident.example/acme", SigningKey::from_bytes(&[8; 32])).unwrap();
        let e = verify_export(good.join("\n").as_bytes(), other.verifier()).unwrap_err();
        assert!(e.starts_with("checkpoint:"), "{e}");
    }

    #[test]
    fn compile_refuses_bad_filters() {
        let bad = |f: Filter| f.compile().unwrap_err();
        assert!(bad(Filter {
            from: Some("yesterday".into()),
            ..Filter::default()
        })
        .starts_with("from:"));
        assert!(bad(Filter {
            tag: Some("v1".into()),
            ..Filter::default()
        })
        .starts_with("tag:"));
        assert!(bad(Filter {
            kinds: vec!["Drop table".into()],
            ..Filter::default()
        })
        .starts_with("kinds:"));
        assert!(bad(Filter {
            from: Some("2026-02-01T00:00:00Z".into()),
            to: Some("2026-01-01T00:00:00Z".into()),
            ..Filter::default()
        })
        .starts_with("from:"));
        assert!(bad(Filter {
            customer: Some(String::new()),
            ..Filter::default()
        })
        .starts_with("customer:"));
    }
}
