-- The latest moment a participant may open a task for the first time, in Unix milliseconds,
-- or NULL when a first opening may come at any time. Set only in the `first_opening` mode.
ALTER TABLE tasks ADD COLUMN opens_until BIGINT;
