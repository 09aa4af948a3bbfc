-- Failed sign-ins and application submissions that the server's rate limits counted, so
-- that a restart keeps the counts. `limit_key` is a login or a client address, which is
-- personal data: the server deletes each row once it is older than its limit's window.
CREATE TABLE limiter_events (
    kind TEXT NOT NULL,
    limit_key TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX limiter_events_by_key ON limiter_events (kind, limit_key, at_ms);
CREATE INDEX limiter_events_by_time ON limiter_events (kind, at_ms);
