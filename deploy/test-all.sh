#!/usr/bin/env bash
# The test command: installs dependencies, builds mesoflow twice (optimised,
# and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs the whole
# suite with ctest in both builds.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
jobs=$(nproc)

# run_suite DIR OPTIMISATION [CMAKE ARGS...]
run_suite() {
  local dir=$1 opt=$2; shift 2
  # Line tables only (-g1): stack traces keep file:line, the build stays quick.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESOFLOW_WERROR=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -g1 -DNDEBUG" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
}

echo "== build and test (optimised)"
run_suite build -O2
# -O1, as the sanitizers' documentation suggests: it compiles in about half
# the time of -O2 and keeps the reports' stack traces exact.
echo "== build and test (AddressSanitizer + UndefinedBehaviorSanitizer)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -O1 -DMESOFLOW_SANITIZE=ON
