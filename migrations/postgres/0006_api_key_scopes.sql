-- What each API key may do, and when it was last used. Existing keys keep what they could do: letters.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'letters';
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
