//! How well evaluation limits hold: each expensive construct of
//! `tests/golden/bundles/expensive` runs once per engine under a 100 ms / 64 MiB budget, each
//! in a fresh process, and the run prints how long it took to deny and how far the process's
//! resident memory rose above where it was before the evaluation (peak RSS).
//!
//! Then a real server (the integration tests' harness, port 0) over the same bundle: cheap
//! reads alone, then the same reads while four clients keep sending budget-blowing requests,
//! with the audit trail on (every answer durable first) and off. It prints the cheap reads'
//! latency both ways and how long the expensive answers took.
//!
//! Run: `cargo bench --bench eval_limits` (numbers, not assertions: a shared machine is noisy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The integration tests' harness: the same server on port 0 and helpers.
#[path = "../tests/it/common.rs"]
mod common;

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tollgate::{
    domain::{AuthzRequest, EvalFailure, PolicyOutcome},
    grpc::pb::{self, Effect},
    policy::{input::to_input, Bundle, CompiledBundle, EvalLimits, RequirementDefaults},
};

/// Budget-blowing clients during the burst.
const EXPENSIVE: usize = 4;
/// How long the burst lasts.
const BURST: Duration = Duration::from_secs(5);

/// (mode, n): n is chosen so that the input range itself fits the 64 MiB budget (24 bytes a
/// number) and the work on it does not, except `range` and `range_huge`, whose range does not.
const CASES: &[(&str, u64)] = &[
    ("cheap", 0),
    ("range", 20_000_000),
    ("range_huge", 1_000_000_000_000),
    ("comprehension", 2_000_000),
    ("concat", 1_000_000),
    ("array_concat", 1_500_000),
    ("marshal", 2_500_000),
    ("sprintf", 2_000_000),
    ("set", 1_000_000),
    ("nested", 3_000),
    ("loops", 30_000),
];

fn kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn request(mode: &str, n: u64) -> AuthzRequest {
    serde_json::from_value(serde_json::json!({
        "subject": {"id": "agent:probe", "kind": "agent", "owner": "team:qa"},
        "action": {"name": "probe.run"},
        "resource": {"type": "probe", "id": "p-1"},
        "context": {"environment": "dev", "intent": "limits bench",
                    "attributes": {"mode": mode, "n": n}},
    }))
    .unwrap()
}

fn outcome(r: &Result<PolicyOutcome, EvalFailure>) -> String {
    match r {
        Ok(o) if o.allow => "completed (allow)".into(),
        Ok(_) => "completed (deny)".into(),
        Err(f) => format!(
            "{:?}: {}",
            f.kind,
            f.message.chars().take(60).collect::<String>()
        ),
    }
}

fn compiled() -> CompiledBundle {
    let limits = EvalLimits {
        timeout: Duration::from_millis(100),
        max_memory_bytes: 64 * 1024 * 1024,
        ..EvalLimits::default()
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/bundles/expensive");
    let bundle = Bundle::load(&path).unwrap();
    CompiledBundle::compile(&bundle, limits, RequirementDefaults::default()).unwrap()
}

/// One case in this (fresh) process: prints `ms<TAB>peak RSS growth MiB<TAB>outcome`.
fn run_case(mode: &str, n: u64, engine: &str) {
    let compiled = compiled();
    let input = to_input(&request(mode, n));
    // Warm the worker's engine on a cheap input, so the measurement is the evaluation's own.
    let cheap = to_input(&request("cheap", 0));
    let warm = match engine {
        "vm" => compiled.evaluate_vm(cheap),
        _ => compiled.evaluate_interpreter_local(cheap),
    };
    assert!(warm.is_ok_and(|o| o.allow));
    let before = kib("VmRSS:");
    let started = Instant::now();
    let result = match engine {
        "vm" => compiled.evaluate_vm(input),
        _ => compiled.evaluate_interpreter_local(input),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let grew = kib("VmHWM:").saturating_sub(before) as f64 / 1024.0;
    println!("{ms:.1}\t{grew:.1}\t{}", outcome(&result));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Test runners (`cargo nextest run --all-targets`) ask every target for its tests: this
    // bench has none to offer.
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let [_, flag, mode, n, engine] = args.as_slice() {
        if flag == "--case" {
            return run_case(mode, n.parse().unwrap(), engine);
        }
    }
    println!(
        "limits: 100 ms / 64 MiB / {} instructions",
        EvalLimits::default().max_instructions
    );
    println!(
        "{:<14} {:>10} {:<12} {:>10} {:>14}  outcome",
        "case", "n", "engine", "ms", "peak RSS +MiB"
    );
    let me = std::env::current_exe().unwrap();
    for (mode, n) in CASES {
        for engine in ["vm", "interpreter"] {
            let out = std::process::Command::new(&me)
                .args(["--case", mode, &n.to_string(), engine])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let crashed = format!("process died: {}", out.status);
            let mut fields = text.trim().splitn(3, '\t');
            let (ms, mib, what) = (
                fields.next().filter(|f| !f.is_empty()).unwrap_or("-"),
                fields.next().unwrap_or("-"),
                fields.next().unwrap_or(&crashed),
            );
            println!("{mode:<14} {n:>10} {engine:<12} {ms:>10} {mib:>14}  {what}");
        }
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for audit in [true, false] {
        runtime.block_on(burst(audit));
    }
}

fn probe(mode: &str, n: u64) -> pb::AuthorizeRequest {
    let mut req = common::request("probe.run", "probe");
    req.context = Some(pb::Context {
        environment: "dev".into(),
        intent: "limits bench".into(),
        attributes: common::strukt(serde_json::json!({ "mode": mode, "n": n })),
        ..Default::default()
    });
    req
}

fn summary(mut took: Vec<Duration>) -> String {
    took.sort();
    let at = |p: f64| took[((took.len() - 1) as f64 * p).round() as usize];
    format!(
        "n={:>6} p50={:>9.3?} p99={:>9.3?} p99.9={:>9.3?} max={:>9.3?}",
        took.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        took[took.len() - 1]
    )
}

/// Cheap reads alone, then beside EXPENSIVE clients sending budget-blowing requests.
async fn burst(audit: bool) {
    let server = common::start(
        |b| common::copy_dir(&common::repo().join("tests/golden/bundles/expensive"), b),
        |c| {
            c.audit.enabled = audit;
            c.limits.timeout = Duration::from_millis(100);
            c.limits.max_memory_bytes = 64 * 1024 * 1024;
            c.limits.max_instructions = usize::MAX;
        },
    )
    .await;
    let client = server.authorizer();
    let read = || {
        let mut client = client.clone();
        async move {
            let started = Instant::now();
            let answer = client
                .authorize(probe("cheap", 0))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(answer.effect(), Effect::Allow, "{answer:?}");
            started.elapsed()
        }
    };
    let mut alone = Vec::new();
    let until = Instant::now() + BURST;
    while Instant::now() < until {
        alone.push(read().await);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..EXPENSIVE)
        .map(|i| {
            let mut client = server.authorizer();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut took = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let req = if i % 2 == 0 {
                        probe("loops", 30_000)
                    } else {
                        probe("comprehension", 2_000_000)
                    };
                    let started = Instant::now();
                    let answer = client.authorize(req).await.unwrap().into_inner();
                    assert_eq!(answer.effect(), Effect::Deny);
                    took.push(started.elapsed());
                }
                took
            })
        })
        .collect();
    let mut beside = Vec::new();
    let until = Instant::now() + BURST;
    while Instant::now() < until {
        beside.push(read().await);
    }
    stop.store(true, Ordering::Relaxed);
    let mut expensive = Vec::new();
    for c in clients {
        expensive.extend(c.await.unwrap());
    }
    println!("\nreal server, audit {}:", if audit { "on" } else { "off" });
    println!("  cheap reads alone:                 {}", summary(alone));
    println!(
        "  cheap reads beside {EXPENSIVE} expensive:     {}",
        summary(beside)
    );
    println!(
        "  expensive answers (all DENY):      {}",
        summary(expensive)
    );
    server.stop().await;
}
