"""Stand-in of Airflow 2's base executor. Mirrors apache/airflow
airflow/executors/base_executor.py @ 2.10.3 (c99887ec) and @ v2-11-stable (7833f5da):
the same names, signatures, state values and call order; revoke_task exists from
2.10.4 on (here as in 2.11: it raises NotImplementedError in the base class).

What a concrete executor sees of its base class, with Airflow's behaviour:
- the scheduler calls queue_command(ti, command, priority, queue), which files the task
  instance in queued_tasks under ti.key;
- heartbeat() computes the open slots (parallelism minus running), calls
  trigger_tasks(open_slots), then sync();
- trigger_tasks() takes the queued task instances by priority, highest first; one whose
  key is still in `running` is held back (for about 10 s, then dropped); each other one
  leaves queued_tasks, goes to execute_async(key=, command=, queue=, executor_config=)
  with ti.executor_config, and then into `running`;
- _process_tasks() reads ti.dag_run (for its trace span, as 2.10/2.11 do), then
  deletes the key from queued_tasks, calls execute_async and adds the key to `running`;
- change_state(key, state, info, remove_running=True) removes the key from `running`
  and puts (state, info) into event_buffer; success(), fail(), queued() call it with
  TaskInstanceState.SUCCESS / FAILED / QUEUED; running_state() keeps the key running;
- get_event_buffer(dag_ids=None) returns the events and empties the buffer;
- execute_async, end and terminate raise NotImplementedError; try_adopt_task_instances
  adopts nothing (returns every task instance); cleanup_stuck_queued_tasks and
  revoke_task(*, ti) raise NotImplementedError (the scheduler catches it);
  get_task_log(ti, try_number) returns ([], []).
Metrics, tracing and the CLI hooks of the real class are left out.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict

from airflow.configuration import conf
from airflow.utils.state import TaskInstanceState

PARALLELISM: int = conf.getint("core", "parallelism", fallback=32)


class LoggingMixin:
    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")


class RunningRetryAttemptType:
    """Counts how often a queued key was found still running; it may be tried again
    until one try happened more than MIN_SECONDS after the first."""

    MIN_SECONDS = 10

    def __init__(self):
        self.total_tries = 0
        self.tries_after_min = 0
        self.first_attempt_time = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.first_attempt_time

    def can_try_again(self) -> bool:
        if self.tries_after_min > 0:
            return False
        self.total_tries += 1
        if self.elapsed > self.MIN_SECONDS:
            self.tries_after_min += 1
        return True


class BaseExecutor(LoggingMixin):
    supports_ad_hoc_ti_run: bool = False
    supports_pickling: bool = True
    supports_sentry: bool = False
    is_local: bool = False
    is_single_threaded: bool = False
    is_production: bool = True
    change_sensor_mode_to_reschedule: bool = False
    serve_logs: bool = False
    job_id = None
    callback_sink = None

    def __init__(self, parallelism: int = PARALLELISM):
        super().__init__()
        self.parallelism: int = parallelism
        self.queued_tasks: dict = {}
        self.running: set = set()
        self.event_buffer: dict = {}
        self.attempts: dict = defaultdict(RunningRetryAttemptType)

    def __repr__(self):
        return f"{self.__class__.__name__}(parallelism={self.parallelism})"

    def start(self):
        """Executors may need to get things started."""

    def queue_command(self, task_instance, command, priority: int = 1, queue=None):
        if task_instance.key not in self.queued_tasks:
            self.log.info("Adding to queue: %s", command)
            self.queued_tasks[task_instance.key] = (command, priority, queue, task_instance)
        else:
            self.log.error("could not queue task %s", task_instance.key)

    def has_task(self, task_instance) -> bool:
        return task_instance.key in self.queued_tasks or task_instance.key in self.running

    def sync(self) -> None:
        """Called by heartbeat(); executors gather the states of their tasks here."""

    def heartbeat(self) -> None:
        if not self.parallelism:
            open_slots = len(self.queued_tasks)
        else:
            open_slots = self.parallelism - len(self.running)
        self.trigger_tasks(open_slots)
        self.sync()

    def order_queued_tasks_by_priority(self):
        return sorted(self.queued_tasks.items(), key=lambda item: item[1][1], reverse=True)

    def trigger_tasks(self, open_slots: int) -> None:
        sorted_queue = self.order_queued_tasks_by_priority()
        task_tuples = []
        for _ in range(min(open_slots, len(self.queued_tasks))):
            key, (command, _, queue, ti) = sorted_queue.pop(0)
            if key in self.running:
                attempt = self.attempts[key]
                if attempt.can_try_again():
                    self.log.info("queued but still running; attempt=%s task=%s", attempt.total_tries, key)
                    continue
                self.log.error("could not queue task %s (still running after %d attempts)", key, attempt.total_tries)
                del self.attempts[key]
                del self.queued_tasks[key]
            else:
                if key in self.attempts:
                    del self.attempts[key]
                task_tuples.append((key, command, queue, ti.executor_config))
        if task_tuples:
            self._process_tasks(task_tuples)

    def _process_tasks(self, task_tuples) -> None:
        for key, command, queue, executor_config in task_tuples:
            task_instance = self.queued_tasks[key][3]
            _ = task_instance.dag_run  # Airflow derives the trace id from it
            del self.queued_tasks[key]
            self.execute_async(key=key, command=command, queue=queue, executor_config=executor_config)
            self.running.add(key)

    def change_state(self, key, state, info=None, remove_running=True) -> None:
        if remove_running:
            try:
                self.running.remove(key)
            except KeyError:
                self.log.debug("Could not find key: %s", key)
        self.event_buffer[key] = state, info

    def queued(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.QUEUED, info)

    def running_state(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.RUNNING, info, remove_running=False)

    def fail(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.FAILED, info)

    def success(self, key, info=None) -> None:
        self.change_state(key, TaskInstanceState.SUCCESS, info)

    def get_event_buffer(self, dag_ids=None) -> dict:
        cleared_events: dict = {}
        if dag_ids is None:
            cleared_events = self.event_buffer
            self.event_buffer = {}
        else:
            for ti_key in list(self.event_buffer.keys()):
                if ti_key.dag_id in dag_ids:
                    cleared_events[ti_key] = self.event_buffer.pop(ti_key)
        return cleared_events

    def execute_async(self, key, command, queue=None, executor_config=None) -> None:
        raise NotImplementedError()

    def end(self) -> None:
        raise NotImplementedError()

    def terminate(self):
        raise NotImplementedError()

    def get_task_log(self, ti, try_number: int):
        return [], []

    def cleanup_stuck_queued_tasks(self, tis) -> list:
        raise NotImplementedError()

    def revoke_task(self, *, ti):
        raise NotImplementedError()

    def try_adopt_task_instances(self, tis):
        return tis

    @property
    def slots_available(self):
        if self.parallelism:
            return self.parallelism - len(self.running) - len(self.queued_tasks)
        return sys.maxsize
