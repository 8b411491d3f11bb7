#!/usr/bin/env bash
# The demo: on a fresh Debian 12 machine, as root, from a checkout:
#   bash deploy/demo.sh
# installs the dependencies, builds mesoflow into build/, starts a throwaway
# PostgreSQL (unix socket only, run as nobody) and the fake Mesos master in
# local mode (task commands run as real processes in sandboxes), queues four
# sample tasks with `mesoflow submit`, runs `mesoflow run` with a live view of
# `mesoflow status`, kills one task, shows the ACCEPT call sent for the Docker
# task, prints the final table and cleans everything up, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Upper bounds of every wait, in seconds.
readonly START_TIMEOUT=60   # PostgreSQL, the fake master, mesoflow's subscription
readonly TASKS_TIMEOUT=120  # all sample tasks terminal
readonly STOP_TIMEOUT=45    # mesoflow run after SIGTERM (its own grace is 30 s)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
  printf '\ndemo: FAILED: %s\n' "$*" >&2
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  die "run as root: it installs packages and runs PostgreSQL as user nobody"
fi

step "installing dependencies (deploy/install-deps.sh)"
bash deploy/install-deps.sh

# The test command's build directory, so a later deploy/test-all.sh reuses it.
build=${DEMO_BUILD_DIR:-build}
step "building mesoflow and the fake master into $build/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target mesoflow mesoflow-fake-master
mesoflow_bin=$(realpath "$build/src/cli/mesoflow")
fake_master_bin=$(realpath "$build/test/fake_master/mesoflow-fake-master")

work=$(mktemp -d /tmp/mesoflow-demo.XXXXXX)
chmod 0755 "$work"
pg_bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
fake_master_pid=
mesoflow_pid=

cleanup() {
  local code=$?
  set +e
  for pid in $mesoflow_pid $fake_master_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 "$STOP_TIMEOUT"); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  if [ -f "$work/pg/data/postmaster.pid" ]; then
    runuser -u nobody -- "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [ "$code" -ne 0 ]; then
    for log in mesoflow.log fake-master.log pg/server.log; do
      if [ -s "$work/$log" ]; then
        printf '\n--- last lines of %s ---\n' "$log" >&2
        tail -n 25 "$work/$log" >&2
      fi
    done
  fi
  rm -rf "$work"
  exit "$code"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until DESCRIPTION TIMEOUT COMMAND...: polls COMMAND every half second;
# fails the demo after TIMEOUT seconds, or at once if a daemon died.
wait_until() {
  local what=$1 timeout=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    for pid in $mesoflow_pid $fake_master_pid; do
      kill -0 "$pid" 2>/dev/null || die "a daemon exited while waiting for $what"
    done
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${timeout}s waiting for $what"
    sleep 0.5
  done
}

http_get() {
  python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode())
    sys.exit(1)
PY
}

step "starting a throwaway PostgreSQL (as nobody, unix socket in $work/pg)"
mkdir -p "$work/pg"
chown nobody: "$work/pg"
runuser -u nobody -- "$pg_bin/initdb" -D "$work/pg/data" -A trust -U postgres --no-sync \
  >"$work/pg/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$work/pg/initdb.log")"
pg_port=$(free_port)
runuser -u nobody -- "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w \
  -t "$START_TIMEOUT" -o "-k $work/pg -p $pg_port -c listen_addresses=''" start >/dev/null ||
  die "PostgreSQL did not start"
database="host=$work/pg port=$pg_port user=postgres dbname=postgres"

step "starting the fake Mesos master in local mode"
master_port=$(free_port)
admin_port=$(free_port)
"$fake_master_bin" --local --listen "127.0.0.1:$master_port" --agents 2 --cpus 4 --mem 8192 \
  --allocation-interval 250ms --sandbox "$work/sandbox" --kill-grace 2s \
  >"$work/fake-master.log" 2>&1 &
fake_master_pid=$!
wait_until "the fake master to listen" "$START_TIMEOUT" grep -q "listening on" "$work/fake-master.log"
echo "fake master on 127.0.0.1:$master_port, sandboxes in $work/sandbox"

# One config file for every mesoflow command below (MESOFLOW_CONFIG); it
# holds the database DSN, a secret, so only its owner may read it.
(umask 077 && cat >"$work/mesoflow.conf") <<CONF
[mesoflow]
master = 127.0.0.1:$master_port
database = $database
framework_name = mesoflow-demo
# The demo's tasks need not outlive it.
failover_timeout = 0
admin_listen = 127.0.0.1:$admin_port
kill_grace_period = 2
CONF
export MESOFLOW_CONFIG=$work/mesoflow.conf
mesoflow() { "$mesoflow_bin" "$@"; }

step "mesoflow config (the effective configuration; secrets would show as ****)"
mesoflow config | grep -E '^(KEY|master|database|framework_name|failover_timeout|admin_listen) '

step "mesoflow migrate"
mesoflow migrate

step "queueing four tasks with mesoflow submit"
show_submit() {
  printf '$ mesoflow submit'
  printf ' %q' "$@"
  printf '\n'
  printf '  -> task id %s\n' "$(mesoflow submit "$@")"
}
# shellcheck disable=SC2016 # expanded by the task's shell, not this one
show_submit --key demo.hello --shell 'echo "hello from $MESOS_TASK_ID"; uname -sr; sleep 2'
show_submit --key demo.fails --shell 'echo "about to fail" >&2; sleep 1; exit 3'
show_submit --key demo.killed --cpus 0.5 -- sleep 600
show_submit --key demo.docker --image python:3.12-slim --cpus 0.5 --mem 128 \
  --env GREETING=hello --label team=demo -- python3 -c 'import os; print(os.environ["GREETING"])'
mesoflow status --key demo.

step "mesoflow run (log: $work/mesoflow.log)"
"$mesoflow_bin" run >"$work/mesoflow.log" 2>&1 &
mesoflow_pid=$!
wait_until "mesoflow to be ready (/ready)" "$START_TIMEOUT" http_get "http://127.0.0.1:$admin_port/ready"
echo "subscribed; /ready says: $(http_get "http://127.0.0.1:$admin_port/ready")"
echo "status page (read-only; open it in a browser while the demo runs): http://127.0.0.1:$admin_port/status"

is_running() { mesoflow status demo.killed | grep -Eq '^state +running'; }
killed=no
all_done() { mesoflow status --key demo. --state active | grep -q '^no tasks match'; }
progress() {
  if [ -t 1 ]; then
    printf '\033[H\033[2J== live view: mesoflow status --key demo. (every second)\n\n'
    mesoflow status --key demo.
  else
    mesoflow status --key demo. | tail -n 1
  fi
}

deadline=$((SECONDS + TASKS_TIMEOUT))
last=
until all_done; do
  kill -0 "$mesoflow_pid" 2>/dev/null || die "mesoflow run exited early"
  kill -0 "$fake_master_pid" 2>/dev/null || die "the fake master exited early"
  [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${TASKS_TIMEOUT}s waiting for the tasks to end"
  if [ "$killed" = no ] && is_running; then
    echo '$ mesoflow kill demo.killed'
    mesoflow kill demo.killed
    killed=yes
  fi
  view=$(progress)
  if [ -t 1 ] || [ "$view" != "$last" ]; then
    printf '%s\n' "$view"
    last=$view
  fi
  sleep 1
done

step "final table: mesoflow status --key demo."
mesoflow status --key demo.

step "checking each task ended as expected"
expect_state() {
  local key=$1 want=$2 got
  got=$(mesoflow status "$key" | awk '$1 == "state" { print $2 }')
  [ "$got" = "$want" ] || die "$key ended $got, expected $want (mesoflow status $key)"
  printf '%-14s %s\n' "$key" "$got"
}
expect_state demo.hello finished
expect_state demo.fails failed
expect_state demo.killed killed
expect_state demo.docker finished

step "demo.hello's output (its sandbox's stdout)"
hello_id=$(mesoflow status demo.hello | awk '$1 == "id" { print $2 }')
stdout_file=$(find "$work/sandbox" -path "*/mf-$hello_id-1-*/stdout" | head -n 1)
[ -n "$stdout_file" ] || die "no sandbox stdout for demo.hello"
cat "$stdout_file"

step "demo.fails with its history: mesoflow status demo.fails"
mesoflow status demo.fails

step "the ACCEPT call mesoflow sent for demo.docker (from the fake master's GET /fake/calls)"
http_get "http://127.0.0.1:$master_port/fake/calls" | python3 -c '
import json, sys
for call in json.load(sys.stdin):
    if call.get("type") != "ACCEPT" or not isinstance(call.get("body"), dict):
        continue
    body = call["body"]
    for op in body.get("accept", {}).get("operations", []):
        infos = op.get("launch", {}).get("task_infos", [])
        docker = [t for t in infos if "container" in t]
        if docker:
            op["launch"]["task_infos"] = docker  # the other tasks of this ACCEPT left out
            body["accept"]["operations"] = [op]
            print(json.dumps(body, indent=2))
            sys.exit(0)
sys.exit("no ACCEPT with a container was recorded")
' || die "the Docker task's ACCEPT call was not found"

step "a few of mesoflow's metrics (GET /metrics on the admin endpoint)"
http_get "http://127.0.0.1:$admin_port/metrics" |
  grep -E '^mesoflow_(tasks\{|tasks_launched_total|offers_(received|declined)_total|status_updates_received_total|acknowledgements_sent_total|kills_sent_total) '

step "stopping mesoflow run (SIGTERM)"
kill -TERM "$mesoflow_pid"
for _ in $(seq 1 "$STOP_TIMEOUT"); do kill -0 "$mesoflow_pid" 2>/dev/null || break; sleep 1; done
kill -0 "$mesoflow_pid" 2>/dev/null && die "mesoflow run did not stop within ${STOP_TIMEOUT}s of SIGTERM"
run_code=0
wait "$mesoflow_pid" || run_code=$?
mesoflow_pid=
[ "$run_code" -eq 0 ] || die "mesoflow run exited with $run_code after SIGTERM"
echo "mesoflow run exited 0"

step "demo finished: everything it started is stopped and removed"
