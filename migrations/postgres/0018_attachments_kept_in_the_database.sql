-- A small attachment is kept inside the database, committed with its letter (`content`), instead of in a
-- file of its own under attachments_dir (`path`): a letter with small files then costs no file, no folder and
-- no sync of its own at intake. Each attachment is in exactly one of the two places.
ALTER TABLE attachments ALTER COLUMN path DROP NOT NULL;
ALTER TABLE attachments ADD COLUMN content BYTEA;
ALTER TABLE attachments ADD CONSTRAINT attachments_kept_in_one_place CHECK ((path IS NULL) <> (content IS NULL));
