"""Stand-in of Airflow 3's base executor. Mirrors apache/airflow
airflow-core/src/airflow/executors/base_executor.py @ 4bf2df84.

What a concrete executor sees of its base class, with Airflow's behaviour:
- no execute_async, queue_command or queue_task_instance any more: the scheduler builds
  workloads.ExecuteTask.make(ti, generator=executor.jwt_generator) and calls
  queue_workload(workload, session), which files it in queued_tasks under ti.key
  (callbacks and connection tests raise NotImplementedError unless supported);
- heartbeat(): open_slots = parallelism - len(running); trigger_tasks(open_slots);
  then sync();
- trigger_tasks() takes up to open_slots queued workloads, ordered by
  ti.priority_weight (ascending, as order_queued_tasks_by_priority sorts), forgets
  their `attempts`, and hands the list to _process_workloads(workloads), which every
  executor must implement (the base raises NotImplementedError); no check of `running`
  is left here;
- change_state(key, state, info, remove_running=True), fail, success, queued,
  running_state, get_event_buffer(dag_ids=None) as in Airflow 2;
- has_task(ti) looks for ti.id and ti.key in queued_tasks and running;
- revoke_task(*, ti) raises NotImplementedError (the scheduler catches it);
  try_adopt_task_instances returns every task instance; get_task_log returns ([], []);
  end() and terminate() raise NotImplementedError;
- jwt_generator (a cached property) issues the workloads' tokens, valid for
  [execution_api] jwt_expiration_time (default 600 s). The stand-in's tokens are not
  signed JWTs: "standin.<base64 JSON {sub, iat, exp}>", readable by the stand-in
  Execution API (test/airflow/airflow_stand_in_server.py).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import defaultdict
from functools import cached_property

from airflow.configuration import conf
from airflow.executors import workloads
from airflow.utils.state import TaskInstanceState

PARALLELISM: int = conf.getint("core", "parallelism", fallback=32)


class LoggingMixin:
    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")


class RunningRetryAttemptType:
    MIN_SECONDS = 10

    def __init__(self):
        self.total_tries = 0
        self.tries_after_min = 0
        self.first_attempt_time = time.monotonic()


class JWTGenerator:
    """Stand-in of airflow.api_fastapi.auth.tokens.JWTGenerator: generate(extras) gives
    a token valid for valid_for seconds from clock()."""

    def __init__(self, valid_for: float, clock=time.time):
        self.valid_for = valid_for
        self.clock = clock

    def generate(self, extras: dict) -> str:
        now = self.clock()
        claims = {**extras, "iat": now, "exp": now + self.valid_for}
        return "standin." + base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()


def read_token(token: str) -> dict:
    """The claims of a stand-in token (what the API server's validation reads)."""
    prefix, _, body = token.partition(".")
    if prefix != "standin":
        raise ValueError("not a stand-in token")
    return json.loads(base64.urlsafe_b64decode(body.encode()))


class BaseExecutor(LoggingMixin):
    supports_ad_hoc_ti_run: bool = False
    supports_callbacks: bool = False
    supports_multi_team: bool = False
    supports_connection_test: bool = False
    sentry_integration: str = ""
    is_local: bool = False
    is_production: bool = True
    serve_logs: bool = False
    job_id = None
    name = None
    callback_sink = None

    @cached_property
    def jwt_generator(self) -> JWTGenerator:
        return JWTGenerator(valid_for=conf.getint("execution_api", "jwt_expiration_time", fallback=600))

    def __init__(self, parallelism: int = PARALLELISM, team_name=None):
        super().__init__()
        self.parallelism: int = parallelism
        self.team_name = team_name
        self.queued_tasks: dict = {}
        self.queued_callbacks: dict = {}
        self.queued_connection_tests: dict = {}
        self.running: set = set()
        self.event_buffer: dict = {}
        if self.parallelism <= 0:
            raise ValueError("parallelism is set to 0 or lower")
        self.attempts: dict = defaultdict(RunningRetryAttemptType)

    def __repr__(self):
        return f"{self.__class__.__name__}(parallelism={self.parallelism})"

    def start(self):
        """Executors may need to get things started."""

    def queue_workload(self, workload, session) -> None:
        if isinstance(workload, workloads.ExecuteTask):
            self.queued_tasks[workload.ti.key] = workload
        else:
            raise ValueError(f"Un-handled workload type {type(workload).__name__!r} in {type(self).__name__}.")

    def _get_workloads_to_schedule(self, open_slots: int) -> list:
        out = []
        if open_slots > 0 and self.queued_tasks:
            for key, workload in self.order_queued_tasks_by_priority():
                if len(out) >= open_slots:
                    break
                out.append((key, workload))
        return out

    def _process_workloads(self, workloads) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _process_workloads()")

    def has_task(self, task_instance) -> bool:
        return (
            task_instance.id in self.queued_tasks
            or task_instance.id in self.running
            or task_instance.key in self.queued_tasks
            or task_instance.key in self.running
        )

    def sync(self) -> None:
        """Called by heartbeat(); executors gather the states of their tasks here."""

    def heartbeat(self) -> None:
        open_slots = self.parallelism - len(self.running)
        self.trigger_tasks(open_slots)
        self.sync()

    def order_queued_tasks_by_priority(self) -> list:
        if not self.queued_tasks:
            return []
        return sorted(self.queued_tasks.items(), key=lambda x: x[1].ti.priority_weight, reverse=False)

    def trigger_tasks(self, open_slots: int) -> None:
        workload_list = []
        for key, workload in self._get_workloads_to_schedule(open_slots):
            if key in self.attempts:
                del self.attempts[key]
            workload_list.append(workload)
        if workload_list:
            self._process_workloads(workload_list)

    def change_state(self, key, state, info=None, remove_running=True) -> None:
        if remove_running:
            try:
                self.running.remove(key)
            except KeyError:
                self.log.debug("Could not find key: %s", key)
        self.event_buffer[key] = state, info

    def fail(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.FAILED, info)

    def success(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.SUCCESS, info)

    def queued(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.QUEUED, info)

    def running_state(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.RUNNING, info, remove_running=False)

    def get_event_buffer(self, dag_ids=None) -> dict:
        cleared_events: dict = {}
        if dag_ids is None:
            cleared_events = self.event_buffer
            self.event_buffer = {}
        else:
            for key in list(self.event_buffer.keys()):
                if key.dag_id in dag_ids:
                    cleared_events[key] = self.event_buffer.pop(key)
        return cleared_events

    def get_task_log(self, ti, try_number: int):
        return [], []

    def end(self) -> None:
        raise NotImplementedError

    def terminate(self):
        raise NotImplementedError

    def revoke_task(self, *, ti):
        raise NotImplementedError

    def try_adopt_task_instances(self, tis):
        return tis

    @property
    def slots_available(self):
        return (self.parallelism - len(self.running) - len(self.queued_tasks) - len(self.queued_callbacks)
                - len(self.queued_connection_tests))

    @property
    def slots_occupied(self):
        return len(self.running) + len(self.queued_tasks) + len(self.queued_callbacks)
