-- 0004_unreachable_attempts: an agent cut off by a network partition keeps
-- its tasks (Mesos sends TASK_UNREACHABLE, or TASK_UNKNOWN from a failed-over
-- master that has not heard from the agent again). mesoflow waits
-- unreachable_grace_period before it replaces such an attempt, so a short
-- partition never runs a task twice; this column says since when the
-- current attempt has been out of reach (NULL: it is not).
ALTER TABLE mesoflow.tasks ADD COLUMN unreachable_since timestamptz;

COMMENT ON COLUMN mesoflow.tasks.unreachable_since IS
    'Since when the current attempt''s agent has been out of reach (TASK_UNREACHABLE, or '
    'TASK_UNKNOWN for a placed attempt); NULL when it is not. Written by mesoflow.';

-- The grace period's scan reads only the few rows out of reach.
CREATE INDEX tasks_unreachable ON mesoflow.tasks (unreachable_since)
    WHERE unreachable_since IS NOT NULL;
