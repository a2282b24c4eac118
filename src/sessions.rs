//! Browser sessions for the web portal.
//!
//! A session is a random 256-bit cookie value; only its SHA-256 is stored
//! (`session/<hash>`). The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`,
//! and `Secure` when the public URL is https or `--secure-cookies` is set.
//! A session ends after [`IDLE`] without use or [`ABSOLUTE`] after sign-in,
//! whichever comes first, and at logout. Each session has its own CSRF
//! token, which every form carries and every POST checks. Cookies
//! authenticate reads (GET) of the API too, so the portal's download links
//! work; anything that changes state over the API still needs a bearer
//! token.

use axum::http::HeaderMap;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{error::ApiError, events::now_unix, state::AppState};

/// The session cookie's name.
pub const COOKIE: &str = "evident_session";
/// Idle timeout, seconds.
pub const IDLE: i64 = 30 * 60;
/// Absolute lifetime, seconds.
pub const ABSOLUTE: i64 = 12 * 3600;

/// Who a session is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionKind {
    /// A customer's user, signed in through OIDC.
    Customer {
        /// Customer id.
        customer: String,
        /// The SSO binding signed in through; the session ends when the
        /// binding is removed (a changed rule is a new binding).
        binding: String,
        /// OIDC issuer.
        issuer: String,
        /// OIDC subject.
        subject: String,
        /// E-mail claim, if any.
        email: Option<String>,
    },
    /// A tenant admin who signed in with an admin token (re-checked on every request).
    Admin {
        /// The admin token's id.
        token_id: String,
    },
    /// A customer's user who signed in with a customer access token (re-checked on every request).
    CustomerToken {
        /// The token's id.
        token_id: String,
    },
}

/// A stored session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Tenant slug.
    pub tenant: String,
    /// Who.
    pub kind: SessionKind,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, updated at most once a minute.
    pub seen_at: i64,
    /// The CSRF token of this session's forms.
    pub csrf: String,
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn key(cookie: &str) -> Vec<u8> {
    format!("session/{}", hex::encode(Sha256::digest(cookie.as_bytes()))).into_bytes()
}

/// Where a session's last use is kept: its own key, so recording a use can
/// never bring back a session that a logout or the sweep deleted meanwhile
/// (a session exists exactly when its `session/` record does).
fn seen_key(session_key: &[u8]) -> Vec<u8> {
    let hash = session_key.strip_prefix(b"session/").unwrap_or(session_key);
    [b"session-seen/".as_slice(), hash].concat()
}

/// Records a use of the session stored under `k` (the seen key only).
fn touch(state: &AppState, k: &[u8], now: i64) -> Result<(), ApiError> {
    state
        .store()
        .app_write(&[(seen_key(k).as_slice(), Some(now.to_be_bytes().as_slice()))])?;
    Ok(())
}

/// A stored session with its last use applied.
fn load(state: &AppState, k: &[u8]) -> Result<Option<Session>, ApiError> {
    let Some(mut s) = state
        .store()
        .app_get(k)?
        .and_then(|v| serde_json::from_slice::<Session>(&v).ok())
    else {
        return Ok(None);
    };
    if let Some(seen) = state
        .store()
        .app_get(&seen_key(k))?
        .and_then(|v| v.as_slice().try_into().ok().map(i64::from_be_bytes))
    {
        s.seen_at = s.seen_at.max(seen);
    }
    Ok(Some(s))
}

fn delete(state: &AppState, k: &[u8]) -> Result<(), ApiError> {
    state
        .store()
        .app_write(&[(k, None), (seen_key(k).as_slice(), None)])?;
    Ok(())
}

/// A `Set-Cookie` value; `max_age` `Some(0)` deletes the cookie.
pub fn cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if state.secure_cookies() {
        c.push_str("; Secure");
    }
    c
}

/// A cookie's value from the request headers.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Starts a session; returns the `Set-Cookie` value.
pub fn create(state: &AppState, tenant: &str, kind: SessionKind) -> Result<String, ApiError> {
    let token = random_token();
    let now = now_unix();
    let s = Session {
        tenant: tenant.to_owned(),
        kind,
        created_at: now,
        seen_at: now,
        csrf: random_token(),
    };
    let v = serde_json::to_vec(&s).expect("plain data");
    state
        .store()
        .app_write(&[(key(&token).as_slice(), Some(v.as_slice()))])?;
    Ok(cookie(state, COOKIE, &token, "/", Some(ABSOLUTE)))
}

/// The live session the request's cookie names, if any; an expired one is
/// deleted.
pub fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
    let Some(token) = read_cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let k = key(&token);
    let Some(mut s) = load(state, &k)? else {
        return Ok(None);
    };
    let now = now_unix();
    if expired(&s, now) {
        delete(state, &k)?;
        return Ok(None);
    }
    if now - s.seen_at >= 60 {
        s.seen_at = now;
        touch(state, &k, now)?;
    }
    Ok(Some(s))
}

/// Whether a session is past its idle timeout or its absolute lifetime at `now`.
fn expired(s: &Session, now: i64) -> bool {
    now - s.seen_at > IDLE || now - s.created_at > ABSOLUTE
}

/// Deletes every session past its idle timeout or absolute lifetime, and
/// any row that no longer parses; returns how many went. Sessions are also
/// deleted when a request presents them expired, but one that is never
/// presented again would otherwise stay.
pub fn sweep(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let n = state.delete_where(b"session/", |k, v| {
        match serde_json::from_slice::<Session>(v) {
            Err(_) => true,
            Ok(mut s) => {
                if let Ok(Some(seen)) = state.store().app_get(&seen_key(k)) {
                    if let Ok(b) = <[u8; 8]>::try_from(seen.as_slice()) {
                        s.seen_at = s.seen_at.max(i64::from_be_bytes(b));
                    }
                }
                expired(&s, now)
            }
        }
    })?;
    // Last-use records whose session is gone.
    state.delete_where(b"session-seen/", |k, _| {
        let hash = &k[b"session-seen/".len()..];
        let sk = [b"session/".as_slice(), hash].concat();
        !matches!(state.store().app_get(&sk), Ok(Some(_)))
    })?;
    Ok(n)
}

/// Ends the request's session; returns the cookie that clears it.
pub fn end(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(token) = read_cookie(headers, COOKIE) {
        delete(state, &key(&token))?;
    }
    Ok(cookie(state, COOKIE, "", "/", Some(0)))
}

/// Whether a form's CSRF field is this session's token (constant time).
pub fn csrf_ok(s: &Session, presented: &str) -> bool {
    bool::from(s.csrf.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn state() -> (tempfile::TempDir, AppState) {
        let d = tempfile::tempdir().unwrap();
        let started = crate::server::open(
            d.path(),
            Some(&"44".repeat(32)),
            "evident.test",
            evident_log::StoreOptions::default(),
        )
        .unwrap();
        (d, started.state)
    }

    fn headers(set_cookie: &str) -> HeaderMap {
        let value = set_cookie.split(';').next().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {value}")).unwrap(),
        );
        h
    }

    fn admin() -> SessionKind {
        SessionKind::Admin {
            token_id: "t1".into(),
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
    fn cookies_are_httponly_lax_and_stored_hashed() {
        let (_d, st) = state();
        let c = create(&st, "acme", admin()).unwrap();
        assert!(c.starts_with("evident_session="), "{c}");
        assert!(c.contains("; HttpOnly; SameSite=Lax"), "{c}");
        assert!(c.contains(&format!("Max-Age={ABSOLUTE}")), "{c}");
        assert!(
            !c.contains("Secure"),
            "plain http without --secure-cookies: {c}"
        );
        let h = headers(&c);
        let value = read_cookie(&h, COOKIE).unwrap();
        assert_eq!(value.len(), 43, "256 bits, base64url");
        // Only the hash is a key; the cookie value itself is stored nowhere.
        assert!(st.store().app_get(&key(&value)).unwrap().is_some());
        assert!(st
            .store()
            .app_get(format!("session/{value}").as_bytes())
            .unwrap()
            .is_none());
        let s = current(&st, &h).unwrap().expect("a live session");
        assert_eq!(s.kind, admin());
        assert!(csrf_ok(&s, &s.csrf.clone()));
        assert!(!csrf_ok(&s, ""));
        assert!(!csrf_ok(&s, &s.csrf[1..]));
    }

    #[test]
    fn an_expired_session_is_gone_and_logout_ends_one() {
        let (_d, st) = state();
        let h = headers(&create(&st, "acme", admin()).unwrap());
        let k = key(&read_cookie(&h, COOKIE).unwrap());
        let mut s: Session =
            serde_json::from_slice(&st.store().app_get(&k).unwrap().unwrap()).unwrap();
        s.seen_at -= IDLE + 1;
        let v = serde_json::to_vec(&s).unwrap();
        st.store()
            .app_write(&[(k.as_slice(), Some(v.as_slice()))])
            .unwrap();
        assert!(current(&st, &h).unwrap().is_none());
        assert!(
            st.store().app_get(&k).unwrap().is_none(),
            "deleted on sight"
        );

        let h = headers(&create(&st, "acme", admin()).unwrap());
        assert!(current(&st, &h).unwrap().is_some());
        let cleared = end(&st, &h).unwrap();
        assert!(cleared.starts_with("evident_session=;") && cleared.contains("Max-Age=0"));
        assert!(current(&st, &h).unwrap().is_none());
        // A made-up cookie is no session.
        assert!(current(&st, &headers("evident_session=AAAA"))
            .unwrap()
            .is_none());
    }

    /// A request that read the session just before a logout records its
    /// use after it: the session must stay ended.
    #[test]
    fn a_late_use_does_not_bring_back_an_ended_session() {
        let (_d, st) = state();
        let h = headers(&create(&st, "acme", admin()).unwrap());
        let k = key(&read_cookie(&h, COOKIE).unwrap());
        assert!(current(&st, &h).unwrap().is_some());
        end(&st, &h).unwrap();
        // The concurrent request's `seen_at` write lands now.
        touch(&st, &k, now_unix() + 120).unwrap();
        assert!(
            current(&st, &h).unwrap().is_none(),
            "the session stays ended"
        );
        assert!(st.store().app_get(&k).unwrap().is_none());
        // The orphaned last-use record goes with the next sweep.
        sweep(&st, now_unix()).unwrap();
        assert!(st.store().app_get(&seen_key(&k)).unwrap().is_none());
    }

    #[test]
    fn the_sweep_deletes_only_expired_sessions() {
        let (_d, st) = state();
        let live = headers(&create(&st, "acme", admin()).unwrap());
        let old = headers(&create(&st, "acme", admin()).unwrap());
        let k = key(&read_cookie(&old, COOKIE).unwrap());
        let mut s: Session =
            serde_json::from_slice(&st.store().app_get(&k).unwrap().unwrap()).unwrap();
        s.created_at -= ABSOLUTE + 1;
        let v = serde_json::to_vec(&s).unwrap();
        st.store()
            .app_write(&[(k.as_slice(), Some(v.as_slice()))])
            .unwrap();
        st.store()
            .app_write(&[(b"session/garbage".as_slice(), Some(b"{".as_slice()))])
            .unwrap();
        assert_eq!(sweep(&st, now_unix()).unwrap(), 2);
        assert!(st.store().app_get(&k).unwrap().is_none());
        assert!(
            current(&st, &live).unwrap().is_some(),
            "a live session stays"
        );
        assert_eq!(sweep(&st, now_unix()).unwrap(), 0);
    }
}
