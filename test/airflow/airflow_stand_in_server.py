"""The Airflow side that tasks talk to, for the end-to-end tests: Airflow 2's metadata
database (what `airflow tasks run` reads and writes) and Airflow 3's Execution API
(what the task SDK's execute_workload calls), over HTTP on a loopback port, both
backed by the stand-in scheduler's task instances.

- Airflow 3, under /execution/: PATCH task-instances/{id}/run needs the workload's
  token (Bearer; the stand-in token's sub must be the task instance's id and it must not
  have expired by the scheduler's clock: else 403, as Airflow's JWT check; later calls
  of a started task are not refused for expiry, as Airflow's API server refreshes the
  token of a running task) and the task
  instance queued or restarting (else 409, as Airflow's ti_run); it sets it running and
  answers with what the task does. PATCH task-instances/{id}/state ends it: "failed"
  becomes up_for_retry while retries are left (as the API server decides), else the
  state given.
- Airflow 2, under /db/: PATCH ti/{dag_id}/{task_id}/{run_id}/{map_index}/run and
  .../state, the same rules without a token (the task process writes the database).
- GET stand-in/released/{name} (both): whether the test released that name (tasks
  scripted to wait for it poll here).

What a task does is scripted per task id: script(task_id, fn), fn(ti, run) -> {"outcome":
success|failed|up_for_reschedule, "sleep": s, "wait_for": name}, run counting the
task instance's starts from 1. Every call is recorded in `calls`.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from airflow.utils.state import TaskInstanceState as S

STARTABLE = (S.QUEUED, S.RESTARTING)


class AirflowStandInServer:
    def __init__(self, scheduler):
        self.scheduler = scheduler  # its task instances, clock and lock
        self.scripts = {}
        self.runs = {}  # ti primary key -> starts so far
        self.released = set()
        self.calls = []  # (path, method, body, headers' Authorization, answer code)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._answer(*server.handle("GET", self.path, None, self.headers.get("Authorization")))

            def do_PATCH(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                self._answer(*server.handle("PATCH", self.path, body, self.headers.get("Authorization")))

            def _answer(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def execution_api_url(self) -> str:
        return f"{self.url}/execution/"

    @property
    def sql_alchemy_conn(self) -> str:
        return f"standin+{self.url}/db"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, task_id, fn):
        self.scripts[task_id] = fn

    def release(self, name):
        with self.scheduler.lock:
            self.released.add(name)

    def starts(self, ti) -> int:
        with self.scheduler.lock:
            return self.runs.get(ti.primary, 0)

    def handle(self, method, path, body, authorization):
        with self.scheduler.lock:
            code, answer = self._handle(method, urllib.parse.urlsplit(path).path, body, authorization)
            self.calls.append((path, method, body, authorization, code))
            return code, answer

    def _handle(self, method, path, body, authorization):
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if method == "GET" and parts[-3:-1] == ["stand-in", "released"]:
            return 200, {"released": parts[-1] in self.released}
        if parts[:2] == ["execution", "task-instances"] and len(parts) == 4 and method == "PATCH":
            ti = self.scheduler.ti_by_id(parts[2])
            if ti is None:
                return 404, {"detail": "no such task instance"}
            claims = self._token(authorization)
            if claims is None or claims.get("sub") != str(ti.id):
                return 403, {"detail": "Invalid auth token"}
            if parts[3] == "run" and claims["exp"] <= self.scheduler.clock():
                return 403, {"detail": "Invalid auth token: Signature has expired"}
            return self._step(ti, parts[3], body)
        if parts[:2] == ["db", "ti"] and len(parts) == 7 and method == "PATCH":
            ti = self.scheduler.ti_by_primary((parts[2], parts[3], parts[4], int(parts[5])))
            if ti is None:
                return 404, {"detail": "no such task instance"}
            return self._step(ti, parts[6], body)
        return 404, {"detail": f"no route {method} {path}"}

    @staticmethod
    def _token(authorization):
        from airflow.executors import base_executor

        if not authorization or not authorization.startswith("Bearer "):
            return None
        try:
            return base_executor.read_token(authorization[len("Bearer "):])
        except Exception:
            return None

    def _step(self, ti, step, body):
        if step == "run":
            if ti.state not in STARTABLE:
                return 409, {"detail": f"task instance is {ti.state}, not queued"}
            ti.state = S.RUNNING
            self.runs[ti.primary] = self.runs.get(ti.primary, 0) + 1
            fn = self.scripts.get(ti.task_id, lambda ti, run: {"outcome": "success"})
            return 200, fn(ti, self.runs[ti.primary])
        if step == "state":
            if ti.state != S.RUNNING:
                return 409, {"detail": f"task instance is {ti.state}, not running"}
            outcome = body["state"]
            if outcome == "failed":
                ti.state = S.UP_FOR_RETRY if ti.try_number <= ti.max_tries else S.FAILED
            elif outcome == "up_for_reschedule":
                ti.state = S.UP_FOR_RESCHEDULE
                ti.reschedules += 1
            else:
                ti.state = S(outcome)
            return 200, {"state": str(ti.state)}
        return 404, {"detail": f"no step {step}"}
