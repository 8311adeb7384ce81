"""Every error kind raises the matching nspbert exception with the CLI's one-line message; bad
arguments are errors, never crashes."""
import json

import numpy as np
import pytest

from conftest import DATA, MODELS, ROOT, cli_error

BERT = MODELS / "bert-zh-tiny"


def test_hierarchy_and_exit_codes(nspbert):
    assert issubclass(nspbert.Error, RuntimeError)
    for cls, code in ((nspbert.UsageError, 2), (nspbert.ModelError, 3), (nspbert.InputError, 3),
                      (nspbert.InternalError, 4)):
        assert issubclass(cls, nspbert.Error) and cls.exit_code == code


def test_missing_model_is_model_error_with_cli_message(nspbert, tmp_path):
    code, message = cli_error("inspect", "--model", tmp_path / "nope")
    with pytest.raises(nspbert.ModelError) as e:
        nspbert.Model(tmp_path / "nope")
    assert code == nspbert.ModelError.exit_code and str(e.value) == message


def test_broken_config_is_model_error_with_cli_message(nspbert, tmp_path):
    import shutil
    shutil.copytree(BERT, tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["model_type"] = "gpt2"
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    code, message = cli_error("inspect", "--model", tmp_path / "m")
    with pytest.raises(nspbert.ModelError) as e:
        nspbert.Model(tmp_path / "m")
    assert code == 3 and str(e.value) == message and "\n" not in message


def test_template_without_label_is_usage_error(bert_zh, nspbert):
    code, message = cli_error("classify", "--model", BERT, "--template", "没有标签", "--labels", "a,b", "文本")
    with pytest.raises(nspbert.UsageError) as e:
        bert_zh.classify(["文本"], ["a", "b"], "没有标签")
    assert code == 2 and str(e.value) == message


def test_duplicate_labels_is_usage_error(bert_zh, nspbert):
    code, message = cli_error("classify", "--model", BERT, "--template", "{label}", "--labels", "a,a", "文本")
    with pytest.raises(nspbert.UsageError) as e:
        bert_zh.classify(["文本"], ["a", "a"], "{label}")
    assert code == 2 and str(e.value) == message


def test_bad_task_spec_is_input_error(bert_zh, nspbert, tmp_path):
    spec = json.loads((ROOT / "tools" / "tasks" / "tnews.json").read_text())
    spec["colour"] = "blue"
    (tmp_path / "t.json").write_text(json.dumps(spec))
    code, message = cli_error("score", "--model", BERT, "--task", tmp_path / "t.json", "--input", tmp_path / "t.json")
    with pytest.raises(nspbert.InputError) as e:
        bert_zh.score(str(tmp_path / "t.json"), [])
    assert code == 3 and str(e.value) == message


def test_missing_input_file_is_input_error(bert_zh, nspbert, tmp_path):
    task = ROOT / "tools" / "tasks" / "tnews.json"
    code, message = cli_error("score", "--model", BERT, "--task", task, "--input", tmp_path / "none.jsonl")
    with pytest.raises(nspbert.InputError) as e:
        list(bert_zh.score(task, str(tmp_path / "none.jsonl")))
    assert code == 3 and str(e.value) == message


@pytest.mark.parametrize("request_ids", [[[101, 99999, 102]], [[101, -1, 102]]], ids=["past_vocab", "negative"])
def test_ids_outside_vocabulary_are_input_errors(bert_zh, nspbert, tmp_path, request_ids):
    (tmp_path / "r.json").write_text(json.dumps({"input_ids": request_ids}))
    code, message = cli_error("forward", "--model", BERT, "--input", tmp_path / "r.json")
    with pytest.raises(nspbert.InputError) as e:
        bert_zh.forward(request_ids)
    assert code == 3 and str(e.value) == message


def test_segment_and_position_errors_match_cli(bert_zh, nspbert, tmp_path):
    for extra in ({"token_type_ids": [[0, 5, 0]]}, {"position_ids": [[0, 1, 100000]]}, {"attention_mask": [[0, 0, 0]]}):
        request = {"input_ids": [[101, 102, 102]], **extra}
        (tmp_path / "r.json").write_text(json.dumps(request))
        code, message = cli_error("forward", "--model", BERT, "--input", tmp_path / "r.json")
        with pytest.raises(nspbert.InputError) as e:
            bert_zh.forward(**request)
        assert code == 3 and str(e.value) == message


def test_missing_head_is_model_error(nspbert):
    m = nspbert.Model(MODELS / "roformer-v2-zh-tiny", threads=1)
    with pytest.raises(nspbert.ModelError, match="no pooler|no NSP"):
        m.forward([[1, 2, 3]], outputs=["nsp_logits"])
    with pytest.raises(nspbert.ModelError, match="sequence-classification head"):
        m.pair_score([("a", "b")])


BAD_IDS = [
    ([[101.0, 102.0]], "must hold integers"),
    ([[101, 102], [101]], "different lengths|rows"),
    (np.zeros((2, 2, 2), dtype=np.int64), "2-D"),
    ([[2**40, 1]], "out of range"),
    ([], "non-empty|2-D"),
    ([["a", "b"]], "must hold integers"),
    (None, "must hold integers|2-D"),
]


@pytest.mark.parametrize("ids,match", BAD_IDS, ids=["float", "ragged", "3d", "huge", "empty", "strings", "none"])
def test_bad_ids_raise_input_error(bert_zh, nspbert, ids, match):
    with pytest.raises(nspbert.InputError, match=match):
        bert_zh.forward(ids)


def test_bad_arguments_are_errors(bert_zh, nspbert):
    with pytest.raises(nspbert.InputError, match="shape"):
        bert_zh.forward([[101, 102]], token_type_ids=[[0, 0, 0]])
    with pytest.raises(nspbert.InputError, match="out of range"):
        bert_zh.forward([[101, 102]], attention_mask=[[1, 2]])
    with pytest.raises(nspbert.UsageError):
        bert_zh.forward([[101, 102]], outputs=["everything"])
    with pytest.raises(nspbert.InputError, match="outside the batch"):
        bert_zh.forward([[101, 102]], mlm_positions=[(3, 0)])
    with pytest.raises(nspbert.UsageError):
        nspbert.Model(BERT, precision="fp8")
    with pytest.raises(nspbert.UsageError):
        nspbert.Model(BERT, threads=-1)
    with pytest.raises(nspbert.UsageError):
        bert_zh.classify(["x"], "体育,财经", "{label}")
    with pytest.raises(nspbert.UsageError):
        bert_zh.classify(["x"], ["a", "b"], "{label}", top_k=0)
    with pytest.raises(nspbert.InputError):
        bert_zh.embed(["ok", 3])
    with pytest.raises(nspbert.UsageError):
        bert_zh.embed(["ok"], pooling="max")
    with pytest.raises(nspbert.UsageError):
        bert_zh.rank("q", ["a"], distance="manhattan")
    with pytest.raises(nspbert.UsageError):
        bert_zh.score(ROOT / "tools" / "tasks" / "tnews.json", [], thresholds={"labels": []})
    with pytest.raises(nspbert.InputError):
        bert_zh.score(ROOT / "tools" / "tasks" / "ocnli.json", [], thresholds={"labels": 1})
    with pytest.raises(TypeError):
        bert_zh.tokenize(42)


def test_records_that_are_not_objects_are_line_errors(bert_zh):
    out = bert_zh.classify([{"text": "好"}, 5, None, {"text": float("nan")}], ["a", "b"], "{label}")
    assert "label" in out[0]
    assert [sorted(o) for o in out[1:]] == [["error", "line"]] * 3
    assert [o["line"] for o in out[1:]] == [2, 3, 4]


def test_user_iterator_exception_propagates(bert_zh):
    def broken():
        yield {"sentence": "好"}
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(bert_zh.score(ROOT / "tools" / "tasks" / "eprstmt.json", broken(), chunk_size=1))
