-- Emailed requests held until the requester confirms (senders with confirm = "always"): the validated
-- request, its files under attachments_dir/.pending/TOKEN/, and how to answer. The token is the secret of
-- the confirmation link and of the reply's threading.
CREATE TABLE email_confirmations (
    token           TEXT PRIMARY KEY,
    sender_id       TEXT NOT NULL,
    dedupe_key      TEXT NOT NULL,
    request         TEXT NOT NULL,
    answer          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    confirmed_at    BIGINT,
    letter_id       TEXT
);
