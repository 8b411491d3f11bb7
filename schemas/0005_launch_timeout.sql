-- 0005_launch_timeout: an attempt placed on an agent that never reaches
-- RUNNING within launch_timeout (an image that does not pull, a fetcher that
-- hangs, an agent that never answers) is killed and replaced by the retry
-- policy. This column names the attempt mesoflow killed for that (NULL: none);
-- a later attempt of the same task is not marked by it.
ALTER TABLE mesoflow.tasks ADD COLUMN launch_timed_out_attempt integer;

COMMENT ON COLUMN mesoflow.tasks.launch_timed_out_attempt IS
    'The attempt mesoflow is killing because it did not reach RUNNING within launch_timeout; '
    'NULL when none. Written by mesoflow.';

-- Launched attempts mesoflow must kill: kill requests, execution timeouts
-- and launch timeouts.
DROP INDEX mesoflow.tasks_to_kill;
CREATE INDEX tasks_to_kill ON mesoflow.tasks (id)
    WHERE (kill_requested OR timed_out OR launch_timed_out_attempt = attempt)
      AND state IN ('launching', 'staging', 'starting', 'running', 'killing');
