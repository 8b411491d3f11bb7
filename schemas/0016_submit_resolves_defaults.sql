-- 0016_submit_resolves_defaults: the queue's defaults are looked up only
-- for the rows that need them.
--
-- tasks_apply_queue_defaults ran its function for every row inserted: a
-- PL/pgSQL call and a lookup in mesoflow.queues, about 6 µs of the 20 µs a
-- row of `mesoflow submit --from` took from start to commit. The trigger
-- now fires only for a row it would change or refuse:
--   * a row whose queue's name breaks a rule of queue_name_violation;
--   * a row with cpus, mem, disk, gpus or constraints unset, or image '';
--   * a row with role or image unset, unless the inserting transaction has
--     set mesoflow.queue_defaults_resolved to its own id (txid_current()):
--     it says that it has already given each row its queue's defaults
--     (`mesoflow submit --from` does, from mesoflow.queue_defaults() read
--     in the same transaction), so that an unset role or image is the
--     queue's own "none". Any other value (one left by ALTER ROLE ... SET,
--     say) is no such word.
-- Without that setting, what a row is given is exactly what it was given
-- before. A producer that sets it can leave its rows without their
-- queue's role and image (no role: any of the framework's; no image);
-- allowed_roles and every rule of the table still judge them.

-- The name's rules, as before, with every function and operator named in
-- pg_catalog: the trigger's condition runs this body (inlined) under the
-- inserting session's search_path, where it ran under the trigger
-- function's own before.
CREATE OR REPLACE FUNCTION mesoflow.queue_name_violation(name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN pg_catalog.btrim(name) OPERATOR(pg_catalog.=) '' THEN 'queue_must_not_be_empty'
        WHEN pg_catalog.octet_length(name) OPERATOR(pg_catalog.>) 200
            THEN 'queue_must_be_at_most_200_bytes'
        WHEN name OPERATOR(pg_catalog.~) '[[:cntrl:]]'
            THEN 'queue_must_not_contain_control_characters'
        WHEN pg_catalog.btrim(name) OPERATOR(pg_catalog.<>) name
            THEN 'queue_must_not_start_or_end_with_spaces'
        WHEN name OPERATOR(pg_catalog.~) '[\u00a0\u00ad\u2000-\u200f\u2028-\u202f\u205f-\u206f\ufeff]'
            THEN 'queue_must_not_contain_invisible_or_bidi_characters'
    END
$$;

DROP TRIGGER tasks_apply_queue_defaults ON mesoflow.tasks;
CREATE TRIGGER tasks_apply_queue_defaults BEFORE INSERT ON mesoflow.tasks
    FOR EACH ROW
    WHEN (mesoflow.queue_name_violation(NEW.queue) IS NOT NULL
          OR NEW.cpus IS NULL OR NEW.mem IS NULL OR NEW.disk IS NULL OR NEW.gpus IS NULL
          OR NEW.constraints IS NULL OR NEW.image = ''
          OR ((NEW.role IS NULL OR NEW.image IS NULL)
              AND current_setting('mesoflow.queue_defaults_resolved', true)
                  IS DISTINCT FROM txid_current()::text))
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
