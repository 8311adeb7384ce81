#!/usr/bin/env bash
# The test command. Needs build/ from tools/setup.sh.
#  0. every C++ file formatted as .clang-format says (tools/check_format.sh);
#  1. the GoogleTest suite through ctest on the Release build in build/ (unit, conformance on the
#     copied fixtures, CLI and bad-input tests);
#  1b. the Python package's pytest suite (tests/python) against build/python and build/nspbert;
#  1c. a Slurm array job and its merge on a one-node cluster started here (tests/slurm_test.sh);
#  2. the same suite built with clang under AddressSanitizer + LeakSanitizer + UBSan in
#     build-sanitize/, where any sanitizer report fails the run (docs/sanitizers.md), and the
#     pytest suite against the Python module of that build;
#  3. the fuzz targets for FUZZ_SECONDS each, when tools/run_fuzz.sh exists.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
export OMP_WAIT_POLICY=passive

timings=()
step() {
  step_name=$1
  step_started=$SECONDS
  echo "== $step_name"
}
step_done() {
  timings+=("$(printf '%-36s %5d s' "$step_name" $((SECONDS - step_started)))")
  echo "== $step_name: $((SECONDS - step_started)) s"
}
print_timings() {
  echo
  echo "== timings"
  [ ${#timings[@]} -eq 0 ] || printf '%s\n' "${timings[@]}"
  printf '%-36s %5d s\n' "total" "$SECONDS"
}
trap print_timings EXIT

# Other folders for the two builds, e.g. to leave a shared tree's build/ alone.
release=${NSPBERT_BUILD_DIR:-build}
san=${NSPBERT_SANITIZE_BUILD_DIR:-build-sanitize}

step "format (tools/check_format.sh)"
bash tools/check_format.sh
step_done

step "release build ($release/)"
cmake --build "$release" -j "$jobs"
step_done

step "release tests"
ctest --test-dir "$release" --output-on-failure -j "$jobs"
step_done

step "python tests (pytest, tests/python)"
# Debian's interpreter (NumPy, pytest and pandas are its packages, tools/setup.sh); NSPBERT_PYTHON_EXE overrides.
python=${NSPBERT_PYTHON_EXE:-/usr/bin/python3}
status=0
NSPBERT_BUILD_DIR="$release" "$python" -m pytest -q -p no:cacheprovider tests/python || status=$?
# pytest exits 5 when it collected no tests: a suite that vanished must not pass as green.
[ "$status" -ne 5 ] || echo "run_tests.sh: pytest collected no tests in tests/python" >&2
[ "$status" -eq 0 ] || { echo "run_tests.sh: python tests failed (pytest exit $status)" >&2; exit 1; }
step_done

step "Slurm array + merge on a one-node cluster (tests/slurm_test.sh)"
if [ "$(id -u)" -eq 0 ]; then
  bash tests/slurm_test.sh "$release/nspbert"
else
  echo "run_tests.sh: skipped: the Slurm daemons of tests/slurm_test.sh run as root"
fi
step_done

# One clang build serves the sanitized suite and the fuzz targets (tests/fuzz, tools/run_fuzz.sh).
step "sanitizer build ($san/, clang)"
if [ ! -f "$san/CMakeCache.txt" ]; then
  command -v clang++ >/dev/null || { echo "run_tests.sh: clang++ not found (tools/setup.sh installs it)" >&2; exit 1; }
  CC=clang CXX=clang++ cmake -S . -B "$san" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNSPBERT_SANITIZE=ON -DNSPBERT_FUZZ=ON
elif ! grep -q "^NSPBERT_FUZZ:BOOL=ON\$" "$san/CMakeCache.txt"; then
  cmake -S . -B "$san" -DNSPBERT_FUZZ=ON
fi
cmake --build "$san" -j "$jobs" --target nspbert nspbert_tests nspbert_python
step_done

step "sanitizer tests"
# Every report aborts the process that made it. Reports also go to files under $reports (log_path),
# so one from a CLI subprocess whose stderr a test discards, or whose exit code it does not check,
# is still seen by the guard below.
reports="$(realpath -m "$san")/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
common="halt_on_error=1:abort_on_error=1:log_path=$reports/report"
ctest_log="$(realpath -m "$san")/sanitizer-ctest.log"
status=0
ASAN_OPTIONS="$common:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1" \
UBSAN_OPTIONS="$common:print_stacktrace=1" \
  ctest --test-dir "$san" --output-on-failure -j "$jobs" 2>&1 | tee "$ctest_log" || status=1
# The Python package from the same build: python3 is not instrumented, so clang's shared ASan
# runtime (it carries UBSan's too) is preloaded; leaks are not checked, the interpreter keeps its
# own allocations until exit. Expected values come from this build's CLI: clang -O1 rounds
# differently from the Release build, and the tests compare to 1e-6 or exactly.
pytest_log="$(realpath -m "$san")/sanitizer-pytest.log"
LD_PRELOAD="$(clang++ -print-file-name=libclang_rt.asan-x86_64.so)" \
ASAN_OPTIONS="$common:detect_leaks=0" UBSAN_OPTIONS="$common:print_stacktrace=1" \
NSPBERT_SANITIZED=1 NSPBERT_BUILD_DIR="$san" \
  "$python" -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee "$pytest_log" || status=1
# The guard: a report anywhere (test output, or a report file from any process) fails the step.
if grep -lE "runtime error|AddressSanitizer|LeakSanitizer" "$reports"/* >/dev/null 2>&1 ||
   grep -qE "runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer" "$ctest_log" "$pytest_log"; then
  echo "run_tests.sh: sanitizer findings:" >&2
  cat "$reports"/* >&2 2>/dev/null || true
  grep -nE "runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer" "$ctest_log" "$pytest_log" >&2 || true
  status=1
fi
step_done
[ "$status" -eq 0 ] || { echo "run_tests.sh: sanitizer test run failed" >&2; exit 1; }

if [ -f tools/run_fuzz.sh ]; then
  step "fuzzing (${FUZZ_SECONDS:-30} s per target)"
  bash tools/run_fuzz.sh "$san" "${FUZZ_SECONDS:-30}"
  step_done
fi
