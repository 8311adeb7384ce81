#!/usr/bin/env python3
"""RoFormer word-level tokenisation: nspbert against python3-jieba + the reference rule, on every
text of the FewCLUE files, reporting identical tokens and tokens/s on both sides.

  python3 tools/bench/jieba_parity.py [--bin build/nspbert] [--model DIR] [--fewclue DIR]
                                      [--jieba-dict FILE] [--repeat N]

The reference is Hugging Face's slow RoFormerTokenizer as tokenizer/roformer_word_tokenizer.h
describes it: lower-case the text (str.lower) when do_lower_case, jieba.cut(text, HMM=False), a
piece in the vocabulary is one token, any other piece goes through the original BERT tokenizer
(google-research/bert tokenization.py, written out below). Every string value of every JSONL line
is a text (sentence, content, abst, keyword lists, candidates...).

Timing is end to end on both sides, wall clock and CPU time (the steadier figure on a busy machine): nspbert is one `tokenize --model` process (dictionary load,
JSON in and out included, one thread); the reference is the same work inside this Python process
(jieba's dictionary load, from its cache when present, included). Exit status 1 when any text
differs.
"""
import argparse, glob, json, os, resource, subprocess, sys, tempfile, time, unicodedata

try:
    import jieba
except ImportError:  # another interpreter than Debian's: use Debian's python3-jieba
    sys.path.append("/usr/lib/python3/dist-packages")
    import jieba

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- the original BERT tokenizer (google-research/bert tokenization.py) ----
def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_chinese_char(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, lower):
    cleaned = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        cleaned.append(" " if is_whitespace(c) else c)
    text = "".join(f" {c} " if is_chinese_char(ord(c)) else c for c in cleaned)
    out = []
    for token in text.strip().split():
        if lower:
            token = "".join(c for c in unicodedata.normalize("NFD", token.lower()) if unicodedata.category(c) != "Mn")
        word = []
        for c in token:
            if is_punctuation(c):
                if word:
                    out.append("".join(word))
                out.append(c)
                word = []
            else:
                word.append(c)
        if word:
            out.append("".join(word))
    return out


def wordpiece(word, vocab, unk="[UNK]", max_chars=200):
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def reference_tokens(text, vocab, lower, cut):
    tokens = []
    for piece in cut(text.lower() if lower else text, HMM=False):
        if piece in vocab:
            tokens.append(piece)
        else:
            for word in basic_tokenize(piece, lower):
                tokens += wordpiece(word, vocab)
    return tokens


# ---- the corpus ----
def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def read_texts(fewclue):
    texts = []
    for path in sorted(glob.glob(os.path.join(fewclue, "*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                texts += list(strings(json.loads(line)))
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nspbert"))
    ap.add_argument("--model", default=os.path.join(ROOT, "tests", "data", "fixtures", "tokenizers", "roformer-words-20k"))
    ap.add_argument("--fewclue", default=os.path.join(ROOT, "tests", "data", "fewclue"))
    ap.add_argument("--jieba-dict", help="dict.txt for both sides (default: python3-jieba's own)")
    ap.add_argument("--repeat", type=int, default=3, help="feed the corpus this many times to both sides")
    ap.add_argument("--show", type=int, default=5, help="differences to print")
    a = ap.parse_args()

    texts = read_texts(a.fewclue)
    vocab_lines = open(os.path.join(a.model, "vocab.txt"), encoding="utf-8").read().split("\n")
    if vocab_lines and vocab_lines[-1] == "":
        vocab_lines.pop()
    vocab = {token: i for i, token in enumerate(vocab_lines)}
    config = json.load(open(os.path.join(a.model, "tokenizer_config.json"), encoding="utf-8"))
    lower = config.get("do_lower_case", True)

    work = tempfile.mkdtemp()
    corpus = os.path.join(work, "texts.jsonl")
    with open(corpus, "w", encoding="utf-8") as f:
        for _ in range(a.repeat):
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")

    # nspbert, one process end to end.
    cmd = [a.bin, "tokenize", "--model", a.model, "--input", corpus, "--output", os.path.join(work, "ours.jsonl")]
    if a.jieba_dict:
        cmd += ["--jieba-dict", a.jieba_dict]
    start, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    ours_seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    ours = [json.loads(line) for line in open(os.path.join(work, "ours.jsonl"), encoding="utf-8")]

    # The reference, same work: load the dictionary, read the lines, tokenise, write JSONL.
    jieba.setLogLevel(60)
    start, start_cpu = time.perf_counter(), time.process_time()
    segmenter = jieba.Tokenizer(a.jieba_dict) if a.jieba_dict else jieba.Tokenizer()
    segmenter.initialize()
    with open(os.path.join(work, "reference.jsonl"), "w", encoding="utf-8") as out:
        reference = []
        for line in open(corpus, encoding="utf-8"):
            tokens = reference_tokens(json.loads(line)["text"], vocab, lower, segmenter.cut)
            out.write(json.dumps({"tokens": tokens, "ids": [vocab.get(t, vocab["[UNK]"]) for t in tokens]},
                                 ensure_ascii=False) + "\n")
            reference.append(tokens)
    ref_seconds, ref_cpu = time.perf_counter() - start, time.process_time() - start_cpu

    n = len(texts)
    same = sum(1 for i in range(n) if ours[i]["tokens"] == reference[i])
    same_all = sum(1 for i in range(len(reference)) if ours[i]["tokens"] == reference[i])
    shown = 0
    for i in range(n):
        if ours[i]["tokens"] != reference[i] and shown < a.show:
            shown += 1
            k = next((j for j, (x, y) in enumerate(zip(ours[i]["tokens"], reference[i])) if x != y),
                     min(len(ours[i]["tokens"]), len(reference[i])))
            print(f"differs: {texts[i][:40]!r} at token {k}: ours {ours[i]['tokens'][k:k + 5]} "
                  f"reference {reference[i][k:k + 5]}")
    token_count = sum(len(t) for t in reference)
    text_mb = sum(len(t.encode()) for t in texts) * a.repeat / 1e6
    print(f"texts: {n} ({len(reference)} with --repeat {a.repeat}), {text_mb:.1f} MB of text, {token_count} tokens")
    print(f"identical tokens: {same}/{n} texts ({100.0 * same / n:.2f}%), {same_all}/{len(reference)} lines")
    for name, wall, cpu in (("nspbert", ours_seconds, ours_cpu), ("python3-jieba", ref_seconds, ref_cpu)):
        print(f"{name + ':':15} {wall:8.3f} s wall {token_count / wall:10.0f} tokens/s | {cpu:8.3f} s CPU "
              f"{token_count / cpu:10.0f} tokens/s")
    print(f"speed-up:       {ref_seconds / ours_seconds:.1f}x wall, {ref_cpu / ours_cpu:.1f}x CPU")
    sys.exit(0 if same_all == len(reference) else 1)


if __name__ == "__main__":
    main()
