#!/usr/bin/env bash
# Fails when a C++ file of mesoflow does not follow .clang-format, naming it
# and showing the first lines clang-format would change.
set -euo pipefail
cd "$(dirname "$0")/../.."
clang_format=${CLANG_FORMAT:-clang-format}
mapfile -t files < <(find include src test \( -name '*.cpp' -o -name '*.hpp' \) | sort)
if "$clang_format" --dry-run --Werror "${files[@]}" >/dev/null 2>&1; then
  echo "all ${#files[@]} C++ files follow .clang-format"
  exit 0
fi
for f in "${files[@]}"; do
  if ! "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (fix: $clang_format -i $f)"
    "$clang_format" "$f" | diff "$f" - | head -n 6 || true
  fi
done
exit 1
