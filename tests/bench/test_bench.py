"""The bench package reads wrk's report, computes its bars and plans its runs correctly; the load itself
runs in `make bench` (and briefly in tests/e2e/test_bench.py)."""

import json
import math
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import smoke
from bench import config, plan, report, runner, wrk
from bench import docker as bench_docker
from bench import scenarios as s
from paths import ROOT

WRK_REPORT = """Running 10s test @ https://127.0.0.1:8443/api/health/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.52ms    3.21ms   1.20s    80.00%
    Req/Sec     1.52k   120.00     1.80k    70.00%
  Latency Distribution
     50%  850.00us
     75%   12.00ms
     90%   14.25ms
     99%    1.20s
  30000 requests in 10.01s, 9.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:   2997.00
Transfer/sec:      0.90MB
""".replace("1.20s\n", "1.20s \n")  # wrk pads a figure in seconds with a space


def test_wrk_report_is_read_with_units_converted_to_milliseconds() -> None:
    result = wrk.parse_wrk("health", WRK_REPORT)

    assert (result.requests_per_second, result.requests) == (2997.0, 30000)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (0.85, 14.25, 1200.0)


def test_socket_errors_and_non_2xx_responses_count_as_errors() -> None:
    assert wrk.parse_wrk("health", WRK_REPORT).errors == 8


def test_a_clean_run_has_no_errors() -> None:
    clean = WRK_REPORT.replace("  Socket errors: connect 0, read 1, write 0, timeout 2\n", "").replace(
        "  Non-2xx or 3xx responses: 5\n", ""
    )

    assert wrk.parse_wrk("health", clean).errors == 0


def result(name: str, rps: float, p99: float = 10.0) -> wrk.Result:
    return wrk.Result(name, rps, 1.0, 5.0, p99, 0, int(rps * 8))


def test_bars_are_the_ratios_of_one_run() -> None:
    rps = {
        s.ME: 400.0,
        s.CEILING: 1000.0,
        s.RUNSERVER: 100.0,
        s.NAIVE_ME: 200.0,
        s.STATIC: 8000.0,
        s.LOGIN: 60.0,
        s.LOGIN_PBKDF2: 5.0,
    }
    results = {name: result(name, value) for name, value in rps.items()} | {
        s.ME_CALM: result(s.ME_CALM, 400.0, 40.0),
        s.ME_FLOOD: result(s.ME_FLOOD, 300.0, 75.0),
    }

    checks = {bar.name: bar for bar in report.bars(results, {"growth_percent": 2.0})}

    assert checks["/api/me/ vs the bare WSGI ceiling"].measured == 0.4
    assert checks["/api/me/ vs the bare WSGI ceiling"].met
    assert checks["/api/me/ vs the naive setup"].measured == 2.0
    assert not checks["/api/me/ vs the naive setup"].met
    assert checks["sign-in: Argon2id vs PBKDF2"].measured == 12.0
    assert checks["/api/me/ requests/s during a sign-in flood vs before it"].measured == 0.75
    assert not checks["/api/me/ requests/s during a sign-in flood vs before it"].met  # under 0.8
    assert checks["/api/me/ p99 during a sign-in flood vs before it"].measured == 1.875
    assert not checks["/api/me/ p99 during a sign-in flood vs before it"].met  # over 1.5
    assert checks["a web worker's memory growth over its life in the soak"].met


def test_the_chart_has_a_bar_per_scenario_on_a_log_scale_with_baselines_apart() -> None:
    rps = {s.STATIC: 8000.0, s.ME: 400.0, s.CEILING: 1000.0, s.LOGIN_PBKDF2: 4.0}
    results = {name: result(name, value) for name, value in rps.items()}
    meta = {"date": "2026-11-26 10:00 UTC", "machine": "x86_64, 2 CPUs", "connections": "32"}

    svg = ElementTree.fromstring(report.svg_chart(results, meta))  # well-formed, or this raises

    rects = svg.iter("{http://www.w3.org/2000/svg}rect")
    bars = {rect[0].text: (float(rect.get("width", "")), rect.get("fill")) for rect in rects}
    assert list(bars) == [s.label(scenario_id) for scenario_id in rps]
    assert bars[s.label(s.STATIC)][0] / bars[s.label(s.ME)][0] == pytest.approx(
        math.log10(8000) / math.log10(400), rel=1e-3
    )
    assert (
        bars[s.label(s.ME)][1]
        == bars[s.label(s.STATIC)][1]
        != bars[s.label(s.CEILING)][1]
        == bars[s.label(s.LOGIN_PBKDF2)][1]
    )


def test_a_scenario_in_which_no_request_completed_is_named() -> None:
    results = {s.LOGIN: result(s.LOGIN, 30.0), s.LOGIN_PBKDF2: result(s.LOGIN_PBKDF2, 0.0)}

    assert report.idle_scenarios(results) == [s.LOGIN_PBKDF2]


def test_the_soak_runs_only_as_long_as_the_missing_requests_need() -> None:
    assert plan.soak_duration(100_000 - 20_000, 1000.0) == 81
    assert plan.soak_duration(-5, 1000.0) == 0


def test_memory_growth_compares_each_worker_with_itself_from_its_second_sample() -> None:
    # Worker 10 signed someone in before the soak (+19 MiB, constant); 11 grows by 5 %; 12 starts
    # mid-soak, cold at its first sample; 13 is seen only twice, too briefly to judge.
    warm = {"10": 80_000, "11": 60_000}
    samples = [
        {"10": 80_000, "11": 60_000},
        {"10": 80_500, "11": 61_000, "12": 40_000},
        {"11": 63_000, "12": 60_000, "13": 30_000},
        {"12": 60_600, "13": 60_000},
    ]

    summary = plan.memory_summary(warm, samples, 100_000)

    assert summary["growth_percent"] == 5.0
    assert summary["workers_started"] == 2
    assert (summary["worker_rss_mib_warm"], summary["worker_rss_mib_peak"]) == (
        round(80_000 / 1024, 1),
        round(80_500 / 1024, 1),
    )


def test_a_baseline_and_api_me_alternate_and_the_median_round_is_kept(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Three rounds: /api/me/ over the baseline is 0.5, then 0.2, then 0.3; the median is round 3's.
    figures = iter([1000.0, 500.0, 1000.0, 200.0, 900.0, 270.0])
    seen: list[tuple[str, str, int | None]] = []

    def run(url: str, scenario: s.Scenario) -> wrk.Result:
        seen.append((url, scenario.id, scenario.duration))
        return result(scenario.id, next(figures))

    stack = runner.Bench("env", "https://published", duration=5, connections=32, stack_url="https://stack")
    monkeypatch.setattr(stack, "run", run)
    monkeypatch.setattr(config, "ROUNDS", 3)

    base, me, ratios = stack.paired("https://baseline", s.Scenario("base", "/"), s.Scenario("me", "/api/me/"))

    assert [url for url, _, _ in seen] == ["https://baseline", "https://stack"] * 3
    assert {duration for _, _, duration in seen} == {2}  # 0.4 of 5 s each
    assert ratios == [0.5, 0.2, 0.3]
    assert (base.requests_per_second, me.requests_per_second) == (900.0, 270.0)


def test_the_static_file_alternates_with_api_me_and_its_ratio_reads_static_over_me(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    figures = {s.STATIC: iter([8000.0, 6000.0, 9000.0]), s.ME: iter([400.0, 500.0, 300.0])}
    order: list[str] = []

    def run(url: str, scenario: s.Scenario) -> wrk.Result:
        order.append(scenario.id)
        return result(scenario.id, next(figures[scenario.id]) if scenario.id in figures else 100.0)

    stack = runner.Bench("env", "https://published", duration=5, connections=32, stack_url="https://stack")
    monkeypatch.setattr(stack, "run", run)
    monkeypatch.setattr(plan.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(config, "ROUNDS", 3)

    results, ratios = plan.run_stack(stack)

    assert order[:6] == [s.STATIC, s.ME] * 3
    assert ratios == {s.STATIC: [20.0, 12.0, 30.0]}  # the median round is the first
    assert (results[s.STATIC].requests_per_second, results[s.ME].requests_per_second) == (8000.0, 400.0)
    assert list(results)[:3] == [s.STATIC, s.ME, s.HEALTH]
    assert stack.paired_web_requests == (400 + 500 + 300) * 8


def test_only_requests_that_reached_web_count_towards_the_soak() -> None:
    flood = wrk.Result(s.FLOOD, 6.0, 1.0, 1.0, 1.0, 40, 100)  # 40 of them 429s from Nginx
    results = {s.STATIC: result(s.STATIC, 9000.0), s.HEALTH: result(s.HEALTH, 700.0)}

    assert plan.web_requests(results | {s.FLOOD: flood}) == 700 * 8 + 60


def test_the_soak_runs_in_short_chunks_each_sized_by_the_last_rate(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    durations: list[int] = []

    def run(url: str, scenario: s.Scenario) -> wrk.Result:
        durations.append(scenario.duration or 0)
        return wrk.Result(scenario.id, 150.0, 1.0, 1.0, 1.0, 0, 150 * (scenario.duration or 0))  # faster than told

    stack = runner.Bench("env", "https://published", duration=5, connections=32, stack_url="https://stack")
    monkeypatch.setattr(stack, "run", run)
    monkeypatch.setattr(runner.Bench, "worker_memory", lambda self: {})

    plan.run_soak(stack, served=1_000, soak=10_000, warm={}, rate=100.0)

    # 9,000 to go at 100/s: 91 s, capped at 30, which serve 4,500; the last 4,500 at 150/s: 31 s,
    # capped at 30, which serve them all.
    assert durations == [30, 30]


def test_a_soak_that_serves_nothing_stops(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def run(url: str, scenario: s.Scenario) -> wrk.Result:
        calls.append(1)
        assert len(calls) < 5, "the soak went on without serving anything"
        return wrk.Result(scenario.id, 100.0, 1.0, 1.0, 1.0, 0, 0)

    stack = runner.Bench("env", "https://published", duration=5, connections=32, stack_url="https://stack")
    monkeypatch.setattr(stack, "run", run)
    monkeypatch.setattr(runner.Bench, "worker_memory", lambda self: {})

    plan.run_soak(stack, served=0, soak=10_000, warm={}, rate=100.0)

    assert len(calls) == 1


def test_a_baseline_is_ready_once_its_health_answers_200_through_its_nginx(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    answers: list[object] = [
        ConnectionResetError("reset"),
        smoke.Reply(502, {}, b""),
        smoke.Reply(200, {}, b""),
    ]
    asked: list[tuple[str, str]] = []

    def request(url: str, method: str, path: str, **kwargs: object) -> object:
        asked.append((url, path))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(bench_docker.time, "sleep", lambda seconds: None)

    bench_docker.wait_until_ready("https://baseline", "naive", request=request)

    assert asked == [("https://baseline", "/api/health/")] * 3


def test_a_baseline_that_never_answers_200_is_a_clear_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bench_docker.time, "sleep", lambda seconds: None)

    with pytest.raises(SystemExit) as stopped:
        bench_docker.wait_until_ready(
            "https://baseline", "runserver", request=lambda *a, **k: smoke.Reply(502, {}, b""), seconds=0
        )

    assert "the runserver baseline did not answer /api/health/" in str(stopped.value)
    assert "HTTP 502" in str(stopped.value)


def baseline_as_compose_runs_it(baseline: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The bench profile's services as `docker compose` resolves them for one baseline: the
    settings the bench passes in the environment, over the shipped .env.example."""
    resolved = bench_docker.compose(
        ".env.example", "--profile", "bench", "config", "--format", "json", env=config.BASELINE_DEFAULTS | baseline
    )
    services: dict[str, dict[str, Any]] = json.loads(resolved)["services"]
    return services


@pytest.fixture(autouse=True)
def a_stack_that_opts_into_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller's shell wins over .env.example in Compose's resolution: no CONN_MAX_AGE of its
    own, and JWT_USER_CACHE_SECONDS set as a .env that opts into it would set it."""
    monkeypatch.delenv("CONN_MAX_AGE", raising=False)
    monkeypatch.setenv("JWT_USER_CACHE_SECONDS", "5")


@pytest.mark.parametrize(
    ("baseline", "command", "conn_max_age", "user_cache"),
    [
        # The naive setup: Gunicorn's defaults, and Django's (a database connection per request,
        # the user read on every request).
        (config.NAIVE, config.NAIVE_COMMAND, "0", "0"),
        (config.RUNSERVER_BASELINE, config.RUNSERVER_COMMAND, "0", "0"),
        # The stack with its sign-in limits lifted keeps the stack's settings: CONN_MAX_AGE unset
        # (so Django's settings default, 60, applies), the user cache as the caller's .env says.
        (config.LIFTED, config.BASELINE_DEFAULTS["BENCH_APP_COMMAND"], None, "5"),
    ],
    ids=["naive", "runserver", "lifted"],
)
def test_each_baseline_runs_its_own_command_and_database_reads(
    baseline: dict[str, str], command: str, conn_max_age: str | None, user_cache: str
) -> None:
    app = baseline_as_compose_runs_it(baseline)["bench-app"]

    assert app["command"] == command.split()
    assert app["environment"]["CONN_MAX_AGE"] == conn_max_age
    assert app["environment"]["JWT_USER_CACHE_SECONDS"] == user_cache


def test_the_naive_baselines_nginx_proxies_static_files_to_django() -> None:
    nginx = baseline_as_compose_runs_it(config.NAIVE)["bench-nginx"]
    site = next(v["source"] for v in nginx["volumes"] if v["target"].endswith("/default.conf.template"))

    assert Path(site) == ROOT / "bench" / "naive.conf.template"
    assert "location /static/" not in Path(site).read_text()
