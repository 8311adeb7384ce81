#!/usr/bin/env python3
"""Runs every ```console block of README.md and compares what the commands print with the block.

A block holds commands (`$ ` lines, continued by a trailing backslash) each followed by the output
it shows: standard output, then standard error. Commands run with bash from the repository root,
`nspbert` being the CLI under test. In the expected text `...` stands for any text, and a number
matches when the printed one, rounded to the decimals the README shows, equals it (the README
prints 0.6363 where the CLI writes 0.63630467..., so builds whose last float digits differ agree).
Blank lines at the ends are ignored.

  python3 tools/check_readme.py [--readme README.md] [--nspbert build/nspbert] [--block N]

Exit 0 when every block matches; else each mismatch is printed with both texts, exit 1.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"


def console_blocks(readme):
    """(first line number, block text) of every ```console block."""
    blocks, lines = [], readme.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```console":
            start, body = i + 2, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            blocks.append((start, body))
        i += 1
    return blocks


def commands(body):
    """(command, expected output lines) pairs of a block."""
    out, i = [], 0
    while i < len(body):
        if not body[i].startswith("$ "):
            raise ValueError(f"expected a '$ ' command line, got {body[i]!r}")
        command = body[i][2:]
        while command.endswith("\\"):  # bash reads the backslash-newline as a continuation
            i += 1
            command = command + "\n" + body[i]
        i += 1
        expected = []
        while i < len(body) and not body[i].startswith("$ "):
            expected.append(body[i])
            i += 1
        out.append((command, expected))
    return out


def pattern_of(expected):
    """A regex for the expected text, with its numbers as groups, and those numbers' texts."""
    parts, numbers, pos = [], [], 0
    token = re.compile(r"\.\.\.|(?<![\w.])" + NUMBER + r"(?![\w])")
    for m in token.finditer(expected):
        parts.append(re.escape(expected[pos:m.start()]))
        if m.group() == "...":
            parts.append(r"[\s\S]*?")
        else:
            parts.append("(" + NUMBER + ")")
            numbers.append(m.group())
        pos = m.end()
    parts.append(re.escape(expected[pos:]))
    return "".join(parts), numbers


def decimals(text):
    mantissa = re.split(r"[eE]", text)[0]
    return len(mantissa.partition(".")[2])


def numbers_agree(expected, actual):
    if re.search(r"[eE]", expected):
        return abs(float(actual) - float(expected)) <= abs(float(expected)) * 1e-3
    # Half a unit of the last digit shown, plus a hair for builds whose float sums differ (ASan, another CPU).
    step = 10.0 ** -decimals(expected)
    return abs(float(actual) - float(expected)) <= step / 2 + 1e-6


def matches(expected_lines, actual):
    expected = "\n".join(expected_lines).strip("\n")
    actual = actual.strip("\n")
    regex, numbers = pattern_of(expected)
    m = re.fullmatch(regex, actual)
    if not m:
        return False
    return all(numbers_agree(e, a) for e, a in zip(numbers, m.groups()))


def run(command, nspbert, bin_dir):
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", OMP_WAIT_POLICY="passive")
    env.pop("LD_PRELOAD", None)
    p = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, capture_output=True, text=True,
                       env=env, timeout=900)
    return p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    ap.add_argument("--nspbert", default=str(ROOT / "build" / "nspbert"))
    ap.add_argument("--block", type=int, help="run only this block (1-based)")
    a = ap.parse_args()
    blocks = console_blocks(Path(a.readme).read_text(encoding="utf-8"))
    failures = 0
    with tempfile.TemporaryDirectory() as bin_dir:
        os.symlink(Path(a.nspbert).resolve(), Path(bin_dir) / "nspbert")
        for n, (line, body) in enumerate(blocks, 1):
            if a.block and n != a.block:
                continue
            for command, expected in commands(body):
                actual = run(command, a.nspbert, bin_dir)
                if matches(expected, actual):
                    continue
                failures += 1
                print(f"README.md:{line} block {n}: $ {command}\n--- README shows\n" + "\n".join(expected) +
                      f"\n--- the command printed\n{actual}\n", file=sys.stderr)
    print(f"{len(blocks)} console blocks, {failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
