-- 0017_history_by_range: the history's index on task_id is a BRIN index.
--
-- A btree entry per history row (four for a task that runs once) was 285
-- bytes of WAL a task, an eighth of all mesoflow writes. Rows of one task
-- are written close together (its launch and updates come seconds or hours
-- apart, while ids only grow), so a BRIN index of each block range's task
-- ids finds them: minmax-multi keeps up to 32 values or intervals per range,
-- so that a long-running task among short ones does not widen a range to
-- everything between. A row written into a summarised range updates its
-- summary at most; rows in the newest ranges write nothing until they are
-- summarised. Measured over 20,000 tasks: 2,126-2,132 bytes of WAL a task
-- before, 1,840-1,895 after.
--
-- Reading one task's history reads the whole (small) index and the block
-- ranges that may hold the task: at a million tasks (4,000,000 rows, an
-- index of 0.9 MB) 4-5 ms against 0.1 ms. Rows written out of task order
-- cost more: a backfill whose priorities shuffle 100,000 tasks makes each
-- of their lookups read the ranges of that shuffle (about 50 ms). Ranges not
-- yet summarised are read whole: VACUUM summarises them, and autovacuum
-- runs on this table after 1% new rows instead of 20%. Deleting many tasks
-- in one statement scans the history once; deleting one task costs one
-- lookup.
--
-- A database that reads history by task often, or deletes tasks one at a
-- time in bulk, can add its own btree index on task_events (task_id).
DROP INDEX mesoflow.task_history_by_task;
CREATE INDEX task_history_by_task ON mesoflow.task_events
    USING brin (task_id int8_minmax_multi_ops) WITH (pages_per_range = 16);
ALTER TABLE mesoflow.task_events SET (autovacuum_vacuum_insert_scale_factor = 0.01);
