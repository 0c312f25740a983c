"""Real certificates by ACME, end to end against Pebble (Let's Encrypt's test server).

A throwaway stack of its own with ACME_DOMAINS set and tests/acme.compose.yml merged in: Pebble on
the edge network, and two test names that resolve to Nginx there. Pebble validates each HTTP-01
challenge by fetching it from Nginx's port 80, as Let's Encrypt would. What is checked is what a
client sees on the published HTTPS port: the certificate, its issuer, names and serial, and
whether any request failed while it changed.
"""

import contextlib
import hashlib
import json
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from paths import ROOT
from stack import free_port, make

DOMAINS = ["api.acme.test", "www.acme.test"]
FILES = ["-f", "docker-compose.yml", "-f", "tests/acme.compose.yml", "--profile", "acme"]
# Short, so the backoff can be watched: 4 s, then 8 s, ...
RETRY_INTERVAL = 4


@dataclass
class AcmeStack:
    env: Path
    project: str
    https_port: int
    up: subprocess.CompletedProcess[str]
    load: "Probe"
    tmp: Path
    root: str = ""
    placeholders: list[str] = field(default_factory=list)

    def compose(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["docker", "compose", "--env-file", str(self.env), *FILES, *args],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if check and done.returncode != 0:
            pytest.fail(f"docker compose {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def agent(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", "acme", "/opt/certbot/bin/python", "/acme/agent.py", *args, check=check)

    def served(self, name: str = DOMAINS[0]) -> str:
        """The SHA-256 of the certificate Nginx serves on the published HTTPS port for `name` (SNI)."""
        return fingerprint(self.https_port, name)

    def verified(self, name: str = DOMAINS[0]) -> dict:
        """The certificate served for `name`, verified (chain and name) against this Pebble run's
        root: its fields as the ssl module reports them."""
        if not self.root:
            self.root = self.pebble_root()
        context = ssl.create_default_context(cadata=self.root)
        with tls_connection(context, self.https_port, name) as tls:
            certificate = tls.getpeercert()
        assert certificate
        issuer = dict(item for rdn in certificate["issuer"] for item in rdn)  # type: ignore[misc]
        names = sorted(value for kind, value in certificate.get("subjectAltName", ()) if kind == "DNS")
        return {"serial": str(certificate["serialNumber"]).lower(), "issuer": issuer.get("commonName", ""),
                "names": names}  # fmt: skip

    def pebble_root(self) -> str:
        """The root CA of this Pebble run, from its management API (published on 127.0.0.1)."""
        port = self.compose("port", "pebble", "15000").stdout.strip().rpartition(":")[2]
        context = ssl.create_default_context(cafile=str(self.tmp / "pebble.minica.pem"))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/roots/0", context=context, timeout=10) as reply:
            return reply.read().decode()

    def nginx_state(self) -> tuple[str, int, str]:
        """Nginx's container start time, restart count and master process id."""
        container = self.compose("ps", "-q", "nginx").stdout.strip()
        state = json.loads(subprocess.run(["docker", "inspect", container], capture_output=True, check=True).stdout)[0]
        master = self.compose("exec", "-T", "nginx", "cat", "/run/nginx.pid").stdout.strip()
        return state["State"]["StartedAt"], state["RestartCount"], master

    def acme_log(self) -> list[str]:
        return [line for line in self.compose("logs", "--no-log-prefix", "acme").stdout.splitlines() if line]


@contextlib.contextmanager
def tls_connection(context: ssl.SSLContext, port: int, name: str) -> Iterator[ssl.SSLSocket]:
    """A TLS connection to Nginx's published HTTPS port, asking for `name` (SNI)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        yield tls


def fingerprint(port: int, name: str) -> str:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with tls_connection(context, port, name) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


@dataclass
class Probe:
    """Requests through the published HTTPS port, each on a new TLS connection (so each sees the
    certificate served at that moment), with SNI and Host one of the ACME names, unverified:
    records (started, status or error, serial served)."""

    port: int
    threads: int = 3
    results: list[tuple[float, str, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> "Probe":
        for _ in range(self.threads):
            worker = threading.Thread(target=self._loop, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(20)

    def _loop(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        while not self._stop.is_set():
            started, serial = time.monotonic(), ""
            try:
                with tls_connection(context, self.port, DOMAINS[0]) as tls:
                    der = tls.getpeercert(binary_form=True) or b""
                    serial = hashlib.sha256(der).hexdigest()
                    tls.sendall(
                        f"GET /api/health/live/ HTTP/1.1\r\nHost: {DOMAINS[0]}\r\nConnection: close\r\n\r\n".encode()
                    )
                    head = tls.recv(64).decode(errors="replace")
                status = head.split(" ")[1] if head.startswith("HTTP/") else f"bad answer {head!r}"
            except OSError as exc:
                status = f"{type(exc).__name__}: {exc}"
            self.results.append((started, status, serial))
            self._stop.wait(0.05)

    def since(self, moment: float) -> list[tuple[float, str, str]]:
        return [r for r in self.results if r[0] >= moment]

    def failures_after_first_answer(self) -> list[tuple[float, str, str]]:
        answered = [r[0] for r in self.results if r[1] == "200"]
        return [r for r in self.since(min(answered)) if r[1] != "200"] if answered else self.results


def pebble_ca(image: str, into: Path) -> Path:
    """Pebble's test CA (it signs Pebble's own HTTPS certificate), copied out of its image."""
    container = subprocess.run(["docker", "create", image], capture_output=True, text=True, check=True).stdout.strip()
    try:
        subprocess.run(["docker", "cp", f"{container}:/test/certs/pebble.minica.pem", str(into)], check=True)
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True, check=False)
    return into


@pytest.fixture(scope="module")
def acme_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeStack]:
    tmp = tmp_path_factory.mktemp("acme")
    project = f"acme-{secrets.token_hex(3)}"
    env, https_port = tmp / "acme.env", free_port()
    image = subprocess.run(
        ["docker", "compose", "--env-file", ".env.example", *FILES, "config", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    ca = pebble_ca(json.loads(image)["services"]["pebble"]["image"], tmp / "pebble.minica.pem")
    subprocess.run(
        [sys.executable, "scripts/init_env.py", "--set", f"COMPOSE_PROJECT_NAME={project}",
         "--set", f"HTTP_PORT={free_port()}", "--set", f"HTTPS_PORT={https_port}",
         "--set", f"BACKUP_DIR={tmp / 'backups'}", "--set", "BACKUP_START_DELAY=86400",
         "--set", f"ACME_DOMAINS={','.join(DOMAINS)}", "--set", "ACME_EMAIL=ops@acme.test",
         "--set", "ACME_SERVER=https://pebble:14000/dir", "--set", f"ACME_CA_BUNDLE={ca}",
         "--set", f"ACME_RETRY_INTERVAL={RETRY_INTERVAL}", str(env)],
        cwd=ROOT, capture_output=True, check=True,
    )  # fmt: skip
    load = Probe(https_port).start()
    stack = None
    try:
        up = make(str(env), "up", f"UP_FILES={' '.join(FILES[:4])}")
        time.sleep(2)
        stack = AcmeStack(env, project, https_port, up, load, tmp)
        yield stack
    finally:
        load.stop()
        if stack and stack.placeholders:
            subprocess.run(["docker", "rm", "--force", *stack.placeholders], capture_output=True, check=False)
        subprocess.run(
            ["docker", "compose", "--env-file", str(env), *FILES, "down", "--volumes", "--remove-orphans"],
            cwd=ROOT, capture_output=True, timeout=300, check=False,
        )  # fmt: skip
        tags = [f"{project}-{name}" for name in ("web", "nginx", "acme")]
        subprocess.run(["docker", "image", "rm", *tags], capture_output=True, check=False)


def test_make_up_ends_serving_the_certificate_pebble_issued_with_no_failed_request(acme_stack: AcmeStack) -> None:
    up = acme_stack.up
    assert up.returncode == 0, (up.stdout + up.stderr)[-4000:]
    assert "certificate for api.acme.test,www.acme.test: new, serial" in up.stdout

    # The chain checks out against this Pebble run's root, for both names, and names them.
    for name in DOMAINS:
        served = acme_stack.verified(name)
        assert served["issuer"].startswith("Pebble Intermediate CA"), served
        assert served["names"] == DOMAINS
        assert f"serial {served['serial'].lstrip('0')}," in up.stdout

    # Validated for real: Pebble fetched each name's challenge from Nginx's port 80.
    nginx_log = acme_stack.compose("logs", "--no-log-prefix", "nginx").stdout
    fetched = {
        entry["host"] for entry in map(json.loads, (line for line in nginx_log.splitlines() if line.startswith("{")))
        if entry["uri"].startswith("/.well-known/acme-challenge/") and entry["status"] == 200
    }  # fmt: skip
    assert fetched == set(DOMAINS), nginx_log[-3000:]

    # Clients saw the self-signed certificate, then the issued one, and no request failed.
    failures = acme_stack.load.failures_after_first_answer()
    timeline = sorted(acme_stack.load.results)
    assert not failures, [(round(t - timeline[0][0], 2), status, serial[:8]) for t, status, serial in failures][:10]
    served_in_order = [serial for _, status, serial in acme_stack.load.results if status == "200"]
    assert served_in_order[0] != served_in_order[-1] == acme_stack.served(), "the served certificate never changed"
    assert len(set(served_in_order)) == 2


def test_the_acme_service_runs_unprivileged_read_only_and_listens_nowhere(acme_stack: AcmeStack) -> None:
    container = acme_stack.compose("ps", "-q", "acme").stdout.strip()
    config = json.loads(subprocess.run(["docker", "inspect", container], capture_output=True, check=True).stdout)[0]

    assert config["Config"]["User"] == "10002:10002"
    assert config["HostConfig"]["ReadonlyRootfs"] is True
    assert config["HostConfig"]["CapDrop"] == ["ALL"] and not config["HostConfig"]["CapAdd"]
    assert "no-new-privileges:true" in config["HostConfig"]["SecurityOpt"]
    assert config["HostConfig"]["Memory"] > 0 and config["HostConfig"]["PidsLimit"] > 0
    assert not [m for m in config["Mounts"] if "docker.sock" in m.get("Source", "")]
    assert not config["NetworkSettings"]["Ports"]
    assert set(config["NetworkSettings"]["Networks"]) == {f"{acme_stack.project}_edge"}


def test_a_renewal_is_picked_up_by_nginx_itself_without_a_restart_or_a_failed_request(
    acme_stack: AcmeStack,
) -> None:
    before, nginx_before = acme_stack.served(), acme_stack.nginx_state()
    started = time.monotonic()

    # What the service's own schedule does when the certificate is due; Nginx is not told.
    renewed = acme_stack.agent("renew", "--force")

    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    deadline = time.monotonic() + 20
    while acme_stack.served() == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert acme_stack.served() != before, "Nginx still serves the old certificate 20 s after the renewal"
    after = acme_stack.verified()
    assert after["names"] == DOMAINS and after["issuer"].startswith("Pebble Intermediate CA")
    assert acme_stack.nginx_state() == nginx_before, "Nginx was restarted"
    time.sleep(1)
    probes = acme_stack.load.since(started)
    assert probes and all(status == "200" for _, status, _ in probes), [p for p in probes if p[1] != "200"][:5]


def test_make_acme_renew_forces_a_renewal_and_reports_it(acme_stack: AcmeStack) -> None:
    before = acme_stack.served()
    started = time.monotonic()

    done = make(str(acme_stack.env), "acme-renew", "FORCE=1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert acme_stack.served() != before
    assert f"serial {acme_stack.verified()['serial'].lstrip('0')}," in done.stdout
    probes = acme_stack.load.since(started)
    assert probes and all(status == "200" for _, status, _ in probes), [p for p in probes if p[1] != "200"][:5]


def test_a_certificate_file_nginx_refuses_leaves_the_served_one_in_place(acme_stack: AcmeStack) -> None:
    before = acme_stack.served()
    logged_before = len(acme_stack.compose("logs", "--no-log-prefix", "nginx").stdout.splitlines())

    # A key and chain that do not belong together: Nginx's watcher must refuse them.
    acme_stack.compose(
        "exec", "-T", "acme", "sh", "-c",
        "cp /var/lib/acme-tls/tls.pem /tmp/good.pem && sed -n '/BEGIN CERTIFICATE/,$p' /tmp/good.pem"
        " > /var/lib/acme-tls/.bad && mv /var/lib/acme-tls/.bad /var/lib/acme-tls/tls.pem",
    )  # fmt: skip
    deadline, refused = time.monotonic() + 20, []
    while not refused and time.monotonic() < deadline:
        time.sleep(0.5)
        lines = acme_stack.compose("logs", "--no-log-prefix", "nginx").stdout.splitlines()[logged_before:]
        refused = [line for line in lines if "43-tls.sh: error: Nginx refuses the new ACME certificate" in line]
    assert len(refused) == 1, lines
    assert acme_stack.served() == before

    # The service's next check puts its certificate back (it is current, so nothing is renewed).
    check = acme_stack.agent("renew")
    assert check.returncode == 0 and "current, not due for renewal" in check.stdout, check.stdout + check.stderr
    assert acme_stack.compose("exec", "-T", "nginx", "/docker-entrypoint.d/43-tls.sh", "check").returncode == 0
    assert acme_stack.served() == before


def test_a_name_whose_port_80_is_not_this_nginx_is_refused_with_one_line_and_changes_nothing(
    acme_stack: AcmeStack,
) -> None:
    before = acme_stack.served()

    # elsewhere.acme.test resolves to Pebble's own address, where nothing answers on port 80.
    attempt = acme_stack.compose(
        "run", "--rm", "--no-deps", "-e", "ACME_DOMAINS=elsewhere.acme.test",
        "acme", "/opt/certbot/bin/python", "/acme/agent.py", "run", "--once", check=False,
    )  # fmt: skip

    assert attempt.returncode == 1
    errors = [line for line in attempt.stdout.splitlines() if line.startswith("acme: error:")]
    assert len(errors) == 1, attempt.stdout
    assert "validation failed for elsewhere.acme.test: the CA could not reach port 80 here" in errors[0]
    assert errors[0].endswith("failure 1 in a row, not retried (--once)")
    assert acme_stack.served() == before


def test_with_pebble_down_nginx_keeps_its_certificate_and_the_service_backs_off(acme_stack: AcmeStack) -> None:
    before = acme_stack.served()
    acme_stack.compose("stop", "pebble")
    # The name stays on the network, held by a container where nothing listens (a server that is
    # down), so the lookup never leaves Docker's DNS.
    placeholder = subprocess.run(
        ["docker", "run", "--detach", "--rm", "--read-only", "--cap-drop", "ALL", f"--network={acme_stack.project}_edge",
         "--network-alias", "pebble", "--entrypoint", "sleep", f"{acme_stack.project}-acme", "120"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    acme_stack.placeholders.append(placeholder)
    logged_before = len(acme_stack.acme_log())

    attempt = acme_stack.agent("renew", "--force")

    assert attempt.returncode == 1
    assert "cannot reach the ACME server https://pebble:14000/dir" in attempt.stderr, attempt.stderr
    # Left alone, the service tries again after 4 s, then 8 s: one line per attempt, each saying why.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        errors = [line for line in acme_stack.acme_log()[logged_before:] if line.startswith("acme: error:")]
        if len(errors) >= 3:
            break
        time.sleep(1)
    assert len(errors) >= 3, acme_stack.acme_log()[logged_before:]
    assert all("cannot reach the ACME server https://pebble:14000/dir" in line for line in errors)
    assert "failure 1 in a row, next attempt in 4 s" in errors[0]
    assert "failure 2 in a row, next attempt in 8 s" in errors[1]
    assert "failure 3 in a row, next attempt in 16 s" in errors[2]
    new_lines = acme_stack.acme_log()[logged_before:]
    attempts = [line for line in new_lines if line.startswith("acme: attempt requested")]
    assert len(attempts) == 1, new_lines  # the retries are the schedule's, one line each
    assert acme_stack.served() == before


def test_turning_acme_off_removes_the_service_and_serves_the_local_pair_again(acme_stack: AcmeStack) -> None:
    text = acme_stack.env.read_text()
    acme_stack.env.write_text("\n".join(line for line in text.splitlines() if not line.startswith("ACME_")) + "\n")

    up = make(str(acme_stack.env), "up")

    assert up.returncode == 0, (up.stdout + up.stderr)[-3000:]
    assert "ACME_DOMAINS is empty: the acme service is removed" in up.stdout
    assert not acme_stack.compose("ps", "-q", "--all", "acme").stdout.strip()
    local = (ROOT / "certs" / "local.crt").read_text()
    assert acme_stack.served("localhost") == hashlib.sha256(ssl.PEM_cert_to_DER_cert(local)).hexdigest()
