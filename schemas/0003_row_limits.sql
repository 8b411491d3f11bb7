-- 0003_row_limits: bounds on what a row may hold, so that no row can stop
-- the claims, polls and listings of every other row: times are finite (and
-- before the year 10000), resources and the timeout have upper bounds, and
-- text and JSON columns have size limits. The limits are listed in README
-- "What a producer writes".
--
-- A database may already hold rows these rules refuse. The migration must
-- not fail on them, and must not leave rows that mesoflow's own updates
-- would then be refused on:
--   1. a pending row the new rules refuse (other than by its timeout) could
--      never have run as meant; it ends failed with reason invalid_task and
--      the rule in its message;
--   2. then, in every row, a time that is not finite becomes now() (NULL
--      where the column may be NULL), and resources and timeouts over the
--      bounds become the bounds (an attempt that ran had less than that);
--   3. then the checks are added and validated.
-- Sizes are checked by a trigger on INSERT and on UPDATE of those columns
-- (rather than by CHECKs, which PostgreSQL evaluates on every UPDATE, and
-- mesoflow updates each row several times per attempt), so rows already
-- stored keep their text.

-- The first size limit `t` breaks, by the name its error carries; NULL when
-- there is none. Sizes are in bytes (JSON as text).
CREATE FUNCTION mesoflow.task_size_violation(t mesoflow.tasks) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN octet_length(t.key) > 2048 THEN 'key_must_be_at_most_2_kib'
        WHEN octet_length(t.command) > 131072 THEN 'command_must_be_at_most_128_kib'
        WHEN octet_length(array_to_string(t.argv, ' ')) > 1048576
            THEN 'argv_must_be_at_most_1_mib'
        WHEN cardinality(t.argv) > 65536 THEN 'argv_must_be_at_most_65536_words'
        WHEN octet_length(t.image) > 4096 THEN 'image_must_be_at_most_4_kib'
        WHEN octet_length(t.run_as_user) > 1024 THEN 'run_as_user_must_be_at_most_1_kib'
        WHEN octet_length(t.role) > 1024 THEN 'role_must_be_at_most_1_kib'
        WHEN octet_length(t.env::text) > 1048576 THEN 'env_must_be_at_most_1_mib'
        WHEN octet_length(array_to_string(t.uris, ' ')) > 262144
            THEN 'uris_must_be_at_most_256_kib'
        WHEN octet_length(t.labels::text) > 65536 THEN 'labels_must_be_at_most_64_kib'
        WHEN octet_length(t.constraints::text) > 65536 THEN 'constraints_must_be_at_most_64_kib'
    END
$$;

-- The first of the new CHECKs below that `t` breaks; NULL when none does.
CREATE FUNCTION mesoflow.task_bound_violation(t mesoflow.tasks) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN NOT (isfinite(t.created_at) AND t.created_at < '10000-01-01 00:00:00+00')
            THEN 'created_at_must_be_finite'
        WHEN NOT (isfinite(t.not_before) AND t.not_before < '10000-01-01 00:00:00+00')
            THEN 'not_before_must_be_finite'
        WHEN t.cpus > 4096 THEN 'cpus_must_be_at_most_4096'
        WHEN t.mem > 16777216 THEN 'mem_must_be_at_most_16_tib'
        WHEN t.disk > 1073741824 THEN 'disk_must_be_at_most_1_pib'
        WHEN t.gpus > 1024 THEN 'gpus_must_be_at_most_1024'
        WHEN t.ports > 65535 THEN 'ports_must_be_at_most_65535'
    END
$$;

-- 1. Pending rows that could never run as meant.
UPDATE mesoflow.tasks t SET
    state = 'failed', reason = 'invalid_task',
    message = 'refused by schema 3 (README "What a producer writes"): '
              || coalesce(mesoflow.task_bound_violation(t), mesoflow.task_size_violation(t)),
    finished_at = now(), updated_at = now()
WHERE t.state = 'pending'
  AND (mesoflow.task_bound_violation(t) IS NOT NULL
       OR mesoflow.task_size_violation(t) IS NOT NULL);

-- 2. Every row within the bounds.
UPDATE mesoflow.tasks SET
    created_at = CASE WHEN isfinite(created_at) AND created_at < '10000-01-01 00:00:00+00'
                      THEN created_at ELSE now() END,
    not_before = CASE WHEN isfinite(not_before) AND not_before < '10000-01-01 00:00:00+00'
                      THEN not_before ELSE now() END,
    updated_at = CASE WHEN isfinite(updated_at) AND updated_at < '10000-01-01 00:00:00+00'
                      THEN updated_at ELSE now() END,
    launched_at = CASE WHEN isfinite(launched_at) AND launched_at < '10000-01-01 00:00:00+00'
                       THEN launched_at END,
    started_at = CASE WHEN isfinite(started_at) AND started_at < '10000-01-01 00:00:00+00'
                      THEN started_at END,
    finished_at = CASE WHEN isfinite(finished_at) AND finished_at < '10000-01-01 00:00:00+00'
                       THEN finished_at END,
    cpus = least(cpus, 4096), mem = least(mem, 16777216), disk = least(disk, 1073741824),
    gpus = least(gpus, 1024), ports = least(ports, 65535),
    timeout_s = least(timeout_s, 315360000)
WHERE NOT (isfinite(created_at) AND created_at < '10000-01-01 00:00:00+00')
   OR NOT (isfinite(not_before) AND not_before < '10000-01-01 00:00:00+00')
   OR NOT (isfinite(updated_at) AND updated_at < '10000-01-01 00:00:00+00')
   OR NOT (isfinite(launched_at) AND launched_at < '10000-01-01 00:00:00+00')
   OR NOT (isfinite(started_at) AND started_at < '10000-01-01 00:00:00+00')
   OR NOT (isfinite(finished_at) AND finished_at < '10000-01-01 00:00:00+00')
   OR cpus > 4096 OR mem > 16777216 OR disk > 1073741824 OR gpus > 1024 OR ports > 65535
   OR timeout_s > 315360000;

-- 3. The checks. Their numbers are the ones the functions above use. The
-- bounds leave NaN and infinity to the checks of schema 1, whose names say
-- better what is wrong (CHECKs are tested in the order of their names).
ALTER TABLE mesoflow.tasks
    ADD CONSTRAINT created_at_must_be_finite CHECK (
        isfinite(created_at) AND created_at < '10000-01-01 00:00:00+00'),
    ADD CONSTRAINT not_before_must_be_finite CHECK (
        isfinite(not_before) AND not_before < '10000-01-01 00:00:00+00'),
    ADD CONSTRAINT times_must_be_finite CHECK (
        isfinite(updated_at) AND updated_at < '10000-01-01 00:00:00+00'
        AND (launched_at IS NULL
             OR (isfinite(launched_at) AND launched_at < '10000-01-01 00:00:00+00'))
        AND (started_at IS NULL
             OR (isfinite(started_at) AND started_at < '10000-01-01 00:00:00+00'))
        AND (finished_at IS NULL
             OR (isfinite(finished_at) AND finished_at < '10000-01-01 00:00:00+00'))),
    ADD CONSTRAINT cpus_must_be_at_most_4096 CHECK (NOT (cpus > 4096 AND cpus < 'Infinity')),
    ADD CONSTRAINT mem_must_be_at_most_16_tib CHECK (NOT (mem > 16777216 AND mem < 'Infinity')),
    ADD CONSTRAINT disk_must_be_at_most_1_pib CHECK (NOT (disk > 1073741824 AND disk < 'Infinity')),
    ADD CONSTRAINT gpus_must_be_at_most_1024 CHECK (NOT (gpus > 1024 AND gpus < 'Infinity')),
    ADD CONSTRAINT ports_must_be_at_most_65535 CHECK (ports <= 65535),
    ADD CONSTRAINT timeout_must_be_at_most_3650_days CHECK (
        NOT (timeout_s > 315360000 AND timeout_s < 'Infinity'));

CREATE FUNCTION mesoflow.check_task_sizes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    violated text := mesoflow.task_size_violation(NEW);
BEGIN
    IF violated IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"', violated
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = violated,
                  HINT = 'README "What a producer writes" lists the size limits';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_check_sizes
    BEFORE INSERT OR UPDATE OF key, command, argv, image, run_as_user, role, env, uris, labels,
                               constraints
    ON mesoflow.tasks
    FOR EACH ROW WHEN (mesoflow.task_size_violation(NEW) IS NOT NULL)
    EXECUTE FUNCTION mesoflow.check_task_sizes();

-- A claim ends a task that asks for a user or role the operator does not
-- allow (allowed_users, allowed_roles) instead of launching it, and records
-- that in the history as kind refused.
ALTER TABLE mesoflow.task_history
    DROP CONSTRAINT history_kind_must_be_known,
    ADD CONSTRAINT history_kind_must_be_known CHECK (
        kind IN ('launch', 'update', 'kill_requested', 'timed_out', 'refused'));
