"""Writes the seed corpora under tests/fuzz/corpus/ from files in tests/data. Run from anywhere
with python3 (standard library only); the outputs are checked in, so the fuzz run needs no Python.
Seeds stay small: libFuzzer mutates them, it does not need whole checkpoints."""
import json
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes), laid out in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    path = os.path.join(DATA, "fixtures", "models", "bert-zh-tiny", "model.safetensors")
    with open(path, "rb") as f:
        blob = f.read()
    length = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + length])
    data = blob[8 + length:]

    def raw(name):
        begin, end = header[name]["data_offsets"]
        return data[begin:end]

    def f32_to_bf16(raw32):  # truncation is enough for a seed
        return b"".join(raw32[i + 2:i + 4] for i in range(0, len(raw32), 4))

    ln = raw("bert.embeddings.LayerNorm.weight")
    nsp_bias = raw("cls.seq_relationship.bias")
    write("safetensors_fuzz", "bert_tiny_subset.safetensors", safetensors(
        [("bert.embeddings.LayerNorm.weight", "F32", [32], ln),
         ("cls.seq_relationship.bias", "F32", [2], nsp_bias),
         ("cls.seq_relationship.weight", "F32", [2, 4], raw("cls.seq_relationship.weight")[:32])],
        {"format": "pt"}))
    write("safetensors_fuzz", "mixed_dtypes.safetensors", safetensors(
        [("a.bf16", "BF16", [2, 4], f32_to_bf16(ln[:32])),
         ("b.f16", "F16", [4], struct.pack("<4e", 1.0, -2.0, 0.5, 65504.0)),
         ("c.f64", "F64", [1], struct.pack("<d", 0.25)),
         ("position_ids", "I64", [1, 3], struct.pack("<3q", 0, 1, 2)),
         ("mask", "BOOL", [2], b"\x01\x00"),
         ("empty", "F32", [0, 4], b""),
         ("scalar", "F32", [], struct.pack("<f", 3.5))]))
    write("safetensors_fuzz", "header_only.safetensors", safetensors([], {"format": "pt"}))


def zip64_archive(entries):
    """A stored zip whose central directory uses zip64 extras and a zip64 end record, as torch.save
    writes for files over 4 GB; Python's zipfile only does that when it must."""
    local, central = b"", b""
    for name, data in entries:
        raw = name.encode()
        offset = len(local)
        crc = zlib.crc32(data)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, len(data), len(data), len(raw), 0)
        local += raw + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(raw), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + raw + extra
    record = len(local) + len(central)
    zip64_end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central),
                            len(local))
    locator = struct.pack("<IIQI", 0x07064B50, 0, record, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return local + central + zip64_end + locator + end


def torch_bin_seeds():
    folder = os.path.join(DATA, "weights")
    for name in ["tiny_state_dict.bin", "protocol4.bin", "whole_module.bin", "training_checkpoint.bin",
                 "legacy_format.bin"]:
        with open(os.path.join(folder, name), "rb") as f:
            write("torch_bin_fuzz", name, f.read())
    with zipfile.ZipFile(os.path.join(folder, "protocol4.bin")) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    write("torch_bin_fuzz", "protocol4_zip64.bin", zip64_archive(entries))
    # Bare pickles: the target feeds inputs without a zip signature to the pickle interpreter.
    for name in ["tiny_state_dict.bin", "protocol4.bin"]:
        with zipfile.ZipFile(os.path.join(folder, name)) as archive:
            pickle = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
            write("torch_bin_fuzz", name.replace(".bin", ".pkl"), archive.read(pickle))


def config_seeds():
    models = os.path.join(DATA, "fixtures", "models")
    for model in sorted(os.listdir(models)):
        with open(os.path.join(models, model, "config.json"), "rb") as f:
            write("config_fuzz", model + ".json", f.read())


def tokenizer_seeds():
    # Byte 0 flags (bits 0-1 tokenizer, bit 2 LongestFirst, bit 3 single segment), bytes 1-2 max length.
    def seed(flags, max_length, a, b=None):
        return bytes([flags]) + struct.pack("<H", max_length) + (a if b is None else a + "\n" + b).encode("utf-8")

    with open(os.path.join(DATA, "tokenizer", "zh_cased.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    write("tokenizer_fuzz", "zh_pair", seed(0, 32, texts[0], texts[2]))
    write("tokenizer_fuzz", "zh_lower_punct", seed(1, 16, texts[79], texts[255]))
    write("tokenizer_fuzz", "en_uncased_accents", seed(2, 12, texts[295], texts[307]))
    write("tokenizer_fuzz", "longest_first", seed(6, 9, texts[304], texts[302]))
    write("tokenizer_fuzz", "single_mixed_scripts", seed(9, 64, texts[281] + " " + texts[297] + " " + texts[299]))
    write("tokenizer_fuzz", "controls_and_long_word", seed(2, 300, texts[300] + texts[298], texts[301] * 2))
    write("tokenizer_fuzz", "sigma_and_dotted_i", seed(2, 40, "ΟΔΟΣ ΣΑΣ. İstanbul ǅ", "Σ' Ὀδυσσεύς"))


def jieba_seeds():
    # Byte 0 flags: bit 0 the input starts with its own dictionary (up to a NUL), bit 1 also tokenise.
    with open(os.path.join(DATA, "wordseg", "cases.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    write("jieba_fuzz", "cases_tokenised", b"\x02" + "\n".join(texts).encode())
    write("jieba_fuzz", "cut_only", b"\x00" + (texts[0] + texts[2] + texts[4]).encode())
    write("jieba_fuzz", "own_dictionary", b"\x03" + "甲乙 1\n乙丙 1 n\n甲 +1_0\r\n".encode() + b"\x00" + "甲乙丙ab1".encode())
    write("jieba_fuzz", "bad_dictionary", b"\x01" + "甲乙\n".encode() + b"\x00" + "甲乙".encode())


def jsonl_seeds():
    fewclue = os.path.join(DATA, "fewclue")
    for name in ["tnews", "chid", "cluewsc", "ocnli", "csl"]:
        with open(os.path.join(fewclue, name + ".jsonl"), "rb") as f:
            lines = f.read().split(b"\n")[:2]
        write("jsonl_fuzz", name + ".jsonl", b"\n".join(lines) + b"\n")
    write("jsonl_fuzz", "mixed_errors.jsonl",
          '{"sentence": "好", "label": 1}\n\n  \n[1, 2]\n{"sentence": ["a", "b"], "label": true}\n{bad\n'
          '{"text": "x", "id": {"n": null}, "label": 1.5}\r\n{"sentence": "末"}')


if __name__ == "__main__":
    safetensors_seeds()
    torch_bin_seeds()
    config_seeds()
    tokenizer_seeds()
    jieba_seeds()
    jsonl_seeds()
