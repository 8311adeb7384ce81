#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) in BUILD_DIR and runs each for SECONDS (default 60) on
# a temporary copy of its seed corpus, two targets at a time. Exits 1, printing the input that
# failed and the fuzzer's summary, if any target finds a crash, leak, timeout, out-of-memory or
# sanitizer report. Nothing is written into the source tree.
#   bash tools/run_fuzz.sh BUILD_DIR [SECONDS]
# BUILD_DIR without a CMakeCache is configured with clang, ASan+UBSan and NSPBERT_FUZZ=ON.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: bash tools/run_fuzz.sh BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build="$(realpath -m "$1")"
seconds="${2:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "run_fuzz: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi
targets=(safetensors_fuzz torch_bin_fuzz config_fuzz tokenizer_fuzz jsonl_fuzz jieba_fuzz)
parallel=2

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNSPBERT_SANITIZE=ON -DNSPBERT_FUZZ=ON >/dev/null
elif ! grep -q '^NSPBERT_FUZZ:BOOL=ON$' "$build/CMakeCache.txt"; then
  echo "run_fuzz: $build was configured without -DNSPBERT_FUZZ=ON (use a clang, NSPBERT_SANITIZE=ON build dir)" >&2
  exit 2
fi

build_log="$(mktemp)"
if ! cmake --build "$build" --target fuzz_targets -j "$(nproc)" >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  echo "run_fuzz: building the fuzz targets failed (log: $build_log)" >&2
  exit 1
fi
rm -f "$build_log"

work="$(mktemp -d "${TMPDIR:-/tmp}/nspbert-fuzz.XXXXXX")"
export OMP_WAIT_POLICY=passive
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

run_target() {
  local target="$1" dir="$work/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$root/tests/fuzz/corpus/$target/"* "$dir/corpus/"
  local status=0
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -dict="$root/tests/fuzz/dict/$target.dict" -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
    "$dir/corpus" >"$dir/log" 2>&1 || status=$?
  echo "$status" >"$dir/status"
}

# A simple pool: start targets until `parallel` run, then wait for any to finish.
running=0
for target in "${targets[@]}"; do
  if (( running >= parallel )); then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
wait

failed=0
for target in "${targets[@]}"; do
  dir="$work/$target"
  status="$(cat "$dir/status")"
  finding="$(find "$dir/artifacts" -type f | head -n 1)"
  if [[ "$status" == 0 && -z "$finding" ]]; then
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$' || echo '?')"
    coverage="$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1 | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' || true)"
    echo "fuzz: $target ok: $runs inputs in ${seconds}s ($coverage)"
    continue
  fi
  failed=1
  echo "fuzz: $target FAILED (exit $status)"
  grep -E 'ERROR:|SUMMARY:|fuzz finding:|==[0-9]+==' "$dir/log" | head -n 20 || tail -n 20 "$dir/log"
  if [[ -n "$finding" ]]; then
    echo "fuzz: $target failing input: $finding ($(stat -c %s "$finding") bytes)"
    # CI may not keep the file: the input itself, to reproduce with base64 -d.
    if (( $(stat -c %s "$finding") <= 4096 )); then
      echo "fuzz: $target input as base64: $(base64 -w0 "$finding")"
    fi
  fi
  echo "fuzz: $target log: $dir/log"
done

if (( failed )); then
  echo "fuzz: FAILED; inputs and logs kept in $work"
  exit 1
fi
rm -rf "$work"
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s each without a finding"
