-- A regional commission member oversees one regional stage and approves its protocols;
-- people of other roles belong to no stage.
ALTER TABLE people ADD COLUMN stage_id TEXT REFERENCES stages (id);
CREATE INDEX people_stage ON people (stage_id);

-- Commission members were matched to stages by region before this column existed. Keep
-- that match where it is unambiguous: exactly one stage has the member's region.
UPDATE people SET stage_id = (SELECT s.id FROM stages s WHERE s.region = people.region)
WHERE role = 'commission_member'
  AND (SELECT COUNT(*) FROM stages s WHERE s.region = people.region) = 1;
