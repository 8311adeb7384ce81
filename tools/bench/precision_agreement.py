#!/usr/bin/env python3
"""Agreement of --precision bf16 / int8 with f32 on the NSP fixtures, through `nspbert classify`.

  python3 tools/bench/precision_agreement.py [--bin build/nspbert] [--fixtures tests/data/fixtures]

Prints, per precision, the largest |P(IsNext) - P_f32(IsNext)| over every text x label and the share
of texts whose predicted label equals the f32 one.
"""
import argparse, glob, json, os, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/nspbert")
ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "fixtures"))
a = ap.parse_args()


def classify(model, task, precision):
    cmd = [a.bin, "classify", "--model", model, "--template", task["template"], "--labels", ",".join(task["labels"]),
           "--position", task["position"], "--max-length", str(task["maxlen"]), "--format", "json",
           "--precision", precision] + task["texts"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


for precision in ("bf16", "int8"):
    worst, same, total = 0.0, 0, 0
    for fx in sorted(glob.glob(os.path.join(a.fixtures, "nsp", "*.json"))):
        spec = json.load(open(fx, encoding="utf-8"))
        model = os.path.join(a.fixtures, spec["model"])
        for task in spec["tasks"]:
            exact, reduced = classify(model, task, "f32"), classify(model, task, precision)
            for e, r in zip(exact, reduced):
                pe = {s["label"]: s["prob_is_next"] for s in e["scores"]}
                for s in r["scores"]:
                    worst = max(worst, abs(s["prob_is_next"] - pe[s["label"]]))
                same += e["label"] == r["label"]
                total += 1
    print(json.dumps({"precision": precision, "max_abs_delta_prob_is_next": round(worst, 5),
                      "same_label_share": round(same / total, 4), "texts": total}))
