//! Background jobs of a serving process: checkpoint timestamps and
//! witness submissions, the session sweep, pruning the rate limiters, and
//! indexing older logs for audit queries. Each calls services; none
//! knows HTTP.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::{
    core::{clock::now_unix, Error},
    service::{blocking, log_keys, logs, trail, witnesses, AppState},
};

/// Starts every job; abort the handles to stop them.
pub fn spawn_all(state: &AppState, stamp_interval: Duration) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(stamp_checkpoints(state.clone(), stamp_interval)),
        tokio::spawn(witness_checkpoints(state.clone(), stamp_interval)),
        tokio::spawn(sweep_sessions(state.clone())),
        tokio::spawn(flush_failed_sign_ins(state.clone())),
        tokio::spawn(prune_limits(state.clone())),
        tokio::spawn(index_older_logs(state.clone())),
    ]
}

/// Once at start: indexes for audit queries, and counts for statistics,
/// the entries of logs written before the audit index or the counters
/// existed (new entries are indexed and counted as they are appended).
/// Until a log is done, its audit and statistics queries answer 503.
async fn index_older_logs(state: AppState) {
    let Ok(tenants) = state.tenants() else {
        return;
    };
    for t in tenants {
        let st = state.clone();
        let slug = t.slug.clone();
        let res = blocking("audit index", move || {
            let log = st.log(&slug)?;
            // Each on its own: one failing does not hold back the other.
            let indexed = match st.store().audit_ready(&slug) {
                Ok(true) => Ok(None),
                _ => st.store().audit_backfill(&log).map(Some),
            };
            let counted = match st.store().stats_ready(&slug) {
                Ok(true) => Ok(None),
                _ => st.store().stats_backfill(&log).map(Some),
            };
            Ok((indexed, counted))
        })
        .await;
        let (indexed, counted) = match res {
            Ok(r) => r,
            Err(e) => (Err(e.clone()), Err(e)),
        };
        match indexed {
            Ok(Some(n)) => tracing::info!(tenant = %t.slug, entries = n, "audit index built"),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(tenant = %t.slug, error = %e, "could not build the audit index")
            }
        }
        match counted {
            Ok(Some(n)) => {
                tracing::info!(tenant = %t.slug, entries = n, "download statistics counted")
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(tenant = %t.slug, error = %e, "could not count the download statistics")
            }
        }
    }
}

/// Every `interval`, runs `f` for each tenant in turn; a failure is logged
/// as `what` and the round goes on.
async fn every_tenant<F, Fut>(state: AppState, interval: Duration, what: &'static str, f: F)
where
    F: Fn(AppState, String) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok(tenants) = state.tenants() else {
            continue;
        };
        for t in tenants {
            if let Err(e) = f(state.clone(), t.slug.clone()).await {
                tracing::warn!(tenant = %t.slug, error = %e, "{what}");
            }
        }
    }
}

/// Every `interval`, gives each tenant log's latest published checkpoint an
/// RFC 3161 token if it has none, so a token exists at least that often.
async fn stamp_checkpoints(state: AppState, interval: Duration) {
    every_tenant(
        state,
        interval,
        "could not timestamp the checkpoint",
        |st, slug| async move {
            let Some(cp) = st.log(&slug)?.latest_published() else {
                return Ok(());
            };
            blocking("timestamp", move || {
                logs::stamp_checkpoint(&st, &slug, cp.size, &cp.note).map(|_| ())
            })
            .await
        },
    )
    .await
}

/// Every `interval` (the checkpoint stamp interval), submits each tenant
/// log's latest checkpoint to the log's witnesses that have not cosigned
/// it yet (so at most one submission per witness per interval).
async fn witness_checkpoints(state: AppState, interval: Duration) {
    every_tenant(
        state,
        interval,
        "could not submit to witnesses",
        |st, slug| async move { witnesses::submit(&st, &slug).await },
    )
    .await
}

/// Every five minutes (and at start), deletes expired sessions, so none
/// piles up (a sign-in that was started and never finished stores nothing).
async fn sweep_sessions(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match trail::sweep_expired(&state, now_unix()).await {
            Ok(0) => {}
            Ok(sessions) => tracing::info!(sessions, "swept expired sessions"),
            Err(e) => tracing::warn!(error = %e, "could not sweep sessions"),
        }
    }
}

/// Every 5 seconds, logs the failed sign-ins gathered in windows that
/// have closed (`trail`): at most one entry per tenant and method a minute.
async fn flush_failed_sign_ins(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        trail::flush_failures(&state).await;
    }
}

/// Every minute, drops rate-limit state of addresses whose budgets are
/// full again, and used login states whose cookies have expired.
async fn prune_limits(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.limits().prune();
        state.oidc().prune(now_unix());
    }
}

/// Says at start which tenant logs are still signed with the platform's
/// shared key (created before each log had its own): docs/operations.md
/// says how to move each to its own key.
pub fn warn_platform_keyed_logs(state: &AppState) {
    let Ok(tenants) = state.tenants() else {
        return;
    };
    let shared: Vec<String> = tenants
        .into_iter()
        .filter(|t| matches!(log_keys::history(state.store(), &t.slug), Ok(h) if h.is_empty()))
        .map(|t| t.slug)
        .collect();
    if !shared.is_empty() {
        tracing::warn!(
            tenants = ?shared,
            "these logs are still signed with the platform's shared log key; move each to its own key with POST /api/v1/tenants/<t>/log/key/rotate (docs/operations.md)"
        );
    }
}
