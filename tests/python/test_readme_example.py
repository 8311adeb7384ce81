"""The notebook-style example in the README's "Python" section runs as printed."""
import os
import re
import subprocess
import sys

from conftest import BUILD, ROOT


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## Python\n"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = dict(os.environ, PYTHONPATH=str(BUILD / "python"), OMP_WAIT_POLICY="passive")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "similarity_to_first" in p.stdout and "score" in p.stdout


def test_readme_console_blocks_print_what_they_show():
    """Every ```console block of the README, run literally (tools/check_readme.py), prints what the
    README shows (numbers to the decimals shown), so the README cannot drift from the CLI."""
    from conftest import CLI
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    env.pop("LD_PRELOAD", None)
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "check_readme.py"), "--nspbert", str(CLI)], cwd=ROOT,
                       capture_output=True, text=True, env=env, timeout=1800)
    assert p.returncode == 0, p.stderr + p.stdout
    assert re.fullmatch(r"(\d+) console blocks, 0 mismatches\n", p.stdout) and int(p.stdout.split()[0]) >= 8
