"""`make bench-compare`: workloads P1, P2b, P3 and P4 with the original ExPLAIND package and with ours, side by side.

For each workload the original (python/bench_original.py, in the .venv-bench interpreter) runs first, then ours
(`bench --child --workload W`), each in its own process with the same thread count, so that a change of machine load
hits both. Each process's peak RSS comes from wait4(2). The table of seconds per step, time ratio ours/original, peak
RSS and RSS ratio is printed and written, with the CPU model, the OpenBLAS core, the torch version, our commit, the
date and the load average before and after, to <out>/compare-<date>.md and .json (compare-<date>-<HHMM> when that
day already has one). Standard library only.

Our runs inherit this process's environment unchanged (OPENBLAS_CORETYPE and the like are neither set nor cleared).
"""
import argparse
import ctypes
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ["P1", "P2b", "P3", "P4"]
# Our bench's row for each workload, and how the original's per-step times are summarised to match it.
OUR_METRIC = {"P1": "s/step (median, no eval)", "P2b": "EPK s/step", "P3": "train with history, s/step (median)",
              "P4": "EPK s/step"}
SUMMARY = {"P1": "median", "P2b": "mean", "P3": "median", "P4": "mean"}
WHAT = {"P1": "modulo transformer training with history, AdamW, N 1000 full batch",
        "P2b": "modulo EPK, 50 val × 115 classes, 2 midpoints, data attribution for all classes",
        "P3": "ResNet-9 (no BN, 2 classes) training with history, SGD momentum, batch 64",
        "P4": "ResNet-9 EPK, 512 training images, batch 64, 20 test × 2 classes, 1 midpoint"}


class CompareError(Exception):
    pass


def run_child(command, env, log_dir, name):
    """Runs a command with its output in files; returns (status, stdout, last stderr line, peak RSS bytes, wall s)."""
    print(f"bench-compare: {name} (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    out_path, err_path = (os.path.join(log_dir, f"{name}.{kind}") for kind in ("out", "err"))
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(out_path) as f:
        stdout = f.read()
    with open(err_path, errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    return code, stdout, (lines[-1] if lines else ""), usage.ru_maxrss * 1024, wall


def tagged(stdout, prefix):
    return [json.loads(line[len(prefix):]) for line in stdout.splitlines() if line.startswith(prefix)]


def summarise(values, how):
    values = sorted(values)
    if how == "mean":
        return sum(values) / len(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def run_original(args, workload, log_dir):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               CUDA_VISIBLE_DEVICES="")
    command = [args.python, os.path.join(HERE, "bench_original.py"), workload, "--threads", str(args.threads),
               "--p1-steps", str(args.p1_steps), "--p2b-steps", str(args.p2b_steps),
               "--p3-steps", str(args.p3_steps), "--p4-steps", str(args.p4_steps)]
    load = os.getloadavg()[0]
    code, stdout, last, rss, wall = run_child(command, env, log_dir, f"original-{workload}")
    results = tagged(stdout, "@@orig ")
    if code != 0 or not results:
        raise CompareError(f"the original's {workload} failed (exit {code}): {last or 'no output'}")
    seconds = results[0]["seconds"]
    return {"s_per_step": summarise(seconds, SUMMARY[workload]), "steps_timed": len(seconds), "seconds": seconds,
            "summary": SUMMARY[workload], "peak_rss_gb": rss / 1e9, "wall_s": wall, "note": results[0]["note"],
            "load_1min_at_start": load}


def run_ours(args, workload, log_dir, cache):
    command = [args.bench, "--child", "--workload", workload, "--threads", str(args.threads), "--cache", cache,
               "--p2b-steps", str(args.p2b_steps), "--p4-steps", str(args.p4_steps)]
    load = os.getloadavg()[0]
    code, stdout, last, rss, wall = run_child(command, dict(os.environ), log_dir, f"ours-{workload}")
    rows = [r for r in tagged(stdout, "@@row ") if r.get("workload") == workload]
    if code != 0 or not rows:
        raise CompareError(f"our bench's {workload} failed (exit {code}): {last or 'no output'}")
    row = next((r for r in rows if r["metric"] == OUR_METRIC[workload]), None)
    if row is None:
        raise CompareError(f"our bench printed no '{OUR_METRIC[workload]}' row for {workload} "
                           f"(rows: {', '.join(r['metric'] for r in rows)}); update OUR_METRIC in {__file__}")
    notes = "; ".join(r["note"] for r in rows if r.get("note") and r["metric"] in (OUR_METRIC[workload],
                                                                                    "train with history, s/step (mean)",
                                                                                    "s/step (mean, incl. epoch eval)"))
    return {"s_per_step": row["value"], "peak_rss_gb": rss / 1e9, "wall_s": wall, "note": notes, "load_1min_at_start": load,
            "openblas_lines": [l for l in stdout.splitlines() if "openblas" in l.lower()]}


def cpu_info():
    info = {}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, env=dict(os.environ, LC_ALL="C")).stdout
        for key, field in (("Model name", "model_name"), ("CPU family", "family"), ("Model", "model"),
                           ("Vendor ID", "vendor")):
            match = re.search(rf"^{key}:\s*(.+)$", text, re.M)
            if match:
                info[field] = match.group(1).strip()
    except OSError:
        pass
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
            if line.startswith("model name") and "model_name" not in info:
                info["model_name"] = line.split(":", 1)[1].strip()
    info["isa"] = " ".join(f for f in ("avx512f", "avx2", "fma") if f in flags) or "no AVX2"
    info["cores"] = os.cpu_count()
    return info


def openblas_info(bench):
    """The OpenBLAS library our bench links and the core it selects under this environment."""
    ldd = subprocess.run(["ldd", bench], capture_output=True, text=True).stdout
    match = re.search(r"(libopenblas\S*)\s+=>\s+(\S+)", ldd)
    if not match:
        return {"library": "not linked", "core": "unknown", "config": ""}
    try:
        lib = ctypes.CDLL(match.group(2))
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        core, config = lib.openblas_get_corename().decode(), lib.openblas_get_config().decode()
    except (OSError, AttributeError) as error:
        core, config = f"unknown ({error})", ""
    return {"library": os.path.realpath(match.group(2)), "core": core, "config": config,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}


def source_info():
    """The commit of this checkout (the one `make bench-compare` builds the bench from) and whether tracked files differ
    from it."""
    root, unknown = os.path.dirname(HERE), {"commit": None, "tracked_changes": None}
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True)
        status = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True)
    except OSError:
        return unknown
    if commit.returncode != 0 or status.returncode != 0:
        return unknown
    return {"commit": commit.stdout.strip(), "tracked_changes": bool(status.stdout.strip())}


def describe_source(source):
    if not source.get("commit"):
        return "commit unknown (not a git checkout)"
    state = "with uncommitted changes to tracked files" if source["tracked_changes"] else "working tree clean"
    return f"commit `{source['commit'][:12]}` ({state})"


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def ratio(a, b):
    return a / b if a and b else None


def fmt(v, digits=3):
    if v is None:
        return "—"
    return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"


def markdown(report):
    m = report["machine"]
    lines = [f"# The original ExPLAIND beside ours, {report['date']}", "",
             f"- CPU: {m['cpu'].get('model_name', '?')} (vendor {m['cpu'].get('vendor', '?')}, family "
             f"{m['cpu'].get('family', '?')}, model {m['cpu'].get('model', '?')}; {m['cpu']['isa']}; "
             f"{m['cpu']['cores']} cores)",
             f"- Ours: OpenBLAS core {m['openblas']['core']} ({m['openblas']['config']}; {m['openblas']['library']}; "
             f"environment: OPENBLAS_CORETYPE {m['openblas']['OPENBLAS_CORETYPE'] or 'unset'}, OPENBLAS_L2_SIZE "
             f"{m['openblas']['OPENBLAS_L2_SIZE'] or 'unset'}), `bench --threads {report['threads']}`, "
             f"{describe_source(m.get('source', {}))}",
             f"- Original: explaind {m['original']['explaind']}, torch {m['original']['torch']} (CPU capability "
             f"{m['original']['torch_cpu_capability']}, MKL {'yes' if m['original']['torch_mkl'] else 'no'}), "
             f"Python {m['original']['python']}, `torch.set_num_threads({report['threads']})`",
             f"- Load before: `{report['uptime_before']}`", f"- Load after: `{report['uptime_after']}`",
             f"- Wall time of the comparison: {report['wall_s']:.0f} s", "",
             "| workload | original s/step | ours s/step | time ours/original | original peak RSS GB | "
             "ours peak RSS GB | RSS ours/original | steps timed (original / ours) | 1-min load at start (original / ours) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for w in report["workloads"]:
        o, u = w.get("original"), w.get("ours")
        if w.get("error"):
            lines.append(f"| {w['id']} | FAILED: {w['error']} | | | | | | | |")
            continue
        lines.append(f"| {w['id']} | {fmt(o['s_per_step'])} | {fmt(u['s_per_step'])} | "
                     f"{fmt(w['time_ratio'], 2)} | {fmt(o['peak_rss_gb'], 2)} | {fmt(u['peak_rss_gb'], 2)} | "
                     f"{fmt(w['rss_ratio'], 2)} | {o['steps_timed']} ({o['summary']}) / {w['ours_steps']} | "
                     f"{o['load_1min_at_start']:.1f} / {u['load_1min_at_start']:.1f} |")
    lines += ["", "Workloads (synthetic inputs of the benchmark's shapes):", ""]
    for w in report["workloads"]:
        lines.append(f"- {w['id']}: {WHAT[w['id']]}. Original: {w.get('original', {}).get('note', '')}. "
                     f"Ours: {w.get('ours', {}).get('note', '')}.")
    lines += ["", "Each row's two runs come from the same invocation, the original first; ratios within a row are what "
              "count, absolute seconds depend on the machine and its load. Peak RSS is each process's own (wait4).",
              "Training rows are the median step; EPK rows are the mean over the timed steps. The original's EPK steps "
              "are the body of `ExactPathKernelModel.predict(keep_kernel_matrices=True)`, started with "
              "`prev_eval = {}` (predict itself fails at step 0 unless `keep_param_wise_kernel` is set)."]
    return "\n".join(lines) + "\n"


def ours_steps(note):
    match = re.search(r"(?:first )?(\d+) (?:of \d+ )?steps", note)
    return match.group(1) if match else "?"


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", required=True, help="our bench executable")
    parser.add_argument("--python", default=sys.executable, help="interpreter with explaind and torch")
    parser.add_argument("--out", default="results/reference/bench")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--p1-steps", type=int, default=50, help="original's P1 training steps (ours: 200)")
    parser.add_argument("--p2b-steps", type=int, default=2, help="EPK steps of P2b, both")
    parser.add_argument("--p3-steps", type=int, default=8, help="original's P3 training steps (ours: 16)")
    parser.add_argument("--p4-steps", type=int, default=3, help="EPK steps of P4, both")
    args = parser.parse_args()
    workloads = args.workloads.split(",")
    if any(w not in WORKLOADS for w in workloads):
        raise CompareError(f"--workloads {args.workloads}: choose from {','.join(WORKLOADS)}")
    if not os.access(args.bench, os.X_OK):
        raise CompareError(f"{args.bench} is not an executable; build it with `swift build -c release --product bench`")
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        code, stdout, last, _, _ = run_child([args.python, os.path.join(HERE, "bench_original.py"), "info"],
                                             dict(os.environ), scratch, "info")
        if code != 0 or not tagged(stdout, "@@orig "):
            raise CompareError(f"the original's environment check failed (exit {code}): {last}")
        report = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  "threads": args.threads, "uptime_before": uptime(),
                  "machine": {"cpu": cpu_info(), "openblas": openblas_info(args.bench), "source": source_info(),
                              "original": tagged(stdout, "@@orig ")[0]}, "workloads": []}
        print(f"bench-compare: {report['machine']['cpu'].get('model_name')}, OpenBLAS core "
              f"{report['machine']['openblas']['core']}, torch {report['machine']['original']['torch']}; "
              f"{report['uptime_before']}", file=sys.stderr, flush=True)
        cache = os.path.join(scratch, "cache")
        for workload in workloads:
            entry = {"id": workload}
            try:
                entry["original"] = run_original(args, workload, scratch)
                entry["ours"] = run_ours(args, workload, scratch, cache)
                entry["time_ratio"] = ratio(entry["ours"]["s_per_step"], entry["original"]["s_per_step"])
                entry["rss_ratio"] = ratio(entry["ours"]["peak_rss_gb"], entry["original"]["peak_rss_gb"])
                entry["ours_steps"] = ours_steps(entry["ours"]["note"])
            except CompareError as error:
                entry["error"] = str(error)
                print(f"bench-compare: {error}", file=sys.stderr, flush=True)
            report["workloads"].append(entry)
        report["uptime_after"] = uptime()
    report["wall_s"] = time.perf_counter() - start
    text = markdown(report)
    stem = os.path.join(args.out, "compare-" + report["date"][:10])
    if os.path.exists(stem + ".md") or os.path.exists(stem + ".json"):
        # an earlier comparison of the same day stays as it is; this one is named by its start time as well
        stem += "-" + report["date"][11:16].replace(":", "")
    write_atomic(stem + ".md", text)
    write_atomic(stem + ".json", json.dumps(report, indent=2) + "\n")
    print(text)
    print(f"bench-compare: wrote {stem}.md and {stem}.json", file=sys.stderr)
    failed = [w["id"] for w in report["workloads"] if w.get("error")]
    if failed:
        raise CompareError(f"{', '.join(failed)} failed (see the table)")


if __name__ == "__main__":
    try:
        main()
    except CompareError as error:
        print(f"bench-compare: {error}", file=sys.stderr)
        sys.exit(1)
