//! The statements, written once for both backends: `$n` placeholders (SQLite accepts them too,
//! and a repeated `$n` binds one value), no casts, no dialect-only syntax.

macro_rules! approval_columns {
    () => {
        "id, decision_id, subject_id, request_id, action, request, request_hash, requirements, \
         bundle_revision, state, created_at, expires_at, updated_at, trace_parent, requested_by, \
         capability_audience, bundle_digest, on_behalf_of_proven"
    };
}

/// What reads select: the inserted columns plus the request as first asked (set by a modify).
macro_rules! approval_select_columns {
    () => {
        concat!(approval_columns!(), ", original_request")
    };
}

macro_rules! review_columns {
    () => {
        "approval_id, reviewer_id, verdict, reason, reviewer_groups, reviewed_at, stepped_up"
    };
}

macro_rules! capability_columns {
    () => {
        "id, approval_id, request_hash, state, issued_at, expires_at, redeemed_at, audience"
    };
}

/// Inserts a pending approval unless its id or idempotency key exists.
pub(super) const INSERT_APPROVAL: &str = concat!(
    "INSERT INTO approvals (",
    approval_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $10, $12, $13, $14, $15, $16) \
     ON CONFLICT DO NOTHING"
);

pub(super) const APPROVAL_BY_ID: &str = concat!(
    "SELECT ",
    approval_select_columns!(),
    " FROM approvals WHERE id = $1"
);

pub(super) const APPROVAL_BY_KEY: &str = concat!(
    "SELECT ",
    approval_select_columns!(),
    " FROM approvals WHERE subject_id = $1 AND request_id = $2"
);

/// $1 state (observed at $2), $3 subject, $4 action, $5 reviewer, $6 cursor, $7 limit.
pub(super) const LIST_APPROVALS: &str = concat!(
    "SELECT ",
    approval_select_columns!(),
    " FROM approvals \
     WHERE ($1 IS NULL OR \
            (CASE WHEN state = 'pending' AND expires_at <= $2 THEN 'expired' ELSE state END) = $1) \
       AND ($3 IS NULL OR subject_id = $3) \
       AND ($4 IS NULL OR action = $4) \
       AND ($5 IS NULL OR EXISTS (SELECT 1 FROM reviews r \
                                  WHERE r.approval_id = approvals.id AND r.reviewer_id = $5)) \
       AND ($6 IS NULL OR id > $6) \
       AND ($8 IS NULL OR LOWER(action || ' ' \
             || COALESCE((request -> 'resource') ->> 'type', '') || '/' \
             || COALESCE((request -> 'resource') ->> 'id', '') || ' ' \
             || COALESCE((request -> 'context') ->> 'intent', '')) LIKE $8 ESCAPE '\\') \
     ORDER BY id LIMIT $7"
);

/// The `LIKE` pattern of [`LIST_APPROVALS`]'s `$8`: rows containing `text`, lower-cased
/// (as the statement lower-cases the row), with `\`, `%` and `_` escaped so they match
/// literally.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Checks approval $1 is pending and in time at $2 (one row changed when it is), taking the
/// write lock if the transaction does not hold it yet: SQLite's [`RowLocks::pending`], where
/// one write transaction holds the whole database, so no decision can commit between this
/// check and the review insert.
pub(super) const LOCK_PENDING: &str = "UPDATE approvals SET updated_at = updated_at \
     WHERE id = $1 AND state = 'pending' AND expires_at > $2";

/// [`LOCK_PENDING`] on PostgreSQL: the row lock an `UPDATE` takes (`FOR NO KEY UPDATE`, so
/// the foreign keys of reviews and capabilities inserted meanwhile do not wait for it), held
/// to the transaction's end, without writing a new version of the row (and of its WAL) as the
/// no-op `UPDATE` did. Under read committed it waits for a concurrent writer and re-checks
/// the row as that writer left it, as an `UPDATE` does. One row selected when pending.
pub(super) const PG_LOCK_PENDING: &str = "SELECT 1 FROM approvals \
     WHERE id = $1 AND state = 'pending' AND expires_at > $2 FOR NO KEY UPDATE";

pub(super) const INSERT_REVIEW: &str = concat!(
    "INSERT INTO reviews (",
    review_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (approval_id, reviewer_id) DO NOTHING"
);

/// A review on PostgreSQL, in one round trip: approval `$1` locked if pending and in time at
/// `$6`, review `$1..$7` (as [`INSERT_REVIEW`]) inserted unless its reviewer has reviewed, then
/// every review of the approval oldest first, read as of after the lock (migration 0013,
/// `tollgate_review_if_pending`). No rows: not pending; no row marked `added`: a repeat.
pub(super) const PG_REVIEW_IF_PENDING: &str = concat!(
    "SELECT ",
    review_columns!(),
    ", added FROM tollgate_review_if_pending($1, $2, $3, $4, $5, $6, $7)"
);

/// Replaces a pending request by its narrowed form, keeping the first version, if it is still
/// the request the reviewer narrowed: $1 id, $2 request, $3 request hash, $4 requirements,
/// $5 now, $6 the hash the reviewer saw.
pub(super) const NARROW_REQUEST: &str = "UPDATE approvals \
     SET original_request = COALESCE(original_request, request), request = $2, \
         request_hash = $3, requirements = $4, updated_at = $5 \
     WHERE id = $1 AND state = 'pending' AND expires_at > $5 AND request_hash = $6";

/// Every review, for a caller to add `WHERE ... ORDER BY ...`.
pub(super) const REVIEWS_SELECT: &str = concat!("SELECT ", review_columns!(), " FROM reviews");

/// Every capability, for a caller to add `WHERE ...`.
pub(super) const CAPABILITIES_SELECT: &str =
    concat!("SELECT ", capability_columns!(), " FROM capabilities");

pub(super) const REVIEWS_OF: &str = concat!(
    "SELECT ",
    review_columns!(),
    " FROM reviews WHERE approval_id = $1 ORDER BY reviewed_at, reviewer_id"
);

/// A capability's columns renamed `cap_*`, so they share no name with an approval's.
macro_rules! minted_columns {
    () => {
        "id AS cap_id, approval_id AS cap_approval_id, request_hash AS cap_request_hash, \
         state AS cap_state, issued_at AS cap_issued_at, expires_at AS cap_expires_at, \
         redeemed_at AS cap_redeemed_at, audience AS cap_audience"
    };
}

/// The names of `capability_columns!`, as a row read by `SELECT` of them holds them.
pub(super) const CAPABILITY_NAMES: [&str; 8] = [
    "id",
    "approval_id",
    "request_hash",
    "state",
    "issued_at",
    "expires_at",
    "redeemed_at",
    "audience",
];

/// The names of `minted_columns!`, in the same order.
pub(super) const MINTED_NAMES: [&str; 8] = [
    "cap_id",
    "cap_approval_id",
    "cap_request_hash",
    "cap_state",
    "cap_issued_at",
    "cap_expires_at",
    "cap_redeemed_at",
    "cap_audience",
];

/// The approval `$1` with its reviews, oldest first, and the capability it minted (whose id is
/// the approval's), in one statement so all are as of one moment: a row per review, or one row
/// with the review columns NULL when there is none; the capability's columns (`cap_*`, NULL
/// when it has none) ride on every row. (Reviews share no column name with approvals.)
pub(super) const APPROVAL_WITH_REVIEWS: &str = concat!(
    "SELECT ",
    approval_select_columns!(),
    ", ",
    review_columns!(),
    ", minted.* FROM approvals LEFT JOIN reviews ON reviews.approval_id = approvals.id \
     LEFT JOIN (SELECT ",
    minted_columns!(),
    " FROM capabilities) AS minted ON minted.cap_id = approvals.id \
     WHERE approvals.id = $1 ORDER BY reviewed_at, reviewer_id"
);

/// Leaves Pending before the deadline: $1 id, $2 from, $3 to, $4 now.
pub(super) const TRANSITION_IN_TIME: &str = "UPDATE approvals SET state = $3, updated_at = $4 \
     WHERE id = $1 AND state = $2 AND expires_at > $4";

/// Approves pending approval $1 in time at $2 and inserts its capability ($3..$10, as
/// [`INSERT_CAPABILITY`]'s $1..$8) in one statement (data-modifying `WITH`: PostgreSQL). The
/// capability is inserted whether or not the approval moved: a caller holds the row locked
/// and pending, or rolls back when it did not move.
pub(super) const APPROVE_MINTING: &str = concat!(
    "WITH minted AS (INSERT INTO capabilities (",
    capability_columns!(),
    ") VALUES ($3, $4, $5, $6, $7, $8, $9, $10)) \
     UPDATE approvals SET state = 'approved', updated_at = $2 \
     WHERE id = $1 AND state = 'pending' AND expires_at > $2"
);

/// Enters Expired once the deadline has passed: $1 id, $2 from, $3 to, $4 now.
pub(super) const TRANSITION_OVERDUE: &str = "UPDATE approvals SET state = $3, updated_at = $4 \
     WHERE id = $1 AND state = $2 AND expires_at <= $4";

/// The compare-and-set that moves an approval to `to`: [`TRANSITION_OVERDUE`] into Expired,
/// else [`TRANSITION_IN_TIME`].
pub(super) fn transition_to(to: crate::domain::ApprovalState) -> &'static str {
    if to == crate::domain::ApprovalState::Expired {
        TRANSITION_OVERDUE
    } else {
        TRANSITION_IN_TIME
    }
}
/// Expires every overdue pending approval, returning the rows (for their audit records).
pub(super) const EXPIRE_APPROVALS: &str = concat!(
    "UPDATE approvals SET state = 'expired', updated_at = $1 \
     WHERE state = 'pending' AND expires_at <= $1 RETURNING ",
    approval_select_columns!()
);

/// Pending approvals still in time at $1.
pub(super) const COUNT_PENDING: &str =
    "SELECT COUNT(*) AS n FROM approvals WHERE state = 'pending' AND expires_at > $1";

/// The locks a backend takes by statement, each held until the transaction ends. PostgreSQL
/// locks rows, so concurrent transactions (two replicas, or two group commits of one) need
/// them; SQLite's write transaction holds the whole database and needs none.
///
/// Every writing transaction takes its locks in one order, so none can wait for another in a
/// cycle: approval rows (by id), then capability rows (by id), then subjects' quotas, and
/// the audit chain's head last of all, just before the commit (see `Change::lock_order`).
pub(super) struct RowLocks {
    /// The rows the expiry sweep at $1 will expire, approvals then capabilities, each in id
    /// order (an `UPDATE` locks in whatever order it scans).
    pub(super) due: Option<[&'static str; 2]>,
    /// Whether approval $1 is pending and in time at $2, its row locked to the transaction's
    /// end when it is (a row counted): [`LOCK_PENDING`] or [`PG_LOCK_PENDING`].
    pub(super) pending: &'static str,
    /// The lock of [`Self::pending`], a review's insert and the read of every review, in one
    /// statement where the database has one ([`PG_REVIEW_IF_PENDING`]); else the lock, the
    /// insert and the read one after another.
    pub(super) review_if_pending: Option<&'static str>,
}

/// Whether the database runs data-modifying statements in `WITH`: PostgreSQL does, so an
/// approval's capability is inserted by the statement that approves it, and a creation under
/// the quota counts and inserts at once. (A review's lock, insert and read are one statement
/// there too, a function's: [`RowLocks::review_if_pending`].)
pub(super) const PG_WRITES_IN_WITH: bool = true;
/// SQLite does not (its `WITH` is for `SELECT`s only).
pub(super) const SQLITE_WRITES_IN_WITH: bool = false;

/// No statement locks: SQLite.
pub(super) const NO_ROW_LOCKS: RowLocks = RowLocks {
    due: None,
    pending: LOCK_PENDING,
    review_if_pending: None,
};

/// PostgreSQL's. (Its subjects' quota locks, transaction-scoped advisory locks in tollgate's own
/// key class, `tlgt`, are taken by the count itself: [`COUNT_THEN_INSERT_APPROVAL`]; two
/// subjects whose hashes collide only queue behind each other.)
pub(super) const PG_ROW_LOCKS: RowLocks = RowLocks {
    due: Some([
        "SELECT id FROM approvals WHERE state = 'pending' AND expires_at <= $1 \
         ORDER BY id FOR UPDATE",
        "SELECT id FROM capabilities WHERE state = 'issued' AND expires_at <= $1 \
         ORDER BY id FOR UPDATE",
    ]),
    pending: PG_LOCK_PENDING,
    review_if_pending: Some(PG_REVIEW_IF_PENDING),
};

/// One subject's pending approvals still in time: $1 subject, $2 now.
/// Locks subject $3's quota, counts its pending approvals at $10, and inserts the approval
/// ($1..$16 as [`INSERT_APPROVAL`]) only if they are fewer than $17, in one statement
/// (data-modifying `WITH`: PostgreSQL): the count `n`, and `inserted` (1 or 0). The lock and
/// the count are `tollgate_lock_and_count_pending` (migration 0012), whose count reads as of
/// after the lock was granted (a volatile function's statements each read as of their own
/// start), so it includes every approval committed before; the lock is held to the commit.
pub(super) const COUNT_THEN_INSERT_APPROVAL: &str = concat!(
    "WITH pending AS (SELECT tollgate_lock_and_count_pending($3, $10) AS n), \
     inserted AS (INSERT INTO approvals (",
    approval_columns!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $10, $12, $13, $14, $15, \
     $16 FROM pending WHERE n < $17 ON CONFLICT DO NOTHING RETURNING 1) \
     SELECT (SELECT n FROM pending) AS n, (SELECT COUNT(*) FROM inserted) AS inserted"
);

/// SQLite's count (PostgreSQL counts in [`COUNT_THEN_INSERT_APPROVAL`]) of subject $1's pending
/// approvals still in time at $2: its running count of pending approvals (`pending_counts`,
/// kept by triggers, migration 0012) less those already past their deadline that no sweep has
/// expired yet (a range scan over only those). The count it replaced scanned every pending
/// approval of the subject on every creation.
pub(super) const COUNT_PENDING_OF: &str = "SELECT \
     coalesce((SELECT n FROM pending_counts WHERE subject_id = $1), 0) \
     - (SELECT COUNT(*) FROM approvals \
        WHERE subject_id = $1 AND state = 'pending' AND expires_at <= $2) AS n";

/// A subject's pending count from [`COUNT_PENDING_OF`]; a negative one means `pending_counts`
/// no longer agrees with `approvals` (edited by hand), and the quota fails closed.
pub(super) fn pending_count(n: i64) -> Result<u64, super::StoreError> {
    u64::try_from(n).map_err(|_| super::StoreError::Corrupt {
        column: "pending_counts.n",
        value: n.to_string(),
    })
}

pub(super) const EXPIRE_CAPABILITIES: &str = "UPDATE capabilities SET state = 'expired' \
     WHERE state = 'issued' AND expires_at <= $1";

pub(super) const INSERT_CAPABILITY: &str = concat!(
    "INSERT INTO capabilities (",
    capability_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
);

/// The start of a many-row capability insert; the rows follow as `VALUES (...), (...)`.
pub(super) const INSERT_CAPABILITIES_PREFIX: &str =
    concat!("INSERT INTO capabilities (", capability_columns!(), ") ");

pub(super) const CAPABILITY_BY_ID: &str = concat!(
    "SELECT ",
    capability_columns!(),
    " FROM capabilities WHERE id = $1"
);

/// The single-use compare-and-set: $1 id, $2 request hash, $3 now.
pub(super) const REDEEM: &str = "UPDATE capabilities SET state = 'redeemed', redeemed_at = $3 \
     WHERE id = $1 AND state = 'issued' AND expires_at > $3 AND request_hash = $2";

/// The savepoint each change of a shared transaction runs in (see `change_ops.rs`).
pub(super) const SAVEPOINT: &str = "SAVEPOINT change";

/// A transaction begun with its first change's savepoint open: one round trip (PostgreSQL's
/// simple query runs both).
pub(super) const BEGIN_WITH_SAVEPOINT: &str = "BEGIN; SAVEPOINT change";

/// Ends a change's savepoint: kept when the change applied (`kept`), rolled back to when it
/// did not; with `another` change to come, that change's savepoint begins in the same round
/// trip (a savepoint rolled back to stays open, ready for it). After the last change nothing
/// needs releasing: what follows in the transaction runs inside the open savepoint, and the
/// commit keeps it all (`None`: no statement, no round trip).
pub(super) const fn end_savepoint(kept: bool, another: bool) -> Option<&'static str> {
    match (kept, another) {
        (true, true) => Some("RELEASE SAVEPOINT change; SAVEPOINT change"),
        (true, false) => None,
        (false, _) => Some("ROLLBACK TO SAVEPOINT change"),
    }
}

/// Every column of an audit record, in insert order.
macro_rules! audit_columns {
    () => {
        "seq, id, at, kind, actor, subject_id, action, resource_type, resource_id, effect, \
         decision_id, approval_id, capability_id, bundle_revision, trace_id, body, prev_hash, hash"
    };
}

/// For the bulk insert builder.
pub(super) const INSERT_AUDIT_PREFIX: &str =
    concat!("INSERT INTO audit_log (", audit_columns!(), ") ");

/// One record (the SQLite writer inserts them one prepared row at a time).
pub(super) const INSERT_AUDIT_ROW: &str = concat!(
    "INSERT INTO audit_log (",
    audit_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
);
/// Reads the chain head for an append, taking the write lock if the transaction does not
/// hold it yet: SQLite's, where one write transaction holds the whole database.
pub(super) const LOCK_AUDIT_HEAD: &str =
    "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash";

/// [`LOCK_AUDIT_HEAD`] on PostgreSQL: the head's row locked to the transaction's end, so
/// appends serialize across replicas, without writing a version of the row that the append's
/// own update of the head replaces at once.
pub(super) const PG_LOCK_AUDIT_HEAD: &str =
    "SELECT seq, hash FROM audit_head WHERE id = 1 FOR NO KEY UPDATE";

/// $1 seq, $2 hash of the new last record.
pub(super) const SET_AUDIT_HEAD: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";

pub(super) const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

/// Raw rows from $1 on, in seq order, at most $2.
pub(super) const AUDIT_RANGE: &str = concat!(
    "SELECT ",
    audit_columns!(),
    " FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
);

/// The audit query's head; the filter predicates are appended for the filters given only
/// (see `audit_ops::query`), so each query can use the index its filter has.
pub(super) const AUDIT_SELECT: &str = concat!("SELECT ", audit_columns!(), " FROM audit_log");

/// The columns of an audit query's records read through `audit_index`: [`audit_columns!`]'s,
/// in its order (the `UNION` refuses a different count), `seq` from the index's page (`i`),
/// the rest from `audit_log` (`l`). The page (this statement's subquery, its filters and its
/// `ORDER BY seq LIMIT n`) is in seq order and at most the query's `LIMIT`.
pub(super) const AUDIT_SELECT_INDEXED: &str =
    "SELECT i.seq, l.id, l.at, l.kind, l.actor, l.subject_id, l.action, l.resource_type, \
     l.resource_id, l.effect, l.decision_id, l.approval_id, l.capability_id, \
     l.bundle_revision, l.trace_id, l.body, l.prev_hash, l.hash \
     FROM (SELECT seq FROM audit_index WHERE seq > ";

/// Joins the index's page (`i`, closed by the caller's `ORDER BY seq LIMIT n`) to its records.
pub(super) const AUDIT_INDEX_PAGE_JOIN: &str = ") i CROSS JOIN audit_log l WHERE l.seq = i.seq";

/// The second part: the records after `audit_index`'s last, from `audit_log`.
pub(super) const AUDIT_SELECT_UNINDEXED: &str = concat!(
    " UNION ALL SELECT ",
    audit_columns!(),
    " FROM audit_log WHERE seq > (SELECT coalesce(max(seq), 0) FROM audit_index)"
);

/// [`INDEX_AUDIT`]'s text, filling at most `$at_most` records. The bound is written in the
/// text, not bound: SQLite compiles a `LIMIT` parameter's value into the plan, so a bound one
/// would have every fill compile the statement again.
macro_rules! index_audit {
    ($at_most:literal) => {
        concat!(
            "INSERT INTO audit_index \
             (seq, at, subject_id, action, resource_type, resource_id, decision_id, approval_id, \
              effect, kind) \
             SELECT seq, at, subject_id, action, resource_type, resource_id, decision_id, \
                    approval_id, effect, kind \
             FROM audit_log WHERE seq > (SELECT coalesce(max(seq), 0) FROM audit_index) \
             ORDER BY seq LIMIT ",
            $at_most
        )
    };
}

/// Fills `audit_index` (migration 0011) from its end with the records after its last,
/// in seq order, at most 4,096 (`audit_ops::index_due` says when). SQLite's: its fills never
/// overlap (each runs in the store's turn to write).
pub(super) const INDEX_AUDIT: &str = index_audit!(4096);

/// [`INDEX_AUDIT`] in a slice of at most [`INDEX_SLICE`] records: what the SQLite writer
/// fills at a time while no commit waits (`sqlite_writer::serve`).
pub(super) const INDEX_AUDIT_SLICE: &str = index_audit!(8);

/// The most records [`INDEX_AUDIT`] adds (its text's `LIMIT`).
pub(super) const INDEX_AT_MOST: usize = 4096;

/// The most records [`INDEX_AUDIT_SLICE`] adds (its text's `LIMIT`).
pub(super) const INDEX_SLICE: usize = 8;

/// [`INDEX_AUDIT`] where fills may overlap: PostgreSQL's, whose group commit fills after its
/// transaction commits, outside the chain head's lock, so two replicas may fill at once.
/// Records commit in seq order (under the head's lock), so each fill's snapshot sees a
/// gap-free prefix of the log and inserts the run after the index's end in that snapshot; a
/// fill that overlaps another waits for its rows and skips them. The union of such runs is
/// gap-free: the index still holds exactly the records 1..max(seq).
pub(super) const PG_INDEX_AUDIT: &str =
    concat!(index_audit!(4096), " ON CONFLICT (seq) DO NOTHING");

/// The first seq at which `audit_index` and `audit_log` disagree: a row that differs
/// from its record or has none, or a record up to the index's last seq that it lacks.
pub(super) const AUDIT_INDEX_FAULT: &str = "SELECT min(seq) AS seq FROM ( \
       SELECT i.seq FROM audit_index i LEFT JOIN audit_log l ON l.seq = i.seq \
        WHERE l.seq IS NULL OR i.at <> l.at OR i.subject_id <> l.subject_id \
           OR i.action <> l.action OR i.resource_type <> l.resource_type \
           OR i.resource_id <> l.resource_id OR i.decision_id <> l.decision_id \
           OR i.approval_id <> l.approval_id OR i.effect <> l.effect OR i.kind <> l.kind \
       UNION ALL \
       SELECT l.seq FROM audit_log l \
        WHERE l.seq <= (SELECT coalesce(max(seq), 0) FROM audit_index) \
          AND NOT EXISTS (SELECT 1 FROM audit_index i WHERE i.seq = l.seq)) AS faults";

/// Replicas racing to sign the same seq: the first one stays.
pub(super) const INSERT_CHECKPOINT: &str =
    "INSERT INTO audit_checkpoints (seq, head_hash, at, token) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING";

/// Checkpoints after seq $1, in seq order, at most $2.
pub(super) const CHECKPOINTS: &str = "SELECT seq, head_hash, at, token FROM audit_checkpoints \
     WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(super) const LAST_CHECKPOINT: &str = "SELECT seq, head_hash, at, token FROM audit_checkpoints \
     ORDER BY seq DESC LIMIT 1";

/// The bundle sequence floor: $1 sequence, $2 digest, $3 revision, $4 at. Raises (or keeps) the
/// floor only for a sequence above it, the same bundle again, or the digest an admin allowed
/// (which is then used up): one statement, so racing replicas cannot lower it.
pub(super) const RAISE_POLICY_FLOOR: &str = "UPDATE policy_floor \
     SET sequence = $1, digest = $2, revision = $3, at = $4, allow_digest = '' \
     WHERE id = 1 AND ($1 > sequence OR ($1 = sequence AND digest = $2) OR allow_digest = $2)";

/// The floor as it stands.
pub(super) const POLICY_FLOOR: &str =
    "SELECT sequence, digest, revision, at, allow_digest FROM policy_floor WHERE id = 1";

/// Allows one rollback to the bundle with digest $1.
pub(super) const ALLOW_POLICY_ROLLBACK: &str =
    "UPDATE policy_floor SET allow_digest = $1 WHERE id = 1";

/// The health probe: a write that changes nothing, so a read-only or full disk fails it.
pub(super) const PROBE: &str = "UPDATE policy_floor SET at = at WHERE id = 1";

/// The head of a notification insert; the bulk insert builder pushes its rows after it.
macro_rules! insert_notify_events {
    () => {
        "INSERT INTO notify_events (id, kind, approval_id, at, body, routed) "
    };
}
/// What an insert of notifications ends with: an event already enqueued stays as it is.
macro_rules! on_conflict_id_do_nothing {
    () => {
        " ON CONFLICT (id) DO NOTHING"
    };
}

/// Enqueues one event that notifies (a reminder; the SQLite writer's append, row by row); an
/// event already enqueued stays as it is: $1 id, $2 kind, $3 approval id, $4 at, $5 body,
/// $6 routed.
pub(super) const INSERT_NOTIFY_EVENT: &str = concat!(
    insert_notify_events!(),
    "VALUES ($1, $2, $3, $4, $5, $6)",
    on_conflict_id_do_nothing!()
);

/// [`INSERT_NOTIFY_EVENT`] for many rows: the bulk insert builder's head, then
/// [`ON_CONFLICT_ID_DO_NOTHING`] after the rows.
pub(super) const INSERT_NOTIFY_EVENTS_PREFIX: &str = insert_notify_events!();
pub(super) const ON_CONFLICT_ID_DO_NOTHING: &str = on_conflict_id_do_nothing!();

/// PostgreSQL's append after the head's lock, one statement whatever the row count: the
/// notifications ($1..$5: id, kind, approval_id, at, body, each an array), the records
/// ($6..$23: `audit_columns!`, each an array) and the new head ($24 seq, $25 hash).
pub(super) const PG_APPEND: &str = concat!(
    "WITH notes AS (",
    insert_notify_events!(),
    "SELECT id, kind, approval_id, at, body, FALSE FROM UNNEST($1::text[], $2::text[], \
     $3::text[], $4::int8[], $5::text[]) AS n (id, kind, approval_id, at, body)",
    on_conflict_id_do_nothing!(),
    "), records AS (INSERT INTO audit_log (",
    audit_columns!(),
    ") SELECT * FROM UNNEST($6::int8[], $7::text[], $8::int8[], $9::text[], $10::text[], \
     $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], \
     $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[])) \
     UPDATE audit_head SET seq = $24, hash = $25 WHERE id = 1"
);

/// Events whose deliveries do not exist yet, oldest first: $1 false, $2 limit.
pub(super) const UNROUTED_EVENTS: &str = "SELECT id, kind, approval_id, at, body \
     FROM notify_events WHERE routed = $1 ORDER BY at, id LIMIT $2";

/// $1 id, $2 true.
pub(super) const MARK_ROUTED: &str = "UPDATE notify_events SET routed = $2 WHERE id = $1";

/// PostgreSQL: announces on channel $1 every approval id in the array $2.
pub(super) const NOTIFY_CHANGES: &str = "SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id";

/// PostgreSQL: [`MARK_ROUTED`] for every id in the array $1.
pub(super) const MARK_ALL_ROUTED: &str =
    "UPDATE notify_events SET routed = true WHERE id = ANY($1)";

/// A delivery of an event to a channel, unless it exists: $1 event, $2 channel, $3 approval,
/// $4 kind, $5 at, $6 first attempt.
pub(super) const INSERT_DELIVERY: &str = "INSERT INTO notify_deliveries \
     (event_id, channel, approval_id, kind, at, state, next_attempt_at) \
     VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (event_id, channel) DO NOTHING";

macro_rules! delivery_columns {
    () => {
        "d.event_id, d.channel, d.state, d.attempts, d.next_attempt_at, d.delivered_at, \
         d.last_error, d.external_ref, e.kind, e.approval_id, e.at, e.body"
    };
}

/// Deliveries due at $1 and not leased, with no earlier undelivered message for the same
/// approval and channel (a channel sees an approval's messages in order: the original first,
/// then its updates), oldest first, at most $2.
pub(super) const DUE_DELIVERIES: &str = "SELECT d.event_id, d.channel FROM notify_deliveries d \
     WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND d.lease_until <= $1 \
       AND NOT EXISTS (SELECT 1 FROM notify_deliveries p \
                       WHERE p.approval_id = d.approval_id AND p.channel = d.channel \
                         AND p.state = 'pending' \
                         AND (p.at < d.at OR (p.at = d.at AND p.event_id < d.event_id))) \
     ORDER BY d.at, d.event_id LIMIT $2";

/// The lease compare-and-set: $1 event, $2 channel, $3 owner, $4 lease until, $5 now. Exactly
/// one claimer of a free lease touches the row.
pub(super) const CLAIM_DELIVERY: &str = "UPDATE notify_deliveries \
     SET lease_owner = $3, lease_until = $4, attempts = attempts + 1 \
     WHERE event_id = $1 AND channel = $2 AND state = 'pending' AND lease_until <= $5";

/// One delivery with its event: $1 event, $2 channel.
pub(super) const DELIVERY_BY_KEY: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id \
     WHERE d.event_id = $1 AND d.channel = $2"
);

/// An approval's deliveries with their events, in order: $1 approval.
pub(super) const DELIVERIES_OF: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id \
     WHERE d.approval_id = $1 ORDER BY d.at, d.event_id, d.channel"
);

/// The newest failures: dead, or pending after a failed attempt; at most $1.
pub(super) const RECENT_FAILURES: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id \
     WHERE d.last_error <> '' AND d.state <> 'delivered' ORDER BY d.at DESC, d.event_id LIMIT $1"
);

/// Settles a claimed delivery if the caller still holds its lease: $1 event, $2 channel,
/// $3 owner, $4 state, $5 delivered at, $6 next attempt, $7 error, $8 external ref,
/// $9 attempts to give back (1 for a deferral, else 0).
pub(super) const SETTLE_DELIVERY: &str = "UPDATE notify_deliveries \
     SET state = $4, delivered_at = $5, next_attempt_at = $6, last_error = $7, \
         external_ref = $8, attempts = attempts - $9, lease_owner = '', lease_until = 0 \
     WHERE event_id = $1 AND channel = $2 AND lease_owner = $3 AND state = 'pending'";

/// Undelivered deliveries per state (delivered ones only grow, and nobody waits on them):
/// state, n, failing.
pub(super) const DELIVERY_COUNTS: &str = "SELECT state, COUNT(*) AS n, \
     SUM(CASE WHEN last_error <> '' THEN 1 ELSE 0 END) AS failing \
     FROM notify_deliveries WHERE state IN ('pending', 'dead') GROUP BY state";

/// Pending approvals whose deadline is in ($1, $2] and that have no reminder yet.
pub(super) const DUE_REMINDERS: &str = "SELECT id, expires_at FROM approvals a \
     WHERE a.state = 'pending' AND a.expires_at > $1 AND a.expires_at <= $2 \
       AND NOT EXISTS (SELECT 1 FROM notify_events n WHERE n.id = 'reminder:' || a.id) \
     ORDER BY a.expires_at LIMIT 1000";

/// Retention, one batch: deliveries delivered before $2 or given up (dead, `next_attempt_at`
/// being when) before $3, none of an approval still pending at $1, at most $4.
pub(super) const PURGE_DELIVERIES: &str = "DELETE FROM notify_deliveries \
     WHERE (event_id, channel) IN (SELECT d.event_id, d.channel FROM notify_deliveries d \
       WHERE ((d.state = 'delivered' AND d.delivered_at < $2) \
              OR (d.state = 'dead' AND d.next_attempt_at < $3)) \
         AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.id = d.approval_id \
                         AND a.state = 'pending' AND a.expires_at > $1) \
       LIMIT $4)";

/// Retention, one batch: routed events from before $2 left without deliveries, none of an
/// approval still pending at $1 (its reminder is written once), at most $4; $3 true.
pub(super) const PURGE_EVENTS: &str = "DELETE FROM notify_events WHERE id IN ( \
     SELECT e.id FROM notify_events e \
       WHERE e.routed = $3 AND e.at < $2 \
         AND NOT EXISTS (SELECT 1 FROM notify_deliveries d WHERE d.event_id = e.id) \
         AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.id = e.approval_id \
                         AND a.state = 'pending' AND a.expires_at > $1) \
       LIMIT $4)";

/// Uses a nonce once: $1 nonce, $2 now, $3 expires at.
pub(super) const USE_NONCE: &str = "INSERT INTO used_nonces (nonce, used_at, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING";

/// Whether a nonce is recorded and still in force: $1 nonce, $2 now.
pub(super) const NONCE_USED: &str =
    "SELECT COUNT(*) AS n FROM used_nonces WHERE nonce = $1 AND expires_at >= $2";

/// Forgets nonces that can no longer verify: $1 now.
pub(super) const PURGE_NONCES: &str = "DELETE FROM used_nonces WHERE expires_at < $1";
