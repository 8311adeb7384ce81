#!/usr/bin/env bash
# Scores a JSONL file on a Slurm cluster: an array of N shard jobs, then a merge job that runs only
# when every shard succeeded and writes OUTPUT byte-identical to a one-process `nspbert score`.
#   tools/slurm/submit_score.sh --shards N --model DIR --task SPEC --input FILE --output OUT.jsonl \
#       [--precision P] [--nspbert build/nspbert] [--wait] [-- extra sbatch options]
# Shard files go to OUT.jsonl.shards/; rerunning the same command resumes unfinished shards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
nspbert=$here/../../build/nspbert shards="" model="" task="" input="" output="" precision="" wait=""
while [ $# -gt 0 ]; do
  case "$1" in
    --shards) shards=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --task) task=$2; shift 2 ;;
    --input) input=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --nspbert) nspbert=$2; shift 2 ;;
    --wait) wait=--wait; shift ;;
    --) shift; break ;;
    *) echo "submit_score.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for v in shards model task input output; do
  [ -n "${!v}" ] || { echo "submit_score.sh: --$v is required" >&2; exit 2; }
done
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "submit_score.sh: --shards must be a positive integer" >&2; exit 2; }
abs() { realpath -m "$1"; }
work=$(abs "$output").shards
mkdir -p "$work"
export NSPBERT=$(abs "$nspbert") MODEL=$(abs "$model") TASK=$(abs "$task") INPUT=$(abs "$input") WORK=$work PRECISION=$precision
array=$(sbatch --parsable --array=0-$((shards - 1)) --output="$work/slurm-%a.log" --export=ALL "$@" \
        "$here/score_array.sbatch")
array=${array%%;*}
shard_files=()
for ((i = 0; i < shards; i++)); do shard_files+=("$work/shard-$i-of-$shards.jsonl"); done
merge=$(sbatch --parsable --dependency=afterok:"$array" --job-name=nspbert-merge --output="$work/merge.log" $wait \
        --wrap "$(printf '%q ' "$NSPBERT" merge --input "$INPUT" --output "$(abs "$output")" "${shard_files[@]}")")
echo "submitted array job $array ($shards shards) and merge job ${merge%%;*}; shard files in $work"
