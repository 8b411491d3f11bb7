-- 0015_agent_codes: history rows store a known agent as a number and a
-- status update's uuid as 16 bytes; mesoflow.task_history reads as before.
--
-- Every history row of a task that ran names its agent, and Mesos agent ids
-- are long ('<master id>-S<n>': 40 bytes and more), so a task that runs once
-- wrote its agent four times. mesoflow.agent_codes numbers the agents:
-- mesoflow adds each agent it places a task on before the placement is
-- written, and a row naming a numbered agent stores the number in
-- task_events.agent_code instead of the text. A status update's uuid, 16
-- bytes sent as 24 characters of base64, is stored as a uuid in
-- task_events.status_uuid. What has no number, or is not the base64 of 16
-- bytes exactly as PostgreSQL writes it, is stored as text as before: no
-- row loses anything, and rows written before this migration stay as they
-- are (no rewrite).
--
-- A code is never reused or changed: do not delete or update rows of
-- mesoflow.agent_codes (the history would read them as no agent). There is
-- a row for each agent id mesoflow placed a task on or a status update
-- named (an agent gets a new id when its host reboots), about 60 bytes each.
-- Codes are given by the table alone (GENERATED ALWAYS).

CREATE TABLE mesoflow.agent_codes (
    code     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id text NOT NULL UNIQUE
);
COMMENT ON TABLE mesoflow.agent_codes IS
    'The agents history rows name by number (task_events.agent_code): append only.';

-- Whoever may write the history may add agents.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM aclexplode((SELECT relacl FROM pg_class
                                       WHERE oid = 'mesoflow.task_events'::regclass))
             WHERE privilege_type IN ('SELECT', 'INSERT') LOOP
        EXECUTE mesoflow.grant_statement(g.privilege_type, 'mesoflow.agent_codes', g.grantee,
                                         g.is_grantable);
    END LOOP;
END
$$;

ALTER TABLE mesoflow.task_events
    ADD COLUMN agent_code integer,
    ADD COLUMN status_uuid uuid;

-- The same columns, names, types and order: only how agent_id and uuid are
-- read changes. Its grants, comment and defaults stay.
CREATE OR REPLACE VIEW mesoflow.task_history AS
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
       h.message,
       coalesce(h.agent_id, (SELECT a.agent_id FROM mesoflow.agent_codes a
                             WHERE a.code = h.agent_code)) AS agent_id,
       CASE WHEN h.derived & 2 <> 0
            THEN CASE WHEN h.derived & 1 <> 0 THEN 'mf-' || h.task_id || '-' || h.attempt
                      ELSE h.mesos_task_id END
            ELSE h.executor_id END AS executor_id,
       h.status_time,
       coalesce(h.uuid, encode(uuid_send(h.status_uuid), 'base64')) AS uuid,
       h.healthy, h.note
FROM mesoflow.task_events h;

-- A uuid is stored as one when its text is what encode() gives back for it:
-- 22 characters of base64 whose last carries no stray bits, then '=='.
CREATE OR REPLACE RULE task_history_insert AS ON INSERT TO mesoflow.task_history DO INSTEAD
INSERT INTO mesoflow.task_events (id, task_id, attempt, mesos_task_id, recorded_at, kind,
    mesos_state, outcome, from_state, to_state, reason, source, message, agent_id, executor_id,
    status_time, uuid, healthy, note, derived, unlisted, agent_code, status_uuid)
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
    NEW.message,
    CASE WHEN NOT EXISTS (SELECT FROM mesoflow.agent_codes a WHERE a.agent_id = NEW.agent_id)
         THEN NEW.agent_id END,
    CASE WHEN NEW.executor_id = NEW.mesos_task_id THEN NULL ELSE NEW.executor_id END,
    NEW.status_time,
    CASE WHEN NEW.uuid ~ '^[A-Za-z0-9+/]{21}[AQgw]==$' THEN NULL ELSE NEW.uuid END,
    NEW.healthy, NEW.note,
    CASE WHEN NEW.mesos_task_id = 'mf-' || NEW.task_id || '-' || NEW.attempt THEN 1 ELSE 0 END
    | CASE WHEN NEW.executor_id = NEW.mesos_task_id THEN 2 ELSE 0 END,
    mesoflow.history_unlisted(NEW.kind, NEW.mesos_state, NEW.outcome, NEW.from_state,
                              NEW.to_state, NEW.source),
    (SELECT a.code FROM mesoflow.agent_codes a WHERE a.agent_id = NEW.agent_id),
    CASE WHEN NEW.uuid ~ '^[A-Za-z0-9+/]{21}[AQgw]==$'
         THEN encode(decode(NEW.uuid, 'base64'), 'hex')::uuid END)
-- (The agent is looked up in the values: a rule action with a FROM clause
-- cannot be used from a statement whose WITH clause feeds the INSERT.)
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
    task_events.message,
    coalesce(task_events.agent_id, (SELECT a.agent_id FROM mesoflow.agent_codes a
                                    WHERE a.code = task_events.agent_code)),
    CASE WHEN task_events.derived & 2 <> 0
         THEN CASE WHEN task_events.derived & 1 <> 0
                   THEN 'mf-' || task_events.task_id || '-' || task_events.attempt
                   ELSE task_events.mesos_task_id END
         ELSE task_events.executor_id END,
    task_events.status_time,
    coalesce(task_events.uuid, encode(uuid_send(task_events.status_uuid), 'base64')),
    task_events.healthy, task_events.note;
