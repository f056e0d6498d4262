//! The `tollgate` binary: parse the command line, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use tollgate::{
    app,
    cli::{self, Cli, Command},
    telemetry,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(&args),
        Command::Eval(args) => cli::eval(&args),
        Command::Test(args) => cli::test(&args),
        Command::Approvals(args) => approvals(&args),
        Command::Audit(cmd) => offline(cmd.run()),
        Command::Bundle(args) => offline(cli::bundle::run(&args)),
        Command::Mcp(args) => mcp(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Telemetry starts inside the runtime (the OTLP exporter runs on it) and is flushed
/// after the servers drain, so the last calls' spans are exported too.
fn serve(args: &cli::ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let telemetry = telemetry::init(&config.log, &config.telemetry)?;
        let served = app::serve(config).await;
        telemetry.shutdown().await;
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The reviewer client needs a runtime for its one RPC; a single thread is plenty.
fn approvals(args: &cli::approvals::ApprovalsArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(cli::approvals::run(args)))
}

/// The offline tools (`audit`, `bundle`) read the store; one thread is plenty.
fn offline(
    work: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(work)
}

/// The MCP gateway: stdout is the MCP channel, so logs go to stderr (`RUST_LOG`, default
/// `info`).
fn mcp(args: &tollgate::mcp::McpArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(tollgate::mcp::run(args))?;
    Ok(ExitCode::SUCCESS)
}
