-- Append-only: who did what to which record, and when. Written in the same transaction as
-- the change it describes. actor_id and session_id are empty for the command line and for
-- failed sign-ins.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor_id TEXT,
    session_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target_id);
CREATE INDEX audit_log_actor ON audit_log (actor_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
