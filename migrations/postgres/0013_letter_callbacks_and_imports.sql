-- A callback endpoint now says where it comes from: the API (`api`), the configuration (`config`, kept in
-- step with `[[senders.callbacks]]` at every start) or one letter's own `callback_url` (`letter`, with the
-- letter's id: it hears of that letter only).
ALTER TABLE callback_endpoints ADD COLUMN origin TEXT NOT NULL DEFAULT 'api';
ALTER TABLE callback_endpoints ADD COLUMN letter_id TEXT;
CREATE INDEX callback_endpoints_by_letter ON callback_endpoints (letter_id);

-- CSV imports through the API (POST /v1/imports): the import, and what became of each of its rows.
CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    sender_id   TEXT NOT NULL,
    template    TEXT NOT NULL,
    filename    TEXT,
    state       TEXT NOT NULL,
    dry_run     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX imports_by_sender ON imports (sender_id, created_at);

CREATE TABLE import_rows (
    import_id   TEXT NOT NULL,
    line        BIGINT NOT NULL,
    row_key     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    letter_id   TEXT,
    errors      TEXT,
    PRIMARY KEY (import_id, line)
);
