//! Bounded evaluation against a real server: four budget-blowing requests at once, over and
//! over, beside a stream of cheap reads. The expensive ones deny with the limit stated and
//! are counted with the rule that blew them; every cheap read is answered ALLOW. The cheap
//! reads' latency is printed (run with `--no-capture`), not asserted: speed is measured, not
//! tested (`benches/eval_limits.rs` has the release numbers).

use std::time::{Duration, Instant};

use crate::common::*;
use tollgate::grpc::pb::{self, Effect};

const EXPENSIVE: usize = 4;
const ROUNDS: usize = 3;

fn probe(mode: &str, n: u64) -> pb::AuthorizeRequest {
    let mut req = request("probe.run", "probe");
    req.context = Some(pb::Context {
        environment: "dev".into(),
        intent: "bounded evaluation test".into(),
        attributes: strukt(serde_json::json!({ "mode": mode, "n": n })),
        ..Default::default()
    });
    req
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_blowing_requests_deny_and_cheap_reads_keep_being_answered() {
    let server = start(
        |b| copy_dir(&repo().join("tests/golden/bundles/expensive"), b),
        |c| {
            c.limits.timeout = Duration::from_millis(100);
            c.limits.max_memory_bytes = 64 * 1024 * 1024;
            // Let the time budget, not the VM's instruction count, stop the loops.
            c.limits.max_instructions = usize::MAX;
        },
    )
    .await;

    // The same reads with nothing else running, for comparison.
    let mut client = server.authorizer();
    let mut alone = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let answer = client
            .authorize(probe("cheap", 0))
            .await
            .unwrap()
            .into_inner();
        alone.push(started.elapsed());
        assert_eq!(answer.effect(), Effect::Allow, "{answer:?}");
    }

    let expensive: Vec<_> = (0..EXPENSIVE)
        .map(|i| {
            let mut client = server.authorizer();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..ROUNDS {
                    // Alternate a CPU-bound and an allocating rule.
                    let req = if i % 2 == 0 {
                        probe("loops", 30_000)
                    } else {
                        probe("comprehension", 2_000_000)
                    };
                    let started = Instant::now();
                    let answer = client.authorize(req).await.unwrap().into_inner();
                    answers.push((answer, started.elapsed()));
                }
                answers
            })
        })
        .collect();

    let mut cheap = Vec::new();
    while !expensive.iter().all(|t| t.is_finished()) {
        let started = Instant::now();
        let answer = client
            .authorize(probe("cheap", 0))
            .await
            .unwrap()
            .into_inner();
        cheap.push(started.elapsed());
        assert_eq!(answer.effect(), Effect::Allow, "{answer:?}");
    }

    let mut slowest_expensive = Duration::ZERO;
    for task in expensive {
        for (answer, took) in task.await.unwrap() {
            assert_eq!(answer.effect(), Effect::Deny, "{answer:?}");
            assert!(
                answer
                    .reasons
                    .iter()
                    .any(|r| r.starts_with("policy evaluation limit exceeded")),
                "{answer:?}"
            );
            slowest_expensive = slowest_expensive.max(took);
        }
    }

    // Every expensive answer is counted: by the rule that blew its budget, or (rule "") as
    // not admitted to a worker in time while the others held every worker.
    let (_, metrics) = http_get(server.running.http_addr, "/metrics").await;
    let series: Vec<(&str, f64)> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("tollgate_evaluation_limits_exceeded_total{"))
        .filter_map(|l| {
            let (labels, value) = l.rsplit_once("} ")?;
            Some((labels, value.parse().ok()?))
        })
        .collect();
    let total: f64 = series.iter().map(|(_, v)| v).sum();
    assert_eq!(total, (EXPENSIVE * ROUNDS) as f64, "{metrics}");
    for (labels, _) in &series {
        let by_rule = labels.ends_with(r#"rule="data.tollgate.expensive_failed""#);
        let not_admitted = labels.starts_with(r#"limit="admission""#);
        assert!(by_rule || not_admitted, "{labels}");
    }
    assert!(
        series.iter().any(|(l, _)| l.contains("expensive_failed")),
        "{metrics}"
    );

    cheap.sort();
    alone.sort();
    println!(
        "cheap reads alone: p50={:?} max={:?}; beside {EXPENSIVE} budget-blowing evaluations: \
         n={} p50={:?} p99={:?} max={:?}; slowest expensive answer {:?} (budget 100 ms)",
        percentile(&alone, 0.5),
        alone.last().copied().unwrap_or_default(),
        cheap.len(),
        percentile(&cheap, 0.5),
        percentile(&cheap, 0.99),
        cheap.last().copied().unwrap_or_default(),
        slowest_expensive
    );
    assert!(!cheap.is_empty());
    server.stop().await;
}
