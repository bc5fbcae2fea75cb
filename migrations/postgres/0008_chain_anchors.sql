-- The latest anchored head of each letter's event chain: the event sequence number and hash that the last
-- anchor covering a change of this letter recorded, and when. A copy, for the letter's API view, of what the
-- append-only anchor file outside the database holds; `relais verify` trusts the file, not this table.
CREATE TABLE chain_anchors (
    letter_id    TEXT PRIMARY KEY,
    seq          BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    anchored_at  BIGINT NOT NULL,
    digest       TEXT NOT NULL
);
