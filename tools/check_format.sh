#!/usr/bin/env bash
# Fails (exit 1, naming the files) when a C++ file differs from .clang-format's style.
# Fix with: clang-format -i $(git ls-files '*.cc' '*.h')
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h')
else
  mapfile -t files < <(find engine tokenizer models tools tests -name '*.cc' -o -name '*.h' | sort)
fi
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format.sh: ${#bad[@]} file(s) not formatted with .clang-format: ${bad[*]}" >&2
  echo "check_format.sh: fix with: clang-format -i ${bad[*]}" >&2
  exit 1
fi
echo "check_format.sh: ${#files[@]} C++ files formatted"
