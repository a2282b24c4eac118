//! Identity: bearer tokens (format, hashing, lookup) and portal sessions.
//!
//! A token is `evd_<16 hex id>_<43 base64url secret>`. Only SHA-256 of the
//! secret is stored, under the id; the comparison is constant-time. A token
//! is shown once, when it is issued.
//!
//! A session is a random 256-bit cookie value; only its SHA-256 is stored.
//! It ends after [`IDLE`] without use or [`ABSOLUTE`] after sign-in,
//! whichever comes first, at sign-out, and as soon as what it stands for is
//! gone (its token, its customer, or the SSO binding it came through). Its
//! last use is kept under its own key, so recording a use can never bring
//! back a session that a sign-out or the sweep ended meanwhile. Each
//! session has its own CSRF token, which every portal form carries.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    core::{
        clock::now_unix,
        events::{EventBody, Subject},
        records::{Session, SessionKind, TokenRecord},
        Error, Principal, Scope,
    },
    service::AppState,
};

/// Idle timeout of a session, seconds.
pub const IDLE: i64 = 30 * 60;
/// Absolute lifetime of a session, seconds.
pub const ABSOLUTE: i64 = 12 * 3600;

/// A freshly minted token: the string to show once, and what to store.
#[derive(Debug)]
pub struct Minted {
    /// The full token, shown to the caller once.
    pub token: String,
    /// The id.
    pub id: String,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
}

/// Mints a new random token.
pub fn mint() -> Minted {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    Minted {
        token: format!("evd_{id}_{secret}"),
        secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        id,
    }
}

/// Splits a token into id and secret, or `None` if it is not one of ours.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix("evd_")?;
    if rest.len() != 16 + 1 + 43 || rest.as_bytes()[16] != b'_' {
        return None;
    }
    let (id, secret) = (&rest[..16], &rest[17..]);
    if !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    Some((id, secret))
}

fn invalid() -> Error {
    Error::Unauthorized("the bearer token is not valid, has expired or was revoked".into())
}

/// The principal of a live token record.
fn principal_of(state: &AppState, rec: TokenRecord) -> Result<Principal, Error> {
    Ok(match (rec.scope, rec.tenant, rec.customer) {
        (Scope::Operator, _, _) => Principal::Operator { token_id: rec.id },
        (Scope::Customer, Some(tenant), Some(customer)) => {
            // A deleted customer's tokens are revoked with it; check anyway.
            if state.store().customer(&tenant, &customer)?.is_none() {
                return Err(invalid());
            }
            Principal::Customer {
                tenant,
                customer,
                subject: Subject::Token { token_id: rec.id },
            }
        }
        (Scope::Customer, _, _) | (_, None, _) => return Err(invalid()),
        (scope, Some(tenant), _) => Principal::Tenant {
            tenant,
            token_id: rec.id,
            scope,
        },
    })
}

/// Checks a bearer token against the store; records its use (at most once
/// a minute per token, under its own key).
pub fn authenticate(state: &AppState, token: &str) -> Result<Principal, Error> {
    let (id, secret) = parse(token).ok_or_else(invalid)?;
    let rec = state.store().token(id)?.ok_or_else(invalid)?;
    let presented = Sha256::digest(secret.as_bytes());
    let stored = hex::decode(&rec.secret_sha256).unwrap_or_default();
    if !bool::from(presented.as_slice().ct_eq(&stored)) {
        return Err(invalid());
    }
    let now = now_unix();
    if !rec.live(now) {
        return Err(invalid());
    }
    if now.saturating_sub(rec.last_used_at.unwrap_or(i64::MIN)) >= 60 {
        if let Err(e) = state.store().token_used(&rec.id, now) {
            tracing::warn!(token = %rec.id, error = %e, "could not record token use");
        }
    }
    principal_of(state, rec)
}

/// Logs a tenant admin token's first use on each UTC day
/// (`admin_token_used`, naming the request's method and path), before the
/// request goes on; other principals, and later uses that day, write
/// nothing. Under a lock per token, so concurrent first requests log once.
pub async fn note_admin_use(
    state: &AppState,
    p: &Principal,
    method: &str,
    path: &str,
) -> Result<(), Error> {
    let Principal::Tenant {
        tenant,
        token_id,
        scope: Scope::Admin,
    } = p
    else {
        return Ok(());
    };
    let now = now_unix();
    let day = now.div_euclid(86_400);
    let logged = || -> Result<bool, Error> {
        Ok(state.store().token_day(token_id)?.is_some_and(|d| d >= day))
    };
    if logged()? {
        return Ok(());
    }
    let _one = state.record_lock(format!("token-day/{token_id}")).await;
    if logged()? {
        return Ok(());
    }
    let event = EventBody::AdminTokenUsed {
        day: crate::core::clock::rfc3339(now)[..10].to_owned(),
        request: format!("{method} {path}"),
    };
    state
        .record(
            tenant,
            p.actor(),
            event,
            vec![crate::store::Db::token_day_op(token_id, day)],
        )
        .await?;
    Ok(())
}

/// The principal a live session stands for; its token (for token
/// sign-ins), or its customer and SSO binding, are checked again on every
/// request.
pub fn session_principal(state: &AppState, s: &Session) -> Result<Principal, Error> {
    let expired = || Error::Unauthorized("the session has ended; sign in again".into());
    match &s.kind {
        SessionKind::Customer {
            customer,
            binding,
            issuer,
            subject,
            email,
        } => {
            // The customer and the binding signed in through must still exist.
            let c = state
                .store()
                .customer(&s.tenant, customer)?
                .ok_or_else(expired)?;
            if !c
                .sso
                .iter()
                .any(|b| b.id == *binding && b.issuer == *issuer)
            {
                return Err(expired());
            }
            Ok(Principal::Customer {
                tenant: s.tenant.clone(),
                customer: customer.clone(),
                subject: Subject::Oidc {
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                    email: email.clone(),
                },
            })
        }
        SessionKind::Admin { token_id } | SessionKind::CustomerToken { token_id } => {
            let rec = state
                .store()
                .token(token_id)?
                .filter(|r| r.live(now_unix()) && r.tenant.as_deref() == Some(s.tenant.as_str()))
                .ok_or_else(expired)?;
            principal_of(state, rec).map_err(|_| expired())
        }
    }
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The stored name of a session: SHA-256 of its cookie value, hex.
fn hash(cookie: &str) -> String {
    hex::encode(Sha256::digest(cookie.as_bytes()))
}

/// A new session: its cookie value (256 random bits, stored nowhere), the
/// hash it is stored under, and the record.
pub fn new_session(tenant: &str, kind: SessionKind) -> (String, String, Session) {
    let token = random_token();
    let now = now_unix();
    let s = Session {
        tenant: tenant.to_owned(),
        kind,
        created_at: now,
        seen_at: now,
        csrf: random_token(),
    };
    let h = hash(&token);
    (token, h, s)
}

/// The stored name of a session cookie value (SHA-256, hex).
pub fn session_hash(cookie: &str) -> String {
    hash(cookie)
}

/// Whether a session is past its idle timeout or its absolute lifetime at `now`.
pub fn expired(s: &Session, now: i64) -> bool {
    now - s.seen_at > IDLE || now - s.created_at > ABSOLUTE
}

/// The live session a cookie value names, if any (an expired one is not:
/// the sweep deletes it and logs `session_ended`).
pub fn current_session(state: &AppState, cookie: &str) -> Result<Option<Session>, Error> {
    let h = hash(cookie);
    let Some(mut s) = state.store().session(&h)? else {
        return Ok(None);
    };
    let now = now_unix();
    if expired(&s, now) {
        // Refused now; the sweep deletes it and logs its end.
        return Ok(None);
    }
    if now - s.seen_at >= 60 {
        s.seen_at = now;
        state.store().touch_session(&h, now)?;
    }
    Ok(Some(s))
}

/// Ends the session a cookie value names.
pub fn end_session(state: &AppState, cookie: &str) -> Result<(), Error> {
    state.store().delete_session(&hash(cookie))
}

/// Deletes every session past its idle timeout or absolute lifetime, any
/// record that no longer parses, and orphaned last-use records; returns
/// how many sessions went. Sessions are also deleted when a request
/// presents them expired, but one never presented again would otherwise
/// stay.
pub fn sweep_sessions(state: &AppState, now: i64) -> Result<usize, Error> {
    state
        .store()
        .sweep_sessions(|s| s.is_none_or(|s| expired(&s, now)))
}

/// Whether a form's CSRF field is this session's token (constant time).
pub fn csrf_ok(s: &Session, presented: &str) -> bool {
    bool::from(s.csrf.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts a session without logging it (the service's is
    /// `trail::begin_session`); returns the cookie value.
    fn create_session(state: &AppState, tenant: &str, kind: SessionKind) -> Result<String, Error> {
        let (token, h, s) = new_session(tenant, kind);
        state.store().put_session(&h, &s)?;
        Ok(token)
    }

    fn state() -> (tempfile::TempDir, AppState) {
        let d = tempfile::tempdir().unwrap();
        let st = crate::app::Builder::new(d.path())
            .master_key_hex(&"44".repeat(32))
            .open()
            .unwrap()
            .state;
        (d, st)
    }

    fn admin() -> SessionKind {
        SessionKind::Admin {
            token_id: "t1".into(),
        }
    }

    /// A tenant admin token's first use of a day is logged once, even by
    /// concurrent first requests; later uses that day, and other scopes,
    /// add nothing; the next day logs again.
    #[tokio::test]
    async fn an_admin_token_is_logged_once_a_day() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = crate::service::tenancy::state_with_acme(d.path()).await;
        let log = st.log("acme").unwrap();
        let as_scope = |scope| Principal::Tenant {
            tenant: "acme".into(),
            token_id: "a1".into(),
            scope,
        };
        let admin = as_scope(Scope::Admin);
        let size = log.size();
        let (a, b) = tokio::join!(
            note_admin_use(&st, &admin, "GET", "/api/v1/tenants/acme/customers"),
            note_admin_use(&st, &admin, "POST", "/api/v1/tenants/acme/customers"),
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(log.size(), size + 1);
        let leaf = log.entries(size, size + 1, 1).unwrap().pop().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
        assert_eq!(v["event"]["kind"], "admin_token_used");
        assert_eq!(v["event"]["day"], v["time"].as_str().unwrap()[..10]);
        assert!(v["event"]["request"]
            .as_str()
            .unwrap()
            .ends_with(" /api/v1/tenants/acme/customers"));
        assert_eq!(v["actor"]["token_id"], "a1");
        note_admin_use(&st, &admin, "GET", "/again").await.unwrap();
        for scope in [Scope::Auditor, Scope::Push] {
            note_admin_use(&st, &as_scope(scope), "GET", "/x")
                .await
                .unwrap();
        }
        assert_eq!(log.size(), size + 1);
        let today = now_unix().div_euclid(86_400);
        st.store()
            .write(&[crate::store::Db::token_day_op("a1", today - 1)])
            .unwrap();
        note_admin_use(&st, &admin, "GET", "/next-day")
            .await
            .unwrap();
        assert_eq!(log.size(), size + 2);
        assert_eq!(st.store().token_day("a1").unwrap(), Some(today));
    }

    #[test]
    fn minted_tokens_parse_and_hash() {
        let m = mint();
        let (id, secret) = parse(&m.token).unwrap();
        assert_eq!(id, m.id);
        assert_eq!(
            hex::encode(Sha256::digest(secret.as_bytes())),
            m.secret_sha256
        );
        for bad in [
            "",
            "evd_",
            "xyz_0123456789abcdef_x",
            &m.token[..m.token.len() - 1],
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        let upper = m.token.replacen(&m.id, &m.id.to_uppercase(), 1);
        if upper != m.token {
            assert!(parse(&upper).is_none());
        }
    }

    #[test]
    fn expiry_is_idle_or_absolute_whichever_comes_first() {
        let s = |created_at, seen_at| Session {
            tenant: "acme".into(),
            kind: admin(),
            created_at,
            seen_at,
            csrf: "x".into(),
        };
        assert!(!expired(&s(0, 0), IDLE));
        assert!(expired(&s(0, 0), IDLE + 1));
        // Kept alive by use, but never past the absolute lifetime.
        assert!(!expired(&s(0, ABSOLUTE - 10), ABSOLUTE));
        assert!(expired(&s(0, ABSOLUTE - 10), ABSOLUTE + 1));
    }

    #[test]
    fn sessions_are_stored_hashed() {
        let (_d, st) = state();
        let c = create_session(&st, "acme", admin()).unwrap();
        assert_eq!(c.len(), 43, "256 bits, base64url");
        // Only the hash is a key; the cookie value itself is stored nowhere.
        assert!(st.store().session(&hash(&c)).unwrap().is_some());
        assert!(st.store().session(&c).unwrap().is_none());
        let s = current_session(&st, &c).unwrap().expect("a live session");
        assert_eq!(s.kind, admin());
        assert!(csrf_ok(&s, &s.csrf.clone()));
        assert!(!csrf_ok(&s, ""));
        assert!(!csrf_ok(&s, &s.csrf[1..]));
    }

    #[test]
    fn an_expired_session_is_refused_and_swept_and_logout_ends_one() {
        let (_d, st) = state();
        let c = create_session(&st, "acme", admin()).unwrap();
        let mut s = st.store().session(&hash(&c)).unwrap().unwrap();
        s.seen_at -= IDLE + 1;
        st.store().put_session(&hash(&c), &s).unwrap();
        assert!(current_session(&st, &c).unwrap().is_none(), "refused");
        assert!(
            st.store().session(&hash(&c)).unwrap().is_some(),
            "kept for the sweep, which logs its end"
        );
        assert_eq!(sweep_sessions(&st, now_unix()).unwrap(), 1);
        assert!(st.store().session(&hash(&c)).unwrap().is_none());
        let c = create_session(&st, "acme", admin()).unwrap();
        assert!(current_session(&st, &c).unwrap().is_some());
        end_session(&st, &c).unwrap();
        assert!(current_session(&st, &c).unwrap().is_none());
        // A made-up value is no session.
        assert!(current_session(&st, "AAAA").unwrap().is_none());
    }

    /// A request that read the session just before a sign-out records its
    /// use after it: the session must stay ended.
    #[test]
    fn a_late_use_does_not_bring_back_an_ended_session() {
        let (_d, st) = state();
        let c = create_session(&st, "acme", admin()).unwrap();
        assert!(current_session(&st, &c).unwrap().is_some());
        end_session(&st, &c).unwrap();
        // The concurrent request's `seen_at` write lands now.
        st.store()
            .touch_session(&hash(&c), now_unix() + 120)
            .unwrap();
        assert!(
            current_session(&st, &c).unwrap().is_none(),
            "the session stays ended"
        );
        // The orphaned last-use record goes with the next sweep.
        sweep_sessions(&st, now_unix()).unwrap();
        assert_eq!(
            st.store()
                .raw(&crate::store::keys::session_seen(&hash(&c)))
                .unwrap(),
            None
        );
    }

    #[test]
    fn the_sweep_deletes_only_expired_sessions() {
        let (_d, st) = state();
        let live = create_session(&st, "acme", admin()).unwrap();
        let old = create_session(&st, "acme", admin()).unwrap();
        let mut s = st.store().session(&hash(&old)).unwrap().unwrap();
        s.created_at -= ABSOLUTE + 1;
        st.store().put_session(&hash(&old), &s).unwrap();
        st.store()
            .write(&[(crate::store::keys::session("garbage"), Some(b"{".to_vec()))])
            .unwrap();
        assert_eq!(sweep_sessions(&st, now_unix()).unwrap(), 2);
        assert!(st.store().session(&hash(&old)).unwrap().is_none());
        assert!(
            current_session(&st, &live).unwrap().is_some(),
            "a live session stays"
        );
        assert_eq!(sweep_sessions(&st, now_unix()).unwrap(), 0);
    }

    /// The sweep reads in pages and still finds every expired session.
    #[test]
    fn the_sweep_pages_through_many_sessions() {
        let (_d, st) = state();
        let now = now_unix();
        let n = crate::store::SWEEP_PAGE * 2 + 7;
        let ops: Vec<_> = (0..n)
            .map(|i| {
                let s = Session {
                    tenant: "acme".into(),
                    kind: admin(),
                    created_at: now - if i % 2 == 0 { ABSOLUTE + 1 } else { 0 },
                    seen_at: now,
                    csrf: "x".into(),
                };
                (
                    crate::store::keys::session(&format!("{i:06}")),
                    Some(serde_json::to_vec(&s).unwrap()),
                )
            })
            .collect();
        st.store().write(&ops).unwrap();
        assert_eq!(sweep_sessions(&st, now).unwrap(), n.div_ceil(2));
        assert_eq!(sweep_sessions(&st, now).unwrap(), 0);
    }
}
