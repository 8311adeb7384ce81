#!/usr/bin/env bash
# Tokeniser throughput: times one `nspbert tokenize` process (one thread) over every text of
# the FewCLUE sample and prints MB/s of UTF-8 text.
#
#   tools/bench/tokenizer_bench.sh [NSPBERT] [FEWCLUE_DIR] [VOCAB]
#
# Defaults: build/nspbert, ../shared/data/fewclue, tests/data/vocab/zh_vocab.txt (uncased).
# REPEAT=N (default 10) feeds the corpus N times so start-up cost stays small.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-$root/build/nspbert}
fewclue=${2:-$root/../shared/data/fewclue}
vocab=${3:-$root/tests/data/vocab/zh_vocab.txt}
repeat=${REPEAT:-10}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The tasks name their text fields differently; every one becomes a {"text": ...} line.
python3 - "$fewclue" "$work/texts.jsonl" "$repeat" <<'PY'
import glob, json, os, sys
fewclue, out_path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
fields = ("sentence", "sentence1", "sentence2", "content", "abst", "text")
lines = []
for path in sorted(glob.glob(os.path.join(fewclue, "*.jsonl"))):
    for raw in open(path, encoding="utf-8"):
        row = json.loads(raw)
        lines += [json.dumps({"text": row[f]}, ensure_ascii=False) for f in fields if isinstance(row.get(f), str)]
with open(out_path, "w", encoding="utf-8") as out:
    for _ in range(repeat):
        out.write("\n".join(lines) + "\n")
text_bytes = sum(len(json.loads(l)["text"].encode()) for l in lines) * repeat
open(out_path + ".bytes", "w").write(f"{text_bytes} {len(lines) * repeat}\n")
PY
read -r text_bytes line_count < "$work/texts.jsonl.bytes"
file_bytes=$(stat -c %s "$work/texts.jsonl")

# Wall and CPU seconds: on a busy machine the CPU figure is the steadier one.
TIMEFORMAT='%R %U %S'
{ time OMP_NUM_THREADS=1 "$binary" tokenize --vocab "$vocab" --lower --input "$work/texts.jsonl" \
    --output "$work/out.jsonl" 2> "$work/stderr"; } 2> "$work/time" || { cat "$work/stderr" >&2; exit 1; }
read -r wall user system < "$work/time"

awk -v t="$text_bytes" -v f="$file_bytes" -v n="$line_count" -v wall="$wall" -v cpu="$(echo "$user $system" | awk '{print $1 + $2}')" 'BEGIN {
  printf "tokenize: %d texts, %.1f MB of text (%.1f MB JSONL), %.3f s wall, %.3f s CPU\n", n, t / 1e6, f / 1e6, wall, cpu
  printf "%.1f MB/s of text (wall), %.1f MB/s of text (CPU), %.0f texts/s (wall)\n", t / 1e6 / wall, t / 1e6 / cpu, n / wall
}'
