-- 0002_claimed_attempts: mesoflow claims a window of pending tasks ahead of
-- the offers that will run them (state launching, a Mesos task id, no agent
-- yet), so an offer is answered without waiting for the database. The
-- agent is recorded right after ACCEPT. An attempt that was claimed but, as
-- reconciliation proves after a crash, never reached Mesos does not count
-- against max_attempts; this column counts those.
ALTER TABLE mesoflow.tasks
    ADD COLUMN unlaunched_attempts integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT unlaunched_attempts_within_attempt CHECK (
        unlaunched_attempts >= 0 AND unlaunched_attempts <= attempt);

COMMENT ON COLUMN mesoflow.tasks.unlaunched_attempts IS
    'Attempts mesoflow claimed that never reached Mesos (it stopped between claim and ACCEPT). '
    'They do not count against max_attempts.';
