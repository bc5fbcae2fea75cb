-- A small attachment is kept inside the database, committed with its letter (`content`), instead of in a
-- file of its own under attachments_dir (`path`): a letter with small files then costs no file, no folder and
-- no sync of its own at intake. Each attachment is in exactly one of the two places.
CREATE TABLE attachments_kept (
    letter_id     TEXT NOT NULL,
    position      BIGINT NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    path          TEXT,
    content       BLOB,
    PRIMARY KEY (letter_id, position),
    CHECK ((path IS NULL) <> (content IS NULL))
);
INSERT INTO attachments_kept (letter_id, position, filename, content_type, size, sha256, path)
    SELECT letter_id, position, filename, content_type, size, sha256, path FROM attachments;
DROP TABLE attachments;
ALTER TABLE attachments_kept RENAME TO attachments;
