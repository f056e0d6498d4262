-- Reviewer notifications (issue 12): a durable outbox. Times are Unix milliseconds.
--
-- notify_events holds one row per event that notifies reviewers (an approval requested,
-- reviewed, modified, approved, denied, expired or cancelled; a capability an approval minted
-- redeemed), written by the audit append in the same transaction as the audit record, so a
-- notification exists exactly when its event does. A reminder before the deadline is written
-- once per approval (id 'reminder:<approval id>'). `routed` says whether the event's
-- per-channel deliveries exist yet; routing is idempotent, so any replica may do it.
CREATE TABLE notify_events (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    approval_id TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    body        TEXT    NOT NULL,
    routed      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX notify_events_unrouted ON notify_events (routed, at, id);

-- One row per (event, channel). A worker claims a due row with a compare-and-set on its
-- lease (lease_until <= now), so each event reaches each channel once however many replicas
-- run workers; a worker that dies mid-send leaves a lease that simply runs out.
CREATE TABLE notify_deliveries (
    event_id        TEXT COLLATE "C" NOT NULL,
    channel         TEXT    NOT NULL,
    approval_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    at              BIGINT  NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     BIGINT  NOT NULL DEFAULT 0,
    delivered_at    BIGINT,
    last_error      TEXT    NOT NULL DEFAULT '',
    external_ref    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, channel)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (state, next_attempt_at);
CREATE INDEX notify_deliveries_thread ON notify_deliveries (approval_id, channel, at);

-- Values that may be accepted once (a Slack interaction's trigger id, a console deep link's
-- id), kept until they could no longer verify anyway, so replicas and restarts agree.
CREATE TABLE used_nonces (
    nonce      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_nonces_expiry ON used_nonces (expires_at);
