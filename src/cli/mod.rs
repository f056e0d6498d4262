//! The command line: `serve`, `eval`, `test`, `approvals` (the reviewer client), `audit`
//! (offline tools over the audit trail: verify, checkpoints, export, show, replay) and
//! `bundle impact`, and `mcp` (the MCP gateway, see [`crate::mcp`]).

pub mod approvals;
pub mod audit;
pub mod audit_verify;
pub mod bundle;
mod bundle_release;

use std::{
    io::Read,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::{
    config::{Config, LogFormat, Overrides},
    domain::{decide, AuthzRequest, EvalFailure, InputLimits, PolicyOutcome},
    policy::{
        agreement, input::to_input, testing, Agreement, Bundle, CompiledBundle, EvalLimits,
        RequirementDefaults,
    },
};

/// tollgate: policy decisions with action-level human approvals.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC and HTTP servers.
    Serve(ServeArgs),
    /// Decide one request offline and show which rules fired.
    Eval(EvalArgs),
    /// Run a bundle's Rego unit tests (rules named test_*).
    Test(TestArgs),
    /// Review approval requests on a running server: list, show, approve, deny.
    Approvals(approvals::ApprovalsArgs),
    /// The audit trail, offline: verify, checkpoints, export, show a request, replay.
    #[command(subcommand)]
    Audit(Audit),
    /// Policy bundle tools: the impact of a candidate bundle on recorded decisions.
    Bundle(bundle::BundleArgs),
    /// An MCP gateway: serve an agent on stdio, decide every tool call before the upstream
    /// MCP server (a child process) sees it.
    Mcp(crate::mcp::McpArgs),
}

/// `tollgate audit ...`: offline, over the server's store.
#[derive(Debug, Subcommand)]
pub enum Audit {
    /// Walk the hash chain and the signed checkpoints; name the first bad record.
    Verify(audit_verify::VerifyArgs),
    /// Print the signed checkpoints (e.g. `--format jsonl` to anchor them elsewhere).
    Checkpoints(audit_verify::CheckpointsArgs),
    /// Stream records as JSON lines (seq, hash, prev_hash, event) to stdout.
    Export(audit::ExportArgs),
    /// Every event of one request: decision, approval, reviews, capability, redemption.
    Show(audit::ShowArgs),
    /// Evaluate a recorded decision again with the bundle revision that made it; exit 0 if
    /// reproduced, 1 if not, 2 if it cannot be replayed.
    Replay(audit::ReplayArgs),
}

impl Audit {
    /// Runs the subcommand.
    pub async fn run(&self) -> anyhow::Result<ExitCode> {
        match self {
            Self::Verify(args) => audit_verify::verify(args).await,
            Self::Checkpoints(args) => audit_verify::checkpoints(args).await,
            Self::Export(args) => audit::export(args).await,
            Self::Show(args) => audit::show(args).await,
            Self::Replay(args) => audit::replay(args).await,
        }
    }
}

/// `tollgate serve`: every flag also reads a `TOLLGATE_*` variable and overrides the file.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// YAML configuration file (optional; defaults run out of the box).
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:50051].
    #[arg(long, env = "TOLLGATE_GRPC_ADDR")]
    pub grpc_addr: Option<SocketAddr>,
    /// HTTP listen address [default: 127.0.0.1:8181].
    #[arg(long, env = "TOLLGATE_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// State directory [default: ./tollgate-data].
    #[arg(long, env = "TOLLGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Policy bundle directory or .tar.gz [default: policies].
    #[arg(long, env = "TOLLGATE_BUNDLE")]
    pub bundle: Option<PathBuf>,
    /// Log filter, e.g. info or tollgate=debug [default: info].
    #[arg(long, env = "TOLLGATE_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log format [default: pretty].
    #[arg(long, env = "TOLLGATE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// PostgreSQL URL for state shared by replicas [default: SQLite in the data dir].
    #[arg(long, env = "TOLLGATE_STORE_URL")]
    pub store_url: Option<String>,
    /// OTLP/gRPC collector for spans, e.g. http://127.0.0.1:4317 [default: no export].
    #[arg(long, env = "TOLLGATE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Record the audit trail (false records NOTHING; benchmarks only) [default: true].
    #[arg(long, env = "TOLLGATE_AUDIT_ENABLED")]
    pub audit_enabled: Option<bool>,
    /// Audit checkpoint key (PASERK) [default: data_dir/audit-ed25519.paserk].
    #[arg(long, env = "TOLLGATE_AUDIT_KEY_FILE")]
    pub audit_key_file: Option<PathBuf>,
    /// When an answer's commit reaches the disk: power (fsync first) or process (survives
    /// kill -9, not power loss) [default: power].
    #[arg(long, env = "TOLLGATE_AUDIT_DURABILITY")]
    pub audit_durability: Option<crate::store::Durability>,
}

impl ServeArgs {
    /// The effective configuration.
    pub fn config(&self) -> Result<Config, crate::config::ConfigError> {
        let Self {
            config,
            grpc_addr,
            http_addr,
            data_dir,
            bundle,
            log_level,
            log_format,
            store_url,
            otlp_endpoint,
            audit_enabled,
            audit_key_file,
            audit_durability,
        } = self;
        Config::load(
            config.as_deref(),
            Overrides {
                grpc_addr: *grpc_addr,
                http_addr: *http_addr,
                data_dir: data_dir.clone(),
                bundle: bundle.clone(),
                log_level: log_level.clone(),
                log_format: *log_format,
                store_url: store_url.clone(),
                otlp_endpoint: otlp_endpoint.clone(),
                audit_enabled: *audit_enabled,
                audit_key_file: audit_key_file.clone(),
                audit_durability: *audit_durability,
            },
        )
    }
}

/// Which evaluator `eval` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// What the server serves: the register VM, or the tree interpreter for a bundle the VM
    /// compiler refuses (the output's `engine` says which).
    Vm,
    /// The tree interpreter (the reference).
    Interpreter,
    /// Both; exits 1 if they disagree (different outcomes, different failure kinds, or the
    /// VM failing where the interpreter does not).
    Both,
}

/// `tollgate eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The request as JSON (the policy input shape); `-` reads stdin.
    #[arg(long)]
    pub input: PathBuf,
    /// Policy bundle directory or .tar.gz.
    #[arg(long, env = "TOLLGATE_BUNDLE", default_value = "policies")]
    pub bundle: PathBuf,
    /// Evaluator.
    #[arg(long, value_enum, default_value_t = EngineChoice::Vm)]
    pub engine: EngineChoice,
}

/// `tollgate test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Policy bundle directory or .tar.gz.
    #[arg(default_value = "policies")]
    pub bundle: PathBuf,
    /// Only tests whose name contains this.
    #[arg(long)]
    pub run: Option<String>,
    /// Print passing tests too.
    #[arg(short, long)]
    pub verbose: bool,
}

fn compile(path: &Path) -> anyhow::Result<CompiledBundle> {
    let bundle = Bundle::load(path).with_context(|| format!("loading {}", path.display()))?;
    CompiledBundle::compile(
        &bundle,
        EvalLimits::default(),
        RequirementDefaults::default(),
    )
    .with_context(|| format!("compiling {}", path.display()))
}

/// `tollgate eval`: prints the decision and what each contract rule produced, as JSON.
pub fn eval(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let text = if args.input.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.input)
            .with_context(|| format!("reading {}", args.input.display()))?
    };
    let req: AuthzRequest = serde_json::from_str(&text).context("parsing the input request")?;
    if let Err(f) = req.validate(&InputLimits::default()) {
        eprintln!("invalid request: {f}");
        return Ok(ExitCode::from(2));
    }
    let bundle = compile(&args.bundle)?;
    let input = to_input(&req);
    let (outcome, agree) = match args.engine {
        EngineChoice::Vm => (bundle.evaluate(input), true),
        EngineChoice::Interpreter => (bundle.evaluate_interpreted(input), true),
        EngineChoice::Both => {
            let vm = bundle.evaluate(input.clone());
            let interp = bundle.evaluate_interpreted(input);
            let agree = agreement(&vm, &interp) == Agreement::Same;
            (vm, agree)
        }
    };
    let rules = rules_json(&outcome);
    let verdict = decide(outcome);
    let out = json!({
        "effect": verdict.effect,
        "reasons": verdict.reasons,
        "risk": verdict.risk,
        "requirements": verdict.requirements,
        "obligations": verdict.obligations,
        "bundle_revision": &*bundle.revision,
        "engine": bundle.serving_engine().as_str(),
        "engine_reason": bundle.serving_engine().vm_refusal(),
        "rules": rules,
        "engines_agree": agree,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn rules_json(outcome: &Result<PolicyOutcome, EvalFailure>) -> serde_json::Value {
    match outcome {
        Ok(o) => serde_json::to_value(o).unwrap_or_default(),
        Err(f) => json!({ "error": f }),
    }
}

/// `tollgate test`: runs the bundle's `test_*` rules; non-zero exit if any fails.
pub fn test(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let bundle = compile(&args.bundle)?;
    let results = testing::run_tests(&bundle, args.run.as_deref());
    let failed = results.iter().filter(|r| r.outcome.is_err()).count();
    for r in &results {
        match &r.outcome {
            Ok(()) if args.verbose => println!("PASS {} ({:?})", r.name, r.elapsed),
            Ok(()) => {}
            Err(why) => println!("FAIL {}: {why}", r.name),
        }
    }
    println!(
        "{} passed, {} failed (bundle {} revision {})",
        results.len() - failed,
        failed,
        args.bundle.display(),
        bundle.revision
    );
    if results.is_empty() {
        println!("no test_* rules found");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
