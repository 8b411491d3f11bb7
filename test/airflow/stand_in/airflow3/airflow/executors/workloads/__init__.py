"""Stand-in of Airflow 3's executor workloads. Mirrors apache/airflow
airflow-core/src/airflow/executors/workloads/{__init__,base,task}.py @ 4bf2df84.

ExecuteTask(token, dag_rel_path, bundle_info, log_path, ti, sentry_integration, type)
with ti a TaskInstanceDTO (id, dag_version_id, task_id, dag_id, run_id, try_number,
map_index, pool_slots, queue, priority_weight, executor_config (left out of the JSON),
parent_context_carrier, context_carrier). model_dump_json() gives the JSON pydantic
gives: fields in that order, compact, executor_config excluded, paths as strings.
ExecuteTask.make(ti, dag_rel_path=None, generator=None, bundle_info=None,
sentry_integration="") builds it from a task instance as the scheduler does, the token
from generator.generate({"sub": str(ti.id)}). parse_workload(text) is the stand-in of
TypeAdapter(workloads.All).validate_json for ExecuteTask: it checks every field.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Optional

from airflow.models.taskinstancekey import TaskInstanceKey


class BundleInfo:
    def __init__(self, name: str, version: Optional[str] = None):
        self.name, self.version = name, version

    def model_dump(self) -> dict:
        return {"name": self.name, "version": self.version}


_TI_FIELDS = ("id", "dag_version_id", "task_id", "dag_id", "run_id", "try_number", "map_index", "pool_slots",
              "queue", "priority_weight", "parent_context_carrier", "context_carrier")


class TaskInstanceDTO:
    def __init__(self, *, id, dag_version_id, task_id, dag_id, run_id, try_number, map_index=-1, pool_slots,
                 queue, priority_weight, executor_config=None, parent_context_carrier=None, context_carrier=None):
        self.id = id if isinstance(id, uuid.UUID) else uuid.UUID(str(id))
        self.dag_version_id = (dag_version_id if isinstance(dag_version_id, uuid.UUID)
                               else uuid.UUID(str(dag_version_id)))
        self.task_id, self.dag_id, self.run_id = task_id, dag_id, run_id
        self.try_number, self.map_index = try_number, map_index
        self.pool_slots, self.queue, self.priority_weight = pool_slots, queue, priority_weight
        self.executor_config = executor_config
        self.parent_context_carrier, self.context_carrier = parent_context_carrier, context_carrier

    @property
    def key(self) -> TaskInstanceKey:
        return TaskInstanceKey(dag_id=self.dag_id, task_id=self.task_id, run_id=self.run_id,
                               try_number=self.try_number, map_index=self.map_index)

    def model_dump(self) -> dict:
        out = {}
        for name in _TI_FIELDS:
            value = getattr(self, name)
            out[name] = str(value) if isinstance(value, uuid.UUID) else value
        return out


TaskInstance = TaskInstanceDTO


class ExecuteTask:
    type = "ExecuteTask"

    def __init__(self, *, token: str, dag_rel_path: str, bundle_info: BundleInfo, log_path: Optional[str],
                 ti: TaskInstanceDTO, sentry_integration: str = ""):
        self.token, self.dag_rel_path, self.bundle_info = token, dag_rel_path, bundle_info
        self.log_path, self.ti, self.sentry_integration = log_path, ti, sentry_integration

    @property
    def queue_key(self) -> TaskInstanceKey:
        return self.ti.key

    @property
    def sort_key(self) -> int:
        return self.ti.priority_weight

    def __repr__(self) -> str:  # the token is repr=False in Airflow
        return f"ExecuteTask(ti={self.ti.key}, dag_rel_path={self.dag_rel_path!r})"

    def model_dump(self) -> dict:
        return {
            "token": self.token,
            "dag_rel_path": str(self.dag_rel_path),
            "bundle_info": self.bundle_info.model_dump(),
            "log_path": self.log_path,
            "ti": self.ti.model_dump(),
            "sentry_integration": self.sentry_integration,
            "type": self.type,
        }

    def model_dump_json(self) -> str:
        return json.dumps(self.model_dump(), separators=(",", ":"))

    @classmethod
    def make(cls, ti: Any, dag_rel_path=None, generator=None, bundle_info=None, sentry_integration: str = ""):
        ser_ti = TaskInstanceDTO(**{name: getattr(ti, name) for name in _TI_FIELDS if name != "context_carrier"},
                                 executor_config=ti.executor_config)
        ser_ti.context_carrier = ti.dag_run.context_carrier
        if not bundle_info:
            bundle_info = BundleInfo(name=ti.dag_model.bundle_name, version=ti.dag_run.bundle_version)
        token = generator.generate({"sub": str(ti.id)}) if generator else ""
        log_path = (f"dag_id={ti.dag_id}/run_id={ti.run_id}/task_id={ti.task_id}/"
                    + (f"map_index={ti.map_index}/" if ti.map_index >= 0 else "") + f"attempt={ti.try_number}.log")
        return cls(token=token, dag_rel_path=dag_rel_path or (ti.dag_model.relative_fileloc or ""),
                   bundle_info=bundle_info, log_path=log_path, ti=ser_ti, sentry_integration=sentry_integration)


def parse_workload(text: str) -> ExecuteTask:
    """What TypeAdapter(workloads.All).validate_json does for an ExecuteTask: every field
    present with its type, nothing unknown; raises ValueError otherwise."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("type") != "ExecuteTask":
        raise ValueError(f"not an ExecuteTask workload: type={data.get('type') if isinstance(data, dict) else data!r}")
    expected = {"token", "dag_rel_path", "bundle_info", "log_path", "ti", "sentry_integration", "type"}
    if set(data) != expected:
        raise ValueError(f"workload fields {sorted(data)} are not {sorted(expected)}")
    ti = data["ti"]
    if not isinstance(ti, dict) or set(ti) != set(_TI_FIELDS):
        raise ValueError(f"ti fields {sorted(ti) if isinstance(ti, dict) else ti!r} are not {sorted(_TI_FIELDS)}")
    for name, kind in (("try_number", int), ("map_index", int), ("pool_slots", int), ("priority_weight", int),
                       ("task_id", str), ("dag_id", str), ("run_id", str), ("queue", str)):
        if not isinstance(ti[name], kind) or isinstance(ti[name], bool):
            raise ValueError(f"ti.{name} must be {kind.__name__}, got {ti[name]!r}")
    if not isinstance(data["token"], str) or not isinstance(data["bundle_info"], dict):
        raise ValueError("token must be a string and bundle_info an object")
    return ExecuteTask(token=data["token"], dag_rel_path=data["dag_rel_path"],
                       bundle_info=BundleInfo(**data["bundle_info"]), log_path=data["log_path"],
                       ti=TaskInstanceDTO(**ti), sentry_integration=data["sentry_integration"])


All = ExecuteTask
