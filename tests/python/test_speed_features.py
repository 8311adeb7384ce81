"""What issue 18 shows a user (besides the cascade, tests/python/test_cascade.py): the per-op profile
of `bench --verbose-kernels`, `--precision auto`, and the instruction-set lines of `inspect` and
`bench`. Expected values come from the fixture's config.json (how many ops a forward runs) and
from /proc/cpuinfo (what the CPU offers), never from the code under test; no test times anything."""
import json
from pathlib import Path

import pytest

from conftest import MODELS, run_cli

TINY = MODELS / "bert-zh-tiny"


def cpu_flags():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def bench_json(*extra):
    code, out, err = run_cli("bench", "--model", TINY, "--batch", 3, "--seq", 16, "--iters", 2, "--threads", 1,
                             "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out.splitlines()[-1])


def test_profile_counts_every_op_of_a_forward_from_the_config():
    config = json.loads((TINY / "config.json").read_text())
    layers = config["num_hidden_layers"]
    result = bench_json("--verbose-kernels")
    ops = {row["op"]: row for row in result["ops"]}
    # Post-Norm BERT: the embedding norm, then two norms per layer; one call per layer for each GEMM
    # and for attention; one embedding and one heads call per forward.
    assert ops["layer norm"]["calls"] == 2 * layers + 1
    for gemm in ("QKV GEMM", "attention output GEMM", "FFN in GEMM + activation", "FFN out GEMM"):
        assert ops[gemm]["calls"] == layers, gemm
        assert ops[gemm]["gflops"] > 0
    assert ops["attention (QK^T, softmax, PV)"]["calls"] == layers
    assert ops["embedding"]["calls"] == 1 and ops["pooler and heads"]["calls"] == 1
    assert ops["rotary"]["calls"] == 0  # absolute positions
    assert ops["int8/bf16 conversion of GEMM inputs"]["calls"] == 0  # f32 converts nothing
    assert all(row["ms"] >= 0 for row in result["ops"])
    assert sum(row["share"] for row in result["ops"]) == pytest.approx(1.0, abs=1e-9)


def test_profile_counts_int8_quantisations_one_per_gemm_input():
    layers = json.loads((TINY / "config.json").read_text())["num_hidden_layers"]
    ops = {row["op"]: row for row in bench_json("--verbose-kernels", "--precision", "int8")["ops"]}
    assert ops["int8/bf16 conversion of GEMM inputs"]["calls"] == 4 * layers


def test_table_output_prints_the_profile_after_the_figures():
    code, out, err = run_cli("bench", "--model", TINY, "--batch", 2, "--seq", 8, "--iters", 1, "--threads", 1,
                             "--verbose-kernels")
    assert code == 0, err
    lines = [line for line in out.splitlines() if not line.startswith("onednn_verbose")]
    header = next(i for i, line in enumerate(lines) if line.startswith("op (per forward, exclusive)"))
    assert any(line.startswith("median_ms") for line in lines[:header])
    assert sum(1 for line in lines[header + 1:] if line.strip()) == 11  # one row per op kind
    # oneDNN names the kernel of every primitive the warm-up ran.
    assert any(line.startswith("onednn_verbose,exec,cpu,matmul") for line in out.splitlines())


def test_without_the_flag_there_is_no_profile():
    assert "ops" not in bench_json()


def test_precision_auto_is_bf16_exactly_where_the_cpu_has_native_bf16():
    flags = cpu_flags()
    native_bf16 = "avx512_bf16" in flags or "amx_bf16" in flags
    assert bench_json("--precision", "auto")["precision"] == ("bf16" if native_bf16 else "f32")


def test_precision_auto_is_accepted_everywhere_precision_is():
    code, out, err = run_cli("classify", "--model", TINY, "--template", "这是一则{label}新闻", "--labels", "体育,财经",
                             "--precision", "auto", "梅西进球")
    assert code == 0, err
    assert len(out.splitlines()) == 1


def test_element_kernels_follow_the_cpu_flags():
    flags = cpu_flags()
    if {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= flags:
        want = "x86-64-v4"
    elif {"avx2", "fma"} <= flags:
        want = "x86-64-v3"
    else:
        want = "baseline"
    code, out, err = run_cli("inspect", "--model", TINY, "--format", "json")
    assert code == 0, err
    info = json.loads(out)
    assert info["element_kernels"] in (want, "native")  # native: a -DNSPBERT_NATIVE=ON build
    assert info["cpu_isa"]
    assert bench_json()["element_kernels"] == info["element_kernels"]
