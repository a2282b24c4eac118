//! OIDC sign-in for customers (authorization code flow with PKCE, state
//! and nonce), done by the `openidconnect` crate.
//!
//! `GET /t/{tenant}/login` picks the customer's SSO binding (by the e-mail
//! domain a user types, or an explicit choice), fetches the issuer's
//! discovery document and JWKS (cached for [`DISCOVERY_TTL`]), and
//! redirects to the IdP with a PKCE S256 challenge, a random `state` and a
//! random `nonce`. The pending login is stored under the state's hash and
//! bound to the browser by an HttpOnly cookie, so a callback URL planted by
//! someone else is refused. `GET /t/{tenant}/callback` consumes the pending
//! login (at most once, within [`LOGIN_TTL`]), exchanges the code with the
//! PKCE verifier, and has `openidconnect` check the ID token: signature
//! against the issuer's JWKS, issuer, audience, nonce, expiry. A signature
//! that fails with the cached JWKS triggers one refetch, which is how key
//! rotation at the IdP is followed. Then the binding's claim rule decides,
//! and only then is a session made. Every failure is a plain page that says
//! what went wrong, and leaves no session.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
        CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
        CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse,
        CoreTokenType,
    },
    AccessTokenHash, AdditionalClaims, AuthenticationFlow, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, IdTokenFields, IssuerUrl, JsonWebKeySet, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    customers::{self, CustomerRecord, SsoBinding},
    events::now_unix,
    sessions::{self, SessionKind},
    state::AppState,
    web,
};

/// How long a fetched discovery document and JWKS are used.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a started login may take.
pub const LOGIN_TTL: i64 = 600;
/// The cookie that binds a pending login to the browser that started it.
const LOGIN_COOKIE: &str = "evident_login";

/// The ID token's claims beyond the standard ones (`groups`, or whatever
/// else the IdP sends), so that a claim rule may name any claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtraClaims {
    /// Every other claim, as sent.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type Fields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type OidcClient<A, D, I, R, T, U> = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    A,
    D,
    I,
    R,
    T,
    U,
>;

/// Discovery documents (with their JWKS) by issuer, and the HTTP agent.
#[derive(Debug)]
pub struct Oidc {
    cache: Mutex<HashMap<String, (CoreProviderMetadata, Instant)>>,
    agent: ureq::Agent,
}

impl Default for Oidc {
    fn default() -> Self {
        Self {
            cache: Mutex::default(),
            // openidconnect's advice: never follow redirects (SSRF).
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(10))
                .redirects(0)
                .build(),
        }
    }
}

impl Oidc {
    /// The issuer's metadata and JWKS, from the cache unless `refresh`.
    /// Blocking.
    fn metadata(&self, issuer: &str, refresh: bool) -> Result<CoreProviderMetadata, String> {
        if !refresh {
            let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((m, at)) = c.get(issuer) {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(m.clone());
                }
            }
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| format!("issuer URL: {e}"))?;
        // discover() fetches the document, checks that its issuer is this
        // one, and fetches the JWKS.
        let m = CoreProviderMetadata::discover(&url, &self.agent)
            .map_err(|e| format!("discovery at {issuer} failed: {}", chain(&e)))?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(issuer.to_owned(), (m.clone(), Instant::now()));
        Ok(m)
    }

    /// Refetches only the JWKS of a cached issuer (key rotation).
    fn refresh_jwks(&self, issuer: &str) -> Result<CoreProviderMetadata, String> {
        let mut m = self.metadata(issuer, false)?;
        let jwks = JsonWebKeySet::fetch(m.jwks_uri(), &self.agent)
            .map_err(|e| format!("fetching the JWKS of {issuer}: {}", chain(&e)))?;
        m = m.set_jwks(jwks);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(issuer.to_owned(), (m.clone(), Instant::now()));
        Ok(m)
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The redirect URI registered at the IdP for a tenant.
pub fn redirect_uri(state: &AppState, tenant: &str) -> String {
    format!("{}/t/{tenant}/callback", state.public_url())
}

fn client(
    state: &AppState,
    tenant: &str,
    m: CoreProviderMetadata,
    b: &SsoBinding,
) -> Result<
    OidcClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    String,
> {
    let secret = customers::client_secret(state, b).map_err(|e| e.to_string())?;
    let redirect =
        RedirectUrl::new(redirect_uri(state, tenant)).map_err(|e| format!("redirect URI: {e}"))?;
    Ok(OidcClient::from_provider_metadata(
        m,
        ClientId::new(b.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect))
}

/// A login in progress (`login/<sha256 of state>`).
#[derive(Debug, Serialize, Deserialize)]
struct PendingLogin {
    tenant: String,
    customer: String,
    binding: String,
    pkce_verifier: String,
    nonce: String,
    created_at: i64,
}

/// Deletes pending logins older than [`LOGIN_TTL`] (a sign-in started and
/// never finished), and rows that no longer parse; returns how many went.
pub fn sweep_logins(state: &AppState, now: i64) -> Result<usize, crate::error::ApiError> {
    state.delete_where(b"login/", |v| {
        serde_json::from_slice::<PendingLogin>(v).map_or(true, |p| now - p.created_at > LOGIN_TTL)
    })
}

fn login_key(state_param: &str) -> Vec<u8> {
    format!(
        "login/{}",
        hex::encode(Sha256::digest(state_param.as_bytes()))
    )
    .into_bytes()
}

/// `?email=` or `?binding=<customer>.<binding>`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// The address the user typed; its domain picks the binding.
    #[serde(default)]
    pub email: Option<String>,
    /// An explicit binding.
    #[serde(default)]
    pub binding: Option<String>,
}

/// The bindings of a tenant's customers whose rule selects `email`'s domain.
fn bindings_for_email(customers: &[CustomerRecord], email: &str) -> Vec<(String, String)> {
    let domain = email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .unwrap_or_default();
    customers
        .iter()
        .flat_map(|c| {
            c.sso
                .iter()
                .filter(|b| b.rule.email_domain().as_deref() == Some(domain.as_str()))
                .map(|b| (c.id.clone(), b.id.clone()))
        })
        .collect()
}

/// `GET /t/{tenant}/login`: the sign-in page, or the redirect to the IdP.
pub async fn login(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<LoginQuery>,
) -> Response {
    match start(&state, &tenant, q).await {
        Ok(r) => r,
        Err(Failure(code, msg)) => web::failure(code, "Sign-in failed", &msg),
    }
}

/// A failed step: the status and what to tell the user.
struct Failure(StatusCode, String);

fn fail(code: StatusCode, msg: impl Into<String>) -> Failure {
    Failure(code, msg.into())
}

async fn start(state: &AppState, tenant: &str, q: LoginQuery) -> Result<Response, Failure> {
    if state.tenant(tenant).ok().flatten().is_none() {
        return Err(fail(StatusCode::NOT_FOUND, "There is no such portal."));
    }
    let all = customers::all(state, tenant).map_err(|_| {
        fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "The portal is unavailable.",
        )
    })?;
    let choice = match (&q.binding, &q.email) {
        (Some(b), _) => {
            let (c, b) = b.split_once('.').unwrap_or(("", ""));
            vec![(c.to_owned(), b.to_owned())]
        }
        (None, Some(e)) => bindings_for_email(&all, e),
        (None, None) => return Ok(web::login_page(tenant, None)),
    };
    let (customer_id, binding_id) = match choice.as_slice() {
        [one] => one.clone(),
        [] => {
            return Ok(web::login_page(
                tenant,
                Some("No single sign-on is set up for that address. Use the sign-in link your vendor gave you, or an access token."),
            ))
        }
        _ => return Ok(web::binding_choice_page(tenant, &all, &choice)),
    };
    let c = all
        .iter()
        .find(|c| c.id == customer_id)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "That sign-in choice does not exist."))?;
    let b = c
        .sso
        .iter()
        .find(|b| b.id == binding_id)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, "That sign-in choice does not exist."))?
        .clone();
    let (st, issuer) = (state.clone(), b.issuer.clone());
    let m = tokio::task::spawn_blocking(move || st.oidc().metadata(&issuer, false))
        .await
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| {
            tracing::warn!(tenant, error = %e, "OIDC discovery failed");
            fail(
                StatusCode::BAD_GATEWAY,
                format!("Your identity provider could not be reached ({e})."),
            )
        })?;
    let client = client(state, tenant, m, &b).map_err(|e| {
        tracing::error!(tenant, error = %e, "OIDC client");
        fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is misconfigured.",
        )
    })?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if b.rule.claim == "groups" {
        req = req.add_scope(Scope::new("groups".into()));
    }
    let (url, csrf, nonce) = req.url();
    let pending = PendingLogin {
        tenant: tenant.to_owned(),
        customer: c.id.clone(),
        binding: b.id.clone(),
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
        created_at: now_unix(),
    };
    let v = serde_json::to_vec(&pending).expect("plain data");
    state
        .store()
        .app_write(&[(login_key(csrf.secret()).as_slice(), Some(v.as_slice()))])
        .map_err(|_| {
            fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "The portal is unavailable.",
            )
        })?;
    let cookie = sessions::cookie(
        state,
        LOGIN_COOKIE,
        csrf.secret(),
        &format!("/t/{tenant}/"),
        Some(LOGIN_TTL),
    );
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url.to_string()),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
    )
        .into_response())
}

/// `?code=&state=`, or `?error=` from the IdP.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    /// Authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state we sent.
    #[serde(default)]
    pub state: Option<String>,
    /// An OAuth error code.
    #[serde(default)]
    pub error: Option<String>,
    /// Its description.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// `GET /t/{tenant}/callback`.
pub async fn callback(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let clear = sessions::cookie(&state, LOGIN_COOKIE, "", &format!("/t/{tenant}/"), Some(0));
    let mut res = match finish(&state, &tenant, &headers, q).await {
        Ok(r) => r,
        Err(Failure(code, msg)) => {
            tracing::info!(tenant, reason = %msg, "sign-in refused");
            web::failure(code, "Sign-in failed", &msg)
        }
    };
    if let Ok(v) = clear.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn finish(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    q: CallbackQuery,
) -> Result<Response, Failure> {
    if let Some(e) = q.error {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            format!(
                "Your identity provider refused the sign-in: {e}{}",
                q.error_description
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        ));
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "The sign-in response is incomplete.",
        ));
    };
    let bound = sessions::read_cookie(headers, LOGIN_COOKIE);
    if bound.as_deref() != Some(st.as_str()) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser. Start again from the sign-in page.",
        ));
    }
    // Consumed at once: a state works one time only. Read and delete run
    // under one lock, and a state whose delete failed is not used.
    let key = login_key(&st);
    let taken = {
        static CONSUME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = CONSUME.lock().unwrap_or_else(|e| e.into_inner());
        match state.store().app_get(&key) {
            Ok(Some(v)) => state
                .store()
                .app_write(&[(key.as_slice(), None)])
                .ok()
                .map(|()| v),
            _ => None,
        }
    };
    let pending: PendingLogin = taken
        .and_then(|v| serde_json::from_slice(&v).ok())
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                "This sign-in is unknown or was already used. Start again.",
            )
        })?;
    if pending.tenant != tenant || now_unix() - pending.created_at > LOGIN_TTL {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "This sign-in took too long. Start again.",
        ));
    }
    let c = customers::load(state, tenant, &pending.customer)
        .ok()
        .flatten()
        .ok_or_else(|| {
            fail(
                StatusCode::UNAUTHORIZED,
                "Your organisation's access was removed.",
            )
        })?;
    let b = c
        .sso
        .iter()
        .find(|b| b.id == pending.binding)
        .cloned()
        .ok_or_else(|| fail(StatusCode::UNAUTHORIZED, "This sign-in method was removed."))?;
    let (st, t, b2) = (state.clone(), tenant.to_owned(), b.clone());
    let claims = tokio::task::spawn_blocking(move || verify(&st, &t, &b2, code, &pending))
        .await
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    if !b.rule.matches(&claims) {
        return Err(fail(
            StatusCode::FORBIDDEN,
            format!(
                "You signed in as {}, but this portal's rule for {} ({} {:?} {:?}) does not admit you.",
                claims["email"].as_str().or(claims["sub"].as_str()).unwrap_or("?"),
                c.name,
                b.rule.claim,
                b.rule.op,
                b.rule.value
            ),
        ));
    }
    let kind = SessionKind::Customer {
        customer: c.id.clone(),
        binding: b.id.clone(),
        issuer: b.issuer.clone(),
        subject: claims["sub"].as_str().unwrap_or_default().to_owned(),
        email: claims["email"].as_str().map(str::to_owned),
    };
    let cookie = sessions::create(state, tenant, kind).map_err(|_| {
        fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "The portal is unavailable.",
        )
    })?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, format!("/t/{tenant}/")),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

/// The code exchange and ID token checks; the claims as JSON. Blocking.
fn verify(
    state: &AppState,
    tenant: &str,
    b: &SsoBinding,
    code: String,
    p: &PendingLogin,
) -> Result<serde_json::Value, Failure> {
    let oidc = state.oidc();
    let unreachable = |e: String| {
        tracing::warn!(tenant, error = %e, "OIDC");
        fail(
            StatusCode::BAD_GATEWAY,
            format!("Your identity provider could not be reached ({e})."),
        )
    };
    let m = oidc.metadata(&b.issuer, false).map_err(unreachable)?;
    let c = client(state, tenant, m, b).map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let tokens = c
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| {
            fail(
                StatusCode::BAD_GATEWAY,
                format!("The identity provider has no token endpoint ({e})."),
            )
        })?
        .set_pkce_verifier(PkceCodeVerifier::new(p.pkce_verifier.clone()))
        .request(&oidc.agent)
        .map_err(|e| {
            fail(
                StatusCode::UNAUTHORIZED,
                format!(
                    "The identity provider did not accept the sign-in code: {}",
                    chain(&e)
                ),
            )
        })?;
    let id_token = tokens.id_token().ok_or_else(|| {
        fail(
            StatusCode::UNAUTHORIZED,
            "The identity provider sent no ID token.",
        )
    })?;
    let nonce = Nonce::new(p.nonce.clone());
    let checked = {
        let v = c.id_token_verifier();
        id_token.claims(&v, &nonce).cloned()
    };
    // `c` becomes the client whose JWKS verified the token, for `at_hash` too.
    let (claims, c) = match checked {
        Ok(cl) => (cl, c),
        // The IdP may have rotated its keys: fetch the JWKS once more.
        Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
            let m = oidc.refresh_jwks(&b.issuer).map_err(unreachable)?;
            let c2 = client(state, tenant, m, b)
                .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e))?;
            let cl = id_token
                .claims(&c2.id_token_verifier(), &nonce)
                .cloned()
                .map_err(|e| id_token_failure(&e))?;
            (cl, c2)
        }
        Err(e) => return Err(id_token_failure(&e)),
    };
    if let Some(want) = claims.access_token_hash() {
        let v = c.id_token_verifier();
        let alg = id_token
            .signing_alg()
            .map_err(|e| fail(StatusCode::UNAUTHORIZED, format!("ID token: {e}")))?;
        let key = id_token
            .signing_key(&v)
            .map_err(|e| fail(StatusCode::UNAUTHORIZED, format!("ID token: {e}")))?;
        let got = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| fail(StatusCode::UNAUTHORIZED, format!("ID token: {e}")))?;
        if got != *want {
            return Err(fail(
                StatusCode::UNAUTHORIZED,
                "The ID token does not belong to the access token it came with.",
            ));
        }
    }
    serde_json::to_value(&claims)
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn id_token_failure(e: &openidconnect::ClaimsVerificationError) -> Failure {
    use openidconnect::ClaimsVerificationError as E;
    let what = match e {
        E::Expired(_) => "it has expired",
        E::InvalidIssuer(_) => "it was issued by another identity provider",
        E::InvalidAudience(_) => "it was issued for another application",
        E::InvalidNonce(_) => {
            "its nonce is not the one this sign-in sent (a replayed or injected token)"
        }
        E::SignatureVerification(_) => {
            "its signature does not verify with the provider's published keys"
        }
        _ => "it is not valid",
    };
    fail(
        StatusCode::UNAUTHORIZED,
        format!("The identity provider's ID token was refused: {what} ({e})."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_deletes_only_stale_pending_logins() {
        let d = tempfile::tempdir().unwrap();
        let st = crate::server::open(
            d.path(),
            Some(&"55".repeat(32)),
            "evident.test",
            evident_log::StoreOptions::default(),
        )
        .unwrap()
        .state;
        let now = now_unix();
        let put = |state_param: &str, created_at: i64| {
            let p = PendingLogin {
                tenant: "acme".into(),
                customer: "c".into(),
                binding: "b".into(),
                pkce_verifier: "v".into(),
                nonce: "n".into(),
                created_at,
            };
            let v = serde_json::to_vec(&p).unwrap();
            st.store()
                .app_write(&[(login_key(state_param).as_slice(), Some(v.as_slice()))])
                .unwrap();
        };
        put("fresh", now);
        put("stale", now - LOGIN_TTL - 1);
        assert_eq!(sweep_logins(&st, now).unwrap(), 1);
        assert!(st.store().app_get(&login_key("stale")).unwrap().is_none());
        assert!(st.store().app_get(&login_key("fresh")).unwrap().is_some());
    }
}
