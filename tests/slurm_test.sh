#!/usr/bin/env bash
# Scores a FewCLUE file on a real one-node Slurm cluster started here (tools/slurm/local_cluster.sh:
# munged, slurmctld, slurmd with a generated config, stopped at the end): a 3-task array of
# `score --shard` jobs and the dependent merge job must write exactly what one `nspbert score`
# process writes. Run by tools/run_tests.sh; needs root (the daemons run as root) and slurm-wlm + munge.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/nspbert}
dir=$(mktemp -d /tmp/nspbert-slurm-test.XXXXXX)
export SLURMCTLD_PORT=${SLURMCTLD_PORT:-16817} SLURMD_PORT=${SLURMD_PORT:-16818}
cleanup() { bash tools/slurm/local_cluster.sh stop "$dir/cluster" || true; rm -rf "$dir"; }
trap cleanup EXIT

model=tests/data/fixtures/models/bert-zh-tiny task=tools/tasks/tnews.json
# TNEWS dev lines with a blank and an invalid line among them: both must survive sharding.
{ head -n 8 tests/data/fewclue/tnews.jsonl; echo; echo '{oops'; tail -n +9 tests/data/fewclue/tnews.jsonl; } > "$dir/in.jsonl"
code=0
"$bin" score --model "$model" --task "$task" --threads 1 --input "$dir/in.jsonl" > "$dir/want.jsonl" 2>/dev/null || code=$?
[ "$code" -eq 1 ] || { echo "slurm_test.sh: the one-process run exited $code, expected 1 (one invalid line)" >&2; exit 1; }

started=$SECONDS
conf=$(bash tools/slurm/local_cluster.sh start "$dir/cluster") || {
  echo "slurm_test.sh: the one-node cluster did not start; slurmctld.log:" >&2
  tail -n 5 "$dir/cluster/slurmctld.log" >&2 || true
  exit 1
}
eval "$conf"
echo "slurm_test.sh: one-node cluster up in $((SECONDS - started)) s"
started=$SECONDS
timeout 300 bash tools/slurm/submit_score.sh --shards 3 --model "$model" --task "$task" --input "$dir/in.jsonl" \
  --output "$dir/out.jsonl" --nspbert "$bin" --wait -- --cpus-per-task=1 >/dev/null
cmp "$dir/want.jsonl" "$dir/out.jsonl"
shards=$(ls "$dir"/out.jsonl.shards/shard-*-of-3.jsonl | wc -l)
[ "$shards" -eq 3 ] || { echo "slurm_test.sh: expected 3 shard files, found $shards" >&2; exit 1; }
echo "slurm_test.sh: 3 array tasks + merge in $((SECONDS - started)) s; output identical to one process ($(wc -l < "$dir/out.jsonl") lines)"
