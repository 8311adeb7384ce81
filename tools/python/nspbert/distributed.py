"""Batch scoring beyond one process, on Dask: ``python3 -m nspbert.distributed score ...`` and ``score(client, ...)``.

The input (JSONL files, read one after another as one stream of lines) is cut into partitions of
contiguous lines. A worker scores a partition with a model it loaded once (a per-process cache) and
writes the partition's output lines to ``OUTPUT.parts/part-NNNNNN.jsonl`` through a temporary file
and an atomic rename: the rename is the record that the partition is done. A partition is retried
when its worker dies or it raises, and a rerun of the same job skips the partitions already
renamed. The finished partitions are then joined in order into OUTPUT (via OUTPUT.partial), which
is byte for byte what ``nspbert score`` writes for the whole input in one process.

Workers must see the model, task and input paths (one machine, or a shared file system).
README.md, "Scaling out", has the measured figures and when to use this rather than Slurm arrays.
"""
from __future__ import annotations

import argparse
import ctypes
import glob
import hashlib
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

import nspbert

# Exit codes of the CLI (docs/bad-input.md).
EXIT_FAILED_LINES, EXIT_USAGE, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 4, 5
_PREFIX = '{"input_line":'  # engine/io/shard_merge.h: how a numbered line starts
_BLOCK = 1 << 23


@dataclass(frozen=True)
class Partition:
    index: int
    path: str
    start: int       # byte offset of its first line
    end: int         # byte offset after its last line
    first_line: int  # 1-based line number of its first line in the whole input


@dataclass(frozen=True)
class Job:
    """What a worker needs to score a partition; also the identity of a resumable run."""
    model: str
    task: Any  # a spec path or a spec dict
    precision: str = "f32"
    threads: int = 1
    thresholds: Any = None
    overrides: Dict[str, Any] = field(default_factory=dict)  # Model.block_scorer keywords

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


# ---- planning ---------------------------------------------------------------------------------

def expand_inputs(patterns: Sequence[str]) -> List[str]:
    """Files and globs (sorted) in the order given; a pattern matching nothing is an input error."""
    paths = []
    for pattern in patterns:
        matched = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matched:
            raise nspbert.InputError(f"{pattern}: matches no file")
        for path in matched:
            if not os.path.isfile(path):
                raise nspbert.InputError(f"{path}: " + ("is a directory, not a JSONL file" if os.path.isdir(path)
                                                        else "cannot open (No such file or directory)"))
            paths.append(os.path.abspath(path))
    return paths


def _cut_file(path: str, every: int, first_line: int, index: int) -> tuple:
    """Partitions of one file, `every` lines each (the last one the rest); returns them and the
    file's line count (a last line without a newline counts)."""
    cuts, lines, offset, last_byte = [], 0, 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
            # a partition ends after newline number every, 2*every, ... of the file
            first = -(lines + 1) % every
            cuts += (offset + newlines[first::every] + 1).tolist()
            lines, offset, last_byte = lines + len(newlines), offset + len(block), block[-1:]
    if offset == 0:
        return [], 0
    starts = [0] + [c for c in cuts if c < offset]
    ends = starts[1:] + [offset]
    parts = [Partition(index + i, path, s, e, first_line + i * every) for i, (s, e) in enumerate(zip(starts, ends))]
    return parts, lines + (last_byte != b"\n")


def plan_partitions(paths: Sequence[str], partition_lines: int) -> List[Partition]:
    """Contiguous line ranges of every file, numbered as one stream of lines."""
    if partition_lines < 1:
        raise nspbert.UsageError("--partition-lines must be at least 1")
    parts: List[Partition] = []
    first_line = 1
    for path in paths:
        cut, lines = _cut_file(path, partition_lines, first_line, len(parts))
        parts += cut
        first_line += lines
    return parts


# ---- on the workers ---------------------------------------------------------------------------

_SCORERS: Dict[str, Any] = {}  # per worker process: Job.key() -> BlockScorer
_LOADS = {"models": 0, "seconds": 0.0}


def _keep_freed_memory() -> None:
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also freezes glibc's mmap
    threshold at 128 KiB: every engine buffer above that would be mapped, faulted in and unmapped
    again for every batch (a third more CPU time, most of it page faults). Restore what a plain
    process gets: large blocks from the heap, kept for reuse."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)  # glibc's own upper bound for the dynamic threshold
    libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)


def _scorer(job: Job):
    key = job.key()
    if key not in _SCORERS:
        if not _SCORERS:
            _keep_freed_memory()
        started = time.perf_counter()
        model = nspbert.Model(job.model, threads=job.threads, precision=job.precision)
        _SCORERS[key] = model.block_scorer(job.task, thresholds=job.thresholds, **job.overrides)
        _LOADS["models"] += 1
        _LOADS["seconds"] += time.perf_counter() - started
    return _SCORERS[key]


def part_path(work: str, index: int) -> str:
    return os.path.join(work, f"part-{index:06d}.jsonl")


def _maybe_die_for_test(work: str, part: Partition) -> None:
    """Fault injection for the test suite: NSPBERT_TEST_KILL_PARTITION=I makes the worker scoring
    partition I SIGKILL itself once, half-way through writing it (a marker file makes it once)."""
    if os.environ.get("NSPBERT_TEST_KILL_PARTITION") != str(part.index):
        return
    marker = os.path.join(work, f"killed-{part.index}")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def score_partition(job: Job, work: str, part: Partition) -> Dict[str, Any]:
    """Scores one partition into its part file; returns its counts."""
    if os.environ.get("NSPBERT_TEST_FAIL_PARTITION") == str(part.index):  # fault injection for the tests
        raise RuntimeError(f"partition {part.index} failed on purpose (NSPBERT_TEST_FAIL_PARTITION)")
    scorer = _scorer(job)
    started = time.perf_counter()
    with open(part.path, "rb") as f:
        f.seek(part.start)
        block = f.read(part.end - part.start)
    results = scorer.score(block, part.first_line)
    final = part_path(work, part.index)
    tmp = f"{final}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for n, (line, text, _) in enumerate(results):
            if n == len(results) // 2:
                out.flush()
                _maybe_die_for_test(work, part)
            out.write(f"{_PREFIX}{line},{text[1:]}\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, final)  # the record that this partition is done; a rerun of it writes the same bytes
    return {"index": part.index, "lines": len(results), "failed": sum(1 for r in results if r[2]),
            "seconds": time.perf_counter() - started, "worker": os.getpid(), "model_loads": _LOADS["models"],
            "load_seconds": _LOADS["seconds"]}


def prepare(job: Job) -> Dict[str, Any]:
    """Loads the model and the task on one worker first: a bad model or task fails once, clearly."""
    _scorer(job)
    return {"worker": os.getpid(), "load_seconds": _LOADS["seconds"]}


# ---- on the client ----------------------------------------------------------------------------

def _manifest(job: Job, paths: Sequence[str], partition_lines: int, parts: Sequence[Partition]) -> Dict[str, Any]:
    return {"job": asdict(job), "partition_lines": partition_lines, "partitions": len(parts),
            "inputs": [{"path": p, "size": os.path.getsize(p), "mtime_ns": os.stat(p).st_mtime_ns} for p in paths]}


def open_work_folder(work: str, manifest: Dict[str, Any]) -> None:
    """Creates WORK with its manifest, or checks that an existing one belongs to this job."""
    path = os.path.join(work, "manifest.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
        if old != json.loads(json.dumps(manifest)):
            changed = sorted(k for k in manifest if old.get(k) != json.loads(json.dumps(manifest[k])))
            raise nspbert.UsageError(f"{work} holds partitions of another job ({', '.join(changed)} differ); "
                                     "remove it to start over")
        return
    os.makedirs(work, exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    os.replace(path + ".tmp", path)


def merge_parts(work: str, parts: Sequence[Partition], output: str) -> int:
    """Joins the part files in order into OUTPUT without their line numbers; checks every line
    number lies in its partition and rises strictly. Returns the number of lines."""
    partial = output + ".partial"
    count, last = 0, 0
    with open(partial, "w", encoding="utf-8", newline="\n") as out:
        for i, part in enumerate(parts):
            end_line = parts[i + 1].first_line if i + 1 < len(parts) else None
            with open(part_path(work, part.index), encoding="utf-8", newline="\n") as f:
                for text in f:
                    comma = text.find(",", len(_PREFIX))
                    if not text.startswith(_PREFIX) or comma < 0:
                        raise nspbert.InternalError(f"{part_path(work, part.index)}: a line without its input line")
                    n = int(text[len(_PREFIX):comma])
                    if n <= last or n < part.first_line or (end_line is not None and n >= end_line):
                        raise nspbert.InternalError(f"{part_path(work, part.index)}: input line {n} out of order")
                    out.write("{" + text[comma + 1:])
                    last, count = n, count + 1
    os.replace(partial, output)
    return count


class _Progress:
    """'partitions 12/40, 5,210 lines/s, ETA 0:31, 2 workers' on stderr: rewritten on a terminal,
    every 10 s otherwise."""

    def __init__(self, enabled: bool, total: int, lines_per_part: int):
        self.enabled, self.total, self.lines_per_part = enabled, total, lines_per_part
        self.tty = sys.stderr.isatty()
        self.started = self.shown = time.monotonic()

    def update(self, done: int, lines: int, workers: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.shown < (0.5 if self.tty else 10) and done < self.total):
            return
        self.shown = now
        rate = lines / max(now - self.started, 1e-9)
        eta = (self.total - done) * self.lines_per_part / rate if rate > 0 else 0
        text = (f"partitions {done}/{self.total}, {rate:,.0f} lines/s, ETA {int(eta) // 60}:{int(eta) % 60:02d}, "
                f"{workers} workers")
        print(("\r" + text + "\033[K") if self.tty else text, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr, flush=True)


def _run_pending(client, job: Job, work: str, pending: Sequence[Partition], retries: int,
                 progress: _Progress, done_before: int) -> List[Dict[str, Any]]:
    from distributed import as_completed
    futures = [client.submit(score_partition, job, work, p, key=f"nspbert-{job.key()}-{p.index}",
                             pure=False, retries=retries) for p in pending]
    results, lines = [], 0
    try:
        for future in as_completed(futures):
            result = future.result()  # raises the partition's error after its retries
            results.append(result)
            lines += result["lines"]
            progress.update(done_before + len(results), lines, len(client.scheduler_info()["workers"]))
    except BaseException:
        client.cancel(futures)
        raise
    progress.finish()
    return results


def score(client, model: str, task: Any, inputs: Sequence[str], output: str, partition_lines: int = 20000,
          precision: str = "f32", threads: int = 1, thresholds: Any = None, retries: int = 2,
          progress: bool = False, keep_work: bool = False, **overrides) -> Dict[str, Any]:
    """Scores every non-blank line of `inputs` with `task` on the Dask `client`'s workers and writes
    OUTPUT exactly as ``nspbert score`` would. Returns counts: lines, failed, partitions, partitions_run,
    partitions_skipped, seconds, model_loads (per worker process), load_seconds. Samples-contrast tasks
    need `thresholds`. `overrides` are Model.block_scorer's keywords (template, max_length, ...)."""
    started = time.perf_counter()
    paths = expand_inputs(inputs)
    if any(os.path.abspath(output) == p for p in paths):
        raise nspbert.UsageError(f"--output {output} is an input file")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise nspbert.InputError(f"{output}: cannot write (its folder does not exist)")
    job = Job(os.path.abspath(model), os.path.abspath(task) if isinstance(task, (str, os.PathLike)) else task,
              precision, threads, os.path.abspath(thresholds) if isinstance(thresholds, (str, os.PathLike)) else thresholds,
              overrides)
    parts = plan_partitions(paths, partition_lines)
    work = output + ".parts"
    open_work_folder(work, _manifest(job, paths, partition_lines, parts))
    pending = [p for p in parts if not os.path.exists(part_path(work, p.index))]
    if pending:
        client.submit(prepare, job, pure=False).result()
    bar = _Progress(progress, len(parts), partition_lines)
    results = _run_pending(client, job, work, pending, retries, bar, len(parts) - len(pending))
    lines = merge_parts(work, parts, output)
    failed = sum(r["failed"] for r in results) + _failed_in(work, [p for p in parts if p not in pending])
    if not keep_work:
        _remove_work_folder(work)
    loads: Dict[int, int] = {}
    for r in results:
        loads[r["worker"]] = max(loads.get(r["worker"], 0), r["model_loads"])
    return {"lines": lines, "failed": failed, "partitions": len(parts), "partitions_run": len(pending),
            "partitions_skipped": len(parts) - len(pending), "seconds": time.perf_counter() - started,
            "model_loads": loads, "load_seconds": max([r["load_seconds"] for r in results], default=0.0)}


def _failed_in(work: str, parts: Sequence[Partition]) -> int:
    """Error lines in partitions finished by an earlier run."""
    failed = 0
    for p in parts:
        with open(part_path(work, p.index), encoding="utf-8") as f:
            failed += sum(1 for line in f if "error" in json.loads(line))
    return failed


def _remove_work_folder(work: str) -> None:
    for name in os.listdir(work):
        os.remove(os.path.join(work, name))
    os.rmdir(work)


# ---- the command line -------------------------------------------------------------------------

def connect(scheduler: str, threads: int):
    """local:N starts N worker processes here (one thread each); anything else is a scheduler address."""
    from distributed import Client, LocalCluster
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler[len("local:"):])
        except ValueError:
            n = 0
        if n < 1:
            raise nspbert.UsageError(f"--scheduler {scheduler}: expected local:N with N >= 1 or tcp://HOST:PORT")
        # Workers are new interpreters: they must import this same package.
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(nspbert.__file__)))
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster)
    return Client(scheduler)


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python3 -m nspbert.distributed",
                                description="Score JSONL files on a Dask cluster, exactly as `nspbert score` would.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="stream JSONL files through a task spec on Dask workers")
    s.add_argument("--scheduler", default="local:2", help="local:N (N worker processes here) or tcp://HOST:8786 (default: %(default)s)")
    s.add_argument("--model", required=True, help="model folder (every worker must see it)")
    s.add_argument("--task", required=True, help="task spec JSON (tools/tasks/*.json)")
    s.add_argument("--input", required=True, nargs="+", help="JSONL files or globs, read one after another")
    s.add_argument("--output", required=True, help="JSONL output; partitions go to OUTPUT.parts/ until the merge")
    s.add_argument("--partition-lines", type=int, default=20000, help="input lines per partition (default: %(default)s)")
    s.add_argument("--precision", default="f32", choices=["f32", "bf16", "int8"], help="(default: %(default)s)")
    s.add_argument("--threads", type=int, default=1, help="engine threads per worker process (default: %(default)s)")
    s.add_argument("--thresholds", help="thresholds file (nspbert score --save-thresholds); samples-contrast tasks need it")
    s.add_argument("--template", action="append", help="prompt template(s), instead of the spec's")
    s.add_argument("--max-length", type=int, help="tokens per sequence (default: the spec's, else the model's)")
    s.add_argument("--chunk-size", type=int, default=256, help="lines per engine batch (default: %(default)s)")
    s.add_argument("--retries", type=int, default=2, help="reruns of a partition that raised (default: %(default)s)")
    s.add_argument("--keep-work", action="store_true", help="keep OUTPUT.parts/ after the merge")
    s.add_argument("--quiet", action="store_true", help="no progress line")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    overrides = {"chunk_size": args.chunk_size}
    if args.template:
        overrides["template"] = args.template if len(args.template) > 1 else args.template[0]
    if args.max_length:
        overrides["max_length"] = args.max_length
    client, summary, error, code = None, None, "", 0
    try:
        client = connect(args.scheduler, args.threads)
        if client.dashboard_link and not args.quiet and "dashboard" in client.scheduler_info().get("services", {}):
            print(f"nspbert.distributed: dashboard at {client.dashboard_link}", file=sys.stderr)
        summary = score(client, args.model, args.task, args.input, args.output, args.partition_lines, args.precision,
                        args.threads, args.thresholds, args.retries, progress=not args.quiet, keep_work=args.keep_work,
                        **overrides)
    except nspbert.Error as e:
        error, code = f"error: {e}", getattr(e, "exit_code", EXIT_INPUT)
    except KeyboardInterrupt:
        error, code = (f"interrupted: finished partitions are kept in {args.output}.parts; "
                       "rerun the same command to continue"), EXIT_INTERRUPTED
    except OSError as e:  # the output folder, a vanished input, a full disk
        error, code = f"error: {e.filename or ''}: {e.strerror or e}", EXIT_INPUT
    except Exception as e:  # a partition that failed on every retry (KilledWorker, ...): finished ones are kept
        error, code = (f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}; finished "
                       f"partitions are kept in {args.output}.parts, rerun to continue"), EXIT_INTERNAL
    finally:
        _close(client)
    if error:  # last, after the cluster's own shutdown messages
        print(f"nspbert.distributed: {error}", file=sys.stderr)
        return code
    return _report(summary, args.quiet)


def _close(client) -> None:
    if client is None:
        return
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


def _report(summary: Dict[str, Any], quiet: bool) -> int:
    if not quiet:
        loads = summary["model_loads"]
        print(f"nspbert.distributed: {summary['lines']} lines in {summary['seconds']:.1f} s "
              f"({summary['partitions_run']} partitions run, {summary['partitions_skipped']} done before; "
              f"{len(loads)} workers loaded the model {sum(loads.values())} times, "
              f"{summary['load_seconds']:.2f} s at most)", file=sys.stderr)
    if summary["failed"]:
        print(f"nspbert.distributed: {summary['failed']} of {summary['lines']} lines could not be scored "
              '(see their "error" output lines)', file=sys.stderr)
        return EXIT_FAILED_LINES
    return 0


if __name__ == "__main__":
    # Run as a script this file is __main__; Dask must pickle the functions of nspbert.distributed.
    from nspbert.distributed import main as _main
    sys.exit(_main())
