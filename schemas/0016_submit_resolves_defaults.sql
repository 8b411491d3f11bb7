-- 0016_submit_resolves_defaults: the queue's defaults are looked up only
-- for the rows that need them.
--
-- tasks_apply_queue_defaults ran its function for every row inserted: a
-- PL/pgSQL call and a lookup in mesoflow.queues, about 6 µs of the 20 µs a
-- row of `mesoflow submit --from` took from start to commit. The trigger now fires
-- only for a row it would change or refuse:
--   * a row whose queue's name breaks a rule of queue_name_violation;
--   * a row with cpus, mem, disk, gpus or constraints unset, or image '';
--   * a row with role or image unset, unless the inserting transaction has
--     set mesoflow.queue_defaults_resolved to 'on': it says that it has
--     already given each row its queue's defaults (`mesoflow submit --from`
--     does, from mesoflow.queue_defaults() read in the same transaction), so
--     that an unset role or image is the queue's own "none".
-- Without that setting, what a row is given is exactly what it was given
-- before. A producer that sets it gains nothing it could not write itself:
-- its rows keep the role and image it gave (unset: the framework's role,
-- no image), and every other rule of the table still judges them.
DROP TRIGGER tasks_apply_queue_defaults ON mesoflow.tasks;
CREATE TRIGGER tasks_apply_queue_defaults BEFORE INSERT ON mesoflow.tasks
    FOR EACH ROW
    WHEN (mesoflow.queue_name_violation(NEW.queue) IS NOT NULL
          OR NEW.cpus IS NULL OR NEW.mem IS NULL OR NEW.disk IS NULL OR NEW.gpus IS NULL
          OR NEW.constraints IS NULL OR NEW.image = ''
          OR ((NEW.role IS NULL OR NEW.image IS NULL)
              AND current_setting('mesoflow.queue_defaults_resolved', true)
                  IS DISTINCT FROM 'on'))
    EXECUTE FUNCTION mesoflow.apply_queue_defaults();

-- What apply_queue_defaults gives a row that sets none of the columns it
-- fills, for each queue with a row, and (name NULL) for a queue without
-- one. With its owner's rights, as the trigger, so that a producer needs no
-- grant on mesoflow.queues: what it returns is what a producer sees in the
-- rows it queues. Whoever may use schema mesoflow may call it.
CREATE FUNCTION mesoflow.queue_defaults()
RETURNS TABLE (name text, cpus double precision, mem double precision, disk double precision,
               gpus double precision, constraints jsonb, role text, image text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT q.name, coalesce(q.cpus, 1), coalesce(q.mem, 256), coalesce(q.disk, 0),
           coalesce(q.gpus, 0), coalesce(q.constraints, '[]'::jsonb), q.role, q.image
    FROM (VALUES (true), (false)) AS k(known) LEFT JOIN mesoflow.queues q ON k.known
$$;

-- Every mesoflow command checks the schema's version first: a producer
-- with the grants of README "Airflow" may run `mesoflow submit` too.
GRANT SELECT ON mesoflow.schema_version TO PUBLIC;
