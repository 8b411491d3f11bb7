"""mesoflow's executor for Apache Airflow 2.10/2.11 and 3.x: task instances go to
mesoflow's queue table (mesoflow.tasks), mesoflow runs them on Mesos.

Airflow switches to it with `executor = mesoflow_executor.MesoflowExecutor` in the
[core] section: after `pip install` of deploy/airflow (an Airflow provider package), or
with this one file on the scheduler's PYTHONPATH. README "Airflow" is the guide.

Contract:
- Airflow 2: execute_async() checks a task instance's executor_config and keeps one row
  for mesoflow.tasks; the row runs Airflow's command (`airflow tasks run ...`).
  Airflow 3: _process_workloads() takes each ExecuteTask workload out of queued_tasks,
  into `running`, and keeps a row that runs `python -m
  airflow.sdk.execution_time.execute_workload --json-string '<workload JSON>'` with
  AIRFLOW__CORE__EXECUTION_API_SERVER_URL set to the configured Execution API URL.
  The rows of one heartbeat are written by one INSERT per column set in sync().
- A row's key is queue_key(ti_key) for the first queueing of a try, then "<key>#2",
  "#3", ... for each time Airflow queues the same try again (reschedule-mode sensors,
  deferred tasks that resume, revoked tasks): there is no cap.
- sync() reads, in one statement, which of the rows it owns reached a final state and
  reports them: finished -> success, failed / killed / lost / error -> failed. A row that
  disappeared is reported failed too.
- Airflow 3: a row not started yet (pending, or claimed and waiting for an offer) when
  its workload's token is about to expire is withdrawn (killed before it starts) and
  the task instance is left queued in Airflow, without an event: the scheduler's
  stuck-in-queued check revokes it and schedules it again with a new token.
- revoke_task(ti=) withdraws or kills the task instance's row and forgets it, without
  an event; queueing the same key again afterwards queues a new row.
- end() writes what is pending (rows, kill requests) and returns; the tasks keep running
  in mesoflow and a restarted scheduler adopts them. terminate() asks mesoflow to kill
  every task this executor queued.
- try_adopt_task_instances() adopts task instances whose latest row is still pending
  or running in mesoflow and returns the others.
- A bad executor_config fails that task instance (reported in the next sync, with the
  reason) instead of raising into the scheduler loop. A lost database connection is
  logged and retried at the next heartbeat: nothing queued is dropped. A bad setting,
  a database without mesoflow's schema or a role without the grants it needs raise
  ConfigError at start(), naming what to do.

Only psycopg2 and the standard library. Without Airflow the module still imports and
uses a minimal stand-in base class (Airflow 2's interface), so that it can be tested and
used on its own.
"""

from __future__ import annotations

import configparser
import difflib
import json
import logging
import math
import os
import sys
import time
import urllib.parse
import urllib.request
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

# Airflow 3's executor interface: workloads instead of commands.
AIRFLOW_3 = AIRFLOW_AVAILABLE and hasattr(_airflow_base_executor.BaseExecutor, "_process_workloads")

PROVIDER_PACKAGE = "airflow-provider-mesoflow"

# States the table defines (schemas/0001_initial.sql, state_must_be_known).
ACTIVE_STATES = ("pending", "launching", "staging", "starting", "running", "killing")
FAILED_STATES = ("failed", "killed", "lost", "error")
FINAL_STATES = ("finished",) + FAILED_STATES

# Key prefix: rows this executor queued are the ones whose key starts with it.
KEY_PREFIX = "airflow"
# Airflow queues one try again with the same try number: a reschedule-mode sensor at
# each poke, a deferred task when it resumes, a revoked or stuck task, a try that never
# started. Each queueing gets a row of its own, "<key>#2", "#3", ... without a bound;
# finding the latest one looks at this many keys per statement.
QUEUEING_PROBE = 32
# Rounds of INSERT within one sync() while rows meet keys that exist already (each
# round moves such rows to the key of their next queueing).
CONFLICT_ROUNDS = 3
# Rows per INSERT statement when a heartbeat queued more.
INSERT_BATCH_ROWS = 500
# Airflow 3: how long a workload's token is valid when neither [mesoflow]
# workload_token_valid_for nor [execution_api] jwt_expiration_time says (Airflow's default).
DEFAULT_TOKEN_VALID_FOR_S = 600.0
# ... and how long before it expires a row not started yet is withdrawn: the time a task
# may take from mesoflow's claim to its first call of the Execution API.
DEFAULT_TOKEN_START_MARGIN_S = 60.0
# Airflow 3: the interpreter the row's command starts (as Airflow's Kubernetes executor).
DEFAULT_TASK_PYTHON = "python"
# get_task_log(): the Mesos agent's HTTP port, and how much of stdout/stderr to show.
DEFAULT_AGENT_PORT = 5051
TASK_LOG_BYTES = 256 * 1024
AGENT_HTTP_TIMEOUT_S = 5
# Seconds to wait for the database when connecting (unless the DSN says otherwise).
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "mesoflow airflow executor"
# The table's integer columns are int4.
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1

CONSTRAINT_OPS = ("EQUALS", "NOT_EQUALS", "LIKE", "UNLIKE", "EXISTS")
CONTAINERIZERS = ("docker", "mesos")
NETWORK_MODES = ("host", "bridge", "none", "user")
VOLUME_MODES = ("RW", "RO")

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
    """What the executor reads once, at start(): the database, the task defaults and,
    for Airflow 3, the Execution API URL and the workload token's validity."""

    def __init__(self, database: str, defaults: Dict[str, Any], sources: Dict[str, str],
                 execution_api_server_url: Optional[str] = None,
                 token_valid_for_s: float = DEFAULT_TOKEN_VALID_FOR_S,
                 token_start_margin_s: float = DEFAULT_TOKEN_START_MARGIN_S,
                 task_python: str = DEFAULT_TASK_PYTHON, agent_port: int = DEFAULT_AGENT_PORT):
        self.database = database
        self.defaults = defaults  # column -> value, for task instances that name none
        self.sources = sources  # column -> where its default came from, for messages
        self.execution_api_server_url = execution_api_server_url
        self.token_valid_for_s = token_valid_for_s
        self.token_start_margin_s = token_start_margin_s
        self.task_python = task_python
        self.agent_port = agent_port

    @property
    def withdraw_after_s(self) -> float:
        """Airflow 3: a row not started this long after its workload came is withdrawn."""
        return self.token_valid_for_s - self.token_start_margin_s


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


def _from_config_check(check, parse_json: bool):
    """A setting parsed by an executor_config check: JSON text when parse_json, else the
    text itself; BadExecutorConfig becomes ConfigError naming the key."""

    def parse(text, where):
        value = text
        if parse_json:
            try:
                value = json.loads(text)
            except ValueError as e:
                raise ConfigError(f"{where} is not valid JSON: {e}") from None
        try:
            return check(value)
        except BadExecutorConfig as e:
            raise ConfigError(f"{where} {e}") from None

    return parse


# Task defaults: (column, [mesoflow] key, [mesos] key, parser). The [mesoflow] key, in
# mesoflow's own names, beats the [mesos] key the old MesosExecutor read.
_DEFAULT_KEYS: Tuple[Tuple[str, str, Optional[str], Callable[[str, str], Any]], ...] = (
    ("cpus", "task_cpus", "task_cpu", _positive),
    ("mem", "task_mem", "task_memory", _positive),
    ("disk", "task_disk", "task_disk", _non_negative),
    ("image", "docker_image", "docker_image_slave", _image),
    ("containerizer", "containerizer", None, _containerizer),
    # JSON in airflow.cfg, the same shapes as in executor_config (README "Airflow").
    ("volumes", "volumes", None, lambda t, w: _from_config_check(_volumes, True)(t, w)),
    ("network", "network", None, lambda t, w: _from_config_check(_network, False)(t, w)),
    ("network_name", "network_name", None, lambda t, w: _from_config_check(_text, False)(t, w)),
    ("docker_parameters", "docker_parameters", None,
     lambda t, w: _from_config_check(_docker_parameters, True)(t, w)),
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
    if defaults.get("network") == "user" and "network_name" not in defaults:
        raise ConfigError("[mesoflow] network = user needs [mesoflow] network_name")
    if "network_name" in defaults and defaults.get("network") != "user":
        raise ConfigError("[mesoflow] network_name needs [mesoflow] network = user")

    def setting(section, key):
        value = conf.get(section, key, fallback=None)
        return str(value).strip() if value is not None and str(value).strip() else None

    url, url_where = None, None
    for section, key in (("mesoflow", "execution_api_server_url"), ("core", "execution_api_server_url")):
        url = setting(section, key)
        if url:
            url_where = f"[{section}] {key}"
            break
    if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{url_where} = {url!r} must be an http:// or https:// URL")
    valid_for, valid_where = DEFAULT_TOKEN_VALID_FOR_S, None
    for section, key in (("mesoflow", "workload_token_valid_for"), ("execution_api", "jwt_expiration_time")):
        text = setting(section, key)
        if text is not None:
            valid_where = f"[{section}] {key}"
            valid_for = _positive(text, valid_where)
            break
    margin = DEFAULT_TOKEN_START_MARGIN_S
    text = setting("mesoflow", "workload_token_start_margin")
    if text is not None:
        margin = _non_negative(text, "[mesoflow] workload_token_start_margin")
    elif margin >= valid_for:
        margin = valid_for / 2
    if margin >= valid_for:
        raise ConfigError(
            f"[mesoflow] workload_token_start_margin = {margin:g} must be less than the token's validity "
            f"({valid_for:g} s, {valid_where or 'the default'})"
        )
    agent_port = DEFAULT_AGENT_PORT
    text = setting("mesoflow", "agent_port")
    if text is not None:
        agent_port = int(_parse_number(text, "[mesoflow] agent_port", 1, inclusive=True))
    return Settings(
        _database_setting(conf, environ), defaults, sources,
        execution_api_server_url=url, token_valid_for_s=valid_for, token_start_margin_s=margin,
        task_python=setting("mesoflow", "task_python") or DEFAULT_TASK_PYTHON, agent_port=agent_port,
    )


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


def _volumes(v):
    """[{"host_path", "container_path", "mode": "RW"|"RO"}] or Docker's "host:container[:ro|rw]".

    A dict without a mode is read-only, as a queue row's volume is; a Docker string without one
    is read-write, as Docker's -v is.
    """
    if not isinstance(v, (list, tuple)):
        raise BadExecutorConfig(f"must be a list of volumes, got {type(v).__name__}")
    out = []
    for i, item in enumerate(v):
        if isinstance(item, str):
            parts = item.split(":")
            if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
                raise BadExecutorConfig(f"[{i}] must be 'host_path:container_path[:ro|rw]', got {item!r}")
            item = {"host_path": parts[0], "container_path": parts[1], "mode": parts[2] if len(parts) == 3 else "RW"}
        if not isinstance(item, dict):
            raise BadExecutorConfig(f"[{i}] must be a dict or a 'host:container[:mode]' string, got {item!r}")
        unknown = set(item) - {"host_path", "container_path", "mode"}
        if unknown:
            raise BadExecutorConfig(f"[{i}] has unknown keys {sorted(unknown)} (keys: host_path, container_path, mode)")
        volume = {}
        for name in ("host_path", "container_path"):
            path = item.get(name)
            if not isinstance(path, str) or not path.startswith("/") or "\x00" in path:
                raise BadExecutorConfig(f"[{i}][{name!r}] must be an absolute path, got {path!r}")
            volume[name] = path
        mode = item.get("mode", "RO")
        if not isinstance(mode, str) or mode.upper() not in VOLUME_MODES:
            raise BadExecutorConfig(f"[{i}]['mode'] must be RW or RO, got {mode!r}")
        volume["mode"] = mode.upper()
        out.append(volume)
    return out


def _network(v):
    if v not in NETWORK_MODES:
        raise BadExecutorConfig(f"must be one of {', '.join(NETWORK_MODES)}, got {v!r}")
    return v


def _docker_parameters(v):
    """[{"key", "value"}] or {key: value}: extra `docker run --key=value` parameters."""
    if isinstance(v, dict):
        v = [{"key": k, "value": value} for k, value in v.items()]
    if not isinstance(v, (list, tuple)):
        raise BadExecutorConfig(f"must be a list of {{'key', 'value'}} or a dict, got {type(v).__name__}")
    out = []
    for i, item in enumerate(v):
        if not isinstance(item, dict) or set(item) != {"key", "value"}:
            raise BadExecutorConfig(f"[{i}] must be {{'key': ..., 'value': ...}}, got {item!r}")
        key, value = item["key"], item["value"]
        if not isinstance(key, str) or not key or "\x00" in key:
            raise BadExecutorConfig(f"[{i}]['key'] must be a non-empty string, got {key!r}")
        if _is_number(value) or isinstance(value, bool):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if not isinstance(value, str) or "\x00" in value:
            raise BadExecutorConfig(f"[{i}]['value'] must be a string, got {value!r}")
        out.append({"key": key, "value": value})
    return out


_MEM_UNITS = {"b": 1 / 2**20, "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2}


def _mem_limit(v):
    """avmesos' mem_limit: Docker's size ("512m", "2g", "1.5G"), or a number of MB."""
    if _is_number(v):
        return _number(0, inclusive=False)(v)
    if isinstance(v, str):
        text = v.strip().lower()
        if text.endswith("b") and len(text) > 1 and text[-2] in "kmgt":
            text = text[:-1]
        unit = text[-1:] if text[-1:] in _MEM_UNITS else "m"
        number = text[:-1] if text[-1:] in _MEM_UNITS else text
        try:
            mb = float(number) * _MEM_UNITS[unit]
        except ValueError:
            mb = float("nan")
        if math.isfinite(mb) and mb > 0:
            return mb
    raise BadExecutorConfig(f"must be a size like '512m' or '2g' (or a number of MB), got {v!r}")


def _attributes(v):
    """avmesos' attributes: {name: value} (each must equal), or mesoflow's constraints."""
    if isinstance(v, dict):
        return _constraints([[name, "EQUALS", value] for name, value in v.items()])
    return _constraints(v)


def _container_type(v):
    """avmesos' container_type: DOCKER or MESOS, any case."""
    if isinstance(v, str) and v.lower() in CONTAINERIZERS:
        return v.lower()
    raise BadExecutorConfig(f"must be 'docker' or 'mesos', got {v!r}")


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
    "volumes": ("volumes", _volumes),
    "network": ("network", _network),
    "network_name": ("network_name", _text),
    "docker_parameters": ("docker_parameters", _docker_parameters),
}
# The executor_config keys of avmesos (the other Airflow Mesos provider), accepted at the
# top level of executor_config and in executor_config["mesos"].
AVMESOS_CONFIG_KEYS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "cpus": ("cpus", _number(0, inclusive=False)),
    "mem_limit": ("mem", _mem_limit),
    "disk": ("disk", _number(0, inclusive=True)),
    "attributes": ("constraints", _attributes),
    "image": ("image", _text),
    "container_type": ("containerizer", _container_type),
}
# Columns a row carries only when it uses them (they came with the Docker options, and
# with queues: a task instance in Airflow's default queue leaves `queue` out).
OPTIONAL_COLUMNS = ("volumes", "network", "network_name", "docker_parameters", "queue")
# Airflow's queue that maps to mesoflow's default queue ([operators] default_queue's default).
DEFAULT_QUEUE = "default"


def task_columns(executor_config: Any, defaults: Dict[str, Any]) -> Dict[str, Any]:
    """The queue columns a task instance asks for: executor_config["mesos"] (and
    avmesos' keys at the top level) over the configured defaults. Other top-level keys
    of executor_config belong to other executors and are ignored. Raises
    BadExecutorConfig naming the key."""
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
    asked = set()
    given = [(f'executor_config["{n}"]', n, v) for n, v in executor_config.items() if n in AVMESOS_CONFIG_KEYS]
    given += [(f'executor_config["mesos"]["{n}"]', n, v) for n, v in mesos.items()]
    for where, name, value in given:
        if name == "image" and value is None:
            # No image for this task, whatever the default (the executor's or its queue's):
            # it runs on the agent's host. The table reads an empty image as "none".
            columns["image"] = ""
            continue
        if name in MESOS_CONFIG_KEYS:
            column, check = MESOS_CONFIG_KEYS[name]
        elif name in AVMESOS_CONFIG_KEYS:
            column, check = AVMESOS_CONFIG_KEYS[name]
        else:
            known = list(MESOS_CONFIG_KEYS) + [k for k in AVMESOS_CONFIG_KEYS if k not in MESOS_CONFIG_KEYS]
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BadExecutorConfig(
                f'executor_config["mesos"]: unknown key {name!r}{hint} (known: {", ".join(known)})'
            )
        try:
            columns[column] = check(value)
        except BadExecutorConfig as e:
            raise BadExecutorConfig(f"{where} {e}") from None
        asked.add(column)
    # A default containerizer only applies to tasks that run an image; the table refuses
    # a containerizer without one (containerizer_needs_an_image).
    if "containerizer" in columns and not columns.get("image"):
        if "containerizer" in asked:
            raise BadExecutorConfig('executor_config["mesos"]["containerizer"] needs an "image"')
        del columns["containerizer"]
    # A network name goes with network "user" only; a task that names another network
    # than the default's drops the default's name.
    if columns.get("network") != "user" and "network_name" in columns:
        if "network_name" in asked:
            raise BadExecutorConfig('executor_config["mesos"]["network_name"] needs "network": "user"')
        del columns["network_name"]
    if columns.get("network") == "user" and "network_name" not in columns:
        raise BadExecutorConfig('executor_config["mesos"]["network"] "user" needs a "network_name"')
    for column in ("volumes", "docker_parameters"):
        if column in columns and not columns[column]:
            del columns[column]  # an empty list is the table's NULL: nothing to add
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


# Every column the executor writes, in INSERT order; what a row leaves out is DEFAULT.
# The OPTIONAL_COLUMNS follow only in the INSERTs of rows that use them.
INSERT_COLUMNS = (
    "key", "argv", "image", "containerizer", "force_pull", "cpus", "mem", "disk", "gpus",
    "ports", "env", "uris", "run_as_user", "labels", "role", "constraints", "priority",
    "max_attempts", "retry_backoff_s", "retry_on_failure", "timeout_s",
)
_JSON_COLUMNS = ("env", "labels", "constraints", "volumes", "docker_parameters")
_DEFAULT = psycopg2.extensions.AsIs("DEFAULT")


def insert_columns(row: Dict[str, Any]) -> Tuple[str, ...]:
    """The columns of the INSERT that writes this row."""
    return INSERT_COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if c in row)


def _insert_values(row: Dict[str, Any], columns: Sequence[str] = INSERT_COLUMNS) -> Tuple[Any, ...]:
    values = []
    for column in columns:
        if column not in row:
            values.append(_DEFAULT)
        elif column in _JSON_COLUMNS:
            values.append(psycopg2.extras.Json(row[column]))
        else:
            values.append(row[column])
    return tuple(values)


def _insert_sql(columns: Sequence[str]) -> str:
    return (
        f"INSERT INTO mesoflow.tasks ({', '.join(columns)}) VALUES %s "
        "ON CONFLICT (key) DO NOTHING RETURNING key"
    )


# Rows no agent took yet: pending, or claimed by mesoflow and waiting for an offer.
_NOT_STARTED = "(t.state = 'pending' OR (t.state = 'launching' AND t.agent_id IS NULL))"
# Rows that reached a final state, rows that are gone, among the given keys; and the
# rows not started yet among the second list (rows whose token expires): these come
# with state NULL.
_FINAL_ROWS_SQL = (
    "SELECT k.key, t.id, CASE WHEN t.state IN ('pending', 'launching') THEN NULL ELSE t.state END, "
    "t.exit_status, t.reason, t.message "
    "FROM unnest(%s::text[]) AS k(key) LEFT JOIN mesoflow.tasks t ON t.key = k.key "
    f"WHERE t.id IS NULL OR t.state IN ({', '.join(repr(s) for s in FINAL_STATES)}) "
    f"OR ({_NOT_STARTED} AND k.key = ANY(%s::text[]))"
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
# The rows among the given keys: key, state, kill_requested, age in seconds.
_ROWS_SQL = (
    "SELECT key, state, kill_requested, extract(epoch FROM now() - created_at) "
    "FROM mesoflow.tasks WHERE key = ANY(%s::text[])"
)
# Withdraws rows not started yet (the table kills a pending row at once, mesoflow a
# claimed one before it launches).
_WITHDRAW_SQL = (
    "UPDATE mesoflow.tasks t SET kill_requested = true "
    f"WHERE t.key = ANY(%s::text[]) AND {_NOT_STARTED} AND NOT t.kill_requested RETURNING t.key"
)
# Where a row ran: get_task_log() asks that agent for the task's sandbox.
_WHERE_RAN_SQL = (
    "SELECT key, state, hostname, agent_id, mesos_task_id FROM mesoflow.tasks "
    "WHERE key = ANY(%s::text[]) AND mesos_task_id IS NOT NULL"
)
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
        # base key -> queue keys Airflow is done with (revoked, withdrawn, queued again):
        # a new queueing of the try never follows them.
        self._superseded: Dict[str, set] = {}
        self._received: Dict[Any, float] = {}  # Airflow 3: TaskInstanceKey -> when its workload came
        self._deadline: Dict[str, float] = {}  # Airflow 3: queue key -> withdrawn if pending after
        self._clock: Callable[[], float] = time.time

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
        that the executor's role may use it; under Airflow 3 also that the Execution API
        URL for the agents is set."""
        self.settings = load_settings()
        if AIRFLOW_3 and not self.settings.execution_api_server_url:
            raise ConfigError(
                "mesoflow executor: no Execution API URL for the tasks; set [mesoflow] "
                "execution_api_server_url (or [core] execution_api_server_url) in airflow.cfg to the "
                "URL Mesos agents reach the API server at, e.g. http://airflow-api.example:8080/execution/ "
                '(README "Airflow")'
            )
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
        url = self.settings.execution_api_server_url
        if AIRFLOW_3 and urllib.parse.urlsplit(url).hostname in ("localhost", "127.0.0.1", "::1"):
            self.log.warning(
                "event=mesoflow_execution_api_on_localhost url=%s (tasks run on Mesos agents: they reach "
                "this URL only if the API server runs on every agent)", url)
        self.log.info(
            "event=mesoflow_executor_started airflow=%s defaults=%s",
            "3" if AIRFLOW_3 else "2",
            ",".join(f"{c}={v}({self.settings.sources[c]})" for c, v in self.settings.defaults.items()) or "table",
        )

    def execute_async(self, key, command, queue=None, executor_config=None):
        """Airflow 2: checks the task instance and keeps its row for the INSERT of the
        next sync()."""
        try:
            argv = _argv(command)
        except BadExecutorConfig as e:
            self._reject(key, e)
            return
        self._accept(key, argv, executor_config, {}, queue)

    def _process_workloads(self, workloads):
        """Airflow 3: each ExecuteTask workload leaves queued_tasks, enters `running` and
        gets a row that runs the task SDK's execute_workload with the workload's JSON."""
        for workload in workloads:
            ti = workload.ti
            key = ti.key
            self.queued_tasks.pop(key, None)
            self.running.add(key)
            assert self.settings is not None, "start() was not called"
            argv = workload_command(workload, self.settings.task_python)
            env = {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": self.settings.execution_api_server_url}
            self._received[key] = self._clock()
            self._accept(key, argv, getattr(ti, "executor_config", None), env, getattr(ti, "queue", None))

    def _accept(self, key, argv: List[str], executor_config: Any, extra_env: Dict[str, Any],
                queue: Optional[str] = None):
        previous = self._queue_key_of.get(key)
        if previous is not None or key in self._unsent:
            # Queued again while its last row is still known here: for Airflow that row
            # is done (a sensor's poke, a deferral); this queueing gets a row of its own.
            self._supersede(key)
        try:
            assert self.settings is not None, "start() was not called"
            row = task_columns(executor_config, self.settings.defaults)
            row["argv"] = argv
        except BadExecutorConfig as e:
            self._received.pop(key, None)
            self._reject(key, e)
            return
        base = queue_key(key)
        row["key"] = requeued_key(base, _queueing_of(base, previous) + 1) if previous else base
        if extra_env:
            row["env"] = {**extra_env, **row.get("env", {})}
        row["labels"] = {**_labels_of(key), **row.get("labels", {})}
        if isinstance(queue, str) and queue and queue != DEFAULT_QUEUE:
            # Airflow's queue is mesoflow's: its max_running, weight and defaults apply.
            row["queue"] = queue
        self._unsent[key] = row

    def _reject(self, key, error: Exception):
        self.log.error("event=mesoflow_task_rejected key=%s reason=%s", queue_key(key), error)
        self._rejected[key] = f"mesoflow executor refused {key}: {error}"

    def sync(self):
        """Inserts the rows queued since the last call, reports the rows that ended and,
        under Airflow 3, withdraws rows whose token would expire before they start."""
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
        now = self._clock()
        expired = [k for k, deadline in self._deadline.items() if deadline <= now and k in self._owned]
        try:
            with self._connection().cursor() as cur:
                cur.execute(_FINAL_ROWS_SQL, (list(self._owned), expired))
                rows = cur.fetchall()
        except CONNECTION_ERRORS as e:
            self._drop_connection(e, "sync")
            return
        not_started = []
        for key, row_id, state, exit_status, reason, message in rows:
            if row_id is not None and state is None:
                not_started.append(key)
                continue
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
        if not_started:
            self._withdraw(not_started)

    def _withdraw(self, keys: List[str]):
        """Rows not started past their token's deadline: withdrawn, and their task
        instances left queued in Airflow, whose stuck-in-queued check schedules them
        again with a new token."""
        try:
            with self._connection().cursor() as cur:
                cur.execute(_WITHDRAW_SQL, (keys,))
                withdrawn = [r[0] for r in cur.fetchall()]
        except CONNECTION_ERRORS as e:
            self._drop_connection(e, "withdraw")
            return
        for key in withdrawn:
            ti_key = self._forget(key)
            self._mark_superseded(key)
            self.running.discard(ti_key)
            self.log.warning(
                "event=mesoflow_task_withdrawn key=%s reason=token_expires (not started %.0f s after it was "
                "queued; Airflow schedules it again)", key, self.settings.withdraw_after_s)

    def end(self):
        """Writes what is still to be written (rows, kill requests), reports what ended,
        and closes. Tasks keep running in mesoflow; a restarted scheduler adopts them."""
        self.sync()
        if self._unsent or self._kills:
            self.log.warning(
                "event=mesoflow_executor_ended_with_unwritten rows=%d kills=%d (the database is unreachable)",
                len(self._unsent), len(self._kills))
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

    def revoke_task(self, *, ti):
        """Airflow 2.10.4+, 2.11 and 3.x (stuck in queued): withdraws the task
        instance's row, or kills its task, and forgets it. No event, no state change and
        no exception: the scheduler queues the task instance again."""
        try:
            key = ti.key
            self.queued_tasks.pop(key, None)
            self._rejected.pop(key, None)
            self._received.pop(key, None)
            if hasattr(self, "attempts"):
                self.attempts.pop(key, None)
            known = self._supersede(key, kill=True)
            self.running.discard(key)
            if not known:
                # Not queued by this executor (a scheduler restarted since): its latest row.
                base = queue_key(key)
                found = self._latest_rows([base]).get(base)
                if found is not None and found[1] in ACTIVE_STATES:
                    self._kills.add(found[0])
                    self._mark_superseded(found[0])
            self._send_kills("revoke_task")
            self.log.info("event=mesoflow_task_revoked key=%s", queue_key(key))
        except Exception as e:  # never into the scheduler loop
            if isinstance(e, CONNECTION_ERRORS):
                self._drop_connection(e, "revoke_task")
            else:
                self.log.exception("event=mesoflow_revoke_failed ti=%r", ti)

    def try_adopt_task_instances(self, tis: Sequence[Any]) -> Sequence[Any]:
        """Adopts the task instances whose latest queue row is still pending or running."""
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
        now = self._clock()
        for base, ti in bases.items():
            found = latest.get(base)
            if found is not None and found[1] in ACTIVE_STATES and not found[2]:
                self._own(found[0], ti.key)
                self.running.add(ti.key)
                if AIRFLOW_3 and found[1] in ("pending", "launching"):
                    self._deadline[found[0]] = now - found[3] + self.settings.withdraw_after_s
                self.log.info("event=mesoflow_task_adopted key=%s state=%s", found[0], found[1])
            else:
                not_adopted.append(ti)
        return not_adopted

    def cleanup_stuck_queued_tasks(self, tis: List[Any]) -> List[str]:
        """Airflow 2.10.3 and earlier: task instances stuck in queued are killed in
        mesoflow and failed here (later releases call revoke_task instead)."""
        for ti in tis:
            self._supersede(ti.key, kill=True)
            self._rejected.pop(ti.key, None)
            self.fail(ti.key, "stuck in queued: killed in mesoflow")
        self._send_kills("cleanup_stuck_queued_tasks")
        return [repr(ti) for ti in tis]

    def get_task_log(self, ti, try_number: int) -> Tuple[List[str], List[str]]:
        """The task's stdout and stderr from its Mesos sandbox, read through the agent's
        HTTP API (/state, /files/read) on [mesoflow] agent_port. Returns (messages,
        logs) as Airflow's file task handler wants them; never raises."""
        messages: List[str] = []
        try:
            key = ti.key.with_try_number(try_number) if hasattr(ti.key, "with_try_number") else ti.key
            base = queue_key(key)
            found = self._latest_rows([base]).get(base)
            if found is None:
                return [f"mesoflow: no queue row {base}"], []
            with self._connection().cursor() as cur:
                cur.execute(_WHERE_RAN_SQL, ([found[0]],))
                where = cur.fetchone()
            if where is None or not where[2]:
                return [f"mesoflow: {found[0]} is {found[1]} and has not reached a Mesos agent"], []
            _, state, hostname, agent_id, mesos_task_id = where
            return sandbox_log(hostname, self.settings.agent_port, agent_id, mesos_task_id, found[0])
        except CONNECTION_ERRORS as e:
            self._drop_connection(e, "get_task_log")
            messages.append(f"mesoflow: the queue database is unreachable: {str(e).strip()}")
        except Exception as e:  # the log view must not break on the executor
            messages.append(f"mesoflow: cannot read the task's sandbox: {e}")
        return messages, []

    # -- the rows ------------------------------------------------------------------------

    def _own(self, queue_key_: str, ti_key: Any):
        self._owned[queue_key_] = ti_key
        self._queue_key_of[ti_key] = queue_key_
        self._superseded.pop(queue_key(ti_key), None)
        received = self._received.pop(ti_key, None)
        if received is not None and AIRFLOW_3:
            self._deadline[queue_key_] = received + self.settings.withdraw_after_s

    def _forget(self, queue_key_: str) -> Any:
        ti_key = self._owned.pop(queue_key_)
        self._queue_key_of.pop(ti_key, None)
        self._deadline.pop(queue_key_, None)
        return ti_key

    def _mark_superseded(self, queue_key_: str):
        base = queue_key_.split("#", 1)[0]
        self._superseded.setdefault(base, set()).add(queue_key_)

    def _supersede(self, ti_key: Any, kill: bool = False) -> bool:
        """Drops what this executor knows of a task instance's current row, without an
        event; with kill, asks mesoflow to withdraw or kill it. Returns whether it knew
        one."""
        known = False
        row = self._unsent.pop(ti_key, None)
        if row is not None:
            known = True
            if ti_key in self._maybe_inserted:
                self._mark_superseded(row["key"])
                if kill:
                    self._kills.add(row["key"])
        self._maybe_inserted.discard(ti_key)
        current = self._queue_key_of.get(ti_key)
        if current is not None:
            known = True
            self._forget(current)
            self._mark_superseded(current)
            if kill:
                self._kills.add(current)
        return known

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

    def _latest_rows(self, bases: List[str]) -> Dict[str, Tuple[str, str, bool, float]]:
        """For each base key, (key, state, kill_requested, age in seconds) of its latest
        queueing, if any. Queueings are numbered without gaps: keys are looked at
        QUEUEING_PROBE at a time, until a probe's last key does not exist."""
        latest: Dict[str, Tuple[str, str, bool, float]] = {}
        first = {base: 1 for base in bases}
        while first:
            wanted = {requeued_key(b, n): b for b, start in first.items() for n in range(start, start + QUEUEING_PROBE)}
            with self._connection().cursor() as cur:
                cur.execute(_ROWS_SQL, (list(wanted),))
                rows = cur.fetchall()
            found: Dict[str, List[Tuple[int, Tuple]]] = {}
            for key, state, kill_requested, age in rows:
                base = wanted[key]
                found.setdefault(base, []).append((_queueing_of(base, key), (key, state, kill_requested, float(age))))
            next_first = {}
            for base, start in first.items():
                if base in found:
                    latest[base] = max(found[base])[1]
                    if max(found[base])[0] == start + QUEUEING_PROBE - 1:
                        next_first[base] = start + QUEUEING_PROBE
            first = next_first
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
        """One INSERT per column set (rows without the optional columns: one INSERT)."""
        groups: Dict[Tuple[str, ...], List[Dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(insert_columns(r), []).append(r)
        inserted = set()
        with self._connection().cursor() as cur:
            for columns, group in groups.items():
                returned = psycopg2.extras.execute_values(
                    cur, _insert_sql(columns), [_insert_values(r, columns) for r in group],
                    page_size=INSERT_BATCH_ROWS, fetch=True,
                )
                inserted |= {r[0] for r in returned}
        return inserted

    def _queue_again(self, ti_key: Any, row: Dict[str, Any]):
        """The row's key exists already: the same try was queued before."""
        base = queue_key(ti_key)
        found = self._latest_rows([base]).get(base)
        ours = ti_key in self._maybe_inserted and found is not None and found[0] == row["key"]
        self._maybe_inserted.discard(ti_key)
        superseded = found is not None and (found[2] or found[0] in self._superseded.get(base, ()))
        if found is not None and (ours or (found[1] in ACTIVE_STATES and not superseded)):
            # This executor's own INSERT whose answer was lost, or a row still queued or
            # running that another scheduler queued (one that restarted without adopting
            # it): follow that row rather than run the try twice.
            del self._unsent[ti_key]
            self._own(found[0], ti_key)
            self.log.warning("event=mesoflow_task_followed key=%s state=%s", found[0], found[1])
            return
        row["key"] = requeued_key(base, _queueing_of(base, found[0]) + 1 if found is not None else 1)

    def _refuse(self, ti_key: Any, why: str):
        self.log.error("event=mesoflow_task_rejected key=%s reason=%s", queue_key(ti_key), why)
        self.fail(ti_key, f"mesoflow executor refused {ti_key}: {why}")


# ---------------------------------------------------------------------------------------
# Airflow 3's command, the sandbox's log, the provider
# ---------------------------------------------------------------------------------------


def workload_command(workload: Any, python: str = DEFAULT_TASK_PYTHON) -> List[str]:
    """The command of an ExecuteTask workload, as Airflow's Kubernetes and ECS executors
    run it: the task SDK reads the workload from --json-string."""
    return [python, "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", workload.model_dump_json()]


def _http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=AGENT_HTTP_TIMEOUT_S) as response:
        return json.loads(response.read().decode("utf-8", errors="replace"))


def _sandbox_directory(state: Dict[str, Any], mesos_task_id: str) -> Optional[str]:
    for frameworks in ("frameworks", "completed_frameworks"):
        for framework in state.get(frameworks, []):
            for executors in ("executors", "completed_executors"):
                for executor in framework.get(executors, []):
                    tasks = [t.get("id") for k in ("tasks", "queued_tasks", "completed_tasks")
                             for t in executor.get(k, [])]
                    if executor.get("id") == mesos_task_id or mesos_task_id in tasks:
                        return executor.get("directory")
    return None


def sandbox_log(hostname: str, port: int, agent_id: str, mesos_task_id: str, key: str
                ) -> Tuple[List[str], List[str]]:
    """(messages, logs): the last TASK_LOG_BYTES of the task's stdout and stderr, from the
    agent's /state and /files/read."""
    agent = f"http://{hostname}:{port}"
    where = f"mesoflow: {key} ran as Mesos task {mesos_task_id} on {hostname} (agent {agent_id})"
    try:
        directory = _sandbox_directory(_http_json(f"{agent}/state"), mesos_task_id)
    except (OSError, ValueError) as e:
        return [where, f"mesoflow: the agent's API at {agent} did not answer: {e}"], []
    if not directory:
        return [where, f"mesoflow: the agent at {agent} no longer knows the task's sandbox"], []
    browse = f"{agent}/files/browse?path={urllib.parse.quote(directory)}"
    logs = []
    for name in ("stdout", "stderr"):
        path = urllib.parse.quote(f"{directory}/{name}")
        try:
            size = _http_json(f"{agent}/files/read?path={path}&offset=-1")["offset"]
            offset = max(0, int(size) - TASK_LOG_BYTES)
            data = _http_json(f"{agent}/files/read?path={path}&offset={offset}&length={TASK_LOG_BYTES}")["data"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            data = f"(cannot read {name}: {e})\n"
        cut = " (last part)" if offset > 0 else ""
        logs.append(f"*** {name}{cut} ***\n{data}")
    return [where, f"mesoflow: sandbox {browse}"], logs


def get_provider_info() -> Dict[str, Any]:
    """What Airflow's ProvidersManager reads through the apache_airflow_provider entry
    point: the package, its executor and its config section."""

    def option(description, type_, example, default):
        return {"description": description, "version_added": "0.1.0", "type": type_, "example": example,
                "default": default}

    return {
        "package-name": PROVIDER_PACKAGE,
        "name": "mesoflow",
        "description": "Runs Airflow task instances on Apache Mesos through mesoflow's queue table.",
        "versions": ["0.1.0"],
        "executors": ["mesoflow_executor.MesoflowExecutor"],
        "config": {
            "mesoflow": {
                "description": "The mesoflow executor (README \"Airflow\"). Task defaults apply to task "
                               "instances whose executor_config does not name the key.",
                "options": {
                    "database": option("libpq connection string or postgresql:// URI of mesoflow's queue "
                                       "database.", "string", "postgresql://airflow@db/mesoflow", None),
                    "database_file": option("A file that holds `database`.", "string", "/run/secrets/mesoflow",
                                            None),
                    "execution_api_server_url": option(
                        "Airflow 3: the Execution API URL Mesos agents reach; passed to each task as "
                        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL. Falls back to [core] "
                        "execution_api_server_url; required.", "string", "http://airflow-api:8080/execution/",
                        None),
                    "workload_token_valid_for": option(
                        "Airflow 3: seconds a workload's token is valid; default [execution_api] "
                        "jwt_expiration_time, else 600.", "float", "600", None),
                    "workload_token_start_margin": option(
                        "Airflow 3: a row not started this many seconds before its token expires is "
                        "withdrawn and scheduled again by Airflow.", "float", "60", "60"),
                    "task_python": option("Airflow 3: the interpreter that runs execute_workload on the agent.",
                                          "string", "/opt/airflow/venv/bin/python", "python"),
                    "agent_port": option("The Mesos agents' HTTP port, for task logs.", "integer", "5051", "5051"),
                    "task_cpus": option("CPUs of a task.", "float", "1", None),
                    "task_mem": option("Memory of a task, MB.", "float", "1024", None),
                    "task_disk": option("Disk of a task, MB.", "float", "0", None),
                    "docker_image": option("Image tasks run in.", "string", "apache/airflow:3.1.0", None),
                    "containerizer": option("docker or mesos, for tasks with an image.", "string", "docker", None),
                    "volumes": option("JSON list of {\"host_path\", \"container_path\", \"mode\": RW|RO} (RO by default).",
                                      "string", '[{"host_path": "/srv/dags", "container_path": '
                                      '"/opt/airflow/dags", "mode": "RO"}]', None),
                    "network": option("host, bridge, none or user.", "string", "bridge", None),
                    "network_name": option("The network's name, with network = user.", "string", "airflow", None),
                    "docker_parameters": option("JSON list of {\"key\", \"value\"}: extra docker run parameters.",
                                                "string", '[{"key": "shm-size", "value": "1g"}]', None),
                },
            },
        },
    }
