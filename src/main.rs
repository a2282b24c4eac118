//! The `evident` binary: parse the command line, set up tracing, run.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use evident::cli::{Cli, Cmd, DebugCmd, LogCmd, LogFormat};

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EVIDENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only on a terminal, so redirected logs stay plain text.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().init(),
        LogFormat::Text => b.init(),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.cmd {
        Cmd::Serve(args) => {
            let cfg = args.resolve()?;
            init_tracing(cfg.log_format);
            rt.block_on(async {
                let started = evident::server::open(
                    &cfg.data_dir,
                    std::env::var("EVIDENT_MASTER_KEY").ok().as_deref(),
                    &cfg.public_host,
                    evident_log::StoreOptions {
                        checkpoint_interval: cfg.checkpoint_interval,
                        ..Default::default()
                    },
                )?;
                tracing::info!(master_key = ?started.master_key, data_dir = %cfg.data_dir.display(), "opened");
                let mut state = started
                    .state
                    .with_push_body_limit(cfg.max_push_bytes)
                    .with_web(cfg.public_url.clone(), cfg.secure_cookies)
                    .with_http_idp_on_loopback(cfg.allow_http_idp_on_loopback)
                    .with_metrics_token(cfg.metrics_token.clone())
                    .with_limits(cfg.limits)
                    .with_model_cache_bytes(cfg.model_cache_bytes);
                if let Some((url, ca_file)) = &cfg.external_tsa {
                    let ca = std::fs::read(ca_file).with_context(|| {
                        format!("reading the TSA CA bundle {}", ca_file.display())
                    })?;
                    let ext = evident::timestamps::ExternalTsa::new(url, &ca, cfg.tsa_timeout)
                        .with_context(|| format!("the external TSA {url}"))?;
                    state = state.with_external_tsa(ext);
                    tracing::info!(tsa = %url, "timestamps come from the external TSA; the built-in TSA is off");
                }
                if let Some(t) = &started.operator_token {
                    // Shown exactly once, on the first start of a data directory.
                    println!("EVIDENT_OPERATOR_TOKEN={t}");
                    eprintln!(
                        "First start: the operator token above is shown only now. Keep it; it creates tenants."
                    );
                }
                if cfg.demo {
                    if let Some(d) = evident::demo::seed(&state).await? {
                        println!("EVIDENT_DEMO_ADMIN_TOKEN={}", d.admin_token);
                        eprintln!(
                            "Demo: tenant '{}' with release {}. Its admin token above is shown only now.",
                            evident::demo::TENANT, d.release
                        );
                    }
                }
                evident::server::serve(
                    state,
                    cfg.listen,
                    cfg.checkpoint_stamp_interval,
                    cfg.metrics_listen,
                )
                .await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Log(LogCmd::Audit { data_dir, tenant }) => {
            init_tracing(LogFormat::Text);
            let clean = rt.block_on(evident::ops::audit(&data_dir, tenant.as_deref()))?;
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Push(args) => match evident::push::run(&args) {
            Ok(line) => {
                println!("{line}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("evident push: {e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
        Cmd::Bench(evident::cli::BenchCmd::Sbom(args)) => {
            init_tracing(LogFormat::Text);
            rt.block_on(evident::bench::sbom_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(evident::cli::BenchCmd::Log(args)) => {
            init_tracing(LogFormat::Text);
            rt.block_on(evident::bench::log_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Debug(DebugCmd::CrashWriter { data_dir, writers }) => {
            rt.block_on(evident::ops::crash_writer(&data_dir, writers))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("evident: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
