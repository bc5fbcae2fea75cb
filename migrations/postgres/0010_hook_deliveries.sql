-- Deliveries of inbound webhooks (POST /v1/hooks/{source}), one row per source and event id: what became
-- of each (a letter, ignored with a reason, or a mapping failure to fix and replay). The body is kept so a
-- delivery that failed mapping can be replayed once the mapping is fixed.
CREATE TABLE hook_deliveries (
    id           TEXT PRIMARY KEY,
    hook         TEXT NOT NULL,
    sender_id    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT,
    verdict      TEXT NOT NULL,
    letter_id    TEXT,
    error        TEXT,
    body         TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (hook, event_id)
);
CREATE INDEX hook_deliveries_by_hook ON hook_deliveries (hook, received_at);
