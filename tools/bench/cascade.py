#!/usr/bin/env python3
"""The cascade (--rescore-top) against plain f32, int8 and bf16, whole `nspbert score` processes.

  tools/bench/cascade.py [--model DIR] [--runs 5] [--threads 2] [--top 2] [--margin M]
      [--cascade-precision int8] [--case TASK=FILE ...] [--quick] [--bin build/nspbert] [--results FILE.json]

For every case (a task spec and a JSONL file; default: the 960-pair TNEWS workload
tools/bench/tnews_dev_64.jsonl and the FewCLUE candidates-contrast dev files in
tests/data/fewclue-dev) runs, interleaved and `--runs` times each:

  nspbert score --task T --input F --precision f32 | int8 | bf16 | int8 --rescore-top K [--rescore-margin M]

and reports per case and variant: lines, the share of labels equal to f32's, the largest
|P(IsNext) - P_f32(IsNext)| over every label, how many scores the cascade re-scored, the median wall
time and its ratio to f32's, and peak RSS (the cascade holds a second, f32 copy of the weights).
Prints a markdown table and writes it with every raw number, the date, the CPU and the ISA oneDNN
uses to a JSON file. `--quick` takes the first 100 lines of each file (a smoke check, not figures).
Run it on a quiet machine. Standard library only.
"""
import argparse, datetime, json, math, os, re, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEV = os.path.join(ROOT, "tests", "data", "fewclue-dev")
TASKS = os.path.join(ROOT, "tools", "tasks")
DEFAULT_CASES = [("tnews", os.path.join(HERE, "tnews_dev_64.jsonl"))] + [
    (t, os.path.join(DEV, f"{t}.jsonl")) for t in ("tnews", "iflytek", "csldcp", "eprstmt", "chid")]
QUICK_LINES = 100
# CPU flags that decide which precisions run fast; every flag goes to the JSON.
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


class Failure(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def parse_args():
    ap = Parser(prog="cascade.py", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "pretrained", "zh-mini"), help="model folder")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nspbert"), help="the nspbert binary (not built here)")
    ap.add_argument("--runs", type=int, default=5, help="processes per variant and case; the table shows the median")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top", type=int, default=2, help="the cascade's --rescore-top K")
    ap.add_argument("--margin", type=float, help="the cascade's --rescore-margin M (default: every line)")
    ap.add_argument("--cascade-precision", default="int8", choices=("int8", "bf16"), help="the cascade's fast precision")
    ap.add_argument("--case", action="append", metavar="TASK=FILE",
                    help="a shipped task name (or spec file) and a JSONL file; repeat (default: TNEWS 64x15 and the "
                    "FewCLUE candidates-contrast dev files)")
    ap.add_argument("--quick", action="store_true", help=f"the first {QUICK_LINES} lines of each file: a smoke check")
    ap.add_argument("--results", help="JSON results file; a .md with the table is written beside it "
                    "(default: ~/.cache/nspbert-bench/results/cascade-DATE.json)")
    a = ap.parse_args()
    if a.runs < 1 or a.threads < 1 or a.top < 1:
        ap.error("--runs, --threads and --top must be positive")
    if a.margin is not None and not a.margin >= 0:
        ap.error("--margin must be a number >= 0")
    try:
        a.cases = [tuple(c.split("=", 1)) for c in a.case] if a.case else DEFAULT_CASES
        if any(len(c) != 2 or not c[0] or not c[1] for c in a.cases):
            raise ValueError
    except ValueError:
        ap.error("--case wants TASK=FILE, e.g. tnews=tests/data/fewclue-dev/tnews.jsonl")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    a.results = a.results or os.path.join(cache, "nspbert-bench", "results",
                                          "cascade-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
    return a


def log(message):
    print(message, file=sys.stderr, flush=True)


def variants(a):
    cascade = ["--precision", a.cascade_precision, "--rescore-top", str(a.top)]
    if a.margin is not None:
        cascade += ["--rescore-margin", repr(a.margin)]
    name = f"{a.cascade_precision}+top{a.top}" + ("" if a.margin is None else f"+m{a.margin:g}")
    return {"f32": ["--precision", "f32"], "int8": ["--precision", "int8"], "bf16": ["--precision", "bf16"],
            name: cascade}


def machine(a):
    cpu, flags = "unknown CPU", []
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and cpu == "unknown CPU":
                cpu = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = value.split()
    done = subprocess.run([a.bin, "inspect", "--model", a.model], capture_output=True, text=True)
    isa = next((l.split(None, 1)[1].strip() for l in done.stdout.splitlines() if l.startswith("cpu_isa")), None)
    return {"cpu": cpu, "cores": os.cpu_count(), "isa_flags": [f for f in ISA_FLAGS if f in flags], "flags": flags,
            "onednn_cpu_isa": isa}


def prepare(a, work):
    """The cases' inputs; with --quick, copies of their first lines."""
    cases = []
    for task, path in a.cases:
        if not os.path.isfile(path):
            raise Failure(f"{path}: no such file")
        if a.quick:
            with open(path, encoding="utf-8") as f:
                head = [l for _, l in zip(range(QUICK_LINES), f)]
            path = os.path.join(work, f"{len(cases)}-{os.path.basename(path)}")
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(head)
        cases.append({"task": task, "input": path, "name": f"{task}:{os.path.basename(path)}"})
    return cases


def run(a, case, flags):
    """One whole process; returns its rows, wall seconds, peak RSS (MB, None without /usr/bin/time), stderr."""
    cmd = [a.bin, "score", "--task", case["task"], "--input", case["input"], "--model", a.model,
           "--threads", str(a.threads), "--progress", *flags]
    timed = os.access("/usr/bin/time", os.X_OK)
    with tempfile.NamedTemporaryFile("r") as timing:
        start = time.perf_counter()
        done = subprocess.run((["/usr/bin/time", "-f", "%M", "-o", timing.name] if timed else []) + cmd,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        rss = int(timing.read().split()[-1]) * 1024 / 1e6 if timed and done.returncode == 0 else None
    if done.returncode not in (0, 1):
        last = [l for l in done.stderr.splitlines() if l.strip() and not l.startswith("Command exited")]
        raise Failure(f"{' '.join(cmd[1:])}: exit {done.returncode}: {last[-1] if last else 'no message'}")
    rows = [json.loads(l) for l in done.stdout.splitlines() if l.strip()]
    return {"rows": rows, "seconds": wall, "peak_rss_mb": rss, "stderr": done.stderr}


def probabilities(row):
    return {json.dumps(s["label"]): s.get("prob_is_next", math.exp(s.get("log_prob", 0.0))) for s in row["scores"]}


def agreement(rows, reference):
    same = worst = 0.0
    for r, f in zip(rows, reference):
        if "error" in r or "error" in f:
            continue
        same += r["label"] == f["label"]
        p, q = probabilities(r), probabilities(f)
        worst = max([worst] + [abs(p[k] - q[k]) for k in p if k in q])
    scored = sum("error" not in f for f in reference)
    return {"same_label_share": same / scored if scored else None, "max_abs_delta_p": worst}


def rescored(stderr):
    m = re.search(r"cascade: re-scored (\d+) of (\d+) scores", stderr)
    return (int(m.group(1)), int(m.group(2))) if m else None


def measure(a, cases, named):
    raw = {c["name"]: {v: [] for v in named} for c in cases}
    unsupported = set()
    for r in range(a.runs):
        for c in cases:
            order = list(named)[r % len(named):] + list(named)[:r % len(named)]  # rotated: load falls on all alike
            for v in order:
                if v in unsupported:
                    continue
                try:
                    m = run(a, c, named[v])
                except Failure as e:
                    if "needs a CPU with" not in str(e):
                        raise
                    log(f"{v}: not on this CPU ({e})")
                    unsupported.add(v)
                    continue
                raw[c["name"]][v].append(m)
                log(f"run {r + 1}/{a.runs}  {c['name']:<32} {v:<14} {m['seconds']:8.2f} s")
    return raw, unsupported


def summarise(cases, raw):
    out = {}
    for c in cases:
        per = raw[c["name"]]
        reference = per["f32"][0]["rows"]
        f32_s = statistics.median(m["seconds"] for m in per["f32"])
        out[c["name"]] = {"task": c["task"], "input": c["input"], "lines": len(reference), "variants": {}}
        for v, runs in per.items():
            if not runs:
                continue
            s = statistics.median(m["seconds"] for m in runs)
            rss = [m["peak_rss_mb"] for m in runs if m["peak_rss_mb"] is not None]
            out[c["name"]]["variants"][v] = {
                **agreement(runs[0]["rows"], reference), "median_seconds": s, "runs_seconds": [m["seconds"] for m in runs],
                "ratio_to_f32": s / f32_s, "peak_rss_mb": max(rss) if rss else None, "rescored": rescored(runs[0]["stderr"])}
    return out


def table(a, m, s, date, quick):
    lines = [f"## The cascade, {date}" + (" (--quick: first 100 lines, not figures)" if quick else ""), "",
             f"{m['cpu']}, {m['cores']} cores, ISA flags {' '.join(m['isa_flags']) or 'none'}, oneDNN cpu_isa "
             f"{m['onednn_cpu_isa']}; model {a.model}; {a.runs} runs, {a.threads} threads, whole `nspbert score` "
             "processes (load included).", "",
             "| case | lines | variant | same label as f32 | max abs dP | re-scored | median s | x f32 | peak RSS MB |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for name, case in s.items():
        for v, r in case["variants"].items():
            same = "-" if r["same_label_share"] is None else f"{100 * r['same_label_share']:.1f}%"
            share = "-" if not r["rescored"] else f"{r['rescored'][0]} of {r['rescored'][1]}"
            rss = "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}"
            lines.append(f"| {name} | {case['lines']} | {v} | {same} | {r['max_abs_delta_p']:.4f} | {share} | "
                         f"{r['median_seconds']:.2f} | {r['ratio_to_f32']:.2f} | {rss} |")
    return "\n".join(lines) + "\n"


def main():
    a = parse_args()
    if not (os.path.isfile(a.bin) and os.access(a.bin, os.X_OK)):
        raise Failure(f"{a.bin} not found: build nspbert first, or pass --bin")
    started = time.time()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    named = variants(a)
    with tempfile.TemporaryDirectory(prefix="nspbert-cascade-") as work:
        # A private copy of the binary: a rebuild of build/ during the run changes nothing.
        binary, a.bin = a.bin, shutil.copy(a.bin, os.path.join(work, "nspbert"))
        m = machine(a)
        cases = prepare(a, work)
        load_before = os.getloadavg()[0]
        log(f"{a.runs} runs x {len(cases)} cases x {len(named)} variants; results -> {a.results}")
        raw, unsupported = measure(a, cases, named)
        a.bin = binary
    s = summarise(cases, raw)
    text = table(a, m, s, date, a.quick)
    print(text, end="")
    os.makedirs(os.path.dirname(os.path.abspath(a.results)), exist_ok=True)
    with open(a.results, "w") as f:
        json.dump({"date": date, "machine": m, "load_average": {"before": load_before, "after": os.getloadavg()[0]},
                   "settings": {"model": a.model, "runs": a.runs, "threads": a.threads, "top": a.top,
                                "margin": a.margin, "cascade_precision": a.cascade_precision, "quick": a.quick,
                                "bin": a.bin, "variants": named, "unsupported": sorted(unsupported)},
                   "cases": s, "table_markdown": text, "duration_s": time.time() - started}, f, indent=1)
    with open(os.path.splitext(a.results)[0] + ".md", "w") as f:
        f.write(text)
    log(f"results: {a.results} (+ .md), {(time.time() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    try:
        main()
    except (Failure, OSError) as e:
        sys.exit(f"cascade.py: error: {e}")
    except KeyboardInterrupt:
        sys.exit("cascade.py: interrupted")
