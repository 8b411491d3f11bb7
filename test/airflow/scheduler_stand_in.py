"""Stand-ins of an Airflow 2 task instance and of the scheduler's executor calls.

StandInScheduler makes the calls SchedulerJobRunner (airflow/jobs/scheduler_job_runner.py,
Airflow 2.x) makes on its executor, in its order:
- _execute(): executor.job_id = the job's id, executor.start();
- _run_scheduler_loop(), first adopt_or_reset_orphaned_tasks() (again every
  orphaned_tasks_check_interval): executor.try_adopt_task_instances(tis) with the QUEUED
  and RUNNING task instances of dead scheduler jobs; the returned ones are reset (state
  None, queued_by_job_id None), the others now belong to this job;
- every loop: the task instances ready to run are set QUEUED and handed over with
  executor.queue_command(ti, ti.command_as_list(local=True, ...),
  priority=ti.task.priority_weight_total, queue=ti.task.queue); then
  executor.heartbeat(); then _process_executor_events(): executor.get_event_buffer(),
  where a FAILED or SUCCESS event for a task instance that still says QUEUED makes the
  scheduler fail it ("Executor reports task instance ... finished (failed) although the
  task says it's queued");
- at exit: executor.end().
The loop runs in the test's thread; DAG parsing and the database are left out.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

from airflow.models.taskinstancekey import TaskInstanceKey
from airflow.utils.state import TaskInstanceState


class StandInTaskInstance:
    """What the scheduler and executors read of a TaskInstance."""

    def __init__(self, dag_id: str, task_id: str, run_id: str, try_number: int = 1, map_index: int = -1,
                 executor_config: Optional[dict] = None, command: Optional[List[str]] = None,
                 priority_weight: int = 1, queue: str = "default"):
        self.dag_id, self.task_id, self.run_id = dag_id, task_id, run_id
        self.try_number, self.map_index = try_number, map_index
        self.executor_config = executor_config if executor_config is not None else {}
        self.priority_weight = priority_weight
        self.queue = queue
        self.state: Optional[TaskInstanceState] = None
        self.queued_by_job_id: Optional[int] = None
        self._command = command

    @property
    def key(self) -> TaskInstanceKey:
        return TaskInstanceKey(self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    def command_as_list(self, local: bool = True) -> List[str]:
        """TaskInstance.command_as_list(local=True): `airflow tasks run ...`, unless the
        test gave the command itself."""
        if self._command is not None:
            return list(self._command)
        command = ["airflow", "tasks", "run", self.dag_id, self.task_id, self.run_id]
        if local:
            command.append("--local")
        command += ["--subdir", f"DAGS_FOLDER/{self.dag_id}.py"]
        if self.map_index >= 0:
            command += ["--map-index", str(self.map_index)]
        return command

    def __repr__(self) -> str:
        suffix = f" map_index={self.map_index}" if self.map_index >= 0 else ""
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id}{suffix} [{self.state}]>"


class StandInScheduler:
    def __init__(self, executor, job_id: int = 1):
        self.executor = executor
        self.job_id = job_id
        self.task_instances: Dict[TaskInstanceKey, StandInTaskInstance] = {}
        self.events: Dict[TaskInstanceKey, Any] = {}  # key -> (state, info), latest first seen

    def start(self, orphaned: List[StandInTaskInstance] = ()) -> List[StandInTaskInstance]:
        """_execute() up to the loop: start the executor, adopt or reset the orphans.
        Returns the task instances that were reset."""
        self.executor.job_id = self.job_id
        self.executor.start()
        return self.adopt_or_reset_orphaned_tasks(list(orphaned))

    def adopt_or_reset_orphaned_tasks(self, tis: List[StandInTaskInstance]) -> List[StandInTaskInstance]:
        to_reset = list(self.executor.try_adopt_task_instances(tis))
        for ti in to_reset:
            ti.state = None
            ti.queued_by_job_id = None
        for ti in tis:
            if ti not in to_reset:
                ti.queued_by_job_id = self.job_id
                self.task_instances[ti.key] = ti
        return to_reset

    def enqueue(self, *tis: StandInTaskInstance):
        """The end of _critical_section_enqueue_task_instances for these task instances."""
        for ti in tis:
            ti.state = TaskInstanceState.QUEUED
            ti.queued_by_job_id = self.job_id
            self.task_instances[ti.key] = ti
            self.executor.queue_command(ti, ti.command_as_list(local=True), priority=ti.priority_weight,
                                        queue=ti.queue)

    def loop_once(self) -> Dict[TaskInstanceKey, Any]:
        """One scheduler loop's executor part: heartbeat, then the executor's events."""
        self.executor.heartbeat()
        return self.process_executor_events()

    def process_executor_events(self) -> Dict[TaskInstanceKey, Any]:
        events = self.executor.get_event_buffer()
        for key, (state, info) in events.items():
            self.events[key] = (state, info)
            ti = self.task_instances.get(key)
            if ti is not None and state in (TaskInstanceState.FAILED, TaskInstanceState.SUCCESS):
                if ti.state == TaskInstanceState.QUEUED and state == TaskInstanceState.FAILED:
                    ti.state = TaskInstanceState.FAILED
        return events

    def loop_until(self, done: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self.loop_once()
            if done():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(interval_s)

    def stop(self):
        self.executor.end()
