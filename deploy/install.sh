#!/usr/bin/env bash
# Installs mesoflow as a systemd service:
#   /usr/local/bin/mesoflow                   the binary
#   /etc/systemd/system/mesoflow.service      the unit (deploy/mesoflow.service)
#   /etc/mesoflow/mesoflow.conf               settings, from deploy/mesoflow.conf.example
#   /etc/mesoflow/mesoflow.env                MESOFLOW_* variables (mode 0600)
# Existing files under /etc/mesoflow are never overwritten. Builds the binary
# into build/ first unless --binary names one (run deploy/install-deps.sh
# before building). Does not start the service: edit the config, run
# `mesoflow migrate`, then `systemctl enable --now mesoflow`.
#
#   deploy/install.sh [--root DIR] [--binary PATH]
#     --root DIR     install under DIR instead of / (packaging, tests); no systemctl
#     --binary PATH  install this mesoflow binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."

root=/
binary=
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$root" = / ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root to install under / (or pass --root DIR)" >&2
  exit 1
fi

if [ -z "$binary" ]; then
  echo "== building mesoflow into build/"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$(nproc)" --target mesoflow
  binary=build/src/cli/mesoflow
fi
if [ ! -x "$binary" ]; then
  echo "install.sh: $binary is not an executable" >&2
  exit 1
fi

prefix=${root%/}
install -D -m 0755 "$binary" "$prefix/usr/local/bin/mesoflow"
install -D -m 0644 deploy/mesoflow.service "$prefix/etc/systemd/system/mesoflow.service"
install -d -m 0755 "$prefix/etc/mesoflow"
if [ ! -e "$prefix/etc/mesoflow/mesoflow.conf" ]; then
  install -m 0644 deploy/mesoflow.conf.example "$prefix/etc/mesoflow/mesoflow.conf"
  echo "created $prefix/etc/mesoflow/mesoflow.conf (every key commented out at its default)"
fi
if [ ! -e "$prefix/etc/mesoflow/mesoflow.env" ]; then
  (umask 077 && cat > "$prefix/etc/mesoflow/mesoflow.env" <<'ENV'
# Environment of the mesoflow service (systemd EnvironmentFile; KEY=value per
# line). Any MESOFLOW_<KEY> or AIRFLOW__MESOS__<KEY> variable works here, e.g.
#   MESOFLOW_MASTER=http://mesos-master-1:5050,http://mesos-master-2:5050
# Keep secrets in files readable by root alone and pass them as credentials
# (README: "Running under systemd").
ENV
  )
  echo "created $prefix/etc/mesoflow/mesoflow.env (mode 0600)"
fi
echo "installed $prefix/usr/local/bin/mesoflow and $prefix/etc/systemd/system/mesoflow.service"

if [ "$root" = / ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
if [ "$root" = / ]; then
  cat <<'NEXT'
next:
  1. set master and database in /etc/mesoflow/mesoflow.conf (or mesoflow.env)
  2. mesoflow migrate --config /etc/mesoflow/mesoflow.conf
  3. mesoflow config --config /etc/mesoflow/mesoflow.conf   # check the effective settings
  4. systemctl enable --now mesoflow && journalctl -u mesoflow -f
NEXT
fi
