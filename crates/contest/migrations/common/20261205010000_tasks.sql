-- Task texts of a stage part. A task is hidden from participants until it is published and
-- its start has come. `text` is Markdown, rendered as text by the client, never as HTML;
-- a PDF, when uploaded, is in task_files. The limit runs from `starts_at` for every
-- participant (`common_start`) or from each participant's first opening (`first_opening`).
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    stage_part_id TEXT NOT NULL REFERENCES stage_parts (id),
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    time_limit_secs BIGINT NOT NULL CHECK (time_limit_secs > 0),
    limit_mode TEXT NOT NULL CHECK (limit_mode IN ('common_start', 'first_opening')),
    published_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_stage_part ON tasks (stage_part_id);

-- The first opening of a task by a participant, written once. The participant's deadline
-- in the `first_opening` mode is computed from it, so it never changes.
CREATE TABLE task_starts (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    room_id TEXT NOT NULL REFERENCES rooms (id),
    first_opened_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, person_id)
);

-- Every opening of a task, the first included, on the server clock.
CREATE TABLE task_openings (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    room_id TEXT NOT NULL REFERENCES rooms (id),
    opened_at BIGINT NOT NULL
);
CREATE INDEX task_openings_task ON task_openings (task_id, opened_at);
CREATE INDEX task_openings_room_person ON task_openings (room_id, person_id);
