-- Contest structure: contest -> regional stage -> nomination -> stage part -> room.
-- Identifiers are lowercase hyphenated UUIDs stored as TEXT; times are BIGINT Unix
-- milliseconds on the server clock.

CREATE TABLE contests (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A regional stage of a contest. Briefings, when they come, belong to a stage.
CREATE TABLE stages (
    id TEXT PRIMARY KEY,
    contest_id TEXT NOT NULL REFERENCES contests (id),
    region TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX stages_contest ON stages (contest_id);

-- A profession contested within a stage.
CREATE TABLE nominations (
    id TEXT PRIMARY KEY,
    stage_id TEXT NOT NULL REFERENCES stages (id),
    profession TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (stage_id, profession)
);

CREATE TABLE stage_parts (
    id TEXT PRIMARY KEY,
    nomination_id TEXT NOT NULL REFERENCES nominations (id),
    kind TEXT NOT NULL CHECK (kind IN ('theory', 'practice')),
    title TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX stage_parts_nomination ON stage_parts (nomination_id);

-- Everyone the system knows: organisers, participants, experts, regional commission members
-- and support staff. An application, when accepted, will point at the person it created.
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL
        CHECK (role IN ('organiser', 'participant', 'expert', 'commission_member', 'support')),
    full_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    region TEXT,
    created_at BIGINT NOT NULL
);

-- Password sign-in, for organisers.
CREATE TABLE accounts (
    person_id TEXT PRIMARY KEY REFERENCES people (id),
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- An expert group of a nomination. Its chair is one of its members; the column makes the
-- chair unique.
CREATE TABLE expert_groups (
    id TEXT PRIMARY KEY,
    nomination_id TEXT NOT NULL REFERENCES nominations (id),
    name TEXT NOT NULL,
    chair_id TEXT NOT NULL REFERENCES people (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE expert_group_members (
    group_id TEXT NOT NULL REFERENCES expert_groups (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    PRIMARY KEY (group_id, person_id)
);

-- A media room. Every room belongs to a regional stage; contest rooms also name their stage
-- part, and a briefing room will name its briefing instead.
CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    stage_id TEXT NOT NULL REFERENCES stages (id),
    stage_part_id TEXT REFERENCES stage_parts (id),
    title TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX rooms_stage_part ON rooms (stage_part_id);

CREATE TABLE room_assignments (
    room_id TEXT NOT NULL REFERENCES rooms (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, person_id)
);
CREATE INDEX room_assignments_person ON room_assignments (person_id);

-- Personal invite links. Only the SHA-256 of the link's secret is stored.
CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL REFERENCES people (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX invites_person ON invites (person_id);

-- Signed-in browsers. Only the SHA-256 of the cookie secret is stored. The CSRF token is
-- stored as it is, because GET /api/v1/me hands it back to the session's own pages and it
-- is useless without the cookie.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people (id),
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('password', 'invite')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sessions_person ON sessions (person_id);
