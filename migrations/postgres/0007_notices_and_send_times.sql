-- Notices to requesters, one row per email: its Message-ID is chosen and stored before the first attempt
-- (a notice sent again after a crash carries the same one), and one that gave up stays listed as failed
-- until it is sent again. Letters remember when their first send started and when the last request whose
-- outcome is unknown ended: reconciliation pages back to the first, and waits `resend_after` from the last.
CREATE TABLE notices (
    id          TEXT PRIMARY KEY,
    letter_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    message_id  TEXT,
    state       TEXT NOT NULL,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT,
    failed_at   BIGINT
);
CREATE INDEX notices_by_state ON notices (state, created_at);
CREATE INDEX notices_by_letter ON notices (letter_id);

ALTER TABLE letters ADD COLUMN send_started_at BIGINT;
ALTER TABLE letters ADD COLUMN send_closed_at BIGINT;
