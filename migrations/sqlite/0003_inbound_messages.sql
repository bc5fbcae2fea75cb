-- Emails received by any channel (IMAP, SMTP, raw MIME), by dedupe key (the Message-ID, else the content
-- hash): the same email arriving twice, by one channel or two, makes one letter and one answer.
CREATE TABLE inbound_messages (
    dedupe_key      TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    from_address    TEXT,
    content_sha256  TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    letter_id       TEXT,
    detail          TEXT,
    received_at     BIGINT NOT NULL
);
