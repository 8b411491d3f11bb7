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
