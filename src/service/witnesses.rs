//! Witnesses (C2SP tlog-witness and tlog-cosignature): the tenant admin
//! names the witnesses of its log; a job submits each new checkpoint to
//! each of them with a consistency proof from the size the witness last
//! saw, keeps the `cosignature/v1` lines they return (each checked with the
//! witness's key first), and serves the latest cosigned checkpoint with
//! them appended. A witness that refuses (a fork, a proof that does not
//! verify, an unknown log) is recorded with its reason and retried on the
//! next round; nothing it says is kept unchecked.

use std::io::Read as _;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident_verify::witness::{self as wfmt, WitnessKey};
use serde::{Deserialize, Serialize};

use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::EventBody,
        policy::{allow, Action, Resource},
        records::{WitnessRecord, WitnessState},
        Error, Principal,
    },
    service::{blocking, oidc, AppState},
    store::Db,
};

/// At most this many witnesses per tenant.
pub const MAX_WITNESSES: usize = 16;

/// The largest answer read from a witness (cosignature lines are ~110 bytes).
const MAX_ANSWER: u64 = 16 << 10;

/// `POST …/witnesses`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWitness {
    /// The witness's submission prefix (`https://…`; checkpoints go to
    /// `<url>/add-checkpoint`).
    pub url: String,
    /// Its `cosignature/v1` verifier key, `<name>+<key id>+<base64(0x04 || key)>`.
    pub key: String,
}

/// A witness with what the log knows of it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WitnessView {
    /// Its key id (8 hex digits): the id in `DELETE …/witnesses/{id}`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its submission prefix.
    pub url: String,
    /// Its verifier key.
    pub key: String,
    /// RFC 3339.
    pub added_at: String,
    /// The size the witness last cosigned or reported.
    pub size: u64,
    /// The largest checkpoint size it cosigned.
    pub cosigned_size: Option<u64>,
    /// RFC 3339, the last cosignature.
    pub cosigned_at: Option<String>,
    /// Why the last submission failed, if it did.
    pub last_error: Option<String>,
}

fn view(w: WitnessRecord, st: WitnessState) -> WitnessView {
    WitnessView {
        id: w.id,
        name: w.name,
        url: w.url,
        key: w.vkey,
        added_at: rfc3339(w.added_at),
        size: st.size,
        cosigned_size: st.cosigned_size,
        cosigned_at: st.cosigned_at.map(rfc3339),
        last_error: st.last_error,
    }
}

/// `POST …/witnesses` (admin): adds a witness, logged `witness_added`.
pub async fn add(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    w: NewWitness,
) -> Result<WitnessView, Error> {
    allow(p, Action::ManageWitnesses, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let key = WitnessKey::parse(&w.key).map_err(|e| Error::Unprocessable(format!("key: {e}")))?;
    let url = checked_url(&w.url, state.oidc().allows_http_loopback())
        .map_err(|e| Error::Unprocessable(format!("url: {e}")))?;
    let id = key.key_id_hex();
    let _lock = state.tenant_lock(tenant).await;
    let all = state.store().witnesses(tenant)?;
    if all.iter().any(|x| x.id == id || x.name == key.name()) {
        return Err(Error::Conflict(format!(
            "witness {} is already one of the log's witnesses",
            key.name()
        )));
    }
    if all.len() >= MAX_WITNESSES {
        return Err(Error::Unprocessable(format!(
            "a log has at most {MAX_WITNESSES} witnesses"
        )));
    }
    let rec = WitnessRecord {
        name: key.name().to_owned(),
        id,
        url: url.clone(),
        vkey: key.to_vkey(),
        added_at: now_unix(),
    };
    let event = EventBody::WitnessAdded {
        name: rec.name.clone(),
        url,
        vkey: rec.vkey.clone(),
    };
    state
        .record(tenant, p.actor(), event, Db::witness_ops(tenant, &rec))
        .await?;
    Ok(view(rec, WitnessState::default()))
}

/// `DELETE …/witnesses/{id}` (admin): removes a witness, logged
/// `witness_removed`; its kept cosignatures stay.
pub async fn remove(state: &AppState, p: &Principal, tenant: &str, id: &str) -> Result<(), Error> {
    allow(p, Action::ManageWitnesses, Resource::Tenant(tenant))?;
    let id = &id.to_ascii_lowercase();
    state.tenant_log(tenant)?;
    let _lock = state.tenant_lock(tenant).await;
    let w = state
        .store()
        .witness(tenant, id)?
        .ok_or_else(Error::not_found)?;
    let event = EventBody::WitnessRemoved {
        name: w.name,
        vkey: w.vkey,
    };
    state
        .record(tenant, p.actor(), event, Db::witness_delete_ops(tenant, id))
        .await?;
    Ok(())
}

/// `GET …/witnesses` (whoever may read the log): the witnesses and their state.
pub fn list(state: &AppState, p: &Principal, tenant: &str) -> Result<Vec<WitnessView>, Error> {
    allow(p, Action::ReadLog, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    state
        .store()
        .witnesses(tenant)?
        .into_iter()
        .map(|w| {
            let st = state.store().witness_state(tenant, &w.id)?;
            Ok(view(w, st))
        })
        .collect()
}

/// `GET …/log/checkpoint/cosigned` (whoever may read the log): the latest
/// checkpoint that a witness cosigned, with every kept cosignature line
/// appended after the log's own signature. 404 before the first.
pub fn cosigned(state: &AppState, p: &Principal, tenant: &str) -> Result<String, Error> {
    allow(p, Action::ReadLog, Resource::Tenant(tenant))?;
    let log = state.tenant_log(tenant)?;
    let (cp, lines) = latest_cosigned(state, &log, tenant)?.ok_or_else(|| {
        Error::NotFound("no witness has cosigned a checkpoint of this log yet".into())
    })?;
    Ok(with_cosignatures(&cp.note, &lines))
}

/// The latest checkpoint a witness cosigned, with its cosignature lines,
/// when it covers entry `index` and is signed by the log's current key (a
/// checkpoint from before a key change is left for the latest one, which
/// verifies with the key a reader is given): what receipts and kits carry.
pub fn covering(
    state: &AppState,
    log: &evident_log::Log,
    tenant: &str,
    index: u64,
) -> Result<Option<(evident_log::SignedCheckpoint, Vec<String>)>, Error> {
    Ok(latest_cosigned(state, log, tenant)?.filter(|(cp, lines)| {
        cp.size > index
            && !lines.is_empty()
            && evident_verify::checkpoint::open_checkpoint(&cp.note, &log.verifier(), None).is_ok()
    }))
}

/// The note with the witnesses' lines appended after the log's signature.
pub fn with_cosignatures(note: &str, lines: &[String]) -> String {
    let mut out = note.to_owned();
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The latest checkpoint a witness cosigned and its kept cosignature lines
/// (each `— <witness> <base64>`, without its newline); `None` before the
/// first. Served as is, and carried by receipts that it covers.
pub fn latest_cosigned(
    state: &AppState,
    log: &evident_log::Log,
    tenant: &str,
) -> Result<Option<(evident_log::SignedCheckpoint, Vec<String>)>, Error> {
    let Some(size) = state.store().cosigned_latest(tenant)? else {
        return Ok(None);
    };
    let cp = log
        .checkpoint_at(size)?
        .ok_or_else(|| Error::Internal(format!("the cosigned checkpoint {size} is missing")))?;
    let lines = state
        .store()
        .cosignatures(tenant, size)?
        .into_values()
        .map(|l| l.trim_end_matches('\n').to_owned())
        .collect();
    Ok(Some((cp, lines)))
}

/// The longest witness URL taken.
const MAX_URL: usize = 512;

/// A witness URL as kept: https:// (or http:// on loopback when the
/// operator allows it), no credentials, query or fragment (it is written
/// into the log), at most [`MAX_URL`] bytes, without a trailing `/`.
fn checked_url(url: &str, allow_http_loopback: bool) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    if url.len() > MAX_URL {
        return Err(format!("longer than {MAX_URL} bytes"));
    }
    if !oidc::url_allowed(url, allow_http_loopback) {
        return Err(format!(
            "{url} is not an https:// URL (plain http:// only on loopback, and only with --allow-http-idp-on-loopback)"
        ));
    }
    let u = url::Url::parse(url).map_err(|e| e.to_string())?;
    if !u.username().is_empty()
        || u.password().is_some()
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return Err(format!(
            "{url} has credentials, a query or a fragment; the URL is written into the log"
        ));
    }
    let ip = match u.host() {
        Some(url::Host::Ipv4(a)) => Some(std::net::IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(std::net::IpAddr::V6(a)),
        _ => None,
    };
    if let Some(ip) = ip {
        if !(public_ip(ip) || (allow_http_loopback && ip.is_loopback())) {
            return Err(format!("{url} names a private address"));
        }
    }
    Ok(url.to_owned())
}

/// Whether `ip` is a public unicast address (witnesses are called only
/// there, so a tenant cannot make the server POST into its own network).
fn public_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        std::net::IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return public_ip(std::net::IpAddr::V4(v4));
            }
            let seg = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0x0db8))
        }
    }
}

/// How a submission ended.
#[derive(Debug)]
enum Answer {
    /// 200: the cosignature lines.
    Cosigned(String),
    /// 409: the witness's size differs from the `old` sent.
    Size(u64),
    /// Anything else: why.
    Refused(String),
}

/// A short, printable reason from a witness's answer: its first line if
/// that is a plain short phrase (`bad consistency proof`), else nothing,
/// so a URL pointed elsewhere cannot read answers back through the API.
fn reason(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    if first.len() <= 80
        && first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .,:;'()/_-".contains(c))
    {
        first.to_owned()
    } else {
        "(answer not shown)".to_owned()
    }
}

/// One `POST <url>/add-checkpoint` (blocking): no redirects, short
/// timeouts, a capped answer, and connections only to public addresses
/// (or loopback, when the operator allows http:// there), checked on the
/// addresses actually connected to.
fn post(url: &str, body: &str, allow_loopback: bool) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(3))
        .timeout(std::time::Duration::from_secs(5))
        .redirects(0)
        .resolver(move |netloc: &str| {
            let all: Vec<std::net::SocketAddr> =
                std::net::ToSocketAddrs::to_socket_addrs(netloc)?.collect();
            let ok: Vec<std::net::SocketAddr> = all
                .into_iter()
                .filter(|a| public_ip(a.ip()) || (allow_loopback && a.ip().is_loopback()))
                .collect();
            if ok.is_empty() {
                return Err(std::io::Error::other(format!(
                    "{netloc} resolves to no public address"
                )));
            }
            Ok(ok)
        })
        .build();
    let res = agent
        .post(&format!("{url}/add-checkpoint"))
        .set("Content-Type", "text/plain; charset=utf-8")
        .send_string(body);
    let (status, r) = match res {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(s, r)) => (s, r),
        Err(ureq::Error::Transport(t)) => {
            return Answer::Refused(format!("unreachable ({})", t.kind()))
        }
    };
    let mut text = String::new();
    if r.into_reader()
        .take(MAX_ANSWER)
        .read_to_string(&mut text)
        .is_err()
    {
        return Answer::Refused(format!("HTTP {status} with an unreadable answer"));
    }
    match status {
        200 => Answer::Cosigned(text),
        409 => match text.trim().parse() {
            Ok(n) => Answer::Size(n),
            Err(_) => Answer::Refused(format!("HTTP 409: {}", reason(&text))),
        },
        s => Answer::Refused(format!("HTTP {s}: {}", reason(&text))),
    }
}

/// Submits the log's latest checkpoint to every witness that has not
/// cosigned it yet; keeps each verified cosignature. Run by the job.
pub async fn submit(state: &AppState, tenant: &str) -> Result<(), Error> {
    let witnesses = state.store().witnesses(tenant)?;
    if witnesses.is_empty() {
        return Ok(());
    }
    let log = state.log(tenant)?;
    let cp = log.checkpoint().await?;
    if cp.size == 0 {
        return Ok(());
    }
    for w in witnesses {
        let st = state.store().witness_state(tenant, &w.id)?;
        if st.cosigned_size == Some(cp.size) {
            continue;
        }
        // After failures, wait 2^n seconds (at most an hour) between tries.
        if st.failures > 0 {
            let wait = 1i64 << st.failures.min(12);
            if st.attempted_at.unwrap_or(0) + wait.min(3600) > now_unix() {
                continue;
            }
        }
        let (state, tenant, log, note, size) = (
            state.clone(),
            tenant.to_owned(),
            log.clone(),
            cp.note.clone(),
            cp.size,
        );
        blocking("witness", move || {
            let mut st = st;
            st.attempted_at = Some(now_unix());
            let result = submit_one(&state, &tenant, &log, &w, &mut st, size, &note);
            match result {
                Ok(()) => {
                    st.last_error = None;
                    st.failures = 0;
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant, witness = %w.name, error = %e, "witness did not cosign");
                    st.last_error = Some(e);
                    st.failures = st.failures.saturating_add(1);
                }
            }
            state.store().put_witness_state(&tenant, &w.id, &st)
        })
        .await?;
    }
    Ok(())
}

/// Submits one checkpoint to one witness, learning its size once on a 409.
fn submit_one(
    state: &AppState,
    tenant: &str,
    log: &evident_log::Log,
    w: &WitnessRecord,
    st: &mut WitnessState,
    size: u64,
    note: &str,
) -> Result<(), String> {
    let key = WitnessKey::parse(&w.vkey)?;
    for _ in 0..2 {
        let old = st.size;
        if old > size {
            return Err(format!(
                "the witness has seen size {old}, larger than this log's {size}: a fork or a rollback"
            ));
        }
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            log.consistency_proof(old, size)
                .map_err(|e| e.to_string())?
        };
        let mut body = format!("old {old}\n");
        for h in &proof {
            body.push_str(&STANDARD.encode(h));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(note);
        match post(&w.url, &body, state.oidc().allows_http_loopback()) {
            Answer::Size(n) if n == old => {
                // c2sp.org/tlog-witness: 409 with the same size means the
                // witness holds another checkpoint of that size.
                return Err(format!(
                    "refused: the witness holds a different checkpoint at size {n}: a fork"
                ));
            }
            Answer::Size(n) => {
                st.size = n;
                continue;
            }
            Answer::Refused(why) => return Err(format!("refused: {why}")),
            Answer::Cosigned(lines) => {
                let mut mine = None;
                for line in lines.lines().filter(|l| !l.is_empty()) {
                    let one = format!("{note}{line}\n");
                    if !wfmt::verify_cosignatures(&one, std::slice::from_ref(&key))?.is_empty() {
                        mine = Some(format!("{line}\n"));
                    }
                }
                let Some(line) = mine else {
                    return Err(format!(
                        "the answer has no valid cosignature by {}: {}",
                        w.name,
                        lines.trim()
                    ));
                };
                state
                    .store()
                    .add_cosignature(tenant, size, &w.name, &line)
                    .map_err(|e| e.to_string())?;
                st.size = size;
                st.cosigned_size = Some(size);
                st.cosigned_at = Some(now_unix());
                return Ok(());
            }
        }
    }
    Err(format!(
        "the witness's size changed twice during one submission (now {})",
        st.size
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn witness_urls_are_public_https_without_secrets() {
        assert_eq!(
            checked_url("https://witness.example.com/w/", false).unwrap(),
            "https://witness.example.com/w"
        );
        for bad in [
            "http://witness.example.com",
            "https://user:pw@witness.example.com",
            "https://witness.example.com/?token=x",
            "https://witness.example.com/#x",
            "https://10.0.0.1",
            "https://169.254.169.254",
            "https://[::1]",
            "https://[fd00::1]",
            "https://100.64.0.1",
            "http://127.0.0.1:7380",
        ] {
            assert!(checked_url(bad, false).is_err(), "{bad}");
        }
        assert!(checked_url("http://127.0.0.1:7380", true).is_ok());
        assert!(checked_url("https://10.0.0.1", true).is_err());
        assert!(checked_url(&format!("https://a.example/{}", "x".repeat(600)), false).is_err());
        assert!(public_ip("8.8.8.8".parse().unwrap()));
        assert!(!public_ip("::ffff:10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn only_short_plain_reasons_are_kept() {
        assert_eq!(reason("bad consistency proof\n"), "bad consistency proof");
        assert_eq!(reason("<html>secret</html>"), "(answer not shown)");
        assert_eq!(reason(&"a".repeat(200)), "(answer not shown)");
    }
}
