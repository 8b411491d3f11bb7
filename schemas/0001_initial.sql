-- 0001_initial: the queue table producers write to, the history of every
-- launch and status update, and the framework's own row.
--
-- mesoflow.schema_version is created by the migrator itself (it must exist
-- before any migration can be recorded); see src/store/migrator.cpp.

-- Placement constraints are a JSON array of [attribute, op, value] triples;
-- EXISTS takes no value. Two rules, so that a producer learns which part of
-- the value is wrong. They are enforced by a trigger on INSERT and UPDATE OF
-- constraints rather than as CHECKs: PostgreSQL evaluates every CHECK on
-- every UPDATE, and mesoflow updates each row several times per attempt.
CREATE FUNCTION mesoflow.constraints_are_triples(value jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    c jsonb;
BEGIN
    IF jsonb_typeof(value) <> 'array' THEN
        RETURN false;
    END IF;
    FOR c IN SELECT jsonb_array_elements(value) LOOP
        IF jsonb_typeof(c) <> 'array' THEN
            RETURN false;
        END IF;
        IF jsonb_array_length(c) NOT IN (2, 3) THEN
            RETURN false;
        END IF;
        IF jsonb_typeof(c -> 0) <> 'string' OR c ->> 0 = '' OR jsonb_typeof(c -> 1) <> 'string' THEN
            RETURN false;
        END IF;
        IF jsonb_array_length(c) = 3 AND jsonb_typeof(c -> 2) NOT IN ('string', 'number') THEN
            RETURN false;
        END IF;
        IF jsonb_array_length(c) = 2 AND c ->> 1 <> 'EXISTS' THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;

CREATE FUNCTION mesoflow.constraint_ops_are_known(value jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    c jsonb;
BEGIN
    -- The shape is constraints_are_triples' business; only ops are judged here.
    IF jsonb_typeof(value) <> 'array' THEN
        RETURN true;
    END IF;
    FOR c IN SELECT jsonb_array_elements(value) LOOP
        IF jsonb_typeof(c) = 'array' AND jsonb_array_length(c) >= 2
           AND (c ->> 1) NOT IN ('EQUALS', 'NOT_EQUALS', 'LIKE', 'UNLIKE', 'EXISTS') THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;

CREATE TABLE mesoflow.tasks (
    -- What the producer writes.
    id               bigserial PRIMARY KEY,
    key              text NOT NULL,
    command          text,
    argv             text[],
    image            text,
    containerizer    text,
    force_pull       boolean NOT NULL DEFAULT false,
    cpus             float8 NOT NULL DEFAULT 1,
    mem              float8 NOT NULL DEFAULT 256,
    disk             float8 NOT NULL DEFAULT 0,
    gpus             float8 NOT NULL DEFAULT 0,
    ports            integer NOT NULL DEFAULT 0,
    env              jsonb NOT NULL DEFAULT '{}',
    uris             text[] NOT NULL DEFAULT '{}',
    run_as_user      text,
    labels           jsonb NOT NULL DEFAULT '{}',
    role             text,
    constraints      jsonb NOT NULL DEFAULT '[]',
    priority         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 3,
    retry_backoff_s  float8 NOT NULL DEFAULT 15,
    retry_on_failure boolean NOT NULL DEFAULT false,
    timeout_s        float8,
    kill_requested   boolean NOT NULL DEFAULT false,
    not_before       timestamptz NOT NULL DEFAULT now(),

    -- What mesoflow owns. Producers read these and never write them.
    state            text NOT NULL DEFAULT 'pending',
    attempt          integer NOT NULL DEFAULT 0,
    mesos_task_id    text,
    agent_id         text,
    hostname         text,
    offer_id         text,
    last_mesos_state text,
    message          text,
    reason           text,
    source           text,
    exit_status      integer,
    healthy          boolean,
    timed_out        boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    launched_at      timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,

    CONSTRAINT task_key_must_be_unique UNIQUE (key),
    CONSTRAINT key_must_not_be_empty CHECK (btrim(key) <> ''),
    CONSTRAINT command_or_image_required CHECK (
        nullif(btrim(command), '') IS NOT NULL
        OR coalesce(cardinality(argv), 0) > 0
        OR nullif(btrim(image), '') IS NOT NULL),
    CONSTRAINT command_and_argv_are_exclusive CHECK (command IS NULL OR argv IS NULL),
    CONSTRAINT argv_must_not_contain_nulls CHECK (argv IS NULL OR array_position(argv, NULL) IS NULL),
    CONSTRAINT containerizer_must_be_docker_or_mesos CHECK (
        containerizer IS NULL OR containerizer IN ('docker', 'mesos')),
    CONSTRAINT containerizer_needs_an_image CHECK (
        containerizer IS NULL OR nullif(btrim(image), '') IS NOT NULL),
    CONSTRAINT cpus_must_be_positive CHECK (cpus > 0 AND cpus < 'Infinity'),
    CONSTRAINT mem_must_be_positive CHECK (mem > 0 AND mem < 'Infinity'),
    CONSTRAINT disk_must_not_be_negative CHECK (disk >= 0 AND disk < 'Infinity'),
    CONSTRAINT gpus_must_not_be_negative CHECK (gpus >= 0 AND gpus < 'Infinity'),
    CONSTRAINT ports_must_not_be_negative CHECK (ports >= 0),
    CONSTRAINT env_must_be_a_json_object CHECK (jsonb_typeof(env) = 'object'),
    CONSTRAINT labels_must_be_a_json_object CHECK (jsonb_typeof(labels) = 'object'),
    CONSTRAINT uris_must_not_contain_nulls CHECK (array_position(uris, NULL) IS NULL),
    CONSTRAINT max_attempts_must_be_at_least_1 CHECK (max_attempts >= 1),
    CONSTRAINT retry_backoff_must_not_be_negative CHECK (
        retry_backoff_s >= 0 AND retry_backoff_s < 'Infinity'),
    CONSTRAINT timeout_must_be_positive CHECK (
        timeout_s IS NULL OR (timeout_s > 0 AND timeout_s < 'Infinity')),
    CONSTRAINT state_must_be_known CHECK (state IN (
        'pending', 'launching', 'staging', 'starting', 'running', 'killing',
        'finished', 'failed', 'killed', 'lost', 'error')),
    CONSTRAINT attempt_must_not_be_negative CHECK (attempt >= 0),
    CONSTRAINT mesos_task_id_must_match_attempt CHECK (
        mesos_task_id IS NULL OR mesos_task_id = 'mf-' || id || '-' || attempt)
);

COMMENT ON TABLE mesoflow.tasks IS
    'The mesoflow queue. Producers INSERT rows (state pending) and may set kill_requested; '
    'mesoflow owns state, attempt and every column after not_before. See README "The queue table".';

-- The queue window: pending tasks by priority, then age.
CREATE INDEX tasks_pending_order ON mesoflow.tasks (priority DESC, created_at, id)
    WHERE state = 'pending';
-- Launched attempts that are not terminal: reconciliation, timeouts.
CREATE INDEX tasks_active ON mesoflow.tasks (id)
    WHERE state IN ('launching', 'staging', 'starting', 'running', 'killing');
-- Launched attempts mesoflow must kill.
CREATE INDEX tasks_to_kill ON mesoflow.tasks (id)
    WHERE (kill_requested OR timed_out)
      AND state IN ('launching', 'staging', 'starting', 'running', 'killing');

-- Every launch, status update (applied or ignored, with why), kill request
-- and timeout, for audit and `mesoflow status`.
CREATE TABLE mesoflow.task_history (
    id            bigserial PRIMARY KEY,
    -- NULL for an update about a task mesoflow does not know. Not a foreign
    -- key (a check per inserted row); deleting tasks deletes their history
    -- through the tasks_delete_history trigger.
    task_id       bigint,
    attempt       integer,
    mesos_task_id text,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    kind          text NOT NULL,
    mesos_state   text,
    outcome       text,
    from_state    text,
    to_state      text,
    reason        text,
    source        text,
    message       text,
    agent_id      text,
    executor_id   text,
    status_time   timestamptz,
    uuid          text,
    healthy       boolean,
    note          text,
    CONSTRAINT history_kind_must_be_known CHECK (
        kind IN ('launch', 'update', 'kill_requested', 'timed_out'))
);
CREATE INDEX task_history_by_task ON mesoflow.task_history (task_id, id);

-- One row per framework name: the framework id Mesos gave it (reused across
-- restarts) and which mesoflow process leads.
CREATE TABLE mesoflow.frameworks (
    name         text PRIMARY KEY,
    framework_id text,
    leader       text,
    leader_since timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT framework_name_must_not_be_empty CHECK (btrim(name) <> '')
);

CREATE FUNCTION mesoflow.check_placement_constraints() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT mesoflow.constraints_are_triples(NEW.constraints) THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"',
            'constraints_must_be_attribute_op_value_triples'
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = 'constraints_must_be_attribute_op_value_triples',
                  HINT = 'constraints is a JSON array of [attribute, op, value]; EXISTS takes no value';
    END IF;
    IF NOT mesoflow.constraint_ops_are_known(NEW.constraints) THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"',
            'constraint_op_must_be_equals_not_equals_like_unlike_or_exists'
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = 'constraint_op_must_be_equals_not_equals_like_unlike_or_exists',
                  HINT = 'ops are EQUALS, NOT_EQUALS, LIKE, UNLIKE and EXISTS';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_check_constraints BEFORE INSERT OR UPDATE OF constraints ON mesoflow.tasks
    FOR EACH ROW WHEN (NEW.constraints IS DISTINCT FROM '[]'::jsonb)
    EXECUTE FUNCTION mesoflow.check_placement_constraints();

CREATE FUNCTION mesoflow.delete_task_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mesoflow.task_history h USING deleted d WHERE h.task_id = d.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_delete_history AFTER DELETE ON mesoflow.tasks
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION mesoflow.delete_task_history();

-- A kill requested before launch needs no Mesos call: the task is killed here,
-- in the producer's own statement.
CREATE FUNCTION mesoflow.kill_unlaunched_task() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.state := 'killed';
    NEW.reason := 'killed_before_launch';
    NEW.message := 'kill requested before launch';
    NEW.finished_at := now();
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_kill_on_insert BEFORE INSERT ON mesoflow.tasks
    FOR EACH ROW WHEN (NEW.kill_requested AND NEW.state = 'pending')
    EXECUTE FUNCTION mesoflow.kill_unlaunched_task();
CREATE TRIGGER tasks_kill_before_launch BEFORE UPDATE OF kill_requested ON mesoflow.tasks
    FOR EACH ROW WHEN (NEW.kill_requested AND NEW.state = 'pending')
    EXECUTE FUNCTION mesoflow.kill_unlaunched_task();

-- Wake mesoflow at once. Notifications with the same payload are folded into
-- one per transaction, so a bulk insert sends one.
CREATE FUNCTION mesoflow.notify_new_tasks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted WHERE state = 'pending') THEN
        PERFORM pg_notify('mesoflow_tasks', 'pending');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_notify_insert AFTER INSERT ON mesoflow.tasks
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION mesoflow.notify_new_tasks();

CREATE FUNCTION mesoflow.record_kill_request() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind, from_state, to_state)
    VALUES (NEW.id, NEW.attempt, NEW.mesos_task_id, 'kill_requested', OLD.state, NEW.state);
    PERFORM pg_notify('mesoflow_tasks', 'kill');
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_notify_kill AFTER UPDATE OF kill_requested ON mesoflow.tasks
    FOR EACH ROW WHEN (NEW.kill_requested AND NOT OLD.kill_requested)
    EXECUTE FUNCTION mesoflow.record_kill_request();
