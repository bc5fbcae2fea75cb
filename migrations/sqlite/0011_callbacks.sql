-- Signed callbacks to requesters (Standard Webhooks): the endpoints a sender subscribed, one delivery per
-- letter event per endpoint (its id is the stable webhook-id), and every attempt made to deliver it.
CREATE TABLE callback_endpoints (
    id                TEXT PRIMARY KEY,
    sender_id         TEXT NOT NULL,
    url               TEXT NOT NULL,
    secret            TEXT NOT NULL,
    previous_secret   TEXT,
    previous_until    BIGINT,
    events            TEXT NOT NULL,
    description       TEXT,
    state             TEXT NOT NULL,
    disabled_reason   TEXT,
    failing_since     BIGINT,
    warned_at         BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX callback_endpoints_by_sender ON callback_endpoints (sender_id);

CREATE TABLE callback_deliveries (
    id            TEXT PRIMARY KEY,
    endpoint_id   TEXT NOT NULL,
    letter_id     TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    event         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    delivered_at  BIGINT,
    UNIQUE (endpoint_id, letter_id, seq)
);
CREATE INDEX callback_deliveries_by_endpoint ON callback_deliveries (endpoint_id, state);

CREATE TABLE callback_attempts (
    delivery_id   TEXT NOT NULL,
    endpoint_id   TEXT NOT NULL,
    attempt       BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    status        BIGINT,
    duration_ms   BIGINT NOT NULL,
    response      TEXT,
    error         TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX callback_attempts_by_endpoint ON callback_attempts (endpoint_id, at);
