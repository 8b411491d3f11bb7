"""TempPostgres: a throwaway PostgreSQL server for the Airflow executor's tests.

Mirrors test/support/temp_postgres.cpp: initdb into a fresh temp dir (as user "nobody"
when the tests run as root), trust auth, a unix socket in that dir and a free loopback
port. stop() (also run at interpreter exit) shuts it down and deletes the dir; the server
gets SIGQUIT if the test process dies first (PR_SET_PDEATHSIG), so nothing outlives a
crashed or killed test. Nothing here touches a PostgreSQL already running on the machine.

pg_stat_statements is preloaded, so that tests can count the statements a client ran.
Raises RuntimeError with the server's output when the server cannot start.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import psycopg2

READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
SUPERUSER = "mesoflow"
_PR_SET_PDEATHSIG = 1


def postgres_bin_dir() -> str:
    if os.environ.get("MESOFLOW_PG_BIN"):
        return os.environ["MESOFLOW_PG_BIN"]
    for candidate in ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    raise RuntimeError("PostgreSQL server binaries not found (install package postgresql, or set MESOFLOW_PG_BIN)")


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child_setup(run_as):
    def setup():
        # Killed with the test process; the signal is sent when the thread that forked
        # it exits, and the tests run on the main thread.
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)
        if run_as is not None:
            os.setgroups([])
            os.setgid(run_as.pw_gid)
            os.setuid(run_as.pw_uid)

    return setup


class TempPostgres:
    def __init__(self):
        self.bin_dir = postgres_bin_dir()
        self.run_as = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        self.dir = tempfile.mkdtemp(prefix="mesoflow-pg-")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = 0
        self._server = None
        self._databases = 0
        atexit.register(self.stop)
        try:
            if self.run_as is not None:
                os.chown(self.dir, self.run_as.pw_uid, self.run_as.pw_gid)
            init = subprocess.run(
                [f"{self.bin_dir}/initdb", "-D", self.data_dir, "-U", SUPERUSER, "-A", "trust",
                 "-E", "UTF8", "--no-locale", "--no-sync"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self._env(),
                preexec_fn=_child_setup(self.run_as), cwd=self.dir, check=False,
            )
            if init.returncode != 0:
                raise RuntimeError("initdb failed:\n" + init.stdout.decode(errors="replace"))
            self.port = free_loopback_port()
            self.start()
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _env():
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", TZ="UTC")
        return env

    def start(self):
        if self._server is not None and self._server.poll() is None:
            return
        log = open(self.log_path, "ab")
        if self.run_as is not None:
            os.chown(self.log_path, self.run_as.pw_uid, self.run_as.pw_gid)
        self._server = subprocess.Popen(
            [f"{self.bin_dir}/postgres", "-D", self.data_dir, "-p", str(self.port), "-k", self.dir,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100",
             "-c", "shared_preload_libraries=pg_stat_statements", "-c", "log_min_messages=warning"],
            stdout=log, stderr=subprocess.STDOUT, env=self._env(), cwd=self.dir,
            preexec_fn=_child_setup(self.run_as),
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError("postgres exited at start:\n" + self.server_log())
            try:
                psycopg2.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                time.sleep(0.02)
        raise RuntimeError(f"postgres not ready after {READY_TIMEOUT_S} s:\n" + self.server_log())

    def shutdown(self):
        """Stops the server (fast shutdown); the data stays, start() brings it back."""
        if self._server is None or self._server.poll() is not None:
            return
        self._server.send_signal(signal.SIGINT)
        try:
            self._server.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()

    def stop(self):
        """Stops the server and deletes its directory; safe to call twice."""
        self.shutdown()
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)

    def server_log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def dsn(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"host={self.dir} port={self.port} user={user} dbname={database}"

    def create_database(self) -> str:
        """Creates an empty database with a unique name and returns its name."""
        self._databases += 1
        name = f"test_{os.getpid()}_{self._databases}"
        self.execute("postgres", f"CREATE DATABASE {name}")
        return name

    def execute(self, database: str, sql: str, params=None):
        """Runs one statement as superuser; returns its rows (or None)."""
        conn = psycopg2.connect(self.dsn(database))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description is not None else None
        finally:
            conn.close()

    def kill_connections(self, database: str):
        """Terminates every backend connected to `database` (a dropped connection, as a
        client sees it, without stopping the server)."""
        self.execute(
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
