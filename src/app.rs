//! The composition root: [`Builder`] opens (or initialises) a data
//! directory, loads or makes the keys and the TSA, mints the operator token
//! on first start, and builds the services' [`AppState`] once, with every
//! setting fixed; [`app`] assembles the router; [`serve`] runs it with the
//! background jobs and graceful shutdown.

use std::{net::SocketAddr, path::Path, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use axum::Router;
use evident_log::{Store, StoreOptions};

use crate::{
    core::{clock::now_unix, records::TokenRecord, Scope},
    service::{
        identity::mint,
        keys::{MasterKey, MasterKeySource, PlatformKeys},
        limits::LimitConfig,
        metrics::Metrics,
        timestamps::{ExternalTsa, Timestamps},
        tsa::Tsa,
        AppState, Config,
    },
    store::Db,
};

/// What start-up produced.
#[derive(Debug)]
pub struct Started {
    /// The state to serve.
    pub state: AppState,
    /// The operator token, only on the very first start.
    pub operator_token: Option<String>,
    /// Where the master key came from.
    pub master_key: MasterKeySource,
}

/// Memory for decoded records read on hot paths (`keys::CACHED`).
const READ_CACHE_BYTES: usize = 32 << 20;

/// Everything a server is started with; consumed once by [`Builder::open`].
#[derive(Debug)]
pub struct Builder {
    data_dir: PathBuf,
    master_key: Option<String>,
    store: StoreOptions,
    config: Config,
    external_tsa: Option<ExternalTsa>,
}

impl Builder {
    /// A server on `data_dir`, with the defaults (`evident.test` as public
    /// host; the master key from `data_dir/master.key`).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            master_key: None,
            store: StoreOptions::default(),
            config: Config::default(),
            external_tsa: None,
        }
    }

    /// The master key (`EVIDENT_MASTER_KEY`: 64 hex digits or base64).
    pub fn master_key_hex(mut self, key: &str) -> Self {
        self.master_key = Some(key.to_owned());
        self
    }

    /// The master key from the environment's value, when set.
    pub fn master_key_env(mut self, key: Option<String>) -> Self {
        self.master_key = key;
        self
    }

    /// The host (and optional path) that prefixes every log origin.
    pub fn public_host(mut self, host: &str) -> Self {
        self.config.public_host = host.to_owned();
        self
    }

    /// The store's options (checkpoint interval, sync, cache).
    pub fn store_options(mut self, o: StoreOptions) -> Self {
        self.store = o;
        self
    }

    /// The largest accepted release push body.
    pub fn push_body_limit(mut self, bytes: usize) -> Self {
        self.config.push_body_limit = bytes;
        self
    }

    /// The portal's public base URL, and whether cookies are `Secure`
    /// (always when the URL is https).
    pub fn web(mut self, public_url: Option<String>, secure_cookies: bool) -> Self {
        self.config.public_url = public_url;
        self.config.secure_cookies = secure_cookies;
        self
    }

    /// Takes the server's tokens from an external TSA instead of the
    /// built-in one.
    pub fn external_tsa(mut self, t: ExternalTsa) -> Self {
        self.external_tsa = Some(t);
        self
    }

    /// The rate limits.
    pub fn limits(mut self, l: LimitConfig) -> Self {
        self.config.limits = l;
        self
    }

    /// Allows `http://` IdPs on loopback (tests and local IdPs).
    pub fn http_idp_on_loopback(mut self, allow: bool) -> Self {
        self.config.allow_http_idp_on_loopback = allow;
        self
    }

    /// Serves `/metrics` on the public listener to holders of this token.
    pub fn metrics_token(mut self, t: Option<String>) -> Self {
        self.config.metrics_token = t;
        self
    }

    /// The byte budget of the model cache.
    pub fn model_cache_bytes(mut self, b: usize) -> Self {
        self.config.model_cache_bytes = b;
        self
    }

    /// Opens (or initialises) the data directory and builds the state.
    pub fn open(self) -> anyhow::Result<Started> {
        let dir = &self.data_dir;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let fresh = !dir.join("db").exists();
        let (master, source) = MasterKey::load(self.master_key.as_deref(), dir, fresh)?;
        let metrics = Arc::new(Metrics::default());
        let store_options = StoreOptions {
            read_cache_prefixes: crate::store::keys::CACHED
                .iter()
                .map(|p| p.to_vec())
                .collect(),
            read_cache_bytes: READ_CACHE_BYTES,
            ..self.store
        };
        let store = Store::open(&dir.join("db"), store_options)
            .with_context(|| format!("opening RocksDB under {}", dir.display()))?
            .with_observer(metrics.clone())
            .with_indexer(Arc::new(crate::store::audit::AuditIndexer));
        let db = Db::new(store);
        let (keys, _) = PlatformKeys::load_or_generate(&db, &master)?;
        let tsa = Timestamps::new(Tsa::load_or_generate(&db, &master)?, self.external_tsa);
        let mut config = self.config;
        config.verifiers_dir = Some(dir.join("verifiers"));
        let state = AppState::new(db, keys, tsa, master, metrics, config);
        let tenants = state.tenants()?;
        state.metrics().tenants.set(tenants.len() as i64);
        // Before anything is appended: where the batches start counting
        // statistics in logs written before the counters existed.
        for t in &tenants {
            if !state.store().stats_ready(&t.slug)? {
                state.store().stats_prepare(&state.log(&t.slug)?)?;
            }
        }
        // The operator token is minted once, on first start, and never shown again.
        let operator_token = if state.store().operator_token_id()?.is_none() {
            let m = mint();
            state.store().put_operator_token(&TokenRecord {
                id: m.id.clone(),
                tenant: None,
                scope: Scope::Operator,
                label: Some("operator".into()),
                created_at: now_unix(),
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
                secret_sha256: m.secret_sha256,
                customer: None,
            })?;
            Some(m.token)
        } else {
            None
        };
        Ok(Started {
            state,
            operator_token,
            master_key: source,
        })
    }
}

/// The whole router: the JSON API, the tiles, the TSA, and the portal.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(crate::http::router(state.clone()))
        .merge(crate::portal::router(state.clone()))
        .fallback(crate::http::fallback)
        .layer(crate::http::body_limit())
        .with_state(state)
}

/// Serves `state` on `listen` until SIGINT or SIGTERM, with the background
/// jobs and, with `metrics_listen`, a private listener for `/metrics`.
pub async fn serve(
    state: AppState,
    listen: SocketAddr,
    stamp_interval: Duration,
    metrics_listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    // Install the signal handlers before announcing the address, so a
    // SIGTERM sent as soon as the line appears is a graceful shutdown, not
    // the default action.
    let shutdown = shutdown_signal()?;
    // Tests and scripts read this line to learn the port when given :0.
    println!("EVIDENT_LISTENING=http://{addr}");
    state.default_public_url(&format!("http://{addr}"));
    let mut jobs = crate::jobs::spawn_all(&state, stamp_interval);
    if let Some(addr) = metrics_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics listener {addr}"))?;
        tracing::info!(addr = %l.local_addr()?, "metrics listening");
        let st = state.clone();
        let router = Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let st = st.clone();
                async move { crate::http::ops::metrics_body(&st) }
            }),
        );
        jobs.push(tokio::spawn(async move {
            let _ = axum::serve(l, router).await;
        }));
    }
    crate::jobs::warn_platform_keyed_logs(&state);
    // The peer address feeds the per-address rate limits.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving HTTP")?;
    for j in jobs {
        j.abort();
    }
    tracing::info!("shut down");
    Ok(())
}

/// A future that completes on SIGINT or SIGTERM; the handlers are
/// registered when this is called, not when it is first polled.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        let term = async move {
            term.recv().await;
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    })
}
