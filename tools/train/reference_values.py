"""Expected outputs of a trained folder, computed by this directory's PyTorch network (not by
nspbert), for the project test tests/trained_model_test.cc.

  /usr/bin/python3 tools/train/reference_values.py --model models/pretrained/zh-mini \
      --out tests/data/trained/zh-mini.json

Inputs: 50 prompt/text pairs (TNEWS-style headlines and EPRSTMT-style reviews with the shipped
templates), tokenised by `nspbert tokenize`: the ids are inputs here, the outputs are torch's.
"""
import argparse
import json
import subprocess

import torch

from bert_model import load_folder

HEADLINES = ["梅西超越贝利成为南美射手王", "央行宣布下调存款准备金率", "新款电动汽车续航突破一千公里",
             "高考志愿填报的五个误区", "这部电影的票房为何一路走低", "外交部回应南海问题",
             "我国成功发射新一代气象卫星", "农民种植大棚蔬菜增收致富", "英雄联盟全球总决赛落幕",
             "故宫博物院推出冬季文化展"]
REVIEWS = ["物流很快，质量也不错，下次还来", "用了两天就坏了，客服也不理人", "性价比很高，推荐购买",
           "包装破损，东西也是旧的，差评", "颜色和图片一样，很喜欢", "声音太小了，完全听不清楚",
           "给老人买的，老人说好用", "跟描述不符，退货了", "做工精致，手感很好", "穿了一次就起球，太失望了"]
NEWS_LABELS = ["体育", "财经", "科技"]
REVIEW_LABELS = ["好", "差"]


def pairs():
    out = [(f"这是一则{label}新闻", text) for text in HEADLINES for label in NEWS_LABELS]
    out += [(f"这次买的东西很{label}", text) for text in REVIEWS for label in REVIEW_LABELS]
    return out


def tokenize(nspbert, model_dir, items):
    lines = "".join(json.dumps({"a": a, "b": b}, ensure_ascii=False) + "\n" for a, b in items)
    result = subprocess.run([nspbert, "tokenize", "--model", model_dir, "--field", "a", "--pair-field", "b",
                             "--max-length", "128"], input=lines, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]


def forward(model, ids, types, mask, mlm_positions=()):
    ids, types, mask = (torch.tensor(v) for v in (ids, types, mask))
    with torch.no_grad():
        hidden = model.encode(ids, types, mask)
        rows = (torch.tensor([b for b, _ in mlm_positions], dtype=torch.long),
                torch.tensor([p for _, p in mlm_positions], dtype=torch.long))
        pooled, nsp, mlm = model.heads(hidden, rows)
    return hidden, pooled, nsp, mlm.log_softmax(-1)


def rounded(t):
    return [round(float(v), 6) for v in t.reshape(-1)] if t.dim() <= 1 else [rounded(r) for r in t]


def case(name, model, rows, with_hidden):
    width = max(len(r["ids"]) for r in rows)
    pad = lambda v: v + [0] * (width - len(v))
    ids = [pad(r["ids"]) for r in rows]
    types = [pad(r["type_ids"]) for r in rows]
    mask = [pad([1] * len(r["ids"])) for r in rows]
    mlm_positions = [(0, 1), (len(rows) - 1, len(rows[-1]["ids"]) - 2)]
    hidden, pooled, nsp, log_probs = forward(model, ids, types, mask, mlm_positions)
    expect = {"pooled": rounded(pooled), "nsp_logits": rounded(nsp),
              "nsp_prob_is_next": rounded(nsp.softmax(-1)[:, 0]), "mlm": []}
    for (b, p), lp in zip(mlm_positions, log_probs):
        top = lp.topk(10)
        expect["mlm"].append({"batch": b, "position": p, "top_ids": top.indices.tolist(),
                              "top_log_probs": rounded(top.values)})
    if with_hidden:
        expect["last_hidden_state"] = rounded(hidden * torch.tensor(mask)[..., None])
    return {"name": name, "input_ids": ids, "token_type_ids": types, "attention_mask": mask, "expect": expect}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--nspbert", default="build/nspbert")
    args = p.parse_args()
    model = load_folder(args.model)
    items = pairs()
    rows = tokenize(args.nspbert, args.model, items)
    cases = [case(f"pair_{i:02d}", model, [r], False) for i, r in enumerate(rows)]
    cases.append(case("padded_batch", model, rows[::12], True))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"model": args.model, "produced_by": "tools/train/reference_values.py (PyTorch)",
                   "pairs": [{"a": a, "b": b} for a, b in items], "cases": cases}, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
