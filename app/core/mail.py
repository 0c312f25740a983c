"""Mail sent off the request path, and a backend that writes mail to the log.

A request hands the outbox a job (a function that builds its messages) and returns at once: no
request waits on the mail server, and a request whose mail is sent takes the time of one whose
mail is not (password reset: accounts/services.py). One sender thread per process sends each
message, retrying twice (after 2 s, then 10 s), each SMTP step bounded by EMAIL_TIMEOUT; a
message that cannot be sent is one ERROR line and `djstack_mails_total{outcome="failed"}`, never
an error for the client. Gunicorn's worker_exit hook drains the outbox before a worker exits
(config/gunicorn.py), so a recycled or stopped worker sends what it was handed.
"""

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from core.logging import request_id
from core.metrics import MAILS

logger = logging.getLogger("core.mail")

Job = Callable[[], Iterable[EmailMessage]]
RETRY_PAUSES = (2.0, 10.0)


def masked(address: str) -> str:
    """a***@example.com: enough to tell mails apart in a log, not to harvest addresses from it."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


class Outbox:
    """A bounded queue of mail jobs and the thread of this process that sends them."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.pid = -1
        self.lock = threading.Lock()
        self.jobs: queue.Queue[tuple[Job, str]] = queue.Queue(maxsize=size)

    def submit(self, job: Job) -> None:
        """Queue `job` (run in the sender thread); never blocks, never raises."""
        self._start()
        try:
            self.jobs.put_nowait((job, request_id.get()))
        except queue.Full:
            MAILS.labels("dropped").inc()
            logger.error("The mail outbox is full (%d jobs): a mail is dropped.", self.size)

    def drain(self, timeout: float) -> bool:
        """Wait until every job handed over so far is done, at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.jobs.all_tasks_done:
            while self.jobs.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.error("%d mail jobs were not done within %.0f s.", self.jobs.unfinished_tasks, timeout)
                    return False
                self.jobs.all_tasks_done.wait(remaining)
        return True

    def _start(self) -> None:
        # Threads do not survive a fork (Gunicorn's workers are forks of the master, which
        # imported this module): each process starts its own, on its first mail.
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid != os.getpid():
                self.jobs = queue.Queue(maxsize=self.size)
                threading.Thread(target=self._run, name="mail-outbox", daemon=True).start()
                self.pid = os.getpid()

    def _run(self) -> None:
        while True:
            job, rid = self.jobs.get()
            token = request_id.set(rid)
            try:
                for message in job():
                    send_with_retries(message)
            except Exception:
                logger.exception("A mail job failed before sending.")
            finally:
                request_id.reset(token)
                self.jobs.task_done()


def send_with_retries(message: EmailMessage, pauses: Sequence[float] | None = None) -> bool:
    """Send one message, retrying after each of `pauses` (RETRY_PAUSES); log and count the outcome."""
    pauses = RETRY_PAUSES if pauses is None else pauses
    to = ", ".join(masked(address) for address in message.to)
    for attempt in range(len(pauses) + 1):
        try:
            message.send()
        except Exception as exc:  # smtplib, socket and TLS errors alike
            if attempt < len(pauses):
                logger.warning("Mail to %s: attempt %d failed (%s: %s).", to, attempt + 1, type(exc).__name__, exc)
                time.sleep(pauses[attempt])
                continue
            MAILS.labels("failed").inc()
            logger.error("Mail to %s not sent after %d attempts: %s: %s", to, attempt + 1, type(exc).__name__, exc)
            return False
        MAILS.labels("sent").inc()
        logger.info("Mail to %s sent: %s", to, message.subject)
        return True
    return False


outbox = Outbox()


class LogEmailBackend(BaseEmailBackend):
    """EMAIL_URL=console:: each message is one log line (the JSON log's `message`), headers and
    body included, so a local stack shows its reset links in `make logs`. Never for production:
    the mails carry secrets."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logging.getLogger("core.mail.console").warning(
                "Mail not sent (EMAIL_URL=console:) to %s: %s\n%s",
                ", ".join(message.to),
                message.subject,
                message.body,
            )
        return len(email_messages)
