"""A bare WSGI "hello" app: the ceiling `make bench` measures this stack's Django app against.

Gunicorn runs it with the same settings as the real app, behind the same Nginx, so the gap
between the two is what Django, DRF, the token check and the database cost.
"""

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"status":"ok"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer every request with a fixed 200 JSON body."""
    start_response("200 OK", HEADERS)
    return [BODY]
