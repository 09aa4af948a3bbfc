-- Snapshots of identity documents that participants show to the camera before a theory
-- test, JPEG only (checked by the first bytes), and an expert's decision on each.
CREATE TABLE theory_identity_checks (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    content BLOB NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
    reason TEXT,
    reviewed_by TEXT REFERENCES people (id),
    reviewed_at BIGINT
);
CREATE INDEX theory_identity_checks_task ON theory_identity_checks (task_id, person_id, uploaded_at);
