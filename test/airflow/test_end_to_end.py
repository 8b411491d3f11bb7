"""End to end: the Airflow executor queues task instances, `mesoflow run` runs them on the
fake Mesos master in local mode (each command a real process in a sandbox), and the
executor reports them to the scheduler.

Airflow is a stand-in here, as in test_mesoflow_executor.py (see its header): under
MESOFLOW_TEST_AIRFLOW=2 the rows run Airflow 2's `airflow tasks run ...` (the stand-in
CLI in stand_in/airflow2/bin, on the agent's PATH), under 3 they run `python -m
airflow.sdk.execution_time.execute_workload --json-string ...` (the stand-in module in
stand_in/airflow3, on the agent's PYTHONPATH). Both talk to the tests' stand-in of
Airflow's metadata database / Execution API (airflow_stand_in_server.py), which sets
the task instances' states as the tasks report them. The database, mesoflow and the
master's HTTP API are real.

Needs $MESOFLOW_BIN (mesoflow) and $MESOFLOW_FAKE_MASTER_BIN (mesoflow-fake-master);
ctest sets both and runs it unless configured with -DMESOFLOW_AIRFLOW_E2E=OFF.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import json
import sys

import executor_fixture as fx

import mesoflow_executor as mx
from airflow.utils.state import TaskInstanceState
from airflow_stand_in_server import AirflowStandInServer
from scheduler_stand_in import AIRFLOW_3, StandInScheduler, StandInTaskInstance
from temp_postgres import free_loopback_port

SUCCESS, FAILED = TaskInstanceState.SUCCESS, TaskInstanceState.FAILED
RUNNING, QUEUED = TaskInstanceState.RUNNING, TaskInstanceState.QUEUED
DAG_TIMEOUT_S = 480
SENSOR_POKES = 100
only_airflow_2 = unittest.skipIf(AIRFLOW_3, "shell commands are Airflow 2's")
only_airflow_3 = unittest.skipUnless(AIRFLOW_3, "Airflow 3's workload tokens")
START_TIMEOUT_S = 30
TASKS_TIMEOUT_S = 90
STOP_TIMEOUT_S = 30
_PR_SET_PDEATHSIG = 1


def _die_with_test():
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _binary(variable):
    path = os.environ.get(variable, "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"set {variable} (ctest does)")
    return path


class EndToEndTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mesoflow-airflow-e2e-")
        os.chmod(self.work, 0o755)
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.pg = fx.postgres()
        self.db, executor_dsn = fx.queue_database()
        self.server = AirflowStandInServer(None)
        self.addCleanup(self.server.stop)
        settings = {"MESOFLOW_DATABASE": executor_dsn,
                    "AIRFLOW__MESOFLOW__EXECUTION_API_SERVER_URL": self.server.execution_api_url,
                    "AIRFLOW__MESOFLOW__TASK_PYTHON": sys.executable}
        for name, value in settings.items():
            os.environ[name] = value
            self.addCleanup(os.environ.pop, name, None)
        self.fake_master_log = os.path.join(self.work, "fake-master.log")
        self.mesoflow_log = os.path.join(self.work, "mesoflow.log")
        master = self.start_fake_master()
        self.start_mesoflow(master)

    def spawn(self, argv, log_path, env):
        log = open(log_path, "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.work,
                                   preexec_fn=_die_with_test)
        log.close()
        self.addCleanup(self.stop, process)
        return process

    def stop(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def wait_for(self, what, predicate, timeout_s, processes=()):
        deadline = time.monotonic() + timeout_s
        while not predicate():
            for p in processes:
                if p.poll() is not None:
                    self.fail(f"a process exited ({p.returncode}) while waiting for {what}\n{self.logs()}")
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout_s} s waiting for {what}\n{self.logs()}")
            time.sleep(0.05)

    def logs(self):
        out = []
        for path in (self.mesoflow_log, self.fake_master_log):
            try:
                with open(path, errors="replace") as f:
                    out.append(f"--- last lines of {os.path.basename(path)} ---\n" + "".join(f.readlines()[-30:]))
            except OSError:
                pass
        return "\n".join(out)

    def launch_history(self):
        """Every line of both logs about launches, task states, leadership and the stream:
        what a task that ran twice needs to be told apart."""
        words = ("task_launched", "task_state", "fake_master_process_started", "leadership", "leading",
                 "subscribed", "disconnected", "reconcil", "launch_", "never_launched", "unplace",
                 "fake_master_task", "stream_")
        out = []
        for path in (self.mesoflow_log, self.fake_master_log):
            try:
                with open(path, errors="replace") as f:
                    lines = [line for line in f if any(w in line for w in words)]
                out.append(f"--- {os.path.basename(path)}: {len(lines)} lines ---\n" + "".join(lines[-400:]))
            except OSError:
                pass
        return "\n".join(out)

    def agent_env(self):
        """What an agent's tasks find: Airflow (the stand-in: its CLI on PATH, its modules
        on PYTHONPATH) configured for the metadata database (Airflow 2). Not the
        Execution API URL: under Airflow 3 the executor passes it with each task."""
        return fx.hermetic_env(
            PATH=os.path.join(fx.HERE, "stand_in", "airflow2", "bin") + os.pathsep + os.environ.get("PATH", ""),
            PYTHONPATH=fx.STAND_IN_DIR, PYTHONDONTWRITEBYTECODE="1",
            AIRFLOW_CONFIG=os.path.join(self.work, "no-such-airflow.cfg"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=self.server.sql_alchemy_conn,
        )

    def new_scheduler(self, job_id=1, task_queued_timeout=600.0):
        scheduler = StandInScheduler(mx.MesoflowExecutor(), job_id=job_id, task_queued_timeout=task_queued_timeout)
        self.server.scheduler = scheduler
        self.addCleanup(scheduler.executor._close)
        return scheduler

    def row(self, key, columns="state"):
        rows = self.pg.execute(self.db, f"SELECT {columns} FROM mesoflow.tasks WHERE key = %s", (key,))
        return rows[0] if rows else None

    def rows_of(self, ti):
        base = mx.queue_key(ti.key)
        return self.pg.execute(
            self.db, "SELECT key, state, argv, env, mesos_task_id FROM mesoflow.tasks "
            "WHERE key = %s OR starts_with(key, %s) ORDER BY id", (base, base + "#"))

    def run_dag(self, scheduler, tis, timeout_s=DAG_TIMEOUT_S):
        """The scheduler loop until the task instances ended and the executor reported
        their last rows."""
        finished = (SUCCESS, FAILED)

        def done():
            return all(t.state in finished and not scheduler.executor.has_task(t) for t in tis)

        if not scheduler.run_loop(done, timeout_s, interval_s=0.02):
            self.fail(f"the DAG did not finish: {tis}\n{self.logs()}")

    def check_command(self, ti, argv, env):
        """The row runs what Airflow's own executors run for this version."""
        if AIRFLOW_3:
            from airflow.executors import workloads

            self.assertEqual(argv[:4], [sys.executable, "-m", "airflow.sdk.execution_time.execute_workload",
                                        "--json-string"])
            workload = workloads.parse_workload(argv[4])
            self.assertEqual((workload.ti.id, workload.ti.key, str(workload.dag_rel_path)),
                             (ti.id, ti.key, f"{ti.dag_id}.py"))
            self.assertEqual(json.loads(argv[4])["type"], "ExecuteTask")
            self.assertEqual(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"], self.server.execution_api_url)
        else:
            self.assertEqual(argv, ["airflow", "tasks", "run", ti.dag_id, ti.task_id, ti.run_id, "--local",
                                    "--subdir", f"DAGS_FOLDER/{ti.dag_id}.py"])

    def start_fake_master(self):
        port = free_loopback_port()
        self.fake_master = self.spawn(
            [_binary("MESOFLOW_FAKE_MASTER_BIN"), "--local", "--listen", f"127.0.0.1:{port}", "--agents", "2",
             "--cpus", "4", "--mem", "8192", "--allocation-interval", "20ms",
             "--sandbox", os.path.join(self.work, "sandbox"), "--kill-grace", "1s"],
            self.fake_master_log, self.agent_env(),
        )

        def listening():
            with open(self.fake_master_log, errors="replace") as f:
                return "listening on" in f.read()

        self.wait_for("the fake master to listen", listening, START_TIMEOUT_S, [self.fake_master])
        return f"127.0.0.1:{port}"

    def start_mesoflow(self, master):
        config = os.path.join(self.work, "mesoflow.conf")
        with open(config, "w") as f:
            f.write(
                "[mesoflow]\n"
                f"master = {master}\n"
                f"database = {self.pg.dsn(self.db)}\n"
                "framework_name = mesoflow-airflow-e2e\n"
                "failover_timeout = 0\n"
                "admin_listen = off\n"
                "kill_grace_period = 1\n"
            )
        os.chmod(config, 0o600)
        self.mesoflow = self.spawn([fx.mesoflow_binary(), "run"], self.mesoflow_log,
                                   fx.hermetic_env(MESOFLOW_CONFIG=config))

    @only_airflow_2
    def test_the_executor_queues_mesoflow_runs_on_the_master_the_executor_reports(self):
        scheduler = StandInScheduler(mx.MesoflowExecutor())
        scheduler.start()
        run_id = "manual__2024-06-01T00:00:00+00:00"

        def task(task_id, command, **mesos):
            return StandInTaskInstance("e2e", task_id, run_id, command=command,
                                       executor_config={"mesos": mesos} if mesos else None)

        writes = task("writes", ["/bin/sh", "-c", 'echo "$AIRFLOW_CTX" > out.txt'], env={"AIRFLOW_CTX": "from-dag"},
                      cpus=0.5, mem=64)
        no_shell = task("no_shell", ["/bin/echo", "hello"])
        exits_3 = task("exits_3", ["/bin/sh", "-c", "echo boom >&2; exit 3"], attempts=1)
        in_image = task("in_image", ["airflow", "version"], image="registry.local/airflow:2.9")
        sleeps = task("sleeps", ["/bin/sh", "-c", "sleep 600"])
        finishing = [writes, no_shell, exits_3, in_image]
        scheduler.enqueue(*finishing, sleeps)

        def reported(*tis):
            return lambda: all(t.key in scheduler.events for t in tis)

        if not scheduler.loop_until(reported(*finishing), TASKS_TIMEOUT_S, interval_s=0.1):
            self.fail(f"not all reported: {scheduler.events}\n{self.logs()}")
        events = scheduler.events
        for t in (writes, no_shell, in_image):
            self.assertEqual(events[t.key][0], SUCCESS, f"{t}: {events[t.key]}\n{self.logs()}")
        self.assertEqual(events[exits_3.key][0], FAILED)
        self.assertIn("exit status 3", events[exits_3.key][1])
        self.assertIn("boom", events[exits_3.key][1])
        sandbox_files = [os.path.join(d, "out.txt") for d, _, files in os.walk(self.work) if "out.txt" in files]
        self.assertEqual(len(sandbox_files), 1, f"{sandbox_files}\n{self.launch_history()}")
        with open(sandbox_files[0]) as f:
            self.assertEqual(f.read().strip(), "from-dag")

        # Airflow's terminate(): mesoflow kills the running task on the master.
        key = mx.queue_key(sleeps.key)
        self.wait_for("the long task to run",
                      lambda: self.pg.execute(self.db, "SELECT state FROM mesoflow.tasks WHERE key = %s", (key,))
                      == [("running",)], TASKS_TIMEOUT_S, [self.mesoflow, self.fake_master])
        scheduler.executor.terminate()
        if not scheduler.loop_until(reported(sleeps), TASKS_TIMEOUT_S, interval_s=0.1):
            self.fail(f"the killed task was not reported\n{self.logs()}")
        self.assertEqual(scheduler.events[sleeps.key][0], FAILED)
        self.assertIn("killed", scheduler.events[sleeps.key][1])
        scheduler.stop()  # end(): nothing left to wait for
        self.assertEqual(scheduler.executor.running, set())

    @only_airflow_2
    def test_a_restarted_scheduler_adopts_the_task_mesoflow_runs_and_reports_its_end(self):
        old = StandInScheduler(mx.MesoflowExecutor(), job_id=1)
        old.start()
        t = StandInTaskInstance("e2e", "slow", "manual__1", command=["/bin/sh", "-c", "sleep 2"])
        old.enqueue(t)
        old.loop_once()
        key = mx.queue_key(t.key)
        self.wait_for("the task to run",
                      lambda: self.pg.execute(self.db, "SELECT state FROM mesoflow.tasks WHERE key = %s", (key,))
                      == [("running",)], TASKS_TIMEOUT_S, [self.mesoflow, self.fake_master])
        old.executor._close()  # the old scheduler dies without end()
        new = StandInScheduler(mx.MesoflowExecutor(), job_id=2)
        orphan = StandInTaskInstance("e2e", "slow", "manual__1")
        self.assertEqual(new.start(orphaned=[orphan]), [])
        if not new.loop_until(lambda: t.key in new.events, TASKS_TIMEOUT_S, interval_s=0.1):
            self.fail(f"the adopted task was not reported\n{self.logs()}")
        self.assertEqual(new.events[t.key][0], SUCCESS)
        new.stop()

    def test_a_dag_runs_through_the_executor_mesoflow_and_the_master_as_airflow_would_run_it(self):
        scheduler = self.new_scheduler()
        scheduler.start()
        run_id = "scheduled__2024-06-01T00:00:00+00:00"
        extract = StandInTaskInstance("etl", "extract", run_id)
        flaky = StandInTaskInstance("etl", "flaky", run_id, retries=1)
        sensor = StandInTaskInstance("etl", "sensor", run_id, executor_config={"mesos": {"cpus": 0.25, "mem": 32}})
        self.server.script("flaky", lambda ti, run: {"outcome": "failed" if run == 1 else "success"})
        self.server.script("sensor", lambda ti, run: {
            "outcome": "success" if run == SENSOR_POKES else "up_for_reschedule"})
        scheduler.add(extract, flaky, sensor)
        self.run_dag(scheduler, [extract, flaky, sensor])
        self.assertEqual([t.state for t in (extract, flaky, sensor)], [SUCCESS] * 3, self.logs())
        self.assertEqual((extract.try_number, flaky.try_number, sensor.try_number), (1, 2, 1))
        self.assertEqual((sensor.reschedules, self.server.starts(sensor)), (SENSOR_POKES - 1, SENSOR_POKES))
        self.assertEqual(scheduler.killed_externally, [])
        # Every queueing ran as a Mesos task; each poke of the sensor had a row of its own.
        sensor_rows = self.rows_of(sensor)
        base = mx.queue_key(sensor.key)
        self.assertEqual([r[0] for r in sensor_rows], [mx.requeued_key(base, n) for n in range(1, SENSOR_POKES + 1)])
        self.assertTrue(all(r[1] == "finished" and r[4] for r in sensor_rows))
        first_try = self.rows_of(StandInTaskInstance("etl", "flaky", run_id, try_number=1))
        second_try = self.rows_of(flaky)
        # Airflow 2's `airflow tasks run` exits 1 for a failed task; Airflow 3's runner 0.
        self.assertEqual([r[1] for r in first_try], ["finished" if AIRFLOW_3 else "failed"])
        self.assertEqual([r[1] for r in second_try], ["finished"])
        for t in (extract, flaky):
            self.check_command(t, self.rows_of(t)[0][2], self.rows_of(t)[0][3])
        self.check_command(sensor, sensor_rows[-1][2], sensor_rows[-1][3])
        # What the scheduler heard for each queueing; none of it failed a task instance,
        # as the tasks had written their own states first.
        events = [(k.task_id, k.try_number, str(state)) for k, state, _ in scheduler.event_log]
        if AIRFLOW_3:
            # Airflow 3 queues the next poke at once, often before the executor saw the
            # last poke's row end: that row is then not reported.
            self.assertLessEqual(events.count(("sensor", 1, "success")), SENSOR_POKES)
        else:
            self.assertEqual(events.count(("sensor", 1, "success")), SENSOR_POKES)
        self.assertEqual(sorted(set(events)), [("extract", 1, "success"),
                                               ("flaky", 1, "success" if AIRFLOW_3 else "failed"),
                                               ("flaky", 2, "success"), ("sensor", 1, "success")])
        if AIRFLOW_3:
            runs = [c for c in self.server.calls if c[0].endswith("/run")]
            self.assertEqual(len(runs), 2 + 1 + SENSOR_POKES)
            self.assertTrue(all(c[4] == 200 and c[3].startswith("Bearer standin.") for c in runs))
        scheduler.stop()

    def test_a_task_stuck_in_queued_is_revoked_queued_again_and_runs(self):
        scheduler = self.new_scheduler(task_queued_timeout=300)
        scheduler.start()
        run_id = "manual__1"
        # Two blockers take every CPU of the two agents until released.
        blockers = [StandInTaskInstance("full", f"blocker{i}", run_id, executor_config={"mesos": {"cpus": 4}})
                    for i in (1, 2)]
        for b in blockers:
            self.server.script(b.task_id, lambda ti, run: {"outcome": "success", "wait_for": "blockers"})
        stuck = StandInTaskInstance("full", "stuck", run_id)
        scheduler.add(*blockers)
        if not scheduler.run_loop(lambda: all(b.state == RUNNING for b in blockers), TASKS_TIMEOUT_S):
            self.fail(f"the blockers did not start\n{self.logs()}")
        scheduler.add(stuck)
        base = mx.queue_key(stuck.key)
        scheduler.run_loop(lambda: self.row(base, "agent_id IS NULL") == (True,), TASKS_TIMEOUT_S)
        scheduler.advance(301)  # queued longer than [scheduler] task_queued_timeout
        self.assertEqual(scheduler.handle_tasks_stuck_in_queued(), [stuck])
        self.assertTrue(self.row(base, "kill_requested")[0])
        self.wait_for("the withdrawn row to end", lambda: self.row(base, "state, agent_id") == ("killed", None),
                      TASKS_TIMEOUT_S, [self.mesoflow, self.fake_master])
        scheduler.schedule()
        scheduler.loop_once()
        self.assertEqual(self.row(base + "#2", "agent_id"), (None,))
        self.server.release("blockers")
        self.run_dag(scheduler, blockers + [stuck])
        self.assertEqual([t.state for t in blockers + [stuck]], [SUCCESS] * 3, self.logs())
        self.assertEqual((stuck.try_number, self.server.starts(stuck)), (1, 1))
        self.assertEqual(self.row(base + "#2"), ("finished",))
        self.assertEqual(scheduler.killed_externally, [])
        scheduler.stop()

    @only_airflow_3
    def test_a_row_whose_token_would_expire_is_withdrawn_and_runs_later_with_a_new_token(self):
        scheduler = self.new_scheduler(task_queued_timeout=600)
        scheduler.start()
        blocker = StandInTaskInstance("tok", "blocker", "manual__1", executor_config={"mesos": {"cpus": 4}})
        blocker2 = StandInTaskInstance("tok", "blocker2", "manual__1", executor_config={"mesos": {"cpus": 4}})
        for b in (blocker, blocker2):
            self.server.script(b.task_id, lambda ti, run: {"outcome": "success", "wait_for": "blockers"})
        late = StandInTaskInstance("tok", "late", "manual__1")
        scheduler.add(blocker, blocker2)
        if not scheduler.run_loop(lambda: blocker.state == RUNNING and blocker2.state == RUNNING, TASKS_TIMEOUT_S):
            self.fail(f"the blockers did not start\n{self.logs()}")
        scheduler.add(late)
        base = mx.queue_key(late.key)
        scheduler.run_loop(lambda: self.row(base, "agent_id IS NULL") == (True,), TASKS_TIMEOUT_S)
        # The token's 600 s pass: the executor withdraws the row before it could start.
        executor_clock = scheduler.executor._clock
        scheduler.executor._clock = lambda: executor_clock() + 550
        scheduler.advance(601)
        scheduler.loop_once()
        self.assertTrue(self.row(base, "kill_requested")[0])
        self.wait_for("the withdrawn row to end", lambda: self.row(base, "state, agent_id") == ("killed", None),
                      TASKS_TIMEOUT_S, [self.mesoflow, self.fake_master])
        self.assertEqual(late.state, QUEUED)
        self.assertNotIn(late.key, scheduler.executor.running)
        # Airflow's stuck-in-queued check schedules it again, with a new token.
        self.assertEqual(scheduler.handle_tasks_stuck_in_queued(), [late])
        self.server.release("blockers")
        self.run_dag(scheduler, [blocker, blocker2, late])
        self.assertEqual(late.state, SUCCESS, self.logs())
        runs = [c for c in self.server.calls if c[0].endswith(f"{late.id}/run")]
        self.assertEqual([c[4] for c in runs], [200])  # started once, with a valid token
        self.assertEqual(self.row(base + "#2"), ("finished",))
        self.assertEqual(scheduler.killed_externally, [])
        scheduler.stop()

    def test_after_a_scheduler_restart_the_new_scheduler_adopts_the_running_task(self):
        old = self.new_scheduler(job_id=1)
        old.start()
        slow = StandInTaskInstance("adopt", "slow", "manual__1")
        self.server.script("slow", lambda ti, run: {"outcome": "success", "wait_for": "slow"})
        old.add(slow)
        if not old.run_loop(lambda: slow.state == RUNNING, TASKS_TIMEOUT_S):
            self.fail(f"the task did not start\n{self.logs()}")
        began = time.monotonic()
        old.stop()  # end(): returns at once, the task keeps running
        self.assertLess(time.monotonic() - began, 5)
        self.assertEqual(self.row(mx.queue_key(slow.key)), ("running",))
        new = self.new_scheduler(job_id=2)
        self.assertEqual(new.start(orphaned=[slow]), [])
        self.assertEqual(slow.queued_by_job_id, 2)
        self.server.release("slow")
        self.run_dag(new, [slow])
        self.assertEqual(slow.state, SUCCESS)
        self.assertEqual(new.events[slow.key][0], SUCCESS)
        self.assertEqual((new.killed_externally, self.server.starts(slow)), ([], 1))
        new.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
