//! `evident serve`: builds the server from its resolved settings, prints
//! the one-time tokens, seeds the demo, and serves.

use anyhow::Context;

use crate::{
    app::{self, Builder},
    cli::{demo, ServeConfig},
    service::timestamps::ExternalTsa,
};

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(cfg: ServeConfig) -> anyhow::Result<()> {
    let mut b = Builder::new(&cfg.data_dir)
        .master_key_env(std::env::var("EVIDENT_MASTER_KEY").ok())
        .public_host(&cfg.public_host)
        .store_options(evident_log::StoreOptions {
            checkpoint_interval: cfg.checkpoint_interval,
            ..Default::default()
        })
        .push_body_limit(cfg.max_push_bytes)
        .web(cfg.public_url.clone(), cfg.secure_cookies)
        .http_idp_on_loopback(cfg.allow_http_idp_on_loopback)
        .metrics_token(cfg.metrics_token.clone())
        .limits(cfg.limits)
        .model_cache_bytes(cfg.model_cache_bytes);
    if let Some((url, ca_file)) = &cfg.external_tsa {
        let ca = std::fs::read(ca_file)
            .with_context(|| format!("reading the TSA CA bundle {}", ca_file.display()))?;
        let ext = ExternalTsa::new(url, &ca, cfg.tsa_timeout)
            .with_context(|| format!("the external TSA {url}"))?;
        b = b.external_tsa(ext);
        tracing::info!(tsa = %url, "timestamps come from the external TSA; the built-in TSA is off");
    }
    let started = b.open()?;
    tracing::info!(master_key = ?started.master_key, data_dir = %cfg.data_dir.display(), "opened");
    if let Some(t) = &started.operator_token {
        // Shown exactly once, on the first start of a data directory.
        println!("EVIDENT_OPERATOR_TOKEN={t}");
        eprintln!(
            "First start: the operator token above is shown only now. Keep it; it creates tenants."
        );
    }
    let state = started.state;
    if cfg.demo {
        if let Some(d) = demo::seed(&state).await? {
            println!("EVIDENT_DEMO_ADMIN_TOKEN={}", d.admin_token);
            eprintln!(
                "Demo: tenant '{}' with release {}. Its admin token above is shown only now.",
                demo::TENANT,
                d.release
            );
        }
    }
    app::serve(
        state,
        cfg.listen,
        cfg.checkpoint_stamp_interval,
        cfg.metrics_listen,
    )
    .await
}
