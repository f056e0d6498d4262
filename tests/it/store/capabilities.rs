//! The capability half of the suite: single use under races, refusals, durability.

use std::sync::Arc;

use tollgate::domain::{CapabilityState, RedeemOutcome, ReviewVerdict, UnixMillis};
use tollgate::store::{ApprovalStore as _, CapabilityStore as _, SqliteStore, StoreError};

use super::{Db, DbWrites as _};

use super::{capability, create, new_approval, review};

pub(crate) async fn redeem_refusals_name_the_reason(store: Arc<dyn Db>) {
    let approval = create(&store, &new_approval("agent:a", "", "data.export", 10_000)).await;
    let cap = capability("cap-1", Some(&approval.id), 60_000);
    store.insert_capability(&cap, &[]).await.unwrap();
    let err = store.insert_capability(&cap, &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                kind: "capability",
                ..
            }
        ),
        "{err:?}"
    );
    let orphan = capability("cap-orphan", Some("no-such-approval"), 60_000);
    let err = store.insert_capability(&orphan, &[]).await.unwrap_err();
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
    assert_eq!(
        store
            .get_capability("cap-orphan", UnixMillis(0))
            .await
            .unwrap(),
        None
    );

    let hash = cap.request_hash.clone();
    let wrong = "ef".repeat(32);
    assert_eq!(
        store
            .redeem_capability("cap-1", &wrong, UnixMillis(2_000), &[])
            .await
            .unwrap(),
        RedeemOutcome::HashMismatch
    );
    assert_eq!(
        store
            .redeem_capability("cap-1", &hash, UnixMillis(2_000), &[])
            .await
            .unwrap(),
        RedeemOutcome::Redeemed
    );
    assert_eq!(
        store
            .redeem_capability("cap-1", &hash, UnixMillis(2_001), &[])
            .await
            .unwrap(),
        RedeemOutcome::AlreadyRedeemed
    );
    let used = store
        .get_capability("cap-1", UnixMillis(2_002))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (used.state, used.redeemed_at),
        (CapabilityState::Redeemed, Some(UnixMillis(2_000)))
    );

    store
        .insert_capability(&capability("cap-2", None, 60_000), &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_capability("cap-2", &hash, UnixMillis(60_000), &[])
            .await
            .unwrap(),
        RedeemOutcome::Expired
    );
    assert_eq!(
        store
            .get_capability("cap-2", UnixMillis(0))
            .await
            .unwrap()
            .unwrap()
            .state,
        CapabilityState::Issued,
        "a refused redemption changes nothing"
    );

    let mut revoked = capability("cap-3", None, 60_000);
    revoked.state = CapabilityState::Revoked;
    store.insert_capability(&revoked, &[]).await.unwrap();
    assert_eq!(
        store
            .redeem_capability("cap-3", &hash, UnixMillis(2_000), &[])
            .await
            .unwrap(),
        RedeemOutcome::Revoked
    );
    assert_eq!(
        store
            .redeem_capability("no-such-cap", &hash, UnixMillis(2_000), &[])
            .await
            .unwrap(),
        RedeemOutcome::NotFound
    );
}

pub(crate) async fn concurrent_redeemers_have_one_winner(store: Arc<dyn Db>) {
    let cap = capability("cap-race", None, 60_000);
    store.insert_capability(&cap, &[]).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, hash) = (store.clone(), cap.request_hash.clone());
            tokio::spawn(async move {
                store
                    .redeem_capability("cap-race", &hash, UnixMillis(2_000), &[])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let wins = outcomes
        .iter()
        .filter(|o| **o == RedeemOutcome::Redeemed)
        .count();
    assert_eq!(wins, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, RedeemOutcome::Redeemed | RedeemOutcome::AlreadyRedeemed)));
}

#[tokio::test]
async fn sqlite_keeps_everything_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tollgate.db");
    let new = new_approval("agent:a", "k1", "data.export", 10_000);
    let first = review(&new.id, "user:r1", ReviewVerdict::Approve, 2_000);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        create(&(Arc::new(store.clone()) as Arc<dyn Db>), &new).await;
        store.add_review(&first, None, &[]).await.unwrap();
        store
            .insert_capability(&capability("cap-1", Some(&new.id), 60_000), &[])
            .await
            .unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let got = store
        .get_approval(&new.id, UnixMillis(2_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, new.clone().into_pending());
    assert_eq!(store.reviews(&new.id).await.unwrap(), vec![first]);
    let cap = store
        .get_capability("cap-1", UnixMillis(2_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cap.state, CapabilityState::Issued);
    // The idempotency key and the deadline survive too.
    let (same, created) = store.create_approval(&new, None, &[]).await.unwrap();
    assert_eq!((same.id, created), (new.id.clone(), false));
    assert_eq!(
        store
            .expire_due(UnixMillis(10_000), &|_| Vec::new())
            .await
            .unwrap(),
        vec![new.id.clone()]
    );
}

/// 64 redeemers split across two independent handles (two pools, as two replicas or two
/// processes would have) on one database: exactly one wins.
async fn redeem_once_across_handles(first: Arc<dyn Db>, second: Arc<dyn Db>) {
    let cap = capability("cap-replicas", None, 60_000);
    first.insert_capability(&cap, &[]).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = if i % 2 == 0 { &first } else { &second }.clone();
            let hash = cap.request_hash.clone();
            tokio::spawn(async move {
                store
                    .redeem_capability("cap-replicas", &hash, UnixMillis(2_000), &[])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap() == RedeemOutcome::Redeemed);
    }
    assert_eq!(wins, 1);
    let seen = second
        .get_capability("cap-replicas", UnixMillis(2_000))
        .await
        .unwrap();
    assert_eq!(seen.unwrap().state, CapabilityState::Redeemed);
}

two_handle_tests!(redeem_once_across_handles =>
    Sqlite: sqlite_redeems_once_across_two_handles,
    Postgres: postgres_redeems_once_across_two_handles,
);
