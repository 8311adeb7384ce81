#!/usr/bin/env python3
"""Regenerates the word-segmentation test data in this folder from python3-jieba (the independent
reference; nspbert's own code is never used here):

- jieba_dict.txt: every line of jieba 0.42.1's dict.txt whose word occurs in one of SENTENCES
  (lower-cased or not), so the cases exercise real frequencies with a 10 kB dictionary;
- roformer-words-small/: a word-level RoFormer tokenizer folder: the test vocabulary
  ../vocab/zh_vocab.txt with its first [unusedN] slots holding WORDS, do_lower_case true, and the
  dictionary above as its jieba_dict.txt;
- cases.jsonl: per sentence the pieces of jieba.cut(text, HMM=False) under that dictionary, and the
  tokens and ids of the reference rule (tools/bench/jieba_parity.py), lower-cased first.

  python3 tests/data/wordseg/make_cases.py   (needs python3-jieba)
"""
import json, os, shutil, sys

try:
    import jieba
except ImportError:  # another interpreter than Debian's: use Debian's python3-jieba
    sys.path.append("/usr/lib/python3/dist-packages")
    import jieba

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "bench"))
from jieba_parity import reference_tokens  # noqa: E402

SENTENCES = [
    "南京市长江大桥",
    "结婚的和尚未结婚的",
    "我在AT&T工作了3年，iPhone 12和C++都很好用！",
    "ＡＢＣ１２３全角字符和ａｂｃ",
    "他说：“今天天气不错。”\r\n明天见\t再见　好的",
    "2024年GDP增长5.2%，e-mail地址是a_b@c.com",
    "İstanbul大学的ΟΔΟΣ和B超检查",
    "这是一则体育新闻",
    "这是一则财经新闻",
    "",
    "   ",
    "abc123def",
    "x",
    "[MASK]是一种颜色",
    "中华人民共和国成立了",
]
WORDS = ["南京市", "长江大桥", "结婚", "尚未", "工作", "天气", "不错", "明天", "iphone", "增长", "地址", "新闻",
         "体育", "财经", "这是", "一则", "今天", "大学", "c++", "检查", "好用", "中华人民共和国", "成立", "颜色"]
DEBIAN_DICT = "/usr/lib/python3/dist-packages/jieba/dict.txt"


def main():
    texts = SENTENCES + [s.lower() for s in SENTENCES]
    lines = [l for l in open(DEBIAN_DICT, encoding="utf-8") if any(l.split(" ")[0] in t for t in texts)]
    dict_path = os.path.join(HERE, "jieba_dict.txt")
    open(dict_path, "w", encoding="utf-8").write("".join(lines))

    folder = os.path.join(HERE, "roformer-words-small")
    os.makedirs(folder, exist_ok=True)
    vocab = open(os.path.join(HERE, "..", "vocab", "zh_vocab.txt"), encoding="utf-8").read().split("\n")
    if vocab[-1] == "":
        vocab.pop()
    unused = [i for i, token in enumerate(vocab) if token.startswith("[unused")]
    for i, word in zip(unused, WORDS):
        vocab[i] = word
    open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8").write("\n".join(vocab) + "\n")
    json.dump({"tokenizer_class": "RoFormerTokenizer", "do_lower_case": True},
              open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=2)
    json.dump({"model_type": "roformer", "vocab_size": len(vocab)}, open(os.path.join(folder, "config.json"), "w"),
              indent=2)
    shutil.copy(dict_path, os.path.join(folder, "jieba_dict.txt"))

    segmenter = jieba.Tokenizer(dict_path)
    jieba.setLogLevel(60)
    ids = {t: i for i, t in enumerate(vocab)}
    with open(os.path.join(HERE, "cases.jsonl"), "w", encoding="utf-8") as out:
        for text in SENTENCES:
            tokens = reference_tokens(text, ids, True, segmenter.cut)
            row = {"text": text, "pieces": list(segmenter.cut(text, HMM=False)),
                   "lower_pieces": list(segmenter.cut(text.lower(), HMM=False)),
                   "tokens": tokens, "ids": [ids.get(t, ids["[UNK]"]) for t in tokens]}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
