//! The outbox's retention, on both backends: delivered rows go after the retention, dead ones
//! after the (longer) dead retention, in batches; newer rows, undelivered ones and those of an
//! approval still pending stay. Time is passed explicitly.

use std::{sync::Arc, time::Duration};

use tollgate::{
    domain::{DeliveryOutcome, NewDelivery, NotifyEvent, Routed, UnixMillis},
    store::OutboxStore,
};

use super::{create, new_approval, Db, DbWrites as _};

const DAY: i64 = 86_400_000;

/// `n` approvals expiring at `expires_at`, each with a reminder written (at time 1,000) and
/// not yet routed: the reminder events.
async fn with_reminders<S: Db + OutboxStore + 'static>(
    store: &Arc<S>,
    n: u64,
    expires_at: i64,
) -> Vec<NotifyEvent> {
    let db: Arc<dyn Db> = store.clone();
    for _ in 0..n {
        let request_id = uuid::Uuid::now_v7().to_string();
        create(
            &db,
            &new_approval("agent:a", &request_id, "db.drop", expires_at),
        )
        .await;
    }
    let written = store
        .enqueue_reminders(UnixMillis(1_000), Duration::from_secs(100 * 86_400))
        .await
        .unwrap();
    assert_eq!(written, n);
    let events = store.unrouted(10).await.unwrap();
    assert_eq!(events.len() as u64, n);
    events
}

/// One approval expiring at `expires_at` with a reminder routed to channel `hook`; its id.
async fn with_delivery<S: Db + OutboxStore + 'static>(store: &Arc<S>, expires_at: i64) -> String {
    let routed = to_hook(with_reminders(store, 1, expires_at).await);
    let id = routed[0].event.approval_id.clone();
    store.route(routed).await.unwrap();
    id
}

/// Each event routed to channel `hook`.
fn to_hook(events: Vec<NotifyEvent>) -> Vec<Routed> {
    events
        .into_iter()
        .map(|event| Routed {
            deliveries: vec![NewDelivery {
                channel: "hook".into(),
                next_attempt_at: event.at,
            }],
            event,
        })
        .collect()
}

/// A pass's events are routed in one call: every one is marked routed with its deliveries
/// (an event no channel wants is routed with none), and routing them again, as a second
/// replica would, changes nothing.
async fn a_pass_routes_all_its_events_at_once<S: Db + OutboxStore + 'static>(store: Arc<S>) {
    let events = with_reminders(&store, 3, DAY).await;
    let mut routed = to_hook(events);
    // The last event goes nowhere.
    routed[2].deliveries.clear();
    store.route(routed.clone()).await.unwrap();
    assert!(store.unrouted(10).await.unwrap().is_empty(), "all routed");
    let mut counts = Vec::new();
    for r in &routed {
        counts.push(kept_count(&*store, &r.event.approval_id).await);
    }
    assert_eq!(counts, [1, 1, 0]);
    // Another replica routing the same events: no second delivery, nothing unrouted.
    store.route(routed.clone()).await.unwrap();
    assert_eq!(kept_count(&*store, &routed[0].event.approval_id).await, 1);
    assert!(store.unrouted(10).await.unwrap().is_empty());
    store.route(Vec::new()).await.unwrap();
}

/// One append of more records and notifications than one SQLite insert holds (PostgreSQL
/// writes them all, as arrays, with the new head): every record chained in order, every
/// notification enqueued exactly once and as it was (its approval, kind, time and body).
async fn a_large_append_chains_and_enqueues_every_row<S: Db + OutboxStore + 'static>(
    store: Arc<S>,
) {
    use tollgate::domain::AuditKind;
    let events: Vec<_> = (0..600)
        .map(|i| {
            let kind = if i % 3 == 0 {
                AuditKind::Decision
            } else {
                AuditKind::ApprovalReviewed
            };
            let mut e = super::audit::event(kind, "agent:a", "db.drop", 1_000 + i);
            if kind != AuditKind::Decision {
                e.approval_id = format!("approval-{i}");
            }
            e
        })
        .collect();
    let db: Arc<dyn Db> = store.clone();
    let written = db.append_audit(&events).await.unwrap();
    assert_eq!(written.len(), events.len());
    let chain = super::audit::whole_chain(&db).await;
    let stored: Vec<_> = chain.into_iter().map(|r| r.event).collect();
    assert_eq!(stored, events, "every record, in order");

    let mut enqueued = store.unrouted(1_000).await.unwrap();
    let mut expected: Vec<_> = events.iter().filter_map(NotifyEvent::of).collect();
    enqueued.sort_by(|a, b| a.id.cmp(&b.id));
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(expected.len(), 400);
    assert_eq!(enqueued, expected, "every notification, once, as it was");
}

/// The ids of the events `store` holds unrouted, oldest first, at most `limit`.
pub(crate) async fn unrouted_ids<S: OutboxStore + ?Sized>(store: &S, limit: u32) -> Vec<String> {
    let events = store.unrouted(limit).await.unwrap();
    events.into_iter().map(|n| n.id).collect()
}

/// Where no route is configured the outbox writes no events (`write_events(false)`): the
/// records of a shared commit and of an approval's own transaction are all stored, their
/// notifications none; told again, it writes them.
async fn events_are_written_only_while_routes_can_take_them<S: Db + OutboxStore + 'static>(
    store: Arc<S>,
) {
    use tollgate::domain::AuditKind;
    let db: Arc<dyn Db> = store.clone();
    let reviewed = |n: i64| {
        let mut e = super::audit::event(AuditKind::ApprovalReviewed, "user:r", "db.drop", n);
        e.approval_id = format!("approval-{n}");
        e
    };
    let requested = |request_id: &str, at: i64| {
        let new = new_approval("agent:a", request_id, "db.drop", at + DAY);
        let mut e = super::audit::event(AuditKind::ApprovalRequested, "agent:a", "db.drop", at);
        e.approval_id = new.id.clone();
        (new, e)
    };

    store.write_events(false);
    db.append_audit(&[reviewed(1), reviewed(2)]).await.unwrap();
    let (new, off) = requested("off", 3);
    let (_, created) = db
        .create_approval(&new, None, std::slice::from_ref(&off))
        .await
        .unwrap();
    assert!(created);
    assert!(
        unrouted_ids(&*store, 100).await.is_empty(),
        "no event is written while told not to"
    );

    store.write_events(true);
    let on = reviewed(4);
    db.append_audit(std::slice::from_ref(&on)).await.unwrap();
    let (new, later) = requested("on", 5);
    db.create_approval(&new, None, std::slice::from_ref(&later))
        .await
        .unwrap();
    assert_eq!(
        unrouted_ids(&*store, 100).await,
        [on.id, later.id],
        "told again, it writes them"
    );
    assert_eq!(
        super::audit::whole_chain(&db).await.len(),
        5,
        "every record is stored either way"
    );
}

/// Claims every due delivery, then settles approval `id`'s with `outcome` at `at` for each
/// of `settle` (the others go back to pending).
async fn settle_all<S: OutboxStore>(store: &S, settle: Vec<(&String, (DeliveryOutcome, i64))>) {
    let claimed = store
        .claim(
            "worker",
            UnixMillis(1_000),
            UnixMillis(1_000 + 100 * DAY),
            100,
        )
        .await
        .unwrap();
    for (id, (outcome, at)) in settle {
        let d = claimed.iter().find(|d| &d.event.approval_id == id).unwrap();
        assert!(store
            .settle(d, "worker", &outcome, UnixMillis(at))
            .await
            .unwrap());
    }
}

/// How many deliveries approval `id`'s events have.
async fn kept_count<S: OutboxStore>(store: &S, id: &str) -> usize {
    store.deliveries_of(id).await.unwrap().len()
}

async fn kept<S: OutboxStore>(store: &S, id: &str) -> bool {
    kept_count(store, id).await > 0
}

async fn rows_past_retention_go_and_the_rest_stay<S: Db + OutboxStore + 'static>(store: Arc<S>) {
    let delivered = |at: i64| {
        (
            DeliveryOutcome::Delivered {
                external_ref: String::new(),
            },
            at,
        )
    };
    let dead = |at: i64| {
        (
            DeliveryOutcome::Dead {
                error: "410 gone".into(),
            },
            at,
        )
    };
    let old_delivered = with_delivery(&store, 2 * DAY).await;
    let new_delivered = with_delivery(&store, 2 * DAY).await;
    let old_dead = with_delivery(&store, 2 * DAY).await;
    let younger_dead = with_delivery(&store, 2 * DAY).await;
    let still_pending = with_delivery(&store, 20 * DAY).await;
    let undelivered = with_delivery(&store, 2 * DAY).await;
    settle_all(
        &*store,
        vec![
            (&old_delivered, delivered(DAY)),
            (&new_delivered, delivered(5 * DAY)),
            (&old_dead, dead(DAY + DAY / 2)),
            (&younger_dead, dead(2 * DAY + DAY / 2)),
            (&still_pending, delivered(DAY)),
        ],
    )
    .await;

    // At day 10, delivered rows older than day 3 go, dead ones older than day 2; one row a
    // batch, so it takes passes until a pass finds nothing.
    let (now, delivered_before, dead_before) = (
        UnixMillis(10 * DAY),
        UnixMillis(3 * DAY),
        UnixMillis(2 * DAY),
    );
    let mut gone = 0;
    loop {
        let n = store
            .purge_deliveries(now, delivered_before, dead_before, 1)
            .await
            .unwrap();
        assert!(
            n <= 2,
            "a batch of 1 deletes at most a delivery and an event: {n}"
        );
        if n == 0 {
            break;
        }
        gone += n;
    }
    // Two deliveries and their two events.
    assert_eq!(gone, 4);
    assert!(!kept(&*store, &old_delivered).await);
    assert!(!kept(&*store, &old_dead).await);
    assert!(
        kept(&*store, &new_delivered).await,
        "delivered after the cutoff"
    );
    assert!(
        kept(&*store, &younger_dead).await,
        "dead rows are kept longer"
    );
    assert!(
        kept(&*store, &still_pending).await,
        "its approval is still pending"
    );
    assert!(kept(&*store, &undelivered).await, "never delivered");
    // Nothing else is due; an idle purge deletes nothing.
    assert_eq!(
        store
            .purge_deliveries(now, delivered_before, dead_before, 100)
            .await
            .unwrap(),
        0
    );
}

/// Runs each named `async fn(Arc<S>)` of this file on both backends, as `sqlite::name` and
/// `postgres::name`.
macro_rules! outbox_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = tollgate::store::SqliteStore::open(dir.path().join("tollgate.db"))
                        .await
                        .unwrap();
                    super::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((_, url, schema)) = crate::store::postgres_store().await else {
                        return;
                    };
                    let store = crate::store::postgres_handle(&url, &schema).await;
                    super::$name(std::sync::Arc::new(store)).await;
                    crate::store::drop_schema(&url, &schema).await;
                }
            )*
        }
    };
}

outbox_tests!(
    a_large_append_chains_and_enqueues_every_row,
    events_are_written_only_while_routes_can_take_them,
    a_pass_routes_all_its_events_at_once,
    rows_past_retention_go_and_the_rest_stay,
);
