"""The metrics endpoint, served by Gunicorn's master process (config/gunicorn.py's when_ready).

It sums what every worker wrote (prometheus_client's multiprocess mode, core/metrics.py) and adds
what only the master knows: how many workers it runs, and the build. It listens on METRICS_PORT
(9100), which Nginx never proxies and only containers on web's networks reach (Prometheus on the
monitoring network): a scrape costs the workers nothing.
"""

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector


class MasterCollector(Collector):
    def __init__(self, arbiter: Any) -> None:
        self.arbiter = arbiter

    def collect(self) -> Iterator[Metric]:
        workers = GaugeMetricFamily("djstack_gunicorn_workers", "Gunicorn worker processes running now.")
        workers.add_metric([], len(self.arbiter.WORKERS))
        yield workers
        build = GaugeMetricFamily("djstack_build_info", "The build this container runs (always 1).", labels=["version"])
        build.add_metric([os.environ.get("APP_VERSION", "unknown")], 1)
        yield build


def start(arbiter: Any) -> None:
    port = int(os.environ.get("METRICS_PORT", "").strip() or 9100)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(MasterCollector(arbiter))
    server, _thread = start_http_server(port, registry=registry)
    # Forked workers must not hold the listening socket (they would keep it open after the master).
    arbiter.metrics_socket = server.socket
    arbiter.log.info("metrics for Prometheus on port %s (summed over the workers)", port)
