"""nspbert.distributed: partitions scored on Dask workers and merged give byte for byte what
`nspbert score` (the CLI, its own process, one thread) writes for the whole input."""
import json
import os
import subprocess
import sys

import pytest

from conftest import BUILD, DATA, MODELS, ROOT, SANITIZED, run_cli

import nspbert
from nspbert import distributed

BERT = MODELS / "bert-zh-tiny"
TASK = ROOT / "tools" / "tasks" / "eprstmt.json"
BUSTM = ROOT / "tools" / "tasks" / "bustm.json"


def make_input(path, lines=5000):
    """`lines` physical lines of EPRSTMT reviews with blank, invalid and non-object lines among them,
    and no newline after the last one."""
    reviews = [line for line in (DATA / "fewclue" / "eprstmt.jsonl").read_text().splitlines() if line.strip()]
    out = []
    for i in range(lines):
        if i % 97 == 5:
            out.append("")
        elif i % 211 == 7:
            out.append("{not json")
        elif i % 401 == 9:
            out.append("[1, 2]")
        else:
            record = json.loads(reviews[i % len(reviews)])
            record["id"] = i
            out.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(out))
    return path


def cli_bytes(task, data):
    code, out, _ = run_cli("score", "--model", BERT, "--threads", 1, "--task", task, "--input", data)
    return code, out.encode()


def run_distributed(*args, env=None, timeout=300):
    environment = dict(os.environ, PYTHONPATH=str(BUILD / "python"), OMP_WAIT_POLICY="passive", **(env or {}))
    environment.pop("LD_PRELOAD", None)
    p = subprocess.run([sys.executable, "-m", "nspbert.distributed", "score", "--quiet", "--model", str(BERT), *map(str, args)],
                       capture_output=True, text=True, env=environment, timeout=timeout)
    return p.returncode, p.stderr


# ---- partitions: checked against a plain walk over the lines ----------------------------------

@pytest.mark.parametrize("every", [1, 3, 7, 1000, 5000, 9999])
@pytest.mark.parametrize("ending", ["", "\n"])
def test_partitions_cover_every_line_once(tmp_path, every, ending):
    text = "\n".join(f'{{"i":{i}}}' if i % 5 else "" for i in range(5000)) + ending
    path = tmp_path / "in.jsonl"
    path.write_bytes(text.encode())
    parts = distributed.plan_partitions([str(path)], every)
    data = path.read_bytes()
    assert b"".join(data[p.start:p.end] for p in parts) == data
    physical = data.split(b"\n")[: 5000]
    line = 1
    for p in parts:
        block = data[p.start:p.end]
        assert p.first_line == line
        count = block.count(b"\n") + (not block.endswith(b"\n"))
        assert count == every or p is parts[-1]
        assert block.split(b"\n")[0] == physical[line - 1]
        line += count
    assert line - 1 == 5000


def test_partitions_number_files_as_one_stream(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("{}\n" * 5)
    b.write_text("{}\n" * 4)
    parts = distributed.plan_partitions([str(a), str(b)], 2)
    assert [(os.path.basename(p.path), p.first_line) for p in parts] == [
        ("a.jsonl", 1), ("a.jsonl", 3), ("a.jsonl", 5), ("b.jsonl", 6), ("b.jsonl", 8)]
    (tmp_path / "empty.jsonl").write_text("")
    assert distributed.plan_partitions([str(tmp_path / "empty.jsonl")], 3) == []


# ---- the block scorer (no Dask): runs under the sanitizers too -------------------------------

def test_block_scorer_lines_equal_cli_lines(tmp_path):
    data = make_input(tmp_path / "in.jsonl", 700)
    want = cli_bytes(TASK, data)[1].decode().splitlines()
    scorer = nspbert.Model(BERT, threads=1).block_scorer(TASK)
    raw = data.read_bytes()
    parts = distributed.plan_partitions([str(data)], 150)
    got = [r for p in parts for r in scorer.score(raw[p.start:p.end], p.first_line)]
    assert [text for _, text, _ in got] == want
    assert [failed for _, text, failed in got] == ['"error"' in text for text in want]
    failed_lines = [line for line, _, failed in got if failed]
    assert failed_lines == [json.loads(t)["line"] for t in want if '"error"' in t]


def test_block_scorer_refuses_samples_contrast_without_thresholds():
    with pytest.raises(nspbert.UsageError, match="samples-contrast"):
        nspbert.Model(BERT, threads=1).block_scorer(BUSTM)


# ---- Dask -------------------------------------------------------------------------------------

needs_dask = pytest.mark.skipif(SANITIZED, reason="Dask worker processes under ASan: the block scorer above covers the C++ side")


def score_5000_lines(tmp_path, *extra, env=None):
    """The CLI's output for make_input's 5,000 lines, and a local:2 run over them (partitions of 400)."""
    data = make_input(tmp_path / "in.jsonl")
    want_code, want = cli_bytes(TASK, data)
    assert want_code == 1  # the invalid lines
    out = tmp_path / "out.jsonl"
    code, err = run_distributed("--scheduler", "local:2", "--task", TASK, "--input", data, "--output", out,
                                "--partition-lines", 400, *extra, env=env)
    return code, err, want, out


@needs_dask
def test_local_cluster_output_equals_one_process(tmp_path):
    code, err, want, out = score_5000_lines(tmp_path)
    assert code == 1, err  # both report the invalid lines
    assert out.read_bytes() == want
    assert not (tmp_path / "out.jsonl.parts").exists()


@needs_dask
def test_killed_worker_partition_is_rerun_and_output_identical(tmp_path):
    code, err, want, out = score_5000_lines(tmp_path, "--keep-work", env={"NSPBERT_TEST_KILL_PARTITION": "3"})
    assert code == 1, err
    assert (tmp_path / "out.jsonl.parts" / "killed-3").exists()  # a worker did die inside partition 3
    assert out.read_bytes() == want
    numbers = [json.loads(line)["input_line"] for part in sorted((tmp_path / "out.jsonl.parts").glob("part-*.jsonl"))
               for line in part.read_text().splitlines()]
    assert len(numbers) == len(set(numbers)) == want.count(b"\n")


@needs_dask
def test_rerun_redoes_only_unfinished_partitions(tmp_path):
    from distributed import Client, LocalCluster
    data = make_input(tmp_path / "in.jsonl")
    _, want = cli_bytes(TASK, data)
    out = str(tmp_path / "out.jsonl")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        first = distributed.score(client, BERT, TASK, [str(data)], out, partition_lines=300, keep_work=True)
        assert (first["partitions"], first["partitions_run"], first["partitions_skipped"]) == (17, 17, 0)
        assert max(first["model_loads"].values()) == 1  # one load per worker, not per partition
        work = tmp_path / "out.jsonl.parts"
        for index in (2, 9, 16):  # as if the run had stopped before these
            (work / f"part-{index:06d}.jsonl").unlink()
        (work / "part-000004.jsonl.123-abcd.tmp").write_text('{"input_line":1201,"torn')  # a crash mid-write
        os.remove(out)
        second = distributed.score(client, BERT, TASK, [str(data)], out, partition_lines=300)
        assert (second["partitions_run"], second["partitions_skipped"]) == (3, 14)
        assert second["failed"] == first["failed"] > 0
        assert open(out, "rb").read() == want
        distributed.score(client, BERT, TASK, [str(data)], out, partition_lines=300, keep_work=True)
        with pytest.raises(nspbert.UsageError, match="another job .partition_lines, partitions differ"):
            distributed.score(client, BERT, TASK, [str(data)], out, partition_lines=500)


@needs_dask
def test_run_stopped_by_a_failing_partition_is_finished_by_a_rerun(tmp_path):
    data = make_input(tmp_path / "in.jsonl")
    _, want = cli_bytes(TASK, data)
    out = tmp_path / "out.jsonl"
    args = ["--scheduler", "local:2", "--task", TASK, "--input", data, "--output", out, "--partition-lines", 250]
    code, err = run_distributed(*args, "--retries", 0, env={"NSPBERT_TEST_FAIL_PARTITION": "12"})
    assert code == 4 and "partition 12 failed on purpose" in err.strip().splitlines()[-1], err
    assert not out.exists()
    finished = sorted(p.name for p in (tmp_path / "out.jsonl.parts").glob("part-*.jsonl"))
    assert "part-000012.jsonl" not in finished and len(finished) < 20
    environment = dict(os.environ, PYTHONPATH=str(BUILD / "python"), OMP_WAIT_POLICY="passive")
    environment.pop("LD_PRELOAD", None)
    p = subprocess.run([sys.executable, "-m", "nspbert.distributed", "score", "--model", str(BERT), *map(str, args)],
                       capture_output=True, text=True, env=environment, timeout=300)
    assert p.returncode == 1, p.stderr
    assert f"({20 - len(finished)} partitions run, {len(finished)} done before;" in p.stderr
    assert out.read_bytes() == want


@needs_dask
@pytest.mark.parametrize("args,code,message", [
    (["--task", BUSTM], 2, "samples-contrast"),
    (["--task", ROOT / "tools" / "tasks" / "missing.json"], 3, "missing.json"),
    (["--task", TASK, "--partition-lines", 0], 2, "--partition-lines"),
])
def test_errors_are_one_line_with_cli_exit_codes(tmp_path, args, code, message):
    data = make_input(tmp_path / "in.jsonl", 50)
    got, err = run_distributed("--scheduler", "local:1", "--input", data, "--output", tmp_path / "out.jsonl", *args)
    assert got == code, err
    assert message in err.strip().splitlines()[-1]
    assert not (tmp_path / "out.jsonl").exists()


@needs_dask
def test_output_that_is_the_input_is_refused(tmp_path):
    data = make_input(tmp_path / "in.jsonl", 50)
    before = data.read_bytes()
    code, err = run_distributed("--scheduler", "local:1", "--task", TASK, "--input", data, "--output", data)
    assert code == 2 and "is an input file" in err
    assert data.read_bytes() == before
