"""classify, score and evaluate give exactly the JSON the CLI prints (the CLI run as its own process)."""
import json

import pytest

from conftest import DATA, MODELS, ROOT, cli_jsonl, run_cli

BERT = MODELS / "bert-zh-tiny"
TEXTS = ["梅西超越贝利成为南美射手王", "央行宣布下调存款准备金率", "", "新款手机发布，搭载最新芯片", "x" * 300]
LABELS = ["体育", "财经", "科技", "娱乐"]
TASKS = ROOT / "tools" / "tasks"
FEWCLUE = DATA / "fewclue"

CLASSIFY_OPTIONS = [
    ({}, []),
    ({"top_k": 2, "normalize": True}, ["--top-k", 2, "--normalize"]),
    ({"calibrate": True, "position": "suffix"}, ["--calibrate", "--position", "suffix"]),
    ({"template": ["这是一则{label}新闻", "{label}："], "combine": "logsumexp", "max_length": 16},
     ["--template", "{label}：", "--combine", "logsumexp", "--max-length", 16]),
    ({"scorer": "mlm"}, ["--scorer", "mlm"]),
]


@pytest.mark.parametrize("kwargs,flags", CLASSIFY_OPTIONS, ids=["plain", "top_k", "calibrate", "templates", "mlm"])
def test_classify_equals_cli(bert_zh, kwargs, flags):
    kwargs = dict(kwargs)
    template = kwargs.pop("template", "这是一则{label}新闻")
    templates = template if isinstance(template, list) else [template]
    want = cli_jsonl("classify", "--model", BERT, "--threads", 1, "--template", templates[0], *flags,
                     "--labels", ",".join(LABELS), *TEXTS)
    got = bert_zh.classify(TEXTS, LABELS, template, **kwargs)
    assert got == want


def test_classify_records_with_ids_equal_cli_input_file(bert_zh, tmp_path):
    records = [{"text": t, "id": i} for i, t in enumerate(TEXTS)] + [{"id": 9}, {"text": 3}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    want = cli_jsonl("classify", "--model", BERT, "--threads", 1, "--template", "这是一则{label}新闻",
                     "--labels", ",".join(LABELS), "--input", path)
    assert bert_zh.classify(records, LABELS, "这是一则{label}新闻") == want
    assert want[-1]["error"] and want[-2]["error"]  # the bad records are line errors, as in the CLI


def test_classify_pandas_series(bert_zh):
    pd = pytest.importorskip("pandas")
    series = pd.Series(TEXTS[:2], index=[10, 20])
    assert bert_zh.classify(series, LABELS, "这是一则{label}新闻") == bert_zh.classify(TEXTS[:2], LABELS, "这是一则{label}新闻")


SCORE_TASKS = ["eprstmt", "tnews", "chid", "ocnli", "cluewsc", "csl"]


@pytest.mark.parametrize("task", SCORE_TASKS)
def test_score_equals_cli(bert_zh, task):
    spec, data = TASKS / f"{task}.json", FEWCLUE / f"{task}.jsonl"
    want = cli_jsonl("score", "--model", BERT, "--threads", 1, "--task", spec, "--input", data)
    assert list(bert_zh.score(str(spec), str(data))) == want
    records = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    spec_dict = json.loads(spec.read_text())
    assert list(bert_zh.score(spec_dict, iter(records), chunk_size=256)) == want


def test_score_with_overrides_and_thresholds_equals_cli(bert_zh, tmp_path):
    data, ocnli = FEWCLUE / "ocnli.jsonl", TASKS / "ocnli.json"
    saved = tmp_path / "th.json"
    want = cli_jsonl("score", "--model", BERT, "--threads", 1, "--task", ocnli, "--input", data, "--fit-on", data)
    assert list(bert_zh.score(ocnli, data, fit_on=str(data), save_thresholds=str(saved))) == want
    assert list(bert_zh.score(ocnli, data, thresholds=saved)) == want
    assert list(bert_zh.score(ocnli, data, thresholds=json.loads(saved.read_text()))) == want
    tnews = TASKS / "tnews.json"
    want = cli_jsonl("score", "--model", BERT, "--threads", 1, "--task", tnews, "--input", FEWCLUE / "tnews.jsonl",
                     "--top-k", 3, "--normalize", "--calibrate", "--chunk-size", 7)
    assert list(bert_zh.score(tnews, FEWCLUE / "tnews.jsonl", top_k=3, normalize=True, calibrate=True,
                              chunk_size=7)) == want


def test_score_is_lazy(bert_zh):
    pulled = []

    def records():
        for i in range(1000):
            pulled.append(i)
            yield {"sentence": "很好用", "id": i}

    it = bert_zh.score(TASKS / "eprstmt.json", records(), chunk_size=10)
    first = next(it)
    assert first["id"] == 0 and len(pulled) == 10


def test_score_bad_lines_equal_cli(bert_zh, tmp_path):
    lines = '{"id":1,"sentence":"很好用"}\n{"id":2,"sentence":42}\n\n{oops\n[1]\n'
    want = cli_jsonl("score", "--model", BERT, "--threads", 1, "--task", TASKS / "eprstmt.json", input=lines)
    path = tmp_path / "bad.jsonl"
    path.write_text(lines)
    assert list(bert_zh.score(TASKS / "eprstmt.json", path)) == want
    got = list(bert_zh.score(TASKS / "eprstmt.json", [{"id": 1, "sentence": "很好用"}, {"id": 2, "sentence": 42}]))
    assert got == want[:2]


@pytest.mark.parametrize("task", ["tnews", "bustm"])
def test_evaluate_equals_cli_json(bert_zh, task):
    _, out, _ = run_cli("eval", "--model", BERT, "--threads", 1, "--task", TASKS / f"{task}.json",
                        "--input", FEWCLUE / f"{task}.jsonl", "--format", "json")
    assert bert_zh.evaluate(TASKS / f"{task}.json", FEWCLUE / f"{task}.jsonl") == json.loads(out)
