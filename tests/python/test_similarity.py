"""embed, rank, pair_score and compare_norms against the CLI (its own process) and the fixtures."""
import json
import struct

import numpy as np
import pytest

from conftest import DATA, MODELS, cli_jsonl, run_cli

FIXTURE = json.loads((DATA / "fixtures" / "similarity" / "bert-zh-tiny.json").read_text())
BERT = MODELS / "bert-zh-tiny"


@pytest.mark.parametrize("pooling,normalize", [("mean", False), ("cls", False), ("pooler", True)])
def test_embed_equals_cli(bert_zh, pooling, normalize):
    texts = FIXTURE["texts"]
    flags = ["--normalize"] if normalize else []
    want = cli_jsonl("embed", "--model", BERT, "--threads", 1, "--pooling", pooling, *flags, "--max-length", 64, *texts)
    got = bert_zh.embed(texts, pooling=pooling, normalize=normalize, max_length=64)
    assert got.dtype == np.float32 and got.shape == (len(texts), 32)
    np.testing.assert_array_equal(got, np.array([w["embedding"] for w in want], dtype=np.float32))


def test_embed_matches_fixture(bert_zh):
    got = bert_zh.embed(FIXTURE["texts"], pooling="mean", max_length=FIXTURE["maxlen"])
    np.testing.assert_allclose(got, FIXTURE["expect_embeddings_mean"], atol=1e-3, rtol=0)


@pytest.mark.parametrize("distance", ["cosine", "geodesic"])
def test_rank_equals_cli(bert_zh, distance):
    texts, query = FIXTURE["texts"], FIXTURE["query"]
    want = cli_jsonl("rank", "--model", BERT, "--threads", 1, "--query", query, "--distance", distance,
                     "--k", 3, "--top", 8, "--max-length", 64, *texts)
    assert bert_zh.rank(query, texts, distance=distance, k=3, top=8, max_length=64) == want


def test_overlength_error_refuses_like_cli(bert_zh, nspbert):
    long = "长" * 600
    code, _, err = run_cli("embed", "--model", BERT, "--overlength", "error", long, check=False)
    assert code == 1
    line = cli_jsonl("embed", "--model", BERT, "--overlength", "error", long)[0]
    with pytest.raises(nspbert.InputError) as e:
        bert_zh.embed([long], overlength="error")
    assert str(e.value) == "text 0: " + line["error"]
    with pytest.warns(UserWarning, match="position table"):
        bert_zh.embed([long])


def add_classifier(src, dst, outputs):
    """Copies a fixture model and appends classifier.weight/bias (F32) to its safetensors file."""
    import shutil
    shutil.copytree(src, dst)
    path = dst / "model.safetensors"
    blob = path.read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]
    rng = np.random.default_rng(7)
    weight = rng.standard_normal((outputs, 32)).astype("<f4") * 0.3
    bias = rng.standard_normal(outputs).astype("<f4")
    for name, arr in (("classifier.weight", weight), ("classifier.bias", bias)):
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [len(data), len(data) + arr.nbytes]}
        data += arr.tobytes()
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


@pytest.mark.parametrize("outputs", [1, 2])
def test_pair_score_equals_cli(nspbert, tmp_path, outputs):
    model_dir = tmp_path / "cross"
    add_classifier(BERT, model_dir, outputs)
    pairs = [("今天天气很好", "今天是晴天"), ("我喜欢猫", "股市大跌")]
    records = "".join(json.dumps({"sentence1": a, "sentence2": b}, ensure_ascii=False) + "\n" for a, b in pairs)
    want = cli_jsonl("pair-score", "--model", model_dir, "--threads", 1, input=records)
    m = nspbert.Model(model_dir, threads=1)
    assert m.pair_score(pairs) == want
    assert m.pair_score([{"sentence1": a, "sentence2": b} for a, b in pairs]) == want


def test_compare_norms_equals_cli(nspbert, tmp_path):
    texts = FIXTURE["texts"]
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts))
    models = [MODELS / "bert-zh-tiny", MODELS / "megatron-zh-tiny"]
    _, out, _ = run_cli("compare-norms", *[a for m in models for a in ("--model", m)], "--input", path,
                        "--max-length", 64, "--residual-scale", "deepnorm", "--format", "json", "--threads", 1)
    want = json.loads(out)
    got = nspbert.compare_norms([str(m) for m in models], texts, max_length=64, residual_scale="deepnorm", threads=1)
    assert got["input"] == f"<{len(texts)} texts>"
    del got["input"], want["input"]
    assert got == want
