-- 0008_queues: named queues. Every task belongs to one (`queue`, default
-- 'default'); mesoflow.queues holds the settings of those an operator set:
-- a weight (the queue's fair share of the cluster, by dominant resource
-- share, among queues with work), max_running (a hard cap on the queue's
-- launched and unfinished tasks, claimed ones included; 0 pauses the queue)
-- and defaults for tasks that set none (resources, role, constraints,
-- image). A queue without a row has weight 1, no cap and no defaults.
--
-- Defaults apply when a row is inserted, so a row always shows what it runs
-- with, and changing a queue's defaults later changes no queued task. The
-- resource and constraint columns lose their column defaults for this: a
-- trigger that runs before every other fills what the producer left NULL,
-- from the queue's defaults, then from the former column defaults.

-- The first rule a queue's name breaks; NULL when it breaks none.
CREATE FUNCTION mesoflow.queue_name_violation(name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN btrim(name) = '' THEN 'queue_must_not_be_empty'
        WHEN octet_length(name) > 200 THEN 'queue_must_be_at_most_200_bytes'
        WHEN name ~ '[[:cntrl:]]' THEN 'queue_must_not_contain_control_characters'
        WHEN btrim(name) <> name THEN 'queue_must_not_start_or_end_with_spaces'
        WHEN name ~ '[\u00a0\u00ad\u2000-\u200f\u2028-\u202f\u205f-\u206f\ufeff]'
            THEN 'queue_must_not_contain_invisible_or_bidi_characters'
    END
$$;

ALTER TABLE mesoflow.tasks ADD COLUMN queue text NOT NULL DEFAULT 'default';

CREATE TABLE mesoflow.queues (
    name        text PRIMARY KEY,
    weight      float8 NOT NULL DEFAULT 1,
    max_running integer,
    cpus        float8,
    mem         float8,
    disk        float8,
    gpus        float8,
    role        text,
    constraints jsonb,
    image       text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT weight_must_be_positive CHECK (weight > 0 AND weight <= 1000000),
    CONSTRAINT max_running_must_not_be_negative CHECK (max_running >= 0),
    CONSTRAINT default_cpus_must_be_positive CHECK (cpus > 0 AND cpus <= 4096),
    CONSTRAINT default_mem_must_be_positive CHECK (mem > 0 AND mem <= 16777216),
    CONSTRAINT default_disk_must_not_be_negative CHECK (disk >= 0 AND disk <= 1073741824),
    CONSTRAINT default_gpus_must_not_be_negative CHECK (gpus >= 0 AND gpus <= 1024),
    CONSTRAINT default_role_must_not_be_empty CHECK (btrim(role) <> '' AND octet_length(role) <= 1024),
    CONSTRAINT default_image_must_not_be_empty CHECK (btrim(image) <> '' AND octet_length(image) <= 4096),
    CONSTRAINT default_constraints_must_be_triples CHECK (
        mesoflow.constraints_are_triples(constraints) AND mesoflow.constraint_ops_are_known(constraints)
        AND octet_length(constraints::text) <= 65536)
);

-- A queue's name follows the rules of the tasks' `queue` column, each
-- refused with its own name.
CREATE FUNCTION mesoflow.check_queue_name() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    violation text := mesoflow.queue_name_violation(NEW.name);
BEGIN
    IF violation IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "queues" violates check constraint "%"', violation
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'queues',
                  CONSTRAINT = violation,
                  HINT = 'a queue name is 1 to 200 bytes, without control characters or '
                         'leading or trailing spaces';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER queues_check_name BEFORE INSERT OR UPDATE OF name ON mesoflow.queues
    FOR EACH ROW EXECUTE FUNCTION mesoflow.check_queue_name();

COMMENT ON TABLE mesoflow.queues IS
    'Settings of named queues (README "Queues"): weight, max_running, and defaults for tasks '
    'that set none. A queue without a row has weight 1, no cap and no defaults.';

-- Fills what an inserted row left NULL from its queue's defaults, then from
-- the former column defaults, and judges the queue's name (on INSERT and on
-- UPDATE OF queue only: a CHECK would run on every one of mesoflow's updates).
-- It runs with its owner's rights, so that producers need no grant on
-- mesoflow.queues and an upgrade does not stop their INSERTs.
CREATE FUNCTION mesoflow.apply_queue_defaults() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q mesoflow.queues;
    violation text;
BEGIN
    violation := mesoflow.queue_name_violation(NEW.queue);
    IF violation IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"', violation
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = violation,
                  HINT = 'a queue name is 1 to 200 bytes, without control characters or '
                         'leading or trailing spaces';
    END IF;
    -- A launched task stays in its queue: its max_running counts it there.
    IF TG_OP = 'UPDATE' AND NEW.queue IS DISTINCT FROM OLD.queue AND OLD.state <> 'pending' THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"',
            'queue_changes_only_while_pending'
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = 'queue_changes_only_while_pending',
                  HINT = 'a task claimed or launched counts against its queue''s max_running';
    END IF;
    IF TG_OP = 'INSERT' AND (NEW.cpus IS NULL OR NEW.mem IS NULL OR NEW.disk IS NULL
                             OR NEW.gpus IS NULL OR NEW.constraints IS NULL OR NEW.role IS NULL
                             OR NEW.image IS NULL) THEN
        SELECT * INTO q FROM mesoflow.queues WHERE name = NEW.queue;
        NEW.cpus := coalesce(NEW.cpus, q.cpus, 1);
        NEW.mem := coalesce(NEW.mem, q.mem, 256);
        NEW.disk := coalesce(NEW.disk, q.disk, 0);
        NEW.gpus := coalesce(NEW.gpus, q.gpus, 0);
        NEW.constraints := coalesce(NEW.constraints, q.constraints, '[]'::jsonb);
        NEW.role := coalesce(NEW.role, q.role);
        -- The containerizer stays the producer's (NULL: docker).
        NEW.image := coalesce(NEW.image, q.image);
    END IF;
    -- An empty image says "no image, whatever the queue's default".
    IF NEW.image = '' THEN
        NEW.image := NULL;
    END IF;
    RETURN NEW;
END
$$;

-- A trigger function only: no one calls it directly (a trigger fires it
-- whatever its EXECUTE grants).
REVOKE EXECUTE ON FUNCTION mesoflow.apply_queue_defaults() FROM PUBLIC;

ALTER TABLE mesoflow.tasks
    ALTER COLUMN cpus DROP DEFAULT,
    ALTER COLUMN mem DROP DEFAULT,
    ALTER COLUMN disk DROP DEFAULT,
    ALTER COLUMN gpus DROP DEFAULT,
    ALTER COLUMN constraints DROP DEFAULT;

-- Named so that it runs before every other BEFORE trigger (they run in the
-- order of their names), which judge the filled row.
CREATE TRIGGER tasks_apply_queue_defaults BEFORE INSERT OR UPDATE OF queue ON mesoflow.tasks
    FOR EACH ROW EXECUTE FUNCTION mesoflow.apply_queue_defaults();

-- A queue's settings changed (a cap raised, a queue resumed, a weight):
-- mesoflow looks at the queue at once, as for new tasks.
CREATE FUNCTION mesoflow.notify_queue_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mesoflow_tasks', 'pending');
    RETURN NULL;
END
$$;

CREATE TRIGGER queues_notify_change AFTER INSERT OR UPDATE OR DELETE ON mesoflow.queues
    FOR EACH STATEMENT EXECUTE FUNCTION mesoflow.notify_queue_change();

-- The claim reads each queue's pending tasks in its order; the per-queue
-- index also answers the one queue order, and replaces the global one.
CREATE INDEX tasks_pending_by_queue ON mesoflow.tasks (queue, priority DESC, created_at, id)
    WHERE state = 'pending';
DROP INDEX mesoflow.tasks_pending_order;

-- Why each task that has not launched yet waits, for producers, `mesoflow
-- status` and the status page: one row per pending task and per task
-- claimed and waiting for an offer. A claimed task's reason is the one
-- mesoflow wrote on the row (at a low rate, once it has waited a while:
-- no_offers, unplaceable, launch_window_full), else `claimed`; a pending
-- task's is computed here: retry_backoff, queue_at_max_running or in_line.
CREATE VIEW mesoflow.pending_reasons AS
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
               WHERE state IN ('launching', 'staging', 'starting', 'running', 'killing')
               GROUP BY queue) l ON l.queue = t.queue
    WHERE t.state = 'pending' OR (t.state = 'launching' AND t.agent_id IS NULL);

COMMENT ON VIEW mesoflow.pending_reasons IS
    'Why each task not launched yet waits (README "Why a task is pending").';
