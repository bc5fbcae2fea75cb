-- Approval sessions: a sender who approves qualified letters with a one-time code opens a session at the
-- provider (AR24: one hour); the letters sent under it carry its token. The code itself is never stored.
CREATE TABLE approval_sessions (
    sender_id   TEXT NOT NULL,
    provider    TEXT NOT NULL,
    token       TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (sender_id, provider)
);
