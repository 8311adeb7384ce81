#!/usr/bin/env python3
"""Writes a BERT- or Megatron-BERT-layout checkpoint of any size with random weights, for memory
and speed measurements where a real download is not wanted. Standard library only.

  tools/bench/make_random_checkpoint.py OUT_DIR [--family bert|megatron] [--layers 12] [--hidden 768]
      [--heads 12] [--intermediate 3072] [--vocab-from tests/data/fixtures/models/bert-zh-tiny] [--seed 0]

Defaults give a bert-base-chinese-sized model (about 102M parameters, 410 MB of F32). The folder
holds config.json, vocab.txt, tokenizer_config.json and model.safetensors in the Hugging Face
layout (with pooler, NSP head and MLM transform; the MLM decoder tied to the word embeddings).

Weights are N(0, 0.02) like BERT's initialiser, biases 0, LayerNorm gains 1. To stay fast in pure
Python, the values repeat from a 1M-entry random pool starting at a different offset per tensor;
the file is written tensor by tensor, so the script never holds the model in memory.
"""
import argparse, array, json, os, random, shutil, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POOL = 1 << 20


def tensors(family, layers, hidden, intermediate, vocab, positions=512, types=2):
    """(name, shape, kind) in file order; kind is 'normal', 'zeros' or 'ones'."""
    out = [("bert.embeddings.word_embeddings.weight", [vocab, hidden], "normal"),
           ("bert.embeddings.position_embeddings.weight", [positions, hidden], "normal"),
           ("bert.embeddings.token_type_embeddings.weight", [types, hidden], "normal")]
    if family == "bert":
        out += [("bert.embeddings.LayerNorm.weight", [hidden], "ones"),
                ("bert.embeddings.LayerNorm.bias", [hidden], "zeros")]
    for l in range(layers):
        p = f"bert.encoder.layer.{l}."
        for m in ("query", "key", "value"):
            out += [(p + f"attention.self.{m}.weight", [hidden, hidden], "normal"),
                    (p + f"attention.self.{m}.bias", [hidden], "zeros")]
        out += [(p + "attention.output.dense.weight", [hidden, hidden], "normal"),
                (p + "attention.output.dense.bias", [hidden], "zeros"),
                (p + "intermediate.dense.weight", [intermediate, hidden], "normal"),
                (p + "intermediate.dense.bias", [intermediate], "zeros"),
                (p + "output.dense.weight", [hidden, intermediate], "normal"),
                (p + "output.dense.bias", [hidden], "zeros")]
        # Post-norm: LayerNorm after each residual add; pre-norm (Megatron): before each block.
        first, second = ("attention.output.LayerNorm", "output.LayerNorm") if family == "bert" else ("attention.ln", "ln")
        for norm in (first, second):
            out += [(p + norm + ".weight", [hidden], "ones"), (p + norm + ".bias", [hidden], "zeros")]
    if family == "megatron":
        out += [("bert.encoder.ln.weight", [hidden], "ones"), ("bert.encoder.ln.bias", [hidden], "zeros")]
    out += [("bert.pooler.dense.weight", [hidden, hidden], "normal"),
            ("bert.pooler.dense.bias", [hidden], "zeros"),
            ("cls.seq_relationship.weight", [2, hidden], "normal"),
            ("cls.seq_relationship.bias", [2], "zeros"),
            ("cls.predictions.transform.dense.weight", [hidden, hidden], "normal"),
            ("cls.predictions.transform.dense.bias", [hidden], "zeros"),
            ("cls.predictions.transform.LayerNorm.weight", [hidden], "ones"),
            ("cls.predictions.transform.LayerNorm.bias", [hidden], "zeros"),
            ("cls.predictions.bias", [vocab], "zeros")]
    return out


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def write_values(f, n, kind, pool_bytes, rng):
    if kind == "normal":
        start = rng.randrange(POOL) * 4
        remaining = n * 4
        while remaining:
            chunk = pool_bytes[start:start + remaining]
            f.write(chunk)
            remaining -= len(chunk)
            start = 0
    else:
        block = array.array("f", [1.0 if kind == "ones" else 0.0]) * min(n, POOL)
        remaining = n
        while remaining:
            step = min(remaining, len(block))
            f.write(block[:step].tobytes())
            remaining -= step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--family", choices=("bert", "megatron"), default="bert")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--intermediate", type=int, default=3072)
    ap.add_argument("--vocab-from", default=os.path.join(ROOT, "tests/data/fixtures/models/bert-zh-tiny"),
                    help="folder whose vocab.txt and tokenizer_config.json are copied")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.hidden % a.heads:
        sys.exit("--hidden must be a multiple of --heads")
    if min(a.layers, a.hidden, a.heads, a.intermediate) < 1:
        sys.exit("sizes must be positive")

    os.makedirs(a.out, exist_ok=True)
    vocab_txt = os.path.join(a.vocab_from, "vocab.txt")
    shutil.copy(vocab_txt, os.path.join(a.out, "vocab.txt"))
    tok_config = os.path.join(a.vocab_from, "tokenizer_config.json")
    if os.path.exists(tok_config):
        shutil.copy(tok_config, os.path.join(a.out, "tokenizer_config.json"))
    with open(vocab_txt, encoding="utf-8") as f:
        vocab = sum(1 for _ in f)

    config = {"vocab_size": vocab, "hidden_size": a.hidden, "num_hidden_layers": a.layers,
              "num_attention_heads": a.heads, "intermediate_size": a.intermediate, "hidden_act": "gelu",
              "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
              "model_type": "bert" if a.family == "bert" else "megatron-bert",
              "architectures": ["BertForPreTraining" if a.family == "bert" else "MegatronBertForPreTraining"]}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    specs = tensors(a.family, a.layers, a.hidden, a.intermediate, vocab)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in specs:
        size = count(shape) * 4
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # keeps the data section 8-byte aligned, as safetensors does

    rng = random.Random(a.seed)
    pool = array.array("f", (rng.gauss(0.0, 0.02) for _ in range(POOL))).tobytes()
    pool_view = memoryview(pool)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for name, shape, kind in specs:
            write_values(f, count(shape), kind, pool_view, rng)
    params = sum(count(s) for _, s, _ in specs)
    print(f"{a.out}: {a.family}, {a.layers} layers, hidden {a.hidden}, {params / 1e6:.1f}M parameters, "
          f"{offset / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
