"""The CLI at first use (issue 19): one flag vocabulary, defaults in --help, the progress line, and
input that would otherwise give a silent wrong result. Every test runs build/nspbert as a process
and asserts on its exit code and output; expected values come from a second CLI run with the
canonical flags, from the fixtures, or are written out here by hand."""
import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

from conftest import CLI, DATA, MODELS, ROOT, run_cli

MODEL = MODELS / "bert-zh-tiny"
COMMANDS = ["bench", "classify", "compare-norms", "convert", "embed", "eval", "forward", "inspect", "merge",
            "pair-score", "rank", "score", "summarize", "tokenize"]
CLASSIFY = ["classify", "--model", MODEL, "--template", "这是一则{label}新闻"]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def usage_line(err):
    return [line for line in err.splitlines() if line.startswith("nspbert:")][-1]


# --- one flag vocabulary ---------------------------------------------------------------------

def test_a_mistyped_flag_is_reported_first_with_the_closest_match():
    code, _, err = run_cli(*CLASSIFY[:3], "--templat", "x", "--labels", "a,b", "t", check=False)
    assert code == 2
    assert usage_line(err) == ("nspbert: usage error: unknown flag --templat for 'classify' "
                               "(did you mean --template?) (see nspbert classify --help)")
    code, _, err = run_cli("score", "--model", MODEL, "--tsk", "eprstmt", check=False)
    assert code == 2 and "did you mean --task?" in err and "--task is required" not in err


def test_parse_errors_point_to_the_command_help():
    code, _, err = run_cli(*CLASSIFY, "--labels", "a,b", "--precision", "f64", "t", check=False)
    assert code == 2 and err.strip().endswith("(see nspbert classify --help)"), err


@pytest.mark.parametrize("old,new,command", [
    (["--text-field", "body"], ["--field", "body"], "classify"),
    (["--top", "1"], ["--top-k", "1"], "rank"),
])
def test_old_flag_spellings_still_work(tmp_path, old, new, command):
    src = write(tmp_path / "in.jsonl", '{"body": "梅西进球"}\n{"body": "股市大涨"}\n')
    if command == "classify":
        base = [*CLASSIFY, "--labels", "体育,财经", "--input", src]
    else:
        base = ["rank", "--model", MODEL, "--query", "足球", "--field", "body", "--input", src]
    _, expected, _ = run_cli(*base, *new)
    _, got, _ = run_cli(*base, *old)
    assert got == expected and jsonl(expected)


def test_compare_norms_takes_the_encoder_flags_and_chunk_size(tmp_path):
    src = write(tmp_path / "in.jsonl", "".join(json.dumps({"text": f"第{i}条新闻"}, ensure_ascii=False) + "\n"
                                           for i in range(5)))
    base = ["compare-norms", "--model", MODEL, "--input", src, "--format", "json"]
    _, expected, _ = run_cli(*base, "--chunk-size", "2")
    _, old, _ = run_cli(*base, "--chunk", "2")
    assert old == expected and json.loads(expected)["texts"] == 5
    for extra in (["--precision", "bf16"], ["--attention-window", "2"]):
        code, out, err = run_cli(*base, *extra)
        assert code == 0, err
        assert json.loads(out)["texts"] == 5
    # A window of 2 over 7-token texts changes the statistics: the flag is applied, not only accepted.
    windowed = json.loads(run_cli(*base, "--attention-window", "2")[1])["models"][0]
    full = json.loads(expected)["models"][0]
    assert windowed != full


def test_score_writes_a_json_array_with_format_json():
    lines = (DATA / "fewclue" / "eprstmt.jsonl").read_text(encoding="utf-8").splitlines()[:5]
    src = "\n".join(lines) + "\n"
    _, as_jsonl, _ = run_cli("score", "--task", "eprstmt", "--model", MODEL, input=src)
    _, as_json, _ = run_cli("score", "--task", "eprstmt", "--model", MODEL, "--format", "json", input=src)
    assert json.loads(as_json) == jsonl(as_jsonl) and len(jsonl(as_jsonl)) == 5


def test_task_by_name_equals_the_spec_file_and_a_miss_lists_the_names():
    src = (DATA / "fewclue" / "eprstmt.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n"
    by_file = run_cli("score", "--task", ROOT / "tools" / "tasks" / "eprstmt.json", "--model", MODEL, input=src)[1]
    by_name = run_cli("score", "--task", "EPRSTMT", "--model", MODEL, input=src)[1]
    assert by_name == by_file and jsonl(by_name)[0]["label"] in ("Positive", "Negative")
    code, _, err = run_cli("score", "--task", "eprstm", "--model", MODEL, input=src, check=False)
    assert code == 2
    assert "no shipped task of that name (shipped: agnews, bustm, chid" in err and "tnews" in err


# --- --help shows every default ----------------------------------------------------------------

def help_entries(command):
    """(flag line, whole entry) for every option in `nspbert COMMAND --help`."""
    _, out, _ = run_cli(command, "--help")
    entries, current = [], None
    for line in out.splitlines():
        if re.match(r"^  -", line):
            current = [line]
            entries.append(current)
        elif current is not None and line.startswith("    "):
            current.append(line)
        else:
            current = None
    return [(e[0], " ".join(e)) for e in entries]


# Options with no default by nature: one of two alternatives must be given.
NO_DEFAULT = {("classify", "--labels"), ("classify", "--labels-file"), ("tokenize", "--model"),
              ("tokenize", "--vocab")}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_the_default_of_every_option_that_takes_a_value(command):
    missing = []
    for flag_line, entry in help_entries(command):
        spec = flag_line.strip().split("  ")[0]  # the flag column; the description follows after 2+ spaces
        parts = spec.split()
        names, rest = parts[0], parts[1:]
        takes_value = bool(rest) and re.match(r"^(TEXT|INT|UINT|FLOAT|ENUM|INT:|UINT:|FLOAT:|TEXT:)", rest[0])
        if not takes_value or "REQUIRED" in flag_line:
            continue
        name = [n for n in names.split(",") if n.startswith("--")][0]
        if (command, name) in NO_DEFAULT:
            continue
        if not re.search(r"=\S", " ".join(rest)) and "(default" not in entry:
            missing.append(name)
    assert missing == [], f"nspbert {command} --help hides the default of {missing}"


# --- the progress line -----------------------------------------------------------------------

def many_lines(tmp_path, n):
    return write(tmp_path / "in.jsonl", "".join(json.dumps({"text": f"梅西第{i}次进球"}, ensure_ascii=False) + "\n"
                                               for i in range(n)))


def test_progress_is_off_when_stderr_is_not_a_terminal_and_exact_with_progress(tmp_path):
    src = many_lines(tmp_path, 700)
    code, out, err = run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src)
    assert code == 0 and err == "" and len(jsonl(out)) == 700
    code, out, err = run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src, "--progress")
    assert code == 0 and len(jsonl(out)) == 700
    assert re.fullmatch(r"nspbert: scored 700 lines in \d+\.\d s \(\d+\.\d lines/s\)\n", err), err
    code, _, err = run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src, "--progress", "--quiet", check=False)
    assert code == 2 and "excludes" in err


@pytest.mark.parametrize("command", ["embed", "tokenize", "rank", "summarize", "compare-norms"])
def test_every_streaming_command_reports_its_count(tmp_path, command):
    src = many_lines(tmp_path, 40)
    args = {"embed": ["embed", "--model", MODEL, "--input", src],
            "tokenize": ["tokenize", "--model", MODEL, "--input", src],
            "rank": ["rank", "--model", MODEL, "--query", "足球", "--input", src],
            "summarize": ["summarize", "--model", MODEL, "--input", src],
            "compare-norms": ["compare-norms", "--model", MODEL, "--input", src]}[command]
    code, _, err = run_cli(*args, "--progress")
    assert code == 0, err
    assert re.search(r"nspbert: .*\b40 lines in \d+\.\d s \(\d+\.\d lines/s\)", err), err


def run_on_terminal(args, seconds=120):
    """Runs the CLI with stdout and stderr on one pseudo-terminal; returns its raw bytes."""
    leader, follower = pty.openpty()
    env = dict(os.environ, OMP_WAIT_POLICY="passive", COLUMNS="200")
    env.pop("LD_PRELOAD", None)
    p = subprocess.Popen([str(CLI), *map(str, args)], stdout=follower, stderr=follower, stdin=subprocess.DEVNULL,
                         env=env)
    os.close(follower)
    raw, deadline = b"", time.time() + seconds
    while time.time() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            raw += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=10)
    os.close(leader)
    return p.returncode, raw.decode("utf-8", "replace")


def visible_lines(raw):
    """What a terminal shows: per line, the text after the last carriage return / erase."""
    lines = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        lines.append(re.split(r"\r(?:\x1b\[K)?", line)[-1])
    return lines


def test_on_a_terminal_progress_never_lands_inside_a_result_row(tmp_path):
    # Long enough (one thread) that the line is redrawn many times between result rows.
    src = many_lines(tmp_path, 50000)
    code, raw = run_on_terminal([*CLASSIFY, "--labels", "体育,财经,娱乐,科技", "--input", src, "--format", "table",
                                 "--chunk-size", "64", "--threads", "1"])
    assert code == 0
    shown = visible_lines(raw)
    rows = [l for l in shown if re.match(r"^\d+\s", l)]
    assert len(rows) == 50000
    assert not [l for l in shown if "lines/s" in l and not l.startswith("nspbert: scored 50000 lines in ")]
    [final] = [l for l in shown if l.startswith("nspbert: scored 50000 lines in ")]
    seconds = float(re.search(r" in (\d+\.\d) s", final).group(1))
    # The first draw comes at 0.5 s: a run of a second or more must have shown the line.
    assert seconds < 1.0 or "elapsed" in raw, f"no progress line was drawn during a {seconds} s run"


# --- input guards ----------------------------------------------------------------------------

def labels_of(out):
    return [s["label"] for s in jsonl(out)[0]["scores"]]


def test_a_byte_order_mark_is_not_part_of_a_label_or_of_the_first_json_line(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_bytes("\ufeff体育\n财经\n".encode("utf-8"))
    _, out, _ = run_cli(*CLASSIFY, "--labels-file", labels, "梅西")
    assert labels_of(out) == ["体育", "财经"]
    src = tmp_path / "in.jsonl"
    src.write_bytes('\ufeff{"text": "梅西"}\n'.encode("utf-8"))
    code, out, _ = run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src)
    assert code == 0 and jsonl(out)[0]["text"] == "梅西"


def test_full_width_commas_separate_labels_and_one_label_is_warned_about():
    _, full_width, err = run_cli(*CLASSIFY, "--labels", "体育，财经", "梅西")
    _, ascii_comma, _ = run_cli(*CLASSIFY, "--labels", "体育,财经", "梅西")
    assert full_width == ascii_comma and labels_of(full_width) == ["体育", "财经"] and err == ""
    code, _, err = run_cli(*CLASSIFY, "--labels", "体育", "梅西")
    assert code == 0 and "warning: one label only ('体育')" in err


def test_empty_input_is_warned_about_and_eval_shows_n_a(tmp_path):
    empty = write(tmp_path / "empty.jsonl", "\n")
    code, out, err = run_cli("score", "--task", "eprstmt", "--model", MODEL, "--input", empty)
    assert (code, out) == (0, "") and f"warning: {empty} has no input lines" in err
    code, out, err = run_cli("eval", "--task", "eprstmt", "--model", MODEL, "--input", empty)
    assert code == 0 and "has no input lines" in err
    assert re.search(r"accuracy\s+n/a\s+86\.90%", out), out
    report = json.loads(run_cli("eval", "--task", "eprstmt", "--model", MODEL, "--input", empty, "--format", "json")[1])
    assert report["accuracy"] is None and report["macro_f1"] is None


def test_eval_where_every_line_failed_shows_n_a_not_zero(tmp_path):
    bad = write(tmp_path / "bad.jsonl", '{"sentence": "好"}\n{"sentence": "差", "label": "Maybe"}\n')
    code, out, _ = run_cli("eval", "--task", "eprstmt", "--model", MODEL, "--input", bad)
    assert code == 1 and re.search(r"accuracy\s+n/a", out) and re.search(r"macro-F1\s+n/a", out)


@pytest.mark.parametrize("args", [
    ["inspect", "--model", MODEL],
    ["bench", "--model", MODEL, "--seq", "8", "--iters", "1"],
    ["compare-norms", "--model", MODEL, "--input", DATA / "fewclue" / "tnews.jsonl", "--field", "sentence",
     "--chunk-size", "8"],
    [*CLASSIFY, "--labels", "体育,财经", "梅西"],
])
def test_a_lost_output_is_an_error_not_exit_0(args):
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    env.pop("LD_PRELOAD", None)
    with open("/dev/full", "w") as full:
        p = subprocess.run([str(CLI), *map(str, args)], stdout=full, stderr=subprocess.PIPE, text=True, env=env,
                           timeout=600)
    assert p.returncode == 3, p.stderr
    assert "nspbert: error: cannot write standard output: No space left on device" in p.stderr


def test_forward_to_a_full_disk_is_an_error(tmp_path):
    request = write(tmp_path / "req.json", json.dumps({"input_ids": [[101, 2769, 102]]}))
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    env.pop("LD_PRELOAD", None)  # the sanitizer run preloads ASan for python3, not for the CLI
    with open("/dev/full", "w") as full:
        p = subprocess.run([str(CLI), "forward", "--model", str(MODEL), "--input", str(request)], stdout=full,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=600)
    assert p.returncode == 3 and "cannot write standard output" in p.stderr, p.stderr


@pytest.mark.parametrize("command", ["score", "classify", "eval"])
def test_an_output_that_is_the_input_is_refused(tmp_path, monkeypatch, command):
    text = '{"sentence": "很好", "text": "很好", "label": "Positive"}\n'
    src = write(tmp_path / "in.jsonl", text)
    args = {"score": ["score", "--task", "eprstmt", "--model", MODEL],
            "eval": ["eval", "--task", "eprstmt", "--model", MODEL],
            "classify": [*CLASSIFY, "--labels", "好,差"]}[command]
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*args, "--input", src, "--output", "./in.jsonl", check=False)
    assert code == 2 and "is the input file" in err
    assert src.read_text(encoding="utf-8") == text


def test_merge_refuses_to_write_over_its_input(tmp_path):
    src = write(tmp_path / "in.jsonl", '{"text": "a"}\n')
    code, _, err = run_cli("merge", "--input", src, "--output", src, src, check=False)
    assert code == 2 and "is the input file" in err and src.read_text() == '{"text": "a"}\n'


def test_a_huge_bad_line_is_quoted_in_at_most_about_200_characters(tmp_path):
    src = write(tmp_path / "in.jsonl", '{"text": "' + "x" * 3_000_000 + "\n")
    code, out, _ = run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src)
    assert code == 1
    [bad] = jsonl(out)
    assert bad["line"] == 1 and bad["error"].startswith("not valid JSON") and len(out) < 500


def test_plain_text_input_gets_a_hint(tmp_path):
    src = write(tmp_path / "in.txt", "梅西又进球了\n")
    code, out, _ = run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src)
    assert code == 1 and "this looks like plain text" in jsonl(out)[0]["error"]
    src = write(tmp_path / "broken.jsonl", '{"text": \n')
    assert "plain text" not in run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src)[1]


def test_every_command_reports_a_bad_line_in_one_shape(tmp_path):
    src = write(tmp_path / "in.jsonl", '{"id": 7, "other": 1}\n[1]\n')
    outputs = {
        "classify": run_cli(*CLASSIFY, "--labels", "体育,财经", "--input", src)[1],
        "embed": run_cli("embed", "--model", MODEL, "--input", src)[1],
        "score": run_cli("score", "--task", "tnews", "--model", MODEL, "--input", src)[1],
        "rank": run_cli("rank", "--model", MODEL, "--query", "q", "--input", src)[1],
    }
    for command, out in outputs.items():
        lines = out.splitlines()
        keys = [list(json.loads(line)) for line in lines]
        assert keys == [["line", "id", "error"], ["line", "error"]], (command, lines)


def test_summarize_keeps_the_space_between_latin_sentences():
    code, out, _ = run_cli("summarize", "--model", MODELS / "bert-en-tiny", "-n", "2", "--distance", "cosine",
                           "I am happy. The dog runs.")
    assert code == 0
    assert json.loads(out)["text"] == "I am happy. The dog runs."
    zh = json.loads(run_cli("summarize", "--model", MODEL, "-n", "2", "--distance", "cosine", "我很开心。狗在跑。")[1])
    assert zh["text"] == "我很开心。狗在跑。"


def test_bench_measures_its_ceiling_and_rounds_the_table():
    code, out, _ = run_cli("bench", "--model", MODEL, "--seq", "8", "--iters", "2", "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["ceiling_gflops"] > 1 and 0 < result["ceiling_share"]
    table = run_cli("bench", "--model", MODEL, "--seq", "8", "--iters", "2")[1]
    for line in table.splitlines():
        value = line.split()[-1]
        if re.fullmatch(r"[\d.]+%?", value):
            assert len(value.rstrip("%").partition(".")[2]) <= 2, line
