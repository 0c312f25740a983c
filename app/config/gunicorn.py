"""Gunicorn settings, each from the environment with a measured default.

https://docs.gunicorn.org/en/stable/settings.html
"""

import gc
import os
import shutil


def _int(name: str, default: int) -> int:
    """An integer from the environment; unset or empty means the default."""
    value = os.getenv(name, "").strip()
    return int(value) if value else default


bind = f"0.0.0.0:{os.getenv('PORT', '8000')}"

# Sync workers, one per core: on 2 cores (/api/me/, 32 connections, 8 alternated rounds) 2 sync served
# ~19 % more than 3 (725 vs 608 rps); 5 sync, gthread 2x4 and gevent less. Nginx buffers: slow clients hold none.
# (CPUs this container may run on, which honours a cpuset limit.)
workers = _int("GUNICORN_WORKERS", len(os.sched_getaffinity(0)))
threads = _int("PYTHON_MAX_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"

# A worker silent for this long is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, in-flight requests get this long to finish; keep it below the stop grace
# period in docker-compose.yml (30 s), or Docker kills the process first.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Idle keep-alive seconds (gthread only; sync workers close after each response).
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then, with jitter so they do not all restart at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = max_requests // 10
# Django is imported once, in the master, and each worker is a fork of it: a worker recycled by
# max_requests serves at once instead of spending ~0.7 s of CPU importing Django first (recycling
# every 2,000 requests: /api/me/ p99 138-194 ms against 360-846 ms). Deploy new code with a new
# container, as `make up` does; a SIGHUP would not reload it.
# `make dev` (GUNICORN_RELOAD=1) restarts the workers when a source file changes; they must then
# import the code themselves, so the master loads nothing.
reload = os.getenv("GUNICORN_RELOAD", "").strip().lower() in {"1", "true", "yes", "on"}
preload_app = not reload


# Metrics (core/metrics.py): every worker writes its numbers to files in this folder, set here,
# before the app (and with it prometheus_client) is imported; the master serves their sum
# (config/metrics_server.py). Emptied at each start: a previous run's numbers must not count again.
metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/prometheus-metrics")  # noqa: S108  (web's tmpfs)
shutil.rmtree(metrics_dir, ignore_errors=True)
os.makedirs(metrics_dir, exist_ok=True)


def when_ready(server: object) -> None:
    """Serve the metrics from the master, on METRICS_PORT (9100)."""
    from config.metrics_server import start

    start(server)


def post_fork(server: object, worker: object) -> None:
    """A worker closes its copy of the master's metrics socket."""
    metrics_socket = getattr(server, "metrics_socket", None)
    if metrics_socket is not None:
        metrics_socket.close()


def worker_exit(server: object, worker: object) -> None:
    """A worker that stops (recycled by max_requests, a deploy, `make down`) first sends the mail
    it was handed (core/mail.py), within its graceful timeout."""
    try:
        from core.mail import outbox
    except Exception:  # the app never loaded: nothing was handed over
        return
    outbox.drain(timeout=max(1, graceful_timeout - 5))


def child_exit(server: object, worker: object) -> None:
    """A worker's live gauges go with it; its counters and histograms keep counting in the sum."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined, no-untyped-call]


def pre_fork(server: object, worker: object) -> None:
    """Before each fork, close any database connection the master holds (app code that queries at
    import would open one): forked workers would otherwise share its socket and garble each
    other's queries. The template's own code opens none; each worker connects on first use.

    Then freeze what the master has loaded, so that the workers' garbage collector leaves those
    objects, and the pages they share with the master, alone: each worker's private memory fell
    from 34 to 16 MiB and a full collection from ~100 to ~12 ms, throughput unchanged (README, Performance).
    """
    from django.db import connections

    connections.close_all()
    gc.freeze()


# Trust X-Forwarded-* from any peer: only Nginx can reach this port (the web service is on
# no published port and shares its front network with Nginx alone). Narrow it if that changes.
forwarded_allow_ips = os.getenv("FORWARDED_ALLOW_IPS", "*")

# Access and error logs to stdout/stderr, where Docker collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.getenv("GUNICORN_LOG_LEVEL", "info")
# JSON lines with the request id; the path is logged without its query string.
logger_class = "config.gunicorn_logging.JsonLogger"

# The worker heartbeat file lives in memory, not on the container's overlay filesystem.
worker_tmp_dir = "/dev/shm"  # noqa: S108  (a per-container tmpfs, not a shared /tmp)
# Gunicorn 27 opens a control socket in $HOME by default; nothing here uses it.
control_socket_disable = True
