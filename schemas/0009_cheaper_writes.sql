-- 0009_cheaper_writes: a task's status updates rewrite its row in place, and
-- a producer's insert checks its sizes without a function call.
--
-- PostgreSQL updates a row "HOT" (heap-only: the new version on the same
-- page, no new index entries, a WAL record of only the bytes that changed)
-- when no column any index uses, in its key or its predicate, changes and
-- the page has room. The partial indexes named `state` in their predicates,
-- so every step of a task (launching, starting, running, finished) wrote a
-- whole new row version and an entry in every index of the table. They now
-- name `phase`, which the server derives from `state` and which changes only
-- when a task is claimed, when it ends and when a retry queues it again;
-- and each page keeps half its space free, for the versions of its rows.
-- Measured over 100,000 tasks: half free made 50% of updates HOT (3,800
-- bytes of WAL a task), 35% free 41% (4,100 bytes), 20% free 37%.
--
-- The column is stored, so adding it rewrites the table once (under an
-- exclusive lock: about 15 s for a million rows on two cores).
ALTER TABLE mesoflow.tasks SET (fillfactor = 50);

ALTER TABLE mesoflow.tasks ADD COLUMN phase text GENERATED ALWAYS AS (
    CASE
        WHEN state = 'pending' THEN 'pending'
        WHEN state IN ('launching', 'staging', 'starting', 'running', 'killing') THEN 'live'
        ELSE 'ended'
    END) STORED;

COMMENT ON COLUMN mesoflow.tasks.phase IS
    'pending, live (launched and not terminal) or ended: derived from state by the server, '
    'for the indexes. Read state.';

-- With not_before and kill_requested in its leaves, the pending rows are
-- counted by queue and by due or backing off from the index alone: a
-- million of them are summed without reading the table.
DROP INDEX mesoflow.tasks_pending_by_queue;
CREATE INDEX tasks_pending_by_queue ON mesoflow.tasks (queue, priority DESC, created_at, id)
    INCLUDE (not_before, kill_requested) WHERE phase = 'pending';

DROP INDEX mesoflow.tasks_active;
CREATE INDEX tasks_active ON mesoflow.tasks (id) WHERE phase = 'live';

DROP INDEX mesoflow.tasks_to_kill;
CREATE INDEX tasks_to_kill ON mesoflow.tasks (id)
    WHERE (kill_requested OR timed_out OR launch_timed_out_attempt = attempt) AND phase = 'live';

-- The same rows as before; the predicates name phase so that the indexes
-- answer them.
CREATE OR REPLACE VIEW mesoflow.pending_reasons AS
    SELECT t.id, t.key, t.queue, t.state,
        CASE
            WHEN t.state = 'launching' THEN coalesce(t.reason, 'claimed')
            WHEN t.not_before > now() THEN 'retry_backoff'
            WHEN q.max_running IS NOT NULL AND coalesce(l.n, 0) >= q.max_running
                THEN 'queue_at_max_running'
            ELSE 'in_line'
        END AS reason,
        CASE
            WHEN t.state = 'launching' THEN coalesce(t.message,
                'claimed by mesoflow: its next offers are matched against it')
            WHEN t.not_before > now() THEN 'retry back-off: not before '
                || to_char(t.not_before AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"')
            WHEN q.max_running IS NOT NULL AND coalesce(l.n, 0) >= q.max_running
                THEN 'its queue runs ' || coalesce(l.n, 0) || ' tasks, its max_running is '
                     || q.max_running
            ELSE 'in line in its queue: claimed as the tasks ahead of it launch'
        END AS detail,
        t.created_at, t.not_before, t.priority
    FROM mesoflow.tasks t
    LEFT JOIN mesoflow.queues q ON q.name = t.queue
    LEFT JOIN (SELECT queue, count(*) AS n FROM mesoflow.tasks
               WHERE phase = 'live'
               GROUP BY queue) l ON l.queue = t.queue
    WHERE t.phase = 'pending' OR (t.phase = 'live' AND t.state = 'launching' AND t.agent_id IS NULL);

-- The size limits' trigger condition, written out. As a call of
-- task_size_violation(NEW) it built the whole row and ran a function for every
-- insert, about a quarter of the server's CPU per row a producer queues. The
-- conditions are that function's, which still names the limit broken.
DROP TRIGGER tasks_check_sizes ON mesoflow.tasks;
CREATE TRIGGER tasks_check_sizes
    BEFORE INSERT OR UPDATE OF key, command, argv, image, run_as_user, role, env, uris, labels,
                               constraints
    ON mesoflow.tasks
    FOR EACH ROW WHEN (
        octet_length(NEW.key) > 2048
        OR octet_length(NEW.command) > 131072
        OR octet_length(array_to_string(NEW.argv, ' ')) > 1048576
        OR cardinality(NEW.argv) > 65536
        OR octet_length(NEW.image) > 4096
        OR octet_length(NEW.run_as_user) > 1024
        OR octet_length(NEW.role) > 1024
        OR octet_length(NEW.env::text) > 1048576
        OR octet_length(array_to_string(NEW.uris, ' ')) > 262144
        OR octet_length(NEW.labels::text) > 65536
        OR octet_length(NEW.constraints::text) > 65536)
    EXECUTE FUNCTION mesoflow.check_task_sizes();

-- The rules on what a producer writes, checked when a producer writes it.
-- PostgreSQL evaluates every CHECK of a table on every UPDATE of a row,
-- whatever it changes: the 31 rules below on the producer's columns cost
-- about as much as the rest of each of mesoflow's five updates of a task
-- together (measured: 60 rows updated in 5.1-5.8 ms with them, 1.9-2.9 ms
-- without). They are now a trigger on INSERT and on UPDATE of those columns,
-- which mesoflow's own statements never set (and on UPDATE OF queue, whose
-- defaults may fill them in). A row is refused as before: the
-- same SQLSTATE (check_violation), the same rule's name as the constraint,
-- the first broken rule by name. The checks of the columns mesoflow writes
-- stay CHECKs.
CREATE FUNCTION mesoflow.task_value_violation(t mesoflow.tasks) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN (t.argv IS NULL OR array_position(t.argv, NULL) IS NULL) IS FALSE
            THEN 'argv_must_not_contain_nulls'
        WHEN (t.command IS NULL OR t.argv IS NULL) IS FALSE
            THEN 'command_and_argv_are_exclusive'
        WHEN (nullif(btrim(t.command), '') IS NOT NULL OR coalesce(cardinality(t.argv), 0) > 0
              OR nullif(btrim(t.image), '') IS NOT NULL) IS FALSE
            THEN 'command_or_image_required'
        WHEN (t.containerizer IS NULL OR t.containerizer IN ('docker', 'mesos')) IS FALSE
            THEN 'containerizer_must_be_docker_or_mesos'
        WHEN (t.containerizer IS NULL OR nullif(btrim(t.image), '') IS NOT NULL) IS FALSE
            THEN 'containerizer_needs_an_image'
        WHEN (NOT (t.cpus > 4096 AND t.cpus < 'Infinity')) IS FALSE
            THEN 'cpus_must_be_at_most_4096'
        WHEN (t.cpus > 0 AND t.cpus < 'Infinity') IS FALSE THEN 'cpus_must_be_positive'
        WHEN (NOT (t.disk > 1073741824 AND t.disk < 'Infinity')) IS FALSE
            THEN 'disk_must_be_at_most_1_pib'
        WHEN (t.disk >= 0 AND t.disk < 'Infinity') IS FALSE THEN 'disk_must_not_be_negative'
        WHEN (t.docker_parameters IS NULL OR (nullif(btrim(t.image), '') IS NOT NULL
              AND coalesce(t.containerizer, 'docker') = 'docker')) IS FALSE
            THEN 'docker_parameters_need_docker'
        WHEN (jsonb_typeof(t.env) = 'object') IS FALSE THEN 'env_must_be_a_json_object'
        WHEN (NOT (t.gpus > 1024 AND t.gpus < 'Infinity')) IS FALSE
            THEN 'gpus_must_be_at_most_1024'
        WHEN (t.gpus >= 0 AND t.gpus < 'Infinity') IS FALSE THEN 'gpus_must_not_be_negative'
        WHEN (btrim(t.key) <> '') IS FALSE THEN 'key_must_not_be_empty'
        WHEN (jsonb_typeof(t.labels) = 'object') IS FALSE THEN 'labels_must_be_a_json_object'
        WHEN (t.max_attempts >= 1) IS FALSE THEN 'max_attempts_must_be_at_least_1'
        WHEN (NOT (t.mem > 16777216 AND t.mem < 'Infinity')) IS FALSE
            THEN 'mem_must_be_at_most_16_tib'
        WHEN (t.mem > 0 AND t.mem < 'Infinity') IS FALSE THEN 'mem_must_be_positive'
        WHEN (t.network IS NULL OR t.network NOT IN ('bridge', 'none')
              OR coalesce(t.containerizer, 'docker') = 'docker') IS FALSE
            THEN 'network_bridge_or_none_needs_docker'
        WHEN (t.network IS NULL OR t.network IN ('host', 'bridge', 'none', 'user')) IS FALSE
            THEN 'network_must_be_host_bridge_none_or_user'
        WHEN (t.network_name IS NULL
              OR t.network_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$') IS FALSE
            THEN 'network_name_must_be_a_plain_name'
        WHEN (t.network_name IS NULL OR NOT t.network IS DISTINCT FROM 'user') IS FALSE
            THEN 'network_name_needs_user_network'
        WHEN (t.network IS NULL OR nullif(btrim(t.image), '') IS NOT NULL) IS FALSE
            THEN 'network_needs_an_image'
        WHEN (t.ports <= 65535) IS FALSE THEN 'ports_must_be_at_most_65535'
        WHEN (t.ports >= 0) IS FALSE THEN 'ports_must_not_be_negative'
        WHEN (t.retry_backoff_s >= 0 AND t.retry_backoff_s < 'Infinity') IS FALSE
            THEN 'retry_backoff_must_not_be_negative'
        WHEN (NOT (t.timeout_s > 315360000 AND t.timeout_s < 'Infinity')) IS FALSE
            THEN 'timeout_must_be_at_most_3650_days'
        WHEN (t.timeout_s IS NULL OR (t.timeout_s > 0 AND t.timeout_s < 'Infinity')) IS FALSE
            THEN 'timeout_must_be_positive'
        WHEN (array_position(t.uris, NULL) IS NULL) IS FALSE THEN 'uris_must_not_contain_nulls'
        WHEN (t.network IS DISTINCT FROM 'user' OR t.network_name IS NOT NULL) IS FALSE
            THEN 'user_network_needs_network_name'
        WHEN (t.volumes IS NULL OR nullif(btrim(t.image), '') IS NOT NULL) IS FALSE
            THEN 'volumes_need_an_image'
    END
$$;

CREATE FUNCTION mesoflow.check_task_values() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    violated text := mesoflow.task_value_violation(NEW);
BEGIN
    IF violated IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"', violated
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = violated,
                  HINT = 'README "What a producer writes" lists the rules';
    END IF;
    RETURN NEW;
END
$$;

ALTER TABLE mesoflow.tasks
    DROP CONSTRAINT argv_must_not_contain_nulls,
    DROP CONSTRAINT command_and_argv_are_exclusive,
    DROP CONSTRAINT command_or_image_required,
    DROP CONSTRAINT containerizer_must_be_docker_or_mesos,
    DROP CONSTRAINT containerizer_needs_an_image,
    DROP CONSTRAINT cpus_must_be_at_most_4096,
    DROP CONSTRAINT cpus_must_be_positive,
    DROP CONSTRAINT disk_must_be_at_most_1_pib,
    DROP CONSTRAINT disk_must_not_be_negative,
    DROP CONSTRAINT docker_parameters_need_docker,
    DROP CONSTRAINT env_must_be_a_json_object,
    DROP CONSTRAINT gpus_must_be_at_most_1024,
    DROP CONSTRAINT gpus_must_not_be_negative,
    DROP CONSTRAINT key_must_not_be_empty,
    DROP CONSTRAINT labels_must_be_a_json_object,
    DROP CONSTRAINT max_attempts_must_be_at_least_1,
    DROP CONSTRAINT mem_must_be_at_most_16_tib,
    DROP CONSTRAINT mem_must_be_positive,
    DROP CONSTRAINT network_bridge_or_none_needs_docker,
    DROP CONSTRAINT network_must_be_host_bridge_none_or_user,
    DROP CONSTRAINT network_name_must_be_a_plain_name,
    DROP CONSTRAINT network_name_needs_user_network,
    DROP CONSTRAINT network_needs_an_image,
    DROP CONSTRAINT ports_must_be_at_most_65535,
    DROP CONSTRAINT ports_must_not_be_negative,
    DROP CONSTRAINT retry_backoff_must_not_be_negative,
    DROP CONSTRAINT timeout_must_be_at_most_3650_days,
    DROP CONSTRAINT timeout_must_be_positive,
    DROP CONSTRAINT uris_must_not_contain_nulls,
    DROP CONSTRAINT user_network_needs_network_name,
    DROP CONSTRAINT volumes_need_an_image;

-- The condition repeats the function's rules inline (a call with the whole
-- row would cost what the size check's did); task_value_violation then names
-- the first rule broken. After the queue's defaults are filled in and the
-- size, placement and container checks.
CREATE TRIGGER tasks_check_values
    BEFORE INSERT OR UPDATE OF key, command, argv, image, containerizer, cpus, mem, disk, gpus,
                               ports, env, uris, labels, max_attempts, retry_backoff_s, timeout_s,
                               network, network_name, docker_parameters, volumes, queue
    ON mesoflow.tasks
    FOR EACH ROW WHEN (
        (NEW.argv IS NULL OR array_position(NEW.argv, NULL) IS NULL) IS FALSE
        OR (NEW.command IS NULL OR NEW.argv IS NULL) IS FALSE
        OR (nullif(btrim(NEW.command), '') IS NOT NULL OR coalesce(cardinality(NEW.argv), 0) > 0
            OR nullif(btrim(NEW.image), '') IS NOT NULL) IS FALSE
        OR (NEW.containerizer IS NULL OR NEW.containerizer IN ('docker', 'mesos')) IS FALSE
        OR (NEW.containerizer IS NULL OR nullif(btrim(NEW.image), '') IS NOT NULL) IS FALSE
        OR (NOT (NEW.cpus > 4096 AND NEW.cpus < 'Infinity')) IS FALSE
        OR (NEW.cpus > 0 AND NEW.cpus < 'Infinity') IS FALSE
        OR (NOT (NEW.disk > 1073741824 AND NEW.disk < 'Infinity')) IS FALSE
        OR (NEW.disk >= 0 AND NEW.disk < 'Infinity') IS FALSE
        OR (NEW.docker_parameters IS NULL OR (nullif(btrim(NEW.image), '') IS NOT NULL
            AND coalesce(NEW.containerizer, 'docker') = 'docker')) IS FALSE
        OR (jsonb_typeof(NEW.env) = 'object') IS FALSE
        OR (NOT (NEW.gpus > 1024 AND NEW.gpus < 'Infinity')) IS FALSE
        OR (NEW.gpus >= 0 AND NEW.gpus < 'Infinity') IS FALSE
        OR (btrim(NEW.key) <> '') IS FALSE
        OR (jsonb_typeof(NEW.labels) = 'object') IS FALSE
        OR (NEW.max_attempts >= 1) IS FALSE
        OR (NOT (NEW.mem > 16777216 AND NEW.mem < 'Infinity')) IS FALSE
        OR (NEW.mem > 0 AND NEW.mem < 'Infinity') IS FALSE
        OR (NEW.network IS NULL OR NEW.network NOT IN ('bridge', 'none')
            OR coalesce(NEW.containerizer, 'docker') = 'docker') IS FALSE
        OR (NEW.network IS NULL OR NEW.network IN ('host', 'bridge', 'none', 'user')) IS FALSE
        OR (NEW.network_name IS NULL
            OR NEW.network_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$') IS FALSE
        OR (NEW.network_name IS NULL OR NOT NEW.network IS DISTINCT FROM 'user') IS FALSE
        OR (NEW.network IS NULL OR nullif(btrim(NEW.image), '') IS NOT NULL) IS FALSE
        OR (NEW.ports <= 65535) IS FALSE
        OR (NEW.ports >= 0) IS FALSE
        OR (NEW.retry_backoff_s >= 0 AND NEW.retry_backoff_s < 'Infinity') IS FALSE
        OR (NOT (NEW.timeout_s > 315360000 AND NEW.timeout_s < 'Infinity')) IS FALSE
        OR (NEW.timeout_s IS NULL OR (NEW.timeout_s > 0 AND NEW.timeout_s < 'Infinity')) IS FALSE
        OR (array_position(NEW.uris, NULL) IS NULL) IS FALSE
        OR (NEW.network IS DISTINCT FROM 'user' OR NEW.network_name IS NOT NULL) IS FALSE
        OR (NEW.volumes IS NULL OR nullif(btrim(NEW.image), '') IS NOT NULL) IS FALSE)
    EXECUTE FUNCTION mesoflow.check_task_values();
