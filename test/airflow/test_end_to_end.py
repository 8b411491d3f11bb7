"""End to end: the Airflow executor queues task instances, `mesoflow run` runs them on the
fake Mesos master in local mode (each command a real process in a sandbox), and the
executor reports them to the scheduler.

Airflow is a stand-in here, as in test_mesoflow_executor.py (see its header); the
database, mesoflow and the master's HTTP API are real. The task instances' commands are
shell commands instead of `airflow tasks run`, which needs a real Airflow.

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

import executor_fixture as fx

import mesoflow_executor as mx
from airflow.utils.state import TaskInstanceState
from scheduler_stand_in import StandInScheduler, StandInTaskInstance
from temp_postgres import free_loopback_port

SUCCESS, FAILED = TaskInstanceState.SUCCESS, TaskInstanceState.FAILED
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
        os.environ["MESOFLOW_DATABASE"] = executor_dsn
        self.addCleanup(os.environ.pop, "MESOFLOW_DATABASE", None)
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

    def start_fake_master(self):
        port = free_loopback_port()
        self.fake_master = self.spawn(
            [_binary("MESOFLOW_FAKE_MASTER_BIN"), "--local", "--listen", f"127.0.0.1:{port}", "--agents", "2",
             "--cpus", "4", "--mem", "8192", "--allocation-interval", "100ms",
             "--sandbox", os.path.join(self.work, "sandbox"), "--kill-grace", "1s"],
            self.fake_master_log, fx.hermetic_env(),
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
        self.assertEqual(len(sandbox_files), 1)
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
