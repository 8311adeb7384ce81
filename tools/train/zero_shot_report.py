"""Zero-shot FewCLUE dev accuracy of a model with the shipped task specs, and how bf16/int8 agree
with f32, all through the nspbert CLI. Prints Markdown tables (for the model card) and writes JSON.

  /usr/bin/python3 tools/train/zero_shot_report.py --model models/pretrained/zh-mini \
      [--data tests/data/fewclue-dev] [--json out.json]

The FewCLUE dev files are in tests/data/fewclue-dev (tests/data/fewclue holds their first 20 lines).
"""
import argparse
import json
import os
import subprocess

# task -> (chance accuracy %, the paper's zero-shot accuracy %, FewCLUE test)
TASKS = {"eprstmt": (50.0, 86.9), "tnews": (100 / 15, 51.0), "csldcp": (100 / 67, 47.6),
         "iflytek": (100 / 119, 41.6), "ocnli": (100 / 3, 37.4), "bustm": (50.0, 63.4),
         "csl": (50.0, 64.4), "cluewsc": (50.0, 59.4), "chid": (100 / 7, 52.0)}
AGREEMENT_TASKS = ("eprstmt", "tnews")


def run(args, command, task, extra=()):
    cmd = [args.nspbert, command, "--model", args.model, "--task", f"tools/tasks/{task}.json",
           "--input", os.path.join(args.data, f"{task}.jsonl"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def accuracy_table(args):
    rows, results = [], {}
    for task, (chance, paper) in TASKS.items():
        if task not in args.tasks.split(","):
            continue
        report = json.loads(run(args, "eval", task, ["--format", "json"]))
        results[task] = {"accuracy": report["accuracy"], "lines": report["evaluated"], "chance": chance, "paper": paper}
        rows.append(f"| {task.upper()} | {report['evaluated']} | **{100 * report['accuracy']:.1f}** | {chance:.1f} | {paper:.1f} |")
    head = ["| task | dev lines | zh-mini accuracy % | chance % | paper (UER BERT-base, test) % |", "|---|---|---|---|---|"]
    return head + rows, results


def probabilities(args, task, precision):
    out = run(args, "score", task, ["--precision", precision])
    lines = [json.loads(line) for line in out.splitlines()]
    return [(line["label"], [s["prob_is_next"] for s in line["scores"]]) for line in lines]


def agreement_table(args):
    rows, results = [], {}
    for task in AGREEMENT_TASKS:
        exact = probabilities(args, task, "f32")
        for precision in ("bf16", "int8"):
            reduced = probabilities(args, task, precision)
            same = sum(e[0] == r[0] for e, r in zip(exact, reduced))
            worst = max(abs(a - b) for e, r in zip(exact, reduced) for a, b in zip(e[1], r[1]))
            results[f"{task}/{precision}"] = {"same_label": same / len(exact), "max_abs_delta_p": worst, "lines": len(exact)}
            rows.append(f"| {task.upper()} | {precision} | {100 * same / len(exact):.1f}% ({same}/{len(exact)}) | {worst:.4f} |")
    head = ["| task | precision | same label as f32 | max abs ΔP(IsNext) |", "|---|---|---|---|"]
    return head + rows, results


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", default="tests/data/fewclue-dev", help="folder with the FewCLUE dev files as TASK.jsonl")
    p.add_argument("--nspbert", default="build/nspbert")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--skip-agreement", action="store_true")
    # IFLYTEK (119 labels) and CSLDCP (67) on their long texts take ~15 min each per model on 2 cores.
    p.add_argument("--tasks", default=",".join(t for t in TASKS if t not in ("iflytek", "csldcp")),
                   help="comma list (default: every task but iflytek and csldcp)")
    args = p.parse_args()
    table, accuracy = accuracy_table(args)
    print("\n".join(table))
    agreement = {}
    if not args.skip_agreement:
        table, agreement = agreement_table(args)
        print()
        print("\n".join(table))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "accuracy": accuracy, "agreement": agreement}, f, indent=1)


if __name__ == "__main__":
    main()
