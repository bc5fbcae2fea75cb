-- The Basic credentials relais generates for a provider account to call back with (Maileva's
-- notification_center): made once, kept across restarts and shared by every process of relais, sent to the
-- provider when subscribing and compared with each callback. Never printed.
CREATE TABLE provider_webhook_credentials (
    provider    TEXT PRIMARY KEY,
    login       TEXT NOT NULL,
    password    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
