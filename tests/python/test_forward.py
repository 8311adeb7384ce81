"""Model.forward against the conformance fixtures (1e-3) and against `nspbert forward` run as a
separate process on the same request (1e-6)."""
import json

import numpy as np
import pytest

from conftest import DATA, MODELS, run_cli

CASES = [(f.stem, c) for f in sorted((DATA / "fixtures" / "forward").glob("*.json"))
         for c in json.loads(f.read_text())["cases"]]


@pytest.fixture(scope="module")
def models(nspbert):
    return {name: nspbert.Model(MODELS / name, threads=1) for name, _ in CASES}


def python_forward(model, case):
    e = case["expect"]
    outputs = ["last_hidden_state", "stream_stats"] + [o for o in ("pooled", "nsp_logits") if o in e]
    mlm = [(m["batch"], m["position"]) for m in e.get("mlm", [])]
    return model.forward(case["input_ids"], case["token_type_ids"], case["attention_mask"], outputs=outputs,
                         mlm_positions=mlm, window=case["options"].get("window"),
                         logn_base=case["options"].get("logn_base"))


@pytest.mark.parametrize("name,case", CASES, ids=[f"{n}/{c['name']}" for n, c in CASES])
def test_forward_matches_fixture(models, name, case):
    out = python_forward(models[name], case)
    e = case["expect"]
    assert out["last_hidden_state"].dtype == np.float32
    assert out["last_hidden_state"].shape == np.shape(e["last_hidden_state"])
    np.testing.assert_allclose(out["last_hidden_state"], e["last_hidden_state"], atol=1e-3, rtol=0)
    for key in ("pooled", "nsp_logits"):
        if key in e:
            np.testing.assert_allclose(out[key], e[key], atol=1e-3, rtol=0)
    for key in ("norm", "relative_update", "cosine_next"):
        np.testing.assert_allclose(out["stream_stats"][key], e["stream_stats"][key], atol=1e-3, rtol=0)
    for row, want in zip(out.get("mlm_log_probs", []), e.get("mlm", [])):
        np.testing.assert_allclose(row[want["top_ids"]], want["top_log_probs"], atol=1e-3, rtol=0)


@pytest.mark.parametrize("name,case", CASES, ids=[f"{n}/{c['name']}" for n, c in CASES])
def test_forward_matches_cli(models, name, case, tmp_path):
    e = case["expect"]
    request = {k: case[k] for k in ("input_ids", "token_type_ids", "attention_mask", "options")}
    request["mlm_positions"] = [[m["batch"], m["position"]] for m in e.get("mlm", [])]
    (tmp_path / "request.json").write_text(json.dumps(request))
    _, stdout, _ = run_cli("forward", "--model", MODELS / name, "--threads", 1, "--input", tmp_path / "request.json")
    cli = json.loads(stdout)
    out = python_forward(models[name], case)
    np.testing.assert_allclose(out["last_hidden_state"], cli["last_hidden_state"], atol=1e-6, rtol=0)
    for key in ("pooled", "nsp_logits"):
        if key in cli:
            np.testing.assert_allclose(out[key], cli[key], atol=1e-6, rtol=0)
    for key in ("norm", "relative_update", "cosine_next", "attention_entropy"):
        np.testing.assert_allclose(out["stream_stats"][key], cli["stream_stats"][key], atol=1e-6, rtol=0)
    for row, want in zip(out.get("mlm_log_probs", []), cli.get("mlm", [])):
        np.testing.assert_allclose(row, want["log_probs"], atol=1e-6, rtol=0)


def test_default_outputs_are_the_heads_present(models):
    case = next(c for n, c in CASES if n == "bert-zh-tiny")
    out = models["bert-zh-tiny"].forward(case["input_ids"])
    assert sorted(out) == ["last_hidden_state", "nsp_logits", "pooled"]
    prob = models["bert-zh-tiny"].forward(case["input_ids"], outputs=["nsp_prob_is_next", "nsp_logits"])
    l = prob["nsp_logits"].astype(np.float64)
    np.testing.assert_allclose(prob["nsp_prob_is_next"], 1 / (1 + np.exp(l[:, 1] - l[:, 0])), atol=1e-6)


def test_one_row_may_be_1d_and_any_integer_dtype_works(models):
    m = models["bert-zh-tiny"]
    ids = [101, 2769, 4263, 102]
    a = m.forward(ids)["last_hidden_state"]
    for dtype in (np.int64, np.uint16, np.int32):
        b = m.forward(np.array([ids], dtype=dtype), attention_mask=np.ones((1, 4), dtype=bool))["last_hidden_state"]
        np.testing.assert_array_equal(a, b)


def test_arrays_own_the_engine_buffer_and_outlive_the_model(nspbert):
    import gc
    model = nspbert.Model(MODELS / "bert-zh-tiny", threads=1)
    out = model.forward([[101, 2769, 4263, 102]])
    hidden = out["last_hidden_state"]
    expected = hidden.copy()
    assert not hidden.flags.owndata and hidden.base is not None  # a view of the engine's buffer, not a copy
    assert hidden.flags.c_contiguous and hidden.flags.writeable
    del model, out
    gc.collect()
    junk = [np.random.rand(1000) for _ in range(100)]  # reuse freed memory if anything dangled
    np.testing.assert_array_equal(hidden, expected)
    del junk
