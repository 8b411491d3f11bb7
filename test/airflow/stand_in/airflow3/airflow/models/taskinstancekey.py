"""Stand-in of TaskInstanceKey. Mirrors apache/airflow
airflow-core/src/airflow/models/taskinstancekey.py @ 4bf2df84 (unchanged from 2.x)."""

from __future__ import annotations

from typing import NamedTuple


class TaskInstanceKey(NamedTuple):
    dag_id: str
    task_id: str
    run_id: str
    try_number: int = 1
    map_index: int = -1

    @property
    def primary(self):
        return self.dag_id, self.task_id, self.run_id, self.map_index

    def with_try_number(self, try_number: int) -> "TaskInstanceKey":
        return TaskInstanceKey(self.dag_id, self.task_id, self.run_id, try_number, self.map_index)

    @property
    def key(self) -> "TaskInstanceKey":
        return self
