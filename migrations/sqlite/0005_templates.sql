-- Templates as data. `template_versions` (0001) keeps every source ever stored, by content hash; here each
-- template (shared, or one sender's override of a shared name) has its published version and its draft, and
-- an append-only history of publications: a rollback is a new entry, so the history never changes.
CREATE TABLE templates (
    scope             TEXT NOT NULL,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    published_hash    TEXT,
    draft_source      TEXT,
    draft_updated_at  BIGINT,
    draft_updated_by  TEXT,
    PRIMARY KEY (scope, name)
);

CREATE TABLE template_publications (
    id            TEXT PRIMARY KEY,
    scope         TEXT NOT NULL,
    name          TEXT NOT NULL,
    hash          TEXT NOT NULL,
    action        TEXT NOT NULL,
    published_at  BIGINT NOT NULL,
    published_by  TEXT NOT NULL,
    comment       TEXT
);
CREATE INDEX template_publications_by_template ON template_publications (scope, name, published_at);
