-- 0007_leader_epoch: a fencing token for leadership.
--
-- Each time a mesoflow process takes the leader lock, leader_epoch goes up
-- by one, under an exclusive transaction-level advisory lock. A leader's
-- claims and placements run mesoflow.fence(name, epoch, lock_pid) first, in
-- the same transaction: it takes that advisory lock shared, so a new
-- leader's bump waits for them to end, and it refuses with SQLSTATE MF001
-- once the epoch has moved on or the leader's own lock session (lock_pid)
-- no longer holds the leader lock. So a leader that lost its lease (frozen,
-- cut off) and wakes can neither claim a task nor record a placement.
ALTER TABLE mesoflow.frameworks
    ADD COLUMN leader_epoch bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN mesoflow.frameworks.leader_epoch IS
    'Goes up by one each time a mesoflow process takes leadership of this framework.';

CREATE FUNCTION mesoflow.fence(framework text, epoch bigint, lock_pid integer) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    current_epoch bigint;
    -- The session lock LeaderLock takes: classid and objid are its halves.
    leader_key bigint := hashtextextended('mesoflow leader ' || framework, 0);
BEGIN
    -- Shared: leaders' own transactions never wait for each other; only a
    -- new leader's bump (exclusive) waits for them, and they for it.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('mesoflow frameworks', 0));
    -- A statement of its own, so its snapshot is taken after the lock.
    SELECT f.leader_epoch INTO current_epoch FROM mesoflow.frameworks f WHERE f.name = framework;
    IF current_epoch IS DISTINCT FROM epoch THEN
        RAISE EXCEPTION 'leadership of framework % moved on (epoch % now, this leader''s %)',
            framework, coalesce(current_epoch::text, 'none'), epoch
            USING ERRCODE = 'MF001';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.pid = lock_pid AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
          AND l.classid = ((leader_key >> 32) & 4294967295)::oid
          AND l.objid = (leader_key & 4294967295)::oid) THEN
        RAISE EXCEPTION 'the leader lock of framework % is no longer held by its session (pid %)',
            framework, lock_pid
            USING ERRCODE = 'MF001';
    END IF;
END;
$$;
