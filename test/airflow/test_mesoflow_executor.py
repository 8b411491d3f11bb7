"""Tests of deploy/airflow/mesoflow_executor.py against a real PostgreSQL.

Airflow itself cannot be installed here. These tests run the executor under a stand-in
of Airflow 2.10/2.11 (test/airflow/stand_in/airflow2, MESOFLOW_TEST_AIRFLOW=2, the
default) or of Airflow 3 (stand_in/airflow3, MESOFLOW_TEST_AIRFLOW=3); each stand-in's
header names the upstream files it mirrors. scheduler_stand_in.StandInScheduler makes
the executor calls of that version's SchedulerJobRunner in its order. mesoflow itself is
simulated by UPDATE-ing rows the way mesoflow's store does; test_end_to_end.py runs the
real `mesoflow run`.

Run: MESOFLOW_BIN=build/src/cli/mesoflow /usr/bin/python3 -m unittest -v test_mesoflow_executor
(from test/airflow; ctest does this, once per Airflow version).
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import psycopg2
import psycopg2.extras

import executor_fixture as fx
from executor_fixture import conf_vars

import mesoflow_executor as mx  # noqa: E402  (found through executor_fixture's sys.path)
from airflow.executors.base_executor import BaseExecutor
from airflow.utils.state import TaskInstanceState
from scheduler_stand_in import AIRFLOW_3, StandInScheduler, StandInTaskInstance

SUCCESS, FAILED = TaskInstanceState.SUCCESS, TaskInstanceState.FAILED
RUN_ID = "scheduled__2024-06-01T00:00:00+00:00"
WAIT_S = 10
EXECUTION_API = "http://airflow-api.example:8080/execution/"
only_airflow_3 = unittest.skipUnless(AIRFLOW_3, "Airflow 3's interface")
only_airflow_2 = unittest.skipIf(AIRFLOW_3, "Airflow 2's interface")


def ti(task_id, try_number=1, executor_config=None, dag_id="etl", run_id=RUN_ID, map_index=-1, command=None,
       queue="default"):
    return StandInTaskInstance(dag_id, task_id, run_id, try_number=try_number, map_index=map_index,
                               executor_config=executor_config, command=command, queue=queue)


class QueueTestCase(unittest.TestCase):
    """Each test gets the emptied queue database and executors pointed at it."""

    migrated = True

    def setUp(self):
        self.pg = fx.postgres()
        self.db, self.executor_dsn = fx.queue_database() if self.migrated else fx.empty_database()
        os.environ["MESOFLOW_DATABASE"] = self.executor_dsn
        self.addCleanup(os.environ.pop, "MESOFLOW_DATABASE", None)
        os.environ["AIRFLOW__MESOFLOW__EXECUTION_API_SERVER_URL"] = EXECUTION_API
        self.addCleanup(os.environ.pop, "AIRFLOW__MESOFLOW__EXECUTION_API_SERVER_URL", None)
        self.executors = []
        self.addCleanup(self._close_executors)

    def _close_executors(self):
        for executor in self.executors:
            executor._close()

    def new_scheduler(self, job_id=1, parallelism=32):
        executor = mx.MesoflowExecutor(parallelism=parallelism)
        self.executors.append(executor)
        return StandInScheduler(executor, job_id=job_id)

    def sql(self, statement, params=None):
        return self.pg.execute(self.db, statement, params)

    def row(self, key, columns="*"):
        conn = psycopg2.connect(self.pg.dsn(self.db))
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute(f"SELECT {columns} FROM mesoflow.tasks WHERE key = %s", (key,))
                return cur.fetchone()
        finally:
            conn.close()

    def keys(self):
        return [r[0] for r in self.sql("SELECT key FROM mesoflow.tasks ORDER BY id")]

    def mesoflow_sets(self, key, state, exit_status=None, reason=None, message=None):
        """What mesoflow's store writes when it applies a status update to a row."""
        final = state in mx.FINAL_STATES
        self.sql(
            "UPDATE mesoflow.tasks SET state = %s, attempt = greatest(attempt, 1), "
            "mesos_task_id = 'mf-' || id || '-' || greatest(attempt, 1), exit_status = %s, reason = %s, "
            "message = %s, updated_at = now(), launched_at = coalesce(launched_at, now()), "
            "finished_at = CASE WHEN %s THEN now() END WHERE key = %s",
            (state, exit_status, reason, message, final, key),
        )

    def executor_statements(self):
        """(query, calls) of every statement the executor's role ran in this database
        since the last reset, from pg_stat_statements."""
        return self.sql(
            "SELECT query, calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "JOIN pg_database d ON d.oid = s.dbid WHERE r.rolname = %s AND d.datname = %s",
            (fx.EXECUTOR_ROLE, self.db),
        )

    def reset_statements(self):
        self.sql("SELECT pg_stat_statements_reset()")


class ExecutorClassTest(unittest.TestCase):
    def test_under_airflow_the_executor_subclasses_airflows_base_executor(self):
        self.assertTrue(mx.AIRFLOW_AVAILABLE)
        self.assertEqual(mx.AIRFLOW_3, AIRFLOW_3)
        self.assertTrue(issubclass(mx.MesoflowExecutor, BaseExecutor))
        self.assertIs(mx.BaseExecutor, BaseExecutor)

    def test_queue_key_is_readable_stable_and_unique_per_try(self):
        a = StandInTaskInstance("etl", "load", RUN_ID, try_number=1).key
        self.assertEqual(mx.queue_key(a), f"airflow/etl/load/{RUN_ID}/1/-1")
        self.assertEqual(mx.queue_key(a), mx.queue_key(StandInTaskInstance("etl", "load", RUN_ID).key))
        self.assertNotEqual(mx.queue_key(a), mx.queue_key(a.with_try_number(2)))
        mapped = StandInTaskInstance("etl", "load", RUN_ID, map_index=3).key
        self.assertEqual(mx.queue_key(mapped), f"airflow/etl/load/{RUN_ID}/1/3")

    def test_queue_key_parts_that_hold_a_slash_or_hash_cannot_collide(self):
        # "a/b" + "c" and "a" + "b/c" would both read a/b/c without the encoding.
        one = mx.queue_key(StandInTaskInstance("a/b", "c", "r").key)
        two = mx.queue_key(StandInTaskInstance("a", "b/c", "r").key)
        self.assertNotEqual(one, two)
        self.assertEqual(one, "airflow/a%2Fb/c/r/1/-1")
        odd = StandInTaskInstance("d", "t", "manual#1 50%").key
        self.assertEqual(mx.queue_key(odd), "airflow/d/t/manual%231%2050%25/1/-1")


class ModuleWithoutAirflowTest(QueueTestCase):
    def test_module_imports_without_airflow_and_runs_on_its_own_base(self):
        # A child interpreter whose path has the module but not the stand-in Airflow.
        script = f"""
import sys
sys.path = [p for p in sys.path if p not in ({fx.STAND_IN_DIR!r}, '')]
sys.path.insert(0, {fx.EXECUTOR_DIR!r})
import mesoflow_executor as mx
assert not mx.AIRFLOW_AVAILABLE, "found an airflow package"
try:
    import airflow
    raise SystemExit("airflow is importable")
except ImportError:
    pass
from collections import namedtuple
Key = namedtuple("Key", "dag_id task_id run_id try_number map_index")
key = Key("etl", "load", "r1", 1, -1)
executor = mx.MesoflowExecutor()
executor.start()
executor.execute_async(key, ["true"], executor_config={{"mesos": {{"disk": 10}}}})
executor.running.add(key)
executor.sync()
print(sorted(executor.running) == [key])
"""
        with tempfile.NamedTemporaryFile("w", suffix=".cfg") as airflow_cfg:
            airflow_cfg.write("[mesos]\ntask_cpu = 2\ntask_memory = 512\n")
            airflow_cfg.flush()
            # The variable beats the file, as in Airflow.
            env = fx.hermetic_env(MESOFLOW_DATABASE=self.executor_dsn, AIRFLOW__MESOS__TASK_CPU="3",
                                  AIRFLOW_CONFIG=airflow_cfg.name)
            done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tempfile.gettempdir(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        self.assertEqual(done.stdout.decode().strip(), "True")
        row = self.row("airflow/etl/load/r1/1/-1")
        self.assertEqual((row["cpus"], row["mem"], row["disk"], row["argv"]), (3.0, 512.0, 10.0, ["true"]))


class QueueRowTest(QueueTestCase):
    def test_a_task_instance_without_executor_config_gets_the_tables_defaults(self):
        s = self.new_scheduler()
        s.start()
        t = ti("load")
        s.enqueue(t)
        s.loop_once()
        key = f"airflow/etl/load/{RUN_ID}/1/-1"
        self.assertEqual(self.keys(), [key])
        row = self.row(key)
        if AIRFLOW_3:
            self.assertEqual(row["argv"][:5], ["python", "-m", "airflow.sdk.execution_time.execute_workload",
                                               "--json-string", row["argv"][4]])
            self.assertEqual(row["env"], {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": EXECUTION_API})
        else:
            self.assertEqual(row["argv"], ["airflow", "tasks", "run", "etl", "load", RUN_ID, "--local", "--subdir",
                                           "DAGS_FOLDER/etl.py"])
            self.assertEqual(row["env"], {})
        self.assertIsNone(row["command"])
        self.assertEqual((row["cpus"], row["mem"], row["disk"], row["gpus"], row["ports"]), (1.0, 256.0, 0.0, 0.0, 0))
        self.assertEqual((row["image"], row["containerizer"], row["timeout_s"]), (None, None, None))
        self.assertEqual((row["max_attempts"], row["priority"], row["constraints"]), (3, 0, []))
        self.assertEqual(row["labels"], {"airflow.dag_id": "etl", "airflow.task_id": "load",
                                         "airflow.run_id": RUN_ID, "airflow.try_number": "1"})
        self.assertEqual((row["state"], row["kill_requested"]), ("pending", False))
        self.assertEqual(s.executor.running, {t.key})

    def test_airflows_queue_is_mesoflows_queue_and_its_defaults_apply(self):
        self.pg.execute(self.db, "INSERT INTO mesoflow.queues (name, cpus, mem, max_running) "
                                 "VALUES ('gpu', 4, 2048, 2)")
        s = self.new_scheduler()
        s.start()
        s.enqueue(ti("train", queue="gpu"), ti("load"), ti("small", queue="gpu",
                                                           executor_config={"mesos": {"cpus": 1}}))
        s.loop_once()
        train = self.row(f"airflow/etl/train/{RUN_ID}/1/-1")
        self.assertEqual((train["queue"], train["cpus"], train["mem"]), ("gpu", 4.0, 2048.0))
        small = self.row(f"airflow/etl/small/{RUN_ID}/1/-1")
        self.assertEqual((small["queue"], small["cpus"], small["mem"]), ("gpu", 1.0, 2048.0))
        load = self.row(f"airflow/etl/load/{RUN_ID}/1/-1")
        self.assertEqual((load["queue"], load["cpus"], load["mem"]), ("default", 1.0, 256.0))

    def test_mesos_section_gives_the_defaults_as_the_old_mesos_executor_read_them(self):
        with conf_vars({("mesos", "task_cpu"): "2", ("mesos", "task_memory"): "1024",
                        ("mesos", "docker_image_slave"): "registry.local/airflow:2.9"}):
            s = self.new_scheduler()
            s.start()
        s.enqueue(ti("load"))
        s.loop_once()
        row = self.row(self.keys()[0])
        self.assertEqual((row["cpus"], row["mem"]), (2.0, 1024.0))
        self.assertEqual((row["image"], row["containerizer"]), ("registry.local/airflow:2.9", None))

    def test_mesoflow_section_beats_mesos_section_and_the_environment_beats_the_file(self):
        overrides = {("mesos", "task_cpu"): "2", ("mesoflow", "task_cpus"): "0.5", ("mesos", "task_memory"): "1024",
                     ("mesoflow", "containerizer"): "mesos", ("mesos", "docker_image_slave"): "img:1"}
        os.environ["AIRFLOW__MESOS__TASK_MEMORY"] = "2048"
        self.addCleanup(os.environ.pop, "AIRFLOW__MESOS__TASK_MEMORY")
        with conf_vars(overrides):
            s = self.new_scheduler()
            s.start()
        s.enqueue(ti("load"), ti("host", executor_config={"mesos": {"image": None}}))
        s.loop_once()
        load = self.row(f"airflow/etl/load/{RUN_ID}/1/-1")
        self.assertEqual((load["cpus"], load["mem"]), (0.5, 2048.0))
        self.assertEqual((load["image"], load["containerizer"]), ("img:1", "mesos"))
        # image None: this task runs on the agent's host, so no containerizer either.
        host = self.row(f"airflow/etl/host/{RUN_ID}/1/-1")
        self.assertEqual((host["image"], host["containerizer"]), (None, None))

    def test_executor_config_sets_every_column_it_names(self):
        config = {
            "mesos": {
                "cpus": 4, "mem": 16384, "disk": 2048, "gpus": 1, "ports": 2, "image": "registry.local/train:1.4",
                "containerizer": "mesos", "force_pull": True,
                "constraints": [["rack", "EQUALS", "r7"], ["hostname", "LIKE", "gpu-.*"], ["ssd", "EXISTS"]],
                "attempts": 2, "retry_on_failure": True, "retry_backoff": 30, "priority": 10, "timeout": 3600,
                "env": {"DATASET": "s3://bucket/x", "EPOCHS": 3}, "uris": ["http://files/model.tgz"],
                "user": "etl", "role": "analytics", "labels": {"team": "data"},
            },
            "KubernetesExecutor": {"request_memory": "1Gi"},  # another executor's key: ignored
        }
        with conf_vars({("mesos", "task_cpu"): "2", ("mesos", "docker_image_slave"): "default:1"}):
            s = self.new_scheduler()
            s.start()
        s.enqueue(ti("train", executor_config=config))
        s.loop_once()
        row = self.row(self.keys()[0])
        expected = {
            "cpus": 4.0, "mem": 16384.0, "disk": 2048.0, "gpus": 1.0, "ports": 2, "image": "registry.local/train:1.4",
            "containerizer": "mesos", "force_pull": True,
            "constraints": [["rack", "EQUALS", "r7"], ["hostname", "LIKE", "gpu-.*"], ["ssd", "EXISTS"]],
            "max_attempts": 2, "retry_on_failure": True, "retry_backoff_s": 30.0, "priority": 10,
            "timeout_s": 3600.0,
            "uris": ["http://files/model.tgz"], "run_as_user": "etl", "role": "analytics",
        }
        self.assertEqual({c: row[c] for c in expected}, expected)
        self.assertEqual({k: row["env"][k] for k in ("DATASET", "EPOCHS")}, {"DATASET": "s3://bucket/x", "EPOCHS": 3})
        self.assertEqual(row["labels"]["team"], "data")
        self.assertEqual(row["labels"]["airflow.task_id"], "train")

    def test_docker_volumes_network_and_parameters_land_in_the_queues_columns(self):
        config = {
            "mesos": {
                "image": "apache/airflow:2.11.0", "containerizer": "docker",
                "volumes": [{"host_path": "/srv/airflow/dags", "container_path": "/opt/airflow/dags", "mode": "RO"}],
                "network": "user", "network_name": "airflow",
                "docker_parameters": [{"key": "label", "value": "team=data"}],
            },
        }
        s = self.new_scheduler()
        s.start()
        s.enqueue(ti("docked", executor_config=config))
        s.enqueue(ti("plain"))
        s.loop_once()
        rows = {self.row(k)["labels"]["airflow.task_id"]: self.row(k) for k in self.keys()}
        docked = rows["docked"]
        self.assertEqual(docked["volumes"],
                         [{"host_path": "/srv/airflow/dags", "container_path": "/opt/airflow/dags", "mode": "RO"}])
        self.assertEqual((docked["network"], docked["network_name"]), ("user", "airflow"))
        self.assertEqual(docked["docker_parameters"], [{"key": "label", "value": "team=data"}])
        # A row that asks for none of them leaves the columns empty.
        plain = rows["plain"]
        self.assertEqual([plain[c] for c in ("volumes", "network", "network_name", "docker_parameters")],
                         [None, None, None, None])

    def test_a_mapped_task_instance_carries_its_map_index_in_key_and_labels(self):
        s = self.new_scheduler()
        s.start()
        s.enqueue(ti("fan", map_index=0), ti("fan", map_index=1))
        s.loop_once()
        self.assertEqual(self.keys(), [f"airflow/etl/fan/{RUN_ID}/1/0", f"airflow/etl/fan/{RUN_ID}/1/1"])
        self.assertEqual(self.row(self.keys()[1])["labels"]["airflow.map_index"], "1")
        if AIRFLOW_3:
            self.assertEqual(json.loads(self.row(self.keys()[1])["argv"][-1])["ti"]["map_index"], 1)
        else:
            self.assertEqual(self.row(self.keys()[1])["argv"][-2:], ["--map-index", "1"])

    def test_each_try_gets_its_own_row(self):
        s = self.new_scheduler()
        s.start()
        s.enqueue(ti("load", try_number=1))
        s.loop_once()
        self.mesoflow_sets(self.keys()[0], "failed", exit_status=1)
        s.loop_once()
        s.enqueue(ti("load", try_number=2))
        s.loop_once()
        self.assertEqual(self.keys(), [f"airflow/etl/load/{RUN_ID}/1/-1", f"airflow/etl/load/{RUN_ID}/2/-1"])
        self.assertEqual(self.row(self.keys()[1])["state"], "pending")


class BadConfigTest(QueueTestCase):
    BAD = [
        ({"mesos": {"cpus": "two"}}, 'executor_config["mesos"]["cpus"] must be a number'),
        ({"mesos": {"cpus": 0}}, 'executor_config["mesos"]["cpus"] must be more than 0'),
        ({"mesos": {"cpus": True}}, 'executor_config["mesos"]["cpus"] must be a number'),
        ({"mesos": {"mem": float("nan")}}, 'executor_config["mesos"]["mem"] must be a number'),
        ({"mesos": {"disk": -1}}, 'executor_config["mesos"]["disk"] must be at least 0'),
        ({"mesos": {"memory": 512}}, "unknown key 'memory'; did you mean 'mem'?"),
        ({"mesos": {"attempts": 0}}, 'executor_config["mesos"]["attempts"] must be between 1 and'),
        ({"mesos": {"priority": 2**40}}, 'executor_config["mesos"]["priority"] must be between'),
        ({"mesos": {"containerizer": "rkt", "image": "x"}}, "must be 'docker' or 'mesos', got 'rkt'"),
        ({"mesos": {"containerizer": "docker"}}, 'executor_config["mesos"]["containerizer"] needs an "image"'),
        ({"mesos": {"constraints": [["rack", "IN", "r1"]]}}, "unknown op 'IN'"),
        ({"mesos": {"constraints": [["rack", "EQUALS"]]}}, "EQUALS needs a value"),
        ({"mesos": {"constraints": [["ssd", "EXISTS", "yes"]]}}, "EXISTS takes no value"),
        ({"mesos": {"constraints": "rack:r1"}}, "must be a list of [attribute, op, value]"),
        ({"mesos": {"env": {"A": None}}}, 'executor_config["mesos"]["env"] [\'A\'] must be one of'),
        ({"mesos": {"labels": ["a"]}}, 'executor_config["mesos"]["labels"] must be a dict of labels'),
        ({"mesos": {"timeout": 0}}, 'executor_config["mesos"]["timeout"] must be more than 0'),
        ({"mesos": "cpus=2"}, 'executor_config["mesos"] must be a dict, got str'),
        ("cpus=2", "executor_config must be a dict"),
    ]

    def test_a_bad_executor_config_fails_that_task_instance_with_the_reason(self):
        s = self.new_scheduler()
        s.start()
        bad = [ti(f"bad{i}", executor_config=config) for i, (config, _) in enumerate(self.BAD)]
        good = ti("good", executor_config={"mesos": {"cpus": 2}})
        s.enqueue(*bad, good)
        s.loop_once()
        for t, (config, reason) in zip(bad, self.BAD):
            with self.subTest(config=config):
                state, info = s.events[t.key]
                self.assertEqual(state, FAILED)
                self.assertIn(reason, info)
                self.assertIn("mesoflow executor refused", info)
                self.assertEqual(t.state, FAILED)  # the scheduler failed the queued task instance
        self.assertEqual(self.keys(), [f"airflow/etl/good/{RUN_ID}/1/-1"])
        self.assertEqual(s.executor.running, {good.key})

    def test_a_row_the_table_refuses_fails_only_its_task_instance(self):
        # Passes the executor's checks, but PostgreSQL's jsonb refuses \u0000.
        s = self.new_scheduler()
        s.start()
        refused = ti("refused", executor_config={"mesos": {"constraints": [["rack", "EQUALS", "r\u00001"]]}})
        s.enqueue(ti("a"), refused, ti("b"))
        s.loop_once()
        self.assertEqual(s.events[refused.key][0], FAILED)
        self.assertIn("the queue table refused it", s.events[refused.key][1])
        self.assertEqual(sorted(self.keys()), [f"airflow/etl/a/{RUN_ID}/1/-1", f"airflow/etl/b/{RUN_ID}/1/-1"])

    def test_a_bad_mesos_setting_stops_start_naming_the_key(self):
        with conf_vars({("mesos", "task_cpu"): "two"}):
            with self.assertRaisesRegex(mx.ConfigError, r"\[mesos\] task_cpu = 'two' is not a number"):
                self.new_scheduler().start()
        with conf_vars({("mesoflow", "containerizer"): "rkt"}):
            with self.assertRaisesRegex(mx.ConfigError, r"\[mesoflow\] containerizer = 'rkt' must be docker or mesos"):
                self.new_scheduler().start()

    def test_without_a_database_setting_start_says_where_to_set_it(self):
        del os.environ["MESOFLOW_DATABASE"]
        with self.assertRaisesRegex(mx.ConfigError, r"set \[mesoflow\] database in airflow.cfg"):
            self.new_scheduler().start()

    def test_the_database_comes_from_the_mesoflow_section_too(self):
        del os.environ["MESOFLOW_DATABASE"]
        with conf_vars({("mesoflow", "database"): self.executor_dsn}):
            s = self.new_scheduler()
            s.start()
        s.enqueue(ti("load"))
        s.loop_once()
        self.assertEqual(len(self.keys()), 1)


class GrantsTest(QueueTestCase):
    def test_start_names_the_grants_the_executors_role_lacks(self):
        self.sql("DROP ROLE IF EXISTS airflow_reader")
        self.sql("CREATE ROLE airflow_reader LOGIN")
        self.addCleanup(self.sql, "DROP ROLE airflow_reader")
        self.addCleanup(self.sql, "DROP OWNED BY airflow_reader")  # its grants, before the role
        os.environ["MESOFLOW_DATABASE"] = self.pg.dsn(self.db, user="airflow_reader")
        with self.assertRaisesRegex(mx.ConfigError, "lacks USAGE on schema mesoflow"):
            self.new_scheduler().start()
        self.sql("GRANT USAGE ON SCHEMA mesoflow TO airflow_reader")
        self.sql("GRANT SELECT ON mesoflow.tasks TO airflow_reader")
        with self.assertRaises(mx.ConfigError) as raised:
            self.new_scheduler().start()
        self.assertIn("lacks INSERT on mesoflow.tasks (the columns a producer writes), "
                      "UPDATE (kill_requested) on mesoflow.tasks, USAGE on sequence "
                      "mesoflow.tasks_id_seq, INSERT on mesoflow.task_history, USAGE on sequence "
                      "mesoflow.task_history_id_seq", str(raised.exception))


class UnmigratedDatabaseTest(QueueTestCase):
    migrated = False

    def test_start_on_a_database_without_the_queue_says_to_migrate(self):
        with self.assertRaisesRegex(mx.ConfigError, "mesoflow migrate"):
            self.new_scheduler().start()


class SyncTest(QueueTestCase):
    def test_sync_reports_finished_as_success_and_every_other_end_as_failure(self):
        s = self.new_scheduler()
        s.start()
        tis = {name: ti(name) for name in ("done", "failed", "killed", "lost", "error", "busy", "waiting")}
        s.enqueue(*tis.values())
        s.loop_once()
        key = {name: mx.queue_key(t.key) for name, t in tis.items()}
        self.mesoflow_sets(key["done"], "finished", exit_status=0, reason="REASON_COMMAND_EXECUTOR_FAILED")
        self.mesoflow_sets(key["failed"], "failed", exit_status=3, message="Command exited with status 3")
        self.mesoflow_sets(key["killed"], "killed", reason="REASON_TASK_KILLED_DURING_LAUNCH")
        self.mesoflow_sets(key["lost"], "lost", reason="REASON_AGENT_REMOVED", message="agent gone")
        self.mesoflow_sets(key["error"], "error", reason="REASON_TASK_INVALID", message="bad resources")
        self.mesoflow_sets(key["busy"], "running")
        events = s.loop_once()
        self.assertEqual(set(events), {tis[n].key for n in ("done", "failed", "killed", "lost", "error")})
        self.assertEqual(events[tis["done"].key][0], SUCCESS)
        for name in ("failed", "killed", "lost", "error"):
            self.assertEqual(events[tis[name].key][0], FAILED, name)
        self.assertRegex(events[tis["failed"].key][1],
                         r"mesoflow task \d+ failed \(exit status 3\): Command exited with status 3")
        self.assertIn("lost", events[tis["lost"].key][1])
        self.assertIn("REASON_AGENT_REMOVED; agent gone", events[tis["lost"].key][1])
        self.assertEqual(s.executor.running, {tis["busy"].key, tis["waiting"].key})
        # Reported once: the next loops are quiet until something else ends.
        self.assertEqual(s.loop_once(), {})
        self.mesoflow_sets(key["busy"], "finished", exit_status=0)
        self.assertEqual(s.loop_once(), {tis["busy"].key: (SUCCESS, s.events[tis["busy"].key][1])})

    def test_a_row_deleted_under_the_executor_fails_its_task_instance(self):
        s = self.new_scheduler()
        s.start()
        t = ti("load")
        s.enqueue(t)
        s.loop_once()
        self.sql("DELETE FROM mesoflow.tasks")
        events = s.loop_once()
        self.assertEqual(events[t.key][0], FAILED)
        self.assertIn("is gone", events[t.key][1])

    def test_sync_reads_the_states_of_all_its_tasks_with_one_statement(self):
        s = self.new_scheduler(parallelism=100)
        s.start()
        tis = [ti(f"t{i}") for i in range(60)]
        s.enqueue(*tis)
        self.reset_statements()
        s.loop_once()  # queues all 60: one INSERT, then one look at the states
        statements = self.executor_statements()
        self.assertEqual(sum(calls for _, calls in statements), 2, statements)
        self.assertEqual(len(self.keys()), 60)
        for i in range(0, 60, 3):
            self.mesoflow_sets(mx.queue_key(tis[i].key), "finished", exit_status=0)
        self.reset_statements()
        for _ in range(3):
            s.loop_once()
        # 3 loops, 3 statements (each reads what ended; the tasks reported drop out).
        statements = self.executor_statements()
        self.assertEqual(sum(calls for _, calls in statements), 3, statements)
        self.assertTrue(all(query.startswith("SELECT k.key") for query, _ in statements), statements)
        self.assertEqual(len(s.events), 20)
        self.assertEqual(len(s.executor.running), 40)

    def test_an_idle_executor_runs_no_statement(self):
        s = self.new_scheduler()
        s.start()
        self.reset_statements()
        for _ in range(5):
            s.loop_once()
        self.assertEqual(self.executor_statements(), [])

    def test_a_lost_connection_delays_the_insert_to_a_later_heartbeat(self):
        s = self.new_scheduler()
        s.start()
        s.enqueue(ti("load"))
        self.pg.kill_connections(self.db)
        s.loop_once()  # the dead connection is found here; nothing raises into the scheduler
        s.loop_once()
        self.assertEqual(len(self.keys()), 1)

    def test_an_insert_whose_answer_was_lost_is_followed_not_run_again(self):
        s = self.new_scheduler()
        s.start()
        t = ti("load")
        s.enqueue(t)
        real_execute_values = psycopg2.extras.execute_values

        def committed_then_connection_lost(*args, **kwargs):
            real_execute_values(*args, **kwargs)
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

        psycopg2.extras.execute_values = committed_then_connection_lost
        try:
            s.loop_once()
        finally:
            psycopg2.extras.execute_values = real_execute_values
        key = mx.queue_key(t.key)
        self.assertEqual(self.keys(), [key])
        # mesoflow ran it to the end before the executor heard back.
        self.mesoflow_sets(key, "finished", exit_status=0)
        s.loop_once()
        self.assertEqual(self.keys(), [key])
        self.assertEqual(s.events[t.key][0], SUCCESS)

    def test_an_executor_outlives_a_database_restart(self):
        s = self.new_scheduler()
        s.start()
        first = ti("first")
        s.enqueue(first)
        s.loop_once()
        self.pg.shutdown()
        try:
            second = ti("second")
            s.enqueue(second)
            s.loop_once()
            s.loop_once()
        finally:
            self.pg.start()
        self.mesoflow_sets(mx.queue_key(first.key), "finished", exit_status=0)
        self.assertTrue(s.loop_until(lambda: first.key in s.events and len(self.keys()) == 2, WAIT_S))
        self.assertEqual(s.events[first.key][0], SUCCESS)
        self.assertEqual(s.executor.running, {second.key})


class KillTest(QueueTestCase):
    def test_terminate_asks_mesoflow_to_kill_every_task_it_queued(self):
        s = self.new_scheduler()
        s.start()
        pending, running, done = ti("pending"), ti("running"), ti("done")
        s.enqueue(pending, running, done)
        s.loop_once()
        self.sql("INSERT INTO mesoflow.tasks (key, command) VALUES ('someone-else', 'true')")
        self.mesoflow_sets(mx.queue_key(running.key), "running")
        self.mesoflow_sets(mx.queue_key(done.key), "finished", exit_status=0)
        s.executor.terminate()
        kills = dict(self.sql("SELECT key, kill_requested FROM mesoflow.tasks"))
        self.assertEqual(kills, {mx.queue_key(pending.key): True, mx.queue_key(running.key): True,
                                 mx.queue_key(done.key): False, "someone-else": False})
        # The table kills a task not launched yet at once; a launched one when mesoflow says so.
        events = s.loop_once()
        self.assertEqual(events[pending.key][0], FAILED)
        self.assertIn("killed_before_launch", events[pending.key][1])
        self.assertEqual(events[done.key][0], SUCCESS)
        self.assertNotIn(running.key, events)
        self.mesoflow_sets(mx.queue_key(running.key), "killed", reason="REASON_TASK_KILLED")
        self.assertEqual(s.loop_once()[running.key][0], FAILED)
        self.assertEqual(s.executor.running, set())
        history = self.sql("SELECT count(*) FROM mesoflow.task_history WHERE kind = 'kill_requested'")
        self.assertEqual(history[0][0], 2)

    def test_a_kill_request_that_met_a_lost_connection_is_sent_by_the_next_heartbeat(self):
        s = self.new_scheduler()
        s.start()
        t = ti("load")
        s.enqueue(t)
        s.loop_once()
        self.mesoflow_sets(mx.queue_key(t.key), "running")
        self.pg.kill_connections(self.db)
        s.executor.terminate()
        self.assertFalse(self.row(mx.queue_key(t.key))["kill_requested"])
        s.loop_once()
        self.assertTrue(self.row(mx.queue_key(t.key))["kill_requested"])

    def test_terminate_fails_task_instances_not_yet_in_the_queue(self):
        s = self.new_scheduler()
        s.start()
        t = ti("load")
        s.enqueue(t)
        s.executor.trigger_tasks(1)  # execute_async ran; the heartbeat's sync has not
        s.executor.terminate()
        self.assertEqual(s.process_executor_events()[t.key][0], FAILED)
        s.loop_once()
        self.assertEqual(self.keys(), [])

    def test_stuck_queued_task_instances_are_killed_and_failed(self):
        s = self.new_scheduler()
        s.start()
        stuck, other = ti("stuck"), ti("other")
        s.enqueue(stuck, other)
        s.loop_once()
        cleaned = s.executor.cleanup_stuck_queued_tasks([stuck])
        self.assertEqual(cleaned, [repr(stuck)])
        self.assertEqual(s.process_executor_events()[stuck.key][0], FAILED)
        row = self.row(mx.queue_key(stuck.key))
        self.assertEqual((row["kill_requested"], row["state"]), (True, "killed"))
        self.assertFalse(self.row(mx.queue_key(other.key))["kill_requested"])
        self.assertEqual(s.executor.running, {other.key})


class EndTest(QueueTestCase):
    def test_end_writes_what_is_pending_and_returns_while_the_tasks_keep_running(self):
        s = self.new_scheduler()
        s.start()
        running, unsent = ti("running"), ti("unsent")
        s.enqueue(running)
        s.loop_once()
        self.mesoflow_sets(mx.queue_key(running.key), "running")
        s.enqueue(unsent)
        s.executor.trigger_tasks(1)  # handed to the executor; the heartbeat's sync has not run
        self.reset_statements()
        began = time.monotonic()
        s.stop()
        self.assertLess(time.monotonic() - began, 2.0)
        # One INSERT and one look at the states: no waiting for the running task.
        self.assertEqual(sum(calls for _, calls in self.executor_statements()), 2)
        self.assertIsNone(s.executor._conn)
        self.assertEqual(self.row(mx.queue_key(running.key))["state"], "running")
        self.assertEqual(self.row(mx.queue_key(unsent.key))["state"], "pending")
        self.assertFalse(self.row(mx.queue_key(running.key))["kill_requested"])
        # A restarted scheduler adopts both.
        new = self.new_scheduler(job_id=2)
        self.assertEqual(new.start(orphaned=[ti("running"), ti("unsent")]), [])
        self.mesoflow_sets(mx.queue_key(running.key), "finished", exit_status=0)
        self.assertEqual(new.loop_once()[running.key][0], SUCCESS)


class AdoptionTest(QueueTestCase):
    def test_a_restarted_scheduler_adopts_what_mesoflow_still_runs_and_resets_the_rest(self):
        old = self.new_scheduler(job_id=1)
        old.start()
        names = ("pending", "running", "killing", "finished", "failed")
        tis = {n: ti(n) for n in names}
        old.enqueue(*tis.values())
        old.loop_once()
        for n in ("running", "killing", "finished", "failed"):
            self.mesoflow_sets(mx.queue_key(tis[n].key), n)
        # The old scheduler dies here, without end(). Its task instances are orphans.
        never_queued = ti("never_queued")
        new = self.new_scheduler(job_id=2)
        reset = new.start(orphaned=list(tis.values()) + [never_queued])
        self.assertEqual(reset, [tis["finished"], tis["failed"], never_queued])
        self.assertEqual(new.executor.running, {tis["pending"].key, tis["running"].key, tis["killing"].key})
        self.assertEqual(tis["pending"].queued_by_job_id, 2)
        # Adopted task instances are reported by the new scheduler's executor.
        self.mesoflow_sets(mx.queue_key(tis["running"].key), "finished", exit_status=0)
        self.mesoflow_sets(mx.queue_key(tis["killing"].key), "killed")
        events = new.loop_once()
        self.assertEqual(events[tis["running"].key][0], SUCCESS)
        self.assertEqual(events[tis["killing"].key][0], FAILED)
        self.assertEqual(new.executor.running, {tis["pending"].key})

    def test_a_try_queued_again_after_its_row_ended_gets_a_row_of_its_own(self):
        # Airflow before 2.10 queues a try that never started again with the same
        # try number (here: mesoflow lost it before it ran, and Airflow retried).
        s = self.new_scheduler()
        s.start()
        first = ti("load")
        s.enqueue(first)
        s.loop_once()
        base = mx.queue_key(first.key)
        self.mesoflow_sets(base, "lost", reason="REASON_AGENT_REMOVED")
        self.assertEqual(s.loop_once()[first.key][0], FAILED)
        again = ti("load")
        s.enqueue(again)
        s.loop_once()
        self.assertEqual(self.keys(), [base, base + "#2"])
        self.mesoflow_sets(base + "#2", "lost")
        s.loop_once()
        s.enqueue(ti("load"))
        s.loop_once()
        self.assertEqual(self.keys(), [base, base + "#2", base + "#3"])
        # A restarted scheduler finds the latest queueing of the try.
        new = self.new_scheduler(job_id=2)
        self.assertEqual(new.start(orphaned=[ti("load")]), [])
        self.mesoflow_sets(base + "#3", "finished", exit_status=0)
        self.assertEqual(new.loop_once()[again.key][0], SUCCESS)

    def test_a_try_queued_again_while_its_row_is_active_follows_that_row(self):
        s = self.new_scheduler()
        s.start()
        s.enqueue(ti("load"))
        s.loop_once()
        base = self.keys()[0]
        self.mesoflow_sets(base, "running")
        # A scheduler that did not adopt it queues the same try again.
        other = self.new_scheduler(job_id=2)
        other.start()
        t = ti("load")
        other.enqueue(t)
        other.loop_once()
        self.assertEqual(self.keys(), [base])
        self.assertEqual(other.executor.running, {t.key})
        self.mesoflow_sets(base, "finished", exit_status=0)
        self.assertEqual(other.loop_once()[t.key][0], SUCCESS)


class RequeueTest(QueueTestCase):
    def test_a_reschedule_sensor_poking_100_times_runs_to_success(self):
        s = self.new_scheduler()
        s.start()
        sensor = ti("sensor")
        base = mx.queue_key(sensor.key)
        for poke in range(1, 101):
            s.enqueue(sensor)
            s.loop_once()
            key = mx.requeued_key(base, poke)
            self.assertEqual(self.row(key)["state"], "pending", f"poke {poke}")
            # The task writes its own state, then its process exits 0.
            sensor.state = TaskInstanceState.UP_FOR_RESCHEDULE if poke < 100 else SUCCESS
            self.mesoflow_sets(key, "finished", exit_status=0)
            self.assertEqual(s.loop_once()[sensor.key][0], SUCCESS)
        self.assertEqual(len(self.keys()), 100)
        self.assertEqual(self.keys()[-1], base + "#100")
        self.assertEqual(s.killed_externally, [])
        self.assertEqual(sensor.state, SUCCESS)
        self.assertEqual(s.executor.running, set())

    @only_airflow_3
    def test_a_task_queued_again_before_its_last_row_was_reported_gets_a_new_row(self):
        # Airflow 3 hands a deferred task that resumes straight to _process_workloads,
        # even while the executor still has the key in `running`.
        s = self.new_scheduler()
        s.start()
        deferred = ti("deferred")
        s.enqueue(deferred)
        s.loop_once()
        base = mx.queue_key(deferred.key)
        self.mesoflow_sets(base, "running")
        s.enqueue(deferred)
        s.loop_once()
        self.assertEqual(self.keys(), [base, base + "#2"])
        self.mesoflow_sets(base, "finished", exit_status=0)  # the old row ends: not reported
        self.assertEqual(s.loop_once(), {})
        self.mesoflow_sets(base + "#2", "finished", exit_status=0)
        self.assertEqual(s.loop_once()[deferred.key][0], SUCCESS)


class SchedulerStandInTest(QueueTestCase):
    def test_a_row_that_ended_while_the_task_instance_still_says_queued_fails_it_as_airflow_does(self):
        # The command never ran the task (it would have set the state itself): Airflow's
        # scheduler treats the executor's end as "killed externally", success or not.
        s = self.new_scheduler()
        s.start()
        never_ran, ran = ti("never_ran"), ti("ran")
        s.enqueue(never_ran, ran)
        s.loop_once()
        ran.state = SUCCESS  # what the task wrote
        for t in (never_ran, ran):
            self.mesoflow_sets(mx.queue_key(t.key), "finished", exit_status=0)
        events = s.loop_once()
        self.assertEqual((events[never_ran.key][0], events[ran.key][0]), (SUCCESS, SUCCESS))
        self.assertEqual(s.killed_externally, [never_ran.key])
        self.assertEqual((never_ran.state, ran.state), (FAILED, SUCCESS))


class RevokeTest(QueueTestCase):
    def test_revoke_withdraws_a_pending_row_without_an_event_and_the_task_queues_again(self):
        s = self.new_scheduler()
        s.start()
        stuck, other = ti("stuck"), ti("other")
        s.enqueue(stuck, other)
        s.loop_once()
        base = mx.queue_key(stuck.key)
        s.executor.revoke_task(ti=stuck)
        self.assertEqual(s.process_executor_events(), {})
        self.assertNotIn(stuck.key, s.executor.running)
        row = self.row(base)
        self.assertEqual((row["kill_requested"], row["state"]), (True, "killed"))
        self.assertFalse(self.row(mx.queue_key(other.key))["kill_requested"])
        # The scheduler sets it scheduled and queues the same key again.
        s.enqueue(stuck)
        s.loop_once()
        self.assertEqual(self.row(base + "#2")["state"], "pending")
        self.assertEqual(s.loop_once(), {})  # the killed row is not reported
        self.mesoflow_sets(base + "#2", "finished", exit_status=0)
        stuck.state = SUCCESS
        self.assertEqual(s.loop_once()[stuck.key][0], SUCCESS)
        self.assertEqual(s.killed_externally, [])

    def test_revoke_kills_a_running_task_and_the_next_queueing_does_not_follow_it(self):
        s = self.new_scheduler()
        s.start()
        t = ti("t")
        s.enqueue(t)
        s.loop_once()
        base = mx.queue_key(t.key)
        self.mesoflow_sets(base, "running")
        s.executor.revoke_task(ti=t)
        self.assertTrue(self.row(base)["kill_requested"])
        s.enqueue(t)
        s.loop_once()
        self.assertEqual(self.keys(), [base, base + "#2"])
        self.mesoflow_sets(base, "killed")
        self.mesoflow_sets(base + "#2", "finished", exit_status=0)
        t.state = SUCCESS
        events = s.loop_once()
        self.assertEqual(events, {t.key: (SUCCESS, events[t.key][1])})
        self.assertIn(f"mesoflow task {self.row(base + '#2', 'id')['id']} finished", events[t.key][1])

    def test_revoke_after_a_restart_kills_the_row_the_old_scheduler_queued(self):
        old = self.new_scheduler(job_id=1)
        old.start()
        t = ti("t")
        old.enqueue(t)
        old.loop_once()
        new = self.new_scheduler(job_id=2)
        new.start()
        new.executor.revoke_task(ti=ti("t"))
        self.assertEqual(self.row(mx.queue_key(t.key))["state"], "killed")

    def test_revoke_never_raises_into_the_scheduler(self):
        s = self.new_scheduler()
        s.start()
        t = ti("t")
        s.enqueue(t)
        s.loop_once()
        self.pg.kill_connections(self.db)
        s.executor.revoke_task(ti=t)  # the kill request waits for the next heartbeat
        s.loop_once()
        self.assertTrue(self.row(mx.queue_key(t.key))["kill_requested"])
        s.executor.revoke_task(ti=object())  # not even for nonsense


@only_airflow_3
class Airflow3Test(QueueTestCase):
    def test_a_workload_runs_the_task_sdk_with_its_json_and_the_execution_api_url(self):
        from airflow.executors import workloads

        s = self.new_scheduler()
        s.start()
        t = ti("load", executor_config={"mesos": {"cpus": 2, "env": {"A": "1"}}})
        s.enqueue(t)
        workload = s.executor.queued_tasks[t.key]
        s.loop_once()
        self.assertEqual(s.executor.queued_tasks, {})
        self.assertEqual(s.executor.running, {t.key})
        row = self.row(mx.queue_key(t.key))
        self.assertEqual(row["argv"], ["python", "-m", "airflow.sdk.execution_time.execute_workload",
                                       "--json-string", workload.model_dump_json()])
        parsed = workloads.parse_workload(row["argv"][4])
        self.assertEqual((parsed.ti.id, parsed.ti.key, parsed.token), (t.id, t.key, workload.token))
        self.assertEqual(parsed.dag_rel_path, "etl.py")
        self.assertNotIn("executor_config", json.loads(row["argv"][4])["ti"])
        self.assertEqual(row["env"], {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": EXECUTION_API, "A": "1"})
        self.assertEqual(row["cpus"], 2.0)

    def test_without_an_execution_api_url_start_says_where_to_set_it(self):
        del os.environ["AIRFLOW__MESOFLOW__EXECUTION_API_SERVER_URL"]
        with self.assertRaisesRegex(mx.ConfigError, r"set \[mesoflow\] execution_api_server_url"):
            self.new_scheduler().start()
        with conf_vars({("core", "execution_api_server_url"): "http://api.internal/execution/"}):
            s = self.new_scheduler()
            s.start()
        self.assertEqual(s.executor.settings.execution_api_server_url, "http://api.internal/execution/")
        with conf_vars({("mesoflow", "execution_api_server_url"): "api:8080"}):
            with self.assertRaisesRegex(mx.ConfigError, "must be an http:// or https:// URL"):
                self.new_scheduler().start()

    def test_a_row_not_started_when_its_token_would_expire_is_withdrawn_and_airflow_queues_it_again(self):
        with conf_vars({("execution_api", "jwt_expiration_time"): "300"}):
            s = self.new_scheduler()
            s.task_queued_timeout = 300
            s.start()
        self.assertEqual(s.executor.settings.withdraw_after_s, 240)
        waiting, unplaced, claimed = ti("waiting"), ti("unplaced"), ti("claimed")
        s.enqueue(waiting, unplaced, claimed)
        s.loop_once()
        first_token = json.loads(self.row(mx.queue_key(waiting.key))["argv"][4])["token"]
        # Claimed by mesoflow: one still waiting for an offer, one placed on an agent.
        self.mesoflow_sets(mx.queue_key(unplaced.key), "launching")
        self.mesoflow_sets(mx.queue_key(claimed.key), "launching")
        self.sql("UPDATE mesoflow.tasks SET agent_id = 'agent-1' WHERE key = %s", (mx.queue_key(claimed.key),))
        claimed.state = TaskInstanceState.RUNNING  # it called the Execution API
        clock = s.executor._clock
        s.executor._clock = lambda: clock() + 239
        self.reset_statements()
        self.assertEqual(s.loop_once(), {})
        self.assertEqual(sum(c for _, c in self.executor_statements()), 1)  # nothing to withdraw yet
        s.executor._clock = lambda: clock() + 241
        self.assertEqual(s.loop_once(), {})  # no event: Airflow keeps them queued
        self.assertEqual(self.row(mx.queue_key(waiting.key))["state"], "killed")
        self.assertTrue(self.row(mx.queue_key(unplaced.key))["kill_requested"])
        self.assertEqual(self.row(mx.queue_key(claimed.key))["state"], "launching")  # it starts in time
        self.assertFalse(self.row(mx.queue_key(claimed.key))["kill_requested"])
        self.assertEqual(s.executor.running, {claimed.key})
        self.assertEqual((waiting.state, unplaced.state), (TaskInstanceState.QUEUED, TaskInstanceState.QUEUED))
        # The scheduler's stuck-in-queued check hands it back; it is queued with a new token.
        s.advance(301)
        self.assertEqual(s.handle_tasks_stuck_in_queued(), [waiting, unplaced])
        self.assertEqual(waiting.state, TaskInstanceState.SCHEDULED)
        s.schedule()
        s.loop_once()
        again = self.row(mx.queue_key(waiting.key) + "#2")
        self.assertEqual(again["state"], "pending")
        self.assertNotEqual(json.loads(again["argv"][4])["token"], first_token)
        self.assertEqual(s.killed_externally, [])

    def test_an_adopted_pending_row_keeps_its_deadline_from_when_it_was_queued(self):
        old = self.new_scheduler(job_id=1)
        old.start()
        t = ti("t")
        old.enqueue(t)
        old.loop_once()
        self.sql("UPDATE mesoflow.tasks SET created_at = now() - interval '1000 seconds'")
        new = self.new_scheduler(job_id=2)
        self.assertEqual(new.start(orphaned=[ti("t")]), [])
        self.assertEqual(new.loop_once(), {})
        self.assertEqual(self.row(mx.queue_key(t.key))["state"], "killed")
        self.assertEqual(new.executor.running, set())


class TaskColumnsTest(unittest.TestCase):
    """The executor_config and [mesoflow] mapping, as pure functions."""

    def test_volumes_network_and_docker_parameters_map_onto_the_rows_columns(self):
        columns = mx.task_columns({"mesos": {
            "image": "apache/airflow:3.1.0",
            "volumes": [{"host_path": "/srv/dags", "container_path": "/opt/airflow/dags", "mode": "ro"},
                        "/srv/logs:/opt/airflow/logs"],
            "network": "user", "network_name": "airflow",
            "docker_parameters": {"shm-size": "1g", "init": True},
        }}, {})
        self.assertEqual(columns["volumes"], [
            {"host_path": "/srv/dags", "container_path": "/opt/airflow/dags", "mode": "RO"},
            {"host_path": "/srv/logs", "container_path": "/opt/airflow/logs", "mode": "RW"}])
        self.assertEqual((columns["network"], columns["network_name"]), ("user", "airflow"))
        self.assertEqual(columns["docker_parameters"], [{"key": "shm-size", "value": "1g"},
                                                        {"key": "init", "value": "true"}])
        self.assertEqual(mx.insert_columns({**columns, "key": "k"})[-4:],
                         ("volumes", "network", "network_name", "docker_parameters"))

    def test_rows_without_the_docker_options_leave_their_columns_out_of_the_insert(self):
        columns = mx.task_columns({"mesos": {"cpus": 1, "volumes": []}}, {})
        self.assertEqual(mx.insert_columns(columns), mx.INSERT_COLUMNS)
        self.assertFalse(set(mx.OPTIONAL_COLUMNS) & set(mx.INSERT_COLUMNS))

    def test_airflow_cfg_defaults_apply_and_a_task_overrides_them(self):
        from airflow.configuration import conf

        with conf_vars({("mesoflow", "volumes"): '[{"host_path": "/srv/dags", "container_path": "/dags"}]',
                        ("mesoflow", "network"): "bridge",
                        ("mesoflow", "docker_parameters"): '[{"key": "shm-size", "value": "1g"}]',
                        ("mesoflow", "database"): "dbname=x"}):
            settings = mx.load_settings(conf, environ={})
        defaults = settings.defaults
        # A dict without a mode is read-only, as in the queue table.
        self.assertEqual(defaults["volumes"], [{"host_path": "/srv/dags", "container_path": "/dags", "mode": "RO"}])
        self.assertEqual(mx.task_columns(None, defaults)["network"], "bridge")
        task = mx.task_columns({"mesos": {"network": "host", "volumes": []}}, defaults)
        self.assertEqual((task["network"], "volumes" in task), ("host", False))
        self.assertEqual(task["docker_parameters"], [{"key": "shm-size", "value": "1g"}])
        with conf_vars({("mesoflow", "volumes"): "/srv/dags:/dags", ("mesoflow", "database"): "dbname=x"}):
            with self.assertRaisesRegex(mx.ConfigError, r"\[mesoflow\] volumes is not valid JSON"):
                mx.load_settings(conf, environ={})
        with conf_vars({("mesoflow", "network"): "user", ("mesoflow", "database"): "dbname=x"}):
            with self.assertRaisesRegex(mx.ConfigError, "network = user needs"):
                mx.load_settings(conf, environ={})

    def test_avmesos_keys_are_accepted_and_mapped(self):
        columns = mx.task_columns({"cpus": 2, "mem_limit": "2g", "disk": 512, "image": "img:1",
                                   "container_type": "MESOS", "attributes": {"rack": "r1"},
                                   "KubernetesExecutor": {"ignored": True}}, {"mem": 256.0})
        self.assertEqual({k: columns[k] for k in ("cpus", "mem", "disk", "image", "containerizer", "constraints")},
                         {"cpus": 2.0, "mem": 2048.0, "disk": 512.0, "image": "img:1", "containerizer": "mesos",
                          "constraints": [["rack", "EQUALS", "r1"]]})
        self.assertEqual(mx.task_columns({"mesos": {"mem_limit": "512m"}}, {})["mem"], 512.0)
        self.assertEqual(mx.task_columns({"mem_limit": "1.5G"}, {})["mem"], 1536.0)
        self.assertEqual(mx.task_columns({"mem_limit": 300}, {})["mem"], 300.0)
        # mesoflow's own key beats avmesos' at the top level.
        self.assertEqual(mx.task_columns({"cpus": 2, "mesos": {"cpus": 3}}, {})["cpus"], 3.0)

    BAD = [
        ({"mesos": {"volumes": [{"host_path": "dags", "container_path": "/d"}]}}, "must be an absolute path"),
        ({"mesos": {"volumes": [{"host_path": "/d", "container_path": "/d", "mode": "rx"}]}}, "must be RW or RO"),
        ({"mesos": {"volumes": ["/d"]}}, "must be 'host_path:container_path[:ro|rw]'"),
        ({"mesos": {"volumes": [{"host": "/d"}]}}, "unknown keys ['host']"),
        ({"mesos": {"network": "overlay"}}, "must be one of host, bridge, none, user"),
        ({"mesos": {"network": "user"}}, '"user" needs a "network_name"'),
        ({"mesos": {"network_name": "x"}}, 'needs "network": "user"'),
        ({"mesos": {"docker_parameters": [{"key": "x"}]}}, "must be {'key': ..., 'value': ...}"),
        ({"mem_limit": "lots"}, 'executor_config["mem_limit"] must be a size like'),
        ({"mem_limit": "-1g"}, "must be a size like"),
        ({"container_type": "rkt", "image": "x"}, 'executor_config["container_type"] must be'),
        ({"attributes": {"rack": None}}, "the value must be a string or a number"),
    ]

    def test_bad_values_name_the_key(self):
        for config, reason in self.BAD:
            with self.subTest(config=config):
                with self.assertRaises(mx.BadExecutorConfig) as raised:
                    mx.task_columns(config, {})
                self.assertIn(reason, str(raised.exception))


class TokenSettingsTest(unittest.TestCase):
    def test_the_tokens_validity_comes_from_the_mesoflow_section_then_airflows_jwt_setting(self):
        from airflow.configuration import conf

        with conf_vars({("mesoflow", "database"): "dbname=x"}):
            self.assertEqual(mx.load_settings(conf, environ={}).token_valid_for_s, 600)
            with conf_vars({("execution_api", "jwt_expiration_time"): "900"}):
                self.assertEqual(mx.load_settings(conf, environ={}).withdraw_after_s, 840)
                with conf_vars({("mesoflow", "workload_token_valid_for"): "1800",
                                ("mesoflow", "workload_token_start_margin"): "120"}):
                    self.assertEqual(mx.load_settings(conf, environ={}).withdraw_after_s, 1680)
            with conf_vars({("mesoflow", "workload_token_valid_for"): "60",
                            ("mesoflow", "workload_token_start_margin"): "60"}):
                with self.assertRaisesRegex(mx.ConfigError, "must be less than the token's validity"):
                    mx.load_settings(conf, environ={})


class FakeAgent:
    """A Mesos agent's /state and /files/read, for get_task_log()."""

    def __init__(self, sandbox, task_id):

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlsplit

                url = urlsplit(self.path)
                if url.path == "/state":
                    body = {"frameworks": [], "completed_frameworks": [{"completed_executors": [
                        {"id": task_id, "directory": sandbox, "completed_tasks": [{"id": task_id}]}]}]}
                else:
                    q = parse_qs(url.query)
                    with open(q["path"][0], "rb") as f:
                        data = f.read()
                    offset = int(q["offset"][0])
                    if offset == -1:
                        body = {"data": "", "offset": len(data)}
                    else:
                        length = int(q.get("length", [len(data)])[0])
                        body = {"data": data[offset:offset + length].decode(), "offset": offset}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TaskLogTest(QueueTestCase):
    def test_get_task_log_reads_stdout_and_stderr_from_the_agents_sandbox(self):
        sandbox = tempfile.mkdtemp(prefix="mesoflow-sandbox-")
        self.addCleanup(subprocess.run, ["rm", "-rf", sandbox])
        with open(os.path.join(sandbox, "stdout"), "w") as f:
            f.write("hello from the task\n")
        with open(os.path.join(sandbox, "stderr"), "w") as f:
            f.write("a warning\n")
        s = self.new_scheduler()
        s.start()
        t = ti("load")
        s.enqueue(t)
        s.loop_once()
        key = mx.queue_key(t.key)
        messages, logs = s.executor.get_task_log(t, 1)
        self.assertEqual(logs, [])
        self.assertIn("has not reached a Mesos agent", messages[0])
        self.mesoflow_sets(key, "running")
        row_id = self.row(key, "id")["id"]
        agent = FakeAgent(sandbox, f"mf-{row_id}-1")
        self.addCleanup(agent.stop)
        self.sql("UPDATE mesoflow.tasks SET hostname = '127.0.0.1', agent_id = 'agent-1'")
        s.executor.settings.agent_port = agent.port
        messages, logs = s.executor.get_task_log(t, 1)
        self.assertIn(f"ran as Mesos task mf-{row_id}-1 on 127.0.0.1 (agent agent-1)", messages[0])
        self.assertIn(f"http://127.0.0.1:{agent.port}/files/browse?path=", messages[1])
        self.assertEqual(logs, ["*** stdout ***\nhello from the task\n", "*** stderr ***\na warning\n"])
        agent.stop()
        messages, logs = s.executor.get_task_log(t, 1)  # the agent is gone: a message, no exception
        self.assertIn("did not answer", messages[1])


class ProviderInfoTest(unittest.TestCase):
    def test_provider_info_names_the_executor_and_describes_the_config_section(self):
        info = mx.get_provider_info()
        self.assertEqual(info["package-name"], "airflow-provider-mesoflow")
        self.assertEqual(info["executors"], ["mesoflow_executor.MesoflowExecutor"])
        options = info["config"]["mesoflow"]["options"]
        for key in ("database", "execution_api_server_url", "workload_token_valid_for", "volumes", "network",
                    "docker_parameters", "task_cpus", "agent_port"):
            self.assertIn(key, options)
            self.assertTrue(options[key]["description"])
        # Every key the executor reads from [mesoflow] is described.
        read = {k for _, k, _, _ in mx._DEFAULT_KEYS} | {"database", "database_file", "execution_api_server_url",
                                                         "workload_token_valid_for", "workload_token_start_margin",
                                                         "task_python", "agent_port"}
        self.assertEqual(read, set(options))


if __name__ == "__main__":
    unittest.main(verbosity=2)
