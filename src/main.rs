//! The `evident` binary: parse the command line, set up tracing, run.

use std::process::ExitCode;

use clap::Parser;
use evident::cli::{Cli, Cmd, DebugCmd, LogCmd, LogFormat};

/// jemalloc for the whole process: Rust's allocations, and (through the
/// crate's unprefixed `malloc`) RocksDB's. Under glibc's allocator, memory
/// outside RocksDB's bounded cache kept rising under a steady load (its
/// per-thread arenas hold on to freed blocks); jemalloc returns unused
/// pages after its decay time. docs/performance.md, soak.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
            rt.block_on(evident::cli::serve::run(cfg))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Log(LogCmd::Audit { data_dir, tenant }) => {
            init_tracing(LogFormat::Text);
            let clean = rt.block_on(evident::cli::ops::audit(&data_dir, tenant.as_deref()))?;
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::CoverNote(evident::cli::CoverNoteCmd::Sign(args)) => {
            match evident::cli::cover_note::run(&args) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e) => {
                    eprintln!("evident cover-note sign: {e:#}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Cmd::Share(args) => match evident::cli::share::run(&args) {
            Ok(out) => {
                println!("{out}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("evident share: {e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
        Cmd::Push(args) => match evident::cli::push::run(&args) {
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
            rt.block_on(evident::cli::bench::sbom_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(evident::cli::BenchCmd::Bundle(args)) => {
            init_tracing(LogFormat::Text);
            rt.block_on(evident::cli::bundle_bench::bundle_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(evident::cli::BenchCmd::Vex(args)) => {
            init_tracing(LogFormat::Text);
            rt.block_on(evident::cli::bench::vex_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(evident::cli::BenchCmd::Search(args)) => {
            init_tracing(LogFormat::Text);
            rt.block_on(evident::cli::search_bench::search_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(evident::cli::BenchCmd::Audit(args)) => {
            init_tracing(LogFormat::Text);
            rt.block_on(evident::cli::audit_bench::audit_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(evident::cli::BenchCmd::Log(args)) => {
            init_tracing(LogFormat::Text);
            rt.block_on(evident::cli::bench::log_bench(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Debug(DebugCmd::CrashWriter { data_dir, writers }) => {
            rt.block_on(evident::cli::ops::crash_writer(&data_dir, writers))?;
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
