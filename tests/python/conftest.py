"""Shared set-up of the Python tests: the package from the build tree, the CLI built beside it,
and the fixtures in tests/data (never /work/shared: the suite runs on a bare clone).

Expected values come from the fixtures or from the CLI run as a separate process, never from the
package under test. NSPBERT_BUILD_DIR picks the build (default: build/ at the repository root), NSPBERT_CLI the CLI.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NSPBERT_BUILD_DIR", ROOT / "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
sys.path.insert(0, str(BUILD / "python"))

DATA = ROOT / "tests" / "data"
MODELS = DATA / "fixtures" / "models"
# The CLI the expected values come from; the sanitizer run (tools/run_tests.sh) uses the Release one.
CLI = Path(os.environ.get("NSPBERT_CLI", BUILD / "nspbert"))
# Under ASan the resident set measures its quarantine, not the package: the RSS test is skipped.
SANITIZED = os.environ.get("NSPBERT_SANITIZED") == "1"
MODEL_NAMES = sorted(p.name for p in MODELS.iterdir() if (p / "config.json").exists())
NSP_MODELS = ["bert-en-tiny", "bert-zh-tiny", "megatron-zh-tiny", "roformer-zh-tiny"]


def run_cli(*args, input=None, check=True):
    """Runs build/nspbert as its own process; returns (exit code, stdout, stderr)."""
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    # Under the sanitizer run the ASan runtime is preloaded for python3 (tools/run_tests.sh); the
    # sanitized CLI links its own copy, and two ASan runtimes in one process abort it.
    env.pop("LD_PRELOAD", None)
    p = subprocess.run([str(CLI), *map(str, args)], input=input, capture_output=True, text=True, env=env, timeout=600)
    if check and p.returncode not in (0, 1):
        raise AssertionError(f"nspbert {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p.returncode, p.stdout, p.stderr


def cli_jsonl(*args, input=None):
    _, out, _ = run_cli(*args, input=input)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def cli_error(*args):
    """The exit code and the message after 'nspbert: error: ' of a failing CLI run."""
    code, _, err = run_cli(*args, check=False)
    line = [l for l in err.splitlines() if l.startswith("nspbert: error: ")]
    if not line:
        return code, err
    # The CLI's pointer to its help is not part of the message the package raises.
    return code, re.sub(r" \(see nspbert [\w-]+ --help\)$", "", line[-1][len("nspbert: error: "):])


@pytest.fixture(scope="session")
def nspbert():
    import nspbert as package
    return package


@pytest.fixture(scope="session")
def bert_zh(nspbert):
    return nspbert.Model(MODELS / "bert-zh-tiny", threads=1)
