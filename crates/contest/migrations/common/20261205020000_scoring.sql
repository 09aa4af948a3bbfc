-- Scoring: criteria of stage parts, assessment sheets and their marks, and protocols with
-- their electronic approvals. Marks are whole points; yes is the criterion's maximum and
-- no is 0.

CREATE TABLE criteria (
    id TEXT PRIMARY KEY,
    stage_part_id TEXT NOT NULL REFERENCES stage_parts (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    max_points BIGINT NOT NULL CHECK (max_points BETWEEN 1 AND 1000),
    kind TEXT NOT NULL CHECK (kind IN ('points', 'yes_no')),
    created_at BIGINT NOT NULL
);
CREATE INDEX criteria_part ON criteria (stage_part_id);

-- How the marks of a stage are combined. A stage without a row uses the mean and a plain
-- sum of theory and practice (both weights 100 percent).
CREATE TABLE scoring_rules (
    stage_id TEXT PRIMARY KEY REFERENCES stages (id),
    aggregation TEXT NOT NULL CHECK (aggregation IN ('mean', 'median', 'trimmed_mean')),
    theory_weight BIGINT NOT NULL CHECK (theory_weight BETWEEN 0 AND 1000),
    practice_weight BIGINT NOT NULL CHECK (practice_weight BETWEEN 0 AND 1000),
    updated_at BIGINT NOT NULL
);

-- One expert's sheet for one participant of one stage part.
CREATE TABLE assessment_sheets (
    id TEXT PRIMARY KEY,
    stage_part_id TEXT NOT NULL REFERENCES stage_parts (id),
    group_id TEXT NOT NULL REFERENCES expert_groups (id),
    expert_id TEXT NOT NULL REFERENCES people (id),
    participant_id TEXT NOT NULL REFERENCES people (id),
    comment TEXT NOT NULL,
    locked_at BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (stage_part_id, expert_id, participant_id)
);
CREATE INDEX assessment_sheets_group ON assessment_sheets (group_id);

CREATE TABLE sheet_marks (
    sheet_id TEXT NOT NULL REFERENCES assessment_sheets (id),
    criterion_id TEXT NOT NULL REFERENCES criteria (id),
    points BIGINT NOT NULL,
    PRIMARY KEY (sheet_id, criterion_id)
);

-- A protocol of an expert group, or the regional commission's protocol made from it.
-- content is canonical JSON; content_hash is its SHA-256 in hex.
CREATE TABLE protocols (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES expert_groups (id),
    kind TEXT NOT NULL CHECK (kind IN ('expert_group', 'commission')),
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    generated_by TEXT NOT NULL REFERENCES people (id),
    generated_at BIGINT NOT NULL,
    handed_over_at BIGINT,
    UNIQUE (group_id, kind)
);

-- An approval counts only while its content_hash equals the protocol's.
CREATE TABLE protocol_approvals (
    protocol_id TEXT NOT NULL REFERENCES protocols (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    session_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    PRIMARY KEY (protocol_id, person_id, content_hash)
);

-- One-time approval codes. Only the SHA-256 of the code is stored.
CREATE TABLE approval_codes (
    id TEXT PRIMARY KEY,
    protocol_id TEXT NOT NULL REFERENCES protocols (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    session_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX approval_codes_protocol ON approval_codes (protocol_id, person_id);
