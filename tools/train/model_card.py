"""Writes a trained folder's model card (README.md) from its training log and the zero-shot report.

  /usr/bin/python3 tools/train/model_card.py --model models/pretrained/zh-mini --report zh-mini.zero_shot.json \
      --command "the pretrain.py command line"
"""
import argparse
import json
import os

TASK_NOTES = {"ocnli": "samples-contrast", "bustm": "samples-contrast", "csl": "samples-contrast",
              "cluewsc": "samples-contrast"}


def training_section(log, config):
    st, args, last = log["state"], log["args"], log["log"][-1]
    params = config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"], config["intermediate_size"]
    placement = "Pre-Norm (Megatron-BERT layout)" if args["pre_norm"] else "Post-Norm (bert-base-chinese layout)"
    return [
        f"- Network: {placement}, hidden {params[0]}, {params[1]} layers, {params[2]} heads, FFN {params[3]}, "
        f"bert-base-chinese's vocabulary ({config['vocab_size']} tokens), weights stored as F16.",
        f"- Objective: MLM (15% of tokens; 80% [MASK], 10% random, 10% kept) + NSP, as BertForPreTraining.",
        f"- Data: FewCLUE unlabeled + train text with labels dropped (58,112 records, 3.75 M characters; nothing "
        f"from dev/test), NSP pairs built by tools/train/corpus.py.",
        f"- Steps: {st['step']} of batch {args['batch']} (max length {args['max_length']}), {st['epoch']} full "
        f"epochs + part; {st['tokens']:,} tokens seen; AdamW lr {args['lr']} (warmup {args['warmup']}, linear decay), "
        f"seed {args['seed']}, {args['threads']} thread(s).",
        f"- Wall time in the training loop: {st['seconds'] / 60:.1f} min on this project's 2-core build machine "
        f"(two models trained side by side, one thread each).",
        f"- Final losses (mean of the last 50 steps): MLM {last['mlm_loss']:.3f}, NSP {last['nsp_loss']:.3f} "
        f"(NSP accuracy on training pairs {100 * last['nsp_accuracy']:.1f}%).",
    ]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--report", required=True, help="JSON written by zero_shot_report.py --json")
    p.add_argument("--command", required=True, help="how the model was trained, for the card")
    p.add_argument("--notes", default="", help="Markdown appended at the end")
    args = p.parse_args()
    name = os.path.basename(os.path.normpath(args.model))
    log = json.load(open(os.path.join(args.model, "training_log.json")))
    config = json.load(open(os.path.join(args.model, "config.json")))
    report = json.load(open(args.report))
    lines = [f"# {name}", "",
             "A small Chinese BERT pre-trained on this machine by `tools/train/pretrain.py`, so that nspbert's",
             "zero-shot figures, precision checks and norm comparisons stand on trained weights. It is tiny",
             "beside bert-base-chinese: use it to see the pipeline work, not for production accuracy.", "",
             "## Training", ""] + training_section(log, config) + ["", "Reproduce (from the repository root):", "",
             "```sh", args.command, "```", "", "![loss curve](loss_curve.svg)", "",
             "## Zero-shot accuracy on the FewCLUE dev files (nspbert, shipped task specs, f32)", "",
             "| task | dev lines | accuracy % | chance % | paper, UER BERT-base (test) % |", "|---|---|---|---|---|"]
    for task, r in report["accuracy"].items():
        kind = f" ({TASK_NOTES[task]})" if task in TASK_NOTES else ""
        lines.append(f"| {task.upper()}{kind} | {r['lines']} | **{100 * r['accuracy']:.1f}** | {r['chance']:.1f} | {r['paper']:.1f} |")
    if report["agreement"]:
        lines += ["", "## bf16 and int8 against f32 (same dev lines)", "",
                  "| task | precision | same label as f32 | max abs ΔP(IsNext) |", "|---|---|---|---|"]
        for key, r in report["agreement"].items():
            task, precision = key.split("/")
            lines.append(f"| {task.upper()} | {precision} | {100 * r['same_label']:.1f}% of {r['lines']} | {r['max_abs_delta_p']:.4f} |")
    if args.notes:
        lines += ["", args.notes]
    with open(os.path.join(args.model, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
