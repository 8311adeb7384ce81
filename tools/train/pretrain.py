"""Pre-trains a small Chinese BERT (MLM + NSP) and writes a Hugging Face folder nspbert loads.

  /usr/bin/python3 tools/train/pretrain.py --corpus PATH/fewclue_pretrain.jsonl \
      --out models/pretrained/zh-mini --work /tmp/zh-mini-work [--pre-norm] [--steps N]

Deterministic for a given seed and thread count; resumable: rerun the same command and it goes
on from the last checkpoint in --work. tools/train/README.md says how each shipped model was made.
"""
import argparse
import json
import os
import shutil
import time

import numpy as np
import torch
import torch.nn.functional as F

import corpus as data
from bert_model import BertForPreTraining, hf_state, load_state_rounded, write_safetensors
import report

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="fewclue_pretrain.jsonl (tools/train/README.md)")
    p.add_argument("--out", required=True, help="Hugging Face folder to write")
    p.add_argument("--work", required=True, help="checkpoints and the token cache (keep outside git)")
    p.add_argument("--vocab", default="tests/data/vocab/zh_vocab.txt", help="bert-base-chinese's vocab.txt")
    p.add_argument("--nspbert", default="build/nspbert", help="the tokenizer of record")
    p.add_argument("--pre-norm", action="store_true", help="Megatron-BERT layout instead of BERT's")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=1024)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--time-limit", type=float, default=0, help="stop (resumably) after this many minutes")
    p.add_argument("--export-now", action="store_true", help="write the folder from the last checkpoint and stop")
    p.add_argument("--stop-after", type=int, default=0,
                   help="end at this step (checkpoint and export) while the learning-rate schedule stays --steps long")
    return p.parse_args()


def model_config(args, vocab_size):
    return {"architectures": ["MegatronBertForPreTraining" if args.pre_norm else "BertForPreTraining"],
            "model_type": "megatron-bert" if args.pre_norm else "bert",
            "vocab_size": vocab_size, "hidden_size": args.hidden, "num_hidden_layers": args.layers,
            "num_attention_heads": args.heads, "intermediate_size": args.intermediate, "hidden_act": "gelu",
            "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
            "pad_token_id": 0, "initializer_range": 0.02}


def batches(pairs, batch_size, max_length, rng):
    """Length-bucketed batches (little padding), in a seeded order."""
    pairs = [data.truncate_pair(a, b, max_length) + (label,) for a, b, label in pairs]
    order = rng.permutation(len(pairs))
    group = batch_size * 50
    out = []
    for g in range(0, len(order), group):
        chunk = sorted(order[g:g + group], key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out += [[pairs[i] for i in chunk[s:s + batch_size]] for s in range(0, len(chunk), batch_size)]
    return [out[i] for i in rng.permutation(len(out))]


def collate(batch, special, vocab_size, rng):
    """Padded tensors with 15% of real tokens chosen for MLM: 80% [MASK], 10% random, 10% kept."""
    t = max(len(a) + len(b) + 3 for a, b, _ in batch)
    ids = np.zeros((len(batch), t), np.int64)
    types = np.zeros_like(ids)
    for i, (a, b, _) in enumerate(batch):
        row = np.concatenate([[special["[CLS]"]], a, [special["[SEP]"]], b, [special["[SEP]"]]])
        ids[i, :len(row)] = row
        types[i, len(a) + 2:len(row)] = 1
    mask = ids != 0
    real = mask & ~np.isin(ids, [special["[CLS]"], special["[SEP]"]])
    chosen = real & (rng.random(ids.shape) < 0.15)
    labels = ids[chosen]
    inputs = ids.copy()
    roll = rng.random(ids.shape)
    inputs[chosen & (roll < 0.8)] = special["[MASK]"]
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = rng.integers(special["[MASK]"] + 1, vocab_size, size=swap.sum())
    nsp = np.array([label for _, _, label in batch])
    rows = np.nonzero(chosen)
    return (torch.from_numpy(inputs), torch.from_numpy(types), torch.from_numpy(mask),
            (torch.from_numpy(rows[0]), torch.from_numpy(rows[1])), torch.from_numpy(labels), torch.from_numpy(nsp))


def learning_rate(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    return args.lr * max(0.0, (args.steps - step) / (args.steps - args.warmup))


class Trainer:
    def __init__(self, args):
        self.args = args
        os.makedirs(args.work, exist_ok=True)
        vocab = [line.rstrip("\n") for line in open(args.vocab, encoding="utf-8")]
        self.special = {tok: vocab.index(tok) for tok in SPECIALS}
        self.config = model_config(args, len(vocab))
        self.corpus = data.build_corpus(args.corpus, args.nspbert, args.vocab, args.work)
        torch.manual_seed(args.seed)
        self.model = BertForPreTraining(self.config, args.pre_norm)
        decay = [p for n, p in self.model.named_parameters() if p.dim() > 1]
        rest = [p for n, p in self.model.named_parameters() if p.dim() <= 1]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                                     lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
        self.state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "tokens": 0, "seconds": 0.0, "log": []}
        self.checkpoint = os.path.join(args.work, "checkpoint.pt")
        if os.path.exists(self.checkpoint):
            saved = torch.load(self.checkpoint)
            self.model.load_state_dict(saved["model"])
            self.opt.load_state_dict(saved["optimizer"])
            self.state = saved["state"]
            print(f"resumed at step {self.state['step']}", flush=True)

    def save(self):
        tmp = self.checkpoint + ".tmp"
        torch.save({"model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "state": self.state}, tmp)
        os.replace(tmp, self.checkpoint)

    def epoch_batches(self, epoch):
        pairs = data.epoch_pairs(self.corpus, epoch, self.args.seed)
        return batches(pairs, self.args.batch, self.args.max_length, np.random.default_rng([self.args.seed, epoch, 1]))

    def step(self, batch, rng):
        inputs, types, mask, rows, labels, nsp_labels = collate(batch, self.special, self.config["vocab_size"], rng)
        hidden = self.model.encode(inputs, types, mask)
        _, nsp, mlm = self.model.heads(hidden, rows)
        mlm_loss = F.cross_entropy(mlm, labels)
        nsp_loss = F.cross_entropy(nsp, nsp_labels)
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(self.state["step"], self.args)
        self.opt.zero_grad()
        (mlm_loss + nsp_loss).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        nsp_acc = (nsp.argmax(-1) == nsp_labels).float().mean().item()
        return mlm_loss.item(), nsp_loss.item(), nsp_acc, int(mask.sum())

    def run(self):
        args, st = self.args, self.state
        started, window = time.time(), []
        last = min(args.steps, args.stop_after or args.steps)
        while st["step"] < last:
            plan = self.epoch_batches(st["epoch"])
            while st["batch_in_epoch"] < len(plan) and st["step"] < last:
                rng = np.random.default_rng([args.seed, st["step"], 2])  # masks depend only on the step
                t0 = time.time()
                mlm, nsp, acc, tokens = self.step(plan[st["batch_in_epoch"]], rng)
                st["seconds"] += time.time() - t0
                st["step"] += 1
                st["batch_in_epoch"] += 1
                st["tokens"] += tokens
                window.append((mlm, nsp, acc, tokens, time.time() - t0))
                if st["step"] % 50 == 0 or st["step"] == args.steps:
                    self.log(window)
                    window = []
                if st["step"] % args.checkpoint_every == 0:
                    self.save()
                if args.time_limit and time.time() - started > args.time_limit * 60:
                    self.save()
                    print("time limit reached; rerun the same command to continue", flush=True)
                    return False
            if st["batch_in_epoch"] >= len(plan):
                st["epoch"] += 1
                st["batch_in_epoch"] = 0
        self.save()
        return True

    def log(self, window):
        st, args = self.state, self.args
        mlm, nsp, acc = (float(np.mean([w[i] for w in window])) for i in range(3))
        rate = sum(w[3] for w in window) / max(1e-9, sum(w[4] for w in window))
        per_step = sum(w[4] for w in window) / len(window)
        eta = (args.steps - st["step"]) * per_step
        st["log"].append({"step": st["step"], "epoch": st["epoch"], "mlm_loss": round(mlm, 4), "nsp_loss": round(nsp, 4),
                          "nsp_accuracy": round(acc, 4), "tokens": st["tokens"], "seconds": round(st["seconds"], 1)})
        print(f"step {st['step']}/{args.steps} epoch {st['epoch']} mlm {mlm:.3f} nsp {nsp:.3f} acc {acc:.3f} "
              f"{rate:,.0f} tokens/s ETA {eta / 60:.1f} min", flush=True)

    def export(self):
        out, args = self.args.out, self.args
        os.makedirs(out, exist_ok=True)
        write_safetensors(os.path.join(out, "model.safetensors"), hf_state(self.model))
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(self.config, f, indent=2)
        with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512}, f, indent=2)
        shutil.copyfile(args.vocab, os.path.join(out, "vocab.txt"))
        with open(os.path.join(out, "training_log.json"), "w") as f:
            json.dump({"args": vars(args), "state": {k: v for k, v in self.state.items() if k != "log"},
                       "log": self.state["log"]}, f, indent=1)
        report.loss_curve_svg(self.state["log"], os.path.join(out, "loss_curve.svg"),
                              "zh-mini" + ("-prenorm" if args.pre_norm else ""))
        load_state_rounded(self.model)  # the reference values below are for the F16 weights as shipped
        self.model.eval()
        return self.model


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    trainer = Trainer(args)
    if args.export_now or trainer.run():
        model = trainer.export()
        print(f"wrote {args.out}", flush=True)
        return model, trainer
    return None, trainer


if __name__ == "__main__":
    main()
