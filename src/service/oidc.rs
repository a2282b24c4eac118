//! OIDC sign-in for customers (authorization code flow with PKCE, state
//! and nonce), done by the `openidconnect` crate.
//!
//! `GET /t/{tenant}/login` picks the customer's SSO binding (by the domain
//! of the e-mail address a user types, or an explicit choice), fetches the
//! issuer's discovery document and JWKS, and redirects to the IdP with a
//! PKCE S256 challenge, a random `state` and a random `nonce`. Nothing is
//! stored for an anonymous visitor: the pending login (state, PKCE verifier,
//! nonce, binding, time) travels in a short-lived cookie sealed under the
//! master key (ChaCha20-Poly1305), bound to the browser that started it.
//! `GET /t/{tenant}/callback` opens that cookie, requires its state to be
//! the one in the callback, its age within [`LOGIN_TTL`], and the state not
//! used before (an in-memory, bounded set); only then is the code
//! exchanged with the PKCE verifier, and `openidconnect` checks the ID
//! token: signature against the issuer's JWKS, issuer, audience, nonce,
//! expiry. A signature that fails with the cached JWKS triggers one refetch
//! (at most one a minute), which is how key rotation at the IdP is followed.
//! When a claim that the binding's rule needs is not in the ID token (an
//! IdP may keep claims out of it when it issues an access token, OpenID
//! Connect Core §5.4), the claims come from the UserInfo endpoint, whose
//! `sub` must be the ID token's. Then the binding's claim rule decides, and
//! only then is a session made.
//!
//! Outbound calls to an IdP are guarded ([`IdpHttp`]): `https://` only
//! (plain `http://` on loopback only when the operator allows it), no
//! redirects, short timeouts, answers capped in size, and they run on their
//! own small pool of threads, never on the blocking pool the log's commits
//! use. Discovery results and failures are cached per issuer, failures with
//! exponential backoff, and concurrent visitors wait for one fetch, so a
//! slow or dead IdP costs one outbound call per interval, not one per
//! visitor. An anonymous visitor is never told why a call failed; the
//! server log is.

use std::{
    collections::HashMap,
    io::Read,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
        CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
        CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse,
        CoreTokenType,
    },
    AccessTokenHash, AdditionalClaims, AuthenticationFlow, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, HttpRequest, HttpResponse, IdTokenFields,
    IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier,
    TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    core::{
        clock::now_unix,
        records::{CustomerRecord, SessionKind, SsoBinding},
        Error,
    },
    service::{customers, AppState},
};

/// How long a fetched discovery document and JWKS are used.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// A stale discovery document is still used while refetching fails, up to this age.
const STALE_MAX: Duration = Duration::from_secs(24 * 3600);
/// The first wait after a failed fetch; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_secs(5);
/// The longest wait between fetches of a failing issuer.
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// At most one JWKS refetch per issuer in this time.
const JWKS_REFETCH_EVERY: Duration = Duration::from_secs(60);
/// How long a started login may take.
pub const LOGIN_TTL: i64 = 600;
/// The cookie that carries the sealed pending login.
pub const LOGIN_COOKIE: &str = "evident_login";
/// The largest answer read from an IdP.
const MAX_IDP_BYTES: u64 = 512 * 1024;
/// Connect and whole-call timeouts of IdP calls.
const IDP_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const IDP_TIMEOUT: Duration = Duration::from_secs(8);
/// IdP calls running at once, and how long a call waits for a free slot.
const IDP_POOL: usize = 4;
const IDP_QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Used login states remembered (each for [`LOGIN_TTL`]).
const MAX_CONSUMED: usize = 200_000;
/// The associated data of sealed pending logins.
const LOGIN_PURPOSE: &str = "login-state/v1";

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

/// Why an IdP call failed (for the server log only).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IdpError(String);

/// The HTTP client of every IdP call: scheme check on every URL, no
/// redirects, short timeouts, capped answers.
#[derive(Debug, Clone)]
pub struct IdpHttp {
    agent: ureq::Agent,
    allow_http_loopback: bool,
}

/// Whether `url` may be called: `https://`, or `http://` to a loopback host
/// when the operator allowed it (tests and local IdPs).
pub fn url_allowed(url: &str, allow_http_loopback: bool) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.scheme() {
        "https" => u.host().is_some(),
        "http" if allow_http_loopback => match u.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

impl IdpHttp {
    fn new(allow_http_loopback: bool) -> Self {
        Self {
            // openidconnect's advice: never follow redirects (SSRF).
            agent: ureq::AgentBuilder::new()
                .timeout_connect(IDP_CONNECT_TIMEOUT)
                .timeout(IDP_TIMEOUT)
                .redirects(0)
                .build(),
            allow_http_loopback,
        }
    }
}

impl openidconnect::SyncHttpClient for IdpHttp {
    type Error = IdpError;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, IdpError> {
        let url = request.uri().to_string();
        if !url_allowed(&url, self.allow_http_loopback) {
            return Err(IdpError(format!(
                "{url} is not an https:// URL (plain http:// only on loopback, and only with --allow-http-idp-on-loopback)"
            )));
        }
        let mut req = match *request.method() {
            openidconnect::http::Method::POST => self.agent.post(&url),
            openidconnect::http::Method::GET => self.agent.get(&url),
            ref m => return Err(IdpError(format!("method {m} is not used with IdPs"))),
        };
        for (name, value) in request.headers() {
            let v = value
                .to_str()
                .map_err(|_| IdpError(format!("header {name} is not text")))?;
            req = req.set(name.as_str(), v);
        }
        let res = if *request.method() == openidconnect::http::Method::POST {
            req.send_bytes(request.body())
        } else {
            req.call()
        };
        // An error status still carries a body openidconnect can read
        // (an OAuth error response).
        let res = match res {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(IdpError(format!("{url}: {e}"))),
        };
        let mut b = openidconnect::http::Response::builder().status(res.status());
        if let Some(ct) = res.header("content-type") {
            b = b.header(openidconnect::http::header::CONTENT_TYPE, ct);
        }
        let mut body = Vec::new();
        res.into_reader()
            .take(MAX_IDP_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| IdpError(format!("{url}: reading the answer: {e}")))?;
        if body.len() as u64 > MAX_IDP_BYTES {
            return Err(IdpError(format!(
                "{url}: the answer is larger than {MAX_IDP_BYTES} bytes"
            )));
        }
        b.body(body).map_err(|e| IdpError(e.to_string()))
    }
}

/// What is known of one issuer.
#[derive(Debug, Default)]
struct IssuerState {
    ok: Option<(CoreProviderMetadata, Instant)>,
    /// No fetch before this instant (after a failure).
    next_try: Option<Instant>,
    backoff: Duration,
    last_error: Option<String>,
    /// No JWKS refetch before this instant.
    jwks_next: Option<Instant>,
}

/// Discovery documents (with their JWKS) by issuer, the guarded HTTP
/// client, the pool IdP calls run on, and the used login states.
#[derive(Debug)]
pub struct Oidc {
    issuers: Mutex<HashMap<String, IssuerState>>,
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    http: IdpHttp,
    pool: Arc<tokio::sync::Semaphore>,
    consumed: Mutex<HashMap<[u8; 32], i64>>,
    /// Outbound calls made (for tests and metrics).
    calls: std::sync::atomic::AtomicU64,
}

impl Default for Oidc {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Oidc {
    /// The cache and client; `allow_http_loopback` admits `http://` IdPs on
    /// loopback (tests and local IdPs only).
    pub fn new(allow_http_loopback: bool) -> Self {
        Self {
            issuers: Mutex::default(),
            fetching: Mutex::default(),
            http: IdpHttp::new(allow_http_loopback),
            pool: Arc::new(tokio::sync::Semaphore::new(IDP_POOL)),
            consumed: Mutex::default(),
            calls: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Whether `http://` IdPs on loopback are allowed.
    pub fn allows_http_loopback(&self) -> bool {
        self.http.allow_http_loopback
    }

    /// Outbound IdP calls made so far (discovery, JWKS, token, UserInfo).
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs a blocking IdP call on the IdP pool (never on tokio's blocking
    /// pool, which the log's commits use).
    async fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&IdpHttp) -> T + Send + 'static,
    ) -> Result<T, String> {
        let permit = tokio::time::timeout(IDP_QUEUE_WAIT, self.pool.clone().acquire_owned())
            .await
            .map_err(|_| "too many identity-provider calls are waiting".to_owned())?
            .map_err(|_| "the identity-provider pool is closed".to_owned())?;
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let http = self.http.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("evident-idp".into())
            .spawn(move || {
                let r = f(&http);
                drop(permit);
                let _ = tx.send(r);
            })
            .map_err(|e| format!("starting an identity-provider call: {e}"))?;
        rx.await
            .map_err(|_| "the identity-provider call ended without an answer".to_owned())
    }

    fn fetch_lock(&self, issuer: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.fetching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(issuer.to_owned())
            .or_default()
            .clone()
    }

    /// The cached answer for `issuer` if it may be used now without a
    /// fetch: a fresh document, or (within a failure's backoff) the stale
    /// one or the failure.
    fn cached(&self, issuer: &str) -> Option<Result<CoreProviderMetadata, String>> {
        let map = self.issuers.lock().unwrap_or_else(|e| e.into_inner());
        let st = map.get(issuer)?;
        if let Some((m, at)) = &st.ok {
            if at.elapsed() < DISCOVERY_TTL {
                return Some(Ok(m.clone()));
            }
        }
        if st.next_try.is_some_and(|t| Instant::now() < t) {
            return Some(match &st.ok {
                Some((m, at)) if at.elapsed() < STALE_MAX => Ok(m.clone()),
                _ => Err(st
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "discovery failed".into())),
            });
        }
        None
    }

    /// The issuer's metadata and JWKS: from the cache, or fetched by one
    /// caller while the others wait for it.
    async fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, String> {
        if let Some(r) = self.cached(issuer) {
            return r;
        }
        let lock = self.fetch_lock(issuer);
        let _one = lock.lock().await;
        if let Some(r) = self.cached(issuer) {
            return r;
        }
        let iss = issuer.to_owned();
        let res = self
            .on_pool(move |http| discover(http, &iss))
            .await
            .and_then(|r| r);
        let mut map = self.issuers.lock().unwrap_or_else(|e| e.into_inner());
        let st = map.entry(issuer.to_owned()).or_default();
        match res {
            Ok(m) => {
                st.ok = Some((m.clone(), Instant::now()));
                st.next_try = None;
                st.backoff = Duration::ZERO;
                st.last_error = None;
                Ok(m)
            }
            Err(e) => {
                st.backoff = (st.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
                st.next_try = Some(Instant::now() + st.backoff);
                st.last_error = Some(e.clone());
                tracing::warn!(issuer, error = %e, backoff_secs = st.backoff.as_secs(), "OIDC discovery failed");
                match &st.ok {
                    Some((m, at)) if at.elapsed() < STALE_MAX => Ok(m.clone()),
                    _ => Err(e),
                }
            }
        }
    }

    /// Refetches only the JWKS of an issuer (key rotation), at most once
    /// per [`JWKS_REFETCH_EVERY`].
    async fn refresh_jwks(&self, issuer: &str) -> Result<CoreProviderMetadata, String> {
        let m = self.metadata(issuer).await?;
        let lock = self.fetch_lock(issuer);
        let _one = lock.lock().await;
        {
            let mut map = self.issuers.lock().unwrap_or_else(|e| e.into_inner());
            let st = map.entry(issuer.to_owned()).or_default();
            if st.jwks_next.is_some_and(|t| Instant::now() < t) {
                // Refetched a moment ago: use what that fetch got.
                return Ok(st.ok.as_ref().map_or(m, |(m, _)| m.clone()));
            }
            st.jwks_next = Some(Instant::now() + JWKS_REFETCH_EVERY);
        }
        let uri = m.jwks_uri().clone();
        let jwks = self
            .on_pool(move |http| JsonWebKeySet::fetch(&uri, http).map_err(|e| chain(&e)))
            .await
            .and_then(|r| r)
            .map_err(|e| format!("fetching the JWKS of {issuer}: {e}"))?;
        let m = m.set_jwks(jwks);
        self.issuers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(issuer.to_owned())
            .or_default()
            .ok = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    /// Records a login state as used; false if it was used before.
    fn consume(&self, state_param: &str, now: i64) -> bool {
        let h: [u8; 32] = Sha256::digest(state_param.as_bytes()).into();
        let mut c = self.consumed.lock().unwrap_or_else(|e| e.into_inner());
        if c.len() >= MAX_CONSUMED {
            c.retain(|_, at| now - *at <= LOGIN_TTL);
        }
        if c.contains_key(&h) {
            return false;
        }
        if c.len() < MAX_CONSUMED {
            c.insert(h, now);
        }
        true
    }

    /// Forgets used states older than [`LOGIN_TTL`] (their cookies have
    /// expired, so they cannot come back).
    pub fn prune(&self, now: i64) {
        self.consumed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, at| now - *at <= LOGIN_TTL);
    }
}

/// Fetches and checks a discovery document (blocking).
fn discover(http: &IdpHttp, issuer: &str) -> Result<CoreProviderMetadata, String> {
    let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| format!("issuer URL: {e}"))?;
    // discover() fetches the document, checks that its issuer is this one,
    // and fetches the JWKS (through `http`, which checks every URL).
    let m = CoreProviderMetadata::discover(&url, http)
        .map_err(|e| format!("discovery at {issuer} failed: {}", chain(&e)))?;
    let mut named = vec![
        (
            "authorization_endpoint",
            m.authorization_endpoint().to_string(),
        ),
        ("jwks_uri", m.jwks_uri().to_string()),
    ];
    if let Some(t) = m.token_endpoint() {
        named.push(("token_endpoint", t.to_string()));
    }
    if let Some(u) = m.userinfo_endpoint() {
        named.push(("userinfo_endpoint", u.to_string()));
    }
    for (what, u) in named {
        if !url_allowed(&u, http.allow_http_loopback) {
            return Err(format!(
                "the discovery document of {issuer} names {what} {u}, which is not https://"
            ));
        }
    }
    Ok(m)
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

/// A login in progress: what the callback needs, sealed into a cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PendingLogin {
    /// The `state` parameter sent to the IdP.
    state: String,
    tenant: String,
    customer: String,
    binding: String,
    pkce_verifier: String,
    nonce: String,
    created_at: i64,
}

impl PendingLogin {
    /// The cookie value: the pending login sealed under the master key.
    fn seal(&self, state: &AppState) -> String {
        let json = serde_json::to_vec(self).expect("plain data");
        URL_SAFE_NO_PAD.encode(state.master().seal(LOGIN_PURPOSE, &json))
    }

    /// Opens a cookie value; `None` for anything not sealed by this server.
    fn open(state: &AppState, cookie: &str) -> Option<Self> {
        let sealed = URL_SAFE_NO_PAD.decode(cookie.trim()).ok()?;
        let json = state.master().open(LOGIN_PURPOSE, &sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }
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
    if domain.is_empty() {
        return Vec::new();
    }
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

/// What to do next on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStart {
    /// Show the sign-in page, with a notice when the address or choice
    /// found no single sign-on.
    Page {
        /// The notice.
        notice: Option<&'static str>,
    },
    /// Several bindings match the address: let the user choose.
    Choose(Vec<Choice>),
    /// Go to the IdP with this URL, carrying the sealed pending login in
    /// the sign-in cookie.
    Redirect {
        /// The IdP's authorization URL.
        url: String,
        /// The sign-in cookie's value.
        sealed: String,
    },
}

/// One sign-in choice, named by its IdP's host only (never the customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `<customer>.<binding>`, for `?binding=`.
    pub binding: String,
    /// The IdP's host.
    pub host: String,
}

/// What every visitor is told when no single sign-on applies: the same for
/// an unknown portal, an address with no binding, and an unknown binding,
/// so the page reveals neither tenants nor customers nor issuers.
pub const NO_SSO: &str = "No single sign-on is set up for that address. Use the sign-in link your vendor gave you, or an access token.";

/// The answer when an IdP cannot be used: its detail only goes to the
/// server log (`Error::Upstream` is never shown to the caller).
fn idp_unreachable(tenant: &str, e: &str) -> Error {
    tracing::warn!(tenant, error = %e, "OIDC: the identity provider could not be used");
    Error::Upstream(format!("identity provider: {e}"))
}

/// Starts a sign-in: picks the binding (by the domain of the address the
/// user typed, or an explicit choice) and makes the IdP redirect. Nothing is
/// stored: the pending login is the sealed value the caller puts in the
/// sign-in cookie.
pub async fn start(state: &AppState, tenant: &str, q: LoginQuery) -> Result<SignInStart, Error> {
    // An unknown portal looks like a real one with no single sign-on.
    let all = match state.tenant(tenant)? {
        Some(_) => state.store().customers(tenant)?,
        None => Vec::new(),
    };
    let choice = match (&q.binding, &q.email) {
        (Some(b), _) => {
            let (c, b) = b.split_once('.').unwrap_or(("", ""));
            vec![(c.to_owned(), b.to_owned())]
        }
        (None, Some(e)) => bindings_for_email(&all, e),
        (None, None) => return Ok(SignInStart::Page { notice: None }),
    };
    let found = |(c, b): &(String, String)| {
        all.iter()
            .find(|x| x.id == *c)
            .and_then(|x| x.sso.iter().find(|y| y.id == *b).map(|y| (x, y.clone())))
    };
    let (c, b) = match choice.as_slice() {
        [one] => match found(one) {
            Some(x) => x,
            None => {
                return Ok(SignInStart::Page {
                    notice: Some(NO_SSO),
                })
            }
        },
        [] => {
            return Ok(SignInStart::Page {
                notice: Some(NO_SSO),
            })
        }
        _ => return Ok(SignInStart::Choose(choices(&all, &choice))),
    };
    let m = state
        .oidc()
        .metadata(&b.issuer)
        .await
        .map_err(|e| idp_unreachable(tenant, &e))?;
    let client = client(state, tenant, m, &b)
        .map_err(|e| Error::Internal(format!("OIDC client of {tenant}: {e}")))?;
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
        state: csrf.secret().clone(),
        tenant: tenant.to_owned(),
        customer: c.id.clone(),
        binding: b.id.clone(),
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
        created_at: now_unix(),
    };
    Ok(SignInStart::Redirect {
        url: url.to_string(),
        sealed: pending.seal(state),
    })
}

/// The choices among `only`, named by their IdP's host.
fn choices(customers: &[CustomerRecord], only: &[(String, String)]) -> Vec<Choice> {
    customers
        .iter()
        .flat_map(|c| c.sso.iter().map(move |b| (c, b)))
        .filter(|(c, b)| only.iter().any(|(ci, bi)| *ci == c.id && *bi == b.id))
        .map(|(c, b)| Choice {
            binding: format!("{}.{}", c.id, b.id),
            host: url::Url::parse(&b.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "identity provider".into()),
        })
        .collect()
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

/// Checks the callback against the sealed pending login, before anything
/// is sent to the IdP: the cookie must open, name this tenant and this
/// state, be younger than [`LOGIN_TTL`], and the state must be unused.
fn pending_login(
    state: &AppState,
    tenant: &str,
    sealed: Option<&str>,
    st: &str,
    now: i64,
) -> Result<PendingLogin, Error> {
    let not_here = || {
        Error::BadRequest(
            "This sign-in was not started in this browser, or took too long. Start again from the sign-in page.".into(),
        )
    };
    let pending = sealed
        .and_then(|c| PendingLogin::open(state, c))
        .ok_or_else(not_here)?;
    let same_state: bool = pending.state.as_bytes().ct_eq(st.as_bytes()).into();
    if !same_state || pending.tenant != tenant {
        return Err(not_here());
    }
    if now - pending.created_at > LOGIN_TTL || pending.created_at > now + 60 {
        return Err(Error::BadRequest(
            "This sign-in took too long. Start again.".into(),
        ));
    }
    if !state.oidc().consume(st, now) {
        return Err(Error::BadRequest(
            "This sign-in was already used. Start again.".into(),
        ));
    }
    Ok(pending)
}

/// Finishes a sign-in at the IdP's callback: the sealed pending login
/// (`sealed`, from the sign-in cookie) is checked before anything is sent
/// to the IdP; then the code exchange, the ID token, UserInfo when needed,
/// and the binding's rule. Returns the new session's cookie value.
pub async fn finish(
    state: &AppState,
    tenant: &str,
    sealed: Option<&str>,
    q: CallbackQuery,
) -> Result<String, Error> {
    if let Some(e) = q.error {
        return Err(Error::Unauthorized(format!(
            "Your identity provider refused the sign-in: {e}{}",
            q.error_description
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )));
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return Err(Error::BadRequest(
            "The sign-in response is incomplete.".into(),
        ));
    };
    let pending = pending_login(state, tenant, sealed, &st, now_unix())?;
    let c = state
        .store()
        .customer(tenant, &pending.customer)
        .ok()
        .flatten()
        .ok_or_else(|| Error::Unauthorized("Your organisation's access was removed.".into()))?;
    let b = c
        .sso
        .iter()
        .find(|b| b.id == pending.binding)
        .cloned()
        .ok_or_else(|| Error::Unauthorized("This sign-in method was removed.".into()))?;
    let claims = verify(state, tenant, &b, code, &pending).await?;
    if !b.rule.matches(&claims) {
        return Err(Error::Forbidden(format!(
                "You signed in as {}, but this portal's rule for {} ({} {:?} {:?}{}) does not admit you.",
                claims["email"].as_str().or(claims["sub"].as_str()).unwrap_or("?"),
                c.name,
                b.rule.claim,
                b.rule.op,
                b.rule.value,
                if b.rule.claim == "email" && claims["email_verified"] != serde_json::Value::Bool(true) && !b.rule.allow_unverified_email {
                    ", with a verified e-mail address"
                } else {
                    ""
                }
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
    crate::service::trail::begin_session(state, tenant, kind).await
}

/// The claims a rule needs: its claim, and `email_verified` for an e-mail rule.
fn needed_claims(b: &SsoBinding) -> Vec<&str> {
    let mut v = vec![b.rule.claim.as_str()];
    if b.rule.claim == "email" {
        v.push("email_verified");
    }
    v
}

/// Merges UserInfo claims into the ID token's: a claim present in both
/// keeps the ID token's value. The UserInfo `sub` must be the ID token's
/// (OpenID Connect Core §5.3.2): otherwise it is another user's answer.
/// Returns, for each of `needed`, where its value came from.
fn merge_user_info(
    id_claims: &mut serde_json::Value,
    user_info: &serde_json::Value,
    needed: &[&str],
) -> Result<Vec<(String, &'static str)>, String> {
    let (Some(id), Some(ui)) = (id_claims.as_object_mut(), user_info.as_object()) else {
        return Err("the claims are not JSON objects".into());
    };
    if ui.get("sub") != id.get("sub") {
        return Err(format!(
            "the UserInfo answer is for subject {}, the ID token for {}",
            ui.get("sub").unwrap_or(&serde_json::Value::Null),
            id.get("sub").unwrap_or(&serde_json::Value::Null)
        ));
    }
    let mut sources = Vec::new();
    for n in needed {
        let src = if id.contains_key(*n) {
            "id_token"
        } else if ui.contains_key(*n) {
            "userinfo"
        } else {
            "absent"
        };
        sources.push(((*n).to_owned(), src));
    }
    for (k, v) in ui {
        id.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(sources)
}

/// The code exchange, the ID token checks, and UserInfo when the rule
/// needs a claim the ID token lacks; the claims as JSON.
async fn verify(
    state: &AppState,
    tenant: &str,
    b: &SsoBinding,
    code: String,
    p: &PendingLogin,
) -> Result<serde_json::Value, Error> {
    let oidc = state.oidc();
    let m = oidc
        .metadata(&b.issuer)
        .await
        .map_err(|e| idp_unreachable(tenant, &e))?;
    let c = client(state, tenant, m, b).map_err(Error::Internal)?;
    let verifier = PkceCodeVerifier::new(p.pkce_verifier.clone());
    let c2 = c.clone();
    let tokens = oidc
        .on_pool(move |http| -> Result<Tokens, String> {
            c2.exchange_code(AuthorizationCode::new(code))
                .map_err(|e| format!("the IdP has no token endpoint ({e})"))?
                .set_pkce_verifier(verifier)
                .request(http)
                .map_err(|e| chain(&e))
        })
        .await
        .map_err(|e| idp_unreachable(tenant, &e))?
        .map_err(|e| {
            tracing::info!(tenant, error = %e, "OIDC code exchange refused");
            Error::Unauthorized(
                "The identity provider did not accept the sign-in code. Start again.".into(),
            )
        })?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| Error::Unauthorized("The identity provider sent no ID token.".into()))?;
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
            let m = oidc
                .refresh_jwks(&b.issuer)
                .await
                .map_err(|e| idp_unreachable(tenant, &e))?;
            let c2 = client(state, tenant, m, b).map_err(Error::Internal)?;
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
            .map_err(|e| Error::Unauthorized(format!("ID token: {e}")))?;
        let key = id_token
            .signing_key(&v)
            .map_err(|e| Error::Unauthorized(format!("ID token: {e}")))?;
        let got = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| Error::Unauthorized(format!("ID token: {e}")))?;
        if got != *want {
            return Err(Error::Unauthorized(
                "The ID token does not belong to the access token it came with.".into(),
            ));
        }
    }
    let mut json = serde_json::to_value(&claims).map_err(|e| Error::Internal(e.to_string()))?;
    let needed = needed_claims(b);
    if needed.iter().all(|n| json.get(*n).is_some()) {
        tracing::info!(tenant, binding = %b.id, claims = ?needed, "OIDC: rule claims from the ID token");
        return Ok(json);
    }
    // A thin ID token: the rule's claims come from UserInfo.
    let subject = claims.subject().clone();
    let access = tokens.access_token().clone();
    let c3 = c.clone();
    let ui = oidc
        .on_pool(move |http| -> Result<serde_json::Value, String> {
            let info: UserInfoClaims<ExtraClaims, CoreGenderClaim> = c3
                .user_info(access, Some(SubjectIdentifier::new(subject.to_string())))
                .map_err(|e| format!("the IdP has no UserInfo endpoint ({e})"))?
                .request(http)
                .map_err(|e| chain(&e))?;
            serde_json::to_value(&info).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| idp_unreachable(tenant, &e))?
        .map_err(|e| {
            tracing::warn!(tenant, error = %e, "OIDC UserInfo refused");
            Error::Unauthorized("The identity provider's UserInfo answer was refused.".into())
        })?;
    let sources = merge_user_info(&mut json, &ui, &needed).map_err(|e| {
        tracing::warn!(tenant, error = %e, "OIDC UserInfo refused");
        Error::Unauthorized("The identity provider's UserInfo answer is for another user.".into())
    })?;
    tracing::info!(tenant, binding = %b.id, sources = ?sources, "OIDC: rule claims merged from the ID token and UserInfo");
    Ok(json)
}

fn id_token_failure(e: &openidconnect::ClaimsVerificationError) -> Error {
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
    Error::Unauthorized(format!(
        "The identity provider's ID token was refused: {what}."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (tempfile::TempDir, AppState) {
        let d = tempfile::tempdir().unwrap();
        let st = crate::app::Builder::new(d.path())
            .master_key_hex(&"55".repeat(32))
            .open()
            .unwrap()
            .state;
        (d, st)
    }

    #[test]
    fn only_https_or_allowed_loopback_http_is_called() {
        for (u, strict, lax) in [
            ("https://idp.example/", true, true),
            ("http://idp.example/", false, false),
            ("http://127.0.0.1:9/", false, true),
            ("http://[::1]:9/", false, true),
            ("http://localhost:9/x", false, true),
            ("http://10.0.0.1/", false, false),
            ("file:///etc/passwd", false, false),
            ("gopher://idp.example/", false, false),
            ("not a url", false, false),
        ] {
            assert_eq!(url_allowed(u, false), strict, "{u}");
            assert_eq!(url_allowed(u, true), lax, "{u} (loopback allowed)");
        }
    }

    #[test]
    fn a_userinfo_answer_for_another_subject_is_refused() {
        let mut id = serde_json::json!({"sub": "alice", "iss": "x"});
        let other = serde_json::json!({"sub": "mallory", "email": "m@acme.example", "email_verified": true});
        assert!(merge_user_info(&mut id, &other, &["email"]).is_err());
        assert!(id.get("email").is_none(), "nothing merged");
        let same = serde_json::json!({"sub": "alice", "email": "a@acme.example", "email_verified": true, "iss": "y"});
        let src = merge_user_info(&mut id, &same, &["email", "email_verified", "iss"]).unwrap();
        assert_eq!(id["email"], "a@acme.example");
        assert_eq!(id["iss"], "x", "the ID token's claim wins");
        assert_eq!(
            src,
            vec![
                ("email".into(), "userinfo"),
                ("email_verified".into(), "userinfo"),
                ("iss".into(), "id_token")
            ]
        );
    }

    /// A callback whose state is not the sealed one (or with no cookie, a
    /// foreign cookie, a replay) is refused before any IdP call.
    #[tokio::test]
    async fn a_bad_state_is_refused_before_any_idp_call() {
        let (_d, st) = state();
        let now = now_unix();
        let pending = PendingLogin {
            state: "the-state".into(),
            tenant: "acme".into(),
            customer: "c".into(),
            binding: "b".into(),
            pkce_verifier: "v".into(),
            nonce: "n".into(),
            created_at: now,
        };
        let sealed = pending.seal(&st);
        let tampered = sealed.replace('A', "B");
        for (cookie, s) in [
            (None, "the-state"),
            (Some(sealed.as_str()), "another-state"),
            (Some("forged"), "the-state"),
            (Some(tampered.as_str()), "the-state"),
        ] {
            let r = finish(
                &st,
                "acme",
                cookie,
                CallbackQuery {
                    code: Some("code".into()),
                    state: Some(s.into()),
                    error: None,
                    error_description: None,
                },
            )
            .await;
            assert!(matches!(r, Err(Error::BadRequest(_))), "{r:?}");
        }
        let c = Some(sealed.as_str());
        // Another tenant's portal does not take it either.
        assert!(pending_login(&st, "globex", c, "the-state", now).is_err());
        // Expired.
        assert!(pending_login(&st, "acme", c, "the-state", now + LOGIN_TTL + 1).is_err());
        // The right one passes once, then is a replay.
        assert!(pending_login(&st, "acme", c, "the-state", now).is_ok());
        assert!(pending_login(&st, "acme", c, "the-state", now).is_err());
        assert_eq!(st.oidc().calls(), 0, "no call reached an IdP");
    }

    #[test]
    fn sealed_logins_round_trip_and_store_nothing() {
        let (_d, st) = state();
        let p = PendingLogin {
            state: "s".into(),
            tenant: "acme".into(),
            customer: "c".into(),
            binding: "b".into(),
            pkce_verifier: "v".into(),
            nonce: "n".into(),
            created_at: 1,
        };
        let c = p.seal(&st);
        assert!(
            !c.contains("acme"),
            "the cookie is sealed, not just encoded"
        );
        assert_eq!(PendingLogin::open(&st, &c), Some(p));
        assert!(
            st.store().app_scan(b"login/").unwrap().is_empty(),
            "no sign-in rows"
        );
    }
}
