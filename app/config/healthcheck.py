"""Container healthcheck: exit 0 when /api/health/live/ answers 200 (the app answers requests).

Liveness: the database is not asked (core.views.LiveView says why), so a database restart never
marks web unhealthy, and an orchestrator that kills unhealthy containers leaves it alone. With
`--ready`, readiness instead (/api/health/, which asks the database): Kubernetes' readinessProbe,
which only takes the pod out of its Service, never restarts it.

Stdlib only and no Django import, so it costs milliseconds every few seconds. It sends a Host
that ALLOWED_HOSTS accepts, since Django rejects a request to 127.0.0.1 otherwise.
"""

import os
import sys
import urllib.request


def allowed_host() -> str:
    """Return the first concrete host in ALLOWED_HOSTS, or localhost for wildcards."""
    for host in os.environ.get("ALLOWED_HOSTS", "localhost").split(","):
        host = host.strip().lstrip(".")
        if host and "*" not in host:
            return host
    return "localhost"


def health_path(argv: list[str]) -> str:
    """Liveness by default; `--ready`: readiness, which asks the database (Kubernetes' readinessProbe)."""
    return "/api/health/" if "--ready" in argv else "/api/health/live/"


def main() -> int:
    url = f"http://127.0.0.1:{os.getenv('PORT', '8000')}{health_path(sys.argv[1:])}"
    request = urllib.request.Request(url, headers={"Host": allowed_host()})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  (a fixed http URL)
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
