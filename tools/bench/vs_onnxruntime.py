#!/usr/bin/env python3
"""nspbert against ONNX Runtime on the same BERT-base-shaped network, in one run.

  tools/bench/vs_onnxruntime.py [--model-dir DIR] [--ort-dir DIR] [--runs 5] [--threads 2]
      [--bin build/nspbert] [--results FILE.json] [--no-workload] [--no-agreement]

Creates what is missing first (the peer model via make_peer_model.py, ONNX Runtime via
`npm install --ignore-scripts`), builds nothing, then interleaves ONNX Runtime and nspbert
f32/bf16/int8 runs: fixed-shape batches (b1x128, b32x128), the TNEWS zero-shot workload
(64 headlines x 15 label prompts) and peak RSS, plus bf16/int8 agreement with f32 on the NSP
fixtures. Prints a markdown table and writes it with every raw number to a JSON file.
See docs/benchmarks.md. Standard library only.
"""
import argparse, datetime, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ORT_PACKAGE = "onnxruntime-node@1.30.0"
PRECISIONS = ("f32", "bf16", "int8")
ORT = "onnxruntime"
MB = 1e6


class Failure(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def parse_args():
    cache = os.environ.get("NSPBERT_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nspbert-bench")
    ap = Parser(prog="vs_onnxruntime.py", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--cache-dir", default=cache, help="where the peer model, ONNX Runtime and results go by default "
                    "($NSPBERT_BENCH_CACHE, else $XDG_CACHE_HOME/nspbert-bench)")
    ap.add_argument("--model-dir", help="peer model folder (model.safetensors + model.onnx); created when absent "
                    "(default: CACHE/bert-base)")
    ap.add_argument("--ort-dir", help="npm prefix holding node_modules/onnxruntime-node; installed when absent "
                    "(default: CACHE/onnxruntime-node-1.30.0)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "nspbert"), help="the nspbert binary (not built here)")
    ap.add_argument("--runs", type=int, default=5, help="processes per engine and case; the table shows their median")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shapes", default="1x128,32x128", help="fixed-shape batches, BxT comma list")
    ap.add_argument("--iters", type=int, help="timed iterations inside each bench process "
                    "(default: 20 up to 1024 tokens a batch, else 3)")
    ap.add_argument("--precisions", default="f32,bf16,int8", help="nspbert precisions to measure (f32 is always run)")
    ap.add_argument("--headlines", default=os.path.join(HERE, "tnews_dev_64.jsonl"),
                    help="TNEWS JSONL for the zero-shot workload (field 'sentence')")
    ap.add_argument("--task", default=os.path.join(ROOT, "tools", "tasks", "tnews.json"), help="template and labels")
    ap.add_argument("--no-workload", action="store_true", help="skip the TNEWS workload")
    ap.add_argument("--no-agreement", action="store_true", help="skip precision_agreement.py on the NSP fixtures")
    ap.add_argument("--results", help="JSON results file; a .md with the table is written beside it "
                    "(default: CACHE/results/vs_onnxruntime-DATE.json)")
    a = ap.parse_args()
    a.model_dir = a.model_dir or os.path.join(a.cache_dir, "bert-base")
    a.ort_dir = a.ort_dir or os.path.join(a.cache_dir, "onnxruntime-node-1.30.0")
    if a.runs < 1 or a.threads < 1 or (a.iters is not None and a.iters < 1):
        ap.error("--runs, --threads and --iters must be positive")
    try:
        a.shapes = [tuple(int(v) for v in s.lower().split("x")) for s in a.shapes.split(",")]
        if any(len(s) != 2 or min(s) < 1 for s in a.shapes):
            raise ValueError
    except ValueError:
        ap.error(f"--shapes wants BxT pairs such as 1x128,32x128, not '{a.shapes}'")
    a.precisions = ["f32"] + [p for p in a.precisions.split(",") if p != "f32"]
    if any(p not in PRECISIONS for p in a.precisions):
        ap.error(f"--precisions takes {','.join(PRECISIONS)}")
    return a


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(cmd, what, env=None):
    """Runs one measured process under /usr/bin/time; returns (stdout, wall s, peak RSS MB)."""
    with tempfile.NamedTemporaryFile("r") as timing:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", timing.name] + cmd, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            lines = [l for l in done.stderr.splitlines() if l.strip() and not l.startswith("Command exited")]
            raise Failure(f"{what} failed (exit {done.returncode}): {lines[-1] if lines else 'no message'}")
        rss_kib = int(timing.read().split()[-1])
    return done.stdout, wall, rss_kib * 1024 / MB


def check_tools(a):
    if not (os.path.isfile(a.bin) and os.access(a.bin, os.X_OK)):
        raise Failure(f"{a.bin} not found: build nspbert first (bash tools/setup.sh), "
                      "or pass --bin")
    if not os.access("/usr/bin/time", os.X_OK):
        raise Failure("/usr/bin/time is missing (peak RSS): apt-get install time")
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise Failure(f"{tool} is missing (ONNX Runtime peer): apt-get install nodejs npm")


def ensure_model(a):
    has = {f: os.path.isfile(os.path.join(a.model_dir, f)) for f in ("config.json", "vocab.txt", "model.safetensors",
                                                                      "model.onnx")}
    if all(has.values()):
        return
    if has["model.safetensors"] or has["model.onnx"]:  # never write random weights over someone's model
        missing = ", ".join(f for f, present in has.items() if not present)
        raise Failure(f"{a.model_dir} lacks {missing}: point --model-dir at a complete peer, or at a new folder to "
                      "create one")
    if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode != 0:
        raise Failure("creating the peer model needs Debian's torch: apt-get install python3-torch")
    log(f"creating the peer model in {a.model_dir} (a minute or two, 800 MB)")
    if subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_peer_model.py"), a.model_dir]).returncode != 0:
        raise Failure("make_peer_model.py failed")


def ensure_ort(a):
    package = os.path.join(a.ort_dir, "node_modules", "onnxruntime-node", "package.json")
    if not os.path.isfile(package):
        log(f"installing {ORT_PACKAGE} into {a.ort_dir}")
        os.makedirs(a.ort_dir, exist_ok=True)
        # --ignore-scripts: the install script downloads GPU binaries, which cannot succeed here.
        done = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", a.ort_dir,
                               ORT_PACKAGE], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0 or not os.path.isfile(package):
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise Failure(f"npm install {ORT_PACKAGE} failed: {last}")
    with open(package) as f:
        return json.load(f)["version"]


def machine(a, ort_version):
    cpu = "unknown CPU"
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and cpu == "unknown CPU":
                cpu = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    # The oneDNN version nspbert actually loads, from its verbose banner.
    env = dict(os.environ, ONEDNN_VERBOSE="1")
    out = subprocess.run([a.bin, "bench", "--model", a.model_dir, "--batch", "1", "--seq", "8", "--iters", "1",
                          "--threads", str(a.threads), "--format", "json"], env=env, capture_output=True, text=True).stdout
    onednn = next((l.split(",")[2].split()[1] for l in out.splitlines() if l.startswith("onednn_verbose,info,oneDNN")),
                  "unknown")
    return {"cpu": cpu, "cores": os.cpu_count(), "isa": sorted(flags & {"avx512f", "avx512_vnni", "avx512_bf16",
                                                                        "amx_bf16", "amx_int8"}),
            "kernel": platform.release(), "onnxruntime": ort_version, "onednn": onednn,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)")}


def bench_nspbert(a, precision, B, T, iters):
    out, wall, rss = run([a.bin, "bench", "--model", a.model_dir, "--batch", str(B), "--seq", str(T), "--threads",
                          str(a.threads), "--precision", precision, "--iters", str(iters), "--format", "json"],
                         f"nspbert bench --precision {precision} b{B}x{T}")
    r = json.loads(out)
    return {"median_ms": r["median_ms"], "min_ms": r["min_ms"], "wall_s": wall, "peak_rss_mb": rss}


def bench_ort(a, B, T, iters):
    out, wall, rss = run(["node", os.path.join(HERE, "ort_peer.mjs"), "bench", os.path.join(a.model_dir, "model.onnx"),
                          str(B), str(T), str(a.threads), str(iters)], f"ONNX Runtime b{B}x{T}", env=a.ort_env)
    r = json.loads(out)
    return {"median_ms": r["median_ms"], "min_ms": r["min_ms"], "wall_s": wall, "peak_rss_mb": rss}


def prepare_workload(a, work):
    """The exact pairs `nspbert classify` scores, as token ids for ONNX Runtime."""
    with open(a.task, encoding="utf-8") as f:
        task = json.load(f)
    template, labels = task["templates"][0], [l["word"] for l in task["labels"]]
    prefix = task.get("position", "prefix") == "prefix"
    texts = []
    with open(a.headlines, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                if line.strip():
                    texts.append(str(json.loads(line)["sentence"]))
            except (ValueError, KeyError, TypeError):
                raise Failure(f"{a.headlines} line {number}: not a JSON object with a 'sentence' field")
    if not texts:
        raise Failure(f"{a.headlines} holds no headlines")
    pairs_in = os.path.join(work, "pairs.jsonl")
    with open(pairs_in, "w", encoding="utf-8") as f:
        for text in texts:  # classify's order: text by text, each with every label
            for label in labels:
                prompt = template.replace("{label}", label)
                a_side, b_side = (prompt, text) if prefix else (text, prompt)
                f.write(json.dumps({"a": a_side, "b": b_side}, ensure_ascii=False) + "\n")
    max_length = str(task.get("max_length", 128))
    out, _, _ = run([a.bin, "tokenize", "--model", a.model_dir, "--input", pairs_in, "--field", "a", "--pair-field", "b",
                     "--max-length", max_length, "--truncation", "nsp"], "nspbert tokenize")
    encoded = [json.loads(l) for l in out.splitlines()]
    workload = os.path.join(work, "workload.json")
    with open(workload, "w") as f:
        json.dump({"pairs": [{"ids": e["ids"], "tt": e["type_ids"]} for e in encoded]}, f)
    lengths = [len(e["ids"]) for e in encoded]
    classify = ["classify", "--model", a.model_dir, "--template", template, "--labels", ",".join(labels),
                "--position", "prefix" if prefix else "suffix", "--max-length", max_length, "--input", a.headlines,
                "--field", "sentence", "--threads", str(a.threads), "--format", "jsonl"]
    return {"texts": len(texts), "labels": labels, "pairs": len(encoded), "mean_tokens": sum(lengths) / len(lengths),
            "max_tokens": max(lengths), "workload": workload, "classify": classify}


def workload_ort(a, w):
    out, wall, rss = run(["node", os.path.join(HERE, "ort_peer.mjs"), "workload", os.path.join(a.model_dir, "model.onnx"),
                          w["workload"], str(a.threads)], "ONNX Runtime workload", env=a.ort_env)
    r = json.loads(out)
    return {"seconds": r["infer_ms"] / 1e3, "load_s": r["load_ms"] / 1e3, "wall_s": wall, "peak_rss_mb": rss,
            "probs": r["probs"]}


def workload_nspbert(a, w, precision):
    out, wall, rss = run([a.bin] + w["classify"] + ["--precision", precision], f"nspbert classify --precision {precision}")
    rows = [json.loads(l) for l in out.splitlines()]
    probs = [{s["label"]: s["prob_is_next"] for s in r["scores"]} for r in rows]
    return {"seconds": wall, "peak_rss_mb": rss, "probs": [p[l] for p in probs for l in w["labels"]]}


def agreement(probs, reference, labels):
    """Largest |dP| over all pairs and the share of texts whose best label is the same."""
    k = len(labels)
    best = lambda p, t: max(range(k), key=lambda i: p[t * k + i])
    texts = len(probs) // k
    return {"max_abs_delta_prob_is_next": max(abs(x - y) for x, y in zip(probs, reference)),
            "same_label_share": sum(best(probs, t) == best(reference, t) for t in range(texts)) / texts}


def rotated(items, r):
    r %= len(items)
    return items[r:] + items[:r]


def median_of(runs, key):
    return statistics.median(x[key] for x in runs)


def measure(a, w):
    engines = [ORT] + a.precisions
    shapes = {f"{B}x{T}": {e: [] for e in engines} for B, T in a.shapes}
    workload = {e: [] for e in engines}
    for r in range(a.runs):
        # Interleaved, with the engine order rotated every run, so that load from elsewhere on the
        # machine falls on every engine alike.
        for B, T in a.shapes:
            iters = a.iters or (20 if B * T <= 1024 else 3)
            for e in rotated(engines, r):
                m = bench_ort(a, B, T, iters) if e == ORT else bench_nspbert(a, e, B, T, iters)
                shapes[f"{B}x{T}"][e].append(m)
                log(f"run {r + 1}/{a.runs}  {f'b{B}x{T}':<8} {e:<11} {m['median_ms']:10.1f} ms {m['peak_rss_mb']:6.0f} MB")
        if w:
            for e in rotated(engines, r):
                m = workload_ort(a, w) if e == ORT else workload_nspbert(a, w, e)
                workload[e].append(m)
                log(f"run {r + 1}/{a.runs}  {'TNEWS':<8} {e:<11} {m['seconds']:10.2f} s  {m['peak_rss_mb']:6.0f} MB")
    return shapes, workload


def summarise(a, shapes, workload, w):
    out = {"shapes": {}, "workload": None}
    for shape, per_engine in shapes.items():
        out["shapes"][shape] = {e: {"median_ms": median_of(runs, "median_ms"), "min_ms": min(x["min_ms"] for x in runs),
                                    "runs_median_ms": [x["median_ms"] for x in runs],
                                    "peak_rss_mb": max(x["peak_rss_mb"] for x in runs)}
                                for e, runs in per_engine.items()}
    if w:
        f32_probs = workload["f32"][0]["probs"]
        summary = {"texts": w["texts"], "labels": len(w["labels"]), "pairs": w["pairs"], "mean_tokens": w["mean_tokens"],
                   "max_tokens": w["max_tokens"], "engines": {}}
        for e, runs in workload.items():
            s = {"seconds": median_of(runs, "seconds"), "runs_seconds": [x["seconds"] for x in runs],
                 "peak_rss_mb": max(x["peak_rss_mb"] for x in runs)}
            if e == ORT:
                s["what"] = "inference only (session created, pairs pre-tokenised), 32 per batch padded to the longest"
                s["load_s"] = median_of(runs, "load_s")
                s["process_wall_s"] = median_of(runs, "wall_s")
            else:
                s["what"] = "whole nspbert classify process: load, tokenise, score, print"
            if e != "f32":
                s["agreement_with_f32"] = agreement(runs[0]["probs"], f32_probs, w["labels"])
            summary["engines"][e] = s
        out["workload"] = summary
    return out


def precision_agreement(a):
    done = subprocess.run([sys.executable, os.path.join(HERE, "precision_agreement.py"), "--bin", a.bin],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise Failure("precision_agreement.py failed: " + ((done.stderr.strip().splitlines() or ["no message"])[-1]))
    return {r["precision"]: r for r in map(json.loads, done.stdout.splitlines())}


def targets(a, s, agree, weight_mb):
    rows = []

    def add(name, measured, goal, unit="x", higher=True):
        met = measured >= goal if higher else measured <= goal
        rows.append({"target": name, "measured": round(measured, 4), "goal": goal, "unit": unit, "met": met})

    for shape in ("1x128", "32x128"):
        if shape in s["shapes"]:
            d = s["shapes"][shape]
            add(f"f32 b{shape} throughput vs ONNX Runtime >= 1.25x", d[ORT]["median_ms"] / d["f32"]["median_ms"], 1.25)
    if "32x128" in s["shapes"]:
        d = s["shapes"]["32x128"]
        for p, goal in (("bf16", 1.6), ("int8", 2.5)):
            if p in d:
                add(f"{p} b32x128 throughput vs our f32 >= {goal}x", d["f32"]["median_ms"] / d[p]["median_ms"], goal)
        for p in a.precisions:
            add(f"peak RSS {p} b32x128 <= weights + 300 MB", d[p]["peak_rss_mb"], round(weight_mb + 300), "MB", False)
    if s["workload"]:
        e = s["workload"]["engines"]
        add("TNEWS: classify f32 whole process vs ONNX Runtime inference >= 1.5x", e[ORT]["seconds"] / e["f32"]["seconds"],
            1.5)
    for p, r in (agree or {}).items():
        add(f"{p} largest P(IsNext) change vs f32 on NSP fixtures <= 0.02", r["max_abs_delta_prob_is_next"], 0.02, "", False)
        add(f"{p} same label as f32 on NSP fixtures >= 99%", r["same_label_share"] * 100, 99, "%")
    return rows


def fmt_ms(v):
    return f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def table(a, m, s, agree, rows, weight_mb, date, load):
    engines = [ORT] + a.precisions
    with open(os.path.join(a.model_dir, "config.json")) as f:
        net = json.load(f)
    head = ["ONNX Runtime f32"] + [f"nspbert {p}" for p in a.precisions]
    lines = [f"## nspbert vs ONNX Runtime, {date}", "",
             f"Machine: {m['cpu']}, {m['cores']} cores ({', '.join(m['isa']) or 'no AVX-512'}), Linux {m['kernel']}; "
             f"ONNX Runtime {m['onnxruntime']} (npm onnxruntime-node, all graph optimisations); oneDNN {m['onednn']}; "
             f"{a.threads} threads; OMP_WAIT_POLICY {m['omp_wait_policy']}; load average {load[0]:.2f} before, "
             f"{load[1]:.2f} after.",
             f"Network: {a.model_dir}: {net['num_hidden_layers']} layers, hidden {net['hidden_size']}, vocab "
             f"{net['vocab_size']}; model.safetensors {weight_mb:.0f} MB. Each time: the median over {a.runs} "
             f"process{'es' if a.runs > 1 else ''} per engine, "
             "interleaved with the other engines' (peak RSS: the largest).", "",
             "| case | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for shape, d in s["shapes"].items():
        cells = [fmt_ms(d[ORT]["median_ms"])]
        for p in a.precisions:
            ratio = f"{d[ORT]['median_ms'] / d[p]['median_ms']:.2f}x ORT"
            if p != "f32":
                ratio += f", {d['f32']['median_ms'] / d[p]['median_ms']:.2f}x f32"
            cells.append(f"{fmt_ms(d[p]['median_ms'])} ({ratio})")
        lines.append(f"| b{shape}, median ms per batch | " + " | ".join(cells) + " |")
    if s["workload"]:
        wl = s["workload"]
        e = wl["engines"]
        cells = [f"{e[ORT]['seconds']:.2f} (inference only)"]
        for p in a.precisions:
            cells.append(f"{e[p]['seconds']:.2f} ({e[ORT]['seconds'] / e[p]['seconds']:.2f}x ORT)")
        lines.append(f"| TNEWS {wl['texts']} x {wl['labels']} = {wl['pairs']} pairs (mean {wl['mean_tokens']:.1f} tokens), "
                     "seconds; nspbert: whole `classify` process | " + " | ".join(cells) + " |")
    big = "32x128" if "32x128" in s["shapes"] else next(iter(s["shapes"]))
    lines.append(f"| peak RSS b{big}, MB (weights {weight_mb:.0f}) | " +
                 " | ".join(f"{s['shapes'][big][e]['peak_rss_mb']:,.0f}" for e in engines) + " |")
    if s["workload"]:
        lines.append("| peak RSS TNEWS, MB | " +
                     " | ".join(f"{s['workload']['engines'][e]['peak_rss_mb']:,.0f}" for e in engines) + " |")
        e = s["workload"]["engines"]
        cells = ["-"]
        for p in a.precisions:
            g = e[p].get("agreement_with_f32")
            cells.append(f"max dP {g['max_abs_delta_prob_is_next']:.4f}, same label {g['same_label_share']:.0%}" if g else "-")
        lines.append("| TNEWS agreement with nspbert f32 (BERT-base) | " + " | ".join(cells) + " |")
        ort_vs = e[ORT]["agreement_with_f32"]
        lines += ["", f"Same pairs check: ONNX Runtime vs nspbert f32 on all {s['workload']['pairs']} pairs, largest "
                  f"|dP(IsNext)| {ort_vs['max_abs_delta_prob_is_next']:.2e}, same label on "
                  f"{ort_vs['same_label_share']:.0%} of texts."]
    if agree:
        lines += ["", "NSP fixtures (tests/data/fixtures/nsp, tiny random-weight models): " + "; ".join(
            f"{p} largest |dP(IsNext)| {r['max_abs_delta_prob_is_next']:.4f}, same label {r['same_label_share']:.1%} "
            f"of {r['texts']} texts" for p, r in agree.items()) + "."]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for r in rows:
        value = f"{r['measured']:,.0f} MB" if r["unit"] == "MB" else (
            f"{r['measured']:.1f}%" if r["unit"] == "%" else f"{r['measured']:.4g}{r['unit']}")
        lines.append(f"| {r['target']}{' (' + str(r['goal']) + ' MB)' if r['unit'] == 'MB' else ''} | {value} | "
                     f"{'yes' if r['met'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main():
    a = parse_args()
    started = time.time()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results = a.results or os.path.join(a.cache_dir, "results", "vs_onnxruntime-" +
                                        datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
    check_tools(a)
    ensure_model(a)
    ort_version = ensure_ort(a)
    a.ort_env = dict(os.environ, ORT_PREFIX=os.path.abspath(a.ort_dir))
    weight_mb = os.path.getsize(os.path.join(a.model_dir, "model.safetensors")) / MB
    with tempfile.TemporaryDirectory(prefix="nspbert-bench-") as work:
        # A private copy of the binary: a rebuild of build/ during the run changes nothing.
        binary, a.bin = a.bin, shutil.copy(a.bin, os.path.join(work, "nspbert"))
        m = machine(a, ort_version)
        load_before = os.getloadavg()[0]
        w = None if a.no_workload else prepare_workload(a, work)
        log(f"{a.runs} runs x {len(a.shapes)} shapes x {1 + len(a.precisions)} engines" +
            ("" if a.no_workload else f", TNEWS workload {w['pairs']} pairs") + f"; results -> {results}")
        shapes, workload = measure(a, w)
        agree = None if a.no_agreement else precision_agreement(a)
        a.bin = binary
    load = (load_before, os.getloadavg()[0])
    s = summarise(a, shapes, workload, w)
    rows = targets(a, s, agree, weight_mb)
    text = table(a, m, s, agree, rows, weight_mb, date, load)
    print(text, end="")
    os.makedirs(os.path.dirname(os.path.abspath(results)), exist_ok=True)
    with open(results, "w") as f:
        json.dump({"date": date, "machine": m, "load_average": {"before": load[0], "after": load[1]},
                   "settings": {"runs": a.runs, "threads": a.threads, "iters": a.iters, "model_dir": a.model_dir,
                                "ort_dir": a.ort_dir, "bin": a.bin, "headlines": a.headlines},
                   "weights_mb": weight_mb, **s, "precision_agreement_fixtures": agree, "targets": rows,
                   "table_markdown": text, "duration_s": time.time() - started}, f, indent=1)
    with open(os.path.splitext(results)[0] + ".md", "w") as f:
        f.write(text)
    log(f"results: {results} (+ .md), {(time.time() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    try:
        main()
    except (Failure, OSError) as e:
        sys.exit(f"vs_onnxruntime.py: error: {e}")
    except KeyboardInterrupt:
        sys.exit("vs_onnxruntime.py: interrupted")
