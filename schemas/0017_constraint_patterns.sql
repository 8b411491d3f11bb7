-- 0017_constraint_patterns: the table refuses LIKE / UNLIKE patterns past
-- the bounds mesoflow matches (scheduler/placement_constraints.hpp).
--
-- Patterns are compiled by RE2 and matched as offers come, so what one row
-- may ask for is bounded: at most 32 LIKE / UNLIKE constraints a row, each
-- pattern at most 1 KiB, all of them together at most 2 KiB. A claim refuses
-- a task past these (or one whose pattern does not compile within 64 KiB,
-- which only RE2 can tell) with reason invalid_task; these rules refuse the
-- countable ones when the row is written, naming the rule, as the other
-- rules of the table do. Rows already in the table are left as they are:
-- the claim judges them.

-- The rule a constraints value breaks, or NULL. Its shape is judged before
-- (constraints_are_triples, constraint_ops_are_known): only a JSON array of
-- arrays reaches this.
CREATE FUNCTION mesoflow.constraint_patterns_violation(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN count(*) > 32 THEN 'constraints_must_have_at_most_32_patterns'
        WHEN max(octet_length(c ->> 2)) > 1024 THEN 'constraint_pattern_must_be_at_most_1_kib'
        WHEN sum(octet_length(c ->> 2)) > 2048 THEN 'constraint_patterns_must_be_at_most_2_kib'
    END
    FROM jsonb_array_elements(value) AS c
    WHERE (c ->> 1) IN ('LIKE', 'UNLIKE')
$$;

CREATE OR REPLACE FUNCTION mesoflow.check_placement_constraints() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    violated text;
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
    violated := mesoflow.constraint_patterns_violation(NEW.constraints);
    IF violated IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "tasks" violates check constraint "%"', violated
            USING ERRCODE = 'check_violation', SCHEMA = 'mesoflow', TABLE = 'tasks',
                  CONSTRAINT = violated,
                  HINT = 'at most 32 LIKE / UNLIKE constraints, each pattern at most 1 KiB, '
                         '2 KiB together';
    END IF;
    RETURN NEW;
END
$$;
