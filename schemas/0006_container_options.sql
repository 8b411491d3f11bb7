-- 0006_container_options: what a task's container mounts, which network it
-- joins and which extra Docker options it runs with. All NULL by default:
-- rows already queued keep running as before.
--
-- The table only checks that a value is well formed (the rules below, listed
-- in README "The queue table"). Whether a host path, network or Docker
-- parameter is allowed is the operator's call (allowed_volume_paths,
-- allowed_networks, allowed_docker_parameters): a claim ends a task that
-- asks for anything else failed, unlaunched.
ALTER TABLE mesoflow.tasks
    ADD COLUMN volumes jsonb,
    ADD COLUMN network text,
    ADD COLUMN network_name text,
    ADD COLUMN docker_parameters jsonb;

COMMENT ON COLUMN mesoflow.tasks.volumes IS
    'Host paths mounted into the container: a JSON array of {"host_path": ..., '
    '"container_path": ..., "mode": "RO" | "RW"} (mode optional, RO by default). '
    'Only host paths under allowed_volume_paths are launched.';
COMMENT ON COLUMN mesoflow.tasks.network IS
    'The network the container joins: host, bridge, none or user (with network_name); '
    'NULL: the containerizer''s default (host). Only networks in allowed_networks are launched.';
COMMENT ON COLUMN mesoflow.tasks.network_name IS
    'The user network (CNI or Docker network) a container with network user joins.';
COMMENT ON COLUMN mesoflow.tasks.docker_parameters IS
    'Extra docker run options (DockerInfo.parameters): a JSON array of {"key": ..., "value": ...}, '
    'each given as --key=value; Docker containerizer only. Only keys in '
    'allowed_docker_parameters are launched.';

-- An absolute path of at most 4 KiB with no ".." component and no ':' or ','.
CREATE FUNCTION mesoflow.is_plain_absolute_path(path text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT path IS NOT NULL AND left(path, 1) = '/' AND octet_length(path) <= 4096
       AND path !~ '[:,]' AND path !~ '(^|/)\.\.(/|$)'
$$;

-- The first rule the JSON columns of `t` break, by the name its error
-- carries; NULL when there is none. Paths are absolute, hold no ".."
-- component and no ':' or ',' (Docker's -v separators), and are at most
-- 4 KiB; PostgreSQL itself refuses NUL in text and jsonb.
CREATE FUNCTION mesoflow.task_container_violation(t mesoflow.tasks) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    e jsonb;
BEGIN
    IF t.volumes IS NOT NULL THEN
        IF jsonb_typeof(t.volumes) <> 'array' THEN
            RETURN 'volumes_must_be_a_json_array';
        END IF;
        IF jsonb_array_length(t.volumes) > 32 THEN
            RETURN 'volumes_must_be_at_most_32';
        END IF;
        FOR e IN SELECT jsonb_array_elements(t.volumes) LOOP
            IF jsonb_typeof(e) <> 'object'
               OR jsonb_typeof(e -> 'host_path') IS DISTINCT FROM 'string'
               OR jsonb_typeof(e -> 'container_path') IS DISTINCT FROM 'string'
               OR (e ? 'mode' AND jsonb_typeof(e -> 'mode') <> 'string')
               OR EXISTS (SELECT 1 FROM jsonb_object_keys(e) k
                          WHERE k NOT IN ('host_path', 'container_path', 'mode')) THEN
                RETURN 'volumes_must_be_host_path_container_path_mode_objects';
            END IF;
            IF NOT mesoflow.is_plain_absolute_path(e ->> 'host_path') THEN
                RETURN 'volume_host_path_must_be_an_absolute_path';
            END IF;
            IF NOT mesoflow.is_plain_absolute_path(e ->> 'container_path') THEN
                RETURN 'volume_container_path_must_be_an_absolute_path';
            END IF;
            IF e ? 'mode' AND e ->> 'mode' NOT IN ('RO', 'RW') THEN
                RETURN 'volume_mode_must_be_ro_or_rw';
            END IF;
        END LOOP;
    END IF;
    IF t.docker_parameters IS NOT NULL THEN
        IF jsonb_typeof(t.docker_parameters) <> 'array' THEN
            RETURN 'docker_parameters_must_be_a_json_array';
        END IF;
        IF jsonb_array_length(t.docker_parameters) > 64 THEN
            RETURN 'docker_parameters_must_be_at_most_64';
        END IF;
        FOR e IN SELECT jsonb_array_elements(t.docker_parameters) LOOP
            IF jsonb_typeof(e) <> 'object'
               OR jsonb_typeof(e -> 'key') IS DISTINCT FROM 'string'
               OR jsonb_typeof(e -> 'value') IS DISTINCT FROM 'string'
               OR EXISTS (SELECT 1 FROM jsonb_object_keys(e) k WHERE k NOT IN ('key', 'value')) THEN
                RETURN 'docker_parameters_must_be_key_value_objects';
            END IF;
            IF (e ->> 'key') !~ '^[a-z0-9][a-z0-9-]{0,127}$' THEN
                RETURN 'docker_parameter_key_must_be_an_option_name';
            END IF;
            IF octet_length(e ->> 'value') > 4096 THEN
                RETURN 'docker_parameter_value_must_be_at_most_4_kib';
            END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

-- The JSON rules are checked by a trigger on INSERT and on UPDATE of those
-- columns (rather than by CHECKs, which PostgreSQL evaluates on every UPDATE,
-- and mesoflow updates each row several times per attempt), as schema 3
-- checks sizes; the error names the rule as a CHECK's would.
CREATE FUNCTION mesoflow.check_task_container() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    violated text := mesoflow.task_container_violation(NEW);
BEGIN
    IF violated IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"', violated
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = violated,
                  HINT = 'README "The queue table" describes volumes and docker_parameters';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_check_container
    BEFORE INSERT OR UPDATE OF volumes, docker_parameters ON mesoflow.tasks
    FOR EACH ROW WHEN (NEW.volumes IS NOT NULL OR NEW.docker_parameters IS NOT NULL)
    EXECUTE FUNCTION mesoflow.check_task_container();

-- What the columns may be combined with: plain comparisons, cheap enough to
-- be CHECKs. An image without a containerizer runs in Docker.
ALTER TABLE mesoflow.tasks
    ADD CONSTRAINT volumes_need_an_image CHECK (
        volumes IS NULL OR nullif(btrim(image), '') IS NOT NULL),
    ADD CONSTRAINT network_must_be_host_bridge_none_or_user CHECK (
        network IS NULL OR network IN ('host', 'bridge', 'none', 'user')),
    ADD CONSTRAINT network_needs_an_image CHECK (
        network IS NULL OR nullif(btrim(image), '') IS NOT NULL),
    ADD CONSTRAINT network_bridge_or_none_needs_docker CHECK (
        network IS NULL OR network NOT IN ('bridge', 'none')
        OR coalesce(containerizer, 'docker') = 'docker'),
    ADD CONSTRAINT user_network_needs_network_name CHECK (
        network IS DISTINCT FROM 'user' OR network_name IS NOT NULL),
    ADD CONSTRAINT network_name_needs_user_network CHECK (
        network_name IS NULL OR network IS NOT DISTINCT FROM 'user'),
    ADD CONSTRAINT network_name_must_be_a_plain_name CHECK (
        network_name IS NULL OR network_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$'),
    ADD CONSTRAINT docker_parameters_need_docker CHECK (
        docker_parameters IS NULL
        OR (nullif(btrim(image), '') IS NOT NULL AND coalesce(containerizer, 'docker') = 'docker'));
