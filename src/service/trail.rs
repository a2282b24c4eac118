//! The audit trail of access: portal sign-ins (`signed_in`), session ends
//! (`session_ended`, at sign-out or when the sweep finds one expired),
//! failed sign-ins (`sign_in_failed`, aggregated per tenant and method per
//! minute so that a flood of attempts writes at most two entries a minute).
//! What an admin changes has its own events already (tokens, customers,
//! settings, share links, witnesses, keys), each naming its actor.

use std::{collections::HashMap, sync::Mutex};

use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::{Actor, EventBody, Subject},
        principal::Scope,
        records::{Session, SessionKind},
        Error,
    },
    service::{identity, AppState},
    store::Db,
};

/// How long failed sign-ins are gathered into one entry, seconds.
pub const FAILURE_WINDOW: i64 = 60;

/// The id of a session in the log: the first 16 hex digits of the hash it
/// is stored under (the SHA-256 of its cookie value).
fn log_id(hash: &str) -> String {
    hash.get(..16).unwrap_or(hash).to_owned()
}

/// Who a session is, as a log actor (from the session alone: it may
/// outlive its token or customer).
pub fn session_actor(state: &AppState, s: &Session) -> Actor {
    match &s.kind {
        SessionKind::Customer {
            customer,
            issuer,
            subject,
            email,
            ..
        } => Actor::Customer {
            customer_id: customer.clone(),
            subject: Subject::Oidc {
                issuer: issuer.clone(),
                subject: subject.clone(),
                email: email.clone(),
            },
        },
        SessionKind::Admin { token_id } => Actor::Token {
            token_id: token_id.clone(),
            scope: Scope::Admin,
        },
        SessionKind::CustomerToken { token_id } => {
            match state
                .store()
                .token(token_id)
                .ok()
                .flatten()
                .and_then(|r| r.customer)
            {
                Some(customer_id) => Actor::Customer {
                    customer_id,
                    subject: Subject::Token {
                        token_id: token_id.clone(),
                    },
                },
                None => Actor::Token {
                    token_id: token_id.clone(),
                    scope: Scope::Customer,
                },
            }
        }
    }
}

/// Starts a portal session and logs `signed_in`, in one batch: the
/// session exists exactly when its entry does.
pub async fn begin_session(
    state: &AppState,
    tenant: &str,
    kind: SessionKind,
) -> Result<String, Error> {
    let method = match kind {
        SessionKind::Customer { .. } => "oidc",
        _ => "token",
    };
    let (cookie, hash, s) = identity::new_session(tenant, kind);
    let event = EventBody::SignedIn {
        method: method.into(),
        session: log_id(&hash),
    };
    state
        .record(
            tenant,
            session_actor(state, &s),
            event,
            Db::put_session_ops(&hash, &s),
        )
        .await?;
    Ok(cookie)
}

/// Ends the session of `cookie` (signed out) and logs `session_ended`, in
/// one batch.
pub async fn sign_out(state: &AppState, cookie: &str) -> Result<(), Error> {
    let Some(s) = identity::current_session(state, cookie)? else {
        return Ok(());
    };
    let hash = identity::session_hash(cookie);
    let event = EventBody::SessionEnded {
        session: log_id(&hash),
        reason: "sign_out".into(),
    };
    let actor = session_actor(state, &s);
    state
        .record(&s.tenant, actor, event, Db::delete_session_ops(&hash))
        .await?;
    Ok(())
}

/// Deletes the sessions past their lifetime, each in the batch that logs
/// its `session_ended` (`expired`) when its tenant still exists. Returns
/// how many went.
pub async fn sweep_expired(state: &AppState, now: i64) -> Result<usize, Error> {
    let ended = state
        .store()
        .expired_sessions(|s| identity::expired(s, now))?;
    for (hash, s) in &ended {
        let ops = Db::delete_session_ops(hash);
        if state.tenant(&s.tenant)?.is_some() {
            let event = EventBody::SessionEnded {
                session: log_id(hash),
                reason: "expired".into(),
            };
            state
                .record(&s.tenant, session_actor(state, s), event, ops)
                .await?;
        } else {
            state.store().write(&ops)?;
        }
    }
    identity::sweep_sessions(state, now)?;
    Ok(ended.len())
}

/// One tenant's and method's failed sign-ins not yet logged.
#[derive(Debug, Clone)]
struct Pending {
    /// When the window opened (its first failure was logged then).
    opened: i64,
    count: u64,
    first_at: i64,
    last_at: i64,
    reason: String,
}

/// Failed sign-ins being gathered, per (tenant, method). Only tenants that
/// exist get a key, so the map is bounded by tenants × 2.
#[derive(Debug, Default)]
pub struct Failures {
    pending: Mutex<HashMap<(String, &'static str), Pending>>,
}

/// An entry to write for failed sign-ins.
type FailureEntry = (String, EventBody);

fn failure_event(method: &str, p: &Pending) -> EventBody {
    EventBody::SignInFailed {
        method: method.into(),
        count: p.count,
        first_at: rfc3339(p.first_at),
        last_at: rfc3339(p.last_at),
        reason: p.reason.clone(),
    }
}

impl Failures {
    /// Counts one failure at `now`: the entries to write now (the first of
    /// a window, after what a closed window not yet flushed gathered).
    fn add(&self, tenant: &str, method: &'static str, reason: &str, now: i64) -> Vec<FailureEntry> {
        let mut m = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let key = (tenant.to_owned(), method);
        if let Some(p) = m.get_mut(&key) {
            if now - p.opened < FAILURE_WINDOW {
                p.count += 1;
                p.first_at = if p.count == 1 { now } else { p.first_at };
                p.last_at = now;
                p.reason = reason.to_owned();
                return Vec::new();
            }
        }
        // A closed window the flush job has not reached yet goes first.
        let mut out: Vec<FailureEntry> = m
            .get(&key)
            .filter(|p| p.count > 0)
            .map(|p| (tenant.to_owned(), failure_event(method, p)))
            .into_iter()
            .collect();
        let first = Pending {
            opened: now,
            count: 1,
            first_at: now,
            last_at: now,
            reason: reason.to_owned(),
        };
        out.push((tenant.to_owned(), failure_event(method, &first)));
        // The window is open; its later failures wait for `due`.
        m.insert(key, Pending { count: 0, ..first });
        out
    }

    /// The gathered entries of windows closed by `now` (and forgets them).
    fn due(&self, now: i64) -> Vec<FailureEntry> {
        let mut m = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        m.retain(|(tenant, method), p| {
            if now - p.opened < FAILURE_WINDOW {
                return true;
            }
            if p.count > 0 {
                out.push((tenant.clone(), failure_event(method, p)));
            }
            false
        });
        out
    }
}

fn anonymous() -> Actor {
    // Nobody authenticated: the failure is the platform's observation.
    Actor::Operator {
        token_id: "-".into(),
    }
}

/// The reason code of a failed OIDC sign-in: the kind of error only, never
/// its text (which may carry what the IdP or the caller sent, or a claim).
pub fn oidc_reason(e: &Error) -> &'static str {
    match e {
        Error::BadRequest(_) => "bad_response",
        Error::Unauthorized(_) => "refused_or_expired",
        Error::Forbidden(_) => "rule_not_met",
        Error::Upstream(_) => "idp_unreachable",
        Error::TooManyRequests { .. } => "rate_limited",
        _ => "error",
    }
}

/// The reason code of a wrong token on the sign-in form.
pub const BAD_TOKEN: &str = "invalid_token";

/// Records a failed sign-in to `tenant`'s portal (`oidc` or `token`) with a
/// reason code ([`oidc_reason`], [`BAD_TOKEN`]); nothing for a tenant that
/// does not exist.
pub async fn sign_in_failed(
    state: &AppState,
    tenant: &str,
    method: &'static str,
    reason: &'static str,
) {
    if !matches!(state.tenant(tenant), Ok(Some(_))) {
        return;
    }
    for (t, e) in state.failures().add(tenant, method, reason, now_unix()) {
        if let Err(err) = state.record(&t, anonymous(), e, Vec::new()).await {
            tracing::warn!(tenant = %t, error = %err, "could not log a failed sign-in");
        }
    }
}

/// Writes the gathered failed sign-ins of closed windows (a job, every few
/// seconds).
pub async fn flush_failures(state: &AppState) {
    flush_failures_at(state, now_unix()).await;
}

/// [`flush_failures`] as of `now`.
pub async fn flush_failures_at(state: &AppState, now: i64) {
    for (t, e) in state.failures().due(now) {
        if let Err(err) = state.record(&t, anonymous(), e, Vec::new()).await {
            tracing::warn!(tenant = %t, error = %err, "could not log failed sign-ins");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_gathered_per_window() {
        let f = Failures::default();
        let first = f.add("acme", "token", "bad", 1000);
        assert!(matches!(
            first[..],
            [(_, EventBody::SignInFailed { count: 1, .. })]
        ));
        for i in 1..500 {
            assert!(f.add("acme", "token", "bad", 1000 + i % 59).is_empty());
        }
        assert_eq!(
            f.add("acme", "oidc", "nonce", 1010).len(),
            1,
            "another method has its own window"
        );
        assert!(f.due(1059).is_empty(), "the window is still open");
        let due = f.due(1060);
        assert_eq!(due.len(), 1, "the oidc window is still open");
        match &due[0].1 {
            EventBody::SignInFailed { count, method, .. } => {
                assert_eq!((*count, method.as_str()), (499, "token"));
            }
            other => panic!("{other:?}"),
        }
        assert!(f.due(5000).is_empty());
        assert_eq!(f.add("acme", "token", "bad", 5000).len(), 1, "a new window");
        // Failures after a window closed but before the flush: the closed
        // window's count is written with the new window's first.
        f.add("acme", "token", "bad", 5010);
        f.add("acme", "token", "bad", 5020);
        let both = f.add("acme", "token", "bad", 5061);
        assert_eq!(both.len(), 2);
        assert!(matches!(
            both[0].1,
            EventBody::SignInFailed { count: 2, .. }
        ));
        assert!(matches!(
            both[1].1,
            EventBody::SignInFailed { count: 1, .. }
        ));
    }

    /// Sign-in, sign-out and expiry, as the log shows them; a session in
    /// use is not expired by the sweep.
    #[tokio::test]
    async fn sessions_are_logged() {
        let d = tempfile::tempdir().unwrap();
        let (st, t) = crate::service::tenancy::state_with_acme(d.path()).await;
        let log = st.log("acme").unwrap();
        let kinds = |from: u64| -> Vec<serde_json::Value> {
            log.entries(from, log.size(), 1000)
                .unwrap()
                .iter()
                .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
                .collect()
        };
        let admin_id = t.admin_token.id.clone();
        let sign_in = || {
            begin_session(
                &st,
                "acme",
                SessionKind::Admin {
                    token_id: admin_id.clone(),
                },
            )
        };
        let start = log.size();
        let c = sign_in().await.unwrap();
        sign_out(&st, &c).await.unwrap();
        let c2 = sign_in().await.unwrap();
        // Expired: refused at once, logged by the sweep.
        let h = identity::session_hash(&c2);
        let mut s = st.store().session(&h).unwrap().unwrap();
        s.seen_at -= 31 * 60;
        st.store().put_session(&h, &s).unwrap();
        assert!(identity::current_session(&st, &c2).unwrap().is_none());
        // A session 40 minutes old but used a moment ago stays.
        let c3 = sign_in().await.unwrap();
        let h3 = identity::session_hash(&c3);
        let mut s3 = st.store().session(&h3).unwrap().unwrap();
        s3.created_at -= 40 * 60;
        s3.seen_at -= 40 * 60;
        st.store().put_session(&h3, &s3).unwrap();
        st.store().touch_session(&h3, now_unix()).unwrap();
        assert_eq!(sweep_expired(&st, now_unix()).await.unwrap(), 1);
        assert_eq!(sweep_expired(&st, now_unix()).await.unwrap(), 0);
        assert!(identity::current_session(&st, &c3).unwrap().is_some());
        let e = kinds(start);
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|e| {
                (
                    e["event"]["kind"].as_str().unwrap(),
                    e["event"]["reason"]
                        .as_str()
                        .or(e["event"]["method"].as_str())
                        .unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("signed_in", "token"),
                ("session_ended", "sign_out"),
                ("signed_in", "token"),
                ("signed_in", "token"),
                ("session_ended", "expired"),
            ]
        );
        assert_eq!(e[0]["event"]["session"], e[1]["event"]["session"]);
        assert_eq!(e[2]["event"]["session"], e[4]["event"]["session"]);
        assert_ne!(e[0]["event"]["session"], e[2]["event"]["session"]);
        assert_eq!(e[0]["actor"]["token_id"], admin_id.as_str());
        assert!(!e[0].to_string().contains(&c), "the cookie is never logged");
        // Failed sign-ins: one entry now, the rest of the window later;
        // nothing for a tenant that does not exist.
        let before = log.size();
        for _ in 0..50 {
            sign_in_failed(&st, "acme", "token", BAD_TOKEN).await;
            sign_in_failed(&st, "nosuch", "token", BAD_TOKEN).await;
        }
        assert_eq!(log.size(), before + 1);
        let f = st.failures().due(now_unix() + FAILURE_WINDOW);
        assert_eq!(f.len(), 1);
        assert!(matches!(f[0].1, EventBody::SignInFailed { count: 49, .. }));
    }
}
