-- Days a contest's recordings are kept after they end. NULL keeps the server's default
-- (recording.retention_days).
ALTER TABLE contests ADD COLUMN recording_retention_days BIGINT
    CHECK (recording_retention_days IS NULL OR recording_retention_days BETWEEN 1 AND 36500);
