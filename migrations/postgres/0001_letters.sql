-- The letter path: senders' API keys, letters with their hash-chained events, attachments, proofs,
-- idempotency records, consents, template versions, the job queue, and the sandbox provider's own letters.
-- Portable types only (TEXT, BIGINT): timestamps are unix milliseconds, JSON is TEXT.

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    sender_id   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    label       TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE letters (
    id              TEXT PRIMARY KEY,
    sender_id       TEXT NOT NULL,
    api_key_id      TEXT,
    state           TEXT NOT NULL,
    state_detail    TEXT,
    template        TEXT NOT NULL,
    template_hash   TEXT NOT NULL,
    variables       TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    reference       TEXT,
    notify_email    TEXT,
    provider        TEXT NOT NULL,
    provider_ref    TEXT,
    provider_status TEXT,
    content_sha256  TEXT,
    cost_cents      BIGINT,
    request_sha256  TEXT NOT NULL,
    send_attempts   BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deposited_at    BIGINT,
    synced_at       BIGINT
);
CREATE INDEX letters_by_sender ON letters (sender_id, id);
CREATE INDEX letters_by_state ON letters (state);
CREATE INDEX letters_by_reference ON letters (sender_id, reference);
CREATE INDEX letters_by_provider_ref ON letters (provider, provider_ref);
CREATE INDEX letters_by_recipient ON letters (sender_id, recipient_email, state);

CREATE TABLE letter_events (
    letter_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    state       TEXT NOT NULL,
    detail      TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (letter_id, seq)
);

CREATE TABLE attachments (
    letter_id     TEXT NOT NULL,
    position      BIGINT NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    path          TEXT NOT NULL,
    PRIMARY KEY (letter_id, position)
);

CREATE TABLE proofs (
    letter_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    path         TEXT NOT NULL,
    archived_at  BIGINT NOT NULL,
    PRIMARY KEY (letter_id, kind)
);

CREATE TABLE idempotency_keys (
    sender_id       TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_sha256  TEXT NOT NULL,
    letter_id       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (sender_id, key)
);

CREATE TABLE consents (
    id            TEXT PRIMARY KEY,
    sender_id     TEXT NOT NULL,
    email         TEXT NOT NULL,
    given_at      BIGINT NOT NULL,
    source        TEXT NOT NULL,
    proof_path    TEXT,
    proof_sha256  TEXT,
    recorded_at   BIGINT NOT NULL
);
CREATE INDEX consents_by_email ON consents (sender_id, email);

CREATE TABLE template_versions (
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (name, hash)
);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    letter_id    TEXT,
    payload      TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    lease_until  BIGINT,
    lease_owner  TEXT,
    last_error   TEXT,
    failed_at    BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (failed_at, run_at);

CREATE TABLE sandbox_letters (
    provider_ref    TEXT PRIMARY KEY,
    account         TEXT NOT NULL,
    letter_id       TEXT NOT NULL,
    facts           TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    submitted_at    BIGINT NOT NULL,
    deposit_at      BIGINT NOT NULL,
    outcome_at      BIGINT NOT NULL,
    notified_stage  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sandbox_letters_by_letter ON sandbox_letters (account, letter_id);
