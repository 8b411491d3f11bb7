-- 0010_lighter_history: the history keeps one btree index instead of two.
--
-- Every row of mesoflow.task_history (four for a task that runs once) wrote
-- an entry in the primary key on id and in (task_id, id). Nothing reads the
-- history by id alone; mesoflow and users read a task's rows, which the
-- index on task_id finds (a task's few rows are then sorted by id), and the
-- entries of one task share a posting list. Measured over 20,000 tasks:
-- 609 bytes of WAL a task for the two indexes, 286 for the one.
--
-- id still comes from its sequence, so it grows with each row (the table no
-- longer enforces its uniqueness against ids written by hand); a BRIN index
-- keeps reading by id ranges (an export resuming after the last id it saw)
-- cheap, and costs next to nothing on insert, since ids only grow. Without
-- a primary key, a logical replication that publishes deletes needs the
-- whole old row as the replica identity: that is set; it costs nothing
-- unless wal_level is logical, and a subscriber on PostgreSQL 14 or 15
-- applies each history row deleted with a scan of its copy (16 on uses the
-- index on task_id).
ALTER TABLE mesoflow.task_history DROP CONSTRAINT task_history_pkey;
ALTER TABLE mesoflow.task_history ALTER COLUMN id SET NOT NULL;
ALTER TABLE mesoflow.task_history REPLICA IDENTITY FULL;
CREATE INDEX task_history_by_id ON mesoflow.task_history USING brin (id);

DROP INDEX mesoflow.task_history_by_task;
CREATE INDEX task_history_by_task ON mesoflow.task_history (task_id);
