"""The app's Prometheus metrics (docs/operations.md#metrics).

Under Gunicorn they are in prometheus_client's multiprocess mode (config/gunicorn.py sets
PROMETHEUS_MULTIPROC_DIR before anything imports the client): each worker writes its numbers to
its own file, and the master process serves the sum over every worker, dead ones included, on
METRICS_PORT (9100), a port only the monitoring network reaches. So a worker recycled by
max_requests loses nothing, and no request ever pays for a scrape. Outside Gunicorn (tests,
`manage.py`) the same metrics live in the process's default registry.

Routes are labelled by their URL pattern (`api/notes/<int:pk>/`), never by the raw path, so ids
in URLs cannot multiply the series; a path that matches nothing is `unmatched`.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

# Resolve the p99s make bench reports (docs/performance.md: tens to a few hundred ms).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUESTS = Counter("djstack_http_requests_total", "Requests answered, by route pattern, method and status.",
                   ["route", "method", "status"])  # fmt: skip
LATENCY = Histogram("djstack_http_request_duration_seconds", "Time to answer, by route pattern and method.",
                    ["route", "method"], buckets=LATENCY_BUCKETS)  # fmt: skip
DB_QUERIES = Histogram("djstack_db_queries_per_request", "Database queries per request.",
                       buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100))  # fmt: skip
DB_TIME = Histogram("djstack_db_time_per_request_seconds", "Time spent in database queries per request.",
                    buckets=LATENCY_BUCKETS)  # fmt: skip
SIGNINS = Counter("djstack_signins_total", "Sign-ins (POST /api/token/) by outcome: ok, failed, throttled, invalid.",
                  ["outcome"])  # fmt: skip
REFRESHES = Counter("djstack_token_refreshes_total", "Refresh-token rotations by outcome: ok, refused, throttled.",
                    ["outcome"])  # fmt: skip
MAILS = Counter("djstack_mails_total", "Account mails by outcome: sent, failed (after retries), dropped (outbox full).",
                ["outcome"])  # fmt: skip
TOKEN_REUSE = Counter("djstack_token_reuse_refused_total",
                      "Refresh tokens presented again after being spent (the session is revoked).")  # fmt: skip
THROTTLED = Counter("djstack_throttled_requests_total", "Requests refused with 429 by the app's throttles, by route.",
                    ["route"])  # fmt: skip

# URL names whose outcome is counted on its own: sign-in and refresh.
OUTCOMES = {"token_obtain_pair": SIGNINS, "token_refresh": REFRESHES}


def outcome(status: int) -> str:
    if status < 300:
        return "ok"
    if status == 429:
        return "throttled"
    if status in (401, 403):
        return "failed"
    return "invalid"


@contextmanager
def counting_queries() -> Iterator[list[float]]:
    """Collect the duration of every query on the default connection while the block runs."""
    durations: list[float] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            durations.append(time.perf_counter() - started)

    with connection.execute_wrapper(wrapper):
        yield durations


class MetricsMiddleware:
    """Counts and times every request (outermost, so the time is the whole of Django's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        with counting_queries() as queries:
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = str(match.route) if match is not None and match.route else "unmatched"
        method = request.method if request.method in METHODS else "other"
        status = response.status_code
        REQUESTS.labels(route, method, str(status)).inc()
        LATENCY.labels(route, method).observe(elapsed)
        DB_QUERIES.observe(len(queries))
        DB_TIME.observe(sum(queries))
        if status == 429:
            THROTTLED.labels(route).inc()
        if match is not None and match.url_name in OUTCOMES and method == "POST":
            kind = outcome(status)
            if match.url_name == "token_refresh" and kind == "failed":
                kind = "refused"  # a refresh token refused (spent, revoked, expired)
            OUTCOMES[match.url_name].labels(kind).inc()
        return response
