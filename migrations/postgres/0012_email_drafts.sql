-- Emailed requests relais answered with what is missing (or with the senders to choose from), kept so that
-- a reply to that answer continues the request: the answer's Message-ID carries the token. `sources` is a
-- JSON list of the request's emails on disk (attachments_dir/.drafts/), oldest first; `root_token` is the
-- first answer of the thread, so that however many replies come, the request makes one letter.
CREATE TABLE email_drafts (
    token           TEXT PRIMARY KEY,
    root_token      TEXT NOT NULL,
    from_address    TEXT NOT NULL,
    sender_id       TEXT,
    template        TEXT,
    sources         TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
