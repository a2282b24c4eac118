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
    let url = w.url.trim_end_matches('/').to_owned();
    if !oidc::url_allowed(&url, state.oidc().allows_http_loopback()) {
        return Err(Error::Unprocessable(format!(
            "url: {url} is not an https:// URL (plain http:// only on loopback, and only with --allow-http-idp-on-loopback)"
        )));
    }
    let id = key
        .to_vkey()
        .split('+')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
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
    let size = state.store().cosigned_latest(tenant)?.ok_or_else(|| {
        Error::NotFound("no witness has cosigned a checkpoint of this log yet".into())
    })?;
    let cp = log
        .checkpoint_at(size)?
        .ok_or_else(|| Error::Internal(format!("the cosigned checkpoint {size} is missing")))?;
    let mut note = cp.note;
    for line in state.store().cosignatures(tenant, size)?.values() {
        note.push_str(line);
    }
    Ok(note)
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

/// One `POST <url>/add-checkpoint` (blocking).
fn post(url: &str, body: &str) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(10))
        .redirects(0)
        .build();
    let res = agent
        .post(&format!("{url}/add-checkpoint"))
        .set("Content-Type", "text/plain; charset=utf-8")
        .send_string(body);
    let (status, r) = match res {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(s, r)) => (s, r),
        Err(e) => return Answer::Refused(format!("unreachable: {e}")),
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
            Err(_) => Answer::Refused(format!("HTTP 409: {}", text.trim())),
        },
        s => Answer::Refused(format!("HTTP {s}: {}", text.trim())),
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
                Ok(()) => st.last_error = None,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, witness = %w.name, error = %e, "witness did not cosign");
                    st.last_error = Some(e);
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
        match post(&w.url, &body) {
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
