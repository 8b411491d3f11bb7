"""Stand-in of TaskInstanceKey. Mirrors apache/airflow airflow/models/taskinstancekey.py
@ 2.10.3 and @ v2-11-stable (Airflow 2.6+; earlier releases kept the same NamedTuple in
airflow/models/taskinstance.py)."""

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
