"""Pre-training data: the corpus cut into clauses, tokenised by nspbert itself, and NSP pairs.

Pair design (tools/train/README.md says why): IsNext pairs are the two halves of one record cut
at a clause boundary, a record and its `text_b`, or a record's keywords in a short frame followed
by the record; NotNext keeps A and takes B from another record, half the time of the same source
(a review against another review), so the head must judge content, not genre.
"""
import json
import os
import pickle
import re
import subprocess
import tempfile

import numpy as np

# A clause ends after one of these; BERT's basic tokenizer isolates each of them, so tokenising
# clauses one by one and concatenating the ids equals tokenising the whole text.
CLAUSE_END = re.compile(r"(?<=[。！？!?；;…，,：:])")
# Frames around keywords. Generic on purpose: no label names, the same frames for every source.
KEYWORD_FRAMES = ["{}", "关于{}", "这是关于{}的内容", "这是一则{}新闻", "这篇文章讲的是{}", "说的是{}"]


def clauses(text, max_chars=60):
    """Clauses of text, each at most about max_chars (long ones are cut where they must be)."""
    out = []
    for piece in CLAUSE_END.split(text.strip()):
        while len(piece) > max_chars:
            out.append(piece[:max_chars])
            piece = piece[max_chars:]
        if piece.strip():
            out.append(piece)
    return out


def split_keywords(keywords):
    return [k for k in re.split(r"[,，]", keywords) if k.strip()]


class Corpus:
    """Records as lists of clause-id arrays, plus keyword and frame ids."""

    def __init__(self, records, strings, ids):
        self.records = records
        self.ids = ids  # string -> np.int32 array of token ids
        self.sources = sorted({r["source"].split("/")[0] for r in records})
        self.by_source = {s: [i for i, r in enumerate(records) if r["source"].startswith(s + "/")]
                          for s in self.sources}
        self.frame_parts = [tuple(self.ids[p] for p in frame.split("{}")) for frame in KEYWORD_FRAMES]

    def clause_ids(self, text):
        return [self.ids[c] for c in clauses(text)]


def load_records(path):
    """Records with ChID's blank marker removed (its idiom is not in the corpus)."""
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    for r in records:
        r["text"] = r["text"].replace("#idiom#", "")
    return records


def strings_to_tokenize(records):
    strings = set()
    for r in records:
        strings.update(clauses(r["text"]))
        if "text_b" in r:
            strings.update(clauses(r["text_b"]))
        if "keywords" in r:
            strings.update(split_keywords(r["keywords"]))
    for frame in KEYWORD_FRAMES:
        strings.update(frame.split("{}"))
    strings.add("，")
    return sorted(strings)


def tokenize_with_nspbert(nspbert, vocab, strings):
    """Ids of every string from `nspbert tokenize`, so training sees what inference will."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.jsonl"), os.path.join(tmp, "out.jsonl")
        with open(src, "w", encoding="utf-8") as f:
            for s in strings:
                f.write(json.dumps({"text": s}, ensure_ascii=False) + "\n")
        subprocess.run([nspbert, "tokenize", "--vocab", vocab, "--input", src, "--output", dst],
                       check=True)
        with open(dst, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
    if len(rows) != len(strings):
        raise SystemExit(f"nspbert tokenize returned {len(rows)} lines for {len(strings)} strings")
    return {s: np.asarray(r["ids"], dtype=np.int32) for s, r in zip(strings, rows)}


def build_corpus(corpus_path, nspbert, vocab, cache_dir):
    """The tokenised corpus, cached in cache_dir (delete the cache to re-tokenise)."""
    os.makedirs(cache_dir, exist_ok=True)
    cache = os.path.join(cache_dir, "corpus_ids.pickle")
    records = load_records(corpus_path)
    strings = strings_to_tokenize(records)
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            ids = pickle.load(f)
    else:
        ids = tokenize_with_nspbert(nspbert, vocab, strings)
        with open(cache + ".tmp", "wb") as f:
            pickle.dump(ids, f)
        os.replace(cache + ".tmp", cache)
    return Corpus(records, strings, ids)


def concat(parts):
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def is_next_pair(corpus, index, rng):
    """(A ids, B ids) that belong together, or None when the record cannot be cut."""
    r = corpus.records[index]
    if "text_b" in r and rng.random() < 0.7:
        return concat(corpus.clause_ids(r["text"])), concat(corpus.clause_ids(r["text_b"]))
    if "keywords" in r and rng.random() < 0.5:
        words = split_keywords(r["keywords"])
        chosen = [words[i] for i in sorted(rng.choice(len(words), size=min(len(words), rng.integers(1, 4)),
                                                      replace=False))]
        joined = []
        for i, w in enumerate(chosen):
            joined += ([corpus.ids["，"]] if i else []) + [corpus.ids[w]]
        before, after = corpus.frame_parts[rng.integers(len(corpus.frame_parts))]
        return concat([before] + joined + [after]), concat(corpus.clause_ids(r["text"]))
    parts = corpus.clause_ids(r["text"])
    if len(parts) < 2:
        return None
    # A short A like a prompt is as common as an even split.
    cut = 1 if rng.random() < 0.5 else int(rng.integers(1, len(parts)))
    return concat(parts[:cut]), concat(parts[cut:])


def random_segment(corpus, exclude, rng, same_source_of=None):
    pool = corpus.by_source[same_source_of] if same_source_of else None
    while True:
        j = int(rng.choice(pool)) if pool else int(rng.integers(len(corpus.records)))
        if j == exclude:
            continue
        parts = corpus.clause_ids(corpus.records[j]["text"])
        if not parts:
            continue
        start = int(rng.integers(len(parts))) if len(parts) > 1 and rng.random() < 0.5 else 0
        return concat(parts[start:])


def epoch_pairs(corpus, epoch, seed):
    """Every record once as (A, B, is_next) in a seeded order; is_next 0 = IsNext, as HF labels it."""
    rng = np.random.default_rng([seed, epoch])
    pairs = []
    for index in rng.permutation(len(corpus.records)):
        pair = is_next_pair(corpus, int(index), rng)
        if pair is None:
            continue
        a, b = pair
        if len(a) == 0 or len(b) == 0:
            continue
        if rng.random() < 0.5:
            source = corpus.records[index]["source"].split("/")[0]
            b = random_segment(corpus, int(index), rng, source if rng.random() < 0.5 else None)
            pairs.append((a, b, 1))
        else:
            pairs.append((a, b, 0))
    return pairs


def truncate_pair(a, b, max_length):
    """nspbert's NSP rule: drop the last token of the longer side (A on a tie) until it fits."""
    la, lb = len(a), len(b)
    while la + lb + 3 > max_length:
        if la >= lb:
            la -= 1
        else:
            lb -= 1
    return a[:la], b[:lb]
