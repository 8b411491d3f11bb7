"""mesoflow's executor for Apache Airflow 2: task instances go to mesoflow's queue table.

Airflow switches to it with `executor = mesoflow_executor.MesoflowExecutor` in the
[core] section (this file on the scheduler's PYTHONPATH); README "Airflow" is the guide.

Contract:
- execute_async() checks a task instance's executor_config and queues one row in
  mesoflow.tasks; the rows of one heartbeat are written by one INSERT in sync().
  The row's key is queue_key(ti_key): stable, unique per try (format: see queue_key).
- sync() reads, in one statement, which of the rows it owns reached a final state and
  reports them: finished -> success, failed / killed / lost / error -> failed. A row that
  disappeared is reported failed too.
- terminate() sets kill_requested on every row it owns; end() waits until mesoflow
  has finished them all, then closes the connection.
- try_adopt_task_instances() adopts task instances whose row is still pending or
  running in mesoflow and returns the others.
- A bad executor_config fails that task instance (reported in the next sync, with the
  reason) instead of raising into the scheduler loop. A lost database connection is
  logged and retried at the next heartbeat: nothing queued is dropped. A bad setting,
  a database without mesoflow's schema or a role without the grants it needs raise
  ConfigError at start(), naming what to do.

Only psycopg2 and the standard library. Without Airflow the module still imports and
uses a minimal stand-in base class, so that it can be tested and used on its own.
"""

from __future__ import annotations

import configparser
import difflib
import logging
import math
import os
import sys
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import psycopg2
import psycopg2.extensions
import psycopg2.extras

try:
    from airflow.configuration import conf as _airflow_conf
    from airflow.executors import base_executor as _airflow_base_executor

    AIRFLOW_AVAILABLE = True
except ImportError:
    _airflow_conf = None
    _airflow_base_executor = None
    AIRFLOW_AVAILABLE = False

# States the table defines (schemas/0001_initial.sql, state_must_be_known).
ACTIVE_STATES = ("pending", "launching", "staging", "starting", "running", "killing")
FAILED_STATES = ("failed", "killed", "lost", "error")
FINAL_STATES = ("finished",) + FAILED_STATES

# Key prefix: rows this executor queued are the ones whose key starts with it.
KEY_PREFIX = "airflow"
# Airflow before 2.10 queues a try again with the same try number when it never started
# (lost before its first line ran, or killed as stuck in queued); each such queueing gets
# a row of its own, "<key>#2", "#3", ... Every one costs an Airflow retry, so this bound
# is never reached by a sane DAG; beyond it the task instance is failed.
MAX_QUEUEINGS_PER_TRY = 20
# Rounds of INSERT within one sync() while rows meet keys that exist already (each
# round moves such rows to the key of their next queueing).
CONFLICT_ROUNDS = 3
# Rows per INSERT statement when a heartbeat queued more.
INSERT_BATCH_ROWS = 500
# Seconds between two looks at the queue while end() waits for running tasks.
END_POLL_INTERVAL_S = 1.0
# Seconds to wait for the database when connecting (unless the DSN says otherwise).
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "mesoflow airflow executor"
# The table's integer columns are int4.
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1

CONSTRAINT_OPS = ("EQUALS", "NOT_EQUALS", "LIKE", "UNLIKE", "EXISTS")
CONTAINERIZERS = ("docker", "mesos")

# psycopg2 errors that mean "the connection is unusable": retried at the next heartbeat.
CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class ConfigError(Exception):
    """The executor's configuration (airflow.cfg, environment) cannot be used."""


class BadExecutorConfig(ValueError):
    """A task instance's executor_config asks for something the queue cannot take."""


# ---------------------------------------------------------------------------------------
# The queue key
# ---------------------------------------------------------------------------------------

# Characters kept as they are in key parts; everything else (notably "/", "#" and "%")
# is percent-encoded, so that the key splits back into its parts.
_KEY_SAFE = ":+@=,"


def _key_part(value: Any) -> str:
    return urllib.parse.quote(str(value), safe=_KEY_SAFE)


def queue_key(ti_key: Any) -> str:
    """The queue row key of a TaskInstanceKey.

    airflow/<dag_id>/<task_id>/<run_id>/<try_number>/<map_index>, each part
    percent-encoded except letters, digits and _ . - ~ : + @ = , e.g.
    airflow/etl/load/scheduled__2024-06-01T00:00:00+00:00/1/-1. Airflow 2.0 and 2.1 keys
    have an execution_date instead of a run_id: its ISO form stands in.
    """
    run_id = getattr(ti_key, "run_id", None)
    if run_id is None:
        execution_date = getattr(ti_key, "execution_date")
        run_id = execution_date.isoformat() if hasattr(execution_date, "isoformat") else execution_date
    map_index = getattr(ti_key, "map_index", -1)
    parts = (ti_key.dag_id, ti_key.task_id, run_id, ti_key.try_number, map_index)
    return "/".join([KEY_PREFIX] + [_key_part(p) for p in parts])


def requeued_key(base: str, queueing: int) -> str:
    """The key of the n-th queueing of one try: the base key, then base#2, base#3, ..."""
    return base if queueing == 1 else f"{base}#{queueing}"


def _queueing_keys(base: str) -> List[str]:
    return [requeued_key(base, n) for n in range(1, MAX_QUEUEINGS_PER_TRY + 1)]


def _queueing_of(base: str, key: str) -> int:
    return 1 if key == base else int(key[len(base) + 1 :])


# ---------------------------------------------------------------------------------------
# Settings: airflow.cfg through Airflow's conf, and the environment
# ---------------------------------------------------------------------------------------


class _StandaloneConf:
    """Reads airflow.cfg as Airflow would when Airflow itself is not installed:
    AIRFLOW__<SECTION>__<KEY> first, then $AIRFLOW_CONFIG (else $AIRFLOW_HOME/airflow.cfg,
    else ~/airflow/airflow.cfg)."""

    def __init__(self, environ=os.environ):
        self._environ = environ
        self._parser = configparser.ConfigParser(strict=False)
        path = environ.get("AIRFLOW_CONFIG")
        if not path:
            home = environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
            path = os.path.join(home, "airflow.cfg")
        self._parser.read(path)

    def get(self, section: str, key: str, fallback: Any = None) -> Any:
        env = f"AIRFLOW__{section.upper()}__{key.upper()}"
        if env in self._environ:
            return self._environ[env]
        return self._parser.get(section, key, fallback=fallback)


def _default_conf():
    return _airflow_conf if _airflow_conf is not None else _StandaloneConf()


class Settings:
    """What the executor reads once, at start(): the database and the task defaults."""

    def __init__(self, database: str, defaults: Dict[str, Any], sources: Dict[str, str]):
        self.database = database
        self.defaults = defaults  # column -> value, for task instances that name none
        self.sources = sources  # column -> where its default came from, for messages


def _read_secret_file(path: str, where: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\n")
    except OSError as e:
        raise ConfigError(f"{where}: cannot read {path}: {e.strerror}") from None


def _database_setting(conf, environ) -> str:
    # The order mesoflow itself uses: its own variable, then airflow.cfg's [mesoflow]
    # (Airflow's conf already lets AIRFLOW__MESOFLOW__DATABASE override the file).
    if environ.get("MESOFLOW_DATABASE"):
        return environ["MESOFLOW_DATABASE"]
    if environ.get("MESOFLOW_DATABASE_FILE"):
        return _read_secret_file(environ["MESOFLOW_DATABASE_FILE"], "MESOFLOW_DATABASE_FILE")
    value = conf.get("mesoflow", "database", fallback=None)
    if value and str(value).strip():
        return str(value).strip()
    path = conf.get("mesoflow", "database_file", fallback=None)
    if path and str(path).strip():
        return _read_secret_file(str(path).strip(), "[mesoflow] database_file")
    raise ConfigError(
        "mesoflow executor: no database; set [mesoflow] database in airflow.cfg (a libpq "
        "connection string or postgresql:// URI), AIRFLOW__MESOFLOW__DATABASE or "
        "MESOFLOW_DATABASE"
    )


def _parse_number(text: str, where: str, minimum: float, inclusive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where} = {text!r} is not a number") from None
    if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        bound = f"at least {minimum:g}" if inclusive else f"more than {minimum:g}"
        raise ConfigError(f"{where} = {text!r} must be {bound}")
    return value


def _positive(text, where):
    return _parse_number(text, where, 0.0, inclusive=False)


def _non_negative(text, where):
    return _parse_number(text, where, 0.0, inclusive=True)


def _image(text, where):
    return text


def _containerizer(text, where):
    if text not in CONTAINERIZERS:
        raise ConfigError(f"{where} = {text!r} must be docker or mesos")
    return text


# Task defaults: (column, [mesoflow] key, [mesos] key, parser). The [mesoflow] key, in
# mesoflow's own names, beats the [mesos] key the old MesosExecutor read.
_DEFAULT_KEYS: Tuple[Tuple[str, str, Optional[str], Callable[[str, str], Any]], ...] = (
    ("cpus", "task_cpus", "task_cpu", _positive),
    ("mem", "task_mem", "task_memory", _positive),
    ("disk", "task_disk", "task_disk", _non_negative),
    ("image", "docker_image", "docker_image_slave", _image),
    ("containerizer", "containerizer", None, _containerizer),
)


def load_settings(conf=None, environ=None) -> Settings:
    """Reads the settings; raises ConfigError naming the key for a missing or bad one."""
    conf = conf if conf is not None else _default_conf()
    environ = environ if environ is not None else os.environ
    defaults: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    for column, mesoflow_key, mesos_key, parse in _DEFAULT_KEYS:
        for section, key in (("mesoflow", mesoflow_key), ("mesos", mesos_key)):
            if key is None:
                continue
            value = conf.get(section, key, fallback=None)
            if value is None or not str(value).strip():
                continue
            where = f"[{section}] {key}"
            defaults[column] = parse(str(value).strip(), where)
            sources[column] = where
            break
    return Settings(_database_setting(conf, environ), defaults, sources)


# ---------------------------------------------------------------------------------------
# executor_config={"mesos": {...}} -> queue row columns
# ---------------------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(minimum: float, inclusive: bool):
    def check(v):
        if not _is_number(v) or not math.isfinite(v):
            raise BadExecutorConfig(f"must be a number, got {v!r}")
        if v < minimum or (v == minimum and not inclusive):
            raise BadExecutorConfig(f"must be {'at least' if inclusive else 'more than'} {minimum:g}, got {v!r}")
        return float(v)

    return check


def _integer(minimum: int):
    def check(v):
        if not isinstance(v, int) or isinstance(v, bool):
            raise BadExecutorConfig(f"must be an integer, got {v!r}")
        if v < minimum or v > INT4_MAX:
            raise BadExecutorConfig(f"must be between {minimum} and {INT4_MAX}, got {v!r}")
        return v

    return check


def _text(v):
    if not isinstance(v, str) or not v.strip():
        raise BadExecutorConfig(f"must be a non-empty string, got {v!r}")
    if "\x00" in v:
        raise BadExecutorConfig("must not contain NUL characters")
    return v


def _boolean(v):
    if not isinstance(v, bool):
        raise BadExecutorConfig(f"must be true or false, got {v!r}")
    return v


def _containerizer_value(v):
    if v not in CONTAINERIZERS:
        raise BadExecutorConfig(f"must be 'docker' or 'mesos', got {v!r}")
    return v


def _string_map(what: str, scalars_allowed: bool):
    def check(v):
        if not isinstance(v, dict):
            raise BadExecutorConfig(f"must be a dict of {what}, got {type(v).__name__}")
        out = {}
        for name, value in v.items():
            if not isinstance(name, str) or not name or "\x00" in name:
                raise BadExecutorConfig(f"has a bad name {name!r}: names are non-empty strings")
            ok = isinstance(value, str) or (scalars_allowed and isinstance(value, (int, float, bool)))
            if not ok:
                kinds = "strings, numbers or booleans" if scalars_allowed else "strings"
                raise BadExecutorConfig(f"[{name!r}] must be one of {kinds}, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise BadExecutorConfig(f"[{name!r}] must be finite, got {value!r}")
            if isinstance(value, str) and "\x00" in value:
                raise BadExecutorConfig(f"[{name!r}] must not contain NUL characters")
            out[name] = value
        return out

    return check


def _string_list(v):
    if not isinstance(v, (list, tuple)):
        raise BadExecutorConfig(f"must be a list of strings, got {type(v).__name__}")
    for i, item in enumerate(v):
        if not isinstance(item, str) or not item or "\x00" in item:
            raise BadExecutorConfig(f"[{i}] must be a non-empty string, got {item!r}")
    return list(v)


def _constraints(v):
    if not isinstance(v, (list, tuple)):
        raise BadExecutorConfig(f"must be a list of [attribute, op, value], got {type(v).__name__}")
    out = []
    for i, c in enumerate(v):
        if not isinstance(c, (list, tuple)) or len(c) not in (2, 3):
            raise BadExecutorConfig(f"[{i}] must be [attribute, op, value] or [attribute, 'EXISTS'], got {c!r}")
        attribute, op = c[0], c[1]
        if not isinstance(attribute, str) or not attribute:
            raise BadExecutorConfig(f"[{i}]: the attribute must be a non-empty string, got {attribute!r}")
        if op not in CONSTRAINT_OPS:
            raise BadExecutorConfig(f"[{i}]: unknown op {op!r} (ops: {', '.join(CONSTRAINT_OPS)})")
        if op == "EXISTS":
            if len(c) == 3:
                raise BadExecutorConfig(f"[{i}]: EXISTS takes no value, got {c!r}")
        elif len(c) != 3:
            raise BadExecutorConfig(f"[{i}]: {op} needs a value, got {c!r}")
        elif not (isinstance(c[2], str) or (_is_number(c[2]) and math.isfinite(c[2]))):
            raise BadExecutorConfig(f"[{i}]: the value must be a string or a number, got {c[2]!r}")
        out.append(list(c))
    return out


# executor_config["mesos"] key -> (queue column, check). README "Airflow" lists them.
MESOS_CONFIG_KEYS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "cpus": ("cpus", _number(0, inclusive=False)),
    "mem": ("mem", _number(0, inclusive=False)),
    "disk": ("disk", _number(0, inclusive=True)),
    "gpus": ("gpus", _number(0, inclusive=True)),
    "ports": ("ports", _integer(0)),
    "image": ("image", _text),
    "containerizer": ("containerizer", _containerizer_value),
    "force_pull": ("force_pull", _boolean),
    "constraints": ("constraints", _constraints),
    "attempts": ("max_attempts", _integer(1)),
    "retry_on_failure": ("retry_on_failure", _boolean),
    "retry_backoff": ("retry_backoff_s", _number(0, inclusive=True)),
    "priority": ("priority", _integer(INT4_MIN)),
    "timeout": ("timeout_s", _number(0, inclusive=False)),
    "env": ("env", _string_map("environment variables", scalars_allowed=True)),
    "uris": ("uris", _string_list),
    "user": ("run_as_user", _text),
    "role": ("role", _text),
    "labels": ("labels", _string_map("labels", scalars_allowed=False)),
}


def task_columns(executor_config: Any, defaults: Dict[str, Any]) -> Dict[str, Any]:
    """The queue columns a task instance asks for: executor_config["mesos"] over the
    configured defaults. Other top-level keys of executor_config belong to other
    executors and are ignored. Raises BadExecutorConfig naming the key."""
    if executor_config is None:
        executor_config = {}
    if not isinstance(executor_config, dict):
        raise BadExecutorConfig(
            f'executor_config must be a dict like {{"mesos": {{"cpus": 2}}}}, got {type(executor_config).__name__}'
        )
    mesos = executor_config.get("mesos", {})
    if mesos is None:
        mesos = {}
    if not isinstance(mesos, dict):
        raise BadExecutorConfig(f'executor_config["mesos"] must be a dict, got {type(mesos).__name__}')
    columns = dict(defaults)
    for name, value in mesos.items():
        if name == "image" and value is None:
            # No image for this task, whatever the default: it runs on the agent's host.
            columns.pop("image", None)
            continue
        if name not in MESOS_CONFIG_KEYS:
            close = difflib.get_close_matches(str(name), MESOS_CONFIG_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BadExecutorConfig(
                f'executor_config["mesos"]: unknown key {name!r}{hint} (known: {", ".join(MESOS_CONFIG_KEYS)})'
            )
        column, check = MESOS_CONFIG_KEYS[name]
        try:
            columns[column] = check(value)
        except BadExecutorConfig as e:
            raise BadExecutorConfig(f'executor_config["mesos"]["{name}"] {e}') from None
    # A default containerizer only applies to tasks that run an image; the table refuses
    # a containerizer without one (containerizer_needs_an_image).
    if "containerizer" in columns and "image" not in columns:
        if "containerizer" in mesos:
            raise BadExecutorConfig('executor_config["mesos"]["containerizer"] needs an "image"')
        del columns["containerizer"]
    return columns


def _argv(command: Any) -> List[str]:
    if isinstance(command, (list, tuple)) and command and all(isinstance(a, str) for a in command):
        if any("\x00" in a for a in command):
            raise BadExecutorConfig("the command contains a NUL character")
        return list(command)
    raise BadExecutorConfig(f"the command must be a non-empty list of strings, got {command!r}")


def _labels_of(ti_key: Any) -> Dict[str, str]:
    labels = {"airflow.dag_id": str(ti_key.dag_id), "airflow.task_id": str(ti_key.task_id)}
    run_id = getattr(ti_key, "run_id", None)
    if run_id is not None:
        labels["airflow.run_id"] = str(run_id)
    labels["airflow.try_number"] = str(ti_key.try_number)
    map_index = getattr(ti_key, "map_index", -1)
    if map_index is not None and map_index >= 0:
        labels["airflow.map_index"] = str(map_index)
    return labels


# Every column the executor may write, in INSERT order; what a row leaves out is DEFAULT.
INSERT_COLUMNS = (
    "key", "argv", "image", "containerizer", "force_pull", "cpus", "mem", "disk", "gpus",
    "ports", "env", "uris", "run_as_user", "labels", "role", "constraints", "priority",
    "max_attempts", "retry_backoff_s", "retry_on_failure", "timeout_s",
)
_JSON_COLUMNS = ("env", "labels", "constraints")
_DEFAULT = psycopg2.extensions.AsIs("DEFAULT")


def _insert_values(row: Dict[str, Any]) -> Tuple[Any, ...]:
    values = []
    for column in INSERT_COLUMNS:
        if column not in row:
            values.append(_DEFAULT)
        elif column in _JSON_COLUMNS:
            values.append(psycopg2.extras.Json(row[column]))
        else:
            values.append(row[column])
    return tuple(values)


_INSERT_SQL = (
    f"INSERT INTO mesoflow.tasks ({', '.join(INSERT_COLUMNS)}) VALUES %s "
    "ON CONFLICT (key) DO NOTHING RETURNING key"
)
# Rows that reached a final state, and rows that are gone, among the given keys.
_FINAL_ROWS_SQL = (
    "SELECT k.key, t.id, t.state, t.exit_status, t.reason, t.message "
    "FROM unnest(%s::text[]) AS k(key) LEFT JOIN mesoflow.tasks t ON t.key = k.key "
    f"WHERE t.id IS NULL OR t.state IN ({', '.join(repr(s) for s in FINAL_STATES)})"
)
# What start() checks, in one statement: the schema is there and usable, its queue table
# is there, and the role may read, insert and ask for kills (a kill request also writes
# mesoflow.task_history, through a trigger). README "Airflow" lists the same grants.
_QUEUE_GRANTS = (
    ("SELECT on mesoflow.tasks", "has_table_privilege('mesoflow.tasks', 'SELECT')"),
    # Column by column: producers are granted INSERT on their own columns only.
    (
        "INSERT on mesoflow.tasks (the columns a producer writes)",
        "(" + " AND ".join(f"has_column_privilege('mesoflow.tasks', '{c}', 'INSERT')" for c in INSERT_COLUMNS) + ")",
    ),
    ("UPDATE (kill_requested) on mesoflow.tasks", "has_column_privilege('mesoflow.tasks', 'kill_requested', 'UPDATE')"),
    ("USAGE on sequence mesoflow.tasks_id_seq", "has_sequence_privilege('mesoflow.tasks_id_seq', 'USAGE')"),
    ("INSERT on mesoflow.task_history", "has_table_privilege('mesoflow.task_history', 'INSERT')"),
    ("USAGE on sequence mesoflow.task_history_id_seq",
     "has_sequence_privilege('mesoflow.task_history_id_seq', 'USAGE')"),
)
# CASE, not AND: the privilege functions raise for a relation that does not exist.
_QUEUE_ACCESS_SQL = (
    "SELECT s.usage, CASE WHEN s.usage THEN to_regclass('mesoflow.tasks') IS NOT NULL END"
    + "".join(
        f", CASE WHEN s.usage AND to_regclass('mesoflow.tasks') IS NOT NULL THEN {check} END"
        for _, check in _QUEUE_GRANTS
    )
    + " FROM (SELECT has_schema_privilege(oid, 'USAGE') AS usage FROM pg_namespace WHERE nspname = 'mesoflow') s"
)
_LATEST_ROWS_SQL = "SELECT key, state FROM mesoflow.tasks WHERE key = ANY(%s::text[])"
_KILL_SQL = (
    "UPDATE mesoflow.tasks SET kill_requested = true "
    "WHERE key = ANY(%s::text[]) AND NOT kill_requested "
    f"AND state IN ({', '.join(repr(s) for s in ACTIVE_STATES)})"
)


# ---------------------------------------------------------------------------------------
# The base class without Airflow
# ---------------------------------------------------------------------------------------


class StandaloneBaseExecutor:
    """The part of Airflow 2's BaseExecutor that this executor relies on, for use
    without Airflow: queued_tasks, running, event_buffer, heartbeat() -> trigger_tasks()
    -> execute_async() then sync(); success() / fail() / change_state()."""

    SUCCESS = "success"
    FAILED = "failed"

    def __init__(self, parallelism: int = 32):
        self.parallelism = parallelism
        self.queued_tasks: Dict[Any, Any] = {}
        self.running: set = set()
        self.event_buffer: Dict[Any, Any] = {}
        self.log = logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")

    def start(self):
        pass

    def queue_command(self, task_instance, command, priority=1, queue=None):
        if task_instance.key not in self.queued_tasks:
            self.queued_tasks[task_instance.key] = (command, priority, queue, task_instance)

    def has_task(self, task_instance) -> bool:
        return task_instance.key in self.queued_tasks or task_instance.key in self.running

    def heartbeat(self):
        open_slots = self.parallelism - len(self.running) if self.parallelism else len(self.queued_tasks)
        self.trigger_tasks(open_slots)
        self.sync()

    def trigger_tasks(self, open_slots: int):
        ordered = sorted(self.queued_tasks.items(), key=lambda kv: kv[1][1], reverse=True)
        for key, (command, _, queue, ti) in ordered[: max(open_slots, 0)]:
            del self.queued_tasks[key]
            self.execute_async(key=key, command=command, queue=queue, executor_config=ti.executor_config)
            self.running.add(key)

    def sync(self):
        pass

    def change_state(self, key, state, info=None):
        self.running.discard(key)
        self.event_buffer[key] = state, info

    def success(self, key, info=None):
        self.change_state(key, self.SUCCESS, info)

    def fail(self, key, info=None):
        self.change_state(key, self.FAILED, info)

    def get_event_buffer(self, dag_ids=None):
        if dag_ids is None:
            events, self.event_buffer = self.event_buffer, {}
            return events
        return {k: self.event_buffer.pop(k) for k in list(self.event_buffer) if k.dag_id in dag_ids}

    @property
    def slots_available(self):
        return self.parallelism - len(self.running) - len(self.queued_tasks) if self.parallelism else sys.maxsize

    def execute_async(self, key, command, queue=None, executor_config=None):
        raise NotImplementedError()

    def end(self):
        raise NotImplementedError()

    def terminate(self):
        raise NotImplementedError()

    def try_adopt_task_instances(self, tis):
        return tis


# Under Airflow, Airflow's own base class; the stand-in only where Airflow is missing.
BaseExecutor = _airflow_base_executor.BaseExecutor if AIRFLOW_AVAILABLE else StandaloneBaseExecutor


# ---------------------------------------------------------------------------------------
# The executor
# ---------------------------------------------------------------------------------------


def _outcome(row_id, state, exit_status, reason, message) -> str:
    text = f"mesoflow task {row_id} {state}"
    if exit_status is not None:
        text += f" (exit status {exit_status})"
    details = "; ".join(str(x) for x in (reason, message) if x)
    return f"{text}: {details}" if details else text


class MesoflowExecutor(BaseExecutor):
    """Runs Airflow task instances on Mesos through mesoflow's queue table."""

    supports_ad_hoc_ti_run = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings: Optional[Settings] = None
        self._conn = None
        self._conn_pid: Optional[int] = None
        self._owned: Dict[str, Any] = {}  # queue key -> TaskInstanceKey, until reported
        self._queue_key_of: Dict[Any, str] = {}  # TaskInstanceKey -> queue key
        self._unsent: Dict[Any, Dict[str, Any]] = {}  # TaskInstanceKey -> row, not inserted yet
        self._rejected: Dict[Any, str] = {}  # TaskInstanceKey -> why, reported in sync()
        self._maybe_inserted: set = set()  # unsent, but their INSERT may have committed
        self._kills: set = set()  # queue keys whose kill request is not written yet

    # -- the database ------------------------------------------------------------------

    def _connection(self):
        # A connection inherited through fork() belongs to the parent: using (or closing)
        # it here would break the parent's, so a forked child opens its own.
        if self._conn is not None and (self._conn.closed or self._conn_pid != os.getpid()):
            self._conn = None
        if self._conn is None:
            assert self.settings is not None, "start() was not called"
            extra = {"application_name": APPLICATION_NAME}
            dsn_keys = psycopg2.extensions.parse_dsn(self.settings.database)
            if "connect_timeout" not in dsn_keys:
                extra["connect_timeout"] = CONNECT_TIMEOUT_S
            if "application_name" in dsn_keys:
                del extra["application_name"]
            conn = psycopg2.connect(self.settings.database, **extra)
            conn.autocommit = True
            self._conn, self._conn_pid = conn, os.getpid()
        return self._conn

    def _drop_connection(self, error: Exception, doing: str):
        self.log.warning(
            "event=mesoflow_database_unavailable doing=%s error=%s (retried at the next heartbeat)",
            doing,
            str(error).strip().replace("\n", " "),
        )
        if self._conn is not None and self._conn_pid == os.getpid():
            try:
                self._conn.close()
            except psycopg2.Error:
                pass
        self._conn = None

    def _close(self):
        if self._conn is not None and self._conn_pid == os.getpid():
            self._conn.close()
        self._conn = None

    # -- Airflow's interface -----------------------------------------------------------

    def start(self):
        """Reads the settings and checks that the database holds mesoflow's queue and
        that the executor's role may use it."""
        self.settings = load_settings()
        try:
            with self._connection().cursor() as cur:
                cur.execute(_QUEUE_ACCESS_SQL)
                access = cur.fetchone()
        except psycopg2.Error as e:
            self._close()
            raise ConfigError(f"mesoflow executor: cannot use the database: {str(e).strip()}") from None
        problem = None
        if access is None or access[0] and not access[1]:
            problem = "the database has no mesoflow.tasks; run `mesoflow migrate --database DSN`"
        elif not access[0]:
            problem = "the database role lacks USAGE on schema mesoflow"
        else:
            missing = [grant for (grant, _), granted in zip(_QUEUE_GRANTS, access[2:]) if not granted]
            if missing:
                problem = f"the database role lacks {', '.join(missing)}"
        if problem is not None:
            self._close()
            raise ConfigError(f'mesoflow executor: {problem} (README "Airflow")')
        self.log.info(
            "event=mesoflow_executor_started defaults=%s",
            ",".join(f"{c}={v}({self.settings.sources[c]})" for c, v in self.settings.defaults.items()) or "table",
        )

    def execute_async(self, key, command, queue=None, executor_config=None):
        """Checks the task instance and keeps its row for the INSERT of the next sync()."""
        if key in self._queue_key_of or key in self._unsent:
            self.log.warning("event=mesoflow_task_already_queued key=%s", queue_key(key))
            return
        try:
            assert self.settings is not None, "start() was not called"
            row = task_columns(executor_config, self.settings.defaults)
            row["argv"] = _argv(command)
        except BadExecutorConfig as e:
            self.log.error("event=mesoflow_task_rejected key=%s reason=%s", queue_key(key), e)
            self._rejected[key] = f"mesoflow executor refused {key}: {e}"
            return
        row["key"] = queue_key(key)
        row["labels"] = {**_labels_of(key), **row.get("labels", {})}
        self._unsent[key] = row

    def sync(self):
        """Inserts the rows queued since the last call, then reports the rows that ended."""
        for ti_key, why in list(self._rejected.items()):
            del self._rejected[ti_key]
            self.fail(ti_key, why)
        if self._kills:
            self._send_kills("sync")
        if self._unsent:
            try:
                self._insert_unsent()
            except CONNECTION_ERRORS as e:
                self._drop_connection(e, "insert")
                return
        if not self._owned:
            return
        try:
            with self._connection().cursor() as cur:
                cur.execute(_FINAL_ROWS_SQL, (list(self._owned),))
                rows = cur.fetchall()
        except CONNECTION_ERRORS as e:
            self._drop_connection(e, "sync")
            return
        for key, row_id, state, exit_status, reason, message in rows:
            ti_key = self._forget(key)
            if row_id is None:
                self.log.error("event=mesoflow_task_gone key=%s", key)
                self.fail(ti_key, f"the mesoflow queue row {key} is gone")
                continue
            info = _outcome(row_id, state, exit_status, reason, message)
            self.log.info("event=mesoflow_task_ended key=%s state=%s", key, state)
            if state == "finished":
                self.success(ti_key, info)
            else:
                self.fail(ti_key, info)

    def end(self):
        """Waits until mesoflow has ended every task this executor queued, then closes."""
        while True:
            self.sync()
            if not (self._owned or self._unsent or self._rejected):
                break
            time.sleep(END_POLL_INTERVAL_S)
        self._close()

    def terminate(self):
        """Asks mesoflow to kill every task this executor queued; the kills are reported
        by later sync() calls. Rows not inserted yet are dropped and failed."""
        kills = list(self._owned)
        for ti_key, row in list(self._unsent.items()):
            del self._unsent[ti_key]
            if ti_key in self._maybe_inserted:
                kills.append(row["key"])
                self._maybe_inserted.discard(ti_key)
            self.fail(ti_key, "terminated before it was queued in mesoflow")
        self._kills.update(kills)
        self._send_kills("terminate")

    def try_adopt_task_instances(self, tis: Sequence[Any]) -> Sequence[Any]:
        """Adopts the task instances whose queue row is still pending or running."""
        tis = list(tis)
        if not tis:
            return tis
        bases = {queue_key(ti.key): ti for ti in tis}
        try:
            latest = self._latest_rows(list(bases))
        except CONNECTION_ERRORS as e:
            self._drop_connection(e, "adopt")
            return tis
        not_adopted = []
        for base, ti in bases.items():
            found = latest.get(base)
            if found is not None and found[1] in ACTIVE_STATES:
                self._own(found[0], ti.key)
                self.running.add(ti.key)
                self.log.info("event=mesoflow_task_adopted key=%s state=%s", found[0], found[1])
            else:
                not_adopted.append(ti)
        return not_adopted

    def cleanup_stuck_queued_tasks(self, tis: List[Any]) -> List[str]:
        """Task instances Airflow found stuck in queued: killed in mesoflow, failed here."""
        for ti in tis:
            queue_key_ = self._queue_key_of.get(ti.key)
            if queue_key_ is not None:
                self._kills.add(queue_key_)
                self._forget(queue_key_)
            row = self._unsent.pop(ti.key, None)
            if row is not None and ti.key in self._maybe_inserted:
                self._kills.add(row["key"])
            self._maybe_inserted.discard(ti.key)
            self._rejected.pop(ti.key, None)
            self.fail(ti.key, "stuck in queued: killed in mesoflow")
        self._send_kills("cleanup_stuck_queued_tasks")
        return [repr(ti) for ti in tis]

    # -- the rows ------------------------------------------------------------------------

    def _own(self, queue_key_: str, ti_key: Any):
        self._owned[queue_key_] = ti_key
        self._queue_key_of[ti_key] = queue_key_

    def _forget(self, queue_key_: str) -> Any:
        ti_key = self._owned.pop(queue_key_)
        self._queue_key_of.pop(ti_key, None)
        return ti_key

    def _send_kills(self, doing: str):
        """Writes the kill requests; the ones a lost connection kept back go with the
        next sync()."""
        if not self._kills:
            return
        try:
            with self._connection().cursor() as cur:
                cur.execute(_KILL_SQL, (sorted(self._kills),))
                self.log.info("event=mesoflow_kill_requested doing=%s tasks=%d", doing, cur.rowcount)
            self._kills.clear()
        except CONNECTION_ERRORS as e:
            self._drop_connection(e, doing)

    def _latest_rows(self, bases: List[str]) -> Dict[str, Tuple[str, str]]:
        """For each base key, the (key, state) of its latest queueing, if any."""
        wanted = [k for base in bases for k in _queueing_keys(base)]
        with self._connection().cursor() as cur:
            cur.execute(_LATEST_ROWS_SQL, (wanted,))
            rows = cur.fetchall()
        by_key = dict(rows)
        latest = {}
        for base in bases:
            for key in reversed(_queueing_keys(base)):
                if key in by_key:
                    latest[base] = (key, by_key[key])
                    break
        return latest

    def _insert_unsent(self):
        """Inserts the unsent rows; a row whose key exists already is queued again under
        the key of its next queueing, or follows the existing row (see _queue_again)."""
        for _ in range(CONFLICT_ROUNDS):
            if not self._unsent:
                return
            rows = dict(self._unsent)
            by_queue_key = {row["key"]: ti_key for ti_key, row in rows.items()}
            try:
                inserted = self._insert(list(rows.values()))
            except CONNECTION_ERRORS:
                # The INSERT may have been committed with its answer lost.
                self._maybe_inserted.update(rows)
                raise
            except psycopg2.Error:
                inserted = self._insert_one_by_one(rows)
            for queue_key_ in inserted:
                ti_key = by_queue_key[queue_key_]
                del self._unsent[ti_key]
                self._maybe_inserted.discard(ti_key)
                self._own(queue_key_, ti_key)
                self.log.info("event=mesoflow_task_queued key=%s", queue_key_)
            for ti_key, row in list(self._unsent.items()):
                self._queue_again(ti_key, row)
        # Still conflicting after that many rounds: another scheduler queues the same
        # tries at the same moment; the next sync tries again.

    def _insert_one_by_one(self, rows: Dict[Any, Dict[str, Any]]) -> set:
        # One bad row fails the whole statement: find it and fail its task instance.
        inserted = set()
        for ti_key, row in rows.items():
            try:
                inserted |= self._insert([row])
            except CONNECTION_ERRORS:
                self._maybe_inserted.add(ti_key)
                raise
            except psycopg2.Error as e:
                del self._unsent[ti_key]
                self._refuse(ti_key, f"the queue table refused it: {(e.pgerror or str(e)).strip()}")
        return inserted

    def _insert(self, rows: List[Dict[str, Any]]) -> set:
        with self._connection().cursor() as cur:
            returned = psycopg2.extras.execute_values(
                cur, _INSERT_SQL, [_insert_values(r) for r in rows], page_size=INSERT_BATCH_ROWS, fetch=True
            )
        return {r[0] for r in returned}

    def _queue_again(self, ti_key: Any, row: Dict[str, Any]):
        """The row's key exists already: the same try was queued before."""
        base = queue_key(ti_key)
        found = self._latest_rows([base]).get(base)
        ours = ti_key in self._maybe_inserted and found is not None and found[0] == row["key"]
        self._maybe_inserted.discard(ti_key)
        if found is not None and (found[1] in ACTIVE_STATES or ours):
            # Still queued or running (a scheduler that restarted without adopting it), or
            # this executor's own INSERT whose answer was lost: follow that row rather
            # than run the try twice.
            del self._unsent[ti_key]
            self._own(found[0], ti_key)
            self.log.warning("event=mesoflow_task_followed key=%s state=%s", found[0], found[1])
            return
        queueing = _queueing_of(base, found[0]) + 1 if found is not None else 1
        if queueing > MAX_QUEUEINGS_PER_TRY:
            del self._unsent[ti_key]
            self._refuse(ti_key, f"try queued {MAX_QUEUEINGS_PER_TRY} times already (keys {base}, {base}#2, ...)")
            return
        row["key"] = requeued_key(base, queueing)

    def _refuse(self, ti_key: Any, why: str):
        self.log.error("event=mesoflow_task_rejected key=%s reason=%s", queue_key(ti_key), why)
        self.fail(ti_key, f"mesoflow executor refused {ti_key}: {why}")
