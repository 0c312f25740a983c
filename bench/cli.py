"""The command line: check the stack is up, run the plan, print and save the report."""

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import smoke
from bench import ROOT, plan
from bench import scenarios as s
from bench.docker import STARTED, compose, progress, stop_cleanly_on_signals
from bench.report import bars, idle_scenarios, markdown, svg_chart
from bench.runner import Bench
from check_port import read_env


def served_host(env_file: str) -> str:
    """A host name the site serves (the first concrete one in ALLOWED_HOSTS), for wrk's Host header:
    Nginx drops requests for any other, and wrk reaches it by its service name."""
    allowed = read_env(Path(env_file)).get("ALLOWED_HOSTS") or "localhost,127.0.0.1"
    return next((h.strip().lstrip(".") for h in allowed.split(",") if h.strip() and "*" not in h), "localhost")


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m bench", description="Load the running stack with wrk, against baselines, and report the bars."
    )
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--duration", type=int, default=5, help="seconds per scenario (default 5)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--soak", type=int, default=100_000, help="requests web serves before memory is read again")
    parser.add_argument("--out", default=str(ROOT / "bench-results"), help="folder for results.{json,md,svg}")
    args = parser.parse_args()
    stop_cleanly_on_signals()
    port = compose(args.env_file, "port", "nginx", "443").strip().rsplit(":", 1)[-1]
    if not port.isdigit():
        sys.exit("error: Nginx publishes no HTTPS port; start the stack first (make up).")
    smoke.use_ca(str(ROOT / "certs" / "local.crt"))
    progress("building the wrk and baseline images...")
    compose(args.env_file, "--profile", "bench", "build", "bench", "bench-published", "bench-app", "bench-nginx")
    bench = Bench(
        args.env_file, f"https://127.0.0.1:{port}", args.duration, args.connections, served_host(args.env_file)
    )
    bench.prepare()
    try:
        bench.start_wrk()
        stack, stack_ratios = plan.run_stack(bench)
        # Memory: web's workers now, then over the baselines' /api/me/ rounds and a soak that tops
        # their requests up to --soak; the soak comes last so those rounds count towards it.
        warm = bench.worker_memory()
        baselines, baseline_ratios = plan.run_baselines(bench)
        served = plan.web_requests(stack) + bench.paired_web_requests
        soaked, memory = plan.run_soak(bench, served, args.soak, warm, stack[s.HEALTH].requests_per_second)
    finally:
        bench.stop_wrk()
    ratios = stack_ratios | baseline_ratios
    results = stack | ({s.SOAK: soaked} if soaked else {}) | baselines  # the soak shown with the stack's rows
    if idle := idle_scenarios(results):
        sys.exit(f"error: no request completed in {', '.join(map(s.label, idle))}; run longer (--duration).")
    checks = bars(results, memory)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs",
        "duration": str(args.duration),
        "connections": str(args.connections),
        "seconds": f"{time.monotonic() - STARTED:.0f}",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": meta,
        # Keyed by the scenario's stable id; the label is for people and may be reworded.
        "results": [asdict(r) | {"label": s.label(r.id)} for r in results.values()],
        "bars": [asdict(b) | {"met": b.met} for b in checks],
        "memory": memory,
        "rounds": ratios,
    }
    (out / "results.json").write_text(json.dumps(document, indent=2))
    table = markdown(results, checks, memory, meta, ratios)
    (out / "results.md").write_text(table)
    (out / "results.svg").write_text(svg_chart(results, meta))
    print()
    print(table)
    print(f"({meta['seconds']} s; saved in {out}/)")
    return 0
