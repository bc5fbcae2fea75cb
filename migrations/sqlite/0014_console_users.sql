-- The web console: its users (argon2id password hashes, a role, the senders they may act for), their
-- sessions (kept here so they survive restarts and can be revoked; the cookie carries a secret whose SHA-256
-- is the key), the failed sign-ins that throttle guessing (per account and per address), and the
-- withdrawal of a consent.
CREATE TABLE console_users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL,
    senders              TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    password_changed_at  BIGINT NOT NULL,
    disabled_at          BIGINT
);

CREATE TABLE console_sessions (
    hash          TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);

CREATE TABLE console_login_failures (
    subject  TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX console_login_failures_by_subject ON console_login_failures (subject, at);

ALTER TABLE consents ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE consents ADD COLUMN withdrawn_by TEXT;
