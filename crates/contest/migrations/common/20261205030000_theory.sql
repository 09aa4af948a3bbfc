-- The theory stage. A theory test is a task of kind 'theory', so it shares the tasks' start,
-- time limit, limit mode, publication, first openings and openings; its questions come from
-- the question bank of the task's nomination.
ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
    CHECK (kind IN ('text', 'theory'));

-- The question bank of a nomination. `options`, `correct` and `accepted` are JSON arrays:
-- the option texts, the indices of the correct options (single and multiple choice) and
-- the accepted answers (short answer).
CREATE TABLE theory_questions (
    id TEXT PRIMARY KEY,
    nomination_id TEXT NOT NULL REFERENCES nominations (id),
    kind TEXT NOT NULL CHECK (kind IN ('single', 'multiple', 'short')),
    text TEXT NOT NULL,
    options TEXT NOT NULL,
    correct TEXT NOT NULL,
    accepted TEXT NOT NULL,
    points BIGINT NOT NULL CHECK (points > 0),
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX theory_questions_nomination ON theory_questions (nomination_id, position);

-- The settings of a theory test: how many questions each participant draws from the bank,
-- or NULL for all of them.
CREATE TABLE theory_tests (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    question_count BIGINT CHECK (question_count > 0)
);

-- A participant's attempt, created at the first opening. `finished_at` is set when the
-- participant hands the test in early; `closed_at` is the moment it closed: the hand-in,
-- or the deadline itself once it has passed, whenever the server notices.
CREATE TABLE theory_attempts (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    closed_at BIGINT,
    PRIMARY KEY (task_id, person_id)
);

-- The questions an attempt drew, in the participant's order, fixed at the first opening.
CREATE TABLE theory_attempt_questions (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    question_id TEXT NOT NULL REFERENCES theory_questions (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (task_id, person_id, question_id)
);
CREATE INDEX theory_attempt_questions_question ON theory_attempt_questions (question_id);

-- The newest answer to each question of an attempt, as JSON: an array of option indices or
-- a string.
CREATE TABLE theory_answers (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    question_id TEXT NOT NULL REFERENCES theory_questions (id),
    answer TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, person_id, question_id)
);

-- Results taken on an external exam platform and imported from CSV, in hundredths of a point.
CREATE TABLE theory_imported_results (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    score_hundredths BIGINT NOT NULL CHECK (score_hundredths >= 0),
    max_score_hundredths BIGINT NOT NULL CHECK (max_score_hundredths > 0),
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, person_id)
);
