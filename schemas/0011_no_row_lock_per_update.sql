-- 0011_no_row_lock_per_update: no BEFORE UPDATE row trigger on
-- mesoflow.tasks, so that an UPDATE writes no row lock.
--
-- When a table has any BEFORE UPDATE row trigger, PostgreSQL locks each row
-- an UPDATE changes before it looks at the trigger's column list or WHEN
-- condition (to hand the trigger a stable row): a row lock, a WAL record of
-- its own, for every one of mesoflow's updates of a task, though none of the
-- triggers ever fired for them. Measured: 5.5 such records a task, 300 bytes
-- of WAL.
--
-- The rules a producer's UPDATE must keep are the same rules, checked by
-- the same functions, raising the same errors, in the same order: as AFTER
-- UPDATE row triggers (`<name>_on_update`), which end the producer's
-- statement with the error before it is done. A producer's INSERT is
-- checked before the row is written, as before. (An UPDATE OF queue no
-- longer turns an image of '' into NULL: the launch reads '' as no image.)
-- Triggers an operator added to the table are left as they are: one that
-- fires BEFORE UPDATE brings the lock back.
DO $$
DECLARE
    t record;
    parts text[];
BEGIN
    FOR t IN
        SELECT tg.tgname, pg_get_triggerdef(tg.oid) AS def FROM pg_trigger tg
        WHERE tg.tgrelid = 'mesoflow.tasks'::regclass AND NOT tg.tgisinternal
          AND tg.tgname IN ('tasks_apply_queue_defaults', 'tasks_check_constraints',
                            'tasks_check_container', 'tasks_check_sizes', 'tasks_check_values')
        ORDER BY tg.tgname
    LOOP
        -- "CREATE TRIGGER name BEFORE INSERT OR UPDATE OF columns ON table rest"
        parts := regexp_match(t.def,
            '^CREATE TRIGGER (\S+) BEFORE INSERT OR UPDATE OF (.+?) ON mesoflow\.tasks (.*)$');
        IF parts IS NULL THEN
            RAISE EXCEPTION 'unexpected trigger definition: %', t.def;
        END IF;
        EXECUTE format('DROP TRIGGER %I ON mesoflow.tasks', t.tgname);
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON mesoflow.tasks %s', parts[1], parts[3]);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE OF %s ON mesoflow.tasks %s',
                       parts[1] || '_on_update', parts[2], parts[3]);
    END LOOP;
END
$$;

-- A kill requested before launch still kills the task in the producer's own
-- statement: the kill request's AFTER trigger ends the pending row (a
-- RETURNING of that statement shows the row before it). It runs with its
-- owner's rights, since a producer may write kill_requested alone.
DROP TRIGGER tasks_kill_before_launch ON mesoflow.tasks;

CREATE OR REPLACE FUNCTION mesoflow.record_kill_request() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    to_state text := NEW.state;
BEGIN
    IF NEW.state = 'pending' THEN
        UPDATE mesoflow.tasks SET state = 'killed', reason = 'killed_before_launch',
            message = 'kill requested before launch', finished_at = now(), updated_at = now()
        WHERE id = NEW.id AND state = 'pending';
        IF FOUND THEN
            to_state := 'killed';
        END IF;
    END IF;
    INSERT INTO mesoflow.task_history (task_id, attempt, mesos_task_id, kind, from_state, to_state)
    VALUES (NEW.id, NEW.attempt, NEW.mesos_task_id, 'kill_requested', OLD.state, to_state);
    PERFORM pg_notify('mesoflow_tasks', 'kill');
    RETURN NULL;
END
$$;

-- A trigger function only (a trigger fires it whatever its EXECUTE grants).
REVOKE EXECUTE ON FUNCTION mesoflow.record_kill_request() FROM PUBLIC;
