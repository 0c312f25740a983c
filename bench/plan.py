"""What the bench runs, in order: the stack's scenarios, the baselines, then the memory soak."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import smoke
from bench import config
from bench import scenarios as s
from bench.docker import progress
from bench.runner import Bench
from bench.scenarios import Scenario
from bench.wrk import Result


def run_stack(bench: Bench) -> tuple[dict[str, Result], dict[str, list[float]]]:
    """The stack's own scenarios and the sign-in flood; the static file's ratio in each round."""
    results: dict[str, Result] = {}
    bearer = {"Authorization": f"Bearer {bench.access}"}
    progress("the stack, as configured:")
    # The static file and /api/me/ alternate like the baselines and /api/me/ below: their ratio is a bar.
    static, me = Scenario(s.STATIC, bench.static_path, config.GZIP), Scenario(s.ME, "/api/me/", bearer)
    results[s.STATIC], results[s.ME], static_over_me = bench.paired(bench.stack_url, static, me, True)
    results[s.HEALTH] = bench.run(bench.stack_url, Scenario(s.HEALTH, "/api/health/"))
    results[s.ME_PUBLISHED] = bench.run(bench.stack_url, Scenario(s.ME_PUBLISHED, "/api/me/", bearer, published=True))
    # /api/me/ just before the flood and during it, each a whole run: the flood's bars compare the two.
    results[s.ME_CALM] = bench.run(bench.stack_url, Scenario(s.ME_CALM, "/api/me/", bearer))
    # The flood starts first and ends last, so it lasts the whole /api/me/ measurement.
    flood = Scenario(
        s.FLOOD, "/api/token/", connections=8, script="post.lua", env=bench.sign_in, duration=bench.duration + 3
    )
    with ThreadPoolExecutor(1) as pool:
        flooding = pool.submit(bench.run, bench.stack_url, flood)
        time.sleep(1.5)  # the flood is on before /api/me/ is measured
        results[s.ME_FLOOD] = bench.run(bench.stack_url, Scenario(s.ME_FLOOD, "/api/me/", bearer))
        results[s.FLOOD] = flooding.result()
    return results, {s.STATIC: static_over_me}


def soak_duration(requests_needed: int, rate: float) -> int:
    """Seconds of load at `rate` requests/s that serve at least `requests_needed` more (0 if none)."""
    if requests_needed <= 0 or rate <= 0:
        return 0
    return int(requests_needed / rate) + 1


def run_soak(
    bench: Bench, served: int, soak: int, warm: dict[str, int], rate: float
) -> tuple[Result | None, dict[str, float]]:
    """/api/health/ at about `rate` requests/s until web has served `soak` requests (`served` so far),
    sampling its workers' memory every few seconds (sync workers are busy between samples, so the
    peak is what a leak would raise). Returns the soak's first run and the memory summary.
    """
    samples: list[dict[str, int]] = []
    soaking = threading.Event()

    def sample() -> None:
        while not soaking.wait(3):
            samples.append(bench.worker_memory())

    sampler = threading.Thread(target=sample)
    sampler.start()
    first = None
    try:
        # In runs of at most SOAK_CHUNK seconds, each sized by the rate of the one before: the
        # machine's speed drifts, and one long run sized by /api/health/'s rate overshot by a fifth.
        while seconds := soak_duration(soak - served, rate):
            chunk_seconds = min(max(seconds, 2), config.SOAK_CHUNK)
            chunk = bench.run(bench.stack_url, Scenario(s.SOAK, "/api/health/", duration=chunk_seconds))
            first = first or chunk
            served, rate = served + chunk.requests, chunk.requests_per_second
            if not chunk.requests:  # web answers nothing: no soak to speak of
                break
    finally:
        soaking.set()
        sampler.join()
    return first, memory_summary(warm, [*samples, bench.worker_memory()], served)


def web_requests(results: dict[str, Result]) -> int:
    """Requests of the stack's own scenarios that reached web (a flood's 429s never do), but for
    the alternated /api/me/ rounds, which Bench.paired counts."""
    counted = (s.HEALTH, s.ME_PUBLISHED, s.ME_CALM, s.ME_FLOOD, s.FLOOD)
    return sum(r.answered for scenario_id, r in results.items() if scenario_id in counted)


def run_baselines(bench: Bench) -> tuple[dict[str, Result], dict[str, list[float]]]:
    """Each baseline in bench-app behind bench-nginx: their results, and each pair's ratios."""
    results: dict[str, Result] = {}
    bearer = {"Authorization": f"Bearer {bench.access}"}
    ratios: dict[str, list[float]] = {}
    try:
        url = bench.baseline("stack with its sign-in limits lifted", config.LIFTED)
        refresh_env = {"REFRESH_TOKENS": " ".join(bench.refresh_tokens), "THREADS": str(config.THREADS)}
        verify_env = {"BODY": json.dumps({"token": bench.access})}
        for scenario in (
            Scenario(s.REFRESH, "/api/token/refresh/", script="refresh.lua", env=refresh_env),
            Scenario(s.VERIFY, "/api/token/verify/", script="post.lua", env=verify_env),
            Scenario(s.LOGIN, "/api/token/", connections=4, script="post.lua", env=bench.sign_in),
        ):
            results[scenario.id] = bench.run(url, scenario)
        for name, env, scenario in (
            ("bare WSGI ceiling", {"BENCH_APP_COMMAND": config.CEILING_COMMAND}, Scenario(s.CEILING, "/")),
            ("runserver", config.RUNSERVER_BASELINE, Scenario(s.RUNSERVER, "/api/me/", bearer)),
            ("naive", config.NAIVE, Scenario(s.NAIVE_ME, "/api/me/", bearer)),
        ):
            url = bench.baseline(name, env)
            me = Scenario(s.next_to(scenario.id), "/api/me/", bearer)
            results[scenario.id], results[me.id], ratios[scenario.id] = bench.paired(url, scenario, me)
        results[s.NAIVE_STATIC] = bench.run(url, Scenario(s.NAIVE_STATIC, bench.static_path, config.GZIP))
        # Last: the first PBKDF2 sign-in re-hashes the password with PBKDF2 (every later one only
        # verifies it), and a new hash revokes the access token the scenarios above use.
        url = bench.baseline("PBKDF2", config.LIFTED | {"BENCH_PASSWORD_HASHER": "pbkdf2"})
        smoke.request(
            bench.baseline_url, "POST", "/api/token/", json_body={"username": "bench", "password": bench.password}
        )
        pbkdf2 = Scenario(s.LOGIN_PBKDF2, "/api/token/", connections=4, script="post.lua", env=bench.sign_in)
        results[s.LOGIN_PBKDF2] = bench.run(url, replace(pbkdf2, duration=max(bench.duration, config.PBKDF2_SECONDS)))
    finally:
        progress("stopping the baselines...")
        bench.stop_baselines()
        # Back to the stack's hasher for the bench user (the PBKDF2 baseline re-hashed it).
        bench.compose("exec", "-T", "web", "python", "manage.py", "ensure_user", "bench", stdin=bench.password + "\n")
    return results, ratios


def memory_summary(warm: dict[str, int], samples: list[dict[str, int]], served: int) -> dict[str, float]:
    """The largest worker's RSS when warm and at its peak over the soak, the largest growth of one
    worker over its own life, and how many workers max_requests started meanwhile.

    Each worker is compared with itself, from its second sample on (the first may come before
    its first requests' lazy imports): a worker keeps ~19 MiB after its second Argon2id sign-in
    (glibc holds the freed block), so the largest worker warm against the largest later would
    read as growth or shrinkage depending on which workers had signed someone in.
    """
    lives: dict[str, list[int]] = {}
    for sample in [warm, *samples]:
        for pid, rss in sample.items():
            lives.setdefault(pid, []).append(rss)
    growth = max(((max(life[2:]) - life[1]) / life[1] for life in lives.values() if len(life) >= 3), default=0.0)
    return {
        "requests": served,
        "worker_rss_mib_warm": round(max(warm.values(), default=0) / 1024, 1),
        "worker_rss_mib_peak": round(max((rss for sample in samples for rss in sample.values()), default=0) / 1024, 1),
        "growth_percent": round(100 * growth, 1),
        "workers_started": len(set(lives) - set(warm)),
    }
