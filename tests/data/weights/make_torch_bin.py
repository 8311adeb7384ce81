"""Writes the pytorch_model.bin fixtures that tests/weights_test.cc reads.

Run with Debian's torch (`apt-get install python3-torch`; `/usr/bin/python3 make_torch_bin.py`)
from this folder. The outputs are checked in, so the tests need no torch. Every value is an
exact binary fraction that the C++ test recomputes with a plain loop.
"""
import collections
import os
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def state_dict():
    sd = collections.OrderedDict()
    word = torch.arange(24, dtype=torch.float32).reshape(6, 4) * 0.25 - 2.0
    sd["bert.embeddings.word_embeddings.weight"] = word
    sd["bert.embeddings.position_ids"] = torch.arange(8, dtype=torch.int64).unsqueeze(0)  # an int buffer
    sd["bert.embeddings.LayerNorm.gamma"] = 1.0 + torch.arange(4, dtype=torch.float32) * 0.25  # legacy names
    sd["bert.embeddings.LayerNorm.beta"] = torch.arange(4, dtype=torch.float32) * -0.5
    sd["bert.encoder.layer.0.attention.self.query.weight"] = ((torch.arange(12) - 6) * 0.125).to(torch.float16).reshape(3, 4)
    sd["bert.encoder.layer.0.attention.self.query.bias"] = (torch.arange(3) * 0.5 - 0.5).to(torch.bfloat16)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) + 100.0
    sd["bert.encoder.layer.0.output.dense.weight"] = base.t()  # strides (1, 4): not row-major
    sd["bert.encoder.layer.0.output.dense.bias"] = base[2]  # storage offset 8, shares base's storage
    sd["bert.pooler.dense.weight"] = torch.nn.Parameter(torch.arange(5, dtype=torch.float32) * 2.0)
    sd["double.weight"] = torch.arange(3, dtype=torch.float64) / 3.0
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    sd["special.f16"] = torch.tensor(
        [0.0, -0.0, 1.0, -2.0, 65504.0, 2.0**-24, 2.0**-14, float("inf"), float("-inf"), float("nan")],
        dtype=torch.float16)
    sd["special.bf16"] = torch.tensor(
        [0.0, -0.0, 1.0, torch.finfo(torch.bfloat16).max, 2.0**-133, 2.0**-127, float("inf"), float("-inf"),
         float("nan")], dtype=torch.bfloat16)
    sd["cls.predictions.decoder.weight"] = word  # tied: the same storage saved once
    # What Module.state_dict() attaches; torch pickles it as BUILD state.
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
    return sd


def main():
    tiny = os.path.join(HERE, "tiny_state_dict.bin")
    torch.save(state_dict(), tiny)

    small = collections.OrderedDict([("a.weight", torch.arange(4, dtype=torch.float32))])
    # Protocol 4 (SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, FRAME) with a transposed view.
    protocol4 = collections.OrderedDict([("a.weight", torch.arange(4, dtype=torch.float32)),
                                         ("b.weight", (torch.arange(6, dtype=torch.float32) - 3.0).reshape(2, 3).t())])
    torch.save(protocol4, os.path.join(HERE, "protocol4.bin"), pickle_protocol=4)
    # Enough tensors that the memo passes 256 entries (LONG_BINPUT / LONG_BINGET).
    many = collections.OrderedDict((f"layer.{i}.weight", torch.full((1,), i * 0.5)) for i in range(40))
    torch.save(many, os.path.join(HERE, "many_tensors.bin"))
    torch.save(small, os.path.join(HERE, "legacy_format.bin"), _use_new_zipfile_serialization=False)
    torch.save({"model": small, "step": 3}, os.path.join(HERE, "training_checkpoint.bin"))
    torch.save(torch.nn.Linear(2, 2), os.path.join(HERE, "whole_module.bin"))

    # The same archive with every entry deflated, which torch never writes.
    with zipfile.ZipFile(tiny) as source, zipfile.ZipFile(os.path.join(HERE, "deflated.bin"), "w",
                                                          zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))


if __name__ == "__main__":
    main()
