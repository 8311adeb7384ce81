"""A BertForPreTraining-shaped network in plain PyTorch, Post-Norm or Pre-Norm, whose state is
written under Hugging Face's names: bert-base-chinese's (Post-Norm) or Megatron-BERT's (Pre-Norm),
so nspbert loads the result like a downloaded checkpoint."""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, hidden, heads, intermediate, eps):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.inter = nn.Linear(hidden, intermediate)
        self.out = nn.Linear(intermediate, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)

    def attention(self, x, bias):
        b, t, h = x.shape
        d = h // self.heads
        split = lambda y: y.view(b, t, self.heads, d).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, h)
        return self.attn_out(context)

    def forward(self, x, bias, pre_norm):
        if pre_norm:  # x + F(Norm(x))
            x = x + self.attention(self.attn_norm(x), bias)
            return x + self.out(F.gelu(self.inter(self.ffn_norm(x))))
        x = self.attn_norm(x + self.attention(x, bias))  # Norm(x + F(x))
        return self.ffn_norm(x + self.out(F.gelu(self.inter(x))))


class BertForPreTraining(nn.Module):
    def __init__(self, cfg, pre_norm):
        super().__init__()
        h, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.pre_norm = pre_norm
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.position = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type = nn.Embedding(cfg["type_vocab_size"], h)
        self.emb_norm = None if pre_norm else nn.LayerNorm(h, eps=eps)  # Megatron has none
        self.layers = nn.ModuleList(Layer(h, cfg["num_attention_heads"], cfg["intermediate_size"], eps)
                                    for _ in range(cfg["num_hidden_layers"]))
        self.final_norm = nn.LayerNorm(h, eps=eps) if pre_norm else None
        self.pooler = nn.Linear(h, h)
        self.nsp = nn.Linear(h, 2)
        self.mlm_dense = nn.Linear(h, h)
        self.mlm_norm = nn.LayerNorm(h, eps=eps)
        self.mlm_bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def encode(self, ids, types, mask):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.word(ids) + self.position(positions) + self.token_type(types)
        if self.emb_norm is not None:
            x = self.emb_norm(x)
        bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, bias, self.pre_norm)
        return self.final_norm(x) if self.final_norm is not None else x

    def heads(self, hidden, mlm_rows):
        """NSP logits from [CLS]; MLM logits only for the (batch, position) rows asked for."""
        pooled = torch.tanh(self.pooler(hidden[:, 0]))
        nsp = self.nsp(pooled)
        masked = hidden[mlm_rows[0], mlm_rows[1]]
        t = self.mlm_norm(F.gelu(self.mlm_dense(masked)))
        return pooled, nsp, t @ self.word.weight.T + self.mlm_bias


def hf_state(model):
    """name -> tensor under bert-base-chinese (Post-Norm) or Megatron-BERT (Pre-Norm) names."""
    s = {"bert.embeddings.word_embeddings.weight": model.word.weight,
         "bert.embeddings.position_embeddings.weight": model.position.weight,
         "bert.embeddings.token_type_embeddings.weight": model.token_type.weight}
    if model.emb_norm is not None:
        s["bert.embeddings.LayerNorm.weight"] = model.emb_norm.weight
        s["bert.embeddings.LayerNorm.bias"] = model.emb_norm.bias
    post = not model.pre_norm
    for i, layer in enumerate(model.layers):
        p = f"bert.encoder.layer.{i}."
        linears = {"attention.self.query": layer.query, "attention.self.key": layer.key,
                   "attention.self.value": layer.value, "attention.output.dense": layer.attn_out,
                   "intermediate.dense": layer.inter, "output.dense": layer.out}
        norms = {("attention.output.LayerNorm" if post else "attention.ln"): layer.attn_norm,
                 ("output.LayerNorm" if post else "ln"): layer.ffn_norm}
        for name, mod in {**linears, **norms}.items():
            s[p + name + ".weight"], s[p + name + ".bias"] = mod.weight, mod.bias
    if model.final_norm is not None:
        s["bert.encoder.ln.weight"], s["bert.encoder.ln.bias"] = model.final_norm.weight, model.final_norm.bias
    for name, mod in {"bert.pooler.dense": model.pooler, "cls.seq_relationship": model.nsp,
                      "cls.predictions.transform.dense": model.mlm_dense,
                      "cls.predictions.transform.LayerNorm": model.mlm_norm}.items():
        s[name + ".weight"], s[name + ".bias"] = mod.weight, mod.bias
    s["cls.predictions.bias"] = model.mlm_bias
    return {k: v.detach() for k, v in s.items()}


def write_safetensors(path, tensors, dtype=np.float16):
    """A safetensors file (header JSON + raw little-endian data), every tensor as dtype."""
    code = {np.float16: "F16", np.float32: "F32"}[dtype]
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        data = tensors[name].float().numpy().astype(dtype).tobytes()
        header[name] = {"dtype": code, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            f.write(blob)


def load_state_rounded(model, dtype=np.float16):
    """Rounds the weights to dtype and back, so a reference forward sees what the file holds."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(p.numpy().astype(dtype).astype(np.float32)))


def read_safetensors(path):
    """name -> float32 tensor for an F16/F32 safetensors file."""
    dtypes = {"F16": np.float16, "F32": np.float32}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(blob[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.astype(np.float32))
    return out


def load_folder(folder):
    """The network of a folder this module wrote (config.json + model.safetensors)."""
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    model = BertForPreTraining(cfg, cfg["model_type"] == "megatron-bert")
    weights = read_safetensors(f"{folder}/model.safetensors")
    with torch.no_grad():
        for name, param in hf_state(model).items():  # hf_state's tensors share the parameters' storage
            param.copy_(weights[name])
    return model.eval()
