#!/usr/bin/python3
"""Writes the BERT-base-shaped speed peer: a random-weight checkpoint that nspbert loads
(config.json, vocab.txt, tokenizer_config.json, model.safetensors) and the same network as a
dynamic-shape model.onnx for ONNX Runtime.

  /usr/bin/python3 tools/bench/make_peer_model.py OUT_DIR [--layers 12]

Needs Debian's python3-torch (the ONNX export); takes a minute or two and 800 MB of disk.

A port of the BERT branch of ../shared/reference/peer_model.py and refmodel.py (the project's
independent reference): same weight draws (seed 1234, matrices scaled to std 0.02), same graph,
so the result is byte-identical to the peer those scripts write.
"""
import argparse, json, math, os, shutil, struct, sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "..", "tests", "data", "vocab", "zh_vocab.txt")


def bert_config(layers):
    return {"vocab_size": 21128, "hidden_size": 768, "num_hidden_layers": layers, "num_attention_heads": 12,
            "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2,
            "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert", "architectures": ["BertForPreTraining"]}


def param_shapes(cfg):
    """BertForPreTraining tensors in refmodel.py's order (the order fixes the random draws)."""
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    s = {"bert.embeddings.word_embeddings.weight": (V, H),
         "bert.embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], H),
         "bert.embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], H),
         "bert.embeddings.LayerNorm.weight": (H,), "bert.embeddings.LayerNorm.bias": (H,)}

    def linear(name, out, inp):
        s[name + ".weight"], s[name + ".bias"] = (out, inp), (out,)

    for l in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{l}"
        for n in ("query", "key", "value"):
            linear(f"{p}.attention.self.{n}", H, H)
        linear(f"{p}.attention.output.dense", H, H)
        linear(f"{p}.intermediate.dense", I, H)
        linear(f"{p}.output.dense", H, I)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[f"{p}.{n}.weight"], s[f"{p}.{n}.bias"] = (H,), (H,)
    linear("bert.pooler.dense", H, H)
    linear("cls.predictions.transform.dense", H, H)
    s["cls.predictions.transform.LayerNorm.weight"] = (H,)
    s["cls.predictions.transform.LayerNorm.bias"] = (H,)
    s["cls.predictions.bias"] = (V,)
    linear("cls.seq_relationship", 2, H)
    return s


def random_weights(cfg, seed=1234):
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith("LayerNorm.weight"):
            t = 1.0 + 0.2 * torch.randn(shape, generator=g)
        elif name.endswith("bias"):
            t = 0.05 * torch.randn(shape, generator=g)
        else:
            t = 0.15 * torch.randn(shape, generator=g)
        w[name] = t.float()
    for name in w:  # BERT-like scale so activations stay in a realistic range
        if w[name].dim() == 2:
            w[name] = w[name] * (0.02 / 0.15)
    return w


def save_safetensors(path, tensors):
    header, offset = {}, 0
    for name in sorted(tensors):
        size = tensors[name].numel() * 4
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for name in sorted(tensors):
            f.write(tensors[name].contiguous().numpy().tobytes())


class Bert(torch.nn.Module):
    """refmodel.forward restricted to BERT; outputs (nsp_logits, last_hidden_state)."""

    def __init__(self, cfg, w):
        super().__init__()
        self.cfg, self.names = cfg, sorted(w)
        for i, n in enumerate(self.names):
            self.register_buffer(f"w{i}", w[n])

    def forward(self, input_ids, token_type_ids, attention_mask):
        w = {n: getattr(self, f"w{i}") for i, n in enumerate(self.names)}
        cfg = self.cfg
        H, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
        hd = H // nh
        B, T = input_ids.shape

        def linear(x, n):
            return x @ w[n + ".weight"].t() + w[n + ".bias"]

        def norm(x, n):
            return F.layer_norm(x, (H,), w[n + ".weight"], w[n + ".bias"], eps)

        x = w["bert.embeddings.word_embeddings.weight"][input_ids] + \
            w["bert.embeddings.token_type_embeddings.weight"][token_type_ids]
        x = x + w["bert.embeddings.position_embeddings.weight"][torch.arange(T)][None]
        x = norm(x, "bert.embeddings.LayerNorm")
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        scale = 1.0 / math.sqrt(hd)

        def heads(t):
            return t.view(B, T, nh, hd).transpose(1, 2)

        for l in range(cfg["num_hidden_layers"]):
            p = f"bert.encoder.layer.{l}"
            q, k, v = (heads(linear(x, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
            a = torch.softmax((q @ k.transpose(-1, -2)) * scale + mask, -1)
            c = (a @ v).transpose(1, 2).reshape(B, T, H)
            x = norm(x + linear(c, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            f = linear(F.gelu(linear(x, f"{p}.intermediate.dense")), f"{p}.output.dense")
            x = norm(x + f, f"{p}.output.LayerNorm")
        pooled = torch.tanh(linear(x[:, 0], "bert.pooler.dense"))
        return linear(pooled, "cls.seq_relationship"), x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=12)
    a = ap.parse_args()
    if a.layers < 1:
        sys.exit("make_peer_model.py: error: --layers must be positive")
    os.makedirs(a.out, exist_ok=True)
    cfg = bert_config(a.layers)
    w = random_weights(cfg)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copy(VOCAB, os.path.join(a.out, "vocab.txt"))
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": False, "tokenizer_class": "BertTokenizer"}, f)
    # Written under temporary names and renamed last: an interrupted run never leaves a folder
    # that looks complete.
    save_safetensors(os.path.join(a.out, "model.safetensors.partial"), w)
    B, T = 1, 128
    ids = torch.randint(106, 21000, (B, T))
    ids[:, 0], ids[:, -1] = 101, 102
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[:, T // 2:] = 1
    am = torch.ones(B, T, dtype=torch.long)
    dynamic = {n: {0: "batch", 1: "seq"} for n in ("input_ids", "token_type_ids", "attention_mask")}
    with torch.no_grad():
        torch.onnx.export(Bert(cfg, w).eval(), (ids, tt, am), os.path.join(a.out, "model.onnx.partial"),
                          input_names=["input_ids", "token_type_ids", "attention_mask"],
                          output_names=["nsp_logits", "last_hidden_state"], opset_version=14,
                          do_constant_folding=True, dynamic_axes=dynamic)
    os.replace(os.path.join(a.out, "model.safetensors.partial"), os.path.join(a.out, "model.safetensors"))
    os.replace(os.path.join(a.out, "model.onnx.partial"), os.path.join(a.out, "model.onnx"))
    print(f"{a.out}: BERT-base-shaped peer, {a.layers} layers (model.safetensors, model.onnx)")


if __name__ == "__main__":
    main()
