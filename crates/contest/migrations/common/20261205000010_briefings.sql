-- Scheduled briefings. Each briefing belongs to a regional stage and has a room of its own:
-- a row of `rooms` with the same stage and no stage part. A room is a briefing room exactly
-- when a briefing names it. Cancelling keeps the row and sets cancelled_at.
CREATE TABLE briefings (
    id TEXT PRIMARY KEY,
    stage_id TEXT NOT NULL REFERENCES stages (id),
    room_id TEXT NOT NULL UNIQUE REFERENCES rooms (id),
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    agenda TEXT NOT NULL,
    created_by TEXT REFERENCES people (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    cancelled_at BIGINT
);
CREATE INDEX briefings_stage ON briefings (stage_id, starts_at);
