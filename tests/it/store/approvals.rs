//! The approval half of the suite: create, idempotency, listing, reviews, transitions, expiry.

use std::{collections::HashSet, sync::Arc};

use serde_json::json;

use tollgate::domain::{
    ApprovalFilter, ApprovalState, CapabilityState, Page, RequestChange, ReviewOutcome,
    ReviewVerdict, UnixMillis,
};
use tollgate::store::{ApprovalSnapshot, SqliteStore, StoreError};

use super::{Db, DbWrites as _};

use super::{capability, create, drop_schema, new_approval, review, two_postgres_handles};

pub(crate) async fn create_then_get_round_trips(store: Arc<dyn Db>) {
    let new = new_approval("agent:a", "k1", "data.export", 10_000);
    let approval = create(&store, &new).await;
    assert_eq!(approval, new.clone().into_pending());
    let got = store
        .get_approval(&new.id, UnixMillis(2_000))
        .await
        .unwrap();
    assert_eq!(got, Some(approval));
    assert_eq!(
        store
            .get_approval("no-such-id", UnixMillis(2_000))
            .await
            .unwrap(),
        None
    );
}

/// `get_reviewed` reads an approval with exactly its own reviews, oldest first, and its own
/// capability (one statement, a join: another approval's reviews or capability must not ride
/// along), each observed at the read's `now`.
pub(crate) async fn an_approval_reads_with_its_own_reviews(store: Arc<dyn Db>) {
    let mine = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    let other = create(&store, &new_approval("agent:b", "", "data.export", 10_000)).await;
    let now = UnixMillis(2_000);
    let snapshot = |approval, reviews, capability| {
        Some(ApprovalSnapshot {
            approval,
            reviews,
            capability,
        })
    };
    assert_eq!(
        store.get_reviewed(&mine.id, now).await.unwrap(),
        snapshot(mine.clone(), Vec::new(), None)
    );

    let later = review(&mine.id, "user:a", ReviewVerdict::Approve, 3_000);
    let earlier = review(&mine.id, "user:z", ReviewVerdict::Modify, 2_500);
    let elsewhere = review(&other.id, "user:m", ReviewVerdict::Deny, 2_700);
    for r in [&later, &earlier, &elsewhere] {
        let outcome = store.add_review(r, None, &[]).await.unwrap();
        assert!(matches!(outcome, ReviewOutcome::Recorded(_)), "{outcome:?}");
    }
    assert_eq!(
        store.get_reviewed(&mine.id, now).await.unwrap(),
        snapshot(mine.clone(), vec![earlier.clone(), later.clone()], None)
    );
    assert_eq!(
        store.get_reviewed(&other.id, now).await.unwrap(),
        snapshot(other.clone(), vec![elsewhere.clone()], None)
    );

    // Observed at its deadline it reads expired, with its reviews.
    let late = store
        .get_reviewed(&mine.id, UnixMillis(10_000))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(late.approval.state, ApprovalState::Expired);
    assert_eq!(late.reviews, vec![earlier.clone(), later.clone()]);

    // Approved, it reads with its capability, on every review's row alike; the other
    // approval, pending, with none. An ALLOW's capability (no approval) rides on nothing.
    let cap = capability(&mine.id, Some(&mine.id), 5_000);
    assert!(store
        .approve_with_capability(&mine.id, &cap, UnixMillis(4_000), &[])
        .await
        .unwrap());
    store
        .insert_capability(&capability("allow-cap", None, 5_000), &[])
        .await
        .unwrap();
    let read = store
        .get_reviewed(&mine.id, UnixMillis(4_500))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(read.approval.state, ApprovalState::Approved);
    assert_eq!(read.reviews, vec![earlier.clone(), later.clone()]);
    assert_eq!(read.capability, Some(cap.clone()));
    assert_eq!(
        store.get_reviewed(&other.id, now).await.unwrap(),
        snapshot(other, vec![elsewhere], None)
    );
    // Past its own deadline the capability reads expired (the approval stays approved).
    let expired = store
        .get_reviewed(&mine.id, UnixMillis(5_000))
        .await
        .unwrap()
        .expect("stored")
        .capability
        .expect("minted");
    assert_eq!(expired.state, CapabilityState::Expired);

    assert_eq!(store.get_reviewed("no-such-id", now).await.unwrap(), None);
}

pub(crate) async fn create_is_idempotent_per_subject_and_key(store: Arc<dyn Db>) {
    let first = create(
        &store,
        &new_approval("agent:a", "k1", "data.export", 10_000),
    )
    .await;

    let again = new_approval("agent:a", "k1", "data.export", 10_000);
    let (same, created) = store.create_approval(&again, None, &[]).await.unwrap();
    assert!(!created);
    assert_eq!(same, first);

    // A replay after the deadline sees the first request as it is now: expired.
    let mut late = new_approval("agent:a", "k1", "data.export", 10_000);
    late.created_at = UnixMillis(10_000);
    let (same, created) = store.create_approval(&late, None, &[]).await.unwrap();
    assert_eq!((same.id.as_str(), created), (first.id.as_str(), false));
    assert_eq!(same.state, ApprovalState::Expired);

    // Another subject may use the same key; an empty key never deduplicates.
    create(
        &store,
        &new_approval("agent:b", "k1", "data.export", 10_000),
    )
    .await;
    let a = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    let b = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    assert_ne!(a.id, b.id);

    // Reusing an id without a key is a conflict, not a silent success.
    let mut clash = new_approval("agent:c", "", "data.export", 10_000);
    clash.id = first.id.clone();
    let err = store.create_approval(&clash, None, &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                kind: "approval",
                ..
            }
        ),
        "{err:?}"
    );
}

pub(crate) async fn concurrent_identical_creates_make_one_row(store: Arc<dyn Db>) {
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let new = new_approval("agent:race", "same-key", "data.export", 10_000);
                store.create_approval(&new, None, &[]).await.unwrap()
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = HashSet::new();
    for task in tasks {
        let (approval, was_created) = task.await.unwrap();
        created += usize::from(was_created);
        ids.insert(approval.id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let filter = ApprovalFilter {
        subject_id: Some("agent:race".into()),
        ..ApprovalFilter::default()
    };
    let page = store
        .list_approvals(&filter, &Page::default(), UnixMillis(2_000))
        .await
        .unwrap();
    assert_eq!(page.page.items.len(), 1);
}

async fn list_ids(store: &Arc<dyn Db>, filter: ApprovalFilter, now: i64) -> Vec<String> {
    let page = store
        .list_approvals(&filter, &Page::default(), UnixMillis(now))
        .await
        .unwrap();
    assert_eq!(page.page.next, None);
    page.page.items.into_iter().map(|a| a.id).collect()
}

fn sorted(mut ids: Vec<&str>) -> Vec<String> {
    ids.sort();
    ids.into_iter().map(str::to_owned).collect()
}

pub(crate) async fn list_filters_and_pages(store: Arc<dyn Db>) {
    let now = 5_000;
    let a = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    let b = create(&store, &new_approval("agent:a", "", "iam.widen", 10_000)).await;
    let c = create(&store, &new_approval("agent:b", "", "data.export", 10_000)).await;
    let overdue = create(&store, &new_approval("agent:b", "", "data.export", now)).await;
    let approved = create(&store, &new_approval("agent:c", "", "keys.rotate", 10_000)).await;
    let reviewed = store
        .add_review(
            &review(&c.id, "user:rev", ReviewVerdict::Approve, now),
            None,
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(reviewed, ReviewOutcome::Recorded(_)));
    assert!(store
        .transition(
            &approved.id,
            ApprovalState::Pending,
            ApprovalState::Approved,
            UnixMillis(now),
            &[]
        )
        .await
        .unwrap());

    let by_state = |state| ApprovalFilter {
        state: Some(state),
        ..ApprovalFilter::default()
    };
    assert_eq!(
        list_ids(&store, by_state(ApprovalState::Pending), now).await,
        sorted(vec![&a.id, &b.id, &c.id])
    );
    // Overdue but not swept: listed as expired, not pending.
    assert_eq!(
        list_ids(&store, by_state(ApprovalState::Expired), now).await,
        vec![overdue.id.clone()]
    );
    assert_eq!(
        list_ids(&store, by_state(ApprovalState::Approved), now).await,
        vec![approved.id.clone()]
    );
    assert!(list_ids(&store, by_state(ApprovalState::Denied), now)
        .await
        .is_empty());
    let subject = ApprovalFilter {
        subject_id: Some("agent:a".into()),
        ..ApprovalFilter::default()
    };
    assert_eq!(
        list_ids(&store, subject, now).await,
        sorted(vec![&a.id, &b.id])
    );
    let action = ApprovalFilter {
        action: Some("data.export".into()),
        ..ApprovalFilter::default()
    };
    assert_eq!(
        list_ids(&store, action, now).await,
        sorted(vec![&a.id, &c.id, &overdue.id])
    );
    let reviewer = ApprovalFilter {
        reviewer_id: Some("user:rev".into()),
        ..ApprovalFilter::default()
    };
    assert_eq!(list_ids(&store, reviewer, now).await, vec![c.id.clone()]);
    let combined = ApprovalFilter {
        state: Some(ApprovalState::Pending),
        subject_id: Some("agent:b".into()),
        action: Some("data.export".into()),
        reviewer_id: None,
        text: None,
    };
    assert_eq!(list_ids(&store, combined, now).await, vec![c.id.clone()]);
    let listed = store
        .list_approvals(
            &by_state(ApprovalState::Expired),
            &Page::default(),
            UnixMillis(now),
        )
        .await
        .unwrap();
    assert_eq!(listed.page.items[0].state, ApprovalState::Expired);

    // Pages of two walk every row exactly once, in id order.
    let all = sorted(vec![&a.id, &b.id, &c.id, &overdue.id, &approved.id]);
    let mut seen = Vec::new();
    let mut page = Page {
        limit: 2,
        after_id: None,
    };
    let mut sizes = Vec::new();
    loop {
        let got = store
            .list_approvals(&ApprovalFilter::default(), &page, UnixMillis(now))
            .await
            .unwrap();
        sizes.push(got.page.items.len());
        seen.extend(got.page.items.into_iter().map(|a| a.id));
        match got.page.next {
            Some(next) => page.after_id = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(seen, all);
}

pub(crate) async fn reviews_count_once_and_only_while_pending(store: Arc<dyn Db>) {
    let approval = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    let first = review(&approval.id, "user:r1", ReviewVerdict::Approve, 2_000);
    let outcome = store.add_review(&first, None, &[]).await.unwrap();
    assert_eq!(outcome, ReviewOutcome::Recorded(vec![first.clone()]));

    // The same reviewer again, even with another verdict, does not count.
    let repeat = review(&approval.id, "user:r1", ReviewVerdict::Deny, 2_500);
    assert_eq!(
        store.add_review(&repeat, None, &[]).await.unwrap(),
        ReviewOutcome::Duplicate
    );

    let second = review(&approval.id, "user:r2", ReviewVerdict::Modify, 3_000);
    assert_eq!(
        store.add_review(&second, None, &[]).await.unwrap(),
        ReviewOutcome::Recorded(vec![first.clone(), second.clone()])
    );
    assert_eq!(
        store.reviews(&approval.id).await.unwrap(),
        vec![first, second]
    );

    // At or after the deadline: refused as expired, even before a sweep.
    let late = review(&approval.id, "user:r3", ReviewVerdict::Approve, 10_000);
    assert_eq!(
        store.add_review(&late, None, &[]).await.unwrap(),
        ReviewOutcome::NotPending(ApprovalState::Expired)
    );

    // After a terminal state: refused with that state.
    assert!(store
        .transition(
            &approval.id,
            ApprovalState::Pending,
            ApprovalState::Denied,
            UnixMillis(4_000),
            &[]
        )
        .await
        .unwrap());
    let after = review(&approval.id, "user:r4", ReviewVerdict::Approve, 4_500);
    assert_eq!(
        store.add_review(&after, None, &[]).await.unwrap(),
        ReviewOutcome::NotPending(ApprovalState::Denied)
    );
    assert_eq!(store.reviews(&approval.id).await.unwrap().len(), 2);

    let unknown = review("no-such-id", "user:r1", ReviewVerdict::Approve, 2_000);
    let err = store.add_review(&unknown, None, &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                kind: "approval",
                ..
            }
        ),
        "{err:?}"
    );
}

pub(crate) async fn transitions_are_compare_and_set(store: Arc<dyn Db>) {
    use ApprovalState::*;
    let a = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    assert!(store
        .transition(&a.id, Pending, Approved, UnixMillis(2_000), &[])
        .await
        .unwrap());
    assert!(!store
        .transition(&a.id, Pending, Denied, UnixMillis(2_001), &[])
        .await
        .unwrap());
    let got = store
        .get_approval(&a.id, UnixMillis(2_002))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.state, got.updated_at), (Approved, UnixMillis(2_000)));

    let err = store
        .transition(&a.id, Approved, Pending, UnixMillis(2_003), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidTransition { .. }),
        "{err:?}"
    );
    assert!(!store
        .transition("no-such-id", Pending, Cancelled, UnixMillis(2_000), &[])
        .await
        .unwrap());

    // A decision after the deadline is refused; expiry before it is refused too.
    let b = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    assert!(!store
        .transition(&b.id, Pending, Approved, UnixMillis(10_000), &[])
        .await
        .unwrap());
    assert!(!store
        .transition(&b.id, Pending, Expired, UnixMillis(9_999), &[])
        .await
        .unwrap());
    assert!(store
        .transition(&b.id, Pending, Expired, UnixMillis(10_000), &[])
        .await
        .unwrap());
    let got = store
        .get_approval(&b.id, UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.state, Expired);
}

pub(crate) async fn racing_transitions_have_one_winner(store: Arc<dyn Db>) {
    let a = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    let targets = [
        ApprovalState::Approved,
        ApprovalState::Denied,
        ApprovalState::Cancelled,
    ];
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (store, id, to) = (store.clone(), a.id.clone(), targets[i % 3]);
            tokio::spawn(async move {
                let won = store
                    .transition(&id, ApprovalState::Pending, to, UnixMillis(2_000), &[])
                    .await
                    .unwrap();
                won.then_some(to)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let got = store
        .get_approval(&a.id, UnixMillis(2_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.state, winners[0]);
}

pub(crate) async fn expiry_is_swept_and_enforced_on_read(store: Arc<dyn Db>) {
    let early = create(&store, &new_approval("agent:a", "", "data.export", 100_000)).await;
    let middle = create(&store, &new_approval("agent:a", "", "data.export", 200_000)).await;
    let late = create(&store, &new_approval("agent:a", "", "data.export", 300_000)).await;
    let decided = create(&store, &new_approval("agent:a", "", "data.export", 100_000)).await;
    assert!(store
        .transition(
            &decided.id,
            ApprovalState::Pending,
            ApprovalState::Approved,
            UnixMillis(50_000),
            &[]
        )
        .await
        .unwrap());
    store
        .insert_capability(&capability("cap-early", Some(&decided.id), 150_000), &[])
        .await
        .unwrap();
    store
        .insert_capability(&capability("cap-late", None, 400_000), &[])
        .await
        .unwrap();

    assert_eq!(
        store
            .expire_due(UnixMillis(99_999), &|_| Vec::new())
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        store
            .expire_due(UnixMillis(150_000), &|_| Vec::new())
            .await
            .unwrap(),
        vec![early.id.clone()]
    );
    assert_eq!(
        store
            .expire_due(UnixMillis(150_000), &|_| Vec::new())
            .await
            .unwrap(),
        Vec::<String>::new()
    );

    // Written down: observed at time 0 it is still expired.
    let swept = store
        .get_approval(&early.id, UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (swept.state, swept.updated_at),
        (ApprovalState::Expired, UnixMillis(150_000))
    );
    let cap = store
        .get_capability("cap-early", UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cap.state, CapabilityState::Expired);
    let cap = store
        .get_capability("cap-late", UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cap.state, CapabilityState::Issued);

    // Overdue but not swept: reads say expired, the row still says pending.
    let read = store
        .get_approval(&middle.id, UnixMillis(250_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.state, ApprovalState::Expired);
    let stored = store
        .get_approval(&middle.id, UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, ApprovalState::Pending);

    assert_eq!(
        store
            .expire_due(UnixMillis(250_000), &|_| Vec::new())
            .await
            .unwrap(),
        vec![middle.id.clone()]
    );
    let approved = store
        .get_approval(&decided.id, UnixMillis(1_000_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.state, ApprovalState::Approved);
    assert_eq!(
        store
            .expire_due(UnixMillis(1_000_000), &|_| Vec::new())
            .await
            .unwrap(),
        vec![late.id.clone()]
    );
    let cap = store
        .get_capability("cap-late", UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cap.state, CapabilityState::Expired);
}

/// The free-text filter matches the action, the resource and the intent, case-insensitively,
/// with `%` and `_` taken literally, and combines with the others.
pub(crate) async fn list_searches_action_resource_and_intent(store: Arc<dyn Db>) {
    let now = 5_000;
    let with = |action: &str, resource: (&str, &str), intent: &str| {
        let mut new = new_approval("agent:a", "", action, 10_000);
        new.request["resource"] = json!({"type": resource.0, "id": resource.1});
        new.request["context"] = json!({"intent": intent});
        new
    };
    let export = create(
        &store,
        &with(
            "data.export",
            ("dataset", "users-eu"),
            "Quarterly churn, TICKET-812",
        ),
    )
    .await;
    let drop = create(
        &store,
        &with(
            "db.drop",
            ("database", "orders_eu"),
            "decommission after migration",
        ),
    )
    .await;
    let rotate = create(&store, &with("keys.rotate", ("key", "api-100%"), "")).await;
    let search = |text: &str| ApprovalFilter {
        text: Some(text.into()),
        ..ApprovalFilter::default()
    };
    assert_eq!(
        list_ids(&store, search("ticket-812"), now).await,
        vec![export.id.clone()],
        "the intent, whatever the case"
    );
    assert_eq!(
        list_ids(&store, search("database/orders"), now).await,
        vec![drop.id.clone()],
        "the resource as type/id"
    );
    assert_eq!(
        list_ids(&store, search("DB.DROP"), now).await,
        vec![drop.id.clone()],
        "the action"
    );
    assert_eq!(
        list_ids(&store, search("s_e"), now).await,
        vec![drop.id.clone()],
        "_ is literal: orders_eu, not users-eu"
    );
    assert_eq!(
        list_ids(&store, search("%"), now).await,
        vec![rotate.id.clone()],
        "% is literal"
    );
    assert!(list_ids(&store, search("nothing like it"), now)
        .await
        .is_empty());
    let combined = ApprovalFilter {
        action: Some("data.export".into()),
        ..search("e")
    };
    assert_eq!(
        list_ids(&store, combined, now).await,
        vec![export.id.clone()]
    );
}

/// The pending quota counts one subject's approvals that are pending now, and only refuses
/// what would open another: a replay of an existing key is answered at the quota and under it,
/// an expired or settled approval frees its place, and another subject has a quota of its own.
pub(crate) async fn the_quota_counts_pending_of_the_subject_and_answers_replays(
    store: Arc<dyn Db>,
) {
    let open = |key: &str, limit: u32| {
        let (store, new) = (
            store.clone(),
            new_approval("agent:q", key, "db.drop", 10_000),
        );
        async move { store.create_approval(&new, Some(limit), &[]).await }
    };
    let (k1, created) = open("k1", 2).await.unwrap();
    assert!(created);
    assert!(open("k2", 2).await.unwrap().1);
    match open("k3", 2).await {
        Err(StoreError::QuotaExceeded { pending, limit }) => assert_eq!((pending, limit), (2, 2)),
        other => panic!("a third pending request was not refused: {other:?}"),
    }
    // A replay is answered, at the quota and under it (where the insert meets the key).
    for limit in [2, 3] {
        let (same, created) = open("k1", limit).await.unwrap();
        assert_eq!((same.id.as_str(), created), (k1.id.as_str(), false));
    }
    // Another subject counts its own.
    let other = new_approval("agent:other", "k3", "db.drop", 10_000);
    assert!(store.create_approval(&other, Some(2), &[]).await.unwrap().1);
    // A settled request frees its place; so does one past its deadline.
    assert!(store
        .transition(
            &k1.id,
            ApprovalState::Pending,
            ApprovalState::Denied,
            UnixMillis(2_000),
            &[]
        )
        .await
        .unwrap());
    assert!(open("k3", 2).await.unwrap().1);
    let mut later = new_approval("agent:q", "k4", "db.drop", 20_000);
    later.created_at = UnixMillis(10_000);
    assert!(store.create_approval(&later, Some(1), &[]).await.unwrap().1);
}

/// The quota's count is exact through every way a request leaves pending (denied, cancelled,
/// approved with its capability, swept as expired), for a request past its deadline that no
/// sweep has reached yet, and for a modified (narrowed) request, which stays pending: the
/// refusal names the exact count, and one fewer place is refused while one more is granted.
/// (SQLite keeps a per-subject running count for this, migration 0012; a path that forgot to
/// move it would show here as a count off by one.)
pub(crate) async fn the_quota_count_follows_every_way_out_of_pending(store: Arc<dyn Db>) {
    let subject = "agent:counted";
    let open = |key: &str, expires_at: i64| new_approval(subject, key, "db.drop", expires_at);
    let mut ids = Vec::new();
    for (key, expires_at) in [
        ("denied", 50_000),
        ("cancelled", 50_000),
        ("approved", 50_000),
        ("swept", 20_000),
        ("overdue", 30_000),
        ("narrowed", 50_000),
        ("open", 50_000),
    ] {
        let (a, created) = store
            .create_approval(&open(key, expires_at), Some(100), &[])
            .await
            .unwrap();
        assert!(created, "{key}");
        ids.push(a.id);
    }
    settle(&store, &ids[0], ApprovalState::Denied).await;
    settle(&store, &ids[1], ApprovalState::Cancelled).await;
    assert!(store
        .approve_with_capability(
            &ids[2],
            &capability("counted-cap", Some(&ids[2]), 60_000),
            UnixMillis(2_000),
            &[]
        )
        .await
        .unwrap());
    assert_eq!(
        store
            .expire_due(UnixMillis(25_000), &|_| Vec::new())
            .await
            .unwrap(),
        vec![ids[3].clone()]
    );
    let narrowed = RequestChange {
        request: json!({"subject": {"id": subject}, "action": {"name": "db.drop", "params": {"rows": 1}}}),
        request_hash: "cd".repeat(32),
        requirements: json!([{"groups": ["security"], "quorum": 1}]),
        previous_hash: "ab".repeat(32),
    };
    let modify = review(&ids[5], "user:carol", ReviewVerdict::Modify, 26_000);
    let outcome = store
        .add_review(&modify, Some(&narrowed), &[])
        .await
        .unwrap();
    assert!(matches!(outcome, ReviewOutcome::Recorded(_)), "{outcome:?}");
    // At 40,000: "overdue" is past its deadline but not swept; "narrowed" and "open" remain.
    quota_counts(&store, subject, 40_000, 2).await;
    // Another subject's approvals are not this subject's; the probe's own is.
    quota_counts(&store, "agent:stranger", 40_000, 0).await;
    quota_counts(&store, subject, 40_000, 3).await;
}

/// Moves pending approval `id` to `to` at 2,000 (in time), which must happen.
async fn settle(store: &Arc<dyn Db>, id: &str, to: ApprovalState) {
    let moved = store
        .transition(id, ApprovalState::Pending, to, UnixMillis(2_000), &[])
        .await
        .unwrap();
    assert!(moved, "{id} did not move to {to:?}");
}

/// Asserts that `subject` has exactly `n` pending approvals at `at` as the quota counts them: a
/// creation is refused at a limit of `n`, naming `n`, and made at `n + 1` (one more pending).
async fn quota_counts(store: &Arc<dyn Db>, subject: &str, at: i64, n: u32) {
    let mut probe = new_approval(subject, &format!("probe-{n}"), "db.drop", 90_000);
    probe.created_at = UnixMillis(at);
    match store.create_approval(&probe, Some(n), &[]).await {
        Err(StoreError::QuotaExceeded { pending, limit }) => {
            assert_eq!((pending, limit), (u64::from(n), n), "{subject}");
        }
        other => panic!("{subject}: the quota did not count {n} pending: {other:?}"),
    }
    let (_, created) = store
        .create_approval(&probe, Some(n + 1), &[])
        .await
        .unwrap();
    assert!(
        created,
        "{subject}: refused under a limit of {} with {n} pending",
        n + 1
    );
}

/// Attack: many requests of one subject race to open pending approvals through two handles
/// (two replicas); the quota must hold across them, not per handle or per transaction.
async fn pending_quota_holds_across_handles(first: Arc<dyn Db>, second: Arc<dyn Db>) {
    const LIMIT: u32 = 5;
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let store = if i % 2 == 0 { &first } else { &second }.clone();
            tokio::spawn(async move {
                let new = new_approval("agent:quota", &format!("q-{i}"), "db.drop", 10_000);
                store.create_approval(&new, Some(LIMIT), &[]).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok((_, true)) => created += 1,
            Ok((a, false)) => panic!("a fresh request key answered as a replay: {a:?}"),
            Err(StoreError::QuotaExceeded { limit, .. }) => assert_eq!(limit, LIMIT),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(created, LIMIT, "pending approvals opened past the quota");
    let pending = first.count_pending(UnixMillis(2_000)).await.unwrap();
    assert_eq!(pending, u64::from(LIMIT));
}

two_handle_tests!(pending_quota_holds_across_handles =>
    Sqlite: sqlite_pending_quota_holds_across_two_handles,
    Postgres: postgres_pending_quota_holds_across_two_handles,
    GroupedPostgres: grouped_postgres_pending_quota_holds_across_two_handles,
);

/// SQLite's running pending counts (migration 0012) start from the approvals a store already
/// holds: the migration run again over a store with pending, settled and overdue approvals of
/// two subjects leaves the quota counting exactly what it counted before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pending_counts_start_from_the_stored_approvals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let store: Arc<dyn Db> = Arc::new(SqliteStore::open(&path).await.unwrap());
    for (subject, key, expires_at) in [
        ("agent:a", "a1", 50_000),
        ("agent:a", "a2", 50_000),
        ("agent:a", "a3", 50_000),
        ("agent:a", "overdue", 5_000),
        ("agent:b", "b1", 50_000),
    ] {
        create(&store, &new_approval(subject, key, "db.drop", expires_at)).await;
    }
    let settled = create(&store, &new_approval("agent:a", "a4", "db.drop", 50_000)).await;
    settle(&store, &settled.id, ApprovalState::Denied).await;
    drop(store);
    // As a store from before migration 0012: no counts, no triggers, the migration not run.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER approvals_pending_inserted; DROP TRIGGER approvals_pending_left; \
         DROP TRIGGER approvals_pending_entered; DROP TRIGGER approvals_pending_deleted; \
         DROP TABLE pending_counts; DELETE FROM _sqlx_migrations WHERE version = 12;",
    )
    .unwrap();
    drop(conn);
    let store: Arc<dyn Db> = Arc::new(SqliteStore::open(&path).await.unwrap());
    quota_counts(&store, "agent:a", 10_000, 3).await;
    quota_counts(&store, "agent:b", 10_000, 1).await;
}

/// Attack: a running count edited by hand below what the store holds past its deadline makes
/// the count negative; the quota fails closed (the creation is refused as a store fault)
/// rather than reading it as zero pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_negative_pending_count_refuses_the_creation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let store: Arc<dyn Db> = Arc::new(SqliteStore::open(&path).await.unwrap());
    create(
        &store,
        &new_approval("agent:a", "overdue", "db.drop", 5_000),
    )
    .await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE pending_counts SET n = 0 WHERE subject_id = 'agent:a'",
        [],
    )
    .unwrap();
    drop(conn);
    let mut new = new_approval("agent:a", "next", "db.drop", 90_000);
    new.created_at = UnixMillis(10_000);
    match store.create_approval(&new, Some(100), &[]).await {
        Err(StoreError::Corrupt { column, value }) => {
            assert_eq!((column, value.as_str()), ("pending_counts.n", "-1"));
        }
        other => panic!("a negative pending count was not refused: {other:?}"),
    }
    let grouped = super::grouped::GroupedDb::over(store.clone());
    match grouped.create_approval(&new, Some(100), &[]).await {
        Err(StoreError::Corrupt { column, .. }) => assert_eq!(column, "pending_counts.n"),
        other => panic!("a negative pending count was not refused (group commit): {other:?}"),
    }
}

/// Attack: two replicas, each with several shared transactions open at once, review the same
/// approvals at the same moment, queued in clashing orders (one transaction would lock `a`
/// then `b`, another `b` then `a`). No transaction may wait for another in a cycle: every
/// review is answered (PostgreSQL's deadlock detector would fail a whole transaction and all
/// its callers), each approval holds every review, and the chain stays one gap-free line.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grouped_postgres_replicas_never_deadlock_on_shared_approvals() {
    let Some((first, second, url, schema)) = two_postgres_handles().await else {
        return;
    };
    let (first, second) = (
        super::grouped::GroupedDb::over(first),
        super::grouped::GroupedDb::over(second),
    );
    const APPROVALS: usize = 6;
    const REVIEWERS: usize = 24;
    let mut ids = Vec::new();
    for i in 0..APPROVALS {
        let new = new_approval("agent:a", &format!("d-{i}"), "db.drop", 1 << 40);
        ids.push(create(&first, &new).await.id);
    }
    // Reviewer r visits the approvals in its own rotation, forwards or backwards, so the
    // queues of concurrent transactions hold the same rows in opposite orders.
    let tasks: Vec<_> = (0..REVIEWERS)
        .map(|r| {
            let store = if r % 2 == 0 { &first } else { &second }.clone();
            let mut order: Vec<String> = ids.clone();
            order.rotate_left(r % APPROVALS);
            if r % 4 >= 2 {
                order.reverse();
            }
            tokio::spawn(async move {
                let reviews = order.into_iter().map(|id| {
                    let store = store.clone();
                    async move {
                        let review =
                            review(&id, &format!("user:r{r}"), ReviewVerdict::Approve, 2_000);
                        let audit = [super::audit::event(
                            tollgate::domain::AuditKind::ApprovalReviewed,
                            "agent:a",
                            "db.drop",
                            2_000,
                        )];
                        (id.clone(), store.add_review(&review, None, &audit).await)
                    }
                });
                futures::future::join_all(reviews).await
            })
        })
        .collect();
    // Reviews of one approval queue on its row lock, so each reads every review committed
    // before it: the answers' lists hold 1, 2, ... REVIEWERS reviews, each length once. A
    // read as of before the lock (one statement taking its snapshot before it waits) would
    // miss reviews and repeat a length, and a quorum could then never settle.
    let mut seen: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for task in tasks {
        for (id, outcome) in task.await.unwrap() {
            match outcome {
                Ok(ReviewOutcome::Recorded(reviews)) => {
                    seen.entry(id).or_default().push(reviews.len());
                }
                other => panic!("a review was not answered as recorded: {other:?}"),
            }
        }
    }
    for (id, mut lengths) in seen {
        lengths.sort_unstable();
        assert_eq!(lengths, (1..=REVIEWERS).collect::<Vec<_>>(), "{id}");
    }
    for id in &ids {
        assert_eq!(first.reviews(id).await.unwrap().len(), REVIEWERS, "{id}");
    }
    let chain = super::audit::whole_chain(&first).await;
    assert_eq!(chain.len(), APPROVALS * REVIEWERS);
    drop_schema(&url, &schema).await;
}

/// Attack: one reviewer sends the same review many times at once through two replicas,
/// approving and denying, hoping to count twice toward a quorum (or to reverse its verdict).
/// Exactly one review is recorded, as the first that locked the approval found it; every other
/// answer is a repeat, and the approval holds one review.
async fn one_reviewer_racing_itself_counts_once(first: Arc<dyn Db>, second: Arc<dyn Db>) {
    const RACERS: usize = 16;
    let approval = create(&first, &new_approval("agent:a", "race", "db.drop", 1 << 40)).await;
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = if i % 2 == 0 { &first } else { &second }.clone();
            let id = approval.id.clone();
            let verdict = if i % 3 == 0 {
                ReviewVerdict::Deny
            } else {
                ReviewVerdict::Approve
            };
            let at = 2_000 + i64::try_from(i).unwrap();
            tokio::spawn(async move {
                let given = review(&id, "user:r1", verdict, at);
                (given.clone(), store.add_review(&given, None, &[]).await)
            })
        })
        .collect();
    let mut recorded = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (given, Ok(ReviewOutcome::Recorded(reviews))) => {
                assert_eq!(reviews, vec![given.clone()]);
                recorded.push(given);
            }
            (_, Ok(ReviewOutcome::Duplicate)) => {}
            (_, other) => panic!("a racing repeat was answered {other:?}"),
        }
    }
    assert_eq!(
        recorded.len(),
        1,
        "one reviewer counted {} times",
        recorded.len()
    );
    assert_eq!(first.reviews(&approval.id).await.unwrap(), recorded);
}

two_handle_tests!(one_reviewer_racing_itself_counts_once =>
    Sqlite: sqlite_one_reviewer_racing_itself_counts_once,
    Postgres: postgres_one_reviewer_racing_itself_counts_once,
    GroupedPostgres: grouped_postgres_one_reviewer_racing_itself_counts_once,
);
