import logging
import signal
import threading
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)

# Touched every loop; the scheduler service's healthcheck reads its age.
HEARTBEAT = Path("/tmp/scheduler-heartbeat")  # noqa: S108  (the container's own tmpfs)


class Command(BaseCommand):
    help = "Run periodic maintenance (flushing expired JWTs) until SIGTERM. The `scheduler` service runs it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--every", type=int, default=3600, help="seconds between runs (default 3600)")
        parser.add_argument("--once", action="store_true", help="run the tasks once and exit")

    def handle(self, *args: Any, every: int, once: bool, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.is_set():
            self.run_tasks()
            if once:
                return
            deadline = time.monotonic() + every
            while not stop.is_set() and time.monotonic() < deadline:
                HEARTBEAT.touch()
                stop.wait(min(30, max(deadline - time.monotonic(), 0)))

    def run_tasks(self) -> None:
        """Run each task; a failure is logged and retried at the next run, never fatal."""
        HEARTBEAT.touch()
        try:
            # Deletes outstanding (and so blacklisted) tokens that have expired.
            call_command("flushexpiredtokens")
            logger.info("flushed expired tokens")
        except Exception:
            logger.exception("flushing expired tokens failed")
