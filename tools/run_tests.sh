#!/usr/bin/env bash
# The test command: the GoogleTest suite through ctest (unit, conformance on the copied fixtures,
# CLI and bad-input tests). Needs build/ from tools/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"
