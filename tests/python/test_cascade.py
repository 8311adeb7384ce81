"""The cascade (--rescore-top K, --rescore-margin M; models/zero_shot/cascade.h): a bf16/int8 run whose
deciding labels are re-scored by an f32 copy of the model. Every expected value comes from separate
CLI processes: an --precision f32 run (the labels and scores the cascade must reproduce) and a plain
--precision int8 run (which labels int8 ranks first, and the scores the others keep)."""
import json

import pytest

from conftest import DATA, MODELS, ROOT, cli_error, run_cli

ZH_MINI = ROOT / "models" / "pretrained" / "zh-mini"
TNEWS = DATA / "fewclue" / "tnews.jsonl"
TNEWS_LABELS = [l["word"] for l in json.loads((ROOT / "tools" / "tasks" / "tnews.json").read_text())["labels"]]
CLASSIFY = ["classify", "--model", ZH_MINI, "--template", "这是一则{label}新闻", "--labels", ",".join(TNEWS_LABELS),
            "--field", "sentence", "--input", TNEWS, "--format", "jsonl"]


def rows(*args):
    code, out, err = run_cli(*args)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()], err


def by_label(row):
    return {s["label"]: s for s in row["scores"]}


def test_classify_int8_top_two_gives_f32_labels_and_f32_scores_for_the_two():
    f32, _ = rows(*CLASSIFY, "--precision", "f32")
    int8, _ = rows(*CLASSIFY, "--precision", "int8")
    cascade, err = rows(*CLASSIFY, "--precision", "int8", "--rescore-top", "2")
    assert err == ""  # no summary without --progress
    assert len(cascade) == len(f32) == 20
    assert [r["label"] for r in cascade] == [r["label"] for r in f32]
    for c, f, i in zip(cascade, f32, int8):
        assert list(c) == list(f) and [list(s) for s in c["scores"]] == [list(s) for s in f["scores"]]
        top_two = sorted(i["scores"], key=lambda s: -s["score"])[:2]  # what int8 ranked first
        for s in top_two:
            for field in ("score", "prob_is_next", "logit_gap"):
                assert by_label(c)[s["label"]][field] == pytest.approx(by_label(f)[s["label"]][field], abs=1e-6)
        rest = set(by_label(c)) - {s["label"] for s in top_two}
        assert all(by_label(c)[l]["score"] == by_label(i)[l]["score"] for l in rest)


def test_the_summary_line_comes_with_progress():
    _, err = rows(*CLASSIFY, "--precision", "int8", "--rescore-top", "2", "--progress")
    assert err.splitlines()[-1] == "nspbert: cascade: re-scored 40 of 300 scores in f32 (on 20 of 20 lines)"
    _, err = rows(*CLASSIFY, "--precision", "int8", "--rescore-top", "2", "--rescore-margin", "0", "--progress")
    assert err.splitlines()[-1] == "nspbert: cascade: re-scored 0 of 300 scores in f32 (on 0 of 20 lines)"


def test_top_k_output_lists_the_predicted_label_first():
    cascade, _ = rows(*CLASSIFY, "--precision", "int8", "--rescore-top", "3", "--top-k", "3")
    assert all(r["scores"][0]["label"] == r["label"] and len(r["scores"]) == 3 for r in cascade)


@pytest.mark.parametrize("task", ["chid", "eprstmt"])
def test_score_with_every_candidate_rescored_equals_f32(task):
    args = ["score", "--task", task, "--model", ZH_MINI, "--input", DATA / "fewclue" / f"{task}.jsonl"]
    f32, _ = rows(*args, "--precision", "f32")
    cascade, _ = rows(*args, "--precision", "int8", "--rescore-top", "100")  # past the candidate count: all
    assert [r["label"] for r in cascade] == [r["label"] for r in f32]
    for c, f in zip(cascade, f32):
        assert [s["score"] for s in c["scores"]] == pytest.approx([s["score"] for s in f["scores"]], abs=1e-6)


def test_mlm_scorer_with_calibration_equals_f32_on_the_rescored_labels():
    args = [*CLASSIFY, "--scorer", "mlm", "--calibrate"]
    f32, _ = rows(*args, "--precision", "f32")
    cascade, _ = rows(*args, "--precision", "int8", "--rescore-top", "15")
    for c, f in zip(cascade, f32):
        assert c["label"] == f["label"]
        assert [s["score"] for s in c["scores"]] == pytest.approx([s["score"] for s in f["scores"]], abs=1e-6)


def test_samples_contrast_near_the_cut_points_equals_f32_with_a_wide_margin():
    ocnli = DATA / "fewclue" / "ocnli.jsonl"
    args = ["score", "--task", "ocnli", "--model", ZH_MINI, "--input", ocnli, "--fit-on", ocnli]
    f32, _ = rows(*args, "--precision", "f32")
    cascade, err = rows(*args, "--precision", "int8", "--rescore-margin", "100", "--progress")
    assert [r["label"] for r in cascade] == [r["label"] for r in f32]  # cut points fitted on f32 scores too
    assert [r["logit_gap"] for r in cascade] == pytest.approx([r["logit_gap"] for r in f32], abs=1e-5)
    assert "cascade: re-scored 20 of 20 scores in f32 (on 20 of 20 lines)" in err
    none, err = rows(*args, "--precision", "int8", "--rescore-margin", "0", "--progress")
    plain, _ = rows(*args, "--precision", "int8")
    assert [r["logit_gap"] for r in none] == [r["logit_gap"] for r in plain]


MODEL = MODELS / "bert-zh-tiny"
TINY_CLASSIFY = ["classify", "--model", MODEL, "--template", "这是一则{label}新闻", "--labels", "体育,财经", "梅西"]
OCNLI = ["score", "--task", "ocnli", "--model", MODEL, "--input", DATA / "fewclue" / "ocnli.jsonl"]
USAGE = [
    ([*TINY_CLASSIFY, "--rescore-top", "2"],
     "--rescore-top needs a fast --precision (bf16, int8, or auto on a CPU with native bf16): the cascade re-scores from it in f32"),
    ([*TINY_CLASSIFY, "--precision", "int8", "--rescore-top", "0"], "--rescore-top K must be at least 1, got 0"),
    ([*TINY_CLASSIFY, "--precision", "int8", "--rescore-top", "2", "--rescore-margin", "-0.5"],
     "--rescore-margin M must be a number >= 0, got -0.5"),
    ([*TINY_CLASSIFY, "--precision", "int8", "--rescore-margin", "0.1"],
     "--rescore-margin on candidates-contrast task 'classify' needs --rescore-top K: how many of a line's best "
     "labels to re-score in f32"),
    ([*OCNLI, "--precision", "int8", "--rescore-top", "2", "--fit-on", DATA / "fewclue" / "ocnli.jsonl"],
     "--rescore-top on samples-contrast task 'ocnli' needs --rescore-margin M: lines whose logit gap lies within M "
     "of a cut point are re-scored in f32"),
    ([*OCNLI, "--precision", "int8", "--rescore-margin", "0.5"],
     "the cascade on samples-contrast task 'ocnli' needs --thresholds or --fit-on: equal-size bins have no fixed "
     "cut points to re-decide near"),
]


@pytest.mark.parametrize("args,message", USAGE, ids=["f32", "k0", "negative-margin", "margin-without-k",
                                                     "samples-contrast-without-margin", "binned"])
def test_usage_errors_are_one_line_exit_2(args, message):
    code, err = cli_error(*args)
    assert (code, err) == (2, message)
    _, _, stderr = run_cli(*args, check=False)
    assert len(stderr.splitlines()) == 1


def test_eval_takes_the_cascade_flags():
    args = ["eval", "--task", "tnews", "--model", ZH_MINI, "--input", TNEWS, "--format", "json"]
    _, f32, _ = run_cli(*args, "--precision", "f32")
    _, cascade, _ = run_cli(*args, "--precision", "int8", "--rescore-top", "15")
    assert json.loads(cascade)["accuracy"] == json.loads(f32)["accuracy"]


# --- the Python package: the same keywords and errors ---------------------------------------

@pytest.fixture(scope="module")
def zh_mini_int8(nspbert):
    return nspbert.Model(ZH_MINI, threads=1, precision="int8")


def test_classify_keyword_equals_the_cli(zh_mini_int8):
    cli, _ = rows(*CLASSIFY, "--precision", "int8", "--rescore-top", "2", "--threads", "1")
    texts = [json.loads(l)["sentence"] for l in TNEWS.read_text(encoding="utf-8").splitlines() if l.strip()]
    got = zh_mini_int8.classify(texts, TNEWS_LABELS, "这是一则{label}新闻", rescore_top=2)
    assert [r["label"] for r in got] == [r["label"] for r in cli]
    for g, c in zip(got, cli):
        assert [s["score"] for s in g["scores"]] == pytest.approx([s["score"] for s in c["scores"]], abs=1e-6)


def test_score_keywords_equal_the_cli(zh_mini_int8):
    ocnli = DATA / "fewclue" / "ocnli.jsonl"
    cli, _ = rows("score", "--task", "ocnli", "--model", ZH_MINI, "--input", ocnli, "--fit-on", ocnli,
                  "--precision", "int8", "--rescore-margin", "0.3", "--threads", "1")
    got = list(zh_mini_int8.score(str(ROOT / "tools" / "tasks" / "ocnli.json"), str(ocnli), fit_on=str(ocnli),
                                  rescore_margin=0.3))
    assert [r["label"] for r in got] == [r["label"] for r in cli]


@pytest.mark.parametrize("kwargs,args", [
    (dict(rescore_top=0), ["--rescore-top", "0"]),
    (dict(rescore_top=2, rescore_margin=-0.5), ["--rescore-top", "2", "--rescore-margin", "-0.5"]),
    (dict(rescore_margin=0.1), ["--rescore-margin", "0.1"]),
])
def test_package_errors_are_the_cli_messages(nspbert, zh_mini_int8, kwargs, args):
    _, message = cli_error(*TINY_CLASSIFY[:-1], "--precision", "int8", *args, "梅西")
    with pytest.raises(nspbert.UsageError) as e:
        zh_mini_int8.classify(["梅西"], ["体育", "财经"], "这是一则{label}新闻", **kwargs)
    assert str(e.value) == message
    with pytest.raises(nspbert.UsageError):
        zh_mini_int8.classify(["梅西"], ["体育"], "{label}", rescore_top="2")
    with pytest.raises(nspbert.UsageError) as e:
        list(zh_mini_int8.score(str(ROOT / "tools" / "tasks" / "ocnli.json"),
                                str(DATA / "fewclue" / "ocnli.jsonl"), rescore_margin=0.5))
    assert "needs --thresholds or --fit-on" in str(e.value)


def test_package_refuses_the_cascade_on_an_f32_model(nspbert):
    m = nspbert.Model(MODEL, threads=1)
    with pytest.raises(nspbert.UsageError, match="needs a fast --precision"):
        m.classify(["梅西"], ["体育", "财经"], "这是一则{label}新闻", rescore_top=2)
