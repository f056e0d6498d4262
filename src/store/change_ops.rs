//! The state changes and the shared transaction, written once over the per-statement
//! functions of `mod ops` and `mod audit_ops` beside them: stamped out by [`change_ops!`] for
//! each sqlx backend (`backend.rs`) and for the SQLite writer thread (`sqlite_writer.rs`), whose
//! statement functions are `async` only in name.

/// Generates `mod change` over `super::ops` and `super::audit_ops`.
macro_rules! change_ops {
    () => {
        /// The state changes, each on a connection inside a transaction (its own, or a
        /// savepoint of the group commit's), returning its outcome and whether it applied
        /// (then its writes are kept and its audit recorded; else they are rolled back).
        mod change {
            use super::ops;
            use $crate::domain::{
                Approval, ApprovalState, AuditEvent, Capability, NewApproval, RedeemOutcome,
                RequestChange, Review, ReviewOutcome, UnixMillis,
            };
            use $crate::store::{ReviewWrite, Settle, Settlement, StoreError};

            type Conn = ops::Conn;

            /// A review's outcome, the state it settled the request to, and the
            /// settlement's events.
            pub(super) type Reviewed = (ReviewOutcome, Option<ApprovalState>, Vec<AuditEvent>);

            pub(super) async fn create_approval(
                conn: &mut Conn,
                new: &NewApproval,
                max_pending: Option<u32>,
            ) -> Result<((Approval, bool), bool), StoreError> {
                let inserted = match max_pending {
                    Some(limit) => {
                        // The subject's lock, where one is needed, is held from the count to
                        // the commit: no other transaction counts this subject meanwhile.
                        let (pending, inserted) = ops::count_then_insert(conn, new, limit).await?;
                        if pending >= u64::from(limit) {
                            // A replay of an existing request is answered, never counted again.
                            let replay = if new.request_id.is_empty() {
                                None
                            } else {
                                ops::approval_by_key(conn, &new.subject_id, &new.request_id).await?
                            };
                            return match replay {
                                Some(a) => Ok(((a.observed_at(new.created_at), false), false)),
                                None => Err(StoreError::QuotaExceeded { pending, limit }),
                            };
                        }
                        inserted
                    }
                    None => ops::insert_approval(conn, new).await?,
                };
                if inserted {
                    return Ok(((new.clone().into_pending(), true), true));
                }
                let existing = if new.request_id.is_empty() {
                    None
                } else {
                    ops::approval_by_key(conn, &new.subject_id, &new.request_id).await?
                };
                match existing {
                    Some(approval) => Ok(((approval.observed_at(new.created_at), false), false)),
                    None => Err(StoreError::Conflict {
                        kind: "approval",
                        id: new.id.clone(),
                    }),
                }
            }

            /// Records the review; with `settle`, then applies what the reviews settle to
            /// (the row is locked by then). The outcome, the settled state and the settlement's
            /// events (recorded with the review's).
            pub(super) async fn add_review(
                conn: &mut Conn,
                review: &Review,
                change: Option<&RequestChange>,
                settle: Option<&Settle>,
            ) -> Result<(Reviewed, bool), StoreError> {
                let reviews = match ops::review_if_pending(conn, review).await? {
                    ReviewWrite::Recorded(reviews) => reviews,
                    ReviewWrite::Repeat => {
                        return Ok(((ReviewOutcome::Duplicate, None, Vec::new()), false));
                    }
                    ReviewWrite::NotPending => {
                        return match ops::approval_by_id(conn, &review.approval_id).await? {
                            Some(a) => Ok((
                                (
                                    ReviewOutcome::NotPending(a.observed_at(review.at).state),
                                    None,
                                    Vec::new(),
                                ),
                                false,
                            )),
                            None => Err(StoreError::NotFound {
                                kind: "approval",
                                id: review.approval_id.clone(),
                            }),
                        };
                    }
                };
                if let Some(change) = change {
                    // The row is locked and pending (checked above, same transaction).
                    if !ops::narrow_request(conn, &review.approval_id, change, review.at).await? {
                        return Ok((
                            (
                                ReviewOutcome::NotPending(ApprovalState::Expired),
                                None,
                                Vec::new(),
                            ),
                            false,
                        ));
                    }
                }
                let (settled, events) = match settle.and_then(|s| s.of(&reviews)) {
                    None => (None, Vec::new()),
                    Some(settlement) => {
                        settle_now(conn, &review.approval_id, review.at, settlement).await?
                    }
                };
                Ok(((ReviewOutcome::Recorded(reviews), settled, events), true))
            }

            /// Applies a settlement to a pending approval this transaction has locked.
            async fn settle_now(
                conn: &mut Conn,
                id: &str,
                now: UnixMillis,
                settlement: Settlement,
            ) -> Result<(Option<ApprovalState>, Vec<AuditEvent>), StoreError> {
                let (to, audit, moved) = match settlement {
                    Settlement::Deny { audit } => {
                        let to = ApprovalState::Denied;
                        let moved =
                            ops::transition(conn, id, ApprovalState::Pending, to, now).await?;
                        (to, audit, moved)
                    }
                    Settlement::Approve { capability, audit } => {
                        let moved = ops::approve_minting(conn, id, &capability, now).await?;
                        (ApprovalState::Approved, audit, moved)
                    }
                };
                Ok(if moved {
                    (Some(to), audit)
                } else {
                    (None, Vec::new())
                })
            }

            pub(super) async fn transition(
                conn: &mut Conn,
                id: &str,
                from: ApprovalState,
                to: ApprovalState,
                now: UnixMillis,
            ) -> Result<(bool, bool), StoreError> {
                if !from.can_become(to) {
                    return Err(StoreError::InvalidTransition { from, to });
                }
                let moved = ops::transition(conn, id, from, to, now).await?;
                Ok((moved, moved))
            }

            pub(super) async fn approve_with_capability(
                conn: &mut Conn,
                id: &str,
                cap: &Capability,
                now: UnixMillis,
            ) -> Result<(bool, bool), StoreError> {
                // Lock the row while it is pending and in time before inserting, so a losing
                // racer finds it decided instead of colliding on the capability id.
                if !ops::lock_pending(conn, id, now).await? {
                    return Ok((false, false));
                }
                let moved = ops::approve_minting(conn, id, cap, now).await?;
                Ok((moved, moved))
            }

            pub(super) async fn redeem(
                conn: &mut Conn,
                id: &str,
                request_hash: &str,
                now: UnixMillis,
            ) -> Result<(RedeemOutcome, bool), StoreError> {
                if ops::redeem(conn, id, request_hash, now).await? {
                    return Ok((RedeemOutcome::Redeemed, true));
                }
                let outcome = match ops::capability_by_id(conn, id).await? {
                    Some(cap) => RedeemOutcome::refusal(&cap, request_hash, now),
                    None => RedeemOutcome::NotFound,
                };
                Ok((outcome, false))
            }
        }
    };
}

pub(super) use change_ops;

/// Generates `mod commit` over `super::change` (from [`change_ops!`]), `super::batch_ops`
/// (savepoints and the many-capability insert) and `super::audit_ops`: the group commit's
/// shared transaction, for PostgreSQL (`postgres.rs`) and the SQLite writer
/// (`sqlite_writer.rs`).
macro_rules! commit_ops {
    () => {
        /// One shared transaction of the group commit, inside a transaction the caller opened.
        mod commit {
            use super::{audit_ops, batch_ops, change};
            use $crate::domain::AuditEvent;
            use $crate::store::{Batch, Change, Changed, Committed, StoreError};

            type Conn = super::ops::Conn;

            /// Any [`Change`]: its outcome, whether it applied, and the events it records
            /// beyond [`Change::audit`] (a settlement's).
            pub(super) async fn apply(
                conn: &mut Conn,
                change: &Change,
            ) -> Result<(Changed, bool, Vec<AuditEvent>), StoreError> {
                Ok(match change {
                    Change::CreateApproval {
                        new, max_pending, ..
                    } => {
                        let ((a, created), applied) =
                            change::create_approval(conn, new, *max_pending).await?;
                        (Changed::Approval(Box::new(a), created), applied, Vec::new())
                    }
                    Change::AddReview {
                        review,
                        change,
                        settle,
                        ..
                    } => {
                        let ((outcome, settled, events), applied) =
                            change::add_review(conn, review, change.as_ref(), settle.as_ref())
                                .await?;
                        (Changed::Review(outcome, settled), applied, events)
                    }
                    Change::Transition {
                        id, from, to, now, ..
                    } => {
                        let (moved, applied) =
                            change::transition(conn, id, *from, *to, *now).await?;
                        (Changed::Moved(moved), applied, Vec::new())
                    }
                    Change::ApproveWithCapability {
                        id,
                        capability,
                        now,
                        ..
                    } => {
                        let (moved, applied) =
                            change::approve_with_capability(conn, id, capability, *now).await?;
                        (Changed::Moved(moved), applied, Vec::new())
                    }
                    Change::Redeem {
                        id,
                        request_hash,
                        now,
                        ..
                    } => {
                        let (outcome, applied) =
                            change::redeem(conn, id, request_hash, *now).await?;
                        (Changed::Redeemed(outcome), applied, Vec::new())
                    }
                })
            }

            /// Whether [`commit_in`] runs `changes` in savepoints: all but a lone change with
            /// nothing else to commit. A caller may then open the first savepoint with the
            /// transaction, in its `BEGIN`'s round trip (`sql::BEGIN_WITH_SAVEPOINT`).
            pub(super) fn in_savepoints(changes: &[Change], batch: &Batch) -> bool {
                !changes.is_empty() && (changes.len() > 1 || !batch.is_empty())
            }

            /// Applies `changes` in order, each in its own savepoint (one that fails or does
            /// not apply is rolled back alone; a lone change with nothing else to commit needs
            /// none), then stores `batch`: everything [`BatchStore::commit_all`] does inside
            /// the transaction the caller has open on `conn`, which has the first savepoint
            /// open already if `savepoint_open`. Returns what was stored and whether to commit
            /// (false: the lone change did not apply, roll back).
            ///
            /// [`BatchStore::commit_all`]: crate::store::BatchStore::commit_all
            pub(super) async fn commit_in(
                conn: &mut Conn,
                changes: &[Change],
                batch: Batch,
                savepoint_open: bool,
                notify: bool,
            ) -> Result<(Committed, bool), StoreError> {
                let mut committed = Committed::default();
                let mut events = Vec::new();
                // The rows first, the chain's head last (the lock order of `sql::RowLocks`):
                // transactions of other group commits and replicas apply their changes
                // meanwhile and queue only for the append.
                if let ([change], true) = (changes, batch.is_empty()) {
                    // Alone: when it does not apply, the caller rolls everything back.
                    match apply(conn, change).await {
                        Ok((out, true, more)) => {
                            events.extend_from_slice(change.audit());
                            events.extend(more);
                            committed.changes.push(Ok(out));
                        }
                        outcome => {
                            committed.changes.push(outcome.map(|(out, _, _)| out));
                            return Ok((committed, false));
                        }
                    }
                } else {
                    // One savepoint, ended and begun again between changes in one round trip.
                    if in_savepoints(changes, &batch) && !savepoint_open {
                        batch_ops::savepoint(conn).await?;
                    }
                    for (n, change) in changes.iter().enumerate() {
                        let another = n + 1 < changes.len();
                        match apply(conn, change).await {
                            Ok((out, true, more)) => {
                                batch_ops::end_savepoint(conn, true, another).await?;
                                events.extend_from_slice(change.audit());
                                events.extend(more);
                                committed.changes.push(Ok(out));
                            }
                            outcome => {
                                batch_ops::end_savepoint(conn, false, another).await?;
                                committed.changes.push(outcome.map(|(out, _, _)| out));
                            }
                        }
                    }
                }
                store_batch(conn, committed, events, batch, notify)
                    .await
                    .map(|committed| (committed, true))
            }

            /// [`commit_in`] without savepoints, in a transaction the caller has just opened,
            /// if every change applies: what was stored, or the batch back, unstored, as soon
            /// as one does not apply or fails. Nothing of that transaction may be kept then (a
            /// change that does not apply may have written before finding so, and on
            /// PostgreSQL a failed statement aborts the transaction): the caller rolls it back
            /// and runs [`commit_in`] with the batch, whose savepoints keep the others'. When
            /// everything applies, as under load nearly everything does, the savepoints' round
            /// trips are saved; when one does not, the changes run twice. An error is the
            /// batch's own (its capabilities or its append): nothing is stored.
            #[allow(
                dead_code,
                reason = "PostgreSQL's only: the SQLite writer's savepoints cost no round trip"
            )]
            pub(super) async fn commit_if_all_apply(
                conn: &mut Conn,
                changes: &[Change],
                batch: Batch,
                notify: bool,
            ) -> Result<Result<Committed, Batch>, StoreError> {
                let mut committed = Committed::default();
                let mut events = Vec::new();
                for change in changes {
                    let Ok((out, true, more)) = apply(conn, change).await else {
                        return Ok(Err(batch));
                    };
                    events.extend_from_slice(change.audit());
                    events.extend(more);
                    committed.changes.push(Ok(out));
                }
                store_batch(conn, committed, events, batch, notify)
                    .await
                    .map(Ok)
            }

            /// Stores `batch` after the changes that applied: its capabilities, then one
            /// append for everything, the changes' records (`events`) then the batch's. The
            /// batch's events become its records, uncopied. `audit_index` is left to the
            /// caller, after the commit ([`Committed::appended`]).
            async fn store_batch(
                conn: &mut Conn,
                mut committed: Committed,
                mut events: Vec<AuditEvent>,
                batch: Batch,
                notify: bool,
            ) -> Result<Committed, StoreError> {
                batch_ops::insert_capabilities(conn, &batch.capabilities).await?;
                committed.change_records = events.len();
                events.extend(batch.events);
                let mut records = audit_ops::append_unindexed(conn, events, notify).await?;
                committed.appended = $crate::store::audit_ops::span(&records);
                committed.records = records.split_off(committed.change_records);
                Ok(committed)
            }
        }
    };
}

pub(super) use commit_ops;
