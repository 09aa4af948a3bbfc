-- The PDF text of a task, checked by its first bytes.
CREATE TABLE task_files (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BYTEA NOT NULL,
    uploaded_at BIGINT NOT NULL
);

-- What a participant sent for a task before their deadline: text answers (each save is a
-- row, the newest is the answer) and PDF, JPEG or PNG files, as told by their first bytes.
CREATE TABLE task_submissions (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    room_id TEXT NOT NULL REFERENCES rooms (id),
    kind TEXT NOT NULL CHECK (kind IN ('text', 'pdf', 'jpeg', 'png')),
    answer TEXT,
    content BYTEA,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    submitted_at BIGINT NOT NULL
);
CREATE INDEX task_submissions_task ON task_submissions (task_id, person_id, submitted_at);
CREATE INDEX task_submissions_room_person ON task_submissions (room_id, person_id);
