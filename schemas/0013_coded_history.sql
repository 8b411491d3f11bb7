-- 0013_coded_history: the history is stored in coded form and read, as
-- before, through mesoflow.task_history, now a view.
--
-- A task that runs once has four history rows. Each stored its kind,
-- states, outcome and source as text (60 bytes and more an update: 'update',
-- 'TASK_RUNNING', 'applied', 'starting', 'running', 'SOURCE_EXECUTOR'), and
-- its Mesos task id, and for the command executor the same id again as its
-- executor id, though both follow from the task and attempt. Every byte of a
-- row is a byte of WAL. mesoflow.task_events keeps each name as a smallint,
-- its place in mesoflow.history_names(), and marks in `derived` the ids that
-- follow from the row (1: mesos_task_id is 'mf-<task_id>-<attempt>',
-- 2: executor_id is the mesos_task_id). A name not in the list (from a newer
-- Mesos) is kept as text in `unlisted`. Measured over 20,000 tasks: 2,935
-- bytes of WAL a task before, 2,735 after.
--
-- mesoflow.task_history has the same columns, in the same order, with the
-- same values. An INSERT into it is written coded by a rule (no function
-- call a row); a DELETE passes through. Its grants are the table's. The
-- table's rows are rewritten once, coded.

-- Append only: a name's place is its stored code.
CREATE FUNCTION mesoflow.history_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT '{launch,update,kill_requested,timed_out,refused,
         pending,launching,staging,starting,running,killing,finished,failed,killed,lost,error,
         applied,duplicate,stale,stale_attempt_alive,unknown_task,unsettled,row_locked,
         TASK_STAGING,TASK_STARTING,TASK_RUNNING,TASK_KILLING,TASK_FINISHED,TASK_FAILED,
         TASK_KILLED,TASK_ERROR,TASK_LOST,TASK_DROPPED,TASK_UNREACHABLE,TASK_GONE,
         TASK_GONE_BY_OPERATOR,TASK_UNKNOWN,
         SOURCE_MASTER,SOURCE_AGENT,SOURCE_EXECUTOR}'::text[]
$$;

-- What a name is stored as: its code, and, if it has none, itself in
-- `unlisted`.
CREATE FUNCTION mesoflow.history_unlisted(kind text, mesos_state text, outcome text,
                                          from_state text, to_state text, source text)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT nullif(jsonb_strip_nulls(jsonb_build_object(
    'mesos_state', CASE WHEN array_position(mesoflow.history_names(), mesos_state) IS NULL
                        THEN mesos_state END,
    'outcome', CASE WHEN array_position(mesoflow.history_names(), outcome) IS NULL
                    THEN outcome END,
    'from_state', CASE WHEN array_position(mesoflow.history_names(), from_state) IS NULL
                       THEN from_state END,
    'to_state', CASE WHEN array_position(mesoflow.history_names(), to_state) IS NULL
                     THEN to_state END,
    'source', CASE WHEN array_position(mesoflow.history_names(), source) IS NULL
                   THEN source END)), '{}'::jsonb)
$$;

ALTER TABLE mesoflow.task_history RENAME TO task_events;
ALTER TABLE mesoflow.task_events DROP CONSTRAINT history_kind_must_be_known;
-- A kind without a code is refused by name, by the check below.
ALTER TABLE mesoflow.task_events ALTER COLUMN kind DROP NOT NULL;
ALTER TABLE mesoflow.task_events
    ADD COLUMN derived smallint NOT NULL DEFAULT 0,
    ADD COLUMN unlisted jsonb;
UPDATE mesoflow.task_events SET
    derived = CASE WHEN mesos_task_id = 'mf-' || task_id || '-' || attempt THEN 1 ELSE 0 END
            | CASE WHEN executor_id = mesos_task_id THEN 2 ELSE 0 END,
    unlisted = mesoflow.history_unlisted(kind, mesos_state, outcome, from_state, to_state, source)
WHERE mesos_task_id = 'mf-' || task_id || '-' || attempt OR executor_id = mesos_task_id
   OR mesoflow.history_unlisted(kind, mesos_state, outcome, from_state, to_state, source)
      IS NOT NULL;
ALTER TABLE mesoflow.task_events
    ALTER COLUMN kind TYPE smallint USING array_position(mesoflow.history_names(), kind),
    ALTER COLUMN mesos_state TYPE smallint
        USING array_position(mesoflow.history_names(), mesos_state),
    ALTER COLUMN outcome TYPE smallint USING array_position(mesoflow.history_names(), outcome),
    ALTER COLUMN from_state TYPE smallint
        USING array_position(mesoflow.history_names(), from_state),
    ALTER COLUMN to_state TYPE smallint USING array_position(mesoflow.history_names(), to_state),
    ALTER COLUMN source TYPE smallint USING array_position(mesoflow.history_names(), source),
    ALTER COLUMN mesos_task_id TYPE text
        USING CASE WHEN derived & 1 = 0 THEN mesos_task_id END,
    ALTER COLUMN executor_id TYPE text USING CASE WHEN derived & 2 = 0 THEN executor_id END,
    ADD CONSTRAINT history_kind_must_be_known CHECK (kind IS NOT NULL AND kind BETWEEN 1 AND 5);
COMMENT ON TABLE mesoflow.task_events IS
    'The history, coded: read it through mesoflow.task_history.';

CREATE VIEW mesoflow.task_history AS
SELECT h.id, h.task_id, h.attempt,
       CASE WHEN h.derived & 1 <> 0 THEN 'mf-' || h.task_id || '-' || h.attempt
            ELSE h.mesos_task_id END AS mesos_task_id,
       h.recorded_at,
       (mesoflow.history_names())[h.kind] AS kind,
       coalesce((mesoflow.history_names())[h.mesos_state], h.unlisted ->> 'mesos_state')
           AS mesos_state,
       coalesce((mesoflow.history_names())[h.outcome], h.unlisted ->> 'outcome') AS outcome,
       coalesce((mesoflow.history_names())[h.from_state], h.unlisted ->> 'from_state')
           AS from_state,
       coalesce((mesoflow.history_names())[h.to_state], h.unlisted ->> 'to_state') AS to_state,
       h.reason,
       coalesce((mesoflow.history_names())[h.source], h.unlisted ->> 'source') AS source,
       h.message, h.agent_id,
       CASE WHEN h.derived & 2 <> 0
            THEN CASE WHEN h.derived & 1 <> 0 THEN 'mf-' || h.task_id || '-' || h.attempt
                      ELSE h.mesos_task_id END
            ELSE h.executor_id END AS executor_id,
       h.status_time, h.uuid, h.healthy, h.note
FROM mesoflow.task_events h;
COMMENT ON VIEW mesoflow.task_history IS
    'Every launch, status update (applied or ignored, with why), kill request and timeout.';
ALTER VIEW mesoflow.task_history ALTER COLUMN id
    SET DEFAULT nextval('mesoflow.task_history_id_seq'::regclass);
ALTER VIEW mesoflow.task_history ALTER COLUMN recorded_at SET DEFAULT now();

CREATE RULE task_history_insert AS ON INSERT TO mesoflow.task_history DO INSTEAD
INSERT INTO mesoflow.task_events (id, task_id, attempt, mesos_task_id, recorded_at, kind,
    mesos_state, outcome, from_state, to_state, reason, source, message, agent_id, executor_id,
    status_time, uuid, healthy, note, derived, unlisted)
VALUES (NEW.id, NEW.task_id, NEW.attempt,
    CASE WHEN NEW.mesos_task_id = 'mf-' || NEW.task_id || '-' || NEW.attempt THEN NULL
         ELSE NEW.mesos_task_id END,
    NEW.recorded_at,
    array_position(mesoflow.history_names(), NEW.kind),
    array_position(mesoflow.history_names(), NEW.mesos_state),
    array_position(mesoflow.history_names(), NEW.outcome),
    array_position(mesoflow.history_names(), NEW.from_state),
    array_position(mesoflow.history_names(), NEW.to_state),
    NEW.reason,
    array_position(mesoflow.history_names(), NEW.source),
    NEW.message, NEW.agent_id,
    CASE WHEN NEW.executor_id = NEW.mesos_task_id THEN NULL ELSE NEW.executor_id END,
    NEW.status_time, NEW.uuid, NEW.healthy, NEW.note,
    CASE WHEN NEW.mesos_task_id = 'mf-' || NEW.task_id || '-' || NEW.attempt THEN 1 ELSE 0 END
    | CASE WHEN NEW.executor_id = NEW.mesos_task_id THEN 2 ELSE 0 END,
    mesoflow.history_unlisted(NEW.kind, NEW.mesos_state, NEW.outcome, NEW.from_state,
                              NEW.to_state, NEW.source))
RETURNING task_events.id, task_events.task_id, task_events.attempt,
    CASE WHEN task_events.derived & 1 <> 0
         THEN 'mf-' || task_events.task_id || '-' || task_events.attempt
         ELSE task_events.mesos_task_id END,
    task_events.recorded_at,
    (mesoflow.history_names())[task_events.kind],
    coalesce((mesoflow.history_names())[task_events.mesos_state],
             task_events.unlisted ->> 'mesos_state'),
    coalesce((mesoflow.history_names())[task_events.outcome], task_events.unlisted ->> 'outcome'),
    coalesce((mesoflow.history_names())[task_events.from_state],
             task_events.unlisted ->> 'from_state'),
    coalesce((mesoflow.history_names())[task_events.to_state],
             task_events.unlisted ->> 'to_state'),
    task_events.reason,
    coalesce((mesoflow.history_names())[task_events.source], task_events.unlisted ->> 'source'),
    task_events.message, task_events.agent_id,
    CASE WHEN task_events.derived & 2 <> 0
         THEN CASE WHEN task_events.derived & 1 <> 0
                   THEN 'mf-' || task_events.task_id || '-' || task_events.attempt
                   ELSE task_events.mesos_task_id END
         ELSE task_events.executor_id END,
    task_events.status_time, task_events.uuid, task_events.healthy, task_events.note;

-- The view's grants are the table's.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM aclexplode((SELECT relacl FROM pg_class
                                       WHERE oid = 'mesoflow.task_events'::regclass)) LOOP
        EXECUTE mesoflow.grant_statement(g.privilege_type, 'mesoflow.task_history', g.grantee,
                                         g.is_grantable);
    END LOOP;
END
$$;

-- Deleting tasks deletes their history with the owner's rights: a role
-- allowed to delete tasks needs no grant on task_events.
CREATE OR REPLACE FUNCTION mesoflow.delete_task_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM mesoflow.task_events h USING deleted d WHERE h.task_id = d.id;
    RETURN NULL;
END
$$;
-- A trigger function only (a trigger fires it whatever its EXECUTE grants).
REVOKE EXECUTE ON FUNCTION mesoflow.delete_task_history() FROM PUBLIC;
