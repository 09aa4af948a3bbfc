-- Versions of the consent to the processing of personal data. An application records the
-- version it agreed to and the text's SHA-256, so that a later edit cannot change what was
-- agreed.
CREATE TABLE consent_texts (
    version TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- An application to take part in a nomination of a regional stage. `name_key` is the full
-- name lowercased with ё as е and single spaces, for finding duplicates.
CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    stage_id TEXT NOT NULL REFERENCES stages (id),
    nomination_id TEXT NOT NULL REFERENCES nominations (id),
    status TEXT NOT NULL
        CHECK (status IN ('submitted', 'registered', 'under_review', 'accepted', 'rejected')),
    number TEXT,
    full_name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    employer TEXT NOT NULL,
    position TEXT NOT NULL,
    experience_years BIGINT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    consent_version TEXT NOT NULL REFERENCES consent_texts (version),
    consent_sha256 TEXT NOT NULL,
    consented_at BIGINT NOT NULL,
    duplicate_of TEXT REFERENCES applications (id),
    rejection_reason TEXT,
    person_id TEXT REFERENCES people (id),
    status_token_hash TEXT NOT NULL UNIQUE,
    submitted_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (stage_id, number)
);
CREATE INDEX applications_nomination ON applications (nomination_id, status);
CREATE INDEX applications_name_key ON applications (stage_id, name_key, birth_date);
CREATE INDEX applications_email ON applications (stage_id, email);

-- The last registration number given out in a stage.
CREATE TABLE application_counters (
    stage_id TEXT PRIMARY KEY REFERENCES stages (id),
    last_number BIGINT NOT NULL
);
