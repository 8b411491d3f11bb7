"""Stand-ins of Airflow's task instances and of the scheduler's executor calls, for
Airflow 2.10/2.11 and 3.x (whichever stand-in Airflow the tests run under).

StandInScheduler makes the calls SchedulerJobRunner makes on its executor, in its order
(apache/airflow airflow/jobs/scheduler_job_runner.py @ 2.10.3 and @ v2-11-stable;
airflow-core/src/airflow/jobs/scheduler_job_runner.py @ 4bf2df84):
- _execute(): executor.job_id = the job's id, executor.start();
- adopt_or_reset_orphaned_tasks(): executor.try_adopt_task_instances(tis) with the
  QUEUED and RUNNING task instances of dead scheduler jobs; the returned ones are reset
  (state None, queued_by_job_id None), the others now belong to this job;
- every loop: the task instances ready to run are set QUEUED (queued_by_job_id,
  queued_dttm) and handed over: Airflow 2 with executor.queue_command(ti,
  ti.command_as_list(local=True, ...), priority=ti.priority_weight, queue=ti.queue);
  Airflow 3 with executor.queue_workload(workloads.ExecuteTask.make(ti,
  generator=executor.jwt_generator), session); then executor.heartbeat(); then
  _process_executor_events(): executor.get_event_buffer(); a QUEUED (3: or RUNNING)
  event sets external_executor_id; a FAILED or SUCCESS event for a task instance whose
  try still says QUEUED (3: SCHEDULED, QUEUED, RUNNING or RESTARTING), queued by this
  job and unknown to the executor (not has_task) is "finished although the task says
  it's queued": the scheduler fails it (ti.handle_failure: up_for_retry while retries
  are left, else failed);
- _handle_tasks_stuck_in_queued(): task instances queued longer than
  [scheduler] task_queued_timeout: executor.revoke_task(ti=ti), then set SCHEDULED
  again (queued_by_job_id None) up to num_stuck_in_queued_retries (2) times, then
  failed (with executor.fail(ti.key) on 3.x); an executor without revoke_task
  (NotImplementedError) leaves them (2.10.3: cleanup_stuck_queued_tasks instead);
- at exit: executor.end().
The DAG side (schedule()): an up_for_retry task instance is scheduled again with the
next try number, an up_for_reschedule one with the same try number (a sensor's next
poke, as Airflow 2.10+ and 3 count tries). The scheduler's clock (clock()) can be moved
forward by the tests (advance()); the loop runs in the test's thread and the state the
tasks themselves write (airflow_stand_in_server.py) goes through `lock`.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional

import executor_fixture as fx
from airflow.models.taskinstancekey import TaskInstanceKey
from airflow.utils.state import TaskInstanceState as S

AIRFLOW_3 = fx.AIRFLOW_VERSION == "3"
if AIRFLOW_3:
    from airflow.executors import workloads

# The states in which an executor's end event means "killed externally".
QUEUED_LIKE = (S.SCHEDULED, S.QUEUED, S.RUNNING, S.RESTARTING) if AIRFLOW_3 else (S.QUEUED,)
NUM_STUCK_IN_QUEUED_RETRIES = 2


class StandInDagRun:
    def __init__(self, run_id: str):
        self.run_id = run_id
        self.context_carrier: dict = {}
        self.bundle_version = None


class StandInDagModel:
    def __init__(self, dag_id: str):
        self.bundle_name = "dags-folder"
        self.relative_fileloc = f"{dag_id}.py"


class StandInTaskInstance:
    """What the scheduler and executors read of a TaskInstance (2.x and 3.x fields)."""

    def __init__(self, dag_id: str, task_id: str, run_id: str, try_number: int = 1, map_index: int = -1,
                 executor_config: Optional[dict] = None, command: Optional[List[str]] = None,
                 priority_weight: int = 1, queue: str = "default", retries: int = 0):
        self.dag_id, self.task_id, self.run_id = dag_id, task_id, run_id
        self.try_number, self.map_index = try_number, map_index
        self.executor_config = executor_config if executor_config is not None else {}
        self.priority_weight = priority_weight
        self.queue = queue
        self.pool_slots = 1
        self.max_tries = retries
        self.id = uuid.uuid4()
        self.dag_version_id = uuid.uuid4()
        self.parent_context_carrier = None
        self.dag_run = StandInDagRun(run_id)
        self.dag_model = StandInDagModel(dag_id)
        self.state: Optional[S] = None
        self.queued_by_job_id: Optional[int] = None
        self.queued_dttm: Optional[float] = None
        self.external_executor_id: Optional[str] = None
        self.reschedules = 0
        self._command = command

    @property
    def key(self) -> TaskInstanceKey:
        return TaskInstanceKey(self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    @property
    def primary(self):
        return self.key.primary

    def command_as_list(self, local: bool = True) -> List[str]:
        """TaskInstance.command_as_list(local=True) (Airflow 2): `airflow tasks run ...`,
        unless the test gave the command itself."""
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
    def __init__(self, executor, job_id: int = 1, task_queued_timeout: float = 600.0):
        self.executor = executor
        self.job_id = job_id
        self.task_queued_timeout = task_queued_timeout
        self.task_instances: Dict[Any, StandInTaskInstance] = {}  # primary key -> task instance
        self.events: Dict[TaskInstanceKey, Any] = {}  # key -> (state, info), the latest
        self.event_log: List[Any] = []  # every (key, state, info) in order
        self.killed_externally: List[TaskInstanceKey] = []
        self.stuck_requeues: Dict[Any, int] = {}
        self.lock = threading.RLock()
        self._offset = 0.0

    # -- time --------------------------------------------------------------------------

    def clock(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float):
        self._offset += seconds

    # -- lookups (also for the stand-in server) ------------------------------------------

    def ti_by_id(self, ti_id: str) -> Optional[StandInTaskInstance]:
        return next((t for t in self.task_instances.values() if str(t.id) == ti_id), None)

    def ti_by_primary(self, primary) -> Optional[StandInTaskInstance]:
        return self.task_instances.get(tuple(primary))

    # -- the scheduler's calls -----------------------------------------------------------

    def start(self, orphaned: List[StandInTaskInstance] = ()) -> List[StandInTaskInstance]:
        """_execute() up to the loop: start the executor, adopt or reset the orphans.
        Returns the task instances that were reset."""
        self.executor.job_id = self.job_id
        if AIRFLOW_3:
            self.executor.jwt_generator.clock = self.clock
        self.executor.start()
        return self.adopt_or_reset_orphaned_tasks(list(orphaned))

    def adopt_or_reset_orphaned_tasks(self, tis: List[StandInTaskInstance]) -> List[StandInTaskInstance]:
        to_reset = list(self.executor.try_adopt_task_instances(tis))
        with self.lock:
            for ti in to_reset:
                ti.state = None
                ti.queued_by_job_id = None
            for ti in tis:
                self.task_instances[ti.primary] = ti
                if ti not in to_reset:
                    ti.queued_by_job_id = self.job_id
        return to_reset

    def enqueue(self, *tis: StandInTaskInstance):
        """The end of _critical_section_enqueue_task_instances for these task instances."""
        for ti in tis:
            with self.lock:
                ti.state = S.QUEUED
                ti.queued_by_job_id = self.job_id
                ti.queued_dttm = self.clock()
                self.task_instances[ti.primary] = ti
            if AIRFLOW_3:
                workload = workloads.ExecuteTask.make(ti, generator=self.executor.jwt_generator)
                self.executor.queue_workload(workload, session=None)
            else:
                self.executor.queue_command(ti, ti.command_as_list(local=True), priority=ti.priority_weight,
                                            queue=ti.queue)

    def loop_once(self) -> Dict[TaskInstanceKey, Any]:
        """One scheduler loop's executor part: heartbeat, then the executor's events."""
        self.executor.heartbeat()
        return self.process_executor_events()

    def process_executor_events(self) -> Dict[TaskInstanceKey, Any]:
        events = self.executor.get_event_buffer()
        right_states = (S.FAILED, S.SUCCESS, S.QUEUED) + ((S.RUNNING, S.RESTARTING) if AIRFLOW_3 else ())
        for key, (state, info) in events.items():
            self.events[key] = (state, info)
            self.event_log.append((key, state, info))
            if state not in right_states:
                continue
            with self.lock:
                ti = self.task_instances.get(key.primary)
                if ti is None:
                    continue
                if state in (S.QUEUED, S.RUNNING):
                    ti.external_executor_id = info
                    continue
                ti_queued = ti.try_number == key.try_number and ti.state in QUEUED_LIKE
                ti_requeued = ti.queued_by_job_id != self.job_id or self.executor.has_task(ti)
                if ti_queued and not ti_requeued:
                    self.killed_externally.append(key)
                    self.handle_failure(ti)
        return events

    def handle_failure(self, ti: StandInTaskInstance):
        ti.state = S.UP_FOR_RETRY if ti.try_number <= ti.max_tries else S.FAILED

    def handle_tasks_stuck_in_queued(self) -> List[StandInTaskInstance]:
        """_handle_tasks_stuck_in_queued(). Returns the task instances it revoked."""
        with self.lock:
            stuck = [t for t in self.task_instances.values()
                     if t.state == S.QUEUED and t.queued_by_job_id == self.job_id
                     and t.queued_dttm < self.clock() - self.task_queued_timeout]
        revoked = []
        for ti in stuck:
            try:
                self.executor.revoke_task(ti=ti)
            except NotImplementedError:
                continue
            revoked.append(ti)
            with self.lock:
                times = self.stuck_requeues.get(ti.primary, 0)
                if times < NUM_STUCK_IN_QUEUED_RETRIES:
                    self.stuck_requeues[ti.primary] = times + 1
                    ti.state, ti.queued_dttm, ti.queued_by_job_id = S.SCHEDULED, None, None
                else:
                    ti.state = S.FAILED
                    if AIRFLOW_3:
                        self.executor.fail(ti.key)
        return revoked

    def schedule(self):
        """The DAG side: task instances to retry or to poke again become scheduled, and
        the scheduled ones are queued."""
        ready = []
        with self.lock:
            for ti in self.task_instances.values():
                if ti.state == S.UP_FOR_RETRY:
                    ti.try_number += 1
                    ti.state = S.SCHEDULED
                elif ti.state == S.UP_FOR_RESCHEDULE:
                    ti.state = S.SCHEDULED
                if ti.state == S.SCHEDULED:
                    ready.append(ti)
        self.enqueue(*ready)

    def add(self, *tis: StandInTaskInstance):
        """New task instances of a DAG run, scheduled."""
        with self.lock:
            for ti in tis:
                ti.state = S.SCHEDULED
                self.task_instances[ti.primary] = ti

    def run_loop(self, until: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
        """The scheduler loop: schedule, heartbeat, events, stuck check; until `until`."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.schedule()
            self.loop_once()
            self.handle_tasks_stuck_in_queued()
            if until():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(interval_s)

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
