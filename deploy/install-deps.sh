#!/usr/bin/env bash
# Installs every package mesoflow needs to build, test and run its demo, from
# Debian 12's archive. Run as root on Debian 12 (bookworm).
set -euo pipefail

packages=(
  g++ cmake make pkg-config git
  clang libclang-rt-14-dev clang-format
  libcpp-httplib-dev nlohmann-json3-dev libpq-dev libboost-dev libfmt-dev libssl-dev libre2-dev
  catch2
  postgresql postgresql-client
  zookeeper libzookeeper-mt-dev
  python3 python3-psycopg2 python3-pip python3-setuptools python3-wheel
  systemd
  chromium fonts-dejavu-core
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages present"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# The package starts a cluster on 5432; mesoflow's tests and demo never use it.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
