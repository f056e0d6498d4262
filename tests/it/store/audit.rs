//! The audit half of the suite: the chain, reads, checkpoints, and state changes that commit
//! together with their records (or not at all).

use std::{collections::HashSet, sync::Arc};

use serde_json::json;
use tollgate::domain::{
    link, ApprovalState, AuditEvent, AuditFilter, AuditKind, AuditRecord, CapabilityState,
    Checkpoint, RedeemOutcome, ReviewOutcome, ReviewVerdict, UnixMillis, GENESIS_HASH,
};
use tollgate::store::Batch;

use super::{Db, DbWrites as _};

use super::{capability, create, new_approval, review, state_at};

/// An event of `kind` about `subject` doing `action`, at `at`.
pub(crate) fn event(kind: AuditKind, subject: &str, action: &str, at: i64) -> AuditEvent {
    let mut e = AuditEvent::new(kind, UnixMillis(at), subject);
    e.subject_id = subject.into();
    e.action = action.into();
    e.resource_type = "dataset".into();
    e.resource_id = format!("{action}-target");
    e.effect = if kind == AuditKind::Decision {
        "ALLOW".into()
    } else {
        String::new()
    };
    e.reasons = vec![format!("because {at}")];
    e.decision_id = uuid::Uuid::now_v7().to_string();
    e.bundle_revision = "rev-1".into();
    e.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
    e.input = json!({"subject": {"id": subject}, "action": {"name": action, "params": {"n": at}}});
    e.detail = json!({"bundle_digest": "sha256:abc", "masked": []});
    e
}

/// Every record from 1 to the head, checked link by link against `link()`; returns them.
pub(crate) async fn whole_chain(store: &Arc<dyn Db>) -> Vec<AuditRecord> {
    let (head_seq, head_hash) = store.head().await.unwrap();
    let mut all = Vec::new();
    loop {
        let from = all.last().map_or(1, |r: &AuditRecord| r.seq + 1);
        let page = store.range(from, 64).await.unwrap();
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    let mut prev = GENESIS_HASH.to_string();
    for (expected_seq, r) in (1..).zip(&all) {
        assert_eq!(r.seq, expected_seq, "gap or reorder before seq {}", r.seq);
        assert_eq!(r.prev_hash, prev, "seq {}", r.seq);
        assert_eq!(r.hash, link(&prev, &r.body), "seq {}", r.seq);
        assert_eq!(r.body, r.event.canonical().unwrap(), "seq {}", r.seq);
        prev = r.hash.clone();
    }
    assert_eq!(head_seq, all.len() as i64);
    assert_eq!(head_hash, prev);
    all
}

pub(crate) async fn append_chains_and_reads_back(store: Arc<dyn Db>) {
    assert_eq!(store.head().await.unwrap(), (0, GENESIS_HASH.to_string()));
    assert!(store.append_audit(&[]).await.unwrap().is_empty());
    let first: Vec<_> = (0..3)
        .map(|i| event(AuditKind::Decision, "agent:a", "data.export", 1_000 + i))
        .collect();
    let written = store.append_audit(&first).await.unwrap();
    assert_eq!(written.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let second = vec![event(
        AuditKind::CapabilityRefused,
        "agent:b",
        "db.drop",
        2_000,
    )];
    let more = store.append_audit(&second).await.unwrap();
    assert_eq!((more[0].seq, &more[0].prev_hash), (4, &written[2].hash));

    let all = whole_chain(&store).await;
    let events: Vec<_> = all.iter().map(|r| r.event.clone()).collect();
    assert_eq!(
        events,
        [first, second].concat(),
        "read back exactly as written"
    );
    assert_eq!(all[..3], written[..]);

    let middle = store.range(2, 2).await.unwrap();
    assert_eq!(middle.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    assert!(store.range(5, 10).await.unwrap().is_empty());
}

pub(crate) async fn query_filters_and_pages(store: Arc<dyn Db>) {
    let mut events = Vec::new();
    for i in 0..6 {
        let (subject, action) = if i % 2 == 0 {
            ("agent:a", "data.export")
        } else {
            ("agent:b", "iam.widen")
        };
        let mut e = event(AuditKind::Decision, subject, action, 1_000 * (i + 1));
        e.effect = if i < 3 { "ALLOW".into() } else { "DENY".into() };
        events.push(e);
    }
    let mut reviewed = event(AuditKind::ApprovalReviewed, "agent:a", "data.export", 7_000);
    reviewed.approval_id = "appr-1".into();
    reviewed.decision_id = events[0].decision_id.clone();
    events.push(reviewed);
    store.append_audit(&events).await.unwrap();

    let seqs = |records: Vec<AuditRecord>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
    let q = |f: AuditFilter| {
        let store = store.clone();
        async move { seqs(store.query(&f, 0, 100).await.unwrap()) }
    };
    assert_eq!(q(AuditFilter::default()).await, [1, 2, 3, 4, 5, 6, 7]);
    let by_subject = AuditFilter {
        subject_id: Some("agent:b".into()),
        ..Default::default()
    };
    assert_eq!(q(by_subject).await, [2, 4, 6]);
    let by_action = AuditFilter {
        action: Some("data.export".into()),
        ..Default::default()
    };
    assert_eq!(q(by_action).await, [1, 3, 5, 7]);
    let resource = AuditFilter {
        resource_type: Some("dataset".into()),
        resource_id: Some("iam.widen-target".into()),
        ..Default::default()
    };
    assert_eq!(q(resource).await, [2, 4, 6]);
    let denied = AuditFilter {
        effect: Some("DENY".into()),
        ..Default::default()
    };
    assert_eq!(q(denied).await, [4, 5, 6]);
    let approval = AuditFilter {
        approval_id: Some("appr-1".into()),
        ..Default::default()
    };
    assert_eq!(q(approval).await, [7]);
    let decision = AuditFilter {
        decision_id: Some(events[0].decision_id.clone()),
        ..Default::default()
    };
    assert_eq!(q(decision).await, [1, 7]);
    let kind = AuditFilter {
        kind: Some(AuditKind::ApprovalReviewed),
        ..Default::default()
    };
    assert_eq!(q(kind).await, [7]);
    let window = AuditFilter {
        since: Some(UnixMillis(2_000)),
        until: Some(UnixMillis(4_000)),
        ..Default::default()
    };
    assert_eq!(q(window).await, [2, 3], "since inclusive, until exclusive");
    let both = AuditFilter {
        subject_id: Some("agent:a".into()),
        effect: Some("DENY".into()),
        ..Default::default()
    };
    assert_eq!(q(both).await, [5], "filters AND");

    let page1 = store.query(&AuditFilter::default(), 0, 3).await.unwrap();
    let page2 = store
        .query(&AuditFilter::default(), page1[2].seq, 3)
        .await
        .unwrap();
    assert_eq!((seqs(page1), seqs(page2)), (vec![1, 2, 3], vec![4, 5, 6]));
}

/// Every filter, and every page of it, answers what the chain holds: the same records, in seq
/// order, none twice. The log is long enough that SQLite's `audit_index` holds part of it
/// (filled past each multiple of 64) and the query reads the rest from the log; the appends'
/// sizes put the index's end at odd places. Times are out of order, as records committed
/// after others they were decided before are.
pub(crate) async fn query_answers_what_the_chain_holds(store: Arc<dyn Db>) {
    let subjects = ["agent:a", "agent:b", "agent:c"];
    let actions = ["data.export", "iam.widen"];
    let mut decisions: Vec<String> = Vec::new();
    let mut n = 0_i64;
    for size in [1, 2, 5, 13, 63, 1, 40, 7, 70, 3] {
        let events: Vec<_> = (n..n + size)
            .map(|i| {
                let kind = if i % 5 == 4 {
                    AuditKind::ApprovalReviewed
                } else {
                    AuditKind::Decision
                };
                let at = 10_000 + (i * 37) % 200;
                let u = usize::try_from(i).unwrap();
                let mut e = event(kind, subjects[u % 3], actions[u % 2], at);
                e.resource_id = format!("r{}", i % 4);
                e.effect = if i % 4 == 0 { "DENY" } else { "ALLOW" }.into();
                if kind == AuditKind::ApprovalReviewed {
                    e.approval_id = format!("appr-{}", i % 2);
                    e.decision_id = decisions[u / 2 % decisions.len()].clone();
                }
                e
            })
            .collect();
        decisions.extend(events.iter().map(|e| e.decision_id.clone()));
        store.append_audit(&events).await.unwrap();
        n += size;
    }
    let all = whole_chain(&store).await;
    assert_eq!(all.len() as i64, n);

    let mut filters = vec![AuditFilter::default()];
    for subject in subjects {
        filters.push(AuditFilter {
            subject_id: Some(subject.into()),
            ..Default::default()
        });
        filters.push(AuditFilter {
            subject_id: Some(subject.into()),
            effect: Some("DENY".into()),
            ..Default::default()
        });
    }
    for action in actions {
        filters.push(AuditFilter {
            action: Some(action.into()),
            kind: Some(AuditKind::Decision),
            ..Default::default()
        });
    }
    filters.push(AuditFilter {
        resource_type: Some("dataset".into()),
        ..Default::default()
    });
    filters.push(AuditFilter {
        resource_type: Some("dataset".into()),
        resource_id: Some("r3".into()),
        ..Default::default()
    });
    for approval in ["appr-0", "appr-1", ""] {
        filters.push(AuditFilter {
            approval_id: Some(approval.into()),
            ..Default::default()
        });
    }
    for decision in [&decisions[0], &decisions[100], &decisions[200]] {
        filters.push(AuditFilter {
            decision_id: Some(decision.clone()),
            ..Default::default()
        });
    }
    filters.push(AuditFilter {
        since: Some(UnixMillis(10_050)),
        until: Some(UnixMillis(10_120)),
        ..Default::default()
    });
    filters.push(AuditFilter {
        subject_id: Some("agent:b".into()),
        until: Some(UnixMillis(10_100)),
        ..Default::default()
    });
    filters.push(AuditFilter {
        kind: Some(AuditKind::ApprovalReviewed),
        ..Default::default()
    });

    for f in &filters {
        let expected: Vec<i64> = all
            .iter()
            .filter(|r| matches(f, &r.event))
            .map(|r| r.seq)
            .collect();
        assert!(!expected.is_empty(), "{f:?} matches something");
        let found: Vec<AuditRecord> = store.query(f, 0, 1_000).await.unwrap();
        assert_eq!(
            found.iter().map(|r| r.seq).collect::<Vec<_>>(),
            expected,
            "{f:?}"
        );
        for r in &found {
            assert_eq!(r, &all[usize::try_from(r.seq - 1).unwrap()], "{f:?}");
        }
        let mut paged = Vec::new();
        loop {
            let after = paged.last().copied().unwrap_or(0);
            let page = store.query(f, after, 7).await.unwrap();
            assert!(page.len() <= 7);
            paged.extend(page.iter().map(|r| r.seq));
            if page.len() < 7 {
                break;
            }
        }
        assert_eq!(paged, expected, "{f:?}, 7 at a time");
    }
}

/// Whether `e` passes `f`, as the audit query's predicates state it.
fn matches(f: &AuditFilter, e: &AuditEvent) -> bool {
    let equal = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    equal(&f.subject_id, &e.subject_id)
        && equal(&f.action, &e.action)
        && equal(&f.resource_type, &e.resource_type)
        && equal(&f.resource_id, &e.resource_id)
        && equal(&f.effect, &e.effect)
        && equal(&f.approval_id, &e.approval_id)
        && equal(&f.decision_id, &e.decision_id)
        && f.kind.is_none_or(|k| k == e.kind)
        && f.since.is_none_or(|t| e.at >= t)
        && f.until.is_none_or(|t| e.at < t)
}

/// Appends and state changes from eight tasks at once (on SQLite, the writer thread's shared
/// transactions and the pool's own, racing for the write lock) make one chain, nothing lost.
pub(crate) async fn concurrent_appenders_make_one_gap_free_chain(store: Arc<dyn Db>) {
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..50 {
                    if t % 2 == 1 {
                        // A state change with its record: on SQLite, through the pool's own
                        // write transaction, beside the writer's shared ones.
                        let subject = format!("agent:{t}");
                        let e = event(AuditKind::ApprovalRequested, &subject, "db.drop", i);
                        let new =
                            super::new_approval(&subject, &format!("r{i}"), "db.drop", 1 << 40);
                        ids.push(e.id.clone());
                        store.create_approval(&new, None, &[e]).await.unwrap();
                        continue;
                    }
                    // Mix single appends and small groups, as the group commit does.
                    let n = 1 + (i % 3);
                    let events: Vec<_> = (0..n)
                        .map(|_| {
                            event(AuditKind::Decision, &format!("agent:{t}"), "data.export", i)
                        })
                        .collect();
                    ids.extend(events.iter().map(|e| e.id.clone()));
                    store.append_audit(&events).await.unwrap();
                }
                ids
            })
        })
        .collect();
    let mut written = HashSet::new();
    for t in tasks {
        written.extend(t.await.unwrap());
    }
    let all = whole_chain(&store).await;
    assert_eq!(all.len(), written.len());
    let report = tollgate::audit::verify::verify(store.as_ref(), None, 37, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.records, all.len() as i64);
    assert_eq!(
        all.iter()
            .map(|r| r.event.id.clone())
            .collect::<HashSet<_>>(),
        written
    );
}

pub(crate) async fn checkpoints_store_once_per_seq(store: Arc<dyn Db>) {
    assert_eq!(store.last_checkpoint().await.unwrap(), None);
    let cp = |seq: i64, token: &str| Checkpoint {
        seq,
        head_hash: format!("{seq:064}"),
        at: UnixMillis(1_000 + seq),
        token: token.into(),
    };
    assert!(store.insert_checkpoint(&cp(10, "first")).await.unwrap());
    assert!(
        !store.insert_checkpoint(&cp(10, "racer")).await.unwrap(),
        "the first one stays"
    );
    assert!(store.insert_checkpoint(&cp(30, "t30")).await.unwrap());
    assert!(store.insert_checkpoint(&cp(20, "t20")).await.unwrap());
    assert_eq!(
        store.checkpoints(0, 10).await.unwrap(),
        [cp(10, "first"), cp(20, "t20"), cp(30, "t30")]
    );
    assert_eq!(store.checkpoints(10, 1).await.unwrap(), [cp(20, "t20")]);
    assert_eq!(store.last_checkpoint().await.unwrap(), Some(cp(30, "t30")));
}

pub(crate) async fn count_pending_counts_what_is_open_now(store: Arc<dyn Db>) {
    assert_eq!(store.count_pending(UnixMillis(0)).await.unwrap(), 0);
    let open = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    create(&store, &new_approval("agent:a", "", "data.export", 5_000)).await;
    let decided = create(&store, &new_approval("agent:b", "", "data.export", 10_000)).await;
    store
        .transition(
            &decided.id,
            ApprovalState::Pending,
            ApprovalState::Denied,
            UnixMillis(2_000),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(store.count_pending(UnixMillis(2_000)).await.unwrap(), 2);
    assert_eq!(
        store.count_pending(UnixMillis(5_000)).await.unwrap(),
        1,
        "one is past its deadline"
    );
    store
        .transition(
            &open.id,
            ApprovalState::Pending,
            ApprovalState::Cancelled,
            UnixMillis(6_000),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(store.count_pending(UnixMillis(6_000)).await.unwrap(), 0);
}

/// Kinds of the records from `from` on.
async fn kinds_from(store: &Arc<dyn Db>, from: i64) -> Vec<AuditKind> {
    store
        .range(from, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.event.kind)
        .collect()
}

pub(crate) async fn state_changes_record_only_when_they_happen(store: Arc<dyn Db>) {
    use AuditKind::*;
    let ev = |kind| event(kind, "agent:a", "data.export", 1_500);
    let new = new_approval("agent:a", "k1", "data.export", 100_000);
    let (a, created) = store
        .create_approval(&new, None, &[ev(Decision), ev(ApprovalRequested)])
        .await
        .unwrap();
    assert!(created);
    let mut replay = new_approval("agent:a", "k1", "data.export", 100_000);
    replay.created_at = UnixMillis(1_100);
    let (_, created) = store
        .create_approval(&replay, None, &[ev(ApprovalRequested)])
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(
        kinds_from(&store, 1).await,
        [Decision, ApprovalRequested],
        "a replay records nothing"
    );

    store
        .add_review(
            &review(&a.id, "user:r1", ReviewVerdict::Approve, 2_000),
            None,
            &[ev(ApprovalReviewed)],
        )
        .await
        .unwrap();
    store
        .add_review(
            &review(&a.id, "user:r1", ReviewVerdict::Approve, 2_001),
            None,
            &[ev(ApprovalReviewed)],
        )
        .await
        .unwrap();
    assert_eq!(
        kinds_from(&store, 3).await,
        [ApprovalReviewed],
        "a duplicate review records nothing"
    );

    let cap = capability(&a.id, Some(&a.id), 60_000);
    assert!(store
        .approve_with_capability(
            &a.id,
            &cap,
            UnixMillis(3_000),
            &[ev(ApprovalApproved), ev(CapabilityIssued)]
        )
        .await
        .unwrap());
    assert!(!store
        .approve_with_capability(&a.id, &cap, UnixMillis(3_001), &[ev(ApprovalApproved)])
        .await
        .unwrap());
    assert!(!store
        .transition(
            &a.id,
            ApprovalState::Pending,
            ApprovalState::Denied,
            UnixMillis(3_002),
            &[ev(ApprovalDenied)]
        )
        .await
        .unwrap());
    assert_eq!(
        kinds_from(&store, 4).await,
        [ApprovalApproved, CapabilityIssued]
    );
    let got = store
        .get_approval(&a.id, UnixMillis(3_003))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.state, ApprovalState::Approved);

    let hash = cap.request_hash.clone();
    assert_eq!(
        store
            .redeem_capability(&cap.id, &hash, UnixMillis(4_000), &[ev(CapabilityRedeemed)])
            .await
            .unwrap(),
        RedeemOutcome::Redeemed
    );
    assert_eq!(
        store
            .redeem_capability(&cap.id, &hash, UnixMillis(4_001), &[ev(CapabilityRedeemed)])
            .await
            .unwrap(),
        RedeemOutcome::AlreadyRedeemed
    );
    assert_eq!(
        kinds_from(&store, 6).await,
        [CapabilityRedeemed],
        "a refused redemption records nothing here"
    );

    let late = create(&store, &new_approval("agent:z", "", "iam.widen", 5_000)).await;
    let audit = |approval: &tollgate::domain::Approval| {
        let mut e = event(
            ApprovalExpired,
            &approval.subject_id,
            &approval.action,
            5_000,
        );
        e.approval_id = approval.id.clone();
        vec![e]
    };
    assert_eq!(
        store.expire_due(UnixMillis(5_000), &audit).await.unwrap(),
        std::slice::from_ref(&late.id)
    );
    assert!(store
        .expire_due(UnixMillis(5_001), &audit)
        .await
        .unwrap()
        .is_empty());
    let last = store.range(7, 10).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(
        (last[0].event.kind, last[0].event.approval_id.as_str()),
        (ApprovalExpired, late.id.as_str())
    );
    whole_chain(&store).await;
}

pub(crate) async fn a_failed_record_rolls_the_state_change_back(store: Arc<dyn Db>) {
    // Event ids are unique: reusing one makes the audit insert fail inside the transaction.
    let taken = event(AuditKind::Decision, "agent:a", "data.export", 1_000);
    store
        .append_audit(std::slice::from_ref(&taken))
        .await
        .unwrap();
    let dup = || vec![taken.clone()];

    let new = new_approval("agent:a", "", "data.export", 100_000);
    assert!(store.create_approval(&new, None, &dup()).await.is_err());
    assert_eq!(
        store
            .get_approval(&new.id, UnixMillis(1_000))
            .await
            .unwrap(),
        None,
        "no approval without its record"
    );

    let a = create(&store, &new_approval("agent:a", "", "data.export", 100_000)).await;
    let r = review(&a.id, "user:r1", ReviewVerdict::Approve, 2_000);
    assert!(store.add_review(&r, None, &dup()).await.is_err());
    assert!(
        store.reviews(&a.id).await.unwrap().is_empty(),
        "no review without its record"
    );

    let cap = capability(&a.id, Some(&a.id), 60_000);
    assert!(store
        .approve_with_capability(&a.id, &cap, UnixMillis(3_000), &dup())
        .await
        .is_err());
    assert_eq!(state_at(&store, &a.id, 3_000).await, ApprovalState::Pending);
    assert_eq!(
        store
            .get_capability(&cap.id, UnixMillis(3_000))
            .await
            .unwrap(),
        None,
        "no capability either"
    );

    assert!(store
        .transition(
            &a.id,
            ApprovalState::Pending,
            ApprovalState::Cancelled,
            UnixMillis(3_000),
            &dup()
        )
        .await
        .is_err());
    assert_eq!(state_at(&store, &a.id, 3_000).await, ApprovalState::Pending);

    let free = capability("cap-free", None, 60_000);
    assert!(store.insert_capability(&free, &dup()).await.is_err());
    assert_eq!(
        store
            .get_capability("cap-free", UnixMillis(3_000))
            .await
            .unwrap(),
        None
    );
    store.insert_capability(&free, &[]).await.unwrap();
    assert!(store
        .redeem_capability("cap-free", &free.request_hash, UnixMillis(4_000), &dup())
        .await
        .is_err());
    let still = store
        .get_capability("cap-free", UnixMillis(4_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        still.state,
        CapabilityState::Issued,
        "not redeemed without its record"
    );

    let due = create(&store, &new_approval("agent:a", "", "data.export", 5_000)).await;
    assert!(store
        .expire_due(UnixMillis(5_000), &|_| dup())
        .await
        .is_err());
    assert_eq!(
        state_at(&store, &due.id, 4_000).await,
        ApprovalState::Pending,
        "not expired without its record"
    );

    let all = whole_chain(&store).await;
    assert_eq!(all.len(), 1, "only the first record exists");
}

pub(crate) async fn capabilities_commit_with_their_records(store: Arc<dyn Db>) {
    let caps = [
        capability("cap-a", None, 60_000),
        capability("cap-b", None, 60_000),
    ];
    let events = vec![
        event(AuditKind::Decision, "agent:a", "probe.write", 1_000),
        event(AuditKind::CapabilityIssued, "agent:a", "probe.write", 1_000),
    ];
    let records = store
        .commit(&Batch {
            capabilities: caps.to_vec(),
            events: events.clone(),
        })
        .await
        .unwrap();
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    for cap in &caps {
        let got = store
            .get_capability(&cap.id, UnixMillis(2_000))
            .await
            .unwrap();
        assert_eq!(got.as_ref().map(|c| c.state), Some(CapabilityState::Issued));
    }
    // A record that cannot be stored takes its capabilities with it.
    let more = [capability("cap-c", None, 60_000)];
    assert!(store
        .commit(&Batch {
            capabilities: more.to_vec(),
            events: events[..1].to_vec(),
        })
        .await
        .is_err());
    assert_eq!(
        store
            .get_capability("cap-c", UnixMillis(2_000))
            .await
            .unwrap(),
        None
    );
    whole_chain(&store).await;
}

/// Stores a capability of no approval under `id`, so a change minting one by that id fails.
async fn take_capability_id(store: &Arc<dyn Db>, id: &str) {
    store
        .insert_capability(&capability(id, None, 60_000), &[])
        .await
        .unwrap();
}

/// Approval `id` approved at 2,000 with a capability `cap`, as the group commit runs it.
fn approved(id: &str, cap: &str) -> tollgate::store::Change {
    tollgate::store::Change::ApproveWithCapability {
        id: id.into(),
        capability: capability(cap, Some(id), 60_000),
        now: UnixMillis(2_000),
        audit: vec![event(AuditKind::ApprovalApproved, "user:r", id, 2_000)],
    }
}

/// The whole chain holds exactly `change`'s first record, then the events `then`, in order.
async fn assert_chain_is_change_then(
    store: &Arc<dyn Db>,
    change: &tollgate::store::Change,
    then: &[&AuditEvent],
) {
    let mut ids = vec![change.audit()[0].id.as_str()];
    ids.extend(then.iter().map(|e| e.id.as_str()));
    assert_chain_is(store, &ids).await;
}

/// The whole chain holds exactly the events `ids`, in this order.
async fn assert_chain_is(store: &Arc<dyn Db>, ids: &[&str]) {
    let chain = whole_chain(store).await;
    let stored: Vec<&str> = chain.iter().map(|r| r.event.id.as_str()).collect();
    assert_eq!(stored, ids);
}

/// `changes` committed in one shared transaction with a decision's record after them: what
/// was committed, and the decision's event.
async fn commit_with_a_decision(
    store: &Arc<dyn Db>,
    changes: &[tollgate::store::Change],
) -> (tollgate::store::Committed, AuditEvent) {
    let decision = event(AuditKind::Decision, "agent:c", "probe.read", 2_000);
    let committed = store
        .commit_all(changes.to_vec(), Batch::of_events(vec![decision.clone()]))
        .await
        .unwrap();
    (committed, decision)
}

/// The last change of a shared transaction leaves its savepoint open (nothing releases it:
/// the commit keeps it). When that change fails on a statement, the batch after it must still
/// commit with the changes before it, and the failed one must leave nothing.
pub(crate) async fn a_failing_last_change_leaves_the_rest_committed(store: Arc<dyn Db>) {
    use tollgate::store::Changed;
    let x = create(&store, &new_approval("agent:x", "rx", "db.drop", 60_000)).await;
    let y = create(&store, &new_approval("agent:y", "ry", "db.drop", 60_000)).await;
    take_capability_id(&store, "cap-taken").await;
    let changes = [approved(&x.id, "cap-x"), approved(&y.id, "cap-taken")];
    let (committed, decision) = commit_with_a_decision(&store, &changes).await;
    assert_eq!(
        committed.changes[0].as_ref().ok(),
        Some(&Changed::Moved(true))
    );
    assert!(committed.changes[1].is_err(), "{:?}", committed.changes[1]);
    assert_eq!(
        state_at(&store, &x.id, 2_000).await,
        ApprovalState::Approved
    );
    assert_eq!(state_at(&store, &y.id, 2_000).await, ApprovalState::Pending);
    let taken = store.get_capability("cap-taken", UnixMillis(2_000)).await;
    assert_eq!(taken.unwrap().and_then(|c| c.approval_id), None);
    assert_chain_is_change_then(&store, &changes[0], &[&decision]).await;
}

/// A shared transaction where every change applies but one, which fails no statement: the
/// one that does not apply records nothing and keeps nothing it wrote (a review it inserted
/// before its narrowing found the request changed, a second approval's capability), the
/// others commit once. PostgreSQL first runs a shared transaction without savepoints and,
/// when a change does not apply, runs it again with them: neither run may leak into the
/// other.
pub(crate) async fn a_change_that_does_not_apply_leaves_nothing_among_changes_that_do(
    store: Arc<dyn Db>,
) {
    use tollgate::domain::{RequestChange, ReviewOutcome, ReviewVerdict};
    use tollgate::store::{Change, Changed};
    let a = create(&store, &new_approval("agent:a", "ra", "db.drop", 60_000)).await;
    let b = create(&store, &new_approval("agent:b", "rb", "db.drop", 60_000)).await;
    let narrowed = Change::AddReview {
        review: super::review(&a.id, "user:r", ReviewVerdict::Approve, 2_000),
        change: Some(RequestChange {
            request: serde_json::json!({"narrowed": true}),
            request_hash: "cd".repeat(32),
            requirements: serde_json::json!([]),
            previous_hash: "not the request the reviewer saw".into(),
        }),
        settle: None,
        audit: vec![event(AuditKind::ApprovalModified, "user:r", &a.id, 2_000)],
    };
    let changes = [
        approved(&b.id, "cap-b"),
        narrowed,
        // B is approved by now: this one does not apply.
        approved(&b.id, "cap-b2"),
    ];
    let (committed, decision) = commit_with_a_decision(&store, &changes).await;
    let outcomes: Vec<_> = committed.changes.iter().map(|o| o.as_ref().ok()).collect();
    assert_eq!(outcomes[0], Some(&Changed::Moved(true)));
    assert!(
        matches!(
            outcomes[1],
            Some(Changed::Review(ReviewOutcome::NotPending(_), None))
        ),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(outcomes[2], Some(&Changed::Moved(false)));
    assert_eq!(committed.change_records, 1);
    assert!(
        store.reviews(&a.id).await.unwrap().is_empty(),
        "the review of a narrowing that did not apply is not kept"
    );
    assert_eq!(state_at(&store, &a.id, 2_000).await, ApprovalState::Pending);
    let stored = store.get_capability("cap-b2", UnixMillis(2_000)).await;
    assert_eq!(stored.unwrap(), None, "the lost approval minted nothing");
    assert_chain_is_change_then(&store, &changes[0], &[&decision]).await;
}

/// Two presentations of one capability queued into the same shared transaction (an executor
/// racing itself, or a stolen token raced against its owner): the first redeems it, the
/// second finds it used, and only the first is recorded. On PostgreSQL the second's refusal
/// sends the batch to its second run: the first run's redemption must not survive into it
/// (the first would then find the capability used too) nor be recorded twice.
pub(crate) async fn a_capability_presented_twice_in_one_transaction_is_redeemed_once(
    store: Arc<dyn Db>,
) {
    use tollgate::domain::RedeemOutcome;
    use tollgate::store::{Change, Changed};
    store
        .insert_capability(&capability("cap-once", None, 60_000), &[])
        .await
        .unwrap();
    let redeem = |who: &str| Change::Redeem {
        id: "cap-once".into(),
        request_hash: "cd".repeat(32),
        now: UnixMillis(2_000),
        audit: vec![event(AuditKind::CapabilityRedeemed, who, "cap-once", 2_000)],
    };
    let changes = [redeem("service:executor"), redeem("service:thief")];
    let (committed, decision) = commit_with_a_decision(&store, &changes).await;
    let outcomes: Vec<_> = committed.changes.iter().map(|o| o.as_ref().ok()).collect();
    assert_eq!(
        outcomes,
        [
            Some(&Changed::Redeemed(RedeemOutcome::Redeemed)),
            Some(&Changed::Redeemed(RedeemOutcome::AlreadyRedeemed)),
        ]
    );
    let used = store.get_capability("cap-once", UnixMillis(2_000)).await;
    assert_eq!(
        used.unwrap().map(|c| c.state),
        Some(CapabilityState::Redeemed)
    );
    assert_chain_is_change_then(&store, &changes[0], &[&decision]).await;
}

/// One shared transaction (`commit_all`, what the group commit runs): a change that fails on
/// a statement (its capability id collides) or a check (quota) is rolled back to its savepoint
/// alone, a change that does not apply (already decided) records nothing, and the others and
/// the batch commit, in one gap-free chain. On PostgreSQL the failed statement would abort the
/// whole transaction without the savepoint.
pub(crate) async fn a_failing_change_fails_alone_in_a_shared_transaction(store: Arc<dyn Db>) {
    use tollgate::store::{Change, Changed};
    let a = create(&store, &new_approval("agent:a", "ra", "db.drop", 60_000)).await;
    let b = create(&store, &new_approval("agent:b", "rb", "db.drop", 60_000)).await;
    take_capability_id(&store, "cap-taken").await;
    let changes = [
        approved(&a.id, "cap-taken"),
        approved(&b.id, "cap-b"),
        // B is approved by now: this one does not apply and records nothing.
        approved(&b.id, "cap-b2"),
        Change::CreateApproval {
            new: new_approval("agent:a", "rc", "db.drop", 60_000),
            max_pending: Some(1),
            audit: vec![event(AuditKind::ApprovalRequested, "agent:a", "rc", 2_000)],
        },
    ];
    let (committed, decision) = commit_with_a_decision(&store, &changes).await;
    let outcomes: Vec<_> = committed.changes.iter().map(|o| o.as_ref().ok()).collect();
    assert!(committed.changes[0].is_err(), "{:?}", committed.changes[0]);
    assert_eq!(outcomes[1], Some(&Changed::Moved(true)));
    assert_eq!(outcomes[2], Some(&Changed::Moved(false)));
    assert!(
        matches!(
            committed.changes[3],
            Err(tollgate::store::StoreError::QuotaExceeded { .. })
        ),
        "{:?}",
        committed.changes[3]
    );
    assert_eq!(committed.change_records, 1);
    assert_eq!(committed.records.len(), 1);
    assert_eq!(state_at(&store, &a.id, 2_000).await, ApprovalState::Pending);
    assert_eq!(
        state_at(&store, &b.id, 2_000).await,
        ApprovalState::Approved
    );
    let b_cap = store
        .get_capability("cap-b", UnixMillis(2_000))
        .await
        .unwrap();
    assert_eq!(b_cap.map(|c| c.approval_id), Some(Some(b.id.clone())));
    assert_eq!(
        store
            .get_capability("cap-b2", UnixMillis(2_000))
            .await
            .unwrap(),
        None
    );
    assert_chain_is_change_then(&store, &changes[1], &[&decision]).await;

    // Alone, a change runs without a savepoint: one that fails or does not apply rolls the
    // whole transaction back and records nothing; one that applies commits with its records.
    let alone = |change: Change| {
        let store = store.clone();
        async move {
            store
                .commit_all(vec![change], Batch::default())
                .await
                .unwrap()
        }
    };
    let failed = alone(approved(&a.id, "cap-taken")).await;
    assert!(failed.changes[0].is_err(), "{:?}", failed.changes[0]);
    let lost = alone(approved(&b.id, "cap-b3")).await;
    assert_eq!(lost.changes[0].as_ref().ok(), Some(&Changed::Moved(false)));
    assert_eq!((failed.change_records, lost.change_records), (0, 0));
    assert_eq!(whole_chain(&store).await.len(), 2, "nothing recorded");
    assert_eq!(state_at(&store, &a.id, 2_000).await, ApprovalState::Pending);
    let stored = store.get_capability("cap-b3", UnixMillis(2_000)).await;
    assert_eq!(stored.unwrap(), None, "the lost approval minted nothing");
    let won = alone(approved(&a.id, "cap-a")).await;
    assert_eq!(won.changes[0].as_ref().ok(), Some(&Changed::Moved(true)));
    assert_eq!(won.change_records, 1);
    assert_eq!(whole_chain(&store).await.len(), 3);
    assert_eq!(
        state_at(&store, &a.id, 2_000).await,
        ApprovalState::Approved
    );
}

/// The review that completes a quorum decides the request in its own transaction: the
/// settlement's capability, state and records commit with the review, or nothing does.
pub(crate) async fn a_review_settles_its_request_in_the_same_transaction(store: Arc<dyn Db>) {
    use tollgate::store::{Settle, Settlement};
    // Approves with `cap` on the second review, denies on any Deny verdict.
    let rule = |cap: &'static str, id: String| {
        Settle::new(move |reviews| {
            if reviews.iter().any(|r| r.verdict == ReviewVerdict::Deny) {
                let audit = vec![event(AuditKind::ApprovalDenied, "user:r", &id, 3_000)];
                return Some(Settlement::Deny { audit });
            }
            (reviews.len() >= 2).then(|| Settlement::Approve {
                capability: capability(cap, Some(&id), 60_000),
                audit: vec![
                    event(AuditKind::ApprovalApproved, "user:r", &id, 3_000),
                    event(AuditKind::CapabilityIssued, "user:r", &id, 3_000),
                ],
            })
        })
    };
    let reviewed = |id: &str, who: &str, verdict| {
        let r = review(id, who, verdict, 2_000);
        let audit = vec![event(AuditKind::ApprovalReviewed, who, id, 2_000)];
        (r, audit)
    };
    let a = create(&store, &new_approval("agent:a", "ra", "db.drop", 60_000)).await;
    let settle = rule("cap-a", a.id.clone());

    let (r1, audit) = reviewed(&a.id, "user:r1", ReviewVerdict::Approve);
    let (outcome, settled) = store
        .review_and_settle(&r1, None, &audit, &settle)
        .await
        .unwrap();
    assert!(matches!(outcome, ReviewOutcome::Recorded(ref all) if all.len() == 1));
    assert_eq!(settled, None, "one review of two settles nothing");
    assert_eq!(state_at(&store, &a.id, 2_500).await, ApprovalState::Pending);

    // A settlement that cannot be stored takes its review down with it.
    store
        .insert_capability(&capability("cap-taken", None, 60_000), &[])
        .await
        .unwrap();
    let (r2, audit) = reviewed(&a.id, "user:r2", ReviewVerdict::Approve);
    let taken = rule("cap-taken", a.id.clone());
    assert!(store
        .review_and_settle(&r2, None, &audit, &taken)
        .await
        .is_err());
    assert_eq!(store.reviews(&a.id).await.unwrap().len(), 1);
    assert_eq!(state_at(&store, &a.id, 2_500).await, ApprovalState::Pending);

    let (outcome, settled) = store
        .review_and_settle(&r2, None, &audit, &settle)
        .await
        .unwrap();
    assert!(matches!(outcome, ReviewOutcome::Recorded(ref all) if all.len() == 2));
    assert_eq!(settled, Some(ApprovalState::Approved));
    assert_eq!(
        state_at(&store, &a.id, 2_500).await,
        ApprovalState::Approved
    );
    let cap = store.get_capability("cap-a", UnixMillis(2_500)).await;
    assert_eq!(cap.unwrap().and_then(|c| c.approval_id), Some(a.id.clone()));

    let b = create(&store, &new_approval("agent:b", "rb", "db.drop", 60_000)).await;
    let (r, audit) = reviewed(&b.id, "user:r1", ReviewVerdict::Deny);
    let (_, settled) = store
        .review_and_settle(&r, None, &audit, &rule("cap-b", b.id.clone()))
        .await
        .unwrap();
    assert_eq!(settled, Some(ApprovalState::Denied));
    assert_eq!(state_at(&store, &b.id, 2_500).await, ApprovalState::Denied);

    // Each review's records, then its settlement's, in one gap-free chain.
    let kinds: Vec<AuditKind> = whole_chain(&store)
        .await
        .into_iter()
        .map(|r| r.event.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            AuditKind::ApprovalReviewed,
            AuditKind::ApprovalReviewed,
            AuditKind::ApprovalApproved,
            AuditKind::CapabilityIssued,
            AuditKind::ApprovalReviewed,
            AuditKind::ApprovalDenied,
        ]
    );
}

/// Events whose bodies carry what a second implementation of the link could get wrong: every
/// escape JSON has, a newline (the link's own separator) and a NUL inside strings, characters
/// outside the Basic Multilingual Plane, combining marks, the line and paragraph separators, a
/// byte order mark, and a body long enough for PostgreSQL to compress it.
fn awkward_events() -> Vec<AuditEvent> {
    let texts = [
        String::new(),
        "quote \" backslash \\ slash / \u{8}\u{c}".to_string(),
        "line\nbreak\r\ttab, nul \u{0}, bell \u{7}, del \u{7f}".to_string(),
        "é composed, e\u{301} combining, ß, İ".to_string(),
        "astral \u{1F600} \u{10FFFF}, separators \u{2028}\u{2029}, \u{FEFF}bom".to_string(),
        "\n".repeat(3),
        "long ".repeat(40_000),
    ];
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut e = event(AuditKind::Decision, "agent:a", "data.export", i as i64);
            e.reasons = vec![text.clone()];
            e.input = json!({"action": {"params": {"text": text, "n": i}}, text.clone(): [text]});
            e
        })
        .collect()
}

/// The records of an append link as the verifier links them whatever their bodies hold, in
/// one append and one by one, and each body reads back as stored: the record parsed from it
/// writes the same canonical body again (`whole_chain`).
pub(crate) async fn awkward_bodies_link_as_the_verifier_links_them(store: Arc<dyn Db>) {
    let events = awkward_events();
    let together = store.append_audit(&events).await.unwrap();
    let mut alone = Vec::new();
    for e in &events {
        let again = AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            ..e.clone()
        };
        alone.extend(store.append_audit(&[again]).await.unwrap());
    }
    let all = whole_chain(&store).await;
    assert_eq!(all.len(), 2 * events.len());
    let answered: Vec<_> = together.iter().chain(&alone).collect();
    for (stored, answered) in all.iter().zip(answered) {
        assert_eq!(
            (stored.seq, &stored.prev_hash, &stored.hash),
            (answered.seq, &answered.prev_hash, &answered.hash)
        );
    }
}

/// An ALLOW's capability and its records queued into a shared transaction beside a change that
/// does not apply (a second approval of a request already approved): the capability is stored
/// once and its records chained once. On PostgreSQL the first run stores the batch, finds the
/// change did not apply, rolls back and hands the batch to its second run: nothing of the
/// batch may be lost between the two runs, nor kept from the first.
pub(crate) async fn an_allows_capability_survives_a_change_that_does_not_apply(store: Arc<dyn Db>) {
    let b = create(&store, &new_approval("agent:b", "rb", "db.drop", 60_000)).await;
    let changes = [approved(&b.id, "cap-b"), approved(&b.id, "cap-b2")];
    let decision = event(AuditKind::Decision, "agent:c", "data.export", 2_000);
    let issued = event(AuditKind::CapabilityIssued, "agent:c", "data.export", 2_000);
    let batch = Batch {
        capabilities: vec![capability("cap-allow", None, 60_000)],
        events: vec![decision.clone(), issued.clone()],
    };
    let committed = store.commit_all(changes.to_vec(), batch).await.unwrap();
    assert_eq!(committed.records.len(), 2);
    let stored = store.get_capability("cap-allow", UnixMillis(2_000)).await;
    assert_eq!(
        stored.unwrap().map(|c| c.state),
        Some(CapabilityState::Issued)
    );
    let lost = store.get_capability("cap-b2", UnixMillis(2_000)).await;
    assert_eq!(lost.unwrap(), None, "the lost approval minted nothing");
    assert_chain_is_change_then(&store, &changes[0], &[&decision, &issued]).await;
}

/// A shared transaction whose batch takes the log past 64 records, beside a change that does
/// not apply: on PostgreSQL the first run stores the batch (and fills `audit_index`), rolls
/// back and runs again. The index must hold what the log holds, no more, and a query by the
/// batch's subject must find every record once.
pub(crate) async fn a_fill_in_a_rolled_back_run_leaves_the_index_whole(store: Arc<dyn Db>) {
    let b = create(&store, &new_approval("agent:b", "rb", "db.drop", 60_000)).await;
    let changes = [approved(&b.id, "cap-b"), approved(&b.id, "cap-b2")];
    let events: Vec<_> = (0..70)
        .map(|i| event(AuditKind::Decision, "agent:fill", "data.export", 2_000 + i))
        .collect();
    let batch = Batch {
        capabilities: Vec::new(),
        events: events.clone(),
    };
    let committed = store.commit_all(changes.to_vec(), batch).await.unwrap();
    assert_eq!(committed.records.len(), 70);
    assert_eq!(store.index_fault().await.unwrap(), None);
    let all = whole_chain(&store).await;
    assert_eq!(
        all.last().map(|r| r.seq),
        committed.records.last().map(|r| r.seq)
    );
    let by_subject = AuditFilter {
        subject_id: Some("agent:fill".into()),
        ..Default::default()
    };
    let found = store.query(&by_subject, 0, 1_000).await.unwrap();
    assert_eq!(
        found.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        events
    );
}

/// `audit_index`'s rows on PostgreSQL schema `schema`: how many, the first and the last seq.
async fn index_extent(url: &str, schema: &str) -> (i64, i64, i64) {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let extent = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM {schema}.audit_index"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    extent
}

/// `n` decisions of `subject`, at times from `at`.
fn decisions(subject: &str, n: i64, at: i64) -> Batch {
    Batch {
        capabilities: Vec::new(),
        events: (0..n)
            .map(|i| event(AuditKind::Decision, subject, "data.export", at + i))
            .collect(),
    }
}

/// PostgreSQL's group commit fills `audit_index` after the transaction that brings it due
/// has committed (outside the chain head's lock), and answers after the fill: when
/// `commit_all` returns, the index holds every record up to that commit's. A commit that
/// does not pass the next multiple of 64 leaves the index as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_answers_a_commit_with_its_records_indexed() {
    let Some((store, url, schema)) = super::postgres_store().await else {
        return;
    };
    let committed = store
        .commit_all(Vec::new(), decisions("agent:fill", 70, 2_000))
        .await
        .unwrap();
    assert_eq!(committed.appended, Some((1, 70)));
    assert_eq!(index_extent(&url, &schema).await, (70, 1, 70));
    store
        .commit_all(Vec::new(), decisions("agent:fill", 10, 3_000))
        .await
        .unwrap();
    assert_eq!(index_extent(&url, &schema).await, (70, 1, 70), "not due");
    store
        .commit_all(Vec::new(), decisions("agent:fill", 50, 4_000))
        .await
        .unwrap();
    assert_eq!(index_extent(&url, &schema).await, (130, 1, 130));
    assert_eq!(store.index_fault().await.unwrap(), None);
    super::drop_schema(&url, &schema).await;
}

/// Two replicas commit at once, so their fills of `audit_index` (each after its own commit,
/// neither holding the chain head) overlap: every commit here brings 64 records, so every one
/// fills. A fill that meets rows another fill is inserting must skip them, not fail: each
/// commit is answered with every record up to its own indexed, and the index stays exactly
/// the records 1..max(seq), each agreeing with its record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replicas_filling_at_once_leave_the_index_gap_free() {
    let Some((first, second, url, schema)) = super::two_postgres_handles().await else {
        return;
    };
    const TASKS: i64 = 8;
    const COMMITS: i64 = 12;
    const RECORDS: i64 = 64;
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = if t % 2 == 0 { &first } else { &second }.clone();
            let url = url.clone();
            let schema = schema.clone();
            tokio::spawn(async move {
                for c in 0..COMMITS {
                    let at = 10_000 * t + 100 * c;
                    let batch = decisions(&format!("agent:t{t}"), RECORDS, at);
                    let committed = store.commit_all(Vec::new(), batch).await.unwrap();
                    let (_, last) = committed.appended.unwrap();
                    let (_, _, most) = index_extent(&url, &schema).await;
                    assert!(
                        most >= last,
                        "answered at seq {last} with the index at {most}"
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (head, _) = first.head().await.unwrap();
    assert_eq!(head, TASKS * COMMITS * RECORDS);
    assert_eq!(index_extent(&url, &schema).await, (head, 1, head));
    assert_eq!(first.index_fault().await.unwrap(), None);
    super::drop_schema(&url, &schema).await;
}
