//! The outbox's statements, stamped out per backend by [`notify_ops!`] like `audit_ops.rs`:
//! the audit append enqueues events through [`enqueue`](notify_ops) inside its transaction;
//! the outbox worker's operations (`OutboxStore`) and single-use values (`NonceStore`) are
//! implemented on top.

/// Generates `mod notify_ops` for database `$db`, and the [`OutboxStore`] and
/// [`NonceStore`] impls for `$store`.
///
/// [`OutboxStore`]: crate::store::OutboxStore
/// [`NonceStore`]: crate::store::NonceStore
macro_rules! notify_ops {
    ($store:ty, $db:ty, $begin:expr) => {
        /// The outbox statements; each joins whatever transaction its connection is in.
        mod notify_ops {
            use sqlx::Row;

            use crate::domain::{Delivery, DeliveryState, NotifyEvent, NotifyKind, UnixMillis};
            use crate::store::{sql, StoreError};

            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            fn corrupt(column: &'static str, value: &str) -> StoreError {
                StoreError::Corrupt {
                    column,
                    value: value.to_owned(),
                }
            }

            pub(super) async fn insert_event(
                conn: &mut Conn,
                n: &NotifyEvent,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::INSERT_NOTIFY_EVENT)
                    .bind(&n.id)
                    .bind(n.kind.as_str())
                    .bind(&n.approval_id)
                    .bind(n.at.0)
                    .bind(n.body.to_string())
                    .bind(false)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(super) fn event(row: &DbRow) -> Result<NotifyEvent, StoreError> {
                let kind: String = row.try_get("kind")?;
                let body: String = row.try_get("body")?;
                Ok(NotifyEvent {
                    id: row.try_get("id")?,
                    kind: NotifyKind::parse(&kind)
                        .ok_or_else(|| corrupt("notify_events.kind", &kind))?,
                    approval_id: row.try_get("approval_id")?,
                    at: UnixMillis(row.try_get("at")?),
                    body: serde_json::from_str(&body)
                        .map_err(|_| corrupt("notify_events.body", &body))?,
                })
            }

            pub(super) fn delivery(row: &DbRow) -> Result<Delivery, StoreError> {
                let state: String = row.try_get("state")?;
                let attempts: i32 = row.try_get("attempts")?;
                let kind: String = row.try_get("kind")?;
                let body: String = row.try_get("body")?;
                let event = NotifyEvent {
                    id: row.try_get("event_id")?,
                    kind: NotifyKind::parse(&kind)
                        .ok_or_else(|| corrupt("notify_events.kind", &kind))?,
                    approval_id: row.try_get("approval_id")?,
                    at: UnixMillis(row.try_get("at")?),
                    body: serde_json::from_str(&body)
                        .map_err(|_| corrupt("notify_events.body", &body))?,
                };
                Ok(Delivery {
                    event,
                    channel: row.try_get("channel")?,
                    state: DeliveryState::parse(&state)
                        .ok_or_else(|| corrupt("notify_deliveries.state", &state))?,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                    next_attempt_at: UnixMillis(row.try_get("next_attempt_at")?),
                    delivered_at: row
                        .try_get::<Option<i64>, _>("delivered_at")?
                        .map(UnixMillis),
                    last_error: row.try_get("last_error")?,
                    external_ref: row.try_get("external_ref")?,
                })
            }

            pub(super) async fn delivery_by_key(
                conn: &mut Conn,
                event_id: &str,
                channel: &str,
            ) -> Result<Option<Delivery>, StoreError> {
                let row = sqlx::query(sql::DELIVERY_BY_KEY)
                    .bind(event_id)
                    .bind(channel)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.as_ref().map(delivery).transpose()
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::OutboxStore for $store {
            fn write_events(&self, on: bool) {
                self.notify.store(on, std::sync::atomic::Ordering::Relaxed);
            }

            async fn unrouted(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::domain::NotifyEvent>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                let rows = sqlx::query($crate::store::sql::UNROUTED_EVENTS)
                    .bind(false)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(notify_ops::event).collect()
            }

            async fn route(
                &self,
                routed: Vec<$crate::domain::Routed>,
            ) -> Result<(), $crate::store::StoreError> {
                if routed.is_empty() {
                    return Ok(());
                }
                self.route_events(routed).await
            }

            async fn claim(
                &self,
                owner: &str,
                now: $crate::domain::UnixMillis,
                lease_until: $crate::domain::UnixMillis,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Delivery>, $crate::store::StoreError> {
                use sqlx::Row;
                // Most passes find nothing due: look first, so that they take no write lock
                // (the decisions' commits would wait for it).
                let any_due = sqlx::query($crate::store::sql::DUE_DELIVERIES)
                    .bind(now.0)
                    .bind(1_i64)
                    .fetch_optional(&self.pool)
                    .await?;
                if any_due.is_none() {
                    return Ok(Vec::new());
                }
                // One transaction for the pass's leases: one commit, not one per delivery.
                let (_turn, mut tx) = self.begin_write().await?;
                let due = sqlx::query($crate::store::sql::DUE_DELIVERIES)
                    .bind(now.0)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut claimed = Vec::new();
                for row in &due {
                    let event_id: String = row.try_get("event_id")?;
                    let channel: String = row.try_get("channel")?;
                    let won = sqlx::query($crate::store::sql::CLAIM_DELIVERY)
                        .bind(&event_id)
                        .bind(&channel)
                        .bind(owner)
                        .bind(lease_until.0)
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1;
                    if !won {
                        continue;
                    }
                    if let Some(d) =
                        notify_ops::delivery_by_key(&mut *tx, &event_id, &channel).await?
                    {
                        claimed.push(d);
                    }
                }
                tx.commit().await?;
                Ok(claimed)
            }

            async fn settle(
                &self,
                delivery: &$crate::domain::Delivery,
                owner: &str,
                outcome: &$crate::domain::DeliveryOutcome,
                now: $crate::domain::UnixMillis,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::domain::{DeliveryOutcome as O, DeliveryState as S};
                let (state, delivered_at, next, error, external_ref, give_back) = match outcome {
                    O::Delivered { external_ref } => (
                        S::Delivered,
                        Some(now.0),
                        now.0,
                        String::new(),
                        external_ref.clone(),
                        0,
                    ),
                    O::Retry { at, error } => {
                        (S::Pending, None, at.0, error.clone(), String::new(), 0)
                    }
                    O::Dead { error } => (S::Dead, None, now.0, error.clone(), String::new(), 0),
                    O::Deferred { at } => (
                        S::Pending,
                        None,
                        at.0,
                        delivery.last_error.clone(),
                        String::new(),
                        1,
                    ),
                };
                let _turn = self.write_turn().await;
                let mut conn = self.pool.acquire().await?;
                let done = sqlx::query($crate::store::sql::SETTLE_DELIVERY)
                    .bind(&delivery.event.id)
                    .bind(&delivery.channel)
                    .bind(owner)
                    .bind(state.as_str())
                    .bind(delivered_at)
                    .bind(next)
                    .bind(error)
                    .bind(external_ref)
                    .bind(give_back as i32)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn deliveries_of(
                &self,
                approval_id: &str,
            ) -> Result<Vec<$crate::domain::Delivery>, $crate::store::StoreError> {
                let mut conn = self.pool.acquire().await?;
                let rows = sqlx::query($crate::store::sql::DELIVERIES_OF)
                    .bind(approval_id)
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(notify_ops::delivery).collect()
            }

            async fn delivery_stats(
                &self,
                recent: u32,
            ) -> Result<$crate::domain::DeliveryStats, $crate::store::StoreError> {
                use sqlx::Row;
                let mut conn = self.pool.acquire().await?;
                let mut stats = $crate::domain::DeliveryStats::default();
                let rows = sqlx::query($crate::store::sql::DELIVERY_COUNTS)
                    .fetch_all(&mut *conn)
                    .await?;
                for row in &rows {
                    let state: String = row.try_get("state")?;
                    let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
                    let failing =
                        u64::try_from(row.try_get::<Option<i64>, _>("failing")?.unwrap_or(0))
                            .unwrap_or(0);
                    match state.as_str() {
                        "pending" => {
                            stats.pending = n;
                            stats.failing = failing;
                        }
                        "dead" => stats.dead = n,
                        _ => {}
                    }
                }
                let rows = sqlx::query($crate::store::sql::RECENT_FAILURES)
                    .bind(i64::from(recent))
                    .fetch_all(&mut *conn)
                    .await?;
                stats.recent_failures = rows
                    .iter()
                    .map(notify_ops::delivery)
                    .collect::<Result<_, _>>()?;
                Ok(stats)
            }

            async fn enqueue_reminders(
                &self,
                now: $crate::domain::UnixMillis,
                before: std::time::Duration,
            ) -> Result<u64, $crate::store::StoreError> {
                use sqlx::Row;
                // Look first without taking the write lock: most passes find nothing due,
                // and a write transaction every pass would queue behind (and hold up) the
                // decisions' group commits on SQLite.
                let due = {
                    let mut conn = self.pool.acquire().await?;
                    sqlx::query($crate::store::sql::DUE_REMINDERS)
                        .bind(now.0)
                        .bind(now.plus(before).0)
                        .fetch_all(&mut *conn)
                        .await?
                };
                if due.is_empty() {
                    return Ok(0);
                }
                // Another replica may write the same reminders meanwhile: the insert keeps
                // the first.
                let (_turn, mut tx) = self.begin_write().await?;
                let mut written = 0;
                for row in &due {
                    let id: String = row.try_get("id")?;
                    let expires_at = $crate::domain::UnixMillis(row.try_get("expires_at")?);
                    let reminder = $crate::domain::NotifyEvent::reminder(&id, now, expires_at);
                    if notify_ops::insert_event(&mut tx, &reminder).await? {
                        written += 1;
                    }
                }
                tx.commit().await?;
                Ok(written)
            }

            async fn purge_deliveries(
                &self,
                now: $crate::domain::UnixMillis,
                delivered_before: $crate::domain::UnixMillis,
                dead_before: $crate::domain::UnixMillis,
                limit: u32,
            ) -> Result<u64, $crate::store::StoreError> {
                // Two short statements, each its own transaction: a batch holds the write
                // lock briefly, and a purge cut short is simply continued by the next.
                let _turn = self.write_turn().await;
                let mut conn = self.pool.acquire().await?;
                let deliveries = sqlx::query($crate::store::sql::PURGE_DELIVERIES)
                    .bind(now.0)
                    .bind(delivered_before.0)
                    .bind(dead_before.0)
                    .bind(i64::from(limit))
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                let events = sqlx::query($crate::store::sql::PURGE_EVENTS)
                    .bind(now.0)
                    .bind(delivered_before.0)
                    .bind(true)
                    .bind(i64::from(limit))
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                Ok(deliveries + events)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::NonceStore for $store {
            async fn use_once(
                &self,
                nonce: &str,
                now: $crate::domain::UnixMillis,
                expires_at: $crate::domain::UnixMillis,
            ) -> Result<bool, $crate::store::StoreError> {
                let _turn = self.write_turn().await;
                let mut conn = self.pool.acquire().await?;
                sqlx::query($crate::store::sql::PURGE_NONCES)
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await?;
                let done = sqlx::query($crate::store::sql::USE_NONCE)
                    .bind(nonce)
                    .bind(now.0)
                    .bind(expires_at.0)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn was_used(
                &self,
                nonce: &str,
                now: $crate::domain::UnixMillis,
            ) -> Result<bool, $crate::store::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query($crate::store::sql::NONCE_USED)
                    .bind(nonce)
                    .bind(now.0)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get::<i64, _>("n")? > 0)
            }
        }
    };
}

pub(super) use notify_ops;
