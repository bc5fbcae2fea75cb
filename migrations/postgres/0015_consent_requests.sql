-- Consent requests made to recipients through a provider (Maileva's electronic_consents): who was asked,
-- the provider's consent id, and where the request stands (pending, accepted, refused, expired, failed).
-- One pending request per sender and address: asking again while one is pending answers that one.
CREATE TABLE consent_requests (
    id            TEXT PRIMARY KEY,
    sender_id     TEXT NOT NULL,
    email         TEXT NOT NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    company       TEXT,
    waiting_days  BIGINT,
    provider      TEXT NOT NULL,
    provider_ref  TEXT,
    state         TEXT NOT NULL,
    state_detail  TEXT,
    consent_id    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX consent_requests_pending ON consent_requests (sender_id, email) WHERE state = 'pending';
CREATE INDEX consent_requests_by_email ON consent_requests (sender_id, email, created_at);
