"""Stand-in of the task SDK's workload runner. Mirrors apache/airflow
task-sdk/src/airflow/sdk/execution_time/execute_workload.py @ 4bf2df84.

As in Airflow: `python -m airflow.sdk.execution_time.execute_workload` takes exactly one
of --json-path / --json-string; a workload that does not parse exits 1 ("Failed to parse
input JSON string"); the Execution API server is [core] execution_api_server_url
(AIRFLOW__CORE__EXECUTION_API_SERVER_URL), else [api] base_url + "/execution/", else
http://localhost:8080/execution/; the task is started with PATCH
task-instances/{id}/run and ends with PATCH task-instances/{id}/state, each with the
workload's token as a Bearer token. A refused start (401/403: a bad or expired token;
409: the task instance is not queued) exits 1.

What runs in between is the stand-in's own: the Execution API of the tests
(test/airflow/airflow_stand_in_server.py) answers the start with what the "task" does
(its outcome, and whether to wait for a release first); the supervisor's logging,
heartbeats and the task's process are left out. Prints one line per step to stdout.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time

from airflow.configuration import conf
from airflow.executors.workloads import parse_workload

POLL_S = 0.05


def call(method, url, body=None, token=None):
    """One HTTP/1.0 request over a plain socket (the stand-in starts fast: no urllib)."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} /{path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
    if token is not None:
        head += f"Authorization: Bearer {token}\r\n"
    head += f"Content-Length: {len(data)}\r\n\r\n"
    with socket.create_connection((host, int(port or 80)), timeout=30) as s:
        s.sendall(head.encode() + data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    code = int(status_line.split()[1])
    return code, (json.loads(payload) if payload else None)


def server_url() -> str:
    base_url = conf.get("api", "base_url", fallback="/")
    if base_url.startswith("/"):
        base_url = f"http://localhost:8080{base_url}"
    default_execution_api_server = f"{base_url.rstrip('/')}/execution/"
    return conf.get("core", "execution_api_server_url", fallback=default_execution_api_server)


def execute_workload(workload) -> int:
    server = server_url().rstrip("/") + "/"
    print(f"Connecting to server: {server}", flush=True)
    ti_url = f"{server}task-instances/{workload.ti.id}"
    try:
        code, script = call("PATCH", f"{ti_url}/run",
                            {"state": "running", "hostname": socket.gethostname(), "unixname": "airflow",
                             "pid": 0, "start_date": time.time()}, token=workload.token)
    except OSError as e:
        print(f"Cannot reach the Execution API at {server}: {e}", flush=True)
        return 1
    if code != 200:
        print(f"Task start refused: {code} {script}", flush=True)
        return 1
    print(f"Running {workload.ti.dag_id}.{workload.ti.task_id} try {workload.ti.try_number}: {script}", flush=True)
    if script.get("wait_for"):
        while not call("GET", f"{server}stand-in/released/{script['wait_for']}", token=workload.token)[1]["released"]:
            time.sleep(POLL_S)
    time.sleep(script.get("sleep", 0))
    call("PATCH", f"{ti_url}/state", {"state": script["outcome"], "end_date": time.time()}, token=workload.token)
    print(f"Task finished: {script['outcome']}", flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description="Execute a workload in a Containerised executor using the task SDK.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--json-path", type=str)
    group.add_argument("--json-string", type=str)
    args = parser.parse_args()
    try:
        if args.json_path:
            with open(args.json_path) as file:
                workload = parse_workload(file.read())
        else:
            workload = parse_workload(args.json_string)
    except Exception as e:
        print(f"Failed to parse input JSON string: {e}", flush=True)
        sys.exit(1)
    # Airflow's execute_workload ignores the supervisor's exit code: the task reported
    # its state through the API. Only a start that never happened fails the process.
    sys.exit(execute_workload(workload))


if __name__ == "__main__":
    main()
