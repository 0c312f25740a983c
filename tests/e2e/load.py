"""A bounded load of reads and acknowledged writes through Nginx, for the fault scenarios.

Each client is a thread with its own account, sending one request at a time: readers list their
notes, writers create notes (paced under the per-user write throttle) and record the id of every
note the API acknowledged with 201. Every request is recorded (start, duration, status, the
X-App-Version that answered), so a scenario can count failures, measure the longest outage and
check that every acknowledged write is still in the database.
"""

import http.client
import secrets
import threading
import time
import urllib.error
from dataclasses import dataclass, field

import pytest

import smoke
from stack import login

# The fault suite's table rows (scenario, requests, failed, longest outage s, writes lost), which
# conftest.py prints at the end of the run.
FAULT_ROWS = pytest.StashKey[list[tuple[str, int, int, float, int]]]()

# Under WRITE_THROTTLE_RATE's default (120/min per user): a writer never meets a 429.
WRITE_INTERVAL = 0.6


@dataclass
class Outcome:
    client: int
    kind: str
    started: float
    seconds: float
    status: int  # 0: no HTTP answer (reset, refused, timed out)
    version: str
    json: bool = False  # the answer was JSON (every error of the API and of Nginx is)
    error: str = ""


@dataclass
class Load:
    base_url: str
    readers: int = 4
    writers: int = 3
    timeout: float = 20
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> "Load":
        tokens = [self._account() for _ in range(self.readers + self.writers)]
        for n, token in enumerate(tokens):
            kind = "read" if n < self.readers else "write"
            thread = threading.Thread(target=self._client, args=(n, kind, token), daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)

    def run_for(self, seconds: float) -> None:
        time.sleep(seconds)

    def _account(self) -> str:
        username = f"load-{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        reply = smoke.request(
            self.base_url, "POST", "/api/auth/register/",
            json_body={"username": username, "email": f"{username}@example.com", "password": password},
        )  # fmt: skip
        assert reply.status == 201, reply.body
        signed_in = login(self.base_url, username, password)
        assert signed_in.status == 200, signed_in.body
        return str(signed_in.json()["access"])

    def _client(self, n: int, kind: str, token: str) -> None:
        headers = smoke.bearer(token)
        while not self._stop.is_set():
            started = time.monotonic()
            error = ""
            try:
                if kind == "read":
                    reply = smoke.request(self.base_url, "GET", "/api/notes/", headers=headers, timeout=self.timeout)
                else:
                    title = f"load {n} {secrets.token_hex(4)}"
                    reply = smoke.request(
                        self.base_url, "POST", "/api/notes/", json_body={"title": title, "body": "x"},
                        headers=headers, timeout=self.timeout,
                    )  # fmt: skip
                status, version = reply.status, reply.headers.get("x-app-version", "")
                is_json = reply.headers.get("content-type", "").startswith("application/json")
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                status, version, is_json, error = 0, "", False, f"{type(exc).__name__}: {exc}"
            outcome = Outcome(n, kind, started, time.monotonic() - started, status, version, is_json, error)
            with self._lock:
                self.outcomes.append(outcome)
                if kind == "write" and status == 201:
                    self.acknowledged.append(int(reply.json()["id"]))
            if kind == "write":
                self._stop.wait(max(0.0, WRITE_INTERVAL - outcome.seconds))

    # ---- what a scenario reads afterwards ----------------------------------------------------
    def failed(self, allowed: frozenset[int] = frozenset()) -> list[Outcome]:
        """Requests that got no answer, or a status other than the expected ones."""
        expected = {"read": {200}, "write": {201}}
        return [o for o in self.outcomes if o.status not in expected[o.kind] | allowed]

    def longest_outage(self) -> float:
        """The longest time between a failed request's start and the end of the next good one."""
        longest, down_since = 0.0, None
        for o in sorted(self.outcomes, key=lambda o: o.started):
            good = o.status in (200, 201)
            if not good and down_since is None:
                down_since = o.started
            elif good and down_since is not None:
                longest = max(longest, o.started + o.seconds - down_since)
                down_since = None
        return longest

    def versions_by_client(self) -> dict[int, list[str]]:
        """Each client's answering versions in order, repeats collapsed (old, new: one switch)."""
        seen: dict[int, list[str]] = {}
        for o in sorted(self.outcomes, key=lambda o: o.started):
            if o.version and (not seen.get(o.client) or seen[o.client][-1] != o.version):
                seen.setdefault(o.client, []).append(o.version)
        return seen
