//! Start-up: open the store, load or create the keys, mint the operator
//! token on first start, and serve with graceful shutdown.

use std::{net::SocketAddr, path::Path, sync::Arc};

use anyhow::Context;
use evident_log::{Store, StoreOptions};

use crate::{
    auth::{mint, Scope, TokenRecord},
    events::now_unix,
    keys::{MasterKey, MasterKeySource, PlatformKeys},
    metrics::Metrics,
    state::AppState,
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

/// Opens (or initialises) the data directory.
pub fn open(
    data_dir: &Path,
    master_key_env: Option<&str>,
    public_host: &str,
    store_opts: StoreOptions,
) -> anyhow::Result<Started> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let fresh = !data_dir.join("db").exists();
    let (master, source) = MasterKey::load(master_key_env, data_dir, fresh)?;
    let metrics = Arc::new(Metrics::default());
    let store = Store::open(&data_dir.join("db"), store_opts)
        .with_context(|| format!("opening RocksDB under {}", data_dir.display()))?
        .with_observer(metrics.clone());
    let (keys, _) = PlatformKeys::load_or_generate(&store, &master)?;
    let tsa = crate::tsa::Tsa::load_or_generate(&store, &master)?;
    let state = AppState::new(store, keys, tsa, master, public_host.to_owned(), metrics);
    state.metrics().tenants.set(state.tenants()?.len() as i64);
    // The operator token is minted once, on first start, and never shown again.
    let operator_token = if state.store().app_get(b"operator-token")?.is_none() {
        let m = mint();
        let mut ops = AppState::token_ops(&TokenRecord {
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
        });
        ops.push((b"operator-token".to_vec(), Some(m.id.clone().into_bytes())));
        let refs: Vec<(&[u8], Option<&[u8]>)> = ops
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        state.store().app_write(&refs)?;
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

/// Serves `state` on `listen` until SIGINT or SIGTERM.
pub async fn serve(
    state: AppState,
    listen: SocketAddr,
    stamp_interval: std::time::Duration,
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
    let stamper = tokio::spawn(stamp_checkpoints(state.clone(), stamp_interval));
    let sweeper = tokio::spawn(sweep_sign_ins(state.clone()));
    let pruner = tokio::spawn(prune_limits(state.clone()));
    let metrics = match metrics_listen {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics listener {addr}"))?;
            tracing::info!(addr = %l.local_addr()?, "metrics listening");
            let st = state.clone();
            let router = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let st = st.clone();
                    async move { crate::metrics_body(&st) }
                }),
            );
            Some(tokio::spawn(async move {
                let _ = axum::serve(l, router).await;
            }))
        }
        None => None,
    };
    log_platform_keyed_logs(&state);
    // The peer address feeds the per-address rate limits.
    axum::serve(
        listener,
        crate::app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving HTTP")?;
    stamper.abort();
    sweeper.abort();
    pruner.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    tracing::info!("shut down");
    Ok(())
}

/// Every `interval`, gives each tenant log's latest published checkpoint an
/// RFC 3161 token if it has none, so a token exists at least that often.
async fn stamp_checkpoints(state: AppState, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok(tenants) = state.tenants() else {
            continue;
        };
        for t in tenants {
            let Ok(log) = state.log(&t.slug) else {
                continue;
            };
            let Some(cp) = log.latest_published() else {
                continue;
            };
            let (st, slug) = (state.clone(), t.slug.clone());
            let res = tokio::task::spawn_blocking(move || {
                crate::log_api::stamp_checkpoint(&st, &slug, cp.size, &cp.note)
            })
            .await;
            if let Ok(Err(e)) = res {
                tracing::warn!(tenant = %t.slug, error = %e, "could not timestamp the checkpoint");
            }
        }
    }
}

/// Says at start which tenant logs are still signed with the platform's
/// shared key (created before each log had its own): docs/operations.md
/// says how to move each to its own key.
fn log_platform_keyed_logs(state: &AppState) {
    let Ok(tenants) = state.tenants() else {
        return;
    };
    let shared: Vec<String> = tenants
        .into_iter()
        .filter(
            |t| matches!(crate::log_keys::history(state.store(), &t.slug), Ok(h) if h.is_empty()),
        )
        .map(|t| t.slug)
        .collect();
    if !shared.is_empty() {
        tracing::warn!(
            tenants = ?shared,
            "these logs are still signed with the platform's shared log key; move each to its own key with POST /api/v1/tenants/<t>/log/key/rotate (docs/operations.md)"
        );
    }
}

/// Every minute, drops rate-limit state of addresses whose budgets are
/// full again, and used login states whose cookies have expired.
async fn prune_limits(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.limits().prune();
        state.oidc().prune(crate::events::now_unix());
    }
}

/// Every five minutes (and at start), deletes expired sessions, so none
/// piles up (a sign-in that was started and never finished stores nothing).
async fn sweep_sign_ins(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let st = state.clone();
        let res = tokio::task::spawn_blocking(move || {
            let now = crate::events::now_unix();
            crate::sessions::sweep(&st, now)
        })
        .await;
        match res {
            Ok(Ok(0)) => {}
            Ok(Ok(sessions)) => {
                tracing::info!(sessions, "swept expired sessions")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not sweep sessions"),
            Err(e) => tracing::warn!(error = %e, "the session sweep failed"),
        }
    }
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
