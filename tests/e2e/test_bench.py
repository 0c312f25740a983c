"""`make bench` end to end, briefly: every scenario and baseline runs and the report is written."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

from paths import ROOT
from stack import Compose


def brief_bench(env_file: str, out: Path) -> list[str]:
    """The command line of a brief bench (1 s per scenario, no soak) writing its report to `out`."""
    return [
        sys.executable,
        "-m",
        "bench",
        "--env-file",
        env_file,
        "--duration",
        "1",
        "--soak",
        "0",
        "--out",
        str(out),
    ]


def bench_containers(compose: Compose) -> str:
    """The ids of wrk's container and the baselines', running or not."""
    return compose(
        "--profile", "bench", "ps", "--all", "--quiet", "bench", "bench-published", "bench-app", "bench-nginx"
    ).stdout.strip()  # fmt: skip


def test_bench_runs_every_scenario_and_baseline_and_cleans_up(env_file: str, compose: Compose, tmp_path: Path) -> None:
    run = subprocess.run(brief_bench(env_file, tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=900)
    time.sleep(5)  # the sign-in flood drained Nginx's burst allowance; the tests that follow need it

    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "results.json").read_text())
    results = {r["id"]: r for r in report["results"]}
    assert len(results) == 18 and all(r["requests"] > 0 for r in results.values())  # 19 with the soak
    failing = [name for name, r in results.items() if r["errors"] and "flood" not in name and "runserver" not in name]
    assert failing == []
    assert len(report["bars"]) == 8 and report["memory"]["worker_rss_mib_peak"] > 0
    assert "| bar | measured | target | met |" in (tmp_path / "results.md").read_text()
    chart = ElementTree.parse(tmp_path / "results.svg").getroot()
    assert len(list(chart.iter("{http://www.w3.org/2000/svg}rect"))) == 18
    assert bench_containers(compose) == "", "the wrk container or a baseline outlived the bench"


def test_bench_stopped_by_sigterm_stops_its_baselines_and_wrk(env_file: str, compose: Compose, tmp_path: Path) -> None:
    bench = subprocess.Popen(
        brief_bench(env_file, tmp_path), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert bench.stdout is not None
    output = []
    for line in bench.stdout:  # until the first baseline is up, as a `timeout` or a CI job might
        output.append(line)
        if "/api/token/refresh/" in line:
            break
    running = compose("--profile", "bench", "ps", "--quiet", "bench-app", "bench-nginx").stdout.split()

    bench.send_signal(signal.SIGTERM)
    try:
        output.append(bench.communicate(timeout=120)[0])
    finally:
        bench.kill()  # only if it outlived the timeout
    time.sleep(5)  # as above: the tests that follow need Nginx's sign-in burst allowance

    assert len(running) == 2, "".join(output)
    assert bench.returncode == 128 + signal.SIGTERM, "".join(output)
    assert bench_containers(compose) == "", "the wrk container or a baseline outlived the bench:\n" + "".join(output)
