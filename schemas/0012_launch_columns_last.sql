-- 0012_launch_columns_last: the columns a launch sets once move to the end
-- of mesoflow.tasks, so that a status update logs less of the row.
--
-- When PostgreSQL updates a row within its page, the WAL record holds the
-- new row from its first changed byte to its last. A status update changes
-- state (column 26) and updated_at, started_at or finished_at (40 to 43) or
-- phase (last): between them sat mesos_task_id, agent_id, hostname and
-- offer_id, a hundred bytes or more that the launch set and no update
-- changes, logged again by each of a task's updates. After the generated
-- phase column they are outside that span. Measured over 20,000 tasks:
-- 3,233 bytes of WAL a task before, 2,938 after.
--
-- PostgreSQL cannot move a column, so each is added again at the end and
-- filled from the old one, which is then dropped: every row of a launched
-- task is written once (autovacuum reclaims the old versions). The views of
-- schema mesoflow that read the columns are dropped and made again from
-- their own definitions, with their comments and grants; grants on the
-- columns themselves are given again. Anything else of the database's that
-- reads the columns (an index, a view of another schema, a trigger on
-- UPDATE OF them, statistics, a policy) would be dropped with them: the
-- migration stops first and names it. Drop it, migrate, create it again.
-- Row triggers of your own on mesoflow.tasks fire once for each launched
-- row copied. Under wal_level = logical PostgreSQL logs whole rows for
-- every update, and this order saves nothing.
DO $$
DECLARE
    found text;
BEGIN
    SELECT string_agg(DISTINCT pg_describe_object(d.classid, d.objid, 0), ', ')
    INTO found
    FROM pg_depend d
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.refclassid = 'pg_class'::regclass
      AND d.refobjid = 'mesoflow.tasks'::regclass
      AND a.attname IN ('mesos_task_id', 'agent_id', 'hostname', 'offer_id')
      AND NOT (d.classid = 'pg_constraint'::regclass
               AND d.objid = (SELECT oid FROM pg_constraint
                              WHERE conrelid = 'mesoflow.tasks'::regclass
                                AND conname = 'mesos_task_id_must_match_attempt'))
      AND NOT (d.classid = 'pg_rewrite'::regclass
               AND EXISTS (SELECT 1 FROM pg_rewrite r JOIN pg_class v ON v.oid = r.ev_class
                           JOIN pg_namespace n ON n.oid = v.relnamespace
                           WHERE r.oid = d.objid AND v.relkind = 'v'
                             AND n.nspname = 'mesoflow'));
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'schema 12 moves mesos_task_id, agent_id, hostname and offer_id to the '
                        'end of mesoflow.tasks, and would drop what reads them: %', found
            USING HINT = 'drop these, migrate, then create them again';
    END IF;
END
$$;
-- For migrations: the GRANT of `privileges` on `target` to the grantee of an
-- ACL entry (aclexplode: 0 is PUBLIC), with its grant option.
CREATE FUNCTION mesoflow.grant_statement(privileges text, target text, grantee oid,
                                         grantable boolean)
RETURNS text LANGUAGE sql STABLE AS $$
SELECT format('GRANT %s ON %s TO %s%s', privileges, target,
              CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grantee)) END,
              CASE WHEN grantable THEN ' WITH GRANT OPTION' ELSE '' END)
$$;

CREATE TEMPORARY TABLE moved_views ON COMMIT DROP AS
SELECT DISTINCT v.oid::regclass::text AS name, pg_get_viewdef(v.oid) AS def,
       obj_description(v.oid, 'pg_class') AS comment, v.relacl AS acl
FROM pg_depend d
JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
JOIN pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
JOIN pg_namespace n ON n.oid = v.relnamespace AND n.nspname = 'mesoflow'
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.refobjid = 'mesoflow.tasks'::regclass
  AND a.attname IN ('mesos_task_id', 'agent_id', 'hostname', 'offer_id');

CREATE TEMPORARY TABLE moved_column_grants ON COMMIT DROP AS
SELECT a.attname AS col, x.privilege_type AS privilege, x.grantee, x.is_grantable
FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) x
WHERE a.attrelid = 'mesoflow.tasks'::regclass
  AND a.attname IN ('mesos_task_id', 'agent_id', 'hostname', 'offer_id');

DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT name FROM moved_views LOOP
        EXECUTE format('DROP VIEW %s', v.name);
    END LOOP;
END
$$;

ALTER TABLE mesoflow.tasks RENAME COLUMN mesos_task_id TO mesos_task_id_before_0012;
ALTER TABLE mesoflow.tasks RENAME COLUMN agent_id TO agent_id_before_0012;
ALTER TABLE mesoflow.tasks RENAME COLUMN hostname TO hostname_before_0012;
ALTER TABLE mesoflow.tasks RENAME COLUMN offer_id TO offer_id_before_0012;
ALTER TABLE mesoflow.tasks
    ADD COLUMN mesos_task_id text,
    ADD COLUMN agent_id text,
    ADD COLUMN hostname text,
    ADD COLUMN offer_id text;

-- None of mesoflow's triggers fires on an update of these columns alone.
UPDATE mesoflow.tasks SET mesos_task_id = mesos_task_id_before_0012,
    agent_id = agent_id_before_0012, hostname = hostname_before_0012,
    offer_id = offer_id_before_0012
WHERE mesos_task_id_before_0012 IS NOT NULL OR agent_id_before_0012 IS NOT NULL
   OR hostname_before_0012 IS NOT NULL OR offer_id_before_0012 IS NOT NULL;

-- Drops mesos_task_id_must_match_attempt with its column; it is added again.
ALTER TABLE mesoflow.tasks
    DROP COLUMN mesos_task_id_before_0012,
    DROP COLUMN agent_id_before_0012,
    DROP COLUMN hostname_before_0012,
    DROP COLUMN offer_id_before_0012;
ALTER TABLE mesoflow.tasks ADD CONSTRAINT mesos_task_id_must_match_attempt CHECK (
    mesos_task_id IS NULL OR mesos_task_id = 'mf-' || id || '-' || attempt);

DO $$
DECLARE
    v record;
    g record;
BEGIN
    FOR v IN SELECT * FROM moved_views LOOP
        EXECUTE format('CREATE VIEW %s AS %s', v.name, v.def);
        IF v.comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON VIEW %s IS %L', v.name, v.comment);
        END IF;
        FOR g IN SELECT * FROM aclexplode(v.acl) LOOP
            EXECUTE mesoflow.grant_statement(g.privilege_type, v.name, g.grantee,
                                             g.is_grantable);
        END LOOP;
    END LOOP;
    FOR g IN SELECT * FROM moved_column_grants LOOP
        EXECUTE mesoflow.grant_statement(format('%s (%I)', g.privilege, g.col),
                                         'mesoflow.tasks', g.grantee, g.is_grantable);
    END LOOP;
END
$$;

ANALYZE mesoflow.tasks;
