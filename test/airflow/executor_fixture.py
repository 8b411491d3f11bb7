"""What the Airflow executor's tests share: paths, the stand-in Airflow on sys.path, one
PostgreSQL server per test process, queue databases migrated by `mesoflow migrate`, the
executor's database role with the grants README "Airflow" documents, and conf_vars().

The mesoflow binary comes from $MESOFLOW_BIN (CMake passes $<TARGET_FILE:mesoflow>).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXECUTOR_DIR = os.path.join(REPO, "deploy", "airflow")
# Which Airflow the tests run under: "2" (the 2.10/2.11 stand-in) or "3" (the 3.x one);
# CMake registers each test module once per version.
AIRFLOW_VERSION = os.environ.get("MESOFLOW_TEST_AIRFLOW", "2")
if AIRFLOW_VERSION not in ("2", "3"):
    raise RuntimeError(f"MESOFLOW_TEST_AIRFLOW={AIRFLOW_VERSION!r}: use 2 or 3")
STAND_IN_DIR = os.path.join(HERE, "stand_in", f"airflow{AIRFLOW_VERSION}")

# The tests set what they need; nothing comes from the caller's environment or files.
for name in [n for n in os.environ if n.startswith(("AIRFLOW__", "MESOFLOW_DATABASE"))]:
    del os.environ[name]
os.environ["AIRFLOW_CONFIG"] = os.path.join(tempfile.gettempdir(), "mesoflow-airflow-tests-no-such.cfg")

# Airflow's stand-in first: the executor module must find it as `airflow`.
for path in (EXECUTOR_DIR, STAND_IN_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)

from temp_postgres import TempPostgres  # noqa: E402

MIGRATE_TIMEOUT_S = 60
EXECUTOR_ROLE = "airflow_executor"
# The grants README "Airflow" documents for the executor's role; every test connects
# the executor as this role, so they are checked to be enough.
EXECUTOR_GRANTS = (
    f"GRANT USAGE ON SCHEMA mesoflow TO {EXECUTOR_ROLE}",
    f"GRANT SELECT ON mesoflow.tasks TO {EXECUTOR_ROLE}",
    "GRANT INSERT (key, command, argv, image, containerizer, force_pull, volumes, network, network_name, "
    "docker_parameters, cpus, mem, disk, gpus, ports, env, "
    "uris, run_as_user, labels, role, constraints, priority, max_attempts, retry_backoff_s, retry_on_failure, "
    f"timeout_s, kill_requested, not_before, queue) ON mesoflow.tasks TO {EXECUTOR_ROLE}",
    f"GRANT UPDATE (kill_requested) ON mesoflow.tasks TO {EXECUTOR_ROLE}",
    f"GRANT USAGE ON SEQUENCE mesoflow.tasks_id_seq TO {EXECUTOR_ROLE}",
    f"GRANT INSERT ON mesoflow.task_history TO {EXECUTOR_ROLE}",
    f"GRANT USAGE ON SEQUENCE mesoflow.task_history_id_seq TO {EXECUTOR_ROLE}",
)

_postgres = None
_queue_database = None


def mesoflow_binary() -> str:
    path = os.environ.get("MESOFLOW_BIN", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("set MESOFLOW_BIN to the mesoflow binary (ctest does: $<TARGET_FILE:mesoflow>)")
    return path


def hermetic_env(**extra) -> dict:
    """The environment for mesoflow commands: no config file but the given one, no
    MESOFLOW_* or AIRFLOW__* variables from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESOFLOW_", "AIRFLOW__", "PG"))}
    env.update(extra)
    return env


def postgres() -> TempPostgres:
    global _postgres
    if _postgres is None:
        _postgres = TempPostgres()
        _postgres.execute("postgres", f"CREATE ROLE {EXECUTOR_ROLE} LOGIN")
    return _postgres


def migrate(dsn: str):
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as empty_config:
        done = subprocess.run(
            [mesoflow_binary(), "migrate", "--database", dsn],
            env=hermetic_env(MESOFLOW_CONFIG=empty_config.name),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=MIGRATE_TIMEOUT_S, check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"mesoflow migrate failed ({done.returncode}):\n{done.stdout.decode(errors='replace')}")


def queue_database():
    """The queue database, migrated by `mesoflow migrate` once per test process, with the
    executor role's grants, emptied for each caller. Returns (name, the executor role's
    DSN)."""
    global _queue_database
    pg = postgres()
    if _queue_database is None:
        name = pg.create_database()
        migrate(pg.dsn(name))
        for grant in EXECUTOR_GRANTS:
            pg.execute(name, grant)
        pg.execute(name, "CREATE EXTENSION pg_stat_statements")
        _queue_database = name
    else:
        pg.kill_connections(_queue_database)
        pg.execute(_queue_database, "TRUNCATE mesoflow.tasks, mesoflow.task_events RESTART IDENTITY")
    return _queue_database, pg.dsn(_queue_database, user=EXECUTOR_ROLE)


def empty_database():
    """A new database without mesoflow's schema. Returns (name, the executor role's DSN)."""
    pg = postgres()
    name = pg.create_database()
    return name, pg.dsn(name, user=EXECUTOR_ROLE)


@contextlib.contextmanager
def conf_vars(overrides: dict):
    """Sets (section, key) -> value in Airflow's conf for the block, as Airflow's own
    tests do; None removes the key."""
    from airflow.configuration import conf

    saved = {}
    for (section, key), value in overrides.items():
        saved[(section, key)] = conf.get(section, key, fallback=None)
        if value is None:
            conf.remove_option(section, key)
        else:
            conf.set(section, key, value)
    try:
        yield
    finally:
        for (section, key), value in saved.items():
            if value is None:
                conf.remove_option(section, key)
            else:
                conf.set(section, key, value)
