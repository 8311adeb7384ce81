#!/usr/bin/env bash
# Times `nspbert rank` (cosine and geodesic) and `nspbert summarize` on 10,000 sentences in one call.
#
#   tools/bench/rank_10k.sh [NSPBERT] [MODEL_DIR] [FEWCLUE_DIR]
#
# Defaults: build/nspbert, tests/data/fixtures/models/bert-zh-tiny, ../shared/data/fewclue.
# The sentences are the FewCLUE sample's texts cut at 。！？; when that folder is missing (or
# yields too few), the similarity fixture texts are repeated with a numbered suffix.
# COUNT=N (default 10000), K=N (default 10), THREADS=N (default: all cores).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-$root/build/nspbert}
model=${2:-$root/tests/data/fixtures/models/bert-zh-tiny}
fewclue=${3:-$root/../shared/data/fewclue}
count=${COUNT:-10000}
k=${K:-10}
threads=${THREADS:-0}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$fewclue" "$root/tests/data/fixtures/similarity" "$work/texts.jsonl" "$count" <<'PY'
import glob, json, os, re, sys
fewclue, fixtures, out_path, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fields = ("sentence", "sentence1", "sentence2", "content", "abst", "text")
seen, sentences = set(), []
for path in sorted(glob.glob(os.path.join(fewclue, "*.jsonl"))):
    for raw in open(path, encoding="utf-8"):
        row = json.loads(raw)
        for f in fields:
            if isinstance(row.get(f), str):
                for s in re.split(r"(?<=[。！？])", row[f]):
                    s = s.strip()
                    if len(s) >= 4 and s not in seen:
                        seen.add(s)
                        sentences.append(s)
if len(sentences) < count:
    base = [t for p in sorted(glob.glob(os.path.join(fixtures, "*.json"))) for t in json.load(open(p))["texts"]]
    i = 0
    while len(sentences) < count:
        sentences.append(f"{base[i % len(base)]} ({i})")
        i += 1
with open(out_path, "w", encoding="utf-8") as out:
    for s in sentences[:count]:
        out.write(json.dumps({"text": s}, ensure_ascii=False) + "\n")
PY

query="手机用了一个月，电池不耐用，充电很慢"
lines=$(wc -l < "$work/texts.jsonl")
echo "sentences: $lines  model: $model  k: $k  threads: ${threads/#0/all}  max-length: 64"

time_it() {  # label, then the nspbert arguments; prints wall and CPU seconds and peak RSS
  local label=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$binary" "$@" --input "$work/texts.jsonl" --threads "$threads" \
    --max-length 64 > "$work/out" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r wall user system kb < "$work/time"
  printf '%-34s %7.2f s wall %7.2f s CPU  %5d MB peak RSS  %s output lines\n' "$label" "$wall" \
    "$(awk -v u="$user" -v s="$system" 'BEGIN { print u + s }')" $((kb / 1024)) "$(wc -l < "$work/out")"
}

time_it "embed (encoder only)" embed --model "$model" --format jsonl
time_it "rank --distance cosine" rank --model "$model" --query "$query" --distance cosine
time_it "rank --distance geodesic --k $k" rank --model "$model" --query "$query" --distance geodesic --k "$k"
time_it "summarize (mean centre) --k $k" summarize --model "$model" --no-split -n 5 --k "$k"
time_it "summarize --query --k $k" summarize --model "$model" --no-split -n 5 --k "$k" --query "$query"
