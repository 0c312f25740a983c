"""The acme service: obtain and renew the site's certificate with certbot, for Nginx to serve.

    python agent.py run [--once]     the service's loop (the container's command); --once: one
                                     attempt, exit 0 with a certificate, 1 without
    python agent.py renew [--force]  ask the running loop for an attempt now; prints its outcome
    python agent.py wait [--timeout S]
                                     wait for the loop's first outcome (make up); prints it

The HTTP-01 challenge is answered by Nginx itself: certbot writes the challenge file into the
webroot volume (WEBROOT), which Nginx serves at /.well-known/acme-challenge/ on port 80, so this
container never listens anywhere. certbot keeps its account key and certificates in the state
volume (STATE); after each issuance the key and full chain are written, as one file and in one
rename, to TLS_FILE on the volume Nginx reads, and Nginx reloads when it changes
(nginx/entrypoint.d/43-tls.sh). Nothing here talks to Nginx.

An attempt runs at start, then every ACME_RENEW_INTERVAL (twice a day); certbot renews only
when the certificate is due (30 days before expiry), so most attempts cost one file read. A
failed attempt is logged as one line that says why and is retried after ACME_RETRY_INTERVAL,
doubled after each further failure up to ACME_RENEW_INTERVAL: Let's Encrypt counts failed
validations per hour, and a tight retry loop would lock the domain out.

Stdlib only, beside certbot and cryptography (certbot's own dependency), in certbot's virtualenv.
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

STATE = Path(os.environ.get("ACME_STATE_DIR", "/var/lib/acme"))
WEBROOT = Path(os.environ.get("ACME_WEBROOT", "/var/lib/acme-webroot"))
TLS_FILE = Path(os.environ.get("ACME_TLS_FILE", "/var/lib/acme-tls/tls.pem"))
CA_BUNDLE = Path(os.environ.get("ACME_CA_BUNDLE_PATH", "/etc/acme/ca.pem"))
# The container's own tmpfs: requests from `renew`, outcomes, certbot's work and logs.
RUN = Path(os.environ.get("ACME_RUN_DIR", "/tmp/acme"))  # noqa: S108  (a private tmpfs)
CERTBOT = os.environ.get("CERTBOT", "/opt/certbot/bin/certbot")
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
HEARTBEAT = Path("/tmp/acme-heartbeat")  # noqa: S108  (the healthcheck reads it)
# One attempt at most this long: certbot itself waits for the CA's validation.
ATTEMPT_TIMEOUT = 300

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class ConfigError(Exception):
    """A setting the service cannot work with; the message says which and why."""


def log(message: str) -> None:
    print(f"acme: {message}", flush=True)


def seconds(env: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number of seconds") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum} seconds, not {value}")
    return value


def domains_from(raw: str) -> list[str]:
    """ACME_DOMAINS, checked: names HTTP-01 can prove, each once (the same rules as Django's
    settings, which refuse the same values at start)."""
    names: list[str] = []
    for item in raw.split(","):
        name = item.strip().lower().rstrip(".")
        if not name:
            continue
        if "*" in name:
            raise ConfigError(
                f"ACME_DOMAINS: {name!r}: a wildcard needs the DNS-01 challenge; this stack answers "
                "HTTP-01, so list each name"
            )
        if re.fullmatch(r"[0-9.]+|\[?[0-9a-f:]+\]?", name):
            raise ConfigError(f"ACME_DOMAINS: {name!r} is an address; certificates here are for DNS names")
        labels = name.split(".")
        if len(name) > 253 or len(labels) < 2 or not all(LABEL.match(label) for label in labels):
            raise ConfigError(f"ACME_DOMAINS: {name!r} is not a DNS name (like api.example.com)")
        if name not in names:
            names.append(name)
    return names


class Settings:
    def __init__(self, env: dict[str, str]) -> None:
        self.domains = domains_from(env.get("ACME_DOMAINS", ""))
        if not self.domains:
            raise ConfigError("ACME_DOMAINS is empty: nothing to get a certificate for")
        self.email = env.get("ACME_EMAIL", "").strip()
        if self.email and not re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+", self.email):
            raise ConfigError(f"ACME_EMAIL={self.email!r} is not an email address")
        self.server = env.get("ACME_SERVER", "").strip() or LETS_ENCRYPT
        if not self.server.startswith("https://"):
            raise ConfigError(f"ACME_SERVER={self.server!r}: an ACME directory URL starts with https://")
        self.renew_interval = seconds(env, "ACME_RENEW_INTERVAL", 12 * 3600, minimum=60)
        self.retry_interval = seconds(env, "ACME_RETRY_INTERVAL", 600)
        # ACME_CA_BUNDLE unset: the compose file mounts /dev/null there, and the system's CAs apply.
        self.ca_bundle: Path | None = None
        if CA_BUNDLE.is_dir():
            raise ConfigError("ACME_CA_BUNDLE is not a file on the host (Docker made a folder of the missing path)")
        if CA_BUNDLE.is_file() and CA_BUNDLE.stat().st_size > 0:
            self.ca_bundle = CA_BUNDLE
        # certbot's name for the certificate, one per server and set of names: a change of either
        # gets a certificate of its own at once, where certbot would keep one that is not yet due
        # (a staging certificate after moving to production) or ask before changing its names.
        key = self.server + "|" + ",".join(sorted(self.domains))
        self.cert_name = "site-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def certbot_command(settings: Settings, force: bool) -> list[str]:
    command = [
        CERTBOT, "certonly", "--non-interactive", "--agree-tos",
        "--webroot", "--webroot-path", str(WEBROOT), "--preferred-challenges", "http",
        "--cert-name", settings.cert_name, "--server", settings.server,
        "--config-dir", str(STATE / "certbot"), "--work-dir", str(RUN / "work"), "--logs-dir", str(RUN / "logs"),
        "--keep-until-expiring",
    ]  # fmt: skip
    for name in settings.domains:
        command += ["--domain", name]
    command += ["--email", settings.email] if settings.email else ["--register-unsafely-without-email"]
    if force:
        command.append("--force-renewal")
    return command


def certbot_env(settings: Settings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACME_")}
    env["HOME"] = str(RUN)
    if settings.ca_bundle:
        # For certbot only (its requests library): the CA of a private or test ACME server.
        env["REQUESTS_CA_BUNDLE"] = str(settings.ca_bundle)
    return env


def reason(output: str, settings: Settings) -> str:
    """One line that says why an attempt failed, from certbot's output."""
    # certbot 5 says "Identifier:", older releases "Domain:".
    problems = re.findall(r"(?:Identifier|Domain): (\S+)\s+Type:\s+(\S+)\s+Detail:\s+(.+)", output)
    if problems:
        hints = {
            "dns": "the name does not resolve to this server (check its DNS A/AAAA records)",
            "connection": "the CA could not reach port 80 here (firewall, port forward, or DNS pointing elsewhere)",
            "unauthorized": "port 80 answered, but without the challenge (another server answers, or a redirect)",
            "rateLimited": "the CA's rate limit (wait; test against the staging server)",
            "caa": "a CAA record forbids this CA",
        }
        parts = []
        for domain, kind, detail in problems:
            # Let's Encrypt reports a missing record as "dns"; Pebble as a "connection" that failed
            # its lookup ("no such host").
            missing = re.search(r"NXDOMAIN|no such host|DNS problem|no valid A records", detail, re.IGNORECASE)
            hint = hints["dns"] if missing else hints.get(kind, kind)
            parts.append(f"{domain}: {hint} [{kind}: {detail.strip()}]")
        return "validation failed for " + "; ".join(parts)
    for pattern, text in (
        (r"urn:ietf:params:acme:error:rateLimited[^\n]*|too many (?:certificates|failed)[^\n]*",
         "rate limited by the CA"),
        (r"Failed to establish a new connection|Max retries exceeded|Name or service not known|Connection refused",
         f"cannot reach the ACME server {settings.server}"),
        (r"CERTIFICATE_VERIFY_FAILED|SSLError", f"the ACME server {settings.server} is not trusted (ACME_CA_BUNDLE?)"),
    ):  # fmt: skip
        match = re.search(pattern, output, re.IGNORECASE)
        if match:
            return f"{text}: {match.group(0).strip()[:300]}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Saving debug log", "Ask for help", "Hint:", "- - -"))]
    return (useful or lines or ["certbot failed without a message"])[-1][:400]


def describe(pem: bytes) -> dict[str, Any]:
    from cryptography import x509  # type: ignore[import-not-found, unused-ignore]  # certbot's, in its image only

    certificate = x509.load_pem_x509_certificates(pem)[0]
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    return {
        "serial": format(certificate.serial_number, "x"),
        "expires": certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "issuer": certificate.issuer.rfc4514_string(),
        "names": dns_names,
    }


def lineage_serial(cert_name: str) -> str:
    """The serial of the certificate certbot keeps under this name, or "" if none."""
    try:
        return str(describe((STATE / "certbot" / "live" / cert_name / "cert.pem").read_bytes())["serial"])
    except (OSError, ValueError):
        return ""


def install(cert_name: str) -> tuple[bool, dict[str, Any]]:
    """Write certbot's current key and chain to TLS_FILE (one file, one rename) if they differ.

    Returns whether it changed, and the certificate's serial, expiry, issuer and names."""
    live = STATE / "certbot" / "live" / cert_name
    key, chain = (live / "privkey.pem").read_bytes(), (live / "fullchain.pem").read_bytes()
    combined = key.rstrip(b"\n") + b"\n" + chain
    info = describe(chain)
    if TLS_FILE.is_file() and TLS_FILE.read_bytes() == combined:
        return False, info
    # The file is 0644 so that Nginx's master (root, without DAC_OVERRIDE) reads it; the folder
    # (0750, group root: Dockerfile) keeps everyone else out, Nginx's worker processes included.
    fd, tmp = tempfile.mkstemp(dir=TLS_FILE.parent, prefix=".tls.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(combined)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, TLS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True, info


def backoff(failures: int, retry_interval: int, renew_interval: int) -> int:
    """Seconds to wait after the given number of failures in a row: retry_interval, doubled after
    each further failure, never more than renew_interval."""
    return int(min(retry_interval * 2 ** min(failures - 1, 32), renew_interval))


class Agent:
    def __init__(self, settings: Settings, looping: bool = True) -> None:
        self.settings = settings
        self.looping = looping
        self.failures = 0
        self.attempts = 0
        self.child: subprocess.Popen[str] | None = None

    def attempt(self, force: bool) -> dict[str, Any]:
        self.attempts += 1
        names = ",".join(self.settings.domains)
        issued_before = lineage_serial(self.settings.cert_name)
        try:
            self.child = subprocess.Popen(
                certbot_command(self.settings, force), env=certbot_env(self.settings),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            deadline = time.monotonic() + ATTEMPT_TIMEOUT
            while True:
                HEARTBEAT.touch()  # alive while certbot waits for the CA
                try:
                    output, _ = self.child.communicate(timeout=1)
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        self.child.kill()
                        output, _ = self.child.communicate()
                        output += f"\ncertbot did not finish within {ATTEMPT_TIMEOUT} s"
                        break
            code = self.child.returncode
        finally:
            self.child = None
        if code == 0:
            try:
                changed, info = install(self.settings.cert_name)
            except (OSError, ValueError) as exc:
                code, output = 1, f"cannot install the certificate: {exc}"
        if code != 0:
            self.failures += 1
            delay = backoff(self.failures, self.settings.retry_interval, self.settings.renew_interval)
            message = reason(output, self.settings)
            then = f"next attempt in {delay} s" if self.looping else "not retried (--once)"
            log(f"error: no certificate for {names} from {self.settings.server}: {message}; "
                f"failure {self.failures} in a row, {then}")  # fmt: skip
            return {"ok": False, "message": message, "delay": delay, "failures": self.failures}
        self.failures = 0
        delay = self.settings.renew_interval
        issued = info["serial"] != issued_before
        if issued:
            what = "installed a new certificate"
        else:
            what = "the certificate is current" + (" (written again for Nginx)" if changed else "")
        log(f"{what} for {','.join(info['names'])}: serial {info['serial']}, expires {info['expires']}, "
            f"issuer {info['issuer']}; next check in {delay} s")  # fmt: skip
        return {"ok": True, "issued": issued, "delay": delay, **info}

    def stop(self, signum: int, frame: object) -> None:
        if self.child is not None:
            self.child.terminate()
        log("stopping")
        sys.exit(0)


def write_status(outcome: dict[str, Any], last_success: float) -> None:
    """WEBROOT/status/acme.prom, in Prometheus' text format, which Nginx serves on its internal
    monitoring port only (the public site serves nothing from the webroot but the challenges)."""
    expires = 0.0
    if TLS_FILE.is_file():
        try:
            expires = calendar.timegm(time.strptime(describe(TLS_FILE.read_bytes())["expires"], "%Y-%m-%dT%H:%M:%SZ"))
        except (OSError, ValueError):
            expires = 0.0
    lines = [
        "# HELP djstack_certificate_expiry_timestamp_seconds When the served ACME certificate expires (0: none yet).",
        "# TYPE djstack_certificate_expiry_timestamp_seconds gauge",
        f"djstack_certificate_expiry_timestamp_seconds {expires:.0f}",
        "# HELP djstack_acme_last_success_timestamp_seconds When an attempt last ended with a valid certificate.",
        "# TYPE djstack_acme_last_success_timestamp_seconds gauge",
        f"djstack_acme_last_success_timestamp_seconds {last_success:.0f}",
        "# HELP djstack_acme_failures_in_a_row Failed attempts since the last success.",
        "# TYPE djstack_acme_failures_in_a_row gauge",
        f"djstack_acme_failures_in_a_row {outcome.get('failures', 0)}",
    ]
    folder = WEBROOT / "status"
    try:
        folder.mkdir(exist_ok=True)
        tmp = folder / ".acme.prom.partial"
        tmp.write_text("\n".join(lines) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / "acme.prom")
    except OSError as exc:
        log(f"warning: cannot write {folder / 'acme.prom'}: {exc}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def run(once: bool = False) -> int:
    try:
        settings = Settings(dict(os.environ))
    except ConfigError as exc:
        log(f"error: {exc}")
        return 2
    for folder in (RUN, RUN / "work", RUN / "logs", STATE / "certbot", WEBROOT):
        folder.mkdir(parents=True, exist_ok=True)
    agent = Agent(settings, looping=not once)
    signal.signal(signal.SIGTERM, agent.stop)
    signal.signal(signal.SIGINT, agent.stop)
    if once:
        return 0 if agent.attempt(force=False)["ok"] else 1
    HEARTBEAT.touch()
    trusting = f" (trusting the CAs in {os.environ.get('ACME_CA_BUNDLE') or CA_BUNDLE})" if settings.ca_bundle else ""
    log(f"certificates for {','.join(settings.domains)} from {settings.server}{trusting}")
    request_file = RUN / "request"
    force, request_id = False, None
    last_success = 0.0
    while True:
        outcome = agent.attempt(force)
        outcome["attempt"] = agent.attempts
        if outcome["ok"]:
            last_success = time.time()
        write_status(outcome, last_success)
        write_json(RUN / "status.json", outcome)
        if request_id:
            write_json(RUN / f"result-{request_id}.json", outcome)
        due = time.monotonic() + outcome["delay"]
        force, request_id = False, None
        while time.monotonic() < due:
            HEARTBEAT.touch()
            if request_file.exists():
                try:
                    request = json.loads(request_file.read_text())
                    force, request_id = bool(request.get("force")), str(request["id"])
                except (OSError, ValueError, KeyError):
                    pass
                request_file.unlink(missing_ok=True)
                if request_id:
                    log("attempt requested" + (" (forced renewal)" if force else ""))
                    break
            time.sleep(1)


def wait_for(path: Path, timeout: float, condition: Any = None) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            if condition is None or condition(data):
                return data
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    return None


def report(outcome: dict[str, Any] | None, timeout: float) -> int:
    if outcome is None:
        print(f"error: no outcome from the acme service within {timeout:.0f} s (make logs s=acme)", file=sys.stderr)
        return 1
    if outcome["ok"]:
        fresh = "new" if outcome["issued"] else "current, not due for renewal"
        print(f"certificate for {','.join(outcome['names'])}: {fresh}, serial {outcome['serial']}, "
              f"expires {outcome['expires']}, issuer {outcome['issuer']}")  # fmt: skip
        return 0
    print(f"error: no certificate: {outcome['message']} (next attempt in {outcome['delay']} s)", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    loop = sub.add_parser("run")
    loop.add_argument("--once", action="store_true", help="one attempt, then exit 0 (a certificate) or 1")
    renew = sub.add_parser("renew")
    renew.add_argument("--force", action="store_true", help="renew even if the certificate is not due")
    renew.add_argument("--timeout", type=float, default=ATTEMPT_TIMEOUT + 30)
    wait = sub.add_parser("wait")
    wait.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.once)
    if args.command == "wait":
        return report(wait_for(RUN / "status.json", args.timeout), args.timeout)
    request_id = uuid.uuid4().hex
    RUN.mkdir(parents=True, exist_ok=True)
    write_json(RUN / "request", {"id": request_id, "force": args.force})
    result = RUN / f"result-{request_id}.json"
    outcome = wait_for(result, args.timeout)
    result.unlink(missing_ok=True)
    return report(outcome, args.timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
