"""Threads, memory and interruption: two Python threads run the engine at once and get the
single-threaded answers; 10,000 calls do not grow the resident set; Ctrl-C in a long score loop
raises KeyboardInterrupt promptly."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from conftest import BUILD, MODELS, ROOT, SANITIZED

TEXTS = ["梅西超越贝利成为南美射手王", "央行宣布下调存款准备金率", "新款手机发布，搭载最新芯片"] * 20
LABELS = ["体育", "财经", "科技", "娱乐", "军事"]


def run_threads(work, count=2):
    results, errors, intervals = [None] * count, [], []

    def body(i):
        try:
            results[i] = work(i, intervals)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results, intervals


def overlapping(intervals):
    a, b = [sorted(x for x in intervals if x[2] == i) for i in (0, 1)]
    return any(s0 < e1 and s1 < e0 for s0, e0, _ in a for s1, e1, _ in b)


def test_two_threads_one_model_and_two_models(nspbert):
    shared = nspbert.Model(MODELS / "bert-zh-tiny", threads=1)
    other = nspbert.Model(MODELS / "megatron-zh-tiny", threads=1)
    want_shared = shared.classify(TEXTS, LABELS, "这是一则{label}新闻")
    want_other = other.classify(TEXTS, LABELS, "这是一则{label}新闻")
    ids = [[101, 2769, 4263, 872, 102]] * 8
    want_hidden = shared.forward(ids)["last_hidden_state"]

    def work(i, intervals):
        out = []
        for _ in range(6):
            start = time.perf_counter()
            out.append(shared.classify(TEXTS, LABELS, "这是一则{label}新闻"))
            out.append(other.classify(TEXTS, LABELS, "这是一则{label}新闻"))
            np.testing.assert_array_equal(shared.forward(ids)["last_hidden_state"], want_hidden)
            intervals.append((start, time.perf_counter(), i))
        return out

    results, intervals = run_threads(work)
    for out in results:
        assert out[0::2] == [want_shared] * 6 and out[1::2] == [want_other] * 6


def test_gil_is_released_while_the_engine_runs(nspbert):
    # Two threads each timing their own engine calls: with the GIL held through a call, no call
    # of one thread could start while a call of the other was running.
    m = nspbert.Model(MODELS / "bert-zh-tiny", threads=1)
    texts = TEXTS * 5

    def work(i, intervals):
        for _ in range(5):
            start = time.perf_counter()
            m.embed(texts)
            intervals.append((start, time.perf_counter(), i))

    _, intervals = run_threads(work)
    assert overlapping(intervals)


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(SANITIZED, reason="ASan's quarantine holds freed memory: RSS says nothing there")
def test_ten_thousand_calls_do_not_grow_rss(nspbert):
    m = nspbert.Model(MODELS / "bert-zh-tiny", threads=1)
    ids = np.array([[101, 2769, 4263, 872, 102, 0]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1, 1, 0]])

    def calls(n):
        for i in range(n):
            out = m.forward(ids, attention_mask=mask, outputs=["last_hidden_state", "nsp_logits", "stream_stats"])
            assert out["last_hidden_state"].shape == (1, 6, 32)
            m.tokenize("梅西超越贝利", "成为南美射手王", max_length=8)
            if i % 10 == 0:
                m.classify(["梅西超越贝利"], ["体育", "财经"], "{label}")
                m.embed(["梅西"])
                try:
                    m.forward([[101, 99999]])
                except nspbert.InputError:
                    pass

    calls(1000)  # warm-up: allocator pools, per-thread engine buffers
    before = rss_kb()
    calls(10000)
    growth = rss_kb() - before
    print(f"RSS before {before} kB, growth over 10,000 calls {growth} kB")
    assert growth < 4096, f"RSS grew by {growth} kB over 10,000 calls"


INTERRUPT_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    import nspbert
    m = nspbert.Model(sys.argv[2], threads=1)
    def records():
        while True:
            yield {"sentence": "这次买的东西很好用，物流也快", "id": 1}
    print("ready", flush=True)
    try:
        for _ in m.score(sys.argv[3], records(), chunk_size=64):
            pass
    except KeyboardInterrupt:
        print("interrupted", time.monotonic(), flush=True)
        sys.exit(7)
""")


def test_ctrl_c_in_a_long_score_loop_raises_keyboard_interrupt(tmp_path):
    script = tmp_path / "loop.py"
    script.write_text(INTERRUPT_SCRIPT)
    p = subprocess.Popen([sys.executable, str(script), str(BUILD / "python"), str(MODELS / "bert-zh-tiny"),
                          str(ROOT / "tools" / "tasks" / "eprstmt.json")], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 7, out
    delay = float(out.split()[1]) - sent
    print(f"KeyboardInterrupt {delay:.3f} s after SIGINT")
    assert delay < 5


def test_ctrl_c_inside_one_long_call(tmp_path):
    # One classify call over many texts: the signal is seen between chunks inside the C++ loop.
    script = tmp_path / "call.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        sys.path.insert(0, sys.argv[1])
        import nspbert
        m = nspbert.Model(sys.argv[2], threads=1)
        print("ready", flush=True)
        try:
            m.classify(["这次买的东西很好用，物流也快"] * 200000, ["好", "差"], "很{label}", chunk_size=32)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
            sys.exit(7)
    """))
    p = subprocess.Popen([sys.executable, str(script), str(BUILD / "python"), str(MODELS / "bert-zh-tiny")],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 7, out
    assert float(out.split()[1]) - sent < 5


class _InterruptedRecord(dict):
    """A record whose JSON conversion is interrupted: json.dumps calls items() on a dict subclass,
    so Ctrl-C arriving there is modelled by raising KeyboardInterrupt from it."""

    def items(self):
        raise KeyboardInterrupt


class _BrokenRecord(dict):
    def items(self):
        raise ValueError("no items today")


def test_ctrl_c_while_a_record_is_converted_stops_the_run(bert_zh):
    # Before: the KeyboardInterrupt became this record's "not JSON" error and the run went on, so
    # an endless source never stopped (seen as a hung Ctrl-C test under load).
    task = ROOT / "tools" / "tasks" / "eprstmt.json"
    with pytest.raises(KeyboardInterrupt):
        list(bert_zh.score(task, [{"sentence": "很好"}, _InterruptedRecord(sentence="很好")]))
    # An ordinary failure of the conversion stays a per-record error.
    rows = list(bert_zh.score(task, [{"sentence": "很好"}, _BrokenRecord(sentence="很好")]))
    assert "error" not in rows[0] and "not JSON" in rows[1]["error"]
